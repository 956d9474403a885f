# SPDX-License-Identifier: GPL-2.0-or-later
"""The API executor (clusters/lab.json): mapping writes (the whole object on
every update, one fresh digest per write), VMs being created or locked by
someone else, vmid collisions, lost answers, and the parallel executor
(ordering, skip on a failed dependency, faults with parallel writes)."""
import os
import re
import signal
import subprocess
import time

import e2elib


def three_mappings(desc_a="GPU A", mdev_b=False, path_c="0000:06:00"):
    return """
mappings:
  - id: gpu-a
    description: "%s"
    map:
      - { node: pve1, path: 0000:01:00 }
  - id: gpu-b
    mdev: %s
    map:
      - { node: pve4, path: 0000:00:02.0 }
  - id: nic-c
    map:
      - { node: pve1, path: %s }
""" % (desc_a, "true" if mdev_b else "false", path_c)


class MappingWrites(e2elib.Lab):
    """Issue 9 items 1 and 2: PUT /cluster/mapping/pci/{id} with `map` every time, fresh digests."""

    def assertConverged(self, prof):
        """Nothing left to change (mapping-check notes of other nodes aside): no write on a second apply."""
        r = self.pvfio("diff", prof)
        self.assertIn(r.rc, (0, 2), r)
        self.assertRegex(r.out, r"No changes", r)
        mark = self.sim.mark()
        self.pvfio("apply", "--yes", prof)
        self.assertNoWrites(mark, "second apply")

    def mapping_puts(self, mark):
        return [e for e in self.sim.writes(mark) if e["method"] == "PUT" and "/cluster/mapping/pci/" in e["path"]]

    def test_description_only_change_sends_the_whole_mapping(self):
        self.apply_ok(self.lab_profile(three_mappings()))
        mark = self.sim.mark()
        prof = self.lab_profile(three_mappings(desc_a="GPU A, the top slot"), name="p2.yaml")
        r = self.apply_ok(prof)
        puts = self.mapping_puts(mark)
        self.assertEqual(len(puts), 1, r)
        params = puts[0]["params"]
        # Proxmox's update runs check_config with create=1: `map` is required on every update
        self.assertIn("map", params, puts[0])
        self.assertIn("path=0000:01:00", str(params["map"]))
        self.assertEqual(params.get("description"), "GPU A, the top slot [pvfio]")
        self.assertIn("digest", params)
        m = self.mapping("gpu-a")
        self.assertEqual(m["description"], "GPU A, the top slot [pvfio]")
        self.assertIn("path=0000:01:00", str(m["map"]))
        self.assertConverged(prof)

    def test_three_mapping_updates_in_one_apply(self):
        self.apply_ok(self.lab_profile(three_mappings()))
        mark = self.sim.mark()
        # description of gpu-a, mdev of gpu-b, the map of nic-c: three PUTs, each with its own fresh digest
        prof = self.lab_profile(three_mappings(desc_a="GPU A v2", mdev_b=True, path_c="0000:07:00"), name="p2.yaml")
        r = self.apply_ok(prof)
        puts = self.mapping_puts(mark)
        self.assertEqual(sorted(p["path"].rsplit("/", 1)[1] for p in puts), ["gpu-a", "gpu-b", "nic-c"], r)
        digests = [p["params"].get("digest") for p in puts]
        self.assertEqual(len(set(digests)), 3, "each write needs the digest of the file as it is then: %s" % digests)
        for p in puts:
            self.assertIn("map", p["params"], p)
        self.assertEqual(self.mapping("gpu-a")["description"], "GPU A v2 [pvfio]")
        self.assertEqual(int(self.mapping("gpu-b").get("mdev") or 0), 1)
        self.assertIn("path=0000:07:00", str(self.mapping("nic-c")["map"]))
        self.assertConverged(prof)


def plain_vm(name, vmid=None, state="present", node="pve1", extra=""):
    return """  - name: %s
    node: %s
%s    memory: 1G
    state: %s
%s""" % (name, node, "    vmid: %d\n" % vmid if vmid else "", state, extra)


class InProgress(e2elib.Lab):
    """Issue 11 items 1-3: VMs being created, vmid collisions, answers lost while a task runs."""

    def named(self, name):
        return [r for r in self.api.get("/cluster/resources", type="vm") if r.get("name") == name]

    def wait_for(self, cond, timeout=20, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(0.02)
        self.fail("timed out waiting for %s" % what)

    def popen_apply(self, prof, *args):
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("PVFIO_"):
                del env[k]
        env.update({"NO_COLOR": "1", "LC_ALL": "C"})
        env.update(self.secrets)
        return subprocess.Popen([e2elib.PVFIO, "apply", "--yes", prof] + list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)

    def test_kill_during_create_then_reapply_makes_no_duplicate(self):
        # the create task runs long: while it runs the config holds only `lock: create` (no name)
        self.sim.fault({"task": "qmcreate", "duration_ms": 2500, "count": 1})
        prof = self.lab_profile("vms:\n" + plain_vm("slow-1"))
        p = self.popen_apply(prof)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        vmid = self.wait_for(lambda: next((int(k) for k, v in self.sim.vms().items()
                                           if v["conf"].get("lock") == "create"), None), what="lock: create")
        p.send_signal(signal.SIGKILL)
        p.communicate()
        self.assertEqual(self.sim.vms()[vmid]["conf"], {"lock": "create"})
        # the re-apply waits for the create in progress, then finds the VM by name
        r = self.expect(self.pvfio("apply", "--yes", prof), 0)
        self.assertRegex(r.err, r"Waiting for VM %d on 'pve1' \(lock: create\)" % vmid)
        self.assertEqual([v["vmid"] for v in self.named("slow-1")], [vmid])
        self.assertIdempotent(prof)

    def test_create_still_in_progress_after_the_wait_blocks_creates(self):
        self.sim.fault({"task": "qmcreate", "duration_ms": 4000, "count": 1})
        upid = self.api.post("/nodes/pve1/qemu", vmid=180, name="someone-else", memory=512)
        self.assertTrue(upid)
        prof = self.lab_profile("vms:\n" + plain_vm("new-1"))
        mark = self.sim.mark()
        r = self.expect(self.pvfio("apply", "--yes", prof, "--busy-timeout", "1"), 2)
        self.assertRegex(r.out, r"(?s)create-vm vm new-1 .*blocked: VM 180 on 'pve1' \(lock: create\) is being created")
        self.assertNoWrites(mark, "create blocked while another create runs")
        self.sim.wait_tasks()
        self.apply_ok(prof)
        self.assertEqual(len(self.named("new-1")), 1)

    def test_lost_create_answer_waits_for_the_task(self):
        # the create happens, its answer is lost while the task still runs: verified after the task,
        # then started (not re-created, no "VM is locked (create)")
        self.sim.fault({"task": "qmcreate", "duration_ms": 800, "count": 1})
        self.sim.fault({"method": "POST", "path": "^/nodes/pve1/qemu$", "action": "drop-after", "count": 1})
        prof = self.lab_profile("vms:\n" + plain_vm("lost-1", state="running"))
        mark = self.sim.mark()
        self.apply_ok(prof)
        creates = [w for w in self.sim.writes(mark) if w["method"] == "POST" and w["path"].endswith("/qemu")]
        self.assertEqual(len(creates), 1, creates)
        vms = self.named("lost-1")
        self.assertEqual(len(vms), 1)
        self.assertEqual(vms[0]["status"], "running")

    def test_lost_start_answer_is_not_resent(self):
        prof = self.lab_profile("vms:\n" + plain_vm("start-1", 201))
        self.apply_ok(prof)
        self.sim.fault({"task": "qmstart", "duration_ms": 800, "count": 1})
        self.sim.fault({"method": "POST", "path": "/status/start$", "action": "drop-after", "count": 1})
        prof2 = self.lab_profile("vms:\n" + plain_vm("start-1", 201, state="running"), name="p2.yaml")
        mark = self.sim.mark()
        self.apply_ok(prof2)
        starts = [w for w in self.sim.writes(mark) if w["path"].endswith("/status/start")]
        self.assertEqual(len(starts), 1, starts)
        self.assertEqual(self.api.status("pve1", 201)["status"], "running")

    def test_two_applies_racing_on_one_vmid_make_one_vm(self):
        # both plan a create, both get the same vmid from nextid (the creates are held back), the
        # second create collides with the first one while it is still being created
        self.sim.fault({"method": "POST", "path": "^/nodes/pve1/qemu$", "action": "delay", "delay_ms": 2000,
                        "count": 2})
        self.sim.fault({"task": "qmcreate", "duration_ms": 1000, "count": 2})
        prof = self.lab_profile("vms:\n" + plain_vm("race-1"))
        procs = [self.popen_apply(prof) for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.assertEqual(p.returncode, 0, out + err)
        self.assertEqual(len(self.named("race-1")), 1, [o + e for o, e in outs])

    def test_vmid_taken_by_another_vm_takes_the_next_after_checking(self):
        # nextid hands out 160, which 'ops-1' (not pvfio's) holds: re-observed, then the next id
        self.sim.fault({"method": "GET", "path": "^/cluster/nextid$", "action": "status", "status": 200,
                        "body": {"data": "160"}, "count": 1})
        prof = self.lab_profile("vms:\n" + plain_vm("next-1"))
        self.apply_ok(prof)
        vms = self.named("next-1")
        self.assertEqual(len(vms), 1)
        self.assertNotEqual(vms[0]["vmid"], 160)
        self.assertEqual(len(self.named("ops-1")), 1)


def vms_profile(names, state="running", node="pve1", vmid0=None):
    return "vms:\n" + "".join(plain_vm(n, vmid0 + i if vmid0 else None, state=state, node=node)
                              for i, n in enumerate(names))


class Parallel(e2elib.Lab):
    """Issue 13: the parallel executor (ordering, skip on a failed dependency, faults)."""

    def writes_by_vm(self, mark):
        """[(kind, vmid)] of the VM writes in log order: create (POST …/qemu), config, start, delete."""
        out = []
        for w in self.sim.writes(mark):
            m = re.search(r"/nodes/[^/]+/qemu(?:/(\d+))?(/status/\w+|/config)?$", w["path"])
            if not m:
                continue
            if m.group(1) is None:
                out.append(("create", int(w["params"].get("vmid", 0)), w))
            elif m.group(2):
                out.append((m.group(2).rsplit("/", 1)[1], int(m.group(1)), w))
            else:
                out.append(("delete", int(m.group(1)), w))
        return out

    def test_creates_run_at_once_and_each_vm_stays_in_order(self):
        self.sim.control("POST", "/_sim/settings", {"task_ms": 300})
        names = ["par-%d" % i for i in range(4)]
        prof = self.lab_profile(vms_profile(names))
        mark = self.sim.mark()
        r = self.apply_ok(prof, "--parallel", "4", "--timings")
        seq = [(k, v) for k, v, _ in self.writes_by_vm(mark)]
        creates = [i for i, (k, _) in enumerate(seq) if k == "create"]
        starts = [i for i, (k, _) in enumerate(seq) if k == "start"]
        self.assertEqual((len(creates), len(starts)), (4, 4), seq)
        # four writes in flight: every create is sent before the first start (a create task lasts 300 ms)
        self.assertLess(max(creates), min(starts), seq)
        # per VM: create before start
        for vmid in {v for _, v in seq}:
            kinds = [k for k, v in seq if v == vmid]
            self.assertEqual(kinds, ["create", "start"], (vmid, seq))
        self.assertRegex(r.err, r"timings: apply [\d.]+ s; 8 done, 0 failed, 0 skipped; 8 writes; 4 in parallel; "
                                r"8 tasks, \d+ status polls")
        # one line per finished action without a terminal
        self.assertEqual(len(re.findall(r"(?m)^\[\d+/8\] done (create|start) vm par-\d on pve1", r.err)), 8, r.err)
        self.assertIdempotent(prof)

    def test_one_at_a_time_with_parallel_1(self):
        names = ["one-%d" % i for i in range(3)]
        prof = self.lab_profile(vms_profile(names))
        mark = self.sim.mark()
        self.apply_ok(prof, "--parallel", "1")
        seq = [k for k, _, _ in self.writes_by_vm(mark)]
        self.assertEqual(seq, ["create", "start"] * 3)

    def test_failed_create_skips_its_start_and_the_others_go_on(self):
        self.sim.fault({"task": "qmcreate", "vmid": 311, "fail": "e2e: storage full", "count": 1})
        prof = self.lab_profile(vms_profile(["ok-0", "bad-1", "ok-2"], vmid0=310))
        mark = self.sim.mark()
        r = self.expect(self.pvfio("apply", "--yes", prof, "--parallel", "3"), 3)
        self.assertRegex(r.out, r"(?s)create-vm vm bad-1 [^\n]*\[failed\]\n[^\n]*\n\s*failed: [^\n]*e2e: storage full")
        self.assertRegex(r.out, r"(?s)start-vm vm bad-1 [^\n]*\[skipped\]\n[^\n]*\n\s*failed: not run: 'vm bad-1' "
                                r"\(create-vm\) did not succeed")
        # the error shows as it happens (stderr), not only in the summary
        self.assertRegex(r.err, r"(?m)^\[\d/6\] failed create vm bad-1 on pve1 \(vmid 311\)[^\n]*e2e: storage full")
        self.assertRegex(r.err, r"(?m)^\[\d/6\] skipped start vm bad-1 on pve1")
        started = {v for k, v, _ in self.writes_by_vm(mark) if k == "start"}
        self.assertEqual(started, {310, 312})
        self.assertEqual(self.api.status("pve1", 310)["status"], "running")
        self.assertEqual(self.api.status("pve1", 312)["status"], "running")

    def test_mapping_writes_stay_serialized_among_parallel_vm_writes(self):
        prof = self.lab_profile(three_mappings() + vms_profile(["mv-%d" % i for i in range(3)], state="present"))
        self.apply_ok(prof, "--parallel", "8")
        mark = self.sim.mark()
        prof2 = self.lab_profile(three_mappings(desc_a="x", mdev_b=True, path_c="0000:07:00")
                                 + vms_profile(["mv-%d" % i for i in range(3)], state="running"), name="p2.yaml")
        self.apply_ok(prof2, "--parallel", "8")
        puts = [e for e in self.sim.writes(mark) if e["method"] == "PUT" and "/cluster/mapping/pci/" in e["path"]]
        self.assertEqual(len(puts), 3)
        self.assertTrue(all(p["status"] == 200 for p in puts), puts)
        self.assertEqual(len({p["params"]["digest"] for p in puts}), 3)


class ParallelUnderFaults(e2elib.Lab):
    """Random 502s and dropped connections (before and after the server acted) with parallel writes:
    converges with no duplicate VM and no write re-sent after it took effect."""

    FAULTS = [
        {"path": "^/(nodes|cluster)/", "action": "status", "status": 502, "probability": 0.2},
        {"path": "^/(nodes|cluster)/", "action": "drop-before", "probability": 0.1},
        {"path": "^/(nodes|cluster)/", "action": "drop-after", "probability": 0.1},
    ]

    def test_converges_without_duplicates(self):
        names = ["flaky-%d" % i for i in range(10)]
        prof = self.lab_profile(vms_profile(names))
        self.sim.fault(self.FAULTS)
        mark = self.sim.mark()
        rcs = []
        for _ in range(4):
            r = self.pvfio("apply", "--yes", prof, "--parallel", "8")
            rcs.append(r.rc)
            self.assertIn(r.rc, (0, 3), r)
            if r.rc == 0:
                break
        self.assertEqual(rcs[-1], 0, rcs)
        self.sim.control("DELETE", "/_sim/faults")
        res = self.api.get("/cluster/resources", type="vm")
        for n in names:
            found = [x for x in res if x.get("name") == n]
            self.assertEqual(len(found), 1, (n, found))
            self.assertEqual(found[0]["status"], "running", n)
        # a create the server acted on is never sent again: per VM name, one create that reached the API
        acted = {}
        for w in self.sim.writes(mark):
            if w["method"] == "POST" and re.search(r"/nodes/pve1/qemu$", w["path"]) and w.get("fault") in (None, "drop-after"):
                n = w["params"].get("name")
                acted[n] = acted.get(n, 0) + 1
        self.assertEqual(acted, {n: 1 for n in names})
        self.assertIdempotent(prof)
