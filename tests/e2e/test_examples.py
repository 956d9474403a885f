# SPDX-License-Identifier: GPL-2.0-or-later
"""Every profile in profiles/examples/, applied for real.

The simulator (clusters/examples.json) has one node per example with the node
name and the hardware the example describes; the example is used as written,
except for the endpoint, the TLS pin or CA file and the secret files, which
point at the simulator and at temporary files. pvfio runs "on" the example's
first host node, on a fake root of that node's machine.

For each example:
  1. apply --yes: host files written (commands recorded), mappings created;
     VMs whose devices wait for the reboot are blocked (exit 2), else exit 0;
  2. the node reboots (tests/mkroot/simreboot.py), apply --yes again: exit 0,
     "Verified";
  3. diff: exit 0, "No changes";
  4. apply --yes once more: exit 0, zero write requests reach the API, no
     host file is touched and no command is recorded;
plus what the cluster holds afterwards (VM configs, devices, power state).
"""
import os
import re
import sys
import unittest

import e2elib

ROOT_PW = "e2e-root-pw-4d81"
TOKENS = {
    "pvfio@pve!vdi": "e2e0e2e0-0000-4000-8000-00000000000a",
    "pvfio@pve!vgpu": "e2e0e2e0-0000-4000-8000-00000000000b",
    "pvfio@pve!automation": "e2e0e2e0-0000-4000-8000-00000000000c",
}
EXAMPLES_DIR = os.path.join(e2elib.TOP, "profiles", "examples")

# example -> node pvfio runs on, its machine, whether the host changes need a reboot, and the exit
# status of the first apply (2: VMs on that node stay blocked until the reboot)
EXAMPLES = {
    "ai-multi-gpu": {"node": "ai1", "machine": "ai-4x4090", "reboot": True, "first_rc": 2},
    "host-only-amd-gpu": {"node": "pve-amd", "machine": "amd-7900xtx", "reboot": True, "first_rc": 0},
    "igpu-gvtg-vdi": {"node": "vdi1", "machine": "vdi-gvtg", "reboot": True, "first_rc": 2},
    "laptop-single-gpu": {"node": "pve-laptop", "machine": "laptop-ga107m", "reboot": True, "first_rc": 2},
    "nvidia-sriov-vgpu": {"node": "gpu1", "machine": "l4-sriov-8vf", "reboot": True, "first_rc": 2},
    "sriov-nic-vfs": {"node": "edge1", "machine": "x710-sriov", "reboot": True, "first_rc": 2},
    "two-node-mapping": {"node": "pve1", "machine": "a4000-pve1", "reboot": True, "first_rc": 2},
    "windows11-gaming-looking-glass": {"node": "pve-gaming", "machine": "desktop-igpu-dgpu", "reboot": True,
                                       "first_rc": 2},
    "host-amd-vendor-reset": {"node": "pve-navi", "machine": "amd-5700xt", "reboot": True, "first_rc": 0},
}

def fingerprint_like(original, fp):
    """The simulator's fingerprint written the way the example writes its own (colons or not, case)."""
    hexdigits = fp.replace(":", "")
    if ":" not in original:
        hexdigits = hexdigits.lower() if original == original.lower() else hexdigits
        return hexdigits
    return fp if original == original.upper() else fp.lower()


class Examples(e2elib.E2E):
    cluster = "examples.json"
    secrets = {"PVFIO_ROOT_PASSWORD": ROOT_PW}
    root_password = ROOT_PW

    def adapt(self, name):
        """The example with endpoint, TLS and secret files pointing at the simulator (env: secrets)."""
        with open(os.path.join(EXAMPLES_DIR, name + ".yaml")) as f:
            text = f.read()
        env = {}
        m = re.search(r"(?m)^\s*token:\s*(\S+)", text)
        secret = TOKENS[m.group(1)] if m else ROOT_PW
        for var in re.findall(r"(?m)^\s*(?:secret|password)_env:\s*(\S+)", text):
            env[var] = secret
        n_subs = 0

        def sub(pattern, repl):
            nonlocal text, n_subs
            text, n = re.subn(pattern, repl, text, flags=re.M)
            n_subs += n
            return n

        has_cluster = re.search(r"(?m)^cluster:", text) is not None
        self.assertEqual(sub(r"^(\s*api:\s*)\S+", lambda m: m.group(1) + self.sim.url), 1 if has_cluster else 0)
        sub(r'^(\s*fingerprint:\s*)"([0-9A-Fa-f:]+)"',
            lambda m: '%s"%s"' % (m.group(1), fingerprint_like(m.group(2), self.sim.fingerprint)))
        sub(r"^(\s*ca_file:\s*)\S+", lambda m: m.group(1) + self.sim.cert)
        secret_file = os.path.join(self.tmp, "secret")
        with open(secret_file, "w") as f:
            f.write(secret + "\n")
        os.chmod(secret_file, 0o600)
        sub(r"^(\s*(?:secret|password)_file:\s*)\S+", lambda m: m.group(1) + secret_file)
        if has_cluster:
            self.assertEqual(n_subs, 3 if not env else 2, "api, tls and secret adapted")
        # romfiles sources are relative to the example's directory, the copy lives elsewhere
        text = re.sub(r"(?m)^(\s*source:\s*)(roms/\S+)",
                      lambda m: m.group(1) + os.path.join(EXAMPLES_DIR, m.group(2)), text)
        path = os.path.join(self.tmp, name + ".yaml")
        with open(path, "w") as f:
            f.write(text)
        env.update({k: v for k, v in self.secrets.items()})
        return path, env

    def apply(self, prof, root, *args):
        """apply --yes; then do what the recorded systemctl commands would have done on the node."""
        r = self.pvfio("apply", "--yes", prof, *args)
        e2elib.play_systemctl(root)
        return r

    def run_example(self, name):
        ex = EXAMPLES[name]
        prof, env = self.adapt(name)
        self.secrets = dict(env)
        root = self.mkroot(ex["machine"])
        host = ["--root", root, "--node", ex["node"], "--local-only"]   # other nodes: no SSH in this test

        r = self.pvfio("validate", prof)
        self.expect(r, 0)
        r = self.pvfio("plan", prof, *host)
        self.expect(r, 2)
        self.assertRegex(r.out, r"Plan: \d+ to add")

        r = self.apply(prof, root, *host)
        self.expect(r, ex["first_rc"])
        self.assertIn("Verified:", r.out)
        self.assertIn(" 0 failed", r.out)
        if ex["reboot"]:
            self.assertIn("reboot required: %s:" % ex["node"], r.out)
            r = self.pvfio("plan", prof, *host)     # host files are in place; only the reboot is missing
            self.expect(r, 2 if ex["first_rc"] else 0)
            self.assertNotRegex(r.out, r"(?m)^\s*[+~-] (write-file|edit-file|run-command)")
            self.simreboot(root)
            r = self.apply(prof, root, *host)
        else:
            self.assertNotIn("reboot required", r.out)
        self.expect(r, 0)
        self.assertIn("Verified:" if ex["first_rc"] else "No changes", r.out)
        self.assertNotIn("reboot required", r.out)

        r = self.expect(self.pvfio("diff", prof, *host), 0)
        self.assertIn("No changes", r.out)

        mark = self.sim.mark()
        before = e2elib.snapshot(root)
        r = self.expect(self.pvfio("apply", "--yes", prof, *host), 0)
        self.assertNoWrites(mark, "second apply of %s" % name)
        self.assertEqual(e2elib.snapshot(root), before, "the second apply touched the host root")
        if "cluster:" in open(prof).read():
            self.assertTrue(self.sim.requests(mark), "the second apply did not even read the cluster")
        return root

    # -- the examples --
    def vm(self, name, node, status):
        vmid, got_node, got_status, c = self.vm_config(name)
        self.assertEqual((got_node, got_status), (node, status), name)
        self.assertIn("pvfio", c["tags"].split(";"))
        return vmid, c

    def test_ai_multi_gpu(self):
        root = self.run_example("ai-multi-gpu")
        vmid, c = self.vm("ai-train", "ai1", "running")
        self.assertEqual(vmid, 501)
        self.assertEqual((c["hostpci0"], c["hostpci1"]), ("0000:01:00,pcie=1", "0000:41:00,pcie=1"))
        self.assertEqual((c["cores"], c["memory"], c["hugepages"]), (32, "196608", "1024"))
        self.assertEqual(c["cpu"], "host,flags=+pdpe1gb")
        _, c = self.vm("ai-infer", "ai1", "running")
        self.assertEqual(c["hostpci0"], "0000:81:00,pcie=1")
        _, c = self.vm("ai-notebook", "ai1", "stopped")
        self.assertEqual(c["hostpci0"], "0000:81:00,pcie=1")
        # the fourth card stays with the host driver
        self.assertTrue(os.readlink(os.path.join(root, "sys/bus/pci/devices/0000:c1:00.0/driver")).endswith("/nvidia"))
        self.assertTrue(os.readlink(os.path.join(root, "sys/bus/pci/devices/0000:41:00.1/driver")).endswith("/vfio-pci"))

    def test_host_only_amd_gpu(self):
        root = self.run_example("host-only-amd-gpu")
        with open(os.path.join(root, "etc/modprobe.d/pvfio.conf")) as f:
            conf = f.read()
        self.assertRegex(conf, r"options vfio-pci ids=1002:744c,1002:ab30,1002:7446,1002:7444")
        self.assertIn("disable_vga=1", conf)
        for a in ("0000:03:00.0", "0000:03:00.1", "0000:03:00.2", "0000:03:00.3"):
            self.assertTrue(os.readlink(os.path.join(root, "sys/bus/pci/devices", a, "driver")).endswith("/vfio-pci"), a)
        self.assertEqual(self.sim.requests(self.mark0), [], "a host-only profile talked to the API")

    def test_igpu_gvtg_vdi(self):
        self.run_example("igpu-gvtg-vdi")
        m = self.mapping("igpu")
        self.assertEqual(m["map"], ["node=vdi1,path=0000:00:02.0,id=8086:3e92,subsystem-id=1458:d000,iommugroup=1"])
        for name, vmid, mdev in (("vdi-reception", 301, "i915-GVTg_V5_8"), ("vdi-office-1", 302, "i915-GVTg_V5_8"),
                                 ("vdi-office-2", 303, "i915-GVTg_V5_8"), ("vdi-design", 310, "i915-GVTg_V5_4")):
            got, c = self.vm(name, "vdi1", "running")
            self.assertEqual(got, vmid)
            self.assertEqual(c["hostpci0"], "mapping=igpu,mdev=%s" % mdev)

    def test_laptop_single_gpu(self):
        root = self.run_example("laptop-single-gpu")
        vmid, c = self.vm("win11-gpu", "pve-laptop", "stopped")
        self.assertEqual(vmid, 100)
        self.assertEqual(c["hostpci0"], "0000:01:00,pcie=1,romfile=ga107m-uefi.rom,x-vga=1")
        # the ROM image, byte for byte, installed for romfile=; the example's image is the synthetic one
        with open(os.path.join(EXAMPLES_DIR, "roms", "ga107m-uefi.rom"), "rb") as f:
            image = f.read()
        with open(os.path.join(root, "usr/share/kvm/ga107m-uefi.rom"), "rb") as f:
            self.assertEqual(f.read(), image)
        sys.path.insert(0, os.path.join(e2elib.TOP, "tests", "mkroot"))
        import mkrom
        self.assertEqual(image, mkrom._image(0x10de, 0x25a0, 0, False, 1) +
                         mkrom._image(0x10de, 0x25a0, 3, True, 1, efi_header=True), "not the synthetic image")
        self.assertEqual((c["vga"], c["cpu"], c["balloon"]), ("none", "host,hidden=1", 0))

    def test_nvidia_sriov_vgpu(self):
        root = self.run_example("nvidia-sriov-vgpu")
        m = self.mapping("l4-vgpu")
        self.assertEqual(len(m["map"]), 8)
        self.assertTrue(all("id=10de:27b8" in e and "iommugroup=" in e for e in m["map"]), m["map"])
        for name, vmid, mdev in (("inference-a", 401, "nvidia-660"), ("vdi-win-1", 411, "nvidia-663"),
                                 ("vdi-win-2", 412, "nvidia-663")):
            got, c = self.vm(name, "gpu1", "running")
            self.assertEqual(got, vmid)
            self.assertEqual(c["hostpci0"], "mapping=l4-vgpu,mdev=%s,pcie=1" % mdev)
        self.assertTrue(os.path.islink(os.path.join(
            root, "etc/systemd/system/multi-user.target.wants/pve-nvidia-sriov@ALL.service")))

    def test_sriov_nic_vfs(self):
        self.run_example("sriov-nic-vfs")
        _, fw = self.vm("fw-edge", "edge1", "running")
        _, vpn = self.vm("vpn-gw", "edge1", "running")
        wan, lan, lan2 = fw["hostpci0"], fw["hostpci1"], vpn["hostpci0"]
        self.assertRegex(wan, r"^0000:03:02\.[0-7],pcie=1$")       # a VF of 03:00.0
        self.assertRegex(lan, r"^0000:03:0a\.[0-7],pcie=1$")       # a VF of 03:00.1
        self.assertRegex(lan2, r"^0000:03:0a\.[0-7],pcie=1$")
        self.assertNotEqual(lan, lan2, "two VMs got the same VF")

    def test_two_node_mapping(self):
        self.run_example("two-node-mapping")
        m = self.mapping("a4000")
        self.assertEqual(len(m["map"]), 2, m)
        self.assertTrue(any("node=pve1" in e and "path=0000:01:00" in e and "iommugroup=14" in e for e in m["map"]))
        self.assertTrue(any("node=pve2" in e and "path=0000:41:00" in e and "iommugroup=32" in e for e in m["map"]))
        _, c1 = self.vm("cad-1", "pve1", "running")
        _, c2 = self.vm("cad-2", "pve2", "running")
        self.assertEqual(c1["hostpci0"], "mapping=a4000,pcie=1")
        self.assertEqual(c2["hostpci0"], "mapping=a4000,pcie=1")
        self.assertIn("tag=20", c1["net0"])

    def test_windows11_gaming_looking_glass(self):
        root = self.run_example("windows11-gaming-looking-glass")
        vmid, c = self.vm("win11-gaming", "pve-gaming", "stopped")
        self.assertEqual(vmid, 200)
        self.assertEqual(c["hostpci0"], "0000:03:00,pcie=1,x-vga=1")
        self.assertRegex(c["tpmstate0"], r"^local-lvm:vm-200-disk-\d+,size=4M,version=v2.0$")
        self.assertEqual((c["hugepages"], c["affinity"]), ("1024", "4-11"))
        self.assertEqual((c["usb0"], c["usb1"]), ("host=046d:c52b", "mapping=headset"))
        # the USB mapping is pvfio's now: the headset's id read from the node at port 1-3.4
        usb = {m["id"]: m for m in self.api.get("/cluster/mapping/usb")}
        self.assertEqual(usb["headset"]["map"], ["node=pve-gaming,path=1-3.4,id=0d8c:0014"])
        self.assertEqual(usb["headset"]["description"], "USB headset on the desk [pvfio]")
        self.assertEqual(c["args"],
                         "-device ivshmem-plain,memdev=ivshmem,bus=pcie.0 -object memory-backend-file,id=ivshmem,"
                         "share=on,mem-path=/dev/shm/looking-glass,size=64M "
                         "-object input-linux,id=pvfio-evdev0,evdev=/dev/input/by-id/usb-Logitech_USB_Receiver-event-kbd,"
                         "grab_all=on,repeat=on "
                         "-object input-linux,id=pvfio-evdev1,evdev=/dev/input/by-id/usb-Razer_Razer_DeathAdder_V2-event-mouse")
        with open(os.path.join(root, "etc/tmpfiles.d/pvfio-looking-glass.conf")) as f:
            self.assertIn("f /dev/shm/looking-glass 0660 gamer kvm -\n", f.read())
        with open(os.path.join(root, "etc/default/grub.d/pvfio.cfg")) as f:
            self.assertIn("default_hugepagesz=1G hugepagesz=1G hugepages=17", f.read())

    def test_host_amd_vendor_reset(self):
        root = self.run_example("host-amd-vendor-reset")
        with open(os.path.join(root, "etc/modules-load.d/pvfio-vendor-reset.conf")) as f:
            self.assertIn("\nvendor-reset\n", f.read())
        with open(os.path.join(root, "etc/udev/rules.d/61-pvfio-vendor-reset.rules")) as f:
            self.assertIn('ATTR{device}=="0x731f", ATTR{reset_method}="device_specific"', f.read())
        self.assertTrue(os.readlink(os.path.join(root, "sys/bus/pci/devices/0000:03:00.0/driver")).endswith("/vfio-pci"))
        self.assertEqual(self.sim.requests(self.mark0), [], "a host-only profile talked to the API")


def _check_all_examples_covered():
    have = sorted(f[:-5] for f in os.listdir(EXAMPLES_DIR) if f.endswith(".yaml"))
    missing = [e for e in have if e not in EXAMPLES]
    if missing:
        raise AssertionError("examples without an end-to-end test: %s" % ", ".join(missing))


class ExamplesCovered(unittest.TestCase):
    def test_every_example_has_a_test(self):
        _check_all_examples_covered()
        for e in EXAMPLES:
            self.assertTrue(hasattr(Examples, "test_" + e.replace("-", "_")), e)
