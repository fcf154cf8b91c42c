#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""action deny and audit-deny on this host (fanotify permission events): a
refused open fails in the process and is a record; a process filter lets
the excepted program through, by inode (a copy is refused, a hard link is
the program); a dry run refuses nothing and records what it would; the
kind of an open (read, write, append) is told apart; hived never refuses
itself; when hived goes, every refusal goes with it."""

import os
import shutil
import signal
import subprocess

from tests.lib import hivetest
from tests.lib.hivetest import Hived, cat, host_policy, wait_until


def read(argv):
    """Run a reader of a text file; its CompletedProcess."""
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Deny(hivetest.MountingTest):
    def setUp(self):
        super().setUp()
        self.file = os.path.join(self.tmp, "secret")
        with open(self.file, "w") as f:
            f.write("s3cret\n")
        self.reader = os.path.join(self.tmp, "reader")
        shutil.copy2("/usr/bin/head", self.reader)

    def start(self, *policies, wait=True):
        h = Hived({f"{p['name']}.json": p for p in policies}, args=["--dedup-window", "0"])
        h.start()
        self.addCleanup(h.close)
        return h

    def deny(self, name="no-reads", **extra):
        return dict(host_policy(name, self.file), action="deny", **extra)

    def run_pid(self, argv):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate()
        return p.pid, p.returncode, out, err

    def test_a_denied_read_fails_and_is_a_record(self):
        h = self.start(self.deny(access=["read"]))
        pid, rc, out, err = self.run_pid(["cat", self.file])
        self.assertEqual((rc, out), (1, ""), err)
        self.assertIn("Operation not permitted", err)
        r = h.wait_record(pid=pid, path=self.file)
        self.assertEqual((r["action"], r["access"], r["comm"], r["attach"]), ("denied", ["read"], "cat", "fanotify"))
        # Writes are not refused by a deny of reads; and are no record of it.
        pid, rc, _, err = self.run_pid(["sh", "-c", f"echo more >> {self.file}"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(h.matching(pid=pid), [])
        # Once hived stops, nothing is refused.
        self.assertEqual(h.stop(), 0)
        self.assertEqual(read(["cat", self.file]).returncode, 0)

    def test_the_kind_of_an_open_is_told_apart(self):
        h = self.start(self.deny(access=["append"]))
        self.assertEqual(read(["cat", self.file]).returncode, 0)
        pid, rc, _, err = self.run_pid(["sh", "-c", f"exec 3>>{self.file}"])
        self.assertNotEqual(rc, 0)
        r = h.wait_record(pid=pid, action="denied")
        self.assertEqual(r["access"], ["write", "append"])
        # An open for writing that does not append is not refused.
        self.assertEqual(read(["sh", "-c", f"exec 3<>{self.file}"]).returncode, 0)

    def test_the_excepted_program_reads_by_inode(self):
        h = self.start(self.deny(**{"except": {"executables": [self.reader]}}))
        h.wait_log(f"Watching executable {self.reader} (policy no-reads)")
        p = read([self.reader, self.file])
        self.assertEqual((p.returncode, p.stdout), (0, "s3cret\n"), p.stderr)
        # A hard link elsewhere is the same program.
        os.mkdir(os.path.join(self.tmp, "elsewhere"))
        link = os.path.join(self.tmp, "elsewhere", "head")
        os.link(self.reader, link)
        self.assertEqual(read([link, self.file]).returncode, 0)
        # A copy is not.
        copy = os.path.join(self.tmp, "copy")
        shutil.copy2(self.reader, copy)
        pid, rc, _, _ = self.run_pid([copy, self.file])
        self.assertEqual(rc, 1)
        r = h.wait_record(pid=pid, action="denied")
        self.assertEqual(r["exe"], copy)
        self.assertEqual(read(["cat", self.file]).returncode, 1)

    def test_audit_deny_refuses_nothing_and_records_what_it_would(self):
        h = self.start(dict(host_policy("dry", self.file), action="audit-deny",
                            **{"except": {"executables": [self.reader]}}))
        h.wait_log(f"Watching executable {self.reader} (policy dry)")
        pid, rc, out, _ = self.run_pid(["cat", self.file])
        self.assertEqual((rc, out), (0, "s3cret\n"))
        r = h.wait_record(pid=pid, path=self.file)
        self.assertEqual((r["action"], r["access"]), ("would-deny", ["read"]))
        excepted, _, _, _ = self.run_pid([self.reader, self.file])
        control, _, _, _ = self.run_pid(["cat", self.file])
        h.wait_record(pid=control)
        self.assertEqual(h.matching(pid=excepted), [])

    def test_exec_is_refused(self):
        prog = os.path.join(self.tmp, "prog")
        shutil.copy2("/usr/bin/true", prog)
        h = self.start(dict(host_policy("no-exec", prog), action="deny", access=["exec"]))
        pid, rc, _, err = self.run_pid(["sh", "-c", f"exec {prog}"])
        self.assertNotEqual(rc, 0)
        r = h.wait_record(path=prog, action="denied")
        self.assertEqual(r["access"], ["exec"])
        self.assertEqual(r["comm"], "sh")
        # Reading it is not refused.
        self.assertEqual(subprocess.run(["cat", prog], stdout=subprocess.DEVNULL).returncode, 0)

    def test_hived_never_refuses_itself(self):
        """A deny of everyone's reads of hived's own policy file: hived still
        reads it at a reload; everyone else is refused."""
        h = Hived({}, args=["--dedup-window", "0"])
        path = h.write_policy("self.json", dict(host_policy("self", os.path.join(h.policy_dir, "self.json")),
                                                action="deny"))
        h.start()
        self.addCleanup(h.close)
        wait_until(lambda: read(["cat", path]).returncode == 1, 10, what="the policy file refused to cat")
        h.reload()
        self.assertNotIn("Cannot", h.log_text())

    def test_an_opener_hived_cannot_see_is_refused(self):
        """hived in a pid namespace of its own: an opener outside it has no
        pid there (fanotify says 0), so no filter can be checked: refused,
        even the program the policy excepts (which hived, seeing it, lets
        read)."""
        h = Hived({"d.json": self.deny(**{"except": {"executables": [self.reader]}})},
                  args=["--dedup-window", "0"],
                  wrapper=["unshare", "--pid", "--fork", "--mount-proc", "--kill-child=SIGTERM"])
        h.start()
        self.addCleanup(h.close)
        h.wait_log(f"Watching executable {self.reader} (policy no-reads)")
        wait_until(lambda: read(["cat", self.file]).returncode == 1, 10, what="the read refused")
        self.assertEqual(read([self.reader, self.file]).returncode, 1)

    def test_a_killed_agent_leaves_nothing_refused(self):
        h = self.start(self.deny())
        wait_until(lambda: read(["cat", self.file]).returncode == 1, 10, what="the read refused")
        h.stop(sig=signal.SIGKILL)
        self.assertEqual(read(["cat", self.file]).returncode, 0)

    def test_a_renamed_file_stays_refused(self):
        h = self.start(self.deny())
        wait_until(lambda: read(["cat", self.file]).returncode == 1, 10, what="the read refused")
        away = os.path.join(self.tmp, "away")
        os.rename(self.file, away)
        self.assertEqual(read(["cat", away]).returncode, 1)
        # A new file at the path is refused once the agent found it.
        with open(self.file, "w") as f:
            f.write("new\n")
        wait_until(lambda: read(["cat", self.file]).returncode == 1, 10, what="the new file refused")


if __name__ == "__main__":
    hivetest.main()
