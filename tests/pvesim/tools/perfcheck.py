#!/usr/bin/env python3
"""Measure the simulator itself: GET the config of every VM with N keep-alive
connections and a per-request latency, and print wall time against the ideal
ceil(requests / parallel) * latency, plus requests and TLS handshakes seen.

Usage: perfcheck.py [--nodes 5] [--vms 500] [--parallel 16] [--latency-ms 10]
"""

import argparse
import http.client
import json
import math
import os
import queue
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIMDIR = os.path.dirname(HERE)


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--vms", type=int, default=500)
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--latency-ms", type=float, default=10.0)
    a = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="pvesim-perf-")
    cluster = os.path.join(tmp, "cluster.json")
    secret = "0bec0bec-0000-4000-8000-000000000001"
    subprocess.check_call([sys.executable, os.path.join(HERE, "gen_cluster.py"), "--nodes", str(a.nodes),
                           "--vms", str(a.vms), "--token-secret", secret, cluster])
    t0 = time.time()
    proc = subprocess.Popen([sys.executable, os.path.join(SIMDIR, "pvesim.py"), "--cluster", cluster,
                             "--state", os.path.join(tmp, "state.json"), "--latency-ms", str(a.latency_ms)],
                            stdout=subprocess.PIPE)
    info = json.loads(proc.stdout.readline())
    startup = time.time() - t0
    ctx = ssl.create_default_context(cafile=info["cert"])
    hdr = {"Authorization": "PVEAPIToken=root@pam!bench=" + secret}
    work = queue.Queue()
    for i in range(a.vms):
        work.put("/api2/json/nodes/pve%d/qemu/%d/config" % (i % a.nodes + 1, 100 + i))
    errors = []

    def worker():
        conn = http.client.HTTPSConnection("127.0.0.1", info["port"], context=ctx)
        while True:
            try:
                path = work.get_nowait()
            except queue.Empty:
                break
            conn.request("GET", path, headers=hdr)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                errors.append((path, r.status, r.reason))
        conn.close()

    def cpu_seconds(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    threads = [threading.Thread(target=worker) for _ in range(a.parallel)]
    cpu0 = cpu_seconds(proc.pid)
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - start
    cpu1 = cpu_seconds(proc.pid)
    conn = http.client.HTTPSConnection("127.0.0.1", info["port"], context=ctx)
    conn.request("GET", "/_sim/stats")
    stats = json.loads(conn.getresponse().read())
    conn.close()
    proc.terminate()
    proc.wait()
    ideal = math.ceil(a.vms / a.parallel) * a.latency_ms / 1000.0
    print("simulator start-up: %.3f s" % startup)
    print("requests: %d, errors: %d, parallel: %d, latency: %.1f ms" % (a.vms, len(errors), a.parallel, a.latency_ms))
    print("wall: %.3f s, ideal: %.3f s, ratio: %.2f" % (wall, ideal, wall / ideal if ideal else 0))
    print("server saw %d requests, %d TLS handshakes" % (stats["requests"], stats["tls_handshakes"]))
    if cpu0 is not None and cpu1 is not None:
        print("simulator CPU: %.3f s (%.3f ms per request)" % (cpu1 - cpu0, (cpu1 - cpu0) * 1000.0 / a.vms))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
