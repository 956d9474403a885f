#!/bin/sh
# Golden test of `pvfio host scan` (text and --json, and --usb) and `pvfio host check` for one
# machine of tests/machines: builds the fake root with tests/mkroot/mkroot.py in a
# temporary directory and compares the output with tests/host/golden/<machine>.*.
#
#   golden.sh PVFIO SRCDIR MACHINE
#
# PVFIO_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
set -eu
pvfio=$1
src=$2
machine=$3
golden=$src/tests/host/golden
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pvfio-golden-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

python3 "$src/tests/mkroot/mkroot.py" "$src/tests/machines/$machine.json" "$tmp/root"

# the devices each machine would pass through (what `host check` is asked about)
case $machine in
  laptop-ga107m)     devices="--device 0000:01:00" ;;
  desktop-igpu-dgpu) devices="--device 0000:03:00" ;;
  workstation-2gpu)  devices="--device 0000:02:00 --kernel-arg iommu=pt" ;;
  server-4gpu)       devices="--device 0000:43:00 --device 0000:c3:00.0" ;;
  igpu-gvtg)         devices="--gvtg" ;;
  igpu-sriov)        devices="--device 0000:00:02.1 --device 0000:00:02.2 --kernel-arg i915.enable_guc=3" ;;
  chipset-shared)    devices="--device 0000:07:00 --kernel-arg initcall_blacklist=sysfb_init" ;;
  nvidia-l4-vgpu)    devices="--device 0000:c1:00.4" ;;
  minipc-no-iommu)   devices="--device 0000:02:00.0" ;;
  *)                 devices="" ;;
esac
# imported machines (tests/machines/listings): the arguments are in golden/<machine>.check-args
if [ -f "$golden/$machine.check-args" ]; then
  devices=$(grep -v '^#' "$golden/$machine.check-args" | tr '\n' ' ')
fi

run() {   # run CMD... > FILE, appending the exit status
  out=$1
  shift
  set +e
  "$@" >"$out" 2>"$out.err"
  rc=$?
  set -e
  if [ -s "$out.err" ]; then
    echo "unexpected stderr from: $*" >&2
    cat "$out.err" >&2
    exit 1
  fi
  echo "exit status: $rc" >>"$out"
}

run "$tmp/scan.txt" "$pvfio" --color never host scan --root "$tmp/root"
run "$tmp/scan.json" "$pvfio" --color never host scan --root "$tmp/root" --json
run "$tmp/usb.txt" "$pvfio" --color never host scan --root "$tmp/root" --usb
run "$tmp/usb.json" "$pvfio" --color never host scan --root "$tmp/root" --usb --json
run "$tmp/input.txt" "$pvfio" --color never host scan --root "$tmp/root" --input
# shellcheck disable=SC2086
run "$tmp/check.txt" "$pvfio" --color never host check --root "$tmp/root" $devices

status=0
for kind in scan.txt scan.json check.txt usb.txt usb.json input.txt; do
  want=$golden/$machine.$kind
  if [ "${PVFIO_UPDATE_GOLDEN:-}" = 1 ]; then
    cp "$tmp/$kind" "$want"
    echo "updated $want"
  elif ! diff -u "$want" "$tmp/$kind"; then
    echo "golden mismatch: $want (PVFIO_UPDATE_GOLDEN=1 regenerates)" >&2
    status=1
  fi
done
exit $status
