#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Unit tests of import_listing.py on small inputs, well-formed and malformed."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "mkroot"))

import import_listing as il  # noqa: E402
import mkroot  # noqa: E402

HDR = "source: https://example.org/post/1\nname: t\n"


def imp(body, hdr=HDR):
    return il.build_machine(hdr + "----\n" + body)


def dev(m, addr):
    return next(d for d in m["devices"] if d["addr"] == addr)


GROUPS = """IOMMU Group 1:
\t00:01.0 PCI bridge [0604]: Intel Corporation 6th-10th Gen Core Processor PCIe Controller (x16) [8086:1901] (rev 07)
\t01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GK208B [GeForce GT 710] [10de:128b] (rev a1)
\t01:00.1 Audio device [0403]: NVIDIA Corporation GK208 HDMI/DP Audio Controller [10de:0e0f] (rev a1)
IOMMU Group 2:
\t00:1f.0 ISA bridge [0601]: Intel Corporation Z390 Chipset LPC/eSPI Controller [8086:a305] (rev 10)
"""

LSPCI_K = """01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GK208B [GeForce GT 710] [10de:128b] (rev a1)
\tSubsystem: ASUSTeK Computer Inc. GK208B [GeForce GT 710] [1043:8576]
\tKernel driver in use: nouveau
\tKernel modules: nvidiafb, nouveau
01:00.1 Audio device [0403]: NVIDIA Corporation GK208 HDMI/DP Audio Controller [10de:0e0f] (rev a1)
\tSubsystem: ASUSTeK Computer Inc. GK208 HDMI/DP Audio Controller [1043:8576]
\tKernel modules: snd_hda_intel
"""


class Parse(unittest.TestCase):
    def test_group_listing_only_marks_drivers_unknown(self):
        m, w = imp(GROUPS)
        self.assertEqual(w, [])
        g = dev(m, "0000:01:00.0")
        self.assertEqual(g["iommu_group"], 1)
        self.assertIsNone(g["driver"])
        self.assertIn("driver", g["unknown"])
        self.assertIn("subsystem", g["unknown"])
        self.assertIn("reset_method", g["unknown"])
        self.assertIn("boot_vga", g["unknown"])
        self.assertEqual(g["names"], {"vendor": "NVIDIA Corporation", "device": "GK208B [GeForce GT 710]"})
        self.assertEqual(g["class"], "030000")
        self.assertEqual(g["revision"], "a1")
        self.assertTrue(m["iommu"]["enabled"])

    def test_lspci_k_gives_drivers_and_subsystems(self):
        m, w = imp(GROUPS + "\n" + LSPCI_K)
        self.assertEqual(w, [])
        g = dev(m, "0000:01:00.0")
        self.assertEqual(g["driver"], "nouveau")
        self.assertEqual((g["subsystem_vendor"], g["subsystem_device"]), ("1043", "8576"))
        self.assertEqual(g["names"]["subsystem_vendor"], "ASUSTeK Computer Inc.")
        self.assertNotIn("driver", g["unknown"])
        # listed by lspci -k without a driver line: known to be unbound
        a = dev(m, "0000:01:00.1")
        self.assertIsNone(a["driver"])
        self.assertNotIn("driver", a["unknown"])
        # only in the group listing: its driver stays unknown
        self.assertIn("driver", dev(m, "0000:00:1f.0")["unknown"])
        # a device of lspci without a group line while the IOMMU is on: group unknown
        m2, _ = imp(GROUPS + "\n" + LSPCI_K + "02:00.0 Ethernet controller [0200]: Intel Corporation "
                    "I211 Gigabit Network Connection [8086:1539] (rev 03)\n\tKernel driver in use: igb\n")
        e = dev(m2, "0000:02:00.0")
        self.assertIsNone(e["iommu_group"])
        self.assertIn("iommu_group", e["unknown"])

    def test_one_line_group_forms(self):
        for line in ("IOMMU Group 7 00:02.0 VGA compatible controller [0300]: Intel Corporation Device [8086:4680] (rev 0c)",
                     "IOMMU Group 7: 00:02.0 VGA compatible controller [0300]: Intel Corporation Device [8086:4680] (rev 0c)",
                     "IOMMU group 7 - 0000:00:02.0 VGA compatible controller [0300]: Intel Corporation Device [8086:4680]"):
            m, w = imp(line + "\n")
            self.assertEqual(w, [], line)
            d = dev(m, "0000:00:02.0")
            self.assertEqual(d["iommu_group"], 7)
            self.assertNotIn("device", d["names"])   # "Device 4680": no name
            self.assertEqual(d["names"]["vendor"], "Intel Corporation")

    def test_lspci_without_k_says_nothing_about_drivers(self):
        m, _ = imp("00:02.0 VGA compatible controller [0300]: Intel Corporation HD Graphics 630 [8086:5912] (rev 04)\n")
        d = dev(m, "0000:00:02.0")
        self.assertIn("driver", d["unknown"])
        self.assertFalse(m["iommu"]["enabled"])
        self.assertNotIn("iommu_group", d["unknown"])   # IOMMU off: no group, nothing unknown

    def test_vvv_gives_parents_groups_and_prog_if(self):
        body = """00:01.0 PCI bridge [0604]: Intel Corporation 6th-10th Gen Core Processor PCIe Controller (x16) [8086:1901] (rev 07) (prog-if 00 [Normal decode])
\tControl: I/O+ Mem+ BusMaster+
\tIOMMU group: 1
\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0
\tKernel driver in use: pcieport
01:00.0 USB controller [0c03]: Renesas Technology Corp. uPD720201 USB 3.0 Host Controller [1912:0014] (rev 03) (prog-if 30 [XHCI])
\tFlags: bus master, fast devsel, latency 0, IRQ 16, IOMMU group 1
\tKernel driver in use: xhci_hcd
"""
        m, w = imp(body)
        self.assertEqual(w, [])
        u = dev(m, "0000:01:00.0")
        self.assertEqual(u["parent"], "0000:00:01.0")
        self.assertEqual(u["class"], "0c0330")
        self.assertEqual(u["iommu_group"], 1)
        self.assertNotIn("parent", u["unknown"])
        self.assertNotIn("prog_if", u["unknown"])

    def test_prompts_blank_lines_and_markdown_end_a_group_block(self):
        body = ("```\nroot@pve:~# for d in /sys/kernel/iommu_groups/*/devices/*; do ...; done\n" + GROUPS +
                "```\n\nroot@pve:~# lspci -nnk\n" + LSPCI_K)
        m, w = imp(body)
        self.assertEqual(w, [])
        self.assertEqual(dev(m, "0000:01:00.0")["driver"], "nouveau")

    def test_facts_from_the_header_are_known(self):
        hdr = HDR + 'fact: 01:00.0 {"reset_method": "bus", "boot_vga": 1}\n'
        m, _ = imp(GROUPS, hdr)
        g = dev(m, "0000:01:00.0")
        self.assertEqual(g["reset_method"], "bus")
        self.assertNotIn("reset_method", g["unknown"])
        self.assertNotIn("boot_vga", g["unknown"])

    def test_descriptions_build_roots(self):
        m, _ = imp(GROUPS + "\n" + LSPCI_K)
        with tempfile.TemporaryDirectory() as t:
            mkroot.build(json.loads(il.dump(m)), t)
            with open(os.path.join(t, "sys/bus/pci/devices/0000:00:1f.0/pvfio_unknown")) as f:
                self.assertIn("driver\n", f.read())
            self.assertFalse(os.path.exists(os.path.join(t, "sys/bus/pci/devices/0000:01:00.0/boot_vga")))


class Malformed(unittest.TestCase):
    def test_no_separator(self):
        with self.assertRaisesRegex(il.ImportError_, "----"):
            il.build_machine(HDR + GROUPS)

    def test_header_needs_source_and_name(self):
        with self.assertRaisesRegex(il.ImportError_, "source"):
            imp(GROUPS, "name: t\n")
        with self.assertRaisesRegex(il.ImportError_, "name"):
            imp(GROUPS, "source: x\n")
        with self.assertRaisesRegex(il.ImportError_, "unknown key"):
            imp(GROUPS, HDR + "colour: blue\n")
        with self.assertRaisesRegex(il.ImportError_, "key: value"):
            imp(GROUPS, HDR + "just words\n")

    def test_empty_listing(self):
        with self.assertRaisesRegex(il.ImportError_, "no device"):
            imp("nothing here\n")

    def test_conflicting_ids_and_groups(self):
        with self.assertRaisesRegex(il.ImportError_, "line 10: 0000:01:00.0 is \\[10de:1c82\\]"):
            imp(GROUPS + "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GP107 [10de:1c82]\n")
        with self.assertRaisesRegex(il.ImportError_, "group 3 here but in group 1"):
            imp(GROUPS + "IOMMU Group 3 01:00.0 VGA compatible controller [0300]: NVIDIA Corporation "
                "GK208B [GeForce GT 710] [10de:128b] (rev a1)\n")
        with self.assertRaisesRegex(il.ImportError_, "bound to nvidia here but to nouveau"):
            imp(LSPCI_K + "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GK208B [GeForce GT 710] "
                "[10de:128b] (rev a1)\n\tKernel driver in use: nvidia\n")

    def test_unreadable_lines_are_warnings(self):
        body = ("IOMMU Group x:\n"
                "01:00.0 VGA compatible controller: NVIDIA Corporation GK208B [GeForce GT 710] (rev a1)\n"
                "\tKernel driver in use: nouveau\n"
                "IOMMU Group 4:\n"
                "\t03:00.0 Ethernet controller [0200]: Intel Corporation I211 [8086:1539] (rev 03)\n"
                "\tSubsystem: Gigabyte\n"
                "\tKernel driver in use: igb; rm -rf\n")
        m, w = imp(body)
        self.assertEqual(len(w), 5, w)
        self.assertRegex(w[0], "line 4: IOMMU group number 'x'")
        self.assertRegex(w[1], "line 5: device line without")
        self.assertRegex(w[2], "line 6: not a device")
        self.assertRegex(w[3], "line 9: Subsystem line without")
        self.assertRegex(w[4], "line 10: driver name")
        self.assertEqual([d["addr"] for d in m["devices"]], ["0000:03:00.0"])

    def test_fact_for_a_device_not_listed(self):
        with self.assertRaisesRegex(il.ImportError_, "does not show"):
            imp(GROUPS, HDR + 'fact: 09:00.0 {"driver": "x"}\n')
        with self.assertRaisesRegex(il.ImportError_, "not JSON"):
            imp(GROUPS, HDR + "fact: 01:00.0 {driver}\n")

    def test_mkroot_refuses_a_value_marked_unknown(self):
        m, _ = imp(GROUPS)
        m = json.loads(il.dump(m))
        dev(m, "0000:01:00.0")["driver"] = "nouveau"
        with self.assertRaisesRegex(mkroot.MachineError, "driver is listed as unknown"):
            mkroot.check_machine(m, "t")
        dev(m, "0000:01:00.0")["unknown"] = ["colour"]
        with self.assertRaisesRegex(mkroot.MachineError, "'colour' is not one of"):
            mkroot.check_machine(m, "t")

    def test_cli_strict_fails_on_warnings(self):
        with tempfile.TemporaryDirectory() as t:
            p = os.path.join(t, "l.txt")
            with open(p, "w") as f:
                f.write(HDR + "----\n" + GROUPS + "garbage line\n")
            r = subprocess.run([sys.executable, os.path.join(HERE, "import_listing.py"), p, "--strict"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("warning: line", r.stderr)


if __name__ == "__main__":
    unittest.main()
