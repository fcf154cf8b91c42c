#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Identity under churn: watched files replaced the way package managers,
configuration management and certificate rotation do it (write x.new,
rename it over x), each replace followed at once by a read from a process
with a name of its own. Every read is exactly one record naming the file
read (by path and inode), from the first read after the replace; the
writer's own new, unwatched files are never recorded, though the file
system hands them the numbers of the files just replaced. On ext4, xfs,
btrfs, tmpfs and overlayfs."""

import json
import os
import shutil
import subprocess
import sys
import unittest

from tests.lib import hivetest
from tests.lib.hivetest import Hived, host_policy, run, wait_until

# The workload, in a process of its own: replace a file at random, then fork
# a reader named r<N> that reads it and says which inode it read. One JSON
# line per read on stdout; the writer's pid first.
CHURN = r"""
import ctypes, json, os, random, sys, time
libc = ctypes.CDLL(None, use_errno=True)
directory, n, seconds, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(json.dumps({"writer": os.getpid()}), flush=True)
deadline = time.monotonic() + seconds
i = 0
while time.monotonic() < deadline and i < limit:
    k = random.randrange(n)
    path = os.path.join(directory, f"f{k}")
    with open(path + ".new", "w") as f:
        f.write(f"version {i}\n")
    os.rename(path + ".new", path)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        libc.prctl(15, f"r{i:07d}".encode(), 0, 0, 0)  # PR_SET_NAME
        fd = os.open(path, os.O_RDONLY)
        os.read(fd, 64)
        os.write(w, str(os.fstat(fd).st_ino).encode())
        os._exit(0)
    os.close(w)
    ino = int(os.read(r, 32) or 0)
    os.close(r)
    os.waitpid(pid, 0)
    print(json.dumps({"pid": pid, "comm": f"r{i:07d}", "path": path, "ino": ino}), flush=True)
    i += 1
"""


class Churn(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.mounts = []

    def tearDown(self):
        for m in reversed(self.mounts):
            run("umount", "-l", m, check=False)

    def mount(self, *args):
        run("mount", *args)
        self.mounts.append(args[-1])

    def loop_fs(self, mkfs, *options):
        image = os.path.join(self.tmp, f"{mkfs}.img")
        with open(image, "wb") as f:
            f.truncate(320 << 20)
        run(mkfs, *options, image)
        top = os.path.join(self.tmp, mkfs)
        os.mkdir(top)
        self.mount("-o", "loop", image, top)
        return top

    def churn(self, directory, n, seconds, limit=100000):
        """n watched files in directory replaced and read for that long (or
        limit reads); every read one record naming the file read."""
        files = []
        for k in range(n):
            files.append(os.path.join(directory, f"f{k}"))
            with open(files[-1], "w") as f:
                f.write("version 0\n")
        policies = {f"{i:03}.json": host_policy(f"churn-{i}", *files[i:i + 256]) for i in range(0, n, 256)}
        config = "[agent]\ndedup_window_ms = 0\n"
        with Hived(policies, config=config) as h:
            out = subprocess.run([sys.executable, "-c", CHURN, directory, str(n), str(seconds), str(limit)],
                                 check=True, stdout=subprocess.PIPE, text=True).stdout
            lines = [json.loads(line) for line in out.splitlines()]
            writer, reads = lines[0]["writer"], lines[1:]
            self.assertTrue(reads)
            # Records leave the kernel in the order of the accesses: once the
            # last read's is in, every other one would be too.
            wait_until(lambda: h.matching(pid=reads[-1]["pid"]), 30, what="the last read's record")
            by_pid = {}
            for r in h.snapshot():
                by_pid.setdefault(r.get("pid"), []).append(r)
            wrong = [(read, by_pid.get(read["pid"], [])) for read in reads
                     if [(r["path"], r["inode"], r["comm"]) for r in by_pid.get(read["pid"], [])] !=
                     [(read["path"], read["ino"], read["comm"])]]
            print(f"# {len(reads)} reads of {n} files replaced in {directory}: {len(wrong)} not exactly one "
                  f"record naming the file read; {len(by_pid.get(writer, []))} records of the writer's own files")
            self.assertEqual(wrong[:5], [], f"{len(wrong)} of {len(reads)} reads")
            self.assertEqual(by_pid.get(writer, []), [], "the writer's new, unwatched files were recorded")
        return reads

    def test_1000_files_on_the_root_file_system(self):
        self.churn(self.tmp, 1000, 10)

    def test_rename_over_then_read_at_once(self):
        reads = self.churn(self.tmp, 1, 60, limit=200)
        self.assertEqual(len(reads), 200)

    def test_tmpfs(self):
        top = os.path.join(self.tmp, "tmpfs")
        os.mkdir(top)
        self.mount("-t", "tmpfs", "tmpfs", top)
        self.churn(top, 200, 3)

    def test_btrfs(self):
        if not shutil.which("mkfs.btrfs"):
            self.skipTest("mkfs.btrfs not installed (btrfs-progs)")
        self.churn(self.loop_fs("mkfs.btrfs", "-q"), 200, 3)

    def test_xfs(self):
        if not shutil.which("mkfs.xfs"):
            self.skipTest("mkfs.xfs not installed (xfsprogs)")
        self.churn(self.loop_fs("mkfs.xfs", "-q"), 200, 3)

    def test_overlayfs(self):
        """The container case: the files a container replaces are in the
        upper layer, whose numbers are recycled like any other's."""
        lower, upper, work, merged = (os.path.join(self.tmp, d) for d in ("lower", "upper", "work", "merged"))
        for d in (lower, upper, work, merged):
            os.mkdir(d)
        self.mount("-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={upper},workdir={work}", merged)
        self.churn(merged, 200, 3)


if __name__ == "__main__":
    hivetest.main()
