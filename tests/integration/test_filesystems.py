#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Files on filesystems where stat() does not tell the inode the hooks see:
btrfs subvolumes (st_dev is the subvolume's anonymous device, the inode's
superblock has another) and overlayfs (the hook fires for the overlay inode
and again for the real one below)."""

import os
import shutil
import subprocess

from tests.lib import hivetest
from tests.lib.hivetest import Hived, cat, host_policy, run, stat_dev






def mount_dev(mount_point):
    """MAJ:MIN of the superblock mounted at mount_point (/proc/self/mountinfo)."""
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        if fields[4] == mount_point:
            return fields[2]
    raise AssertionError(f"{mount_point} is not mounted")


class Filesystems(hivetest.MountingTest):
    def test_btrfs_subvolume(self):
        if not shutil.which("mkfs.btrfs"):
            self.skipTest("mkfs.btrfs not installed (btrfs-progs)")
        image = os.path.join(self.tmp, "btrfs.img")
        with open(image, "wb") as f:
            f.truncate(256 << 20)
        run("mkfs.btrfs", "-q", image)
        top = os.path.join(self.tmp, "btrfs")
        os.mkdir(top)
        self.mount("-o", "loop", image, top)
        run("btrfs", "subvolume", "create", os.path.join(top, "sub"))
        secret = os.path.join(top, "sub", "secret")
        with open(secret, "w") as f:
            f.write("in a subvolume\n")
        # The trap itself: stat's device differs from the superblock's.
        self.assertNotEqual(stat_dev(secret), stat_dev(top))
        with Hived({"p.json": host_policy("btrfs", secret)}) as h:
            r = h.wait_record(pid=cat(secret))
            self.assertEqual(r["inode"], os.stat(secret).st_ino)
            # The superblock's device, which no stat() shows here; the
            # mount table does.
            self.assertEqual(r["dev"], mount_dev(top))
            self.assertIn("read", r["access"])

    def test_overlayfs_one_record_per_access(self):
        lower, upper, work, merged = (os.path.join(self.tmp, d) for d in ("lower", "upper", "work", "merged"))
        for d in (lower, upper, work, merged):
            os.mkdir(d)
        with open(os.path.join(lower, "secret"), "w") as f:
            f.write("lower layer\n")
        self.mount("-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={upper},workdir={work}", merged)
        secret = os.path.join(merged, "secret")
        with Hived({"p.json": host_policy("overlay", secret)}, config="[agent]\ndedup_window_ms = 0\n") as h:
            pid = cat(secret)
            h.wait_record(pid=pid)
            # A second read, later: the first read's records (the overlay
            # inode's, and the layer's below if it were watched) are all in.
            h.wait_record(pid=cat(secret))
            self.assertEqual(len(h.matching(pid=pid)), 1)
            # A write copies the file up; the overlay inode, and the watch, stay.
            w = subprocess.Popen(["sh", "-c", f"echo more >> {secret}"])
            w.wait()
            self.assertIn("append", h.wait_record(pid=w.pid)["access"])
            self.assertTrue(os.path.exists(os.path.join(upper, "secret")))
            h.wait_record(pid=cat(secret))


if __name__ == "__main__":
    hivetest.main()
