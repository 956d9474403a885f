#!/bin/sh
# Benchmark: `pvfio host scan` on a generated 512-device host root versus the seed's
# shell loop (one `lspci -nns` per device of /sys/kernel/iommu_groups, pointed at the
# same root with -A linux-sysfs -O sysfs.path=…). Prints both medians and the ratio.
#
#   bench/host-scan.sh [PVFIO_BINARY]        (default: build/pvfio)
#
# Environment: DEVICES (512), SCAN_RUNS (30), LOOP_RUNS (3), KEEP=1 keeps the root.
# Uses hyperfine when installed, else a small python timing loop (median of the runs).
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

# median wall time (ms) of N runs of a command, plus the median CPU time (user+sys) it used
median_ms() {
  runs=$1
  shift
  python3 - "$runs" "$@" <<'PY'
import os, resource, statistics, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
wall, cpu = [], []
for _ in range(runs):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    wall.append(time.perf_counter() - t0)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
print("%.2f %.2f" % (statistics.median(wall) * 1000, statistics.median(cpu) * 1000))
PY
}

hyper_ms() {   # hyperfine: median wall ms and mean CPU ms (user+system)
  runs=$1
  shift
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/h.json" "$*" >/dev/null 2>&1 ||
    hyperfine --warmup 1 --runs "$runs" --export-json "$tmp/h.json" "$*" >/dev/null
  python3 -c 'import json,sys; r = json.load(open(sys.argv[1]))["results"][0]; print("%.2f %.2f" % (r["median"] * 1000, (r["user"] + r["system"]) * 1000))' "$tmp/h.json"
}

measure() {
  if command -v hyperfine >/dev/null; then hyper_ms "$@"; else median_ms "$@"; fi
}

"$pvfio" host scan --root "$root" >/dev/null   # warm the page cache
set -- $(measure "$scan_runs" "$pvfio" host scan --root "$root"); scan_ms=$1; scan_cpu=$2
set -- $(measure "$scan_runs" "$pvfio" host scan --root "$root" --pci-ids /usr/share/misc/pci.ids); sys_ms=$1; sys_cpu=$2
set -- $(measure "$loop_runs" "$tmp/seed-loop.sh"); loop_ms=$1; loop_cpu=$2

echo "host root: $n PCI devices (tests/mkroot/mkroot.py --generate $devices); $(nproc) CPU(s), load $(cut -d' ' -f1 /proc/loadavg)"
echo "timing: $(command -v hyperfine >/dev/null && echo hyperfine || echo 'python timing loop'); wall = median, cpu = user+system"
printf '  %-50s wall %9s ms  cpu %9s ms  (%s runs)\n' "pvfio host scan --root R" "$scan_ms" "$scan_cpu" "$scan_runs"
printf '  %-50s wall %9s ms  cpu %9s ms  (%s runs)\n' "pvfio host scan --root R --pci-ids <1.3 MB pci.ids>" "$sys_ms" "$sys_cpu" "$scan_runs"
printf '  %-50s wall %9s ms  cpu %9s ms  (%s runs)\n' "seed loop: lspci -nns per device" "$loop_ms" "$loop_cpu" "$loop_runs"
awk -v a="$scan_ms" -v b="$sys_ms" -v l="$loop_ms" 'BEGIN {
  printf "ratio (wall medians): %.0fx; with the same pci.ids as lspci: %.0fx\n", l / a, l / b
  printf "targets: ratio >= 100x %s; scan <= 20 ms %s\n", (l / b >= 100 ? "met" : "MISSED"), (a <= 20 ? "met" : "MISSED") }'
