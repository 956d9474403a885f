"""Which Proxmox VE release the simulator answers as (`--pve-version 8.4|9.x`).

A profile holds the package versions a node reports (GET /version,
GET /nodes/{node}/version, GET /nodes/{node}/apt/versions) and the behaviours
that differ between the releases, each read from the Perl sources of both
branches (master = 9.x, stable-bookworm/stable-8 = 8.4):

- pve-common PVE/JSONSchema.pm check_object, `requires`: 9.0.8 and later say
  "missing property required by 'force'" (commit "schema: clarify error on
  missing property dependency"), 8.x says "missing property - 'force' requires
  this property".
- qemu-server PVE/QemuServer/PCI.pm $hostpci_fmt: `driver` exists only on
  master (9.x); 8.4 refuses it as a key not defined in the schema.
- qemu-server PVE/QemuServer/PCI/Mdev.pm get_mdev_types: from 9.1.11 NVIDIA
  vGPU types are read through NVML on the physical function
  (PVE::RS::NVML::creatable_vgpu_types_for_dev($physfn), with description,
  `available: 1`); before, from the VF's own nvidia/creatable_vgpu_types file
  (description "", `available: 1`). 8.4's PVE::SysFSTools::get_mdev_types is
  the older form.

The active profile is process-wide: one simulator process is one release.
`--qemu-server VERSION` sets every node's qemu-server version, and a node may
report its own (cluster description `nodes.X.qemu_server`), for mixed clusters.
The 9.x default is qemu-server 9.1.10, the last one with the per-VF vGPU type
listing; `--qemu-server 9.1.11` (or later) gives NVML's PF-wide listing.
"""

import re

PROFILES = {
    "9.x": {
        "release": "9.1",
        "version": "9.1.9",
        "repoid": "2a1c3d5e9b7f4a60",
        "packages": {
            "proxmox-ve": "9.1.0",
            "pve-manager": "9.1.9",
            "qemu-server": "9.1.10",
            "libpve-common-perl": "9.0.11",
            "libpve-guest-common-perl": "6.0.2",
            "libpve-access-control": "9.0.4",
            "pve-qemu-kvm": "10.0.2-4",
        },
    },
    "8.4": {
        "release": "8.4",
        "version": "8.4.21",
        "repoid": "2606ac850d46da29",
        "packages": {
            "proxmox-ve": "8.4.0",
            "pve-manager": "8.4.21",
            "qemu-server": "8.4.10",
            "libpve-common-perl": "8.3.8",
            "libpve-guest-common-perl": "5.2.2",
            "libpve-access-control": "8.2.3",
            "pve-qemu-kvm": "9.2.0-7",
        },
    },
}

_active = {"name": "9.x", "qemu_server": None}


def select(name, qemu_server=None):
    """Choose the release; qemu_server (--qemu-server) overrides its qemu-server version."""
    if name not in PROFILES:
        raise ValueError("unknown --pve-version %r (8.4 or 9.x)" % name)
    if qemu_server is not None and not re.match(r"^\d+(?:\.\d+)*(?:[-~+][0-9A-Za-z.~+-]*)?$", qemu_server):
        raise ValueError("--qemu-server %r is not a version" % qemu_server)
    _active["name"] = name
    _active["qemu_server"] = qemu_server


def name():
    return _active["name"]


def profile():
    return PROFILES[_active["name"]]


def major():
    return int(profile()["release"].split(".")[0])


def vkey(ver):
    """Debian-ish version as a comparable tuple ("9.1.11" > "9.1.9")."""
    return tuple(int(x) for x in re.findall(r"\d+", ver))


def at_least(ver, minimum):
    return vkey(ver) >= vkey(minimum)


def package(pkg):
    if pkg == "qemu-server" and _active["qemu_server"]:
        return _active["qemu_server"]
    return profile()["packages"][pkg]


def qemu_server(st, node):
    """The node's qemu-server version: its own (cluster file) or the profile's."""
    n = st["nodes"].get(node) or {}
    return n.get("qemu_server") or package("qemu-server")


def nvml_vgpu_types(st, node):
    """qemu-server >= 9.1.11 reads NVIDIA vGPU types through NVML on the PF."""
    return at_least(qemu_server(st, node), "9.1.11")


def requires_error(newpath, required_path):
    """(error key, text) of a `requires` violation (pve-common check_object)."""
    common = package("libpve-common-perl")
    if at_least(common, "9.0.8"):
        return required_path, "missing property required by '%s'" % newpath
    return required_path, "missing property - '%s' requires this property" % newpath


# keys a release's named formats lack (removed from the 9.x formats.json)
MISSING_FORMAT_KEYS = {
    "8.4": {"pve-qm-hostpci": ["driver"]},
}


def trim_formats(named_formats, which):
    for fmt, keys in MISSING_FORMAT_KEYS.get(which, {}).items():
        f = named_formats.get(fmt)
        if f is None:
            continue
        for k in keys:
            f.pop(k, None)
    return named_formats
