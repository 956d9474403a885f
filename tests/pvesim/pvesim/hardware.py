"""Node hardware from machine descriptions (tests/machines/FORMAT.md).

Provides what Proxmox reads from sysfs: the PCI listing of
GET /nodes/{node}/hardware/pci, lspci() lookups for hostpci ids, mdev type
lists, and PVE::Mapping::PCI::assert_valid for mapping entries.
"""

import os
import re
import sys

# the machine description checker shared with tests/mkroot: tests/machines/machine.py, found
# through the repository layout (this file is tests/pvesim/pvesim/hardware.py)
_MACHINES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                             "machines")
if _MACHINES_DIR not in sys.path:
    sys.path.insert(0, _MACHINES_DIR)
import machine as _machine  # noqa: E402

MachineError = _machine.MachineError

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


def check_servable(m, where="machine"):
    """What the simulator refuses beyond the shared check: Proxmox's API has no "unknown", so
    the simulator serves only machines whose facts it answers with (group, subsystem ids) are
    known, never a guess; the driver, reset method, parent and boot_vga are not served by the API."""
    iommu = bool((m.get("iommu") or {}).get("enabled"))
    for i, d in enumerate(m.get("devices") or []):
        for u in d.get("unknown") or []:
            if (u == "iommu_group" and iommu) or u == "subsystem":
                raise MachineError("%s.devices[%d]: its %s is unknown (the listing did not show it); the "
                                   "simulator cannot answer GET /nodes/{node}/hardware/pci for it" % (where, i, u))


def check_machine(m, where="machine"):
    """Strict check of a machine description (tests/machines/machine.py) plus check_servable."""
    _machine.check_machine(m, where)
    check_servable(m, where)
    return m


def load_machine(path):
    m = _machine.load_machine(path)
    check_servable(m, path)
    return m


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
