#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Build a fake host root from a machine description (tests/machines/FORMAT.md).

    mkroot.py [--node NAME] [--cluster-nodes A,B] MACHINE.json OUTDIR
                                             build the root of one machine (as node NAME of a
                                             cluster of A,B: etc/hostname, etc/pve/nodes)
    mkroot.py --generate N OUTDIR [--json F] a synthetic machine with N PCI devices

The root mirrors what pvfio reads on a real Proxmox node, with the kernel's
real nesting and symlink depths:

  sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/{vendor,device,class,...}
  sys/bus/pci/devices/<bdf>   -> ../../../devices/pci0000:00/.../<bdf>
  <dev>/iommu_group           -> ../../../../kernel/iommu_groups/N  (depth per device)
  <dev>/driver                -> ../../../../bus/pci/drivers/<drv>
  sys/bus/pci/drivers/<drv>/{bind,unbind,new_id,remove_id,<bdf> links}, sys/bus/pci/drivers_probe
  sys/kernel/iommu_groups/N/{type,reserved_regions,devices/<bdf>}
  sys/class/iommu/dmar0|ivhd0, sys/firmware/acpi/tables/DMAR|IVRS,
  sys/firmware/efi[/efivars/LoaderInfo-...], sys/module/<mod>
  proc/{cmdline,cpuinfo,interrupts,modules,iomem,sys/kernel/osrelease}
  etc/{default/grub,kernel/cmdline,kernel/proxmox-boot-uuids,modules,modprobe.d/,modules-load.d/}
  usr/share/misc/pci.ids  (the names of the description, so names do not depend on the build host)

Python 3 standard library only. Unknown keys in the description are errors.
"""

import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkusb  # noqa: E402  (the USB part: tests/mkroot/mkusb.py)

TOP_KEYS = {"name", "description", "cpu", "kernel", "boot", "iommu", "modules_loaded",
            "iomem_bootfb", "devices", "host_use", "pve", "source", "listing", "usb", "input"}
HOST_USE_KEYS = {"root", "nics", "keyboard", "files"}
PVE_KEYS = {"node", "cluster_nodes"}
CPU_KEYS = {"vendor", "model_name", "flags", "count"}
BOOT_KEYS = {"loader", "efi", "cmdline", "etc_kernel_cmdline", "grub_cmdline_linux_default"}
IOMMU_KEYS = {"enabled", "firmware_table", "interrupt_remapping"}
DEVICE_KEYS = {"addr", "parent", "vendor", "device", "subsystem_vendor", "subsystem_device",
               "class", "revision", "iommu_group", "driver", "driver_override", "boot_vga",
               "numa_node", "reset_method", "bars", "sriov", "physfn", "mdev_types",
               "nvidia_vgpu_types", "names", "unknown"}
# facts an imported description could not know (FORMAT.md "unknown"); the key's value must be null/absent
UNKNOWN_FACTS = {"driver", "iommu_group", "subsystem", "parent", "reset_method", "boot_vga", "prog_if"}
SRIOV_KEYS = {"totalvfs", "numvfs", "vf_device", "offset", "stride"}
MDEV_KEYS = {"type", "name", "available", "description"}
NVIDIA_KEYS = {"id", "name", "description"}
NAMES_KEYS = {"vendor", "device", "subsystem_vendor", "subsystem_device"}
ADDR_RE = re.compile(r"^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$")
HEX4_RE = re.compile(r"^[0-9a-f]{4}$")
LOADER_INFO = "LoaderInfo-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"


class MachineError(ValueError):
    pass


CLASSES = {
    "00": 'Unclassified device',
    "0000": 'Non-VGA unclassified device',
    "0001": 'VGA compatible unclassified device',
    "0005": 'Image coprocessor',
    "01": 'Mass storage controller',
    "0100": 'SCSI storage controller',
    "0101": 'IDE interface',
    "0102": 'Floppy disk controller',
    "0103": 'IPI bus controller',
    "0104": 'RAID bus controller',
    "0105": 'ATA controller',
    "0106": 'SATA controller',
    "0107": 'Serial Attached SCSI controller',
    "0108": 'Non-Volatile memory controller',
    "0109": 'Universal Flash Storage controller',
    "0180": 'Mass storage controller',
    "02": 'Network controller',
    "0200": 'Ethernet controller',
    "0201": 'Token ring network controller',
    "0202": 'FDDI network controller',
    "0203": 'ATM network controller',
    "0204": 'ISDN controller',
    "0205": 'WorldFip controller',
    "0206": 'PICMG controller',
    "0207": 'Infiniband controller',
    "0208": 'Fabric controller',
    "0280": 'Network controller',
    "03": 'Display controller',
    "0300": 'VGA compatible controller',
    "0301": 'XGA compatible controller',
    "0302": '3D controller',
    "0380": 'Display controller',
    "04": 'Multimedia controller',
    "0400": 'Multimedia video controller',
    "0401": 'Multimedia audio controller',
    "0402": 'Computer telephony device',
    "0403": 'Audio device',
    "0480": 'Multimedia controller',
    "05": 'Memory controller',
    "0500": 'RAM memory',
    "0501": 'FLASH memory',
    "0502": 'CXL',
    "0580": 'Memory controller',
    "06": 'Bridge',
    "0600": 'Host bridge',
    "0601": 'ISA bridge',
    "0602": 'EISA bridge',
    "0603": 'MicroChannel bridge',
    "0604": 'PCI bridge',
    "0605": 'PCMCIA bridge',
    "0606": 'NuBus bridge',
    "0607": 'CardBus bridge',
    "0608": 'RACEway bridge',
    "0609": 'Semi-transparent PCI-to-PCI bridge',
    "060a": 'InfiniBand to PCI host bridge',
    "0680": 'Bridge',
    "07": 'Communication controller',
    "0700": 'Serial controller',
    "0701": 'Parallel controller',
    "0702": 'Multiport serial controller',
    "0703": 'Modem',
    "0704": 'GPIB controller',
    "0705": 'Smard Card controller',
    "0780": 'Communication controller',
    "08": 'Generic system peripheral',
    "0800": 'PIC',
    "0801": 'DMA controller',
    "0802": 'Timer',
    "0803": 'RTC',
    "0804": 'PCI Hot-plug controller',
    "0805": 'SD Host controller',
    "0806": 'IOMMU',
    "0880": 'System peripheral',
    "0899": 'Timing Card',
    "09": 'Input device controller',
    "0900": 'Keyboard controller',
    "0901": 'Digitizer Pen',
    "0902": 'Mouse controller',
    "0903": 'Scanner controller',
    "0904": 'Gameport controller',
    "0980": 'Input device controller',
    "0a": 'Docking station',
    "0a00": 'Generic Docking Station',
    "0a80": 'Docking Station',
    "0b": 'Processor',
    "0b00": '386',
    "0b01": '486',
    "0b02": 'Pentium',
    "0b10": 'Alpha',
    "0b20": 'Power PC',
    "0b30": 'MIPS',
    "0b40": 'Co-processor',
    "0c": 'Serial bus controller',
    "0c00": 'FireWire (IEEE 1394)',
    "0c01": 'ACCESS Bus',
    "0c02": 'SSA',
    "0c03": 'USB controller',
    "0c04": 'Fibre Channel',
    "0c05": 'SMBus',
    "0c06": 'InfiniBand',
    "0c07": 'IPMI Interface',
    "0c08": 'SERCOS interface',
    "0c09": 'CANBUS',
    "0c80": 'Serial bus controller',
    "0d": 'Wireless controller',
    "0d00": 'IRDA controller',
    "0d01": 'Consumer IR controller',
    "0d10": 'RF controller',
    "0d11": 'Bluetooth',
    "0d12": 'Broadband',
    "0d20": '802.1a controller',
    "0d21": '802.1b controller',
    "0d80": 'Wireless controller',
    "0e": 'Intelligent controller',
    "0e00": 'I2O',
    "0f": 'Satellite communications controller',
    "0f01": 'Satellite TV controller',
    "0f02": 'Satellite audio communication controller',
    "0f03": 'Satellite voice communication controller',
    "0f04": 'Satellite data communication controller',
    "10": 'Encryption controller',
    "1000": 'Network and computing encryption device',
    "1010": 'Entertainment encryption device',
    "1080": 'Encryption controller',
    "11": 'Signal processing controller',
    "1100": 'DPIO module',
    "1101": 'Performance counters',
    "1110": 'Communication synchronizer',
    "1120": 'Signal processing management',
    "1180": 'Signal processing controller',
    "12": 'Processing accelerators',
    "1200": 'Processing accelerators',
    "1201": 'SNIA Smart Data Accelerator Interface (SDXI) controller',
    "13": 'Non-Essential Instrumentation',
    "40": 'Coprocessor',
    "ff": 'Unassigned class',
}


def check_keys(obj, allowed, where):
    if not isinstance(obj, dict):
        raise MachineError("%s: expected an object" % where)
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise MachineError("%s: unknown key(s) %s" % (where, ", ".join(unknown)))


def check_unknown(d, w):
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


def check_machine(m, where):
    check_keys(m, TOP_KEYS, where)
    for key, allowed in (("cpu", CPU_KEYS), ("boot", BOOT_KEYS), ("iommu", IOMMU_KEYS), ("host_use", HOST_USE_KEYS),
                         ("pve", PVE_KEYS)):
        if m.get(key) is not None and m.get(key) is not False:
            check_keys(m[key], allowed, "%s.%s" % (where, key))
    seen = set()
    for i, d in enumerate(m.get("devices") or []):
        w = "%s.devices[%d]" % (where, i)
        check_keys(d, DEVICE_KEYS, w)
        if not isinstance(d.get("addr"), str) or not ADDR_RE.match(d["addr"]):
            raise MachineError("%s.addr: %r is not a lower-case dddd:bb:dd.f address" % (w, d.get("addr")))
        if d["addr"] in seen:
            raise MachineError("%s.addr: %s listed twice" % (w, d["addr"]))
        seen.add(d["addr"])
        for k in ("vendor", "device"):
            if not isinstance(d.get(k), str) or not HEX4_RE.match(d[k]):
                raise MachineError("%s.%s: 4 lower-case hex digits required" % (w, k))
        if not re.match(r"^[0-9a-f]{6}$", str(d.get("class", ""))):
            raise MachineError("%s.class: 6 lower-case hex digits required" % w)
        if d.get("sriov") is not None:
            check_keys(d["sriov"], SRIOV_KEYS, w + ".sriov")
        for j, t in enumerate(d.get("mdev_types") or []):
            check_keys(t, MDEV_KEYS, "%s.mdev_types[%d]" % (w, j))
        for j, t in enumerate(d.get("nvidia_vgpu_types") or []):
            check_keys(t, NVIDIA_KEYS, "%s.nvidia_vgpu_types[%d]" % (w, j))
        if d.get("names") is not None:
            check_keys(d["names"], NAMES_KEYS, w + ".names")
        check_unknown(d, w)
    byaddr = {d["addr"]: d for d in m.get("devices") or []}
    for d in m.get("devices") or []:
        for k in ("parent", "physfn"):
            if d.get(k) is not None and d[k] not in byaddr:
                raise MachineError("%s: %s %s is not a listed device" % (d["addr"], k, d[k]))
    try:
        mkusb.check_usb(m, where, check_keys, byaddr)
        mkusb.check_input(m, where)
    except mkusb.UsbError as e:
        raise MachineError(str(e))
    return m


# ------------------------------------------------------------------ writing

class Root:
    def __init__(self, top):
        self.top = os.path.abspath(top)

    def path(self, rel):
        return os.path.join(self.top, rel)

    def mkdir(self, rel):
        os.makedirs(self.path(rel), exist_ok=True)

    def write(self, rel, data, mode=0o644):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.chmod(p, mode)

    def symlink(self, target, rel):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if os.path.lexists(p):
            os.unlink(p)
        os.symlink(target, p)


def up(rel_dir):
    """'../' repeated to climb from sys/<rel_dir> back to sys/."""
    return "../" * len(rel_dir.split("/"))


def parse_addr(a):
    m = ADDR_RE.match(a)
    return tuple(int(x, 16) for x in m.groups())


def device_dirs(m):
    """sys-relative directory of every device: devices/pci0000:00/<bridge>/.../<bdf>."""
    byaddr = {d["addr"]: d for d in m["devices"]}
    memo = {}

    def parent_of(d):
        if d.get("parent"):
            return d["parent"]
        if d.get("physfn"):   # a VF sits beside its PF
            return byaddr[d["physfn"]].get("parent")
        return None

    def walk(addr, depth=0):
        if addr in memo:
            return memo[addr]
        if depth > 64:
            raise MachineError("%s: parent chain loops" % addr)
        d = byaddr[addr]
        p = parent_of(d)
        if p:
            r = walk(p, depth + 1) + "/" + addr
        else:
            dom, bus, _, _ = parse_addr(addr)
            r = "devices/pci%04x:%02x/%s" % (dom, bus, addr)
        memo[addr] = r
        return r

    return {a: walk(a) for a in byaddr}


def is_bridge(d):
    return d["class"][:4] in ("0604", "0609")


def hexfile(v, width):
    return "0x%0*x\n" % (width, v)


def config_space(d, bridge, secondary):
    """256 bytes of config space: header plus a PCIe capability (FLR bit from reset_method)."""
    cfg = bytearray(256)
    ven, dev = int(d["vendor"], 16), int(d["device"], 16)
    cls = int(d["class"], 16)
    struct.pack_into("<HHHHI", cfg, 0, ven, dev, 0x0406, 0x0010, (cls << 8) | int(d.get("revision") or "00", 16))
    cfg[0x0e] = 0x01 if bridge else (0x80 if d["addr"].endswith(".0") and d.get("_multi") else 0x00)
    if bridge:
        cfg[0x18], cfg[0x19], cfg[0x1a] = parse_addr(d["addr"])[1], secondary, secondary
    elif d.get("subsystem_vendor"):
        struct.pack_into("<HH", cfg, 0x2c, int(d["subsystem_vendor"], 16), int(d.get("subsystem_device") or "0000", 16))
    cfg[0x34] = 0x40
    # PM capability at 0x40 -> PCIe capability at 0x60
    struct.pack_into("<BBHH", cfg, 0x40, 0x01, 0x60, 0x0003, 0x0008)
    ptype = (4 if not d.get("parent") else 6) if bridge else 0
    flr = "flr" in (d.get("reset_method") or "").split()
    struct.pack_into("<BBHI", cfg, 0x60, 0x10, 0x00, 0x0002 | (ptype << 4), (1 << 28) if flr else 0)
    return bytes(cfg)


def write_devices(r, m):
    devs = m.get("devices") or []
    iommu = bool((m.get("iommu") or {}).get("enabled"))
    dirs = device_dirs(m)
    byaddr = {d["addr"]: d for d in devs}
    slots = {}
    for d in devs:
        slots.setdefault(d["addr"][:-2], []).append(d)
    for s in slots.values():
        if len(s) > 1:
            for d in s:
                d["_multi"] = True
    children = {}
    for d in devs:
        if d.get("parent"):
            children.setdefault(d["parent"], []).append(d)
    vfs_of = {}
    for d in devs:
        if d.get("physfn"):
            vfs_of.setdefault(d["physfn"], []).append(d["addr"])
    drivers = set(d["driver"] for d in devs if d.get("driver"))
    if "vfio_pci" in (m.get("modules_loaded") or []) or "vfio-pci" in drivers:
        drivers.add("vfio-pci")
    for drv in sorted(drivers):
        base = "sys/bus/pci/drivers/%s" % drv
        for f in ("bind", "unbind", "new_id", "remove_id", "uevent"):
            r.write("%s/%s" % (base, f), "", 0o200)
    r.write("sys/bus/pci/drivers_probe", "", 0o200)
    r.write("sys/bus/pci/drivers_autoprobe", "1\n")
    r.write("sys/bus/pci/rescan", "", 0o200)
    r.mkdir("sys/bus/pci/slots")
    r.mkdir("sys/bus/pci/devices")
    groups = {}
    kernel_62 = kernel_at_least(m.get("kernel") or "", 6, 2)
    for d in devs:
        a = d["addr"]
        rel = dirs[a]
        sysrel = "sys/" + rel
        ven, dev = int(d["vendor"], 16), int(d["device"], 16)
        cls = int(d["class"], 16)
        bridge = is_bridge(d)
        kids = children.get(a, [])
        secondary = min(parse_addr(k["addr"])[1] for k in kids) if kids else (parse_addr(a)[1] + 1) & 0xff
        r.write(sysrel + "/vendor", hexfile(ven, 4))
        r.write(sysrel + "/device", hexfile(dev, 4))
        r.write(sysrel + "/class", hexfile(cls, 6))
        r.write(sysrel + "/revision", hexfile(int(d.get("revision") or "00", 16), 2))
        if d.get("subsystem_vendor"):
            r.write(sysrel + "/subsystem_vendor", hexfile(int(d["subsystem_vendor"], 16), 4))
            r.write(sysrel + "/subsystem_device", hexfile(int(d.get("subsystem_device") or "0000", 16), 4))
        r.write(sysrel + "/config", config_space(d, bridge, secondary))
        r.write(sysrel + "/irq", "%d\n" % (16 + (parse_addr(a)[2] % 8)))
        r.write(sysrel + "/enable", "1\n")
        r.write(sysrel + "/numa_node", "%d\n" % (d.get("numa_node") if d.get("numa_node") is not None else -1))
        r.write(sysrel + "/local_cpulist", "0-%d\n" % (int((m.get("cpu") or {}).get("count") or 4) - 1))
        r.write(sysrel + "/driver_override", (d.get("driver_override") or "(null)") + "\n", 0o644)
        sv = int(d.get("subsystem_vendor") or "0000", 16)
        sd = int(d.get("subsystem_device") or "0000", 16)
        modalias = "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X" % (ven, dev, sv, sd, cls >> 16, (cls >> 8) & 0xff,
                                                                     cls & 0xff)
        r.write(sysrel + "/modalias", modalias + "\n")
        uevent = ""
        if d.get("driver"):
            uevent += "DRIVER=%s\n" % d["driver"]
        uevent += "PCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\nPCI_SLOT_NAME=%s\nMODALIAS=%s\n" % (
            cls, ven, dev, sv, sd, a, modalias)
        r.write(sysrel + "/uevent", uevent)
        unknown = unknown_of(d)
        if unknown:
            # an imported description: the facts its listing did not show (read by pvfio's scan, which
            # shows them as unknown instead of taking the missing files for "absent")
            r.write(sysrel + "/pvfio_unknown", "".join(u + "\n" for u in sorted(unknown)), 0o444)
        if d["class"][:4] == "0300" and "boot_vga" not in unknown:
            r.write(sysrel + "/boot_vga", "%d\n" % int(d.get("boot_vga") or 0))
        if d.get("reset_method"):
            r.write(sysrel + "/reset_method", d["reset_method"] + "\n")
            r.write(sysrel + "/reset", "", 0o200)
        lines = []
        for i, (s, e) in enumerate(d.get("bars") or []):
            flags = 0x40200 if i == 0 else 0x14220c
            lines.append("0x%016x 0x%016x 0x%016x" % (int(s, 16), int(e, 16), flags))
        while len(lines) < 13:
            lines.append("0x%016x 0x%016x 0x%016x" % (0, 0, 0))
        r.write(sysrel + "/resource", "\n".join(lines) + "\n")
        r.symlink(up(rel) + "bus/pci", sysrel + "/subsystem")
        r.symlink("../../../" + rel, "sys/bus/pci/devices/" + a)
        if bridge:
            r.mkdir(sysrel + "/pci_bus/%s:%02x" % (a[:4], secondary))
        if iommu and d.get("iommu_group") is not None:
            g = int(d["iommu_group"])
            groups.setdefault(g, []).append(a)
            r.symlink(up(rel) + "kernel/iommu_groups/%d" % g, sysrel + "/iommu_group")
        if d.get("driver"):
            r.symlink(up(rel) + "bus/pci/drivers/%s" % d["driver"], sysrel + "/driver")
            r.symlink("../../../../" + rel, "sys/bus/pci/drivers/%s/%s" % (d["driver"], a))
        if d.get("sriov"):
            s = d["sriov"]
            r.write(sysrel + "/sriov_totalvfs", "%d\n" % s.get("totalvfs", 0))
            r.write(sysrel + "/sriov_numvfs", "%d\n" % s.get("numvfs", 0))
            r.write(sysrel + "/sriov_offset", "%d\n" % s.get("offset", 1))
            r.write(sysrel + "/sriov_stride", "%d\n" % s.get("stride", 1))
            r.write(sysrel + "/sriov_vf_device", "%s\n" % s.get("vf_device", d["device"]))
            r.write(sysrel + "/sriov_drivers_autoprobe", "1\n")
            for i, vf in enumerate(sorted(vfs_of.get(a, []))):
                r.symlink("../" + vf, sysrel + "/virtfn%d" % i)
        if d.get("physfn"):
            r.symlink("../" + d["physfn"], sysrel + "/physfn")
        if d.get("mdev_types"):
            for t in d["mdev_types"]:
                tdir = sysrel + "/mdev_supported_types/" + t["type"]
                r.write(tdir + "/name", (t.get("name") or t["type"]) + "\n")
                r.write(tdir + "/available_instances", "%d\n" % int(t.get("available") or 0))
                r.write(tdir + "/description", (t.get("description") or "") + ("\n" if t.get("description") else ""))
                r.write(tdir + "/device_api", "vfio-pci\n")
                r.write(tdir + "/create", "", 0o200)
                r.mkdir(tdir + "/devices")
            r.symlink("../../../" + rel, "sys/class/mdev_bus/" + a)
        if d.get("nvidia_vgpu_types") is not None:
            txt = "ID    : vGPU Name\n"
            for t in d["nvidia_vgpu_types"]:
                txt += "%-5d : %s\n" % (int(t["id"]), t["name"])
            r.write(sysrel + "/nvidia/creatable_vgpu_types", txt, 0o444)
            r.write(sysrel + "/nvidia/current_vgpu_type", "0\n")
        if a in byaddr and d.get("names") is None:
            pass
    for g, members in sorted(groups.items()):
        gdir = "sys/kernel/iommu_groups/%d" % g
        pt = "iommu=pt" in ((m.get("boot") or {}).get("cmdline") or "").split()
        r.write(gdir + "/type", ("identity" if pt else "DMA-FQ") + "\n")
        r.write(gdir + "/reserved_regions", "0x00000000fee00000 0x00000000feefffff msi\n")
        for a in members:
            r.symlink("../../../../" + dirs[a], gdir + "/devices/" + a)
    if iommu:
        r.mkdir("sys/kernel/iommu_groups")
    return dirs, kernel_62


def kernel_at_least(release, major, minor):
    m = re.match(r"^(\d+)\.(\d+)", release)
    if not m:
        return True
    return (int(m.group(1)), int(m.group(2))) >= (major, minor)


def write_pci_ids(r, m):
    vendors = {}
    for d in m.get("devices") or []:
        n = d.get("names") or {}
        v = vendors.setdefault(d["vendor"], {"name": None, "devices": {}})
        if n.get("vendor"):
            v["name"] = n["vendor"]
        dv = v["devices"].setdefault(d["device"], {"name": None, "subs": {}})
        if n.get("device"):
            dv["name"] = n["device"]
        if d.get("subsystem_vendor") and n.get("subsystem_device"):
            dv["subs"][(d["subsystem_vendor"], d.get("subsystem_device") or "0000")] = n["subsystem_device"]
        if d.get("subsystem_vendor") and n.get("subsystem_vendor"):
            sv = vendors.setdefault(d["subsystem_vendor"], {"name": None, "devices": {}})
            sv["name"] = sv["name"] or n["subsystem_vendor"]
    out = ["# pci.ids generated by tests/mkroot/mkroot.py from machine '%s'" % m.get("name", "?")]
    for ven in sorted(vendors):
        v = vendors[ven]
        if not v["name"]:
            continue
        out.append("%s  %s" % (ven, v["name"]))
        for dev in sorted(v["devices"]):
            dv = v["devices"][dev]
            if not dv["name"]:
                continue
            out.append("\t%s  %s" % (dev, dv["name"]))
            for (sv, sd) in sorted(dv["subs"]):
                out.append("\t\t%s %s  %s" % (sv, sd, dv["subs"][(sv, sd)]))
    cur = None
    for key in sorted(CLASSES):
        if len(key) == 2:
            cur = key
            out.append("C %s  %s" % (key, CLASSES[key]))
        elif key[:2] == cur:
            out.append("\t%s  %s" % (key[2:], CLASSES[key]))
    r.write("usr/share/misc/pci.ids", "\n".join(out) + "\n")


def write_platform(r, m, dirs, kernel_62):
    cpu = m.get("cpu") or {}
    kernel = m.get("kernel") or "6.8.12-4-pve"
    boot = m.get("boot") or {}
    iommu = m.get("iommu") or {}
    vendor = cpu.get("vendor") or "GenuineIntel"
    intel = vendor == "GenuineIntel"
    devs = m.get("devices") or []

    # proc
    r.write("proc/sys/kernel/osrelease", kernel + "\n")
    r.write("proc/cmdline", (boot.get("cmdline") or "BOOT_IMAGE=/boot/vmlinuz-%s root=/dev/mapper/pve-root ro quiet"
                             % kernel) + "\n")
    count = int(cpu.get("count") or 4)
    flags = " ".join(cpu.get("flags") or [])
    ci = []
    for i in range(count):
        ci.append("processor\t: %d\nvendor_id\t: %s\ncpu family\t: %d\nmodel name\t: %s\nflags\t\t: %s\n" % (
            i, vendor, 6 if intel else 25, cpu.get("model_name") or "Unknown CPU", flags))
    r.write("proc/cpuinfo", "\n".join(ci) + "\n")
    ir = bool(iommu.get("interrupt_remapping"))
    pre = "IR-" if ir else ""
    cols = min(count, 4)
    irq = "    " + "".join("    CPU%-3d" % i for i in range(cols)).rstrip() + "\n"

    def irq_line(n, chip, hw, name):
        return "%4s: %s  %-14s %-12s %s\n" % (n, " ".join("%10d" % (7 * (j + 1)) for j in range(cols)), chip, hw, name)

    irq += irq_line("0", pre + "IO-APIC", "2-edge", "timer")
    irq += irq_line("9", pre + "IO-APIC", "9-fasteoi", "acpi")
    n = 120
    for d in devs:
        if not d.get("driver"):
            continue
        if kernel_62:
            chip, hw = pre + "PCI-MSIX-" + d["addr"], "0-edge"
        else:
            _, bus, dv, fn = parse_addr(d["addr"])
            chip, hw = pre + "PCI-MSI", "%d-edge" % ((bus << 16) | (dv << 11) | (fn << 8))
        irq += irq_line(str(n), chip, hw, d["driver"])
        n += 1
    irq += "%4s: %s   Non-maskable interrupts\n" % ("NMI", " ".join("%10d" % 0 for _ in range(cols)))
    r.write("proc/interrupts", irq)
    mods = m.get("modules_loaded") or []
    r.write("proc/modules", "".join("%s %d 0 - Live 0x0000000000000000\n" % (mod, 16384 + 4096 * i)
                                    for i, mod in enumerate(mods)))
    for mod in mods:
        r.mkdir("sys/module/%s" % mod)
    iomem = "00000000-00000fff : Reserved\n00001000-0009ffff : System RAM\n00100000-7fffffff : System RAM\n"
    fb = m.get("iomem_bootfb")
    for d in devs:
        for i, (s, e) in enumerate(d.get("bars") or []):
            iomem += "  %x-%x : %s\n" % (int(s, 16), int(e, 16), d["addr"])
            if fb == d["addr"] and i == fb_bar_index(d):
                size = min(int(e, 16) - int(s, 16), 0x7fffff)
                iomem += "    %x-%x : BOOTFB\n" % (int(s, 16), int(s, 16) + size)
    r.write("proc/iomem", iomem)

    # sys: iommu units, firmware tables, efi
    if iommu.get("enabled"):
        units = 2 if intel else 1
        for u in range(units):
            name = ("dmar%d" if intel else "ivhd%d") % u
            if intel:
                base = "sys/devices/virtual/iommu/" + name
                r.write(base + "/intel-iommu/cap", "d2008c40660462\n")
                r.write(base + "/intel-iommu/ecap", ("f050da" if ir else "f050d2") + "\n")
                r.write(base + "/intel-iommu/version", "1:0\n")
                r.write(base + "/intel-iommu/address", "fed9%d000\n" % u)
                r.symlink("../../devices/virtual/iommu/" + name, "sys/class/iommu/" + name)
            else:
                iommu_dev = next((a for a, dd in ((d["addr"], d) for d in devs) if dd["class"] == "080600"), None)
                base = "sys/" + (dirs[iommu_dev] if iommu_dev else "devices/pci0000:00/0000:00:00.2") + "/iommu/" + name
                r.write(base + "/amd-iommu/cap", "0x00190040\n")
                r.write(base + "/amd-iommu/features", "0x25bf732fa2295afe\n")
                r.symlink("../../" + base[len("sys/"):], "sys/class/iommu/" + name)
    else:
        r.mkdir("sys/class/iommu")
    table = iommu.get("firmware_table")
    if table in ("DMAR", "IVRS"):
        hdr = bytearray(48)
        hdr[0:4] = table.encode()
        struct.pack_into("<I", hdr, 4, 48)
        hdr[8] = 1
        hdr[10:16] = b"ALASKA"
        hdr[16:24] = b"A M I   "
        if table == "DMAR":
            hdr[36] = 38          # host address width - 1
            hdr[37] = 0x01 if ir else 0x00
        r.write("sys/firmware/acpi/tables/" + table, bytes(hdr), 0o400)
    else:
        r.mkdir("sys/firmware/acpi/tables")
    loader = boot.get("loader") or "grub"
    if boot.get("efi"):
        r.mkdir("sys/firmware/efi/efivars")
        r.write("sys/firmware/efi/fw_platform_size", "64\n")
        r.write("sys/firmware/efi/efivars/BootCurrent-8be4df61-93ca-11d2-aa0d-00e098032b8c", b"\x06\0\0\0\x01\0")
        if loader == "systemd-boot":
            r.write("sys/firmware/efi/efivars/" + LOADER_INFO,
                    b"\x06\0\0\0" + "systemd-boot 252.33\0".encode("utf-16-le"))

    # etc
    r.write("etc/hostname", ((m.get("pve") or {}).get("node") or m.get("name") or "pve") + "\n")
    grub = ("# If you change this file, run 'update-grub' afterwards to update\n"
            "# /boot/grub/grub.cfg.\n"
            "# For full documentation of the options in this file, see:\n"
            "#   info -f grub -n 'Simple configuration'\n\n"
            "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n"
            "GRUB_DISTRIBUTOR=`( . /etc/os-release; echo ${NAME:-Debian} ) 2>/dev/null || echo Debian`\n"
            "GRUB_CMDLINE_LINUX_DEFAULT=\"%s\"\nGRUB_CMDLINE_LINUX=\"%s\"\n" % (
                boot.get("grub_cmdline_linux_default", "quiet") if loader == "grub" else "quiet",
                "root=ZFS=rpool/ROOT/pve-1 boot=zfs" if loader == "systemd-boot" else ""))
    r.write("etc/default/grub", grub)
    r.mkdir("etc/default/grub.d")
    r.write("etc/default/grub.d/init-select.cfg",
            "# Work around a GRUB bug (https://bugs.debian.org/1019891)\nGRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT\"\n")
    if loader == "systemd-boot":
        r.write("etc/kernel/cmdline", (boot.get("etc_kernel_cmdline") or "root=ZFS=rpool/ROOT/pve-1 boot=zfs") + "\n")
        r.write("etc/kernel/proxmox-boot-uuids", "5E3A-1F2B\n")
    else:
        r.mkdir("etc/kernel")
    r.write("etc/modules", "# /etc/modules: kernel modules to load at boot time.\n#\n"
                           "# This file contains the names of kernel modules that should be loaded\n"
                           "# at boot time, one per line. Lines beginning with \"#\" are ignored.\n"
                           "# Parameters can be specified after the module name.\n\n")
    r.mkdir("etc/modules-load.d")
    r.symlink("../modules", "etc/modules-load.d/modules.conf")
    r.write("etc/modprobe.d/pve-blacklist.conf",
            "# This file contains a list of modules which are not supported by Proxmox VE\n\n"
            "# nvidiafb see bugreport https://bugzilla.proxmox.com/show_bug.cgi?id=701\nblacklist nvidiafb\n")
    r.mkdir("run")
    r.mkdir("etc/initramfs-tools")


def fb_bar_index(d):
    """The framebuffer BAR: the largest one (NVIDIA BAR1, AMD/Intel the big prefetchable one)."""
    bars = d.get("bars") or []
    sizes = [int(e, 16) - int(s, 16) for s, e in bars]
    return sizes.index(max(sizes)) if sizes else -1


def default_host_use(m):
    """What the host uses when the description does not say: the first storage controller with a
    driver holds /, the first Ethernet controller with a driver is vmbr0's port, the first USB
    controller with a driver has the keyboard (vfio-pci-bound devices are never chosen)."""
    def first(pred):
        for d in m.get("devices") or []:
            if d.get("driver") and d["driver"] != "vfio-pci" and pred(d["class"]):
                return d["addr"]
        return None
    hu = dict(m.get("host_use") or {})
    hu.setdefault("root", first(lambda c: c.startswith("01")))
    hu.setdefault("nics", [a for a in [first(lambda c: c.startswith("0200"))] if a])
    hu.setdefault("keyboard", first(lambda c: c.startswith("0c03")))
    return hu


def write_host_use(r, m, dirs):
    """proc/mounts + sys/block (root disk), proc/net/route + sys/class/net (vmbr0 and its port),
    proc/bus/input/devices (keyboard), the Proxmox VE markers (etc/pve, dpkg record), extra files."""
    hu = default_host_use(m)
    byaddr = {d["addr"]: d for d in m.get("devices") or []}
    loader = (m.get("boot") or {}).get("loader") or "grub"
    efi = bool((m.get("boot") or {}).get("efi"))
    mounts = "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\nproc /proc proc rw,relatime 0 0\n"
    root = hu.get("root")
    if root:
        if root not in byaddr:
            raise MachineError("host_use.root: %s is not a listed device" % root)
        base = "sys/" + dirs[root]
        if byaddr[root]["class"].startswith("0108"):
            disk, part = "nvme0n1", "nvme0n1p%d"
            ddir = base + "/nvme/nvme0/" + disk
            r.write(base + "/nvme/nvme0/dev", "259:0\n")
            r.symlink("../../nvme0", ddir + "/device")
        else:
            disk, part = "sda", "sda%d"
            ddir = base + "/ata1/host0/target0:0:0/0:0:0:0/block/" + disk
            r.write(base + "/ata1/host0/target0:0:0/0:0:0:0/vendor", "ATA     \n")
            r.symlink("../../../0:0:0:0", ddir + "/device")
        r.write(ddir + "/size", "1000215216\n")
        r.symlink("../" + ddir[len("sys/"):], "sys/block/" + disk)
        r.symlink("../../" + ddir[len("sys/"):], "sys/class/block/" + disk)
        for n in (1, 2, 3):
            p = part % n
            r.write(ddir + "/" + p + "/partition", "%d\n" % n)
            r.symlink("../../" + ddir[len("sys/"):] + "/" + p, "sys/class/block/" + p)
            r.write("dev/" + p, "")
        if loader == "systemd-boot":
            mounts += "rpool/ROOT/pve-1 / zfs rw,relatime,xattr,noacl,casesensitive 0 0\n"
            r.symlink("../../" + part % 2, "dev/disk/by-uuid/5E3A-1F2B")
        else:
            dm = "sys/devices/virtual/block/dm-1"
            r.write(dm + "/dm/name", "pve-root\n")
            r.symlink("../../../../../" + ddir[len("sys/"):] + "/" + part % 3, dm + "/slaves/" + part % 3)
            r.symlink("../devices/virtual/block/dm-1", "sys/block/dm-1")
            r.symlink("../../devices/virtual/block/dm-1", "sys/class/block/dm-1")
            mounts += "/dev/mapper/pve-root / ext4 rw,relatime,errors=remount-ro 0 0\n"
            if efi:
                mounts += "/dev/%s /boot/efi vfat rw,relatime,fmask=0022,dmask=0022 0 0\n" % (part % 2)
    r.write("proc/mounts", mounts)
    route = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    nics = hu.get("nics") or []
    for i, a in enumerate(nics):
        if a not in byaddr:
            raise MachineError("host_use.nics: %s is not a listed device" % a)
        ifn = "enp%ds0f%d" % (int(a[5:7], 16), int(a[-1]))
        ndir = "sys/" + dirs[a] + "/net/" + ifn
        r.write(ndir + "/address", "aa:bb:cc:00:00:%02x\n" % i)
        r.symlink("../../../" + a, ndir + "/device")
        r.symlink("../../" + ndir[len("sys/"):], "sys/class/net/" + ifn)
        r.symlink("../../" + ifn, "sys/devices/virtual/net/vmbr0/brif/" + ifn)
    if nics:
        r.write("sys/devices/virtual/net/vmbr0/address", "aa:bb:cc:00:00:00\n")
        r.symlink("../../devices/virtual/net/vmbr0", "sys/class/net/vmbr0")
        route += "vmbr0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
        route += "vmbr0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    r.write("proc/net/route", route)
    inputs = ("I: Bus=0019 Vendor=0000 Product=0001 Version=0000\nN: Name=\"Power Button\"\n"
              "P: Phys=LNXPWRBN/button/input0\nS: Sysfs=/devices/LNXSYSTM:00/LNXPWRBN:00/input/input0\n"
              "U: Uniq=\nH: Handlers=kbd event0 \nB: PROP=0\nB: EV=3\nB: KEY=10000000000000 0\n\n")
    kb = hu.get("keyboard")
    if kb:
        if kb not in byaddr:
            raise MachineError("host_use.keyboard: %s is not a listed device" % kb)
        inputs += ("I: Bus=0003 Vendor=046d Product=c31c Version=0110\nN: Name=\"Logitech USB Keyboard\"\n"
                   "P: Phys=usb-%s-1/input0\nS: Sysfs=/%s/usb1/1-1/1-1:1.0/0003:046D:C31C.0001/input/input3\n"
                   "U: Uniq=\nH: Handlers=sysrq kbd leds event3 \nB: PROP=0\nB: EV=120013\n"
                   "B: KEY=1000000000007 ff9f207ac14057ff febeffdfffefffff fffffffffffffffe\n"
                   "B: MSC=10\nB: LED=7\n\n" % (kb, dirs[kb]))
    r.write("proc/bus/input/devices", inputs)
    for rel, text in sorted((hu.get("files") or {}).items()):
        r.write(rel, text)


def write_pve(r, m):
    """A Proxmox VE node: the pmxcfs mount point with the cluster's nodes, the dpkg record of pve-manager."""
    pve = m.get("pve")
    if pve is False:
        return
    pve = pve or {}
    node = pve.get("node") or m.get("name") or "pve"
    for n in pve.get("cluster_nodes") or [node]:
        r.mkdir("etc/pve/nodes/%s/qemu-server" % n)
    r.write("var/lib/dpkg/info/pve-manager.list", "/.\n/usr/bin/pveversion\n")


def build(m, outdir):
    check_machine(m, m.get("name") or "machine")
    r = Root(outdir)
    os.makedirs(r.top, exist_ok=True)
    dirs, kernel_62 = write_devices(r, m)
    write_platform(r, m, dirs, kernel_62)
    mkusb.write_usb(r, m, dirs)
    mkusb.write_input(r, m)
    write_pci_ids(r, m)
    write_host_use(r, m, dirs)
    write_pve(r, m)


# ------------------------------------------------------------ --generate N

def generate(n):
    """A synthetic server with n PCI devices: root ports with 4-function GPUs behind them."""
    devs = []
    group = 0
    names_rp = {"vendor": "Advanced Micro Devices, Inc. [AMD]", "device": "Starship/Matisse GPP Bridge"}
    funcs = [("030000", "1e04", "TU102 [GeForce RTX 2080 Ti Rev. A]", "nvidia", "bus"),
             ("040300", "10f7", "TU102 High Definition Audio Controller", "snd_hda_intel", "flr"),
             ("0c0330", "1ad6", "TU102 USB 3.1 Host Controller", "xhci_hcd", "flr"),
             ("0c8000", "1ad7", "TU102 USB Type-C UCSI Controller", "nvidia-gpu", "flr")]
    for root in range(8):
        rbus = root * 0x20
        for slot in range(1, 32):
            if len(devs) >= n:
                break
            rp = "0000:%02x:%02x.0" % (rbus, slot)
            devs.append({"addr": rp, "parent": None, "vendor": "1022", "device": "1483", "class": "060400",
                         "iommu_group": group, "driver": "pcieport", "numa_node": root % 2, "names": names_rp})
            group += 1
            for fn, (cls, did, name, drv, rm) in enumerate(funcs):
                if len(devs) >= n:
                    break
                devs.append({"addr": "0000:%02x:00.%d" % (rbus + slot, fn), "parent": rp, "vendor": "10de",
                             "device": did, "class": cls, "subsystem_vendor": "10de", "subsystem_device": "12fa",
                             "revision": "a1", "iommu_group": group, "driver": drv, "reset_method": rm,
                             "numa_node": root % 2, "names": {"vendor": "NVIDIA Corporation", "device": name}})
            group += 1
    if len(devs) < n:
        raise MachineError("--generate supports at most %d devices" % len(devs))
    return {
        "name": "generated-%d" % n,
        "description": "synthetic machine with %d PCI devices (benchmark)" % n,
        "cpu": {"vendor": "AuthenticAMD", "model_name": "AMD EPYC 7763 64-Core Processor",
                "flags": ["fpu", "svm", "sse4_2", "avx2"], "count": 8},
        "kernel": "6.8.12-4-pve",
        "boot": {"loader": "grub", "efi": True,
                 "cmdline": "BOOT_IMAGE=/boot/vmlinuz-6.8.12-4-pve root=/dev/mapper/pve-root ro quiet iommu=pt",
                 "grub_cmdline_linux_default": "quiet iommu=pt"},
        "iommu": {"enabled": True, "firmware_table": "IVRS", "interrupt_remapping": True},
        "modules_loaded": ["nvidia", "snd_hda_intel", "xhci_pci"],
        "iomem_bootfb": None,
        "devices": devs,
    }


def main(argv):
    if len(argv) >= 3 and argv[0] == "--generate":
        n = int(argv[1])
        out = argv[2]
        m = generate(n)
        if len(argv) == 5 and argv[3] == "--json":
            with open(argv[4], "w", encoding="utf-8") as f:
                json.dump(m, f, indent=1)
        elif len(argv) != 3:
            print(__doc__, file=sys.stderr)
            return 64
        build(m, out)
        return 0
    node = cluster = None
    while len(argv) >= 2 and argv[0] in ("--node", "--cluster-nodes"):
        if argv[0] == "--node":
            node = argv[1]
        else:
            cluster = [n for n in argv[1].split(",") if n]
        argv = argv[2:]
    if len(argv) != 2 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 64
    with open(argv[0], encoding="utf-8") as f:
        m = json.load(f)
    if node or cluster:
        # the root of node NODE in a cluster of CLUSTER (etc/hostname, etc/pve/nodes)
        if m.get("pve") is False:
            raise SystemExit("mkroot: --node/--cluster-nodes with a machine that is not a PVE node")
        pve = dict(m.get("pve") or {})
        if node:
            pve["node"] = node
        if cluster:
            pve["cluster_nodes"] = cluster
        m["pve"] = pve
    try:
        build(m, argv[1])
    except MachineError as e:
        print("mkroot: %s: %s" % (argv[0], e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
