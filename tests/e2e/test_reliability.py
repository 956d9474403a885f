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
