#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Simulate a reboot of a fake host root built by mkroot.py: boot what is configured.

    simreboot.py ROOT

Reads the boot configuration the root holds now and rewrites the live state
(proc/, sys/) as the node would come up with it:

  proc/cmdline     GRUB: "BOOT_IMAGE=… root=… ro" (kept from the old command
                   line) + GRUB_CMDLINE_LINUX + GRUB_CMDLINE_LINUX_DEFAULT, as
                   /bin/sh evaluates etc/default/grub and then every
                   etc/default/grub.d/*.cfg (what update-grub does);
                   systemd-boot (etc/kernel/cmdline and
                   etc/kernel/proxmox-boot-uuids present): "initrd=…" (kept)
                   + the first line of etc/kernel/cmdline
  drivers          a device goes to vfio-pci when its vendor:device is in an
                   `options vfio-pci ids=…` line of etc/modprobe.d/*.conf, or
                   a udev rule in etc/udev/rules.d/*.rules sets
                   ATTR{driver_override}="vfio-pci" for its KERNEL=="ADDR"
                   (driver_override then reads vfio-pci); a device whose
                   driver is blacklisted (`blacklist X`) comes up unbound;
                   driver and drivers/<drv>/<bdf> links and uevent follow
  modules          proc/modules and sys/module/: the old list minus
                   blacklisted modules, plus etc/modules and
                   etc/modules-load.d/*.conf, plus the vfio modules when a
                   device is on vfio-pci
  sriov_numvfs     set from a udev rule ATTR{sriov_numvfs}="N" for
                   KERNEL=="PF" (only while it is 0, as the rule says); VF
                   devices are not created: a warning names the difference
  iommu groups     type "identity" with iommu=pt on the command line, else
                   "DMA-FQ"

Not simulated: enabling an IOMMU that was off (groups are not created),
systemd units (tests play recorded `systemctl` commands themselves),
proc/interrupts. Prints one line per change on stdout. Standard library only.
"""

import glob
import os
import re
import shlex
import subprocess
import sys

VFIO_MODULES = ["vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "vfio"]


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError):
        return default


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".simreboot"
    with open(tmp, "w") as f:
        f.write(text)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def conf_lines(pattern):
    """Non-comment lines of the files matching pattern (sorted by name, like modprobe and udev)."""
    out = []
    for path in sorted(glob.glob(pattern), key=os.path.basename):
        for line in (read(path) or "").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def grub_cmdline(root):
    """GRUB_CMDLINE_LINUX and _DEFAULT after sourcing etc/default/grub and the grub.d drop-ins."""
    files = [os.path.join(root, "etc/default/grub")]
    files += sorted(glob.glob(os.path.join(root, "etc/default/grub.d/*.cfg")))
    script = "".join(". %s\n" % shlex.quote(f) for f in files if os.path.isfile(f))
    script += 'printf "%s\\n%s\\n" "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT"\n'
    p = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin"}, check=True)
    linux, default = (p.stdout.split("\n") + ["", ""])[:2]
    return linux.split() + default.split()


def new_cmdline(root, old):
    old_words = old.split()
    kcmd = os.path.join(root, "etc/kernel/cmdline")
    if os.path.exists(os.path.join(root, "etc/kernel/proxmox-boot-uuids")) and (read(kcmd) or "").strip():
        prefix = [w for w in old_words if w.startswith("initrd=")]
        return prefix + read(kcmd).splitlines()[0].split()
    prefix = [w for w in old_words if w.startswith(("BOOT_IMAGE=", "root=")) or w in ("ro", "rw")]
    return prefix + grub_cmdline(root)


def vfio_ids(root):
    ids = set()
    for line in conf_lines(os.path.join(root, "etc/modprobe.d/*.conf")):
        w = line.split()
        if len(w) >= 3 and w[0] == "options" and w[1] in ("vfio-pci", "vfio_pci"):
            for opt in w[2:]:
                if opt.startswith("ids="):
                    for i in opt[4:].split(","):
                        ids.add(i.strip().lower())
    return ids


def blacklisted(root):
    out = set()
    for line in conf_lines(os.path.join(root, "etc/modprobe.d/*.conf")):
        w = line.split()
        if len(w) == 2 and w[0] == "blacklist":
            out.add(w[1].replace("-", "_"))
    return out


def udev_rules(root):
    """(driver_override addresses, {pf: numvfs}) from the udev rules."""
    override, numvfs = set(), {}
    for line in conf_lines(os.path.join(root, "etc/udev/rules.d/*.rules")):
        m = re.search(r'KERNEL=="([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])"', line)
        if not m:
            continue
        if re.search(r'ATTR\{driver_override\}="vfio-pci"', line):
            override.add(m.group(1))
        n = re.search(r'ATTR\{sriov_numvfs\}="(\d+)"', line)
        if n:
            numvfs[m.group(1)] = int(n.group(1))
    return override, numvfs


def modules_to_load(root):
    mods = []
    for line in conf_lines(os.path.join(root, "etc/modules")):
        mods.append(line.split()[0])
    for path in sorted(glob.glob(os.path.join(root, "etc/modules-load.d/*.conf")), key=os.path.basename):
        if os.path.realpath(path) == os.path.realpath(os.path.join(root, "etc/modules")):
            continue
        for line in (read(path) or "").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", ";")):
                mods.append(line.split()[0])
    return [m.replace("-", "_") for m in mods]


def rebind(root, addr, new_driver, changes):
    pci = os.path.join(root, "sys/bus/pci")
    devdir = os.path.realpath(os.path.join(pci, "devices", addr))
    link = os.path.join(devdir, "driver")
    old = os.path.basename(os.readlink(link)) if os.path.islink(link) else None
    if old == new_driver:
        return
    if old:
        os.unlink(link)
        try:
            os.unlink(os.path.join(pci, "drivers", old, addr))
        except FileNotFoundError:
            pass
    if new_driver:
        ddir = os.path.join(pci, "drivers", new_driver)
        if not os.path.isdir(ddir):
            for f in ("bind", "unbind", "new_id", "remove_id", "uevent"):
                write(os.path.join(ddir, f), "")
                os.chmod(os.path.join(ddir, f), 0o200)
        os.symlink(os.path.relpath(ddir, devdir), link)
        os.symlink(os.path.relpath(devdir, ddir), os.path.join(ddir, addr))
    uev = read(os.path.join(devdir, "uevent"), "")
    lines = [l for l in uev.splitlines() if not l.startswith("DRIVER=")]
    if new_driver:
        lines.insert(0, "DRIVER=" + new_driver)
    write(os.path.join(devdir, "uevent"), "".join(l + "\n" for l in lines))
    changes.append("%s: %s -> %s" % (addr, old or "(none)", new_driver or "(none)"))


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        print("usage: simreboot.py ROOT", file=sys.stderr)
        return 64
    root = os.path.abspath(argv[1])
    pci = os.path.join(root, "sys/bus/pci")
    if not os.path.isdir(os.path.join(pci, "devices")):
        print("simreboot.py: '%s' is not a fake root (no sys/bus/pci/devices)" % root, file=sys.stderr)
        return 1
    changes = []

    old_cmd = (read(os.path.join(root, "proc/cmdline")) or "").strip()
    cmd = " ".join(new_cmdline(root, old_cmd))
    if cmd != old_cmd:
        write(os.path.join(root, "proc/cmdline"), cmd + "\n")
        changes.append("cmdline: %s" % cmd)

    ids, black = vfio_ids(root), blacklisted(root)
    override, numvfs = udev_rules(root)
    any_vfio = False
    for addr in sorted(os.listdir(os.path.join(pci, "devices"))):
        devdir = os.path.realpath(os.path.join(pci, "devices", addr))
        vid = (read(os.path.join(devdir, "vendor"), "") or "").strip().replace("0x", "")
        did = (read(os.path.join(devdir, "device"), "") or "").strip().replace("0x", "")
        link = os.path.join(devdir, "driver")
        cur = os.path.basename(os.readlink(link)) if os.path.islink(link) else None
        want = cur
        if "%s:%s" % (vid, did) in ids or addr in override:
            want = "vfio-pci"
        elif cur and cur.replace("-", "_") in black:
            want = None
        ovr = os.path.join(devdir, "driver_override")
        if os.path.exists(ovr):
            val = "vfio-pci" if addr in override else "(null)"
            if (read(ovr) or "").strip() != val:
                write(ovr, val + "\n")
        rebind(root, addr, want, changes)
        any_vfio = any_vfio or want == "vfio-pci"
        if addr in numvfs:
            f = os.path.join(devdir, "sriov_numvfs")
            if os.path.exists(f) and (read(f) or "0").strip() == "0" and numvfs[addr]:
                write(f, "%d\n" % numvfs[addr])
                changes.append("%s: sriov_numvfs %d" % (addr, numvfs[addr]))
            have = len(glob.glob(os.path.join(devdir, "virtfn*")))
            if have != int((read(f) or "0").strip() or 0):
                print("simreboot.py: warning: %s has %d VF devices, sriov_numvfs says %s (VFs are not created)"
                      % (addr, have, (read(f) or "0").strip()), file=sys.stderr)

    mods_path = os.path.join(root, "proc/modules")
    old_mods = [l.split()[0] for l in (read(mods_path) or "").splitlines() if l.strip()]
    mods = [m for m in old_mods if m not in black]
    for m in modules_to_load(root) + (VFIO_MODULES if any_vfio else []):
        if m not in mods:
            mods.append(m)
    if mods != old_mods:
        write(mods_path, "".join("%s %d 0 - Live 0x0000000000000000\n" % (m, 16384 + 4096 * i)
                                 for i, m in enumerate(mods)))
        for m in sorted(set(mods) - set(old_mods)):
            os.makedirs(os.path.join(root, "sys/module", m), exist_ok=True)
        for m in sorted(set(old_mods) - set(mods)):
            d = os.path.join(root, "sys/module", m)
            if os.path.isdir(d) and not os.listdir(d):
                os.rmdir(d)
        changes.append("modules: +%s -%s" % (",".join(sorted(set(mods) - set(old_mods))) or "none",
                                             ",".join(sorted(set(old_mods) - set(mods))) or "none"))

    gtype = "identity" if "iommu=pt" in cmd.split() else "DMA-FQ"
    for t in glob.glob(os.path.join(root, "sys/kernel/iommu_groups/*/type")):
        if (read(t) or "").strip() != gtype:
            write(t, gtype + "\n")
    for c in changes:
        print(c)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
