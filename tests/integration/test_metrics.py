#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The /metrics endpoint of a real hived: scraped by a real Prometheus
(Debian's package, on loopback, with a data directory of its own) whose HTTP
API the test queries; linted by promtool; the alert rules checked and
unit-tested by promtool; hostile clients (slowloris, 1,000 connections, a
1 MiB request line, other methods and paths) while records keep flowing;
label sets bounded whatever the number of policies."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from tests.lib import hivetest
from tests.lib.hivetest import Hived, cat, free_port, host_policy, metrics_samples, wait_until

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
RULES = os.path.join(hivetest.SRC, "deploy", "prometheus")


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def value(page, name, **labels):
    return metrics_samples(page).get((name, frozenset(labels.items())))


class Metrics(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        if not PROMETHEUS or not PROMTOOL:
            self.skipTest("prometheus and promtool not installed (tools/install-build-deps --tests)")
        self.tmp = hivetest.files_dir(self)
        self.file = os.path.join(self.tmp, "secret")
        with open(self.file, "w") as f:
            f.write("s\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/metrics"

    def start(self, *policies, config=""):
        h = Hived({f"{p['name']}.json": p for p in policies or [host_policy("m", self.file)]},
                  config=config + f"\n[metrics]\nlisten = 127.0.0.1:{self.port}\n", args=["--dedup-window", "0"])
        h.start()
        self.addCleanup(h.stop)
        return h

    def reads(self, h, n, path=None, paced=False):
        """n reads of path, each a record (dedup off); waits for them all.
        Paced: each waits for the one before it to be a record, so that a
        small ring buffer never overflows, however slow the agent runs."""
        path = path or self.file
        before = len(h.matching(path=path))
        for i in range(n):
            cat(path)
            if paced:
                wait_until(lambda: len(h.matching(path=path)) >= before + i + 1, 10, what=f"record {i + 1} of {path}")
        wait_until(lambda: len(h.matching(path=path)) >= before + n, 10, what=f"{n} records of {path}")

    def test_page_counts_what_the_test_did_and_passes_promtool(self):
        started = time.time()
        h = self.start()
        self.reads(h, 100)
        status, page = get(self.url)
        self.assertEqual(status, 200)
        self.assertEqual(value(page, "hive_accesses_total", policy="m", access="read", outcome="recorded"), 100)
        self.assertEqual(value(page, "hive_accesses_total", policy="m", access="read", outcome="suppressed"), 0)
        self.assertEqual(value(page, "hive_role", role="standalone"), 1)
        self.assertEqual(value(page, "hive_watch_entries", source="host"), 1)
        # From /proc/self/stat, read after the command name.
        self.assertGreater(value(page, "process_resident_memory_bytes"), 0)
        self.assertGreater(value(page, "process_virtual_memory_bytes"), value(page, "process_resident_memory_bytes"))
        self.assertLess(abs(value(page, "process_start_time_seconds") - started), 2)
        build = [k for k in metrics_samples(page) if k[0] == "hive_build_info"][0]
        self.assertEqual({n for n, _ in build[1]}, {"version", "attach_mode", "kernel"})
        # The same figures as the status line (and hivectl status).
        records = int(re.search(r"(\d+) records", h.status()).group(1)) if h.status() else None
        self.assertGreaterEqual(value(page, "hive_records_total", output="json"), 100)
        if records is not None:
            self.assertLessEqual(records, value(page, "hive_records_total", output="json"))
        lint = subprocess.run([PROMTOOL, "check", "metrics"], input=page, text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        self.assertEqual((lint.returncode, lint.stdout.strip()), (0, ""), page)

    def test_alert_rules(self):
        for args in (["check", "rules", "hive-rules.yaml"], ["test", "rules", "hive-rules.test.yaml"]):
            r = subprocess.run([PROMTOOL] + args, cwd=RULES, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertIn("SUCCESS", r.stdout)

    def prometheus(self):
        """A real Prometheus scraping the agent every second, with the
        alert rules loaded; returns a query function."""
        data = tempfile.mkdtemp(prefix="hive-prometheus-", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, data, ignore_errors=True)
        web = free_port()
        with open(os.path.join(data, "prometheus.yml"), "w") as f:
            f.write(f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    f"rule_files:\n  - {RULES}/hive-rules.yaml\n"
                    f"scrape_configs:\n  - job_name: hive\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{self.port}']\n")
        p = subprocess.Popen([PROMETHEUS, f"--config.file={data}/prometheus.yml", f"--storage.tsdb.path={data}/tsdb",
                              f"--web.listen-address=127.0.0.1:{web}"], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(data, "log"), "w"))

        def stop():
            p.terminate()
            p.wait(20)
        self.addCleanup(stop)

        def query(q):
            try:
                _, body = get(f"http://127.0.0.1:{web}/api/v1/query?" + urllib.parse.urlencode({"query": q}))
            except (urllib.error.URLError, ConnectionError):
                return None
            result = json.loads(body)["data"]["result"]
            return {frozenset(r["metric"].items()): float(r["value"][1]) for r in result}
        return query

    def test_a_real_prometheus_scrapes_the_figures_the_test_caused(self):
        """Accesses made, a flood that drops, a reload, a policy refused:
        each found through Prometheus' own HTTP API."""
        other = os.path.join(self.tmp, "other")
        open(other, "w").close()
        h = self.start(host_policy("m", self.file), config="ringbuf_kib = 4\n")
        query = self.prometheus()

        def found(q, want):
            def check():
                r = query(q)
                return r and list(r.values()) == [want]
            wait_until(check, 30, interval=0.5, what=f"{q} == {want} in Prometheus (got {query(q)})")

        found('up{job="hive"}', 1)
        self.reads(h, 100, paced=True)
        found('hive_accesses_total{policy="m",access="read",outcome="recorded"}', 100)
        # A flood while hived is stopped: a 4 KiB ring holds a few events.
        h.proc.send_signal(signal.SIGSTOP)
        try:
            for _ in range(200):
                cat(self.file)
        finally:
            h.proc.send_signal(signal.SIGCONT)
        wait_until(lambda: re.search(r"(\d+) dropped", h.status()) and
                   int(re.search(r"(\d+) dropped", h.status()).group(1)) > 0, 10, what="drops counted")
        dropped = int(re.search(r"(\d+) dropped", h.status()).group(1))
        found('hive_accesses_total{outcome="dropped"}', dropped)
        found('hive_kernel_accesses_total{stage="dropped"}', dropped)
        # A reload that adds a policy, then one refused.
        with open(os.path.join(h.policy_dir, "n.json"), "w") as f:
            json.dump(host_policy("n", other), f)
        h.reload()
        found("hive_policies", 2)
        found('hive_reloads_total{result="applied"}', 1)
        with open(os.path.join(h.policy_dir, "bad.json"), "w") as f:
            f.write('{"name": "bad", "paths": ["relative"]}')
        h.reload()
        found('hive_reloads_total{result="refused"}', 1)
        found("hive_last_reload_failed", 1)
        found("hive_policies", 2)

    def test_hostile_clients(self):
        """While records flow: a slowloris connection, 1,000 connections at
        once, a 1 MiB request line, a POST and another path. Each is refused
        or cut off, the next good request is answered, memory stays bounded."""
        h = self.start()
        get(self.url)
        rss = int(next(l for l in open(f"/proc/{h.proc.pid}/status") if l.startswith("VmRSS:")).split()[1])
        stop = threading.Event()
        flowing = []

        def reader():
            while not stop.is_set():
                pid = cat(self.file)
                flowing.append(bool(wait_until(lambda: h.matching(pid=pid), 10, what=f"record of {pid}")))
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        try:
            # Slowloris: a byte a second, never a whole request; it is cut
            # off (the deadline: 5 s), and good scrapes are answered meanwhile.
            slow = socket.create_connection(("127.0.0.1", self.port))
            slow.settimeout(1)
            slow.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
            start, closed = time.monotonic(), False
            while not closed and time.monotonic() - start < 30:
                try:
                    slow.send(b"a")
                    closed = slow.recv(1) == b""
                except socket.timeout:
                    pass
                except OSError:
                    closed = True
                self.assertEqual(get(self.url)[0], 200)
            slow.close()
            self.assertTrue(closed, "a slow client was never cut off")

            # 1,000 connections at once, idle.
            many = []
            for _ in range(1000):
                try:
                    many.append(socket.create_connection(("127.0.0.1", self.port), timeout=2))
                except OSError:
                    pass
            for s in many:
                s.close()
            self.assertEqual(wait_until(lambda: self.try_get(), 15, interval=0.2, what="a good scrape")[0], 200)

            # A 1 MiB request line.
            big = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            try:
                big.sendall(b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
                answer = big.recv(100)
            except (BrokenPipeError, ConnectionResetError):
                answer = b""
            big.close()
            self.assertFalse(answer.startswith(b"HTTP/1.1 200"), answer)

            # Another method, another path.
            for method, path, code in (("POST", "/metrics", 405), ("GET", "/", 404), ("GET", "/metrics/x", 404)):
                req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method, data=b"" if
                                             method == "POST" else None)
                with self.assertRaises(urllib.error.HTTPError) as e:
                    urllib.request.urlopen(req, timeout=5)
                self.assertEqual(e.exception.code, code)
            self.assertEqual(get(self.url)[0], 200)
        finally:
            stop.set()
            t.join(20)
        self.assertTrue(flowing and all(flowing), "records stopped flowing")
        now = int(next(l for l in open(f"/proc/{h.proc.pid}/status") if l.startswith("VmRSS:")).split()[1])
        self.assertLess(now - rss, 16 * 1024, f"RSS grew from {rss} to {now} KiB")

    def try_get(self):
        try:
            return get(self.url)
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            return None

    def test_labels_stay_bounded(self):
        """100 policies: hive_accesses_total has one label set per policy,
        kind and outcome, and no label names a path, pod or process."""
        files = []
        for i in range(100):
            files.append(os.path.join(self.tmp, f"f{i}"))
            open(files[-1], "w").close()
        h = self.start(*[host_policy(f"p{i}", f) for i, f in enumerate(files)])
        for f in files:
            cat(f)
        wait_until(lambda: len(h.snapshot()) >= 100, 10, what="100 records")
        s = metrics_samples(get(self.url)[1])
        names = {n for (_, labels) in s for n, _ in labels}
        self.assertLessEqual(names, {"policy", "access", "outcome", "role", "source", "map", "output", "stage",
                                     "result", "version", "attach_mode", "kernel", "verb", "code", "state", "answer"})
        accesses = [labels for (name, labels) in s if name == "hive_accesses_total"]
        self.assertEqual(len(accesses), 100 * 5 + 1)  # read x 5 outcomes per policy, dropped once
        self.assertEqual({dict(l)["policy"] for l in accesses}, {f"p{i}" for i in range(100)} | {""})


if __name__ == "__main__":
    hivetest.main()
