"""GET /nodes/{node}/tasks as pve-manager PVE/API2/Tasks.pm node_tasks answers it: active tasks
(status 'RUNNING') before the archive, the since/until/userfilter/statusfilter/errors filters,
start/limit and total (pvfio polls many tasks of one node with it)."""

import unittest

from simclient import SimTestCase


class TasksList(SimTestCase):
    def start_stop(self, vmid=101):
        up = self.c.call("POST", "/nodes/pve1/qemu/%d/status/start" % vmid).data
        self.c.wait_task(up)
        down = self.c.call("POST", "/nodes/pve1/qemu/%d/status/stop" % vmid).data
        self.c.wait_task(down)
        return up, down

    def test_running_tasks_first_with_status_running(self):
        done, _ = self.start_stop()
        self.sim.control("POST", "settings", {"task_ms": 3000})
        running = self.c.call("POST", "/nodes/pve1/qemu/101/status/start").data
        a = self.c.call("GET", "/nodes/pve1/tasks", query={"source": "all"})
        upids = [t["upid"] for t in a.data]
        self.assertEqual(upids[0], running)
        self.assertEqual(a.data[0]["status"], "RUNNING")
        self.assertNotIn("endtime", a.data[0])
        self.assertIn(done, upids)
        ok = [t for t in a.data if t["upid"] == done][0]
        self.assertEqual(ok["status"], "OK")
        self.assertIn("endtime", ok)
        # the default source is the archive: no running task; active: only it
        self.assertNotIn(running, [t["upid"] for t in self.c.call("GET", "/nodes/pve1/tasks").data])
        self.assertEqual([t["upid"] for t in self.c.call("GET", "/nodes/pve1/tasks", query={"source": "active"}).data],
                         [running])

    def test_since_until_and_total(self):
        up, down = self.start_stop()
        start = int(up.split(":")[4], 16)
        a = self.c.call("GET", "/nodes/pve1/tasks", query={"since": start + 3600})
        self.assertEqual((a.data, a.json.get("total")), ([], 0))
        a = self.c.call("GET", "/nodes/pve1/tasks", query={"until": start - 3600})
        self.assertEqual(a.data, [])
        a = self.c.call("GET", "/nodes/pve1/tasks", query={"since": start, "limit": 1})
        self.assertEqual(len(a.data), 1)
        self.assertGreaterEqual(a.json.get("total"), 2)   # total counts every match, not only the page

    def test_status_filters(self):
        self.start_stop()
        self.assertEqual(self.c.call("GET", "/nodes/pve1/tasks", query={"errors": 1}).data, [])
        self.assertEqual(self.c.call("GET", "/nodes/pve1/tasks", query={"statusfilter": "error"}).data, [])
        self.assertGreaterEqual(len(self.c.call("GET", "/nodes/pve1/tasks", query={"statusfilter": "ok"}).data), 2)

    def test_userfilter(self):
        self.start_stop()
        self.assertGreaterEqual(len(self.c.call("GET", "/nodes/pve1/tasks", query={"userfilter": "ROOT"}).data), 2)
        self.assertEqual(self.c.call("GET", "/nodes/pve1/tasks", query={"userfilter": "nobody"}).data, [])


if __name__ == "__main__":
    unittest.main()
