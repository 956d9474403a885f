"""Node hardware from machine descriptions (tests/machines/FORMAT.md).

Provides what Proxmox reads from sysfs: the PCI listing of
GET /nodes/{node}/hardware/pci, lspci() lookups for hostpci ids, mdev type
lists, and PVE::Mapping::PCI::assert_valid for mapping entries.
"""

import json
import re

TOP_KEYS = {"name", "description", "cpu", "kernel", "boot", "iommu", "modules_loaded",
            "iomem_bootfb", "devices", "host_use", "pve",  # host_use, pve: host layer only (mkroot)
            "source", "listing",  # where an imported machine came from
            "usb", "input"}  # usb: checked and served by usb.py; input: host layer only (mkroot)
CPU_KEYS = {"vendor", "model_name", "flags", "count"}
BOOT_KEYS = {"loader", "efi", "cmdline", "etc_kernel_cmdline", "grub_cmdline_linux_default"}
IOMMU_KEYS = {"enabled", "firmware_table", "interrupt_remapping"}
DEVICE_KEYS = {"addr", "parent", "vendor", "device", "subsystem_vendor", "subsystem_device",
               "class", "revision", "iommu_group", "driver", "driver_override", "boot_vga",
               "numa_node", "reset_method", "bars", "sriov", "physfn", "mdev_types",
               "nvidia_vgpu_types", "names", "unknown"}
# facts an imported description could not know (tests/machines/FORMAT.md "unknown")
UNKNOWN_FACTS = {"driver", "iommu_group", "subsystem", "parent", "reset_method", "boot_vga", "prog_if"}
SRIOV_KEYS = {"totalvfs", "numvfs", "vf_device", "offset", "stride"}
MDEV_KEYS = {"type", "name", "available", "description"}
NVIDIA_KEYS = {"id", "name", "description"}
NAMES_KEYS = {"vendor", "device", "subsystem_vendor", "subsystem_device"}

ADDR_RE = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
HEX4_RE = re.compile(r"^[0-9a-f]{4}$")

# a few pci.ids vendor names for subsystem vendors (names of the device
# vendors themselves come from the machine description)
SUBSYS_VENDOR_NAMES = {
    "1002": "Advanced Micro Devices, Inc. [AMD/ATI]",
    "1022": "Advanced Micro Devices, Inc. [AMD]",
    "1028": "Dell",
    "103c": "Hewlett-Packard Company",
    "1043": "ASUSTeK Computer Inc.",
    "10de": "NVIDIA Corporation",
    "1458": "Gigabyte Technology Co., Ltd",
    "1462": "Micro-Star International Co., Ltd. [MSI]",
    "15b3": "Mellanox Technologies",
    "17aa": "Lenovo",
    "1849": "ASRock Incorporation",
    "1af4": "Red Hat, Inc.",
    "8086": "Intel Corporation",
}


class MachineError(ValueError):
    pass


def _check_keys(obj, allowed, where):
    if not isinstance(obj, dict):
        raise MachineError("%s: expected an object" % where)
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise MachineError("%s: unknown key(s) %s" % (where, ", ".join(unknown)))


def check_machine(m, where="machine"):
    """Strict key check of a machine description (unknown keys are errors)."""
    _check_keys(m, TOP_KEYS, where)
    if "cpu" in m:
        _check_keys(m["cpu"], CPU_KEYS, where + ".cpu")
    if "boot" in m:
        _check_keys(m["boot"], BOOT_KEYS, where + ".boot")
    if "iommu" in m:
        _check_keys(m["iommu"], IOMMU_KEYS, where + ".iommu")
    seen = set()
    for i, d in enumerate(m.get("devices") or []):
        w = "%s.devices[%d]" % (where, i)
        _check_keys(d, DEVICE_KEYS, w)
        addr = d.get("addr")
        if not isinstance(addr, str) or not ADDR_RE.match(addr):
            raise MachineError("%s.addr: %r is not a lower-case dddd:bb:dd.f address" % (w, addr))
        if addr in seen:
            raise MachineError("%s.addr: %s listed twice" % (w, addr))
        seen.add(addr)
        for k in ("vendor", "device"):
            if not isinstance(d.get(k), str) or not HEX4_RE.match(d[k]):
                raise MachineError("%s.%s: 4 lower-case hex digits required" % (w, k))
        for k in ("subsystem_vendor", "subsystem_device"):
            if d.get(k) is not None and not HEX4_RE.match(str(d[k])):
                raise MachineError("%s.%s: 4 lower-case hex digits required" % (w, k))
        if not re.match(r"^[0-9a-f]{6}$", str(d.get("class", ""))):
            raise MachineError("%s.class: 6 lower-case hex digits required" % w)
        if "sriov" in d and d["sriov"] is not None:
            _check_keys(d["sriov"], SRIOV_KEYS, w + ".sriov")
        for j, t in enumerate(d.get("mdev_types") or []):
            _check_keys(t, MDEV_KEYS, "%s.mdev_types[%d]" % (w, j))
        for j, t in enumerate(d.get("nvidia_vgpu_types") or []):
            _check_keys(t, NVIDIA_KEYS, "%s.nvidia_vgpu_types[%d]" % (w, j))
        if "names" in d and d["names"] is not None:
            _check_keys(d["names"], NAMES_KEYS, w + ".names")
        for u in d.get("unknown") or []:
            if u not in UNKNOWN_FACTS:
                raise MachineError("%s.unknown: %r is not a fact name" % (w, u))
            # Proxmox's API has no "unknown": the simulator serves only machines whose facts it
            # answers with (group, subsystem ids) are known, never a guess; the driver, reset
            # method, parent and boot_vga are not served by the API
            if (u == "iommu_group" and (m.get("iommu") or {}).get("enabled")) or u == "subsystem":
                raise MachineError("%s: its %s is unknown (the listing did not show it); the simulator "
                                   "cannot answer GET /nodes/{node}/hardware/pci for it" % (w, u))
    from .usb import check_usb  # the `usb` buses (usb.py)
    try:
        check_usb(m, where)
    except ValueError as e:
        raise MachineError(str(e))
    return m


def load_machine(path):
    with open(path, encoding="utf-8") as f:
        m = json.load(f)
    return check_machine(m, path)


def normalize_id(pciid):
    """Add the 0000 domain when it is missing."""
    if re.match(r"^[0-9a-fA-F]{2}:", pciid):
        return "0000:" + pciid
    return pciid


class Hardware:
    """Read-only view on one node's machine description."""

    def __init__(self, machine):
        self.machine = machine or {}
        self.devices = {d["addr"]: d for d in self.machine.get("devices") or []}

    @property
    def iommu(self):
        return bool((self.machine.get("iommu") or {}).get("enabled"))

    def cpu_count(self):
        return int((self.machine.get("cpu") or {}).get("count") or 4)

    def kernel(self):
        return self.machine.get("kernel") or "6.14.11-4-pve"

    def iommugroup(self, d):
        if not self.iommu or d.get("iommu_group") is None:
            return -1
        return int(d["iommu_group"])

    def has_mdev(self, d):
        return d.get("mdev_types") is not None or d.get("nvidia_vgpu_types") is not None

    def virtfns(self, addr):
        vfs = sorted(a for a, d in self.devices.items() if d.get("physfn") == addr)
        return {"virtfn%d" % i: a for i, a in enumerate(vfs)}

    def lspci(self, pciid):
        """SysFSTools::lspci($id): the functions matching dddd:bb:dd[.f]."""
        pciid = normalize_id(pciid)
        if re.search(r"\.[0-9a-f]$", pciid):
            d = self.devices.get(pciid)
            return [d] if d else []
        return [self.devices[a] for a in sorted(self.devices) if a.startswith(pciid + ".")]

    def device_info(self, pciid):
        """pci_device_info($id, 1) reduced to what assert_valid compares."""
        d = self.devices.get(normalize_id(pciid))
        if d is None:
            return None
        info = {
            "vendor": "0x" + d["vendor"],
            "device": "0x" + d["device"],
            "iommugroup": d.get("iommu_group") if self.iommu else None,
            "mdev": 1 if self.has_mdev(d) else 0,
        }
        if d.get("subsystem_vendor") and d.get("subsystem_device"):
            info["subsystem_vendor"] = "0x" + d["subsystem_vendor"]
            info["subsystem_device"] = "0x" + d["subsystem_device"]
        return info

    def pci_list(self, blacklist, verbose):
        """GET /nodes/{node}/hardware/pci, sorted by id."""
        res = []
        for addr in sorted(self.devices):
            d = self.devices[addr]
            cls = d["class"]
            if any(cls.startswith(prefix.lower()) for prefix in blacklist):
                continue
            e = {
                "id": addr,
                "class": "0x" + cls,
                "vendor": "0x" + d["vendor"],
                "device": "0x" + d["device"],
                "iommugroup": self.iommugroup(d),
            }
            if self.has_mdev(d):
                e["mdev"] = 1
            if verbose:
                names = d.get("names") or {}
                if names.get("vendor"):
                    e["vendor_name"] = names["vendor"]
                if names.get("device"):
                    e["device_name"] = names["device"]
                if d.get("subsystem_vendor"):
                    e["subsystem_vendor"] = "0x" + d["subsystem_vendor"]
                    sv = names.get("subsystem_vendor") or SUBSYS_VENDOR_NAMES.get(d["subsystem_vendor"])
                    if sv:
                        e["subsystem_vendor_name"] = sv
                if d.get("subsystem_device"):
                    e["subsystem_device"] = "0x" + d["subsystem_device"]
                    if names.get("subsystem_device"):
                        e["subsystem_device_name"] = names["subsystem_device"]
                if d.get("physfn"):
                    e["physfn"] = d["physfn"]
                vfs = self.virtfns(addr)
                if vfs:
                    e["virtfns"] = vfs
            res.append(e)
        return res

    def mdev_types(self, pciid, used, nvidia_busy=frozenset(), nvml=True):
        """The mdev types of one device (qemu-server get_mdev_types); `used` maps
        type -> classic mdev instances in use, `nvidia_busy` holds the VFs that host
        a vGPU of a running VM.

        NVIDIA vGPU (a device with `nvidia_vgpu_types`), by qemu-server version:
        - nvml (>= 9.1.11, PCI/Mdev.pm): PVE::RS::NVML::creatable_vgpu_types_for_dev
          on the physical function: the same list for every VF of that PF, whether
          the VF itself is free or not; with descriptions; `available: 1`. Modelled
          as the types the PF's free VFs can still create (empty when none is free).
        - older (8.4 SysFSTools, 9.x before 9.1.11): the VF's own
          nvidia/creatable_vgpu_types file, empty while the VF hosts a vGPU;
          `description: ""`; `available: 1`.
        """
        pid = normalize_id(pciid)
        d = self.devices.get(pid)
        if d is None:
            return []
        res = []
        for t in d.get("mdev_types") or []:
            avail = int(t.get("available", 0)) - used.get(t["type"], 0)
            e = {"type": t["type"], "available": max(avail, 0),
                 "description": t.get("description", "")}
            if t.get("name") is not None:
                e["name"] = t["name"]
            res.append(e)
        if d.get("mdev_types") is None and d.get("nvidia_vgpu_types") is not None:
            if nvml:
                types = self._nvml_creatable(d.get("physfn") or pid, nvidia_busy)
            else:
                types = [] if pid in nvidia_busy else d["nvidia_vgpu_types"]
            for t in types:
                res.append({"type": "nvidia-%d" % int(t["id"]), "available": 1,
                            "name": t.get("name", ""),
                            "description": t.get("description", "") if nvml else ""})
        return res

    def _nvml_creatable(self, pf, nvidia_busy):
        """The vGPU types a PF can still create: those of its free VFs, first seen first."""
        seen = {}
        for addr in sorted(a for a, dev in self.devices.items() if dev.get("physfn") == pf or a == pf):
            if addr in nvidia_busy:
                continue
            for t in self.devices[addr].get("nvidia_vgpu_types") or []:
                seen.setdefault(int(t["id"]), t)
        return list(seen.values())


def assert_valid(name, entry, hw, mapping_cfg=None):
    """PVE::Mapping::PCI::assert_valid; raises ValueError(message with \\n)."""
    paths = [p for p in (entry.get("path") or "").split(";") if p != ""]
    for idx, path in enumerate(paths):
        if not re.search(r"\.[a-f0-9]", path, re.I):
            path = path + ".0"
        info = hw.device_info(path)
        if info is None:
            raise ValueError("pci device '%s' not found\n" % path)
        expected = {
            "id": "%s:%s" % (info["vendor"], info["device"]),
            "iommugroup": info["iommugroup"],
            "subsystem-id": None,
        }
        if info.get("subsystem_vendor") is not None and info.get("subsystem_device") is not None:
            expected["subsystem-id"] = "%s:%s" % (info["subsystem_vendor"], info["subsystem_device"])
        configured = {k: entry.get(k) for k in ("id", "iommugroup", "subsystem-id")}
        if mapping_cfg is not None:
            expected["mdev"] = 1 if info["mdev"] else 0
            configured["mdev"] = 1 if _truthy(mapping_cfg.get("mdev")) else 0
        for prop in sorted(expected):
            if prop == "iommugroup" and idx > 0:
                continue
            exp, conf = expected[prop], configured.get(prop)
            if exp is None and conf is None:
                continue
            if exp is not None and conf is None:
                raise ValueError("missing expected property '%s' for device '%s'\n" % (prop, path))
            if exp is None and conf is not None:
                raise ValueError("unexpected property '%s' configured for device '%s'\n" % (prop, path))
            e = str(exp).replace("0x", "")
            c = str(conf).replace("0x", "")
            if e != c:
                raise ValueError("'%s' does not match for '%s' (%s != %s)\n" % (prop, name, e, c))
    return True


def _truthy(v):
    return v not in (None, "", 0, "0", False)
