"""Cluster state: built from a cluster description, kept in a JSON file.

Every change is written with an atomic rewrite (temporary file in the same
directory, then rename). Several simulator processes may share one state file: each
transaction takes an flock on STATE.lock and reloads the file when another
process changed it since it was last read or written here.
"""

import contextlib
import copy
import fcntl
import json
import os
import secrets
import tempfile
import threading
import time

from . import formats
from . import hardware
from . import validation
from .errors import ApiError

STATE_FORMAT = 1
DEFAULT_CLUSTER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "testdata", "cluster-default.json")


class ConfigError(ValueError):
    pass


def _load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def build_state(cluster, base_dir, schema):
    """Turn a cluster description into a fresh state dict (strictly checked)."""
    allowed = {"cluster", "nodes", "users", "tokens", "acl", "vms", "mappings", "nextid", "storage",
               "comment", "datacenter"}
    unknown = sorted(set(cluster) - allowed)
    if unknown:
        raise ConfigError("cluster description: unknown key(s) %s" % ", ".join(unknown))
    nodes = cluster.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        raise ConfigError("cluster description: 'nodes' must map at least one node name to a machine")
    st = {
        "format": STATE_FORMAT,
        "clustername": cluster.get("cluster", "sim"),
        "secret": secrets.token_hex(32),
        "node_order": [],
        "nodes": {},
        "users": {},
        "tokens": {},
        "acl": [],
        "vms": {},
        "mappings": {"pci": {}},
        "tasks": {},
        "task_order": [],
        "counters": {"pid": 0x2000 + secrets.randbelow(0x1000)},
        "nextid": {"lower": 100, "upper": 1000000},
        "clock_offset": 0,
        "boot_time": int(time.time()) - 86400,
    }
    storage = cluster.get("storage") or [
        {"storage": "local", "type": "dir", "content": "backup,iso,vztmpl", "total_gb": 100},
        {"storage": "local-lvm", "type": "lvmthin", "content": "images,rootdir", "total_gb": 800},
    ]
    node_keys = {"machine", "online", "memory_gb", "comment", "qemu_server"}
    for name, spec in nodes.items():
        try:
            formats_node(name)
        except ValueError as e:
            raise ConfigError("node %r: %s" % (name, e))
        if isinstance(spec, str):
            spec = {"machine": spec}
        bad = sorted(set(spec) - node_keys)
        if bad:
            raise ConfigError("node %r: unknown key(s) %s" % (name, ", ".join(bad)))
        mach = spec.get("machine")
        if isinstance(mach, str):
            path = mach if os.path.isabs(mach) else os.path.join(base_dir, mach)
            try:
                machine = hardware.load_machine(path)
            except (OSError, ValueError) as e:
                raise ConfigError("node %r: machine %s: %s" % (name, path, e))
        elif isinstance(mach, dict):
            try:
                machine = hardware.check_machine(copy.deepcopy(mach), "node %s machine" % name)
            except ValueError as e:
                raise ConfigError(str(e))
        else:
            raise ConfigError("node %r: 'machine' must be a path or an object" % name)
        st["node_order"].append(name)
        st["nodes"][name] = {
            "machine": machine,
            "online": bool(spec.get("online", True)),
            "memory": int(float(spec.get("memory_gb", 64)) * (1 << 30)),
            "storage": copy.deepcopy(storage),
        }
        if spec.get("qemu_server"):
            st["nodes"][name]["qemu_server"] = str(spec["qemu_server"])
    st["datacenter"] = {}
    dc = cluster.get("datacenter") or {}
    bad = sorted(set(dc) - {"tag-style"})
    if bad:
        raise ConfigError("datacenter: unknown key(s) %s (supported: tag-style)" % ", ".join(bad))
    if dc.get("tag-style") is not None:
        from .datacenter import parse_tag_style  # late import: keeps state free of API modules
        try:
            st["datacenter"]["tag-style"] = parse_tag_style(dc["tag-style"])
        except ValueError as e:
            raise ConfigError("datacenter: tag-style: %s" % e)
    users = cluster.get("users") or []
    for u in users:
        uid = u.get("userid")
        if not uid or "@" not in uid:
            raise ConfigError("users: bad userid %r" % uid)
        st["users"][uid] = {"password": u.get("password", ""), "enable": int(u.get("enable", 1)),
                            "expire": int(u.get("expire", 0))}
    st["users"].setdefault("root@pam", {"password": "root", "enable": 1, "expire": 0})
    for t in cluster.get("tokens") or []:
        tid = t.get("tokenid", "")
        user = tid.split("!")[0]
        if "!" not in tid or user not in st["users"]:
            raise ConfigError("tokens: %r must be USER@REALM!NAME of a listed user" % tid)
        st["tokens"][tid] = {"secret": t.get("secret") or secrets.token_hex(16),
                             "privsep": int(t.get("privsep", 1)), "expire": int(t.get("expire", 0))}
    from .auth import ROLES  # late import: auth imports state helpers
    for a in cluster.get("acl") or []:
        bad = sorted(set(a) - {"path", "ugid", "roles", "privs", "propagate"})
        if bad or not a.get("path") or not a.get("ugid"):
            raise ConfigError("acl entry %r: needs path and ugid (keys: path, ugid, roles, privs, propagate)" % a)
        roles = a.get("roles") or []
        if isinstance(roles, str):
            roles = [r for r in roles.replace(",", " ").split() if r]
        for r in roles:
            if r not in ROLES:
                raise ConfigError("acl entry %r: unknown role %r" % (a, r))
        st["acl"].append({"path": a["path"], "ugid": a["ugid"], "roles": roles,
                          "privs": list(a.get("privs") or []), "propagate": int(a.get("propagate", 1))})
    if cluster.get("nextid"):
        st["nextid"].update({k: int(v) for k, v in cluster["nextid"].items()})
    create = schema.method("POST", "/nodes/{node}/qemu")
    for v in cluster.get("vms") or []:
        bad = sorted(set(v) - {"vmid", "node", "status", "config", "lock"})
        if bad:
            raise ConfigError("vm %r: unknown key(s) %s" % (v.get("vmid"), ", ".join(bad)))
        vmid = str(v.get("vmid"))
        node = v.get("node") or st["node_order"][0]
        if node not in st["nodes"]:
            raise ConfigError("vm %s: unknown node %r" % (vmid, node))
        conf = {k: validation.perl_str(x) if not isinstance(x, bool) else str(int(x))
                for k, x in (v.get("config") or {}).items()}
        params = dict(conf, node=node, vmid=vmid)
        try:
            validation.validate(params, create.parameters, schema.named_formats)
        except ApiError as e:
            raise ConfigError("vm %s: invalid config: %s" % (vmid, json.dumps(e.errors, sort_keys=True)))
        if vmid in st["vms"]:
            raise ConfigError("vm %s listed twice" % vmid)
        if v.get("lock"):
            conf["lock"] = v["lock"]
        st["vms"][vmid] = new_vm_record(node, conf)
        if v.get("status", "stopped") == "running":
            st["vms"][vmid]["status"] = "running"
    mcreate = schema.method("POST", "/cluster/mapping/pci")
    for m in (cluster.get("mappings") or {}).get("pci") or []:
        params = {k: (list(x) if isinstance(x, list) else validation.perl_str(x)) for k, x in m.items()}
        try:
            validation.validate(params, mcreate.parameters, schema.named_formats)
        except ApiError as e:
            raise ConfigError("mapping %s: %s" % (m.get("id"), json.dumps(e.errors, sort_keys=True)))
        mid = params.pop("id")
        st["mappings"]["pci"][mid] = mapping_record(params)
    return st


def formats_node(name):
    try:
        formats.v_pve_node(name)
    except formats.FormatError as e:
        raise ValueError(e.message.strip())


def mapping_record(params):
    rec = {"type": "pci"}
    for k, v in params.items():
        if k in ("mdev", "live-migration-capable"):
            rec[k] = 1 if formats.parse_boolean(v) else 0
        elif k == "map":
            rec[k] = list(v)
        else:
            rec[k] = v
    return rec


def new_vm_record(node, conf):
    return {"node": node, "conf": conf, "pending": {}, "pending_delete": {},
            "status": "stopped", "pid": None, "started": None, "qmpstatus": None}


class State:
    """The cluster state plus its file; use transaction() around every access."""

    def __init__(self, path, cluster_path, schema, reset=False):
        self.schema = schema
        self.cluster_path = cluster_path
        self.tmpdir = None
        if path is None:
            self.tmpdir = tempfile.mkdtemp(prefix="pvesim-")
            path = os.path.join(self.tmpdir, "state.json")
        self.path = os.path.abspath(path)
        self.lock_path = self.path + ".lock"
        self.lock = threading.RLock()
        self.data = None
        self._sig = None
        self._depth = 0
        self._dirty = False
        self._lockf = None
        self.generation = 0  # bumped whenever the data is replaced or changed
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with self.transaction() as st:
            if reset or st is None:
                self.data = self.fresh()
                self.mark_dirty()

    def fresh(self):
        cluster_path = self.cluster_path or DEFAULT_CLUSTER
        try:
            cluster = _load_json(cluster_path)
        except (OSError, ValueError) as e:
            raise ConfigError("cannot read cluster description %s: %s" % (cluster_path, e))
        return build_state(cluster, os.path.dirname(os.path.abspath(cluster_path)), self.schema)

    def _stat_sig(self):
        try:
            s = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (s.st_ino, s.st_mtime_ns, s.st_size)

    @contextlib.contextmanager
    def transaction(self):
        """Exclusive access; reloads changes of other processes, saves own ones."""
        with self.lock:
            self._depth += 1
            locked = False
            try:
                if self._depth == 1:
                    if self._lockf is None:
                        self._lockf = open(self.lock_path, "a+")
                    fcntl.flock(self._lockf, fcntl.LOCK_EX)
                    locked = True
                    sig = self._stat_sig()
                    if sig is None:
                        if self.data is not None and self._sig is not None:
                            self.data = None  # the file was removed: start over
                    elif sig != self._sig or self.data is None:
                        loaded = _load_json(self.path)
                        if loaded.get("format") != STATE_FORMAT:
                            raise ConfigError("%s: unsupported state format" % self.path)
                        self.data = loaded
                        self._sig = sig
                        self.generation += 1
                yield self.data
                if self._depth == 1 and self._dirty:
                    self._save()
            finally:
                self._depth -= 1
                if locked:
                    fcntl.flock(self._lockf, fcntl.LOCK_UN)

    def mark_dirty(self):
        self._dirty = True
        self.generation += 1

    def _save(self):
        data = json.dumps(self.data, sort_keys=True, separators=(",", ":"))
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=os.path.dirname(self.path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._dirty = False
        self._sig = self._stat_sig()

    def now(self):
        """The simulator clock (real time plus the /_sim/clock offset)."""
        return time.time() + (self.data or {}).get("clock_offset", 0)
