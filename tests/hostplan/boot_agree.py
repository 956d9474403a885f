#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 10 item 8: `host check` and `host plan` read the boot configuration the same way.

    boot_agree.py --pvfio BIN

For every tests/machines/*.json (root built by tests/mkroot/mkroot.py) and a set of boot configuration
variants written into the root (GRUB: a trailing "# by hand" comment, single quotes, a drop-in that
appends, $VAR expansion, a later drop-in that replaces the value, backslash-continued lines;
systemd-boot: the argument on etc/kernel/cmdline or not), the test argument ARG (never active) is
asked of both:
    host check -k ARG      → "configured … but not active" (configured) or "missing" (not configured)
    host plan  (kernel_args: [ARG], nothing else)
                           → adds ARG to pvfio's drop-in / etc/kernel/cmdline (not configured), or
                             leaves it (configured); a refusal for GRUB drop-in order counts as
                             "not configured" (pvfio's copy would be overridden)
Both must agree on every machine and variant, and each variant's expected answer is checked too.
A fixture that already binds devices by hand (vfio-pci.ids= on its GRUB line) is planned with those
devices passed through, as the planner otherwise (rightly) refuses.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
ARG = "pvfio_test.agree=1"
failures = []

GRUB_VARIANTS = [
    # (name, {path: content or None to delete}, append to etc/default/grub, expected configured)
    ("as-is", {}, "", False),
    ("by-hand-comment", {}, 'GRUB_CMDLINE_LINUX_DEFAULT="quiet %s" # by hand\n' % ARG, True),
    ("single-quotes", {}, "GRUB_CMDLINE_LINUX_DEFAULT='quiet %s'\n" % ARG, True),
    ("linux-var", {}, 'EXTRA="%s"\nGRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX ${EXTRA}"\n' % ARG, True),
    ("dropin-append", {"etc/default/grub.d/50-user.cfg":
                       'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT %s"\n' % ARG}, "", True),
    ("dropin-replaces", {"etc/default/grub.d/90-user.cfg": 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n'},
     'GRUB_CMDLINE_LINUX_DEFAULT="quiet %s"\n' % ARG, False),
    ("continued-line", {}, 'GRUB_CMDLINE_LINUX_DEFAULT="quiet \\\n  %s"\n' % ARG, True),
    ("commented-out", {}, '#GRUB_CMDLINE_LINUX_DEFAULT="quiet %s"\n' % ARG, False),
    ("two-on-a-line", {}, 'A=1 GRUB_CMDLINE_LINUX="%s"; B=2\n' % ARG, True),
]
SDBOOT_VARIANTS = [
    ("as-is", None, False),
    ("on-cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs %s\n" % ARG, True),
    ("second-line-ignored", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n%s\n" % ARG, False),
]


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    a = ap.parse_args()
    env = dict(os.environ, NO_COLOR="1", LC_ALL="C")
    work = tempfile.mkdtemp(prefix="pvfio-agree-")
    n = 0

    def run(*args):
        return subprocess.run([a.pvfio] + list(args), capture_output=True, text=True, env=env,
                              stdin=subprocess.DEVNULL)

    try:
        for path in sorted(glob.glob(os.path.join(TOP, "tests", "machines", "*.json"))):
            m = json.load(open(path))
            name = os.path.splitext(os.path.basename(path))[0]
            sd = (m.get("boot") or {}).get("loader") == "systemd-boot"
            variants = SDBOOT_VARIANTS if sd else GRUB_VARIANTS
            base = os.path.join(work, name)
            subprocess.run([sys.executable, os.path.join(TOP, "tests/mkroot/mkroot.py"), path, base], check=True)
            keep = {rel: open(os.path.join(base, rel)).read()
                    for rel in ("etc/default/grub", "etc/kernel/cmdline") if os.path.exists(os.path.join(base, rel))}
            for v in variants:
                root = base   # the variant's files are put back after each run (copying a root is slow)
                for rel, text in keep.items():
                    open(os.path.join(root, rel), "w").write(text)
                for extra in glob.glob(os.path.join(root, "etc/default/grub.d/*-user.cfg")):
                    os.remove(extra)
                if sd:
                    if v[1] is not None:
                        open(os.path.join(root, "etc/kernel/cmdline"), "w").write(v[1])
                    expect = v[2]
                else:
                    for rel, text in v[1].items():
                        open(os.path.join(root, rel), "w").write(text)
                    with open(os.path.join(root, "etc/default/grub"), "a") as f:
                        f.write(v[2])
                    expect = v[3]
                what = "%s/%s" % (name, v[0])
                node = open(os.path.join(root, "etc/hostname")).read().strip()
                # host check
                c = run("--json", "host", "check", "--root", root, "-k", ARG)
                doc = json.loads(c.stdout)
                ka = [x for x in doc["checks"] if x["id"] == "kernel-args"]
                if not check(len(ka) == 1, "%s: host check has a kernel-args verdict" % what):
                    continue
                ev = ka[0].get("evidence") or ""
                pending = ev.split("but not active:", 1)[1].split("; missing:")[0] if "but not active:" in ev else ""
                check_conf = ("'%s'" % ARG) in pending
                # host plan
                prof = os.path.join(work, "p-%s.yaml" % name)
                with open(prof, "w") as f:
                    f.write("version: 1\nhosts:\n  - nodes: [%s]\n    iommu: off\n    iommu_pt: false\n"
                            "    kernel_args: [%s]\n" % (node, ARG))
                p = run("--json", "host", "plan", prof, "--root", root)
                if p.returncode == 1 and "an existing" in p.stderr and "sends" in p.stderr:
                    # the fixture binds devices by hand (item 5): pass them too, so the plan can be compared
                    sent = p.stderr.split("sends", 1)[1].split("to vfio-pci", 1)[0]
                    addrs = sorted(set(re.findall(r"(0000:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) ", sent)))
                    with open(prof, "a") as f:
                        f.write("    accept_shared_groups: true\n    vfio:\n" + "".join(
                            "      - {address: %s, host_critical_ok: true}\n" % x for x in addrs))
                    p = run("--json", "host", "plan", prof, "--root", root)
                if p.returncode == 1:
                    check("GRUB_CMDLINE_LINUX_DEFAULT after pvfio's" in p.stderr,
                          "%s: plan refused for another reason: %s" % (what, p.stderr))
                    plan_conf = False
                else:
                    plan = json.loads(p.stdout)
                    def words(text, target):
                        text = text or ""
                        # etc/kernel/cmdline: only its first line is the command line
                        return (text.split("\n")[0] if target == "etc/kernel/cmdline" else text).replace('"', " ").split()
                    adds = any(x["kind"] in ("write-file", "edit-file") and
                               x["target"] in ("etc/default/grub.d/pvfio.cfg", "etc/kernel/cmdline") and
                               ARG in words(x.get("after"), x["target"]) and
                               ARG not in words(x.get("before"), x["target"])
                               for x in plan["actions"])
                    plan_conf = not adds
                check(check_conf == plan_conf, "%s: host check says %s, host plan says %s (check evidence: %s)" % (
                    what, "configured" if check_conf else "not configured",
                    "configured" if plan_conf else "not configured", ev))
                check(check_conf == expect, "%s: expected %s, host check says %s" % (
                    what, "configured" if expect else "not configured", ev))
                n += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d machine/variant pairs compared" % n)


if __name__ == "__main__":
    main()
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("ok")
