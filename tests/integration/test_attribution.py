#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Attribution under attack: a record names who really made the access, as
the kernel decided it, whatever the process does to look like someone
else."""

import os
import shutil
import subprocess
import sys
import textwrap
import unittest

from tests.lib import hivetest
from tests.lib.hivetest import Hived, host_policy, wait_until


class Attribution(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.file = os.path.join(self.tmp, "secret")
        with open(self.file, "w") as f:
            f.write("secret\n")

    def start(self, config=""):
        h = Hived({"p.json": host_policy("secret", self.file)}, config=config).start()
        self.addCleanup(h.close)
        return h

    def test_the_uid_that_decided_is_recorded(self):
        """setresuid(1000, 0, 0): the real uid says 1000, the check was made
        as root. The record has both, and the executable's file beside its
        path (a path can be made to read like another program's)."""
        h = self.start("[agent]\ndedup_window_ms = 0\n")
        script = textwrap.dedent("""\
            import os, sys
            os.setresuid(1000, 0, 0)
            open(sys.argv[1]).read()
        """)
        subprocess.run([sys.executable, "-c", script, self.file], check=True)
        exe = os.path.realpath(sys.executable)
        r = h.wait_record(exe=exe)
        self.assertEqual((r["uid"], r["euid"], r["fsuid"]), (1000, 0, 0), r)
        st = os.stat(exe)
        self.assertEqual(r["exe_inode"], st.st_ino, r)
        self.assertIn("exe_dev", r)

    def test_an_exec_ends_the_fold(self):
        """bash reads the file twice (the second folded), then execs another
        program that reads it: that read is the new program's record, not a
        count folded into bash's."""
        evil = os.path.join(self.tmp, "evil")
        shutil.copy(shutil.which("cat"), evil)
        h = self.start()  # dedup on: 1 s windows
        p = subprocess.Popen(["bash", "-c", f'read x < "$0"; read x < "$0"; exec {evil} "$0" >/dev/null',
                              self.file])
        p.wait()
        r = h.wait_record(pid=p.pid, comm="evil")
        self.assertEqual(r["exe"], evil)

        def by_comm():
            counts = {}
            for r in h.matching(pid=p.pid):
                counts[r["comm"]] = counts.get(r["comm"], 0) + 1 + r["suppressed"]
            return counts
        wait_until(lambda: sum(by_comm().values()) >= 3, 10, what=f"3 accesses recorded: {by_comm()}")
        self.assertEqual(by_comm(), {"bash": 2, "evil": 1})


if __name__ == "__main__":
    hivetest.main()
