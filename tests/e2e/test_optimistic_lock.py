# SPDX-License-Identifier: GPL-2.0-or-later
"""The optimistic apply lock (issue 13): `apply` and `vm add` read and plan without the
cluster-wide lock; a plan without API writes sends no write and no lock request at all;
a plan with writes takes the lock, reads again what it depends on and plans again, so a
change someone made between the first read and the lock is seen (not overwritten)."""

import e2elib

WRITES = ("POST", "PUT", "DELETE")

VM = """vms:
  - name: opt-a
    node: pve1
    memory: 1G
    state: present
"""


class OptimisticLock(e2elib.Lab):

    def lock_requests(self, mark):
        return [e for e in self.sim.requests(mark) if e2elib.is_apply_lock(e)]

    def test_noop_apply_sends_no_write_and_takes_no_lock(self):
        prof = self.lab_profile(VM)
        self.apply_ok(prof)
        mark = self.sim.mark()
        r = self.expect(self.pvfio("apply", "--yes", prof), 0)
        self.assertIn("No changes", r.out, r)
        reqs = self.sim.requests(mark)
        self.assertEqual([(e["method"], e["path"]) for e in reqs if e["method"] in WRITES], [])
        self.assertEqual(self.lock_requests(mark), [])
        # vm add of a VM that is already as asked: no write, no lock either
        mark = self.sim.mark()
        r = self.expect(self.pvfio("vm", "add", "--profile", prof, "--node", "pve1", "--name", "opt-a",
                                   "--memory", "1G"), 0)
        self.assertEqual([(e["method"], e["path"]) for e in self.sim.requests(mark) if e["method"] in WRITES], [])

    def test_writes_take_the_lock_after_planning(self):
        prof = self.lab_profile(VM)
        mark = self.sim.mark()
        self.apply_ok(prof)
        reqs = self.sim.requests(mark)
        first_lock = next(i for i, e in enumerate(reqs) if e2elib.is_apply_lock(e))
        resources = [i for i, e in enumerate(reqs) if e["path"].split("?")[0].endswith("/cluster/resources")]
        # read once before the lock (the plan), once under it (the check), and the verification
        self.assertLess(resources[0], first_lock, reqs)
        self.assertTrue(any(first_lock < i for i in resources), reqs)
        self.assertEqual([e["method"] for e in self.lock_requests(mark) if e["method"] != "GET"], ["POST", "DELETE"])

    def test_a_create_by_someone_else_between_plan_and_lock_is_seen(self):
        # the plan creates opt-a; before pvfio holds the lock, someone else creates a VM of that name
        prof = self.lab_profile(VM)

        def create():
            self.api.wait(self.api.post("/nodes/pve1/qemu", vmid=777, name="opt-a", memory=512))

        t, done, errors = self.change_after_first_read(r"/cluster/resources", create)
        r = self.pvfio("apply", "--yes", prof)
        done.wait(30)
        self.assertEqual(errors, [])
        self.assertIn("the cluster changed after it was read: planned again under the apply lock", r.err, r)
        self.assertIn("The plan, read again under the apply lock:", r.out, r)
        # no second VM of that name: the other VM is not pvfio's, so the new plan blocks instead of creating
        found = [v for v in self.api.get("/cluster/resources", type="vm") if v.get("name") == "opt-a"]
        self.assertEqual([v["vmid"] for v in found], [777], r)
        self.assertEqual(self.lock_requests(self.mark0)[-1]["method"], "DELETE")

    def test_a_config_change_between_plan_and_lock_is_seen(self):
        prof = self.lab_profile(VM)
        self.apply_ok(prof)
        vmid, node, _, conf = self.vm_config("opt-a")
        prof2 = self.lab_profile(VM.replace("memory: 1G", "memory: 2G"), name="p2.yaml")

        def change():
            self.api.put("/nodes/%s/qemu/%d/config" % (node, vmid), memory=3072, description="set by someone else")

        t, done, errors = self.change_after_first_read(r"/qemu/%d/(config|pending)$" % vmid, change)
        r = self.pvfio("apply", "--yes", prof2)
        done.wait(30)
        self.assertEqual(errors, [])
        self.assertEqual(r.rc, 0, r)
        self.assertIn("planned again under the apply lock", r.err, r)
        # the new plan was made from what the other client wrote (3072 → 2048), and its other change stays
        self.assertKeyChange(r.out.split("read again under the apply lock:")[1], "memory", "3072", "2048")
        conf = self.api.config(node, vmid)
        self.assertEqual((str(conf["memory"]), conf.get("description")), ("2048", "set by someone else"), conf)

    def test_on_a_terminal_a_changed_plan_is_asked_for_again(self):
        import os
        import subprocess
        prof = self.lab_profile(VM)
        self.apply_ok(prof)
        vmid, node, _, _ = self.vm_config("opt-a")
        prof2 = self.lab_profile(VM.replace("memory: 1G", "memory: 2G"), name="p2.yaml")

        def change():
            self.api.put("/nodes/%s/qemu/%d/config" % (node, vmid), memory=3072)

        t, done, errors = self.change_after_first_read(r"/qemu/%d/(config|pending)$" % vmid, change)
        master, slave = os.openpty()
        os.write(master, b"y\nn\n")   # yes to the plan shown first, no to the one read under the lock
        env = dict(os.environ, NO_COLOR="1", LC_ALL="C", **self.secrets)
        env = {k: v for k, v in env.items() if not k.startswith("PVFIO_")}
        p = subprocess.run([e2elib.PVFIO, "apply", prof2], stdin=slave, capture_output=True, text=True, env=env,
                           timeout=120)
        os.close(slave)
        os.close(master)
        done.wait(30)
        self.assertEqual(errors, [])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(p.stderr.count("Apply these changes? [y/N]"), 2, p.stderr)
        self.assertIn("planned again under the apply lock", p.stderr)
        self.assertIn("Nothing applied.", p.stderr)
        self.assertKeyChange(p.stdout.split("read again under the apply lock:")[1], "memory", "3072", "2048")
        self.assertEqual(str(self.api.config(node, vmid)["memory"]), "3072")   # the other client's value stays

    def test_a_running_vm_is_read_again_through_its_pending_list(self):
        # a running VM's config comes from its pending list under the lock too (the digest with it)
        prof = self.lab_profile(VM.replace("state: present", "state: running"))
        self.apply_ok(prof)
        vmid, node, status, _ = self.vm_config("opt-a")
        self.assertEqual(status, "running")
        prof2 = self.lab_profile(VM.replace("state: present", "state: running")
                                 .replace("memory: 1G", "memory: 1G\n    cores: 2"), name="p2.yaml")

        def change():
            self.api.put("/nodes/%s/qemu/%d/config" % (node, vmid), description="note while running")

        t, done, errors = self.change_after_first_read(r"/qemu/%d/(config|pending)$" % vmid, change)
        mark = self.sim.mark()
        r = self.expect(self.pvfio("apply", "--yes", prof2), 0)
        done.wait(30)
        self.assertEqual(errors, [])
        self.assertNotIn("planned again", r.err, r)
        reqs = self.sim.requests(mark)
        lock_at = next(i for i, e in enumerate(reqs) if e2elib.is_apply_lock(e) and e["method"] == "POST")
        self.assertTrue([e for e in reqs[lock_at:] if e["path"].endswith("/qemu/%d/pending" % vmid)], reqs)
        conf = self.api.config(node, vmid)
        self.assertEqual((str(conf.get("cores")), conf.get("description")), ("2", "note while running"), conf)

    def test_a_usb_mapping_changed_between_plan_and_lock_is_seen(self):
        body = """
usb_mappings:
  - id: receiver
    description: {desc}
    map:
      - {{ node: pve1, path: 1-1 }}
"""
        prof = self.lab_profile(body.format(desc="Logitech receiver"), auth="root")
        self.apply_ok(prof)
        prof2 = self.lab_profile(body.format(desc="the receiver"), auth="root", name="p2.yaml")

        def change():   # another admin moves the mapping to the keyboard's port
            self.api.put("/cluster/mapping/usb/receiver", map="node=pve1,path=1-2,id=04d9:0169",
                         description="Logitech receiver [pvfio]")

        t, done, errors = self.change_after_first_read(r"/cluster/mapping/usb$", change)
        r = self.pvfio("apply", "--yes", prof2)
        done.wait(30)
        self.assertEqual(errors, [])
        self.assertEqual(r.rc, 0, r)
        self.assertIn("planned again under the apply lock", r.err, r)
        m = [m for m in self.api.get("/cluster/mapping/usb") if m["id"] == "receiver"][0]
        self.assertEqual((m["map"], m["description"]), (["node=pve1,path=1-1,id=046d:c52b"], "the receiver [pvfio]"))

    def test_vm_add_rechecks_under_the_lock(self):
        prof = self.lab_profile(VM)

        def create():
            self.api.wait(self.api.post("/nodes/pve1/qemu", vmid=778, name="opt-b", memory=512))

        t, done, errors = self.change_after_first_read(r"/cluster/resources", create)
        r = self.pvfio("vm", "add", "--profile", prof, "--node", "pve1", "--name", "opt-b", "--memory", "1G")
        done.wait(30)
        self.assertEqual(errors, [])
        self.assertIn("planned again under the apply lock", r.err, r)
        found = [v for v in self.api.get("/cluster/resources", type="vm") if v.get("name") == "opt-b"]
        self.assertEqual([v["vmid"] for v in found], [778], r)

    def test_unchanged_plan_goes_on_with_the_digest_read_under_the_lock(self):
        # a change to a key the plan does not touch: same plan, applied with the new digest, both kept
        prof = self.lab_profile(VM)
        self.apply_ok(prof)
        vmid, node, _, _ = self.vm_config("opt-a")
        prof2 = self.lab_profile(VM.replace("memory: 1G", "memory: 2G"), name="p2.yaml")

        def change():
            self.api.put("/nodes/%s/qemu/%d/config" % (node, vmid), description="someone else's note")

        t, done, errors = self.change_after_first_read(r"/qemu/%d/(config|pending)$" % vmid, change)
        r = self.expect(self.pvfio("apply", "--yes", prof2), 0)
        done.wait(30)
        self.assertEqual(errors, [])
        self.assertNotIn("planned again", r.err, r)
        conf = self.api.config(node, vmid)
        self.assertEqual((str(conf["memory"]), conf.get("description")), ("2048", "someone else's note"), conf)


if __name__ == "__main__":
    e2elib.main(["test_optimistic_lock"])
