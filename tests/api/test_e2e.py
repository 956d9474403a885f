#!/usr/bin/env python3
"""End-to-end tests of the API client (api/) against the Proxmox simulator.

Runs the real `pvfio api …` binary and `api_tool` (tests/api/api_tool.c, the
typed calls) against tests/pvesim on loopback HTTPS, and checks both their
output and the simulator's request log (what really reached the server).

    test_e2e.py --pvfio BUILD/pvfio --tool BUILD/tests/api/api_tool [GROUP…]

GROUP is a test class (AuthTests, TlsTests, RetryTests, TaskTests,
ConcurrencyTests); none = all. Exit 77 (CTest skip) when the simulator is missing.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simctl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = os.path.join(HERE, "cluster-e2e.json")
ROOT_PW = "e2e-root-pw-7f3a"
CI_TOKEN = ("pvfio@pve!ci", "c3c3c3c3-0000-4000-8000-000000000003")
ROOT_TOKEN = ("root@pam!full", "a1a1a1a1-0000-4000-8000-000000000001")
SECRETS = [ROOT_PW, CI_TOKEN[1], ROOT_TOKEN[1], "e2e-pvfio-pw-91c2"]
GPU_MAP = "node=pve1,path=0000:01:00.0,id=10de:2531,iommugroup=14"

PVFIO = None
TOOL = None
SIM = simctl.DEFAULT_SIM


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "rc=%d\nstdout: %s\nstderr: %s" % (self.rc, self.out[-3000:], self.err[-3000:])


class Base(unittest.TestCase):
    sim_args = ()
    cluster = CLUSTER

    @classmethod
    def setUpClass(cls):
        cls.sim = simctl.Sim(cls.cluster, cls.sim_args, sim=SIM)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.sim.clear_faults()
        self.mark = self.sim.seq()

    # -- running the client --
    def run_cmd(self, argv, env_extra=None, timeout=60):
        env = dict(os.environ)
        env.pop("PVFIO_TEST_SECRET", None)
        env.update(env_extra or {})
        # sanitizer builds: a sanitizer report must not pass for an expected exit status 1
        for var, code in (("ASAN_OPTIONS", 86), ("UBSAN_OPTIONS", 87)):
            env[var] = (env[var] + ":" if env.get(var) else "") + "exitcode=%d" % code
        p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
        r = Result(p)
        self.assertNotIn("Sanitizer", r.err, r)
        self.assertNotIn("runtime error:", r.err, r)
        for s in SECRETS:  # whatever happened, no secret is ever printed
            self.assertNotIn(s, r.out + r.err, "secret leaked: %r" % r)
        return r

    def pvfio(self, args, auth="token", fingerprint=True, env_extra=None, pre=()):
        argv = [PVFIO] + list(pre) + ["api"] + list(args) + ["--url", self.sim.url]
        env = dict(env_extra or {})
        if auth == "token":
            argv += ["--token-id", CI_TOKEN[0], "--secret-env", "E2E_SECRET"]
            env.setdefault("E2E_SECRET", CI_TOKEN[1])
        elif auth == "root-token":
            argv += ["--token-id", ROOT_TOKEN[0], "--secret-env", "E2E_SECRET"]
            env.setdefault("E2E_SECRET", ROOT_TOKEN[1])
        elif auth == "password":
            argv += ["--user", "root@pam", "--password-env", "E2E_SECRET"]
            env.setdefault("E2E_SECRET", ROOT_PW)
        if fingerprint is True:
            argv += ["--fingerprint", self.sim.fingerprint]
        elif fingerprint:
            argv += ["--fingerprint", fingerprint]
        return self.run_cmd(argv, env)

    def tool(self, args, auth="token", opts=(), secret=None):
        argv = [TOOL, "--url", self.sim.url, "--fingerprint", self.sim.fingerprint] + list(opts)
        if auth == "token":
            argv += ["--token-id", CI_TOKEN[0]]
            secret = secret or CI_TOKEN[1]
        elif auth == "root-token":
            argv += ["--token-id", ROOT_TOKEN[0]]
            secret = secret or ROOT_TOKEN[1]
        else:
            argv += ["--user", "root@pam"]
            secret = secret or ROOT_PW
        r = self.run_cmd(argv + list(args), {"PVFIO_TEST_SECRET": secret})
        self.assertIn(r.rc, (0, 1), r)
        return r, r.json()

    # -- reading the request log --
    def logged(self, method=None, path_re=None):
        out = []
        for e in self.sim.api_requests(self.mark):
            if method and e["method"] != method:
                continue
            if path_re and not re.search(path_re, e["path"]):
                continue
            out.append(e)
        return out

    def handled(self, entries):
        """Requests the simulator really executed (not answered by a fault)."""
        return [e for e in entries if e["fault"] in (None, "drop-after", "delay")]


class AuthTests(Base):
    def test_token(self):
        r = self.pvfio(["get", "/version"])
        self.assertEqual(r.rc, 0, r)
        self.assertIn("version", r.json())
        log = self.logged("GET", r"/api2/json/version$")
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0]["auth"], CI_TOKEN[0])
        self.assertEqual(log[0]["status"], 200)

    def test_profile_connection(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            secret = os.path.join(d, "pw")
            with open(secret, "w") as f:
                f.write(ROOT_PW + "\n")
            prof = os.path.join(d, "site.yaml")
            with open(prof, "w") as f:
                f.write("version: 1\ncluster:\n  api: %s\n  auth:\n    user: root@pam\n    password_file: %s\n"
                        "  tls:\n    fingerprint: \"%s\"\n  parallel: 4\n" % (self.sim.url, secret,
                                                                              self.sim.fingerprint.lower()))
            r = self.run_cmd([PVFIO, "api", "get", "/nodes", "--profile", prof])
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(sorted(n["node"] for n in r.json()), ["pve1", "pve2"])
            self.assertEqual(self.logged()[-1]["auth"], "root@pam")
            # options win over the profile
            r = self.run_cmd([PVFIO, "api", "get", "/version", "--profile", prof, "--token-id", CI_TOKEN[0],
                              "--secret-env", "E2E_SECRET"], {"E2E_SECRET": CI_TOKEN[1]})
            self.assertEqual(r.rc, 0, r)
            self.assertEqual(self.logged()[-1]["auth"], CI_TOKEN[0])

    def test_token_wrong_secret(self):
        r = self.pvfio(["get", "/nodes"], env_extra={"E2E_SECRET": "c3c3c3c3-0000-4000-8000-00000000dead"})
        self.assertEqual(r.rc, 1, r)
        self.assertIn("GET /nodes: 401", r.err)
        self.assertIn("API token 'pvfio@pve!ci' was rejected", r.err)
        self.assertIn("environment variable 'E2E_SECRET'", r.err)
        self.assertNotIn("00000000dead", r.err)
        self.assertEqual(len(self.logged("GET", r"/nodes$")), 1)  # a 401 is not retried

    def test_ticket_login_and_csrf(self):
        # a POST with a ticket needs the CSRF token: the simulator answers 401 without it
        r = self.pvfio(["create", "/cluster/mapping/pci", "id=e2elogin", "map=" + GPU_MAP], auth="password")
        self.assertEqual(r.rc, 0, r)
        log = self.logged()
        self.assertEqual([(e["method"], e["path"], e["status"]) for e in log],
                         [("POST", "/api2/json/access/ticket", 200),
                          ("POST", "/api2/json/cluster/mapping/pci", 200)])
        self.assertEqual(log[1]["auth"], "root@pam")
        self.assertEqual(log[0]["params"].get("password"), "<redacted>")
        r = self.tool(["mapping-get", "e2elogin"])[1]
        self.assertEqual(r["result"]["map"], [GPU_MAP])

    def test_wrong_password(self):
        r = self.pvfio(["get", "/version"], auth="password", env_extra={"E2E_SECRET": "not-the-password"})
        self.assertEqual(r.rc, 1, r)
        self.assertIn("POST /access/ticket: 401", r.err)
        self.assertIn("the login of 'root@pam' was rejected", r.err)
        self.assertNotIn("not-the-password", r.err + r.out)
        self.assertEqual(len(self.logged("GET")), 0)  # nothing after a failed login

    def test_debug_trace_is_redacted(self):
        r = self.pvfio(["create", "/cluster/mapping/pci", "id=e2etrace", "map=" + GPU_MAP], auth="password",
                       pre=["--debug"])
        self.assertEqual(r.rc, 0, r)
        self.assertIn("Cookie: <redacted>", r.err)
        self.assertIn("CSRFPreventionToken: <redacted>", r.err)
        self.assertIn("password=<redacted>", r.err)
        self.assertIn('"ticket":"<redacted>"', r.err)
        self.assertNotIn("PVE:root@pam:", r.err)  # the ticket itself
        for m in re.finditer(r"CSRFPreventionToken[\"':\s]+(\S+)", r.err):
            self.assertTrue(m.group(1).startswith("<redacted>"), m.group(0))
        r = self.pvfio(["get", "/version"], pre=["--debug"])
        self.assertEqual(r.rc, 0, r)
        self.assertIn("Authorization: <redacted>", r.err)
        self.assertNotIn("PVEAPIToken", r.err)

    def test_expired_ticket_relogin(self):
        # the second GET meets an expired ticket (simulator clock moved 2 h on): log in again, once
        def jump():
            time.sleep(0.6)
            self.sim.control("POST", "/_sim/clock", {"offset": 7500})
        t = threading.Thread(target=jump)
        t.start()
        try:
            r, j = self.tool(["repeat", "2", "1500"], auth="password")
        finally:
            t.join()
            self.sim.control("POST", "/_sim/clock", {"offset": 0})
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(j["stats"]["logins"], 2, r)
        statuses = [(e["path"].rsplit("/", 1)[-1], e["status"]) for e in self.logged()]
        self.assertEqual(statuses, [("ticket", 200), ("version", 200), ("version", 401), ("ticket", 200),
                                    ("version", 200)])

    def test_ticket_renewal(self):
        r, j = self.tool(["repeat", "2", "1200"], auth="password", opts=["--renew-s", "1"])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(j["stats"]["logins"], 2)
        self.assertEqual([e["status"] for e in self.logged("POST", r"/access/ticket$")], [200, 200])
        self.assertEqual([e["status"] for e in self.logged("GET")], [200, 200])

    def test_parameter_error_names_the_request(self):
        r = self.pvfio(["set", "/nodes/pve1/qemu/101/config", "onboot=true"])
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.err, r"PUT /nodes/pve1/qemu/101/config: 400 Parameter verification failed: "
                                r"onboot: type check \('boolean'\) failed - got 'true'")
        self.assertEqual(len(self.err_lines(r)), 1)

    def test_not_implemented(self):
        r = self.pvfio(["get", "/nodes/pve1/no-such-thing"])
        self.assertEqual(r.rc, 1, r)
        self.assertIn("GET /nodes/pve1/no-such-thing: 501", r.err)
        self.assertIn("does not implement this path", r.err)

    def test_raw_hostpci_needs_root_ticket(self):
        r, j = self.tool(["update", "pve1", "101", "hostpci1=0000:02:00.0"], auth="root-token")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("only root can set 'hostpci1'", j["message"])
        self.assertIn("need a root@pam password login", j["message"])
        self.assertEqual(j["http_status"], 500)
        # the verifier is not involved: a definite answer is never re-sent
        self.assertEqual(len(self.logged("PUT")), 1)

    @staticmethod
    def err_lines(r):
        return [l for l in r.err.splitlines() if "error:" in l]


class TlsTests(Base):
    def test_fingerprint_command_sends_no_request(self):
        hs = self.sim.stats()["tls_handshakes"]
        r = self.run_cmd([PVFIO, "api", "fingerprint", self.sim.url])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.out.strip(), self.sim.fingerprint)
        self.assertEqual(self.logged(), [])
        self.assertGreater(self.sim.stats()["tls_handshakes"], hs)
        r = self.run_cmd([PVFIO, "api", "fingerprint", "--json", self.sim.url])
        self.assertEqual(r.json()["fingerprint"], self.sim.fingerprint)

    def test_pin_any_spelling(self):
        fp = self.sim.fingerprint.replace(":", "").lower()
        r = self.pvfio(["get", "/version"], fingerprint=fp)
        self.assertEqual(r.rc, 0, r)

    def test_wrong_pin_sends_nothing(self):
        wrong = ("00" if not self.sim.fingerprint.startswith("00") else "11") + self.sim.fingerprint[2:]
        failed = self.sim.stats()["failed_handshakes"]
        r = self.pvfio(["create", "/cluster/mapping/pci", "id=e2epin", "map=" + GPU_MAP], fingerprint=wrong)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("does not match the pinned fingerprint", r.err)
        self.assertIn("nothing was sent", r.err)
        self.assertIn(self.sim.fingerprint, r.err)  # what the server presented
        self.assertEqual(self.logged(), [])  # not one request reached the server
        # one connection, abandoned by the client inside the handshake (and not retried)
        self.assertEqual(self.sim.stats()["failed_handshakes"], failed + 1)
        self.assertNotIn("e2epin", json.dumps(self.tool(["mappings"])[1]["result"]))

    def test_ca_file(self):
        r = self.pvfio(["get", "/version", "--ca-file", self.sim.cert], fingerprint=None)
        self.assertEqual(r.rc, 0, r)

    def test_ca_file_unreadable_or_not_pem(self):
        # said before any connection, with the reason; nothing reaches the server
        r = self.pvfio(["get", "/version", "--ca-file", "/nonexistent/ca.pem"], fingerprint=None)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("cannot read the CA file '/nonexistent/ca.pem' (tls.ca_file, --ca-file): No such file or "
                      "directory", r.err)
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as f:
            f.write("not a certificate\n")
            f.flush()
            r = self.pvfio(["get", "/version", "--ca-file", f.name], fingerprint=None)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("cannot read the CA file '%s' (tls.ca_file, --ca-file): " % f.name, r.err)
        self.assertEqual(self.logged(), [])

    def test_ca_file_of_another_ca_is_not_trusted(self):
        # the CA file is the only trust anchor: a valid PEM of some other CA does not verify the node
        other = [p for p in ("/etc/ssl/certs/ISRG_Root_X1.pem", "/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt")
                 if os.path.exists(p)]
        if not other:
            self.skipTest("no system CA certificate to use as 'another CA'")
        r = self.pvfio(["get", "/version", "--ca-file", other[0]], fingerprint=None)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("is not trusted", r.err)
        self.assertEqual(self.logged(), [])

    def test_untrusted_without_pin(self):
        r = self.pvfio(["get", "/version"], fingerprint=None)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("is not trusted", r.err)
        self.assertIn("pvfio api fingerprint", r.err)
        self.assertEqual(self.logged(), [])

    def test_insecure_warns(self):
        r = self.pvfio(["get", "/version", "--insecure"], fingerprint=None)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("verification is off", r.err)


class RetryTests(Base):
    def test_get_retried_on_503(self):
        self.sim.fault({"method": "GET", "path": "^/version$", "action": "status", "status": 503, "count": 2})
        r = self.pvfio(["get", "/version"])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([e["status"] for e in self.logged("GET", "/version$")], [503, 503, 200])

    def test_get_retried_on_596_and_dropped_connection(self):
        self.sim.fault({"method": "GET", "path": "^/nodes$", "action": "status", "status": 596, "count": 1})
        self.sim.fault({"method": "GET", "path": "^/nodes$", "action": "drop-before", "count": 1})
        r, j = self.tool(["nodes"], opts=["--backoff-ms", "20"])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(j["stats"]["retries"], 2)
        self.assertEqual(len(self.logged("GET", "/nodes$")), 3)

    def test_get_gives_up(self):
        self.sim.fault({"method": "GET", "path": "^/version$", "action": "status", "status": 502})
        r, j = self.tool(["version"], opts=["--attempts", "3", "--backoff-ms", "10"])
        self.assertEqual(r.rc, 1, r)
        self.assertIn("GET /version: 502", j["message"])
        self.assertEqual(len(self.logged("GET", "/version$")), 3)

    def test_unreachable_is_retried_then_reported(self):
        argv = [TOOL, "--url", "https://127.0.0.1:9", "--fingerprint", self.sim.fingerprint, "--token-id",
                CI_TOKEN[0], "--attempts", "3", "--backoff-ms", "10", "version"]
        r = self.run_cmd(argv, {"PVFIO_TEST_SECRET": CI_TOKEN[1]})
        self.assertEqual(r.rc, 1, r)
        j = r.json()
        self.assertEqual(j["code"], "network")
        self.assertIn("cannot connect to 'https://127.0.0.1:9'", j["message"])
        self.assertIn("3 attempts", j["message"])

    def _count_mapping(self, mid):
        return sum(1 for m in self.tool(["mappings"])[1]["result"] if m["id"] == mid)

    def test_write_answer_lost_after_apply(self):
        # the create happens, the answer is lost: the client checks and finds it done
        self.sim.fault({"method": "POST", "path": "^/cluster/mapping/pci$", "action": "drop-after", "count": 1})
        r, j = self.tool(["mapping-create", "e2edropafter", GPU_MAP])
        self.assertEqual(r.rc, 0, r)
        posts = self.logged("POST", "/cluster/mapping/pci$")
        self.assertEqual(len(posts), 1, posts)  # never re-sent
        self.assertEqual(len(self.logged("GET", "/cluster/mapping/pci/e2edropafter$")), 1)  # the check
        self.assertEqual(self._count_mapping("e2edropafter"), 1)

    def test_write_dropped_before_apply(self):
        # the connection drops before the create is handled: the check finds nothing, the create is re-sent
        self.sim.fault({"method": "POST", "path": "^/cluster/mapping/pci$", "action": "drop-before", "count": 1})
        r, j = self.tool(["mapping-create", "e2edropbefore", GPU_MAP])
        self.assertEqual(r.rc, 0, r)
        posts = self.logged("POST", "/cluster/mapping/pci$")
        self.assertEqual([p["fault"] for p in posts], ["drop-before", None])
        self.assertEqual(len(self.handled(posts)), 1)  # executed exactly once
        self.assertEqual(self._count_mapping("e2edropbefore"), 1)

    def test_write_503_checked_then_resent(self):
        self.sim.fault({"method": "PUT", "path": r"^/nodes/pve1/qemu/101/config$", "action": "status",
                        "status": 503, "count": 1})
        r, j = self.tool(["update", "pve1", "101", "cores=3"])
        self.assertEqual(r.rc, 0, r)
        puts = self.logged("PUT", r"/qemu/101/config$")
        self.assertEqual([p["status"] for p in puts], [503, 200])
        self.assertEqual(len(self.handled(puts)), 1)
        self.assertEqual(self.tool(["config", "pve1", "101"])[1]["result"]["cores"], "3")

    def test_raw_write_is_never_resent(self):
        self.sim.fault({"method": "POST", "path": "^/cluster/mapping/pci$", "action": "drop-after", "count": 1})
        r = self.pvfio(["create", "/cluster/mapping/pci", "id=e2eraw", "map=" + GPU_MAP])
        self.assertEqual(r.rc, 1, r)
        self.assertIn("may or may not have taken effect and was not sent again", r.err)
        self.assertEqual(len(self.logged("POST", "/cluster/mapping/pci$")), 1)
        self.assertEqual(self._count_mapping("e2eraw"), 1)  # it did take effect

    def test_raw_write_503_not_resent(self):
        self.sim.fault({"method": "POST", "path": "^/cluster/mapping/pci$", "action": "status", "status": 503})
        r, j = self.tool(["raw", "POST", "/cluster/mapping/pci", "id=e2eraw503", "map=" + GPU_MAP])
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(j["code"], "uncertain")
        self.assertIn("POST /cluster/mapping/pci: 503", j["message"])
        self.assertEqual(len(self.logged("POST", "/cluster/mapping/pci$")), 1)

    def test_body_cap_is_enforced(self):
        r, j = self.tool(["mappings"], opts=["--body-cap", "100"])
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(j["code"], "too-big")
        self.assertIn("exceeds the limit of 100 bytes", j["message"])
        self.assertEqual(len(self.logged("GET")), 1)  # not retried

    def test_digest_conflict(self):
        cfg = self.tool(["config", "pve1", "101"])[1]["result"]
        r, j = self.tool(["update", "pve1", "101", "-digest=" + cfg["digest"], "memory=3072"])
        self.assertEqual(r.rc, 0, r)
        r, j = self.tool(["update", "pve1", "101", "-digest=" + cfg["digest"], "memory=4096"])
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(j["code"], "conflict")
        self.assertIn("checksum mismatch", j["message"])


class TaskTests(Base):
    sim_args = ("--task-ms", "100")

    def test_start_wait_ok(self):
        r = self.pvfio(["create", "/nodes/pve1/qemu/101/status/start", "--wait"], auth="password")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json()["exitstatus"], "OK")
        self.assertGreaterEqual(len(self.logged("GET", r"/tasks/UPID:pve1:[^/]+/status$")), 1)
        self.assertEqual(self.tool(["status", "pve1", "101"])[1]["result"]["status"], "running")
        r, j = self.tool(["stop", "pve1", "101"], auth="password", opts=["--wait"])
        self.assertEqual(r.rc, 0, r)

    def test_warnings_are_surfaced(self):
        self.sim.fault({"task": "qmstart", "vmid": 101, "warnings": 2, "count": 1})
        r = self.pvfio(["create", "/nodes/pve1/qemu/101/status/start", "--wait"], auth="password")
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(r.json()["exitstatus"].startswith("WARNINGS: 2"), r)
        warns = [l for l in r.err.splitlines() if "warning:" in l and "task qmstart 101 on 'pve1'" in l]
        self.assertEqual(len(warns), 2, r)
        self.tool(["stop", "pve1", "101"], auth="password", opts=["--wait"])

    def test_failure_carries_log_tail(self):
        self.sim.fault({"task": "qmstart", "vmid": 101, "fail": "e2e: device is busy", "count": 1})
        r = self.pvfio(["create", "/nodes/pve1/qemu/101/status/start", "--wait"], auth="password")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("task qmstart 101 on 'pve1' failed: e2e: device is busy", r.err)
        # the log is read for its tail (here it holds only the TASK ERROR line, which is not repeated)
        self.assertEqual(len(self.logged("GET", r"/tasks/[^/]+/log$")), 1)
        self.assertEqual(r.err.count("device is busy"), 1)

    def test_wait_limit_scales_with_pci(self):
        # base 300 ms: a 900 ms start is too slow without PCI devices, fine with them (4 x 300 ms)
        self.sim.fault({"task": "qmstart", "vmid": 101, "duration_ms": 900, "count": 2})
        r, j = self.tool(["start", "pve1", "101"], auth="password", opts=["--wait", "--task-timeout-ms", "300"])
        self.assertEqual(r.rc, 1, r)
        self.assertIn("still running after", j["message"])
        time.sleep(1.0)
        self.tool(["stop", "pve1", "101"], auth="password", opts=["--wait"])
        r, j = self.tool(["start", "pve1", "101", "pci"], auth="password",
                         opts=["--wait", "--task-timeout-ms", "300"])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(j["result"]["exitstatus"], "OK")
        self.tool(["stop", "pve1", "101"], auth="password", opts=["--wait"])

    def test_create_vm_async_and_update(self):
        r, j = self.tool(["create", "pve1", "150", "name=e2e-new", "memory=1024", "cores=1"], opts=["--wait"])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(j["result"]["exitstatus"], "OK")
        cfg = self.tool(["config", "pve1", "150"])[1]["result"]
        self.assertEqual(cfg["name"], "e2e-new")
        r, j = self.tool(["update-async", "pve1", "150", "-delete=cores", "-digest=" + cfg["digest"], "memory=2048"],
                         opts=["--wait"])
        self.assertEqual(r.rc, 0, r)
        cfg = self.tool(["config", "pve1", "150"])[1]["result"]
        self.assertEqual(cfg["memory"], "2048")
        self.assertNotIn("cores", cfg)


class ConcurrencyTests(Base):
    @classmethod
    def setUpClass(cls):
        # 60 VMs on two nodes
        import tempfile
        with open(CLUSTER) as f:
            c = json.load(f)
        for k in ("pve1", "pve2"):
            c["nodes"][k]["machine"] = os.path.join(HERE, c["nodes"][k]["machine"])
        c["vms"] = [{"vmid": 300 + i, "node": "pve%d" % (i % 2 + 1), "status": "stopped",
                     "config": {"name": "c%d" % i, "memory": "1024"}} for i in range(60)]
        cls.tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(c, cls.tmp)
        cls.tmp.close()
        cls.cluster = cls.tmp.name
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        os.unlink(cls.tmp.name)

    def test_bounded_parallel_keepalive(self):
        hs = self.sim.stats()["tls_handshakes"]
        r, j = self.tool(["configs"], opts=["--parallel", "4"])
        self.assertEqual(r.rc, 0, r)
        res = j["result"]
        self.assertEqual(res["vms"], 60)
        self.assertEqual(res["with_digest"], 60)
        self.assertEqual(j["stats"]["requests"], 61)
        # at most `parallel` connections, each one TLS handshake, reused for ~15 requests each
        self.assertLessEqual(j["stats"]["connects"], 4)
        # (the simulator counts one handshake per connection; this stats call opens one more)
        self.assertEqual(self.sim.stats()["tls_handshakes"] - hs - 1, j["stats"]["connects"])
        conns = {e["conn"] for e in self.logged()}
        self.assertEqual(len(conns), j["stats"]["connects"])
        per_conn = max(e["conn_req"] for e in self.logged())
        self.assertGreaterEqual(per_conn, 10)

    def test_batch_survives_faults(self):
        self.sim.fault({"method": "GET", "path": r"/qemu/3\d\d/config$", "action": "status", "status": 503,
                        "count": 5})
        self.sim.fault({"method": "GET", "path": r"/qemu/3\d\d/config$", "action": "drop-before", "count": 3,
                        "skip": 10})
        r, j = self.tool(["configs"], opts=["--parallel", "8", "--backoff-ms", "20"])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(j["result"]["with_digest"], 60)
        gets = self.logged("GET", r"/qemu/3\d\d/config$")
        self.assertEqual(len(gets), 68)  # 60 + the 8 that met a fault
        self.assertEqual(len([g for g in gets if g["fault"]]), 8)
        # a GET dropped on a reused keep-alive connection is re-sent by libcurl itself (it never
        # does that for writes: they get a fresh connection), so not every fault costs a retry of ours
        self.assertGreaterEqual(j["stats"]["retries"], 5)
        self.assertLessEqual(j["stats"]["retries"], 8)


def main():
    global PVFIO, TOOL, SIM
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--sim", default=simctl.DEFAULT_SIM)
    ap.add_argument("groups", nargs="*")
    a = ap.parse_args()
    PVFIO, TOOL, SIM = os.path.abspath(a.pvfio), os.path.abspath(a.tool), a.sim
    if not os.path.exists(SIM):
        print("skipped: simulator %s not found" % SIM)
        return 77
    loader = unittest.TestLoader()
    mod = sys.modules[__name__]
    names = a.groups or ["AuthTests", "TlsTests", "RetryTests", "TaskTests", "ConcurrencyTests"]
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(getattr(mod, n.split(".")[0])) if "." not in n
                               else loader.loadTestsFromName(n, mod) for n in names)
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    return 0 if res.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
