#!/usr/bin/env python3
"""Differential stage: the simulator against Proxmox's own functions, on the same inputs.

    python3 tests/pvecheck/differential.py --release 9.x|8.4 [--sandbox DIR] [--record]

For every case below, the simulator (tests/pvesim, started with --pve-version RELEASE)
answers through its API, and Proxmox's real Perl function answers through
differential.pl, loaded from a pvecheck sandbox (tests/pvecheck/sandbox.sh). A case fails
when the two differ. The Perl answers are also compared with the recorded ones in
expected-RELEASE.json (data, committed): a change there means Proxmox's code changed
(re-record with --record after checking). Without --sandbox only the recorded answers are
used, so the simulator is still checked against what Proxmox answered when they were
recorded.

The functions pvfio depends on (issue 9): the mapping create/update method bodies
(check_config, digest, delete), PVE::Mapping::PCI::assert_valid on the simulator's
hardware, get_unique_tags, the raw-hostpci/romfile root@pam rule (check_hostpci_perm),
PVE::QemuServer::PCI::parse_hostpci, and parse_property_string of pve-qm-hostpci.
Exit 0 when every case agrees, 1 otherwise.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "pvesim", "tests"))
sys.path.insert(0, os.path.join(TOP, "tests", "pvesim"))

from simclient import Sim  # noqa: E402
from pvesim.api import mapping_cfg_text  # noqa: E402

GPU1_MAP = "node=pve1,path=0000:01:00,id=10de:2531,subsystem-id=10de:151d,iommugroup=14"
L4_MAPS = ["node=pve2,path=0000:41:00.4,id=10de:27b8,subsystem-id=10de:16ca,iommugroup=31",
           "node=pve2,path=0000:41:00.5,id=10de:27b8,subsystem-id=10de:16ca,iommugroup=32"]
STALE = "0" * 40


def cases():
    """(id, kind, arguments) shared by both sides; mirrors tests/pvesim/conformance."""
    c = []

    def add(cid, kind, **kw):
        c.append(dict(kw, id=cid, kind=kind))

    # mapping update / create (conformance/mapping.json)
    add("map-update-description-only", "mapping_update", mapping="gpu1", params={"description": "x"})
    add("map-update-mdev-only", "mapping_update", mapping="l4", params={"mdev": "0"})
    add("map-update-delete-only", "mapping_update", mapping="gpu1", params={"delete": "description"})
    add("map-update-full", "mapping_update", mapping="l4",
        params={"description": "new", "mdev": "1", "live-migration-capable": "1", "map": L4_MAPS})
    add("map-update-delete-with-map", "mapping_update", mapping="gpu1",
        params={"delete": "description", "map": GPU1_MAP})
    add("map-update-set-and-delete", "mapping_update", mapping="gpu1",
        params={"delete": "description", "description": "y", "map": GPU1_MAP})
    add("map-update-delete-map", "mapping_update", mapping="gpu1", params={"delete": "map", "map": GPU1_MAP})
    add("map-update-stale-digest", "mapping_update", mapping="gpu1",
        params={"description": "x", "map": GPU1_MAP, "digest": STALE})
    add("map-update-stale-digest-no-map", "mapping_update", mapping="gpu1",
        params={"description": "x", "digest": STALE})
    add("map-update-right-digest", "mapping_update", mapping="gpu1",
        params={"description": "x", "map": GPU1_MAP, "digest": "${digest}"})
    add("map-update-missing-id", "mapping_update", mapping="nope", params={"mdev": "1"})
    add("map-create", "mapping_create", mapping="nvme",
        params={"map": "node=pve1,path=0000:02:00.0,id=144d:a80a,iommugroup=15", "description": "d"})
    add("map-create-existing", "mapping_create", mapping="gpu1", params={"map": GPU1_MAP})
    # assert_valid on pve1's hardware (check-node)
    for cid, m in (("whole-device", "path=0000:01:00,id=10de:2531,subsystem-id=10de:151d,iommugroup=14"),
                   ("semicolon-path", "path=0000:01:00.0;0000:01:00.1,id=10de:2531,subsystem-id=10de:151d,iommugroup=14"),
                   ("wrong-id", "path=0000:01:00.0,id=10de:9999,subsystem-id=10de:151d,iommugroup=14"),
                   ("upper-case-id", "path=0000:01:00.0,id=10DE:2531,subsystem-id=10de:151d,iommugroup=14"),
                   ("no-subsystem", "path=0000:01:00.0,id=10de:2531,iommugroup=14"),
                   ("iommu-changed", "path=0000:01:00.0,id=10de:2531,subsystem-id=10de:151d,iommugroup=99"),
                   ("gone", "path=0000:07:00.0,id=10de:2531,iommugroup=14")):
        add("assert-valid-" + cid, "assert_valid", name="chk", map="node=pve1," + m, mdev=0)
    # get_unique_tags with datacenter tag-style
    for cid, tags, style in (("default", "Zeta;GPU,gpu alpha", None),
                             ("repeats", "b;B;a;A;b", None),
                             ("config-order", "Zeta;GPU;gpu;alpha", "ordering=config"),
                             ("case-sensitive", "b;B;a;B", "case-sensitive=1"),
                             ("both", "Zeta;GPU;gpu;GPU", "case-sensitive=1,ordering=config"),
                             ("alphabetical", "c;B;a", "ordering=alphabetical")):
        add("tags-" + cid, "tags", tags=tags, style=style)
    # raw hostpci / romfile: root@pam ticket only
    for cid, user, value in (("root-raw", "root@pam", "0000:02:00.0"),
                             ("user-raw", "pvfio@pve", "0000:02:00.0"),
                             ("token-raw", "root@pam!full", "0000:02:00.0"),
                             ("user-mapping", "pvfio@pve", "mapping=gpu1"),
                             ("user-mapping-romfile", "pvfio@pve", "mapping=gpu1,romfile=vbios.rom"),
                             ("user-neither", "pvfio@pve", "pcie=1")):
        add("hostpci-perm-" + cid, "hostpci_perm", user=user, opt="hostpci5", value=value)
    # parse_hostpci at VM start (VM 101 on pve1)
    for cid, value in (("host-function", "0000:02:00.0"),
                       ("host-both", "host=0000:02:00.0,mapping=gpu1"),
                       ("neither", "rombar=0"),
                       ("mapping-missing", "mapping=nope"),
                       ("mapping-semicolon", "mapping=multi"),
                       ("no-device", "0000:09:00.0"),
                       ("mdev-multifunction", "0000:01:00,mdev=nvidia-1")):
        add("parse-hostpci-" + cid, "parse_hostpci", value=value, node="pve1")
    # property strings of pve-qm-hostpci (what validation runs)
    for cid, value in (("unknown-key", "0000:01:00.0,foo=bar"),
                       ("driver", "0000:01:00.0,driver=keep"),
                       ("upper-hex", "0000:0A:00.0"),
                       ("rombar-bad", "0000:01:00.0,rombar=2"),
                       ("ok", "0000:01:00.0,pcie=1,x-vga=1")):
        add("propstr-hostpci-" + cid, "propstr", format="pve-qm-hostpci", value=value, path="hostpci0")
    return c


MULTI_MAP = "node=pve1,path=0000:01:00.0;0000:01:00.1,id=10de:2531,subsystem-id=10de:151d,iommugroup=14"


def machine_of(st, node):
    return {d["addr"].lower(): d for d in st["nodes"][node]["machine"]["devices"]}


def subst(v, env):
    if isinstance(v, str) and v.startswith("${") and v.endswith("}"):
        return env[v[2:-1]]
    if isinstance(v, dict):
        return {k: subst(x, env) for k, x in v.items()}
    return v


def task_text(msg):
    """fork_worker: one trailing newline dropped, inner newlines become spaces."""
    msg = msg[:-1] if msg.endswith("\n") else msg
    return msg.replace("\n", " ")


class SimSide:
    def __init__(self, release):
        self.sim = Sim(args=["--task-ms", "5", "--pve-version", release])

    def stop(self):
        self.sim.stop()

    def prepare(self, case):
        """Reset, then fill the Perl side's inputs from the simulator's own state."""
        self.sim.reset()
        st = self.sim.control("GET", "state")
        env = {}
        if case["kind"] in ("mapping_update", "mapping_create", "parse_hostpci"):
            if case["kind"] == "parse_hostpci" and "multi" in case["value"]:
                self.call("ticket:root@pam", "POST", "/cluster/mapping/pci", {"id": "multi", "map": MULTI_MAP})
                st = self.sim.control("GET", "state")
            case["cfg"] = mapping_cfg_text(st)
            c = self.sim.client(("ticket", "root@pam"))
            env["digest"] = c.call("GET", "/cluster/mapping/pci").data[0]["digest"]
            c.close()
        if case["kind"] in ("assert_valid", "parse_hostpci"):
            case["machine"] = machine_of(st, "pve1")
        if "params" in case:
            case["params"] = subst(case["params"], env)
        if case["kind"] == "tags" and case.get("style"):
            self.sim.control("POST", "datacenter", {"tag-style": case["style"]})
            from pvesim.datacenter import parse_tag_style
            case["style"] = parse_tag_style(case["style"])
        return case

    def call(self, auth, method, path, params=None, query=None):
        """(answer, client); the caller closes the client."""
        kind, _, who = auth.partition(":")
        c = self.sim.client((kind, who))
        return c.call(method, path, params, query=query), c

    def answer(self, case):
        k = case["kind"]
        if k in ("mapping_update", "mapping_create"):
            if k == "mapping_update":
                a, c = self.call("ticket:root@pam", "PUT", "/cluster/mapping/pci/" + case["mapping"], case["params"])
            else:
                a, c = self.call("ticket:root@pam", "POST", "/cluster/mapping/pci",
                                 dict(case["params"], id=case["mapping"]))
            if a.status != 200:
                c.close()
                return {"error": a.message}
            entry = c.call("GET", "/cluster/mapping/pci/" + case["mapping"]).data
            c.close()
            entry.pop("digest", None)
            return {"entry": entry}
        if k == "assert_valid":
            a, c = self.call("ticket:root@pam", "POST", "/cluster/mapping/pci", {"id": case["name"], "map": case["map"]})
            lst = c.call("GET", "/cluster/mapping/pci", query={"check-node": "pve1"}).data
            c.close()
            checks = [e for e in lst if e["id"] == case["name"]][0]["checks"]
            errs = [x["message"] for x in checks if x["severity"] == "error"]
            if errs:
                prefix = "Invalid configuration: "
                return {"error": errs[0][len(prefix):] if errs[0].startswith(prefix) else errs[0]}
            return {"ok": 1}
        if k == "tags":
            a, c = self.call("ticket:root@pam", "PUT", "/nodes/pve1/qemu/101/config", {"tags": case["tags"]})
            tags = c.call("GET", "/nodes/pve1/qemu/101/config").data.get("tags", "")
            c.close()
            return {"result": tags}
        if k == "hostpci_perm":
            user = case["user"]
            auth = ("token:" + user) if "!" in user else ("ticket:" + user)
            a, c = self.call(auth, "PUT", "/nodes/pve1/qemu/101/config", {case["opt"]: case["value"]})
            c.close()
            if a.status == 200:
                return {"ok": 1}
            if a.status == 400 and a.errors:
                return {"error": {"message": a.message, "errors": a.errors}}
            return {"error": a.message}
        if k == "parse_hostpci":
            a, c = self.call("ticket:root@pam", "PUT", "/nodes/pve1/qemu/101/config", {"hostpci0": case["value"]})
            if a.status != 200:
                c.close()
                return {"error": a.message, "errors": a.errors}
            upid = c.call("POST", "/nodes/pve1/qemu/101/status/start").data
            st = c.wait_task(upid)
            c.close()
            return {"task": st["exitstatus"]}
        if k == "propstr":
            a, c = self.call("ticket:root@pam", "PUT", "/nodes/pve1/qemu/101/config", {"hostpci0": case["value"]})
            c.close()
            if a.status == 200:
                return {"ok": 1}
            return {"error400": (a.errors or {}).get(case["path"], a.message)}
        raise ValueError(k)


def norm_entry(e):
    if e is None:
        return None
    return {k: ([str(x) for x in v] if isinstance(v, list) else str(v)) for k, v in e.items()}


def perl_exception_text(err):
    """PVE::Exception stringified: message, then "key: error\\n" per error."""
    if isinstance(err, str):
        return err
    msg = err["message"]
    for k in sorted(err.get("errors") or {}):
        msg += "%s: %s\n" % (k, err["errors"][k])
    return msg


def compare(case, perl, sim):
    """None when they agree, else a one-line reason."""
    k = case["kind"]
    if "driver_error" in perl:
        return "the Perl driver failed: %s" % perl["driver_error"].strip()
    if k in ("mapping_update", "mapping_create", "assert_valid", "tags", "hostpci_perm"):
        if k in ("mapping_update", "mapping_create") and "entry" in perl and "entry" in sim:
            a, b = norm_entry(perl["entry"]), norm_entry(sim["entry"])
            return None if a == b else "entry: Proxmox %s, simulator %s" % (a, b)
        return None if perl == sim else "Proxmox %s, simulator %s" % (json.dumps(perl), json.dumps(sim))
    if k == "parse_hostpci":
        if "error" in perl:
            want = task_text(perl_exception_text(perl["error"]))
            got = sim.get("task")
            return None if got == want else "Proxmox fails the start with %r, simulator: %s" % (want, json.dumps(sim))
        return None if sim.get("task") == "OK" else "Proxmox parses it (ids %s), simulator: %s" % (
            perl.get("ids"), json.dumps(sim))
    if k == "propstr":
        if "ok" in perl:
            return None if sim.get("ok") else "Proxmox accepts it, simulator: %s" % json.dumps(sim)
        want = "invalid format - " + perl_exception_text(perl["error"])
        return None if sim.get("error400") == want else "Proxmox: %r, simulator: %r" % (want, sim.get("error400"))
    return "unknown kind"


def run_perl(sandbox, inputs):
    p = subprocess.run(["perl", os.path.join(HERE, "differential.pl"), sandbox],
                       input=json.dumps(inputs).encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("differential.pl failed: %s" % p.stderr.decode(errors="replace")[-2000:])
    return json.loads(p.stdout)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--release", choices=("9.x", "8.4"), required=True)
    ap.add_argument("--sandbox", help="pvecheck sandbox of that release (else: recorded answers only)")
    ap.add_argument("--record", action="store_true", help="write the Perl answers to expected-RELEASE.json")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    expected_path = os.path.join(HERE, "expected-%s.json" % args.release)
    recorded = {}
    if os.path.exists(expected_path):
        with open(expected_path, encoding="utf-8") as f:
            recorded = json.load(f)
    if not args.sandbox and not recorded:
        print("differential %s: no sandbox and no recorded answers (%s)" % (args.release, expected_path))
        return 1
    side = SimSide(args.release)
    try:
        todo = []
        sim_answers = {}
        for c in cases():
            c = side.prepare(c)
            sim_answers[c["id"]] = side.answer(c)
            todo.append(c)
    finally:
        side.stop()
    perl = run_perl(args.sandbox, todo) if args.sandbox else None
    bad = 0
    changed = 0
    for c in todo:
        cid = c["id"]
        ref = perl[cid] if perl is not None else recorded.get(cid)
        if ref is None:
            print("MISSING %s: no recorded Proxmox answer (run with --sandbox and --record)" % cid)
            bad += 1
            continue
        if perl is not None and recorded and recorded.get(cid) != perl[cid] and not args.record:
            print("CHANGED %s: Proxmox answers %s, recorded %s (its code or the case's input changed; "
                  "check, then --record)" % (cid, json.dumps(perl[cid]),
                                                                       json.dumps(recorded.get(cid))))
            changed += 1
        why = compare(c, ref, sim_answers[cid])
        if why:
            print("DIFF %s (%s): %s" % (cid, c["kind"], why))
            bad += 1
        elif args.verbose:
            print("same %s: %s" % (cid, json.dumps(ref)))
    if args.record and perl is not None:
        with open(expected_path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(perl, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(expected_path + ".tmp", expected_path)
    src = ("sandbox %s" % args.sandbox) if args.sandbox else ("recorded %s" % os.path.basename(expected_path))
    print("differential %s (%s): cases %d, same %d, differ %d%s" % (
        args.release, src, len(todo), len(todo) - bad, bad, (", Proxmox changed %d" % changed) if changed else ""))
    return 1 if bad or changed else 0


if __name__ == "__main__":
    sys.exit(main())
