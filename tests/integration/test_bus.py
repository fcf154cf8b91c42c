#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hivectl talking to hived over a real system bus: a dbus-daemon the test
starts in a private mount namespace (its own /run), with Hive's bus policy."""

import ctypes
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.request

from tests.lib import hivetest
from tests.lib.hivetest import HIVECTL, SRC, Hived, free_port, host_policy, run, wait_until



class Bus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hivetest.skip_unless_root()
        if not shutil.which("dbus-daemon"):
            raise unittest.SkipTest("dbus-daemon not installed (package dbus)")
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x00020000) != 0:
            raise unittest.SkipTest(f"cannot unshare the mount namespace: {os.strerror(ctypes.get_errno())}")
        run("mount", "--make-rprivate", "/")
        run("mount", "-t", "tmpfs", "tmpfs", "/run")
        os.makedirs("/run/dbus")
        cls.policy_dir = tempfile.mkdtemp(prefix="hive-dbus-")
        shutil.copy(os.path.join(SRC, "systemd", "io.hive.Hive1.conf"), cls.policy_dir)
        os.makedirs("/etc/dbus-1/system.d", exist_ok=True)
        run("mount", "--bind", cls.policy_dir, "/etc/dbus-1/system.d")
        cls.dbus = subprocess.Popen(["dbus-daemon", "--system", "--nofork", "--nopidfile"], stderr=subprocess.DEVNULL)
        wait_until(lambda: os.path.exists("/run/dbus/system_bus_socket"), 10, what="the system bus")

    @classmethod
    def tearDownClass(cls):
        cls.dbus.terminate()
        cls.dbus.wait()
        shutil.rmtree(cls.policy_dir, ignore_errors=True)

    def setUp(self):
        self.tmp = hivetest.files_dir(self)
        self.file = os.path.join(self.tmp, "secret")
        open(self.file, "w").close()
        self.port = free_port()
        self.hived = Hived({"p.json": host_policy("bus-test", self.file, os.path.join(self.tmp, "missing"))},
                           config=f"[metrics]\nlisten = 127.0.0.1:{self.port}\n").start()
        wait_until(lambda: run(HIVECTL, "status", check=False).returncode == 0, 5, what="hived on the bus")

    def tearDown(self):
        self.hived.close()

    def test_second_agent_is_told_the_name_is_taken(self):
        # The name is asked for asynchronously: the refusal arrives later
        # and is still said, and the first agent keeps answering.
        other = Hived({"p.json": host_policy("second", self.file)}).start()
        try:
            other.wait_log("Another hived owns io.hive.Hive1 on the system bus")
            self.assertIn("bus-test", run(HIVECTL, "list").stdout)
        finally:
            other.close()

    def test_status(self):
        subprocess.run(["cat", self.file], stdout=subprocess.DEVNULL, check=True)
        self.hived.wait_record(policy="bus-test")
        out = run(HIVECTL, "status").stdout
        self.assertRegex(out, r"Attach mode +(fentry|kprobe|tracepoint)\n")
        self.assertRegex(out, r"Role +standalone\n")
        self.assertIn(open("/proc/sys/kernel/random/boot_id").read().strip(), out)
        self.assertRegex(out, r"Watched inodes +1\n")
        self.assertRegex(out, r"Paths not present +1\n")
        self.assertRegex(out, r"Policies +1\n")
        self.assertRegex(out, r"Records +1\n")
        self.assertRegex(out, r"Dropped +0\n")
        st = json.loads(run(HIVECTL, "--json", "status").stdout)
        self.assertEqual(st["Records"], 1)
        self.assertEqual(st["Role"], "standalone")
        self.assertFalse(st["LastReloadFailed"])
        # The same figures as the metrics page, from one table.
        page = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5).read().decode()
        for key, line in (("Records", 'hive_records_total{output="json"}'), ("Policies", "hive_policies"),
                          ("WatchedInodes", "hive_watched_inodes"), ("MissingPaths", "hive_missing_paths"),
                          ("Matched", 'hive_kernel_accesses_total{stage="matched"}'),
                          ("Dropped", 'hive_kernel_accesses_total{stage="dropped"}'),
                          ("LeaseTransitions", "hive_lease_transitions_total")):
            self.assertIn(f"\n{line} {st[key]}\n", page)

    def test_list(self):
        out = run(HIVECTL, "list").stdout
        self.assertIn(self.file, out)
        self.assertIn(str(os.stat(self.file).st_ino), out)
        rows = [json.loads(line) for line in run(HIVECTL, "--json", "list").stdout.splitlines()]
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["path"], self.file)
        self.assertEqual(rows[0]["policy"], "bus-test")
        self.assertEqual(rows[0]["inode"], os.stat(self.file).st_ino)

    def test_unprivileged_user_is_refused(self):
        r = run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", HIVECTL, "status", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("permission denied", r.stderr)

    def test_no_agent(self):
        self.hived.stop()
        wait_until(lambda: run(HIVECTL, "status", check=False).returncode != 0, 5, what="name released")
        r = run(HIVECTL, "status", check=False)
        self.assertIn("hived is not running", r.stderr)


if __name__ == "__main__":
    hivetest.main()
