"""Hook scripts: the snippet volume a VM's `hookscript` names.

Followed Perl (Proxmox VE 9.1):
  - pve-guest-common src/PVE/GuestHelpers.pm check_hookscript: PVE::Storage::path of the
    volume, then "'VOLID' is not in the snippets directory" (another volume type),
    "script 'VOLID' does not exist" (no file), "script 'VOLID' is not executable";
  - pve-storage src/PVE/Storage.pm path / storage_config ("storage 'X' does not exist"),
    src/PVE/Storage/Plugin.pm parse_volume_id / parse_volname / parse_name_dir (directory
    storages), LVMPlugin.pm / LvmThinPlugin.pm (parse_lvm_name), ZFSPoolPlugin.pm and
    RBDPlugin.pm parse_volname (their "unable to parse … volume name" texts);
  - qemu-server src/PVE/API2/Qemu.pm update_vm: check_hookscript runs on every config update
    that sets `hookscript`, before the permission, digest and lock checks, and its error is a
    parameter error (raise_param_exc({hookscript => $@}), the die text with its new line);
    create_vm does not check it: the VM's start runs exec_hookscript('pre-start', stop on
    error), whose die is "hookscript error for VMID on pre-start: ERR\\n".
The files: a storage of the cluster description may list `snippets`, each a file name (an
executable script) or {"name": N, "executable": false}.
"""

import re

# Plugin.pm parse_volname / parse_name_dir: the volume names of a directory storage
_DIR_TYPES = {"dir", "nfs", "cifs", "cephfs", "glusterfs", "btrfs"}
_IMAGE_NAME_RE = re.compile(r"^((base-)?[^/\s]+\.(raw|qcow2|vmdk|subvol))$")


def _dir_volume_type(volname):
    """Plugin.pm parse_volname (the common cases): the volume type, or ValueError (die)."""
    m = re.match(r"^(\d+)/(\S+)/(\d+)/(\S+)$", volname) or re.match(r"^(\d+)/(\S+)$", volname)
    if m:
        name = m.group(m.lastindex)
        if not _IMAGE_NAME_RE.match(name):
            raise ValueError("unable to parse volume filename '%s'\n" % name)
        return "images"
    if re.match(r"^iso/[^/]+\.(?:iso|img)$", volname, re.I):
        return "iso"
    if re.match(r"^vztmpl/[^/]+\.tar\.(?:gz|xz|zst|bz2)$", volname):
        return "vztmpl"
    if re.match(r"^snippets/[^/]+$", volname):
        return "snippets"
    raise ValueError("unable to parse directory volume name '%s'\n" % volname)


def _volume_type(scfg, volname):
    """PVE::Storage::path's third value (the volume type) for the storage's plugin."""
    stype = scfg.get("type", "dir")
    if stype in ("lvm", "lvmthin"):
        # LVMPlugin / LvmThinPlugin parse_volname start with Plugin::parse_lvm_name
        if not re.match(r"^[a-z0-9][a-z0-9\-_.]*[a-z0-9]$", volname, re.I):
            raise ValueError("lvm name '%s' contains illegal characters\n" % volname)
        if re.match(r"^(vm|base)-\d+-\S+$", volname):
            return "images"
        raise ValueError("unable to parse lvm volume name '%s'\n" % volname)
    if stype == "zfspool":
        if re.match(r"^(((base|basevol)-\d+-\S+)/)?((base|basevol|subvol|vm)-(\d+)-\S+)$", volname):
            return "images"
        raise ValueError("unable to parse zfs volume name '%s'\n" % volname)
    if stype == "rbd":
        if re.match(r"^((base-\d+-\S+)/)?((base)?(vm)?-(\d+)-\S+)$", volname):
            return "images"
        raise ValueError("unable to parse rbd volume name '%s'\n" % volname)
    return _dir_volume_type(volname)


def _snippet(scfg, name):
    for s in scfg.get("snippets") or []:
        if isinstance(s, str) and s == name:
            return {"name": s, "executable": True}
        if isinstance(s, dict) and s.get("name") == name:
            return {"name": name, "executable": bool(s.get("executable", True))}
    return None


def check_hookscript(storages, volid):
    """GuestHelpers::check_hookscript over a node's storages; ValueError(die text) when refused."""
    m = re.match(r"^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$", volid, re.I)
    if not m:
        raise ValueError("unable to parse volume ID '%s'\n" % volid)
    storeid, volname = m.group(1), m.group(2)
    scfg = next((s for s in storages if s["storage"] == storeid), None)
    if scfg is None:
        raise ValueError("storage '%s' does not exist\n" % storeid)
    if _volume_type(scfg, volname) != "snippets":
        raise ValueError("'%s' is not in the snippets directory\n" % volid)
    f = _snippet(scfg, volname.split("/", 1)[1])
    if f is None:
        raise ValueError("script '%s' does not exist\n" % volid)
    if not f["executable"]:
        raise ValueError("script '%s' is not executable\n" % volid)
