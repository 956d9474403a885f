#!/bin/sh
# Pure VM/mapping planner cost (no API): 5 nodes, N VMs. Builds into build-bench-vmplan.
# Usage: bench/vmplan.sh [N_VMS] [ROUNDS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/build-bench-vmplan"
cmake -S "$top" -B "$dir" >/dev/null
cmake --build "$dir" --target bench_vmplan -j >/dev/null
"$dir/tests/vmplan-bench/bench_vmplan" "${1:-400}" "${2:-20}"
