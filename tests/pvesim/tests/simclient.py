"""Test helpers: start a simulator process and talk to it with http.client."""

import gzip
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SIMDIR = os.path.dirname(HERE)
TESTDATA = os.path.join(SIMDIR, "testdata")
SMALL = os.path.join(TESTDATA, "cluster-small.json")


def cluster_secrets(path=SMALL):
    with open(path, encoding="utf-8") as f:
        c = json.load(f)
    users = {u["userid"]: u.get("password", "") for u in c.get("users", [])}
    tokens = {t["tokenid"]: t["secret"] for t in c.get("tokens", [])}
    return users, tokens


class Sim:
    """A running simulator process (stopped by stop() or at exit of a test class)."""

    def __init__(self, cluster=SMALL, args=(), state=None, tmpdir=None):
        self.tmpdir = tmpdir
        cmd = [sys.executable, os.path.join(SIMDIR, "pvesim.py"), "--cluster", cluster]
        if state:
            cmd += ["--state", state]
        cmd += list(args)
        # the conformance set sends requests Proxmox refuses on purpose: keep them out of
        # the logs that scripts/test.sh checks with pvecheck
        env = {k: v for k, v in os.environ.items() if k != "PVESIM_LOG_DIR"}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().decode(errors="replace")
            raise RuntimeError("simulator did not start: %s" % err)
        info = json.loads(line)
        self.port = info["port"]
        self.fingerprint = info["fingerprint"]
        self.pid = info["pid"]
        self.cert = info["cert"]
        self.info = info
        self.users, self.tokens = cluster_secrets(cluster)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def context(self, verify=True):
        if verify:
            ctx = ssl.create_default_context(cafile=self.cert)
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def connect(self, verify=True):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context(verify), timeout=30)

    def client(self, auth=None):
        return Client(self, auth)

    def control(self, method, path, payload=None):
        conn = self.connect()
        body = json.dumps(payload).encode() if payload is not None else None
        conn.request(method, "/_sim/" + path.lstrip("/"), body=body,
                     headers={"Content-Type": "application/json"} if body else {})
        r = conn.getresponse()
        data = json.loads(r.read() or b"null")
        conn.close()
        if r.status != 200:
            raise AssertionError("control %s %s: %s %s" % (method, path, r.status, data))
        return data

    def reset(self):
        self.control("POST", "reset")
        self.control("DELETE", "faults")
        self.control("DELETE", "requests")

    def wait_tasks(self):
        self.control("POST", "wait-tasks", {"timeout": 10})


class Answer:
    def __init__(self, resp, raw):
        self.status = resp.status
        self.reason = resp.reason
        self.headers = resp.headers
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    @property
    def data(self):
        return (self.json or {}).get("data")

    @property
    def message(self):
        return (self.json or {}).get("message")

    @property
    def errors(self):
        return (self.json or {}).get("errors")

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.reason, self.raw[:300])


class Client:
    """A keep-alive API client; auth: None, ("token", id), ("ticket", user), ("header", value)."""

    def __init__(self, sim, auth=None):
        self.sim = sim
        self.conn = None
        self.ticket = None
        self.csrf = None
        self.auth = auth
        if auth and auth[0] == "ticket":
            self.login(auth[1], sim.users[auth[1]])

    def _conn(self):
        if self.conn is None:
            self.conn = self.sim.connect()
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def login(self, user, password):
        a = self.call("POST", "/access/ticket", {"username": user, "password": password}, auth=False)
        if a.status != 200:
            raise AssertionError("login failed: %r" % a)
        self.ticket = a.data["ticket"]
        self.csrf = a.data["CSRFPreventionToken"]
        return a

    def headers(self, method):
        h = {}
        if self.auth is None:
            return h
        kind = self.auth[0]
        if kind == "token":
            h["Authorization"] = "PVEAPIToken=%s=%s" % (self.auth[1], self.sim.tokens[self.auth[1]])
        elif kind == "ticket":
            h["Cookie"] = "PVEAuthCookie=" + urllib.parse.quote(self.ticket, safe="")
            if method != "GET":
                h["CSRFPreventionToken"] = self.csrf
        elif kind == "header":
            h.update(self.auth[1])
        return h

    def call(self, method, path, params=None, json_body=False, auth=True, headers=None, query=None):
        url = "/api2/json" + path
        body = None
        h = dict(self.headers(method)) if auth else {}
        h.update(headers or {})
        if params is not None and method in ("GET", "DELETE") and query is None:
            query = params
            params = None
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        if params is not None:
            if json_body:
                body = json.dumps(params).encode()
                h.setdefault("Content-Type", "application/json")
            else:
                body = urllib.parse.urlencode(params, doseq=True).encode()
                h.setdefault("Content-Type", "application/x-www-form-urlencoded")
        for attempt in (1, 2):
            conn = self._conn()
            try:
                conn.request(method, url, body=body, headers=h)
                r = conn.getresponse()
                raw = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        if r.getheader("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        if (r.getheader("Connection") or "").lower() == "close":
            self.close()
        return Answer(r, raw)

    def wait_task(self, upid, timeout=10.0):
        node = upid.split(":")[1]
        end = time.time() + timeout
        while time.time() < end:
            a = self.call("GET", "/nodes/%s/tasks/%s/status" % (node, urllib.parse.quote(upid, safe="")))
            if a.status != 200:
                raise AssertionError("task status: %r" % a)
            if a.data["status"] == "stopped":
                return a.data
            time.sleep(0.02)
        raise AssertionError("task %s did not finish" % upid)


class SimTestCase(unittest.TestCase):
    """One simulator per test class (SIM_ARGS), reset before each test, with a root@pam
    ticket client in self.c."""

    SIM_ARGS = ["--task-ms", "5"]

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim(args=list(cls.SIM_ARGS))

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.sim.reset()
        self.c = self.sim.client(("ticket", "root@pam"))

    def tearDown(self):
        self.c.close()
