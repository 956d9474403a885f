#!/usr/bin/env python3
"""Trim the official Proxmox VE API schema to the paths the simulator serves.

Usage: trim_apidata.py APIDATA.json OUT.json

APIDATA.json is pve-docs' api-viewer/apidata.js re-serialised as JSON (a list of
tree nodes with path/text/leaf/children/info). The output keeps the same tree
format, but only the nodes on the way to the selected paths; a selected path
keeps its complete `info` (all methods, full parameter and return schemas), an
ancestor that is not selected keeps its `info` too so directory indexes stay
answerable. Nothing inside an `info` is changed.
"""

import json
import sys

# Every path pvfio and its tests talk to. Keep sorted.
SELECTED = [
    "/access",
    "/access/domains",
    "/access/ticket",
    "/cluster",
    "/cluster/mapping",
    "/cluster/mapping/pci",
    "/cluster/mapping/pci/{id}",
    "/cluster/mapping/usb",          # usb.py
    "/cluster/mapping/usb/{id}",
    "/cluster/nextid",
    "/cluster/options",
    "/cluster/resources",
    "/nodes",
    "/nodes/{node}",
    "/nodes/{node}/apt",
    "/nodes/{node}/apt/versions",
    "/nodes/{node}/hardware",
    "/nodes/{node}/hardware/pci",
    "/nodes/{node}/hardware/pci/{pci-id-or-mapping}",
    "/nodes/{node}/hardware/pci/{pci-id-or-mapping}/mdev",
    "/nodes/{node}/hardware/usb",    # usb.py
    "/nodes/{node}/qemu",
    "/nodes/{node}/qemu/{vmid}",
    "/nodes/{node}/qemu/{vmid}/config",
    "/nodes/{node}/qemu/{vmid}/pending",
    "/nodes/{node}/qemu/{vmid}/status",
    "/nodes/{node}/qemu/{vmid}/status/current",
    "/nodes/{node}/qemu/{vmid}/status/reboot",
    "/nodes/{node}/qemu/{vmid}/status/reset",
    "/nodes/{node}/qemu/{vmid}/status/resume",
    "/nodes/{node}/qemu/{vmid}/status/shutdown",
    "/nodes/{node}/qemu/{vmid}/status/start",
    "/nodes/{node}/qemu/{vmid}/status/stop",
    "/nodes/{node}/qemu/{vmid}/status/suspend",
    "/nodes/{node}/status",
    "/nodes/{node}/tasks",
    "/nodes/{node}/tasks/{upid}",
    "/nodes/{node}/tasks/{upid}/log",
    "/nodes/{node}/tasks/{upid}/status",
    "/nodes/{node}/version",
    "/pools",
    "/pools/{poolid}",
    "/version",
]


def trim(node, wanted):
    """Return a copy of node restricted to wanted paths, or None."""
    path = node.get("path")
    kids = []
    for child in node.get("children") or []:
        sub = trim(child, wanted)
        if sub is not None:
            kids.append(sub)
    if path not in wanted and not kids:
        return None
    out = {k: v for k, v in node.items() if k != "children"}
    if kids:
        out["children"] = kids
        out["leaf"] = 0
    else:
        out.pop("children", None)
        out["leaf"] = 1
    return out


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 64
    with open(argv[1], encoding="utf-8") as f:
        tree = json.load(f)
    wanted = set(SELECTED)
    out = [t for t in (trim(n, wanted) for n in tree) if t is not None]
    found = set()

    def collect(n):
        found.add(n.get("path"))
        for c in n.get("children") or []:
            collect(c)

    for n in out:
        collect(n)
    missing = wanted - found
    if missing:
        sys.stderr.write("paths not in the schema: %s\n" % ", ".join(sorted(missing)))
        return 1
    with open(argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
