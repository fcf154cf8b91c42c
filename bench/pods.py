# SPDX-License-Identifier: MIT
"""How soon a pod's files are watched once it runs, on a real node (a real
kube-apiserver + etcd, a kubelet on containerd: tests/cluster). Run as root
after building (meson compile -C build), from the source tree's root
(bench/run --only pods runs it so):

    sudo python3 -m bench.pods [--build DIR] [--pods N] [--batch N]

For each pod: from the moment the API server's watch shows it Running with
every container running (what the agent itself waits for), to the moment
hived says it watches the pod's file, which it does right after writing the
kernel map. Both are taken on this machine's monotonic clock as the lines
arrive. Prints p50/p99/max over the pods, and hived's CPU use while the pods
just run (the periodic re-resolution of their paths).
"""

import argparse
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from tests.lib import kubecluster
from tests.lib.hivetest import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))

NODE = "bench-node"


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class RunningWatch(threading.Thread):
    """Pods of the default namespace as the API server streams them: when
    each was first seen with all containers running."""

    def __init__(self, cluster):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.running = {}

    def run(self):
        ctx = ssl.create_default_context(cafile=self.cluster.path("ca.crt"))
        ctx.load_cert_chain(self.cluster.path("admin.crt"), self.cluster.path("admin.key"))
        url = self.cluster.server + "/api/v1/namespaces/default/pods?watch=1"
        with urllib.request.urlopen(url, context=ctx) as stream:
            for line in stream:
                now = time.monotonic()
                pod = json.loads(line)["object"]
                st = pod.get("status", {}).get("containerStatuses", [])
                name = pod["metadata"]["name"]
                if st and all("running" in s.get("state", {}) for s in st) and name not in self.running:
                    self.running[name] = now


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--pods", type=int, default=50)
    ap.add_argument("--batch", type=int, default=10)
    args = ap.parse_args()
    hived = os.path.join(args.build, "hived")

    work = tempfile.mkdtemp(prefix="hive-bench-pods-")
    cluster = kubecluster.Cluster(os.path.join(work, "c"))
    watched = {}
    try:
        cluster.up()
        node = cluster.node(NODE).up()
        os.mkdir(os.path.join(work, "p"))
        with open(os.path.join(work, "p", "bench.json"), "w") as f:
            json.dump({"name": "bench", "paths": ["/etc/shadow"], "namespaces": ["default"]}, f)
        with open(os.path.join(work, "hive.conf"), "w") as f:
            f.write(f"[agent]\nnode_name = {NODE}\n[kubernetes]\nkubeconfig = {cluster.agent_kubeconfig(NODE)}\n")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(os.path.join(work, "notify"))
        agent = subprocess.Popen([hived, "--config", os.path.join(work, "hive.conf"), "--policy-dir",
                                  os.path.join(work, "p"), "--output", "json"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True,
                                 env=dict(os.environ, NOTIFY_SOCKET=os.path.join(work, "notify")))

        log = []

        def read_log():
            for line in agent.stderr:
                now = time.monotonic()
                log.append(line)
                if line.startswith("Watching /etc/shadow (policy bench) in pod default/"):
                    watched.setdefault(line.split("in pod default/")[1].split()[0], now)
        threading.Thread(target=read_log, daemon=True).start()

        def drain_notify():  # as systemd would: a full socket blocks sd_notify()
            while True:
                sock.recv(4096)
        threading.Thread(target=drain_notify, daemon=True).start()
        watch = RunningWatch(cluster)
        watch.start()
        time.sleep(2)

        names = [f"bench-{i}" for i in range(args.pods)]
        start = time.monotonic()
        for b in range(0, len(names), args.batch):
            node.run_pods([node.pod_manifest(n) for n in names[b:b + args.batch]])
        try:
            wait_until(lambda: all(n in watched for n in names), 60, interval=0.2, what="every pod's file watched")
        except RuntimeError:
            sys.exit("".join(l for l in log if not l.startswith("Watching")) + f"\nnot watched: {[n for n in names if n not in watched]}")
        took = time.monotonic() - start
        # What watching them costs while nothing happens: the periodic
        # re-resolution of every container path.
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu_s():
            f = open(f"/proc/{agent.pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / ticks
        c0, t0 = cpu_s(), time.monotonic()
        time.sleep(20)
        idle_cpu = (cpu_s() - c0) / (time.monotonic() - t0) * 100
        lat = [(watched[n] - watch.running[n]) * 1000 for n in names]
        print(f"| pods | p50 | p99 | max | all {args.pods} pods Running and watched |")
        print("|---|---|---|---|---|")
        print(f"| {args.pods} (batches of {args.batch}) | {percentile(lat, 50):.0f} ms | {percentile(lat, 99):.0f} ms "
              f"| {max(lat):.0f} ms | {took:.1f} s |")
        print(f"(Running, as the API server's watch shows it, to the agent's map update; "
              f"negative: the agent was first. mean {statistics.mean(lat):.0f} ms)")
        print(f"hived CPU with {args.pods} watched pods, idle for 20 s: {idle_cpu:.1f}% of one CPU")
        node.delete_pods(names, wait=False)
        agent.terminate()
        agent.wait(10)
    finally:
        cluster.down()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
