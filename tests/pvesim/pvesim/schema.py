"""The API schema: method lookup by path and parameter schemas.

Loads data/apidata.json (the official tree, trimmed) and data/formats.json.
apidata collapses indexed keys ("hostpci[n]"); they are expanded with the
index ranges of qemu-server's create_vm schema.
"""

import copy
import json
import os
import re

from . import version

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")

# qemu-server's real index ranges for the keys apidata shows as "name[n]"
INDEX_RANGES = {
    "hostpci": 16, "usb": 14, "net": 32, "ipconfig": 32, "scsi": 31,
    "virtio": 16, "sata": 6, "ide": 4, "unused": 256, "serial": 4,
    "parallel": 3, "numa": 8, "virtiofs": 10,
}

_INDEXED = re.compile(r"^(.+)\[n\]$")


def expand_indexed(props):
    """Return a copy of a properties dict with every "x[n]" key expanded."""
    out = {}
    for key, val in props.items():
        m = _INDEXED.match(key)
        if not m:
            out[key] = val
            continue
        base = m.group(1)
        count = INDEX_RANGES.get(base)
        if count is None:
            raise ValueError("no index range known for schema key %r" % key)
        for i in range(count):
            out["%s%d" % (base, i)] = val
    return out


class Method:
    """One HTTP method of one API path, as described by apidata."""

    def __init__(self, template, info):
        self.template = template
        self.info = info
        self.name = info.get("name")
        self.method = info["method"]
        params = copy.deepcopy(info.get("parameters") or {})
        if "properties" in params:
            params["properties"] = expand_indexed(params["properties"])
        params.setdefault("type", "object")
        self.parameters = params
        self.properties = params.get("properties") or {}
        self.permissions = info.get("permissions")
        self.allowtoken = info.get("allowtoken", 1)
        self.proxyto = info.get("proxyto")
        self.protected = info.get("protected", 0)
        self.returns = info.get("returns") or {}

    def __repr__(self):
        return "Method(%s %s)" % (self.method, self.template)


class Schema:
    def __init__(self, data_dir=DATA_DIR, pve_version="9.x"):
        with open(os.path.join(data_dir, "apidata.json"), encoding="utf-8") as f:
            tree = json.load(f)
        with open(os.path.join(data_dir, "formats.json"), encoding="utf-8") as f:
            fmts = json.load(f)
        self.named_formats = {k: expand_indexed(v) for k, v in fmts["property_string_formats"].items()}
        # the data is 9.x's; an older release lacks some keys (version.MISSING_FORMAT_KEYS)
        version.trim_formats(self.named_formats, pve_version)
        # root of a path-segment trie: {"lit": {seg: node}, "var": (name, node), "methods": {}}
        self.root = self._new_node()
        self.methods = {}
        for top in tree:
            self._add(top)

    @staticmethod
    def _new_node():
        return {"lit": {}, "var": None, "methods": {}}

    def _add(self, node):
        path = node["path"]
        info = node.get("info") or {}
        cur = self.root
        for seg in [s for s in path.split("/") if s]:
            if seg.startswith("{") and seg.endswith("}"):
                if cur["var"] is None:
                    cur["var"] = (seg[1:-1], self._new_node())
                cur = cur["var"][1]
            else:
                cur = cur["lit"].setdefault(seg, self._new_node())
        for meth, minfo in info.items():
            m = Method(path, minfo)
            cur["methods"][meth] = m
            self.methods[(meth, path)] = m
        for child in node.get("children") or []:
            self._add(child)

    def find(self, method, rel_uri):
        """Return (Method, uri_params) or (None, None), like find_handler."""
        segs = [s for s in rel_uri.split("/") if s]
        cur = self.root
        uri_params = {}
        for seg in segs:
            if seg in cur["lit"]:
                cur = cur["lit"][seg]
            elif cur["var"] is not None:
                name, nxt = cur["var"]
                uri_params[name] = seg
                cur = nxt
            else:
                return None, None
        m = cur["methods"].get(method)
        if m is None:
            return None, None
        return m, uri_params

    def method(self, meth, template):
        return self.methods[(meth, template)]

    def config_properties(self):
        """Properties a VM config may hold (from the create schema)."""
        create = self.method("POST", "/nodes/{node}/qemu").properties
        skip = {"node", "vmid", "archive", "storage", "force", "unique", "live-restore",
                "pool", "bwlimit", "start", "ha-managed", "import-working-storage"}
        return {k: v for k, v in create.items() if k not in skip}


_schemas = {}


def get_schema(pve_version=None):
    """The schema of a release (default: the active --pve-version), loaded once."""
    which = pve_version or version.name()
    if which not in _schemas:
        _schemas[which] = Schema(pve_version=which)
    return _schemas[which]
