# SPDX-License-Identifier: GPL-2.0-or-later
"""Reliability of the profile commands (clusters/lab.json): login failures
named with their real cause, read retries over a long outage, secrets
redacted from the debug trace (query strings and bodies too), exit codes
that agree with the summary, and the cluster-wide apply lock."""
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
