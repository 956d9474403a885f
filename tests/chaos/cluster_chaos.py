#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Cluster chaos: `kill -9` in the middle of an apply, and applies running at once.

Against the simulator (tests/pvesim, clusters/lab.json of tests/e2e), a profile of
20 VMs on pve1:

1. ROUNDS rounds (default 20): reset the cluster, start `pvfio apply --yes`, kill it
   with SIGKILL after a random delay within the time a whole apply takes, then apply
   again until it exits 0 (at most 2 re-applies).
2. Two and three `pvfio apply --yes` of the same profile started at once.

After each case: no VM name twice (0 duplicates), every VM of the profile present
with its keys (0 lost keys: name, memory, cores, tags), convergence within 2
re-applies, and the apply lock released.

    cluster_chaos.py --pvfio BUILD/pvfio [--rounds 20] [--seed N] [-v]

Prints the figures (one line per round, then the totals) and exits 1 when a target
is missed, 77 when the simulator cannot start. Total time is bounded: a round's
apply is killed after 120 s at the latest.
"""
import argparse
import os
import random
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import e2elib  # noqa: E402

N_VMS = 20
MAX_REAPPLIES = 2


def profile_text():
    vms = "".join("  - name: chaos-%02d\n    node: pve1\n    memory: %dM\n    cores: %d\n    state: present\n"
                  % (i, 512 + 64 * i, 1 + i % 4) for i in range(N_VMS))
    return e2elib.LAB_HEADER["token"] + "vms:\n" + vms


def want():
    return {"chaos-%02d" % i: {"memory": str(512 + 64 * i), "cores": str(1 + i % 4)} for i in range(N_VMS)}


class Chaos:
    def __init__(self, pvfio, verbose):
        self.pvfio = pvfio
        self.verbose = verbose
        self.sim = e2elib.Sim("lab.json")
        self.dir = self.sim.dir
        self.prof = os.path.join(self.dir, "chaos.yaml")
        e2elib.render(profile_text(), self.prof, {"API": self.sim.url, "FINGERPRINT": self.sim.fingerprint})
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("PVFIO_"):
                del self.env[k]
        self.env.update({"NO_COLOR": "1", "LC_ALL": "C", "E2E_TOKEN": e2elib.LAB_TOKEN[1]})

    def reset(self):
        self.sim.reset()
        self.api = e2elib.Api(self.sim, password=e2elib.LAB_ROOT_PW)

    def start_apply(self):
        return subprocess.Popen([self.pvfio, "apply", "--yes", self.prof], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def apply(self, timeout=120):
        p = self.start_apply()
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return 124, out, err
        return p.returncode, out, err

    def check(self):
        """(duplicates, lost keys, lock left) of the cluster now."""
        self.sim.wait_tasks(30)
        names = {}
        for r in self.api.get("/cluster/resources", type="vm"):
            if r.get("name", "").startswith("chaos-"):
                names.setdefault(r["name"], []).append((r["vmid"], r["node"]))
        dups = sum(len(v) - 1 for v in names.values())
        lost = 0
        for name, keys in want().items():
            if name not in names:
                lost += len(keys) + 1
                continue
            vmid, node = names[name][0]
            conf = self.api.config(node, vmid)
            lost += sum(1 for k, v in keys.items() if str(conf.get(k)) != v)
            lost += "pvfio" not in (conf.get("tags") or "").split(";")
        try:
            pools = self.api.get("/pools", poolid="pvfio-lock")
            m = re.search(r" pid=(\d+) ", pools[0].get("comment") or "") if pools else None
            lock = int(m.group(1)) if m else bool(pools)
        except e2elib.ApiError:
            lock = False
        return dups, lost, lock

    def log(self, msg):
        print(msg, flush=True)


def kill_rounds(c, rounds, rng, full_s):
    bad = 0
    totals = {"dups": 0, "lost": 0, "reapplies": 0, "not_converged": 0, "locks_left": 0, "killed": 0}
    for i in range(rounds):
        c.reset()
        # within the first 80 % of a whole apply's time: most kills land mid-apply
        delay = rng.uniform(0.05, max(0.1, 0.8 * full_s))
        p = c.start_apply()
        time.sleep(delay)
        killed = p.poll() is None
        totals["killed"] += killed
        if killed:
            p.send_signal(signal.SIGKILL)
        p.communicate()
        n = 0
        rc = None
        while n < MAX_REAPPLIES:
            n += 1
            rc, out, err = c.apply()
            if rc == 0:
                break
            if c.verbose:
                c.log("    re-apply %d: rc=%d\n%s%s" % (n, rc, out[-1500:], err[-1500:]))
        dups, lost, lock = c.check()
        # the lock is optimistic: a re-apply with nothing left to write takes no lock, so the lock of the
        # killed apply may stay behind (stale: its process is gone; the next writing apply takes it over,
        # tests/e2e/test_reliability.py ApplyLock). Any other lock left is a failure.
        stale = killed and lock is not False and lock == p.pid
        totals["stale_locks"] = totals.get("stale_locks", 0) + stale
        lock = False if stale else lock
        converged = rc == 0
        totals["dups"] += dups
        totals["lost"] += lost
        totals["reapplies"] += n
        totals["not_converged"] += not converged
        totals["locks_left"] += bool(lock)
        ok = converged and not dups and not lost and not lock
        bad += not ok
        c.log("round %2d: kill after %.2f s%s, %d re-appl%s, rc=%s, duplicates=%d, lost keys=%d, lock left=%s%s"
              % (i + 1, delay, "" if killed else " (had finished)", n, "y" if n == 1 else "ies", rc, dups, lost,
                 "yes" if lock else "stale (killed apply's)" if stale else "no", "" if ok else "  <-- FAILED"))
    return bad, totals


def concurrent(c, k):
    c.reset()
    procs = [c.start_apply() for _ in range(k)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    rcs = [r[2] for r in results]
    dups, lost, lock = c.check()
    ok = all(rc == 0 for rc in rcs) and not dups and not lost and not lock
    c.log("%d applies at once: exit %s, duplicates=%d, lost keys=%d, lock left=%s%s"
          % (k, rcs, dups, lost, "yes" if lock else "no", "" if ok else "  <-- FAILED"))
    if not ok and c.verbose:
        for out, err, rc in results:
            c.log("  rc=%d\n%s%s" % (rc, out[-1500:], err[-1500:]))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pvfio", required=True)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("PVFIO_CHAOS_SEED", "0")) or None)
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    try:
        c = Chaos(os.path.abspath(a.pvfio), a.v)
    except e2elib.SimUnavailable as e:
        print("simulator unavailable: %s" % e)
        return 77
    t0 = time.time()
    try:
        c.log("seed %d (rerun with --seed %d)" % (seed, seed))
        # how long a whole apply takes here: the kills land anywhere within it
        c.reset()
        t = time.time()
        rc, out, err = c.apply()
        full_s = time.time() - t
        if rc != 0:
            c.log("the reference apply failed (rc=%d):\n%s%s" % (rc, out[-3000:], err[-3000:]))
            return 1
        c.log("a whole apply of %d VMs takes %.2f s" % (N_VMS, full_s))
        bad, totals = kill_rounds(c, a.rounds, rng, full_s)
        bad += concurrent(c, 2)
        bad += concurrent(c, 3)
    finally:
        c.sim.stop()
    c.log("total: %d rounds (%d killed mid-apply), duplicates=%d, lost keys=%d, rounds not converged within %d re-applies=%d, "
          "re-applies=%d, locks left=%d (stale locks of killed applies left by a no-op re-apply: %d); %.0f s"
          % (a.rounds, totals["killed"], totals["dups"], totals["lost"], MAX_REAPPLIES, totals["not_converged"], totals["reapplies"],
             totals["locks_left"], totals.get("stale_locks", 0), time.time() - t0))
    c.log("PASS" if bad == 0 else "FAIL: %d case(s) missed a target" % bad)
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
