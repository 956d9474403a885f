# SPDX-License-Identifier: GPL-2.0-or-later
"""Validate and load a machine description (tests/machines/FORMAT.md).

The one checker both test doubles use: tests/mkroot/mkroot.py (host layer) and the
simulator's tests/pvesim/pvesim/hardware.py (API layer). Unknown keys are errors.
What only one consumer refuses stays with it (the simulator refuses facts it cannot
answer with, see hardware.check_servable).

    import machine
    m = machine.load_machine("tests/machines/laptop-ga107m.json")   # MachineError on a problem
    machine.check_machine(m_dict, "where")                            # the dict, checked

Python 3 standard library only. Consumers put this directory (tests/machines) on
sys.path, found relative to their own file.
"""

import json
import re

TOP_KEYS = {"name", "description", "cpu", "kernel", "boot", "iommu", "modules_loaded",
            "iomem_bootfb", "devices",
            "host_use", "pve", "input", "software", "hugepages_1g",  # host layer only (mkroot)
            "source", "listing",                     # where an imported machine came from
            "usb"}                                   # mkroot (sysfs) and the simulator (hardware/usb)
HOST_USE_KEYS = {"root", "nics", "keyboard", "files"}
PVE_KEYS = {"node", "cluster_nodes"}
CPU_KEYS = {"vendor", "model_name", "flags", "count"}
BOOT_KEYS = {"loader", "efi", "cmdline", "etc_kernel_cmdline", "grub_cmdline_linux_default"}
IOMMU_KEYS = {"enabled", "firmware_table", "interrupt_remapping"}
# installed software the host checks look for: Debian packages and DKMS modules (FORMAT.md "software")
SOFTWARE_KEYS = {"packages", "dkms"}
# 1 GiB huge pages reserved and free (FORMAT.md "hugepages_1g")
HUGEPAGES_KEYS = {"total", "free"}
# the object-valued top keys; null (and false for `pve`: not a Proxmox node) mean "absent"
SECTION_KEYS = (("cpu", CPU_KEYS), ("boot", BOOT_KEYS), ("iommu", IOMMU_KEYS),
                ("host_use", HOST_USE_KEYS), ("pve", PVE_KEYS), ("software", SOFTWARE_KEYS),
                ("hugepages_1g", HUGEPAGES_KEYS))
DEVICE_KEYS = {"addr", "parent", "vendor", "device", "subsystem_vendor", "subsystem_device",
               "class", "revision", "iommu_group", "driver", "driver_override", "boot_vga",
               "numa_node", "reset_method", "bars", "sriov", "physfn", "mdev_types",
               "nvidia_vgpu_types", "names", "unknown",
               "rom"}  # host layer only (mkroot's synthetic option ROM, tests/mkroot/mkrom.py)
# facts an imported description could not know (FORMAT.md "unknown"); the key's value must be null/absent
UNKNOWN_FACTS = {"driver", "iommu_group", "subsystem", "parent", "reset_method", "boot_vga", "prog_if"}
SRIOV_KEYS = {"totalvfs", "numvfs", "vf_device", "offset", "stride"}
MDEV_KEYS = {"type", "name", "available", "description"}
NVIDIA_KEYS = {"id", "name", "description"}
NAMES_KEYS = {"vendor", "device", "subsystem_vendor", "subsystem_device"}
ROM_KEYS = {"efi", "readable"}
USB_BUS_KEYS = {"bus", "controller", "speed", "devices"}
USB_DEV_KEYS = {"path", "vendor", "product", "class", "speed", "manufacturer", "product_name", "serial"}

ADDR_RE = re.compile(r"^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$")
HEX4_RE = re.compile(r"^[0-9a-f]{4}$")
HEX6_RE = re.compile(r"^[0-9a-f]{6}$")
USB_PATH_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")


class MachineError(ValueError):
    pass


def check_keys(obj, allowed, where):
    if not isinstance(obj, dict):
        raise MachineError("%s: expected an object" % where)
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise MachineError("%s: unknown key(s) %s" % (where, ", ".join(unknown)))


def check_unknown(d, w):
    """A device's `unknown` list: known fact names whose values are absent."""
    unknown = d.get("unknown")
    if unknown is None:
        return
    if not isinstance(unknown, list) or not all(isinstance(u, str) for u in unknown):
        raise MachineError("%s.unknown: a list of fact names required" % w)
    for u in unknown:
        if u not in UNKNOWN_FACTS:
            raise MachineError("%s.unknown: %r is not one of %s" % (w, u, ", ".join(sorted(UNKNOWN_FACTS))))
        keys = ("subsystem_vendor", "subsystem_device") if u == "subsystem" else (u,)
        for k in keys:
            if d.get(k) is not None:
                raise MachineError("%s: %s is listed as unknown but has the value %r" % (w, k, d[k]))


def unknown_of(d):
    return set(d.get("unknown") or [])


def check_device(d, w, seen):
    """One entry of `devices`; seen: the addresses of the entries before it."""
    check_keys(d, DEVICE_KEYS, w)
    if not isinstance(d.get("addr"), str) or not ADDR_RE.match(d["addr"]):
        raise MachineError("%s.addr: %r is not a lower-case dddd:bb:dd.f address" % (w, d.get("addr")))
    if d["addr"] in seen:
        raise MachineError("%s.addr: %s listed twice" % (w, d["addr"]))
    for k in ("vendor", "device"):
        if not isinstance(d.get(k), str) or not HEX4_RE.match(d[k]):
            raise MachineError("%s.%s: 4 lower-case hex digits required" % (w, k))
    for k in ("subsystem_vendor", "subsystem_device"):
        if d.get(k) is not None and not HEX4_RE.match(str(d[k])):
            raise MachineError("%s.%s: 4 lower-case hex digits required" % (w, k))
    if not HEX6_RE.match(str(d.get("class", ""))):
        raise MachineError("%s.class: 6 lower-case hex digits required" % w)
    if d.get("sriov") is not None:
        check_keys(d["sriov"], SRIOV_KEYS, w + ".sriov")
    for j, t in enumerate(d.get("mdev_types") or []):
        check_keys(t, MDEV_KEYS, "%s.mdev_types[%d]" % (w, j))
    for j, t in enumerate(d.get("nvidia_vgpu_types") or []):
        check_keys(t, NVIDIA_KEYS, "%s.nvidia_vgpu_types[%d]" % (w, j))
    if d.get("names") is not None:
        check_keys(d["names"], NAMES_KEYS, w + ".names")
    if d.get("rom") is not None:
        check_keys(d["rom"], ROM_KEYS, w + ".rom")
    check_unknown(d, w)


def check_usb(m, where, devices):
    """m["usb"]: buses on listed PCI controllers, devices by unique PORT[.PORT…] path."""
    buses = m.get("usb")
    if buses is None:
        return
    if not isinstance(buses, list):
        raise MachineError("%s.usb: expected a list of buses" % where)
    seen = set()
    for i, b in enumerate(buses):
        w = "%s.usb[%d]" % (where, i)
        check_keys(b, USB_BUS_KEYS, w)
        if not isinstance(b.get("bus"), int) or b["bus"] < 1 or b["bus"] in seen:
            raise MachineError("%s.bus: a positive integer, unique per machine, is required" % w)
        seen.add(b["bus"])
        if b.get("controller") not in devices:
            raise MachineError("%s.controller: %r is not a listed PCI device" % (w, b.get("controller")))
        paths = set()
        for j, d in enumerate(b.get("devices") or []):
            dw = "%s.devices[%d]" % (w, j)
            check_keys(d, USB_DEV_KEYS, dw)
            p = d.get("path")
            if not isinstance(p, str) or not USB_PATH_RE.match(p) or p in paths:
                raise MachineError("%s.path: PORT[.PORT…] (decimal), unique per bus, is required" % dw)
            if "." in p and p.rsplit(".", 1)[0] not in paths:
                raise MachineError("%s.path: %s sits behind %s, which must be listed before it"
                                   % (dw, p, p.rsplit(".", 1)[0]))
            paths.add(p)
            for k in ("vendor", "product"):
                if not isinstance(d.get(k), str) or not HEX4_RE.match(d[k]):
                    raise MachineError("%s.%s: 4 lower-case hex digits required" % (dw, k))


def check_input(m, where):
    """m["input"]: names of /dev/input/by-id links."""
    names = m.get("input")
    if names is None:
        return
    if not isinstance(names, list) or any(not isinstance(n, str) or "/" in n or not n for n in names):
        raise MachineError("%s.input: a list of /dev/input/by-id names is required" % where)


def check_machine(m, where="machine"):
    """Strict check of a machine description (MachineError naming where and the key); returns m."""
    check_keys(m, TOP_KEYS, where)
    for key, allowed in SECTION_KEYS:
        if m.get(key) is not None and m.get(key) is not False:
            check_keys(m[key], allowed, "%s.%s" % (where, key))
    seen = set()
    for i, d in enumerate(m.get("devices") or []):
        w = "%s.devices[%d]" % (where, i)
        check_device(d, w, seen)
        seen.add(d["addr"])
    byaddr = {d["addr"]: d for d in m.get("devices") or []}
    for d in m.get("devices") or []:
        for k in ("parent", "physfn"):
            if d.get(k) is not None and d[k] not in byaddr:
                raise MachineError("%s: %s %s is not a listed device" % (d["addr"], k, d[k]))
    check_usb(m, where, byaddr)
    check_input(m, where)
    return m


def load_machine(path, where=None):
    """Read and check one description file (MachineError, OSError or ValueError for bad JSON)."""
    with open(path, encoding="utf-8") as f:
        m = json.load(f)
    return check_machine(m, where or path)
