#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hived as a service: sd_notify protocol, attach mode selection, clean
detach, refusal of bad configuration, safe output of hostile strings."""

import json
import os
import signal
import subprocess
import sys
import threading
import unittest

from tests.lib import hivetest
from tests.lib.hivetest import HIVED, SRC, Hived, bpf_ids, cat, host_policy, run, wait_until


class Lifecycle(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.file = os.path.join(self.tmp, "f")
        with open(self.file, "w") as f:
            f.write("x\n")


    def test_notify_ready_status_stopping(self):
        h = Hived({"p.json": host_policy("f", self.file)}).start()
        try:
            self.assertRegex(h.status(), r"^(fentry|kprobe|tracepoint) mode; watching 1 inodes for 1 entries")
            # READY=1 means attached and filled: an access right after is logged.
            p = subprocess.Popen(["cat", self.file], stdout=subprocess.DEVNULL)
            p.wait()
            h.wait_record(pid=p.pid)
            self.assertEqual(h.stop(), 0)
            self.assertIn("STOPPING=1", "".join(h.notifications()))
        finally:
            h.close()

    def test_sigterm_detaches_everything(self):
        h = Hived({"p.json": host_policy("f", self.file)}).start()
        try:
            progs = bpf_ids(h.proc.pid, "prog_id")
            links = bpf_ids(h.proc.pid, "link_id")
            self.assertTrue(progs)
            for i in progs:
                run("bpftool", "prog", "show", "id", str(i))
            self.assertEqual(h.stop(), 0)
            for i in progs:
                self.assertNotEqual(run("bpftool", "prog", "show", "id", str(i), check=False).returncode, 0,
                                    f"program {i} still loaded")
            for i in links:
                self.assertNotEqual(run("bpftool", "link", "show", "id", str(i), check=False).returncode, 0,
                                    f"link {i} still attached")
        finally:
            h.close()

    def test_forced_tracepoint_mode(self):
        with Hived({"p.json": host_policy("f", self.file)}, args=["--attach", "tracepoint"]) as h:
            p = subprocess.Popen(["cat", self.file], stdout=subprocess.DEVNULL)
            p.wait()
            self.assertEqual(h.wait_record(pid=p.pid)["attach"], "tracepoint")
            h.wait_logged("ATTACHED", "tracepoint mode")  # stderr is read apart from the records

    def test_auto_mode_says_why_it_skipped_modes(self):
        with Hived({"p.json": host_policy("f", self.file)}) as h:
            line = h.wait_logged("ATTACHED")
            mode = line.split("Attached in ")[1].split()[0]
            # Each mode before the chosen one is named with its reason; none after it.
            skipped = {"fentry": [], "kprobe": ["fentry"], "tracepoint": ["fentry", "kprobe"]}[mode]
            if skipped:
                self.assertRegex(line, r"skipped: " + ", ".join(rf"{m}: [^,.]+" for m in skipped))
            else:
                self.assertNotIn("skipped", line)
            self.assertEqual(h.wait_read_logged(self.file)["attach"], mode)

    def test_unavailable_forced_mode_fails_clearly(self):
        for mode in ("fentry", "kprobe"):
            h = Hived({"p.json": host_policy("f", self.file)}, args=["--attach", mode]).start(wait=False)
            try:
                try:
                    h.wait_ready(timeout=10)
                    continue  # this kernel has it
                except AssertionError:
                    pass
                self.assertEqual(h.proc.wait(10), 1)
                self.assertTrue(h.logged("ATTACH_FAILED", f"in {mode} mode"), h.log_text())
            finally:
                h.close()

    def test_bad_config_is_refused_with_file_and_line(self):
        h = Hived({"p.json": host_policy("f", self.file)}, config="[agent]\noutput = syslog\n").start(wait=False)
        try:
            self.assertEqual(h.proc.wait(10), 1)
            h.stop()
            self.assertIn("hive.conf:2: output: \"syslog\" is not one of journal, json", h.log_text())
        finally:
            h.close()

    def test_bad_policies_at_start_are_refused(self):
        h = Hived({"p.json": '{"name": "f", "host": true, "paths": ["f"]}'}).start(wait=False)
        try:
            self.assertEqual(h.proc.wait(10), 1)
            h.stop()
            self.assertIn("p.json: policy #1 \"f\": paths[0]: \"f\" is not an absolute path", h.log_text())
        finally:
            h.close()

    def test_demo_prints_records_only(self):
        """README's first command: tools/demo builds and runs hived on the
        demo policies, and its stdout is JSON records only (the build's
        output goes to stderr), so that it can be piped into jq."""
        p = subprocess.Popen([os.path.join(SRC, "tools", "demo")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, start_new_session=True)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)
        reader.start()
        try:
            pids = []

            def read_logged():
                pids.append(cat("/etc/shadow"))
                return [line for line in list(lines) if json.loads(line).get("pid") in pids]
            # Building from scratch takes a while; a built tree starts at once.
            wait_until(read_logged, 600, interval=0.5, what="a record of a read of /etc/shadow")
        finally:
            os.killpg(p.pid, signal.SIGINT)
            p.wait(30)
            reader.join(10)
        records = [json.loads(line) for line in lines]  # every line: a JSON object
        self.assertTrue(records)
        self.assertTrue(all(r["policy"] in ("etc-shadow", "sudoers") for r in records), records)

    def test_version_and_help(self):
        self.assertRegex(run(HIVED, "--version").stdout, r"^hived \d+\.\d+\.\d+")
        self.assertIn("--policy-dir", run(HIVED, "--help").stdout)
        self.assertEqual(run(HIVED, "--bogus", check=False).returncode, 2)


class OutputSafety(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.file = os.path.join(self.tmp, "f")
        open(self.file, "w").close()
        self.hived = Hived({"p.json": host_policy("f", self.file)}).start()

    def tearDown(self):
        self.hived.close()

    def test_hostile_comm_is_escaped(self):
        script = ("import ctypes, os, sys\n"
                  "ctypes.CDLL(None).prctl(15, b'ev\\nil\\x1b[31m\\xff', 0, 0, 0)\n"
                  "os.close(os.open(sys.argv[1], os.O_RDONLY))\n")
        p = subprocess.Popen([sys.executable, "-c", script, self.file])
        p.wait()
        r = self.hived.wait_record(pid=p.pid)
        self.assertEqual(r["comm"], "ev\\x0ail\\x1b[31m\\xff")
        # Every line hived wrote parsed as one JSON object: no line was split.
        self.assertEqual([x for x in self.hived.snapshot() if "_unparsed" in x], [])

    def test_exe_of_a_living_process(self):
        script = "import os, sys, time\nos.close(os.open(sys.argv[1], os.O_RDONLY))\ntime.sleep(1)\n"
        p = subprocess.Popen([sys.executable, "-c", script, self.file])
        r = self.hived.wait_record(pid=p.pid)
        p.wait()
        self.assertEqual(r["exe"], os.path.realpath(sys.executable))


if __name__ == "__main__":
    hivetest.main()
