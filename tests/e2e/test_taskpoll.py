# SPDX-License-Identifier: GPL-2.0-or-later
"""Issue 13: while several tasks of one node run at once, the parallel executor polls them with
one GET /nodes/{node}/tasks (source=all, since the oldest of them) instead of one status request
each; a task alone on its node, and one that did not end OK, are read by their own status (its
error text and log reach the user as before)."""
import re

import e2elib
from test_executor import vms_profile


class TaskListPolls(e2elib.Lab):

    def polls(self, mark):
        lists, status = [], []
        for e in self.sim.requests(mark):
            path = e["path"].split("?")[0]
            if e["method"] != "GET":
                continue
            if re.search(r"/nodes/[^/]+/tasks$", path):
                lists.append(e)
            elif re.search(r"/nodes/[^/]+/tasks/[^/]+/status$", path):
                status.append(e)
        return lists, status

    def test_tasks_of_one_node_share_their_polls(self):
        self.sim.control("POST", "/_sim/settings", {"task_ms": 400})
        names = ["poll-%d" % i for i in range(6)]
        prof = self.lab_profile(vms_profile(names, state="present"))
        mark = self.sim.mark()
        r = self.apply_ok(prof, "--parallel", "6", "--timings")
        lists, status = self.polls(mark)
        self.assertTrue(lists, "no task-list poll")
        for e in lists:
            self.assertEqual(e["params"].get("source"), "all", e)
            self.assertIn("since", e["params"], e)
        # 6 tasks of 400 ms: one status request each every 15-50 ms would be about 50; shared lists far fewer
        self.assertLess(len(lists) + len(status), 30, (len(lists), len(status)))
        m = re.search(r"6 tasks, (\d+) status polls \([\d.]+ per task\), (\d+) task-list polls", r.err)
        self.assertIsNotNone(m, r.err)
        self.assertEqual((int(m.group(1)), int(m.group(2))), (len(status), len(lists)))
        self.assertIdempotent(prof)

    def test_a_failed_task_among_them_is_read_by_its_status(self):
        self.sim.control("POST", "/_sim/settings", {"task_ms": 300})
        self.sim.fault({"task": "qmcreate", "vmid": 411, "fail": "e2e: disk on fire", "count": 1})
        prof = self.lab_profile(vms_profile(["ok-0", "bad-1", "ok-2", "ok-3"], state="present", vmid0=410))
        mark = self.sim.mark()
        r = self.expect(self.pvfio("apply", "--yes", prof, "--parallel", "4"), 3)
        self.assertRegex(r.out, r"(?s)create-vm vm bad-1 [^\n]*\[failed\]\n[^\n]*\n\s*failed: [^\n]*e2e: disk on fire")
        lists, status = self.polls(mark)
        self.assertTrue(lists)
        self.assertTrue([e for e in status if ":qmcreate:411:" in e["path"]], status)
        for name in ("ok-0", "ok-2", "ok-3"):
            self.assertIsNotNone(self.find_vm(name)[0], name)


if __name__ == "__main__":
    e2elib.main(["test_taskpoll"])
