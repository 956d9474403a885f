#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""pvfio against Ansible's community.general.proxmox_kvm on the simulator (issue 13).

Driven by bench/peer-ansible.sh (which checks the tools and builds pvfio). For each
setting (task time, latency) one simulator is started; the same work runs with both
clients, interleaved (pvfio, Ansible, pvfio, Ansible, …; median of --runs):

  20 GPU VMs (q35, OVMF, one disk, one NIC, one hostpci; root@pam ticket for both):
  create, no-op re-run, update memory, start, delete

then the same five phases with 100 VMs for pvfio alone. Per phase it prints the
seconds of each client, the ratio, the requests and writes of each (from the
simulator's request log; logins and pvfio's apply lock are not writes), and
pvfio's distance from the floor

  floor = max(longest chain, ceil(writes / parallel)) x (latency + task time)

where a chain is the writes one VM needs in that phase, in order (create; config;
start; shutdown + delete).
"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "e2e"))
import e2elib  # noqa: E402

ROOT_PW = "bench-root-pw"
PHASES = ("create", "noop", "update", "start", "delete")
WRITES = ("POST", "PUT", "DELETE")


def machine(n_gpus):
    """A node with n_gpus GPUs on vfio-pci, one IOMMU group each (enough for every VM to start)."""
    devs = [{"addr": "0000:00:00.0", "parent": None, "vendor": "8086", "device": "9b33", "class": "060000",
             "iommu_group": 0, "driver": "skl_uncore", "names": {"vendor": "Intel", "device": "Host bridge"}}]
    for i in range(n_gpus):
        devs.append({"addr": "0000:%02x:00.0" % (0x10 + i), "parent": None, "vendor": "10de", "device": "2531",
                     "subsystem_vendor": "10de", "subsystem_device": "151d", "class": "030000",
                     "iommu_group": 10 + i, "driver": "vfio-pci", "boot_vga": 0, "reset_method": "flr",
                     "names": {"vendor": "NVIDIA Corporation", "device": "GA106 [RTX A2000]"}})
    return {"name": "bench-gpus", "description": "benchmark node with %d GPUs on vfio-pci" % n_gpus,
            "cpu": {"vendor": "GenuineIntel", "model_name": "bench", "flags": ["vmx"], "count": 64},
            "kernel": "6.14.11-4-pve",
            "boot": {"loader": "grub", "efi": True, "cmdline": "BOOT_IMAGE=/boot/vmlinuz root=/dev/x ro intel_iommu=on",
                     "grub_cmdline_linux_default": "quiet intel_iommu=on"},
            "iommu": {"enabled": True, "firmware_table": "DMAR", "interrupt_remapping": True},
            "modules_loaded": ["vfio", "vfio_pci", "vfio_iommu_type1"], "devices": devs}


def write_cluster(d, nodes, gpus):
    with open(os.path.join(d, "machine.json"), "w") as f:
        json.dump(machine(gpus), f)
    cluster = {"cluster": "bench",
               "nodes": {"pve%d" % (i + 1): {"machine": "machine.json", "memory_gb": 4096} for i in range(nodes)},
               "users": [{"userid": "root@pam", "password": ROOT_PW}]}
    path = os.path.join(d, "cluster.json")
    with open(path, "w") as f:
        json.dump(cluster, f)
    return path


def vm_list(n, per_node=20):
    """[(name, node, gpu address)]: 20 per node, each with its own GPU."""
    return [("bench-%03d" % i, "pve%d" % (i // per_node + 1), "0000:%02x:00.0" % (0x10 + i % per_node))
            for i in range(n)]


# ------------------------------------------------------------------ pvfio

def pvfio_profile(sim, vms, memory, state):
    head = """version: 1
cluster:
  name: bench
  api: %s
  auth:
    user: root@pam
    password_env: BENCH_ROOT_PW
  tls:
    ca_file: %s
""" % (sim.url, sim.cert)
    body = "vms:\n"
    for name, node, gpu in vms:
        body += """  - name: %s
    node: %s
    machine: q35
    bios: ovmf
    memory: %dM
    state: %s
    disks:
      - { bus: scsi, index: 0, storage: local-lvm, size: 32G }
    networks:
      - { model: virtio, bridge: vmbr0 }
    pci:
      - { address: "%s", pcie: true }
""" % (name, node, memory, state, gpu)
    return head + body


def run_pvfio(pvfio, sim, d, vms, phase, parallel):
    memory, state = {"create": (2048, "present"), "noop": (2048, "present"), "update": (4096, "present"),
                     "start": (4096, "running"), "delete": (4096, "absent")}[phase]
    prof = os.path.join(d, "pvfio-%s.yaml" % phase)
    with open(prof, "w") as f:
        f.write(pvfio_profile(sim, vms, memory, state))
    env = dict(os.environ, BENCH_ROOT_PW=ROOT_PW, NO_COLOR="1")
    argv = [pvfio, "apply", "--yes", "--parallel", str(parallel), prof]
    t = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    dt = time.monotonic() - t
    if p.returncode != 0:
        raise RuntimeError("pvfio %s failed (rc=%d):\n%s%s" % (phase, p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return dt


# ---------------------------------------------------------------- Ansible

def ansible_playbook(sim, vms, phase):
    tasks = []
    common = {"api_host": "127.0.0.1:%d" % sim.port, "api_user": "root@pam", "api_password": ROOT_PW,
              "validate_certs": True, "timeout": 120}
    for name, node, gpu in vms:
        a = dict(common, node=node, name=name)
        if phase in ("create", "noop"):
            a.update(state="present", machine="q35", bios="ovmf", memory=2048, scsi={"scsi0": "local-lvm:32"},
                     net={"net0": "virtio,bridge=vmbr0"}, hostpci={"hostpci0": "%s,pcie=1" % gpu})
        elif phase == "update":
            a.update(state="present", update=True, memory=4096)
        elif phase == "start":
            a.update(state="started")
        else:
            a.update(state="absent", force=True)
        tasks.append({"name": "%s %s" % (phase, name), "community.general.proxmox_kvm": a})
    return [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]


def run_ansible(sim, d, vms, phase):
    book = os.path.join(d, "ansible-%s.yml" % phase)
    with open(book, "w") as f:
        json.dump(ansible_playbook(sim, vms, phase), f)  # JSON is YAML
    env = dict(os.environ, REQUESTS_CA_BUNDLE=sim.cert, ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False")
    argv = ["ansible-playbook", "-i", "localhost,", book]
    t = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    dt = time.monotonic() - t
    if p.returncode != 0:
        raise RuntimeError("ansible %s failed (rc=%d):\n%s%s" % (phase, p.returncode, p.stdout[-3000:], p.stderr[-2000:]))
    return dt


# ------------------------------------------------------------- counting

def is_lock(e):
    return e2elib.is_apply_lock(e)


def counts(sim, since):
    reqs = sim.requests(since)
    writes = [e for e in reqs if e["method"] in WRITES and not e["path"].endswith("/access/ticket") and not is_lock(e)]
    chains = {}
    for e in writes:
        parts = e["path"].split("/api2/json")[-1].split("/")
        key = parts[4] if len(parts) > 4 and parts[3] == "qemu" else (e.get("params") or {}).get("vmid") or e["path"]
        chains[key] = chains.get(key, 0) + 1
    return len(reqs), len(writes), max(chains.values()) if chains else 0


def one_run(tool, args, sim, d, vms):
    """The five phases from a fresh cluster: {phase: (seconds, requests, writes, longest chain)}."""
    sim.reset()
    sim.control("POST", "/_sim/settings", {"latency_ms": args.latency_ms, "task_ms": args.task_ms})
    out = {}
    for ph in args.phases:
        mark = sim.mark()
        if tool == "pvfio":
            dt = run_pvfio(args.pvfio, sim, d, vms, ph, args.parallel if len(vms) <= 20 else args.parallel_100)
        else:
            dt = run_ansible(sim, d, vms, ph)
        sim.wait_tasks(60)
        n_req, n_wr, chain = counts(sim, mark)
        out[ph] = (dt, n_req, n_wr, chain)
    return out


def median_of(runs, ph, i):
    return statistics.median(r[ph][i] for r in runs)


def report(title, args, par, pv_runs, an_runs):
    step = (args.latency_ms + args.task_ms) / 1000.0
    print("\n%s (--task-ms %d --latency-ms %d, pvfio --parallel %d, median of %d)"
          % (title, args.task_ms, args.latency_ms, par, len(pv_runs)))
    hdr = "%-8s %9s %9s %8s %14s %14s %9s %8s" % ("phase", "pvfio s", "ansible s", "ratio", "req pv/ans",
                                                  "writes pv/ans", "floor s", "vs floor")
    print(hdr)
    rows = []
    for ph in args.phases:
        pv_s = median_of(pv_runs, ph, 0)
        pv_req, pv_wr, chain = (int(median_of(pv_runs, ph, i)) for i in (1, 2, 3))
        waves = max(chain, math.ceil(pv_wr / par)) if pv_wr else 0
        floor = waves * step
        vs = "%.2fx" % (pv_s / floor) if floor else "-"
        if an_runs:
            an_s = median_of(an_runs, ph, 0)
            an_req, an_wr = int(median_of(an_runs, ph, 1)), int(median_of(an_runs, ph, 2))
            print("%-8s %9.3f %9.2f %7.1fx %6d/%-7d %6d/%-7d %9.2f %8s"
                  % (ph, pv_s, an_s, an_s / pv_s, pv_req, an_req, pv_wr, an_wr, floor, vs))
        else:
            print("%-8s %9.3f %9s %8s %6d/%-7s %6d/%-7s %9.2f %8s" % (ph, pv_s, "-", "-", pv_req, "-", pv_wr, "-",
                                                                    floor, vs))
        rows.append((ph, pv_s, floor))
    sys.stdout.flush()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--parallel", type=int, default=16, help="pvfio --parallel for the 20-VM runs")
    ap.add_argument("--parallel-100", type=int, default=16, help="pvfio --parallel for the 100-VM runs")
    ap.add_argument("--settings", default="300:2,50:0", help="TASK_MS:LATENCY_MS,… (default 300:2,50:0)")
    ap.add_argument("--no-ansible", action="store_true", help="pvfio only")
    ap.add_argument("--no-100", action="store_true", help="skip the 100-VM runs")
    ap.add_argument("--phases", default=",".join(PHASES),
                    help="phases to run, in this order, from a fresh cluster each run (default %s; "
                         "a later phase needs the VMs an earlier one made, e.g. create,noop)" % ",".join(PHASES))
    a = ap.parse_args()
    a.phases = [p for p in a.phases.split(",") if p]
    bad = [p for p in a.phases if p not in PHASES]
    if bad or not a.phases:
        ap.error("--phases: unknown phase(s) %s; known: %s" % (", ".join(bad) or "(none)", ", ".join(PHASES)))
    d = tempfile.mkdtemp(prefix="pvfio-bench-ansible-")
    try:
        cluster = write_cluster(d, nodes=5, gpus=20)
        for setting in a.settings.split(","):
            a.task_ms, a.latency_ms = (int(x) for x in setting.split(":"))
            sim = e2elib.Sim(cluster, ["--task-ms", str(a.task_ms), "--latency-ms", str(a.latency_ms)], timeout=60)
            try:
                vms20 = vm_list(20)
                pv_runs, an_runs = [], []
                for i in range(a.runs):
                    pv_runs.append(one_run("pvfio", a, sim, d, vms20))
                    if not a.no_ansible:
                        an_runs.append(one_run("ansible", a, sim, d, vms20))
                report("20 GPU VMs", a, a.parallel, pv_runs, an_runs)
                if not a.no_100:
                    runs100 = [one_run("pvfio", a, sim, d, vm_list(100)) for _ in range(a.runs)]
                    report("100 GPU VMs, pvfio alone", a, a.parallel_100, runs100, [])
            finally:
                sim.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
