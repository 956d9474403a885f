#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 10: no plan on any fixture machine binds a device the host needs.

    broad_match.py --pvfio BIN

For every tests/machines/*.json, on a root built by tests/mkroot/mkroot.py, `host plan --json` is run
with broad selectors, one profile each: `match: {class: CCCC}` for every class of the machine and
`match: {vendor: VVVV}` for every vendor (binding: driver_override, so the plan lists exact
addresses). Whatever is planned (a refusal is fine) must leave alone:
  - the controller holding / (and the ESP), the NIC of vmbr0/the default route, the USB controller
    with the only keyboard (the devices mkroot's default_host_use() gives the root),
  - the last display device the host has (VFs and devices already on vfio-pci do not count),
and when the running kernel has pcie_acs_override, a plan that binds anything says that its groups
are isolated only by the override.
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
sys.path.insert(0, os.path.join(TOP, "tests", "mkroot"))
import mkroot  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def bound_addresses(plan):
    """Addresses a plan gives to vfio-pci at boot (driver_override udev rule) or now (rebind)."""
    out = set()
    for a in plan.get("actions", []):
        if a["kind"] == "write-file" and a["target"] == "etc/udev/rules.d/60-pvfio-vfio.rules" and a.get("after"):
            out |= set(re.findall(r'KERNEL=="([0-9a-f:.]+)"', a["after"]))
        if a["kind"] == "rebind-device":
            out.add(a["target"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    a = ap.parse_args()
    env = dict(os.environ, NO_COLOR="1", LC_ALL="C")
    work = tempfile.mkdtemp(prefix="pvfio-broad-")
    n_plans = n_refused = 0
    try:
        for path in sorted(glob.glob(os.path.join(TOP, "tests", "machines", "*.json"))):
            m = json.load(open(path))
            name = os.path.splitext(os.path.basename(path))[0]
            root = os.path.join(work, name)
            subprocess.run([sys.executable, os.path.join(TOP, "tests/mkroot/mkroot.py"), path, root], check=True)
            node = open(os.path.join(root, "etc/hostname")).read().strip()
            hu = mkroot.default_host_use(m)
            needed = set([hu.get("root"), hu.get("keyboard")] + list(hu.get("nics") or [])) - {None}
            devs = m.get("devices") or []
            displays = {d["addr"] for d in devs if d["class"].startswith("03") and not d.get("physfn")
                        and d.get("driver") != "vfio-pci"}
            acs = "pcie_acs_override=" in ((m.get("boot") or {}).get("cmdline") or "")
            sels = sorted({'{class: "%s"}' % d["class"][:4] for d in devs} |
                          {'{vendor: "%s"}' % d["vendor"] for d in devs})
            for sel in sels:
                prof = os.path.join(work, "p.yaml")
                with open(prof, "w") as f:
                    f.write("version: 1\nhosts:\n  - nodes: [%s]\n    binding: driver_override\n"
                            "    vfio:\n      - match: %s\n" % (node, sel))
                p = subprocess.run([a.pvfio, "--json", "host", "plan", prof, "--root", root],
                                   capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
                what = "%s, match %s" % (name, sel)
                if p.returncode == 1:
                    n_refused += 1
                    continue
                if not check(p.returncode in (0, 2), "%s: plan exits 0/1/2 (got %d: %s)" % (what, p.returncode, p.stderr)):
                    continue
                n_plans += 1
                plan = json.loads(p.stdout)
                bound = bound_addresses(plan)
                check(not (bound & needed), "%s binds host-critical %s" % (what, sorted(bound & needed)))
                check(not displays or bool(displays - bound), "%s takes every display device %s" % (what, sorted(displays)))
                if acs and bound:
                    check(any("isolated only by the running kernel's pcie_acs_override" in w
                              for w in plan.get("warnings", [])),
                          "%s does not say its groups are split only by the override" % what)
        # the test must have exercised both outcomes
        check(n_refused > 0 and n_plans > 0, "both refusals (%d) and plans (%d) happened" % (n_refused, n_plans))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d plans, %d refusals" % (n_plans, n_refused))


if __name__ == "__main__":
    main()
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("ok")
