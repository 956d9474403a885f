"""Authentication (tickets, CSRF tokens, API tokens) and the ACL model.

Tickets and CSRF tokens have Proxmox's formats; the signatures are HMACs with
the simulator's secret instead of RSA signatures (a ticket signature is 256
bytes, base64 encoded, like an RSA-2048 one).
"""

import base64
import hashlib
import hmac
import re

from .errors import ApiError, AuthFailure, perm_error

TICKET_LIFETIME = 7200
AUTH_GRACE = 300

PRIVILEGES = [
    "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
    "Group.Allocate", "Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify",
    "Pool.Allocate", "Pool.Audit", "Realm.Allocate", "Realm.AllocateUser", "SDN.Allocate", "SDN.Audit",
    "SDN.Use", "Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify",
    "Sys.PowerMgmt", "Sys.Syslog", "User.Modify", "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone",
    "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType",
    "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.GuestAgent.Audit",
    "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
    "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.PowerMgmt", "VM.Replicate", "VM.Snapshot",
    "VM.Snapshot.Rollback",
]

_VM_ALL = [p for p in PRIVILEGES if p.startswith("VM.")]

ROLES = {
    "Administrator": list(PRIVILEGES),
    "NoAccess": [],
    "PVEAdmin": [p for p in PRIVILEGES if p not in ("Sys.PowerMgmt", "Sys.Modify", "Realm.Allocate",
                                                    "Permissions.Modify", "Sys.Incoming")],
    "PVEAuditor": ["Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit", "VM.Audit",
                   "VM.GuestAgent.Audit"],
    "PVEDatastoreUser": ["Datastore.AllocateSpace", "Datastore.Audit"],
    "PVEMappingAdmin": ["Mapping.Audit", "Mapping.Modify", "Mapping.Use"],
    "PVEMappingUser": ["Mapping.Audit", "Mapping.Use"],
    # the "Pool" category of the privilege table in pve-access-control src/PVE/AccessControl.pm
    "PVEPoolAdmin": ["Pool.Allocate", "Pool.Audit"],
    "PVESysAdmin": ["Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Syslog", "Sys.Modify"],
    "PVEVMAdmin": _VM_ALL + ["Pool.Audit"],
    "PVEVMUser": ["VM.Audit", "VM.Backup", "VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console",
                  "VM.PowerMgmt", "VM.GuestAgent.Audit", "Pool.Audit"],
}

REALM_RE = r"[A-Za-z][A-Za-z0-9\.\-_]+"
USER_RE = r"[^\s:/]+"
TOKEN_FULL_RE = re.compile(r"^((" + USER_RE + r")@(" + REALM_RE + r"))!(" + REALM_RE + r")$")


# --- tickets and CSRF tokens ------------------------------------------------

def _signature(secret, plain):
    key = bytes.fromhex(secret)
    raw = b"".join(hmac.new(key, ("%s|%d" % (plain, i)).encode(), hashlib.sha256).digest()
                   for i in range(8))
    return base64.b64encode(raw).decode()


def assemble_ticket(secret, userid, now):
    plain = "PVE:%s:%08X" % (userid, int(now))
    return plain + "::" + _signature(secret, plain)


def verify_ticket(secret, ticket, now):
    """Returns the user id of a valid ticket, or None."""
    if not ticket:
        return None
    m = re.search(r"^(PVE:\S+)::([^:\s]+)$", ticket)
    if not m:
        return None
    plain, sig = m.group(1), m.group(2)
    if not hmac.compare_digest(_signature(secret, plain), sig):
        return None
    pm = re.search(r"^PVE:(\S+):([A-Z0-9]{8})$", plain)
    if not pm:
        return None
    age = int(now) - int(pm.group(2), 16)
    if age < -AUTH_GRACE or age > TICKET_LIFETIME:
        return None
    return pm.group(1)


def _csrf_sig(secret, stamp, userid):
    mac = hmac.new(bytes.fromhex(secret), ("%s:%s" % (stamp, userid)).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode().rstrip("=")


def assemble_csrf(secret, userid, now):
    stamp = "%08X" % int(now)
    return "%s:%s" % (stamp, _csrf_sig(secret, stamp, userid))


def verify_csrf(secret, userid, token, now):
    m = re.search(r"^([A-Z0-9]{8}):(\S+)$", token or "")
    if not m:
        return False
    if not hmac.compare_digest(_csrf_sig(secret, m.group(1), userid), m.group(2)):
        return False
    age = int(now) - int(m.group(1), 16)
    return -AUTH_GRACE <= age <= TICKET_LIFETIME


# --- credentials from headers -----------------------------------------------

_AUTH_RES = {}


def extract_auth_value(header, name):
    """PVE::APIServer::Formatter::extract_auth_value for Cookie/Authorization."""
    if not header:
        return None
    rx = _AUTH_RES.get(name)
    if rx is None:
        rx = _AUTH_RES[name] = re.compile(r"(?:^|;)\s*" + re.escape(name) + r"[=\s]([^;]*)")
    m = rx.search(header)
    if not m:
        return None
    val = m.group(1).strip()
    if "%" in val:
        val = re.sub(r"%([0-9a-fA-F]{2})", lambda x: chr(int(x.group(1), 16)), val)
    return val


def verify_token(st, api_token, now):
    """PVE::AccessControl::verify_token; returns the token id or raises AuthFailure."""
    m = re.search(r"^(.*)=(.*)$", api_token or "", re.S)
    if not m:
        raise AuthFailure("Authentication failed!")
    tokenid, value = m.group(1), m.group(2)
    tm = TOKEN_FULL_RE.search(tokenid)
    if not tm:
        raise AuthFailure("Authentication failed!")
    user = tm.group(1)
    urec = st["users"].get(user)
    trec = st["tokens"].get(tokenid)
    if not urec or not _user_enabled(urec, now) or not trec:
        raise AuthFailure("Authentication failed!")
    if trec.get("expire") and trec["expire"] < now:
        raise AuthFailure("Authentication failed!")
    if not hmac.compare_digest(str(trec.get("secret", "")), value):
        raise AuthFailure("Authentication failed!")
    return tokenid


def _user_enabled(urec, now):
    if not urec.get("enable", 1):
        return False
    if urec.get("expire") and urec["expire"] < now:
        return False
    return True


def login(st, username, password, realm, now):
    """POST /access/ticket: returns the user id or raises 401."""
    if realm and "@" not in username:
        username = "%s@%s" % (username, realm)
    fail = ApiError(401, "authentication failure\n")
    urec = st["users"].get(username)
    if password.startswith("PVE:"):
        tuser = verify_ticket(st["secret"], password, now)
        if tuser is None or (tuser != username and tuser != "root@pam"):
            raise fail
        if not urec or not _user_enabled(urec, now):
            raise fail
        return username
    if not urec or not _user_enabled(urec, now) or not hmac.compare_digest(str(urec.get("password", "")),
                                                                        password):
        raise fail
    return username


# --- permissions ----------------------------------------------------------------

def normalize_path(path):
    path = "/" + "/".join(p for p in path.split("/") if p)
    return path


def _subject_privs(st, subject, path):
    """Privileges granted by ACL entries for one user or token id on a path."""
    path = normalize_path(path)
    levels = ["/"]
    acc = ""
    for comp in [p for p in path.split("/") if p]:
        acc += "/" + comp
        levels.append(acc)
    current = None
    for lvl in levels:
        final = lvl == path
        found = None
        for e in st["acl"]:
            if e["ugid"] != subject or normalize_path(e["path"]) != lvl:
                continue
            if not final and not e.get("propagate", 1):
                continue
            found = found if found is not None else set()
            for r in e.get("roles") or []:
                found.update(ROLES.get(r, []))
            found.update(e.get("privs") or [])
        if found is not None:
            current = found
    return current or set()


def permissions(st, authid, path):
    """RPCEnvironment::permissions: the privilege set of a user or token on a path."""
    if authid == "root@pam":
        return set(PRIVILEGES)
    tm = TOKEN_FULL_RE.search(authid)
    if tm:
        user = tm.group(1)
        trec = st["tokens"].get(authid)
        if trec is None:
            return set()
        uprivs = permissions(st, user, path)
        if not trec.get("privsep", 1):
            return uprivs
        return uprivs & _subject_privs(st, authid, path)
    if authid not in st["users"]:
        return set()
    return _subject_privs(st, authid, path)


_TMPL_RE = re.compile(r"\{(\w[\w-]*)\}")


class RPCEnv:
    """The permission helpers of PVE::RPCEnvironment for one request."""

    def __init__(self, st, authid, cache=None):
        self.st = st
        self.user = authid
        self.cache = cache if cache is not None else {}

    def privs(self, path):
        key = (self.user, path)
        have = self.cache.get(key)
        if have is None:
            have = permissions(self.st, self.user, path)
            self.cache[key] = have
        return have

    def check(self, path, privs, noerr=False):
        path = normalize_path(path)
        have = self.privs(path)
        for p in privs:
            if p not in have:
                if noerr:
                    return False
                raise perm_error("%s, %s" % (path, p))
        return True

    def check_any(self, path, privs, noerr=False):
        path = normalize_path(path)
        have = self.privs(path)
        if any(p in have for p in privs):
            return True
        if noerr:
            return False
        raise perm_error("%s, %s" % (path, "|".join(privs)))

    def check_full(self, path, privs, any_=False, noerr=False):
        if any_:
            return self.check_any(path, privs, noerr)
        return self.check(path, privs, noerr)

    def check_vm_perm(self, vmid, pool, privs, any_=False, noerr=False):
        if pool and self.check_full("/pool/%s" % pool, privs, any_, True):
            return True
        return self.check_full("/vms/%s" % vmid, privs, any_, noerr)

    def exec_check(self, check, params, noerr=False):
        test = check[0]
        if test == "and":
            for sub in check[1:]:
                self.exec_check(sub, params)
            return True
        if test == "or":
            for sub in check[1:]:
                if self.exec_check(sub, params, True):
                    return True
            if noerr:
                return False
            raise perm_error()
        if test == "perm":
            tmpl, privs = check[1], check[2]
            opts = dict(zip(check[3::2], check[4::2]))
            req = opts.get("require_param")
            if req and params.get(req) is None:
                if noerr:
                    return False
                raise perm_error()
            path = _TMPL_RE.sub(lambda m: str(params.get(m.group(1), "")), tmpl) if "{" in tmpl else tmpl
            return self.check_full(path, privs, bool(opts.get("any")), noerr)
        if test == "userid-param":
            return True
        raise ApiError(500, "unknown permission test '%s'\n" % test)

    def check_api2_permissions(self, perm, params):
        if self.user is None:
            if perm and perm.get("user") == "world":
                return True
            raise perm_error("user != null")
        if self.user == "root@pam":
            return True
        if not perm:
            raise perm_error("user != root@pam")
        if perm.get("user") in ("all", "world"):
            return True
        if perm.get("check"):
            return self.exec_check(perm["check"], params)
        raise perm_error()

    def capabilities(self):
        """The `cap` hash returned with a ticket (privileges per area)."""
        areas = {"vms": "/vms", "storage": "/storage", "access": "/access", "nodes": "/nodes",
                 "dc": "/", "sdn": "/sdn", "mapping": "/mapping"}
        res = {}
        for area, path in areas.items():
            have = permissions(self.st, self.user, path)
            res[area] = {p: 1 for p in sorted(have)}
        return res
