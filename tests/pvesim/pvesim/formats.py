"""Perl helpers of PVE::JSONSchema / PVE::Tools and the validator formats.

The formats that are Perl code references in Proxmox (pve-node, pve-vmid,
dns-name, ...) are re-implemented here; each raises FormatError with the
message the Perl validator dies with (including its trailing newline).
Property-string formats (hash based) live in formats.json and are handled by
validation.parse_property_string.
"""

import ipaddress
import re


class FormatError(Exception):
    """A `die` inside a format validator; the message ends with a newline."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# --- Perl regex and value helpers ------------------------------------------

_perl_re_cache = {}


def perl_pattern(pattern):
    """Compile a schema pattern the way PVE::JSONSchema uses it: /^$pattern$/.

    Perl-stringified groups are rewritten: `(?^:` -> `(?:`, `(?^i:` -> `(?i:`, `(?^u:` -> `(?u:`.
    The result is used with `search`, like Perl's `=~`, so `^a|b$` keeps its
    Perl meaning (starts with a, or ends with b).
    """
    rx = _perl_re_cache.get(pattern)
    if rx is None:
        py = re.sub(r"\(\?\^(?=[a-z]*:)", "(?", pattern)   # (?^: (?^i: (?^u: -> (?: (?i: (?u:
        rx = re.compile("^" + py + "$")
        _perl_re_cache[pattern] = rx
    return rx


def perl_match(pattern, value):
    return perl_pattern(pattern).search(value) is not None


def perl_str(value):
    """Stringify a scalar the way Perl does (numbers without a trailing .0)."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return "%.15g" % value
    return str(value)


_NUMBER_RE = re.compile(r"^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$")
_INTEGER_RE = re.compile(r"^[+-]?\d+$")


def is_number(value):
    return _NUMBER_RE.search(perl_str(value)) is not None


def is_integer(value):
    return _INTEGER_RE.search(perl_str(value)) is not None


def perl_num(value):
    s = perl_str(value).strip()
    try:
        return int(s)
    except ValueError:
        return float(s)


def parse_boolean(value):
    """PVE::JSONSchema::parse_boolean: 1/on/yes/true -> 1, 0/off/no/false -> 0."""
    s = perl_str(value)
    if re.search(r"^(1|on|yes|true)$", s, re.I):
        return 1
    if re.search(r"^(0|off|no|false)$", s, re.I):
        return 0
    return None


def split_list(text):
    """PVE::Tools::split_list: NUL separated, else split on , ; and blanks."""
    text = "" if text is None else perl_str(text)
    if "\0" in text:
        return [p for p in text.split("\0")]
    text = re.sub(r"[,;]", " ", text).strip()
    return [p for p in re.split(r"\s+", text) if p != ""]


# --- the validator formats ---------------------------------------------------

_IPV4_RE = r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
CONFIGID_RE = r"[a-z][a-z0-9_-]+"


def _is_ipv6(value):
    try:
        ipaddress.IPv6Address(value)
        return True
    except ValueError:
        return False


def _is_ipv4(value):
    return re.search("^" + _IPV4_RE + "$", value) is not None


def _dns_name(value):
    namere = r"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)"
    return re.search(r"^(" + namere + r"\.)*" + namere + "$", value) is not None


def _cidr(value, v6):
    m = re.search(r"^(.+)/(\d+)$", value)
    if not m:
        return False
    addr, bits = m.group(1), int(m.group(2))
    if v6:
        return _is_ipv6(addr) and 7 < bits <= 128
    return _is_ipv4(addr) and 7 < bits <= 32


def _fail(msg):
    raise FormatError(msg + "\n")


def v_pve_node(v):
    if not re.search(r"^([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)$", v):
        _fail("value does not look like a valid node name")


def v_pve_vmid(v):
    if not re.search(r"^[1-9][0-9]{2,8}$", v):
        _fail("value does not look like a valid VM ID")


def v_pve_configid(v):
    if not re.search("^" + CONFIGID_RE + "$", v, re.I):
        _fail("invalid configuration ID '%s'" % v)


def _parse_id(v, kind):
    if not re.search(r"^[a-z][a-z0-9\-_.]*[a-z0-9]$", v, re.I):
        _fail("%s ID '%s' contains illegal characters" % (kind, v))


def v_pve_storage_id(v):
    _parse_id(v, "storage")


def v_pve_bridge_id(v):
    if not re.search(r"^[-_.\w\d]+$", v):
        _fail("invalid bridge ID '%s'" % v)


def v_mac_addr(v):
    if not re.search(r"^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$", v, re.I):
        _fail("value does not look like a valid unicast MAC address")


def v_mac_prefix(v):
    """pve-cluster PVE/DataCenterConfig.pm pve_verify_mac_prefix."""
    if not re.search(r"^[a-f0-9][02468ace](?::[a-f0-9]{2}){0,2}(?::[a-f0-9]?)?$", v, re.I):
        _fail("value is not a valid unicast MAC address prefix")


# pve-common PVE/ParseUtils.pm $EMAIL_USER_RE / $EMAIL_RE
_EMAIL_USER_RE = r"[\w\+\-\~]+(?:\.[\w\+\-\~]+)*"
_EMAIL_RE = _EMAIL_USER_RE + r"@[a-zA-Z0-9\-]+(?:\.[a-zA-Z0-9\-]+)*"


def v_email(v):
    """pve-common PVE/JSONSchema.pm pve_verify_email."""
    if not re.search(r"^%s$" % _EMAIL_RE, v, re.A):
        _fail("value does not look like a valid email address")


def v_ipv4(v):
    if not _is_ipv4(v):
        _fail("value does not look like a valid IPv4 address")


def v_ipv6(v):
    if not _is_ipv6(v):
        _fail("value does not look like a valid IPv6 address")


def v_ip(v):
    if not (_is_ipv4(v) or _is_ipv6(v)):
        _fail("value does not look like a valid IP address")


def v_cidr(v):
    if not (_cidr(v, False) or _cidr(v, True)):
        _fail("value does not look like a valid CIDR network")


def v_cidrv4(v):
    if not _cidr(v, False):
        _fail("value does not look like a valid IPv4 CIDR network")


def v_cidrv6(v):
    if not _cidr(v, True):
        _fail("value does not look like a valid IPv6 CIDR network")


def v_ipv4_config(v):
    if not (v in ("dhcp", "manual") or _cidr(v, False)):
        _fail("value does not look like a valid ipv4 network configuration")


def v_ipv6_config(v):
    if not (v in ("auto", "dhcp", "manual") or _cidr(v, True)):
        _fail("value does not look like a valid ipv6 network configuration")


def v_dns_name(v):
    if not _dns_name(v):
        _fail("value does not look like a valid DNS name")


def v_address(v):
    if not (_is_ipv4(v) or _is_ipv6(v) or _dns_name(v)):
        _fail("value does not look like a valid address: %s" % v)


def parse_size(v):
    m = re.search(r"^(\d+(\.\d+)?)([KMGT])?$", v)
    if not m:
        return None
    size = float(m.group(1))
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(m.group(3), 1)
    return int(size * mult)


def v_disk_size(v):
    if parse_size(v) is None:
        _fail("value does not look like a valid disk size: %s" % v)


def v_urlencoded(v):
    if not re.search(r"^[-%a-zA-Z0-9_.!~*'()]*$", v):
        _fail("invalid urlencoded string: %s" % v)


def v_pve_volume_id(v):
    if not re.search(r"^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$", v, re.I | re.S):
        _fail("unable to parse volume ID '%s'" % v)


def v_volume_id_or_absolute_path(v):
    if v.startswith("/"):
        return
    v_pve_volume_id(v)


def v_volume_id_or_qm_path(v):
    if v in ("none", "cdrom"):
        return
    v_volume_id_or_absolute_path(v)


def v_pve_cpuset(v):
    if not re.search(r"^\d+(-\d+)?(,\d+(-\d+)?)*$", v):
        _fail("unable to parse cpuset '%s'" % v)


def v_qm_bootdisk(v):
    if not re.search(r"^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|efidisk0|tpmstate0)$", v):
        _fail("invalid boot disk '%s'" % v)


def v_qm_bootdev(v):
    ok = (re.search(r"^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5]))$", v)
          or re.search(r"^(net([0-9]|[12][0-9]|3[01])|usb([0-9]|1[0-3])|hostpci([0-9]|1[0-5]))$", v))
    if not ok:
        _fail("invalid boot device '%s'" % v)


def v_phys_bits(v):
    msg = "value must be an integer between 8 and 64 or 'host'"
    if not re.search(r"^(host|\d{1,2})$", v):
        _fail(msg)
    if v != "host" and not 8 <= int(v) <= 64:
        _fail(msg)


def v_hotplug_features(v):
    if v in ("0", "1"):
        return
    for feat in re.split(r",", v):
        if feat not in ("network", "disk", "cpu", "memory", "usb", "cloudinit"):
            _fail("invalid hotplug feature '%s'" % feat)


def v_startup_order(v):
    if not v:
        _fail("unable to parse startup options")
    for part in v.split(","):
        if re.search(r"^\s*$", part):
            continue
        if not re.search(r"^(order=)?(\d+)$|^up=(\d+)$|^down=(\d+)$", part):
            _fail("unable to parse startup options")


_TAG_RE = r"[a-z0-9_][a-z0-9_\-+.]*"


def v_pve_tag(v):
    if not re.search("^" + _TAG_RE + "$", v, re.I):
        _fail("invalid characters in tag")


def v_pve_realm(v):
    if not re.search(r"^[A-Za-z][A-Za-z0-9\.\-_]+$", v):
        _fail("value '%s' does not look like a valid realm" % v)


def v_pve_poolid(v):
    if not re.search(r"^[A-Za-z0-9_][A-Za-z0-9_\-/]*$", v):
        _fail("invalid pool ID '%s'" % v)


def v_pve_priv(v):
    if not re.search(r"^[A-Z][A-Za-z]*\.[A-Za-z.]+$", v):
        _fail("invalid privilege name '%s'" % v)


def v_ldap_simple_attr(v):
    if not re.search(r"^[a-zA-Z0-9]+$", v):
        _fail("value '%s' does not look like a simple ldap attribute name" % v)


def v_task_status_type(v):
    if not re.search(r"^(ok|error|warning|unknown)$", v, re.I):
        _fail("invalid status '%s'" % v)


def v_storage_pair(v):
    if v == "1":
        return
    m = re.search(r"^([^:]+):([^:]+)$", v)
    ids = [m.group(1), m.group(2)] if m else [v]
    for i in ids:
        try:
            v_pve_storage_id(i)
        except FormatError as e:
            _fail("entry '%s' contains invalid ID - %s" % (v, e.message))


def v_string(_v):
    return


# name -> validator for one element; "-list" suffixes are handled by the caller
VALIDATORS = {
    "CIDR": v_cidr,
    "CIDRv4": v_cidrv4,
    "CIDRv6": v_cidrv6,
    "address": v_address,
    "disk-size": v_disk_size,
    "dns-name": v_dns_name,
    "email": v_email,
    "ip": v_ip,
    "ipv4": v_ipv4,
    "ipv6": v_ipv6,
    "ldap-simple-attr": v_ldap_simple_attr,
    "mac-addr": v_mac_addr,
    "mac-prefix": v_mac_prefix,
    "pve-bridge-id": v_pve_bridge_id,
    "pve-configid": v_pve_configid,
    "pve-cpuset": v_pve_cpuset,
    "pve-hotplug-features": v_hotplug_features,
    "pve-ipv4-config": v_ipv4_config,
    "pve-ipv6-config": v_ipv6_config,
    "pve-node": v_pve_node,
    "pve-poolid": v_pve_poolid,
    "pve-priv": v_pve_priv,
    "pve-qm-bootdev": v_qm_bootdev,
    "pve-qm-bootdisk": v_qm_bootdisk,
    "pve-phys-bits": v_phys_bits,
    "pve-realm": v_pve_realm,
    "pve-startup-order": v_startup_order,
    "pve-storage-id": v_pve_storage_id,
    "pve-tag": v_pve_tag,
    "pve-task-status-type": v_task_status_type,
    "pve-vmid": v_pve_vmid,
    "pve-volume-id": v_pve_volume_id,
    "pve-volume-id-or-absolute-path": v_volume_id_or_absolute_path,
    "pve-volume-id-or-qm-path": v_volume_id_or_qm_path,
    "storage-pair": v_storage_pair,
    "string": v_string,
    "urlencoded": v_urlencoded,
}


def lookup_validator(name):
    return VALIDATORS.get(name)
