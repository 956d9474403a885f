#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check the generated manual pages and completion script of a build.

    check_man.py --pvfio BIN --builddir DIR --srcdir DIR

- groff (-ww, UTF-8 and ASCII devices) and `man --warnings -l` render both pages without a
  single warning (a deliberately broken page proves the check sees warnings);
- the files in the build are what the binary generates now (not stale);
- pvfio-profile(5) keeps every section of docs/profile.md and names every key of the JSON
  Schema; pvfio(1) points at pvfio-profile(5).
(That pvfio(1) lists every command and option of the tables is tests/dist/test_doc.c.)
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL: " + msg)


def groff_warnings(page, device):
    p = subprocess.run(["groff", "-man", "-ww", "-z", "-T" + device, page],
                       capture_output=True, text=True)
    return (p.stderr + ("" if p.returncode == 0 else "exit status %d" % p.returncode)).strip()


def man_warnings(page):
    env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat", LC_ALL="C.UTF-8")
    p = subprocess.run(["man", "--warnings=w", "-l", page], capture_output=True, text=True, env=env)
    return (p.stderr + ("" if p.returncode == 0 else "exit status %d" % p.returncode)).strip(), p.stdout


def render(page):
    p = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", page], capture_output=True, text=True)
    return p.stdout


def lint(page):
    for device in ("utf8", "ascii"):
        w = groff_warnings(page, device)
        if w:
            fail("%s (groff -T%s): %s" % (os.path.basename(page), device, w))
    if shutil.which("man"):
        w, out = man_warnings(page)
        if w:
            fail("%s (man --warnings): %s" % (os.path.basename(page), w))
        if len(out) < 1000:
            fail("%s: man printed almost nothing" % os.path.basename(page))


def schema_keys(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("properties", "patternProperties") and isinstance(v, dict):
                out.update(x for x in v if re.fullmatch(r"[a-z_]+", x))
            schema_keys(v, out)
    elif isinstance(node, list):
        for v in node:
            schema_keys(v, out)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--srcdir", required=True)
    args = ap.parse_args()
    man1 = os.path.join(args.builddir, "dist", "pvfio.1")
    man5 = os.path.join(args.builddir, "dist", "pvfio-profile.5")
    comp = os.path.join(args.builddir, "dist", "pvfio.bash")

    # the lint must be able to fail
    with tempfile.TemporaryDirectory() as tmp:
        bad = os.path.join(tmp, "bad.1")
        with open(bad, "w") as f:
            f.write('.TH BAD 1\n.SH NAME\nbad \\- x\n.BX undefined macro\n\\[u2026]\n')
        if not groff_warnings(bad, "ascii"):
            fail("groff -ww reports nothing for a broken page: the lint cannot work")

    for page in (man1, man5):
        if not os.path.isfile(page):
            fail("%s was not generated (target pvfio_docs)" % page)
            continue
        lint(page)

    # not stale: the build's files are what the binary generates now
    with open(man1) as f:
        text1 = f.read()
    m = re.search(r'^\.TH PVFIO 1 "([^"]*)"', text1, re.M)
    now = subprocess.run([args.pvfio, "__man", "--date", m.group(1) if m else ""],
                         capture_output=True, text=True, check=True).stdout
    if now != text1:
        fail("%s differs from 'pvfio __man' (stale build?)" % man1)
    now = subprocess.run([args.pvfio, "__completion", "bash"], capture_output=True, text=True, check=True).stdout
    with open(comp) as f:
        if f.read() != now:
            fail("%s differs from 'pvfio __completion bash'" % comp)
    if "pvfio-profile(5)" not in render(man1):
        fail("pvfio(1) does not refer to pvfio-profile(5)")

    # pvfio-profile(5): every section of the reference, every key of the schema
    text5 = render(man5)
    with open(os.path.join(args.srcdir, "docs", "profile.md"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("## ") and line[3:].strip() != "Contents":
                want = re.sub(r"[`*]", "", line[3:].strip()).upper()
                if not re.search(r"^" + re.escape(want) + r"$", text5, re.M):
                    fail("pvfio-profile(5) lacks the section %r" % want)
    with open(os.path.join(args.srcdir, "profiles", "pvfio.schema.json"), encoding="utf-8") as f:
        keys = schema_keys(json.load(f), set())
    if len(keys) < 50:
        fail("only %d keys found in the schema" % len(keys))
    for k in sorted(keys):
        if not re.search(r"(?<![\w-])" + re.escape(k) + r"(?![\w-])", text5):
            fail("pvfio-profile(5) never names the key %r of the schema" % k)

    if FAILURES:
        print("%d problem(s)" % len(FAILURES))
        return 1
    print("man pages ok (%d schema keys, %d bytes of pvfio(1), %d of pvfio-profile(5))"
          % (len(keys), len(text1), len(text5)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
