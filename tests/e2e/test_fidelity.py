# SPDX-License-Identifier: GPL-2.0-or-later
"""Real Proxmox behaviour the client must follow (issue 9, client side), on clusters/lab.json:
mapping checks of nodes a mapping does not cover (not drift), a `;` map path of functions with
different IDs (refused), tags as Proxmox stores them (lower-cased, unique, sorted, or as the
datacenter tag-style says), and version-gated keys (refused for an older node)."""
import re

import e2elib

NODE_SPECIFIC = """
mappings:
  - id: gpu-a
    map:
      - { node: pve1, path: 0000:02:00 }
  - id: vf-c
    map:
      - { node: pve3, path: 0000:00:02.3 }
vms:
  - { name: fa-1, node: pve1, machine: q35, memory: 4G, pci: [ { mapping: gpu-a, pcie: true } ] }
  - { name: fc-1, node: pve3, machine: q35, memory: 2G, pci: [ { mapping: vf-c, pcie: true } ] }
"""


class Fidelity(e2elib.Lab):

    def test_no_mapping_for_other_node_is_not_drift(self):
        prof = self.lab_profile(NODE_SPECIFIC)
        self.apply_ok(prof)
        # Proxmox's listing with check-node=pve3 warns about gpu-a, which has no pve3 entry
        checks = {m["id"]: m.get("checks") for m in self.api.get("/cluster/mapping/pci", **{"check-node": "pve3"})}
        self.assertEqual(checks["gpu-a"], [{"severity": "warning", "message": "No mapping for node pve3."}])
        r = self.expect(self.pvfio("diff", prof), 0)
        self.assertIn("No changes", r.out)
        self.assertNotIn("drift:", r.out)
        # still shown, with its node and severity
        self.assertRegex(r.out + r.err, r"mapping 'gpu-a' on node 'pve3' \([^)]*\): warning: No mapping for node pve3\.")
        self.assertRegex(r.out + r.err, r"mapping 'vf-c' on node 'pve1' \([^)]*\): warning: No mapping for node pve1\.")
        mark = self.sim.mark()
        self.expect(self.pvfio("apply", "--yes", prof), 0)
        self.assertNoWrites(mark, "second apply")

    def test_check_of_a_mapped_node_is_drift(self):
        prof = self.lab_profile(NODE_SPECIFIC)
        self.apply_ok(prof)
        # another admin pins a wrong id on the pve1 entry: Proxmox's check on pve1 fails
        m = self.mapping("gpu-a")
        bad = m["map"][0].replace("id=10de:2684", "id=10de:2685")
        self.api.put("/cluster/mapping/pci/gpu-a", map=bad, description=m.get("description"))
        r = self.expect(self.pvfio("diff", prof), 2)
        self.assertRegex(r.out, r"(?m)^drift: mapping 'gpu-a' on node 'pve1': error: Invalid configuration: "
                                r"'id' does not match for 'gpu-a' \(10de:2684 != 10de:2685\)$")

    def test_tags_are_sent_and_compared_as_proxmox_stores_them(self):
        # Proxmox (get_unique_tags, default tag-style) stores lower-cased, unique, sorted tags
        prof = self.lab_profile("""
vms:
  - { name: tagged, node: pve1, machine: q35, memory: 2G, tags: [Zeta, GPU, gpu, lab] }
""")
        mark = self.sim.mark()
        self.apply_ok(prof)
        [create] = [w for w in self.sim.writes(mark) if w["path"].endswith("/qemu")]
        self.assertEqual(create["params"]["tags"], "gpu;lab;pvfio;zeta")
        vmid, node, _, conf = self.vm_config("tagged")
        self.assertEqual(conf["tags"], "gpu;lab;pvfio;zeta")
        self.assertIdempotent(prof)
        # a spelling Proxmox would store the same way is no drift either
        self.sim.set_vm(vmid=vmid, config={"tags": "ZETA,pvfio lab;Gpu"})
        r = self.expect(self.pvfio("diff", prof), 0)
        self.assertIn("No changes", r.out)
