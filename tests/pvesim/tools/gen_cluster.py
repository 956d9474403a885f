#!/usr/bin/env python3
"""Write a large cluster description for benchmarks.

Usage: gen_cluster.py --nodes 5 --vms 500 [--machine PATH] [--token-secret S] OUT.json

Nodes are named pve1..pveN and all use the same machine description (default:
testdata/machines/sim-gpu1.json, referenced by absolute path); VMs 100.. are
spread round-robin over the nodes, all stopped, with a small plain config.
root@pam has password 'root'; the token root@pam!bench (privsep=0) has the
given secret (default: 00000000-0000-0000-0000-000000000bench style uuid).
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--vms", type=int, default=500)
    ap.add_argument("--machine", default=os.path.join(HERE, "testdata", "machines", "sim-gpu1.json"))
    ap.add_argument("--token-secret", default="0bec0bec-0000-4000-8000-000000000001")
    ap.add_argument("out")
    a = ap.parse_args(argv)
    nodes = {"pve%d" % (i + 1): {"machine": os.path.abspath(a.machine)} for i in range(a.nodes)}
    names = list(nodes)
    vms = []
    for i in range(a.vms):
        vmid = 100 + i
        vms.append({"vmid": vmid, "node": names[i % len(names)], "status": "stopped",
                    "config": {"name": "bench-%d" % vmid, "memory": "2048", "cores": 2,
                               "scsi0": "local-lvm:vm-%d-disk-0,size=32G" % vmid,
                               "net0": "virtio=BC:24:11:%02X:%02X:%02X,bridge=vmbr0" % (
                                   (vmid >> 16) & 0xFF, (vmid >> 8) & 0xFF, vmid & 0xFF)}})
    cluster = {
        "cluster": "bench",
        "nodes": nodes,
        "users": [{"userid": "root@pam", "password": "root"}],
        "tokens": [{"tokenid": "root@pam!bench", "secret": a.token_secret, "privsep": 0}],
        "vms": vms,
    }
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(cluster, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
