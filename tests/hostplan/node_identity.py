#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 10 item 4: `host apply` configures only the Proxmox VE node it is told to.

    node_identity.py --pvfio BIN

On roots built by tests/mkroot/mkroot.py from tests/machines/laptop-ga107m.json:
  - a root that is not a Proxmox VE node (no etc/pve, no dpkg record of pve-manager/qemu-server)
    is refused (exit 1, nothing written) unless --force; either marker alone is enough
  - --node naming another node than the root's etc/hostname is refused
  - a host section naming a node that is not in the cluster (etc/pve/nodes) is an error for plan
    and apply, not "Nothing to do"
  - a root without etc/hostname never borrows the running machine's name: give --node
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def tree(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if not os.path.islink(p):
                out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pvfio-identity-")
    env = dict(os.environ, NO_COLOR="1", LC_ALL="C")

    def pvfio(*args):
        p = subprocess.run([a.pvfio] + list(args), capture_output=True, text=True, env=env,
                           stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def mkroot(name, *opts):
        root = os.path.join(work, name)
        subprocess.run([sys.executable, os.path.join(TOP, "tests/mkroot/mkroot.py")] + list(opts) +
                       [os.path.join(TOP, "tests/machines/laptop-ga107m.json"), root], check=True)
        return root

    def profile(nodes):
        p = os.path.join(work, "p-%s.yaml" % "-".join(nodes))
        with open(p, "w") as f:
            f.write("version: 1\nhosts:\n  - nodes: [%s]\n    vfio:\n      - address: 0000:01:00.0\n" % ", ".join(nodes))
        return p

    try:
        prof = profile(["laptop-ga107m"])
        # 1. not a PVE node: refused unless --force
        root = mkroot("plain")
        shutil.rmtree(os.path.join(root, "etc/pve"))
        shutil.rmtree(os.path.join(root, "var/lib/dpkg"))
        before = tree(root)
        rc, out, err = pvfio("host", "apply", prof, "--root", root, "--yes")
        check(rc == 1, "apply on a non-PVE root exits 1 (got %d)" % rc)
        check("is not a Proxmox VE node" in err and "--force" in err, "the error says why and names --force: %r" % err)
        check(tree(root) == before, "a refused apply writes nothing")
        rc, out, err = pvfio("host", "apply", prof, "--root", root, "--yes", "--force")
        check(rc == 0, "apply --force on a non-PVE root works (got %d: %s)" % (rc, err))
        # either marker alone is enough: the dpkg record of qemu-server
        root = mkroot("dpkg-only")
        shutil.rmtree(os.path.join(root, "etc/pve"))
        os.remove(os.path.join(root, "var/lib/dpkg/info/pve-manager.list"))
        open(os.path.join(root, "var/lib/dpkg/info/qemu-server.list"), "w").write("/.\n")
        rc, out, err = pvfio("host", "apply", prof, "--root", root, "--yes")
        check(rc == 0, "a root with the qemu-server dpkg record is a PVE node (got %d: %s)" % (rc, err))

        # 2. --node names another node than the root's etc/hostname
        root = mkroot("named", "--node", "pve2", "--cluster-nodes", "pve1,pve2")
        prof2 = profile(["pve1", "pve2"])
        before = tree(root)
        rc, out, err = pvfio("host", "apply", prof2, "--root", root, "--node", "pve1", "--yes")
        check(rc == 1, "apply with --node pve1 on pve2's root exits 1 (got %d)" % rc)
        check("is node 'pve2' (etc/hostname), not 'pve1' (--node)" in err, "the error names both: %r" % err)
        check(tree(root) == before, "a refused apply writes nothing")
        rc, out, err = pvfio("host", "apply", prof2, "--root", root, "--node", "pve2", "--yes")
        check(rc == 0, "apply with the root's own name works (got %d: %s)" % (rc, err))

        # 3. a host section naming a node that is not in the cluster
        prof3 = profile(["pve1", "pve9"])
        for cmd in ("plan", "apply"):
            rc, out, err = pvfio("host", cmd, prof3, "--root", root, "--yes") if cmd == "apply" else \
                pvfio("host", cmd, prof3, "--root", root)
            check(rc == 1, "host %s with an unknown node exits 1, not 0 (got %d: %s)" % (cmd, rc, out))
            check("names node 'pve9', which is not a node of this cluster" in err and "pve1, pve2" in err,
                  "host %s names the unknown node and the cluster's: %r" % (cmd, err))
            check("Nothing to do" not in out, "host %s does not say Nothing to do" % cmd)

        # 4. no etc/hostname: never the running machine's name
        root = mkroot("nameless")
        os.remove(os.path.join(root, "etc/hostname"))
        rc, out, err = pvfio("host", "plan", prof, "--root", root)
        check(rc == 1, "plan on a root without etc/hostname exits 1 (got %d: %s)" % (rc, out))
        check("etc/hostname is missing" in err and "--node" in err, "the error asks for --node: %r" % err)
        check(os.uname().nodename.split(".")[0] not in out, "the running machine's name is not used")
        rc, out, err = pvfio("host", "plan", prof, "--root", root, "--node", "laptop-ga107m")
        check(rc == 2, "with --node it plans (got %d: %s)" % (rc, err))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
    if failures:
        print("%d check(s) failed" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("ok")
