"""Worker tasks: UPIDs, background execution, status and log.

A task is `running` for its duration (--task-ms or a fault rule), then its
work function runs under the state lock and the task stops with exit status
`OK`, `WARNINGS: n` or the error text (PVE::RESTEnvironment::fork_worker:
the message is chomped and inner newlines become spaces).
"""

import re
import threading
import time
import traceback

from .errors import ApiError

UPID_RE = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):"
    r"([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$")

MAX_TASKS = 2000


class TaskError(Exception):
    """A die inside a worker; message as Perl would have it (maybe ending in \\n)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def encode_upid(node, pid, pstart, starttime, wtype, wid, user):
    return "UPID:%s:%08X:%08X:%08X:%s:%s:%s:" % (node, pid, pstart, starttime, wtype, wid, user)


def decode_upid(upid):
    m = UPID_RE.match(upid or "")
    if not m:
        return None
    return {"node": m.group(1), "pid": int(m.group(3), 16), "pstart": int(m.group(4), 16),
            "starttime": int(m.group(5), 16), "type": m.group(6), "id": m.group(7),
            "user": m.group(8)}


def exit_status(log):
    """PVE::Tools::upid_read_status from the last log line."""
    if not log:
        return "unexpected status"
    last = log[-1]
    if last == "TASK OK":
        return "OK"
    m = re.match(r"^TASK ERROR: (.+)$", last)
    if m:
        return m.group(1)
    m = re.match(r"^TASK (WARNINGS: \d+)$", last)
    if m:
        return m.group(1)
    return "unexpected status"


class TaskLog:
    """Collects the lines a worker prints; warn() counts warnings."""

    def __init__(self):
        self.lines = []
        self.warnings = 0

    def print(self, line):
        for part in str(line).rstrip("\n").split("\n"):
            self.lines.append(part)

    def warn(self, msg):
        self.warnings += 1
        self.print("WARN: " + msg.rstrip("\n"))


class TaskManager:
    def __init__(self, state, settings, faults):
        self.state = state
        self.settings = settings
        self.faults = faults
        self.threads = set()
        self.cond = threading.Condition()

    def recover(self, st):
        """Tasks still `running` in a loaded state have lost their worker."""
        for rec in st["tasks"].values():
            if rec["status"] == "running":
                rec["status"] = "stopped"
                rec["exitstatus"] = exit_status(rec["log"])
                rec["endtime"] = int(self.state.now())
                self.state.mark_dirty()

    def start(self, st, node, wtype, wid, user, work, log=None, min_ms=0, on_fail=None):
        """Create a task (caller holds the state transaction) and run `work` later.

        work(st, tasklog) runs under the state lock when the task's time is up;
        it may raise TaskError/ApiError to fail the task. on_fail(st), if given, runs
        when the task fails (by its work or by a fault rule's `fail`), before it ends.
        """
        now = self.state.now()
        st["counters"]["pid"] = (st["counters"]["pid"] + 1) & 0x3FFFFF or 0x1000
        pid = st["counters"]["pid"]
        pstart = int((now - st.get("boot_time", now - 86400)) * 100) & 0xFFFFFFFF
        upid = encode_upid(node, pid, pstart, int(now), wtype, wid, user)
        override = self.faults.task_override(wtype, wid, node)
        duration = self.settings.task_ms if override.get("duration_ms") is None else override["duration_ms"]
        duration = max(duration, min_ms)
        rec = {"upid": upid, "node": node, "pid": pid, "pstart": pstart, "starttime": int(now),
               "type": wtype, "id": wid, "user": user, "status": "running", "exitstatus": None,
               "log": list(log.lines) if log else [], "endtime": None}
        st["tasks"][upid] = rec
        st["task_order"].append(upid)
        while len(st["task_order"]) > MAX_TASKS:
            old = st["task_order"].pop(0)
            if st["tasks"].get(old, {}).get("status") == "stopped":
                st["tasks"].pop(old, None)
            else:
                st["task_order"].append(old)
                break
        self.state.mark_dirty()
        t = threading.Thread(target=self._run, args=(upid, work, duration / 1000.0, override, on_fail),
                             name="task-" + wtype, daemon=True)
        with self.cond:
            self.threads.add(t)
        t.start()
        return upid

    def _run(self, upid, work, delay, override, on_fail=None):
        try:
            if delay > 0:
                time.sleep(delay)
            with self.state.transaction() as st:
                rec = st["tasks"].get(upid)
                if rec is None:
                    return
                tlog = TaskLog()
                err = None
                try:
                    if override.get("fail"):
                        raise TaskError(override["fail"])
                    for i in range(int(override.get("warnings") or 0)):
                        tlog.warn("simulated warning %d" % (i + 1))
                    if work is not None:
                        work(st, tlog)
                except TaskError as e:
                    err = e.message
                except ApiError as e:
                    err = e.message
                    if e.errors:
                        err = err.rstrip("\n") + "\n" + "".join(
                            "%s: %s\n" % (k, e.errors[k]) for k in sorted(e.errors))
                except Exception as e:  # a simulator bug: fail the task instead of hanging it
                    traceback.print_exc()
                    err = "pvesim internal error: %s\n" % e
                if err is not None and on_fail is not None:
                    on_fail(st)
                rec["log"].extend(tlog.lines)
                if err is not None:
                    msg = err[:-1] if err.endswith("\n") else err
                    msg = msg.replace("\n", " ")
                    rec["log"].append("TASK ERROR: " + msg)
                elif tlog.warnings:
                    rec["log"].append("TASK WARNINGS: %d" % tlog.warnings)
                else:
                    rec["log"].append("TASK OK")
                rec["status"] = "stopped"
                rec["exitstatus"] = exit_status(rec["log"])
                rec["endtime"] = int(self.state.now())
                self.state.mark_dirty()
        finally:
            with self.cond:
                self.threads.discard(threading.current_thread())
                self.cond.notify_all()

    def wait_idle(self, timeout=10.0):
        """Wait until no task thread runs (used by tests and shutdown)."""
        end = time.time() + timeout
        with self.cond:
            while self.threads and time.time() < end:
                self.cond.wait(0.05)
            return not self.threads


def status_of(rec):
    res = {"upid": rec["upid"], "node": rec["node"], "pid": rec["pid"], "pstart": rec["pstart"],
           "starttime": rec["starttime"], "type": rec["type"], "id": rec["id"], "user": rec["user"],
           "status": rec["status"]}
    if "!" in rec["user"]:
        user, tok = rec["user"].split("!", 1)
        res["user"] = user
        res["tokenid"] = tok
    if rec["status"] == "stopped":
        res["exitstatus"] = rec["exitstatus"]
    return res
