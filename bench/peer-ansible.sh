#!/bin/sh
# pvfio against Ansible's community.general.proxmox_kvm on the simulator (issue 13): 20 GPU VMs
# created, re-run (no-op), updated, started and deleted by both clients, interleaved, median of 3, at
# --task-ms 300 --latency-ms 2 and --task-ms 50 --latency-ms 0; then 100 VMs with pvfio alone.
# Installs nothing: needs `ansible` and `python3-proxmoxer` (scripts/deps.sh --bench installs them).
# Builds pvfio (Release) into build-bench-ansible; details and options: bench/peer_ansible.py.
# Usage: bench/peer-ansible.sh [--runs N] [--settings 300:2,50:0] [--no-100] [--no-ansible] [--phases create,noop,…]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/build-bench-ansible"
missing=""
command -v ansible-playbook >/dev/null 2>&1 || missing="$missing ansible"
/usr/bin/python3 -c 'import proxmoxer' 2>/dev/null || missing="$missing python3-proxmoxer"
if [ -n "$missing" ]; then
  echo "peer-ansible: missing:$missing (install with: scripts/deps.sh --bench)" >&2
  case " $* " in *" --no-ansible "*) ;; *) exit 1 ;; esac
fi
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DPVFIO_TESTS=OFF >/dev/null
cmake --build "$dir" --target pvfio -j2 >/dev/null
exec python3 "$top/bench/peer_ansible.py" --pvfio "$dir/pvfio" "$@"
