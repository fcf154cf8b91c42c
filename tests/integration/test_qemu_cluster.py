# SPDX-License-Identifier: MIT
"""Cluster mode where the kernel runs BPF LSM programs, which this host's
does not: two agents of two nodes in a QEMU guest (Debian bookworm's stock
6.1, booted with bpf in lsm=) against this class's real API server on the
host, refusing in the kernel while the lease moves between them
(tests/kernel/hived-cluster.sh says what is checked in the guest)."""

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from tests.lib import hivetest, kubecluster
from tests.lib.clustertest import ClusterTest

RUN_QEMU = os.path.join(hivetest.SRC, "tests", "kernel", "run-qemu")
KEEPER = os.environ.get("FDSTORE_KEEPER", os.path.join(hivetest.BUILD, "tests", "fdstore-keeper"))
KERNEL_TEST = os.environ.get("HIVE_KERNEL_TEST", os.path.join(hivetest.BUILD, "tests", "hive-kernel-test"))
# The host's loopback, as QEMU's user networking shows it to the guest.
HOST_FROM_GUEST = "10.0.2.2"


def guest_kubeconfig(cluster, node, out_dir):
    """node's agent kubeconfig for the guest: the host's API server as the
    guest reaches it, the certificates where run-qemu puts them (/cluster)."""
    cluster.agent_kubeconfig(node)
    for f in ("ca.crt", f"agent-{node}.crt", f"agent-{node}.key"):
        shutil.copy(cluster.path(f), os.path.join(out_dir, f))
    with open(os.path.join(out_dir, f"{node}.kubeconfig"), "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: /cluster/ca.crt
    server: https://{HOST_FROM_GUEST}:{cluster.state['apiserver_port']}
  name: hive-test
contexts:
- context:
    cluster: hive-test
    user: {node}
  name: hive-test
current-context: hive-test
users:
- name: {node}
  user:
    client-certificate: /cluster/agent-{node}.crt
    client-key: /cluster/agent-{node}.key
""")


def hook(cluster_dir, action, *args):
    """What the guest asks of the host (run-qemu's --cluster HOOK)."""
    cluster = kubecluster.Cluster(cluster_dir)
    boot_id_file = os.path.join(cluster_dir, "guest-boot-id")
    if action == "boot-id":
        with open(boot_id_file, "w") as f:
            f.write(args[0])
        for node in ("node-a", "node-b"):
            cluster.register_node(node, args[0])
        return
    if action == "hand-over":
        # As the admin: agents may not write another holder (test_cluster_security.py).
        name = "hive-" + open(boot_id_file).read().strip()
        lease = json.loads(cluster.kubectl("get", "lease", "-n", "hive-system", name, "-o", "json").stdout)
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lease["spec"].update(holderIdentity=args[0], acquireTime=now, renewTime=now,
                             leaseTransitions=lease["spec"].get("leaseTransitions", 0) + 1)
        del lease["metadata"]["resourceVersion"]
        cluster.kubectl("replace", "-f", "-", input=json.dumps(lease))
        print(f"lease {name} handed to {args[0]}")
        return
    sys.exit(f"unknown request {action}")


class QemuCluster(ClusterTest):
    def test_refusals_in_the_kernel_move_with_the_lease(self):
        for path in (hivetest.HIVED, KEEPER, KERNEL_TEST):
            if not os.path.exists(path):
                self.skipTest(f"{path} was not built")
        work = tempfile.mkdtemp(prefix="hive-qemu-cluster-")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        files = os.path.join(work, "cluster")
        os.mkdir(files)
        for node in ("node-a", "node-b"):
            guest_kubeconfig(self.cluster, node, files)
        hook_script = os.path.join(work, "hook")
        with open(hook_script, "w") as f:
            f.write(f"#!/bin/sh\nexec env PYTHONPATH={hivetest.SRC} {sys.executable} -m "
                    f"tests.integration.test_qemu_cluster hook {self.cluster.dir} \"$@\"\n")
        os.chmod(hook_script, 0o755)
        r = subprocess.run([sys.executable, RUN_QEMU, "--release", "bookworm", "--hived", hivetest.HIVED, KEEPER,
                            "--cluster", files, hook_script, KERNEL_TEST],
                           env={**os.environ, "HIVE_QEMU_MODES": "none"}, stdout=subprocess.PIPE, text=True)
        if re.search(r"^1\.\.0 # SKIP", r.stdout, re.M):
            self.fail(r.stdout.strip())  # tests/prepare caches the kernel and its NIC module
        results = re.findall(r"^(ok|not ok) \d+ - (.*)$", r.stdout, re.M)
        failed = [what for status, what in results if status != "ok"]
        self.assertEqual(failed, [], r.stdout)
        self.assertGreaterEqual(len([1 for _, what in results if what.startswith("cluster: ")]), 20, r.stdout)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "hook":
        hook(*sys.argv[2:])
    else:
        hivetest.main()
