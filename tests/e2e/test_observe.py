# SPDX-License-Identifier: GPL-2.0-or-later
"""How a plan reads the cluster (clusters/lab.json): the VM reads start the
moment /cluster/resources answers, on the connections the first reads opened,
and a refused ticket or a failed listing ends as before."""
import e2elib

NAMES = ["obs-%d" % i for i in range(12)]


def vms(names):
    return "vms:\n" + "".join("  - { name: %s, node: pve1, memory: 1G, state: present }\n" % n for n in names)


class Observe(e2elib.Lab):
    def setUp(self):
        super().setUp()
        self.prof = self.lab_profile(vms(NAMES))
        self.apply_ok(self.prof)

    def vm_reads(self, log):
        return [e for e in log if e["method"] == "GET" and e["path"].endswith(("/config", "/pending"))
                and "/qemu/" in e["path"]]

    def test_vm_reads_do_not_wait_for_the_slowest_first_read(self):
        # the PCI mapping listing answers 800 ms late; the VM reads need only the cluster listing
        self.sim.fault({"method": "GET", "path": "^/cluster/mapping/pci$", "action": "delay", "delay_ms": 800,
                        "count": 1})
        mark = self.sim.mark()
        r = self.expect(self.pvfio("plan", self.prof), 0)
        self.assertIn("No changes", r.out)
        log = self.sim.requests(mark)
        slow = [e for e in log if e["path"].endswith("/cluster/mapping/pci") and e.get("fault") == "delay"]
        self.assertEqual(len(slow), 1, log)
        slow_end = slow[0]["time"] + slow[0]["ms"] / 1000.0
        reads = self.vm_reads(log)
        self.assertGreaterEqual(len(reads), len(NAMES))
        # every VM read was answered while the slow listing was still on its way
        for e in reads:
            self.assertLess(e["time"] + e["ms"] / 1000.0, slow_end, e)

    def test_vm_reads_reuse_the_first_connections(self):
        mark = self.sim.mark()
        self.expect(self.pvfio("plan", "--parallel", "16", self.prof), 0)
        log = self.sim.requests(mark)
        reads = self.vm_reads(log)
        first = [e for e in log if e not in reads]
        self.assertGreaterEqual(len(reads), len(NAMES))
        # a new connection costs two round trips and a handshake: the VM reads ride on the ones open
        conns = {e["conn"] for e in log}
        self.assertLessEqual(len(conns), len(first), log)
        self.assertTrue({e["conn"] for e in reads} <= {e["conn"] for e in first}, log)

    def test_refused_ticket_on_the_listing_logs_in_again_then_reads_the_vms(self):
        prof = self.lab_profile(vms(NAMES), auth="root", name="pw.yaml")
        self.sim.fault({"method": "GET", "path": "^/cluster/resources$", "action": "status", "status": 401,
                        "reason": "invalid PVE ticket", "count": 1})
        mark = self.sim.mark()
        r = self.expect(self.pvfio("plan", prof), 0)
        self.assertIn("No changes", r.out)
        log = self.sim.requests(mark)
        logins = [e for e in log if e["method"] == "POST" and e["path"].endswith("/access/ticket")]
        listings = [e for e in log if e["path"].endswith("/cluster/resources")]
        self.assertEqual(len(logins), 2, log)
        self.assertEqual([e["status"] for e in listings], [401, 200])
        # each VM read once, after the second listing
        reads = self.vm_reads(log)
        self.assertEqual(len(reads), len({e["path"] for e in reads}))
        self.assertGreaterEqual(len(reads), len(NAMES))
        self.assertTrue(all(e["seq"] > listings[1]["seq"] for e in reads))

    def test_failed_listing_reads_no_vm_and_says_why(self):
        self.sim.fault({"method": "GET", "path": "^/cluster/resources$", "action": "status", "status": 403,
                        "reason": "Permission check failed (/, Sys.Audit)", "count": 1})
        mark = self.sim.mark()
        r = self.expect(self.pvfio("plan", self.prof), 1)
        self.assertIn("/cluster/resources", r.err)
        self.assertIn("403", r.err)
        self.assertIn("Permission check failed (/, Sys.Audit)", r.err)
        self.assertEqual(self.vm_reads(self.sim.requests(mark)), [])

    def test_api_node_version_read_only_for_a_live_migration_capable_mapping(self):
        # GET /version gates one key only: a mapping's live-migration-capable, which the API node writes
        mark = self.sim.mark()
        self.expect(self.pvfio("plan", self.prof), 0)
        paths = [e["path"].split("/api2/json")[-1] for e in self.sim.requests(mark)]
        self.assertNotIn("/version", paths)
        self.assertIn("/nodes/pve1/version", paths)
        prof = self.lab_profile(vms(NAMES) + """mappings:
  - id: obs-gpu
    live_migration_capable: true
    map:
      - { node: pve1, path: 0000:01:00 }
""", name="lm.yaml")
        mark = self.sim.mark()
        r = self.expect(self.pvfio("plan", prof), 2)
        self.assertIn("obs-gpu", r.out)
        paths = [e["path"].split("/api2/json")[-1] for e in self.sim.requests(mark)]
        self.assertEqual(paths.count("/version"), 1, paths)
