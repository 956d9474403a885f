"""Start and control the Proxmox simulator (tests/pvesim) for the client's
end-to-end tests and the benchmark. Standard library only."""
import json
import os
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
DEFAULT_SIM = os.path.join(TOP, "tests", "pvesim", "pvesim.py")


class SimUnavailable(Exception):
    pass


class Sim:
    """One simulator process on 127.0.0.1 with its own state directory."""

    def __init__(self, cluster, args=(), sim=DEFAULT_SIM, timeout=30):
        if not os.path.exists(sim):
            raise SimUnavailable("simulator not found: %s" % sim)
        self.dir = tempfile.mkdtemp(prefix="pvfio-e2e-")
        self.reqlog = os.path.join(self.dir, "requests.jsonl")
        cmd = [sys.executable, sim, "--cluster", cluster, "--state", os.path.join(self.dir, "state.json"),
               "--reset", "--request-log", self.reqlog] + list(args)
        self.stderr = open(os.path.join(self.dir, "sim.stderr"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self._ready_line(timeout)
        info = json.loads(line)
        self.port = info["port"]
        self.fingerprint = info["fingerprint"]
        self.cert = info["cert"]
        self.url = "https://127.0.0.1:%d" % self.port
        self.ctx = ssl.create_default_context(cafile=self.cert)

    def _ready_line(self, timeout):
        import select
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                if line.strip():
                    return line
        self.stop()
        with open(os.path.join(self.dir, "sim.stderr")) as f:
            err = f.read()[-2000:]
        raise SimUnavailable("simulator did not start: %s" % err)

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def fault(self, rule):
        return self.control("POST", "/_sim/faults", rule)

    def clear_faults(self):
        return self.control("DELETE", "/_sim/faults")

    def stats(self):
        return self.control("GET", "/_sim/stats")

    def seq(self):
        """The sequence number of the last logged request (API or control)."""
        entries = self.control("GET", "/_sim/requests")["requests"]
        return entries[-1]["seq"] if entries else 0

    def api_requests(self, since=0):
        """API requests logged after `since` (control requests left out)."""
        entries = self.control("GET", "/_sim/requests?since=%d" % since)["requests"]
        return [e for e in entries if not e.get("control") and e["seq"] > since]

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
