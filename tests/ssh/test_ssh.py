#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end: host sections of several nodes over real OpenSSH, and the rolling reboot.

    test_ssh.py --pvfio BUILD/pvfio [-v] [-k PATTERN] [GROUP...]

Each test builds its own lab (tests/ssh/sshlab.py): one sshd per simulated node
on a loopback port, each pointed at its own fake host root, keys and known_hosts
made for the run, and the Proxmox simulator for the cluster API. pvfio runs from
"outside" the cluster (this machine is no node), so every node is reached over SSH.
Exit status 77 (CTest: skipped) when sshd or the ssh client is missing.
"""

import argparse
import base64
import hashlib
import os
import re
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sshlab  # noqa: E402

PVFIO = None
NODES = [("pve1", "laptop-ga107m"), ("pve2", "server-4gpu"), ("pve3", "desktop-igpu-dgpu")]

HOSTS = """hosts:
  - nodes: pve1
    vfio:
      - address: 0000:01:00.0
  - nodes: pve2
    vfio:
      - id: 10de:2230
  - nodes: pve3
    kernel_args: [video=efifb:off]
    vfio:
      - id: 1002:73df
    blacklist: [radeon]
"""

# a VM on pve2 with a GPU that is only usable once pve2 booted with vfio-pci on it
VMS = """vms:
  - name: cuda-1
    node: pve2
    vmid: 700
    state: running
    machine: q35
    memory: 4G
    cores: 2
    pci:
      - address: 0000:43:00
        pcie: true
"""

FILES = ["etc/modprobe.d/pvfio.conf", "etc/modules-load.d/pvfio.conf"]


def writes(entries):
    """Requests that change the cluster (a login is not one, nor the apply lock, the pool 'pvfio-lock')."""
    return [e for e in entries if e["method"] != "GET" and not e["path"].endswith("/access/ticket")
            and not e["path"].split("?")[0].endswith("/pools")]


class Base(unittest.TestCase):
    cluster_vms = ()
    sim_args = ("--task-ms", "5")

    def setUp(self):
        self.lab = sshlab.Lab(PVFIO, NODES, cluster_vms=self.cluster_vms, sim_args=self.sim_args)
        self.addCleanup(self.lab.close)

    def run_pvfio(self, *args, rc=None, **kw):
        r = self.lab.run(*args, **kw)
        self.assertNotIn("Sanitizer", r.err, r)
        self.assertNotIn("runtime error:", r.err, r)
        if rc is not None:
            self.assertEqual(r.rc, rc, r)
        return r

    def assertApplied(self, node, r=None):
        root = self.lab.nodes[node].root
        for f in FILES:
            self.assertTrue(os.path.exists(os.path.join(root, f)), "%s: %s missing\n%r" % (node, f, r))
        self.assertIn("update-initramfs -u -k all", self.lab.nodes[node].commands())

    def assertUntouched(self, node, before):
        self.assertEqual(sshlab.snapshot(self.lab.nodes[node].root), before, "%s was changed" % node)


class HostsOverSsh(Base):
    def test_three_nodes_in_one_apply(self):
        prof = self.lab.profile(HOSTS)
        r = self.run_pvfio("plan", prof, rc=2)
        for n in ("pve1", "pve2", "pve3"):
            self.assertIn("Host configuration on %s:" % n, r.out)
            self.assertRegex(r.out, r"(?m)^  %s +ssh +\d+ host changes, reboot required$" % n)
        self.assertIn("+options vfio-pci ids=10de:2230,10de:1aef", r.out)           # pve2's own diff
        self.assertIn("kernel arguments not active yet", r.out)
        doc = self.run_pvfio("plan", "--json", prof, rc=2).json()
        self.assertEqual(doc["format_version"], 2)
        self.assertEqual([(n["node"], n["via"], n["status"]) for n in doc["nodes"]],
                         [("pve1", "ssh", "ok"), ("pve2", "ssh", "ok"), ("pve3", "ssh", "ok")])
        by_node = {}
        for a in doc["actions"]:
            self.assertEqual(a["group"], "host")
            by_node.setdefault(a["node"], []).append(a["target"])
        self.assertEqual(sorted(by_node), ["pve1", "pve2", "pve3"])
        self.assertIn("etc/modprobe.d/pvfio.conf", by_node["pve3"])
        self.assertTrue(all(r.startswith(("pve1: ", "pve2: ", "pve3: ")) for r in doc["reboot_reasons"]))

        r = self.run_pvfio("apply", "--yes", prof, rc=0)
        for n in ("pve1", "pve2", "pve3"):
            self.assertApplied(n, r)
        self.assertRegex(r.out, r"(?m)^  \+ write-file etc/modprobe\.d/pvfio\.conf \[done\]$")
        self.assertIn("Applied: ", r.out)
        self.assertNotIn("failed:", r.out)
        # what each node got is its own section, not another node's
        pve3 = open(os.path.join(self.lab.nodes["pve3"].root, "etc/modprobe.d/pvfio.conf")).read()
        self.assertIn("blacklist radeon", pve3)
        self.assertNotIn("10de:2230", pve3)

    def test_second_run_writes_nothing(self):
        prof = self.lab.profile(HOSTS)
        self.run_pvfio("apply", "--yes", prof, rc=0)
        before = {n: sshlab.snapshot(node.root) for n, node in self.lab.nodes.items()}
        commands = {n: node.commands() for n, node in self.lab.nodes.items()}
        mark = self.lab.sim.seq()
        r = self.run_pvfio("apply", "--yes", prof, rc=0)
        self.assertIn("No changes", r.out)
        self.assertIn("reboot required: pve2:", r.out)       # still true: nobody rebooted
        r = self.run_pvfio("plan", prof, rc=0)
        for n, node in self.lab.nodes.items():
            self.assertUntouched(n, before[n])
            self.assertEqual(node.commands(), commands[n], "%s ran a command" % n)
        self.assertEqual(writes(self.lab.sim.api_requests(mark)), [])

    def test_romfiles_over_ssh(self):
        """A ROM image reaches another node as base64 in its JSON plan and is installed byte for byte;
        a relative source, which that node resolves against its own working directory, is blocked there."""
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mkroot"))
        import mkrom
        image = mkrom.build_rom(0x10de, 0x25a0, efi=True)
        os.makedirs(os.path.join(self.lab.dir, "roms"), exist_ok=True)
        absolute = os.path.join(self.lab.dir, "roms", "gpu.rom")
        with open(absolute, "wb") as f:
            f.write(image)
        hosts = HOSTS.replace("  - nodes: pve2\n", "    romfiles:\n      - {name: gpu.rom, source: %s}\n"
                              "  - nodes: pve2\n" % absolute)
        prof = self.lab.profile(hosts)
        doc = self.run_pvfio("plan", "--json", prof, rc=2).json()
        rom = [a for a in doc["actions"] if a["kind"] == "install-file"]
        self.assertEqual([(a["node"], a["target"], a["blocked"]) for a in rom], [("pve1", "usr/share/kvm/gpu.rom", None)])
        self.assertEqual(base64.b64decode(rom[0]["payload"]["data_base64"]), image)
        self.assertEqual(rom[0]["payload"]["sha256"], hashlib.sha256(image).hexdigest())
        self.assertEqual(rom[0]["after"], "%d bytes, sha256 %s" % (len(image), hashlib.sha256(image).hexdigest()))
        r = self.run_pvfio("plan", prof, rc=2)
        self.assertIn("+ install-file usr/share/kvm/gpu.rom", r.out)
        self.assertNotIn("\x00", r.out)
        r = self.run_pvfio("apply", "--yes", prof, rc=0)
        self.assertRegex(r.out, r"(?m)^  \+ install-file usr/share/kvm/gpu\.rom \[done\]$")
        with open(os.path.join(self.lab.nodes["pve1"].root, "usr/share/kvm/gpu.rom"), "rb") as f:
            self.assertEqual(f.read(), image)
        r = self.run_pvfio("plan", prof, rc=0)
        self.assertNotIn("install-file", r.out)
        # relative to the profile here: the controller sends the image in the profile bundle, the node
        # installs the same bytes (NULs and all) though it cannot read the controller's file
        self.assertIn(b"\x00", image)
        prof = self.lab.profile(HOSTS.replace("  - nodes: pve2\n", "    romfiles:\n      - {name: rel.rom, source: "
                                              "roms/gpu.rom}\n  - nodes: pve2\n"), name="relative.yaml")
        doc = self.run_pvfio("plan", "--json", prof, rc=2).json()
        rom = [a for a in doc["actions"] if a["kind"] == "install-file"]
        self.assertEqual([(a["node"], a["target"], a["blocked"]) for a in rom], [("pve1", "usr/share/kvm/rel.rom", None)])
        self.assertEqual(base64.b64decode(rom[0]["payload"]["data_base64"]), image)
        r = self.run_pvfio("apply", "--yes", prof, rc=0)
        self.assertRegex(r.out, r"(?m)^  \+ install-file usr/share/kvm/rel\.rom \[done\]$")
        with open(os.path.join(self.lab.nodes["pve1"].root, "usr/share/kvm/rel.rom"), "rb") as f:
            self.assertEqual(f.read(), image)
        self.assertEqual(self.run_pvfio("plan", "--json", prof, rc=0).json()["actions"], [])

    def test_romfiles_bundle_damaged_or_not_understood(self):
        """A bundle whose image does not match its SHA-256 is refused by the node; an older pvfio there,
        which does not know --profile-bundle, fails that node with what to install."""
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mkroot"))
        import mkrom
        image = mkrom.build_rom(0x10de, 0x25a0, efi=False)
        os.makedirs(os.path.join(self.lab.dir, "roms"), exist_ok=True)
        with open(os.path.join(self.lab.dir, "roms", "gpu.rom"), "wb") as f:
            f.write(image)
        hosts = HOSTS.replace("  - nodes: pve2\n", "    romfiles:\n      - {name: gpu.rom, source: roms/gpu.rom}\n"
                              "  - nodes: pve2\n")
        pve1 = self.lab.nodes["pve1"]
        before = sshlab.snapshot(pve1.root)
        prof = self.lab.profile(hosts, ssh_nodes={"pve1": {"pvfio": pve1.pvfio_bad_bundle}})
        r = self.run_pvfio("apply", "--yes", prof, rc=3)
        self.assertRegex(r.err, r"node 'pve1': .*profile bundle '<stdin>': image 'roms/gpu\.rom' has SHA-256 "
                                r"[0-9a-f]{64}, its 'sha256' says 0{64} \(the bundle was damaged on the way\)")
        self.assertUntouched("pve1", before)
        self.assertApplied("pve2", r)
        prof = self.lab.profile(hosts, ssh_nodes={"pve1": {"pvfio": pve1.pvfio_no_bundle}})
        r = self.run_pvfio("plan", prof, rc=3)
        self.assertRegex(r.err, r"node 'pve1': the remote pvfio does not understand 'host plan --json "
                                r"--profile-bundle' \(.*--profile-bundle-unknown.*\), which sends it the ROM images "
                                r"of the node's romfiles: install pvfio \d+\.\d+\.\d+ on pve1")
        self.assertUntouched("pve1", before)
        # nodes without romfiles get the plain profile: the same older pvfio still serves pve3
        prof = self.lab.profile(hosts, ssh_nodes={"pve3": {"pvfio": self.lab.nodes["pve3"].pvfio_no_bundle}})
        self.run_pvfio("apply", "--yes", prof, rc=0)
        self.assertApplied("pve3")

    def test_one_node_unreachable(self):
        prof = self.lab.profile(HOSTS)
        pve2 = self.lab.nodes["pve2"]
        pve2.stop()
        before = sshlab.snapshot(pve2.root)
        r = self.run_pvfio("plan", prof, rc=3)
        self.assertRegex(r.err, r"node 'pve2': cannot reach '127\.0\.0\.1' over SSH: ssh: connect to host "
                                r"127\.0\.0\.1 port %d: Connection refused" % pve2.port)
        self.assertIn("Host configuration on pve1:", r.out)
        self.assertIn("Host configuration on pve3:", r.out)
        self.assertRegex(r.out, r"(?m)^  pve2 +ssh +failed: node 'pve2': cannot reach")
        r = self.run_pvfio("apply", "--yes", prof, rc=3)
        self.assertApplied("pve1", r)
        self.assertApplied("pve3", r)
        self.assertUntouched("pve2", before)
        doc = self.run_pvfio("plan", "--json", prof, rc=3).json()
        failed = [n for n in doc["nodes"] if n["status"] != "ok"]
        self.assertEqual([n["node"] for n in failed], ["pve2"])
        self.assertIn("Connection refused", failed[0]["error"])
        # back again: only pve2 has work left
        pve2.start()
        self.lab.write_known_hosts()
        r = self.run_pvfio("apply", "--yes", prof, rc=0)
        self.assertApplied("pve2", r)
        self.assertNotIn("Host configuration on pve1", r.out)

    def test_host_keys_are_checked(self):
        prof = self.lab.profile(HOSTS)
        self.lab.write_known_hosts(wrong=["pve3"])
        before = sshlab.snapshot(self.lab.nodes["pve3"].root)
        r = self.run_pvfio("apply", "--yes", prof, rc=3)
        self.assertRegex(r.err, r"node 'pve3': cannot reach '127\.0\.0\.1' over SSH: .*(Host key verification "
                                r"failed|REMOTE HOST IDENTIFICATION HAS CHANGED)")
        self.assertUntouched("pve3", before)
        self.assertApplied("pve1", r)

    def test_remote_speaks_another_format(self):
        pve3 = self.lab.nodes["pve3"]
        prof = self.lab.profile(HOSTS, ssh_nodes={"pve3": {"pvfio": pve3.pvfio_other_format}})
        before = sshlab.snapshot(pve3.root)
        r = self.run_pvfio("plan", prof, rc=3)
        self.assertIn("pvfio: error: node 'pve3': remote pvfio 9.9.9 speaks plan format 99, this pvfio speaks 2: "
                      "install pvfio ", r.err)
        self.assertRegex(r.err, r"install pvfio \d+\.\d+\.\d+ on pve3\n")
        r = self.run_pvfio("apply", "--yes", prof, rc=3)
        self.assertApplied("pve1", r)
        self.assertApplied("pve2", r)
        self.assertUntouched("pve3", before)

    def test_a_node_that_does_not_answer_times_out(self):
        prof = self.lab.profile(HOSTS, ssh_nodes={"pve1": {"pvfio": self.lab.nodes["pve1"].pvfio_hang}})
        t0 = time.time()
        r = self.run_pvfio("plan", "--ssh-timeout", "2", prof, rc=3)
        self.assertLess(time.time() - t0, 60)
        self.assertIn("node 'pve1': no answer over SSH from '127.0.0.1' within 2 s", r.err)
        self.assertIn("Host configuration on pve2:", r.out)

    def test_local_only_reaches_no_node(self):
        prof = self.lab.profile(HOSTS)
        self.lab.nodes["pve1"].stop()
        r = self.run_pvfio("plan", "--local-only", prof, rc=0)
        self.assertNotIn("pve1", r.out + r.err)


class RollingReboot(Base):
    sim_args = ("--task-ms", "5", "--reboot-ms", "1200")
    # a VM pvfio does not manage, running on pve3
    cluster_vms = ({"vmid": 300, "node": "pve3", "status": "running",
                    "config": {"name": "legacy-dns", "memory": "1024", "onboot": 1}},)

    def play_reboots(self):
        """Boot the fake root of each node the simulator was asked to reboot (as the node would)."""
        stop = threading.Event()
        done = []

        def watch():
            seen = 0
            while not stop.is_set():
                try:
                    entries = self.lab.sim.api_requests(seen)
                except Exception:
                    time.sleep(0.1)
                    continue
                for e in entries:
                    seen = max(seen, e["seq"])
                    m = re.match(r"^/api2/json/nodes/([^/]+)/status$", e["path"])
                    if e["method"] == "POST" and m and e["status"] == 200:
                        self.lab.nodes[m.group(1)].reboot()
                        done.append((m.group(1), e["seq"]))
                time.sleep(0.05)

        t = threading.Thread(target=watch, daemon=True)
        t.start()

        def finish():
            stop.set()
            t.join(5)
        self.addCleanup(finish)
        return done

    def test_refuses_a_node_with_unmanaged_vms(self):
        prof = self.lab.profile(HOSTS, vms=VMS)
        rebooted = self.play_reboots()
        r = self.run_pvfio("apply", "--yes", "--reboot", prof, rc=3)
        self.assertRegex(r.out, r"(?m)^  pve3 +refused +it runs VMs the profile does not manage: "
                                r"'legacy-dns' \(300\); .*--force$")
        self.assertRegex(r.out, r"(?m)^  pve1 +done +back and checked after")
        self.assertEqual(sorted(n for n, _ in rebooted), ["pve1", "pve2"])
        self.assertIn("create-vm vm cuda-1", r.out)

    def test_the_node_pvfio_runs_on(self):
        prof = self.lab.profile(HOSTS)
        rebooted = self.play_reboots()
        pve1 = self.lab.nodes["pve1"]
        here = ["--node", "pve1", "--root", pve1.root]          # pvfio "runs on" pve1 (its fake root)
        r = self.run_pvfio("apply", "--yes", "--reboot", "--force", prof, *here, rc=0)
        self.assertRegex(r.out, r"(?m)^  pve1 +local +\d+ host changes, reboot required$")
        self.assertRegex(r.out, r"(?m)^  pve1 +skipped +it is the node pvfio runs on: .*--reboot-self$")
        self.assertEqual(sorted(n for n, _ in rebooted), ["pve2", "pve3"])
        self.assertApplied("pve1", r)                           # applied in-process, not over SSH
        r = self.run_pvfio("apply", "--yes", "--reboot", "--force", "--reboot-self", prof, *here, rc=0)
        self.assertIn("Rebooting node 'pve1', the node pvfio runs on, now", r.err)
        self.assertRegex(r.out, r"(?m)^  pve1 +requested$")
        deadline = time.time() + 10                             # the watcher boots pve1's root first
        while len(rebooted) < 3 and time.time() < deadline:
            time.sleep(0.1)
        self.assertEqual([n for n, _ in rebooted], ["pve2", "pve3", "pve1"])

    def test_rolling_reboot_then_the_blocked_vm(self):
        prof = self.lab.profile(HOSTS, vms=VMS)
        r = self.run_pvfio("plan", prof, rc=2)
        self.assertRegex(r.out, r"blocked: node 'pve2': must reboot first: ")
        rebooted = self.play_reboots()
        mark = self.lab.sim.seq()
        r = self.run_pvfio("apply", "--yes", "--reboot", "--force", prof, rc=0)
        self.assertEqual([n for n, _ in rebooted], ["pve1", "pve2", "pve3"], r)
        for n in ("pve1", "pve2", "pve3"):
            self.assertRegex(r.out, r"(?m)^  %s +done +back and checked after \d+\.\d s$" % n)
        self.assertIn("After the reboot of pve2:", r.out)
        self.assertNotIn("After the reboot of pve1", r.out)            # nothing waited for pve1
        self.assertRegex(r.out, r"(?m)^  \+ create-vm vm cuda-1 on pve2 \(vmid 700\) \[done\]$")
        self.assertIn("Verified: the cluster matches the profile.", r.out)
        log = self.lab.sim.api_requests(mark)
        seq = {}
        for e in log:
            key = (e["method"], e["path"])
            seq.setdefault(key, e)
        posts = [e for e in log if e["method"] == "POST" and re.search(r"/nodes/[^/]+/status$", e["path"])]
        self.assertEqual([e["path"].split("/")[4] for e in posts], ["pve1", "pve2", "pve3"])
        # one at a time: the next reboot only after the previous node was offline and came back
        for a, b in zip(posts, posts[1:]):
            self.assertGreater(b["time"] - a["time"], 1.2)
        create = [e for e in log if e["method"] == "POST" and e["path"] == "/api2/json/nodes/pve2/qemu"]
        self.assertEqual(len(create), 1)
        self.assertGreater(create[0]["seq"], posts[1]["seq"])  # created after pve2's reboot
        vm = self.lab.sim.control("GET", "/_sim/state")["vms"]["700"]
        self.assertEqual((vm["node"], vm["status"]), ("pve2", "running"))
        legacy = self.lab.sim.control("GET", "/_sim/state")["vms"]["300"]
        self.assertEqual(legacy["status"], "running")          # onboot=1: came back with pve3
        # and a second run has nothing left to do, anywhere
        before = {n: sshlab.snapshot(node.root) for n, node in self.lab.nodes.items()}
        mark = self.lab.sim.seq()
        r = self.run_pvfio("apply", "--yes", "--reboot", prof, rc=0)
        self.assertIn("No changes", r.out)
        self.assertNotIn("reboot required", r.out)
        self.assertEqual(writes(self.lab.sim.api_requests(mark)), [])
        for n, node in self.lab.nodes.items():
            self.assertUntouched(n, before[n])


def main():
    global PVFIO
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    ap.add_argument("-v", action="store_true")
    ap.add_argument("-k", action="append", default=[])
    ap.add_argument("groups", nargs="*")
    a = ap.parse_args()
    PVFIO = os.path.abspath(a.pvfio)
    try:
        probe = sshlab.Lab(PVFIO, NODES[:1])
        probe.close()
    except sshlab.Unavailable as e:
        print("skipped: %s" % e)
        return 77
    loader = unittest.TestLoader()
    if a.k:
        loader.testNamePatterns = ["*%s*" % k for k in a.k]
    mod = sys.modules[__name__]
    names = a.groups or ["HostsOverSsh", "RollingReboot"]
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(getattr(mod, n)) for n in names)
    res = unittest.TextTestRunner(verbosity=2 if a.v else 1).run(suite)
    return 0 if res.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
