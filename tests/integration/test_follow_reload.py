#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The watch follows the path when its inode changes, and reload (SIGHUP)
changes what is watched atomically: a bad policy set keeps the old one."""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hivetest  # noqa: E402
from hivetest import Hived, cat, host_policy, run  # noqa: E402

# The promise: the map follows a changed path within one second.
FOLLOW_SECONDS = 1.0




class Follow(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.path = os.path.join(self.tmp, "passwd")
        with open(self.path, "w") as f:
            f.write("v1\n")

    def tearDown(self):
        run("umount", "-l", self.path, check=False)
        if hasattr(self, "hived"):
            self.hived.close()

    def start(self):
        self.hived = Hived({"p.json": host_policy("passwd", self.path)}).start()
        return self.hived

    def test_rename_over_is_followed_and_old_inode_dropped(self):
        h = self.start()
        old_inode = os.stat(self.path).st_ino
        keep_old = os.path.join(self.tmp, "old")
        os.link(self.path, keep_old)  # the old inode stays reachable
        new = os.path.join(self.tmp, "passwd.new")
        with open(new, "w") as f:
            f.write("v2\n")
        os.rename(new, self.path)  # what passwd(1) and editors do
        time.sleep(FOLLOW_SECONDS)
        r = h.wait_record(timeout=0.5, pid=cat(self.path))
        self.assertEqual(r["inode"], os.stat(self.path).st_ino)
        self.assertNotEqual(r["inode"], old_inode)
        h.assert_no_record(pid=cat(keep_old))

    def test_delete_and_recreate(self):
        h = self.start()
        os.unlink(self.path)
        with open(self.path, "w") as f:
            f.write("again\n")
        time.sleep(FOLLOW_SECONDS)
        r = h.wait_record(timeout=0.5, pid=cat(self.path))
        self.assertEqual(r["inode"], os.stat(self.path).st_ino)

    def test_path_that_appears_later(self):
        os.unlink(self.path)
        h = self.start()
        self.assertIn("not present", h.status())
        with open(self.path, "w") as f:
            f.write("late\n")
        time.sleep(FOLLOW_SECONDS)
        h.wait_record(timeout=0.5, pid=cat(self.path))

    def test_directory_that_appears_later(self):
        self.path = os.path.join(self.tmp, "later", "dir", "file")
        h = self.start()
        os.makedirs(os.path.dirname(self.path))
        with open(self.path, "w") as f:
            f.write("late\n")
        time.sleep(FOLLOW_SECONDS)
        h.wait_record(timeout=0.5, pid=cat(self.path))

    def test_mount_over_the_path(self):
        h = self.start()
        other = os.path.join(self.tmp, "other")
        with open(other, "w") as f:
            f.write("mounted\n")
        run("mount", "--bind", other, self.path)
        time.sleep(FOLLOW_SECONDS)
        r = h.wait_record(timeout=0.5, pid=cat(self.path))
        self.assertEqual(r["inode"], os.stat(other).st_ino)


class Reload(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.a = os.path.join(self.tmp, "a")
        self.b = os.path.join(self.tmp, "b")
        for p in (self.a, self.b):
            open(p, "w").close()
        self.hived = Hived({"10-a.json": host_policy("watch-a", self.a)}).start()

    def tearDown(self):
        self.hived.close()

    def test_sighup_adds_and_removes_paths(self):
        h = self.hived
        h.assert_no_record(pid=cat(self.b))
        h.write_policy("20-b.json", host_policy("watch-b", self.b))
        h.reload()
        self.assertIn("RELOADING=1", "".join(h.notifications()))
        h.wait_record(pid=cat(self.b), policy="watch-b")
        h.remove_policy("20-b.json")
        h.reload()
        h.assert_no_record(pid=cat(self.b))
        h.wait_record(pid=cat(self.a), policy="watch-a")

    def test_bad_reload_keeps_old_policies(self):
        h = self.hived
        h.write_policy("20-bad.json", '{"name": "watch-b", "host": true, "paths": ["relative/b"]}')
        h.write_policy("30-b.json", host_policy("watch-b2", self.b))
        h.reload()
        log = h.wait_log("Reload refused")
        self.assertIn("20-bad.json: policy #1 \"watch-b\": paths[0]: \"relative/b\" is not an absolute path", log)
        self.assertIn("FAILED", h.status())
        # The old set runs on, the valid part of the refused set did not sneak in.
        h.wait_record(pid=cat(self.a), policy="watch-a")
        h.assert_no_record(pid=cat(self.b))
        # Fixing the file and reloading again applies it and clears the failure.
        h.remove_policy("20-bad.json")
        h.reload()
        h.wait_record(pid=cat(self.b), policy="watch-b2")
        self.assertNotIn("FAILED", h.status())

    def test_changed_access_filter_applies(self):
        h = self.hived
        h.write_policy("10-a.json", host_policy("watch-a", self.a, access=["write"]))
        h.reload()
        h.assert_no_record(pid=cat(self.a))
        w = subprocess.Popen(["sh", "-c", f"echo x > {self.a}"])
        w.wait()
        h.wait_record(pid=w.pid)


if __name__ == "__main__":
    hivetest.main()
