#!/bin/sh
# Full `pvfio plan` of a 4-node cluster with host sections (one loopback sshd per node) plus 200 VMs
# (simulator): wall time split into SSH, API and planning, and the ratio to the slowest single node.
# Builds pvfio (Release) into build-bench-cluster; details: bench/cluster-plan.py.
# Usage: bench/cluster-plan.sh [cluster-plan.py options, e.g. --runs 9 --vms 400 --latency-ms 5]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/build-bench-cluster"
[ -x /usr/sbin/sshd ] || "$top/scripts/deps.sh" --test
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DPVFIO_TESTS=OFF >/dev/null
cmake --build "$dir" --target pvfio -j >/dev/null
exec python3 "$top/bench/cluster-plan.py" --pvfio "$dir/pvfio" "$@"
