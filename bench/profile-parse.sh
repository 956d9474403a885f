#!/bin/sh
# Prints how long `pvfio validate` takes on generated profiles near the 1 MiB cap:
# a fleet of VMs built from templates, and an alias-heavy document just under the node cap.
# usage: bench/profile-parse.sh [PVFIO_BINARY]   (default: build/pvfio)
set -eu
pvfio=${1:-build/pvfio}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
with open(d + "/fleet.yaml", "w") as f:
    f.write("version: 1\ncluster:\n  api: https://pve1.example.com\n  auth: {user: root@pam, password_env: PW}\n")
    f.write("defaults:\n  machine: q35\n  ostype: l26\ntemplates:\n  base:\n    bios: ovmf\n    efidisk: {storage: local-lvm}\n")
    f.write("  gpu:\n    template: base\n    cores: 8\n    memory: 16G\n    pci:\n      - {mapping: gpu, pcie: true}\n")
    f.write("mappings:\n  - id: gpu\n    map:\n")
    for n in range(1, 9):
        f.write("      - {node: pve%d, path: 0000:01:00}\n" % n)
    f.write("vms:\n")
    i = 0
    while f.tell() < 1000 * 1024:
        f.write("  - name: vm-%d\n    node: pve%d\n    vmid: %d\n    template: gpu\n"
                "    disks: [{storage: local-lvm, size: 64G}]\n    networks: [{bridge: vmbr0, vlan: %d}]\n"
                "    tags: [fleet, gpu]\n" % (i, i % 8 + 1, 1000 + i, i % 4000 + 1))
        i += 1
    print("fleet.yaml: %d VMs, %d bytes" % (i, f.tell()))
with open(d + "/aliases.yaml", "w") as f:
    f.write("version: 1\ntemplates:\n  t: &t\n    tags: [%s]\n" % ", ".join("t%d" % k for k in range(200)))
    f.write("vms:\n")
    for k in range(900):
        f.write("  - {name: v%d, node: pve1, <<: *t}\n" % k)
    print("aliases.yaml: 900 VMs each merging a 200-tag template, %d bytes" % f.tell())
PY

for f in fleet aliases; do
  start=$(date +%s%N)
  "$pvfio" --color=never validate "$tmp/$f.yaml" >/dev/null || true
  end=$(date +%s%N)
  echo "$f.yaml: validate took $(( (end - start) / 1000000 )) ms"
done
