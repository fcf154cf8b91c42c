#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Directory trees: a policy path ending in /** watches the directory and
everything below it, at any depth (one ending in /*: its own entries), files made later included, by the
kernel's dentries: however a file of the tree is reached (a hard link
outside it, a bind mount, a symlink, /proc/PID/root), it is a record naming
its path in the tree. On this machine's real kernel, in whatever attach mode
hived probes."""

import os
import subprocess
import sys
import unittest

from tests.lib import hivetest
from tests.lib.hivetest import Hived, host_policy, run


class Trees(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.tree = os.path.join(self.tmp, "etc")
        os.makedirs(os.path.join(self.tree, "sudoers.d", "sub"))
        self.a = self.write(os.path.join(self.tree, "a"))
        self.b = self.write(os.path.join(self.tree, "sudoers.d", "sub", "b"))
        self.outside = self.write(os.path.join(self.tmp, "outside"))
        # A hard link outside the tree, made before the watch starts.
        self.early_link = os.path.join(self.tmp, "early-link")
        os.link(self.b, self.early_link)
        self.hived = Hived({"10-tree.json": [host_policy("tree", self.tree + "/**")]}).start()

    def tearDown(self):
        self.hived.close()
        run("umount", "-l", os.path.join(self.tmp, "mnt"), check=False)

    @staticmethod
    def write(path, text="x\n"):
        with open(path, "w") as f:
            f.write(text)
        return path

    def spawn(self, *cmd, **kw):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        self.assertEqual(p.wait(), 0)
        return p.pid

    def test_every_depth_is_watched(self):
        for path in (self.a, self.b):
            pid = self.spawn("cat", path)
            r = self.hived.wait_record(pid=pid)
            self.assertEqual((r["policy"], r["path"], r["access"]), ("tree", path, ["read"]))
            self.assertEqual(r["inode"], os.stat(path).st_ino)

    def test_files_made_after_the_watch_started(self):
        deep = os.path.join(self.tree, *["new"] * 20)
        os.makedirs(deep)
        f = self.write(os.path.join(deep, "f"))
        pid = self.spawn("cat", f)
        self.assertEqual(self.hived.wait_record(pid=pid)["path"], f)

    def test_the_root_itself(self):
        pid = self.spawn("ls", self.tree)
        self.assertEqual(self.hived.wait_record(pid=pid, comm="ls")["path"], self.tree)

    def test_a_hard_link_outside_reaches_the_file_in_the_tree(self):
        late_link = os.path.join(self.tmp, "late-link")
        os.link(self.a, late_link)
        for link, path in ((self.early_link, self.b), (late_link, self.a)):
            pid = self.spawn("cat", link)
            self.assertEqual(self.hived.wait_record(pid=pid)["path"], path)

    def test_a_symlink_and_proc_root_reach_it(self):
        link = os.path.join(self.tmp, "symlink")
        os.symlink(self.b, link)
        pid = self.spawn("cat", link)
        self.assertEqual(self.hived.wait_record(pid=pid)["path"], self.b)
        pid = self.spawn("cat", "/proc/self/root" + self.a)
        self.assertEqual(self.hived.wait_record(pid=pid)["path"], self.a)

    def test_a_bind_mount_of_a_subtree_reaches_it(self):
        target = os.path.join(self.tmp, "mnt")
        os.mkdir(target)
        sub = os.path.join(self.tree, "sudoers.d")
        # unshare execs sh, which execs cat: one pid throughout.
        pid = self.spawn("unshare", "--mount", "--propagation", "private", "sh", "-c",
                         f"mount --bind {sub} {target} && exec cat {target}/sub/b")
        self.assertEqual(self.hived.wait_record(pid=pid, comm="cat")["path"], self.b)

    def test_outside_the_tree_is_silent(self):
        quiet = self.spawn("cat", self.outside)
        # A file named like the tree's, beside it, is not in it either.
        beside = self.write(self.tree + "-x")
        quiet2 = self.spawn("cat", beside)
        self.hived.assert_not_logged(quiet, self.a)
        self.assertEqual(self.hived.matching(pid=quiet2), [])

    def test_hostile_names(self):
        """A symlink loop, names of 255 bytes nested beyond the 255 bytes
        a path below the root is told in: no crash, still a record, its path
        marked cut at the front (whole names only: the next one up did not
        fit)."""
        os.symlink("loop", os.path.join(self.tree, "loop"))
        long = os.path.join(self.tree, *["n" * 255] * 3)
        os.makedirs(long)
        f = self.write(os.path.join(long, "f"))
        self.spawn("sh", "-c", f"cat {self.tree}/loop 2>/dev/null; true")
        pid = self.spawn("cat", f)
        path = self.hived.wait_record(pid=pid)["path"]
        self.assertEqual(path, self.tree + "/.../f")
        # Still running, and recording.
        pid = self.spawn("cat", self.a)
        self.hived.wait_record(pid=pid)


class TreeChurn(unittest.TestCase):
    def test_files_made_moved_and_removed_in_a_loop_are_each_accounted(self):
        """2,000 files made in one tree, read, moved into another, read
        again, removed, with a file outside read each time: every read of a
        tree's file is one record naming where the file was at that read,
        the outside reads none; nothing grows per file (one map entry per
        tree)."""
        hivetest.skip_unless_root()
        tmp = hivetest.files_dir(self)
        one, two, outside = (os.path.join(tmp, d) for d in ("one", "two", "outside"))
        for d in (one, two, outside):
            os.mkdir(d)
        n = 2000
        loop = ("import os, sys\n"
                "one, two, out, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])\n"
                "def read(p):\n"
                "    os.close(os.open(p, os.O_RDONLY))\n"
                "for i in range(n):\n"
                "    a, b, o = f'{one}/f{i}', f'{two}/g{i}', f'{out}/o{i}'\n"
                "    for p in (a, o):\n"
                "        os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o600))\n"
                "    read(a); read(o)\n"
                "    os.rename(a, b)\n"
                "    read(b)\n"
                "    os.unlink(b); os.unlink(o)\n")
        # Dedup off: the read after the move is the same file and process,
        # which dedup would fold into the first read's record.
        with Hived({"p.json": host_policy("trees", one + "/**", two + "/**", access=["read"])},
                   config="[agent]\ndedup_window_ms = 0\n") as h:
            p = subprocess.Popen([sys.executable, "-c", loop, one, two, outside, str(n)])
            self.assertEqual(p.wait(), 0)
            # The last read of the loop is in: every earlier one would be too.
            h.wait_record(timeout=30, pid=p.pid, path=f"{two}/g{n - 1}")
            mine = h.matching(pid=p.pid)
            paths = sorted(r["path"] for r in mine)
            expected = sorted([f"{one}/f{i}" for i in range(n)] + [f"{two}/g{i}" for i in range(n)])
            self.assertEqual(len(mine), 2 * n, f"{len(mine)} records for {2 * n} reads")
            self.assertEqual(paths, expected)


class TreeAccess(unittest.TestCase):
    def test_a_trees_access_filter_holds_below_it(self):
        hivetest.skip_unless_root()
        tmp = hivetest.files_dir(self)
        tree = os.path.join(tmp, "t")
        os.mkdir(tree)
        f = os.path.join(tree, "f")
        open(f, "w").close()
        with Hived({"p.json": host_policy("writes", tree + "/**", access=["write"])}) as h:
            reader = subprocess.Popen(["cat", f])
            reader.wait()
            writer = subprocess.Popen(["sh", "-c", f"echo x > {f}"])
            writer.wait()
            self.assertEqual(h.wait_record(pid=writer.pid)["path"], f)
            self.assertEqual(h.matching(pid=reader.pid), [])


class OwnEntries(unittest.TestCase):
    """A path ending in /* watches the directory and its own entries: files,
    directories, links made later too, reached however (a hard link from
    outside); not what is in the directories among them. The same for what
    is done to them (fanotify in tracepoint mode, the kernel's hooks
    elsewhere)."""

    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.dir = os.path.join(self.tmp, "cron.d")
        self.sub = os.path.join(self.dir, "sub")
        os.makedirs(self.sub)
        self.top = Trees.write(os.path.join(self.dir, "job"))
        self.deep = Trees.write(os.path.join(self.sub, "deep"))
        self.link = os.path.join(self.tmp, "link")
        os.link(self.top, self.link)
        self.hived = Hived({"10-entries.json": [host_policy("entries", self.dir + "/*")]}).start()

    def tearDown(self):
        self.hived.close()

    def spawn(self, *cmd):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.assertEqual(p.wait(), 0)
        return p.pid

    def test_its_own_entries_and_not_deeper(self):
        deep = self.spawn("cat", self.deep)
        late = Trees.write(os.path.join(self.dir, "late"))
        for cmd, path in ((("cat", self.top), self.top), (("cat", self.link), self.top),
                          (("cat", late), late), (("ls", self.sub), self.sub)):
            pid = self.spawn(*cmd)
            r = self.hived.wait_record(pid=pid, path=path)
            self.assertEqual((r["policy"], r["access"]), ("entries", ["read"]))
        self.assertEqual(self.hived.matching(pid=deep), [])

    def test_what_is_done_to_its_own_entries_and_not_deeper(self):
        quiet = [self.spawn("chmod", "0600", self.deep), self.spawn("touch", os.path.join(self.sub, "new")),
                 self.spawn("rm", self.deep)]
        made = os.path.join(self.dir, "made")
        for cmd, kind, path in ((("chmod", "0600", self.top), "attrib", self.top),
                                (("touch", made), "create", made),
                                (("mkdir", os.path.join(self.dir, "d")), "create", os.path.join(self.dir, "d")),
                                (("rm", made), "delete", made)):
            pid = self.spawn(*cmd)
            r = self.hived.wait_record(pid=pid, access=[kind])
            self.assertEqual((r["policy"], r["path"]), ("entries", path))
        self.assertEqual([r for r in self.hived.snapshot() if r.get("pid") in quiet], [])

    def test_beside_a_whole_tree_of_the_same_directory(self):
        """Two policies on one directory: the whole tree's records below it,
        the shallow one's only for the directory's own entries."""
        self.hived.close()
        self.hived = Hived({"10-both.json": [host_policy("entries", self.dir + "/*"),
                                             host_policy("all", self.dir + "/**")]}).start()
        top, deep = self.spawn("cat", self.top), self.spawn("cat", self.deep)
        self.hived.wait_record(pid=top, policy="all")
        self.hived.wait_record(pid=top, policy="entries")
        self.hived.wait_record(pid=deep, policy="all")
        self.assertEqual(self.hived.matching(pid=deep, policy="entries"), [])


if __name__ == "__main__":
    hivetest.main()
