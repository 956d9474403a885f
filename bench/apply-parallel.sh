#!/bin/sh
# `pvfio apply` write phases (create, no-op, update, start, delete) against the simulator with
# 300 ms tasks and 2 ms latency, pvfio alone, against the floor the tasks allow; details:
# bench/apply-parallel.py. Builds pvfio (Release) into build-bench-apply.
# Usage: bench/apply-parallel.sh [apply-parallel.py options, e.g. --vms 100 --parallel 16 --runs 1]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/build-bench-apply"
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DPVFIO_TESTS=OFF >/dev/null
cmake --build "$dir" --target pvfio -j >/dev/null
exec python3 "$top/bench/apply-parallel.py" --pvfio "$dir/pvfio" "$@"
