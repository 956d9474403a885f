# SPDX-License-Identifier: GPL-2.0-or-later
"""Apply over time (clusters/lab.json): pending changes on running VMs and
--restart, partial failure with injected faults, the token-vs-raw rule, vmid
collisions, idempotency, --prune, ownership (--adopt, state: absent)."""
import re
import threading
import time

import e2elib

MAPPING = """
mappings:
  - id: rtx4090
    map:
      - { node: pve1, path: 0000:02:00 }
"""


def gpu_vm(name, vmid=None, state="running", pci="{ mapping: rtx4090, pcie: true }", extra=""):
    return """  - name: %s
    node: pve1
%s    machine: q35
    memory: 4G
    state: %s
    pci:
      - %s
%s""" % (name, "    vmid: %d\n" % vmid if vmid else "", state, pci, extra)


def plain_vm(name, vmid=None, state="present", node="pve1", extra=""):
    return """  - name: %s
    node: %s
%s    memory: 1G
    state: %s
%s""" % (name, node, "    vmid: %d\n" % vmid if vmid else "", state, extra)


class Pending(e2elib.Lab):
    """A hostpci change on a running VM waits for a restart; --restart applies it."""

    def test_hostpci_change_pending_until_restart(self):
        prof = self.lab_profile(MAPPING + "vms:\n" + gpu_vm("ws", 230))
        self.apply_ok(prof)
        self.assertEqual(self.find_vm("ws")[2], "running")
        # the same VM, now as the primary GPU
        prof2 = self.lab_profile(MAPPING + "vms:\n" + gpu_vm("ws", 230, pci="{ mapping: rtx4090, pcie: true, primary: true }"),
                                 name="profile2.yaml")
        r = self.expect(self.pvfio("plan", prof2), 2)
        self.assertRegex(r.out, r"(?m)^\s*~ hostpci0: mapping=rtx4090,pcie=1 → mapping=rtx4090,pcie=1,x-vga=1"
                                r"  \(pending until the VM is restarted\)$")
        doc = self.expect(self.pvfio("plan", "--json", prof2), 2).json()
        self.assertEqual(doc["format_version"], 2)
        [act] = doc["actions"]
        self.assertEqual((act["kind"], act["vmid"], act["pending_until_restart"]), ("update-vm", 230, True))
        self.assertEqual((act["key"], act["payload"]), ("vm:ws:update", {"name": "ws", "vmid": 230}))
        self.assertEqual(act["keys"], [{"key": "hostpci0", "before": "mapping=rtx4090,pcie=1",
                                        "after": "mapping=rtx4090,pcie=1,x-vga=1", "pending_until_restart": True}])
        self.assertEqual(doc["pending_restart"], [act["target"]])

        # apply without --restart: written as a pending change, the VM keeps running the old device
        r = self.expect(self.pvfio("apply", "--yes", prof2), 0)
        pend = {p["key"]: p for p in self.api.pending("pve1", 230)}
        self.assertEqual(pend["hostpci0"].get("pending"), "mapping=rtx4090,pcie=1,x-vga=1")
        self.assertEqual(pend["hostpci0"].get("value"), "mapping=rtx4090,pcie=1")
        self.assertEqual(self.api.status("pve1", 230)["status"], "running")
        # planning again shows it still pending, and applying again writes nothing
        r = self.pvfio("plan", prof2)
        self.assertIn("pending until the VM is restarted", r.out)
        mark = self.sim.mark()
        self.pvfio("apply", "--yes", prof2)
        self.assertNoWrites(mark, "apply with the change already pending")

        # --restart: clean shutdown, start; the VM ends running with the new config
        mark = self.sim.mark()
        r = self.expect(self.pvfio("apply", "--yes", "--restart", prof2), 0)
        self.assertIn("Verified:", r.out)
        paths = [(e["method"], e["path"].split("/api2/json")[1]) for e in self.sim.writes(mark)]
        self.assertIn(("POST", "/nodes/pve1/qemu/230/status/shutdown"), paths)
        self.assertIn(("POST", "/nodes/pve1/qemu/230/status/start"), paths)
        self.assertLess(paths.index(("POST", "/nodes/pve1/qemu/230/status/shutdown")),
                        paths.index(("POST", "/nodes/pve1/qemu/230/status/start")))
        _, _, status, c = self.vm_config("ws")
        self.assertEqual((status, c["hostpci0"]), ("running", "mapping=rtx4090,pcie=1,x-vga=1"))
        self.assertEqual([p for p in self.api.pending("pve1", 230) if "pending" in p or "delete" in p], [])
        self.assertIdempotent(prof2)

    def test_hotpluggable_keys_apply_at_once(self):
        prof = self.lab_profile(MAPPING + "vms:\n" + gpu_vm("ws", 231, extra="    tags: [a]\n"))
        self.apply_ok(prof)
        prof2 = self.lab_profile(MAPPING + "vms:\n" + gpu_vm("ws", 231, extra="    tags: [b]\n    onboot: true\n"),
                                 name="p2.yaml")
        r = self.expect(self.pvfio("plan", prof2), 2)
        self.assertNotIn("pending until the VM is restarted", r.out)
        self.apply_ok(prof2)
        c = self.api.config("pve1", 231)
        self.assertEqual((c["tags"], c["onboot"]), ("b;pvfio", 1))
        self.assertIdempotent(prof2)


class PartialFailure(e2elib.Lab):
    """One failed action does not stop unrelated ones; exit 3 names what failed and why."""

    def test_locked_vm_and_failing_mapping(self):
        base = self.lab_profile("vms:\n" + plain_vm("locked-1", 240) + plain_vm("fine-1", 241)
                                + plain_vm("backup-1", 244))
        self.apply_ok(base)
        # faults pvfio cannot see when it plans: another process holds 240's config lock, and the
        # mapping store fails once; 244 carries a visible lock, so its update is blocked, not tried
        self.sim.set_vm(vmid=240, flock=True)
        self.sim.set_vm(vmid=244, lock="backup")
        self.sim.fault({"method": "POST", "path": "^/cluster/mapping/pci$", "action": "status", "status": 500,
                        "reason": "mapping storage unavailable", "count": 1})
        two_cores = "    cores: 2\n"
        prof = self.lab_profile(
            MAPPING + "vms:\n" + plain_vm("locked-1", 240, extra=two_cores)
            + plain_vm("fine-1", 241, extra=two_cores) + plain_vm("backup-1", 244, extra=two_cores)
            + gpu_vm("needs-map", 242, state="present") + plain_vm("fine-2", 243), name="p2.yaml")
        mark = self.sim.mark()
        r = self.expect(self.pvfio("apply", "--yes", prof), 3)
        out = r.out
        self.assertRegex(out, r"(?m)update-vm vm locked-1 on pve1 \(vmid 240\) \[failed\]$")
        self.assertRegex(out, r"(?s)update-vm vm locked-1 [^\n]*\[failed\]\n[^\n]*\n\s*failed: [^\n]*"
                              r"can't lock file '/var/lock/qemu-server/lock-240.conf'")
        self.assertRegex(out, r"(?s)create-mapping mapping rtx4090 \[failed\]\n[^\n]*\n\s*failed: [^\n]*500 "
                              r"mapping storage unavailable")
        self.assertRegex(out, r"(?s)create-vm vm needs-map [^\n]*\[skipped\]\n[^\n]*\n\s*failed: not run: "
                              r"'mapping rtx4090'")
        self.assertRegex(out, r"(?s)update-vm vm backup-1 [^\n]*\[blocked\]\n[^\n]*\n\s*blocked: [^\n]*'backup'")
        self.assertRegex(out, r"(?m)^Applied: 2 done, 2 failed, 1 blocked\.$")
        self.assertNotIn("Verified", out)
        # the unrelated actions were done, the failed ones changed nothing, the skipped one was never sent
        self.assertEqual(self.api.config("pve1", 241)["cores"], 2)
        self.assertEqual(self.find_vm("fine-2")[0], 243)
        self.assertIsNone(self.find_vm("needs-map")[0])
        self.assertNotIn("cores", self.api.config("pve1", 240))
        self.assertNotIn("cores", self.api.config("pve1", 244))
        self.assertFalse([e for e in self.sim.writes(mark) if "/qemu/244" in e["path"] or
                          (e["path"].endswith("/nodes/pve1/qemu") and str(e["params"].get("vmid")) == "242")])
        # once the locks are gone and the API is healthy, the rest follows
        self.sim.set_vm(vmid=240, flock=False)
        self.sim.set_vm(vmid=244, lock=None)
        self.apply_ok(prof)
        self.assertEqual(self.api.config("pve1", 240)["cores"], 2)
        self.assertEqual(self.api.config("pve1", 244)["cores"], 2)
        self.assertIdempotent(prof)

    def test_failing_start_task(self):
        prof = self.lab_profile("vms:\n" + plain_vm("boot-a", 245, state="running") + plain_vm("boot-b", 246, state="running"))
        self.sim.fault({"task": "qmstart", "vmid": 245, "fail": "start failed: QEMU exited with code 1", "count": 1})
        r = self.expect(self.pvfio("apply", "--yes", prof), 3)
        self.assertRegex(r.out, r"(?s)start-vm vm boot-a .*?\[failed\]\s*\n.*?failed: [^\n]*QEMU exited with code 1")
        self.assertEqual(self.find_vm("boot-b")[2], "running")
        self.assertEqual(self.find_vm("boot-a")[2], "stopped")
        self.apply_ok(prof)
        self.assertEqual(self.find_vm("boot-a")[2], "running")


class TokenVsRaw(e2elib.Lab):

    def test_token_with_raw_device_is_refused_before_any_request(self):
        prof = self.lab_profile("vms:\n" + gpu_vm("raw-tok", 250, pci="{ address: 0000:02:00, pcie: true }"))
        r = self.expect(self.pvfio("validate", prof), 1)
        self.assertIn("root@pam", r.out + r.err)
        self.assertIn("mapping", r.out + r.err)
        mark = self.sim.mark()
        r = self.expect(self.pvfio("plan", prof), 1)
        self.assertIn("root@pam", r.err)
        r = self.expect(self.pvfio("apply", "--yes", prof), 1)
        self.assertEqual(self.sim.requests(mark), [], "a refused profile still talked to the API")

    def test_raw_device_set_out_of_band_is_left_to_root(self):
        prof = self.lab_profile(MAPPING + "vms:\n" + gpu_vm("tok-vm", 251, state="present"))
        self.apply_ok(prof)
        # root adds a raw device by hand; the token session must not try to remove it (Proxmox would refuse)
        self.api.set_config("pve1", 251, hostpci1="0000:01:00,pcie=1")
        r = self.pvfio("plan", prof)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("hostpci1", r.out)
        self.assertRegex(r.out, r"root@pam|only root")
        mark = self.sim.mark()
        self.pvfio("apply", "--yes", prof)
        touched = [e for e in self.sim.writes(mark) if "/qemu/251" in e["path"]]
        self.assertEqual(touched, [], "the token session sent writes to the VM with a raw device")
        self.assertEqual(self.api.config("pve1", 251)["hostpci1"], "0000:01:00,pcie=1")


class VmidCollision(e2elib.Lab):
    """nextid races with other clients: a collision is retried with the next id, never a duplicate VM."""

    def test_concurrent_client_takes_the_id(self):
        prof = self.lab_profile("vms:\n" + plain_vm("newbie"))
        # hold pvfio's create for a moment; meanwhile "another client" creates a VM with the id nextid gave out
        self.sim.fault({"method": "POST", "path": "^/nodes/pve1/qemu$", "action": "delay", "delay_ms": 1500,
                        "count": 1})
        mark = self.sim.mark()
        taken = {}

        def intruder():
            deadline = time.time() + 20
            while time.time() < deadline:
                if any(e["path"].endswith("/cluster/nextid") and e["auth"] == e2elib.LAB_TOKEN[0]
                       for e in self.sim.requests(mark)):
                    api = e2elib.Api(self.sim, password=e2elib.LAB_ROOT_PW)
                    vmid = int(api.get("/cluster/nextid"))
                    api.wait(api.post("/nodes/pve1/qemu", vmid=vmid, name="intruder", memory=512))
                    taken["vmid"] = vmid
                    return
                time.sleep(0.02)

        t = threading.Thread(target=intruder)
        t.start()
        r = self.pvfio("apply", "--yes", prof)
        t.join()
        self.assertIn("vmid", taken, "the other client never ran")
        self.expect(r, 0)
        vmid, node, _ = self.find_vm("newbie")
        self.assertIsNotNone(vmid)
        self.assertNotEqual(vmid, taken["vmid"])
        self.assertEqual(self.find_vm("intruder")[0], taken["vmid"])
        creates = [e for e in self.sim.writes(mark) if e["method"] == "POST" and e["path"].endswith("/nodes/pve1/qemu")
                   and e["auth"] == e2elib.LAB_TOKEN[0]]
        self.assertEqual([str(e["params"]["vmid"]) for e in creates][0], str(taken["vmid"]))
        self.assertEqual(len(creates), 2, creates)
        self.assertNotIn("intruder", self.api.config("pve1", vmid).get("name"))
        self.assertIdempotent(prof)

    def test_stale_nextid_answer(self):
        # nextid answers with the id of an existing VM (160, ops-1): pvfio must not touch it
        self.sim.fault({"method": "GET", "path": "^/cluster/nextid$", "action": "status", "status": 200,
                        "body": {"data": "160"}, "count": 1})
        prof = self.lab_profile("vms:\n" + plain_vm("newbie-2"))
        self.apply_ok(prof)
        vmid = self.find_vm("newbie-2")[0]
        self.assertNotIn(vmid, (None, 160))
        self.assertEqual(self.api.config("pve1", 160)["name"], "ops-1")
        self.assertEqual(len([v for v in self.api.get("/cluster/resources", type="vm") if v["name"] == "newbie-2"]), 1)


class IdempotencyAndPrune(e2elib.Lab):

    def test_second_apply_sends_no_write(self):
        prof = self.lab_profile(MAPPING + "vms:\n" + gpu_vm("idem-1") + plain_vm("idem-2", state="running")
                                + plain_vm("idem-3", state="stopped", node="pve3"))
        self.apply_ok(prof)
        for _ in range(2):
            mark = self.sim.mark()
            r = self.expect(self.pvfio("apply", "--yes", prof), 0)
            self.assertIn("No changes", r.out)
            self.assertNoWrites(mark)

    def test_prune_removes_only_managed(self):
        web1 = plain_vm("web-1", state="running")
        full = self.lab_profile(MAPPING + "vms:\n" + web1 + plain_vm("web-2", state="running"), name="full.yaml")
        self.apply_ok(full)
        # an unmanaged VM with the same name pattern, and an unmanaged mapping
        self.api.wait(self.api.post("/nodes/pve1/qemu", vmid=299, name="web-3", memory=512, tags="web"))
        self.api.post("/cluster/mapping/pci", id="by-hand", map="node=pve1,path=0000:01:00,id=10de:2684,"
                                                               "subsystem-id=1043:889d,iommugroup=12")
        web2 = self.find_vm("web-2")[0]
        small = self.lab_profile("vms:\n" + web1, name="small.yaml")
        r = self.expect(self.pvfio("plan", small), 2)        # without --prune: reported, not removed
        self.assertRegex(r.out, r"(?m)^drift: vm 'web-2' \(%d\) is managed by pvfio but no longer in the profile" % web2)
        self.assertRegex(r.out, r"(?m)^drift: mapping 'rtx4090' is managed by pvfio but no longer in the profile")
        self.assertNotIn("delete-", r.out)
        self.assertNotIn("web-3", r.out)
        mark = self.sim.mark()
        self.pvfio("apply", "--yes", small)
        self.assertNoWrites(mark, "apply without --prune")
        r = self.expect(self.pvfio("plan", "--prune", small), 2)
        self.assertRegex(r.out, r"(?m)^\s*- delete-vm vm web-2 ")
        self.assertRegex(r.out, r"(?m)^\s*- delete-mapping mapping rtx4090")
        self.assertNotIn("web-3", r.out)
        self.assertNotIn("by-hand", r.out)
        self.assertNotIn("ops-1", r.out)
        self.expect(self.pvfio("apply", "--yes", "--prune", small), 0)
        self.assertIsNone(self.find_vm("web-2")[0])
        self.assertIsNotNone(self.find_vm("web-1")[0])
        self.assertEqual(self.find_vm("web-3")[0], 299)
        self.assertIsNotNone(self.find_vm("ops-1")[0])
        self.assertIsNone(self.mapping("rtx4090"))
        self.assertIsNotNone(self.mapping("by-hand"))
        self.assertNotIn(web2, [v["vmid"] for v in self.api.get("/cluster/resources", type="vm")])
        self.assertIdempotent(small, "--prune")

    def test_absent_deletes_only_managed(self):
        prof = self.lab_profile("vms:\n" + plain_vm("gone-1", 260))
        self.apply_ok(prof)
        gone = self.lab_profile("vms:\n" + plain_vm("gone-1", 260, state="absent")
                                + plain_vm("ops-1", 160, state="absent"), name="gone.yaml")
        r = self.pvfio("apply", "--yes", gone)
        self.assertIn(r.rc, (0, 2), r)
        self.assertIsNone(self.find_vm("gone-1")[0])
        self.assertEqual(self.find_vm("ops-1")[0], 160, "an unmanaged VM was deleted")

    def test_same_name_unmanaged_vm_needs_adopt(self):
        prof = self.lab_profile("vms:\n" + plain_vm("ops-1", extra="    cores: 4\n"))
        mark = self.sim.mark()
        r = self.pvfio("apply", "--yes", prof)
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn("adopt", r.out + r.err)
        self.assertNoWrites(mark, "unmanaged same-named VM")
        self.assertEqual(self.api.config("pve1", 160)["cores"], 2)
        r = self.expect(self.pvfio("apply", "--yes", "--adopt", prof), 0)
        c = self.api.config("pve1", 160)          # config as it will be (pending values included)
        self.assertEqual(c["cores"], 4)
        self.assertEqual(c["tags"], "pvfio")      # tags is a managed key: the profile's tags (none) + pvfio
        pend = {p["key"]: p for p in self.api.pending("pve1", 160)}
        self.assertEqual((pend["cores"].get("value"), pend["cores"].get("pending")), (2, 4))
        # now managed: no --adopt needed any more; --restart brings the pending change in
        self.expect(self.pvfio("apply", "--yes", "--restart", prof), 0)
        self.assertEqual(self.api.status("pve1", 160)["status"], "running")
        self.assertIdempotent(prof)
