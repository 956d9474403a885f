# SPDX-License-Identifier: GPL-2.0-or-later
"""A cluster on loopback for the SSH tests and the cluster-plan benchmark.

One real OpenSSH server (/usr/sbin/sshd) per simulated node, each on its own
127.0.0.1 port with its own host key and sshd_config (UsePAM no, StrictModes
no, public keys only, AuthorizedKeysFile = this run's client key); keys are
made per run with ssh-keygen and a known_hosts file holds the nodes' host keys,
so the client keeps strict host key checking. Each node gets a fake host root
(tests/mkroot/mkroot.py) and a wrapper that runs the real pvfio with
`--root <that root>` appended: the profile's cluster.ssh.nodes.<node>.pvfio
points at it. The Proxmox API simulator (tests/pvesim) plays the cluster.

Standard library only. Raises Unavailable when sshd/ssh/ssh-keygen are missing.
"""

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "api"))
import simctl  # noqa: E402

SSHD = os.environ.get("PVFIO_TEST_SSHD", "/usr/sbin/sshd")
MKROOT = os.path.join(TOP, "tests", "mkroot", "mkroot.py")
SIMREBOOT = os.path.join(TOP, "tests", "mkroot", "simreboot.py")
MACHINES = os.path.join(TOP, "tests", "machines")
ROOT_PW = "ssh-lab-root-7d1f"
PW_ENV = "PVFIO_SSH_LAB_PW"


class Unavailable(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def snapshot(root, subdirs=("etc", "var", "proc", "sys/bus/pci")):
    """(inode, mtime, size, link target) of every file under the given subdirectories of a root."""
    out = {}
    for sub in subdirs:
        for dp, dns, fns in os.walk(os.path.join(root, sub)):
            for n in fns + [d for d in dns if os.path.islink(os.path.join(dp, d))]:
                p = os.path.join(dp, n)
                st = os.lstat(p)
                out[os.path.relpath(p, root)] = (st.st_ino, st.st_mtime_ns, st.st_size,
                                                 os.readlink(p) if os.path.islink(p) else None)
    return out


class Result:
    def __init__(self, argv, p):
        self.argv = argv
        self.rc = p.returncode
        self.out = p.stdout
        self.err = p.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "$ %s\nrc=%d\n--- stdout\n%s\n--- stderr\n%s" % (
            " ".join(self.argv[1:]), self.rc, self.out[-6000:], self.err[-4000:])


class Node:
    def __init__(self, lab, name, machine, cluster_nodes=()):
        self.lab = lab
        self.name = name
        self.machine = machine
        self.dir = os.path.join(lab.dir, "nodes", name)
        self.root = os.path.join(self.dir, "root")
        self.port = None
        self.proc = None
        os.makedirs(self.dir)
        # the root of node NAME of this cluster (etc/hostname, etc/pve/nodes: 'host apply' checks both)
        subprocess.run([sys.executable, MKROOT, "--node", name, "--cluster-nodes", ",".join(cluster_nodes or [name]),
                        os.path.join(MACHINES, machine + ".json"), self.root],
                       check=True, capture_output=True)
        hk = os.path.join(self.dir, "host_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", hk], check=True)
        with open(hk + ".pub") as f:
            self.host_pub = " ".join(f.read().split()[:2])
        self.host_key = hk
        # the remote pvfio: the real binary with this node's fake root
        self.pvfio = self.wrapper("pvfio", "exec %s \"$@\" --root %s\n" % (lab.pvfio, self.root))
        # one that claims another plan format, as an older/newer pvfio would
        self.pvfio_other_format = self.wrapper(
            "pvfio-other-format",
            "out=$(%s \"$@\" --root %s); rc=$?\n"
            "printf '%%s\\n' \"$out\" | sed -e 's/\"format_version\": 2,/\"format_version\": 99,/' "
            "-e 's/\"pvfio_version\": \"[^\"]*\"/\"pvfio_version\": \"9.9.9\"/'\n"
            "exit $rc\n" % (lab.pvfio, self.root))
        # one that damages the profile bundle on its way in: a wrong SHA-256 for every image
        self.pvfio_bad_bundle = self.wrapper(
            "pvfio-bad-bundle",
            "sed -e 's/\"sha256\":\"[0-9a-f]*\"/\"sha256\":\"%s\"/g' | %s \"$@\" --root %s\n"
            % ("0" * 64, lab.pvfio, self.root))
        # an older pvfio that does not know --profile-bundle: the real binary, the flag renamed to one it lacks
        self.pvfio_no_bundle = self.wrapper(
            "pvfio-no-bundle",
            "for a do shift; [ \"$a\" = --profile-bundle ] && a=--profile-bundle-unknown; set -- \"$@\" \"$a\"; done\n"
            "exec %s \"$@\" --root %s\n" % (lab.pvfio, self.root))
        # one that never answers (for timeouts)
        self.pvfio_hang = self.wrapper("pvfio-hang", "exec sleep 600\n")

    def wrapper(self, name, body):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)
        return path

    def start(self):
        if self.proc and self.proc.poll() is None:
            return
        for _ in range(5):
            self.port = self.port or free_port()
            cfg = os.path.join(self.dir, "sshd_config")
            with open(cfg, "w") as f:
                f.write("\n".join([
                    "Port %d" % self.port,
                    "ListenAddress 127.0.0.1",
                    "HostKey %s" % self.host_key,
                    "PidFile %s" % os.path.join(self.dir, "sshd.pid"),
                    "AuthorizedKeysFile %s" % self.lab.authorized_keys,
                    "UsePAM no",
                    "StrictModes no",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "AllowTcpForwarding no",
                    "X11Forwarding no",
                    "PermitUserEnvironment no",
                    "LogLevel ERROR",
                    "",
                ]))
            self.log = open(os.path.join(self.dir, "sshd.log"), "a")
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", cfg], stdout=self.log, stderr=self.log,
                                         start_new_session=True)
            if wait_port(self.port, self.proc):
                return
            self.stop()
            self.port = None  # taken meanwhile: another port
        raise Unavailable("sshd for %s did not start: %s" % (self.name, self.sshd_log()))

    def sshd_log(self):
        try:
            with open(os.path.join(self.dir, "sshd.log")) as f:
                return f.read()[-1500:]
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def commands(self):
        try:
            with open(os.path.join(self.root, "var/lib/pvfio/commands.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def reboot(self):
        """What the node does when it boots: the configured kernel arguments and drivers become live."""
        p = subprocess.run([sys.executable, SIMREBOOT, self.root], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("simreboot %s: %s" % (self.name, p.stderr))
        return p.stdout


class Lab:
    def __init__(self, pvfio, nodes, cluster_vms=(), sim_args=("--task-ms", "5")):
        """nodes: [(name, machine)]; cluster_vms: VM entries of the simulator's cluster description."""
        for tool in (SSHD,):
            if not os.access(tool, os.X_OK):
                raise Unavailable("%s not found (Debian: openssh-server)" % tool)
        for tool in ("ssh", "ssh-keygen"):
            if not shutil.which(tool):
                raise Unavailable("%s not found (Debian: openssh-client)" % tool)
        if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        self.pvfio = os.path.abspath(pvfio)
        self.dir = tempfile.mkdtemp(prefix="pvfio-ssh-")
        self.user = getpass.getuser()
        self.key = os.path.join(self.dir, "client_key")
        self.authorized_keys = os.path.join(self.dir, "authorized_keys")
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        self.sim = None
        self.nodes = {}
        try:
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pvfio-test", "-f", self.key],
                           check=True)
            shutil.copy(self.key + ".pub", self.authorized_keys)
            for name, machine in nodes:
                self.nodes[name] = Node(self, name, machine, [n for n, _ in nodes])
            for n in self.nodes.values():
                n.start()
            self.write_known_hosts()
            cluster = {
                "comment": "written by tests/ssh/sshlab.py",
                "cluster": "sshlab",
                "nodes": {n.name: {"machine": os.path.join(MACHINES, n.machine + ".json")}
                          for n in self.nodes.values()},
                "users": [{"userid": "root@pam", "password": ROOT_PW}],
                "vms": list(cluster_vms),
            }
            self.cluster = os.path.join(self.dir, "cluster.json")
            with open(self.cluster, "w") as f:
                json.dump(cluster, f, indent=1)
            self.sim = simctl.Sim(self.cluster, list(sim_args))
        except BaseException:
            self.close()
            raise

    def write_known_hosts(self, wrong=()):
        """Host keys of every node; nodes in `wrong` get another node's key (an impostor)."""
        names = sorted(self.nodes)
        with open(self.known_hosts, "w") as f:
            for i, name in enumerate(names):
                n = self.nodes[name]
                key = self.nodes[names[(i + 1) % len(names)]].host_pub if name in wrong else n.host_pub
                f.write("[127.0.0.1]:%d %s\n" % (n.port, key))

    def profile(self, hosts, vms="", mappings="", ssh_nodes=None, ssh_extra="", name="profile.yaml"):
        """A profile for this lab. ssh_nodes: node -> dict overriding host/port/pvfio (None drops the entry)."""
        lines = [
            "version: 1",
            "cluster:",
            "  api: %s" % self.sim.url,
            "  auth:",
            "    user: root@pam",
            "    password_env: %s" % PW_ENV,
            "  tls:",
            "    fingerprint: \"%s\"" % self.sim.fingerprint,
            "  ssh:",
            "    user: %s" % self.user,
            "    identity_file: %s" % self.key,
            "    known_hosts: %s" % self.known_hosts,
            "    options: [ConnectTimeout=5]",
            "    timeout: 120",
        ]
        lines += ["    " + l for l in ssh_extra.splitlines() if l]
        lines.append("    nodes:")
        for n in self.nodes.values():
            e = {"host": "127.0.0.1", "port": n.port, "pvfio": n.pvfio}
            e.update((ssh_nodes or {}).get(n.name, {}))
            lines.append("      %s: {%s}" % (n.name, ", ".join("%s: %s" % (k, v) for k, v in e.items())))
        text = "\n".join(lines) + "\n" + hosts + mappings + vms
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run(self, *args, timeout=300, env_extra=None):
        argv = [self.pvfio] + list(args)
        env = dict(os.environ, NO_COLOR="1", LC_ALL="C")
        env[PW_ENV] = ROOT_PW
        for var, code in (("ASAN_OPTIONS", 86), ("UBSAN_OPTIONS", 87)):
            env[var] = (env[var] + ":" if env.get(var) else "") + "exitcode=%d" % code
        env.update(env_extra or {})
        p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        r = Result(argv, p)
        if ROOT_PW in r.out + r.err:
            raise AssertionError("the API password leaked into the output:\n%r" % r)
        return r

    def close(self):
        for n in self.nodes.values():
            n.stop()
        if self.sim:
            self.sim.stop()
        if os.environ.get("PVFIO_KEEP_LAB"):
            sys.stderr.write("lab kept in %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
