#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`pvfio apply` write phases against the Proxmox simulator, pvfio alone: how
close the parallel executor comes to the floor the tasks allow.

    bench/apply-parallel.py --pvfio BUILD/pvfio [--vms 20] [--parallel 16]
                            [--task-ms 300] [--latency-ms 2] [--nodes 2] [--runs 3]

Setup: a cluster of NODES nodes (tests/machines/workstation-2gpu.json each) and
a profile of VMS VMs spread round-robin over them: q35, OVMF with an EFI disk,
one 8 GiB disk, one NIC (no PCI device: the start phase would need one device
per VM). Phases, each run RUNS times from the same starting state (median):

  create   the VMs do not exist, `state: present`
  no-op    the same profile again: 0 writes expected
  update   memory 1 GiB → 2 GiB (stopped VMs)
  start    `state: running` (from stopped)
  delete   `state: absent` (running VMs are stopped, then destroyed)

For each phase: wall time of `pvfio apply --yes --parallel P`, its requests and
writes (the simulator's request log), pvfio's task status polls and task-list
polls (GET /nodes/{node}/tasks for several tasks of a node at once; --timings),
and the floor

    floor = ceil(VMS / P) × chain × (LATENCY + TASK)

where chain is the number of task-backed writes one VM needs in the phase
(create 1, start 1, delete 2 when running: stop + destroy; update 0: a
synchronous PUT, whose floor is ceil(VMS / P) × LATENCY). Setup between
runs (not timed) goes through pvfio too, at 0 ms tasks and latency.

Targets (issue 13): create, start and delete within 1.3× the floor; no-op 0
writes. Exit status 0 when met, 1 otherwise.
"""
import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "e2e"))
import e2elib  # noqa: E402

TOKEN = ("root@pam!bench", "0bec0bec-0000-4000-8000-0000000000b5")
MACHINE = os.path.join(TOP, "tests", "machines", "workstation-2gpu.json")


def cluster_file(path, nodes):
    import json
    desc = {
        "comment": "bench/apply-parallel.py: %d identical nodes, no VMs yet" % nodes,
        "cluster": "bench",
        "nodes": {"pve%d" % (i + 1): {"machine": MACHINE, "memory_gb": 4096} for i in range(nodes)},
        "users": [{"userid": "root@pam", "password": "bench-root"}],
        "tokens": [{"tokenid": TOKEN[0], "secret": TOKEN[1], "privsep": 0}],
    }
    with open(path, "w") as f:
        json.dump(desc, f, indent=1)


def profile_text(sim, nodes, vms, state, memory):
    out = ["version: 1",
           "cluster:",
           "  name: bench",
           "  api: %s" % sim.url,
           "  auth: { token: \"%s\", secret_env: BENCH_TOKEN }" % TOKEN[0],
           "  tls: { fingerprint: \"%s\" }" % sim.fingerprint,
           "defaults:",
           "  machine: q35",
           "  bios: ovmf",
           "templates:",
           "  gpu:",
           "    efidisk: { storage: local-lvm }",
           "    memory: %s" % memory,
           "    disks:",
           "      - { storage: local-lvm, size: 8G }",
           "    networks:",
           "      - { bridge: vmbr0 }",
           "vms:"]
    for i in range(vms):
        out.append("  - { name: gpu-%03d, node: pve%d, template: gpu, state: %s }" % (i, i % nodes + 1, state))
    return "\n".join(out) + "\n"


class Bench:
    def __init__(self, a, tmp):
        self.a = a
        self.tmp = tmp
        cluster_file(os.path.join(tmp, "cluster.json"), a.nodes)
        self.sim = e2elib.Sim(os.path.join(tmp, "cluster.json"), ["--task-ms", "0"])
        self.env = dict(os.environ, BENCH_TOKEN=TOKEN[1], NO_COLOR="1", LC_ALL="C")
        for k in list(self.env):
            if k.startswith("PVFIO_"):
                del self.env[k]

    def settings(self, task_ms, latency_ms):
        self.sim.control("POST", "/_sim/settings", {"task_ms": task_ms, "latency_ms": latency_ms})

    def profile(self, state, memory="1G"):
        p = os.path.join(self.tmp, "profile.yaml")
        with open(p, "w") as f:
            f.write(profile_text(self.sim, self.a.nodes, self.a.vms, state, memory))
        return p

    def apply(self, prof, timed=False):
        argv = [self.a.pvfio, "apply", "--yes", "-q", prof, "--parallel", str(self.a.parallel), "--timings"]
        mark = self.sim.mark()
        t0 = time.monotonic()
        p = subprocess.run(argv, capture_output=True, text=True, env=self.env)
        wall = time.monotonic() - t0
        if p.returncode != 0:
            sys.exit("pvfio apply failed (%d):\n%s\n%s" % (p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
        reqs = self.sim.requests(mark)
        writes = self.sim.writes(mark)
        m = re.search(r"(\d+) tasks, (\d+) status polls", p.stderr)
        tasks, polls = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        m = re.search(r"(\d+) task-list polls", p.stderr)   # GET /nodes/{node}/tasks for many tasks at once
        lists = int(m.group(1)) if m else 0
        if timed and os.environ.get("BENCH_VERBOSE"):
            sys.stderr.write(p.stderr)
        return {"wall": wall, "requests": len(reqs), "writes": len(writes), "tasks": tasks, "polls": polls,
                "lists": lists}

    def reach(self, state, memory="1G"):
        """Bring the cluster to a state (not timed: no latency, instant tasks)."""
        self.settings(0, 0)
        self.apply(self.profile(state, memory))
        self.sim.wait_tasks()

    def phase(self, name, before, after):
        runs = []
        for _ in range(self.a.runs):
            self.reach(*before)
            self.settings(self.a.task_ms, self.a.latency_ms)
            runs.append(self.apply(self.profile(*after), timed=True))
        walls = [r["wall"] for r in runs]
        med = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]
        med["wall"] = statistics.median(walls)
        return med

    def stop(self):
        self.sim.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    ap.add_argument("--vms", type=int, default=20)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--task-ms", type=int, default=300)
    ap.add_argument("--latency-ms", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pvfio-bench-apply-")
    b = Bench(a, tmp)
    waves = math.ceil(a.vms / a.parallel)
    step = (a.latency_ms + a.task_ms) / 1000.0
    phases = [
        # name, start state, applied state, task-backed writes per VM in the chain, target ratio
        ("create", ("absent",), ("present",), 1, 1.3),
        ("no-op", ("present",), ("present",), 0, None),
        ("update", ("stopped",), ("stopped", "2G"), 0, None),
        ("start", ("stopped",), ("running",), 1, 1.3),
        ("delete", ("running",), ("absent",), 2, 1.3),
    ]
    ok = True
    print("pvfio apply, %d VMs on %d nodes, --parallel %d, tasks %d ms, latency %d ms, median of %d"
          % (a.vms, a.nodes, a.parallel, a.task_ms, a.latency_ms, a.runs))
    print("%-7s %8s %8s %6s %9s %7s %6s %6s %6s  %s" % ("phase", "seconds", "floor", "ratio", "requests", "writes",
                                                         "tasks", "polls", "lists", "target"))
    try:
        for name, before, after, chain, target in phases:
            r = b.phase(name, before, after)
            floor = waves * chain * step if chain else (waves * a.latency_ms / 1000.0 if name == "update" else 0.0)
            ratio = r["wall"] / floor if floor else float("nan")
            if name == "no-op":
                met = r["writes"] == 0
                tgt = "0 writes: %s" % ("met" if met else "MISSED")
            elif target:
                met = ratio <= target
                tgt = "<= %.1fx floor: %s" % (target, "met" if met else "MISSED")
            else:
                met, tgt = True, "-"
            ok &= met
            print("%-7s %8.3f %8.3f %6s %9d %7d %6d %6d %6d  %s" % (
                name, r["wall"], floor, "%.2f" % ratio if floor else "-", r["requests"], r["writes"], r["tasks"],
                r["polls"], r["lists"], tgt))
    finally:
        b.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
