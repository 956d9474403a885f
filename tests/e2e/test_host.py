# SPDX-License-Identifier: GPL-2.0-or-later
"""Host and VMs in one plan (clusters/lab.json): pvfio "runs on" pve1 (a fake
root of tests/machines/workstation-2gpu.json, systemd-boot; --root, --node).

The host section binds the boot GPU 01:00 to vfio-pci by address and adds a
kernel argument: the plan shows the file diffs and "reboot required", and the
VMs that pass devices of pve1 are blocked with the reason, while a VM without
devices on pve1 and a VM on pve2 go ahead. After the simulated reboot
(tests/mkroot/simreboot.py boots the configured state) the blocked VMs are
created and started; then nothing is left to do on the host or the cluster.
"""
import os

import e2elib

BODY = """
hosts:
  - nodes: pve1
    iommu: auto
    iommu_pt: true
    kernel_args: [initcall_blacklist=sysfb_init]
    binding: driver_override
    vfio:
      - address: 0000:01:00
        host_critical_ok: true   # both GPUs go to VMs: the node runs headless (issue 10 item 2)
    softdeps: auto
vms:
  - name: gpu-a
    node: pve1
    machine: q35
    memory: 8G
    state: running
    pci:
      - { address: 0000:01:00, pcie: true, primary: true }
  - name: gpu-b
    node: pve1
    machine: q35
    memory: 8G
    state: running
    pci:
      - { address: 0000:02:00, pcie: true }
  - { name: plain-a, node: pve1, memory: 1G, state: running }
  - name: other-node
    node: pve3
    machine: q35
    memory: 2G
    state: running
    pci:
      - { vf_of: 0000:00:02.0 }
"""


class HostAndVms(e2elib.Lab):

    def setUp(self):
        super().setUp()
        self.prof = self.lab_profile(BODY, auth="root")
        self.root = self.mkroot("workstation-2gpu")
        self.host = ["--root", self.root, "--node", "pve1"]

    def driver(self, addr):
        return os.path.basename(os.readlink(os.path.join(self.root, "sys/bus/pci/devices", addr, "driver")))

    def test_reboot_blocks_vms_then_creates_them(self):
        r = self.expect(self.pvfio("plan", self.prof, *self.host), 2)
        out = r.out
        self.assertIn("Host configuration on pve1:", out)
        self.assertRegex(out, r"(?m)^\s*\+\+\+ b/etc/kernel/cmdline$")
        self.assertRegex(out, r"(?m)^\s*\+root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt initcall_blacklist=sysfb_init$")
        self.assertRegex(out, r"(?m)^\s*\+\+\+ b/etc/udev/rules.d/60-pvfio-vfio.rules$")
        self.assertRegex(out, r"(?m)^reboot required: pve1: .*initcall_blacklist=sysfb_init")
        self.assertRegex(out, r"(?m)^reboot required: pve1: 0000:01:00.0 is bound to 'nvidia'")
        for vm in ("gpu-a", "gpu-b"):
            self.assertRegex(out, r"(?s)create-vm vm %s on pve1\n[^\n]*\n\s*blocked: node 'pve1': [^\n]*reboot" % vm)
        self.assertRegex(out, r"(?s)create-vm vm plain-a on pve1\n[^\n]*\n\s*\+ ")     # not blocked
        self.assertRegex(out, r"(?s)create-vm vm other-node on pve3\n[^\n]*\n\s*\+ ")  # not blocked
        doc = self.expect(self.pvfio("plan", "--json", self.prof, *self.host), 2).json()
        self.assertTrue(doc["reboot_required"])
        blocked = sorted(a["target"] for a in doc["actions"] if a["blocked"])
        self.assertEqual(blocked, ["vm gpu-a", "vm gpu-a", "vm gpu-b", "vm gpu-b"])   # create + start each
        self.assertTrue(all("reboot" in a["blocked"] for a in doc["actions"] if a["blocked"]))

        # apply: host first, then what is not blocked
        r = self.expect(self.pvfio("apply", "--yes", self.prof, *self.host), 2)
        self.assertRegex(r.out, r"Applied: \d+ done, 0 failed, 4 blocked\.")
        with open(os.path.join(self.root, "etc/kernel/cmdline")) as f:
            self.assertIn("initcall_blacklist=sysfb_init", f.read())
        with open(os.path.join(self.root, "var/lib/pvfio/commands.log")) as f:
            cmds = f.read()
        self.assertIn("proxmox-boot-tool refresh", cmds)
        self.assertIsNone(self.find_vm("gpu-a")[0])
        self.assertIsNone(self.find_vm("gpu-b")[0])
        self.assertEqual(self.find_vm("plain-a")[2], "running")
        self.assertEqual(self.find_vm("other-node")[2], "running")
        self.assertEqual(self.driver("0000:01:00.0"), "nvidia")

        # until the reboot, nothing more happens
        mark = self.sim.mark()
        r = self.expect(self.pvfio("apply", "--yes", self.prof, *self.host), 2)
        self.assertNoWrites(mark, "apply before the reboot")

        # the node reboots into the configured state
        out = self.simreboot(self.root)
        self.assertIn("0000:01:00.0: nvidia -> vfio-pci", out)
        with open(os.path.join(self.root, "proc/cmdline")) as f:
            self.assertIn("initcall_blacklist=sysfb_init", f.read().split())
        self.assertEqual((self.driver("0000:01:00.0"), self.driver("0000:01:00.1")), ("vfio-pci", "vfio-pci"))

        r = self.expect(self.pvfio("plan", self.prof, *self.host), 2)
        self.assertNotIn("Host configuration", r.out)
        self.assertNotIn("blocked:", r.out)
        self.assertNotIn("reboot required", r.out)
        r = self.expect(self.pvfio("apply", "--yes", self.prof, *self.host), 0)
        self.assertIn("Verified:", r.out)
        _, _, status, c = self.vm_config("gpu-a")
        self.assertEqual((status, c["hostpci0"]), ("running", "0000:01:00,pcie=1,x-vga=1"))
        _, _, status, c = self.vm_config("gpu-b")
        self.assertEqual((status, c["hostpci0"]), ("running", "0000:02:00,pcie=1"))

        before = e2elib.snapshot(self.root)
        self.assertIdempotent(self.prof, *self.host)
        self.assertEqual(e2elib.snapshot(self.root), before, "a clean apply touched the host root")

    def test_other_node_ignores_the_host_section(self):
        # pvfio "runs on" pve3: pve1's host section is not this node's business, nothing is blocked for it
        root3 = self.mkroot("igpu-sriov", name="root3")
        r = self.expect(self.pvfio("plan", self.prof, "--root", root3, "--node", "pve3", "--local-only"), 2)
        self.assertNotIn("Host configuration", r.out)
        self.assertNotIn("blocked:", r.out)
        r = self.expect(self.pvfio("plan", self.prof, "--no-host"), 2)
        self.assertNotIn("blocked:", r.out)
