"""USB: the node's USB listing and cluster USB resource mappings.

Followed Perl (Proxmox VE 9.1):
  - pve-common src/PVE/SysFSTools.pm scan_usb / __scan_usb_device: root hubs in
    glob order (`usb*`, lexicographic), then each device's children "<bus>-<port>…"
    depth first (glob order); `port` = last port number - 1, `level`, `usbpath`
    only below the root hub; `serial` is never returned (the Perl assigns it with
    `my $serial => …`, so it stays undefined);
  - pve-manager PVE/API2/Hardware/USB.pm usbscan (GET /nodes/{node}/hardware/usb;
    Sys.Modify on / is checked from the schema by core.py);
  - pve-manager PVE/API2/Cluster/Mapping/USB.pm index/get/create/update/delete:
    the list carries `digest` and, with check-node, `errors` (not `checks` as for
    PCI); `map` is not optional in the USB propertyList, so SectionConfig's
    updateSchema keeps it required (an update without it is a 400 from the schema,
    checked by core.py) and create/update also run check_config with create=1;
    errors inside lock_usb_config are prefixed "create hardware mapping failed: " /
    "update hardware mapping failed: ";
  - pve-guest-common src/PVE/Mapping/USB.pm assert_valid (a path must exist and
    carry the id; an id alone must exist somewhere; plain string comparison) and
    get_node_mapping.
The machine description's `usb` buses (tests/machines/FORMAT.md) are the sysfs tree.
"""

import hashlib
import re

from . import formats
from .api import route
from .errors import die
from .formats import perl_str
from .propstr import parse_property_string

MAX_USB_DEVICES = 14  # qemu-server QemuServer/USB.pm $MAX_USB_DEVICES

# The `usb` buses are checked with the rest of the machine description (tests/machines/machine.py).


def scan_usb(machine):
    """PVE::SysFSTools::scan_usb over the machine description."""
    res = []
    for b in sorted(machine.get("usb") or [], key=lambda b: "usb%d" % b["bus"]):
        bus = b["bus"]
        speed = str(b.get("speed") or "480")
        res.append({"port": 0, "level": 0, "busnum": bus, "devnum": 1, "speed": speed, "class": 9,
                    "vendid": "1d6b", "prodid": "0003" if int(float(speed)) >= 5000 else "0002",
                    "product": "xHCI Host Controller", "manufacturer": "Linux xhci-hcd"})
        devs = b.get("devices") or []
        devnum = {d["path"]: n + 2 for n, d in enumerate(devs)}

        def children(parent):
            kids = [d for d in devs if (d["path"].rsplit(".", 1)[0] if "." in d["path"] else "") == parent]
            return sorted(kids, key=lambda d: "%d-%s" % (bus, d["path"]))

        def walk(parent, level):
            for d in children(parent):
                last = int(re.search(r"(\d+)$", d["path"]).group(1))
                e = {"port": last - 1, "level": level, "busnum": bus, "devnum": devnum[d["path"]],
                     "speed": str(d.get("speed") or "12"), "class": int(d.get("class") or "00", 16),
                     "vendid": d["vendor"], "prodid": d["product"], "usbpath": d["path"]}
                if d.get("product_name"):
                    e["product"] = d["product_name"]
                if d.get("manufacturer"):
                    e["manufacturer"] = d["manufacturer"]
                res.append(e)
                walk(d["path"], level + 1)

        walk("", 1)
    return res


# --- hardware listing ---------------------------------------------------------

@route("GET", "/nodes/{node}/hardware/usb")
def hardware_usb(sim, ctx, st, p):
    return scan_usb(sim.hw(st, p["node"]).machine)


# --- cluster mappings -----------------------------------------------------------

def _mappings(st):
    return st["mappings"].setdefault("usb", {})


def cfg_text(st):
    """mapping/usb.cfg as PVE::SectionConfig writes it (its SHA-1 is the digest)."""
    out = []
    for mid in sorted(_mappings(st)):
        rec = _mappings(st)[mid]
        lines = [mid]
        # SectionConfig::write_config: the required options first (map), then the optional ones
        for m in rec.get("map") or []:
            lines.append("\tmap %s" % m)
        if rec.get("description") not in (None, ""):
            lines.append("\tdescription %s" % perl_str(rec["description"]))
        out.append("\n".join(lines) + "\n")
    return "\n".join(out)


def digest(st):
    return hashlib.sha1(cfg_text(st).encode("utf-8")).hexdigest()


def _map_format(sim):
    return sim.schema.method("POST", "/cluster/mapping/usb").properties["map"]["items"]["format"]


def node_mapping(sim, st, mid, node):
    """PVE::Mapping::USB::get_node_mapping."""
    rec = _mappings(st).get(mid)
    if rec is None:
        return None
    res = []
    for m in rec.get("map") or []:
        try:
            entry = parse_property_string(_map_format(sim), m, "map", sim.schema.named_formats)
        except Exception:
            continue
        if entry.get("node") == node:
            res.append(entry)
    return res


def assert_valid(mid, entry, devices):
    """PVE::Mapping::USB::assert_valid against the node's scan_usb list (ValueError = die)."""
    want = entry.get("id")
    path = entry.get("path")
    if path:
        info = None
        for d in devices:
            if not d.get("usbpath") or not d.get("busnum"):
                continue
            if "%s-%s" % (d["busnum"], d["usbpath"]) == path:
                info = d
        if info is None:
            raise ValueError("usb device '%s' not found\n" % path)
        real = "%s:%s" % (info["vendid"], info["prodid"])
        if real != want:
            raise ValueError("'id' does not match for '%s' (%s != %s)\n" % (mid, real, want))
    elif not any("%s:%s" % (d["vendid"], d["prodid"]) == want for d in devices):
        raise ValueError("usb device '%s' not found\n" % want)


def _record(params):
    rec = {"type": "usb"}
    for k, v in params.items():
        rec[k] = list(v) if k == "map" else v
    return rec


def _check_config(params, prefix):
    """SectionConfig::check_config with create=1: every required option (map) present."""
    if params.get("map") is None:
        raise die(prefix + "missing value for required option 'map'\n")


@route("GET", "/cluster/mapping/usb")
def mapping_usb_list(sim, ctx, st, p):
    node = p.get("check-node")
    if node is not None:
        sim.assert_node(st, node)  # proxyto_callback: the request goes to that node
    dig = digest(st)
    res = []
    for mid in sorted(_mappings(st)):
        if not ctx.env.check_any("/mapping/usb/%s" % mid, ["Mapping.Modify", "Mapping.Use", "Mapping.Audit"],
                                 noerr=True):
            continue
        rec = _mappings(st)[mid]
        entry = {k: (list(v) if isinstance(v, list) else v) for k, v in rec.items()}
        entry["id"] = mid
        entry["digest"] = dig
        if node is not None:
            entry["errors"] = []
            entries = node_mapping(sim, st, mid, node)
            if not entries:
                entry["errors"].append({"severity": "warning", "message": "No mapping for node %s." % node})
            devices = scan_usb(sim.hw(st, node).machine)
            for e in entries or []:
                try:
                    assert_valid(mid, e, devices)
                except ValueError as err:
                    entry["errors"].append({"severity": "error", "message": "Invalid configuration: %s" % err})
        res.append(entry)
    return res


@route("GET", "/cluster/mapping/usb/{id}")
def mapping_usb_get(sim, ctx, st, p):
    rec = _mappings(st).get(p["id"])
    if rec is None:
        raise die("mapping '%s' not found\n" % p["id"])
    data = {k: (list(v) if isinstance(v, list) else v) for k, v in rec.items()}
    data["digest"] = digest(st)
    return data


@route("POST", "/cluster/mapping/usb")
def mapping_usb_create(sim, ctx, st, p):
    mid = p.pop("id")
    prefix = "create hardware mapping failed: "
    _check_config(p, "")
    if mid in _mappings(st):
        raise die(prefix + "usb ID '%s' already defined\n" % mid)
    _mappings(st)[mid] = _record(p)
    sim.state.mark_dirty()
    return None


@route("PUT", "/cluster/mapping/usb/{id}")
def mapping_usb_update(sim, ctx, st, p):
    dig = p.pop("digest", None)
    delete = formats.split_list(p.pop("delete", None)) if p.get("delete") else []
    mid = p.pop("id")
    prefix = "update hardware mapping failed: "
    if dig is not None and dig and dig != digest(st):
        raise die(prefix + "detected modified configuration - file changed by other user? Try again.\n")
    rec = _mappings(st).get(mid)
    if rec is None:
        raise die(prefix + "usb ID '%s' does not exist\n" % mid)
    _check_config(p, prefix)
    opts = _record(p)
    opts.pop("type", None)
    for k in delete:
        if k not in ("description", "map"):
            raise die(prefix + "no such option '%s'\n" % k)
        if k == "map":
            raise die(prefix + "unable to delete required option '%s'\n" % k)
        if k in opts:
            raise die(prefix + "cannot set and delete property '%s' at the same time!\n" % k)
        rec.pop(k, None)
    rec.update(opts)
    sim.state.mark_dirty()
    return None


@route("DELETE", "/cluster/mapping/usb/{id}")
def mapping_usb_delete(sim, ctx, st, p):
    _mappings(st).pop(p["id"], None)
    sim.state.mark_dirty()
    return None
