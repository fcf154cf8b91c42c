#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Side by side with auditd, on the compliance rule sets Debian ships: the
file watches (-w) of 30-stig.rules and 30-pci-dss-v31.rules, re-rooted under
a scratch directory, are loaded into a real auditd and converted into one
Hive policy by `hivectl from-auditd`; then every kind of action is done on
every watched file and directory, each action by a program of its own name
(a copy of the tool), and every action auditd records must be a record of
hived too. Printed: the table, and how many each recorded."""

import os
import re
import shutil
import subprocess
import sys
import unittest

from tests.lib import auditd_rules, hivetest
from tests.lib.hivetest import HIVECTL, Hived

RULE_SETS = ("30-stig.rules", "30-pci-dss-v31.rules")

def watched_paths(rules_dir):
    """The -w paths of the rule sets, with their permissions and keys."""
    rules = []
    for name in RULE_SETS:
        with open(os.path.join(rules_dir, name)) as f:
            for line in f:
                m = re.match(r"-w (\S+) -p (\S+) -k (\S+)", line.strip())
                if m:
                    rules.append(m.groups())
    return rules


class AuditdComparison(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        rules_dir = auditd_rules.rules_dir()
        if not rules_dir:
            self.skipTest("auditd's rule sets are not here (tests/prepare unpacks them)")
        self.root = hivetest.files_dir(self)
        self.rules = watched_paths(rules_dir)
        self.keys = {k for _, _, k in self.rules}
        # The watched files and directories, re-rooted.
        for path, _, _ in self.rules:
            local = self.local(path)
            if path.endswith("/"):
                os.makedirs(local, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(local), exist_ok=True)
                with open(local, "w") as f:
                    f.write("x\n")
        self.dir = self.local("/etc/sudoers.d/")
        for name in ("10-x", "old"):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write("x\n")
        self.outside = os.path.join(self.root, "outside")
        os.mkdir(self.outside)
        # A hard link outside the watched directory, made before the watch.
        os.link(os.path.join(self.dir, "old"), os.path.join(self.outside, "early-link"))
        with open(os.path.join(self.outside, "evil"), "w") as f:
            f.write("x\n")
        self.bin = os.path.join(self.root, "bin")
        os.mkdir(self.bin)
        rules_file = os.path.join(self.root, "hive-compare.rules")
        with open(rules_file, "w") as f:
            for path, perms, key in self.rules:
                f.write(f"-w {self.local(path)}{'/' if path.endswith('/') else ''} -p {perms} -k {key}\n")
        policy = subprocess.run([HIVECTL, "from-auditd", rules_file], capture_output=True, text=True)
        self.assertEqual(policy.returncode, 0, policy.stderr)
        if not auditd_rules.daemon():
            self.skipTest("auditd is neither installed nor unpacked (tests/prepare)")
        self.auditd = auditd_rules.Daemon(rules_file, self.root)
        self.addCleanup(self.auditd.close)
        self.hived = Hived({"auditd.json": policy.stdout}, config="[agent]\ndedup_window_ms = 0\n").start()
        self.addCleanup(self.hived.close)

    def local(self, path):
        return os.path.join(self.root, path.lstrip("/").rstrip("/"))

    def actions(self):
        """(what, tool, arguments): each run by a copy of the tool named
        for the action, the name both records carry."""
        etc = self.local("/etc")
        d = self.dir
        py = sys.executable
        return [
            ("append to shadow", "tee", ["-a", f"{etc}/shadow"]),
            ("truncate passwd", "truncate", ["-s", "0", f"{etc}/passwd"]),
            ("chmod 4755 shadow", "chmod", ["4755", f"{etc}/shadow"]),
            ("chown group", "chown", ["nobody", f"{etc}/group"]),
            ("touch -d hosts", "touch", ["-d", "2001-01-01", f"{etc}/hosts"]),
            ("utime() issue", py, ["-c", f"import os; os.utime('{etc}/issue', (0, 0))"]),
            ("setxattr issue", py, ["-c", f"import os; os.setxattr('{etc}/issue', 'user.hive', b'1')"]),
            ("fchmod localtime", py, ["-c", f"import os; fd = os.open('{etc}/localtime', os.O_RDONLY); "
                                            "os.fchmod(fd, 0o600)"]),
            ("ln gshadow outside", "ln", [f"{etc}/gshadow", f"{self.outside}/gshadow-link"]),
            ("mv issue.net away", "mv", [f"{etc}/issue.net", f"{etc}/issue.net.old"]),
            ("mv issue.net back", "mv", [f"{etc}/issue.net.old", f"{etc}/issue.net"]),
            ("rename onto hostname", py, ["-c", f"import os; open('{etc}/hostname.new', 'w').write('h'); "
                                                f"os.rename('{etc}/hostname.new', '{etc}/hostname')"]),
            ("rm opasswd", "rm", [f"{etc}/security/opasswd"]),
            ("rm sudoers", "rm", [f"{etc}/sudoers"]),
            ("create in sudoers.d", "touch", [f"{d}/new"]),
            ("mkdir in sudoers.d", "mkdir", [f"{d}/sub"]),
            ("chmod in sudoers.d", "chmod", ["0600", f"{d}/10-x"]),
            ("append in sudoers.d", "tee", ["-a", f"{d}/10-x"]),
            ("mv into sudoers.d", "mv", [f"{self.outside}/evil", f"{d}/evil"]),
            ("mv within sudoers.d", "mv", [f"{d}/10-x", f"{d}/20-x"]),
            ("symlink in sudoers.d", "ln", ["-s", "/etc/shadow", f"{d}/sym"]),
            ("rm in sudoers.d", "rm", [f"{d}/new"]),
            ("append through a link outside", "tee", ["-a", f"{self.outside}/early-link"]),
            # Last, one both see: once its records are in, all are.
            ("chmod 0640 shadow", "chmod", ["0640", f"{etc}/shadow"]),
        ]

    def run_as(self, name, tool, args):
        """Run tool as a program called name: its comm."""
        exe = os.path.join(self.bin, name)
        shutil.copy(shutil.which(tool) if not os.path.isabs(tool) else tool, exe)
        p = subprocess.run([exe, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        self.assertEqual(p.returncode, 0, f"{name} {args}: {p.stderr}")

    def test_hive_records_every_action_auditd_records(self):
        names = []
        for i, (what, tool, args) in enumerate(self.actions()):
            name = f"hc{i:02d}"
            self.run_as(name, tool, args)
            names.append((name, what))
        last = names[-1][0]
        # auditd's record of the last action is in: so are all of its
        # records (it writes them in order). hived reads changes and
        # accesses from two queues: wait for each action auditd recorded.
        hivetest.wait_until(lambda: last in self.auditd.comms(self.keys), 10, what=f"auditd's record of {last}")
        audited = self.auditd.comms(self.keys)

        def hive():
            # A record without a comm counts for no action; it is printed
            # below, for what it is.
            return {r.get("comm") for r in self.hived.snapshot()}
        try:
            hivetest.wait_until(lambda: {n for n, _ in names} <= hive(), 10, what="hived's records of each action")
        except AssertionError:
            pass  # the table says which
        hive = hive()
        rows = [(what, name in audited, name in hive) for name, what in names]
        for what, a, h in rows:
            print(f"# {what:32} auditd {'yes' if a else 'no ':3}  hive {'yes' if h else 'no'}")
        for r in self.hived.snapshot():
            if "comm" not in r:
                print(f"# a record naming no process: {r}")
        print(f"# auditd recorded {sum(a for _, a, _ in rows)} of {len(rows)} actions, "
              f"hive {sum(h for _, _, h in rows)}")
        missed = [what for what, a, h in rows if a and not h]
        self.assertEqual(missed, [], "actions auditd recorded and hive did not")


if __name__ == "__main__":
    hivetest.main()
