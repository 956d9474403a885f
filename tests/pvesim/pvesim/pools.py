"""Resource pools (/pools): only what pvfio's cluster-wide apply lock uses.

Followed: pve-manager PVE/API2/Pool.pm (`index`, `create_pool`, `read_pool`,
`delete_pool`, `delete_pool_deprecated`) and pve-access-control
src/PVE/AccessControl.pm `lock_user_config` (errors become "create pool failed: …",
"delete pool failed: …"). The create runs under the user.cfg lock, so it is
atomic across the cluster: of two creates of one pool id exactly one succeeds.
Permissions (Pool.Allocate / Pool.Audit on /pool/{poolid}) come from the
schema's `check`, like every other path. Pools hold no members here.
"""

import re

from . import api
from .errors import die

route = api.route


def _pools(st):
    return st.setdefault("pools", {})


@route("GET", "/pools")
def pools_index(sim, ctx, st, p):
    """Pool.pm `index`: every pool the user may audit, or the one named by poolid."""
    pools = _pools(st)
    poolid = p.get("poolid")
    if poolid:
        # Perl checks Pool.Audit with noerr here and ignores the result
        rec = pools.get(poolid)
        if rec is None:
            raise die("pool '%s' does not exist\n" % poolid)
        info = {"members": []}
        if rec.get("comment") is not None:
            info["comment"] = rec["comment"]
        info["poolid"] = poolid
        return [info]
    out = []
    for pid in sorted(pools):
        if not ctx.env.check_full("/pool/%s" % pid, ["Pool.Audit"], False, True):
            continue
        entry = {"poolid": pid}
        if pools[pid].get("comment") is not None:
            entry["comment"] = pools[pid]["comment"]
        out.append(entry)
    return out


@route("GET", "/pools/{poolid}")
def pools_read(sim, ctx, st, p):
    """Pool.pm `read_pool`: the first entry of `index` for that pool."""
    return pools_index(sim, ctx, st, {"poolid": p["poolid"]})[0]


@route("POST", "/pools")
def pools_create(sim, ctx, st, p):
    """Pool.pm `create_pool` inside lock_user_config("create pool failed")."""
    pools = _pools(st)
    pool = p["poolid"]
    prefix = "create pool failed: "
    if pool in pools:
        raise die(prefix + "pool '%s' already exists\n" % pool)
    m = re.match(r"^(.*)/([^/]+)$", pool)
    if m:
        if m.group(1) not in pools:
            raise die(prefix + "parent '%s' of pool '%s' does not exist\n" % (m.group(1), pool))
        if not re.match(r"^[A-Za-z]", m.group(2)):
            raise die(prefix + "pool name must start with a letter\n")
    elif not re.match(r"^[A-Za-z]", pool):
        raise die(prefix + "pool name must start with a letter\n")
    rec = {}
    if p.get("comment"):
        rec["comment"] = p["comment"]
    pools[pool] = rec
    sim.state.mark_dirty()
    return None


def _delete(sim, st, pool):
    """Pool.pm `delete_pool` inside lock_user_config("delete pool failed")."""
    pools = _pools(st)
    prefix = "delete pool failed: "
    if pool not in pools:
        raise die(prefix + "pool '%s' does not exist\n" % pool)
    for sub in sorted(pools):
        if sub.startswith(pool + "/"):
            raise die(prefix + "pool '%s' is not empty (contains pool '%s')\n" % (pool, sub))
    del pools[pool]
    sim.state.mark_dirty()
    return None


@route("DELETE", "/pools")
def pools_delete(sim, ctx, st, p):
    return _delete(sim, st, p["poolid"])


@route("DELETE", "/pools/{poolid}")
def pools_delete_deprecated(sim, ctx, st, p):
    return _delete(sim, st, p["poolid"])
