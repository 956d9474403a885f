"""Transport, fault injection, request log, state file and control endpoints."""

import hashlib
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

from simclient import SIMDIR, SMALL, TESTDATA, Sim

TOKEN = ("token", "root@pam!full")


def raw_request(sim, data, timeout=5):
    """Send raw bytes over TLS; return everything the server sends until close."""
    ctx = sim.context()
    with socket.create_connection(("127.0.0.1", sim.port), timeout=timeout) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            t.sendall(data)
            out = b""
            while True:
                try:
                    chunk = t.recv(65536)
                except (ConnectionResetError, ssl.SSLError):
                    break
                if not chunk:
                    break
                out += chunk
            return out


class Transport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pvesim-test-")
        cls.log = os.path.join(cls.tmp, "requests.jsonl")
        cls.ready = os.path.join(cls.tmp, "ready.json")
        cls.sim = Sim(args=["--request-log", cls.log, "--ready-file", cls.ready, "--task-ms", "5"])

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.sim.reset()

    def test_ready_line_and_file(self):
        self.assertEqual(set(self.sim.info), {"port", "fingerprint", "pid", "cert"})
        self.assertEqual(self.sim.pid, self.sim.proc.pid)
        with open(self.ready) as f:
            self.assertEqual(json.loads(f.read()), self.sim.info)

    def test_fingerprint_is_the_served_certificate(self):
        ctx = self.sim.context(verify=False)
        with socket.create_connection(("127.0.0.1", self.sim.port)) as s:
            with ctx.wrap_socket(s) as t:
                der = t.getpeercert(binary_form=True)
        fp = hashlib.sha256(der).hexdigest().upper()
        self.assertEqual(self.sim.fingerprint, ":".join(fp[i:i + 2] for i in range(0, 64, 2)))
        self.assertRegex(self.sim.fingerprint, r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")

    def test_certificate_verifies_for_127_0_0_1(self):
        c = self.sim.client(TOKEN)  # uses the cert as CA with hostname checking
        self.assertEqual(c.call("GET", "/version").status, 200)
        c.close()

    def test_keep_alive_one_handshake(self):
        before = self.sim.control("GET", "stats")["tls_handshakes"]
        c = self.sim.client(TOKEN)
        for _ in range(5):
            a = c.call("GET", "/nodes")
            self.assertEqual(a.status, 200)
            self.assertEqual(a.headers["Connection"], "Keep-Alive")
            self.assertEqual(int(a.headers["Content-Length"]), len(a.raw))
        c.close()
        after = self.sim.control("GET", "stats")["tls_handshakes"]
        self.assertEqual(after - before, 2)  # the API connection and the stats request itself
        reqs = [e for e in self.sim.control("GET", "requests")["requests"] if not e.get("control")]
        self.assertEqual(len({e["conn"] for e in reqs}), 1)
        self.assertEqual([e["conn_req"] for e in reqs], [1, 2, 3, 4, 5])

    def test_error_closes_connection(self):
        conn = self.sim.connect()
        conn.request("GET", "/api2/json/version")
        r = conn.getresponse()
        self.assertEqual((r.status, r.reason), (401, "No ticket"))
        self.assertEqual(r.getheader("Connection"), "close")
        self.assertIsNone(r.getheader("Content-Length"))
        self.assertEqual(r.read(), b"")
        conn.close()

    def test_gzip_when_accepted(self):
        c = self.sim.client(TOKEN)
        a = c.call("GET", "/nodes/pve1/hardware/pci", query={"pci-class-blacklist": ""},
                   headers={"Accept-Encoding": "gzip"})
        self.assertEqual(a.headers["Content-Encoding"], "gzip")
        self.assertEqual(a.status, 200)
        self.assertGreater(len(a.data), 3)
        b = c.call("GET", "/nodes/pve1/hardware/pci", query={"pci-class-blacklist": ""})
        self.assertIsNone(b.headers["Content-Encoding"])
        self.assertEqual(a.data, b.data)
        c.close()

    def test_unknown_http_method(self):
        out = raw_request(self.sim, b"PATCH /api2/json/version HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 501 method 'PATCH' not available\r\n"), out)

    def test_chunked_body_rejected(self):
        out = raw_request(self.sim, b"POST /api2/json/access/ticket HTTP/1.1\r\nHost: x\r\n"
                                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 501 chunked transfer encoding not supported\r\n"), out)

    def test_body_limits_and_types(self):
        auth = ("Authorization: PVEAPIToken=root@pam!full=%s\r\n" % self.sim.tokens["root@pam!full"]).encode()
        out = raw_request(self.sim, b"PUT /api2/json/nodes/pve1/qemu/101/config HTTP/1.1\r\nHost: x\r\n" + auth +
                          b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 70000\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 501 for data too large\r\n"), out)
        out = raw_request(self.sim, b"GET /api2/json/version HTTP/1.1\r\nHost: x\r\n" + auth +
                          b"Content-Length: 3\r\n\r\nabc")
        self.assertTrue(out.startswith(b"HTTP/1.1 501 Unexpected content for method 'GET'\r\n"), out)
        out = raw_request(self.sim, b"GET /api2/json/version HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        self.assertTrue(out.startswith(b"HTTP/1.1 401 No ticket\r\n"), out)
        c = self.sim.client(TOKEN)
        a = c.call("PUT", "/nodes/pve1/qemu/101/config", {"name": "x"}, headers={"Content-Type": "text/plain"})
        self.assertEqual((a.status, a.reason), (506, "upload 'Content-Type 'text/plain' not implemented"))
        c.close()

    def test_malformed_json_body(self):
        conn = self.sim.connect()
        conn.request("PUT", "/api2/json/nodes/pve1/qemu/101/config", body=b"{nope",
                     headers={"Content-Type": "application/json",
                              "Authorization": "PVEAPIToken=root@pam!full=" + self.sim.tokens["root@pam!full"]})
        r = conn.getresponse()
        self.assertEqual((r.status, r.reason), (501, "malformed JSON string"))
        conn.close()

    def test_unsplit_form_value_is_cut_at_second_equals(self):
        conn = self.sim.connect()
        c = self.sim.client(("ticket", "root@pam"))
        hdr = dict(c.headers("PUT"), **{"Content-Type": "application/x-www-form-urlencoded"})
        conn.request("PUT", "/api2/json/nodes/pve1/qemu/101/config", body=b"hostpci1=host=0000:02:00.0", headers=hdr)
        r = conn.getresponse()
        body = json.loads(r.read())
        self.assertEqual(r.status, 400)
        self.assertEqual(body["errors"]["hostpci1"],
                         "invalid format - format error\nhostpci1.host: value does not match the regex pattern\n")
        conn.close()
        c.close()

    def test_request_log_redacts_and_counts(self):
        c = self.sim.client(None)
        c.login("root@pam", "rootpw")
        c.close()
        with open(self.log) as f:
            entries = [json.loads(line) for line in f if line.strip()]
        login = [e for e in entries if e["path"] == "/api2/json/access/ticket"][-1]
        self.assertEqual(login["params"]["password"], "<redacted>")
        self.assertEqual(login["params"]["username"], "root@pam")
        self.assertEqual((login["method"], login["status"], login["reason"]), ("POST", 200, "OK"))
        for key in ("seq", "time", "conn", "conn_req", "tls_handshakes", "ms", "auth", "fault"):
            self.assertIn(key, login)
        raw = open(self.log).read()
        self.assertNotIn("rootpw", raw)
        self.assertNotIn(self.sim.tokens["root@pam!full"], raw)

    def test_raw_query_and_body_logged_as_sent(self):
        c = self.sim.client(("ticket", "root@pam"))
        c.call("GET", "/cluster/mapping/pci", query={"check-node": "pve1", "x": ["a", "b"]})
        c.call("PUT", "/nodes/pve1/qemu/101/config", {"description": "a b&c", "tags": "x;y"})
        c.call("POST", "/nodes/pve1/qemu/101/config", {"name": "j", "onboot": True}, json_body=True)
        c.close()
        log = self.sim.control("GET", "requests")["requests"]
        get = [e for e in log if e["path"] == "/api2/json/cluster/mapping/pci"][-1]
        self.assertEqual(get["query"], "check-node=pve1&x=a&x=b")
        self.assertEqual(get["body"], "")
        self.assertEqual(get["params"]["check-node"], "pve1")  # the decoded form stays
        put, post = [e for e in log if e["path"] == "/api2/json/nodes/pve1/qemu/101/config"][-2:]
        self.assertEqual(put["body"], "description=a+b%26c&tags=x%3By")
        self.assertEqual(put["content_type"], "application/x-www-form-urlencoded")
        self.assertEqual(post["body"], '{"name": "j", "onboot": true}')
        self.assertEqual(post["content_type"], "application/json")

    def test_raw_body_secrets_redacted(self):
        c = self.sim.client(None)
        c.login("root@pam", "rootpw")
        c.close()
        login = [e for e in self.sim.control("GET", "requests")["requests"]
                 if e["path"] == "/api2/json/access/ticket"][-1]
        self.assertIn("password=%3Credacted%3E", login["body"])
        self.assertIn("username=root%40pam", login["body"])
        self.assertNotIn("rootpw", json.dumps(login))

    def test_fault_answered_request_logged_with_params_and_auth(self):
        self.sim.control("POST", "faults", {"path": "^/nodes/pve1/qemu/101/config$", "method": "PUT",
                                            "action": "status", "status": 503, "count": 1})
        self.sim.control("POST", "faults", {"path": "^/version$", "action": "drop-before", "count": 1})
        try:
            c = self.sim.client(("token", "pvfio@pve!ci"))
            a = c.call("PUT", "/nodes/pve1/qemu/101/config", {"name": "x", "password": "pw1"})
            self.assertEqual(a.status, 503)
            c.close()
            c = self.sim.client(("token", "pvfio@pve!ci"))
            c.call("GET", "/version", query={"a": "1"})  # the client retries once after the drop
            c.close()
        finally:
            self.sim.control("DELETE", "faults")
        log = self.sim.control("GET", "requests")["requests"]
        put = [e for e in log if e["path"] == "/api2/json/nodes/pve1/qemu/101/config"][-1]
        self.assertEqual((put["fault"], put["status"], put["auth"]), ("status", 503, "pvfio@pve!ci"))
        self.assertEqual(put["params"], {"name": "x", "password": "<redacted>"})
        ver = [e for e in log if e["path"] == "/api2/json/version" and e["fault"]][-1]
        self.assertEqual((ver["fault"], ver["status"], ver["auth"]), ("drop-before", None, "pvfio@pve!ci"))
        self.assertEqual(ver["params"], {"a": "1"})

    def test_auth_field_in_log(self):
        c = self.sim.client(("token", "pvfio@pve!ci"))
        c.call("GET", "/version")
        c.close()
        e = [e for e in self.sim.control("GET", "requests")["requests"] if e["path"] == "/api2/json/version"][-1]
        self.assertEqual(e["auth"], "pvfio@pve!ci")

    def test_task_running_then_stopped(self):
        self.sim.control("POST", "settings", {"task_ms": 400})
        try:
            c = self.sim.client(("ticket", "root@pam"))
            upid = c.call("POST", "/nodes/pve1/qemu/101/status/start").data
            first = c.call("GET", "/nodes/pve1/tasks/%s/status" % upid)
            self.assertEqual(first.data["status"], "running")
            self.assertNotIn("exitstatus", first.data)
            done = c.wait_task(upid)
            self.assertEqual((done["status"], done["exitstatus"]), ("stopped", "OK"))
            self.assertIsInstance(done["pid"], int)
            self.assertIsInstance(done["starttime"], int)
            log = c.call("GET", "/nodes/pve1/tasks/%s/log" % upid, query={"start": 0, "limit": 10})
            self.assertEqual(log.data[-1], {"n": len(log.data), "t": "TASK OK"})
            self.assertEqual(log.json["total"], len(log.data))
            c.close()
        finally:
            self.sim.control("POST", "settings", {"task_ms": 5})


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim(args=["--task-ms", "5"])

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.sim.reset()

    def test_status_rule_with_count(self):
        self.sim.control("POST", "faults", {"method": "GET", "path": "^/nodes$", "action": "status",
                                            "status": 503, "count": 2})
        c = self.sim.client(TOKEN)
        got = [c.call("GET", "/nodes") for _ in range(3)]
        self.assertEqual([(a.status, a.reason, a.raw) for a in got[:2]], [(503, "Service Unavailable", b"")] * 2)
        self.assertEqual(got[2].status, 200)
        self.assertEqual(c.call("GET", "/version").status, 200)  # other paths untouched
        c.close()
        reqs = self.sim.control("GET", "requests")["requests"]
        self.assertEqual([e["fault"] for e in reqs if e["path"] == "/api2/json/nodes"], ["status", "status", None])

    def test_skip_and_596(self):
        self.sim.control("POST", "faults", {"path": "^/version$", "action": "status", "status": 596, "skip": 1, "count": 1})
        c = self.sim.client(TOKEN)
        self.assertEqual(c.call("GET", "/version").status, 200)
        a = c.call("GET", "/version")
        self.assertEqual((a.status, a.reason), (596, "Broken pipe"))
        self.assertEqual(c.call("GET", "/version").status, 200)
        c.close()

    def test_drop_before_does_not_apply_the_write(self):
        self.sim.control("POST", "faults", {"method": "PUT", "action": "drop-before", "count": 1})
        c = self.sim.client(TOKEN)
        conn = c._conn()
        conn.request("PUT", "/api2/json/nodes/pve1/qemu/101/config", body=b"name=dropped",
                     headers=dict(c.headers("PUT"), **{"Content-Type": "application/x-www-form-urlencoded"}))
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            conn.getresponse()
        c.close()
        self.assertEqual(c.call("GET", "/nodes/pve1/qemu/101/config").data["name"], "gvt")
        c.close()

    def test_drop_after_applies_the_write(self):
        self.sim.control("POST", "faults", {"method": "PUT", "action": "drop-after", "count": 1})
        c = self.sim.client(TOKEN)
        conn = c._conn()
        conn.request("PUT", "/api2/json/nodes/pve1/qemu/101/config", body=b"name=applied",
                     headers=dict(c.headers("PUT"), **{"Content-Type": "application/x-www-form-urlencoded"}))
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            conn.getresponse()
        c.close()
        self.assertEqual(c.call("GET", "/nodes/pve1/qemu/101/config").data["name"], "applied")
        c.close()
        e = [e for e in self.sim.control("GET", "requests")["requests"] if e["method"] == "PUT"][-1]
        self.assertEqual((e["status"], e["fault"]), (None, "drop-after"))

    def test_latency_and_delay_are_applied(self):
        self.sim.control("POST", "settings", {"latency_ms": 60})
        self.sim.control("POST", "faults", {"path": "^/nodes$", "action": "delay", "delay_ms": 100, "count": 1})
        try:
            c = self.sim.client(TOKEN)
            c.call("GET", "/version")
            t = time.time()
            c.call("GET", "/version")
            self.assertGreaterEqual(time.time() - t, 0.055)
            t = time.time()
            c.call("GET", "/nodes")
            self.assertGreaterEqual(time.time() - t, 0.155)
            c.close()
        finally:
            self.sim.control("POST", "settings", {"latency_ms": 0})

    def test_bad_rule_rejected(self):
        conn = self.sim.connect()
        conn.request("POST", "/_sim/faults", body=json.dumps({"action": "explode"}))
        r = conn.getresponse()
        self.assertEqual(r.status, 400)
        self.assertIn("action must be one of", json.loads(r.read())["error"])
        conn.close()

    def test_locks_and_clock_controls(self):
        self.sim.control("POST", "vm", {"vmid": 101, "lock": "migrate"})
        c = self.sim.client(TOKEN)
        a = c.call("PUT", "/nodes/pve1/qemu/101/config", {"name": "x"})
        self.assertEqual((a.status, a.reason), (500, "VM is locked (migrate)"))
        self.sim.control("POST", "vm", {"vmid": 101, "lock": None})
        self.assertEqual(c.call("PUT", "/nodes/pve1/qemu/101/config", {"name": "x"}).status, 200)
        self.sim.control("POST", "vm", {"vmid": 101, "flock": True})
        a = c.call("PUT", "/nodes/pve1/qemu/101/config", {"name": "y"})
        self.assertEqual((a.status, a.reason), (500, "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout"))
        upid = c.call("POST", "/nodes/pve1/qemu/101/status/start").data
        self.assertEqual(c.wait_task(upid)["exitstatus"], "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout")
        self.sim.control("POST", "vm", {"vmid": 101, "flock": False})
        self.assertEqual(c.call("PUT", "/nodes/pve1/qemu/101/config", {"name": "y"}).status, 200)
        c.close()


class FlagFaults(unittest.TestCase):
    def test_error_rate_and_auth_delay_flags(self):
        sim = Sim(args=["--error-rate", "502:1.0", "--auth-fail-delay", "0.3"])
        try:
            c = sim.client(TOKEN)
            a = c.call("GET", "/version")
            self.assertEqual((a.status, a.reason), (502, "Bad Gateway"))
            self.assertEqual(sim.control("GET", "stats")["requests"] >= 1, True)
            sim.control("DELETE", "faults")
            self.assertEqual(c.call("GET", "/version").status, 200)
            c.close()
            t = time.time()
            n = sim.client(None).call("GET", "/version")
            self.assertEqual(n.status, 401)
            self.assertGreaterEqual(time.time() - t, 0.28)
        finally:
            sim.stop()

    def test_max_keepalive_and_idle_timeout(self):
        sim = Sim(args=["--max-keepalive", "3", "--idle-timeout", "0.3"])
        try:
            c = sim.client(TOKEN)
            conns = []
            for i in range(4):
                a = c.call("GET", "/version")
                conns.append(a.headers["Connection"])
            self.assertEqual(conns, ["Keep-Alive", "Keep-Alive", "close", "Keep-Alive"])
            time.sleep(0.6)
            self.assertEqual(c.call("GET", "/version").status, 200)  # reconnects after the idle close
            c.close()
            self.assertEqual(sim.control("GET", "stats")["tls_handshakes"], 3 + 1)  # 3 API conns + this control
        finally:
            sim.stop()


class StateFile(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pvesim-state-")
        self.state = os.path.join(self.tmp, "state.json")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_separate_runs_see_the_same_cluster(self):
        a = Sim(state=self.state, args=["--task-ms", "5"])
        try:
            c = a.client(("ticket", "root@pam"))
            upid = c.call("POST", "/nodes/pve1/qemu", {"vmid": "150", "name": "kept"}).data
            self.assertEqual(c.wait_task(upid)["exitstatus"], "OK")
            c.close()
        finally:
            a.stop()
        with open(self.state) as f:
            self.assertIn("150", json.load(f)["vms"])
        b = Sim(state=self.state)
        try:
            self.assertEqual(b.fingerprint, a.fingerprint)  # certificate kept beside the state
            c = b.client(TOKEN)
            self.assertEqual(c.call("GET", "/nodes/pve1/qemu/150/config").data["name"], "kept")
            self.assertEqual(c.call("GET", "/nodes/pve1/tasks/%s/status" % upid).data["exitstatus"], "OK")
            c.close()
        finally:
            b.stop()
        r = Sim(state=self.state, args=["--reset"])
        try:
            a2 = r.client(TOKEN).call("GET", "/nodes/pve1/qemu/150/config")
            self.assertEqual(a2.status, 500)
        finally:
            r.stop()

    def test_two_simulators_share_one_state_file(self):
        a = Sim(state=self.state)
        b = Sim(state=self.state)
        try:
            ca, cb = a.client(TOKEN), b.client(TOKEN)
            self.assertEqual(ca.call("PUT", "/nodes/pve1/qemu/101/config", {"name": "from-a"}).status, 200)
            self.assertEqual(cb.call("GET", "/nodes/pve1/qemu/101/config").data["name"], "from-a")
            d = cb.call("GET", "/nodes/pve1/qemu/101/config").data["digest"]
            self.assertEqual(cb.call("PUT", "/nodes/pve1/qemu/101/config", {"name": "from-b", "digest": d}).status, 200)
            stale = ca.call("PUT", "/nodes/pve1/qemu/101/config", {"name": "again", "digest": d})
            self.assertEqual(stale.reason, "checksum mismatch (file change by other user?)")
            ca.close()
            cb.close()
        finally:
            a.stop()
            b.stop()

    def test_bad_cluster_descriptions_are_refused(self):
        cases = [
            ({"nodes": {"pve1": {"machine": os.path.join(TESTDATA, "machines", "sim-gpu1.json")}}, "colour": 1},
             "unknown key(s) colour"),
            ({"nodes": {"pve1": {"machine": {"devices": [{"addr": "1:0", "vendor": "10de", "device": "1", "class": "030000"}]}}}},
             "is not a lower-case dddd:bb:dd.f address"),
            ({"nodes": {"pve1": {"machine": os.path.join(TESTDATA, "machines", "sim-gpu1.json")}},
              "vms": [{"vmid": 100, "config": {"hostpci0": "0000:0A:00.0"}}]},
             "vm 100: invalid config"),
        ]
        for cluster, msg in cases:
            path = os.path.join(self.tmp, "c.json")
            with open(path, "w") as f:
                json.dump(cluster, f)
            res = subprocess.run([sys.executable, os.path.join(SIMDIR, "pvesim.py"), "--cluster", path],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            self.assertEqual(res.returncode, 1)
            self.assertEqual(res.stdout, b"")
            self.assertIn(msg, res.stderr.decode())


class Controls(unittest.TestCase):
    def test_hardware_change_and_reset(self):
        sim = Sim(cluster=SMALL)
        try:
            sim.control("POST", "hardware", {"node": "pve1", "addr": "0000:01:00.0", "set": {"device": "2532"}})
            c = sim.client(TOKEN)
            lst = c.call("GET", "/nodes/pve1/hardware/pci").data
            self.assertIn("0x2532", [e["device"] for e in lst])
            sim.control("POST", "reset")
            lst = c.call("GET", "/nodes/pve1/hardware/pci").data
            self.assertNotIn("0x2532", [e["device"] for e in lst])
            c.close()
        finally:
            sim.stop()


if __name__ == "__main__":
    unittest.main()
