#!/usr/bin/env python3
"""API client benchmark: fetch the config of 500 VMs spread over 5 nodes from
the Proxmox simulator with 10 ms injected latency per request, at --parallel 16.

Prints the wall time of the config fetch against the ideal
ceil(VMS / PARALLEL) x LATENCY, and the TLS handshakes (client-side new
connections, and the simulator's own count) against the connections used.
Because the simulator is a Python process, it also measures its floor: the
same fetch with 0 ms latency (server-bound time), so the figure can be read
as max(ideal, floor).

    bench/api-fetch.py [--build DIR] [--vms 500] [--nodes 5] [--parallel 16]
                       [--latency-ms 10] [--runs 3]

With --reference it also runs the same fetch against a minimal asyncio HTTPS
server (same answers, same latency, no schema checks, one thread without
lock contention), which shows the client's own figure when the simulator's
Python request handling is the bottleneck.

Needs a build with tests (DIR/tests/api/api_tool) and python3.
"""
import argparse
import asyncio
import hashlib
import json
import math
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "api"))
import simctl  # noqa: E402

SECRET = "bench-0000-4000-8000-000000000000"
TOKEN = "root@pam!bench"


def cluster_file(vms, nodes):
    machine = os.path.join(TOP, "tests", "pvesim", "testdata", "machines", "sim-gpu1.json")
    c = {"cluster": "bench",
         "nodes": {"pve%d" % (i + 1): {"machine": machine} for i in range(nodes)},
         "users": [{"userid": "root@pam", "password": "bench-root"}],
         "tokens": [{"tokenid": TOKEN, "secret": SECRET, "privsep": 0}],
         "vms": [{"vmid": 1000 + i, "node": "pve%d" % (i % nodes + 1), "status": "stopped",
                  "config": {"name": "bench%d" % i, "memory": "2048", "cores": 2,
                             "net0": "virtio=BC:24:11:00:%02X:%02X,bridge=vmbr0" % (i // 256, i % 256)}}
                 for i in range(vms)]}
    f = tempfile.NamedTemporaryFile("w", suffix=".json", prefix="pvfio-bench-", delete=False)
    json.dump(c, f)
    f.close()
    return f.name


# ---------------------------------------------------------------- reference server

def serve_reference(port_file, cert, key, vms, nodes, latency_ms):
    """A minimal keep-alive HTTPS server answering the two requests of the benchmark."""
    resources = json.dumps({"data": [{"id": "qemu/%d" % (1000 + i), "type": "qemu", "vmid": 1000 + i,
                                      "node": "pve%d" % (i % nodes + 1), "status": "stopped"}
                                     for i in range(vms)]}).encode()
    stats = {"connections": 0, "requests": 0}

    async def handle(reader, writer):
        stats["connections"] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode()
                method, target = line.split(" ")[:2]
                path = target.split("?")[0]
                if path == "/_stats":
                    body, status = json.dumps(stats).encode(), "200 OK"
                else:
                    stats["requests"] += 1
                    await asyncio.sleep(latency_ms / 1000.0)
                    if path == "/api2/json/cluster/resources":
                        body, status = resources, "200 OK"
                    elif path.endswith("/config"):
                        vmid = path.split("/")[-2]
                        digest = hashlib.sha1(vmid.encode()).hexdigest()
                        body = json.dumps({"data": {"name": "bench" + vmid, "memory": "2048", "cores": 2,
                                                    "digest": digest}}).encode()
                        status = "200 OK"
                    else:
                        body, status = b'{"data":null}', "501 Not Implemented"
                writer.write(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                             b"Connection: Keep-Alive\r\n\r\n" % (status.encode(), len(body)) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, ValueError):
            pass
        finally:
            writer.close()

    async def run():
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx, backlog=128)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(server.sockets[0].getsockname()[1]))
        os.rename(port_file + ".tmp", port_file)
        async with server:
            await server.serve_forever()

    asyncio.run(run())


class Reference:
    def __init__(self, vms, nodes, latency_ms):
        self.dir = tempfile.mkdtemp(prefix="pvfio-bench-ref-")
        cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        with open(cert) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        h = hashlib.sha256(der).hexdigest().upper()
        self.fingerprint = ":".join(h[i:i + 2] for i in range(0, 64, 2))
        port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-reference", port_file,
                                      cert, key, str(vms), str(nodes), str(latency_ms)])
        for _ in range(100):
            if os.path.exists(port_file):
                break
            time.sleep(0.05)
        with open(port_file) as f:
            self.url = "https://127.0.0.1:" + f.read().strip()
        self.ctx = ssl.create_default_context(cafile=cert)

    def stats(self):
        import urllib.request
        with urllib.request.urlopen(self.url + "/_stats", context=self.ctx) as r:
            s = json.loads(r.read())
        return {"tls_handshakes": s["connections"]}

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)


def fetch(tool, sim, parallel):
    p = subprocess.run([tool, "--url", sim.url, "--fingerprint", sim.fingerprint, "--token-id", TOKEN,
                        "--parallel", str(parallel), "configs"],
                       capture_output=True, text=True, env=dict(os.environ, PVFIO_TEST_SECRET=SECRET))
    if p.returncode != 0:
        sys.exit("api_tool failed: %s %s" % (p.stdout, p.stderr))
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--vms", type=int, default=500)
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--latency-ms", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--reference", action="store_true", help="also measure against a minimal asyncio server")
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-reference":
        pf, cert, key, vms, nodes, lat = sys.argv[2:8]
        return serve_reference(pf, cert, key, int(vms), int(nodes), float(lat))
    a = ap.parse_args()
    tool = os.path.join(a.build, "tests", "api", "api_tool")
    if not os.access(tool, os.X_OK):
        sys.exit("no %s: build with tests first (cmake --build %s)" % (tool, a.build))
    cluster = cluster_file(a.vms, a.nodes)
    sim = simctl.Sim(cluster, ["--latency-ms", str(a.latency_ms)])
    try:
        runs = []
        for _ in range(a.runs):
            before = sim.stats()["tls_handshakes"]
            j = fetch(tool, sim, a.parallel)
            # the stats call opens one connection of its own
            j["sim_handshakes"] = sim.stats()["tls_handshakes"] - before - 1
            runs.append(j)
        sim.control("POST", "/_sim/settings", {"latency_ms": 0})
        floor = statistics.median(fetch(tool, sim, a.parallel)["result"]["fetch_ms"] for _ in range(a.runs))
        sim.control("POST", "/_sim/settings", {"latency_ms": a.latency_ms})
    finally:
        sim.stop()
        os.unlink(cluster)

    best = min(runs, key=lambda j: j["result"]["fetch_ms"])
    med = statistics.median(j["result"]["fetch_ms"] for j in runs)
    ideal = math.ceil(a.vms / a.parallel) * a.latency_ms
    r = best["result"]
    print("api-fetch: %d VM configs over %d nodes, %.0f ms latency per request, --parallel %d (%d runs)"
          % (a.vms, a.nodes, a.latency_ms, a.parallel, a.runs))
    print("  wall time (config fetch): best %d ms, median %d ms" % (r["fetch_ms"], med))
    print("  ideal ceil(%d/%d) x %.0f ms:  %d ms  -> best/ideal %.2fx (target <= 1.5x)"
          % (a.vms, a.parallel, a.latency_ms, ideal, r["fetch_ms"] / ideal))
    print("  simulator floor (same fetch, 0 ms latency): %d ms  -> best/max(ideal, floor) %.2fx"
          % (floor, r["fetch_ms"] / max(ideal, floor)))
    st = best["stats"]
    print("  TLS handshakes: %d counted by the simulator, %d connections opened by the client, for %d requests"
          " (%.1f per connection, %d retries); target: one handshake per connection"
          % (best["sim_handshakes"], st["connects"], st["requests"], st["requests"] / max(1, st["connects"]),
             st["retries"]))
    print("  whole run incl. GET /cluster/resources and process start: %d ms" % best["ms"])
    if a.reference:
        ref = Reference(a.vms, a.nodes, a.latency_ms)
        try:
            rr = []
            for _ in range(a.runs):
                before = ref.stats()["tls_handshakes"]
                j = fetch(tool, ref, a.parallel)
                j["handshakes"] = ref.stats()["tls_handshakes"] - before - 1
                rr.append(j)
        finally:
            ref.stop()
        b = min(rr, key=lambda j: j["result"]["fetch_ms"])
        print("reference asyncio server (same answers and latency, no schema checks):")
        print("  wall time (config fetch): best %d ms, median %d ms -> best/ideal %.2fx (target <= 1.5x)"
              % (b["result"]["fetch_ms"], statistics.median(j["result"]["fetch_ms"] for j in rr),
                 b["result"]["fetch_ms"] / ideal))
        print("  TLS handshakes: %d counted by the server, %d connections opened by the client, for %d requests"
              % (b["handshakes"], b["stats"]["connects"], b["stats"]["requests"]))


if __name__ == "__main__":
    main()
