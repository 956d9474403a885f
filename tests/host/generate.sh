#!/bin/sh
# mkroot.py --generate N builds a scannable root with exactly N devices.
set -eu
pvfio=$1
src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pvfio-gen-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
python3 "$src/tests/mkroot/mkroot.py" --generate 64 "$tmp/root" --json "$tmp/m.json"
n=$("$pvfio" host scan --root "$tmp/root" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]))')
[ "$n" = 64 ] || { echo "expected 64 devices, scan found $n" >&2; exit 1; }
# the description it wrote builds the same root
python3 "$src/tests/mkroot/mkroot.py" "$tmp/m.json" "$tmp/root2"
"$pvfio" host scan --root "$tmp/root" >"$tmp/a"
"$pvfio" host scan --root "$tmp/root2" >"$tmp/b"
cmp "$tmp/a" "$tmp/b"
echo "generate ok"
