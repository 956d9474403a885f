"""Request processing independent of the transport: pveproxy's pipeline.

handle_api() takes a decoded HTTP request and returns a Response, following
PVE::APIServer::AnyEvent (auth, content checks, parameter extraction) and
PVE::HTTPServer::rest_handler (handler lookup, URI parameter conflicts,
API-token check, permissions, proxying to the node, validation).
"""

import json
import re
import sys
import time

from . import api
from . import pools  # noqa: F401  (registers /pools)
from . import auth
from . import formats
from . import propstr
from . import validation
from .errors import ApiError, AuthFailure, not_implemented, param_error, perm_error
from .formats import perl_str
from .hardware import Hardware
from .qemu import Qemu
from .tasks import TaskError, TaskLog, TaskManager

MAX_POST = 64 * 1024
UNAUTHENTICATED = {("GET", "/access/domains"), ("GET", "/access/ticket"), ("POST", "/access/ticket"),
                   ("POST", "/access/vncticket"), ("POST", "/access/openid/login"),
                   ("POST", "/access/openid/auth-url")}

STATUS_PHRASES = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                  500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
                  503: "Service Unavailable", 506: "Variant Also Negotiates", 595: "Connection refused",
                  596: "Broken pipe"}


class Request:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path          # percent-decoded path
        self.query = query        # raw query string
        self.headers = headers    # case-insensitive mapping (email.message.Message)
        self.body = body or b""


class Response:
    def __init__(self, status, reason, body=b"", content_type=None, delay=0.0):
        self.status = status
        self.reason = reason
        self.body = body
        self.content_type = content_type
        self.delay = delay
        self.auth = None
        self.params = None


class Context:
    def __init__(self, env, method, rel_uri):
        self.env = env
        self.method = method
        self.rel_uri = rel_uri


def decode_urlencoded(data):
    """pve-http-server decode_urlencoded: split on & and ;, value cut at a 2nd '='.

    Repeated keys become a list (PVE 9 behaviour).
    """
    res = {}
    if not data:
        return res
    if isinstance(data, bytes):
        data = data.decode("latin-1")
    for kv in re.split(r"[&;]", data):
        if kv == "":
            continue
        parts = kv.split("=")
        k = _unescape(parts[0])
        v = _unescape(parts[1]) if len(parts) > 1 else None
        if v is None:
            res.setdefault(k, None)
            continue
        old = res.get(k)
        if old is None:
            res[k] = v
        elif isinstance(old, list):
            old.append(v)
        else:
            res[k] = [old, v]
    return res


def _unescape(s):
    s = s.replace("+", " ")
    raw = re.sub(r"%([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), s)
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return raw


def first_line(msg):
    m = re.match(r"^(.*)$", msg or "", re.M)
    return m.group(1) if m else ""


def reason_for(status, message):
    """AnyEvent::response: reason = first line; a CR in it turns into 400."""
    msg = first_line(message) if message else ""
    if not msg:
        msg = STATUS_PHRASES.get(status, "Unknown")
    if "\r" in msg:
        return 400, STATUS_PHRASES[400], True
    return status, msg, False


class Simulator:
    def __init__(self, schema, state, settings, faults, fingerprint=""):
        self.schema = schema
        self.state = state
        self.settings = settings
        self.faults = faults
        self.fingerprint = fingerprint
        self.tasks = TaskManager(state, settings, faults)
        self.qemu = Qemu(self)
        self._hw_cache = {}
        self.perm_cache = {}
        self._perm_gen = -1
        self._valid_cache = {}
        with state.transaction() as st:
            self.tasks.recover(st)
            self.adopt_running(st)

    def adopt_running(self, st):
        for vmid in sorted(st["vms"], key=int):
            vm = st["vms"][vmid]
            if vm["status"] == "running" and vm.get("usage") is None:
                self.qemu.adopt_running(st, vmid, vm)

    # --- node power (POST /nodes/{node}/status) ------------------------------

    def node_power(self, st, node, command):
        """node_cmd: 'reboot' takes the node offline for settings.reboot_ms, then it boots;
        'shutdown' keeps it offline (POST /_sim/node brings it back). Running VMs stop either way."""
        n = st["nodes"][node]
        for vmid in sorted(st["vms"], key=int):
            vm = st["vms"][vmid]
            if vm["node"] == node and vm["status"] == "running":
                self.qemu.stop_vm(vm)
        n["online"] = False
        if command == "reboot":
            n["boot_at"] = self.state.now() + float(self.settings.reboot_ms) / 1000.0
        else:
            n.pop("boot_at", None)
        self.state.mark_dirty()

    def boot_node(self, st, node, at=None):
        """The node comes up: online, a new boot time, its onboot=1 VMs started (pve-guests startall)."""
        n = st["nodes"][node]
        n.pop("boot_at", None)
        n["online"] = True
        n["boot_time"] = int(at if at is not None else self.state.now())
        for vmid in sorted(st["vms"], key=int):
            vm = st["vms"][vmid]
            if vm["node"] != node or vm["status"] == "running":
                continue
            conf = vm["conf"]
            if not formats.parse_boolean(conf.get("onboot", 0)) or formats.parse_boolean(conf.get("template", 0)):
                continue
            try:
                self.qemu.start_vm(st, vmid, node, False, TaskLog())
            except (TaskError, ApiError) as e:
                sys.stderr.write("pvesim: node %s boot: VM %s did not start: %s\n"
                                 % (node, vmid, e.message.strip()))
        self.state.mark_dirty()

    def finish_boots(self, st):
        """Complete the reboots whose offline time is over (called before every request)."""
        now = self.state.now()
        for node in st["node_order"]:
            at = st["nodes"][node].get("boot_at")
            if at is not None and at <= now:
                self.boot_node(st, node, at)

    def node_boot_time(self, st, node):
        return st["nodes"][node].get("boot_time", st.get("boot_time", self.state.now()))

    # --- cluster helpers ----------------------------------------------------

    def hw(self, st, node):
        mach = st["nodes"][node]["machine"]
        key = (node, id(mach))
        hw = self._hw_cache.get(key)
        if hw is None or hw.machine is not mach:
            hw = Hardware(mach)
            self._hw_cache = {k: v for k, v in self._hw_cache.items() if k[0] != node}
            self._hw_cache[key] = hw
        return hw

    def assert_node(self, st, node):
        if node not in st["nodes"]:
            raise ApiError(500, "hostname lookup '%s' failed - failed to get address info for: %s: "
                                "Name or service not known\n" % (node, node))

    def node_mapping(self, st, mid, node):
        """PVE::Mapping::PCI::get_node_mapping: parsed entries for one node."""
        rec = st["mappings"]["pci"].get(mid)
        if rec is None:
            return None
        fmt = self.schema.method("POST", "/cluster/mapping/pci").properties["map"]["items"]["format"]
        res = []
        for m in rec.get("map") or []:
            try:
                entry = propstr.parse_property_string(fmt, m, "map", self.schema.named_formats)
            except Exception:
                continue
            if entry.get("node") == node:
                res.append(entry)
        return res

    def pci_in_use(self, st, node, exclude=None):
        """PCI ids reserved by running VMs on a node: id -> vmid."""
        res = {}
        for vmid, vm in st["vms"].items():
            if vmid == exclude or vm["node"] != node or vm["status"] != "running":
                continue
            for a in (vm.get("usage") or {}).get("pci") or []:
                res[a] = vmid
        return res

    def mdev_in_use(self, st, node, exclude=None):
        """Classic mdev instances of running VMs: device -> {type: count}."""
        res = {}
        for vmid, vm in st["vms"].items():
            if vmid == exclude or vm["node"] != node or vm["status"] != "running":
                continue
            for m in (vm.get("usage") or {}).get("mdevs") or []:
                d = res.setdefault(m["dev"], {})
                d[m["type"]] = d.get(m["type"], 0) + 1
        return res

    def nvidia_in_use(self, st, node, exclude=None):
        """VFs hosting an NVIDIA vGPU of a running VM (current_vgpu_type != 0)."""
        res = set()
        for vmid, vm in st["vms"].items():
            if vmid == exclude or vm["node"] != node or vm["status"] != "running":
                continue
            for n in (vm.get("usage") or {}).get("nvidia") or []:
                res.add(n["dev"])
        return res

    def node_entry(self, st, node, resources=False):
        n = st["nodes"][node]
        hw = self.hw(st, node)
        online = n["online"]
        e = {"node": node, "status": "online" if online else "offline", "id": "node/%s" % node,
             "type": "node", "level": ""}
        if online:
            used_mem = sum(self.qemu.memory_mb(vm["conf"]) * 1024 * 1024 for vm in st["vms"].values()
                           if vm["node"] == node and vm["status"] == "running")
            e.update({"cpu": 0.0213, "maxcpu": hw.cpu_count(), "mem": 2 * (1 << 30) + used_mem,
                      "maxmem": n["memory"], "disk": 8 * (1 << 30), "maxdisk": 100 * (1 << 30),
                      "uptime": int(self.state.now() - self.node_boot_time(st, node))})
        if resources:
            e["cgroup-mode"] = 2
        else:
            e["ssl_fingerprint"] = self.fingerprint
        return e

    # --- the request pipeline -------------------------------------------------

    def json_response(self, status, data=None, message=None, errors=None, total=None, delay=0.0):
        body = {"data": data}
        if status >= 400:
            body["message"] = message if message else STATUS_PHRASES.get(status, "")
            if errors:
                body["errors"] = errors
        elif total is not None:
            body["total"] = total
        status, reason, blank = reason_for(status, message if status >= 400 else "OK")
        raw = b"" if blank else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return Response(status, reason, raw, "application/json;charset=UTF-8", delay)

    def error_response(self, status, message, delay=0.0):
        """$self->error(): status line only, empty body."""
        status, reason, _ = reason_for(status, message)
        return Response(status, reason, b"", None, delay)

    def handle_api(self, req):
        m = re.match(r"^/api2/+([a-z][a-z0-9]+)(/.*)?$", req.path)
        if not req.path.startswith("/api2"):
            return self.error_response(501, "no such file '%s'\n" % req.path)
        if not m:
            return self.error_response(501, "no such uri")
        fmt, rel_uri = m.group(1), m.group(2) or "/"
        method = req.method
        with self.state.transaction() as st:
            resp = self._handle_locked(st, req, method, fmt, rel_uri)
        if isinstance(resp, api.Deferred):
            authinfo, params = resp.authinfo, resp.params
            resp = self.finish_deferred(resp)
            resp.auth = authinfo.get("userid")
            resp.params = params
        return resp

    def peek(self, req):
        """(decoded parameters, authenticated user or None) of a request that a fault rule
        answers without handling it; no side effects."""
        params = {}
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].split(",")[0].strip()
        if req.method in ("PUT", "POST") and req.body:
            if ctype == "application/json":
                try:
                    params = json.loads(req.body.decode("utf-8"))
                except (ValueError, UnicodeError):
                    params = {}
                if not isinstance(params, dict):
                    params = {}
            else:
                params = decode_urlencoded(req.body)
        if req.query:
            params.update(decode_urlencoded(req.query))
        params.pop("_dc", None)
        params = {k: v for k, v in params.items() if v is not None}
        m = re.match(r"^/api2/+[a-z][a-z0-9]+(/.*)?$", req.path)
        rel_uri = (m.group(1) or "/") if m else req.path
        with self.state.transaction() as st:
            try:
                user = self.authenticate(st, req, req.method, rel_uri).get("userid")
            except (AuthFailure, ApiError):
                user = None
        return params, user

    def _handle_locked(self, st, req, method, fmt, rel_uri):
        self.finish_boots(st)
        if self.state.generation != self._perm_gen:
            self.perm_cache.clear()
            self._perm_gen = self.state.generation
        # --- authentication (auth_handler) ---
        try:
            authinfo = self.authenticate(st, req, method, rel_uri)
        except AuthFailure as e:
            r = self.error_response(401, e.reason, delay=self.settings.auth_fail_delay)
            r.params = {}
            return r
        # --- request body ---
        length = getattr(req, "length", None) or len(req.body)
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].split(",")[0].strip()
        if length:
            if method not in ("PUT", "POST"):
                return self.error_response(501, "Unexpected content for method '%s'" % method)
            if length > MAX_POST:
                return self.error_response(501, "for data too large")
            if ctype and ctype not in ("application/x-www-form-urlencoded", "application/json"):
                return self.error_response(506, "upload 'Content-Type '%s' not implemented" %
                                           req.headers.get("Content-Type"))
        if fmt not in ("json", "extjs"):
            return self.error_response(501, "no formatter for uri %s, %s" % (rel_uri, fmt))
        params = {}
        if method in ("PUT", "POST"):
            if ctype == "application/json":
                try:
                    params = json.loads(req.body.decode("utf-8")) if req.body else {}
                except (ValueError, UnicodeError):
                    return self.error_response(501, "malformed JSON string")
                if not isinstance(params, dict):
                    return self.error_response(501, "Not a HASH reference")
            else:
                params = decode_urlencoded(req.body)
        if req.query:
            for k, v in decode_urlencoded(req.query).items():
                params[k] = v
        params.pop("_dc", None)
        params = {k: v for k, v in params.items() if v is not None}
        resp_params = dict(params)
        try:
            data = self.rest_handler(st, method, rel_uri, authinfo, params)
            if isinstance(data, api.Deferred):
                data.authinfo = authinfo
                data.params = resp_params
                return data
            total = None
            if isinstance(data, api.Result):
                total = data.total
                data = data.data
            resp = self.json_response(200, data, total=total)
        except ApiError as e:
            delay = self.settings.auth_fail_delay if e.status == 401 else 0.0
            resp = self.json_response(e.status, None, e.message, e.errors, delay=delay)
        except _ErrorOnly as e:
            resp = self.error_response(e.status, e.reason)
        resp.auth = authinfo.get("userid")
        resp.params = resp_params
        return resp

    def finish_deferred(self, d):
        end = time.time() + d.delay
        while time.time() < end:
            with self.state.transaction() as st:
                rec = st["tasks"].get(d.upid)
                if rec and rec["status"] == "stopped":
                    status = rec["exitstatus"]
                    if status == "OK" or status.startswith("WARNINGS: "):
                        return self.json_response(200, None)
                    vmid = rec["id"]
                    return self.json_response(500, None, "failed to update VM %s: %s\n" % (vmid, status))
            time.sleep(0.01)
        return self.json_response(200, d.upid)

    def authenticate(self, st, req, method, rel_uri):
        cookie = req.headers.get("Cookie")
        authz = req.headers.get("Authorization")
        ticket = auth.extract_auth_value(cookie, "PVEAuthCookie")
        if not ticket:
            ticket = auth.extract_auth_value(authz, "PVEAuthCookie")
        api_token = None
        if not ticket:
            api_token = auth.extract_auth_value(authz, "PVEAPIToken")
        info = {"ticket": ticket, "api_token": api_token, "userid": None}
        if (method, rel_uri) in UNAUTHENTICATED:
            return info
        now = self.state.now()
        if api_token:
            # verified tokens are remembered until the state changes; expiry is rechecked
            hit = self.perm_cache.get(("token", api_token))
            if hit is not None and not (hit[1] and hit[1] < now):
                info["userid"] = hit[0]
                return info
            info["userid"] = auth.verify_token(st, api_token, now)
            expire = st["tokens"][info["userid"]].get("expire") or 0
            uexp = st["users"][info["userid"].split("!")[0]].get("expire") or 0
            self.perm_cache[("token", api_token)] = (info["userid"], min(x for x in (expire, uexp, 1 << 62) if x))
            return info
        if not ticket:
            raise AuthFailure("No ticket")
        hit = self.perm_cache.get(("ticket", ticket))
        if hit is not None and hit[1] <= now <= hit[2]:
            user = hit[0]
        else:
            user = auth.verify_ticket(st["secret"], ticket, now)
            if user is None:
                raise AuthFailure("Authentication failed!")
            stamp = int(ticket.split("::")[0].rsplit(":", 1)[1], 16)
            self.perm_cache[("ticket", ticket)] = (user, stamp - auth.AUTH_GRACE, stamp + auth.TICKET_LIFETIME)
        urec = st["users"].get(user)
        if not urec or not urec.get("enable", 1) or (urec.get("expire") and urec["expire"] < now):
            raise AuthFailure("Authentication failed!")
        info["userid"] = user
        if method != "GET":
            token = req.headers.get("CSRFPreventionToken")
            if not auth.verify_csrf(st["secret"], user, token, now):
                raise AuthFailure("Permission denied - invalid csrf token")
        return info

    def rest_handler(self, st, method, rel_uri, authinfo, params):
        m, uri_params = self.schema.find(method, rel_uri)
        if m is None:
            raise not_implemented(method, rel_uri)
        for p in sorted(params):
            if p in uri_params and perl_str(uri_params[p]) != _perl_scalar(params[p]):
                raise param_error({p: "duplicate parameter (already defined in URI) with conflicting values!"})
            uri_params[p] = params[p]
        params = uri_params
        if authinfo.get("api_token") and not m.allowtoken:
            raise perm_error("URI '%s' not available with API token, need proper ticket.\n" % rel_uri)
        env = auth.RPCEnv(st, authinfo.get("userid"), self.perm_cache)
        env.check_api2_permissions(m.permissions, params)
        if m.proxyto:
            node = params.get(m.proxyto)
            if node is not None and node != "localhost":
                self.assert_node(st, perl_str(node))
                if not st["nodes"][perl_str(node)]["online"]:
                    raise _ErrorOnly(595, "Connection refused")
        handler = api.HANDLERS.get((method, m.template))
        if handler is None:
            raise not_implemented(method, rel_uri)
        validation.normalize_legacy_params(params, m.parameters)
        self.validate_cached(m, params)
        params = {k: _untaint(v) for k, v in params.items()}
        ctx = Context(env, method, rel_uri)
        return handler(self, ctx, st, params)


    def validate_cached(self, m, params):
        """Validation is a pure function of the parameters: remember successes."""
        key = None
        if all(type(v) is str for v in params.values()):
            key = (m.method, m.template, tuple(sorted(params.items())))
            if key in self._valid_cache:
                return
        validation.validate(params, m.parameters, self.schema.named_formats)
        if key is not None:
            if len(self._valid_cache) > 20000:
                self._valid_cache.clear()
            self._valid_cache[key] = True


class _ErrorOnly(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _perl_scalar(v):
    if isinstance(v, list):
        return "ARRAY(0x%x)" % id(v)
    if isinstance(v, dict):
        return "HASH(0x%x)" % id(v)
    return perl_str(v)


def _untaint(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return perl_str(v)
    return v
