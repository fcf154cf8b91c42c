#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Accesses to watched host files, on this machine's real kernel, in whatever
attach mode hived probes (tracepoint on a kernel without fentry and kprobes)."""

import os
import signal
import shutil
import subprocess
import sys
import unittest

from tests.lib import hivetest
from tests.lib.hivetest import Hived, host_policy, run, stat_dev, wait_until




class HostAccess(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.secret = os.path.join(self.tmp, "secret")
        self.other = os.path.join(self.tmp, "other")
        self.tool = os.path.join(self.tmp, "tool")
        with open(self.secret, "w") as f:
            f.write("top secret\n")
        with open(self.other, "w") as f:
            f.write("nothing to see\n")
        shutil.copy("/bin/true", self.tool)
        self.hived = Hived({"10-test.json": [host_policy("secret", self.secret, self.tool)]}).start()

    def tearDown(self):
        self.hived.close()
        run("umount", "-l", os.path.join(self.tmp, "mnt"), check=False)

    def spawn(self, *cmd, **kw):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, **kw)
        self.assertEqual(p.wait(), 0)
        return p.pid

    def test_read_names_process_and_file(self):
        pid = self.spawn("cat", self.secret)
        r = self.hived.wait_record(pid=pid)
        self.assertEqual(r["policy"], "secret")
        self.assertEqual(r["path"], self.secret)
        self.assertEqual(r["access"], ["read"])
        self.assertEqual(r["comm"], "cat")
        self.assertEqual(r["exe"], os.path.realpath(shutil.which("cat")))
        self.assertEqual(r["ppid"], os.getpid())
        self.assertEqual((r["uid"], r["gid"]), (0, 0))
        self.assertEqual(r["inode"], os.stat(self.secret).st_ino)
        self.assertEqual(r["dev"], stat_dev(self.secret))  # ext4: stat and kernel agree
        self.assertEqual(r["node"], os.uname().nodename)
        self.assertEqual(r["kernel_id"], open("/proc/sys/kernel/random/boot_id").read().strip())
        self.assertIn(r["attach"], ("fentry", "kprobe", "tracepoint"))
        self.assertEqual(r["suppressed"], 0)
        self.assertRegex(r["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

    def test_the_login_behind_a_user_change(self):
        """A login (its loginuid written as PAM's pam_loginuid does) that
        becomes another user (setpriv, as su and sudo do): the record names
        the user, the login, its session and terminal (script(1) gives the
        shell one), read in the kernel at the access."""
        login = 65534  # nobody: a name every passwd file has
        self.spawn("script", "-qec", f"sh -c 'echo {login} > /proc/self/loginuid; "
                   f"exec setpriv --reuid=0 cat {self.secret}'", "/dev/null")
        r = self.hived.wait_record(comm="cat", auid=login)
        self.assertEqual((r["uid"], r["user"], r["login"]), (0, "root", "nobody"))
        self.assertRegex(r["tty"], r"^pts[0-9]+$")
        self.assertNotEqual(r["session"], 4294967295)
        # This test's own login, if any: none (unset) is no such fields.
        own = int(open("/proc/self/loginuid").read())
        pid = self.spawn("cat", self.secret)
        r = self.hived.wait_record(pid=pid)
        if own == 4294967295:
            self.assertFalse({"auid", "login", "session"} & set(r), r)
        else:
            self.assertEqual(r["auid"], own)

    def test_lineage_is_named_though_it_is_gone(self):
        """sh -> sh -> cat, all gone before hived reads (it is stopped):
        the chain was read in the kernel at the access. Then a parent whose
        name has a newline, and a chain 256 processes deep (8 named)."""
        os.kill(self.hived.proc.pid, signal.SIGSTOP)
        try:
            outer = self.spawn("sh", "-c", f"sh -c 'cat {self.secret}; true'; true")
        finally:
            os.kill(self.hived.proc.pid, signal.SIGCONT)
        r = self.hived.wait_record(comm="cat", ancestors=lambda a: a and len(a) > 1 and a[1]["pid"] == outer)
        chain = r["ancestors"]
        self.assertEqual([a["comm"] for a in chain[:2]], ["sh", "sh"])
        self.assertEqual((r["parent_comm"], chain[2]["pid"]), ("sh", os.getpid()))
        self.assertTrue(len(chain) <= 8 and (chain[-1]["pid"] == 1 or len(chain) == 8), chain)

        evil = self.spawn(sys.executable, "-c", "import ctypes, subprocess, sys\n"
                          "ctypes.CDLL(None).prctl(15, b'evil\\nname', 0, 0, 0)\n"
                          f"subprocess.run(['cat', {self.secret!r}], stdout=subprocess.DEVNULL)")
        r = self.hived.wait_record(comm="cat", ppid=evil)
        self.assertEqual((r["parent_comm"], r["ancestors"][0]["comm"]), ("evil\\x0aname", "evil\\x0aname"))

        deep = os.path.join(self.tmp, "deep.sh")
        with open(deep, "w") as f:
            f.write(f'if [ "$1" -gt 0 ]; then sh "$0" $(($1 - 1)); else cat {self.secret}; fi; true\n')
        top = self.spawn("sh", deep, "255")
        r = self.hived.wait_record(comm="cat", ancestors=lambda a: a and len(a) == 8 and a[0]["comm"] == "sh",
                                   timeout=20)
        self.assertNotIn(top, [a["pid"] for a in r["ancestors"]])

    def test_write(self):
        pid = self.spawn("sh", "-c", f"echo new > {self.secret}")
        r = self.hived.wait_record(pid=pid)
        self.assertIn("write", r["access"])
        self.assertNotIn("append", r["access"])
        self.assertNotIn("read", r["access"])

    def test_append(self):
        pid = self.spawn("sh", "-c", f"echo more >> {self.secret}")
        r = self.hived.wait_record(pid=pid)
        self.assertIn("append", r["access"])

    def test_exec(self):
        pid = self.spawn(self.tool)
        r = self.hived.wait_record(pid=pid, path=self.tool)
        self.assertIn("exec", r["access"])

    def test_symlink(self):
        link = os.path.join(self.tmp, "link")
        os.symlink(self.secret, link)
        pid = self.spawn("cat", link)
        self.assertEqual(self.hived.wait_record(pid=pid)["path"], self.secret)

    def test_hard_link(self):
        link = os.path.join(self.tmp, "hardlink")
        os.link(self.secret, link)
        pid = self.spawn("cat", link)
        self.assertEqual(self.hived.wait_record(pid=pid)["path"], self.secret)

    def test_bind_mount(self):
        target = os.path.join(self.tmp, "mnt")
        open(target, "w").close()
        # unshare execs sh, which execs cat: one pid throughout.
        pid = self.spawn("unshare", "--mount", "--propagation", "private", "sh", "-c",
                         f"mount --bind {self.secret} {target} && exec cat {target}")
        r = self.hived.wait_record(pid=pid, comm="cat", path=self.secret)
        self.assertEqual(r["inode"], os.stat(self.secret).st_ino)

    def test_proc_self_root(self):
        pid = self.spawn("cat", "/proc/self/root" + self.secret)
        self.hived.wait_record(pid=pid, path=self.secret)

    def test_relative_path_after_chdir(self):
        pid = self.spawn("cat", "secret", cwd=self.tmp)
        self.hived.wait_record(pid=pid, path=self.secret)

    def test_unwatched_file_produces_nothing(self):
        quiet = self.spawn("cat", self.other)
        self.hived.assert_not_logged(quiet, self.secret)
        self.assertEqual(self.hived.matching(inode=os.stat(self.other).st_ino), [])

    def test_exe_is_seen_from_the_process_root(self):
        busybox = "/bin/busybox"
        if not os.path.exists(busybox):
            self.skipTest("busybox-static not installed")
        root = os.path.join(self.tmp, "root")
        os.makedirs(os.path.join(root, "bin"))
        shutil.copy(busybox, os.path.join(root, "bin", "busybox"))
        os.link(self.secret, os.path.join(root, "secret"))
        pid = self.spawn("chroot", root, "/bin/busybox", "cat", "/secret")
        r = self.hived.wait_record(pid=pid)
        self.assertEqual(r["exe"], "/bin/busybox")
        self.assertEqual(r["path"], self.secret)

    def test_deep_exe_path_is_marked_truncated(self):
        deep = os.path.join(self.tmp, *(["d"] * 40))
        os.makedirs(deep)
        shutil.copy(shutil.which("cat"), os.path.join(deep, "cat"))
        pid = self.spawn(os.path.join(deep, "cat"), self.secret)
        exe = self.hived.wait_record(pid=pid)["exe"]
        self.assertTrue(exe.startswith(".../d/d/"), exe)
        self.assertTrue(exe.endswith("/d/cat"), exe)


class SelfFilter(unittest.TestCase):
    """hived's own accesses to watched files are not records (its reads would
    otherwise feed back into the journal). The tests/run stage "mutant" builds
    hived with -Dmutant=no-self-filter and expects this test to fail."""

    def test_own_accesses_are_not_reported(self):
        hivetest.skip_unless_root()
        h = Hived()
        self.addCleanup(h.close)
        # hived reads its policy files (open for reading: the accesses a
        # policy selects, unlike its O_PATH resolving) at every reload.
        policy = os.path.join(h.policy_dir, "p.json")
        h.write_policy("p.json", host_policy("own", policy, access=["read"]))
        h.start()
        h.wait_read_logged(policy)  # positive control: reads of it are records
        h.reload()
        h.wait_read_logged(policy)  # made after hived's own read: its record would be in by now
        self.assertEqual(h.matching(pid=h.proc.pid), [])

    def test_in_a_pid_namespace_of_its_own(self):
        """In a container or systemd-nspawn, getpid() is not the tgid the
        kernel's programs see: hived still knows its own accesses (not
        recorded) and its resolver's reports (files identified, with their
        generation)."""
        hivetest.skip_unless_root()
        h = Hived(wrapper=["unshare", "--pid", "--fork", "--mount-proc", "--kill-child=SIGTERM"])
        hived = []

        def gone():
            try:
                return open(f"/proc/{hived[0]}/stat").read().split()[2] == "Z"
            except (IndexError, OSError):
                return True
        # After close (cleanups run last first): hived goes when unshare
        # does, a moment later; nothing of it may outlive the test.
        self.addCleanup(lambda: wait_until(gone, 10, what="hived in its pid namespace to exit"))
        self.addCleanup(h.close)
        policy = os.path.join(h.policy_dir, "p.json")
        h.write_policy("p.json", host_policy("own", policy, access=["read"]))
        h.start()
        h.wait_read_logged(policy)
        # A reload, signalled to hived itself (unshare passes no signal on).
        hived.append(int(open(f"/proc/{h.proc.pid}/task/{h.proc.pid}/children").read().split()[0]))
        before = sum("READY=1" in n for n in h.notifications())
        os.kill(hived[0], signal.SIGHUP)
        h.wait_ready(before + 1)
        h.wait_read_logged(policy)
        self.assertEqual(h.matching(comm="hived"), [])
        self.assertNotIn("Cannot identify", h.log_text())
        self.assertTrue(all(r["generation"] for r in h.snapshot()), h.snapshot())


class AccessFilter(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.file = os.path.join(self.tmp, "f")
        open(self.file, "w").close()


    def test_write_only_policy_ignores_reads(self):
        with Hived({"p.json": host_policy("writes", self.file, access=["write"])}) as h:
            reader = subprocess.Popen(["cat", self.file])
            reader.wait()
            writer = subprocess.Popen(["sh", "-c", f"echo x > {self.file}"])
            writer.wait()
            h.wait_record(pid=writer.pid)  # after the read: the read's record would be in
            self.assertEqual(h.matching(pid=reader.pid), [])

    def test_two_policies_on_one_file_each_get_a_record(self):
        with Hived({"p.json": [host_policy("reads", self.file, access=["read"]),
                               host_policy("all", self.file)]}) as h:
            p = subprocess.Popen(["cat", self.file])
            p.wait()
            h.wait_record(pid=p.pid, policy="reads")
            h.wait_record(pid=p.pid, policy="all")
            w = subprocess.Popen(["sh", "-c", f"echo x > {self.file}"])
            w.wait()
            h.wait_record(pid=w.pid, policy="all")
            h.wait_read_logged(self.file, policy="reads")  # a later read, for the control
            self.assertEqual(h.matching(pid=w.pid, policy="reads"), [])


if __name__ == "__main__":
    hivetest.main()
