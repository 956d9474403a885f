# SPDX-License-Identifier: GPL-2.0-or-later
"""Drift in each managed key (clusters/lab.json).

A VM with every managed key set is applied (as root@pam: Proxmox lets only
root set `hugepages`); then another admin changes one key through the API
(PUT …/config). `pvfio diff` must exit 2 and
show `key: before → after`; `pvfio apply` must send exactly one config
update carrying that key (and the digest it planned with); afterwards the diff
is clean again. Equivalent spellings must not show as drift (no phantom diffs).
"""
import re

import e2elib

BODY = """
mappings:
  - id: rtx4090
    map:
      - { node: pve1, path: 0000:02:00 }
vms:
  - name: drifty
    node: pve1
    vmid: 210
    state: stopped
    machine: q35
    bios: ovmf
    efidisk: { storage: local-lvm }
    cpu: { type: host, flags: ["+pcid"] }
    cores: 4
    sockets: 1
    memory: 8G
    balloon: 0
    hugepages: 1G
    numa: true
    scsihw: virtio-scsi-single
    vga: std
    ostype: l26
    onboot: true
    tags: [gpu, lab]
    disks:
      - { storage: local-lvm, size: 32G }
    networks:
      - { bridge: vmbr0, vlan: 10 }
    pci:
      - { mapping: rtx4090, pcie: true }
"""

# key -> (value another admin sets, value pvfio wants back)
DRIFT = {
    "cores": ("2", "4"),
    "sockets": ("2", "1"),
    "memory": ("4096", "8192"),
    "balloon": ("2048", "0"),
    "cpu": ("kvm64", "host,flags=+pcid"),
    "machine": ("pc", "q35"),
    "bios": ("seabios", "ovmf"),
    "vga": ("qxl", "std"),
    "ostype": ("win11", "l26"),
    "onboot": ("0", "1"),
    "tags": ("lab;pvfio", "gpu;lab;pvfio"),
    "numa": ("0", "1"),
    "hugepages": ("2", "1024"),
    "scsihw": ("lsi", "virtio-scsi-single"),
    "hostpci0": ("mapping=rtx4090", "mapping=rtx4090,pcie=1"),
}


class Drift(e2elib.Lab):

    def setUp(self):
        super().setUp()
        self.prof = self.lab_profile(BODY, auth="root")     # hugepages: only root@pam may set it
        self.apply_ok(self.prof)
        self.vmid, self.node, _, self.conf = self.vm_config("drifty")

    def drift_and_repair(self, key, oob, want, before=None):
        """Another admin sets key=oob; diff shows it, apply repairs it with one targeted update."""
        self.api.set_config(self.node, self.vmid, **{key: oob})
        r = self.expect(self.pvfio("diff", self.prof), 2)
        self.assertKeyChange(r.out, key, before or oob, want)
        self.assertRegex(r.out, r"(?m)^  ~ update-vm vm drifty on pve1 \(vmid 210\)$")
        self.assertRegex(r.out, r"Plan: 0 to add, 1 to change, 0 to remove, 0 blocked\.")
        doc = self.expect(self.pvfio("diff", "--json", self.prof), 2).json()
        [act] = doc["actions"]
        self.assertEqual(act["kind"], "update-vm")
        self.assertEqual([(k["key"], k["before"], k["after"]) for k in act["keys"]], [(key, before or oob, want)])
        mark = self.sim.mark()
        self.apply_ok(self.prof)
        [w] = self.sim.writes(mark)
        self.assertRegex(w["path"], r"/nodes/pve1/qemu/210/config$")
        params = dict(w["params"])
        self.assertIn("digest", params)
        params.pop("digest")
        self.assertEqual(params, {key: want}, "the update carries exactly the drifted key")
        self.assertEqual(str(self.api.config(self.node, self.vmid)[key]), want)
        self.expect(self.pvfio("diff", self.prof), 0)

    def test_net_bridge(self):
        net0 = self.conf["net0"]
        self.assertRegex(net0, r"^virtio=[0-9A-F:]{17},bridge=vmbr0,tag=10$")
        self.drift_and_repair("net0", net0.replace("vmbr0", "vmbr1"), net0)

    def test_deleted_key_is_added_back(self):
        self.api.set_config(self.node, self.vmid, delete="onboot")
        r = self.expect(self.pvfio("diff", self.prof), 2)
        self.assertRegex(r.out, r"(?m)^\s*\+ onboot: 1$")
        self.apply_ok(self.prof)
        self.expect(self.pvfio("diff", self.prof), 0)

    def test_added_device_is_removed(self):
        self.api.set_config(self.node, self.vmid, hostpci1="mapping=rtx4090,rombar=0")
        r = self.expect(self.pvfio("diff", self.prof), 2)
        self.assertRegex(r.out, r"(?m)^\s*- hostpci1: mapping=rtx4090,rombar=0$")
        mark = self.sim.mark()
        self.apply_ok(self.prof)
        [w] = self.sim.writes(mark)
        self.assertEqual(w["params"].get("delete"), "hostpci1")
        self.assertNotIn("hostpci1", self.api.config(self.node, self.vmid))

    def test_unmanaged_keys_are_left_alone(self):
        # keys the profile does not manage (description, args, a second disk) stay as they are
        self.api.set_config(self.node, self.vmid, description="set by hand", keyboard="de", scsi1="local-lvm:4")
        r = self.expect(self.pvfio("diff", self.prof), 0)
        self.assertIn("No changes", r.out)

    def test_disk_size_is_drift_not_fixed(self):
        scsi0 = self.conf["scsi0"]
        self.assertIn("size=32G", scsi0)
        self.sim.set_vm(vmid=self.vmid, config={"scsi0": scsi0.replace("size=32G", "size=48G")})
        r = self.expect(self.pvfio("diff", self.prof), 2)
        self.assertRegex(r.out, r"(?m)^drift: vm 'drifty' \(210\): scsi0 is 48G, the profile says 32G")
        self.assertNotRegex(r.out, r"(?m)^\s*[+~-] ")       # no action: pvfio reports it, nothing else
        mark = self.sim.mark()
        self.pvfio("apply", "--yes", self.prof)
        self.assertNoWrites(mark, "pvfio never resizes a disk")

    def test_equivalent_spellings_are_no_drift(self):
        # values that mean the same: pcie=yes / rombar default / key order / tag order
        self.sim.set_vm(vmid=self.vmid, config={"hostpci0": "pcie=yes,mapping=rtx4090,rombar=1",
                                                "tags": "pvfio;lab;gpu", "numa": "1", "onboot": "1"})
        self.assertEqual(self.api.config("pve1", self.vmid)["hostpci0"], "pcie=yes,mapping=rtx4090,rombar=1")
        r = self.expect(self.pvfio("diff", self.prof), 0)
        self.assertIn("No changes", r.out)


def _make(key, oob, want):
    def t(self):
        self.drift_and_repair(key, oob, want)
    t.__name__ = "test_key_" + key
    return t


for _k, (_oob, _want) in DRIFT.items():
    setattr(Drift, "test_key_" + _k, _make(_k, _oob, _want))


class RawHostpci(e2elib.Lab):
    """The canonical hostpci form of raw devices: same meaning = no diff; a real change is never missed."""

    def setUp(self):
        super().setUp()
        self.prof = self.lab_profile("""
vms:
  - name: raw-1
    node: pve1
    vmid: 220
    machine: q35
    memory: 4G
    pci:
      - { address: 0000:02:00, pcie: true }
""", auth="root")
        self.apply_ok(self.prof)
        self.assertEqual(self.api.config("pve1", 220)["hostpci0"], "0000:02:00,pcie=1")

    def same(self, value):
        self.sim.set_vm(vmid=220, config={"hostpci0": value})
        self.assertEqual(self.api.config("pve1", 220)["hostpci0"], value)
        r = self.pvfio("diff", self.prof)
        self.assertEqual(r.rc, 0, "%r reported as drift:\n%r" % (value, r))

    def differs(self, value):
        self.sim.set_vm(vmid=220, config={"hostpci0": value})
        r = self.expect(self.pvfio("diff", self.prof), 2)
        self.assertKeyChange(r.out, "hostpci0", value, "0000:02:00,pcie=1")

    def test_same_meaning(self):
        for v in ("02:00,pcie=1", "host=0000:02:00,pcie=1", "0000:02:00,pcie=1,rombar=1", "pcie=on,host=02:00",
                  "0000:02:00,x-vga=0,pcie=1"):
            with self.subTest(v=v):
                self.same(v)

    def test_real_changes(self):
        for v in ("0000:02:00.0,pcie=1", "0000:01:00,pcie=1", "0000:02:00", "0000:02:00,pcie=1,rombar=0",
                  "0000:02:00,pcie=1,x-vga=1"):
            with self.subTest(v=v):
                self.differs(v)
