"""Virtual machines: config file, digest, pending changes, create/update/power.

Follows qemu-server's API2/Qemu.pm: what is checked synchronously (before
the worker is forked) and what runs inside the task, the error texts, and the
PCI passthrough checks done when a VM starts (QemuServer/PCI.pm).
"""

import functools
import hashlib
import re
import uuid

from . import formats
from . import snippets
from .datacenter import get_unique_tags
from .errors import ApiError, die, param_error, perm_error
from .formats import perl_str
from .propstr import parse_property_string, print_property_string
from .qemu_start import QemuStart
from .tasks import TaskError

FAST_PLUG = {"description", "hookscript", "lock", "migrate_downtime", "migrate_speed", "name",
             "onboot", "protection", "shares", "startup", "tags", "vmstatestorage"}
DRIVE_RE = re.compile(r"^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|efidisk0|tpmstate0)$")
BOOT_DRIVE_ORDER = (["ide%d" % i for i in range(4)] + ["sata%d" % i for i in range(6)]
                    + ["scsi%d" % i for i in range(31)] + ["virtio%d" % i for i in range(16)])
NEW_DISK_RE = re.compile(r"^(([^/:\s]+):)?(\d+(\.\d+)?)$")

CPU_OPTS = {"cores", "cpu", "runningcpu", "cpulimit", "cpuunits", "numa", "smp", "sockets", "vcpus"}
MEMORY_OPTS = {"memory", "balloon", "shares", "allow-ksm"}
HWTYPE_OPTS = {"acpi", "hotplug", "kvm", "machine", "runningmachine", "scsihw", "smbios1", "tablet",
               "vga", "watchdog", "audio0", "rng0"}
GENERAL_OPTS = {"agent", "autostart", "bios", "description", "keyboard", "localtime",
                "migrate_downtime", "migrate_speed", "name", "onboot", "ostype", "protection",
                "reboot", "startdate", "startup", "tdf", "template"}
DISK_OPTS = {"boot", "bootdisk", "vmstatestorage"}
CLOUDINIT_OPTS = {"cicustom", "cipassword", "citype", "ciuser", "ciupgrade", "nameserver",
                  "searchdomain", "sshkeys"}
QEMU_VERSION = "10.0.2"


def is_drive(key):
    return DRIVE_RE.match(key) is not None


def conf_path(node, vmid):
    return "nodes/%s/qemu-server/%s.conf" % (node, vmid)


class Qemu(QemuStart):
    """VM logic over the state; one instance per server."""

    def __init__(self, sim):
        self.sim = sim
        self.schema = sim.schema
        self.nf = sim.schema.named_formats
        self.confdesc = sim.schema.config_properties()

    # --- config file ------------------------------------------------------

    def config_text(self, vm):
        lines = []
        conf = vm["conf"]
        if conf.get("description"):
            for ln in conf["description"].split("\n"):
                lines.append("#" + ln)
        for k in sorted(conf):
            if k == "description":
                continue
            lines.append("%s: %s" % (k, conf[k]))
        if vm["pending"] or vm["pending_delete"]:
            lines.append("")
            lines.append("[PENDING]")
            for k in sorted(vm["pending"]):
                lines.append("%s: %s" % (k, vm["pending"][k]))
            if vm["pending_delete"]:
                dl = ",".join(("!" if f else "") + k for k, f in sorted(vm["pending_delete"].items()))
                lines.append("delete: " + dl)
        return "\n".join(lines) + "\n"

    def digest(self, vm):
        return hashlib.sha1(self.config_text(vm).encode("utf-8")).hexdigest()

    def typed(self, key, value):
        """Values as PVE::QemuServer::check_type returns them (JSON types)."""
        desc = self.confdesc.get(key)
        if desc is None or value is None:
            return value
        t = desc.get("type")
        s = perl_str(value)
        if t == "boolean":
            b = formats.parse_boolean(s)
            return b if b is not None else s
        if t == "integer" and re.match(r"^\d+$", s):
            return int(s)
        return s

    def load_vm(self, st, node, vmid):
        vm = st["vms"].get(str(vmid))
        if vm is None or vm["node"] != node:
            raise die("Configuration file '%s' does not exist\n" % conf_path(node, vmid))
        return vm

    def current_config(self, vm, current):
        conf = dict(vm["conf"])
        if not current:
            conf.update(vm["pending"])
            for k in vm["pending_delete"]:
                conf.pop(k, None)
        res = {k: self.typed(k, v) for k, v in conf.items()}
        if "cipassword" in res:
            res["cipassword"] = "**********"
        res["digest"] = self.digest(vm)
        return res

    def pending_list(self, vm):
        conf = dict(vm["conf"])
        conf["digest"] = self.digest(vm)
        pend = vm["pending"]
        pdel = vm["pending_delete"]
        res = []
        for k in sorted(conf):
            item = {"key": k, "value": self.typed(k, conf[k])}
            if k == "cipassword":
                item["value"] = "**********"
            if k in pend:
                item["pending"] = self.typed(k, pend[k]) if k != "cipassword" else "********** "
            if k in pdel:
                item["delete"] = 2 if pdel[k] else 1
            res.append(item)
        for k in sorted(pend):
            if k in conf:
                continue
            res.append({"key": k, "pending": self.typed(k, pend[k])})
        for k in sorted(pdel):
            if k in pend or k in conf:
                continue
            res.append({"key": k, "delete": 2 if pdel[k] else 1})
        return res

    # --- helpers ----------------------------------------------------------

    def lock_config(self, st, vmid):
        """PVE::QemuConfig->lock_config: the flock can be held (POST /_sim/vm {"flock": true})."""
        vm = st["vms"].get(str(vmid))
        if vm is not None and vm.get("flock_held"):
            raise die("can't lock file '/var/lock/qemu-server/lock-%s.conf' - got timeout\n" % vmid)

    def check_lock(self, conf):
        if conf.get("lock"):
            raise die("VM is locked (%s)\n" % conf["lock"])

    def memory_mb(self, conf):
        mem = conf.get("memory")
        if not mem:
            return 512
        return self._memory_mb(mem)

    # The status of every VM is computed for each /cluster/resources listing: the
    # property strings it reads (memory, drives) are parsed once per distinct value.
    @functools.lru_cache(maxsize=65536)
    def _memory_mb(self, mem):
        try:
            p = parse_property_string(self.confdesc["memory"]["format"], mem, "memory", self.nf)
            return int(p.get("current", 512))
        except Exception:
            return 512

    def cpus(self, conf):
        if conf.get("vcpus"):
            return int(conf["vcpus"])
        return int(conf.get("sockets", 1)) * int(conf.get("cores", 1))

    def is_q35(self, conf):
        m = conf.get("machine")
        if not m:
            return False
        try:
            p = parse_property_string(self.confdesc["machine"]["format"], m, "machine", self.nf)
        except Exception:
            return False
        return "q35" in (p.get("type") or "")

    def disk_bytes(self, conf):
        total = 0
        for k, v in conf.items():
            if not is_drive(k) or k in ("efidisk0", "tpmstate0"):
                continue
            total += self._drive_bytes(k, v)
        return total

    @functools.lru_cache(maxsize=65536)
    def _drive_bytes(self, k, v):
        try:
            d = parse_property_string(self.confdesc[k]["format"], v, k, self.nf)
        except Exception:
            return 0
        if d.get("media") == "cdrom" or not d.get("size"):
            return 0
        return formats.parse_size(d["size"]) or 0

    def storage(self, st, node, storeid):
        for s in st["nodes"][node]["storage"]:
            if s["storage"] == storeid:
                return s
        return None

    # --- permissions (API2/Qemu.pm) ----------------------------------------

    def check_modify_config_perm(self, env, vmid, pool, keys):
        if env.user == "root@pam":
            return
        for opt in keys:
            if is_drive(opt) or opt == "cdrom":
                continue
            if re.match(r"^(?:unused|serial|usb|hostpci|virtiofs)\d+$", opt) or opt == "tags":
                continue
            if opt in CPU_OPTS or re.match(r"^numa\d+$", opt):
                env.check_vm_perm(vmid, pool, ["VM.Config.CPU"])
            elif opt in MEMORY_OPTS:
                env.check_vm_perm(vmid, pool, ["VM.Config.Memory"])
            elif opt in HWTYPE_OPTS:
                env.check_vm_perm(vmid, pool, ["VM.Config.HWType"])
            elif opt in GENERAL_OPTS:
                env.check_vm_perm(vmid, pool, ["VM.Config.Options"])
                if opt == "startup":
                    env.check_full("/", ["Sys.Modify"])
            elif opt == "freeze":
                env.check_vm_perm(vmid, pool, ["VM.PowerMgmt"])
            elif opt in DISK_OPTS:
                env.check_vm_perm(vmid, pool, ["VM.Config.Disk"])
            elif re.match(r"^net\d+$", opt):
                env.check_vm_perm(vmid, pool, ["VM.Config.Network"])
            elif opt in CLOUDINIT_OPTS or re.match(r"^ipconfig\d+$", opt):
                env.check_vm_perm(vmid, pool, ["VM.Config.Cloudinit", "VM.Config.Network"], True)
            elif opt == "vmstate":
                env.check_vm_perm(vmid, pool, ["VM.Config.Disk", "VM.PowerMgmt"])
            else:
                raise die("only root can set '%s' config\n" % opt)

    def check_hostpci_perm(self, env, vmid, pool, opt, value):
        if env.user == "root@pam":
            return
        dev = parse_property_string("pve-qm-hostpci", value, opt, self.nf)
        if dev.get("host"):
            raise die("only root can set '%s' config for non-mapped devices\n" % opt)
        elif dev.get("mapping"):
            env.check_full("/mapping/pci/%s" % dev["mapping"], ["Mapping.Use"])
            env.check_vm_perm(vmid, pool, ["VM.Config.HWType"])
        else:
            raise die("either 'host' or 'mapping' must be set.\n")
        if dev.get("romfile") is not None:
            raise param_error({opt: "only root@pam can set 'romfile' option"})

    def check_usb_perm(self, env, vmid, pool, opt, value):
        if env.user == "root@pam":
            return
        env.check_vm_perm(vmid, pool, ["VM.Config.HWType"])
        dev = parse_property_string(self.confdesc[opt]["format"], value, opt, self.nf)
        if dev.get("host"):
            if not re.match(r"^spice$", dev["host"], re.I):
                raise die("only root can set '%s' config for real devices\n" % opt)
        elif dev.get("mapping"):
            env.check_full("/mapping/usb/%s" % dev["mapping"], ["Mapping.Use"])
        else:
            raise die("either 'host' or 'mapping' must be set.\n")

    def check_serial_perm(self, env, vmid, pool, params):
        if env.user == "root@pam":
            return
        for opt in sorted(params):
            if re.match(r"^serial\d+$", opt):
                if params[opt] == "socket":
                    env.check_vm_perm(vmid, pool, ["VM.Config.HWType"])
                else:
                    raise die("only root can set '%s' config for real devices\n" % opt)

    def check_bridge_access(self, env, params):
        if env.user == "root@pam":
            return
        for opt in sorted(params):
            if not re.match(r"^net\d+$", opt):
                continue
            net = parse_property_string(self.confdesc[opt]["format"], params[opt], opt, self.nf)
            bridge = net.get("bridge")
            if bridge:
                path = "/sdn/zones/localnetwork/%s" % bridge
                if net.get("tag"):
                    if env.check_any(path + "/" + perl_str(net["tag"]), ["SDN.Use"], True):
                        continue
                env.check_any(path, ["SDN.Use"])

    def check_storage_access(self, env, st, node, vmid, params, default_storage):
        for opt in sorted(params):
            if not is_drive(opt):
                continue
            d = parse_property_string(self.confdesc[opt]["format"], params[opt], opt, self.nf)
            volid = d.get("file") or ""
            if volid in ("", "none", "cloudinit"):
                continue
            if d.get("media") == "cdrom" and volid == "cdrom":
                env.check("/", ["Sys.Console"])
                continue
            m = NEW_DISK_RE.match(volid)
            if d.get("media") != "cdrom" and m:
                storeid = m.group(2) or default_storage
                if not storeid:
                    raise die("no storage ID specified (and no default storage)\n")
                env.check("/storage/%s" % storeid, ["Datastore.AllocateSpace"])
                scfg = self.storage(st, node, storeid)
                if scfg is None:
                    raise die("storage '%s' does not exist\n" % storeid)
                if "images" not in scfg.get("content", "").split(","):
                    raise param_error({"storage": "storage '%s' does not support vm images" % storeid})
            else:
                sm = re.match(r"^([a-z][a-z0-9\-_.]*[a-z0-9]):", volid, re.I)
                if sm:
                    if self.storage(st, node, sm.group(1)) is None:
                        raise die("storage '%s' does not exist\n" % sm.group(1))
                    env.check_any("/storage/%s" % sm.group(1), ["Datastore.Audit", "Datastore.AllocateSpace"])

    # --- value normalisation (what the handler writes to the config) --------

    def raw_value(self, value):
        if isinstance(value, bool):
            return "1" if value else "0"
        return perl_str(value)

    def print_net(self, key, value, vmid):
        fmt = self.confdesc[key]["format"]
        net = parse_property_string(fmt, value, key, self.nf)
        if not net.get("macaddr"):
            h = hashlib.sha1(("%s/%s" % (vmid, key)).encode()).hexdigest().upper()
            net["macaddr"] = "BC:24:11:%s:%s:%s" % (h[0:2], h[2:4], h[4:6])
        res = net["model"] + "=" + net["macaddr"]
        for k in sorted(net):
            if k in ("model", "macaddr") or net[k] is None:
                continue
            res += ",%s=%s" % (k, perl_str(net[k]))
        return res

    def alloc_disk(self, st, node, vmid, key, value, vm, default_storage):
        """create_disks for one drive: STORAGE:SIZE becomes an allocated volume."""
        fmt = self.confdesc[key]["format"]
        d = parse_property_string(fmt, value, key, self.nf)
        volid = d.get("file") or ""
        m = NEW_DISK_RE.match(volid)
        if d.get("media") == "cdrom" or not m:
            return print_property_string(fmt, d, self.nf)
        storeid = m.group(2) or default_storage
        size_gb = float(m.group(3))
        scfg = self.storage(st, node, storeid)
        vm.setdefault("disk_seq", 0)
        n = vm["disk_seq"]
        vm["disk_seq"] = n + 1
        if scfg and scfg.get("type") in ("dir", "nfs", "cifs"):
            d["file"] = "%s:%s/vm-%s-disk-%d.qcow2" % (storeid, vmid, vmid, n)
        else:
            d["file"] = "%s:vm-%s-disk-%d" % (storeid, vmid, n)
        if key == "efidisk0":
            d["size"] = "528K" if d.get("efitype", "2m") == "2m" else "4M"
        elif key == "tpmstate0":
            d["size"] = "4M"
        else:
            d["size"] = "%dG" % size_gb if size_gb == int(size_gb) else "%sM" % int(size_gb * 1024)
        return print_property_string(fmt, d, self.nf)

    def default_boot(self, conf):
        devs = []
        for k in BOOT_DRIVE_ORDER:
            if k in conf and not self._is_cdrom(k, conf[k]):
                devs.append(k)
                break
        for k in BOOT_DRIVE_ORDER:
            if k in conf and self._is_cdrom(k, conf[k]):
                devs.append(k)
                break
        for i in range(32):
            if "net%d" % i in conf:
                devs.append("net%d" % i)
                break
        return "order=" + ";".join(devs)

    def _is_cdrom(self, key, value):
        try:
            d = parse_property_string(self.confdesc[key]["format"], value, key, self.nf)
        except Exception:
            return False
        return d.get("media") == "cdrom"

    # --- create -------------------------------------------------------------

    def create(self, st, env, params):
        node = params.pop("node")
        vmid = str(params.pop("vmid"))
        archive = params.pop("archive", None)
        for unused in ("bwlimit", "force", "unique", "live-restore", "import-working-storage"):
            params.pop(unused, None)
        pool = params.pop("pool", None)
        start = formats.parse_boolean(params.pop("start", 0)) or 0
        ha = params.pop("ha-managed", None)
        storage = params.pop("storage", None)
        if archive:
            raise die("unable to restore VM %s - restore is not supported by the simulator\n" % vmid)
        if pool is not None:
            raise die("pool '%s' does not exist\n" % pool)
        if storage is not None:
            env.check("/storage/%s" % storage, ["Datastore.AllocateSpace"])
        if ha:
            env.check("/", ["Sys.Console"])
        if start:
            env.check_vm_perm(vmid, pool, ["VM.PowerMgmt"])
        if not env.check("/vms/%s" % vmid, ["VM.Allocate"], noerr=True):
            raise perm_error()
        if params:
            if "cdrom" in params:
                v = params.pop("cdrom")
                params["ide2"] = v if "media=" in perl_str(v) else perl_str(v) + ",media=cdrom"
            self.check_storage_access(env, st, node, vmid, params, storage)
            self.check_modify_config_perm(env, vmid, pool, list(params))
            self.check_serial_perm(env, vmid, pool, params)
            for opt in sorted(params):
                if re.match(r"^usb\d+$", opt):
                    self.check_usb_perm(env, vmid, pool, opt, params[opt])
            for opt in sorted(params):
                if re.match(r"^hostpci\d+$", opt):
                    self.check_hostpci_perm(env, vmid, pool, opt, params[opt])
            self.check_bridge_access(env, params)
        # create_and_lock_config
        if vmid in st["vms"]:
            other = st["vms"][vmid]["node"]
            raise die("unable to create VM %s - VM %s already exists on node '%s'\n" % (vmid, vmid, other))
        vm = {"node": node, "conf": {"lock": "create"}, "pending": {}, "pending_delete": {},
              "status": "stopped", "pid": None, "started": None, "qmpstatus": None}
        st["vms"][vmid] = vm
        values = {k: self.raw_value(v) for k, v in params.items()}

        def work(st2, tlog):
            vm2 = st2["vms"].get(vmid)
            if vm2 is None:
                raise TaskError("unable to create VM %s - configuration vanished\n" % vmid)
            conf = {}
            for k in sorted(values):
                v = values[k]
                if is_drive(k):
                    v = self.alloc_disk(st2, node, vmid, k, v, vm2, storage)
                elif re.match(r"^net\d+$", k):
                    v = self.print_net(k, v, vmid)
                conf[k] = v
            if not conf.get("boot"):
                conf["boot"] = self.default_boot(conf)
            if not conf.get("smbios1"):
                conf["smbios1"] = "uuid=" + str(uuid.uuid5(uuid.NAMESPACE_URL, "pvesim/%s/smbios" % vmid))
            if conf.get("vmgenid") in (None, "1"):
                conf["vmgenid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "pvesim/%s/vmgenid" % vmid))
            conf["meta"] = "creation-qemu=%s,ctime=%d" % (QEMU_VERSION, int(self.sim.state.now()))
            if conf.get("tags") is not None:
                # qemu-server API2/Qemu.pm create_vm: get_unique_tags (datacenter tag-style)
                conf["tags"] = get_unique_tags(st2, conf["tags"])
            vm2["conf"] = conf
            if start:
                tlog.print("Execute autostart")
                try:
                    self.start_vm(st2, vmid, node, False, tlog)
                except (TaskError, ApiError) as e:
                    tlog.warn(e.message)
            self.sim.state.mark_dirty()

        def cleanup(st2):
            # qemu-server API2/Qemu.pm create_vm, worker `qmcreate`: when $createfn dies, the
            # config file is unlinked (the VM disappears), then the error ends the task
            vm2 = st2["vms"].get(vmid)
            if vm2 is not None and vm2["conf"].get("lock") == "create":
                del st2["vms"][vmid]
                self.sim.state.mark_dirty()

        return self.sim.tasks.start(st, node, "qmcreate", vmid, env.user, work, on_fail=cleanup)

    # --- update (POST async / PUT sync) --------------------------------------

    def update(self, st, env, params, sync):
        node = params.pop("node")
        vmid = str(params.pop("vmid"))
        digest = params.pop("digest", None)
        background_delay = params.pop("background_delay", None)
        params.pop("skip_cloud_init", None)
        params.pop("import-working-storage", None)
        paramarr = []
        for k in sorted(params):
            v = "<hidden>" if k == "cipassword" else perl_str(params[k])
            paramarr.extend(["-" + k, v])
        skiplock = formats.parse_boolean(params.pop("skiplock", 0))
        if skiplock and env.user != "root@pam":
            raise param_error({"skiplock": "Only root may use this option."})
        delete_str = params.pop("delete", None)
        revert_str = params.pop("revert", None)
        force = formats.parse_boolean(params.pop("force", 0)) or 0
        if not delete_str and not revert_str and not params:
            raise die("no options specified\n")
        if "cdrom" in params:
            v = perl_str(params.pop("cdrom"))
            params["ide2"] = v if "media=" in v else v + ",media=cdrom"
        revert = {}
        for opt in formats.split_list(revert_str):
            if opt not in self.confdesc:
                raise param_error({"revert": "unknown option '%s'" % opt})
            if params.get(opt) is not None:
                raise param_error({"delete": "you can't use '-%s' and -revert %s' at the same time" % (opt, opt)})
            revert[opt] = 1
        delete = []
        for opt in formats.split_list(delete_str):
            if opt == "cdrom":
                opt = "ide2"
            if params.get(opt) is not None:
                raise param_error({"delete": "you can't use '-%s' and -delete %s' at the same time" % (opt, opt)})
            if opt in revert:
                raise param_error({"revert": "you can't use '-delete %s' and -revert %s' at the same time"
                                             % (opt, opt)})
            if opt not in self.confdesc:
                raise param_error({"delete": "unknown option '%s'" % opt})
            delete.append(opt)
        values = {k: self.raw_value(v) for k, v in params.items()}
        for opt in list(values):
            if re.match(r"^net\d+$", opt):
                values[opt] = self.print_net(opt, values[opt], vmid)
            elif opt == "vmgenid" and values[opt] == "1":
                values[opt] = str(uuid.uuid4())
            elif opt == "hookscript":
                # qemu-server API2/Qemu.pm update_vm: PVE::GuestHelpers::check_hookscript, a
                # parameter error before the permission checks (pvesim/snippets.py)
                try:
                    snippets.check_hookscript(st["nodes"][node]["storage"], values[opt])
                except ValueError as e:
                    raise param_error({opt: str(e)})
        self.check_modify_config_perm(env, vmid, None, delete)
        self.check_modify_config_perm(env, vmid, None, list(values))
        self.check_storage_access(env, st, node, vmid, values, None)
        self.check_bridge_access(env, values)

        def load_and_check():
            vm = self.load_vm(st_box[0], node, vmid)
            if digest and digest != self.digest(vm):
                raise die("checksum mismatch (file change by other user?)\n")
            if not skiplock:
                self.check_lock(vm["conf"])
            return vm

        st_box = [st]
        load_and_check()

        def updatefn(st2, tlog):
            st_box[0] = st2
            self.lock_config(st2, vmid)
            vm = load_and_check()
            tlog.print("update VM %s: %s" % (vmid, " ".join(paramarr)))
            self._apply_update(st2, env, vm, vmid, node, values, delete, revert, force, tlog)
            self.sim.state.mark_dirty()

        if sync:
            tlog = _SyncLog()
            updatefn(st, tlog)
            return None
        if background_delay:
            # the worker usually finishes well inside background_delay
            upid = self.sim.tasks.start(st, node, "qmconfig", vmid, env.user, updatefn)
            return ("background", upid, int(background_delay))
        return self.sim.tasks.start(st, node, "qmconfig", vmid, env.user, updatefn)

    def _apply_update(self, st, env, vm, vmid, node, values, delete, revert, force, tlog):
        conf, pend, pdel = vm["conf"], vm["pending"], vm["pending_delete"]
        for opt in list(revert):
            if opt in conf:
                values[opt] = conf[opt]
            elif opt in pend:
                delete.append(opt)
        modified = {}
        for opt in delete:
            modified[opt] = True
            val = conf.get(opt, pend.get(opt))
            if val is None:
                tlog.warn("cannot delete '%s' - not set in current configuration!" % opt)
                modified[opt] = False
                continue
            pend.pop(opt, None)
            if re.match(r"^unused\d+$", opt):
                conf.pop(opt, None)
                continue
            if re.match(r"^serial\d+$", opt):
                if val == "socket":
                    env.check_vm_perm(vmid, None, ["VM.Config.HWType"])
                elif env.user != "root@pam":
                    raise die("only root can delete '%s' config for real devices\n" % opt)
            elif re.match(r"^usb\d+$", opt):
                self.check_usb_perm(env, vmid, None, opt, val)
            elif re.match(r"^hostpci\d+$", opt):
                self.check_hostpci_perm(env, vmid, None, opt, val)
            elif opt == "tags":
                conf.pop(opt, None)
                continue
            if opt in conf:
                pdel[opt] = 1 if force else 0
        for opt in sorted(values):
            modified[opt] = True
            new = values[opt]
            if pend.get(opt) is not None and pend[opt] == new:
                continue
            if is_drive(opt):
                new = self.alloc_disk(st, node, vmid, opt, new, vm, None)
            elif re.match(r"^serial\d+$", opt):
                if (conf.get(opt) in (None, "socket")) and new == "socket":
                    env.check_vm_perm(vmid, None, ["VM.Config.HWType"])
                elif env.user != "root@pam":
                    raise die("only root can modify '%s' config for real devices\n" % opt)
            elif re.match(r"^usb\d+$", opt):
                if conf.get(opt):
                    self.check_usb_perm(env, vmid, None, opt, conf[opt])
                self.check_usb_perm(env, vmid, None, opt, new)
            elif re.match(r"^hostpci\d+$", opt):
                if conf.get(opt):
                    self.check_hostpci_perm(env, vmid, None, opt, conf[opt])
                self.check_hostpci_perm(env, vmid, None, opt, new)
            elif opt == "tags":
                # qemu-server API2/Qemu.pm update_vm: get_unique_tags (datacenter tag-style)
                new = get_unique_tags(st, new)
            elif opt == "boot":
                b = parse_property_string("pve-qm-boot", new, "boot", self.nf)
                if b.get("order"):
                    for dev in formats.split_list(b["order"]):
                        exists = conf.get(dev) or pend.get(dev) or values.get(dev)
                        if not exists or dev in delete:
                            raise die("invalid bootorder: device '%s' does not exist'\n" % dev)
            if opt == "cipassword":
                conf[opt] = new
                continue
            pend[opt] = new
            pdel.pop(opt, None)
        # cleanup_pending: drop pending values equal to the current ones
        for k in list(pend):
            if conf.get(k) == pend[k]:
                del pend[k]
        for k in list(pdel):
            if k not in conf:
                del pdel[k]
        if not pend and not pdel:
            return
        if vm["status"] == "running":
            self.hotplug_pending(vm, modified)
        else:
            self.apply_pending(vm)

    def apply_pending(self, vm):
        conf = vm["conf"]
        for k, force in sorted(vm["pending_delete"].items()):
            val = conf.pop(k, None)
            if val is not None and is_drive(k) and not force and not self._is_cdrom(k, val):
                self._add_unused(conf, val, k)
        for k, v in sorted(vm["pending"].items()):
            conf[k] = v
        vm["pending"] = {}
        vm["pending_delete"] = {}

    def _add_unused(self, conf, val, key):
        try:
            d = parse_property_string(self.confdesc[key]["format"], val, key, self.nf)
        except Exception:
            return
        vol = d.get("file")
        if not vol or vol == "none":
            return
        for i in range(256):
            if "unused%d" % i not in conf:
                conf["unused%d" % i] = vol
                return

    def usb_hotplug_supported(self, conf):
        """qemu-server QemuServer.pm vmconfig_hotplug_pending, $is_usb_hotplug_supported: the
        running machine version (Machine.pm extract_version: pinned in `machine`, else the
        running QEMU) at least 7.1, and ostype l26 or windows_version (Helpers.pm) above 7."""
        machine = (conf.get("machine") or "").split(",")[0]
        if machine.startswith("type="):
            machine = machine[5:]
        m = re.match(r"^(?:pc(?:-i440fx|-q35)?|virt)-(\d+)\.(\d+)", machine)
        version = (int(m.group(1)), int(m.group(2))) if m else tuple(int(x) for x in QEMU_VERSION.split(".")[:2])
        if version < (7, 1):
            return False
        ostype = conf.get("ostype")
        if ostype is None:
            return False
        if ostype == "l26":
            return True
        if ostype in ("wxp", "w2k3", "w2k"):
            win = 5
        elif ostype in ("w2k8", "wvista"):
            win = 6
        else:
            w = re.match(r"^win(\d+)$", ostype)
            win = int(w.group(1)) if w else 0
        return win > 7

    def hotplug_pending(self, vm, modified):
        conf = vm["conf"]
        features = set((conf.get("hotplug") or "network,disk,usb").split(","))
        if "1" in features:
            features |= {"network", "disk", "usb"}

        def hotpluggable(k):
            if k in FAST_PLUG:
                return True
            if re.match(r"^net\d+$", k):
                return "network" in features
            if is_drive(k) and not k.startswith("ide") and k not in ("efidisk0", "tpmstate0"):
                return "disk" in features
            if re.match(r"^usb\d+$", k):
                return "usb" in features and self.usb_hotplug_supported(conf)
            if k in ("cores", "vcpus", "sockets"):
                return "cpu" in features and k == "vcpus"
            if k in ("memory", "balloon"):
                return "memory" in features
            return False

        for k in sorted(vm["pending_delete"]):
            if hotpluggable(k):
                val = conf.pop(k, None)
                if val is not None and is_drive(k) and not vm["pending_delete"][k]:
                    self._add_unused(conf, val, k)
                del vm["pending_delete"][k]
        for k in sorted(vm["pending"]):
            if hotpluggable(k):
                conf[k] = vm["pending"].pop(k)

    # --- power ------------------------------------------------------------

    def destroy(self, st, env, params):
        node = params["node"]
        vmid = str(params["vmid"])
        skiplock = formats.parse_boolean(params.get("skiplock", 0))
        if skiplock and env.user != "root@pam":
            raise param_error({"skiplock": "Only root may use this option."})
        vm = self.load_vm(st, node, vmid)
        if formats.parse_boolean(vm["conf"].get("protection", 0)):
            raise die("can't remove VM %s - protection mode enabled\n" % vmid)
        if vm["status"] == "running":
            raise die("VM %s is running - destroy failed\n" % vmid)

        def work(st2, tlog):
            vm2 = self.load_vm(st2, node, vmid)
            if not skiplock:
                try:
                    self.check_lock(vm2["conf"])
                except ApiError as e:
                    raise TaskError(e.message)
            if vm2["status"] == "running":
                raise TaskError("VM %s is running - destroy failed\n" % vmid)
            del st2["vms"][vmid]
            self.sim.state.mark_dirty()

        return self.sim.tasks.start(st, node, "qmdestroy", vmid, env.user, work)

    # --- status -----------------------------------------------------------

    def vm_status(self, st, vmid, vm, full=False):
        conf = vm["conf"]
        running = vm["status"] == "running"
        maxmem = self.memory_mb(conf) * 1024 * 1024
        res = {
            "vmid": int(vmid),
            "status": vm["status"],
            "name": conf.get("name", "VM %s" % vmid),
            "cpus": self.cpus(conf),
            "maxmem": maxmem,
            "maxdisk": self.disk_bytes(conf),
            "disk": 0,
            "mem": int(maxmem * 0.4) if running else 0,
            "cpu": 0.0123 if running else 0,
            "uptime": int(self.sim.state.now() - vm["started"]) if running and vm.get("started") else 0,
            "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
        }
        if running:
            res["pid"] = vm["pid"]
        if conf.get("lock"):
            res["lock"] = conf["lock"]
        if conf.get("tags"):
            res["tags"] = conf["tags"]
        if formats.parse_boolean(conf.get("template", 0)):
            res["template"] = 1
        if full and running:
            res["qmpstatus"] = vm.get("qmpstatus") or "running"
            res["running-machine"] = vm.get("running_machine")
            res["running-qemu"] = QEMU_VERSION
        return res


class _SyncLog:
    """Log sink for PUT (no task): warnings go nowhere visible, like syslog."""

    def __init__(self):
        self.warnings = 0
        self.lines = []

    def print(self, line):
        self.lines.append(line)

    def warn(self, msg):
        self.warnings += 1
        self.lines.append("WARN: " + msg)
