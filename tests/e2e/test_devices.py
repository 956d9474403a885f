# SPDX-License-Identifier: GPL-2.0-or-later
"""Each device kind end to end (clusters/lab.json): raw address with a root@pam
password session, mapping with an API token, classic mdev (GVT-g), NVIDIA vGPU
type on a VF, SR-IOV VF from a pool (vf_of)."""
import json

import e2elib


class Devices(e2elib.Lab):

    def writes_by(self, reqs):
        """{auth: [METHOD path]} of the write requests among reqs (logins left out)."""
        out = {}
        for e in reqs:
            if e["method"] in e2elib.WRITE_METHODS and not e["path"].endswith("/access/ticket") \
                    and not e2elib.is_apply_lock(e):
                out.setdefault(e["auth"], []).append("%s %s" % (e["method"], e["path"]))
        return out

    def test_raw_address_with_root_password_session(self):
        prof = self.lab_profile("""
vms:
  - name: gpu-raw
    node: pve1
    machine: q35
    bios: ovmf
    memory: 8G
    cores: 4
    state: running
    pci:
      - { address: 0000:02:00, pcie: true }
""", auth="root")
        mark = self.sim.mark()
        self.apply_ok(prof)
        reqs = self.sim.requests(mark)          # pvfio's requests only (before this test reads the cluster)
        vmid, node, status, c = self.vm_config("gpu-raw")
        self.assertEqual((node, status), ("pve1", "running"))
        self.assertEqual(c["hostpci0"], "0000:02:00,pcie=1")
        # a ticket session of root@pam, not a token
        logins = [e for e in reqs if e["path"].endswith("/access/ticket")]
        self.assertEqual([e["params"].get("username") for e in logins], ["root@pam"])
        self.assertEqual(list(self.writes_by(reqs)), ["root@pam"])
        self.assertIdempotent(prof)

    def test_mapping_with_token(self):
        prof = self.lab_profile("""
mappings:
  - id: rtx4090
    description: passthrough card of pve1
    map:
      - { node: pve1, path: 0000:02:00 }
vms:
  - name: gpu-map
    node: pve1
    machine: q35
    memory: 8G
    state: running
    pci:
      - { mapping: rtx4090, pcie: true, primary: true }
""")
        mark = self.sim.mark()
        self.apply_ok(prof)
        reqs = self.sim.requests(mark)
        m = self.mapping("rtx4090")
        # id, subsystem-id and iommugroup filled from the node's hardware
        self.assertEqual(m["map"], ["node=pve1,path=0000:02:00,id=10de:2684,subsystem-id=1043:889d,iommugroup=13"])
        self.assertIn("[pvfio]", m["description"])
        self.assertEqual(self.api.get("/cluster/mapping/pci", **{"check-node": "pve1"})[0].get("checks", []), [])
        vmid, node, status, c = self.vm_config("gpu-map")
        self.assertEqual(status, "running")
        self.assertEqual(c["hostpci0"], "mapping=rtx4090,pcie=1,x-vga=1")
        self.assertEqual(list(self.writes_by(reqs)), ["pvfio@pve!e2e"])
        self.assertEqual({e["auth"] for e in reqs}, {"pvfio@pve!e2e"})     # no ticket, no other identity
        self.assertIdempotent(prof)

    def test_classic_mdev_gvtg(self):
        # pve4 offers i915-GVTg_V5_8 x2 and i915-GVTg_V5_4 x1
        prof = self.lab_profile("""
mappings:
  - id: igvt
    mdev: true
    map:
      - { node: pve4, path: 0000:00:02.0 }
templates:
  vdi:
    machine: q35
    memory: 4G
    state: running
vms:
  - { name: vdi-a, node: pve4, template: vdi, pci: [ { mapping: igvt, mdev: i915-GVTg_V5_8 } ] }
  - { name: vdi-b, node: pve4, template: vdi, pci: [ { mapping: igvt, mdev: i915-GVTg_V5_8 } ] }
  - { name: vdi-c, node: pve4, template: vdi, pci: [ { mapping: igvt, mdev: i915-GVTg_V5_4 } ] }
  - { name: vdi-d, node: pve4, template: vdi, pci: [ { mapping: igvt, mdev: i915-GVTg_V5_4 } ] }
  - { name: vdi-e, node: pve4, template: vdi, pci: [ { mapping: igvt, mdev: i915-GVTg_V5_1 } ] }
""")
        r = self.expect(self.pvfio("plan", prof), 2)
        self.assertRegex(r.out, r"Plan: 4 to add, 3 to change, 0 to remove, 4 blocked")
        r = self.expect(self.pvfio("apply", "--yes", prof), 2)    # blocked work remains
        self.assertIn(" 0 failed", r.out)
        for name in ("vdi-a", "vdi-b"):
            _, _, status, c = self.vm_config(name)
            self.assertEqual((status, c["hostpci0"]), ("running", "mapping=igvt,mdev=i915-GVTg_V5_8"), name)
        _, _, status, c = self.vm_config("vdi-c")
        self.assertEqual((status, c["hostpci0"]), ("running", "mapping=igvt,mdev=i915-GVTg_V5_4"))
        self.assertEqual(self.find_vm("vdi-d")[0], None, "vdi-d created although no V5_4 instance is free")
        self.assertEqual(self.find_vm("vdi-e")[0], None, "vdi-e created with a type the device does not offer")
        # the blocked VMs say why; the running ones hold their instances and stay unchanged
        r = self.expect(self.pvfio("plan", prof), 2)
        blocked = [l for l in r.out.splitlines() if "blocked:" in l]
        self.assertEqual(len([l for l in blocked]), 4, r)   # create + start of vdi-d and vdi-e
        self.assertTrue(any("i915-GVTg_V5_4" in l for l in blocked), r)
        self.assertTrue(any("i915-GVTg_V5_1" in l for l in blocked), r)
        self.assertNotIn("vdi-a", "".join(l for l in r.out.splitlines() if l.lstrip().startswith(("+", "~", "-"))))
        mark = self.sim.mark()
        self.expect(self.pvfio("apply", "--yes", prof), 2)
        self.assertNoWrites(mark, "apply with only blocked work")

    def test_nvidia_vgpu_type_on_vf(self):
        # pve2: L4 VFs c1:00.4-.6 offer nvidia-918..944; c1:00.7 already hosts a vGPU (no creatable type)
        prof = self.lab_profile("""
templates:
  vgpu:
    machine: q35
    memory: 16G
    state: running
vms:
  - { name: infer-1, node: pve2, template: vgpu, pci: [ { address: 0000:c1:00.4, mdev: nvidia-925, pcie: true } ] }
  - { name: infer-2, node: pve2, template: vgpu, pci: [ { address: 0000:c1:00.5, mdev: nvidia-929 } ] }
  - { name: infer-3, node: pve2, template: vgpu, pci: [ { address: 0000:c1:00.7, mdev: nvidia-925 } ] }
  - { name: infer-4, node: pve2, template: vgpu, pci: [ { address: 0000:c1:00.6, mdev: nvidia-999 } ] }
""", auth="root")
        r = self.expect(self.pvfio("apply", "--yes", prof), 2)
        self.assertIn(" 0 failed", r.out)
        _, _, status, c = self.vm_config("infer-1")
        self.assertEqual((status, c["hostpci0"]), ("running", "0000:c1:00.4,mdev=nvidia-925,pcie=1"))
        _, _, status, c = self.vm_config("infer-2")
        self.assertEqual((status, c["hostpci0"]), ("running", "0000:c1:00.5,mdev=nvidia-929"))
        self.assertIsNone(self.find_vm("infer-3")[0])
        self.assertIsNone(self.find_vm("infer-4")[0])
        r = self.expect(self.pvfio("plan", prof), 2)
        text = r.out
        self.assertRegex(text, r"(?s)create-vm vm infer-3 .*?blocked: [^\n]*nvidia-925")
        self.assertRegex(text, r"(?s)create-vm vm infer-4 .*?blocked: [^\n]*nvidia-999")
        self.assertNotRegex(text, r"(?m)^\s*[+~-] \S+ vm infer-[12] ")

    def sriov_profile(self, names):
        vms = "".join("""  - name: %s
    node: pve3
    machine: q35
    memory: 2G
    pci:
      - { vf_of: 0000:00:02.0, pcie: true }
""" % n for n in names)
        return self.lab_profile("vms:\n" + vms, auth="root", name="sriov-%d.yaml" % len(names))

    def test_vf_taken_between_plan_and_lock_is_seen(self):
        """Someone gives the VF pvfio is about to pick to a VM pvfio does not manage, between pvfio's
        first read and its apply lock: the VMs of a VF pool's node are all read again under the
        lock, so pvfio picks another VF (the listing of that VM does not change)."""
        prof = self.sriov_profile(["vf-a"])
        planned = json.loads(self.expect(self.pvfio("plan", "--json", prof), 2).out)
        want = [k for a in planned["actions"] for k in a.get("keys", []) if k["key"] == "hostpci0"][0]["after"]
        vf = want.split(",")[0]

        def change():
            self.api.put("/nodes/pve3/qemu/150/config", hostpci1=vf + ",pcie=1")

        t, done, errors = self.change_after_first_read(r"/nodes/pve3/qemu/150/(config|pending)$", change)
        r = self.pvfio("apply", "--yes", prof)
        done.wait(30)
        self.assertEqual(errors, [])
        self.assertEqual(r.rc, 0, r)
        self.assertIn("planned again under the apply lock", r.err, r)
        got = self.vm_config("vf-a")[3]["hostpci0"].split(",")[0]
        self.assertNotIn(got, (vf, "0000:00:02.1"), "vf-a took a VF another VM holds")

    def test_sriov_vf_pool(self):
        prof = self.sriov_profile(["vf-a", "vf-b"])
        r1 = self.expect(self.pvfio("plan", "--json", prof), 2)
        r2 = self.expect(self.pvfio("plan", "--json", prof), 2)
        self.assertEqual(r1.out, r2.out, "two plans of the same state differ")
        self.apply_ok(prof)
        vf = {n: self.vm_config(n)[3]["hostpci0"] for n in ("vf-a", "vf-b")}
        self.assertRegex(vf["vf-a"], r"^0000:00:02\.[2-7],pcie=1$")   # 00:02.1 belongs to VM 150
        self.assertRegex(vf["vf-b"], r"^0000:00:02\.[2-7],pcie=1$")
        self.assertNotEqual(vf["vf-a"], vf["vf-b"])
        self.assertIdempotent(prof)
        # a third VM gets a third VF; the first two keep theirs
        prof3 = self.sriov_profile(["vf-a", "vf-b", "vf-c"])
        r = self.expect(self.pvfio("plan", prof3), 2)
        self.assertRegex(r.out, r"Plan: 1 to add, 0 to change, 0 to remove")
        self.apply_ok(prof3)
        now = {n: self.vm_config(n)[3]["hostpci0"] for n in ("vf-a", "vf-b", "vf-c")}
        self.assertEqual((now["vf-a"], now["vf-b"]), (vf["vf-a"], vf["vf-b"]))
        self.assertEqual(len(set(now.values()) | {"0000:00:02.1,pcie=1"}), 4, now)
        doc = json.loads(self.expect(self.pvfio("plan", "--json", prof3), 0).out)
        self.assertEqual(doc["actions"], [])
