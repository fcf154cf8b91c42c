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

from tests.lib import hivetest
from tests.lib.hivetest import Hived, host_policy, run, wait_until

# The kubelet's way of updating a Secret or ConfigMap volume: the files in a
# new "..<timestamp>" directory, "..data" swapped to it by a rename, the old
# directory removed; then a reader named u<N>, as above.
KUBELET_UPDATES = r"""
import ctypes, json, os, shutil, sys
libc = ctypes.CDLL(None, use_errno=True)
volume, n = sys.argv[1], int(sys.argv[2])
def update(i):
    new = f"..2026_12_05_00_00_{i:02d}.{i}"
    os.mkdir(os.path.join(volume, new))
    with open(os.path.join(volume, new, "token"), "w") as f:
        f.write(f"version {i}\n")
    old = os.readlink(os.path.join(volume, "..data")) if os.path.lexists(os.path.join(volume, "..data")) else None
    os.symlink(new, os.path.join(volume, "..data_tmp"))
    os.rename(os.path.join(volume, "..data_tmp"), os.path.join(volume, "..data"))
    if old:
        shutil.rmtree(os.path.join(volume, old))
    if not os.path.lexists(os.path.join(volume, "token")):
        os.symlink("..data/token", os.path.join(volume, "token"))
if n == 0:
    update(0)
    sys.exit(0)
for i in range(1, n + 1):
    update(i)
    pid = os.fork()
    if pid == 0:
        libc.prctl(15, f"u{i:07d}".encode(), 0, 0, 0)  # PR_SET_NAME
        with open(os.path.join(volume, "token")) as f:
            f.read()
        os._exit(0)
    os.waitpid(pid, 0)
    print(json.dumps({"pid": pid, "comm": f"u{i:07d}"}), flush=True)
"""


class Churn(hivetest.MountingTest):
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
            out = subprocess.run([sys.executable, "-m", "tests.lib.churn", directory, str(n), str(seconds),
                                  str(limit)], check=True, stdout=subprocess.PIPE, text=True, cwd=hivetest.SRC).stdout
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
                  f"record naming the file read; {len(by_pid.get(writer, []))} records of the writer")
            self.assertEqual(wrong[:5], [], f"{len(wrong)} of {len(reads)} reads")
            # The writer's renames onto the watched paths are changes to
            # them (the policies ask for every kind): records of those
            # paths. Its own new files are never recorded.
            watched = set(files)
            stray = [r for r in by_pid.get(writer, []) if r["access"] != ["rename"] or r["path"] not in watched]
            self.assertEqual(stray[:5], [], f"{len(stray)} records of the writer's new, unwatched files")
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

    def test_folded_reads_of_a_replaced_file_are_recorded(self):
        """Dedup on: 100 reads by one process fold into its first record and
        a count reported after the window; the file replaced right after
        must not lose that count (its watch entry is gone by then)."""
        path = os.path.join(self.tmp, "folded")
        with open(path, "w") as f:
            f.write("version 0\n")
        with Hived({"folded.json": host_policy("folded", path)}) as h:
            reader = subprocess.run([sys.executable, "-c", "import os, sys\nfor _ in range(100):\n"
                                     "    os.close(os.open(sys.argv[1], os.O_RDONLY))\nprint(os.getpid())", path],
                                    check=True, stdout=subprocess.PIPE, text=True)
            with open(path + ".new", "w") as f:
                f.write("version 1\n")
            os.rename(path + ".new", path)
            pid = int(reader.stdout)

            def accounted():
                return sum(1 + r.get("suppressed", 0) for r in h.matching(pid=pid, path=path))
            wait_until(lambda: accounted() == 100, 10, what=f"100 reads accounted (now {accounted()})")

    def test_kubelet_volume_updates(self):
        """A volume laid out and updated the way the kubelet does, on the
        host (the pods suite does it with a real kubelet): every read right
        after an update is one record, and no update is said as a watch
        moved."""
        volume = os.path.join(self.tmp, "volume")
        os.mkdir(volume)
        self.mount("-t", "tmpfs", "tmpfs", volume)
        run(sys.executable, "-c", KUBELET_UPDATES, volume, "0")
        token = os.path.join(volume, "token")
        with Hived({"token.json": host_policy("token", token)}, config="[agent]\ndedup_window_ms = 0\n") as h:
            out = run(sys.executable, "-c", KUBELET_UPDATES, volume, "50").stdout
            reads = [json.loads(line) for line in out.splitlines()]
            self.assertEqual(len(reads), 50)
            wait_until(lambda: h.matching(pid=reads[-1]["pid"]), 30, what="the last read's record")
            wrong = [r for r in reads if [(x["path"], x["comm"]) for x in h.matching(pid=r["pid"])] !=
                     [(token, r["comm"])]]
            self.assertEqual(wrong, [], f"{len(wrong)} of 50 reads not exactly one record")
            self.assertEqual(h.logged("WATCH_MOVED"), [])


if __name__ == "__main__":
    hivetest.main()
