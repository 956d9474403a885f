#!/bin/sh
# Benchmark: `pvfio host scan` on a generated 512-device host root versus the seed's
# shell loop (one `lspci -nns` per device of /sys/kernel/iommu_groups, pointed at the
# same root with -A linux-sysfs -O sysfs.path=…). Prints both medians and the ratio.
#
#   bench/host-scan.sh [PVFIO_BINARY]        (default: build/pvfio)
#
# Environment: DEVICES (512), SCAN_RUNS (30), LOOP_RUNS (3), KEEP=1 keeps the root.
# Uses hyperfine when installed, else a small timing loop (median of the runs).
# Targets: ratio >= 100x, pvfio median <= 20 ms.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
pvfio=${1:-$src/build/pvfio}
devices=${DEVICES:-512}
scan_runs=${SCAN_RUNS:-30}
loop_runs=${LOOP_RUNS:-3}
[ -x "$pvfio" ] || { echo "host-scan.sh: no pvfio binary at '$pvfio' (build first or pass its path)" >&2; exit 1; }
command -v lspci >/dev/null || { echo "host-scan.sh: lspci (pciutils) is needed for the comparison" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pvfio-bench-XXXXXX")
[ "${KEEP:-}" = 1 ] || trap 'rm -rf "$tmp"' EXIT INT TERM
root=$tmp/root
python3 "$src/tests/mkroot/mkroot.py" --generate "$devices" "$root"
n=$(ls "$root/sys/bus/pci/devices" | wc -l)

# the seed's loop, verbatim apart from the root
cat >"$tmp/seed-loop.sh" <<LOOP
#!/bin/sh
for d in $root/sys/kernel/iommu_groups/*/devices/*; do
  n=\${d#*/iommu_groups/}; n=\${n%%/*}
  printf 'IOMMU Group %s ' "\$n"
  lspci -nns "\${d##*/}" -A linux-sysfs -O sysfs.path=$root/sys/bus/pci
done
LOOP
chmod +x "$tmp/seed-loop.sh"

now_ns() { date +%s%N; }

# median (in ms, 2 decimals) of the wall time of N runs of a command
median_ms() {
  runs=$1
  shift
  i=0
  : >"$tmp/times"
  while [ "$i" -lt "$runs" ]; do
    t0=$(now_ns)
    "$@" >/dev/null
    t1=$(now_ns)
    echo $((t1 - t0)) >>"$tmp/times"
    i=$((i + 1))
  done
  sort -n "$tmp/times" | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m / 1e6 }'
}

hyper_ms() {   # hyperfine median in ms
  runs=$1
  shift
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/h.json" "$*" >/dev/null 2>&1 || hyperfine --warmup 1 --runs "$runs" --export-json "$tmp/h.json" "$*" >/dev/null
  python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$tmp/h.json"
}

measure() {
  if command -v hyperfine >/dev/null; then hyper_ms "$@"; else median_ms "$@"; fi
}

"$pvfio" host scan --root "$root" >/dev/null   # warm the page cache
scan_ms=$(measure "$scan_runs" "$pvfio" host scan --root "$root")
scan_sys_ms=$(measure "$scan_runs" "$pvfio" host scan --root "$root" --pci-ids /usr/share/misc/pci.ids)
loop_ms=$(measure "$loop_runs" "$tmp/seed-loop.sh")

echo "host root: $n PCI devices (tests/mkroot/mkroot.py --generate $devices)"
echo "timing: $(command -v hyperfine >/dev/null && echo hyperfine || echo 'shell timing loop'), medians"
printf '  pvfio host scan --root R                           %10s ms  (%s runs, names from R/usr/share/misc/pci.ids)\n' "$scan_ms" "$scan_runs"
printf '  pvfio host scan --root R --pci-ids <system ids>    %10s ms  (%s runs, the 1.3 MB Debian pci.ids, as lspci)\n' "$scan_sys_ms" "$scan_runs"
printf '  seed loop (lspci -nns per device)                  %10s ms  (%s runs)\n' "$loop_ms" "$loop_runs"
awk -v a="$scan_ms" -v b="$scan_sys_ms" -v l="$loop_ms" 'BEGIN {
  printf "ratio: %.0fx (same pci.ids as lspci: %.0fx); target >= 100x: %s; scan <= 20 ms: %s\n",
         l / a, l / b, (l / b >= 100 ? "met" : "MISSED"), (a <= 20 ? "met" : "MISSED") }'
