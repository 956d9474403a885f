#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Full `pvfio plan` of a 4-node cluster with host sections (SSH on loopback) plus 200 VMs.

    bench/cluster-plan.py --pvfio BUILD/pvfio [--vms 200] [--runs 5] [--latency-ms 0] [--parallel 8]

Setup (not timed): tests/ssh/sshlab.py starts one sshd per node on 127.0.0.1
(pve1 laptop-ga107m, pve2 server-4gpu, pve3 desktop-igpu-dgpu, pve4
workstation-2gpu, each with its own fake host root) and the Proxmox simulator
with VMS VMs spread over the nodes (managed by pvfio: tagged, named bench-N); the
profile has a host section per node and the VMS VMs.

Measured (median of RUNS runs):
  - `pvfio plan PROFILE --timings`: wall time, split as pvfio reports it into
    ssh (the parallel SSH round: first session started to last one collected),
    api (cluster listing + observe), planning (decoding the remote plans, merging,
    the VM planner); SSH and API overlap (the SSH round runs on a helper thread),
    so wall < ssh + api + planning is expected;
  - the slowest single node: the same ssh command pvfio runs for one node
    (`ssh … pvfio host plan --json --node NODE -`, profile on stdin), timed per
    node; the ratio wall / slowest node says how close the whole plan comes to
    the cost of its slowest part (1.0 = everything else hidden behind it).
Prints figures only; always exits 0 unless a run fails.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "ssh"))
import sshlab  # noqa: E402

NODES = [("pve1", "laptop-ga107m"), ("pve2", "server-4gpu"), ("pve3", "desktop-igpu-dgpu"),
         ("pve4", "workstation-2gpu")]
HOSTS = """hosts:
  - nodes: pve1
    vfio:
      - address: 0000:01:00.0
  - nodes: pve2
    vfio:
      - id: 10de:2230
  - nodes: pve3
    kernel_args: [video=efifb:off]
    vfio:
      - id: 1002:73df
  - nodes: pve4
    binding: driver_override
    vfio:
      - address: 0000:02:00
"""
TIMINGS = re.compile(r"^timings: wall ([\d.]+) s; ssh ([\d.]+) s \((\d+) nodes?, slowest (\S+) ([\d.]+) s\); "
                     r"api ([\d.]+) s \((\d+) requests\); local host ([\d.]+) s; planning ([\d.]+) s$", re.M)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    ap.add_argument("--vms", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--parallel", type=int, default=8)
    a = ap.parse_args()

    names = [n for n, _ in NODES]
    cluster_vms, profile_vms = [], ["vms:"]
    for i in range(a.vms):
        vmid, node = 1000 + i, names[i % len(names)]
        cluster_vms.append({"vmid": vmid, "node": node, "status": "stopped",
                            "config": {"name": "bench-%d" % vmid, "memory": "2048", "cores": 2, "tags": "pvfio",
                                       "net0": "virtio=BC:24:11:00:%02X:%02X,bridge=vmbr0" % (vmid >> 8, vmid & 255)}})
        profile_vms.append("  - {name: bench-%d, node: %s, vmid: %d, memory: 2G, cores: 2, state: stopped,"
                           " networks: [{bridge: vmbr0}]}" % (vmid, node, vmid))
    try:
        lab = sshlab.Lab(a.pvfio, NODES, cluster_vms=cluster_vms,
                         sim_args=("--task-ms", "5", "--latency-ms", str(a.latency_ms)))
    except sshlab.Unavailable as e:
        print("cluster-plan: cannot run: %s" % e)
        return 1
    try:
        prof = lab.profile(HOSTS, vms="\n".join(profile_vms) + "\n")
        with open(prof) as f:
            text = f.read()
        rows = []
        for _ in range(a.runs):
            r = lab.run("plan", "--timings", "--parallel", str(a.parallel), prof)
            m = TIMINGS.search(r.err)
            if r.rc not in (0, 2) or not m:
                print("cluster-plan: the plan failed:\n%r" % r)
                return 1
            rows.append(m.groups())
        col = lambda i: statistics.median(float(x[i]) for x in rows)
        wall, ssh, api, planning = col(0), col(1), col(5), col(8)
        requests = int(rows[0][6])

        # each node alone: the very command pvfio runs for it
        single = {}
        for name, node in lab.nodes.items():
            argv = ["ssh", "-o", "ConnectTimeout=5", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                    "-o", "UserKnownHostsFile=%s" % lab.known_hosts, "-i", lab.key, "-o", "IdentitiesOnly=yes",
                    "-p", str(node.port), "-l", lab.user, "-T", "--", "127.0.0.1", node.pvfio, "host", "plan",
                    "--json", "--node", name, "-"]
            times = []
            for _ in range(a.runs):
                t0 = time.monotonic()
                p = subprocess.run(argv, input=text, capture_output=True, text=True)
                times.append(time.monotonic() - t0)
                if p.returncode not in (0, 2):
                    print("cluster-plan: %s alone failed: %s" % (name, p.stderr))
                    return 1
            single[name] = statistics.median(times)
        slow_name = max(single, key=single.get)
        slow = single[slow_name]

        print("cluster-plan: %d nodes with host sections over SSH (loopback sshd each), %d VMs, "
              "simulator latency %g ms, --parallel %d, median of %d runs" % (len(NODES), a.vms, a.latency_ms,
                                                                             a.parallel, a.runs))
        print("  wall time        %7.3f s" % wall)
        print("  ssh (parallel)   %7.3f s   (slowest node in the run: %s %.3f s)" % (ssh, rows[0][3], col(4)))
        print("  api              %7.3f s   (%d requests)" % (api, requests))
        print("  planning         %7.3f s   (decode + merge + VM planner)" % planning)
        print("  overlap          %7.3f s   (ssh + api + planning - wall: work hidden behind the SSH round)"
              % (ssh + api + planning - wall))
        for name in sorted(single):
            print("  %s alone        %7.3f s" % (name, single[name]))
        print("  ratio wall / slowest single node (%s %.3f s): %.2f" % (slow_name, slow, wall / slow))
        print("  (%d CPUs here: on loopback the %d sessions and remote pvfio runs compete for them, so the ratio "
              "is bounded by CPU, not by network latency)" % (os.cpu_count() or 1, len(NODES)))
        return 0
    finally:
        lab.close()


if __name__ == "__main__":
    sys.exit(main())
