"""Starting and stopping VMs: the checks qemu-server makes when a VM starts (PCI passthrough,
USB devices and mappings, hook scripts) and the power actions.

A mixin of qemu.Qemu (split out of qemu.py); follows qemu-server's QemuServer.pm
vm_start_nolock, QemuServer/PCI.pm, QemuServer/USB.pm and API2/Qemu.pm's vm_start /
vm_stop / vm_shutdown / vm_reboot endpoints.
"""

import re
import sys

from . import formats
from . import hardware
from . import snippets
from .errors import ApiError, param_error
from .propstr import parse_property_string
from .tasks import TaskError, TaskLog

MAX_HOSTPCI = 16


class QemuStart:
    """Start checks and power actions of qemu.Qemu."""

    def parse_hostpci(self, st, node, conf, key):
        """parse_hostpci: returns dict with ids = list of alternatives (lists of ids)."""
        hw = self.sim.hw(st, node)
        res = parse_property_string("pve-qm-hostpci", conf[key], key, self.nf)
        host = res.pop("host", None)
        mapping = res.pop("mapping", None)
        if host is not None and mapping is not None:
            raise TaskError("Cannot set both 'host' and 'mapping'.\n")
        alternatives = []
        if mapping:
            mcfg = st["mappings"]["pci"].get(mapping)
            entries = self.sim.node_mapping(st, mapping, node)
            if not entries:
                raise TaskError("PCI device mapping not found for '%s'\n" % mapping)
            for entry in entries:
                try:
                    hardware.assert_valid(mapping, entry, hw, mcfg)
                except ValueError as e:
                    raise TaskError("PCI device mapping invalid (hardware probably changed): %s\n" % e)
                alternatives.append(entry["path"].split(";"))
        elif host:
            alternatives.append(host.split(";"))
        else:
            raise TaskError("Either 'host' or 'mapping' must be set.\n")
        res["ids"] = []
        for alt in alternatives:
            ids = []
            for pid in alt:
                devs = hw.lspci(pid)
                if not devs:
                    raise TaskError("no PCI device found for '%s'\n" % pid)
                ids.extend(devs)
            if len(ids) > 1:
                res["has-multifunction"] = 1
                if res.get("mdev") or res.get("nvidia"):
                    raise TaskError("cannot use mediated device with multifunction device\n")
            elif res.get("mdev"):
                m = re.match(r"^nvidia-(\d+)$", res["mdev"])
                if ids[0].get("nvidia_vgpu_types") is not None and m:
                    res["nvidia"] = m.group(1)
                    del res["mdev"]
            res["ids"].append(ids)
        return res

    def usb_start_checks(self, st, node, conf):
        """config_to_command's USB part: get_usb_devices → print_usbdevice_full → parse_usb_device.

        qemu-server src/PVE/QemuServer/USB.pm parse_usb_device (after print_hostpci_devices in
        QemuServer.pm config_to_command): a mapping needs exactly one entry for the node that
        passes PVE::Mapping::USB::assert_valid; both host and mapping → "no usb id or path given".
        """
        from . import usb  # late import: usb registers API routes
        for i in range(usb.MAX_USB_DEVICES):
            key = "usb%d" % i
            if not conf.get(key):
                continue
            try:
                d = parse_property_string(self.confdesc[key]["format"], conf[key], key, self.nf)
            except Exception:
                continue  # get_usb_devices: `eval { parse_property_string } or next`
            host, mapping = d.get("host"), d.get("mapping")
            if host and re.match(r"^spice$", host):
                continue
            if host and mapping:
                raise TaskError("no usb id or path given\n")
            if not mapping:
                continue
            entries = usb.node_mapping(self.sim, st, mapping, node)
            if not entries:
                raise TaskError("USB device mapping not found for '%s'\n" % mapping)
            if len(entries) > 1:
                raise TaskError("More than one USB mapping per host not supported\n")
            try:
                usb.assert_valid(mapping, entries[0], usb.scan_usb(self.sim.hw(st, node).machine))
            except ValueError as e:
                raise TaskError("USB Mapping invalid (hardware probably changed): %s\n" % e)

    def start_checks(self, st, vmid, node, conf, tlog):
        """config_to_command's hostpci part plus reservations; returns usage."""
        q35 = self.is_q35(conf)
        devices = {}
        legacy_igd = False
        for i in range(MAX_HOSTPCI):
            key = "hostpci%d" % i
            if not conf.get(key):
                continue
            d = self.parse_hostpci(st, node, conf, key)
            if not q35 and d.get("pcie"):
                raise TaskError("q35 machine model is not enabled")
            if d.get("legacy-igd"):
                if legacy_igd:
                    raise TaskError("only one device can be assigned in legacy-igd mode\n")
                legacy_igd = True
                if conf.get("vga") != "none":
                    raise TaskError("legacy IGD assignment requires VGA mode to be 'none'\n")
                if d.get("rombar") is not None and not d["rombar"]:
                    raise TaskError("legacy IGD assignment requires rombar to be enabled\n")
                if d.get("x-vga"):
                    raise TaskError("legacy IGD assignment is not compatible with x-vga\n")
                if d.get("mdev") or d.get("nvidia"):
                    raise TaskError("legacy IGD assignment is not compatible with mdev\n")
                if q35:
                    raise TaskError("legacy IGD assignment is not compatible with q35\n")
                if d.get("has-multifunction"):
                    raise TaskError("legacy IGD assignment is not compatible with multifunction devices\n")
                if len(d["ids"]) > 1:
                    raise TaskError("legacy IGD assignment is not compatible with alternate devices\n")
                if not re.search(r"02\.0$", d["ids"][0][0]["addr"]):
                    raise TaskError("legacy IGD assignment only works for devices on host bus 00:02.0\n")
            devices[key] = d
        in_use = self.sim.pci_in_use(st, node, exclude=vmid)
        used = {}
        chosen = {}
        reserved = []
        nvidia = []

        def add_used(devs):
            for dev in devs:
                if dev["addr"] in used:
                    raise TaskError("device '%s' assigned more than once\n" % dev["addr"])
                used[dev["addr"]] = True

        def reserve(ids):
            for a in ids:
                if a in in_use:
                    raise TaskError("PCI device '%s' already in use by VMID '%s'\n" % (a, in_use[a]))

        def create_nvidia(addr, model):
            dev = self.sim.hw(st, node).devices.get(addr) or {}
            types = {"nvidia-%d" % int(t["id"]) for t in dev.get("nvidia_vgpu_types") or []}
            if "nvidia-%s" % model not in types:
                raise TaskError("vgpu type '%s' not available for '%s'\n" % (model, addr))

        for i in range(MAX_HOSTPCI):
            key = "hostpci%d" % i
            d = devices.get(key)
            if d is None:
                continue
            if d.get("mdev") and not d.get("nvidia"):
                chosen[key] = [alt[0] for alt in d["ids"]]
                continue
            if len(d["ids"]) == 1:
                chosen[key] = d["ids"][0]
                add_used(chosen[key])
                if d.get("nvidia"):
                    reserve([chosen[key][0]["addr"]])
                    create_nvidia(chosen[key][0]["addr"], d["nvidia"])
                    nvidia.append({"dev": chosen[key][0]["addr"], "type": d["nvidia"]})
                continue
            found = False
            for alt in d["ids"]:
                ids = [x["addr"] for x in alt]
                if any(a in used for a in ids):
                    continue
                try:
                    reserve(ids)
                except TaskError:
                    continue
                if d.get("nvidia"):
                    try:
                        create_nvidia(ids[0], d["nvidia"])
                    except TaskError as e:
                        tlog.warn(e.message)
                        continue
                    nvidia.append({"dev": ids[0], "type": d["nvidia"]})
                add_used(alt)
                chosen[key] = alt
                found = True
                break
            if not found:
                raise TaskError("could not find a free device for '%s'\n" % key)
        self.usb_start_checks(st, node, conf)
        # reserve everything that is not an mdev, then create the mdevs
        for key in sorted(chosen):
            d = devices[key]
            if d.get("mdev"):
                continue
            ids = [x["addr"] for x in chosen[key]]
            reserve(ids)
            reserved.extend(ids)
        mdevs = []
        hw = self.sim.hw(st, node)
        mdev_used = self.sim.mdev_in_use(st, node, exclude=vmid)
        for key in sorted(chosen):
            d = devices[key]
            if not d.get("mdev"):
                continue
            ok = None
            for dev in chosen[key]:
                addr = dev["addr"]
                try:
                    if dev.get("mdev_types") is None:
                        raise TaskError("pci device '%s' does not support mediated devices \n" % addr)
                    types = {t["type"]: t for t in dev["mdev_types"]}
                    if d["mdev"] not in types:
                        raise TaskError("pci device '%s' has no type '%s'\n" % (addr, d["mdev"]))
                    counts = dict(mdev_used.get(addr, {}))
                    for m in mdevs:
                        if m["dev"] == addr:
                            counts[m["type"]] = counts.get(m["type"], 0) + 1
                    avail = int(types[d["mdev"]].get("available", 0)) - counts.get(d["mdev"], 0)
                    if avail < 1:
                        raise TaskError("pci device '%s' has no available instances of '%s'\n"
                                        % (addr, d["mdev"]))
                    ok = addr
                except TaskError as e:
                    tlog.warn(e.message)
                    continue
                break
            if ok is None:
                raise TaskError("could not create mediated device\n")
            mdevs.append({"dev": ok, "type": d["mdev"], "key": key})
        return {"pci": sorted(set(reserved + [n["dev"] for n in nvidia])), "mdevs": mdevs,
                "nvidia": nvidia}

    def start_vm(self, st, vmid, node, skiplock, tlog):
        vm = self.load_vm(st, node, vmid)
        if not skiplock:
            try:
                self.check_lock(vm["conf"])
            except ApiError as e:
                raise TaskError(e.message)
        if vm["status"] == "running":
            raise TaskError("VM %s already running\n" % vmid)
        if vm["pending"] or vm["pending_delete"]:
            self.apply_pending(vm)
        if vm["conf"].get("hookscript"):
            # qemu-server QemuServer.pm vm_start_nolock: exec_hookscript($conf, $vmid, 'pre-start', 1)
            # (pve-guest-common GuestHelpers.pm): check_hookscript's die, wrapped
            try:
                snippets.check_hookscript(st["nodes"][node]["storage"], vm["conf"]["hookscript"])
            except ValueError as e:
                raise TaskError("hookscript error for %s on pre-start: %s\n" % (vmid, e))
        usage = self.start_checks(st, vmid, node, vm["conf"], tlog)
        st["counters"]["pid"] += 1
        vm["status"] = "running"
        vm["qmpstatus"] = "running"
        vm["pid"] = 100000 + st["counters"]["pid"]
        vm["started"] = int(self.sim.state.now())
        vm["usage"] = usage
        vm["running_machine"] = ("pc-q35-10.0+pve1" if self.is_q35(vm["conf"]) else "pc-i440fx-10.0+pve1")
        self.sim.state.mark_dirty()

    def adopt_running(self, st, vmid, vm):
        """A VM marked running without a start (cluster file, /_sim/vm): claim its devices."""
        try:
            vm["usage"] = self.start_checks(st, vmid, vm["node"], vm["conf"], TaskLog())
        except (TaskError, ApiError, ValueError) as e:
            msg = e.message if hasattr(e, "message") else str(e)
            sys.stderr.write("pvesim: VM %s is running but its devices cannot be claimed: %s\n"
                             % (vmid, msg.strip()))
            vm["usage"] = {"pci": [], "mdevs": [], "nvidia": []}
        if not vm.get("pid"):
            st["counters"]["pid"] += 1
            vm["pid"] = 100000 + st["counters"]["pid"]
        vm.setdefault("qmpstatus", "running")
        vm["qmpstatus"] = vm["qmpstatus"] or "running"
        if not vm.get("started"):
            vm["started"] = int(self.sim.state.now())
        vm["running_machine"] = ("pc-q35-10.0+pve1" if self.is_q35(vm["conf"]) else "pc-i440fx-10.0+pve1")
        self.sim.state.mark_dirty()

    def stop_vm(self, vm):
        vm["status"] = "stopped"
        vm["qmpstatus"] = None
        vm["pid"] = None
        vm["started"] = None
        vm["usage"] = None
        vm.pop("running_machine", None)
        self.sim.state.mark_dirty()

    def power(self, st, env, action, params):
        node = params["node"]
        vmid = str(params["vmid"])
        skiplock = formats.parse_boolean(params.get("skiplock", 0))
        if skiplock and env.user != "root@pam":
            raise param_error({"skiplock": "Only root may use this option."})
        self.load_vm(st, node, vmid)
        wtype = {"start": "qmstart", "stop": "qmstop", "shutdown": "qmshutdown", "reboot": "qmreboot",
                 "reset": "qmreset", "suspend": "qmsuspend", "resume": "qmresume"}[action]

        def work(st2, tlog):
            try:
                self.lock_config(st2, vmid)
            except ApiError as e:
                raise TaskError(e.message)
            vm2 = self.load_vm(st2, node, vmid)
            if action == "start":
                self.start_vm(st2, vmid, node, skiplock, tlog)
                return
            if action in ("stop", "shutdown") and vm2["status"] != "running":
                # qemu-server PVE/QemuServer.pm _do_vm_stop: `return if !$pid;` comes before
                # check_lock, so stopping or shutting down a stopped VM is a task that ends OK
                return
            if not skiplock and action != "resume":
                try:
                    self.check_lock(vm2["conf"])
                except ApiError as e:
                    raise TaskError(e.message)
            if action == "stop":
                self.stop_vm(vm2)
                return
            if vm2["status"] != "running":
                raise TaskError("VM %s not running\n" % vmid)
            if action == "shutdown":
                self.stop_vm(vm2)
            elif action == "reboot":
                self.stop_vm(vm2)
                self.start_vm(st2, vmid, node, skiplock, tlog)
            elif action == "suspend":
                vm2["qmpstatus"] = "paused"
            elif action == "resume":
                vm2["qmpstatus"] = "running"
            self.sim.state.mark_dirty()

        return self.sim.tasks.start(st, node, wtype, vmid, env.user, work)
