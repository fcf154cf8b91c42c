#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What is done to a file, on this machine's real kernel in whatever attach
mode hived probes: chmod, chown, utimes, xattrs, links, renames and deletes
of a watched file, and creates, deletes, renames and changes below a watched
tree, each one record naming the process that did it (a command that exited
at once), with the values it set and the other name. Where the mode has no
hook for changes (tracepoint mode, this host's), fanotify tells them."""

import os
import re
import shutil
import signal
import subprocess
import sys
import unittest

from tests.lib import hivetest
from tests.lib.hivetest import Hived, host_policy, wait_until


# One open call by its x86_64 number: argv call, path, "1" for O_TRUNC.
OPEN_CALL = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
call, path, flags = sys.argv[1], sys.argv[2].encode(), os.O_RDONLY | (os.O_TRUNC if sys.argv[3] == "1" else 0)
at_fdcwd = ctypes.c_long(-100)
if call == "open":
    fd = libc.syscall(ctypes.c_long(2), path, ctypes.c_long(flags))
elif call == "openat":
    fd = libc.syscall(ctypes.c_long(257), at_fdcwd, path, ctypes.c_long(flags))
elif call == "openat2":
    how = (ctypes.c_uint64 * 3)(flags, 0, 0)  # struct open_how: flags, mode, resolve
    fd = libc.syscall(ctypes.c_long(437), at_fdcwd, path, how, ctypes.c_size_t(ctypes.sizeof(how)))
else:
    fd = libc.syscall(ctypes.c_long(85), path, ctypes.c_long(0o644))
if fd < 0:
    sys.exit(f"{call}: {os.strerror(ctypes.get_errno())}")
"""


def spawn(*cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = p.communicate()
    if p.returncode != 0:
        raise AssertionError(f"{cmd}: {err.decode()}")
    return p.pid


class FileChanges(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.file = os.path.join(self.tmp, "shadow")
        with open(self.file, "w") as f:
            f.write("x\n")
        self.other = os.path.join(self.tmp, "other")
        with open(self.other, "w") as f:
            f.write("x\n")
        self.hived = Hived({"10-changes.json": [host_policy("changes", self.file)]}).start()

    def tearDown(self):
        self.hived.close()

    def change(self, kind, *cmd):
        pid = spawn(*cmd)
        r = self.hived.wait_record(pid=pid, access=[kind])
        self.assertEqual((r["policy"], r["path"], r["comm"]), ("changes", self.file, os.path.basename(cmd[0])))
        return r

    def test_only_truncate_by_path_is_said_unseen(self):
        unseen = [x for x in self.hived.log_text().splitlines() if " not seen" in x or "is seen on" in x]
        for line in unseen:
            self.assertRegex(line, r"truncate changes are not seen|truncate\(2\) of a path is (seen on watched files|"
                             r"not seen)")

    def test_truncate_through_a_descriptor_and_at_open(self):
        # coreutils truncate: open, then ftruncate(2).
        r = self.change("truncate", "truncate", "-s", "1", self.file)
        self.assertEqual(r["new_size"], 1)
        # A shell's redirection: open(O_TRUNC).
        r = self.change("truncate", "sh", "-c", f": > {self.file}")
        self.assertEqual(r["new_size"], 0)
        # Opened for reading, still truncated: Linux does, whatever POSIX says.
        pid = spawn(sys.executable, "-c", f"import os; os.open({self.file!r}, os.O_RDONLY | os.O_TRUNC)")
        self.assertEqual(self.hived.wait_record(pid=pid, access=["truncate"])["path"], self.file)

    def test_every_open_call(self):
        """open(2), openat(2), openat2(2) and creat(2), each by its own number
        (x86_64's): a read, and O_TRUNC (creat's own) a truncation, whichever
        call it came through (tracepoint mode serves the four with one
        program that tells them apart)."""
        for call in ("open", "openat", "openat2", "creat"):
            for trunc in (False, True) if call != "creat" else (True,):
                with self.subTest(call=call, trunc=trunc):
                    pid = spawn(sys.executable, "-c", OPEN_CALL, call, self.file, "1" if trunc else "0")
                    if trunc:
                        r = self.hived.wait_record(pid=pid, access=lambda a: "truncate" in a)
                        self.assertEqual((r["path"], r["new_size"]), (self.file, 0))
                    else:
                        r = self.hived.wait_record(pid=pid, access=lambda a: "read" in a)
                        self.assertEqual(r["path"], self.file)
                        self.assertEqual(self.hived.matching(pid=pid, access=lambda a: "truncate" in a), [])

    def test_truncate_of_a_path(self):
        """truncate(2) by name, through a symlink elsewhere: the file it
        reached (fanotify's, in tracepoint mode) with the length asked."""
        link = os.path.join(self.tmp, "elsewhere")
        os.symlink(self.file, link)
        pid = spawn(sys.executable, "-c", f"import os; os.truncate({link!r}, 3)")
        r = self.hived.wait_record(pid=pid, access=["truncate"])
        self.assertEqual((r["path"], r["new_size"]), (self.file, 3))

    def test_a_write_is_no_truncation(self):
        """Only a thread's truncate(2) makes what fanotify tells of its
        writes a truncation: an append is none. chmod after it, a change
        told after the append's, says when to look."""
        sh = subprocess.Popen(["sh", "-c", f"echo more >> {self.file}; chmod 0640 {self.file}"])
        sh.wait()
        self.hived.wait_record(access=["attrib"], comm="chmod", new_mode="0640")
        self.hived.wait_record(pid=sh.pid, access=lambda a: "write" in a)
        self.assertEqual(self.hived.matching(pid=sh.pid, access=["truncate"]), [])

    def test_chmod_chown_utimes_xattr(self):
        r = self.change("attrib", "chmod", "4755", self.file)
        self.assertEqual(r["new_mode"], "4755")
        self.assertIn("mode", r["changed"])
        r = self.change("attrib", "chown", "nobody", self.file)
        self.assertEqual(r["new_uid"], 65534)
        r = self.change("attrib", "touch", "-d", "2001-01-01", self.file)
        self.assertIn("mtime", r["changed"])
        pid = spawn(sys.executable, "-c", f"import os; os.setxattr({self.file!r}, 'user.hive', b'1')")
        self.hived.wait_record(pid=pid, access=["attrib"], path=self.file)

    def test_link_rename_delete_name_the_other_name(self):
        link = os.path.join(self.tmp, "x")
        r = self.change("link", "ln", self.file, link)
        self.assertEqual(r["target_path"], link)
        moved = os.path.join(self.tmp, "moved")
        r = self.change("rename", "mv", self.file, moved)
        self.assertEqual(r["target_path"], moved)
        r = self.change("delete", "rm", link)
        self.assertEqual(r["target_path"], link)

    def test_renamed_onto_the_watched_path(self):
        """sed -i, an editor's save, an attacker's replacement: a new file
        renamed over the watched one."""
        new = os.path.join(self.tmp, "shadow.new")
        with open(new, "w") as f:
            f.write("evil\n")
        r = self.change("rename", "mv", new, self.file)
        self.assertEqual(r["source_path"], new)

    def test_a_process_gone_before_its_change_is_read_is_named(self):
        """hived stopped while chmod runs, exits and is reaped: what the
        kernel kept of it as it exited names it."""
        os.kill(self.hived.proc.pid, signal.SIGSTOP)
        try:
            pid = spawn("chmod", "0600", self.file)
        finally:
            os.kill(self.hived.proc.pid, signal.SIGCONT)
        r = self.hived.wait_record(pid=pid, access=["attrib"])
        self.assertEqual((r["comm"], r["exe"], r["new_mode"]), ("chmod", shutil.which("chmod"), "0600"))
        # Forked, exec'd, then changed: nothing before the exec had changed
        # anything, so no other program is named.
        self.assertNotIn("before_exec_exe", r)

    def test_a_process_of_another_pid_namespace_gone_first_is_named(self):
        """The same from a pid namespace of its own, as a container's
        processes are: the kernel numbers it in each namespace up to the
        agent's, and kept it by the agent's number."""
        os.kill(self.hived.proc.pid, signal.SIGSTOP)
        try:
            subprocess.run(["unshare", "--pid", "--fork", "chmod", "0640", self.file], check=True)
        finally:
            os.kill(self.hived.proc.pid, signal.SIGCONT)
        r = self.hived.wait_record(access=["attrib"], new_mode="0640")
        self.assertEqual((r["comm"], r["exe"]), ("chmod", shutil.which("chmod")))

    def exec_after_change(self, code):
        """Run python code that changes the watched file and then execs
        sleep(1), with hived stopped until the exec is done: the change is
        read when the process already runs another program. Its pid."""
        sleep = shutil.which("sleep")
        os.kill(self.hived.proc.pid, signal.SIGSTOP)
        try:
            p = subprocess.Popen([sys.executable, "-c", code, self.file, sleep])
            self.addCleanup(p.wait)
            self.addCleanup(p.kill)
            wait_until(lambda: os.path.realpath(f"/proc/{p.pid}/exe") == sleep, what="the exec of sleep")
        finally:
            os.kill(self.hived.proc.pid, signal.SIGCONT)
        return p.pid

    def test_a_change_made_before_an_exec_names_who_made_it(self):
        """A program that changes a watched file and then execs another
        must not be named as the other alone: an attacker's tool would hide
        behind sleep(1). Where a hook sees the change (fentry, kprobe) it
        names python itself; where fanotify tells it (tracepoint mode),
        the record names the process as it is now and as it was before an
        exec that may have followed the change."""
        pid = self.exec_after_change(
            "import os, sys; os.chmod(sys.argv[1], 0o4755); os.execv(sys.argv[2], ['sleep', '30'])")
        r = self.hived.wait_record(pid=pid, access=["attrib"])
        self.assertEqual(r["new_mode"], "4755")
        python = os.path.realpath(sys.executable)
        if r["comm"] == "sleep":
            comm = os.path.basename(sys.executable)[:15]
            self.assertEqual((r.get("before_exec_exe"), r.get("before_exec_comm")), (python, comm), r)
            self.assertEqual(r["before_exec_exe_inode"], os.stat(python).st_ino)
        else:
            self.assertEqual(r["exe"], python, r)

    def test_a_change_by_a_thread_that_then_execs(self):
        """The same from a thread that is not the process's first: the
        exec gives it the process's id, so the id the change was made by
        names no thread any more, and only what the kernel kept at the exec
        can say who it was."""
        pid = self.exec_after_change(
            "import os, sys, threading\n"
            "def act():\n"
            "    os.chmod(sys.argv[1], 0o4711)\n"
            "    os.execv(sys.argv[2], ['sleep', '30'])\n"
            "threading.Thread(target=act).start()\n"
            "threading.Event().wait()\n")
        r = self.hived.wait_record(access=["attrib"], new_mode="4711")
        self.assertEqual((r["pid"], r["exe"]), (pid, os.path.realpath(sys.executable)), r)
        self.assertNotEqual(r["tid"], pid)

    def test_a_process_killed_before_its_change_is_read_is_named(self):
        """A program that changes a watched file and kills itself at once
        makes no exit call to be seen leaving by: what the kernel kept at
        its first change since its exec names it."""
        os.kill(self.hived.proc.pid, signal.SIGSTOP)
        try:
            p = subprocess.Popen([sys.executable, "-c", "import os, signal, sys; os.chmod(sys.argv[1], 0o4750); "
                                  "os.kill(os.getpid(), signal.SIGKILL)", self.file])
            self.assertEqual(p.wait(), -signal.SIGKILL)
        finally:
            os.kill(self.hived.proc.pid, signal.SIGCONT)
        r = self.hived.wait_record(access=["attrib"], new_mode="4750")
        self.assertEqual((r["pid"], r["exe"]), (p.pid, os.path.realpath(sys.executable)), r)

    def test_the_login_behind_a_change(self):
        pid = spawn("sh", "-c", f"echo 65534 > /proc/self/loginuid; exec chmod 0604 {self.file}")
        r = self.hived.wait_record(pid=pid, access=["attrib"])
        self.assertEqual((r["auid"], r["login"], r["user"]), (65534, "nobody", "root"))

    def test_an_unwatched_files_changes_are_silent(self):
        quiet = spawn("chmod", "600", self.other)
        control = spawn("chmod", "600", self.file)
        self.hived.wait_record(pid=control)
        self.assertEqual(self.hived.matching(pid=quiet), [])


class NameChanges(unittest.TestCase):
    def test_a_create_at_a_watched_path_that_did_not_exist(self):
        hivetest.skip_unless_root()
        tmp = hivetest.files_dir(self)
        path = os.path.join(tmp, "cron.allow")
        with Hived({"10-name.json": [host_policy("name", path, access=["create"])]}) as h:
            pid = spawn("touch", path)
            r = h.wait_record(pid=pid, access=["create"])
            self.assertEqual((r["path"], r["comm"], r["target_path"]), (path, "touch", path))


class TreeChanges(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.tree = os.path.join(self.tmp, "sudoers.d")
        os.makedirs(os.path.join(self.tree, "sub"))
        self.f = os.path.join(self.tree, "sub", "f")
        with open(self.f, "w") as f:
            f.write("x\n")
        self.outside = os.path.join(self.tmp, "outside")
        os.mkdir(self.outside)
        # Made before the watch: hived has seen nothing of it.
        os.makedirs(os.path.join(self.tree, "old", "a", "b"))
        with open(os.path.join(self.tree, "old", "a", "b", "f"), "w") as f:
            f.write("x\n")
        self.hived = Hived({"10-tree.json": [host_policy("tree", self.tree + "/**")]}).start()

    def tearDown(self):
        self.hived.close()

    def change(self, kind, *cmd):
        pid = spawn(*cmd)
        return self.hived.wait_record(pid=pid, access=[kind], comm=os.path.basename(cmd[0]))

    def test_create_chmod_link_rename_delete_below_the_root(self):
        new = os.path.join(self.tree, "sub", "new")
        r = self.change("create", "touch", new)
        self.assertEqual((r["policy"], r["path"]), ("tree", new))
        r = self.change("create", "mkdir", os.path.join(self.tree, "sub", "d"))
        self.assertEqual(r["path"], os.path.join(self.tree, "sub", "d"))
        r = self.change("attrib", "chmod", "0600", self.f)
        self.assertEqual((r["path"], r["new_mode"]), (self.f, "0600"))
        link = os.path.join(self.tree, "l")
        r = self.change("link", "ln", self.f, link)
        self.assertEqual(r["path"], link)
        # Out of the tree, and into it from outside.
        away = os.path.join(self.outside, "away")
        r = self.change("rename", "mv", new, away)
        self.assertEqual((r["path"], r["target_path"]), (new, away))
        back = os.path.join(self.tree, "back")
        r = self.change("rename", "mv", away, back)
        self.assertEqual((r["path"], r["source_path"]), (back, away))
        r = self.change("delete", "rm", back)
        self.assertEqual(r["path"], back)

    def test_a_file_an_open_makes_is_not_truncated(self):
        """O_CREAT | O_TRUNC makes a file: no truncation. The second open
        truncates the file the first made."""
        new = os.path.join(self.tree, "sub", "made")
        pid = spawn("sh", "-c", f": > {new}; : > {new}")
        self.hived.wait_record(pid=pid, access=["truncate"], path=new)
        self.hived.wait_record(pid=pid, access=["create"], path=new)
        self.assertEqual(len(self.hived.matching(pid=pid, access=["truncate"])), 1)

    def test_rm_r_of_a_directory_made_before_the_watch(self):
        """Each removal a record naming where it was, though the directories
        are gone by the time they are read."""
        pid = spawn("rm", "-r", os.path.join(self.tree, "old"))
        for path in ("old/a/b/f", "old/a/b", "old/a", "old"):
            self.hived.wait_record(pid=pid, access=["delete"], path=os.path.join(self.tree, path))

    def test_the_kubelets_atomic_writer_is_seen_for_what_it_is(self):
        """A Secret volume updated the kubelet's way (a new ..<timestamp>
        directory, ..data_tmp pointing to it renamed over ..data, the old
        one removed): each step a record, and the first read of the new
        version one naming the file where it is in the tree."""
        vol = os.path.join(self.tree, "secret")
        os.makedirs(os.path.join(vol, "..v1"))
        with open(os.path.join(vol, "..v1", "token"), "w") as f:
            f.write("one\n")
        os.symlink("..v1", os.path.join(vol, "..data"))
        os.symlink("..data/token", os.path.join(vol, "token"))
        update = ("import os, shutil, sys\n"
                  "vol = sys.argv[1]\n"
                  "os.mkdir(f'{vol}/..v2')\n"
                  "open(f'{vol}/..v2/token', 'w').write('two')\n"
                  "os.symlink('..v2', f'{vol}/..data_tmp')\n"
                  "os.rename(f'{vol}/..data_tmp', f'{vol}/..data')\n"
                  "shutil.rmtree(f'{vol}/..v1')\n")
        pid = spawn(sys.executable, "-c", update, vol)
        for access, path in (("create", "..v2"), ("create", "..v2/token"), ("create", "..data_tmp"),
                             ("rename", "..data_tmp"), ("delete", "..v1/token"), ("delete", "..v1")):
            self.hived.wait_record(pid=pid, access=[access], path=os.path.join(vol, path))
        r = self.hived.wait_record(pid=pid, access=["rename"])
        self.assertEqual(r["target_path"], os.path.join(vol, "..data"))
        reader = spawn("cat", os.path.join(vol, "token"))
        self.assertEqual(self.hived.wait_record(pid=reader)["path"], os.path.join(vol, "..v2", "token"))

    def test_outside_the_tree_is_silent(self):
        quiet = spawn("touch", os.path.join(self.outside, "q"))
        beside = spawn("touch", self.tree + "-x")
        control = spawn("touch", os.path.join(self.tree, "c"))
        self.hived.wait_record(pid=control)
        self.assertEqual(self.hived.matching(pid=quiet), [])
        self.assertEqual(self.hived.matching(pid=beside), [])


class OverlayChanges(hivetest.MountingTest):
    """A container's root as the host sees it: overlayfs, which takes no
    filesystem mark in tracepoint mode. A file of the lower layer, changed
    (copied up) through the overlay; a tree's root; a missing name."""

    def setUp(self):
        super().setUp()
        lower, upper, work, self.root = (os.path.join(self.tmp, d) for d in ("lower", "upper", "work", "merged"))
        for d in (upper, work, self.root):
            os.mkdir(d)
        os.makedirs(os.path.join(lower, "etc", "cron.d"))
        with open(os.path.join(lower, "etc", "shadow"), "w") as f:
            f.write("root:x\n")
        self.mount("-t", "overlay", "overlay", "-o", f"lowerdir={lower},upperdir={upper},workdir={work}", self.root)
        self.shadow = os.path.join(self.root, "etc", "shadow")
        self.cron = os.path.join(self.root, "etc", "cron.d")
        self.future = os.path.join(self.root, "etc", "future")
        self.hived = Hived({"10-overlay.json": [host_policy("file", self.shadow), host_policy("tree", self.cron + "/**"),
                                                host_policy("name", self.future)]}).start()
        self.addCleanup(self.hived.close)

    def test_changes_through_the_overlay(self):
        pid = spawn("chmod", "0600", self.shadow)
        r = self.hived.wait_record(pid=pid, access=["attrib"])
        self.assertEqual((r["policy"], r["path"], r["new_mode"]), ("file", self.shadow, "0600"))
        evil = os.path.join(self.cron, "evil")
        pid = spawn("touch", evil)
        r = self.hived.wait_record(pid=pid, access=["create"], policy="tree")
        self.assertEqual(r["path"], evil)
        pid = spawn("touch", self.future)
        self.assertEqual(self.hived.wait_record(pid=pid, access=["create"], policy="name")["path"], self.future)
        pid = spawn("mv", self.shadow, self.shadow + ".old")
        r = self.hived.wait_record(pid=pid, access=["rename"], policy="file")
        self.assertEqual(r["target_path"], self.shadow + ".old")


class MergedChanges(unittest.TestCase):
    def test_a_file_made_and_removed_before_it_is_read_is_two_records(self):
        """fanotify merges what one thread did to one entry while its event
        waited (made and removed: one event): each is a record all the same.
        hived is stopped meanwhile, so that every event waits."""
        hivetest.skip_unless_root()
        tmp = hivetest.files_dir(self)
        tree = os.path.join(tmp, "tree")
        os.mkdir(tree)
        n = 2000
        loop = ("import os, sys\n"
                "for i in range(int(sys.argv[2])):\n"
                "    p = f'{sys.argv[1]}/f{i}'\n"
                "    os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o600))\n"
                "    os.chmod(p, 0o640)\n"
                "    os.unlink(p)\n")
        with Hived({"p.json": host_policy("merged", tree + "/**", access=["create", "attrib", "delete"])},
                   config="[agent]\ndedup_window_ms = 0\n") as h:
            os.kill(h.proc.pid, signal.SIGSTOP)
            try:
                pid = spawn(sys.executable, "-c", loop, tree, str(n))
            finally:
                os.kill(h.proc.pid, signal.SIGCONT)
            h.wait_record(timeout=30, pid=pid, path=f"{tree}/f{n - 1}", access=["delete"])
            kinds = {}
            for r in h.matching(pid=pid):
                kinds.setdefault(r["access"][0], set()).add(r["path"])
            expected = {f"{tree}/f{i}" for i in range(n)}
            for kind in ("create", "attrib", "delete"):
                self.assertEqual(kinds.get(kind), expected, kind)


class TreeChangeChurn(unittest.TestCase):
    def test_100000_entries_made_and_removed_in_a_loop(self):
        """A tree watched for creates and deletes while a process makes and
        removes 100,000 files in it, and as many beside it: no crash, a
        record of each or the loss counted (fanotify's queue is bounded),
        none outside, and the agent still recording after."""
        hivetest.skip_unless_root()
        tmp = hivetest.files_dir(self)
        tree, outside = os.path.join(tmp, "tree"), os.path.join(tmp, "outside")
        os.mkdir(tree)
        os.mkdir(outside)
        n = 100000
        loop = ("import os, sys\n"
                "tree, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
                "for i in range(n):\n"
                "    for d in (tree, out):\n"
                "        p = f'{d}/f{i}'\n"
                "        os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o600))\n"
                "        os.unlink(p)\n")
        with Hived({"p.json": host_policy("churn", tree + "/**", access=["create", "delete"])},
                   config="[agent]\ndedup_window_ms = 0\n") as h:
            p = subprocess.Popen([sys.executable, "-c", loop, tree, outside, str(n)])
            self.assertEqual(p.wait(), 0)
            # Still recording once the queue has room again (a create made
            # while it is full is lost with the flood's): try until one is.
            tries = []

            def control():
                tries.append(spawn("touch", os.path.join(tree, f"after{len(tries)}")))
                return [r for r in h.snapshot() if r.get("pid") in tries and r.get("access") == ["create"]]
            wait_until(control, 60, interval=0.2, what="a create after the flood recorded")
            # A stop for good reads the queue to its end: the counts are final.
            self.assertEqual(h.stop(), 0)
            mine = h.matching(pid=p.pid)
            m = re.search(r"Final Stats: (\d+) accesses matched, (\d+) records written, \d+ suppressed, "
                          r"(\d+) dropped", h.log_text())
            matched, written, dropped = (int(x) for x in m.groups())
            print(f"# {len(mine)} records of {2 * n} creates and deletes; {dropped} queue overflows")
            self.assertEqual([r for r in mine if not r["path"].startswith(tree + "/")], [])
            self.assertTrue(dropped or {r["path"] for r in mine} >= {f"{tree}/f{n - 1}"})
            self.assertEqual(written, len(h.snapshot()))
            if dropped == 0:
                self.assertEqual(len(mine), 2 * n)
            else:
                self.assertIn("queue of changes overflowed", h.log_text())


if __name__ == "__main__":
    hivetest.main()
