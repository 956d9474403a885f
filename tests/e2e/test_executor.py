# SPDX-License-Identifier: GPL-2.0-or-later
"""The API executor (clusters/lab.json): mapping writes (the whole object on
every update, one fresh digest per write), VMs being created or locked by
someone else, vmid collisions, lost answers, and the parallel executor
(ordering, skip on a failed dependency, faults with parallel writes)."""
import re

import e2elib


def three_mappings(desc_a="GPU A", mdev_b=False, path_c="0000:06:00"):
    return """
mappings:
  - id: gpu-a
    description: "%s"
    map:
      - { node: pve1, path: 0000:01:00 }
  - id: gpu-b
    mdev: %s
    map:
      - { node: pve4, path: 0000:00:02.0 }
  - id: nic-c
    map:
      - { node: pve1, path: %s }
""" % (desc_a, "true" if mdev_b else "false", path_c)


class MappingWrites(e2elib.Lab):
    """Issue 9 items 1 and 2: PUT /cluster/mapping/pci/{id} with `map` every time, fresh digests."""

    def assertConverged(self, prof):
        """Nothing left to change (mapping-check notes of other nodes aside): no write on a second apply."""
        r = self.pvfio("diff", prof)
        self.assertIn(r.rc, (0, 2), r)
        self.assertRegex(r.out, r"No changes", r)
        mark = self.sim.mark()
        self.pvfio("apply", "--yes", prof)
        self.assertNoWrites(mark, "second apply")

    def mapping_puts(self, mark):
        return [e for e in self.sim.writes(mark) if e["method"] == "PUT" and "/cluster/mapping/pci/" in e["path"]]

    def test_description_only_change_sends_the_whole_mapping(self):
        self.apply_ok(self.lab_profile(three_mappings()))
        mark = self.sim.mark()
        prof = self.lab_profile(three_mappings(desc_a="GPU A, the top slot"), name="p2.yaml")
        r = self.apply_ok(prof)
        puts = self.mapping_puts(mark)
        self.assertEqual(len(puts), 1, r)
        params = puts[0]["params"]
        # Proxmox's update runs check_config with create=1: `map` is required on every update
        self.assertIn("map", params, puts[0])
        self.assertIn("path=0000:01:00", str(params["map"]))
        self.assertEqual(params.get("description"), "GPU A, the top slot [pvfio]")
        self.assertIn("digest", params)
        m = self.mapping("gpu-a")
        self.assertEqual(m["description"], "GPU A, the top slot [pvfio]")
        self.assertIn("path=0000:01:00", str(m["map"]))
        self.assertConverged(prof)

    def test_three_mapping_updates_in_one_apply(self):
        self.apply_ok(self.lab_profile(three_mappings()))
        mark = self.sim.mark()
        # description of gpu-a, mdev of gpu-b, the map of nic-c: three PUTs, each with its own fresh digest
        prof = self.lab_profile(three_mappings(desc_a="GPU A v2", mdev_b=True, path_c="0000:07:00"), name="p2.yaml")
        r = self.apply_ok(prof)
        puts = self.mapping_puts(mark)
        self.assertEqual(sorted(p["path"].rsplit("/", 1)[1] for p in puts), ["gpu-a", "gpu-b", "nic-c"], r)
        digests = [p["params"].get("digest") for p in puts]
        self.assertEqual(len(set(digests)), 3, "each write needs the digest of the file as it is then: %s" % digests)
        for p in puts:
            self.assertIn("map", p["params"], p)
        self.assertEqual(self.mapping("gpu-a")["description"], "GPU A v2 [pvfio]")
        self.assertEqual(int(self.mapping("gpu-b").get("mdev") or 0), 1)
        self.assertIn("path=0000:07:00", str(self.mapping("nic-c")["map"]))
        self.assertConverged(prof)
