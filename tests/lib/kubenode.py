# SPDX-License-Identifier: MIT
"""A real Kubernetes node for the test cluster: kubelet (built with the
apiserver, tests/cluster/build) on Debian's containerd + runc, pod networking
by the bridge CNI plugin, images imported from local OCI archives
(tests/cluster/images). See ../shared/design notes summarised in README
("A test cluster by hand").

Everything lives in CLUSTER_DIR/node-NAME. What the kubelet and the plugins
change outside it (sysctls, cgroups, cni0, a few directories) is recorded
before start and restored by down().
"""

import json
import os
import shutil
import signal
import subprocess
import time

from tests.lib import kubecluster
from tests.lib.hivetest import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, "..", "cluster", "images")

SYSCTLS = ("vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops", "net/ipv4/ip_forward")
# Directories the kubelet, containerd or libcni create outside the node's own.
HOST_DIRS = ("/var/log/containers", "/var/log/pods", "/var/lib/kubelet", "/var/lib/cni", "/run/containerd",
             "/etc/cni")
CGROUP_ROOT = "/sys/fs/cgroup"
POD_SUBNET = "10.88.0.0/16"


def host_ip():
    """The address the kubelet reports (it refuses loopback), so that the
    apiserver reaches it for exec and logs."""
    out = subprocess.run(["ip", "-4", "-o", "route", "get", "192.0.2.255"], stdout=subprocess.PIPE,
                         text=True).stdout
    if "src" not in out:
        out = subprocess.run(["ip", "-4", "-o", "route", "show", "default"], stdout=subprocess.PIPE,
                             text=True).stdout
        dev = out.split("dev")[1].split()[0]
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", dev], stdout=subprocess.PIPE,
                             text=True).stdout
        return out.split("inet")[1].split()[0].split("/")[0]
    return out.split("src")[1].split()[0]


def kubepods_cgroups():
    """Every kubepods cgroup directory, deepest first."""
    found = []
    for hierarchy in os.listdir(CGROUP_ROOT):
        top = os.path.join(CGROUP_ROOT, hierarchy, "kubepods")
        if not os.path.isdir(top):
            continue
        for root, dirs, _ in os.walk(top):
            found.append(root)
    return sorted(found, key=lambda d: -d.count("/"))


class Node(kubecluster.Processes):
    STOP_TIMEOUT = 20  # the kubelet stops its pods' sync loops first

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        # Short: containerd's socket path must fit in sockaddr_un.
        self.dir = os.path.join(cluster.dir, f"node-{name}")
        self.sock = os.path.join(self.dir, "c.sock")
        self.state = cluster.state.setdefault("nodes", {}).setdefault(name, {})

    def path(self, name):
        return os.path.join(self.dir, name)

    def save(self):
        self.cluster.save()

    # Host state.

    # One file for the machine, not one per cluster directory: only one
    # node runs at a time (the kubelet's ports), and a node that was not torn
    # down leaves the host changed, so the next up must not take that for
    # the host's own state. The first up records, the down restores and
    # removes it.
    HOST_STATE = "/run/hive-test-node-host-state.json"

    def _record_host_state(self):
        if os.path.exists(self.HOST_STATE):
            return
        state = {"sysctls": {k: open(f"/proc/sys/{k}").read().strip() for k in SYSCTLS},
                 "host_dirs_absent": [d for d in HOST_DIRS if not os.path.exists(d)],
                 "cni0_absent": not os.path.exists("/sys/class/net/cni0")}
        with open(self.HOST_STATE + ".new", "w") as f:
            json.dump(state, f)
        os.rename(self.HOST_STATE + ".new", self.HOST_STATE)

    def _restore_host_state(self):
        if not os.path.exists(self.HOST_STATE):
            return
        state = json.load(open(self.HOST_STATE))
        for k, v in state["sysctls"].items():
            try:
                with open(f"/proc/sys/{k}", "w") as f:
                    f.write(v)
            except OSError:
                pass
        if state["cni0_absent"]:
            subprocess.run(["ip", "link", "delete", "cni0"], stderr=subprocess.DEVNULL)
        for d in state["host_dirs_absent"]:
            if os.path.isdir(d):
                self._unmount_below(d)
                shutil.rmtree(d, ignore_errors=True)
        os.unlink(self.HOST_STATE)

    @staticmethod
    def _unmount_below(prefix):
        mounts = [line.split()[4] for line in open("/proc/self/mountinfo")]
        for m in sorted((m for m in mounts if m == prefix or m.startswith(prefix + "/")), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)

    # Configuration.

    def _write_configs(self):
        for d in ("cni", "manifests", "pod-logs", "kubelet", "certs", "plugins", "containerd"):
            os.makedirs(self.path(d), exist_ok=True)
        c = self.cluster
        with open(self.path("containerd.toml"), "w") as f:
            f.write(f"""version = 2
root = "{self.path('containerd/root')}"
state = "{self.path('containerd/state')}"
[grpc]
  address = "{self.sock}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/hive-test/pause:1"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{self.path('containerd/runc')}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{self.path('cni')}"
""")
        with open(self.path("cni/10-hive-test.conflist"), "w") as f:
            json.dump({"cniVersion": "1.0.0", "name": "hive-test", "plugins": [
                {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": False,
                 "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_SUBNET}]],
                          "dataDir": self.path("cni-ipam")}},
                {"type": "loopback"}]}, f)
        # The kubelet's identity: the Node authorizer and NodeRestriction
        # admit it for its own Node and pods only.
        name = f"kubelet-{self.name}"
        if not os.path.exists(c.path(f"{name}.crt")):
            c._cert(name, f"/O=system:nodes/CN=system:node:{self.name}")
        c.write_kubeconfig(self.path("kubelet.kubeconfig"), c.path(f"{name}.crt"), c.path(f"{name}.key"),
                           f"system:node:{self.name}")
        with open(self.path("kubelet.yaml"), "w") as f:
            json.dump({
                "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                "cgroupDriver": "cgroupfs", "failCgroupV1": False, "failSwapOn": False,
                "containerRuntimeEndpoint": f"unix://{self.sock}",
                "makeIPTablesUtilChains": False, "oomScoreAdj": 0, "readOnlyPort": 0,
                "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
                "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                                 "nodefs.inodesFree": "1%"},
                "podLogsDir": self.path("pod-logs"), "staticPodPath": self.path("manifests"),
                "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": False},
                                   "x509": {"clientCAFile": c.path("ca.crt")}},
                "authorization": {"mode": "AlwaysAllow"},
                "maxPods": 250, "serializeImagePulls": False,
                "resolvConf": "/etc/resolv.conf",
                "nodeStatusUpdateFrequency": "2s",
                # Secret and ConfigMap volumes are updated at the pod's next
                # sync: seconds apart rather than the default minute.
                "syncFrequency": "3s",
            }, f)

    def ctr(self, *args, check=True):
        return subprocess.run(["ctr", "--address", self.sock, "-n", "k8s.io", *args], check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def up(self):
        os.makedirs(self.dir, exist_ok=True)
        if self._alive("kubelet") and self._alive("containerd"):
            return self
        images = subprocess.run([IMAGES], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
        self._record_host_state()
        self._write_configs()
        def serving():
            return os.path.exists(self.sock) and self.ctr("version", check=False).returncode == 0
        if self._alive("containerd"):
            wait_until(serving, 60, interval=0.2, what="containerd")
        else:
            self._start("containerd", ["containerd", "--config", self.path("containerd.toml")], serving, 60,
                        "containerd")
        for image in ("pause.tar", "busybox.tar"):
            self.ctr("images", "import", os.path.join(images, image))
        self._start("kubelet", [
            os.path.join(self.cluster.state["bin"], "kubelet"),
            f"--config={self.path('kubelet.yaml')}",
            f"--kubeconfig={self.path('kubelet.kubeconfig')}",
            f"--root-dir={self.path('kubelet')}",
            f"--cert-dir={self.path('certs')}",
            f"--volume-plugin-dir={self.path('plugins')}",
            f"--hostname-override={self.name}",
            f"--node-ip={host_ip()}",
            "--v=1",
        ], self.ready, 120, f"node {self.name} to be Ready")
        return self

    def ready(self):
        r = self.cluster.kubectl("get", "node", self.name, "-o",
                                 "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False)
        return r.returncode == 0 and r.stdout.strip() == "True"

    def down(self):
        """Stop everything and leave the host as it was."""
        if self._alive("kubelet"):
            self.cluster.kubectl("delete", "pods", "--all-namespaces", "--all", "--force", "--grace-period=0",
                                 "--field-selector", f"spec.nodeName={self.name}", "--wait=false", check=False)
        self._kill("kubelet")
        # Containers outlive the kubelet and containerd (their shims keep
        # them): kill what runs in the pods' cgroups, then the shims.
        for d in kubepods_cgroups():
            try:
                for pid in open(os.path.join(d, "cgroup.procs")).read().split():
                    os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(["pkill", "-KILL", "-f", f"containerd-shim.*-address {self.sock}"], stderr=subprocess.DEVNULL)
        self._kill("containerd")
        deadline = time.monotonic() + 10
        for d in kubepods_cgroups():
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
        self._unmount_below(self.dir)
        self._restore_host_state()
        for k in ("kubelet_pid", "containerd_pid"):
            self.state.pop(k, None)
        self.save()


    # Pods.

    IMAGE = "docker.io/hive-test/busybox:1"

    def pod_manifest(self, name, namespace="default", labels=None, containers=("app",), volumes=(), mounts=None,
                     command=None):
        """A pod of busybox containers on this node (no scheduler needed):
        mounts maps a container name to its volumeMounts."""
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
                "spec": {"nodeName": self.name, "terminationGracePeriodSeconds": 0,
                         "volumes": list(volumes),
                         "containers": [dict({"name": c, "image": self.IMAGE, "imagePullPolicy": "Never",
                                              "volumeMounts": (mounts or {}).get(c, [])},
                                             **({"command": command} if command else {}))
                                        for c in containers]}}

    def run_pods(self, manifests, timeout=180):
        """Create pods and wait until they run; returns their objects."""
        self.cluster.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                    "items": list(manifests)}))
        return [self.wait_running(m["metadata"]["name"], m["metadata"]["namespace"], timeout) for m in manifests]

    def run_pod(self, *args, **kw):
        return self.run_pods([self.pod_manifest(*args, **kw)])[0]

    def get_pod(self, name, namespace="default"):
        r = self.cluster.kubectl("get", "pod", "-n", namespace, name, "-o", "json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def wait_running(self, name, namespace="default", timeout=120, unlike=None):
        """The pod once all its containers run (with ids other than unlike's)."""
        def running():
            p = self.get_pod(name, namespace)
            st = (p or {}).get("status", {}).get("containerStatuses", [])
            ok = p and st and len(st) == len(p["spec"]["containers"]) and \
                all("running" in s.get("state", {}) and s.get("containerID") for s in st)
            if ok and unlike:
                ok = all(s["containerID"] not in unlike for s in st)
            return ok and p
        return wait_until(running, timeout, interval=0.2, what=f"pod {namespace}/{name} to run")

    @staticmethod
    def container_id(pod, container):
        return next(s["containerID"] for s in pod["status"]["containerStatuses"] if s["name"] == container)

    @staticmethod
    def container_pids(pod, container):
        """The host PIDs of a container's processes, from its cgroup."""
        cid = Node.container_id(pod, container).split("://")[1]
        qos = pod["status"].get("qosClass", "BestEffort").lower()
        level = "" if qos == "guaranteed" else qos + "/"
        path = f"{CGROUP_ROOT}/pids/kubepods/{level}pod{pod['metadata']['uid']}/{cid}/cgroup.procs"
        return [int(p) for p in open(path).read().split()]

    def exec(self, pod, container, *cmd, namespace="default", check=True):
        return self.cluster.kubectl("exec", "-n", namespace, pod, "-c", container, "--", *cmd, check=check)

    def delete_pods(self, names, namespace="default", wait=True):
        self.cluster.kubectl("delete", "pod", "-n", namespace, *names, "--grace-period=0", "--force",
                             f"--wait={'true' if wait else 'false'}", "--ignore-not-found", check=False)
