"""The API method implementations, keyed by (HTTP method, schema path).

Each handler gets the simulator, the request context (authenticated user,
RPCEnv) and the validated parameters, runs inside a state transaction and
returns the `data` of the answer (or a Result for extra attributes).
"""

import hashlib
import re

from . import auth
from . import formats
from . import hardware
from . import version
from .errors import ApiError, die, param_error
from .formats import perl_str
from .tasks import decode_upid, status_of

def version_info():
    """PVE::pvecfg::version_info() of the release the simulator answers as (--pve-version)."""
    prof = version.profile()
    return {"version": prof["version"], "release": prof["release"], "repoid": prof["repoid"]}

HANDLERS = {}


def route(method, path):
    def deco(fn):
        HANDLERS[(method, path)] = fn
        return fn
    return deco


class Result:
    """Data plus envelope attributes (total, changes)."""

    def __init__(self, data, total=None):
        self.data = data
        self.total = total


class Deferred:
    """Work to finish outside the state lock (POST config background_delay)."""

    def __init__(self, upid, delay, vmid):
        self.upid = upid
        self.delay = delay
        self.vmid = vmid


def _bool(v, default=0):
    if v is None:
        return default
    b = formats.parse_boolean(v)
    return default if b is None else b


# --- access -------------------------------------------------------------------

@route("GET", "/access")
def access_index(sim, ctx, st, p):
    return [{"subdir": s} for s in ("users", "groups", "roles", "acl", "domains", "openid", "tfa",
                                    "ticket", "password", "permissions")]


@route("GET", "/access/domains")
def access_domains(sim, ctx, st, p):
    return [{"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
            {"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server"}]


@route("GET", "/access/ticket")
def access_ticket_get(sim, ctx, st, p):
    return None


@route("POST", "/access/ticket")
def access_ticket(sim, ctx, st, p):
    now = sim.state.now()
    user = auth.login(st, perl_str(p["username"]), perl_str(p["password"]),
                      perl_str(p["realm"]) if p.get("realm") else None, now)
    env = auth.RPCEnv(st, user)
    return {
        "username": user,
        "ticket": auth.assemble_ticket(st["secret"], user, now),
        "CSRFPreventionToken": auth.assemble_csrf(st["secret"], user, now),
        "clustername": st["clustername"],
        "cap": env.capabilities(),
    }


@route("GET", "/version")
def version_get(sim, ctx, st, p):
    """pve-manager PVE/API2.pm version: version_info() plus the datacenter console setting."""
    return version_info()


@route("GET", "/cluster/options")
def cluster_options(sim, ctx, st, p):
    """pve-manager PVE/API2/Cluster.pm get_options: datacenter.cfg (tag-style parsed into an
    object by parse_datacenter_config) for Sys.Audit on /, else only console and tag-style;
    plus allowed-tags (none configured here)."""
    res = {}
    style = (st.get("datacenter") or {}).get("tag-style")
    if style:
        res["tag-style"] = dict(style)
    res["allowed-tags"] = []
    return res


# --- cluster ----------------------------------------------------------------------

@route("GET", "/cluster")
def cluster_index(sim, ctx, st, p):
    return [{"name": n} for n in ("log", "options", "resources", "tasks", "backup", "ha", "acme",
                                  "config", "firewall", "replication", "ceph", "jobs", "mapping",
                                  "metrics", "notifications", "nextid", "sdn", "status")]


@route("GET", "/cluster/mapping")
def mapping_index(sim, ctx, st, p):
    return [{"name": "dir"}, {"name": "pci"}, {"name": "usb"}]


def mapping_cfg_text(st):
    out = []
    for mid in sorted(st["mappings"]["pci"]):
        rec = st["mappings"]["pci"][mid]
        lines = [mid]
        for k in ("description", "live-migration-capable", "mdev"):
            if rec.get(k) is not None:
                lines.append("\t%s %s" % (k, perl_str(rec[k])))
        for m in rec.get("map") or []:
            lines.append("\tmap %s" % m)
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def mapping_digest(st):
    return hashlib.sha1(mapping_cfg_text(st).encode("utf-8")).hexdigest()


@route("GET", "/cluster/mapping/pci")
def mapping_pci_list(sim, ctx, st, p):
    check_node = p.get("check-node")
    if check_node is not None:
        sim.assert_node(st, check_node)
    digest = mapping_digest(st)
    res = []
    for mid in sorted(st["mappings"]["pci"]):
        if not ctx.env.check_any("/mapping/pci/%s" % mid, ["Mapping.Modify", "Mapping.Use", "Mapping.Audit"],
                                 noerr=True):
            continue
        rec = st["mappings"]["pci"][mid]
        entry = {k: (list(v) if isinstance(v, list) else v) for k, v in rec.items()}
        entry["id"] = mid
        entry["digest"] = digest
        if check_node is not None:
            entry["checks"] = []
            entries = sim.node_mapping(st, mid, check_node)
            if not entries:
                entry["checks"].append({"severity": "warning", "message": "No mapping for node %s." % check_node})
            hw = sim.hw(st, check_node)
            for e in entries:
                try:
                    hardware.assert_valid(mid, e, hw, rec)
                except ValueError as err:
                    entry["checks"].append({"severity": "error", "message": "Invalid configuration: %s" % err})
        res.append(entry)
    return res


@route("GET", "/cluster/mapping/pci/{id}")
def mapping_pci_get(sim, ctx, st, p):
    mid = p["id"]
    rec = st["mappings"]["pci"].get(mid)
    if rec is None:
        raise die("mapping '%s' not found\n" % mid)
    data = {k: (list(v) if isinstance(v, list) else v) for k, v in rec.items()}
    data["digest"] = mapping_digest(st)
    return data


@route("POST", "/cluster/mapping/pci")
def mapping_pci_create(sim, ctx, st, p):
    from .state import mapping_record
    mid = p.pop("id")
    if mid in st["mappings"]["pci"]:
        raise die("create hardware mapping failed: pci ID '%s' already defined\n" % mid)
    st["mappings"]["pci"][mid] = mapping_record(p)
    sim.state.mark_dirty()
    return None


@route("PUT", "/cluster/mapping/pci/{id}")
def mapping_pci_update(sim, ctx, st, p):
    from .state import mapping_record
    digest = p.pop("digest", None)
    delete = formats.split_list(p.pop("delete", None)) if p.get("delete") else []
    mid = p.pop("id")
    prefix = "update hardware mapping failed: "
    if digest is not None and digest and digest != mapping_digest(st):
        raise die(prefix + "detected modified configuration - file changed by other user? Try again.\n")
    rec = st["mappings"]["pci"].get(mid)
    if rec is None:
        raise die(prefix + "pci ID '%s' does not exist\n" % mid)
    # pve-manager PVE/API2/Cluster/Mapping/PCI.pm update: check_config($id, $param, 1, 1)
    # runs with create=1, so pve-common SectionConfig::check_config requires `map` on
    # every update (options() marks it not optional), inside lock_pci_config's prefix
    if p.get("map") is None:
        raise die(prefix + "missing value for required option 'map'\n")
    opts = mapping_record(p)
    opts.pop("type", None)
    optional = {"description", "mdev", "live-migration-capable"}
    for k in delete:
        if k not in optional | {"map"}:
            raise die(prefix + "no such option '%s'\n" % k)
        if k not in optional:
            raise die(prefix + "unable to delete required option '%s'\n" % k)
        if k in opts:
            raise die(prefix + "cannot set and delete property '%s' at the same time!\n" % k)
        rec.pop(k, None)
    rec.update(opts)
    sim.state.mark_dirty()
    return None


@route("DELETE", "/cluster/mapping/pci/{id}")
def mapping_pci_delete(sim, ctx, st, p):
    st["mappings"]["pci"].pop(p["id"], None)
    sim.state.mark_dirty()
    return None


@route("GET", "/cluster/resources")
def cluster_resources(sim, ctx, st, p):
    typ = p.get("type")
    env = ctx.env
    res = []
    if typ in (None, "vm"):
        for vmid in sorted(st["vms"], key=int):
            vm = st["vms"][vmid]
            if not env.check("/vms/%s" % vmid, ["VM.Audit"], noerr=True):
                continue
            s = sim.qemu.vm_status(st, vmid, vm)
            e = {"id": "qemu/%s" % vmid, "type": "qemu", "vmid": int(vmid), "node": vm["node"],
                 "name": s["name"], "status": s["status"], "template": s.get("template", 0),
                 "maxcpu": s["cpus"], "cpu": s["cpu"], "maxmem": s["maxmem"], "mem": s["mem"],
                 "maxdisk": s["maxdisk"], "disk": 0, "netin": 0, "netout": 0, "diskread": 0,
                 "diskwrite": 0, "uptime": s["uptime"]}
            if s.get("lock"):
                e["lock"] = s["lock"]
            if s.get("tags"):
                e["tags"] = s["tags"]
            res.append(e)
    if typ in (None, "node"):
        for node in st["node_order"]:
            if not env.check_any("/nodes/%s" % node, ["Sys.Audit"], noerr=True):
                continue
            res.append(sim.node_entry(st, node, resources=True))
    if typ in (None, "storage"):
        for node in st["node_order"]:
            for s in st["nodes"][node]["storage"]:
                if not env.check_any("/storage/%s" % s["storage"], ["Datastore.Audit", "Datastore.AllocateSpace"],
                                     noerr=True):
                    continue
                total = int(float(s.get("total_gb", 100)) * (1 << 30))
                res.append({"id": "storage/%s/%s" % (node, s["storage"]), "type": "storage",
                            "storage": s["storage"], "node": node, "content": s.get("content", ""),
                            "plugintype": s.get("type", "dir"), "shared": int(s.get("shared", 0)),
                            "status": "available" if st["nodes"][node]["online"] else "unknown",
                            "disk": total // 10, "maxdisk": total})
    if typ in (None, "sdn"):
        for node in st["node_order"]:
            if not env.check_any("/sdn/zones/localnetwork", ["SDN.Audit", "SDN.Use"], noerr=True):
                continue
            res.append({"id": "sdn/%s/localnetwork" % node, "type": "sdn", "sdn": "localnetwork",
                        "node": node, "status": "ok"})
    return res


@route("GET", "/cluster/nextid")
def cluster_nextid(sim, ctx, st, p):
    if p.get("vmid") is not None:
        vmid = p["vmid"]
        if str(int(perl_str(vmid))) in st["vms"]:
            raise param_error({"vmid": "VM %s already exists" % perl_str(vmid)})
        return vmid
    lower, upper = st["nextid"]["lower"], st["nextid"]["upper"]
    for i in range(lower, upper):
        if str(i) not in st["vms"]:
            return i
    raise die("unable to get any free VMID in range [%d, %d]\n" % (lower, upper))


# --- nodes ------------------------------------------------------------------------------

@route("GET", "/nodes")
def nodes_list(sim, ctx, st, p):
    res = []
    for node in st["node_order"]:
        if not ctx.env.check_any("/nodes/%s" % node, ["Sys.Audit"], noerr=True) and ctx.env.user != "root@pam":
            e = {"node": node, "status": sim.node_entry(st, node)["status"], "id": "node/%s" % node,
                 "type": "node", "ssl_fingerprint": sim.fingerprint}
            res.append(e)
            continue
        res.append(sim.node_entry(st, node))
    return res


@route("GET", "/nodes/{node}")
def node_index(sim, ctx, st, p):
    return [{"name": n} for n in ("ceph", "disks", "apt", "version", "syslog", "journal", "vnc", "qemu",
                                  "lxc", "storage", "network", "tasks", "hardware", "status", "services",
                                  "time", "dns", "hosts", "capabilities", "certificates", "config")]


@route("GET", "/nodes/{node}/status")
def node_status(sim, ctx, st, p):
    node = p["node"]
    hw = sim.hw(st, node)
    n = st["nodes"][node]
    total = n["memory"]
    used = sum(sim.qemu.memory_mb(vm["conf"]) * 1024 * 1024 for vm in st["vms"].values()
               if vm["node"] == node and vm["status"] == "running") + 2 * (1 << 30)
    kernel = hw.machine.get("kernel", "6.8.12-4-pve")
    return {"uptime": int(sim.state.now() - sim.node_boot_time(st, node)), "cpu": 0.0213, "wait": 0,
            "loadavg": ["0.12", "0.08", "0.05"], "idle": 0,
            "cpuinfo": {"cpus": hw.cpu_count(), "cores": hw.cpu_count(), "sockets": 1, "model": "simulated"},
            "memory": {"total": total, "used": used, "free": total - used, "available": total - used},
            "swap": {"total": 0, "used": 0, "free": 0},
            "rootfs": {"total": 100 * (1 << 30), "used": 8 * (1 << 30), "free": 92 * (1 << 30),
                       "avail": 92 * (1 << 30)},
            "kversion": "Linux %s #1 SMP PREEMPT_DYNAMIC PMX" % kernel,
            "current-kernel": {"sysname": "Linux", "release": kernel, "machine": "x86_64",
                               "version": "#1 SMP PREEMPT_DYNAMIC PMX"},
            "boot-info": {"mode": "efi" if (hw.machine.get("boot") or {}).get("efi") else "legacy-bios"},
            "pveversion": "pve-manager/%s/%s" % (version_info()["version"], version_info()["repoid"])}


@route("GET", "/nodes/{node}/version")
def node_version(sim, ctx, st, p):
    """pve-manager PVE/API2/Nodes.pm version: PVE::pvecfg::version_info() of that node."""
    return version_info()


@route("GET", "/nodes/{node}/apt")
def node_apt_index(sim, ctx, st, p):
    return [{"id": n} for n in ("changelog", "repositories", "update", "versions")]


# the packages GET /nodes/{node}/apt/versions lists (a subset of pve-manager APT.pm's @pkgs,
# in its order: proxmox-ve, pve-manager, then the rest sorted by name)
APT_PACKAGES = ("proxmox-ve", "pve-manager", "libpve-access-control", "libpve-common-perl",
                "libpve-guest-common-perl", "pve-qemu-kvm", "qemu-server")


@route("GET", "/nodes/{node}/apt/versions")
def node_apt_versions(sim, ctx, st, p):
    """pve-manager PVE/API2/APT.pm versions ($assemble_pkginfo): Version is the candidate,
    OldVersion the installed one (equal here: no updates pending); ManagerVersion on
    pve-manager, RunningKernel on proxmox-ve. qemu-server is the node's own version."""
    node = p["node"]
    res = []
    for pkg in APT_PACKAGES:
        ver = version.qemu_server(st, node) if pkg == "qemu-server" else version.package(pkg)
        e = {"Package": pkg, "Title": pkg, "Origin": "Proxmox", "Priority": "optional",
             "Section": "admin", "Arch": "all" if pkg != "pve-qemu-kvm" else "amd64",
             "Version": ver, "OldVersion": ver, "CurrentState": "Installed",
             "Description": "%s (simulated)" % pkg}
        if pkg == "pve-manager":
            info = version_info()
            e["ManagerVersion"] = "pve-manager/%s/%s" % (info["version"], info["repoid"])
        elif pkg == "proxmox-ve":
            e["RunningKernel"] = sim.hw(st, node).machine.get("kernel", "6.8.12-4-pve")
        res.append(e)
    return res


@route("POST", "/nodes/{node}/status")
def node_cmd(sim, ctx, st, p):
    """Reboot or shut down the node (Nodes.pm node_cmd: synchronous, returns null)."""
    sim.node_power(st, p["node"], p["command"])
    return None


@route("GET", "/nodes/{node}/qemu")
def qemu_list(sim, ctx, st, p):
    node = p["node"]
    full = _bool(p.get("full"))
    res = []
    for vmid in sorted(st["vms"], key=int):
        vm = st["vms"][vmid]
        if vm["node"] != node:
            continue
        if not ctx.env.check("/vms/%s" % vmid, ["VM.Audit"], noerr=True):
            continue
        res.append(sim.qemu.vm_status(st, vmid, vm, full=full))
    return res


@route("POST", "/nodes/{node}/qemu")
def qemu_create(sim, ctx, st, p):
    return sim.qemu.create(st, ctx.env, p)


@route("GET", "/nodes/{node}/qemu/{vmid}")
def qemu_index(sim, ctx, st, p):
    return [{"subdir": s} for s in ("config", "cloudinit", "pending", "status", "unlink", "vncproxy",
                                    "termproxy", "migrate", "resize", "move", "rrd", "rrddata", "monitor",
                                    "agent", "snapshot", "spiceproxy", "sendkey", "firewall", "mtunnel",
                                    "remote_migrate")]


@route("DELETE", "/nodes/{node}/qemu/{vmid}")
def qemu_destroy(sim, ctx, st, p):
    return sim.qemu.destroy(st, ctx.env, p)


@route("GET", "/nodes/{node}/qemu/{vmid}/config")
def qemu_config_get(sim, ctx, st, p):
    if p.get("snapshot") and _bool(p.get("current")):
        raise param_error({"snapshot": "cannot use 'snapshot' parameter with 'current'",
                           "current": "cannot use 'snapshot' parameter with 'current'"})
    vm = sim.qemu.load_vm(st, p["node"], p["vmid"])
    if p.get("snapshot"):
        raise die("snapshot '%s' does not exist\n" % p["snapshot"])
    return sim.qemu.current_config(vm, _bool(p.get("current")))


@route("POST", "/nodes/{node}/qemu/{vmid}/config")
def qemu_config_post(sim, ctx, st, p):
    res = sim.qemu.update(st, ctx.env, p, sync=False)
    if isinstance(res, tuple):
        return Deferred(res[1], res[2], None)
    return res


@route("PUT", "/nodes/{node}/qemu/{vmid}/config")
def qemu_config_put(sim, ctx, st, p):
    sim.qemu.update(st, ctx.env, p, sync=True)
    return None


@route("GET", "/nodes/{node}/qemu/{vmid}/pending")
def qemu_pending(sim, ctx, st, p):
    vm = sim.qemu.load_vm(st, p["node"], p["vmid"])
    return sim.qemu.pending_list(vm)


@route("GET", "/nodes/{node}/qemu/{vmid}/status")
def qemu_status_index(sim, ctx, st, p):
    sim.qemu.load_vm(st, p["node"], p["vmid"])
    return [{"subdir": s} for s in ("current", "start", "stop", "reset", "shutdown", "suspend", "reboot")]


@route("GET", "/nodes/{node}/qemu/{vmid}/status/current")
def qemu_status_current(sim, ctx, st, p):
    vm = sim.qemu.load_vm(st, p["node"], p["vmid"])
    s = sim.qemu.vm_status(st, str(p["vmid"]), vm, full=True)
    s["ha"] = {"managed": 0}
    conf = vm["conf"]
    if conf.get("agent"):
        s["agent"] = 1 if perl_str(conf["agent"]).split(",")[0] in ("1", "enabled=1") else 0
    if vm["status"] == "running":
        s.setdefault("qmpstatus", vm.get("qmpstatus") or "running")
        if vm.get("qmpstatus") == "paused":
            s["status"] = "running"
    else:
        s["qmpstatus"] = "stopped"
    return s


def _power(action):
    def handler(sim, ctx, st, p):
        return sim.qemu.power(st, ctx.env, action, p)
    return handler


for _action in ("start", "stop", "shutdown", "reboot", "reset", "suspend", "resume"):
    route("POST", "/nodes/{node}/qemu/{vmid}/status/" + _action)(_power(_action))


# --- tasks ---------------------------------------------------------------------------

def _task(sim, st, p):
    upid = p["upid"]
    if decode_upid(upid) is None:
        raise param_error({"upid": "unable to parse worker upid"})
    rec = st["tasks"].get(upid)
    if rec is None or rec["node"] != p["node"]:
        raise param_error({"upid": "no such task"})
    return rec


def _task_visible(ctx, rec):
    user = ctx.env.user
    owner = rec["user"]
    if user == owner or owner.split("!")[0] == user:
        return True
    return ctx.env.check("/nodes/%s" % rec["node"], ["Sys.Audit"], noerr=True)


def _status_type(status):
    """pve-common PVE/UPID.pm normalize_status_type (a running task has no status yet: 'unknown')."""
    if not status or status == "unexpected status":
        return "unknown"
    if status == "OK":
        return "ok"
    if re.match(r"^WARNINGS: \d+$", status):
        return "warning"
    return "error"


@route("GET", "/nodes/{node}/tasks")
def tasks_list(sim, ctx, st, p):
    """pve-manager PVE/API2/Tasks.pm node_tasks: the active tasks first (source active|all; a running
    task's status is 'RUNNING'), then the archive, newest first (source archive|all). Filters as
    $filter_task applies them: userfilter (case-insensitive substring of the user, a token's user
    part), visibility, typefilter, vmid, since/until (start time), the status type (statusfilter,
    or errors: everything but ok), then start/limit; `total` counts every match. The simulator
    archives a task as soon as it ends (pvedaemon does it a moment later: until then a real node
    lists it among the active ones, with its status)."""
    node = p["node"]
    limit = int(p.get("limit", 50))
    start = int(p.get("start", 0))
    vmid = p.get("vmid")
    source = p.get("source", "archive")
    errors_only = _bool(p.get("errors"))
    typefilter = p.get("typefilter")
    userfilter = p.get("userfilter")
    since = int(p["since"]) if p.get("since") is not None else None
    until = int(p["until"]) if p.get("until") is not None else None
    types = {"ok": True, "warning": True, "error": True, "unknown": True}
    if p.get("statusfilter") is not None and not errors_only:
        types = {k: False for k in types}
        for f in formats.split_list(p["statusfilter"]):
            types[f.lower()] = True
    elif errors_only:
        types["ok"] = False
    count = 0
    res = []

    def keep(rec, status, archived):
        nonlocal count
        # $convert_token_task runs on archived entries only: an active one keeps "user@realm!token"
        user = rec["user"].split("!", 1)[0] if archived else rec["user"]
        if userfilter and userfilter.lower() not in user.lower():
            return False
        if not _task_visible(ctx, rec):
            return False
        if typefilter and rec["type"] != typefilter:
            return False
        if vmid and rec["id"] != perl_str(vmid):
            return False
        if since is not None and rec["starttime"] < since:
            return False
        if until is not None and rec["starttime"] > until:
            return False
        if not types.get(_status_type(status)):
            return False
        count += 1
        return count > start and len(res) < limit

    def entry(rec, archived):
        e = {"upid": rec["upid"], "node": node, "pid": rec["pid"], "pstart": rec["pstart"],
             "starttime": rec["starttime"], "type": rec["type"], "id": rec["id"], "user": rec["user"]}
        if archived and "!" in rec["user"]:
            e["user"], e["tokenid"] = rec["user"].split("!", 1)
        return e

    recs = [st["tasks"][u] for u in reversed(st["task_order"]) if u in st["tasks"]]
    recs = [r for r in recs if r["node"] == node]
    if source in ("active", "all"):
        for rec in recs:
            if rec["status"] == "running" and keep(rec, None, False):
                res.append(dict(entry(rec, False), status="RUNNING"))
    if source != "active":
        for rec in recs:
            if rec["status"] == "stopped" and keep(rec, rec["exitstatus"], True):
                res.append(dict(entry(rec, True), status=rec["exitstatus"], endtime=rec["endtime"]))
    return Result(res, total=count)


@route("GET", "/nodes/{node}/tasks/{upid}")
def task_index(sim, ctx, st, p):
    return [{"name": "log"}, {"name": "status"}]


@route("GET", "/nodes/{node}/tasks/{upid}/status")
def task_status(sim, ctx, st, p):
    rec = _task(sim, st, p)
    if not _task_visible(ctx, rec):
        raise ApiError(403, "Permission check failed (/nodes/%s, Sys.Audit)\n" % rec["node"])
    return status_of(rec)


@route("GET", "/nodes/{node}/tasks/{upid}/log")
def task_log(sim, ctx, st, p):
    rec = _task(sim, st, p)
    if not _task_visible(ctx, rec):
        raise ApiError(403, "Permission check failed (/nodes/%s, Sys.Audit)\n" % rec["node"])
    start = int(p.get("start", 0))
    limit = int(p.get("limit", 50))
    lines = rec["log"] if rec["log"] else ["no content"]
    out = [{"n": i + 1, "t": t} for i, t in enumerate(lines)][start:start + limit]
    return Result(out, total=len(lines))


# --- hardware -----------------------------------------------------------------------------

@route("GET", "/nodes/{node}/hardware")
def hardware_index(sim, ctx, st, p):
    return [{"type": "pci"}, {"type": "usb"}]


@route("GET", "/nodes/{node}/hardware/pci")
def hardware_pci(sim, ctx, st, p):
    bl = p.get("pci-class-blacklist")
    blacklist = formats.split_list("05;06;0b" if bl is None else bl)
    verbose = _bool(p.get("verbose"), 1)
    return sim.hw(st, p["node"]).pci_list(blacklist, verbose)


PCI_ID_RE = re.compile(r"^(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-9a-fA-F]$")


@route("GET", "/nodes/{node}/hardware/pci/{pci-id-or-mapping}")
def hardware_pci_index(sim, ctx, st, p):
    return [{"method": "mdev"}]


@route("GET", "/nodes/{node}/hardware/pci/{pci-id-or-mapping}/mdev")
def hardware_pci_mdev(sim, ctx, st, p):
    node = p["node"]
    ident = p["pci-id-or-mapping"]
    hw = sim.hw(st, node)
    used = sim.mdev_in_use(st, node)
    busy = sim.nvidia_in_use(st, node)
    nvml = version.nvml_vgpu_types(st, node)
    if PCI_ID_RE.match(ident):
        pid = hardware.normalize_id(ident.lower())
        return hw.mdev_types(pid, used.get(pid, {}), busy, nvml)
    if ident not in st["mappings"]["pci"]:
        raise die("mapping '%s' not found\n" % ident)
    types = {}
    for entry in sim.node_mapping(st, ident, node):
        path = entry.get("path") or ""
        if ";" in path:
            continue
        pid = path if re.search(r"\.[0-9a-f]$", path) else path + ".0"
        for t in hw.mdev_types(pid, used.get(pid, {}), busy, nvml):
            types.setdefault(t["type"], dict(t))
    return [types[k] for k in sorted(types)]


# USB listing and USB mappings live in usb.py (registered on import)
from . import usb  # noqa: E402,F401
