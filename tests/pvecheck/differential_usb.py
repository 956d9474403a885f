#!/usr/bin/env python3
"""Differential check of the simulator's USB and hook-script answers against Proxmox's Perl.

    python3 tests/pvecheck/differential_usb.py [--sandbox DIR] [-v]

Live only (no recorded answers): needs a 9.x pvecheck sandbox (tests/pvecheck/sandbox.sh);
without one it says so and exits 77 (skipped). The inputs come from the simulator's own
state (cluster-small.json): its machine description becomes a real sysfs tree in a temporary
folder (what pve-common PVE::SysFSTools::scan_usb reads), its usb.cfg text is what
PVE::Mapping::USB parses, and its `local` storage becomes a real directory storage with the
same snippet files (mode 0755 / 0644). differential.pl then runs, on those inputs:

  usb_scan          PVE::SysFSTools::__scan_usb_device   vs  GET /nodes/pve1/hardware/usb
  usb_assert_valid  PVE::Mapping::USB::assert_valid      vs  GET /cluster/mapping/usb?check-node=pve1
  usb_parse_device  PVE::QemuServer::USB::parse_usb_device  vs  the qmstart task of VM 101
  hookscript        PVE::GuestHelpers::check_hookscript  vs  PUT hookscript (400 errors.hookscript)

Exit 0 when every case agrees, 1 otherwise.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "pvesim", "tests"))
sys.path.insert(0, os.path.join(TOP, "tests", "pvesim"))

from simclient import Sim  # noqa: E402
from pvesim import usb as simusb  # noqa: E402


def task_text(msg):
    """fork_worker: one trailing newline dropped, inner newlines become spaces."""
    msg = msg[:-1] if msg.endswith("\n") else msg
    return msg.replace("\n", " ")


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, mode)


def build_sysfs(machine, root):
    """The machine's USB buses as the sysfs tree scan_usb walks (plus interface folders it must skip)."""
    for b in machine.get("usb") or []:
        bus = b["bus"]
        hub = os.path.join(root, "usb%d" % bus)
        os.makedirs(os.path.join(hub, "%d-0:1.0" % bus))
        speed = str(b.get("speed") or "480")
        for k, v in (("busnum", bus), ("devnum", 1), ("speed", speed), ("bDeviceClass", "09"),
                     ("idVendor", "1d6b"), ("idProduct", "0003" if int(float(speed)) >= 5000 else "0002"),
                     ("product", "xHCI Host Controller"), ("manufacturer", "Linux xhci-hcd")):
            write(os.path.join(hub, k), str(v))
        dirs = {"": hub}
        for n, d in enumerate(b.get("devices") or []):
            parent = d["path"].rsplit(".", 1)[0] if "." in d["path"] else ""
            p = os.path.join(dirs[parent], "%d-%s" % (bus, d["path"]))
            os.makedirs(os.path.join(p, "%d-%s:1.0" % (bus, d["path"])))
            dirs[d["path"]] = p
            for k, v in (("busnum", bus), ("devnum", n + 2), ("speed", d.get("speed") or "12"),
                         ("bDeviceClass", d.get("class") or "00"), ("idVendor", d["vendor"]),
                         ("idProduct", d["product"]), ("product", d.get("product_name")),
                         ("manufacturer", d.get("manufacturer"))):
                if v is not None:
                    write(os.path.join(p, k), str(v))


MAPS = {  # id -> map entries (pve1 of cluster-small: 046d:c52b at 1-2, a hub at 1-10, 1532:0084 at 1-10.3)
    "byport": ["node=pve1,path=1-10.3,id=1532:0084"],
    "byid": ["node=pve1,id=046d:c52b"],
    "upper": ["node=pve1,path=1-2,id=046D:C52B"],
    "moved": ["node=pve1,path=1-10.3,id=046d:c52b"],
    "empty-port": ["node=pve1,path=1-9,id=046d:c52b"],
    "absent-id": ["node=pve1,id=abcd:ef01"],
    "root-hub": ["node=pve1,path=1-0,id=1d6b:0002"],
    "other-node": ["node=pve2,id=046d:c52b"],
    "two": ["node=pve1,id=046d:c52b", "node=pve1,path=1-10.3,id=1532:0084"],
}
HOOKS = ["local:snippets/hook.pl", "local:snippets/notes.txt", "local:snippets/nope.pl", "local:iso/x.iso",
         "local:vztmpl/a.tar.gz", "local:100/vm-100-disk-0.qcow2", "local:snippets/a/b", "local:junk",
         "nas:snippets/hook.pl", "local-lvm:snippets/hook.pl", "local-lvm:vm-100-disk-0"]


class Run:
    def __init__(self, sandbox, verbose):
        self.sandbox, self.verbose = sandbox, verbose
        self.sim = Sim(args=["--task-ms", "5"])
        self.tmp = tempfile.mkdtemp(prefix="pvfio-diffusb-")
        self.failed = 0

    def c(self):
        return self.sim.client(("ticket", "root@pam"))

    def perl(self, cases):
        p = subprocess.run(["perl", os.path.join(HERE, "differential.pl"), self.sandbox], input=json.dumps(cases),
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise SystemExit("differential.pl failed: %s" % p.stderr[-2000:])
        return json.loads(p.stdout)

    def compare(self, cid, sim, perl):
        ok = sim == perl
        self.failed += not ok
        if not ok or self.verbose:
            print("%s %s\n  simulator: %s\n  proxmox:   %s" % ("ok  " if ok else "DIFF", cid, json.dumps(sim),
                                                               json.dumps(perl)))

    def run(self):
        st = self.sim.control("GET", "state")
        sysfs = os.path.join(self.tmp, "sys")
        build_sysfs(st["nodes"]["pve1"]["machine"], sysfs)
        snipdir = os.path.join(self.tmp, "local")
        os.makedirs(os.path.join(snipdir, "snippets"))
        for s in st["nodes"]["pve1"]["storage"][0].get("snippets") or []:
            name, x = (s, True) if isinstance(s, str) else (s["name"], s.get("executable", True))
            write(os.path.join(snipdir, "snippets", name), "#!/bin/sh", 0o755 if x else 0o644)
        storage_cfg = ("dir: local\n\tpath /var/lib/vz\n\tcontent snippets,iso,vztmpl,backup\n\n"
                       "lvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent images,rootdir\n")
        cases = [{"id": "scan", "kind": "usb_scan", "sysfs": sysfs}]
        c = self.c()
        for mid, maps in MAPS.items():
            a = c.call("POST", "/cluster/mapping/usb", {"id": mid, "map": maps}, json_body=True)
            assert a.status == 200, a
        cfg = simusb.cfg_text(self.sim.control("GET", "state"))
        for mid, maps in MAPS.items():
            for i, m in enumerate(maps):
                if m.startswith("node=pve1"):
                    cases.append({"id": "assert-%s-%d" % (mid, i), "kind": "usb_assert_valid", "sysfs": sysfs,
                                  "name": mid, "map": m})
            cases.append({"id": "start-" + mid, "kind": "usb_parse_device", "sysfs": sysfs, "node": "pve1",
                          "mapping": mid, "cfg": cfg})
        cases.append({"id": "start-missing", "kind": "usb_parse_device", "sysfs": sysfs, "node": "pve1",
                      "mapping": "missing", "cfg": cfg})
        for i, vol in enumerate(HOOKS):
            cases.append({"id": "hook-%d" % i, "kind": "hookscript", "storage_cfg": storage_cfg, "volid": vol,
                          "paths": {"local": snipdir}})
        perl = self.perl(cases)
        self.compare("scan", {"list": c.call("GET", "/nodes/pve1/hardware/usb").data}, perl["scan"])
        lst = {e["id"]: e for e in c.call("GET", "/cluster/mapping/usb", query={"check-node": "pve1"}).data}
        for case in cases:
            cid, kind = case["id"], case["kind"]
            if kind == "usb_assert_valid":
                errs = [e["message"] for e in lst[case["name"]]["errors"] if e["severity"] == "error"]
                # one error per failing pve1 entry, in map order: the i-th pve1 entry's
                idx = [m for m in MAPS[case["name"]] if m.startswith("node=pve1")].index(case["map"])
                failing = [m for m in MAPS[case["name"]] if m.startswith("node=pve1")]
                sim = {"ok": 1}
                if errs:
                    # match the error to its entry through the simulator's own check of each entry
                    bad = []
                    for m in failing:
                        try:
                            simusb.assert_valid(case["name"], dict(x.split("=", 1) for x in m.split(",")),
                                                c.call("GET", "/nodes/pve1/hardware/usb").data)
                            bad.append(None)
                        except ValueError:
                            bad.append(errs.pop(0))
                    if bad[idx] is not None:
                        sim = {"error": bad[idx][len("Invalid configuration: "):]}
                self.compare(cid, sim, perl[cid])
            elif kind == "usb_parse_device":
                a = c.call("PUT", "/nodes/pve1/qemu/101/config", {"usb0": "mapping=" + case["mapping"]})
                assert a.status == 200, a
                upid = c.call("POST", "/nodes/pve1/qemu/101/status/start").data
                exitstatus = c.wait_task(upid)["exitstatus"]
                if exitstatus == "OK":
                    c.call("POST", "/nodes/pve1/qemu/101/status/stop")
                    self.sim.wait_tasks()
                p = perl[cid]
                want = "OK" if p.get("ok") else task_text(p.get("error", ""))
                self.compare(cid, exitstatus, want)
            elif kind == "hookscript":
                a = c.call("PUT", "/nodes/pve1/qemu/101/config", {"hookscript": case["volid"]})
                if a.status == 200:
                    sim = {"ok": 1}
                    c.call("PUT", "/nodes/pve1/qemu/101/config", {"delete": "hookscript"})
                else:
                    sim = {"error": (a.errors or {}).get("hookscript", a.message)}
                self.compare(cid + " " + case["volid"], sim, perl[cid])
        c.close()

    def stop(self):
        self.sim.stop()
        subprocess.run(["rm", "-rf", self.tmp])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandbox")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    sandbox = a.sandbox
    if not sandbox:
        p = subprocess.run(["sh", os.path.join(HERE, "sandbox.sh"), "9.x"], capture_output=True, text=True)
        if p.returncode != 0:
            print("differential-usb: skipped: %s" % (p.stdout.strip() or p.stderr.strip()))
            return 77
        sandbox = p.stdout.strip()
    r = Run(sandbox, a.v)
    try:
        r.run()
    finally:
        r.stop()
    print("differential-usb: %d difference(s)" % r.failed)
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
