# SPDX-License-Identifier: GPL-2.0-or-later
"""Cluster USB mappings as code (issue 14; clusters/lab.json, pve1 = workstation-2gpu with a
Logitech receiver 046d:c52b at USB port 1-1 and a keyboard 04d9:0169 at 1-2).

  - create: a port-only entry gets its id from GET /nodes/pve1/hardware/usb, a VM uses the
    mapping and starts (the simulator refuses a missing USB mapping at start, as Proxmox does);
    a second apply sends no write;
  - drift: another admin changes the mapping (PUT /cluster/mapping/usb/{id}); diff exits 2 and
    shows the map line, apply sends one PUT with the whole mapping and the digest, then converges;
  - update: a new description in the profile is one PUT;
  - a token with Mapping.Modify on /mapping/usb but without Sys.Modify on /: an entry with its id
    works; a port-only entry is blocked with the reason (the hardware listing needs Sys.Modify);
  - Proxmox's check-node errors (an id that does not match the port) are drift.
"""
import re

import e2elib

BODY = """
usb_mappings:
  - id: receiver
    description: {desc}
    map:
      - {{ node: pve1, path: 1-1 }}
vms:
  - name: usbvm
    node: pve1
    vmid: 230
    state: running
    memory: 1G
    usb:
      - mapping: receiver
"""


class UsbMappings(e2elib.Lab):

    def usb_mapping(self, mid):
        for m in self.api.get("/cluster/mapping/usb"):
            if m["id"] == mid:
                return m
        return None

    def usb_puts(self, mark):
        return [e for e in self.sim.writes(mark) if e["method"] == "PUT" and "/cluster/mapping/usb/" in e["path"]]

    def test_create_noop_drift_update(self):
        prof = self.lab_profile(BODY.format(desc="Logitech receiver"), auth="root")
        mark = self.sim.mark()
        r = self.apply_ok(prof)
        m = self.usb_mapping("receiver")
        self.assertIsNotNone(m, r)
        # the id comes from the node's hardware at the port, written the way Proxmox compares it
        self.assertEqual(m["map"], ["node=pve1,path=1-1,id=046d:c52b"])
        self.assertEqual(m["description"], "Logitech receiver [pvfio]")
        posts = [e for e in self.sim.writes(mark) if e["path"].endswith("/cluster/mapping/usb")]
        self.assertEqual(len(posts), 1, posts)
        reads = [e for e in self.sim.requests(mark) if e["path"].endswith("/nodes/pve1/hardware/usb")]
        self.assertTrue(reads, "the USB devices of pve1 were not read")
        vmid, node, status, conf = self.vm_config("usbvm")
        self.assertEqual((vmid, status, conf["usb0"]), (230, "running", "mapping=receiver"))
        self.assertIdempotent(prof)

        # another admin moves the mapping to the keyboard's port
        self.api.put("/cluster/mapping/usb/receiver", map="node=pve1,path=1-2,id=04d9:0169",
                     description="Logitech receiver [pvfio]")
        r = self.expect(self.pvfio("diff", prof), 2)
        self.assertRegex(r.out, r"usb-mapping receiver")
        self.assertIn("node=pve1,path=1-2,id=04d9:0169 → node=pve1,path=1-1,id=046d:c52b", r.out)
        mark = self.sim.mark()
        self.apply_ok(prof)
        puts = self.usb_puts(mark)
        self.assertEqual(len(puts), 1, puts)
        params = puts[0]["params"]
        self.assertEqual(params.get("map"), "node=pve1,path=1-1,id=046d:c52b")
        self.assertRegex(params.get("digest", ""), r"^[0-9a-f]{40}$")
        self.assertEqual(params.get("description"), "Logitech receiver [pvfio]")
        self.assertNotIn("delete", params)  # a USB mapping has no mdev/live-migration keys to delete
        self.assertEqual(self.usb_mapping("receiver")["map"], ["node=pve1,path=1-1,id=046d:c52b"])
        self.assertIdempotent(prof)

        # the profile changes the description: one PUT, whole object
        prof2 = self.lab_profile(BODY.format(desc="Receiver, desk"), auth="root", name="p2.yaml")
        mark = self.sim.mark()
        self.apply_ok(prof2)
        puts = self.usb_puts(mark)
        self.assertEqual(len(puts), 1, puts)
        self.assertEqual(puts[0]["params"].get("description"), "Receiver, desk [pvfio]")
        self.assertIn("map", puts[0]["params"])
        self.assertIdempotent(prof2)

        # the profile drops every USB mapping (and the VM's device): the managed mapping is still
        # read, is drift, and --prune deletes it
        prof3 = self.lab_profile(BODY.split("vms:")[0].split("usb_mappings:")[0] +
                                 "vms:\n  - name: usbvm\n    node: pve1\n    vmid: 230\n    state: running\n"
                                 "    memory: 1G\n", auth="root", name="p3.yaml")
        r = self.expect(self.pvfio("diff", prof3), 2)
        self.assertIn("usb mapping 'receiver' is managed by pvfio but no longer in the profile", r.out + r.err)
        self.apply_ok(prof3, "--prune")
        self.assertIsNone(self.usb_mapping("receiver"))

    def test_token(self):
        body = BODY.format(desc="receiver").replace("{ node: pve1, path: 1-1 }", "{ node: pve1, path: 1-1, id: 046D:C52B }")
        prof = self.lab_profile(body)
        mark = self.sim.mark()
        self.apply_ok(prof)
        self.assertEqual(self.usb_mapping("receiver")["map"], ["node=pve1,path=1-1,id=046d:c52b"])
        self.assertFalse([e for e in self.sim.requests(mark) if e["path"].endswith("/hardware/usb")],
                         "an entry with its id needs no hardware read")
        self.assertEqual(self.vm_config("usbvm")[2], "running")
        self.assertIdempotent(prof)
        # a port-only entry needs GET …/hardware/usb, which the token may not read (Sys.Modify on /)
        prof2 = self.lab_profile(BODY.format(desc="receiver").replace("id: receiver", "id: kbd")
                                 .replace("path: 1-1", "path: 1-2").replace("mapping: receiver", "mapping: kbd"),
                                 name="p2.yaml")
        r = self.pvfio("apply", "--yes", prof2)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("GET /nodes/pve1/hardware/usb needs Sys.Modify on /", r.out + r.err)
        self.assertIsNone(self.usb_mapping("kbd"))

    def test_check_errors_are_drift(self):
        body = BODY.format(desc="receiver").replace("{ node: pve1, path: 1-1 }", "{ node: pve1, path: 1-2, id: 046d:c52b }")
        body = body.replace("state: running", "state: stopped")
        prof = self.lab_profile(body, auth="root")
        self.apply_ok(prof)
        r = self.expect(self.pvfio("diff", prof), 2)
        self.assertIn("usb mapping 'receiver' on node 'pve1': error: Invalid configuration: 'id' does not match "
                      "for 'receiver' (04d9:0169 != 046d:c52b)", r.out)
        # and Proxmox (the simulator) refuses to start the VM with it
        vmid, node, _, _ = self.vm_config("usbvm")
        upid = self.api.post("/nodes/%s/qemu/%s/status/start" % (node, vmid))
        with self.assertRaises(e2elib.ApiError) as cm:
            self.api.wait(upid)
        self.assertRegex(str(cm.exception.body),
                         "^" + re.escape("USB Mapping invalid (hardware probably changed): 'id' does not match"))


if __name__ == "__main__":
    e2elib.main([__name__])
