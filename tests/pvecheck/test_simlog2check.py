#!/usr/bin/env python3
"""Tests of simlog2check.py (no Proxmox sandbox needed): conversion of pvesim request logs
into pvecheck input, and the rule that decides which refused requests fail the stage."""

import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simlog2check  # noqa: E402


def write(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write((json.dumps(line) if not isinstance(line, str) else line) + "\n")


class Convert(unittest.TestCase):
    def test_raw_fields_control_and_legacy_entries(self):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "pvesim-9.x-1.jsonl")
            write(log, [
                {"seq": 1, "method": "POST", "path": "/_sim/reset", "control": True, "params": {}},
                {"seq": 2, "method": "PUT", "path": "/api2/json/nodes/pve1/qemu/100/config",
                 "params": {"name": "x"}, "query": "", "body": "name=x&tags=a%3Bb",
                 "content_type": "application/x-www-form-urlencoded", "status": 200},
                {"seq": 3, "method": "GET", "path": "/api2/json/cluster/resources",
                 "params": {"type": "vm"}, "status": 200},
                {"seq": 4, "method": "GET", "path": "/favicon.ico", "status": 501},
            ])
            out = io.StringIO()
            n = simlog2check.convert(log, out)
        rows = [json.loads(x) for x in out.getvalue().splitlines()]
        self.assertEqual(n, 2)
        self.assertEqual(rows[0], {"method": "PUT", "path": "/api2/json/nodes/pve1/qemu/100/config",
                                   "query": "", "body": "name=x&tags=a%3Bb",
                                   "content_type": "application/x-www-form-urlencoded",
                                   "status": 200, "src": "pvesim-9.x-1.jsonl:2"})
        self.assertNotIn("params", rows[0])  # check-log.pl refuses params beside a body
        self.assertEqual(rows[1]["params"], {"type": "vm"})  # an older log: decoded params


class Judge(unittest.TestCase):
    def run_judge(self, statuses):
        with tempfile.TemporaryDirectory() as d:
            inp = os.path.join(d, "in.jsonl")
            out = os.path.join(d, "out.txt")
            write(inp, [{"method": "PUT", "path": "/x", "src": "l:%d" % i, "status": s}
                        for i, s in enumerate(statuses, 1)])
            write(out, ["# pvecheck header", "OK   [1] PUT /x"] +
                  ["FAIL [%d] PUT /x -> bad" % i for i in range(2, len(statuses) + 1)] +
                  ["requests %d, valid 1, invalid %d, unknown-path 0" % (len(statuses), len(statuses) - 1)])
            buf = io.StringIO()
            with redirect_stdout(buf):
                bad = simlog2check.judge(inp, out)
        return bad, buf.getvalue()

    def test_refused_by_both_is_not_a_failure(self):
        bad, text = self.run_judge([200, 400, 501])
        self.assertEqual(bad, 0)
        self.assertIn("2 refused by Proxmox and the simulator alike, 0 refused by Proxmox only", text)

    def test_accepted_by_the_simulator_fails(self):
        bad, text = self.run_judge([200, 200, 400, None])  # None: a fault rule answered first
        self.assertEqual(bad, 2)
        self.assertIn("FAIL (simulator answered 200, l:2)", text)
        self.assertIn("FAIL (simulator answered None, l:4)", text)


if __name__ == "__main__":
    unittest.main()
