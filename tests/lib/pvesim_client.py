# SPDX-License-Identifier: GPL-2.0-or-later
"""Start, control and stop one Proxmox VE simulator (tests/pvesim) for a test.

The one client of the simulator process and its control endpoints (/_sim/...)
that the test tooling shares: tests/e2e/e2elib.py and tests/api/simctl.py (and
through them tests/ssh, tests/e2e/test_*.py, tests/api/test_e2e.py, bench/)
build on it.

    sim = Sim("cluster.json", ["--task-ms", "20"])   # SimUnavailable when it does not come up
    sim.url, sim.fingerprint, sim.cert, sim.ctx       # where it listens, its TLS identity
    mark = sim.mark(); ...; sim.requests(mark)        # the API requests logged since the mark
    sim.fault({...}); sim.reset(); sim.stop()

Python 3 standard library only.
"""

import json
import os
import select
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SIM = os.path.join(TOP, "tests", "pvesim", "pvesim.py")

WRITE_METHODS = ("POST", "PUT", "DELETE")


class SimUnavailable(Exception):
    pass


def is_apply_lock(entry):
    """A request on pvfio's cluster-wide apply lock (the resource pool 'pvfio-lock'): not a change
    of the cluster's VMs or mappings, so write counts leave it out."""
    path = entry["path"].split("?")[0]
    return path.endswith("/pools") or "/pools/pvfio-lock" in path


class Sim:
    """One simulator process on 127.0.0.1 with its own temporary state directory (self.dir)."""

    # what reset() sets besides a fresh state and no faults
    reset_settings = {"latency_ms": 0, "latency_jitter_ms": 0}

    def __init__(self, cluster, args=(), sim=SIM, timeout=30, prefix="pvfio-sim-", request_log=False):
        """cluster: the cluster description file; args: more simulator options; request_log: also
        append the request log to self.reqlog (requests.jsonl in self.dir)."""
        if not os.path.exists(sim):
            raise SimUnavailable("simulator not found: %s" % sim)
        self.cluster = cluster
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.state = os.path.join(self.dir, "state.json")
        self.reqlog = os.path.join(self.dir, "requests.jsonl") if request_log else None
        cmd = [sys.executable, sim, "--cluster", cluster, "--state", self.state, "--reset"]
        if self.reqlog:
            cmd += ["--request-log", self.reqlog]
        cmd += list(args)
        self.stderr = open(os.path.join(self.dir, "sim.stderr"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        info = json.loads(self._ready_line(timeout))
        self.port = info["port"]
        self.fingerprint = info["fingerprint"]
        self.cert = info["cert"]
        self.url = "https://127.0.0.1:%d" % self.port
        self.ctx = ssl.create_default_context(cafile=self.cert)

    def _ready_line(self, timeout):
        """The JSON line the simulator prints once it listens (port, fingerprint, cert)."""
        deadline = time.time() + timeout
        while time.time() < deadline and self.proc.poll() is None:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                if line.strip():
                    return line
        self.stderr.flush()
        with open(os.path.join(self.dir, "sim.stderr"), errors="replace") as f:
            err = f.read()[-2000:]
        self.stop()
        raise SimUnavailable("simulator did not start (%s): %s" % (self.cluster, err))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- control endpoints (tests/pvesim/README.md) --
    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def reset(self):
        """Fresh state from the cluster description, no faults, reset_settings."""
        self.clear_faults()
        self.settings(**self.reset_settings)
        self.control("POST", "/_sim/reset")

    def settings(self, **values):
        return self.control("POST", "/_sim/settings", values)

    def fault(self, rule):
        return self.control("POST", "/_sim/faults", rule)

    def faults(self):
        return self.control("GET", "/_sim/faults")

    def clear_faults(self):
        return self.control("DELETE", "/_sim/faults")

    def stats(self):
        return self.control("GET", "/_sim/stats")

    def set_vm(self, **body):
        return self.control("POST", "/_sim/vm", body)

    def wait_tasks(self, timeout=10):
        return self.control("POST", "/_sim/wait-tasks", {"timeout": timeout})

    def state_dump(self):
        return self.control("GET", "/_sim/state")

    def vms(self):
        """{vmid(int): {"node", "status", "conf", "pending", …}} from the state dump."""
        return {int(k): v for k, v in (self.state_dump().get("vms") or {}).items()}

    # -- the request log --
    def mark(self):
        """The sequence number of the last logged request (API or control)."""
        entries = self.control("GET", "/_sim/requests")["requests"]
        return entries[-1]["seq"] if entries else 0

    def requests(self, since=0):
        """API requests logged after `since` (control requests left out)."""
        entries = self.control("GET", "/_sim/requests?since=%d" % since)["requests"]
        return [e for e in entries if not e.get("control") and e["seq"] > since]

    def writes(self, since=0):
        """Write requests (POST/PUT/DELETE) after `since`, logins (POST /access/ticket) and the apply
        lock (is_apply_lock) excluded."""
        return [e for e in self.requests(since)
                if e["method"] in WRITE_METHODS and not e["path"].endswith("/access/ticket")
                and not is_apply_lock(e)]

    seq = mark                  # the names tests/api and tests/ssh use
    api_requests = requests

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)
