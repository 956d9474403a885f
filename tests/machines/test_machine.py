#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Unit tests of the shared machine description checker (tests/machines/machine.py)."""

import copy
import glob
import importlib
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import machine  # noqa: E402

VALID = {
    "name": "t",
    "cpu": {"vendor": "GenuineIntel", "count": 8},
    "boot": {"loader": "grub", "efi": True},
    "iommu": {"enabled": True, "firmware_table": "DMAR"},
    "pve": False,
    "devices": [
        {"addr": "0000:00:01.0", "vendor": "8086", "device": "1901", "class": "060400", "iommu_group": 1},
        {"addr": "0000:01:00.0", "parent": "0000:00:01.0", "vendor": "10de", "device": "2531",
         "subsystem_vendor": "10de", "subsystem_device": "151d", "class": "030000", "iommu_group": 2,
         "driver": None, "unknown": ["driver"]},
        {"addr": "0000:00:14.0", "vendor": "8086", "device": "a36d", "class": "0c0330", "iommu_group": 3},
    ],
    "usb": [{"bus": 1, "controller": "0000:00:14.0",
             "devices": [{"path": "1", "vendor": "046d", "product": "c52b"}]}],
    "input": ["usb-Logitech_USB_Receiver-event-kbd"],
}


def changed(edit):
    m = copy.deepcopy(VALID)
    edit(m)
    return m


class Loader(unittest.TestCase):
    def refused(self, m, text):
        with self.assertRaises(machine.MachineError) as cm:
            machine.check_machine(m, "t")
        self.assertEqual(str(cm.exception), text)

    def test_valid_machine_loads(self):
        self.assertIs(machine.check_machine(VALID, "t"), VALID)

    def test_unknown_top_key(self):
        self.refused(changed(lambda m: m.update(colour="red")), "t: unknown key(s) colour")

    def test_unknown_section_key(self):
        self.refused(changed(lambda m: m["boot"].update(shim=True)), "t.boot: unknown key(s) shim")
        self.refused(changed(lambda m: m.update(pve={"nodes": []})), "t.pve: unknown key(s) nodes")

    def test_unknown_device_key(self):
        self.refused(changed(lambda m: m["devices"][1].update(colour=1)), "t.devices[1]: unknown key(s) colour")

    def test_malformed_device(self):
        self.refused(changed(lambda m: m["devices"][1].update(addr="0000:1:00.0")),
                     "t.devices[1].addr: '0000:1:00.0' is not a lower-case dddd:bb:dd.f address")
        self.refused(changed(lambda m: m["devices"][1].update(vendor="10DE")),
                     "t.devices[1].vendor: 4 lower-case hex digits required")
        self.refused(changed(lambda m: m["devices"][1].update(subsystem_device="151")),
                     "t.devices[1].subsystem_device: 4 lower-case hex digits required")
        self.refused(changed(lambda m: m["devices"][1].update(**{"class": "0300"})),
                     "t.devices[1].class: 6 lower-case hex digits required")
        self.refused(changed(lambda m: m["devices"][2].update(addr="0000:01:00.0")),
                     "t.devices[2].addr: 0000:01:00.0 listed twice")
        self.refused(changed(lambda m: m["devices"][1].update(parent="0000:00:02.0")),
                     "0000:01:00.0: parent 0000:00:02.0 is not a listed device")
        self.refused(changed(lambda m: m["devices"].__setitem__(0, "0000:00:01.0")), "t.devices[0]: expected an object")

    def test_unknown_facts(self):
        self.refused(changed(lambda m: m["devices"][1].update(driver="nvidia")),
                     "t.devices[1]: driver is listed as unknown but has the value 'nvidia'")
        self.refused(changed(lambda m: m["devices"][1].update(unknown=["colour"])),
                     "t.devices[1].unknown: 'colour' is not one of boot_vga, driver, iommu_group, parent, "
                     "prog_if, reset_method, subsystem")

    def test_usb_and_input(self):
        self.refused(changed(lambda m: m["usb"][0].update(controller="0000:00:1d.0")),
                     "t.usb[0].controller: '0000:00:1d.0' is not a listed PCI device")
        self.refused(changed(lambda m: m["usb"][0]["devices"][0].update(path="1.2")),
                     "t.usb[0].devices[0].path: 1.2 sits behind 1, which must be listed before it")
        self.refused(changed(lambda m: m.update(input=["by-id/kbd"])),
                     "t.input: a list of /dev/input/by-id names is required")

    def test_load_machine_names_the_file(self):
        p = os.path.join(HERE, "laptop-ga107m.json")
        self.assertEqual(machine.load_machine(p)["name"], "laptop-ga107m")

    def test_every_machine_loads(self):
        paths = sorted(glob.glob(os.path.join(TESTS, "machines", "*.json")) +
                       glob.glob(os.path.join(TESTS, "e2e", "machines", "*.json")) +
                       glob.glob(os.path.join(TESTS, "pvesim", "testdata", "machines", "*.json")))
        self.assertGreater(len(paths), 30)
        for p in paths:
            with self.subTest(machine=os.path.relpath(p, TESTS)):
                machine.load_machine(p)


class Consumers(unittest.TestCase):
    """mkroot and the simulator check with this module, not with copies of it."""

    def test_mkroot_uses_the_shared_checker(self):
        sys.path.insert(0, os.path.join(TESTS, "mkroot"))
        mkroot = importlib.import_module("mkroot")
        self.assertIs(mkroot.check_machine, machine.check_machine)
        self.assertIs(mkroot.MachineError, machine.MachineError)

    def test_simulator_uses_the_shared_checker(self):
        sys.path.insert(0, os.path.join(TESTS, "pvesim"))
        hardware = importlib.import_module("pvesim.hardware")
        self.assertIs(hardware.MachineError, machine.MachineError)
        with self.assertRaises(machine.MachineError) as cm:
            hardware.check_machine(changed(lambda m: m["devices"][1].update(colour=1)), "t")
        self.assertEqual(str(cm.exception), "t.devices[1]: unknown key(s) colour")
        # what only the simulator refuses: a fact its API would have to guess
        with self.assertRaisesRegex(machine.MachineError, r"^t\.devices\[1\]: its subsystem is unknown"):
            hardware.check_machine(changed(lambda m: m["devices"][1].update(
                subsystem_vendor=None, subsystem_device=None, unknown=["subsystem"])), "t")


if __name__ == "__main__":
    unittest.main()
