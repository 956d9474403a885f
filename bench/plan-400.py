#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`pvfio plan` of a 5-node, 400-VM profile against the Proxmox simulator
with 10 ms latency per request, at --parallel 16.

    bench/plan-400.py --pvfio BUILD/pvfio [--nodes 5] [--vms 400] [--parallel 16]
                      [--latency-ms 10] [--runs 5] [--stopped]

Setup (not timed): a cluster of N nodes, each a tests/machines/workstation-2gpu.json
(its RTX 4090 at 02:00 sits on vfio-pci); a generated profile with one mapping
`gpu` (one entry per node) and VMS VMs spread round-robin over the nodes, the
first VM of each node passing the mapped GPU, every VM `state: running`
(--stopped: `present`, never started); `pvfio apply --yes` creates and starts
them with the latency set to 0 (creation is not what is measured).

Measured, with the latency set to LATENCY ms per API request:
  - wall time of `pvfio plan PROFILE --parallel P` (median of RUNS runs), against
    the ideal of
        rounds = 1 + ceil(VMS / P) + ceil(NODES / P)
    round trips of LATENCY ms: one cluster listing (/cluster/resources), then one
    config read per VM and one hardware read per node (/nodes/N/hardware/pci), P
    at a time;
  - the API requests of one plan (the simulator's request log), against the ideal
        1 + VMS + NODES + 1
    = the cluster listing, one config read per VM, one hardware read per node, and
    the mapping listing (GET /cluster/mapping/pci). Everything else (pending reads,
    the per-node check-node mapping listings, mdev types, logins) is counted as
    overhead and shown by kind;
  - peak memory of pvfio (/usr/bin/time -v, "Maximum resident set size");
  - the simulator's floor: the same plan with 0 ms latency (how fast the Python
    simulator serves the requests), so a miss can be told apart from the client.

Targets: time <= 1.5 x ideal, requests <= 1.05 x ideal, peak RSS < 32 MiB.
Exit status 0 when all three are met, 1 otherwise. Auth is an API token (no login).
"""
import argparse
import json
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

TOKEN = ("root@pam!bench", "0bec0bec-0000-4000-8000-0000000000b4")
MACHINE = os.path.join(TOP, "tests", "machines", "workstation-2gpu.json")


def cluster_file(path, nodes):
    desc = {
        "comment": "bench/plan-400.py: %d identical nodes, no VMs yet" % nodes,
        "cluster": "bench",
        "nodes": {"pve%d" % (i + 1): {"machine": MACHINE, "memory_gb": 1024} for i in range(nodes)},
        "users": [{"userid": "root@pam", "password": "bench-root"}],
        "tokens": [{"tokenid": TOKEN[0], "secret": TOKEN[1], "privsep": 0}],
    }
    with open(path, "w") as f:
        json.dump(desc, f, indent=1)


def profile_file(path, sim, nodes, vms, state):
    out = ["version: 1",
           "cluster:",
           "  name: bench",
           "  api: %s" % sim.url,
           "  auth: { token: \"%s\", secret_env: BENCH_TOKEN }" % TOKEN[0],
           "  tls: { fingerprint: \"%s\" }" % sim.fingerprint,
           "mappings:",
           "  - id: gpu",
           "    map:"]
    out += ["      - { node: pve%d, path: 0000:02:00 }" % (i + 1) for i in range(nodes)]
    out += ["templates:",
            "  small:",
            "    memory: 1G",
            "    cores: 1",
            "    ostype: l26",
            "    disks: [ { storage: local-lvm, size: 8G } ]",
            "    networks: [ { bridge: vmbr0 } ]",
            "    tags: [bench]",
            "    state: %s" % state,
            "vms:"]
    for i in range(vms):
        node = i % nodes + 1
        line = "  - { name: b%04d, node: pve%d, vmid: %d, template: small" % (i, node, 1000 + i)
        if i < nodes:
            line += ", machine: q35, pci: [ { mapping: gpu, pcie: true } ]"
        out.append(line + " }")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def kind_of(path):
    p = path.split("/api2/json", 1)[-1]
    for pat, kind in ((r"^/cluster/resources$", "cluster listing"),
                      (r"^/nodes/[^/]+/qemu/\d+/config$", "VM config"),
                      (r"^/nodes/[^/]+/qemu/\d+/pending$", "VM pending"),
                      (r"^/nodes/[^/]+/hardware/pci$", "node hardware"),
                      (r"^/nodes/[^/]+/hardware/pci/[^/]+/mdev$", "mdev types"),
                      (r"^/cluster/mapping/pci$", "mapping listing"),
                      (r"^/access/ticket$", "login")):
        if re.match(pat, p):
            return kind
    return "other: " + p


def cpu_seconds(pid):
    """user + system CPU time of a process (Linux /proc)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def breakdown(reqs, start, end, sim_cpu):
    """Where one plan's wall time went, from the simulator's request log (seconds)."""
    per_vm = ("VM config", "VM pending", "mdev types")
    r1 = [e for e in reqs if kind_of(e["path"]) not in per_vm]
    r2 = [e for e in reqs if kind_of(e["path"]) in per_vm]
    beg = lambda es: min(e["time"] for e in es)
    fin = lambda es: max(e["time"] + e["ms"] / 1000.0 for e in es)
    listing = [e for e in reqs if kind_of(e["path"]) == "cluster listing"]
    return {
        "start": beg(reqs) - start,                      # process start, profile, first TLS handshake
        "round1": fin(r1) - beg(r1),
        "listing": listing[0]["ms"] / 1000.0 if listing else 0.0,
        "between": (beg(r2) - fin(r1)) if r2 else 0.0,   # decoding round 1, building round 2
        "round2": (fin(r2) - beg(r2)) if r2 else 0.0,
        "end": end - fin(reqs),                          # planning, output, exit
        "sim_cpu": sim_cpu,
        "conns": len(set(e["conn"] for e in reqs)),
    }


def run(argv, env):
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    return time.monotonic() - t0, p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pvfio", required=True)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--vms", type=int, default=400)
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--latency-ms", type=float, default=10)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--stopped", action="store_true", help="VMs state: present (never started)")
    ap.add_argument("--sim", default=e2elib.SIM, help="the simulator to run (default: tests/pvesim/pvesim.py)")
    a = ap.parse_args()
    e2elib.SIM = a.sim
    tmp = tempfile.mkdtemp(prefix="pvfio-bench-plan-")
    env = dict(os.environ, BENCH_TOKEN=TOKEN[1], NO_COLOR="1", LC_ALL="C")
    sim = None
    try:
        cluster_file(os.path.join(tmp, "cluster.json"), a.nodes)
        sim = e2elib.Sim(os.path.join(tmp, "cluster.json"), ["--task-ms", "0"])
        prof = os.path.join(tmp, "profile.yaml")
        profile_file(prof, sim, a.nodes, a.vms, "present" if a.stopped else "running")

        # setup: create (and start) everything without latency
        sim.control("POST", "/_sim/settings", {"latency_ms": 0, "task_ms": 0})
        t, p = run([a.pvfio, "apply", "--yes", "--parallel", str(a.parallel), prof], env)
        if p.returncode != 0:
            sys.stderr.write(p.stdout[-3000:] + p.stderr[-3000:])
            print("setup: pvfio apply failed with exit status %d" % p.returncode)
            return 1
        print("setup: pvfio apply created %d VMs on %d nodes in %.1f s (latency 0)" % (a.vms, a.nodes, t))
        _, p = run([a.pvfio, "plan", prof], env)
        if p.returncode != 0:
            print("setup: the plan after apply is not empty (exit %d):\n%s" % (p.returncode, p.stdout[-2000:]))
            return 1

        plan = [a.pvfio, "plan", "--parallel", str(a.parallel), prof]
        # the simulator's own floor: no injected latency
        floor = []
        for _ in range(3):
            t, p = run(plan, env)
            floor.append(t)
        sim.control("POST", "/_sim/settings", {"latency_ms": a.latency_ms})

        times = []
        counts = None
        phases = []
        for i in range(a.runs):
            mark = sim.mark()
            c0 = cpu_seconds(sim.proc.pid)
            t0 = time.time()
            t, p = run(plan, env)
            if p.returncode != 0:
                print("pvfio plan: exit status %d\n%s%s" % (p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
                return 1
            times.append(t)
            reqs = sim.requests(mark)
            phases.append(breakdown(reqs, t0, t0 + t, cpu_seconds(sim.proc.pid) - c0))
            if counts is None:
                counts = {}
                for e in reqs:
                    k = kind_of(e["path"])
                    counts[k] = counts.get(k, 0) + 1
        timev = ["/usr/bin/time", "-v"] + plan
        _, p = run(timev, env)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
        rss_kib = int(m.group(1)) if m else None
    finally:
        if sim:
            sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    lat = a.latency_ms / 1000.0
    rounds = 1 + math.ceil(a.vms / a.parallel) + math.ceil(a.nodes / a.parallel)
    ideal_t = rounds * lat
    ideal_n = 1 + a.vms + a.nodes + 1
    n = sum(counts.values())
    med = statistics.median(times)
    ok_t = med <= 1.5 * ideal_t
    ok_n = n <= 1.05 * ideal_n
    ok_m = rss_kib is not None and rss_kib < 32 * 1024

    print("pvfio plan: %d nodes, %d VMs (%s), --parallel %d, %g ms latency per request, token auth"
          % (a.nodes, a.vms, "present" if a.stopped else "running", a.parallel, a.latency_ms))
    print("  wall time   median %.3f s of %d runs (min %.3f, max %.3f)" % (med, a.runs, min(times), max(times)))
    print("  ideal time  %.3f s = (1 + ceil(%d/%d) + ceil(%d/%d)) = %d rounds x %g ms"
          % (ideal_t, a.vms, a.parallel, a.nodes, a.parallel, rounds, a.latency_ms))
    print("  time ratio  %.2f x ideal (target <= 1.5)  %s" % (med / ideal_t, "ok" if ok_t else "MISSED"))
    print("  sim floor   %.3f s median with 0 ms latency (the simulator's own request handling)"
          % statistics.median(floor))
    ph = {k: statistics.median(p[k] for p in phases) for k in phases[0]}
    print("  breakdown   (medians) %.0f ms start (exec, profile, first TLS) | round 1: %.0f ms, of which the cluster"
          % (ph["start"] * 1000, ph["round1"] * 1000))
    between = ("%.0f ms between the rounds" % (ph["between"] * 1000) if ph["between"] >= 0 else
               "the VM reads start %.0f ms before round 1 ends" % (-ph["between"] * 1000))
    print("              listing %.0f ms in the simulator | %s | round 2 (%d VM reads, "
          "%d connections): %.0f ms" % (ph["listing"] * 1000, between, a.vms, ph["conns"], ph["round2"] * 1000))
    print("              = %.2f x its ideal of %d x %g ms | %.0f ms end (planning, output, exit)"
          % (ph["round2"] / (math.ceil(a.vms / a.parallel) * lat), math.ceil(a.vms / a.parallel), a.latency_ms,
             ph["end"] * 1000))
    print("              simulator CPU %.0f ms per plan (%.2f ms per request; it serves one request at a time)"
          % (ph["sim_cpu"] * 1000, ph["sim_cpu"] * 1000 / n))
    print("  requests    %d, ideal %d = 1 cluster listing + %d config reads + %d hardware reads + 1 mapping listing"
          % (n, ideal_n, a.vms, a.nodes))
    for k in sorted(counts, key=lambda k: -counts[k]):
        print("                %5d  %s" % (counts[k], k))
    print("  req ratio   %.3f x ideal (target <= 1.05)  %s" % (n / ideal_n, "ok" if ok_n else "MISSED"))
    print("  peak RSS    %s (target < 32 MiB)  %s" % (
        "%.1f MiB" % (rss_kib / 1024.0) if rss_kib else "unknown (no /usr/bin/time -v)", "ok" if ok_m else "MISSED"))
    return 0 if ok_t and ok_n and ok_m else 1


if __name__ == "__main__":
    sys.exit(main())
