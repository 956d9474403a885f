#!/bin/sh
# `pvfio plan` of a 5-node, 400-VM profile against the simulator at 10 ms per request, --parallel 16:
# wall time (median of 5) vs the ideal round trips, request count vs the ideal, peak RSS.
# Builds pvfio (Release) into build-bench-plan; details and the ideal's definition: bench/plan-400.py.
# Usage: bench/plan-400.sh [plan-400.py options, e.g. --runs 9 --stopped]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/build-bench-plan"
[ -x /usr/bin/time ] || "$top/scripts/deps.sh" --test
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DPVFIO_TESTS=OFF >/dev/null
cmake --build "$dir" --target pvfio -j >/dev/null
exec python3 "$top/bench/plan-400.py" --pvfio "$dir/pvfio" "$@"
