#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Driver of pvfio's end-to-end tests: the real binary against the Proxmox simulator.

    run.py --pvfio BUILD/pvfio [-v] [-k PATTERN] [GROUP...]

GROUP is a test module without `test_` (examples, devices, drift, lifecycle,
host); none = all. The last line of the output is `N passed, N failed`.
Exit status 0 when everything passed, 1 otherwise, 77 (CTest skip) when the
simulator cannot start.
"""
import glob
import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2elib  # noqa: E402


def main():
    argv = sys.argv[1:]
    groups = []
    rest = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--pvfio", "-k"):
            rest += argv[i:i + 2]
            i += 2
            continue
        if a.startswith("-"):
            rest.append(a)
        else:
            groups.append(a)
        i += 1
    if not groups:
        groups = sorted(os.path.basename(p)[5:-3] for p in glob.glob(os.path.join(HERE, "test_*.py")))
    modules = [importlib.import_module("test_" + g) for g in groups]
    return e2elib.main(modules, rest)


if __name__ == "__main__":
    sys.exit(main())
