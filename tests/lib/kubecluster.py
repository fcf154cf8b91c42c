# SPDX-License-Identifier: MIT
"""A real kube-apiserver + etcd on loopback, started the way envtest does it,
for Hive's tests and for people trying Hive by hand (tests/cluster/up).

Everything lives in one directory: certificates, etcd's data, logs, pid
files, admin.kubeconfig and one kubeconfig per agent identity.
"""

import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

from tests.lib.hivetest import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.path.join(SRC, "tests", "cluster", "build")
DEPLOY = os.path.join(SRC, "deploy")


# The kubelet's own ports (10248 healthz, 10250 API, ...), never handed out.
KUBELET_PORTS = range(10240, 10260)


def unused_port():
    """A TCP port free on 127.0.0.1 now, from below the kernel's ephemeral
    range: the kernel never gives such a port to a bind(0) or a connect(), so
    between this check and the daemon's own bind only another explicit bind
    can take it (the caller starts again on a new port when that happens).
    A port picked by bind(0) was taken by an outgoing connection on a fast
    machine before etcd could bind it."""
    ephemeral_low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    low = max(1024, ephemeral_low - 12000)
    for _ in range(200):
        port = random.randrange(low, ephemeral_low)
        if port in KUBELET_PORTS:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port from {low} to {ephemeral_low - 1}")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class DaemonExited(RuntimeError):
    """A daemon the harness started exited before it was ready."""

    def __init__(self, name, code, log_tail):
        super().__init__(f"{name} exited with status {code} while starting; its last log lines:\n{log_tail}")
        self.address_in_use = "address already in use" in log_tail


class Processes:
    """Background processes of a component whose state (pids) lives in
    self.state, saved with self.save(), logs in self.path(NAME.log): the
    cluster's etcd and apiserver, a node's containerd and kubelet."""

    STOP_TIMEOUT = 15  # seconds after SIGTERM before SIGKILL

    def _spawn(self, name, argv):
        log = open(self.path(f"{name}.log"), "a")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        self.state[f"{name}_pid"] = p.pid
        self.save()
        return p

    def _start(self, name, argv, ready, timeout, what):
        """Spawn name and wait until ready() is true. A process that exits
        meanwhile fails the wait at once (DaemonExited, with the lines it
        logged during this start), rather than at the timeout."""
        log = self.path(f"{name}.log")
        offset = os.path.getsize(log) if os.path.exists(log) else 0
        p = self._spawn(name, argv)

        def started():
            if p.poll() is not None:
                with open(log, errors="replace") as f:
                    f.seek(offset)
                    tail = "\n".join(f.read().splitlines()[-20:])
                raise DaemonExited(name, p.returncode, tail)
            return ready()
        return wait_until(started, timeout, interval=0.2, what=what)

    def _start_on_free_port(self, key, start, attempts=5):
        """start() with self.state[key] a free port, again on another port
        while the daemon finds its port taken by someone else meanwhile."""
        for attempt in range(attempts):
            self.state[key] = unused_port()
            self.save()
            try:
                return start()
            except DaemonExited as e:
                if not e.address_in_use or attempt == attempts - 1:
                    raise

    def _alive(self, name):
        pid = self.state.get(f"{name}_pid")
        if not pid:
            return False
        try:
            os.kill(pid, 0)
            return open(f"/proc/{pid}/stat").read().split()[2] != "Z"
        except OSError:
            return False

    def _kill(self, name):
        pid = self.state.get(f"{name}_pid")
        if not pid or not self._alive(name):
            return
        os.kill(pid, signal.SIGTERM)
        try:
            wait_until(lambda: not self._alive(name), self.STOP_TIMEOUT, interval=0.2, what=f"{name} to stop")
        except AssertionError:
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not self._alive(name), 30, interval=0.1, what=f"{name} to die")
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


class Cluster(Processes):
    def __init__(self, directory):
        self.dir = os.path.abspath(directory)
        self.state_file = os.path.join(self.dir, "cluster.json")
        self.state = json.load(open(self.state_file)) if os.path.exists(self.state_file) else {}

    def save(self):
        with open(self.state_file, "w") as f:
            json.dump(self.state, f, indent=1)

    def path(self, name):
        return os.path.join(self.dir, name)

    @property
    def admin_kubeconfig(self):
        return self.path("admin.kubeconfig")

    @property
    def server(self):
        return f"https://127.0.0.1:{self.state['apiserver_port']}"

    # Certificates: one CA signs the server's and every client's.

    def _cert(self, name, subject, server=False):
        ext = self.path(f"{name}.ext")
        with open(ext, "w") as f:
            if server:
                # 10.0.2.2: this host as a QEMU guest reaches it
                # (tests/integration/test_qemu_cluster.py).
                f.write("subjectAltName=IP:127.0.0.1,IP:10.0.2.2,DNS:localhost\nextendedKeyUsage=serverAuth\n")
            else:
                f.write("extendedKeyUsage=clientAuth\n")
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", subject, cwd=self.dir)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "30", "-extfile", ext, "-out", f"{name}.crt", cwd=self.dir)
        os.unlink(self.path(f"{name}.csr"))
        os.unlink(ext)

    def _certificates(self):
        if os.path.exists(self.path("ca.crt")):
            return
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
                "-subj", "/CN=hive-test-ca", cwd=self.dir)
        self._cert("apiserver", "/CN=kube-apiserver", server=True)
        self._cert("admin", "/O=system:masters/CN=admin")
        openssl("genrsa", "-out", "sa.key", "2048", cwd=self.dir)
        openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=self.dir)

    def write_kubeconfig(self, path, cert, key, user):
        """A kubeconfig in the YAML kubectl writes (hived parses this format)."""
        with open(path, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: {self.path('ca.crt')}
    server: {self.server}
  name: hive-test
contexts:
- context:
    cluster: hive-test
    user: {user}
  name: hive-test
current-context: hive-test
preferences: {{}}
users:
- name: {user}
  user:
    client-certificate: {cert}
    client-key: {key}
""")
        os.chmod(path, 0o600)
        return path

    def api(self, method, path, body=None):
        """One request as admin; merge patch for PATCH. Returns the HTTP status."""
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        ctx.load_cert_chain(self.path("admin.crt"), self.path("admin.key"))
        ctype = "application/merge-patch+json" if method == "PATCH" else "application/json"
        req = urllib.request.Request(self.server + path, method=method, headers={"Content-Type": ctype},
                                     data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def _https_ok(self, url):
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        ctx.load_cert_chain(self.path("admin.crt"), self.path("admin.key"))
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=2) as r:
                return r.status == 200
        except (OSError, ValueError):
            return False

    def start_etcd(self):
        url = f"http://127.0.0.1:{self.state['etcd_port']}"

        def healthy():
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    return json.load(r).get("health") == "true"
            except (OSError, ValueError):
                return False
        # A single member: its peer port takes no connection, so the
        # kernel may pick it (port 0), as envtest does.
        self._start("etcd", [os.path.join(self.state["bin"], "etcd"), "--data-dir", self.path("etcd-data"),
                             "--listen-client-urls", url, "--advertise-client-urls", url,
                             "--listen-peer-urls", "http://127.0.0.1:0", "--log-level", "warn"],
                    healthy, 60, "etcd's /health")

    def start_apiserver(self, extra_args=None):
        """Start kube-apiserver with extra_args, or with those of the last
        start, on the port it had (kubeconfigs name it)."""
        args = list(extra_args) if extra_args is not None else self.state.get("apiserver_extra_args", [])
        self.state["apiserver_extra_args"] = args
        self._start("apiserver", [
            os.path.join(self.state["bin"], "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.state['etcd_port']}",
            f"--cert-dir={self.dir}",
            f"--secure-port={self.state['apiserver_port']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--tls-cert-file={self.path('apiserver.crt')}",
            f"--tls-private-key-file={self.path('apiserver.key')}",
            f"--client-ca-file={self.path('ca.crt')}",
            "--service-cluster-ip-range=10.0.0.0/24",
            # Node: kubelets of the node suite act for their own Node and pods.
            "--authorization-mode=Node,RBAC",
            f"--kubelet-client-certificate={self.path('admin.crt')}",
            f"--kubelet-client-key={self.path('admin.key')}",
            "--kubelet-preferred-address-types=InternalIP",
            "--disable-admission-plugins=ServiceAccount",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={self.path('sa.pub')}",
            f"--service-account-signing-key-file={self.path('sa.key')}",
            "--enable-priority-and-fairness=false",
        ] + args, lambda: self._https_ok(self.server + "/readyz"), 120, "kube-apiserver's /readyz")

    def stop_apiserver(self):
        self._kill("apiserver")

    def kubectl(self, *args, kubeconfig=None, check=True, input=None):
        r = subprocess.run([os.path.join(self.state["bin"], "kubectl"), "--kubeconfig",
                            kubeconfig or self.admin_kubeconfig, *args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, input=input)
        if check and r.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {r.stderr.strip()}")
        return r

    def up(self, apiserver_args=()):
        os.makedirs(self.dir, exist_ok=True)
        if self._alive("apiserver") and self._alive("etcd"):
            return self
        self.state["bin"] = subprocess.run([BUILD], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
        # What a crashed run left of this cluster goes first: a new start
        # picks new ports.
        self._kill("apiserver")
        self._kill("etcd")
        self._certificates()
        self._start_on_free_port("etcd_port", self.start_etcd)
        self._start_on_free_port("apiserver_port", lambda: self.start_apiserver(apiserver_args))
        self.write_kubeconfig(self.admin_kubeconfig, self.path("admin.crt"), self.path("admin.key"), "admin")
        self.kubectl("apply", "-f", DEPLOY)
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd/nodewatches.hive.io",
                     "crd/hivepolicies.hive.io", "crd/hivenamespacedpolicies.hive.io")
        self.wait_admission(enforced=True)
        return self

    def admission_refuses(self):
        """Whether the admission policy refuses an agent's write of another
        node's NodeWatch (a server-side dry run, which runs admission)."""
        probe = {"apiVersion": "hive.io/v1alpha1", "kind": "NodeWatch",
                 "metadata": {"name": "someone-else", "namespace": "hive-system"},
                 "spec": {"nodeName": "someone-else", "kernelId": "0" * 8 + "-0000-0000-0000-" + "0" * 12,
                          "entries": []}}
        r = self.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(probe),
                         kubeconfig=self.agent_kubeconfig("admission-probe"), check=False)
        if r.returncode != 0 and "hive-agent-owns-its-node" not in r.stderr:
            raise RuntimeError(f"probing the admission policy: {r.stderr.strip()}")
        return r.returncode != 0

    def wait_admission(self, enforced):
        """The API server applies a new or deleted policy binding after a
        moment: wait until it does."""
        wait_until(lambda: self.admission_refuses() == enforced, 60, interval=0.2,
                   what=f"the admission policy to be {'enforced' if enforced else 'gone'}")

    def set_admission(self, enforced):
        if enforced:
            self.kubectl("apply", "-f", os.path.join(DEPLOY, "30-admission.yaml"))
        else:
            self.kubectl("delete", "validatingadmissionpolicybinding", "hive-agent-owns-its-node",
                         "--ignore-not-found")
        self.wait_admission(enforced)

    def register_node(self, name, boot_id):
        """A Node object as a kubelet on the kernel boot_id would write it:
        Hive trusts a node to share a kernel only when its Node says so."""
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
        self.kubectl("apply", "-f", "-", input=json.dumps(node))
        self.kubectl("patch", "node", name, "--subresource=status", "--type=merge",
                     "-p", json.dumps({"status": {"nodeInfo": {"bootID": boot_id}}}))

    def token_kubeconfig(self, name, token):
        """A kubeconfig authenticating with a bearer token (a service account's)."""
        path = self.path(f"{name}.kubeconfig")
        with open(path, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "hive-test",
                       "clusters": [{"name": "hive-test", "cluster": {"server": self.server,
                                                                       "certificate-authority": self.path("ca.crt")}}],
                       "contexts": [{"name": "hive-test", "context": {"cluster": "hive-test", "user": name}}],
                       "users": [{"name": name, "user": {"token": token}}]}, f)
        os.chmod(path, 0o600)
        return path

    def user_kubeconfig(self, user, groups=()):
        """A kubeconfig for a person: a client certificate for user (CN) in groups (O)."""
        name = f"user-{user}"
        if not os.path.exists(self.path(f"{name}.crt")):
            self._cert(name, "".join(f"/O={g}" for g in groups) + f"/CN={user}")
        return self.write_kubeconfig(self.path(f"{name}.kubeconfig"), self.path(f"{name}.crt"),
                                     self.path(f"{name}.key"), user)

    def agent_kubeconfig(self, node):
        """A kubeconfig for an agent on node: a client certificate in group hive:agents."""
        name = f"agent-{node}"
        if not os.path.exists(self.path(f"{name}.crt")):
            self._cert(name, f"/O=hive:agents/CN=hive-agent:{node}")
        return self.write_kubeconfig(self.path(f"{name}.kubeconfig"), self.path(f"{name}.crt"),
                                     self.path(f"{name}.key"), f"hive-agent:{node}")

    def foreign_kubeconfigs(self):
        """Two kubeconfigs that must fail: one trusting another CA than the
        server's, one with a client certificate from another CA."""
        foreign = self.path("foreign")
        os.makedirs(foreign, exist_ok=True)
        if not os.path.exists(os.path.join(foreign, "ca.crt")):
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                    "-days", "30", "-subj", "/CN=someone-else", cwd=foreign)
            openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr",
                    "-subj", "/O=system:masters/CN=intruder", cwd=foreign)
            openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                    "-days", "30", "-out", "client.crt", cwd=foreign)
        bad_ca = self.write_kubeconfig(os.path.join(foreign, "bad-ca.kubeconfig"), self.path("admin.crt"),
                                       self.path("admin.key"), "admin")
        with open(bad_ca) as f:
            text = f.read().replace(self.path("ca.crt"), os.path.join(foreign, "ca.crt"))
        with open(bad_ca, "w") as f:
            f.write(text)
        untrusted = self.write_kubeconfig(os.path.join(foreign, "untrusted.kubeconfig"),
                                          os.path.join(foreign, "client.crt"), os.path.join(foreign, "client.key"),
                                          "intruder")
        return bad_ca, untrusted

    def node(self, name):
        from tests.lib import kubenode  # it builds on this module
        return kubenode.Node(self, name)

    def down(self):
        for name in list(self.state.get("nodes", {})):
            self.node(name).down()
        self._kill("apiserver")
        self._kill("etcd")

    def compact_etcd(self):
        """Compact etcd's history to now, so older resourceVersions are gone (410)."""
        url = f"http://127.0.0.1:{self.state['etcd_port']}/v3/kv/range"
        req = urllib.request.Request(url, data=json.dumps({"key": "AA==", "limit": 1}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            revision = int(json.load(r)["header"]["revision"])
        req = urllib.request.Request(url.replace("/range", "/compaction"),
                                     data=json.dumps({"revision": revision, "physical": True}).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=30).read()
        return revision


def main_up():
    args = sys.argv[1:]
    nodes = []
    while len(args) > 2 and args[0] == "--node":
        nodes.append(args[1])
        args = args[2:]
    if len(args) != 1:
        sys.exit("usage: tests/cluster/up [--node NAME]... DIR")
    c = Cluster(args[0]).up()
    for name in nodes:
        c.node(name).up()
    print(c.admin_kubeconfig)


def main_agent_kubeconfig():
    if len(sys.argv) != 3:
        sys.exit("usage: tests/cluster/agent-kubeconfig DIR NODE")
    print(Cluster(sys.argv[1]).agent_kubeconfig(sys.argv[2]))


def main_down():
    if len(sys.argv) != 2:
        sys.exit("usage: tests/cluster/down DIR")
    Cluster(sys.argv[1]).down()


def main_register_node():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: tests/cluster/register-node DIR NODE [BOOT_ID]")
    boot_id = sys.argv[3] if len(sys.argv) == 4 else open("/proc/sys/kernel/random/boot_id").read().strip()
    Cluster(sys.argv[1]).register_node(sys.argv[2], boot_id)


if __name__ == "__main__":
    commands = {"up": main_up, "down": main_down, "agent-kubeconfig": main_agent_kubeconfig,
                "register-node": main_register_node}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python3 -m tests.lib.kubecluster {{{','.join(commands)}}} ARGS")
    command = commands[sys.argv.pop(1)]
    sys.argv[0] = f"tests/cluster/{command.__name__[5:].replace('_', '-')}"
    command()
