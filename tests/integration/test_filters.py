#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Process filters ("only", "except"): which processes a policy is about.
An executable is the file the kernel runs, by inode: a hard link to it is
that program, a copy is another; a binary replaced at its path is followed.
Accesses a filter leaves out are no records, and are counted."""

import os
import re
import shutil
import signal
import subprocess
import sys

from tests.lib import hivetest
from tests.lib.hivetest import Hived, cat, host_policy, wait_until

FINAL = re.compile(r"Final Stats: (\d+) accesses matched, (\d+) records written, (\d+) suppressed, (\d+) dropped .* "
                   r"(\d+) excepted by process filters")
NOBODY = 65534


def run(*argv):
    p = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.wait()
    return p.pid


class Filters(hivetest.MountingTest):
    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)  # for reads as nobody
        self.file = os.path.join(self.tmp, "secret")
        self.control = os.path.join(self.tmp, "control")
        for path in (self.file, self.control):
            with open(path, "w") as f:
                f.write("x\n")
            os.chmod(path, 0o644)
        # The excepted program: a copy of head of the test's own, so that
        # it can be replaced; a copy of that is another program.
        self.bin = os.path.join(self.tmp, "bin")
        os.mkdir(self.bin)
        self.reader = os.path.join(self.bin, "reader")
        shutil.copy2("/usr/bin/head", self.reader)

    def start(self, policy):
        control = host_policy("control", self.control)
        h = Hived({"p.json": policy, "c.json": control}, args=["--dedup-window", "0"])
        h.start()
        self.addCleanup(h.close)
        return h

    def assert_excepted(self, h, pid):
        h.assert_not_logged(pid, self.control)

    def final_excepted(self, h):
        """Excepted accesses, once hived stopped: every access it matched is
        a record, suppressed, dropped or excepted (one policy a file)."""
        self.assertEqual(h.stop(), 0)
        m = FINAL.search(h.log_text())
        self.assertIsNotNone(m, h.log_text())
        matched, written, suppressed, dropped, excepted = (int(x) for x in m.groups())
        self.assertEqual(written, len(h.snapshot()))
        self.assertEqual(matched, written + suppressed + dropped + excepted)
        return excepted

    def test_except_an_executable_by_its_inode(self):
        policy = dict(host_policy("secret", self.file), **{"except": {"executables": [self.reader]}})
        h = self.start(policy)
        self.assert_excepted(h, run(self.reader, self.file))
        # The same file by another name: a hard link elsewhere.
        os.mkdir(os.path.join(self.tmp, "elsewhere"))
        link = os.path.join(self.tmp, "elsewhere", "link")
        os.link(self.reader, link)
        self.assert_excepted(h, run(link, self.file))
        # And through a bind mount of it.
        bound = os.path.join(self.tmp, "bound")
        open(bound, "w").close()
        os.chmod(bound, 0o755)
        self.mount("--bind", self.reader, bound)
        self.assert_excepted(h, run(bound, self.file))
        # Another file with the same bytes is another program.
        copy = os.path.join(self.tmp, "copy")
        shutil.copy2(self.reader, copy)
        pid = run(copy, self.file)
        h.wait_record(pid=pid, path=self.file, exe=copy)
        # Everyone else is recorded.
        h.wait_record(pid=cat(self.file), path=self.file)
        self.assertEqual(self.final_excepted(h), 3)

    def test_changes_are_filtered_alike(self):
        """A change (here a chmod) is filtered by the same rule, whichever
        way the mode sees it (in tracepoint mode fanotify tells it and the
        process is read from /proc: no generation)."""
        chmod = os.path.join(self.bin, "chmod")
        shutil.copy2("/usr/bin/chmod", chmod)
        policy = dict(host_policy("secret", self.file, access=["attrib"]),
                      **{"except": {"executables": [chmod]}})
        h = self.start(policy)
        h.wait_log(f"Watching executable {chmod} (policy secret)")
        pid = run(chmod, "0600", self.file)
        mark = run("chmod", "0644", self.file)
        h.wait_record(pid=mark, path=self.file, access=["attrib"])
        self.assertEqual(h.matching(pid=pid), [])

    def test_an_exec_into_an_excepted_program_hides_no_change(self):
        """A program that chmods the file and then execs the excepted one
        made the change as itself: still a record. With hived stopped
        until the exec is done, the change is read while the process
        already runs the excepted program (tracepoint mode's case)."""
        sleep = os.path.join(self.bin, "sleep")
        shutil.copy2("/usr/bin/sleep", sleep)
        policy = dict(host_policy("secret", self.file, access=["attrib"]),
                      **{"except": {"executables": [sleep]}})
        h = self.start(policy)
        h.wait_log(f"Watching executable {sleep} (policy secret)")
        os.kill(h.proc.pid, signal.SIGSTOP)
        try:
            p = subprocess.Popen([sys.executable, "-c",
                                  "import os, sys; os.chmod(sys.argv[1], 0o600); "
                                  "os.execv(sys.argv[2], ['sleep', '30'])", self.file, sleep])
            self.addCleanup(p.wait)
            self.addCleanup(p.kill)
            wait_until(lambda: os.path.realpath(f"/proc/{p.pid}/exe") == sleep, what="the exec of sleep")
        finally:
            os.kill(h.proc.pid, signal.SIGCONT)
        h.wait_record(pid=p.pid, path=self.file, access=["attrib"])

    def test_a_replaced_executable_is_followed(self):
        policy = dict(host_policy("secret", self.file), **{"except": {"executables": [self.reader]}})
        h = self.start(policy)
        self.assert_excepted(h, run(self.reader, self.file))
        # An upgrade: a new file renamed over the old one (which keeps a
        # link elsewhere).
        old = os.path.join(self.tmp, "old-reader")
        os.link(self.reader, old)
        new = os.path.join(self.bin, ".reader.new")
        shutil.copy2("/usr/bin/head", new)
        os.rename(new, self.reader)
        # The agent follows it once it has seen the rename: from then on
        # the new file is the excepted program.
        def new_one_excepted():
            pid = run(self.reader, self.file)
            control = cat(self.control)
            wait_until(lambda: h.matching(pid=control), 10, what="the control read")
            return not h.matching(pid=pid)
        wait_until(new_one_excepted, 10, what="the replaced reader excepted")
        self.assert_excepted(h, run(self.reader, self.file))
        # The file it replaced is no longer the excepted program.
        h.wait_record(pid=run(old, self.file), path=self.file)

    def test_only_uids_and_except_combined(self):
        policy = dict(host_policy("secret", self.file),
                      only={"uids": [NOBODY]},
                      **{"except": {"uids": [NOBODY], "executables": [self.reader]}})
        h = self.start(policy)
        # Root is not in "only".
        self.assert_excepted(h, cat(self.file))
        # nobody running the reader: in "only", and in "except" (both its kinds hold).
        self.assert_excepted(h, run("setpriv", f"--reuid={NOBODY}", "--regid=65534", "--clear-groups",
                                    self.reader, self.file))
        # nobody running cat: in "only", and not in "except" (one kind only).
        pid = run("setpriv", f"--reuid={NOBODY}", "--regid=65534", "--clear-groups", "cat", self.file)
        record = h.wait_record(pid=pid, path=self.file)
        self.assertEqual(record["uid"], NOBODY)

    def test_auids(self):
        policy = dict(host_policy("secret", self.file), only={"auids": [1000]})
        h = self.start(policy)
        # A login of uid 1000: the kernel's loginuid, set once per process.
        script = f"echo 1000 > /proc/self/loginuid && exec cat {self.file}"
        p = subprocess.run(["sh", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            self.skipTest(f"cannot set a login uid here: {p.stderr.strip()}")
        h.wait_record(path=self.file, auid=1000)
        self.assert_excepted(h, cat(self.file))

    def test_a_reload_changes_the_filter(self):
        policy = host_policy("secret", self.file)
        h = self.start(policy)
        h.wait_record(pid=run(self.reader, self.file), path=self.file)
        h.write_policy("p.json", dict(policy, **{"except": {"executables": [self.reader]}}))
        h.reload()
        self.assert_excepted(h, run(self.reader, self.file))
        h.write_policy("p.json", policy)
        h.reload()
        h.wait_record(pid=run(self.reader, self.file), path=self.file)

    def test_a_missing_executable_excepts_nothing_until_it_appears(self):
        later = os.path.join(self.bin, "later")
        policy = dict(host_policy("secret", self.file), **{"except": {"executables": [later]}})
        h = self.start(policy)
        h.wait_log(f"Host executable {later} (policy secret) does not exist")
        h.wait_record(pid=run(self.reader, self.file), path=self.file)
        shutil.copy2(self.reader, later + ".tmp")
        os.rename(later + ".tmp", later)

        def excepted():
            pid = run(later, self.file)
            control = cat(self.control)
            wait_until(lambda: h.matching(pid=control), 10, what="the control read")
            return not h.matching(pid=pid)
        wait_until(excepted, 10, what="the new executable excepted")


if __name__ == "__main__":
    hivetest.main()
