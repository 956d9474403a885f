"""Every machine description in tests/machines served by the simulator.

The hardware listing and the mapping checks must agree: a mapping built from
what GET /nodes/{node}/hardware/pci shows passes `check-node`, and changing
any recorded fact makes it fail.
"""

import os
import unittest

from simclient import TESTDATA, Sim

CLUSTER = os.path.join(TESTDATA, "cluster-machines.json")
TOKEN = ("token", "root@pam!all")


class Machines(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim(cluster=CLUSTER)
        cls.c = cls.sim.client(TOKEN)
        cls.nodes = [n["node"] for n in cls.c.call("GET", "/nodes").data]

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        cls.sim.stop()

    def listing(self, node, blacklist=None):
        q = {} if blacklist is None else {"pci-class-blacklist": blacklist}
        a = self.c.call("GET", "/nodes/%s/hardware/pci" % node, query=q)
        self.assertEqual(a.status, 200, a)
        return a.data

    def test_all_machines_are_nodes(self):
        self.assertGreaterEqual(len(self.nodes), 8)

    def test_listing_is_sorted_and_typed(self):
        for node in self.nodes:
            full = self.listing(node, "")
            ids = [e["id"] for e in full]
            self.assertEqual(ids, sorted(ids), node)
            for e in full:
                self.assertRegex(e["id"], r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
                self.assertRegex(e["class"], r"^0x[0-9a-f]{6}$")
                self.assertRegex(e["vendor"], r"^0x[0-9a-f]{4}$")
                self.assertIsInstance(e["iommugroup"], int)
            default = self.listing(node)
            self.assertTrue(all(not e["class"][2:].startswith(("05", "06", "0b")) for e in default), node)

    def test_sriov_links_are_symmetric(self):
        for node in self.nodes:
            full = {e["id"]: e for e in self.listing(node, "")}
            for e in full.values():
                for vf in (e.get("virtfns") or {}).values():
                    self.assertEqual(full[vf]["physfn"], e["id"], node)
                if e.get("physfn"):
                    self.assertIn(e["id"], full[e["physfn"]]["virtfns"].values(), node)

    def test_mdev_lists(self):
        for node in self.nodes:
            for e in self.listing(node, ""):
                a = self.c.call("GET", "/nodes/%s/hardware/pci/%s/mdev" % (node, e["id"]))
                self.assertEqual(a.status, 200, a)
                if not e.get("mdev"):
                    self.assertEqual(a.data, [], (node, e["id"]))
                for t in a.data:
                    self.assertIsInstance(t["available"], int)
                    self.assertIn("description", t)

    def test_mappings_built_from_the_listing_pass_check_node(self):
        for node in self.nodes:
            if node not in ("workstation-2gpu", "nvidia-l4-vgpu", "igpu-sriov", "laptop-ga107m"):
                continue
            self.sim.reset()
            listing = [e for e in self.listing(node, "") if e["class"].startswith("0x03") and e["iommugroup"] >= 0]
            self.assertTrue(listing, node)
            for i, e in enumerate(listing):
                entry = "node=%s,path=%s,id=%s:%s,iommugroup=%d" % (node, e["id"], e["vendor"][2:], e["device"][2:],
                                                                    e["iommugroup"])
                if e.get("subsystem_vendor"):
                    entry += ",subsystem-id=%s:%s" % (e["subsystem_vendor"][2:], e["subsystem_device"][2:])
                params = {"id": "m%d" % i, "map": entry}
                if e.get("mdev"):
                    params["mdev"] = "1"
                a = self.c.call("POST", "/cluster/mapping/pci", params)
                self.assertEqual(a.status, 200, a)
                bad = dict(params, id="bad%d" % i, map=entry.replace("iommugroup=%d" % e["iommugroup"],
                                                                     "iommugroup=%d" % (e["iommugroup"] + 1000)))
                self.assertEqual(self.c.call("POST", "/cluster/mapping/pci", bad).status, 200)
            res = self.c.call("GET", "/cluster/mapping/pci", query={"check-node": node}).data
            for m in res:
                if m["id"].startswith("bad"):
                    self.assertEqual(len(m["checks"]), 1, m)
                    self.assertIn("'iommugroup' does not match", m["checks"][0]["message"])
                else:
                    self.assertEqual(m["checks"], [], m)


if __name__ == "__main__":
    unittest.main()
