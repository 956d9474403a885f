#!/bin/sh
# The README demo: the whole pvfio loop on the bundled default, offline.
#   1. start the Proxmox VE simulator (tests/pvesim) with a one-node cluster
#      modelled on the single-GPU laptop fixture;
#   2. build a fake host root of that laptop (tests/mkroot);
#   3. `pvfio apply` profiles/examples/laptop-single-gpu.yaml: host files + VM;
#      the VM waits for the reboot the host change needs, so the reboot is
#      simulated and apply runs again;
#   4. `pvfio diff`: no drift;
#   5. an out-of-band change through the API, and the diff that catches it.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
JOBS=$(nproc 2>/dev/null || echo 2)
# PVFIO_DEMO_PVFIO=PATH: use that binary (scripts/test.sh runs the demo with its own build)
if [ -n "${PVFIO_DEMO_PVFIO:-}" ]; then
  pvfio=$PVFIO_DEMO_PVFIO
else
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPVFIO_TESTS=OFF >/dev/null
  cmake --build build -j"$JOBS" >/dev/null
  pvfio="$top/build/pvfio"
fi

work=$(mktemp -d /tmp/pvfio-demo.XXXXXX)
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "validate every example profile"
"$pvfio" validate profiles/examples/*.yaml

step "start the Proxmox VE simulator (one node: pve-laptop)"
python3 tests/pvesim/pvesim.py --cluster tests/demo/cluster.json --state "$work/state.json" --reset \
        --ready-file "$work/ready.json" >/dev/null 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 1 100); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
[ -s "$work/ready.json" ] || { cat "$work/sim.log" >&2; echo "simulator did not start" >&2; exit 1; }
port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$work/ready.json")
fp=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fingerprint"])' "$work/ready.json")
echo "listening on 127.0.0.1:$port, certificate $fp"

step "build a fake host root of the laptop (sysfs, procfs, /etc with GRUB)"
python3 tests/mkroot/mkroot.py tests/machines/laptop-ga107m.json "$work/root" >/dev/null
"$pvfio" host scan --root "$work/root" | sed -n '/IOMMU Group 15/,/^$/p'

# The example profile, pointed at the simulator: endpoint, pinned fingerprint, password file.
printf 'demo-root-password\n' >"$work/root.pw"
chmod 600 "$work/root.pw"
sed -e "s|^  api: .*|  api: https://127.0.0.1:$port|" \
    -e "s|^    password_file: .*|    password_file: $work/root.pw|" \
    -e "s|^    ca_file: .*|    fingerprint: \"$fp\"|" \
    profiles/examples/laptop-single-gpu.yaml >"$work/profile.yaml"
cp -r profiles/examples/roms "$work/roms" # its romfiles source (a synthetic vBIOS), beside the profile
run() { echo "\$ pvfio $*"; "$pvfio" "$@" || echo "(exit $?)"; }
host="--root $work/root --node pve-laptop"

step "apply: host configuration first; the VM waits for the reboot"
run apply --yes --color=always $host "$work/profile.yaml"

step "simulated reboot of pve-laptop (new kernel command line, devices on vfio-pci)"
python3 tests/mkroot/simreboot.py "$work/root"
grep -o 'intel_iommu=on.*' "$work/root/proc/cmdline" || true

step "apply again: now the VM is created"
run apply --yes --color=always $host "$work/profile.yaml"

step "diff: reality matches the profile"
run diff --color=always $host "$work/profile.yaml"

step "an out-of-band change: someone sets cores=2 and removes the GPU"
PVE_PASSWORD=demo-root-password "$pvfio" api set --url "https://127.0.0.1:$port" --fingerprint "$fp" \
        --user root@pam --password-env PVE_PASSWORD /nodes/pve-laptop/qemu/100/config cores=2 delete=hostpci0 >/dev/null
run diff --color=always $host "$work/profile.yaml"
echo
echo "Done. 'pvfio diff' exits 2 when it finds drift; 'pvfio apply' would put it back."
