"""Node power: POST /nodes/{node}/status (reboot, shutdown), GET …/status, POST /_sim/node."""

import time
import unittest

from simclient import SimTestCase

REBOOT_MS = 600


class NodePower(SimTestCase):
    SIM_ARGS = ["--task-ms", "5", "--reboot-ms", str(REBOOT_MS)]

    def node(self, name):
        nodes = self.c.call("GET", "/cluster/resources", query={"type": "node"}).data
        return next(n for n in nodes if n["node"] == name)

    def vm(self, vmid):
        vms = self.c.call("GET", "/cluster/resources", query={"type": "vm"}).data
        return next(v for v in vms if v["vmid"] == vmid)

    def wait_online(self, name, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.node(name)["status"] == "online":
                return
            time.sleep(0.05)
        self.fail("node %s did not come back" % name)

    def test_reboot_takes_the_node_down_and_brings_it_back(self):
        before = self.node("pve1")
        self.assertEqual(before["status"], "online")
        self.assertGreater(before["uptime"], 3600)
        self.assertEqual(self.vm(100)["status"], "running")      # win11, onboot=1
        self.c.call("POST", "/nodes/pve1/qemu/101/config", {"onboot": 0})
        a = self.c.call("POST", "/nodes/pve1/status", {"command": "reboot"})
        self.assertEqual((a.status, a.data), (200, None), a)
        down = self.node("pve1")
        self.assertEqual(down["status"], "offline")
        self.assertNotIn("uptime", down)
        self.assertEqual(self.vm(100)["status"], "stopped")
        # calls proxied to the node fail while it is down, as with a real offline node
        off = self.c.call("GET", "/nodes/pve1/qemu")
        self.assertEqual((off.status, off.reason), (595, "Connection refused"))
        self.assertEqual(self.node("pve2")["status"], "online")   # only that node
        self.wait_online("pve1")
        up = self.node("pve1")
        self.assertLess(up["uptime"], 60)
        self.assertEqual(self.vm(100)["status"], "running")      # onboot=1 came back
        self.assertEqual(self.vm(101)["status"], "stopped")      # onboot=0 stays off

    def test_a_stopped_onboot_vm_starts_at_boot_too(self):
        self.c.call("PUT", "/nodes/pve1/qemu/101/config", {"onboot": 1})
        self.assertEqual(self.vm(101)["status"], "stopped")
        self.c.call("POST", "/nodes/pve1/status", {"command": "reboot"})
        self.wait_online("pve1")
        self.assertEqual(self.vm(101)["status"], "running")

    def test_node_status_reports_the_new_uptime(self):
        st = self.c.call("GET", "/nodes/pve2/status").data
        self.assertGreater(st["uptime"], 3600)
        self.assertEqual(st["current-kernel"]["sysname"], "Linux")
        self.c.call("POST", "/nodes/pve2/status", {"command": "reboot"})
        self.wait_online("pve2")
        self.assertLess(self.c.call("GET", "/nodes/pve2/status").data["uptime"], 60)

    def test_shutdown_keeps_the_node_down(self):
        self.c.call("POST", "/nodes/pve3/status", {"command": "shutdown"})
        time.sleep(REBOOT_MS / 1000.0 + 0.3)
        self.assertEqual(self.node("pve3")["status"], "offline")
        again = self.c.call("POST", "/nodes/pve3/status", {"command": "reboot"})
        self.assertEqual(again.status, 595)                          # nobody there to answer
        self.assertTrue(self.sim.control("POST", "node", {"node": "pve3", "online": True})["online"])
        self.assertEqual(self.node("pve3")["status"], "online")

    def test_schema_and_permissions(self):
        bad = self.c.call("POST", "/nodes/pve1/status", {"command": "halt"})
        self.assertEqual(bad.status, 400, bad)
        self.assertIn("command", bad.errors)
        missing = self.c.call("POST", "/nodes/pve1/status", {})
        self.assertEqual(missing.status, 400, missing)
        ro = self.sim.client(("token", "audit@pve!ro"))
        denied = ro.call("POST", "/nodes/pve1/status", {"command": "reboot"})
        ro.close()
        self.assertEqual(denied.status, 403, denied)
        self.assertEqual(self.node("pve1")["status"], "online")

    def test_reboot_time_is_a_setting(self):
        self.sim.control("POST", "settings", {"reboot_ms": 50})
        try:
            self.c.call("POST", "/nodes/pve2/status", {"command": "reboot"})
            time.sleep(0.2)
            self.assertEqual(self.node("pve2")["status"], "online")
        finally:
            self.sim.control("POST", "settings", {"reboot_ms": REBOOT_MS})


if __name__ == "__main__":
    unittest.main()
