#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Records in the journal: a real systemd-journald, started by the test in a
private mount namespace (its own /run and /var/log), read back with
journalctl -o json."""

import ctypes
import json
import os
import subprocess
import sys
import unittest

from tests.lib import hivetest
from tests.lib.hivetest import Hived, host_policy, run, wait_until

JOURNALD = next((p for p in ("/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald")
                 if os.path.exists(p)), None)
MESSAGE_ID = hivetest.MESSAGE["ACCESS"]
REQUIRED = ["HIVE_POLICY", "HIVE_PATH", "HIVE_INODE", "HIVE_DEV", "HIVE_ACCESS", "HIVE_PID", "HIVE_PPID",
            "HIVE_UID", "HIVE_GID", "HIVE_COMM", "HIVE_EXE", "HIVE_NODE", "HIVE_KERNEL_ID", "HIVE_ATTACH",
            "HIVE_SUPPRESSED"]


class Journal(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hivetest.skip_unless_root()
        if not JOURNALD:
            raise unittest.SkipTest("systemd-journald not installed")
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
            raise unittest.SkipTest(f"cannot unshare the mount namespace: {os.strerror(ctypes.get_errno())}")
        run("mount", "--make-rprivate", "/")
        run("mount", "-t", "tmpfs", "tmpfs", "/run")
        run("mount", "-t", "tmpfs", "tmpfs", "/var/log")
        cls.journald = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: os.path.exists("/run/systemd/journal/socket"), 10, what="journald's socket")

    @classmethod
    def tearDownClass(cls):
        cls.journald.terminate()
        cls.journald.wait()

    def setUp(self):
        self.tmp = hivetest.files_dir(self)
        self.file = os.path.join(self.tmp, "shadow")
        with open(self.file, "w") as f:
            f.write("root:*:1:0:99999:7:::\n")


    def entries(self, **match):
        args = ["journalctl", "--no-pager", "-o", "json"] + [f"{k}={v}" for k, v in match.items()]
        out = run(*args, check=False).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def wait_entry(self, timeout=10, **match):
        return wait_until(lambda: self.entries(**match), timeout, interval=0.2, what=f"journal entry {match}")[0]

    def test_record_has_structured_fields(self):
        with Hived({"p.json": host_policy("journal-test", self.file)}, output="journal"):
            script = "import os, sys, time\nos.close(os.open(sys.argv[1], os.O_RDONLY))\ntime.sleep(1)\n"
            p = subprocess.Popen([sys.executable, "-c", script, self.file])
            e = self.wait_entry(HIVE_POLICY="journal-test", HIVE_PID=p.pid)
            p.wait()
        for field in REQUIRED:
            self.assertIn(field, e)
        self.assertEqual(e["MESSAGE_ID"], MESSAGE_ID)
        self.assertEqual(e["PRIORITY"], "5")
        self.assertEqual(e["SYSLOG_IDENTIFIER"], "hived")
        self.assertEqual(e["HIVE_PATH"], self.file)
        self.assertEqual(e["HIVE_ACCESS"], "read")
        self.assertEqual(e["HIVE_INODE"], str(os.stat(self.file).st_ino))
        self.assertEqual(e["HIVE_PPID"], str(os.getpid()))
        self.assertEqual(e["HIVE_EXE"], os.path.realpath(sys.executable))
        self.assertEqual(e["HIVE_KERNEL_ID"], open("/proc/sys/kernel/random/boot_id").read().strip())
        self.assertEqual(e["HIVE_SUPPRESSED"], "0")
        self.assertRegex(e["HIVE_DEV"], r"^\d+:\d+$")
        self.assertEqual(e["MESSAGE"],
                         f"{e['HIVE_COMM']}[{p.pid}] uid=0 read {self.file} (policy journal-test)")

    def test_hostile_strings_are_escaped(self):
        with Hived({"p.json": host_policy("journal-hostile", self.file)}, output="journal"):
            script = ("import ctypes, os, sys\n"
                      "ctypes.CDLL(None).prctl(15, b'a\\nPRIORITY=0', 0, 0, 0)\n"
                      "os.close(os.open(sys.argv[1], os.O_RDONLY))\n")
            p = subprocess.Popen([sys.executable, "-c", script, self.file])
            p.wait()
            e = self.wait_entry(HIVE_POLICY="journal-hostile", HIVE_PID=p.pid)
        self.assertEqual(e["HIVE_COMM"], "a\\x0aPRIORITY=0")
        self.assertEqual(e["PRIORITY"], "5")
        self.assertNotIn("\n", e["MESSAGE"])

    def test_journal_filter_by_field(self):
        other = os.path.join(self.tmp, "other")
        open(other, "w").close()
        with Hived({"p.json": [host_policy("filter-a", self.file), host_policy("filter-b", other)]},
                   output="journal"):
            for path in (self.file, other):
                subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)
            self.wait_entry(HIVE_POLICY="filter-b")
            a = self.wait_entry(HIVE_POLICY="filter-a")
        self.assertEqual(a["HIVE_PATH"], self.file)
        # journalctl's match picks exactly this policy's records out of all of them.
        everything = self.entries(MESSAGE_ID=MESSAGE_ID)
        self.assertIn("filter-b", {e["HIVE_POLICY"] for e in everything})
        self.assertEqual([e["__CURSOR"] for e in self.entries(HIVE_POLICY="filter-a")],
                         [e["__CURSOR"] for e in everything if e["HIVE_POLICY"] == "filter-a"])


if __name__ == "__main__":
    hivetest.main()
