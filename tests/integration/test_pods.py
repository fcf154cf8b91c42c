#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Pods on a real node: a kubelet running containerd + runc pods, registered
with the real kube-apiserver of tests/cluster; hived as that node's agent
selects containers with policies, watches their files and names pods in its
records. What runs where:

- cgroupfs driver, cgroup v1 + hybrid cgroup2, containerd: the real node
  (every test but the last);
- systemd driver layout on cgroup2, for containerd, CRI-O and cri-dockerd
  scope names: a cgroup2 hierarchy the test mounts, with processes moved
  into those names, and a pod object whose status names them
  (test_systemd_cgroup_layouts)."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid

from tests.lib import hivetest
from tests.lib.hivetest import Hived, cat, host_policy, wait_until

from tests.lib.clustertest import ClusterTest

NODE = "node1"


def pod_policy(name, paths, namespaces=("default",), labels=None, containers=None, **extra):
    p = {"name": name, "paths": list(paths)}
    if namespaces:
        p["namespaces"] = list(namespaces)
    if labels:
        p["podSelector"] = {"matchLabels": labels}
    if containers:
        p["containers"] = containers
    p.update(extra)
    return p


def overlay_dirs(pid):
    """The upper directory and the lower ones (top first) of the overlay
    that is process pid's root: the runtime's snapshots, as the host sees
    them."""
    for line in open(f"/proc/{pid}/mountinfo"):
        fields, _, fs = line.partition(" - ")
        if fields.split()[4] == "/" and fs.startswith("overlay "):
            options = dict(o.partition("=")[::2] for o in fs.split()[2].split(","))
            return options["upperdir"], options["lowerdir"].split(":")
    raise AssertionError(f"the root of {pid} is no overlay")


class Pods(ClusterTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.node = cls.cluster.node(NODE).up()
        for ns in ("payments", "other"):
            cls.cluster.kubectl("create", "namespace", ns, check=False)

    def setUp(self):
        super().setUp()
        self.pods = []

    def tearDown(self):
        for ns, name in self.pods:
            self.node.delete_pods([name], namespace=ns, wait=False)
        super().tearDown()

    def start_agent(self, *policies, config=""):
        a = Hived({f"{p['name']}.json": p for p in policies}, config=config,
                  args=["--node-name", NODE, "--kubeconfig", self.cluster.agent_kubeconfig(NODE),
                        "--dedup-window", "0"])
        self.agents[NODE] = a
        return a.start()

    def run_pods(self, *manifests):
        for m in manifests:
            self.pods.append((m["metadata"]["namespace"], m["metadata"]["name"]))
        return self.node.run_pods(manifests)

    def exec_read(self, pod, container, path, namespace="default"):
        self.node.exec(pod, container, "cat", path, namespace=namespace)

    def wait_exec_logged(self, agent, pod, container, file, namespace="default", timeout=10, **fields):
        """Read file in the container until a read is a record with fields."""
        def logged():
            self.exec_read(pod, container, file, namespace)
            return agent.matching(proc_pod=pod, proc_container=container, **fields)
        return wait_until(logged, timeout, interval=0.2, what=f"a read in {pod}/{container} logged")[0]

    def entries(self):
        """This node's published entries (its NodeWatch)."""
        nw = self.nodewatch(NODE) or {}
        return [e for e in nw.get("spec", {}).get("entries", []) if "pod" in e]

    # --- selection -------------------------------------------------------

    def test_selection_by_namespace_labels_container(self):
        m = self.node.pod_manifest
        web, other_ns, db = self.run_pods(
            m("web", "payments", {"app": "web"}, containers=("app", "side")),
            m("web", "other", {"app": "web"}),
            m("db", "payments", {"app": "db"}))
        a = self.start_agent(pod_policy("web-shadow", ["/etc/shadow"], namespaces=["payments"],
                                        labels={"app": "web"}, containers=["app"]))
        record = self.wait_exec_logged(a, "web", "app", "/etc/shadow", namespace="payments")
        self.assertEqual((record["namespace"], record["pod"], record["container"]), ("payments", "web", "app"))
        self.assertEqual(record["pod_uid"], web["metadata"]["uid"])
        self.assertEqual(record["container_id"], self.node.container_id(web, "app"))
        self.assertEqual(record["path"], "/etc/shadow")
        self.assertEqual(record["proc_namespace"], "payments")

        # Same path in the other container, the other namespace, other
        # labels, and the host's own file: none is a record. Reads in that
        # order, then a positive control, which comes through last.
        self.exec_read("web", "side", "/etc/shadow", "payments")
        self.exec_read("web", "app", "/etc/shadow", "other")
        self.exec_read("db", "app", "/etc/shadow", "payments")
        host = cat("/etc/shadow")
        before = len(a.matching(proc_container="app", proc_namespace="payments", proc_pod="web"))
        self.wait_exec_logged(a, "web", "app", "/etc/shadow", namespace="payments")
        self.assertGreater(len(a.matching(proc_pod="web", proc_namespace="payments")), before)
        self.assertEqual([r for r in a.snapshot() if r.get("proc_container") == "side" or
                          r.get("proc_namespace") == "other" or r.get("proc_pod") == "db" or
                          r.get("pid") == host], [])
        self.assertEqual({(r["namespace"], r["pod"], r["container"]) for r in a.snapshot()},
                         {("payments", "web", "app")})

    def test_label_change_selects_and_deselects(self):
        self.run_pods(self.node.pod_manifest("relabel", labels={"app": "other"}))
        control = os.path.join(self.files, "control")
        with open(control, "w") as f:
            f.write("control\n")
        a = self.start_agent(pod_policy("web", ["/etc/app/secret"], labels={"app": "web"}),
                             host_policy("control", control))
        self.cluster.kubectl("label", "pod", "relabel", "app=web", "--overwrite")
        self.wait_exec_logged(a, "relabel", "app", "/etc/app/secret")
        self.cluster.kubectl("label", "pod", "relabel", "app=gone", "--overwrite")
        wait_until(lambda: not self.entries(), 10, interval=0.2, what="the entry to go with the label")
        n = len(a.matching(proc_pod="relabel"))
        self.exec_read("relabel", "app", "/etc/app/secret")
        # The read in the pod came first: once the control's record is
        # here, the pod's would be too.
        a.wait_read_logged(control, path=control)
        self.assertEqual(len(a.matching(proc_pod="relabel")), n)

    def test_namespaced_resource_policy_selects_its_namespace_only(self):
        for ns in ("team-a", "team-b"):
            self.cluster.kubectl("create", "namespace", ns, check=False)
        m = self.node.pod_manifest
        self.run_pods(m("web", "team-a", {"app": "web"}), m("web", "team-b", {"app": "web"}))
        a = self.start_agent()
        policy = {"apiVersion": "hive.io/v1alpha1", "kind": "HiveNamespacedPolicy",
                  "metadata": {"name": "web-secret", "namespace": "team-a"},
                  "spec": {"paths": ["/etc/app/secret"], "podSelector": {"matchLabels": {"app": "web"}}}}
        self.cluster.kubectl("apply", "-f", "-", input=json.dumps(policy))
        record = self.wait_exec_logged(a, "web", "app", "/etc/app/secret", namespace="team-a",
                                       policy="team-a/web-secret", policy_kind="HiveNamespacedPolicy")
        self.assertEqual((record["namespace"], record["pod"]), ("team-a", "web"))
        # The same labels in team-b: not selected. Its read first, then a
        # positive control in team-a, which comes through last.
        self.exec_read("web", "app", "/etc/app/secret", "team-b")
        before = len(a.matching(proc_namespace="team-a"))
        self.wait_exec_logged(a, "web", "app", "/etc/app/secret", namespace="team-a")
        self.assertGreater(len(a.matching(proc_namespace="team-a")), before)
        self.assertEqual(a.matching(proc_namespace="team-b"), [])
        # Published at most once a second: wait for the entry, then check it is the only one.
        wait_until(lambda: self.entries(), 10, interval=0.2, what="the entry in the NodeWatch")
        self.assertEqual({e["namespace"] for e in self.entries()}, {"team-a"})

    def test_a_namespace_watches_no_more_files_than_its_quota(self):
        self.cluster.kubectl("create", "namespace", "team-f", check=False)
        self.run_pods(self.node.pod_manifest("files", "team-f", {"app": "web"}))
        a = self.start_agent(config="[kubernetes]\nnamespace_max_files = 2\n")
        policy = {"apiVersion": "hive.io/v1alpha1", "kind": "HiveNamespacedPolicy",
                  "metadata": {"name": "many", "namespace": "team-f"},
                  "spec": {"paths": ["/etc/app/secret", "/etc/passwd", "/etc/group"],
                           "podSelector": {"matchLabels": {"app": "web"}}}}
        self.cluster.kubectl("apply", "-f", "-", input=json.dumps(policy))
        self.addCleanup(self.cluster.kubectl, "delete", "-f", "-", input=json.dumps(policy), check=False)
        a.wait_log("is not watched: the namespace's HiveNamespacedPolicies watch as many files on this node as "
                   "its quota allows (namespace_max_files)", timeout=20)
        wait_until(lambda: len([e for e in self.entries() if e["namespace"] == "team-f"]) == 2, 10, interval=0.2,
                   what="2 entries of team-f in the NodeWatch")
        self.assertIn("in namespace team-f is not watched", a.log_text())

    def test_policy_reload_selects_and_deselects(self):
        self.run_pods(self.node.pod_manifest("reloaded", labels={"app": "web"}))
        a = self.start_agent(pod_policy("p", ["/etc/app/secret"], labels={"app": "none"}))
        a.write_policy("p.json", pod_policy("p", ["/etc/app/secret", "/etc/shadow"], labels={"app": "web"}))
        a.reload()
        self.wait_exec_logged(a, "reloaded", "app", "/etc/shadow", path="/etc/shadow")
        self.assertEqual(len(self.wait_entries(2)), 2)
        # A broken reload keeps what was watched.
        a.write_policy("p.json", "{")
        a.reload()
        self.assertIn("last reload FAILED", a.status())
        self.wait_exec_logged(a, "reloaded", "app", "/etc/app/secret", path="/etc/app/secret")
        a.write_policy("p.json", pod_policy("p", ["/etc/shadow"], labels={"app": "web"}))
        a.reload()
        wait_until(lambda: [e["path"] for e in self.entries()] == ["/etc/shadow"], 10, interval=0.2,
                   what="only /etc/shadow watched after the reload")

    def wait_entries(self, n):
        return wait_until(lambda: len(self.entries()) == n and self.entries(), 10, interval=0.2,
                          what=f"{n} entries")

    # --- ways to reach the file --------------------------------------------

    def test_access_from_inside_host_symlink_hardlink_and_volume(self):
        volumes = [{"name": "shared", "emptyDir": {}}]
        mounts = {c: [{"name": "shared", "mountPath": "/shared"}] for c in ("app", "side")}
        pod, = self.run_pods(self.node.pod_manifest("reach", containers=("app", "side"), volumes=volumes,
                                                    mounts=mounts))
        a = self.start_agent(pod_policy("reach", ["/etc/app/secret", "/data/made-later", "/shared/f"],
                                        containers=["app"]))
        # Inside, by its name and through a symlink in the image.
        self.wait_exec_logged(a, "reach", "app", "/etc/app/secret", path="/etc/app/secret")
        r = self.wait_exec_logged(a, "reach", "app", "/etc/app/secret-link", path="/etc/app/secret")
        self.assertEqual(r["container"], "app")
        # From the host, through /proc/PID/root: a host process, no proc_pod.
        pid = self.node.container_pids(pod, "app")[0]
        r = a.wait_read_logged(f"/proc/{pid}/root/etc/app/secret", path="/etc/app/secret")
        self.assertNotIn("proc_pod", r)
        self.assertEqual(r["pod"], "reach")
        # A file that does not exist yet is followed until it appears, and
        # a hard link to it is the same inode.
        self.node.exec("reach", "app", "sh", "-c", "echo x > /data/made-later && ln /data/made-later /data/hard")
        self.wait_exec_logged(a, "reach", "app", "/data/hard", path="/data/made-later")
        # A volume shared by two containers: the watched container's file,
        # read by the other one.
        self.node.exec("reach", "app", "sh", "-c", "echo x > /shared/f")
        r = self.wait_exec_logged(a, "reach", "side", "/shared/f", path="/shared/f")
        self.assertEqual((r["container"], r["proc_container"]), ("app", "side"))

    def test_a_pods_file_read_in_its_layers_from_the_host(self):
        """The host's view of a container's file: the overlay's layers in
        containerd's snapshot directory. A read there is the pod's file, one
        record naming the pod's path; once the container writes the file
        (copied up), the upper file is the pod's and the image's lower file
        no longer is."""
        pod, = self.run_pods(self.node.pod_manifest("layers"))
        a = self.start_agent(pod_policy("layers", ["/etc/app/secret"]))
        self.wait_exec_logged(a, "layers", "app", "/etc/app/secret", path="/etc/app/secret")
        upper, lowers = overlay_dirs(self.node.container_pids(pod, "app")[0])
        lower = next(f for f in (os.path.join(d, "etc/app/secret") for d in lowers) if os.path.exists(f))
        r = a.wait_read_logged(lower, path="/etc/app/secret", pod="layers", container="app")
        self.assertNotIn("proc_pod", r)
        self.assertEqual(r["inode"], os.stat(lower).st_ino)
        self.assertEqual(len(a.matching(pid=r["pid"])), 1, a.matching(pid=r["pid"]))
        # Through the container, still one record per read (counted once a
        # host read made after it is in: records come in order).
        before = len(a.matching(proc_pod="layers"))
        self.exec_read("layers", "app", "/etc/app/secret")
        a.wait_read_logged(lower, path="/etc/app/secret", pod="layers")
        self.assertEqual(len(a.matching(proc_pod="layers")), before + 1)
        # Copied up: the container's file is the upper one from then on.
        self.node.exec("layers", "app", "sh", "-c", "echo more >> /etc/app/secret")
        copied = os.path.join(upper, "etc/app/secret")
        self.assertTrue(os.path.exists(copied))
        r = a.wait_read_logged(copied, timeout=10, path="/etc/app/secret", pod="layers")
        self.assertEqual(r["inode"], os.stat(copied).st_ino)
        a.assert_not_logged(cat(lower), copied, path="/etc/app/secret")
        # The layer is shared with a loader on the same kernel (NodeWatch
        # writes are a second apart).
        wait_until(lambda: [[l["inode"] for l in e.get("layers", [])] for e in self.entries() if e["pod"] == "layers"]
                   == [[str(os.stat(copied).st_ino)]], 10, interval=0.2, what="the upper file in the NodeWatch entry")

    def test_a_pods_tree_read_in_its_layers_from_the_host(self):
        """A tree in a container: its root's directory in every layer is
        the tree's root too, so a file below it read in the snapshot
        directory is a record naming the file's path in the container,
        also a file the container made after the watch started."""
        pod, = self.run_pods(self.node.pod_manifest("layertree"))
        a = self.start_agent(pod_policy("layertree", ["/etc/app/**"]))
        self.wait_exec_logged(a, "layertree", "app", "/etc/app/secret", path="/etc/app/secret")
        upper, lowers = overlay_dirs(self.node.container_pids(pod, "app")[0])
        lower = next(f for f in (os.path.join(d, "etc/app/secret") for d in lowers) if os.path.exists(f))
        r = a.wait_read_logged(lower, path="/etc/app/secret", pod="layertree")
        self.assertNotIn("proc_pod", r)
        self.assertEqual(len(a.matching(pid=r["pid"])), 1, a.matching(pid=r["pid"]))
        # Made by the container: in the upper layer, whose /etc/app is
        # watched from the pod's next resolution on.
        self.node.exec("layertree", "app", "sh", "-c", "echo new > /etc/app/made")
        made = os.path.join(upper, "etc/app/made")
        self.assertTrue(os.path.exists(made))
        a.wait_read_logged(made, timeout=10, path="/etc/app/made", pod="layertree")

    def test_replaced_and_created_files_are_followed_by_events(self):
        """With the rescan a minute apart, a file renamed over the watched
        one and a watched file created later are watched within seconds
        (inotify on their directories), and their first reads recorded."""
        self.run_pods(self.node.pod_manifest("follow"))
        a = self.start_agent(pod_policy("follow", ["/etc/app/secret", "/data/later"]),
                             config="[agent]\nrescan_interval_ms = 60000\n")
        self.wait_exec_logged(a, "follow", "app", "/etc/app/secret", path="/etc/app/secret")
        for path, how, said in (("/etc/app/secret", "echo v2 > {0}.new && mv {0}.new {0}", "Followed"),
                                ("/data/later", "echo x > {0}", "Watching")):
            # The read: the shell that made the file may be "cat" by the
            # time its create record is written (it execs its last
            # command, and fanotify's records name the process from /proc).
            read = dict(comm="cat", path=path, proc_pod="follow", access=["read"])
            before = len(a.matching(**read))
            self.node.exec("follow", "app", "sh", "-c", how.format(path) + f" && cat {path}")
            record = wait_until(lambda: a.matching(**read)[before:], 10, what=f"the read of {path}")[0]
            a.wait_log(f"{said} {path} (policy follow) in pod default/follow container app: "
                       f"inode {record['inode']} ", timeout=5)

    def test_a_file_renamed_away_stays_watched(self):
        """mv secret s2; cat s2; mv s2 secret inside the container: the read
        is a record naming the watched path (the file still has a link)."""
        self.run_pods(self.node.pod_manifest("away"))
        a = self.start_agent(pod_policy("away", ["/etc/app/secret"]), config="[agent]\nrescan_interval_ms = 60000\n")
        first = self.wait_exec_logged(a, "away", "app", "/etc/app/secret", path="/etc/app/secret")
        self.node.exec("away", "app", "mv", "/etc/app/secret", "/etc/app/s2")
        a.wait_log("Path /etc/app/secret (policy away) in pod default/away container app does not exist", timeout=10)
        before = len(a.matching(comm="cat", proc_pod="away"))
        self.exec_read("away", "app", "/etc/app/s2")
        record = wait_until(lambda: a.matching(comm="cat", proc_pod="away")[before:], 10,
                            what="the read of the renamed file")[0]
        self.assertEqual((record["path"], record["inode"]), ("/etc/app/secret", first["inode"]))
        self.node.exec("away", "app", "mv", "/etc/app/s2", "/etc/app/secret")
        self.wait_exec_logged(a, "away", "app", "/etc/app/secret", path="/etc/app/secret")

    def test_process_filters_in_a_container(self):
        """A pod policy's executables are resolved inside each selected
        container: its app binary is excepted by inode; a copy of it, and
        the image's own busybox, are not."""
        cmd = ["/bin/sh", "-c", "mkdir -p /app /copy && cp /bin/busybox /app/busybox && "
               "cp /bin/busybox /copy/busybox && exec sleep 1000000"]
        self.run_pods(self.node.pod_manifest("filtered", command=cmd))
        a = self.start_agent(pod_policy("filtered", ["/etc/shadow"],
                                        **{"except": {"executables": ["/app/busybox"], "containers": ["app"]}}))
        a.wait_log("Watching executable /app/busybox (policy filtered) in pod default/filtered container app",
                   timeout=20)
        self.wait_exec_logged(a, "filtered", "app", "/etc/shadow", path="/etc/shadow")
        self.node.exec("filtered", "app", "/app/busybox", "cat", "/etc/shadow")
        self.node.exec("filtered", "app", "/copy/busybox", "cat", "/etc/shadow")
        copy = wait_until(lambda: a.matching(proc_pod="filtered", exe=lambda e: (e or "").endswith("/copy/busybox")),
                          10, what="the copy's read")[0]
        self.assertEqual(copy["path"], "/etc/shadow")
        # Records come in the order of the accesses: the app's would be here.
        self.assertEqual(a.matching(exe=lambda e: (e or "").endswith("/app/busybox")), [])

    def test_only_the_apps_binary_reads_its_token(self):
        """action deny in a container: the service account token, refused
        to everything but the app's own binary (by inode: the image's
        busybox, the same bytes, is refused)."""
        token = "/var/run/secrets/tokens/token"
        self.cluster.kubectl("create", "serviceaccount", "default", check=False)  # no controller makes it here
        volumes = [{"name": "t", "projected": {"sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 600}}]}}]
        cmd = ["/bin/sh", "-c", "mkdir -p /app && cp /bin/busybox /app/busybox && exec sleep 1000000"]
        pod = self.node.pod_manifest("guarded", volumes=volumes,
                                     mounts={"app": [{"name": "t", "mountPath": "/var/run/secrets/tokens"}]},
                                     command=cmd)
        pod["spec"]["serviceAccountName"] = "default"
        self.run_pods(pod)
        a = self.start_agent(pod_policy("token", [token], action="deny",
                                        **{"except": {"executables": ["/app/busybox"]}}))
        a.wait_log("Watching executable /app/busybox (policy token) in pod default/guarded container app",
                   timeout=20)
        a.wait_log(f"Watching {token} (policy token) in pod default/guarded container app", timeout=20)
        refused = self.node.exec("guarded", "app", "cat", token, check=False)
        self.assertNotEqual(refused.returncode, 0, refused.stdout)
        self.assertIn("Operation not permitted", refused.stderr)
        record = a.wait_record(proc_pod="guarded", path=token, action="denied")
        self.assertEqual((record["pod"], record["container"], record["access"]), ("guarded", "app", ["read"]))
        allowed = self.node.exec("guarded", "app", "/app/busybox", "cat", token)
        self.assertTrue(allowed.stdout.startswith("ey"), allowed.stdout)

    def test_a_chrooted_init_does_not_move_the_watch(self):
        """The container's init, which the image controls, chroot()s into a
        decoy tree (keeping the real one within reach): paths are still
        resolved from the container's root, and the real file is watched."""
        cmd = ["/bin/sh", "-c", "mkdir -p /decoy/etc/app /decoy/bin && cp /bin/busybox /decoy/bin/busybox && "
               "echo decoy > /decoy/etc/app/secret && exec chroot /decoy /bin/busybox sleep 1000000"]
        pod = self.run_pods(self.node.pod_manifest("chrooted", command=cmd))[0]
        init = self.node.container_pids(pod, "app")[0]
        wait_until(lambda: os.readlink(f"/proc/{init}/root").endswith("/decoy"), 10, what="the init chroot()ed")
        decoy = int(self.node.exec("chrooted", "app", "stat", "-c", "%i", "/decoy/etc/app/secret").stdout)
        a = self.start_agent(pod_policy("chrooted", ["/etc/app/secret"]))
        record = self.wait_exec_logged(a, "chrooted", "app", "/etc/app/secret", path="/etc/app/secret")
        self.assertNotEqual(int(record["inode"]), decoy)
        a.wait_log(f"Container app of pod default/chrooted: its process {init} runs chroot()ed", timeout=5)

    def test_hostile_images(self):
        self.run_pods(self.node.pod_manifest("hostile"))
        paths = ["/hostile/up", "/hostile/relative-up", "/hostile/host-only", "/hostile/proc-root",
                 "/hostile/loop", "/hostile/long", "/data/dir/shadow"]
        os.makedirs("/var/lib/hive-test-host-only", exist_ok=True)
        with open("/var/lib/hive-test-host-only/secret", "w") as f:
            f.write("host only\n")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", "/var/lib/hive-test-host-only"]))
        self.node.exec("hostile", "app", "sh", "-c", "mkdir -p /data/dir && echo inner > /data/dir/shadow")
        a = self.start_agent(pod_policy("hostile", paths))
        a.wait_logged("PATH_REFUSED", "/hostile/long")
        # The symlinks that climb out stay in the container: its own shadow.
        r = self.wait_exec_logged(a, "hostile", "app", "/etc/shadow", path="/hostile/up")
        self.assertEqual(r["pod"], "hostile")
        # Swap a resolved directory for a symlink aimed at the host's /etc:
        # followed within the container's root, never to the host.
        self.node.exec("hostile", "app", "sh", "-c",
                       "mv /data/dir /data/old && ln -s /../../../../../etc /data/dir")
        self.wait_exec_logged(a, "hostile", "app", "/etc/shadow", path="/data/dir/shadow")
        time.sleep(2)  # several rescans: each problem is still said once
        host_reads = [cat("/etc/shadow"), cat("/var/lib/hive-test-host-only/secret")]
        self.wait_exec_logged(a, "hostile", "app", "/etc/shadow", path="/hostile/relative-up")
        self.assertEqual(a.matching(pid=lambda p: p in host_reads), [])
        host_inodes = {os.stat("/etc/shadow").st_ino, os.stat("/var/lib/hive-test-host-only/secret").st_ino}
        self.assertFalse([e for e in self.entries() if int(e["inode"]) in host_inodes], self.entries())
        for path, said in (("/hostile/proc-root", "magic link"), ("/hostile/loop", "symlink loop"),
                           ("/hostile/long", "too long")):
            lines = a.logged("PATH_REFUSED", f"Path {path} ")
            self.assertEqual(len(lines), 1, f"{path}: {lines}")
            self.assertIn(said, lines[0])
        # A file that is not there is no refusal: said once too, plainly.
        lines = [line for line in a.log_text().splitlines() if "Path /hostile/host-only " in line]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("does not exist in the container", lines[0])

    # --- volumes the kubelet updates ----------------------------------------------

    def test_updated_volumes_are_recorded_from_the_first_read(self):
        """A Secret, a ConfigMap and a projected volume with a service
        account token, each updated 5 times by the kubelet (a new
        ..<timestamp> directory, ..data swapped to it), and after each a
        process in the pod that polls until the new content shows and a cat
        right after: every cat is a record. The agent follows each update
        by events (the rescan is a minute apart here), and says none louder
        than info. The token's own refresh is due after 80% of its lifetime,
        at least 8 minutes: here the secret beside it in the same projected
        volume makes the kubelet write the token's file anew."""
        # The file, and the one whose new content says the update is there.
        files = {"/vol/secret/token": "/vol/secret/token", "/vol/config/token": "/vol/config/token",
                 "/vol/projected/token": "/vol/projected/token", "/vol/projected/sa": "/vol/projected/token"}
        self.cluster.kubectl("create", "serviceaccount", "default", check=False)  # no controller makes it here
        self.cluster.kubectl("create", "secret", "generic", "rotate-s", "--from-literal=token=version 0")
        self.cluster.kubectl("create", "configmap", "rotate-c", "--from-literal=token=version 0")
        self.addCleanup(self.cluster.kubectl, "delete", "secret/rotate-s", "configmap/rotate-c", check=False)
        volumes = [{"name": "s", "secret": {"secretName": "rotate-s"}},
                   {"name": "c", "configMap": {"name": "rotate-c"}},
                   {"name": "p", "projected": {"sources": [
                       {"secret": {"name": "rotate-s"}},
                       {"serviceAccountToken": {"path": "sa", "expirationSeconds": 600}}]}}]
        mounts = [{"name": "s", "mountPath": "/vol/secret"}, {"name": "c", "mountPath": "/vol/config"},
                  {"name": "p", "mountPath": "/vol/projected"}]
        pod = self.node.pod_manifest("rotate", volumes=volumes, mounts={"app": mounts})
        pod["spec"]["serviceAccountName"] = "default"
        self.run_pods(pod)
        a = self.start_agent(pod_policy("rotate", list(files)), config="[agent]\nrescan_interval_ms = 60000\n")

        def cats(path):
            return [r for r in a.snapshot() if r.get("comm") == "cat" and r.get("path") == path and
                    r.get("proc_pod") == "rotate"]

        def loud():
            return [e["message"] for e in list(a.log) if e.get("priority", 7) <= 5 and "/vol/" in e["message"]]
        for path in files:
            self.wait_exec_logged(a, "rotate", "app", path, path=path)
        first, said = {path: len(cats(path)) for path in files}, loud()
        for version in range(1, 6):
            before = {path: len(cats(path)) for path in files}
            self.cluster.kubectl("patch", "secret", "rotate-s", "--type=merge", "-p",
                                 json.dumps({"stringData": {"token": f"version {version}"}}))
            self.cluster.kubectl("patch", "configmap", "rotate-c", "--type=merge", "-p",
                                 json.dumps({"data": {"token": f"version {version}"}}))
            script = "; ".join(f"until grep -q 'version {version}' {witness}; do :; done; cat {path} >/dev/null"
                               for path, witness in files.items())
            self.node.exec("rotate", "app", "sh", "-c", script)
            for path in files:
                record = wait_until(lambda: cats(path)[before[path]:], 10, interval=0.2,
                                    what=f"the cat right after update {version} of {path}")[0]
                a.wait_log(f"Followed {path} (policy rotate) in pod default/rotate container app: "
                           f"inode {record['inode']} ", timeout=5)
        for path in files:
            self.assertEqual(len(cats(path)), first[path] + 5, path)  # no cat lost, none counted twice
        self.assertEqual(loud(), said)

    def test_changes_in_a_containers_root(self):
        """What is done to files of the container's root file system (an
        overlay) from inside it: a chmod of a file of the image, a file
        dropped into a watched directory; records with the container's
        paths and the values set, in any attach mode."""
        self.run_pods(self.node.pod_manifest("chg"))
        a = self.start_agent(pod_policy("chg", ["/etc/app/secret", "/data/**"]))
        self.wait_exec_logged(a, "chg", "app", "/etc/app/secret", path="/etc/app/secret")
        self.node.exec("chg", "app", "chmod", "0640", "/etc/app/secret")
        r = wait_until(lambda: a.matching(access=["attrib"], comm="chmod", proc_pod="chg"), 10,
                       what="the chmod's record")[0]
        self.assertEqual((r["path"], r["new_mode"], r["container"]), ("/etc/app/secret", "0640", "app"))
        self.node.exec("chg", "app", "touch", "/data/dropped")
        r = wait_until(lambda: a.matching(access=["create"], comm="touch", proc_pod="chg"), 10,
                       what="the new file's record")[0]
        self.assertEqual(r["path"], "/data/dropped")

    def test_a_tree_watch_on_a_volume_sees_the_kubelets_updates(self):
        """A ConfigMap volume watched as a tree: the kubelet's update is seen
        for what it is (a new ..<timestamp> directory, ..data_tmp renamed
        over ..data), and the first read of the new version is a record
        naming the file where it is in the tree."""
        self.cluster.kubectl("create", "configmap", "tree-c", "--from-literal=token=version 0")
        self.addCleanup(self.cluster.kubectl, "delete", "configmap/tree-c", check=False)
        pod = self.node.pod_manifest("treevol", volumes=[{"name": "c", "configMap": {"name": "tree-c"}}],
                                     mounts={"app": [{"name": "c", "mountPath": "/vol/config"}]})
        self.run_pods(pod)
        a = self.start_agent(pod_policy("treevol", ["/vol/config/**"]))
        first = self.wait_exec_logged(a, "treevol", "app", "/vol/config/token")
        self.assertRegex(first["path"], r"^/vol/config/\.\.[0-9_.]+/token$")
        self.cluster.kubectl("patch", "configmap", "tree-c", "--type=merge", "-p",
                             json.dumps({"data": {"token": "version 1"}}))

        def changes(kind, path_re):
            return [r for r in a.snapshot() if r.get("access") == [kind] and re.match(path_re, r["path"])]
        made = wait_until(lambda: changes("create", r"^/vol/config/\.\.[0-9_.]+$"), 60, interval=0.2,
                          what="the kubelet's new version directory")[0]
        swap = wait_until(lambda: changes("rename", r"^/vol/config/\.\.data_tmp$"), 10, interval=0.2,
                          what="..data_tmp renamed over ..data")[0]
        self.assertTrue(swap["target_path"].endswith("/..data"), swap)
        self.node.exec("treevol", "app", "sh", "-c",
                       "until grep -q 'version 1' /vol/config/token; do :; done; cat /vol/config/token >/dev/null")
        read = wait_until(lambda: [r for r in a.snapshot() if r.get("comm") == "cat" and r["path"] != first["path"]],
                          10, interval=0.2, what="the read of the new version")[0]
        self.assertEqual(read["path"], made["path"] + "/token")

    # --- lifecycle -----------------------------------------------------------

    def test_container_restart_and_pod_delete(self):
        pod, = self.run_pods(self.node.pod_manifest("restart"))
        port = hivetest.free_port()
        a = self.start_agent(pod_policy("restart", ["/etc/app/secret"]),
                             config=f"[metrics]\nlisten = 127.0.0.1:{port}\n")

        def discovery():
            page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            s = hivetest.metrics_samples(page)
            return {k: s[(f"hive_pod_discovery_seconds_{k}", labels)]
                    for k, labels in (("count", frozenset()), ("sum", frozenset()),
                                      ("bucket", frozenset({("le", "+Inf")})))}
        old_id = self.node.container_id(pod, "app")
        self.wait_exec_logged(a, "restart", "app", "/etc/app/secret", container_id=old_id)
        # Running before the agent: its discovery is not a figure.
        self.assertEqual(discovery()["count"], 0)
        for pid in self.node.container_pids(pod, "app"):
            os.kill(pid, 9)
        pod = self.node.wait_running("restart", unlike=[old_id])
        new_id = self.node.container_id(pod, "app")
        self.assertNotEqual(new_id, old_id)
        self.wait_exec_logged(a, "restart", "app", "/etc/app/secret", container_id=new_id)
        # The restarted container was watched some time after its start.
        d = discovery()
        self.assertEqual((d["count"], d["bucket"]), (1, 1))
        self.assertGreater(d["sum"], 0)
        print(f"# restarted container watched {d['sum']:.3f} s after its first process started")
        # Only the new container's entry. (Its file may even have the old
        # one's (dev, inode): overlayfs reports the image layer's inode
        # number, and the new mount may get the old one's device number.)
        wait_until(lambda: [e.get("containerID") for e in self.entries()] == [new_id], 10, interval=0.2,
                   what="only the new container's entry")
        self.node.delete_pods(["restart"])
        wait_until(lambda: not self.entries(), 10, interval=0.2, what="the deleted pod's entries to go")
        wait_until(lambda: "watching 0 inodes for 0 entries" in a.status(), 10, what=a.status())

    def test_churn_leaves_nothing_stale(self):
        a = self.start_agent(pod_policy("churn", ["/etc/shadow", "/etc/app/secret"], labels={"churn": "yes"}))
        names = [f"churn-{i}" for i in range(100)]
        for batch in range(0, 100, 25):
            self.run_pods(*[self.node.pod_manifest(n, labels={"churn": "yes"}) for n in names[batch:batch + 25]])
            wait_until(lambda: len(self.entries()) >= 2 * (batch + 25), 30, interval=0.5,
                       what=f"{2 * (batch + 25)} entries")
        self.assertEqual(len(self.entries()), 200)
        self.node.delete_pods(names, wait=False)
        wait_until(lambda: not self.entries(), 60, interval=0.5, what="no entries after churn")
        wait_until(lambda: "watching 0 inodes for 0 entries" in a.status(), 10, what=a.status())
        self.assertEqual(self.map_entries(a), 0)

    def map_entries(self, agent):
        """Entries in the agent's kernel map of watched inodes."""
        for i in hivetest.bpf_ids(agent.proc.pid, "map_id"):
            info = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", str(i)],
                                             stdout=subprocess.PIPE, text=True).stdout)
            if info.get("name") == "watches":
                dump = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(i)], stdout=subprocess.PIPE,
                                      text=True).stdout
                return len(json.loads(dump))
        raise AssertionError("no map named watched")

    # --- who made the access ---------------------------------------------------

    def test_pod_reading_host_file_is_named(self):
        host_dir = tempfile.mkdtemp(prefix="hive-hostpath-", dir="/var/tmp")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", host_dir]))
        secret = os.path.join(host_dir, "secret")
        with open(secret, "w") as f:
            f.write("host\n")
        volumes = [{"name": "host", "hostPath": {"path": host_dir, "type": "Directory"}}]
        self.run_pods(self.node.pod_manifest("reader", "payments", volumes=volumes,
                                             mounts={"app": [{"name": "host", "mountPath": "/host"}]}))
        a = self.start_agent(host_policy("host-secret", secret))
        r = self.wait_exec_logged(a, "reader", "app", "/host/secret", namespace="payments", path=secret)
        self.assertEqual((r["proc_namespace"], r["proc_pod"], r["proc_container"]), ("payments", "reader", "app"))
        self.assertNotIn("pod", r)  # the file is the host's
        r = a.wait_read_logged(secret, path=secret)
        self.assertNotIn("proc_pod", r)

    # --- workload, image, labels -----------------------------------------------

    def create(self, obj):
        """Store an object as its controller would leave it (this cluster
        runs no controller manager); returns it as stored."""
        kind, name = obj["kind"].lower() + "s", obj["metadata"]["name"]
        self.addCleanup(self.cluster.kubectl, "delete", kind, "-n", "payments", name, "--ignore-not-found",
                        "--wait=false", check=False)
        return json.loads(self.cluster.kubectl("create", "-o", "json", "-f", "-", input=json.dumps(obj)).stdout)

    @staticmethod
    def owned_by(obj, owner):
        """obj with the controller reference its controller would write."""
        obj["metadata"]["ownerReferences"] = [{
            "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True}]
        return obj

    def controller(self, api_version, kind, name, spec):
        return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "payments"},
                "spec": spec}

    def test_workload_image_and_labels(self):
        """Records name the top controller (a Deployment through its
        ReplicaSet, a CronJob through its Job, a Job, the pod itself), read
        once per controller with the agents' least rights; the image and its
        digest; the pod's labels, the largest Kubernetes allows among them,
        exactly. A pod whose controller is gone keeps it as its workload, and
        one line says so."""
        image = self.node.IMAGE
        template = {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": image}]}}
        job_template = {"template": {"spec": {"restartPolicy": "Never",
                                              "containers": [{"name": "app", "image": image}]}}}
        deployment = self.create(self.controller("apps/v1", "Deployment", "web",
                                                 {"selector": {"matchLabels": {"app": "web"}}, "template": template}))
        rs = self.create(self.owned_by(self.controller("apps/v1", "ReplicaSet", "web-7d9f",
                                                       {"selector": {"matchLabels": {"app": "web"}},
                                                        "template": template}), deployment))
        cron = self.create(self.controller("batch/v1", "CronJob", "backup",
                                           {"schedule": "0 0 1 1 *", "jobTemplate": {"spec": job_template}}))
        cron_job = self.create(self.owned_by(self.controller("batch/v1", "Job", "backup-29001", job_template), cron))
        job = self.create(self.controller("batch/v1", "Job", "migrate", job_template))
        gone = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "gone-5f", "uid": str(uuid.uuid4())}}

        # The largest label: a 253-character prefix, a 63-character name
        # and value.
        prefix = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
        big = {"app": "web", "app.kubernetes.io/name": "web", f"{prefix}/{'n' * 63}": "v" * 63}
        m = self.node.pod_manifest
        pods = {"web-7d9f-x2": (self.owned_by(m("web-7d9f-x2", "payments", big), rs), ("Deployment", "web")),
                "backup-29001-k": (self.owned_by(m("backup-29001-k", "payments"), cron_job), ("CronJob", "backup")),
                "migrate-q": (self.owned_by(m("migrate-q", "payments"), job), ("Job", "migrate")),
                "orphan-1": (self.owned_by(m("orphan-1", "payments"), gone), ("ReplicaSet", "gone-5f")),
                "bare": (m("bare", "payments", {"app": "bare"}), ("Pod", "bare"))}
        running = {p["metadata"]["name"]: p for p in self.run_pods(*(m for m, _ in pods.values()))}
        a = self.start_agent(pod_policy("wl", ["/etc/app/secret"], namespaces=["payments"]),
                             config="[kubernetes]\nrecord_labels = app, app.kubernetes.io/name\n")

        for name, (_, (kind, workload)) in pods.items():
            r = self.wait_exec_logged(a, name, "app", "/etc/app/secret", namespace="payments",
                                      workload_kind=kind, workload=workload)
            self.assertEqual(r["pod"], name)
            status = running[name]["status"]["containerStatuses"][0]
            self.assertEqual((r["image"], r["image_id"]), (status["image"], status["imageID"]))
            self.assertTrue(r["image_id"], status)
            self.assertEqual((r["proc_workload_kind"], r["proc_workload"], r["proc_image_id"]),
                             (kind, workload, status["imageID"]))
            self.assertEqual(r.get("labels"), running[name]["metadata"].get("labels") or None)
            self.assertEqual(r.get("proc_labels"), r.get("labels"))
        self.assertEqual(a.matching(pod="web-7d9f-x2")[-1]["labels"], big)
        wait_until(lambda: "ReplicaSet payments/gone-5f, the controller of pods of this node, no longer exists"
                   in a.log_text(), 10, what="the gone controller said")
        self.assertEqual(a.log_text().count("gone-5f, the controller"), 1)
        self.assertNotIn("Cannot read", a.log_text())

    def test_a_parent_gone_before_the_record_is_still_named(self):
        """sh -> sh -> cat in a container, all gone before hived reads (it
        is stopped): the chain was read in the kernel at the access."""
        self.run_pods(self.node.pod_manifest("tree", "payments"))
        a = self.start_agent(pod_policy("tree", ["/etc/app/secret"], namespaces=["payments"]))
        self.wait_exec_logged(a, "tree", "app", "/etc/app/secret", namespace="payments")
        a.proc.send_signal(signal.SIGSTOP)
        try:
            self.node.exec("tree", "app", "sh", "-c", "sh -c 'cat /etc/app/secret; true'; true",
                           namespace="payments")
        finally:
            a.proc.send_signal(signal.SIGCONT)
        r = a.wait_record(proc_pod="tree", comm="cat",
                          ancestors=lambda c: c and len(c) > 2 and [x["comm"] for x in c[:2]] == ["sh", "sh"])
        self.assertEqual(r["parent_comm"], "sh")
        parent, grandparent = r["ancestors"][0]["pid"], r["ancestors"][1]["pid"]
        self.assertEqual(r["ppid"], parent)
        self.assertNotEqual(parent, grandparent)
        self.assertFalse(os.path.exists(f"/proc/{parent}"))  # gone when the record was written

    # --- co-located nodes, hivectl -------------------------------------------

    def test_colocated_leader_logs_pod_files(self):
        """Another node on this kernel holds the lease: it logs the pod's
        file from node1's NodeWatch, with node1's and the pod's names."""
        self.run_pods(self.node.pod_manifest("shared"))
        leader = self.agent("node-x")
        wait_until(lambda: self.role(leader) == "leader", 15, what="node-x to lead")
        a = self.start_agent(pod_policy("shared", ["/etc/app/secret"]))
        self.assertEqual(self.role(a), "follower")
        wait_until(lambda: self.entries(), 10, interval=0.2, what="node1's pod entry published")

        def logged():
            self.exec_read("shared", "app", "/etc/app/secret")
            return leader.matching(path="/etc/app/secret")
        r = wait_until(logged, 15, interval=0.3, what="the leader to log node1's pod file")[0]
        self.assertEqual((r["node"], r["namespace"], r["pod"], r["container"]), (NODE, "default", "shared", "app"))
        self.assertEqual(a.snapshot(), [])  # the follower attached nothing

    def test_hivectl_lists_pod_entries(self):
        """hivectl over a real dbus-daemon (its own socket, named to both
        through DBUS_SYSTEM_BUS_ADDRESS) lists the pod's entry."""
        pod, = self.run_pods(self.node.pod_manifest("listed", containers=("app", "side")))
        bus_dir = tempfile.mkdtemp(prefix="hive-bus-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", bus_dir]))
        with open(os.path.join(bus_dir, "bus.conf"), "w") as f:
            f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path={bus_dir}/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
</policy>
</busconfig>""")
        dbus = subprocess.Popen(["dbus-daemon", "--config-file", os.path.join(bus_dir, "bus.conf"), "--nofork",
                                 "--nopidfile"], stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (dbus.terminate(), dbus.wait()))
        wait_until(lambda: os.path.exists(os.path.join(bus_dir, "bus")), 10, what="the bus")
        env = {"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={bus_dir}/bus"}
        a = Hived({"l.json": pod_policy("listed", ["/etc/app/secret"], containers=["app"])},
                  args=["--node-name", NODE, "--kubeconfig", self.cluster.agent_kubeconfig(NODE)], env=env)
        self.agents[NODE] = a
        a.start()
        hivectl = os.environ.get("HIVECTL", os.path.join(hivetest.BUILD, "hivectl"))

        def listed():
            r = subprocess.run([hivectl, "--json", "list"], stdout=subprocess.PIPE, text=True,
                               env=dict(os.environ, **env))
            return r.returncode == 0 and [json.loads(line) for line in r.stdout.splitlines()]
        entries = wait_until(listed, 10, interval=0.2, what="hivectl list to show the entry")
        self.assertEqual([(e["namespace"], e["pod"], e["container"], e["path"]) for e in entries],
                         [("default", "listed", "app", "/etc/app/secret")])
        pid = self.node.container_pids(pod, "app")[0]
        self.assertEqual(entries[0]["inode"], os.stat(f"/proc/{pid}/root/etc/app/secret").st_ino)
        table = subprocess.run([hivectl, "list"], stdout=subprocess.PIPE, text=True, env=dict(os.environ, **env),
                               check=True).stdout
        self.assertIn("default/listed/app", table)

    # --- cgroup layouts the kubelet here cannot make ---------------------------

    def test_systemd_cgroup_layouts(self):
        """The systemd driver's names on cgroup2, for three runtimes: the
        agent finds each container's process and attributes its accesses."""
        mnt = tempfile.mkdtemp(prefix="hive-cgroup2-")
        subprocess.run(["mount", "-t", "cgroup2", "none", mnt], check=True)
        self.addCleanup(lambda: (subprocess.run(["umount", "-l", mnt]), os.rmdir(mnt)))
        node = "v2node"
        runtimes = {"c-containerd": ("containerd", "cri-containerd"), "c-crio": ("cri-o", "crio"),
                    "c-docker": ("docker", "docker")}
        # The pod as the API server has it; its cgroups are named after
        # the uid the server gave it (cgroup2 refuses renames).
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "v2pod", "namespace": "default"},
               "spec": {"nodeName": node, "containers": [{"name": n, "image": "x"} for n in runtimes]}}
        self.cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
        self.addCleanup(lambda: self.cluster.kubectl("delete", "pod", "v2pod", "--grace-period=0", "--force",
                                                     check=False))
        uid = json.loads(self.cluster.kubectl("get", "pod", "v2pod", "-o", "json").stdout)["metadata"]["uid"]
        uid_ = uid.replace("-", "_")
        slice_ = f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{uid_}.slice"
        secret = os.path.join(self.files, "v2-secret")
        with open(secret, "w") as f:
            f.write("x\n")
        procs, statuses, dirs = {}, [], []

        def cleanup():
            for p in procs.values():
                p.kill()
                p.wait()
            for d in dirs:
                wait_until(lambda: not open(os.path.join(d, "cgroup.procs")).read(), 5)
            for d in dirs + [os.path.join(mnt, slice_), os.path.join(mnt, os.path.dirname(slice_)),
                             os.path.join(mnt, "kubepods.slice")]:
                if os.path.isdir(d):
                    os.rmdir(d)
        self.addCleanup(cleanup)
        for name, (runtime, prefix) in runtimes.items():
            cid = uuid.uuid4().hex + uuid.uuid4().hex
            scope = os.path.join(mnt, slice_, f"{prefix}-{cid}.scope")
            os.makedirs(scope)
            dirs.append(scope)
            # A process in the container's cgroup that reads the file when told.
            p = subprocess.Popen(["sh", "-c", f"echo $$ > {scope}/cgroup.procs; read x; cat {secret}; read x"],
                                 stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
            procs[name] = p
            statuses.append({"name": name, "containerID": f"{runtime}://{cid}", "ready": True, "restartCount": 0,
                             "image": "x", "imageID": "x", "state": {"running": {}}})
        wait_until(lambda: all(open(os.path.join(d, "cgroup.procs")).read().strip() for d in dirs), 5)
        self.cluster.kubectl("patch", "pod", "v2pod", "--subresource=status", "--type=merge", "-p",
                             json.dumps({"status": {"phase": "Running", "qosClass": "BestEffort",
                                                    "containerStatuses": statuses}}))
        self.cluster.register_node(node, open("/proc/sys/kernel/random/boot_id").read().strip())
        a = Hived({"v2.json": pod_policy("v2", [secret], namespaces=["default"])},
                  config=f"[kubernetes]\ncgroup_root = {mnt}\n",
                  args=["--node-name", node, "--kubeconfig", self.cluster.agent_kubeconfig(node),
                        "--dedup-window", "0"])
        self.agents[node] = a
        a.start()
        wait_until(lambda: self.role(a) == "leader", 15, what="the agent to attach")
        for name in runtimes:
            a.wait_log(f"(policy v2) in pod default/v2pod container {name}: inode", timeout=10)
        for name, p in procs.items():
            p.stdin.write("\n")
            p.stdin.flush()
            try:
                r = a.wait_record(timeout=10, proc_container=name, container=name)
            except AssertionError:
                raise AssertionError(f"{a.snapshot()}\n{a.log_text()}")
            self.assertEqual((r["proc_pod"], r["pod"], r["comm"]), ("v2pod", "v2pod", "cat"))
            cgroup_id = os.stat(next(d for d in dirs if runtimes[name][1] + "-" in d)).st_ino
            self.assertEqual(r["cgroup_id"], cgroup_id)


if __name__ == "__main__":
    hivetest.main()
