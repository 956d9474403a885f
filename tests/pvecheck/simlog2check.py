#!/usr/bin/env python3
"""Turn pvesim request logs into pvecheck input (one JSON request a line).

Usage: simlog2check.py LOG.jsonl [...] > CHECK.jsonl
       simlog2check.py --judge CHECK.jsonl CHECK-LOG-OUTPUT

pvesim logs the decoded `params` and, since it can, the raw `query`, `body` and
`content_type` exactly as sent. pvecheck (../shared/tools/pvecheck/check-log.pl)
refuses an entry with both `params` and a body, and is exact only with the raw
form, so each entry is reduced to method, path, query, body, content_type and the
status pvesim answered, plus `src` (file:seq) to find it again. Control requests
(/_sim) and paths outside /api2 are left out; an entry of an older log without the
raw fields keeps its decoded `params`.
"""

import json
import os
import re
import sys


def convert(path, out):
    n = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            e = json.loads(line)
            if e.get("control") or not str(e.get("path", "")).startswith("/api2/"):
                continue
            r = {"method": e["method"], "path": e["path"],
                 "src": "%s:%s" % (os.path.basename(path), e.get("seq"))}
            if "query" in e or "body" in e:
                r["query"] = e.get("query") or ""
                r["body"] = e.get("body") or ""
                if e.get("content_type"):
                    r["content_type"] = e["content_type"]
            else:
                r["params"] = e.get("params") or {}
            if e.get("status") is not None:
                r["status"] = e["status"]
            out.write(json.dumps(r, sort_keys=True) + "\n")
            n += 1
    return n


_FAIL = re.compile(r"^FAIL \[(\d+)\] ")


def judge(input_path, output_path):
    """Read check-log.sh's output for an input written by convert(): a request Proxmox
    refuses fails only when the simulator did not refuse it too (it answered < 400, or a
    fault rule answered or dropped it before it was checked). Requests both refused
    (400 parameter verification, 501 unknown path: tests that send bad requests on
    purpose) are listed as notes. Returns the number of failures."""
    with open(input_path, encoding="utf-8") as f:
        reqs = [json.loads(line) for line in f if line.strip()]
    bad = both = 0
    with open(output_path, encoding="utf-8") as f:
        for line in f:
            m = _FAIL.match(line)
            if not m:
                continue
            r = reqs[int(m.group(1)) - 1]
            status = r.get("status")
            if status in (400, 501):
                both += 1
                print("  refused by both (simulator %s, %s): %s" % (status, r["src"], line.strip()[:300]))
            else:
                bad += 1
                print("FAIL (simulator answered %s, %s): %s" % (status, r["src"], line.strip()))
    print("  %d refused by Proxmox and the simulator alike, %d refused by Proxmox only" % (both, bad))
    return bad


def main(argv):
    if len(argv) == 4 and argv[1] == "--judge":
        return 1 if judge(argv[2], argv[3]) else 0
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    for p in argv[1:]:
        convert(p, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
