# SPDX-License-Identifier: GPL-2.0-or-later
"""USB part of a machine description (`usb`, see tests/machines/FORMAT.md) → sysfs under a fake root.

Writes what the kernel shows and Proxmox's PVE::SysFSTools::scan_usb (pve-common) and
`pvfio host scan --usb` read:

  sys/devices/<controller dir>/usbB/                      root hub (busnum, devnum, speed,
                                                          bDeviceClass 09, idVendor 1d6b, idProduct)
  sys/devices/<controller dir>/usbB/B-P/                  a device on root port P
  sys/devices/<controller dir>/usbB/B-P/B-P.Q/            a device behind the hub at B-P
  sys/bus/usb/devices/usbB, B-P, B-P.Q                    symlinks to those directories

and for `input` (names of /dev/input/by-id links, e.g. usb-Logitech_USB_Receiver-event-kbd):
  dev/input/eventN (empty files) and dev/input/by-id/NAME -> ../eventN
"""

import re

USB_BUS_KEYS = {"bus", "controller", "speed", "devices"}
USB_DEV_KEYS = {"path", "vendor", "product", "class", "speed", "manufacturer", "product_name", "serial"}
PATH_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
HEX4_RE = re.compile(r"^[0-9a-f]{4}$")


class UsbError(ValueError):
    pass


def check_usb(m, where, check_keys, devices):
    """Validate m["usb"]; check_keys(obj, allowed, where) raises on unknown keys."""
    buses = m.get("usb")
    if buses is None:
        return
    if not isinstance(buses, list):
        raise UsbError("%s.usb: expected a list of buses" % where)
    seen = set()
    for i, b in enumerate(buses):
        w = "%s.usb[%d]" % (where, i)
        check_keys(b, USB_BUS_KEYS, w)
        if not isinstance(b.get("bus"), int) or b["bus"] < 1 or b["bus"] in seen:
            raise UsbError("%s.bus: a positive integer, unique per machine, is required" % w)
        seen.add(b["bus"])
        if b.get("controller") not in devices:
            raise UsbError("%s.controller: %r is not a listed PCI device" % (w, b.get("controller")))
        paths = set()
        for j, d in enumerate(b.get("devices") or []):
            dw = "%s.devices[%d]" % (w, j)
            check_keys(d, USB_DEV_KEYS, dw)
            p = d.get("path")
            if not isinstance(p, str) or not PATH_RE.match(p) or p in paths:
                raise UsbError("%s.path: PORT[.PORT…] (decimal), unique per bus, is required" % dw)
            if "." in p and p.rsplit(".", 1)[0] not in paths:
                raise UsbError("%s.path: %s sits behind %s, which must be listed before it"
                               % (dw, p, p.rsplit(".", 1)[0]))
            paths.add(p)
            for k in ("vendor", "product"):
                if not isinstance(d.get(k), str) or not HEX4_RE.match(d[k]):
                    raise UsbError("%s.%s: 4 lower-case hex digits required" % (dw, k))


def check_input(m, where):
    names = m.get("input")
    if names is None:
        return
    if not isinstance(names, list) or any(not isinstance(n, str) or "/" in n or not n for n in names):
        raise UsbError("%s.input: a list of /dev/input/by-id names is required" % where)


def write_input(r, m):
    for i, name in enumerate(m.get("input") or []):
        r.write("dev/input/event%d" % i, "")
        r.symlink("../event%d" % i, "dev/input/by-id/%s" % name)


def write_usb(r, m, dirs):
    """r: mkroot.Root; dirs: PCI address → sys-relative device directory."""
    for b in m.get("usb") or []:
        bus = b["bus"]
        speed = str(b.get("speed") or "480")
        hub = "%s/usb%d" % (dirs[b["controller"]], bus)
        devnum = 1
        attrs = {"busnum": bus, "devnum": devnum, "speed": speed, "bDeviceClass": "09", "idVendor": "1d6b",
                 "idProduct": "0003" if int(float(speed)) >= 5000 else "0002",
                 "manufacturer": "Linux xhci-hcd", "product": "xHCI Host Controller"}
        for k, v in attrs.items():
            r.write("sys/%s/%s" % (hub, k), "%s\n" % v)
        r.symlink("../../../%s" % hub, "sys/bus/usb/devices/usb%d" % bus)
        where = {"": hub}
        for d in b.get("devices") or []:
            devnum += 1
            path = d["path"]
            parent = path.rsplit(".", 1)[0] if "." in path else ""
            name = "%d-%s" % (bus, path)
            ddir = "%s/%s" % (where[parent], name)
            where[path] = ddir
            files = {"busnum": bus, "devnum": devnum, "speed": str(d.get("speed") or "12"),
                     "bDeviceClass": d.get("class") or "00", "idVendor": d["vendor"], "idProduct": d["product"]}
            for k, key in (("manufacturer", "manufacturer"), ("product", "product_name"), ("serial", "serial")):
                if d.get(key):
                    files[k] = d[key]
            for k, v in files.items():
                r.write("sys/%s/%s" % (ddir, k), "%s\n" % v)
            r.symlink("../../../%s" % ddir, "sys/bus/usb/devices/%s" % name)
