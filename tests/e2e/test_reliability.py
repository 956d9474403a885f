# SPDX-License-Identifier: GPL-2.0-or-later
"""Reliability of the profile commands (clusters/lab.json): login failures
named with their real cause, read retries over a long outage, secrets
redacted from the debug trace (query strings and bodies too), exit codes
that agree with the summary, and the cluster-wide apply lock."""
import os
import re

import e2elib

VM = """vms:
  - name: rel-a
    node: pve1
    memory: 1G
    state: present
"""


class LoginFailures(e2elib.Lab):
    """A password login that fails names its cause (HTTP status + Proxmox's message) in every command."""

    def commands(self, prof):
        return [("plan", prof), ("apply", "--yes", prof), ("diff", prof),
                ("vm", "add", "--profile", prof, "--node", "pve1", "--name", "rel-b")]

    def assertCause(self, r, *needles):
        self.assertEqual(r.rc, 1, r)
        for n in needles:
            self.assertIn(n, r.err, r)
        self.assertNotIn("is not a list", r.err, r)
        self.assertNotIn("unexpected answer", r.err, r)

    def test_wrong_password(self):
        prof = self.lab_profile(VM, auth="root")
        for argv in self.commands(prof):
            r = self.pvfio(*argv, env={"E2E_ROOT_PW": "not-the-password"})
            self.assertCause(r, "POST /access/ticket: 401", "the login of 'root@pam' was rejected")
            self.assertNotIn("not-the-password", r.out + r.err)
        self.assertEqual(self.sim.writes(self.mark0), [])

    def test_pin_mismatch(self):
        wrong = ":".join(["AB"] * 32)
        prof = self.lab_profile(VM, auth="root", name="pin.yaml")
        text = open(prof).read().replace(self.sim.fingerprint, wrong)
        open(prof, "w").write(text)
        for argv in self.commands(prof):
            r = self.pvfio(*argv)
            self.assertCause(r, "does not match the pin")
        self.assertEqual(self.sim.requests(self.mark0), [])

    def test_untrusted_certificate(self):
        prof = self.lab_profile(VM, auth="root", name="untrusted.yaml")
        text = open(prof).read()
        text = re.sub(r"  tls:\n    fingerprint: .*\n", "", text)
        open(prof, "w").write(text)
        for argv in self.commands(prof):
            r = self.pvfio(*argv)
            self.assertCause(r, "is not trusted")
        self.assertEqual(self.sim.requests(self.mark0), [])



class DebugRedaction(e2elib.Lab):
    """--debug redacts secrets in query strings and bodies by the same rules as in headers."""

    SECRET = "qs-secret-9d1f4e"

    def test_query_and_body_secrets_redacted(self):
        prof = self.lab_profile(VM, auth="root")
        # a GET carries its parameters in the query string (pveproxy accepts GET /access/ticket)
        r = self.pvfio("--debug", "api", "get", "/access/ticket", "--profile", prof, "username=root@pam",
                       "password=" + self.SECRET, "new-password=" + self.SECRET + "2")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("GET /api2/json/access/ticket?", r.err, r)
        self.assertIn("password=<redacted>", r.err, r)
        self.assertNotIn(self.SECRET, r.out + r.err, r)
        # a DELETE too, and a body of a write
        r = self.pvfio("--debug", "api", "delete", "/access/ticket", "--profile", prof,
                       "password=" + self.SECRET)
        self.assertNotIn(self.SECRET, r.out + r.err, r)
        r = self.pvfio("--debug", "api", "create", "/access/ticket", "--profile", prof, "username=nobody@pve",
                       "password=" + self.SECRET)
        self.assertNotIn(self.SECRET, r.out + r.err, r)
        self.assertIn("password=<redacted>", r.err, r)

    def test_query_in_path_refused(self):
        prof = self.lab_profile(VM, auth="root")
        r = self.pvfio("--debug", "api", "get", "/version?password=" + self.SECRET, "--profile", prof)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("must not contain '?'", r.err, r)
        self.assertNotIn(self.SECRET, r.out + r.err, r)


class ReadRetries(e2elib.Lab):
    """Reads ride out an outage of several seconds (502/503/596, dropped connections); writes do not."""

    def count(self, method, path_re):
        return len([e for e in self.sim.requests(self.mark0)
                    if e["method"] == method and re.search(path_re, e["path"])])

    def test_plan_survives_a_long_outage(self):
        # 5 failures in a row: the old budget (4 tries, ~1.4 s) gave up after the fourth
        self.sim.fault({"method": "GET", "path": "^/cluster/resources$", "action": "status", "status": 503,
                        "count": 3})
        self.sim.fault({"method": "GET", "path": "^/cluster/resources$", "action": "drop-before", "count": 2})
        prof = self.lab_profile(VM)
        r = self.pvfio("plan", prof)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("rel-a", r.out)
        self.assertEqual(self.count("GET", "/cluster/resources$"), 6)

    def test_nextid_outage_does_not_lose_a_create(self):
        self.sim.fault({"method": "GET", "path": "^/cluster/nextid$", "action": "status", "status": 596,
                        "count": 5})
        prof = self.lab_profile(VM)
        self.apply_ok(prof)
        self.assertIsNotNone(self.find_vm("rel-a")[0])
        self.assertEqual(self.count("GET", "/cluster/nextid$"), 6)
        self.assertEqual(self.count("POST", r"/nodes/pve1/qemu$"), 1)

    def test_retry_time_is_configurable(self):
        self.sim.fault({"method": "GET", "path": "^/cluster/resources$", "action": "status", "status": 502})
        prof = self.lab_profile(VM)
        r = self.pvfio("plan", "--retry-time", "1", prof)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("GET /cluster/resources: 502", r.err, r)
        n = self.count("GET", "/cluster/resources$")
        self.assertGreaterEqual(n, 2)
        self.assertLessEqual(n, 6)
        # the profile key does the same
        self.sim.control("DELETE", "/_sim/faults")
        text = open(prof).read().replace("cluster:\n", "cluster:\n  retry_time: 1\n", 1)
        open(prof, "w").write(text)
        self.sim.fault({"method": "GET", "path": "^/cluster/resources$", "action": "status", "status": 502})
        mark = self.sim.mark()
        r = self.pvfio("plan", prof)
        self.assertEqual(r.rc, 1, r)
        self.assertLessEqual(len([e for e in self.sim.requests(mark) if e["path"].endswith("/cluster/resources")]), 6)

    def test_write_503_is_not_resent_blindly(self):
        # a create answered 503 may have happened: it is checked, never sent a second time blindly
        self.sim.fault({"method": "POST", "path": "^/nodes/pve1/qemu$", "action": "status", "status": 503,
                        "count": 1})
        prof = self.lab_profile(VM)
        self.pvfio("apply", "--yes", prof)
        creates = [e for e in self.sim.requests(self.mark0)
                   if e["method"] == "POST" and e["path"].endswith("/nodes/pve1/qemu") and e.get("fault") is None]
        self.assertLessEqual(len(creates), 1)


class ExitsAgree(e2elib.Lab):
    """Exit statuses and summaries say the same thing."""

    def make_duplicate(self, name, vmid=900):
        self.api.wait(self.api.post("/nodes/pve1/qemu", vmid=vmid, name=name, tags="pvfio"))

    def test_duplicate_name_is_an_error(self):
        prof = self.lab_profile(VM)
        self.apply_ok(prof)
        first = self.find_vm("rel-a")[0]
        self.make_duplicate("rel-a")
        for argv in (("plan", prof), ("diff", prof), ("apply", "--yes", prof)):
            r = self.pvfio(*argv)
            self.assertEqual(r.rc, 1, r)
            self.assertIn("error: several VMs are named 'rel-a' (vmids %d, 900)" % first, r.err, r)
            self.assertNotIn("Verified", r.out, r)

    def test_duplicate_found_by_the_verification(self):
        # the re-read after the apply is slowed down; meanwhile another client creates a same-named VM
        prof = self.lab_profile(VM)
        self.sim.fault({"method": "GET", "path": "^/cluster/resources$", "action": "delay", "delay_ms": 3000,
                        "skip": 1})
        import threading

        def intruder():
            import time
            deadline = time.time() + 60
            while time.time() < deadline:
                if any(v.get("name") == "rel-a" for v in self.api.get("/nodes/pve1/qemu")):
                    self.make_duplicate("rel-a")
                    return
                time.sleep(0.05)
        t = threading.Thread(target=intruder)
        t.start()
        r = self.pvfio("apply", "--yes", prof)
        t.join()
        self.assertNotIn("Verified", r.out, r)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("error: several VMs are named 'rel-a'", r.err, r)

    def test_plan_with_unreachable_node_never_says_no_changes(self):
        prof = self.lab_profile("""  ssh:
    options: [ConnectTimeout=5]
    nodes:
      pve2: { host: 127.0.0.1, port: 9 }
hosts:
  - nodes: pve2
    iommu: on
""" + VM)
        self.expect(self.pvfio("apply", "--yes", "--no-host", prof), 0)
        for argv in (("plan", prof), ("apply", "--yes", prof)):
            r = self.pvfio(*argv)
            self.assertEqual(r.rc, 3, r)
            self.assertNotIn("No changes. The cluster matches the profile", r.out, r)
            self.assertIn("1 node could not be read: the plan is incomplete", r.out, r)

    def test_commands_recorded_only_when_some_were(self):
        root = self.mkroot("igpu-sriov")   # etc/hostname: igpu-sriov, the --node below
        prof = self.profile("""version: 1
hosts:
  - nodes: all
    sriov:
      - { pf: 0000:00:02.0, vfs: 4 }
""", name="host.yaml")
        r = self.expect(self.pvfio("host", "apply", "--yes", "--root", root, "--node", "igpu-sriov", prof), 0)
        self.assertIn("Commands were recorded in", r.out, r)
        # again with --rebind: only a (blocked) set-sriov, no command at all
        r = self.pvfio("host", "apply", "--yes", "--rebind", "--root", root, "--node", "igpu-sriov", prof)
        self.assertIn("set-sriov", r.out, r)
        self.assertNotIn("Commands were recorded", r.out, r)
        j = self.pvfio("--json", "host", "apply", "--yes", "--rebind", "--root", root, "--node", "igpu-sriov", prof).json()
        self.assertIs(j["commands_recorded"], False)


class ApplyLock(e2elib.Lab):
    """One pvfio at a time reads and writes a cluster: the resource pool 'pvfio-lock'."""

    def lock_comment(self):
        try:
            return self.api.get("/pools", poolid="pvfio-lock")[0].get("comment")
        except e2elib.ApiError:
            return None

    def hold(self, host, pid, since, token="0" * 32):
        self.api.post("/pools", poolid="pvfio-lock",
                      comment="pvfio apply lock: host=%s pid=%d start=0 since=%d token=%s" % (host, pid, since, token))

    def test_lock_taken_and_released(self):
        prof = self.lab_profile(VM)
        self.apply_ok(prof)
        reqs = [e for e in self.sim.requests(self.mark0) if e2elib.is_apply_lock(e)]
        self.assertEqual([e["method"] for e in reqs if e["method"] != "GET"], ["POST", "DELETE"])
        self.assertIsNone(self.lock_comment())
        # plan and diff never take it
        mark = self.sim.mark()
        self.pvfio("plan", prof)
        self.pvfio("diff", prof)
        self.assertEqual([e for e in self.sim.requests(mark) if e2elib.is_apply_lock(e)], [])

    def test_held_lock_names_its_holder(self):
        import socket
        import time
        since = int(time.time())
        self.hold("other-host", 4242, since)
        prof = self.lab_profile(VM)
        r = self.pvfio("apply", "--yes", "--lock-timeout", "2", prof)
        self.assertEqual(r.rc, 1, r)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since))
        self.assertIn("another pvfio apply holds the cluster lock since %s, on host 'other-host' (pid 4242)" % stamp,
                      r.err, r)
        self.assertIn("waiting up to 2 s (--lock-timeout)", r.err, r)
        self.assertIsNone(self.find_vm("rel-a")[0])          # nothing read or written under someone's lock
        self.assertIn("host=other-host", self.lock_comment())  # and the lock is left alone
        # vm add too
        r = self.pvfio("vm", "add", "--profile", prof, "--node", "pve1", "--name", "rel-b", "--lock-timeout", "0")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("another pvfio apply holds the cluster lock", r.err, r)
        self.assertNotEqual(socket.gethostname(), "other-host")

    def test_waits_for_the_lock_then_applies(self):
        import threading
        import time
        self.hold("other-host", 4242, int(time.time()))
        threading.Timer(2.0, lambda: self.api.delete("/pools", poolid="pvfio-lock")).start()
        prof = self.lab_profile(VM)
        r = self.apply_ok(prof, "--lock-timeout", "60")
        self.assertIn("waiting up to 60 s", r.err)
        self.assertIsNotNone(self.find_vm("rel-a")[0])
        self.assertIsNone(self.lock_comment())

    def test_stale_locks_are_taken_over(self):
        import socket
        import time
        # a holder on this host whose process is gone
        self.hold(socket.gethostname(), 999999, int(time.time()))
        prof = self.lab_profile(VM)
        r = self.apply_ok(prof, "--lock-timeout", "0")
        self.assertIn("taking over the stale cluster lock", r.err)
        self.assertIn("its process is gone", r.err)
        self.assertIsNone(self.lock_comment())
        # a holder on another host, older than the stale age (6 h); the lock is taken only for a write
        self.hold("other-host", 4242, int(time.time()) - 7 * 3600)
        prof = self.lab_profile(VM.replace("memory: 1G", "memory: 2G"), name="stale2.yaml")
        r = self.expect(self.pvfio("apply", "--yes", "--lock-timeout", "0", prof), 0)
        self.assertIn("it is older than the stale age", r.err)

    def test_released_after_a_failure(self):
        self.sim.fault({"method": "POST", "path": "^/nodes/pve1/qemu$", "action": "status", "status": 500})
        prof = self.lab_profile(VM)
        r = self.pvfio("apply", "--yes", prof)
        self.assertNotEqual(r.rc, 0, r)
        self.assertIsNone(self.lock_comment())


class ConcurrentApplies(e2elib.Lab):
    """Two or three applies of one profile at once: serialised by the lock, no duplicate VMs."""

    def profile_n(self, n):
        return self.lab_profile("vms:\n" + "".join(
            "  - name: conc-%02d\n    node: pve1\n    memory: 512M\n    state: present\n" % i for i in range(n)))

    def run_concurrently(self, k, prof):
        import subprocess
        import os
        procs = []
        env = dict(os.environ)
        env.update(self.secrets)
        env.update({"NO_COLOR": "1", "LC_ALL": "C"})
        for _ in range(k):
            procs.append(subprocess.Popen([e2elib.PVFIO, "apply", "--yes", prof], env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
        return [(p.wait(180), p.stdout.read(), p.stderr.read()) for p in procs]

    def test_two_and_three_at_once(self):
        prof = self.profile_n(6)
        for k in (2, 3):
            self.sim.reset()
            self._api = None
            results = self.run_concurrently(k, prof)
            for rc, out, err in results:
                self.assertEqual(rc, 0, out + err)
            names = [r["name"] for r in self.api.get("/cluster/resources", type="vm") if r.get("name", "").startswith("conc-")]
            self.assertEqual(sorted(names), ["conc-%02d" % i for i in range(6)], "duplicates or missing: %s" % names)
