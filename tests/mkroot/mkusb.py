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

# the `usb` and `input` keys are checked by tests/machines/machine.py (check_usb, check_input)


def write_input(r, m):
    for i, name in enumerate(m.get("input") or []):
        r.write("dev/input/event%d" % i, "")
        r.symlink("../event%d" % i, "dev/input/by-id/%s" % name)


def write_hugepages(r, m):
    """sys/kernel/mm/hugepages/hugepages-1048576kB when the CPU has pdpe1gb (1 GiB pages):
    nr_hugepages / free_hugepages from `hugepages_1g` {"total", "free"} (default 0)."""
    flags = (m.get("cpu") or {}).get("flags") or []
    hp = m.get("hugepages_1g") or {}
    if "pdpe1gb" not in flags and not hp:
        return
    d = "sys/kernel/mm/hugepages/hugepages-1048576kB"
    total = int(hp.get("total") or 0)
    r.write(d + "/nr_hugepages", "%d\n" % total)
    r.write(d + "/free_hugepages", "%d\n" % int(hp.get("free", total) or 0))


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
