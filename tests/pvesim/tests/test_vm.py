"""VM life cycle flows that take several requests."""

import re
import threading
import unittest

from simclient import SimTestCase

ROOT = ("ticket", "root@pam")


class VmFlows(SimTestCase):
    def create(self, vmid, node="pve1", json_body=False, **conf):
        a = self.c.call("POST", "/nodes/%s/qemu" % node, dict(conf, vmid=vmid), json_body=json_body)
        self.assertEqual(a.status, 200, a)
        st = self.c.wait_task(a.data)
        self.assertEqual(st["exitstatus"], "OK")
        return self.c.call("GET", "/nodes/%s/qemu/%s/config" % (node, vmid)).data

    def test_create_fills_in_what_proxmox_generates(self):
        conf = self.create(150, name="web", memory="4096", scsi0="local-lvm:32", efidisk0="local-lvm:1,efitype=4m",
                           ide2="none,media=cdrom", net0="virtio,bridge=vmbr0,firewall=1", bios="ovmf")
        self.assertEqual(conf["scsi0"], "local-lvm:vm-150-disk-1,size=32G")
        self.assertEqual(conf["efidisk0"], "local-lvm:vm-150-disk-0,efitype=4m,size=4M")
        self.assertRegex(conf["net0"], r"^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0,firewall=1$")
        self.assertEqual(conf["boot"], "order=scsi0;ide2;net0")
        self.assertRegex(conf["smbios1"], r"^uuid=[0-9a-f-]{36}$")
        self.assertRegex(conf["vmgenid"], r"^[0-9a-f-]{36}$")
        self.assertRegex(conf["meta"], r"^creation-qemu=[\d.]+,ctime=\d+$")
        self.assertRegex(conf["digest"], r"^[0-9a-f]{40}$")
        self.assertNotIn("lock", conf)

    def test_create_with_json_body(self):
        conf = self.create(151, json_body=True, name="j", onboot=True, cores=2, hostpci0="0000:02:00.0,pcie=1")
        self.assertEqual((conf["onboot"], conf["cores"], conf["hostpci0"]), (1, 2, "0000:02:00.0,pcie=1"))

    def test_digest_changes_with_every_write(self):
        self.create(150, name="a")
        d1 = self.c.call("GET", "/nodes/pve1/qemu/150/config").data["digest"]
        self.assertEqual(self.c.call("PUT", "/nodes/pve1/qemu/150/config", {"name": "b", "digest": d1}).status, 200)
        d2 = self.c.call("GET", "/nodes/pve1/qemu/150/config").data["digest"]
        self.assertNotEqual(d1, d2)
        again = self.c.call("PUT", "/nodes/pve1/qemu/150/config", {"name": "c", "digest": d1})
        self.assertEqual((again.status, again.reason), (500, "checksum mismatch (file change by other user?)"))

    def test_running_vm_keeps_hostpci_pending_until_reboot(self):
        a = self.c.call("PUT", "/nodes/pve1/qemu/100/config", {"hostpci1": "mapping=gpu1", "delete": "bios"})
        self.assertEqual(a.status, 200)
        pend = {e["key"]: e for e in self.c.call("GET", "/nodes/pve1/qemu/100/pending").data}
        self.assertEqual(pend["hostpci1"], {"key": "hostpci1", "pending": "mapping=gpu1"})
        self.assertEqual(pend["bios"], {"key": "bios", "value": "ovmf", "delete": 1})
        cur = self.c.call("GET", "/nodes/pve1/qemu/100/config", query={"current": 1}).data
        self.assertNotIn("hostpci1", cur)
        self.assertEqual(cur["bios"], "ovmf")
        merged = self.c.call("GET", "/nodes/pve1/qemu/100/config").data
        self.assertEqual(merged["hostpci1"], "mapping=gpu1")
        self.assertNotIn("bios", merged)
        # revert drops the pending change
        self.assertEqual(self.c.call("PUT", "/nodes/pve1/qemu/100/config", {"revert": "bios"}).status, 200)
        pend = {e["key"]: e for e in self.c.call("GET", "/nodes/pve1/qemu/100/pending").data}
        self.assertNotIn("delete", pend["bios"])
        # shutdown keeps the pending change; start applies it, and the start
        # checks then find gpu1 (0000:01:00) already passed as hostpci0
        st = self.c.wait_task(self.c.call("POST", "/nodes/pve1/qemu/100/status/shutdown").data)
        self.assertEqual(st["exitstatus"], "OK")
        pend = {e["key"]: e for e in self.c.call("GET", "/nodes/pve1/qemu/100/pending").data}
        self.assertEqual(pend["hostpci1"], {"key": "hostpci1", "pending": "mapping=gpu1"})
        st = self.c.wait_task(self.c.call("POST", "/nodes/pve1/qemu/100/status/start").data)
        self.assertEqual(st["exitstatus"], "device '0000:01:00.0' assigned more than once")
        cur = self.c.call("GET", "/nodes/pve1/qemu/100/config", query={"current": 1}).data
        self.assertEqual(cur["hostpci1"], "mapping=gpu1")

    def test_stopped_vm_applies_changes_at_once_and_moves_disks_to_unused(self):
        self.create(150, scsi0="local-lvm:8", scsi1="local-lvm:4")
        self.assertEqual(self.c.call("PUT", "/nodes/pve1/qemu/150/config", {"delete": "scsi1"}).status, 200)
        conf = self.c.call("GET", "/nodes/pve1/qemu/150/config", query={"current": 1}).data
        self.assertNotIn("scsi1", conf)
        self.assertEqual(conf["unused0"], "local-lvm:vm-150-disk-1")

    def test_concurrent_creates_of_one_vmid(self):
        results = []

        def go():
            c = self.sim.client(ROOT)
            results.append(c.call("POST", "/nodes/pve1/qemu", {"vmid": "160"}))
            c.close()

        threads = [threading.Thread(target=go) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = [r for r in results if r.status == 200]
        bad = [r for r in results if r.status == 500]
        self.assertEqual(len(ok), 1)
        self.assertEqual(len(bad), 3)
        for r in bad:
            self.assertEqual(r.reason, "unable to create VM 160 - VM 160 already exists on node 'pve1'")

    def test_nextid_follows_creates(self):
        self.assertEqual(self.c.call("GET", "/cluster/nextid").data, 102)
        self.create(102)
        self.assertEqual(self.c.call("GET", "/cluster/nextid").data, 103)

    def test_token_task_user_and_visibility(self):
        t = self.sim.client(("token", "pvfio@pve!ci"))
        upid = t.call("POST", "/nodes/pve1/qemu/101/status/start").data
        self.assertRegex(upid, r":qmstart:101:pvfio@pve!ci:$")
        st = t.wait_task(upid)
        self.assertEqual((st["user"], st["tokenid"]), ("pvfio@pve", "ci"))
        tasks = t.call("GET", "/nodes/pve1/tasks", query={"vmid": 101}).data
        self.assertEqual(tasks[0]["upid"], upid)
        self.assertEqual(tasks[0]["status"], "OK")
        t.close()

    def test_mdev_instance_accounting_across_start_and_stop(self):
        def avail():
            types = self.c.call("GET", "/nodes/pve1/hardware/pci/0000:00:02.0/mdev").data
            return {t["type"]: t["available"] for t in types}["i915-GVTg_V5_4"]

        self.assertEqual(avail(), 2)
        self.c.wait_task(self.c.call("POST", "/nodes/pve1/qemu/101/status/start").data)
        self.assertEqual(avail(), 1)
        self.c.wait_task(self.c.call("POST", "/nodes/pve1/qemu/101/status/stop").data)
        self.assertEqual(avail(), 2)

    def test_resources_and_status_follow_power_state(self):
        self.c.wait_task(self.c.call("POST", "/nodes/pve1/qemu/101/status/start").data)
        res = {r["id"]: r for r in self.c.call("GET", "/cluster/resources", query={"type": "vm"}).data}
        self.assertEqual(res["qemu/101"]["status"], "running")
        cur = self.c.call("GET", "/nodes/pve1/qemu/101/status/current").data
        self.assertEqual((cur["status"], cur["qmpstatus"]), ("running", "running"))
        self.assertIsInstance(cur["pid"], int)
        self.assertEqual(cur["running-machine"], "pc-i440fx-10.0+pve1")
        self.c.wait_task(self.c.call("POST", "/nodes/pve1/qemu/101/status/suspend").data)
        cur = self.c.call("GET", "/nodes/pve1/qemu/101/status/current").data
        self.assertEqual((cur["status"], cur["qmpstatus"]), ("running", "paused"))

    def test_upid_format(self):
        upid = self.c.call("POST", "/nodes/pve2/qemu/200/status/start").data
        self.assertTrue(re.match(r"^UPID:pve2:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmstart:200:root@pam:$", upid), upid)


if __name__ == "__main__":
    unittest.main()
