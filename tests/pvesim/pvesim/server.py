"""HTTPS transport, control endpoints (/_sim/...) and the command line.

One thread per connection (ThreadingHTTPServer); the TLS handshake runs in
that thread so handshakes do not serialise in the accept loop. HTTP/1.1
keep-alive like pveproxy: a connection closes after an error status (>= 400),
after --max-keepalive requests, or after --idle-timeout seconds idle.
"""

import argparse
import email.utils
import gzip
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import faults as faultmod
from . import version
from .core import Request, Simulator
from .errors import ApiError
from .schema import get_schema
from .state import ConfigError, State

KNOWN_METHODS = ("GET", "POST", "PUT", "DELETE")


# --- certificate -------------------------------------------------------------------

def ensure_certificate(cert, key, key_type, renew):
    if renew or not (os.path.exists(cert) and os.path.exists(key)):
        if key_type == "rsa":
            newkey = ["-newkey", "rsa:2048"]
        else:
            newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        subject = "/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=pvesim"
        cmd = (["openssl", "req", "-x509", "-nodes", "-days", "3650", "-subj", subject,
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"] + newkey + ["-keyout", key, "-out", cert])
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if res.returncode != 0:
            raise RuntimeError("openssl failed: %s" % res.stderr.decode(errors="replace").strip())
        os.chmod(key, 0o600)
    with open(cert, encoding="ascii") as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


# --- HTTP ------------------------------------------------------------------------------

class Headers:
    """Request headers: case-insensitive get(), first value wins like HTTP::Headers."""

    def __init__(self):
        self.map = {}
        self.last = None

    def add(self, name, value):
        key = name.lower()
        if key in self.map:
            self.map[key] = self.map[key] + ", " + value
        else:
            self.map[key] = value
        self.last = key

    def append_last(self, more):
        self.map[self.last] += more

    def get(self, name, default=None):
        return self.map.get(name.lower(), default)


_date_cache = [0, ""]


def http_date():
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = email.utils.formatdate(now, usegmt=True)
    return _date_cache[1]


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops SYNs when a client opens many
    # connections at once (each lost SYN costs a 1 s retransmission)
    request_queue_size = 128

    def __init__(self, addr, handler, app):
        self.app = app
        super().__init__(addr, handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"
    sys_version = ""

    # -- connection setup: TLS handshake in this thread --
    def setup(self):
        app = self.server.app
        with app.stats.lock:
            app.stats.connections += 1
            app.stats.active += 1
            self.conn_id = app.stats.connections
        self.conn_req = 0
        self.tls_ok = False
        raw = self.request
        raw.settimeout(10)
        try:  # small answers must not wait for the peer's delayed ACK (Nagle)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        try:
            tls = app.ssl_ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
            tls.do_handshake()
        except (ssl.SSLError, OSError):
            with app.stats.lock:
                app.stats.failed_handshakes += 1
            self.request = raw
            super().setup()
            self.close_connection = True
            return
        with app.stats.lock:
            app.stats.tls_handshakes += 1
        self.tls_ok = True
        self.request = tls
        self.connection = tls
        super().setup()
        self.connection.settimeout(app.args.idle_timeout)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        with self.server.app.stats.lock:
            self.server.app.stats.active -= 1

    def handle(self):
        if not self.tls_ok:
            return
        self.close_connection = False
        while not self.close_connection:
            self.handle_one()

    def handle_one(self):
        """Read one request (request line and headers) and dispatch it."""
        try:
            line = self.rfile.readline(65537)
        except (socket.timeout, OSError, ssl.SSLError):
            self.close_connection = True
            return
        if not line:
            self.close_connection = True
            return
        if line in (b"\r\n", b"\n"):
            return  # pveproxy ignores empty lines before a request
        parts = line.decode("latin-1").rstrip("\r\n").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.send_plain(400, "bad request")
            return
        self.command, self.path, self.request_version = parts
        headers = Headers()
        count = 0
        try:
            while True:
                hl = self.rfile.readline(8193)
                if hl in (b"\r\n", b"\n", b""):
                    break
                count += 1
                if count >= 64:
                    self.send_plain(506, "too many http header lines (> 64)")
                    return
                text = hl.decode("latin-1").rstrip("\r\n")
                if text[:1] in (" ", "\t") and headers.last:
                    headers.append_last(" " + text.strip())
                    continue
                name, sep, value = text.partition(":")
                if not sep:
                    self.send_plain(506, "unable to parse request header")
                    return
                headers.add(name.strip(), value.strip())
        except (socket.timeout, OSError, ssl.SSLError):
            self.close_connection = True
            return
        self.headers = headers
        self.dispatch()

    def send_plain(self, status, reason):
        self.send(status, reason, b"", None, False)

    def log_message(self, fmt, *args):
        if self.server.app.args.verbose:
            sys.stderr.write("pvesim: " + (fmt % args) + "\n")

    # -- one request --
    def dispatch(self):
        app = self.server.app
        start = time.time()
        self.conn_req += 1
        with app.stats.lock:
            app.stats.requests += 1
        method = self.command
        raw_path, _, query = self.path.partition("?")
        raw_path = raw_path.partition("#")[0]
        path = urllib.parse.unquote(raw_path) if "%" in raw_path else raw_path
        keep_alive = self.request_version == "HTTP/1.1"
        conn_hdr = (self.headers.get("Connection") or "").lower()
        if "close" in conn_hdr:
            keep_alive = False
        elif "keep-alive" in conn_hdr:
            keep_alive = True
        if self.conn_req >= app.args.max_keepalive:
            keep_alive = False
        entry = {"time": round(start, 6), "conn": self.conn_id, "conn_req": self.conn_req,
                 "tls_handshakes": app.stats.tls_handshakes, "method": method, "path": path}

        if method not in KNOWN_METHODS:
            self.send(501, "method '%s' not available" % method, b"", None, False)
            self.finish_log(entry, 501, "method '%s' not available" % method, None, start)
            return
        te = self.headers.get("Transfer-Encoding")
        if te:
            reason = ("chunked transfer encoding not supported" if te.lower() == "chunked"
                      else "Unknown transfer encoding '%s'" % te)
            self.send(501, reason, b"", None, False)
            self.finish_log(entry, 501, reason, None, start)
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = b""
        too_large = length > 64 * 1024  # not read: answered after authentication, then closed
        if 0 < length and not too_large:
            body = self.rfile.read(length)

        if not path.startswith("/_sim"):
            entry.update(faultmod.raw_fields(query, body, self.headers.get("Content-Type")))
        if path.startswith("/_sim/") or path == "/_sim":
            entry["control"] = True
            status, data = app.control(method, path, query, body)
            raw = json.dumps(data, sort_keys=True).encode()
            self.send(status, "OK" if status == 200 else "Error", raw, "application/json", keep_alive)
            self.finish_log(entry, status, "OK" if status == 200 else "Error", None, start, log=False)
            return

        rel = path[len("/api2/json"):] if path.startswith("/api2/json") else path
        fault = app.faults.for_request(method, rel) if path.startswith("/api2/") else None
        entry["fault"] = fault.get("action") if fault else None
        lat = app.settings.latency_ms + (random.random() * app.settings.latency_jitter_ms
                                         if app.settings.latency_jitter_ms else 0)
        if lat > 0:
            time.sleep(lat / 1000.0)
        if fault and fault["action"] == "delay":
            time.sleep(float(fault.get("delay_ms", 0)) / 1000.0)
        if fault and fault["action"] in ("drop-before", "status"):
            # not handled, but logged like a handled request: its parameters and who sent it
            peek = Request(method, path, query, self.headers, body)
            entry["params"], entry["auth"] = app.sim.peek(peek)
            entry["params"] = faultmod.redact(entry["params"])
        if fault and fault["action"] == "drop-before":
            self.finish_log(entry, None, None, entry.get("auth"), start)
            self.drop()
            return
        if fault and fault["action"] == "status":
            status = int(fault["status"])
            reason = fault.get("reason") or faultmod.STANDARD_REASONS.get(status, "Error")
            fbody = fault.get("body")
            raw = json.dumps(fbody).encode() if fbody is not None else b""
            # logged before the answer leaves: a client that saw the answer always finds the entry
            self.finish_log(entry, status, reason, entry.get("auth"), start)
            self.send(status, reason, raw, "application/json;charset=UTF-8" if raw else None, False)
            return

        req = Request(method, path, query, self.headers, body)
        req.length = length
        try:
            resp = app.sim.handle_api(req)
        except ApiError as e:  # should not happen: handle_api answers them
            resp = app.sim.json_response(e.status, None, e.message, e.errors)
        except Exception as e:  # a simulator bug: answer like a Perl die would
            import traceback
            traceback.print_exc()
            resp = app.sim.json_response(500, None, "pvesim internal error: %s\n" % e)
        entry["params"] = faultmod.redact(resp.params or {})
        entry["auth"] = resp.auth
        if fault and fault["action"] == "drop-after":
            self.finish_log(entry, None, None, resp.auth, start)
            self.drop()
            return
        if resp.delay and resp.delay > 0:
            time.sleep(resp.delay)
        # logged before the answer leaves: a client that saw the answer always finds the entry
        self.finish_log(entry, resp.status, resp.reason, resp.auth, start)
        self.send(resp.status, resp.reason, resp.body, resp.content_type, keep_alive and resp.status < 400)

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def send(self, status, reason, body, ctype, keep_alive):
        app = self.server.app
        headers = []
        now = http_date()
        if body and ctype:
            headers.append(("Content-Type", ctype))
        headers.extend([("Date", now), ("Expires", now), ("Cache-Control", "max-age=0"),
                        ("Pragma", "no-cache"), ("Server", "pve-api-daemon/3.0")])
        if body:
            accept = self.headers.get("Accept-Encoding") or ""
            if app.args.gzip and "gzip" in accept and len(body) > 1024:
                body = gzip.compress(body, mtime=0)
                headers.append(("Content-Encoding", "gzip"))
            headers.append(("Content-Length", str(len(body))))
        headers.append(("Connection", "Keep-Alive" if keep_alive else "close"))
        out = ["HTTP/1.1 %d %s\r\n" % (status, reason)]
        out.extend("%s: %s\r\n" % h for h in headers)
        out.append("\r\n")
        data = "".join(out).encode("latin-1", errors="replace") + (body or b"")
        try:
            self.wfile.write(data)
        except OSError:
            keep_alive = False
        if not keep_alive:
            self.close_connection = True

    def finish_log(self, entry, status, reason, user, start, log=True):
        entry["status"] = status
        entry["reason"] = reason
        entry.setdefault("auth", user)
        entry.setdefault("params", {})
        entry.setdefault("fault", None)
        entry["ms"] = round((time.time() - start) * 1000.0, 3)
        self.server.app.reqlog.add(entry)
        self.log_message('"%s %s" %s %s', entry["method"], entry["path"], status, reason)


# --- the application: simulator + control endpoints ---------------------------------

class App:
    def __init__(self, args):
        self.args = args
        version.select(args.pve_version, args.qemu_server)
        self.schema = get_schema()
        self.state = State(args.state, args.cluster, self.schema, reset=args.reset)
        base = self.state.path
        if self.state.tmpdir:
            base = os.path.join(self.state.tmpdir, "state.json")
        self.cert = base + ".cert.pem"
        self.key = base + ".key.pem"
        self.fingerprint = ensure_certificate(self.cert, self.key, args.key_type, args.new_cert)
        self.settings = faultmod.Settings(args)
        self.faults = faultmod.Faults(args)
        self.reqlog = faultmod.RequestLog(args.request_log, copy_path=self.collected_log_path())
        self.stats = faultmod.Stats()
        self.sim = Simulator(self.schema, self.state, self.settings, self.faults, self.fingerprint)
        self.ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ssl_ctx.load_cert_chain(self.cert, self.key)
        self.httpd = None

    @staticmethod
    def collected_log_path():
        """PVESIM_LOG_DIR set: every simulator also writes its request log there, one file
        per process named by release (pvesim-9.x-PID.jsonl, pvesim-8.4-PID.jsonl), so a
        test run's requests can be checked afterwards (scripts/test.sh, tests/pvecheck)."""
        d = os.environ.get("PVESIM_LOG_DIR")
        if not d:
            return None
        os.makedirs(d, exist_ok=True)
        return os.path.join(d, "pvesim-%s-%d.jsonl" % (version.name(), os.getpid()))

    def control(self, method, path, query, body):
        """The /_sim endpoints: (status, json data)."""
        try:
            payload = json.loads(body.decode()) if body else {}
        except ValueError:
            return 400, {"error": "body is not JSON"}
        q = urllib.parse.parse_qs(query)
        key = (method, path.rstrip("/"))
        try:
            if key == ("GET", "/_sim/stats"):
                return 200, self.stats.as_dict()
            if key == ("GET", "/_sim/requests"):
                since = int(q.get("since", ["0"])[0])
                return 200, {"requests": self.reqlog.since(since)}
            if key == ("DELETE", "/_sim/requests"):
                self.reqlog.clear()
                return 200, {}
            if key == ("GET", "/_sim/faults"):
                return 200, self.faults.describe()
            if key == ("POST", "/_sim/faults"):
                return 200, {"added": self.faults.add(payload)}
            if key == ("DELETE", "/_sim/faults"):
                self.faults.clear()
                return 200, {}
            if key == ("POST", "/_sim/settings"):
                self.settings.update(payload)
                return 200, self.settings.as_dict()
            if key == ("GET", "/_sim/settings"):
                return 200, self.settings.as_dict()
            if key == ("POST", "/_sim/clock"):
                with self.state.transaction() as st:
                    st["clock_offset"] = float(payload.get("offset", 0))
                    self.state.mark_dirty()
                return 200, {"offset": st["clock_offset"]}
            if key == ("POST", "/_sim/node"):
                return self.control_node(payload)
            if key == ("GET", "/_sim/state"):
                with self.state.transaction() as st:
                    self.sim.finish_boots(st)
                    return 200, json.loads(json.dumps(st))  # a snapshot, serialised under the lock
            if key == ("POST", "/_sim/reset"):
                self.sim.tasks.wait_idle(5)
                with self.state.transaction() as st:
                    self.state.data = self.state.fresh()
                    self.state.mark_dirty()
                    self.sim.adopt_running(self.state.data)
                return 200, {}
            if key == ("POST", "/_sim/datacenter"):
                return self.control_datacenter(payload)
            if key == ("POST", "/_sim/vm"):
                return self.control_vm(payload)
            if key == ("POST", "/_sim/hardware"):
                return self.control_hardware(payload)
            if key == ("POST", "/_sim/wait-tasks"):
                ok = self.sim.tasks.wait_idle(float(payload.get("timeout", 10)))
                return 200, {"idle": ok}
            if key == ("POST", "/_sim/shutdown"):
                threading.Thread(target=self.httpd.shutdown, daemon=True).start()
                return 200, {}
        except (ValueError, KeyError, TypeError, faultmod.RuleError) as e:
            return 400, {"error": str(e)}
        return 404, {"error": "no control endpoint %s %s" % (method, path)}

    def control_datacenter(self, payload):
        """{"tag-style": "ordering=config,case-sensitive=1" | {...} | null}: datacenter.cfg."""
        from .datacenter import parse_tag_style
        bad = sorted(set(payload) - {"tag-style"})
        if bad:
            raise ValueError("unknown datacenter key(s) %s (supported: tag-style)" % ", ".join(bad))
        with self.state.transaction() as st:
            dc = st.setdefault("datacenter", {})
            if "tag-style" in payload:
                if payload["tag-style"] is None:
                    dc.pop("tag-style", None)
                else:
                    dc["tag-style"] = parse_tag_style(payload["tag-style"])
            self.state.mark_dirty()
            return 200, dict(dc)

    def control_vm(self, p):
        with self.state.transaction() as st:
            vmid = str(p["vmid"])
            vm = st["vms"].get(vmid)
            if vm is None:
                return 404, {"error": "no VM %s" % vmid}
            if "lock" in p:
                if p["lock"]:
                    vm["conf"]["lock"] = p["lock"]
                else:
                    vm["conf"].pop("lock", None)
            if "status" in p:
                if p["status"] == "running" and vm["status"] != "running":
                    vm["status"] = "running"
                    vm["usage"] = None
                    self.sim.qemu.adopt_running(st, vmid, vm)
                elif p["status"] == "stopped":
                    self.sim.qemu.stop_vm(vm)
            if "flock" in p:
                vm["flock_held"] = bool(p["flock"])
            if "config" in p:
                for k, v in p["config"].items():
                    if v is None:
                        vm["conf"].pop(k, None)
                    else:
                        vm["conf"][k] = str(v)
            self.state.mark_dirty()
            return 200, {"vmid": vmid, "conf": vm["conf"], "status": vm["status"]}

    def control_node(self, p):
        """{"node": "pve2", "online": true|false}: bring a node up (booting it) or take it down now."""
        with self.state.transaction() as st:
            self.sim.finish_boots(st)
            node = p["node"]
            if node not in st["nodes"]:
                return 404, {"error": "no node %s" % node}
            if p.get("online"):
                if not st["nodes"][node]["online"]:
                    self.sim.boot_node(st, node)
            else:
                self.sim.node_power(st, node, "shutdown")
            n = st["nodes"][node]
            return 200, {"node": node, "online": n["online"], "boot_at": n.get("boot_at")}

    def control_hardware(self, p):
        with self.state.transaction() as st:
            node = p["node"]
            mach = st["nodes"][node]["machine"]
            devs = mach.setdefault("devices", [])
            addr = p["addr"]
            dev = next((d for d in devs if d["addr"] == addr), None)
            if p.get("remove"):
                if dev is not None:
                    devs.remove(dev)
            else:
                if dev is None:
                    dev = {"addr": addr}
                    devs.append(dev)
                dev.update(p.get("set") or {})
            st["nodes"][node]["machine"] = dict(mach)
            self.state.mark_dirty()
            return 200, {"node": node, "device": dev}

    def serve(self):
        self.httpd = SimServer(("127.0.0.1", self.args.port), Handler, self)
        port = self.httpd.server_address[1]
        line = json.dumps({"port": port, "fingerprint": self.fingerprint, "pid": os.getpid(),
                           "cert": self.cert})
        if self.args.ready_file:
            d = os.path.dirname(os.path.abspath(self.args.ready_file))
            fd, tmp = tempfile.mkstemp(dir=d, prefix=".ready-")
            with os.fdopen(fd, "w") as f:
                f.write(line + "\n")
            os.replace(tmp, self.args.ready_file)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

        def stop(signum, frame):
            threading.Thread(target=self.httpd.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.httpd.server_close()
            self.sim.tasks.wait_idle(2)
            if self.state.tmpdir:
                shutil.rmtree(self.state.tmpdir, ignore_errors=True)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="pvesim", description="Strict Proxmox VE API simulator (HTTPS on 127.0.0.1). "
                                 "Prints one JSON line {port, fingerprint, pid, cert} when ready; see README.md.")
    ap.add_argument("--cluster", help="cluster description (JSON); default: testdata/cluster-default.json")
    ap.add_argument("--state", help="state file (JSON), shared by later runs; temporary if omitted")
    ap.add_argument("--reset", action="store_true",
                    help="rebuild the state from --cluster even if the state file exists")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = pick a free one)")
    ap.add_argument("--ready-file", help="also write the ready line to this file")
    ap.add_argument("--request-log", help="append one JSON line per request to this file")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="delay every API request (ms)")
    ap.add_argument("--latency-jitter-ms", type=float, default=0.0, help="plus a random 0..N ms")
    ap.add_argument("--error-rate", help="answer a random fraction with a status: S:P[,S:P...] e.g. 503:0.1,502:0.05")
    ap.add_argument("--drop-rate", help="drop connections without an answer: before:P,after:P")
    ap.add_argument("--faults", help="JSON file with initial fault rules")
    ap.add_argument("--seed", type=int, default=1, help="seed of the random faults (default 1)")
    ap.add_argument("--task-ms", type=float, default=50.0, help="how long a task stays running (default 50)")
    ap.add_argument("--reboot-ms", type=float, default=2000.0,
                    help="how long a node is offline after POST /nodes/{node}/status reboot (default 2000)")
    ap.add_argument("--auth-fail-delay", type=float, default=0.0, help="seconds before every 401 (Proxmox: 3)")
    ap.add_argument("--idle-timeout", type=float, default=5.0,
                    help="close idle connections after S seconds (default 5)")
    ap.add_argument("--max-keepalive", type=int, default=100, help="requests per connection (default 100)")
    ap.add_argument("--no-gzip", dest="gzip", action="store_false", help="never gzip responses")
    ap.add_argument("--key-type", choices=("ec", "rsa"), default="ec", help="certificate key type (default ec)")
    ap.add_argument("--new-cert", action="store_true", help="generate a new certificate even if one is kept")
    ap.add_argument("--verbose", action="store_true", help="log each request on stderr")
    ap.add_argument("--pve-version", choices=sorted(version.PROFILES),
                    default=os.environ.get("PVESIM_PVE_VERSION") or "9.x",
                    help="Proxmox VE release to answer as (default: $PVESIM_PVE_VERSION, else 9.x)")
    ap.add_argument("--qemu-server", metavar="VERSION",
                    help="qemu-server version every node reports (default: the release's; "
                         "9.1.11 and later list NVIDIA vGPU types through NVML on the PF)")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # many short I/O-bound threads: hand the GIL over quickly so a thread whose
    # socket is ready does not wait out the default 5 ms switch interval
    sys.setswitchinterval(float(os.environ.get("PVESIM_SWITCH", "0.0005")))
    try:
        app = App(args)
    except (ConfigError, faultmod.RuleError, RuntimeError, OSError) as e:
        sys.stderr.write("pvesim: %s\n" % e)
        return 1
    app.serve()
    return 0
