#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Host chaos test: `pvfio host apply` and `host rollback` killed at every boundary of their write sequence.

    host_chaos.py --pvfio BIN --fault PVFIO_FAULT_BIN [--case NAME ...]

PVFIO_FAULT_BIN is pvfio linked with tests/chaos/host_fault.c: every call that changes a file under
the root (creating/writing open, write, fsync, fchmod, fchown, ftruncate, mkdirat, renameat,
unlinkat) is a boundary; PVFIO_FAULT_AT=N kills the process (SIGKILL) just before the N-th one
(PVFIO_FAULT_MODE=fail: that call fails with EIO instead). The release binary has no such code.

For each case (a profile of tests/hostplan/cases on its machine from tests/machines, built with
tests/mkroot/mkroot.py; laptop-grub+romfiles adds two binary ROM installs to laptop-grub), on a fresh
copy of the root each time:
  apply-kill   N = 1..count: apply killed at N, then plain re-applies until `host plan` exits 0
               (at most 2), then rollback
  apply-fail   the same with the N-th call failing (a failed write, a failed refresh command);
               every --fail-stride-th N (default 3)
  concurrent   three applies at once (three rounds): all succeed one after the other, rollback exact
  rollback-kill after a clean apply, rollback killed at N, then a plain rollback
and every time:
  - rollback exits 0 and the root equals the original byte for byte (content, mode, owner, symlink
    targets; pvfio's own var/lib/pvfio/commands.log of recorded commands is the one thing left out)
  - no temporary file (.NAME.pvfio-PID-HEX) anywhere after the re-apply and after the rollback
  - converged within 2 re-applies; the journal owes no refresh afterwards
  - a refresh command whose input files the interrupted run changed (update-initramfs for
    modprobe.d/modules-load.d, update-grub for grub.d, proxmox-boot-tool refresh for
    etc/kernel/cmdline) and that it did not record afterwards is recorded by the next run
A fake root runs no command; the test plays systemctl for recorded `systemctl enable|disable`.
Prints the number of kill points exercised.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
# laptop-grub+romfiles: laptop-grub with two `romfiles` (binary install-file actions): one new file in
# usr/share/kvm (a directory pvfio creates) and one that replaces a file the node already has; the
# ROM images are synthetic (tests/mkroot/mkrom.py), built at test time.
ROM_CASE = "laptop-grub+romfiles"
CASES = ["workstation-sdboot", "laptop-grub", "nvidia-l4-vgpu", ROM_CASE]
OLD_ROM = b"\x55\xaa\x00old\xff\xfe\x00 rom of the node\n"
LOG = "var/lib/pvfio/commands.log"
JOURNAL = "var/lib/pvfio/journal.json"
TEMP = re.compile(r"^\..+\.pvfio-\d+-[0-9a-f]+$")
REFRESH = {
    "update-initramfs -u -k all": lambda p: p.startswith(("etc/modprobe.d/", "etc/modules-load.d/")),
    "update-grub": lambda p: p.startswith("etc/default/grub"),
    "proxmox-boot-tool refresh": lambda p: p == "etc/kernel/cmdline",
}
failures = []
stats = {"kill": 0, "fail": 0, "max_reapplies": 0}


def fail(what):
    failures.append(what)
    print("FAIL:", what, file=sys.stderr)


def run(binary, args, root, env_extra=None):
    env = dict(os.environ, NO_COLOR="1", LC_ALL="C")
    env.pop("PVFIO_FAULT_AT", None)
    env.update(env_extra or {})
    p = subprocess.run([binary] + args + ["--root", root], capture_output=True, text=True, env=env,
                       stdin=subprocess.DEVNULL, timeout=120)
    return p.returncode, p.stdout + p.stderr


def snapshot(root):
    """path -> (kind, mode, uid, gid, bytes-or-target); commands.log left out."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if rel == LOG:
                continue
            st = os.lstat(full)
            if os.path.islink(full):
                out[rel] = ("link", 0, st.st_uid, st.st_gid, os.readlink(full))
            elif os.path.isdir(full):
                out[rel] = ("dir", st.st_mode & 0o7777, st.st_uid, st.st_gid, None)
            else:
                with open(full, "rb") as f:
                    out[rel] = ("file", st.st_mode & 0o7777, st.st_uid, st.st_gid, f.read())
    return out


def compare(orig, now, what):
    # directories that exist only to hold commands.log
    log_dirs = {os.path.dirname(LOG), os.path.dirname(os.path.dirname(LOG)), "var"}
    diff = sorted(k for k in set(orig) | set(now)
                  if orig.get(k) != now.get(k) and not (k in log_dirs and k not in orig))
    if diff:
        fail("%s: root differs from the original at %s" % (what, ", ".join(diff[:6])))


def temps(root):
    return [os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs if TEMP.match(f)]


def log_lines(root):
    try:
        with open(os.path.join(root, LOG)) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


class Root:
    def __init__(self, pristine, tmp):
        self.path = os.path.join(tmp, "r")
        if os.path.exists(self.path):
            shutil.rmtree(self.path)
        subprocess.run(["cp", "-a", pristine, self.path], check=True)   # much faster than shutil.copytree
        self.seen = 0
        self.made = []

    def new_commands(self):
        """Recorded commands since the last call; plays systemctl for them."""
        lines = log_lines(self.path)
        new, self.seen = lines[self.seen:], len(lines)
        for line in new:
            w = line.split()
            if len(w) == 3 and w[0] == "systemctl" and w[1] in ("enable", "disable"):
                d = os.path.join(self.path, "etc/systemd/system/multi-user.target.wants")
                link = os.path.join(d, w[2])
                if w[1] == "enable" and not os.path.lexists(link):
                    parts = os.path.relpath(d, self.path).split(os.sep)
                    for i in range(1, len(parts) + 1):
                        sub = os.path.join(self.path, *parts[:i])
                        if not os.path.isdir(sub):
                            os.mkdir(sub)
                            self.made.append(sub)
                    os.symlink("/lib/systemd/system/" + w[2].split("@")[0] + "@.service", link)
                elif w[1] == "disable" and os.path.lexists(link):
                    os.unlink(link)
                    for sub in reversed(self.made):   # what this fake unit manager created for the link
                        if not os.listdir(sub):
                            os.rmdir(sub)
                    self.made = []
        return new


def owed_check(before, after, cmds_interrupted, cmds_next, what):
    """A refresh whose inputs the interrupted run changed, and that it did not record, must come next."""
    changed = [k for k in set(before) | set(after) if before.get(k) != after.get(k)]
    for cmd, is_input in REFRESH.items():
        if any(is_input(p) for p in changed) and cmd not in cmds_interrupted and cmd not in cmds_next:
            fail("%s: '%s' owed (inputs changed) but never run" % (what, cmd))


def converge(pvfio, profile, root, what):
    """Plain re-applies (at least one, at most 2) until `host plan` exits 0; returns the commands recorded."""
    cmds = []
    for n in range(1, 3):
        rc, out = run(pvfio, ["host", "apply", "--yes", profile], root.path)
        cmds += root.new_commands()
        if rc != 0:
            fail("%s: re-apply exited %d: %s" % (what, rc, out.strip()[-300:]))
        rc, out = run(pvfio, ["host", "plan", profile], root.path)
        if rc == 0:
            stats["max_reapplies"] = max(stats["max_reapplies"], n)
            return cmds
        if rc != 2:
            fail("%s: host plan exited %d: %s" % (what, rc, out.strip()[-300:]))
            return cmds
    fail("%s: not converged after 2 re-applies" % what)
    return cmds


def after_apply(pvfio, profile, root, orig, what):
    left = temps(root.path)
    if left:
        fail("%s: temporary files after re-apply: %s" % (what, left))
    try:
        with open(os.path.join(root.path, JOURNAL)) as f:
            if json.load(f).get("refresh_owed"):
                fail("%s: the journal still owes refreshes after convergence" % what)
    except FileNotFoundError:
        pass
    rc, out = run(pvfio, ["host", "rollback", "--yes"], root.path)
    root.new_commands()
    if rc != 0:
        fail("%s: rollback exited %d: %s" % (what, rc, out.strip()[-300:]))
    left = temps(root.path)
    if left:
        fail("%s: temporary files after rollback: %s" % (what, left))
    compare(orig, snapshot(root.path), what)


def count_boundaries(fault, args, root, tmp):
    cf = os.path.join(tmp, "count")
    rc, out = run(fault, args, root.path, {"PVFIO_FAULT_COUNT": cf})
    if rc != 0:
        fail("clean run of %s exited %d: %s" % (args, rc, out[-300:]))
    with open(cf) as f:
        return int(f.read())


def concurrent(args, profile, pristine, orig, tmp, case):
    """Three applies at once, three times: one at a time holds the host lock; rollback is exact."""
    env = dict(os.environ, NO_COLOR="1", LC_ALL="C")
    for round_ in range(3):
        what = "%s concurrent#%d" % (case, round_)
        r = Root(pristine, tmp)
        procs = [subprocess.Popen([args.pvfio, "host", "apply", "--yes", "--lock-timeout", "60", profile,
                                   "--root", r.path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=env) for _ in range(3)]
        for p in procs:
            out = p.communicate(timeout=180)[0]
            if p.returncode != 0:
                fail("%s: an apply exited %d: %s" % (what, p.returncode, out.decode()[-300:]))
        r.new_commands()
        rc, out = run(args.pvfio, ["host", "plan", profile], r.path)
        if rc != 0:
            fail("%s: not converged after concurrent applies (plan exit %d)" % (what, rc))
        after_apply(args.pvfio, profile, r, orig, what)


def rom_case_profile(tmp):
    """The ROM case's profile in tmp (with its synthetic images beside it)."""
    sys.path.insert(0, os.path.join(TOP, "tests", "mkroot"))
    import mkrom
    os.makedirs(os.path.join(tmp, "roms"), exist_ok=True)
    with open(os.path.join(tmp, "roms", "new.rom"), "wb") as f:
        f.write(mkrom.build_rom(0x10de, 0x25a0, efi=True))
    with open(os.path.join(tmp, "roms", "replace.rom"), "wb") as f:
        f.write(mkrom.build_rom(0x10de, 0x25a0, efi=False))
    with open(os.path.join(TOP, "tests/hostplan/cases/laptop-grub.yaml")) as f:
        text = f.read()
    text += ("    romfiles:\n"
             "      - {name: pvfio-new.rom, source: roms/new.rom}\n"
             "      - {name: replaced.rom, source: roms/replace.rom}\n")
    profile = os.path.join(tmp, ROM_CASE + ".yaml")
    with open(profile, "w") as f:
        f.write(text)
    return profile


def chaos_case(args, case, tmp):
    if case == ROM_CASE:
        profile = rom_case_profile(tmp)
    else:
        profile = os.path.join(TOP, "tests/hostplan/cases", case + ".yaml")
    with open(profile) as f:
        machine = re.search(r"^# machine: (\S+)", f.read(), re.M).group(1)
    pristine = os.path.join(tmp, "pristine")
    if os.path.exists(pristine):
        shutil.rmtree(pristine)
    subprocess.run([sys.executable, os.path.join(TOP, "tests/mkroot/mkroot.py"),
                    os.path.join(TOP, "tests/machines", machine + ".json"), pristine], check=True,
                   stdout=subprocess.DEVNULL)
    if case == ROM_CASE:
        # the file the second entry replaces: rollback must put these bytes (NULs, not UTF-8) back
        os.makedirs(os.path.join(pristine, "usr/share/kvm"), exist_ok=True)
        with open(os.path.join(pristine, "usr/share/kvm/replaced.rom"), "wb") as f:
            f.write(OLD_ROM)
        os.chmod(os.path.join(pristine, "usr/share/kvm/replaced.rom"), 0o600)
    orig = snapshot(pristine)
    apply_args = ["host", "apply", "--yes", profile]

    # the clean sequence: how many boundaries apply and rollback pass
    r = Root(pristine, tmp)
    n_apply = count_boundaries(args.fault, apply_args, r, tmp)
    r.new_commands()
    applied = snapshot(r.path)
    n_rollback = count_boundaries(args.fault, ["host", "rollback", "--yes"], r, tmp)
    r.new_commands()
    compare(orig, snapshot(r.path), case + " clean")
    print("%s: apply %d boundaries, rollback %d" % (case, n_apply, n_rollback))
    concurrent(args, profile, pristine, orig, tmp, case)

    for mode in ("kill", "fail"):
        for k in range(1, n_apply + 1, 1 if mode == "kill" else args.fail_stride):
            what = "%s apply-%s@%d" % (case, mode, k)
            r = Root(pristine, tmp)
            rc, out = run(args.fault, apply_args, r.path, {"PVFIO_FAULT_AT": str(k), "PVFIO_FAULT_MODE": mode})
            if mode == "kill" and rc != -9:
                fail("%s: expected the kill, exit %d" % (what, rc))
            cmds1 = r.new_commands()
            state1 = snapshot(r.path)
            cmds2 = converge(args.pvfio, profile, r, what)
            owed_check(orig, state1, cmds1, cmds2, what)
            after_apply(args.pvfio, profile, r, orig, what)
            stats[mode] += 1

    for mode in ("kill", "fail"):
        for k in range(1, n_rollback + 1, 1 if mode == "kill" else args.fail_stride):
            what = "%s rollback-%s@%d" % (case, mode, k)
            r = Root(pristine, tmp)
            rc, out = run(args.pvfio, apply_args, r.path)
            r.new_commands()
            before = snapshot(r.path)
            if before != applied:
                fail("%s: clean apply not reproducible" % what)
            rc, out = run(args.fault, ["host", "rollback", "--yes"], r.path,
                          {"PVFIO_FAULT_AT": str(k), "PVFIO_FAULT_MODE": mode})
            if mode == "kill" and rc != -9:
                fail("%s: expected the kill, exit %d" % (what, rc))
            cmds1 = r.new_commands()
            state1 = snapshot(r.path)
            rc, out = run(args.pvfio, ["host", "rollback", "--yes"], r.path)
            cmds2 = r.new_commands()
            if rc != 0:
                fail("%s: second rollback exited %d: %s" % (what, rc, out.strip()[-300:]))
            owed_check(before, state1, cmds1, cmds2, what)
            left = temps(r.path)
            if left:
                fail("%s: temporary files after rollback: %s" % (what, left))
            compare(orig, snapshot(r.path), what)
            stats[mode] += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    ap.add_argument("--fault", required=True)
    ap.add_argument("--case", action="append")
    ap.add_argument("--fail-stride", type=int, default=3,
                    help="failure injection at every Nth boundary (kills are at every one); 1 = all")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pvfio-chaos-") as tmp:
        for case in args.case or CASES:
            chaos_case(args, case, tmp)
    print("kill points exercised: %d, fail points: %d; re-applies needed at most: %d; failures: %d"
          % (stats["kill"], stats["fail"], stats["max_reapplies"], len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
