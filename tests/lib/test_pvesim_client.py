#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of the shared simulator client (tests/lib/pvesim_client.py)."""

import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import pvesim_client  # noqa: E402

SMALL = os.path.join(TOP, "tests", "pvesim", "testdata", "cluster-small.json")


class Running(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = pvesim_client.Sim(SMALL, request_log=True)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def test_listens_with_its_certificate(self):
        self.assertTrue(self.sim.url.startswith("https://127.0.0.1:"))
        self.assertRegex(self.sim.fingerprint, r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")
        self.assertTrue(os.path.exists(self.sim.cert))
        self.assertIn("tls_handshakes", self.sim.stats())

    def test_faults_and_reset(self):
        self.sim.fault({"method": "GET", "path": "^/version$", "action": "status", "status": 503})
        self.assertEqual(len(self.sim.faults()["rules"]), 1)
        self.sim.settings(task_ms=5)
        self.sim.reset()
        self.assertEqual(self.sim.faults()["rules"], [])

    def test_state_dump(self):
        self.assertIn(100, self.sim.vms())

    def test_request_log_leaves_out_control_requests(self):
        mark = self.sim.mark()
        self.sim.state_dump()
        self.assertEqual(self.sim.requests(mark), [])
        self.assertGreater(self.sim.mark(), mark)
        with open(self.sim.reqlog) as f:
            self.assertTrue(all(json.loads(line) for line in f))


class Filters(unittest.TestCase):
    def test_writes_leave_out_logins_and_the_apply_lock(self):
        log = [{"seq": 1, "method": "POST", "path": "/api2/json/access/ticket"},
               {"seq": 2, "method": "POST", "path": "/api2/json/pools"},
               {"seq": 3, "method": "PUT", "path": "/api2/json/pools/pvfio-lock?poolid=x"},
               {"seq": 4, "method": "GET", "path": "/api2/json/nodes"},
               {"seq": 5, "method": "PUT", "path": "/api2/json/nodes/pve1/qemu/100/config"},
               {"seq": 6, "method": "GET", "path": "/_sim/state", "control": True}]

        class Logged(pvesim_client.Sim):
            def __init__(self):  # no process: the log above stands in for /_sim/requests
                pass

            def control(self, method, path, body=None):
                return {"requests": log}

        sim = Logged()
        self.assertEqual([e["seq"] for e in sim.requests(1)], [2, 3, 4, 5])
        self.assertEqual([e["seq"] for e in sim.writes(0)], [5])
        self.assertEqual(sim.mark(), 6)
        self.assertEqual(sim.seq(), 6)  # the names tests/api uses
        self.assertEqual(sim.api_requests(4), sim.requests(4))


class Unavailable(unittest.TestCase):
    def test_missing_simulator(self):
        with self.assertRaisesRegex(pvesim_client.SimUnavailable, "simulator not found: /nonexistent"):
            pvesim_client.Sim(SMALL, sim="/nonexistent/pvesim.py")

    def test_refused_cluster_names_the_reason(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "cluster.json")
            with open(bad, "w") as f:
                json.dump({"nodes": {"pve1": {"machine": {"name": "x", "colour": 1}}}}, f)
            with self.assertRaises(pvesim_client.SimUnavailable) as cm:
                pvesim_client.Sim(bad)
            self.assertIn("simulator did not start (%s)" % bad, str(cm.exception))
            self.assertIn("unknown key(s) colour", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
