#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hivectl from-auditd on the compliance rule sets Debian's auditd package
ships: a team moves its file watches over in one command, and what Hive
cannot express yet is said, not silently lost."""

import json
import os
import subprocess
import tempfile
import unittest

from tests.lib import auditd_rules, hivetest
from tests.lib.hivetest import HIVECTL, HIVED, run

WA = ["write", "append", "attrib", "truncate", "create", "delete", "rename", "link"]


def convert(*files, text=None):
    return subprocess.run([HIVECTL, "from-auditd", *files], input=text, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)


class FromAuditd(unittest.TestCase):
    def setUp(self):
        self.rules = auditd_rules.rules_dir()
        if not self.rules:
            self.skipTest("auditd's rule sets are not here (tests/prepare unpacks them)")

    def test_stig_and_pci_dss_become_a_valid_policy_file(self):
        r = convert(os.path.join(self.rules, "30-stig.rules"), os.path.join(self.rules, "30-pci-dss-v31.rules"))
        self.assertEqual(r.returncode, 0, r.stderr)
        policies = {p["name"]: p for p in json.loads(r.stdout)}
        # -w /etc/shadow -p wa -k identity
        self.assertIn("/etc/shadow", policies["identity"]["paths"])
        self.assertEqual(sorted(policies["identity"]["access"]), sorted(WA))
        self.assertTrue(policies["identity"]["host"])
        # -w /etc/sudoers.d/ -p wa -k actions: a directory is its tree.
        self.assertIn("/etc/sudoers.d/**", policies["actions"]["paths"])
        # -a always,exit -F dir=/etc/selinux/ -F perm=wa -F key=MAC-policy
        self.assertEqual(policies["mac-policy"]["paths"], ["/etc/selinux/**"])
        # -F perm=x on the audit tools, -F perm=r on the audit trail: one
        # key, two kinds of access, two policies.
        trail = [p for name, p in policies.items() if name.startswith("10-2-3-access-audit-trail")]
        self.assertEqual(sorted(tuple(p["access"]) for p in trail), [("exec",), ("read",)])
        # The auid filter Hive cannot express is said, with the line.
        self.assertRegex(r.stderr, r"30-pci-dss-v31.rules:\d+: /var/log/audit: converted without -F auid>=1000")
        self.assertRegex(r.stderr, r"\d+ file watches converted into \d+ policies; \d+ syscall rules skipped")
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "auditd.json"), "w") as f:
                f.write(r.stdout)
            check = run(HIVED, "--check", "--policy-dir", d, check=False)
            self.assertEqual(check.returncode, 0, check.stderr)

    def test_every_shipped_rule_set_converts(self):
        for name in sorted(os.listdir(self.rules)):
            if name.endswith(".rules"):
                r = convert(os.path.join(self.rules, name))
                self.assertEqual(r.returncode, 0, f"{name}: {r.stderr}")
                json.loads(r.stdout)

    def test_malformed_lines_are_named(self):
        r = convert(text="-w /etc/x -p q -k y\n-w relative -p r\n-w /etc/ok -p r -k ok\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("-:1: not converted: a permission other than r, w, x or a", r.stderr)
        self.assertIn("-:2: not converted: the path is not absolute", r.stderr)
        self.assertEqual(json.loads(r.stdout), [{"name": "ok", "host": True, "paths": ["/etc/ok"],
                                                 "access": ["read"]}])


if __name__ == "__main__":
    hivetest.main()
