# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pieces of pvfio's end-to-end tests (tests/e2e/test_*.py).

Each test module starts one Proxmox simulator (tests/pvesim) on a temporary
state file with a cluster description from tests/e2e/clusters/, resets it
before every test (POST /_sim/reset), writes profiles from templates with
the simulator's address and certificate fingerprint filled in, runs the
real `pvfio` binary with its secrets in environment variables, and checks
its output, the simulator's state and the simulator's request log.

Python 3 standard library only.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
import pvesim_client  # noqa: E402  (the simulator client shared with tests/api/simctl.py)
from pvesim_client import WRITE_METHODS, SimUnavailable, is_apply_lock  # noqa: E402,F401

SIM = pvesim_client.SIM
MKROOT = os.path.join(TOP, "tests", "mkroot", "mkroot.py")
SIMREBOOT = os.path.join(TOP, "tests", "mkroot", "simreboot.py")
CLUSTERS = os.path.join(HERE, "clusters")
MACHINES = os.path.join(HERE, "machines")
TOP_MACHINES = os.path.join(TOP, "tests", "machines")

# set by run.py
PVFIO = os.environ.get("PVFIO_BIN", "")

def machine_path(name):
    """tests/e2e/machines/NAME.json, else tests/machines/NAME.json."""
    for d in (MACHINES, TOP_MACHINES):
        p = os.path.join(d, name + ".json")
        if os.path.exists(p):
            return p
    raise FileNotFoundError("no machine description '%s'" % name)


class Sim(pvesim_client.Sim):
    """One simulator process (tests/lib/pvesim_client.py) on a cluster of tests/e2e/clusters/ (or an
    absolute path), tasks of 20 ms; reset() also sets task_ms back to 20."""

    reset_settings = {"latency_ms": 0, "latency_jitter_ms": 0, "task_ms": 20}

    def __init__(self, cluster, args=(), timeout=30):
        cluster = cluster if os.path.isabs(cluster) else os.path.join(CLUSTERS, cluster)
        super().__init__(cluster, ["--task-ms", "20"] + list(args), sim=SIM, timeout=timeout,
                         prefix="pvfio-e2e-sim-")


class ApiError(Exception):
    def __init__(self, status, reason, body):
        super().__init__("%s %s %s" % (status, reason, body))
        self.status = status
        self.reason = reason
        self.body = body


class Api:
    """A small Proxmox API client for out-of-band changes (another admin, another tool)."""

    def __init__(self, sim, user="root@pam", password=None, token=None):
        self.sim = sim
        self.headers = {}
        if token:
            self.headers["Authorization"] = "PVEAPIToken=%s=%s" % token
        else:
            d = self._call("POST", "/access/ticket", {"username": user, "password": password})
            self.headers["Cookie"] = "PVEAuthCookie=" + urllib.parse.quote(d["ticket"], safe="")
            self.headers["CSRFPreventionToken"] = d["CSRFPreventionToken"]

    def _call(self, method, path, params=None):
        url = self.sim.url + "/api2/json" + path
        data = None
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if method in ("GET", "DELETE") and params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        elif params:
            data = urllib.parse.urlencode(params, doseq=True).encode()
        req = urllib.request.Request(url, data=data, method=method, headers=dict(self.headers))
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(req, context=self.sim.ctx, timeout=30) as r:
                return json.loads(r.read() or b"null")["data"]
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, e.reason, e.read().decode(errors="replace"))

    def get(self, path, **params):
        return self._call("GET", path, params)

    def post(self, path, **params):
        return self._call("POST", path, params)

    def put(self, path, **params):
        return self._call("PUT", path, params)

    def delete(self, path, **params):
        return self._call("DELETE", path, params)

    def wait(self, upid, timeout=20):
        node = upid.split(":")[1]
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.get("/nodes/%s/tasks/%s/status" % (node, urllib.parse.quote(upid, safe="")))
            if st.get("status") == "stopped":
                if st.get("exitstatus") != "OK":
                    raise ApiError(0, "task failed", st.get("exitstatus"))
                return st
            time.sleep(0.02)
        raise ApiError(0, "task timeout", upid)

    def set_config(self, node, vmid, **params):
        """PUT …/config (synchronous): another admin edits the VM."""
        return self.put("/nodes/%s/qemu/%d/config" % (node, vmid), **params)

    def config(self, node, vmid):
        return self.get("/nodes/%s/qemu/%d/config" % (node, vmid))

    def pending(self, node, vmid):
        return self.get("/nodes/%s/qemu/%d/pending" % (node, vmid))

    def status(self, node, vmid):
        return self.get("/nodes/%s/qemu/%d/status/current" % (node, vmid))

    def power(self, node, vmid, action):
        return self.wait(self.post("/nodes/%s/qemu/%d/status/%s" % (node, vmid, action)))


class Result:
    def __init__(self, argv, proc):
        self.argv = argv
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "$ %s\nrc=%d\n--- stdout\n%s\n--- stderr\n%s" % (
            " ".join(self.argv[1:]), self.rc, self.out[-6000:], self.err[-4000:])


def render(template, dest, subs):
    """Write the profile template (YAML text) with its @KEY@ placeholders filled."""
    text = template
    for k, v in subs.items():
        text = text.replace("@%s@" % k, str(v))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise ValueError("profile template: placeholders left: %s" % ", ".join(sorted(set(left))))
    with open(dest, "w") as f:
        f.write(text)
    return dest


def snapshot(root, subdirs=("etc", "var", "proc")):
    """(inode, mtime, size, symlink target) of every file under the given subdirectories of a root."""
    out = {}
    for sub in subdirs:
        for dp, dns, fns in os.walk(os.path.join(root, sub)):
            for n in fns + [d for d in dns if os.path.islink(os.path.join(dp, d))]:
                p = os.path.join(dp, n)
                st = os.lstat(p)
                out[os.path.relpath(p, root)] = (st.st_ino, st.st_mtime_ns, st.st_size,
                                                 os.readlink(p) if os.path.islink(p) else None)
    return out


def play_systemctl(root):
    """Do what recorded `systemctl enable|disable UNIT` lines would have done on a real node.

    With a fake root pvfio records host commands in var/lib/pvfio/commands.log
    instead of running them; the lines already played are remembered in
    var/lib/pvfio/commands.played (a test artefact, not read by pvfio)."""
    log = os.path.join(root, "var/lib/pvfio/commands.log")
    played_f = os.path.join(root, "var/lib/pvfio/commands.played")
    try:
        with open(log) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return
    done = int(open(played_f).read()) if os.path.exists(played_f) else 0
    for line in lines[done:]:
        w = line.split()
        if len(w) == 3 and w[0] == "systemctl" and w[1] in ("enable", "disable"):
            d = os.path.join(root, "etc/systemd/system/multi-user.target.wants")
            link = os.path.join(d, w[2])
            if w[1] == "enable" and not os.path.lexists(link):
                os.makedirs(d, exist_ok=True)
                os.symlink("/lib/systemd/system/" + w[2].split("@")[0] + "@.service", link)
            elif w[1] == "disable" and os.path.lexists(link):
                os.remove(link)
    with open(played_f, "w") as f:
        f.write(str(len(lines)))


class E2E(unittest.TestCase):
    """Base class: one simulator per test class, reset before each test."""

    cluster = None          # file name under tests/e2e/clusters/
    sim_args = ()
    secrets = {}            # env var -> secret value given to pvfio; none may appear in its output
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim(cls.cluster, cls.sim_args)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.sim.reset()
        self._api = None
        self.mark0 = self.sim.mark()
        self.tmp = tempfile.mkdtemp(prefix="pvfio-e2e-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    # -- the cluster through the API (another client, logged in as root@pam) --
    root_password = None

    @property
    def api(self):
        if getattr(self, "_api", None) is None:
            self._api = Api(self.sim, password=self.root_password)
        return self._api

    def find_vm(self, name):
        """(vmid, node, status) of the one VM called name, or (None, None, None)."""
        found = [r for r in self.api.get("/cluster/resources", type="vm") if r.get("name") == name]
        self.assertLessEqual(len(found), 1, "%d VMs named %r" % (len(found), name))
        if not found:
            return None, None, None
        return found[0]["vmid"], found[0]["node"], found[0]["status"]

    def vm_config(self, name):
        """(vmid, node, status, config) of the VM called name (fails when it does not exist)."""
        vmid, node, status = self.find_vm(name)
        self.assertIsNotNone(vmid, "VM %s does not exist" % name)
        return vmid, node, status, self.api.config(node, vmid)

    def mapping(self, mid):
        for m in self.api.get("/cluster/mapping/pci"):
            if m["id"] == mid:
                return m
        return None

    # -- helpers --
    def subs(self, **more):
        d = {"API": self.sim.url, "FINGERPRINT": self.sim.fingerprint, "CA_FILE": self.sim.cert}
        d.update(more)
        return d

    def profile(self, template, name="profile.yaml", **more):
        return render(template, os.path.join(self.tmp, name), self.subs(**more))

    def pvfio(self, *args, env=None, timeout=120, stdin=subprocess.DEVNULL):
        argv = [PVFIO] + [str(a) for a in args]
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("PVFIO_"):
                del e[k]
        e.update({"NO_COLOR": "1", "LC_ALL": "C"})
        e.update(self.secrets)
        e.update(env or {})
        # sanitizer builds: a sanitizer report must not pass for an expected exit status
        for var, code in (("ASAN_OPTIONS", 86), ("UBSAN_OPTIONS", 87)):
            e[var] = (e[var] + ":" if e.get(var) else "") + "exitcode=%d" % code
        p = subprocess.run(argv, capture_output=True, text=True, env=e, timeout=timeout, stdin=stdin)
        r = Result(argv, p)
        self.assertNotIn("Sanitizer", r.err, r)
        self.assertNotIn("runtime error:", r.err, r)
        self.assertNotIn(r.rc, (86, 87), r)
        for s in self.secrets.values():
            self.assertNotIn(s, r.out + r.err, "a secret was printed:\n%r" % r)
        return r

    def expect(self, r, rc):
        self.assertEqual(r.rc, rc, r)
        return r

    def mkroot(self, machine, name="root"):
        root = os.path.join(self.tmp, name)
        subprocess.run([sys.executable, MKROOT, machine_path(machine), root], check=True)
        return root

    def simreboot(self, root):
        play_systemctl(root)
        p = subprocess.run([sys.executable, SIMREBOOT, root], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def assertNoWrites(self, mark, what=""):
        w = self.sim.writes(mark)
        self.assertEqual(w, [], "%s: write requests sent: %s" % (
            what, ["%s %s" % (e["method"], e["path"]) for e in w]))

    def assertKeyChange(self, text, key, before, after):
        """The text plan shows `key: before → after` (one line)."""
        pat = r"^\s*~ %s: %s → %s\s*$" % (re.escape(key), re.escape(before), re.escape(after))
        self.assertRegex(text, re.compile(pat, re.M), "no '%s: %s → %s' line" % (key, before, after))


LAB_ROOT_PW = "e2e-lab-root-5c1e"
LAB_TOKEN = ("pvfio@pve!e2e", "1ab1ab00-0000-4000-8000-0000000000e2")

LAB_HEADER = {
    "token": """version: 1
cluster:
  name: lab
  api: @API@
  auth:
    token: %s
    secret_env: E2E_TOKEN
  tls:
    fingerprint: "@FINGERPRINT@"
""" % LAB_TOKEN[0],
    "root": """version: 1
cluster:
  name: lab
  api: @API@
  auth:
    user: root@pam
    password_env: E2E_ROOT_PW
  tls:
    fingerprint: "@FINGERPRINT@"
""",
}


class Lab(E2E):
    """Tests on clusters/lab.json (pve1 workstation-2gpu, pve2 nvidia-l4-vgpu, pve3 igpu-sriov, pve4 igpu-gvtg)."""

    cluster = "lab.json"
    secrets = {"E2E_TOKEN": LAB_TOKEN[1], "E2E_ROOT_PW": LAB_ROOT_PW}
    root_password = LAB_ROOT_PW

    def change_after_first_read(self, path_re, change, timeout=20.0):
        """Hold pvfio's lock request (POST /pools) for a few seconds, and meanwhile, as soon as pvfio's
        first read matching path_re is logged, run change(): a change between pvfio's plan and its lock."""
        self.sim.fault({"method": "POST", "path": "^/pools$", "action": "delay", "delay_ms": 3000, "count": 1})
        mark = self.sim.mark()
        done = threading.Event()
        errors = []

        def watch():
            end = time.time() + timeout
            try:
                while time.time() < end:
                    if any(e["method"] == "GET" and re.search(path_re, e["path"]) for e in self.sim.requests(mark)):
                        change()
                        return
                    time.sleep(0.02)
                errors.append("pvfio's first read was not seen")
            except Exception as ex:  # reported by the test
                errors.append(repr(ex))
            finally:
                done.set()

        t = threading.Thread(target=watch, daemon=True)
        t.start()
        return t, done, errors

    def lab_profile(self, body, auth="token", name="profile.yaml", **more):
        """A profile: the lab's cluster section (token or root@pam password) + body (YAML text)."""
        return self.profile(LAB_HEADER[auth] + body, name=name, **more)

    def apply_ok(self, prof, *args):
        """apply --yes → exit 0 and verified."""
        r = self.expect(self.pvfio("apply", "--yes", prof, *args), 0)
        self.assertIn("Verified:", r.out)
        return r

    def assertIdempotent(self, prof, *args):
        """diff → exit 0 "No changes"; apply again → exit 0 without a single write request."""
        r = self.expect(self.pvfio("diff", prof, *args), 0)
        self.assertIn("No changes", r.out)
        mark = self.sim.mark()
        self.expect(self.pvfio("apply", "--yes", prof, *args), 0)
        self.assertNoWrites(mark, "second apply")


def main(modules, argv=None):
    """Run the given test modules; print `N passed, N failed` last."""
    import argparse
    global PVFIO
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    ap.add_argument("-k", dest="pattern", action="append", default=[], help="only tests matching this substring")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args(argv)
    PVFIO = os.path.abspath(a.pvfio)
    os.environ["PVFIO_BIN"] = PVFIO
    loader = unittest.TestLoader()
    if a.pattern:
        loader.testNamePatterns = ["*%s*" % p for p in a.pattern]
    suite = unittest.TestSuite()
    for m in modules:
        suite.addTests(loader.loadTestsFromModule(m))
    result = unittest.TextTestRunner(verbosity=2 if a.v else 1, stream=sys.stderr).run(suite)
    failed = len(result.failures) + len(result.errors)
    if result.errors and all(isinstance(e, str) and "SimUnavailable" in e for _, e in result.errors) \
            and result.testsRun == len(result.errors):
        print("simulator unavailable: skipped")
        return 77
    passed = result.testsRun - failed - len(result.skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1
