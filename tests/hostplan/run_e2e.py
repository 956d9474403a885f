#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end test of `pvfio host plan | apply | rollback` on a generated fake root.

    run_e2e.py --pvfio BIN CASE.yaml

CASE.yaml is a profile whose header names the machine (tests/machines/<name>.json):
    # machine: laptop-ga107m
    # expect: refused            (optional: plan must fail; only the golden error is checked)

Steps, all on a root built by tests/mkroot/mkroot.py in a temporary directory:
 1. `host plan`            → stdout compared with golden/<case>.plan (exit 2; root path shown as <ROOT>)
 2. `host apply --yes`     → exit 0, every file of the plan written, commands recorded in
                             var/lib/pvfio/commands.log (compared with golden/<case>.commands), none run;
                             the test then does what a recorded `systemctl enable|disable` would do
 3. `host plan` again      → exit 0 "Nothing to do"
 4. `host apply --yes`     → exit 0, "Nothing to do", no file touched (inode, mtime, size of every
                             file under etc/ and var/ unchanged), no new command
 5. `host rollback --yes`  → exit 0, the refresh commands recorded, and the tree is identical to
                             the original (content, mode, owner, symlinks; `diff -r` agrees)
A case may add "# root-file: PATH: TEXT" lines (TEXT with \n escapes; an empty TEXT removes PATH): files
written into the root before anything runs, so they are part of the original tree (existing bindings,
GRUB drop-ins of the user).
A case may add "# apply: --rebind": plan and the first apply get --rebind, the test checks the
driver_override/unbind/drivers_probe writes, and sys/ (live state, not journalled) is left out of
the final comparison.
Set PVFIO_UPDATE_GOLDEN=1 to rewrite the golden files.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
UPDATE = os.environ.get("PVFIO_UPDATE_GOLDEN") == "1"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(pvfio, args, root):
    env = dict(os.environ, NO_COLOR="1", LC_ALL="C")
    p = subprocess.run([pvfio] + args, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    norm = lambda s: s.replace(root, "<ROOT>")
    return p.returncode, norm(p.stdout), norm(p.stderr)


def golden(name, text):
    path = os.path.join(HERE, "golden", name)
    if UPDATE:
        with open(path, "w") as f:
            f.write(text)
        return
    if not check(os.path.exists(path), "golden file %s missing (PVFIO_UPDATE_GOLDEN=1 creates it)" % name):
        return
    with open(path) as f:
        want = f.read()
    if not check(text == want, "output differs from golden/%s" % name):
        import difflib
        sys.stderr.writelines(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                                   "golden/" + name, "actual"))


def tree(root):
    """Everything below root: path -> (type, mode, uid, gid, content or link target)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p))
            elif os.path.isdir(p):
                out[rel] = ("dir", st.st_mode & 0o7777, st.st_uid, st.st_gid)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", st.st_mode & 0o7777, st.st_uid, st.st_gid, f.read())
    return out


def stats(root, tops=("etc", "var")):
    out = {}
    for top in tops:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            for name in filenames:
                p = os.path.join(dirpath, name)
                st = os.lstat(p)
                out[os.path.relpath(p, root)] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def act_as_systemctl(root, lines):
    """Do what the recorded `systemctl enable|disable UNIT` would have done on a real host."""
    for line in lines.splitlines():
        w = line.split()
        if len(w) == 3 and w[0] == "systemctl" and w[1] in ("enable", "disable"):
            d = os.path.join(root, "etc/systemd/system/multi-user.target.wants")
            link = os.path.join(d, w[2])
            if w[1] == "enable":
                os.makedirs(d, exist_ok=True)
                os.symlink("/lib/systemd/system/" + w[2].split("@")[0] + "@.service", link)
            else:
                os.remove(link)
                p = d
                while p != os.path.join(root, "etc") and not os.listdir(p):
                    os.rmdir(p)
                    p = os.path.dirname(p)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    ap.add_argument("case")
    a = ap.parse_args()
    case = os.path.splitext(os.path.basename(a.case))[0]
    header = open(a.case).read()
    machine = re.search(r"^# machine: (\S+)$", header, re.M).group(1)
    refused = re.search(r"^# expect: refused$", header, re.M) is not None
    extra = (re.search(r"^# apply: (.*)$", header, re.M) or re.match("()", "")).group(1).split()
    work = tempfile.mkdtemp(prefix="pvfio-e2e-%s-" % case)
    try:
        root = os.path.join(work, "root")
        subprocess.run([sys.executable, os.path.join(TOP, "tests/mkroot/mkroot.py"),
                        os.path.join(TOP, "tests/machines", machine + ".json"), root], check=True)
        for m in re.finditer(r"^# root-file: (\S+):(?: (.*))?$", header, re.M):
            p = os.path.join(root, m.group(1))
            text = (m.group(2) or "").encode().decode("unicode_escape")
            if not text:
                if os.path.lexists(p):
                    os.remove(p)
                continue
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        orig = tree(root)
        pristine = os.path.join(work, "pristine")
        shutil.copytree(root, pristine, symlinks=True)
        log = os.path.join(root, "var/lib/pvfio/commands.log")
        profile = os.path.abspath(a.case)

        # 1. plan
        rc, out, err = run(a.pvfio, ["host", "plan", profile, "--root", root] + extra, root)
        if refused:
            check(rc == 1, "refused plan exits 1 (got %d)" % rc)
            golden(case + ".plan", "# exit %d\n%s%s" % (rc, out, err.replace(profile, "<PROFILE>")))
            rc, out, err = run(a.pvfio, ["host", "apply", profile, "--root", root, "--yes"], root)
            check(rc == 1, "refused apply exits 1 (got %d)" % rc)
            check(tree(root) == orig, "a refused apply changes nothing")
            return
        check(rc == 2, "plan exits 2 when there are changes (got %d: %s)" % (rc, err))
        check(err == "", "plan writes nothing to stderr: %r" % err)
        golden(case + ".plan", "# exit %d\n%s" % (rc, out))

        # 2. apply
        rc, out, err = run(a.pvfio, ["host", "apply", profile, "--root", root, "--yes"] + extra, root)
        check(rc == 0, "apply exits 0 (got %d: %s%s)" % (rc, out[-400:], err))
        check("0 failed, 0 skipped" in out, "apply reports no failure")
        check("not run (--root is not '/')" in out, "apply says commands were recorded, not run")
        for m in re.finditer(r"^  [+~] (?:write|edit)-file (\S+)$", read(os.path.join(HERE, "golden", case + ".plan")) or "", re.M):
            check(os.path.exists(os.path.join(root, m.group(1))), "apply wrote %s" % m.group(1))
        for m in re.finditer(r"^  - remove-file (\S+)$", read(os.path.join(HERE, "golden", case + ".plan")) or "", re.M):
            check(not os.path.exists(os.path.join(root, m.group(1))), "apply removed %s" % m.group(1))
        check(os.path.exists(os.path.join(root, "var/lib/pvfio/journal.json")), "apply wrote the journal")
        commands = read(log) or ""
        golden(case + ".commands", commands)
        plan_text = read(os.path.join(HERE, "golden", case + ".plan")) or ""
        probed = None
        for m in re.finditer(r"^  ~ rebind-device (\S+)$", plan_text, re.M):
            bdf = m.group(1)
            check(read(os.path.join(root, "sys/bus/pci/devices", bdf, "driver_override")) == "vfio-pci",
                  "rebind wrote driver_override of %s" % bdf)
            drv = os.path.basename(os.readlink(os.path.join(root, "sys/bus/pci/devices", bdf, "driver")))
            check(read(os.path.join(root, "sys/bus/pci/drivers", drv, "unbind")) == bdf,
                  "rebind unbound %s from %s" % (bdf, drv))
            probed = bdf
        if probed:
            check(read(os.path.join(root, "sys/bus/pci/drivers_probe")) == probed, "rebind probed %s" % probed)
        act_as_systemctl(root, commands)   # a fake root runs nothing; play the unit manager

        # 3. plan again: nothing to do
        rc, out, err = run(a.pvfio, ["host", "plan", profile, "--root", root], root)
        check(rc == 0, "second plan exits 0 (got %d)" % rc)
        check("Nothing to do" in out, "second plan says nothing to do")

        # 4. apply again: no write, no command
        before = stats(root)
        rc, out, err = run(a.pvfio, ["host", "apply", profile, "--root", root, "--yes"], root)
        check(rc == 0, "second apply exits 0 (got %d)" % rc)
        check("Nothing to do" in out, "second apply says nothing to do")
        after = stats(root)
        for k in sorted(set(before) | set(after)):
            check(before.get(k) == after.get(k), "second apply left %s alone" % k)
        check((read(log) or "") == commands, "second apply ran no command")

        # 5. rollback: the original tree, refreshes recorded
        rc, out, err = run(a.pvfio, ["host", "rollback", "--root", root, "--yes"], root)
        check(rc == 0, "rollback exits 0 (got %d: %s%s)" % (rc, out, err))
        rolled = (read(log) or "")[len(commands):]
        act_as_systemctl(root, rolled)
        for cmd in ("update-initramfs -u -k all", "update-grub", "proxmox-boot-tool refresh"):
            check((cmd in commands) == (cmd in rolled), "rollback reruns '%s' exactly when apply ran it" % cmd)
            if cmd in rolled:
                check("recorded $ " + cmd in out, "rollback reports '%s'" % cmd)
        if "systemctl enable" in commands:
            check("systemctl disable pve-nvidia-sriov@ALL.service" in rolled, "rollback undoes the unit enable")
        # the command log is the only trace a fake root keeps; drop it and its fresh directories
        os.remove(log)
        for d in ("var/lib/pvfio", "var/lib", "var"):
            if d not in orig and os.path.isdir(os.path.join(root, d)) and not os.listdir(os.path.join(root, d)):
                os.rmdir(os.path.join(root, d))
        now = tree(root)
        if extra:   # live sysfs writes are not configuration: rollback leaves them (compare the rest)
            skip = lambda k: k.startswith("sys/")
            orig = {k: v for k, v in orig.items() if not skip(k)}
            now = {k: v for k, v in now.items() if not skip(k)}
        for k in sorted(set(orig) | set(now)):
            check(orig.get(k) == now.get(k), "rollback restored %s exactly" % k)
        d = subprocess.run(["diff", "-r", "--no-dereference"] + (["-x", "sys"] if extra else []) + [pristine, root],
                           capture_output=True, text=True)
        check(d.returncode == 0, "diff -r agrees: %s" % d.stdout[:400])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("ok")
