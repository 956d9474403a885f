"""The conformance set: requests real Proxmox accepts and rejects (conformance/*.json).

Each file holds {"source": ..., "cases": [...]}; a case is
  {"name", "auth", "method", "path", "params"|"query", "json", "setup": [...],
   "expect": {"status", "reason", "message", "errors", "body", "data", "data_type",
              "data_match", "data_subset", "data_contains", "data_absent",
              "task": {"exitstatus"|"exitstatus_match", "log_contains"}}}
auth: "none", "ticket:USER", "token:TOKENID", "header:NAME: VALUE", "ticket-nocsrf:USER".
Setup steps have the same form (expect optional) or {"control": {"method", "path", "payload"}}.
"capture": {"var": "data.digest"} stores a value for later "${var}" substitution.
Every case runs on a freshly reset simulator (cluster-small.json). A file may add
"sim_args": [...] (e.g. ["--pve-version", "8.4"]) to start its simulator with them.
"""

import glob
import json
import os
import re
import unittest
import urllib.parse

from simclient import SIMDIR, Sim

CONFORMANCE = os.path.join(SIMDIR, "conformance")


def _lookup(obj, dotted):
    for part in dotted.split("."):
        if isinstance(obj, list):
            obj = obj[int(part)]
        else:
            obj = (obj or {}).get(part)
    return obj


def _subst(value, env):
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: str(env[m.group(1)]), value)
    if isinstance(value, list):
        return [_subst(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _subst(v, env) for k, v in value.items()}
    return value


class ConformanceBase(unittest.TestCase):
    sim = None
    sim_args = []

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim(args=["--task-ms", "5"] + list(cls.sim_args))

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def client_for(self, auth):
        sim = self.sim
        if auth in (None, "none"):
            return sim.client(None)
        kind, _, rest = auth.partition(":")
        if kind == "ticket":
            return sim.client(("ticket", rest))
        if kind == "ticket-nocsrf":
            c = sim.client(("ticket", rest))
            c.csrf = "00000000:bad"
            return c
        if kind == "token":
            return sim.client(("token", rest))
        if kind == "header":
            name, _, val = rest.partition(":")
            return sim.client(("header", {name.strip(): val.strip()}))
        raise ValueError("bad auth %r" % auth)

    def run_step(self, step, env, final):
        if "control" in step:
            c = step["control"]
            self.sim.control(c.get("method", "POST"), c["path"], _subst(c.get("payload"), env))
            return
        client = self.client_for(step.get("auth", "ticket:root@pam"))
        try:
            params = _subst(step.get("params"), env)
            query = _subst(step.get("query"), env)
            path = _subst(step["path"], env)
            a = client.call(step["method"], path, params, json_body=step.get("json", False), query=query,
                            headers=_subst(step.get("headers"), env))
            exp = step.get("expect")
            if exp is None and not final:
                exp = {"status": 200}
            if exp:
                self.check(a, exp, client, step)
            for var, where in (step.get("capture") or {}).items():
                env[var] = _lookup(a.json, where)
        finally:
            client.close()

    def check(self, a, exp, client, step):
        where = "%s %s" % (step["method"], step["path"])
        if "status" in exp:
            self.assertEqual(a.status, exp["status"], "%s: status (%r)" % (where, a))
        if "reason" in exp:
            self.assertEqual(a.reason, exp["reason"], "%s: reason" % where)
        if "body" in exp:
            self.assertEqual(a.raw.decode(), exp["body"], "%s: body" % where)
        if "message" in exp:
            self.assertEqual(a.message, exp["message"], "%s: message" % where)
        if "errors" in exp:
            self.assertEqual(a.errors, exp["errors"], "%s: errors" % where)
        if "data" in exp:
            self.assertEqual(a.data, exp["data"], "%s: data" % where)
        if "data_type" in exp:
            types = {"string": str, "integer": int, "null": type(None), "array": list, "object": dict}
            self.assertIs(type(a.data), types[exp["data_type"]], "%s: data type of %r" % (where, a.data))
        if "data_match" in exp:
            self.assertRegex(a.data, exp["data_match"], "%s: data" % where)
        if "data_subset" in exp:
            for k, v in exp["data_subset"].items():
                self.assertEqual(_lookup(a.data, k), v, "%s: data.%s" % (where, k))
        if "data_contains" in exp:
            for item in exp["data_contains"]:
                self.assertIn(item, a.data, "%s: data lacks %r" % (where, item))
        if "data_absent" in exp:
            for k in exp["data_absent"]:
                self.assertNotIn(k, a.data, "%s: data.%s should be absent" % (where, k))
        if "task" in exp:
            st = client.wait_task(a.data)
            t = exp["task"]
            if "exitstatus" in t:
                self.assertEqual(st["exitstatus"], t["exitstatus"], "%s: task exit status" % where)
            if "exitstatus_match" in t:
                self.assertRegex(st["exitstatus"], t["exitstatus_match"], "%s: task exit status" % where)
            if "log_contains" in t:
                node = a.data.split(":")[1]
                log = client.call("GET", "/nodes/%s/tasks/%s/log" % (node, urllib.parse.quote(a.data, safe="")))
                lines = [e["t"] for e in log.data]
                self.assertIn(t["log_contains"], lines, "%s: task log" % where)

    def run_case(self, case):
        self.sim.reset()
        env = {}
        for step in case.get("setup", []):
            self.run_step(step, env, final=False)
        self.run_step(case, env, final=True)


def _make(case):
    def test(self):
        self.run_case(case)
    test.__doc__ = case["name"]
    return test


def _load():
    classes = {}
    for path in sorted(glob.glob(os.path.join(CONFORMANCE, "*.json"))):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        base = os.path.splitext(os.path.basename(path))[0]
        attrs = {"__doc__": doc.get("source", base), "sim_args": doc.get("sim_args", [])}
        for i, case in enumerate(doc["cases"]):
            slug = re.sub(r"[^a-z0-9]+", "_", case["name"].lower()).strip("_")[:60]
            attrs["test_%03d_%s" % (i, slug)] = _make(case)
        name = "Conformance_" + re.sub(r"[^A-Za-z0-9]", "_", base)
        classes[name] = type(name, (ConformanceBase,), attrs)
    return classes


globals().update(_load())
