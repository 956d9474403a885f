#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Build a machine description (tests/machines/FORMAT.md) from what users post.

    import_listing.py LISTING.txt [-o MACHINE.json] [--strict]
    import_listing.py --check DIR      re-import every DIR/listings/*.txt and compare with DIR/<name>.json
    import_listing.py --update DIR     re-import every DIR/listings/*.txt into DIR/<name>.json

A listing file has a header, a line "----", then the users' command output
verbatim: `lspci -nnk` (optionally -v/-vv/-vvv) and/or the output of the usual
IOMMU-group loop, in any order:

    IOMMU Group 1:                          (find ... | sort -V; lspci -nns per device)
    \t00:01.0 PCI bridge [0604]: ...
    IOMMU Group 1 00:01.0 PCI bridge ...    (one line per device, with or without ':')

Lines "== lspci" and "== groups" may separate the two outputs explicitly;
without them a line "IOMMU Group N" starts the group listing and a shell prompt
or a blank line ends it.

Header lines are "key: value" (comments start with '#'):

    source: URL                  where the listing was posted (repeatable; required)
    name: NAME                   machine id (required)
    description: TEXT
    cpu: VENDOR_ID | MODEL NAME | COUNT       e.g. "AuthenticAMD | AMD Ryzen 7 5700G ... | 16"
    flags: svm ...               /proc/cpuinfo flags (default: vmx or svm by vendor)
    kernel: 6.8.12-4-pve
    loader: grub|systemd-boot    efi: yes|no
    cmdline: ...                 /proc/cmdline
    grub_cmdline_linux_default: ...     etc_kernel_cmdline: ...
    iommu: on|off                firmware_table: DMAR|IVRS|none     interrupt_remapping: yes|no
    modules: a b c               /proc/modules
    iomem_bootfb: ADDR
    fact: ADDR {json}            a fact about one device that the listing does not show
                                 (merged into the device; its keys stop being unknown)

The header is the scenario (boot state, CPU) the tests put the machine in; the
devices, their groups, drivers and subsystems come from the listing only.
What the listing does not show is never guessed: the device's "unknown" list
names it (driver, iommu_group, subsystem, parent, reset_method, boot_vga,
prog_if), and the consumers show it as unknown.

Python 3 standard library only.
"""

import json
import os
import re
import sys

# pci.ids vendor names, used only to split "<vendor name> <device name>" in an lspci line
# (the split is deterministic: no dependency on the build host's pci.ids).
VENDORS = {
    "1000": "Broadcom / LSI",
    "1002": "Advanced Micro Devices, Inc. [AMD/ATI]",
    "1022": "Advanced Micro Devices, Inc. [AMD]",
    "1025": "Acer Incorporated [ALI]",
    "1028": "Dell",
    "1043": "ASUSTeK Computer Inc.",
    "103c": "Hewlett-Packard Company",
    "10de": "NVIDIA Corporation",
    "10ec": "Realtek Semiconductor Co., Ltd.",
    "1106": "VIA Technologies, Inc.",
    "11ab": "Marvell Technology Group Ltd.",
    "1179": "Toshiba Corporation",
    "126f": "Silicon Motion, Inc.",
    "144d": "Samsung Electronics Co Ltd",
    "1458": "Gigabyte Technology Co., Ltd",
    "1462": "Micro-Star International Co., Ltd. [MSI]",
    "148c": "Tul Corporation / PowerColor",
    "14e4": "Broadcom Inc. and subsidiaries",
    "152d": "Quanta Computer Inc",
    "1558": "CLEVO/KAPOK Computer",
    "1569": "Palit Microsystems Inc.",
    "15b3": "Mellanox Technologies",
    "15b7": "Sandisk Corp",
    "15d9": "Super Micro Computer Inc",
    "1682": "XFX Pine Group Inc.",
    "168c": "Qualcomm Atheros",
    "1734": "Fujitsu Technology Solutions",
    "174b": "PC Partner Limited / Sapphire Technology",
    "17aa": "Lenovo",
    "1849": "ASRock Incorporation",
    "1912": "Renesas Technology Corp.",
    "1969": "Qualcomm Atheros",
    "196e": "PNY",
    "1987": "Phison Electronics Corporation",
    "19da": "ZOTAC International (MCO) Ltd.",
    "1a03": "ASPEED Technology, Inc.",
    "1b21": "ASMedia Technology Inc.",
    "1b4b": "Marvell Technology Group Ltd.",
    "1c5c": "SK hynix",
    "1cc1": "ADATA Technology Co., Ltd.",
    "1d6a": "Aquantia Corp.",
    "1da2": "Sapphire Technology Limited",
    "1e0f": "KIOXIA Corporation",
    "1e4b": "MAXIO Technology (Hangzhou) Ltd.",
    "2646": "Kingston Technology Company, Inc.",
    "3842": "eVga.com. Corp.",
    "8086": "Intel Corporation",
    "c0a9": "Micron/Crucial Technology",
    "1344": "Micron Technology Inc",
    "1cc4": "Shenzhen Unionmemory Information System Ltd.",
    "1bb1": "Seagate Technology PLC",
    "10b5": "PLX Technology, Inc.",
    "1b73": "Fresco Logic",
    "1217": "O2 Micro, Inc.",
    "10ee": "Xilinx Corporation",
    "1d0f": "Amazon.com, Inc.",
    "1af4": "Red Hat, Inc.",
    "1b36": "Red Hat, Inc.",
    "1d17": "Zhaoxin",
    "1414": "Microsoft Corporation",
}

UNKNOWN_KEYS = ("driver", "iommu_group", "subsystem", "parent", "reset_method", "boot_vga", "prog_if")

DEV_RE = re.compile(
    r"^(?:(?P<dom>[0-9a-fA-F]{4}):)?(?P<bus>[0-9a-fA-F]{2}):(?P<dev>[0-9a-fA-F]{2})\.(?P<fn>[0-7])\s+"
    r"(?P<cname>[^\[\]]*?)\s*\[(?P<cc>[0-9a-fA-F]{4})\]:?\s*(?P<text>.*)\[(?P<ven>[0-9a-fA-F]{4}):"
    r"(?P<did>[0-9a-fA-F]{4})\](?P<tail>.*)$")
ADDR_START_RE = re.compile(r"^(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]\s")
GROUP_RE = re.compile(r"^(?:IOMMU\s+[Gg]roup\s+(\S+?)\s*:?|\[IOMMU\s+(\S+?)\])(?:\s+(.*))?$")
PROMPT_RE = re.compile(r"^(?:\S+@\S+\s*\S*\s*[#$%]|[#$%>]\s)")
SUBSYS_RE = re.compile(r"^Subsystem:\s*(?P<text>.*?)\s*\[(?P<sv>[0-9a-fA-F]{4}):(?P<sd>[0-9a-fA-F]{4})\]\s*$")
REV_RE = re.compile(r"\(rev ([0-9a-fA-F]{2})\)")
PROGIF_RE = re.compile(r"\(prog-if ([0-9a-fA-F]{2})")
TAIL_DRIVER_RE = re.compile(r"\(driver: ([A-Za-z0-9_.-]+)\)")   # some group scripts append it
BUS_RE = re.compile(r"^Bus:\s*primary=([0-9a-fA-F]{2}),\s*secondary=([0-9a-fA-F]{2})")
VGROUP_RE = re.compile(r"(?:^IOMMU group:\s*(\d+)\s*$|IOMMU group (\d+)\s*$)")
HEX_DEVICE_RE = re.compile(r"^(?:Device(?: [0-9a-fA-F]{4})?|unknown)$")   # lspci's "no name in pci.ids"
DETAIL_RE = re.compile(r"^[A-Za-z][\w /().-]*:(\s|$)")


class ImportError_(ValueError):
    """A listing that cannot be turned into a machine (the message names the line)."""


class Device:
    def __init__(self, addr, cc, cname, text, ven, did, tail, line):
        self.addr = addr
        self.cc = cc.lower()
        self.cname = cname
        self.text = text.strip()
        self.ven = ven.lower()
        self.did = did.lower()
        m = REV_RE.search(tail)
        self.rev = m.group(1).lower() if m else None
        m = PROGIF_RE.search(tail)
        self.prog_if = m.group(1).lower() if m else None
        self.line = line
        self.group = None
        self.in_lspci_k = False      # seen as a device of an `lspci -k` listing (driver lines apply)
        self.driver = None
        self.subsys = None           # (sv, sd, text)
        self.secondary = None        # bridge: secondary bus (from -vv "Bus:")
        self.details = False         # any detail line seen under it

    def same_ids(self, other):
        return (self.ven, self.did, self.cc) == (other.ven, other.did, other.cc)


def norm_addr(m):
    dom = (m.group("dom") or "0000").lower()
    return "%s:%s:%s.%s" % (dom, m.group("bus").lower(), m.group("dev").lower(), m.group("fn"))


def split_vendor(ven, text):
    """("Intel Corporation", "Alder Lake-S GT1 [UHD Graphics 730]") from the lspci text."""
    name = VENDORS.get(ven)
    if name and text.startswith(name):
        rest = text[len(name):].strip()
        return name, (None if not rest or HEX_DEVICE_RE.match(rest) else rest)
    m = re.match(r"^(.*?)\s+Device [0-9a-fA-F]{4}$", text)
    if m:
        return m.group(1) or None, None
    return None, text or None


def parse_header(lines):
    hdr = {"source": [], "fact": []}
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if ":" not in line:
            raise ImportError_("header line %d: expected 'key: value', got %r" % (n, line))
        k, v = line.split(":", 1)
        k, v = k.strip(), v.strip()
        if k in ("source", "fact"):
            hdr[k].append((n, v))
        elif k in hdr:
            raise ImportError_("header line %d: '%s' given twice" % (n, k))
        else:
            hdr[k] = v
    return hdr


def parse_listing(lines, first_line=1):
    """Devices (by address) and warnings from the verbatim output."""
    devs = {}
    order = []
    warnings = []
    mode = None          # None (auto), "lspci", "groups"
    explicit = False
    group = None         # current group in a header-style group listing
    last = None
    saw_groups = False
    saw_lspci_k = False
    saw_driver_line = False

    def add(m, n, grp, from_lspci):
        nonlocal last
        a = norm_addr(m)
        d = Device(a, m.group("cc"), m.group("cname"), m.group("text"), m.group("ven"), m.group("did"),
                   m.group("tail"), n)
        old = devs.get(a)
        if old is not None:
            if not old.same_ids(d):
                raise ImportError_("line %d: %s is [%s:%s] class %s here but [%s:%s] class %s on line %d" % (
                    n, a, d.ven, d.did, d.cc, old.ven, old.did, old.cc, old.line))
            if old.rev is None:
                old.rev = d.rev
            if old.prog_if is None:
                old.prog_if = d.prog_if
            d = old
        else:
            devs[a] = d
            order.append(a)
        if grp is not None:
            if d.group is not None and d.group != grp:
                raise ImportError_("line %d: %s is in IOMMU group %d here but in group %d on an earlier line" % (
                    n, a, grp, d.group))
            d.group = grp
        if from_lspci:
            d.in_lspci_k = True
        last = d
        return d

    for n, raw in enumerate(lines, first_line):
        line = raw.rstrip("\r\n")
        if re.match(r"^`{3}[\w-]*$", line.strip()):
            continue         # a Markdown code fence around the output: not a boundary
        s = line.strip().strip("`")
        if s.startswith("== "):
            what = s[3:].strip().lower()
            if what.startswith("lspci"):
                mode, explicit, group, last = "lspci", True, None, None
            elif what.startswith("group") or what.startswith("iommu"):
                mode, explicit, group, last = "groups", True, None, None
            else:
                raise ImportError_("line %d: unknown section %r (== lspci or == groups)" % (n, s))
            continue
        if not s:
            if not explicit:
                group = None
                if mode == "groups":
                    mode = None
            continue
        if PROMPT_RE.match(s) and not ADDR_START_RE.match(s):
            if not explicit:
                mode, group = None, None
            last = None
            continue
        gm = GROUP_RE.match(s)
        if gm:
            gnum = gm.group(1) or gm.group(2)
            if not gnum.isdigit():
                rest = (gm.group(3) or "").strip()
                m = DEV_RE.match(rest) if rest else None
                if gnum == "*" and m:
                    # the group loop with no group at all: the glob stays unexpanded and `lspci -nns "*"`
                    # lists every device -- a listing of a node whose IOMMU is off
                    warnings.append("line %d: 'IOMMU Group *': no IOMMU groups on this node" % n)
                    add(m, n, None, False)
                    mode, group = None, None
                    continue
                warnings.append("line %d: IOMMU group number %r is not a number; line ignored" % (n, gnum))
                group, last = None, None
                continue
            saw_groups = True
            g = int(gnum)
            rest = (gm.group(3) or "").strip().lstrip("-").strip()
            if not explicit and not rest:
                mode = "groups"      # "IOMMU Group N:" heads a block of indented devices
            if rest:
                m = DEV_RE.match(rest)
                if not m:
                    warnings.append("line %d: cannot read the device of %r; line ignored" % (n, s))
                    last = None
                    continue
                d = add(m, n, g, False)
                tm = TAIL_DRIVER_RE.search(m.group("tail"))
                if tm:
                    d.driver = tm.group(1)
                    d.in_lspci_k = True
                    saw_driver_line = True
                group = None
            else:
                group = g
                last = None
            continue
        if ADDR_START_RE.match(s):
            m = DEV_RE.match(s)
            if not m:
                warnings.append("line %d: device line without [vendor:device] and [class] ids "
                                "(lspci without -nn?): %r; ignored" % (n, s))
                last = None
                continue
            if mode == "groups":
                if group is None:
                    warnings.append("line %d: device line in a group listing before any 'IOMMU Group N'; "
                                    "group unknown" % n)
                add(m, n, group, False)
            else:
                add(m, n, None, True)
                saw_lspci_k = True
            continue
        # a detail line of the last device (indented in lspci's output, "Key: value")
        if last is None or (raw[:1] not in (" ", "\t") and not DETAIL_RE.match(s)):
            warnings.append("line %d: not a device, group or detail line: %r; ignored" % (n, s))
            continue
        last.details = True
        if s.startswith("Kernel driver in use:"):
            drv = s.split(":", 1)[1].strip()
            if not re.match(r"^[A-Za-z0-9_.-]+$", drv):
                warnings.append("line %d: driver name %r is not a driver name; ignored" % (n, drv))
                continue
            if last.driver is not None and last.driver != drv:
                raise ImportError_("line %d: %s bound to %s here but to %s earlier" % (n, last.addr, drv,
                                                                                      last.driver))
            last.driver = drv
            last.in_lspci_k = True
            saw_driver_line = True
        elif s.startswith("Subsystem:"):
            sm = SUBSYS_RE.match(s)
            if sm:
                last.subsys = (sm.group("sv").lower(), sm.group("sd").lower(), sm.group("text"))
            else:
                warnings.append("line %d: Subsystem line without [vendor:device] ids: %r; ignored" % (n, s))
        elif BUS_RE.match(s):
            last.secondary = BUS_RE.match(s).group(2).lower()
        elif VGROUP_RE.search(s) and (s.startswith("IOMMU group:") or s.startswith("Flags:")):
            vg = VGROUP_RE.search(s)
            g = int(vg.group(1) or vg.group(2))
            if last.group is not None and last.group != g:
                raise ImportError_("line %d: %s in IOMMU group %d here but %d earlier" % (n, last.addr, g,
                                                                                          last.group))
            last.group = g
            saw_groups = True
        elif s.startswith("Kernel modules:"):
            saw_driver_line = True       # `lspci -k`: a device without "Kernel driver in use" is unbound
            last.in_lspci_k = True
        # everything else (Control, Capabilities, ...) is not needed
    if not saw_driver_line:
        # `lspci -nn` without -k: a missing driver line says nothing
        for d in devs.values():
            d.in_lspci_k = False
    return devs, order, warnings, saw_groups, saw_lspci_k


def yes(v, key):
    if v is None:
        return None
    if v.lower() in ("yes", "on", "true", "1"):
        return True
    if v.lower() in ("no", "off", "false", "0"):
        return False
    raise ImportError_("header: %s must be yes or no, not %r" % (key, v))


def build_machine(text, listing_rel=None):
    """(machine dict, warnings) from a listing file's text."""
    lines = text.splitlines()
    try:
        sep = next(i for i, l in enumerate(lines) if l.strip() == "----")
    except StopIteration:
        raise ImportError_("no '----' line between the header and the listing") from None
    hdr = parse_header(lines[:sep])
    for k in ("name",):
        if not hdr.get(k):
            raise ImportError_("header: '%s' is required" % k)
    if not hdr["source"]:
        raise ImportError_("header: at least one 'source: URL' is required")
    devs, order, warnings, saw_groups, saw_lspci_k = parse_listing(lines[sep + 1:], sep + 2)
    if not devs:
        raise ImportError_("the listing has no device line")

    iommu_on = yes(hdr.get("iommu"), "iommu")
    if iommu_on is None:   # groups in the listing or stated by a fact: the IOMMU was on
        iommu_on = saw_groups or any("iommu_group" in v for _, v in hdr["fact"] if '"iommu_group"' in v)
    cpu_parts = [p.strip() for p in (hdr.get("cpu") or "").split("|")] if hdr.get("cpu") else []
    vendor_id = cpu_parts[0] if cpu_parts else ("AuthenticAMD" if any(d.ven == "1022" for d in devs.values())
                                               else "GenuineIntel")
    if vendor_id not in ("GenuineIntel", "AuthenticAMD"):
        raise ImportError_("header: cpu vendor must be GenuineIntel or AuthenticAMD, not %r" % vendor_id)
    model = cpu_parts[1] if len(cpu_parts) > 1 else None
    count = int(cpu_parts[2]) if len(cpu_parts) > 2 else 8
    flags = (hdr.get("flags") or ("fpu vme sse sse2 vmx" if vendor_id == "GenuineIntel" else "fpu vme sse sse2 svm"))
    table = hdr.get("firmware_table", "DMAR" if vendor_id == "GenuineIntel" else "IVRS")
    if table not in ("DMAR", "IVRS", "none"):
        raise ImportError_("header: firmware_table must be DMAR, IVRS or none")
    kernel = hdr.get("kernel") or "6.8.12-4-pve"
    loader = hdr.get("loader") or "grub"
    if loader not in ("grub", "systemd-boot"):
        raise ImportError_("header: loader must be grub or systemd-boot")
    boot = {"loader": loader, "efi": yes(hdr.get("efi"), "efi") if hdr.get("efi") else True,
            "cmdline": hdr.get("cmdline") or ("BOOT_IMAGE=/boot/vmlinuz-%s root=/dev/mapper/pve-root ro quiet" % kernel)}
    if loader == "grub":
        boot["grub_cmdline_linux_default"] = hdr.get("grub_cmdline_linux_default", "quiet")
    else:
        boot["etc_kernel_cmdline"] = hdr.get("etc_kernel_cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs")

    bridges_known = any(d.secondary is not None for d in devs.values())
    by_secondary = {}
    for d in devs.values():
        if d.secondary is not None:
            by_secondary[(d.addr[:4], d.secondary)] = d.addr

    facts = {}
    for n, v in hdr["fact"]:
        parts = v.split(None, 1)
        if len(parts) != 2:
            raise ImportError_("header line %d: fact: ADDR {json}" % n)
        a = parts[0].lower()
        if not re.match(r"^[0-9a-f]{4}:", a):
            a = "0000:" + a
        if a not in devs:
            raise ImportError_("header line %d: fact for %s, which the listing does not show" % (n, a))
        try:
            f = json.loads(parts[1])
        except ValueError as e:
            raise ImportError_("header line %d: fact value is not JSON: %s" % (n, e)) from None
        if not isinstance(f, dict):
            raise ImportError_("header line %d: fact value must be a JSON object" % n)
        facts.setdefault(a, {}).update(f)

    out = []
    for a in sorted(order):
        d = devs[a]
        unknown = []
        vname, dname = split_vendor(d.ven, d.text)
        if vname is None and d.ven not in VENDORS:
            warnings.append("%s: vendor %s is not in VENDORS; whole text kept as the device name" % (a, d.ven))
        e = {"addr": a}
        # parent: known from -vv "Bus:" lines, or for a device on bus 00 of a listing without them
        bus = a[5:7]
        if bridges_known:
            e["parent"] = by_secondary.get((a[:4], bus))
        elif bus == "00":
            e["parent"] = None
        else:
            e["parent"] = None
            unknown.append("parent")
        e["vendor"], e["device"] = d.ven, d.did
        if d.subsys:
            e["subsystem_vendor"], e["subsystem_device"] = d.subsys[0], d.subsys[1]
        elif not d.in_lspci_k:
            unknown.append("subsystem")
        e["class"] = d.cc + (d.prog_if or "00")
        if d.prog_if is None:
            unknown.append("prog_if")
        if d.rev:
            e["revision"] = d.rev
        if d.group is not None:
            e["iommu_group"] = d.group
        elif iommu_on:
            e["iommu_group"] = None
            unknown.append("iommu_group")
        e["driver"] = d.driver
        if d.driver is None and not d.in_lspci_k:
            unknown.append("driver")
        e["reset_method"] = None
        unknown.append("reset_method")
        if d.cc == "0300":
            unknown.append("boot_vga")
        names = {}
        if vname:
            names["vendor"] = vname
        if dname:
            names["device"] = dname
        if d.subsys:
            svn, sdn = split_vendor(d.subsys[0], d.subsys[2])
            if svn:
                names["subsystem_vendor"] = svn
            if sdn:
                names["subsystem_device"] = sdn
        e["names"] = names
        for k, v in facts.get(a, {}).items():
            e[k] = v
            key = "subsystem" if k.startswith("subsystem_") else k
            if key in unknown:
                unknown.remove(key)
        if unknown:
            e["unknown"] = unknown
        out.append(e)

    m = {
        "name": hdr["name"],
        "description": hdr.get("description") or "",
        "source": [v for _, v in hdr["source"]],
    }
    if listing_rel:
        m["listing"] = listing_rel
    m.update({
        "cpu": {"vendor": vendor_id, "model_name": model or ("Intel CPU" if vendor_id == "GenuineIntel" else "AMD CPU"),
                "flags": flags.split(), "count": count},
        "kernel": kernel,
        "boot": boot,
        "iommu": {"enabled": bool(iommu_on), "firmware_table": None if table == "none" else table,
                  "interrupt_remapping": yes(hdr.get("interrupt_remapping"), "interrupt_remapping")
                  if hdr.get("interrupt_remapping") else bool(iommu_on)},
        "modules_loaded": (hdr.get("modules") or "").split(),
        "iomem_bootfb": hdr.get("iomem_bootfb") or None,
        "devices": out,
    })
    unknown_hdr = sorted(set(hdr) - {"source", "fact", "name", "description", "cpu", "flags", "kernel", "loader",
                                     "efi", "cmdline", "grub_cmdline_linux_default", "etc_kernel_cmdline", "iommu",
                                     "firmware_table", "interrupt_remapping", "modules", "iomem_bootfb"})
    if unknown_hdr:
        raise ImportError_("header: unknown key(s) %s" % ", ".join(unknown_hdr))
    return m, warnings


def dump(m):
    return json.dumps(m, indent=1, ensure_ascii=False) + "\n"


def import_file(path, machines_dir=None):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    rel = None
    if machines_dir:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(machines_dir))
    return build_machine(text, rel)


def check_dir(d, update=False):
    """Every listing imports to exactly the committed description (update: write them)."""
    bad = 0
    ldir = os.path.join(d, "listings")
    for fn in sorted(os.listdir(ldir)):
        if not fn.endswith(".txt"):
            continue
        try:
            m, warnings = import_file(os.path.join(ldir, fn), d)
        except ImportError_ as e:
            print("%s: %s" % (fn, e), file=sys.stderr)
            bad += 1
            continue
        for w in warnings:
            print("%s: warning: %s" % (fn, w), file=sys.stderr)
        want = os.path.join(d, m["name"] + ".json")
        if update:
            with open(want, "w", encoding="utf-8") as f:
                f.write(dump(m))
            continue
        try:
            with open(want, encoding="utf-8") as f:
                have = f.read()
        except OSError as e:
            print("%s: %s" % (fn, e), file=sys.stderr)
            bad += 1
            continue
        if have != dump(m):
            print("%s: %s is not what the importer makes of it (re-run import_listing.py)" % (fn, want),
                  file=sys.stderr)
            bad += 1
    return 1 if bad else 0


def main(argv):
    if len(argv) == 2 and argv[0] in ("--check", "--update"):
        return check_dir(argv[1], argv[0] == "--update")
    out = None
    strict = False
    args = []
    it = iter(argv)
    for a in it:
        if a == "-o":
            out = next(it, None)
        elif a == "--strict":
            strict = True
        else:
            args.append(a)
    if len(args) != 1 or args[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 64
    mdir = os.path.dirname(os.path.dirname(os.path.abspath(args[0])))
    try:
        m, warnings = import_file(args[0], mdir)
    except (OSError, ImportError_) as e:
        print("import_listing: %s: %s" % (args[0], e), file=sys.stderr)
        return 1
    for w in warnings:
        print("import_listing: %s: warning: %s" % (args[0], w), file=sys.stderr)
    if strict and warnings:
        return 1
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(dump(m))
    else:
        sys.stdout.write(dump(m))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
