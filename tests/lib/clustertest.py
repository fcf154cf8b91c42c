# SPDX-License-Identifier: MIT
"""What the cluster suites share: a real kube-apiserver + etcd for the test
class, agents on this kernel with their own node names (as co-located nodes
have), and ways to look at their roles, leases and NodeWatches."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from tests.lib import hivetest, kubecluster
from tests.lib.hivetest import Hived, bpf_ids, cat, host_policy, wait_until

LEASE, RENEW, RETRY = 6, 4, 1
TIMINGS = f"[kubernetes]\nlease_duration_s = {LEASE}\nrenew_deadline_s = {RENEW}\nretry_period_s = {RETRY}\n"
BOOT_ID = open("/proc/sys/kernel/random/boot_id").read().strip()
LEASE_NAME = f"hive-{BOOT_ID}"


def program_names(pid):
    """Names of the BPF programs a process holds, each once."""
    names = set()
    for i in bpf_ids(pid):
        out = subprocess.run(["bpftool", "-j", "prog", "show", "id", str(i)], stdout=subprocess.PIPE, text=True)
        if out.returncode == 0:
            names.add(json.loads(out.stdout)["name"])
    return names


class ClusterTest(unittest.TestCase):
    """A real API server for the class; agents started by a test are stopped after it."""

    @classmethod
    def setUpClass(cls):
        hivetest.skip_unless_root()
        if not shutil.which("openssl"):
            raise unittest.SkipTest("openssl not installed")
        cls.dir = tempfile.mkdtemp(prefix="hive-cluster-")
        # A cluster that does not come up (a manifest refused, a component
        # not ready) is a failure with the component's own error, not a skip.
        cls.cluster = kubecluster.Cluster(cls.dir)
        # A class cleanup, not tearDownClass: it runs also when setUpClass
        # fails halfway (a node that does not come up), so nothing started
        # outlives the class and holds ports the next one needs.
        cls.addClassCleanup(cls.remove_cluster)
        cls.cluster.up()

    @classmethod
    def remove_cluster(cls):
        cls.cluster.down()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.agents = {}
        self.files = hivetest.files_dir(self)
        # Each test starts from no lease and no shared entries.
        self.cluster.kubectl("delete", "-n", "hive-system", "lease", LEASE_NAME, "--ignore-not-found")
        self.cluster.kubectl("delete", "-n", "hive-system", "nodewatches", "--all")
        self.cluster.kubectl("delete", "hivepolicies,hivenamespacedpolicies", "--all", "--all-namespaces")

    def tearDown(self):
        # Every agent still running must stop cleanly: shutdown frees the
        # sources, the API client and the BPF objects in an order that
        # matters (a crash here once came from freeing the client first).
        running = [n for n, a in self.agents.items() if a.proc and a.proc.poll() is None]
        codes = {n: self.agents[n].stop() for n in running}
        for a in self.agents.values():
            a.close()
        if not self.cluster._alive("apiserver"):
            self.cluster.start_apiserver()
        self.assertEqual({n: c for n, c in codes.items() if c != 0}, {}, "agents that did not exit cleanly")

    def secret(self, node):
        path = os.path.join(self.files, f"{node}.secret")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(f"{node}\n")
        return path

    def agent(self, node, config="", log_level="info", policies=None):
        self.cluster.register_node(node, BOOT_ID)
        kubeconfig = self.cluster.agent_kubeconfig(node)
        a = Hived(policies or {"p.json": host_policy(f"{node}-files", self.secret(node))}, config=TIMINGS + config,
                  args=["--node-name", node, "--kubeconfig", kubeconfig, "--log-level", log_level,
                        "--dedup-window", "0"])
        self.agents[node] = a
        return a.start()

    def node_events(self, node, reason, since):
        """Warning Events on Node node with reason, made at or after since
        (time.time(); the API's timestamps have whole seconds)."""
        r = self.cluster.kubectl("get", "events", "-n", "default", "-o", "json", "--field-selector",
                                 f"involvedObject.kind=Node,involvedObject.name={node},reason={reason}")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(since)))
        return [e for e in json.loads(r.stdout)["items"] if e.get("firstTimestamp", "") >= stamp and
                e.get("type") == "Warning" and e.get("reportingInstance") == node]

    def wait_node_event(self, node, reason, since, timeout=20):
        return wait_until(lambda: self.node_events(node, reason, since), timeout, interval=0.5,
                          what=f"a {reason} Event on Node {node}")[0]

    def role(self, a):
        return a.status().split(",")[0]

    def leaders(self):
        return [n for n, a in self.agents.items() if a.proc.poll() is None and self.role(a) == "leader"]

    def lease_holder(self):
        r = self.cluster.kubectl("get", "lease", "-n", "hive-system", LEASE_NAME, "-o", "json", check=False)
        return json.loads(r.stdout)["spec"].get("holderIdentity") if r.returncode == 0 else None

    def logs(self):
        return "\n".join(f"--- {n}:\n{a.log_text()}" for n, a in self.agents.items())

    def synced_pair(self):
        """Two agents, once the leader logs the follower's file: (leader, follower, leader's Hived)."""
        for node in ("node-a", "node-b"):
            self.agent(node)
        leader = self.wait_one_leader()
        follower = "node-b" if leader == "node-a" else "node-a"
        agent = self.agents[leader]
        wait_until(lambda: agent.matching(pid=cat(self.secret(follower))), 10, interval=0.3, what="store synced")
        for node in (leader, follower):
            wait_until(lambda: self.entry_count(node) == 1, 10, what=f"{node}'s NodeWatch")
        # Settled: the follower's presence probe was answered (said once
        # answered; its entry may not be published yet when this is asked
        # first), and its NodeWatch lists its files only again.
        self.agents[follower].wait_log("answered this agent's presence probe", timeout=15)
        wait_until(lambda: not self.presence_probes(follower), 10, what=f"{follower}'s presence probe gone")
        return leader, follower, agent

    def wait_lease_renewals(self, n, timeout=LEASE * 3):
        """Wait until the lease's renewTime has changed n times."""
        seen = []

        def renewed():
            r = self.cluster.kubectl("get", "lease", "-n", "hive-system", LEASE_NAME, "-o",
                                     "jsonpath={.spec.renewTime}", check=False)
            if r.returncode == 0 and (not seen or seen[-1] != r.stdout):
                seen.append(r.stdout)
            return len(seen) > n
        wait_until(renewed, timeout, interval=0.2, what=f"{n} lease renewals")

    def wait_one_leader(self, timeout=LEASE + 5):
        return wait_until(lambda: len(self.leaders()) == 1 and self.lease_holder() == self.leaders()[0] and
                          self.leaders()[0], timeout, interval=0.2, what="exactly one leader")

    def nodewatch(self, node):
        r = self.cluster.kubectl("get", "nodewatch", "-n", "hive-system", node, "-o", "json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def presence_probes(self, node):
        """The presence probes in node's NodeWatch (asking its lease holder
        to prove it runs on this kernel)."""
        entries = (self.nodewatch(node) or {}).get("spec", {}).get("entries", [])
        return [e for e in entries if "presenceFor" in e]

    def entry_count(self, node):
        """spec.entryCount of node's NodeWatch; None while there is none."""
        return (self.nodewatch(node) or {}).get("spec", {}).get("entryCount")
