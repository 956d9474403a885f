#!/bin/sh
# `pvfio validate` end to end on tests/unit/profiles/: gcc-style lines, exit codes, stdin, --json.
# usage: validate-cli.sh PVFIO_BINARY PROFILES_DIR
set -u
pvfio=$1
cd "$2" || exit 1
fail=0
check() { # description, expected, actual
  if [ "$2" != "$3" ]; then
    printf 'FAIL: %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$2" "$3"
    fail=1
  fi
}

out=$("$pvfio" --color=never validate valid.yaml 2>&1); rc=$?
check "valid profile" "valid.yaml: ok" "$out"
check "valid exit code" 0 "$rc"

out=$("$pvfio" --color=never validate - < valid.yaml 2>&1); rc=$?
check "stdin" "<stdin>: ok" "$out"
check "stdin exit code" 0 "$rc"

# a flow list splits pcie_acs_override=downstream,multifunction (issue 10 item 12): warned, quoted one is not
out=$("$pvfio" --color=never validate kernel-args-split.yaml 2>&1); rc=$?
check "split kernel_args exit code" 0 "$rc"
check "split kernel_args warnings" "kernel-args-split.yaml:6:48: warning: 'hosts[0].kernel_args[1]' 'multifunction' looks like the rest of the previous item 'pcie_acs_override=downstream': in a flow list a comma starts a new item, so the kernel would get two arguments; quote the whole argument: [\"pcie_acs_override=downstream,multifunction\"]
kernel-args-split.yaml:6:146: warning: 'hosts[0].kernel_args[6]' '10de:1db5' looks like the rest of the previous item 'vfio-pci.ids=10de:1db4': in a flow list a comma starts a new item, so the kernel would get two arguments; quote the whole argument: [\"vfio-pci.ids=10de:1db4,10de:1db5\"]
kernel-args-split.yaml: ok" "$out"

out=$("$pvfio" --color=never validate invalid.yaml 2>&1); rc=$?
check "invalid exit code" 1 "$rc"
# every problem, in order, as FILE:LINE:COL: error: MESSAGE
locs=$(printf '%s\n' "$out" | sed -n 's/^\(invalid\.yaml:[0-9]*:[0-9]*\): error: .*/\1/p' | tr '\n' ' ')
check "invalid positions" "invalid.yaml:6:5 invalid.yaml:7:5 invalid.yaml:10:12 invalid.yaml:14:11 invalid.yaml:17:9 invalid.yaml:18:9 " "$locs"
check "all lines gcc-style" 6 "$(printf '%s\n' "$out" | grep -c '^invalid\.yaml:[0-9]*:[0-9]*: error: ')"
printf '%s\n' "$out" | grep -q "error: 'cluster.auth.secret' holds a secret: secrets must not be written in the profile" \
  || { echo "FAIL: inline secret message"; fail=1; }
printf '%s\n' "$out" | grep -q "do-not-write-me" && { echo "FAIL: a secret value was printed"; fail=1; }
printf '%s\n' "$out" | grep -q "did you mean 'primary'?" || { echo "FAIL: x-vga hint"; fail=1; }

out=$("$pvfio" --color=never validate warning.yaml 2>&1); rc=$?
check "warning exit code" 0 "$rc"
check "warning lines" "warning.yaml:7:5: warning: 'cluster.tls.insecure: true' disables TLS certificate verification; pin the certificate with 'fingerprint' instead
warning.yaml: ok" "$out"
out=$("$pvfio" --color=never -q validate warning.yaml 2>&1); rc=$?
check "quiet" "" "$out"

out=$("$pvfio" --color=never validate valid.yaml invalid.yaml 2>&1); rc=$?
check "mixed exit code" 1 "$rc"

out=$("$pvfio" --json validate invalid.yaml valid.yaml 2>/dev/null); rc=$?
check "json exit code" 1 "$rc"
summary=$(printf '%s' "$out" | python3 -c '
import json, sys
doc = json.load(sys.stdin)
for f in doc:
    print(f["file"], f["valid"], len(f["problems"]), ",".join("%d:%d:%s" % (p["line"], p["col"], p["key"]) for p in f["problems"]))
')
check "json" "invalid.yaml False 6 6:5:cluster.auth,7:5:cluster.auth.secret,10:12:templates.desktop.cores,14:11:vms[0].vmid,17:9:vms[0].pci[0].address,18:9:vms[0].pci[0].x-vga
valid.yaml True 0 " "$summary"

[ $fail -eq 0 ] && echo "validate cli ok"
exit $fail
