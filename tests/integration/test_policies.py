#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Policies from the cluster, against a real kube-apiserver: HivePolicy and
HiveNamespacedPolicy objects applied, edited and deleted, merged with the
agents' policy files; what the CRD schema refuses at apply time; what an
agent refuses when an older schema let it through (log line, Event,
status); the tenant's RBAC; an API server outage. Pods selected by a
namespaced policy are tested on the real node (test_pods.py)."""

import copy
import json
import os
import subprocess
import time
import urllib.request

from tests.lib import hivetest
from tests.lib import kubecluster
from tests.lib.hivetest import cat, free_port, host_policy, wait_until

from tests.lib.clustertest import ClusterTest

TENANT = os.path.join(kubecluster.DEPLOY, "examples", "tenant.yaml")


def hive_policy(name, spec, namespace=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "hive.io/v1alpha1", "kind": "HiveNamespacedPolicy" if namespace else "HivePolicy",
            "metadata": meta, "spec": spec}


def append(path):
    """Open path for appending (a write access) in a new process; its pid."""
    p = subprocess.run(["sh", "-c", f": >> '{path}'; echo $$"], check=True, stdout=subprocess.PIPE, text=True)
    return int(p.stdout)


class Policies(ClusterTest):
    def apply(self, obj, kubeconfig=None, check=True):
        return self.cluster.kubectl("apply", "-f", "-", input=json.dumps(obj), kubeconfig=kubeconfig, check=check)

    def get(self, kind, name, namespace=None):
        args = ["get", kind, name, "-o", "json"] + (["-n", namespace] if namespace else [])
        r = self.cluster.kubectl(*args, check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def node_status(self, kind, name, node, namespace=None):
        obj = self.get(kind, name, namespace) or {}
        return obj.get("status", {}).get("nodes", {}).get(node)

    def wait_applied(self, nodes, name, generation, kind="hivepolicy", namespace=None, timeout=10):
        def applied():
            return all((self.node_status(kind, name, n, namespace) or {}).get("generation") == generation and
                       self.node_status(kind, name, n, namespace)["state"] == "Applied" for n in nodes)
        wait_until(applied, timeout, interval=0.2, what=f"generation {generation} of {name} applied on {nodes}")

    def counts(self, kind, name):
        """(appliedNodes, rejectedNodes) of the object, None where absent."""
        status = (self.get(kind, name) or {}).get("status", {})
        return status.get("appliedNodes"), status.get("rejectedNodes")

    def report(self, node):
        """{(name, state)} of every policy node's NodeWatch status reports."""
        return {(p["name"], p["state"]) for p in (self.nodewatch(node) or {}).get("status", {}).get("policies", [])}

    def published(self, node, policy, path, access=None):
        """node's NodeWatch has an entry of the HivePolicy policy for path
        (for exactly these accesses, when given)."""
        entries = (self.nodewatch(node) or {}).get("spec", {}).get("entries", [])
        return any(e["policy"] == policy and e["path"] == path and e.get("policyKind") == "HivePolicy" and
                   (access is None or sorted(e.get("access", [])) == sorted(access)) for e in entries)

    def reported(self, node, report):
        """node's NodeWatch status lists report among its policies."""
        return report in (self.nodewatch(node) or {}).get("status", {}).get("policies", [])

    def file(self, name):
        path = os.path.join(self.files, name)
        with open(path, "w") as f:
            f.write(f"{name}\n")
        return path

    def test_host_policy_applied_edited_deleted(self):
        watched, other = self.file("watched"), self.file("other")
        nodes = ("node-a", "node-b")
        for node in nodes:
            # Each agent has a file policy of the same name: both are kept,
            # told apart by HIVE_POLICY_KIND.
            self.agent(node, policies={"p.json": [host_policy("watched", watched, access=["read"])]})
        leader = self.agents[self.wait_one_leader()]
        leader.wait_read_logged(watched, policy="watched", policy_kind="file")

        started = time.monotonic()
        self.apply(hive_policy("watched", {"host": True, "paths": [watched]}))
        wait_until(lambda: all(self.published(n, "watched", watched) for n in nodes), 10, interval=0.1,
                   what="both agents watching the HivePolicy's path")
        print(f"# HivePolicy watched by both agents {time.monotonic() - started:.2f} s after kubectl apply")
        # The kernel's loader logs one read once per node's entry and kind.
        pid = cat(watched)
        wait_until(lambda: {(r["node"], r["policy_kind"]) for r in leader.matching(pid=pid)} ==
                   {(n, k) for n in nodes for k in ("file", "HivePolicy")}, 10, interval=0.1,
                   what="a read logged for each node and kind")
        self.wait_applied(nodes, "watched", 1)
        wait_until(lambda: self.counts("hivepolicy", "watched") == (2, 0), 10, interval=0.2,
                   what="appliedNodes 2, rejectedNodes 0")
        columns = self.cluster.kubectl("get", "hivepolicies", "watched").stdout
        self.assertRegex(columns, r"watched\s+true\s+\[\"" + watched + r"\"\]\s+2\s+0", columns)
        report = {"kind": "HivePolicy", "name": "watched", "generation": 1, "state": "Applied"}
        wait_until(lambda: all(self.reported(n, report) for n in nodes), 10, interval=0.2,
                   what="both NodeWatches reporting generation 1 applied")

        # Edit: another path, writes only. The loader learns the other
        # node's entries through its NodeWatch: wait for both.
        self.apply(hive_policy("watched", {"host": True, "paths": [watched, other], "access": ["write"]}))
        self.wait_applied(nodes, "watched", 2)
        wait_until(lambda: all(self.published(n, "watched", p, ["write"]) for n in nodes for p in (watched, other)),
                   10, interval=0.1, what="both agents publishing generation 2's entries")
        pid = append(other)
        wait_until(lambda: {r["node"] for r in leader.matching(pid=pid, policy_kind="HivePolicy")} == set(nodes),
                   10, interval=0.1, what="a write of the added path logged")
        pid = cat(watched)  # a read: only the file policy's
        wait_until(lambda: len(leader.matching(pid=pid)) == 2, 10, interval=0.1, what="the file policy's records")
        pid = append(watched)
        wait_until(lambda: len(leader.matching(pid=pid)) == 2, 10, interval=0.1, what="the write logged")
        self.assertEqual({r["policy_kind"] for r in leader.matching(pid=pid)}, {"HivePolicy"})

        # Delete: its watches go; the file policy stays.
        self.cluster.kubectl("delete", "hivepolicy", "watched")
        wait_until(lambda: not any(self.published(n, "watched", p) for n in nodes for p in (watched, other)), 10,
                   interval=0.1, what="the HivePolicy's entries gone")
        for n in nodes:
            wait_until(lambda: not self.nodewatch(n).get("status", {}).get("policies"), 10, interval=0.2,
                       what=f"{n}'s report emptied")
        pids = [append(watched), append(other)]
        leader.wait_read_logged(watched, policy="watched", policy_kind="file")
        for pid in pids:
            self.assertEqual(leader.matching(pid=pid), [])

    def test_schema_refuses_bad_policies_at_apply(self):
        cases = [
            (hive_policy("rel", {"host": True, "paths": ["etc/shadow"]}), "spec.paths[0]"),
            (hive_policy("dots", {"host": True, "paths": ["/etc/../shadow"]}),
             'a path must not have a "." or ".." component'),
            (hive_policy("acc", {"host": True, "paths": ["/x"], "access": ["open"]}),
             'spec.access[0]: Unsupported value: "open"'),
            (hive_policy("nothing", {"paths": ["/x"]}), "selects nothing"),
            (hive_policy("many", {"host": True, "paths": [f"/p{i}" for i in range(257)]}),
             "must have at most 256 items"),
            (hive_policy("Upper", {"host": True, "paths": ["/x"]}), "metadata.name"),
            (hive_policy("tenant", {"host": True, "paths": ["/x"]}, namespace="default"), 'unknown field "spec.host"'),
            (hive_policy("tenant", {"namespaces": ["kube-system"], "paths": ["/x"]}, namespace="default"),
             'unknown field "spec.namespaces"'),
            (hive_policy("empty-except", {"host": True, "paths": ["/x"], "except": {}}),
             "spec.except: Invalid value: 0: spec.except in body should have at least 1 properties"),
            (hive_policy("bad-uid", {"host": True, "paths": ["/x"], "only": {"uids": [-1]}}),
             "spec.only.uids[0]: Invalid value: -1"),
            (hive_policy("tree-exe", {"host": True, "paths": ["/x"], "except": {"executables": ["/usr/**"]}}),
             "an executable is a file"),
            (hive_policy("tenant-exe", {"paths": ["/x"], "except": {"executables": ["bin"]}}, namespace="default"),
             "spec.except.executables[0]"),
        ]
        for obj, message in cases:
            with self.subTest(obj["metadata"]["name"]):
                r = self.apply(obj, check=False)
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn(message, r.stderr)
        self.assertEqual(self.cluster.kubectl("get", "hivepolicies,hivenamespacedpolicies", "-A", "-o", "name").stdout,
                         "")

    def test_process_filters_of_a_hive_policy(self):
        """The schema keeps "only" and "except" (a structural schema prunes
        what it does not list) and the agent applies them."""
        watched = self.file("watched")
        reader = os.path.join(self.files, "reader")
        subprocess.run(["cp", "/usr/bin/head", reader], check=True)
        h = self.agent("node-a", policies={"c.json": [host_policy("control", self.file("control"))]})
        self.wait_one_leader()
        self.apply(hive_policy("filtered", {"host": True, "paths": [watched],
                                            "except": {"executables": [reader], "uids": [0]}}))
        self.wait_applied(["node-a"], "filtered", 1)
        stored = self.get("hivepolicy", "filtered")["spec"]
        self.assertEqual(stored["except"], {"executables": [reader], "uids": [0]})
        h.wait_read_logged(watched, policy="filtered")
        p = subprocess.Popen([reader, watched], stdout=subprocess.DEVNULL)
        p.wait()
        h.assert_not_logged(p.pid, os.path.join(self.files, "control"))

    def loosen_crd(self, loose):
        """Replace the policy CRDs' schemas by ones that accept any spec (an
        older or hand-edited CRD), or put the saved ones back; wait until the
        API server acts on it."""
        live = json.loads(self.cluster.kubectl("get", "crd", "hivepolicies.hive.io",
                                               "hivenamespacedpolicies.hive.io", "-o", "json").stdout)
        if loose:
            self.saved_versions = copy.deepcopy([crd["spec"]["versions"] for crd in live["items"]])
            for crd in live["items"]:
                schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
                schema.pop("x-kubernetes-validations", None)
                schema["properties"]["spec"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        else:
            for crd, versions in zip(live["items"], self.saved_versions):
                crd["spec"]["versions"] = versions
        self.cluster.kubectl("replace", "-f", "-", input=json.dumps(live))
        probe = hive_policy("probe", {"host": True, "paths": ["relative"]})

        def accepted():
            r = self.cluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(probe), check=False)
            return r.returncode == 0
        wait_until(lambda: accepted() == loose, 30, interval=0.5, what=f"the CRD {'loosened' if loose else 'restored'}")

    def test_agent_refuses_what_an_older_crd_let_through(self):
        good, tenant_file = self.file("good"), self.file("tenant")
        self.cluster.kubectl("create", "namespace", "team-a", check=False)
        self.loosen_crd(True)
        try:
            port = free_port()
            a = self.agent("node-a", config=f"[metrics]\nlisten = 127.0.0.1:{port}\n")
            self.apply(hive_policy("good", {"host": True, "paths": [good]}))
            self.apply(hive_policy("bad", {"host": True, "paths": ["relative/path"]}))
            self.apply(hive_policy("sneaky", {"host": True, "paths": [tenant_file]}, namespace="team-a"))
            a.wait_logged("POLICY_REFUSED", 'HivePolicy bad: spec.paths[0]: "relative/path" is not an absolute path',
                          timeout=10)
            a.wait_logged("POLICY_REFUSED",
                          "HiveNamespacedPolicy team-a/sneaky: spec.host: not allowed: a HiveNamespacedPolicy selects "
                          "pods of its own namespace only", timeout=10)
            # The rest keeps running, the refused host path is not watched.
            a.wait_read_logged(good, timeout=10, policy="good", policy_kind="HivePolicy")
            pid = cat(tenant_file)
            a.assert_not_logged(pid, good, policy="good")

            # Said where the policy's author looks: status, Events, NodeWatch.
            for kind, name, ns, reason in (("hivepolicy", "bad", None, "is not an absolute path"),
                                           ("hivenamespacedpolicy", "sneaky", "team-a", "spec.host: not allowed")):
                wait_until(lambda: (self.node_status(kind, name, "node-a", ns) or {}).get("state") == "Rejected", 10,
                           interval=0.2, what=f"{name} Rejected in its status")
                self.assertIn(reason, self.node_status(kind, name, "node-a", ns)["reason"])

                def events():
                    r = self.cluster.kubectl("get", "events", "-n", ns or "default", "-o", "json",
                                             "--field-selector", f"involvedObject.name={name},reason=PolicyRejected")
                    return json.loads(r.stdout)["items"]
                try:
                    ev = wait_until(events, 10, interval=0.2, what=f"an Event on {name}")[0]
                except AssertionError:
                    print("\n".join("# " + line for line in a.log_text().splitlines() if "libbpf" not in line))
                    raise
                self.assertEqual(ev["type"], "Warning")
                self.assertIn("node node-a refuses generation 1", ev["message"])
                self.assertIn(reason, ev["message"])
                described = self.cluster.kubectl("describe", kind, name, *(["-n", ns] if ns else [])).stdout
                self.assertIn("PolicyRejected", described)
            wait_until(lambda: self.counts("hivepolicy", "bad")[1] == 1, 10, interval=0.2, what="rejectedNodes 1")
            # The NodeWatch is written at most once a second, apart from the
            # objects' status: wait for the report itself.
            expected = {("bad", "Rejected"), ("good", "Applied"), ("team-a/sneaky", "Rejected")}
            wait_until(lambda: self.report("node-a") == expected, 10, interval=0.2,
                       what=f"node-a's NodeWatch reporting {expected}")
            # And on its metrics page.
            page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            self.assertIn('hive_policy_objects{state="applied"} 1\n', page)
            self.assertIn('hive_policy_objects{state="rejected"} 2\n', page)
        finally:
            self.cluster.kubectl("delete", "hivepolicies,hivenamespacedpolicies", "--all", "--all-namespaces")
            self.loosen_crd(False)

    def test_agents_write_only_their_own_status(self):
        a = self.agent("node-a")
        self.apply(hive_policy("shared", {"host": True, "paths": [self.secret("node-a")]}))
        self.wait_applied(["node-a"], "shared", 1)
        b = self.cluster.agent_kubeconfig("node-b")
        patch = ["patch", "hivepolicy", "shared", "--subresource=status", "--type=merge", "-p"]
        r = self.cluster.kubectl(*patch, json.dumps({"status": {"nodes": {"node-a": {"generation": 1,
                                 "state": "Rejected", "reason": "forged"}}}}), kubeconfig=b, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("may write only its own entry (status.nodes.node-b)", r.stderr)
        r = self.cluster.kubectl(*patch, json.dumps({"status": {"nodes": {"node-a": None}}}), kubeconfig=b,
                                 check=False)
        self.assertIn("may write only its own entry", r.stderr)
        # Its own entry it may write; the spec it may not.
        self.cluster.kubectl(*patch, json.dumps({"status": {"nodes": {"node-b": {"generation": 1,
                             "state": "Applied"}}}}), kubeconfig=b)
        r = self.cluster.kubectl("patch", "hivepolicy", "shared", "--type=merge", "-p",
                                 json.dumps({"spec": {"paths": ["/nothing"]}}), kubeconfig=b, check=False)
        self.assertIn("forbidden", r.stderr)
        r = self.cluster.kubectl("create", "-f", "-", kubeconfig=b, check=False, input=json.dumps({
            "apiVersion": "v1", "kind": "Event", "metadata": {"generateName": "x.", "namespace": "default"},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": "x"}, "reason": "x", "message": "x",
            "reportingComponent": "hive.io/hived", "reportingInstance": "node-b"}))
        self.assertIn("may create Events only about Hive objects", r.stderr)
        # About a Node: its own only.
        for node, refused in (("node-a", True), ("node-b", False)):
            r = self.cluster.kubectl("create", "-f", "-", kubeconfig=b, check=False, input=json.dumps({
                "apiVersion": "v1", "kind": "Event", "metadata": {"generateName": "x.", "namespace": "default"},
                "involvedObject": {"apiVersion": "v1", "kind": "Node", "name": node}, "reason": "x",
                "message": "x", "reportingComponent": "hive.io/hived", "reportingInstance": "node-b"}))
            self.assertEqual("and its own Node" in r.stderr, refused, r.stderr)
            self.assertEqual(r.returncode != 0, refused, r.stderr)
        self.assertEqual(self.node_status("hivepolicy", "shared", "node-a")["state"], "Applied")
        self.assertEqual(a.proc.poll(), None)

        # A restarted agent finds its entry standing and writes nothing
        # (on a large cluster every agent restart would otherwise write
        # every policy's status).
        version = self.get("hivepolicy", "shared")["metadata"]["resourceVersion"]
        self.assertEqual(a.stop(), 0)
        a.close()
        a = self.agent("node-a")
        report = {"kind": "HivePolicy", "name": "shared", "generation": 1, "state": "Applied"}
        wait_until(lambda: report in (self.nodewatch("node-a") or {}).get("status", {}).get("policies", []), 10,
                   interval=0.2, what="the restarted agent's report")
        # Positive control: an object that appears now needs a status
        # write. The agent writes one status at a time, and any write for
        # "shared" was due at its list, before the report above: it would
        # be in before the control's.
        self.apply(hive_policy("control", {"host": True, "paths": [self.secret("node-a")]}))
        self.wait_applied(["node-a"], "control", 1)
        self.assertEqual(self.get("hivepolicy", "shared")["metadata"]["resourceVersion"], version)

    def test_tenant_manages_namespaced_policies_of_its_namespace_only(self):
        self.cluster.kubectl("apply", "-f", TENANT)
        self.cluster.kubectl("create", "namespace", "team-b", check=False)
        alice = self.cluster.user_kubeconfig("alice")

        def can(*args):
            r = self.cluster.kubectl("auth", "can-i", *args, kubeconfig=alice, check=False)
            return r.stdout.strip()
        self.assertEqual(can("create", "hivenamespacedpolicies", "-n", "team-a"), "yes")
        self.assertEqual(can("delete", "hivenamespacedpolicies", "-n", "team-a"), "yes")
        self.assertEqual(can("create", "hivenamespacedpolicies", "-n", "team-b"), "no")
        self.assertEqual(can("create", "hivepolicies"), "no")
        self.assertEqual(can("patch", "hivenamespacedpolicies", "--subresource=status", "-n", "team-a"), "no")

        spec = {"paths": ["/etc/app/secret"], "podSelector": {"matchLabels": {"app": "web"}}}
        self.apply(hive_policy("mine", spec, namespace="team-a"), kubeconfig=alice)
        r = self.apply(hive_policy("theirs", spec, namespace="team-b"), kubeconfig=alice, check=False)
        self.assertIn('User "alice" cannot', r.stderr)
        r = self.apply(hive_policy("everyone", {"host": True, "paths": ["/etc/shadow"]}), kubeconfig=alice,
                       check=False)
        self.assertIn('User "alice" cannot', r.stderr)
        names = self.cluster.kubectl("get", "hivepolicies,hivenamespacedpolicies", "-A", "-o", "name").stdout.split()
        self.assertEqual(sorted(names), ["hivenamespacedpolicy.hive.io/mine", "hivenamespacedpolicy.hive.io/web-secret"])

    def test_a_tenant_cannot_starve_the_others(self):
        """Quotas per namespace, and the admin's policies (files first, then
        HivePolicies) never held back by any number of tenants' objects."""
        for ns in ("team-q", "team-r"):
            self.cluster.kubectl("create", "namespace", ns, check=False)
        mine, admins = self.file("mine"), self.file("admins")
        a = self.agent("node-a", policies={"p.json": [host_policy("mine", mine)]},
                       config="namespace_max_policies = 3\nnamespace_max_paths = 4\n")
        wait_until(lambda: self.role(a) == "leader", 15, what="node-a to lead")
        self.apply(hive_policy("admins", {"host": True, "paths": [admins]}))
        spec = {"paths": ["/etc/app/secret"], "podSelector": {"matchLabels": {"app": "web"}}}
        for i in range(5):
            self.apply(hive_policy(f"t{i}", spec, namespace="team-q"))
        # Judged in name order: 3 paths, then 2 more past the 4.
        self.apply(hive_policy("r1", dict(spec, paths=["/c", "/d", "/e"]), namespace="team-r"))
        self.apply(hive_policy("r2", dict(spec, paths=["/a", "/b"]), namespace="team-r"))
        for name, ns in (("t0", "team-q"), ("t1", "team-q"), ("t2", "team-q"), ("r1", "team-r")):
            self.wait_applied(["node-a"], name, 1, kind="hivenamespacedpolicy", namespace=ns)
        for name, ns, quota in (("t3", "team-q", "namespace_max_policies"), ("t4", "team-q", "namespace_max_policies"),
                                ("r2", "team-r", "namespace_max_paths")):
            st = wait_until(lambda: (self.node_status("hivenamespacedpolicy", name, "node-a", ns) or {})
                            .get("state") == "Rejected" and self.node_status("hivenamespacedpolicy", name, "node-a", ns),
                            10, interval=0.2, what=f"{ns}/{name} rejected")
            self.assertIn(quota, st["reason"])
        self.wait_applied(["node-a"], "admins", 1)
        a.wait_read_logged(admins, policy="admins", policy_kind="HivePolicy")
        a.wait_read_logged(mine, policy="mine", policy_kind="file")

    def test_tenants_objects_never_freeze_the_admins_policies(self):
        """More tenants' objects than the node applies in all (4096): the
        policy files and HivePolicies still apply, and so does a reload."""
        self.cluster.kubectl("create", "namespace", "team-many", check=False)
        mine, later, admins = self.file("mine"), self.file("later"), self.file("admins")
        a = self.agent("node-a", policies={"p.json": [host_policy("mine", mine)]},
                       config="namespace_max_policies = 4096\nnamespace_max_paths = 100000\n")
        wait_until(lambda: self.role(a) == "leader", 15, what="node-a to lead")
        spec = {"paths": ["/etc/app/secret"], "podSelector": {"matchLabels": {"app": "web"}}}
        started = time.monotonic()
        items = [hive_policy(f"p{i:04d}", spec, namespace="team-many") for i in range(4100)]
        self.cluster.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        self.addCleanup(self.cluster.kubectl, "delete", "hivenamespacedpolicies", "-n", "team-many", "--all",
                        "--wait=false")
        print(f"# 4100 HiveNamespacedPolicies created in {time.monotonic() - started:.1f} s")
        self.apply(hive_policy("admins", {"host": True, "paths": [admins]}))
        # The file's policy and the HivePolicy first; the tenant's last ones
        # past the node's 4096.
        # (Its status comes after 4,096 others' are written: the log says it.)
        a.wait_log("HiveNamespacedPolicy team-many/p4099 is refused by this node", timeout=120)
        print(f"# the last one refused {time.monotonic() - started:.1f} s after the first was sent")
        self.assertTrue("this node applies at most 4096 policies in all, 1 of them from its policy files" in
                        a.log_text(), "the reason not logged")
        a.wait_read_logged(admins, policy="admins", policy_kind="HivePolicy", timeout=20)
        # A reload with another file policy is not refused.
        a.write_policy("q.json", json.dumps(host_policy("later", later)))
        a.reload()
        self.assertNotIn("FAILED", a.status())
        a.wait_read_logged(later, policy="later", policy_kind="file", timeout=20)

    def test_policies_keep_running_while_the_api_server_is_down(self):
        kept = self.file("kept")
        a = self.agent("node-a")
        self.apply(hive_policy("kept", {"host": True, "paths": [kept]}))
        a.wait_read_logged(kept, timeout=10, policy="kept")
        self.cluster.stop_apiserver()
        down = time.monotonic()
        reads = 0
        while time.monotonic() - down < 30:
            a.wait_read_logged(kept, policy="kept", policy_kind="HivePolicy")
            reads += 1
            time.sleep(2)
        self.cluster.start_apiserver()
        # Once back, changes apply again: at the agent's next retry, at most
        # 30 s (+20% jitter) apart after a long outage.
        other = self.file("other")
        self.apply(hive_policy("kept", {"host": True, "paths": [other]}))
        a.wait_read_logged(other, timeout=45, policy="kept")
        print(f"# {reads} reads logged during 30 s without an API server")


if __name__ == "__main__":
    hivetest.main()
