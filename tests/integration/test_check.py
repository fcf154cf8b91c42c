#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hived --check: every bad policy directory is refused with a distinct,
clear error naming the file and the field; good ones pass. No root needed."""

import os
import tempfile
import unittest

from tests.lib import hivetest
from tests.lib.hivetest import HIVED, run

P = '"name": "p", "host": true'

# (files in the directory, text the single error must contain)
BAD = [
    ({"a.json": '{"name": "p",\n "host": tru}'}, 'a.json:2:10: invalid JSON near "tru}"'),
    ({"a.json": '{"name": "p"}\n{"name": "q"}'}, "a.json:2:1: unexpected text after the JSON value"),
    ({"a.json": '"shadow"'}, "a.json: must hold a policy object or an array of them, got a string"),
    ({"a.json": '[{%s, "paths": ["/x"]}, []]' % P}, "a.json: policy #2: must be an object, got an array"),
    ({"a.json": '{"host": true, "paths": ["/x"]}'}, "a.json: policy #1: name: is required"),
    ({"a.json": '{"name": "P", "host": true, "paths": ["/x"]}'}, 'name: "P" is not a valid name'),
    ({"a.json": '{%s, "paths": ["/x"], "mode": "strict"}' % P}, 'policy #1 "p": mode: unknown field'),
    ({"a.json": '{"name": "p", "host": "true", "paths": ["/x"]}'}, '"p": host: must be true or false, got a string'),
    ({"a.json": '{%s}' % P}, '"p": paths: is required'),
    ({"a.json": '{%s, "paths": []}' % P}, '"p": paths: must not be empty'),
    ({"a.json": '{%s, "paths": ["shadow"]}' % P}, 'paths[0]: "shadow" is not an absolute path'),
    ({"a.json": '{%s, "paths": ["/a", "/a/../b"]}' % P}, 'paths[1]: "/a/../b" has a "." or ".." component'),
    ({"a.json": '{%s, "paths": ["/x"], "access": ["read", "remove"]}' % P}, 'access[1]: unknown access "remove"'),
    ({"a.json": '{%s, "paths": ["/x"], "access": "read"}' % P}, '"p": access: must be an array of strings, got a string'),
    ({"a.json": '{%s, "paths": ["/x"], "action": "kill"}' % P}, 'action: unknown action "kill" (expected log, deny or audit-deny)'),
    ({"a.json": '{"name": "p", "paths": ["/x"]}'}, '"p": selects nothing'),
    ({"a.json": '{"name": "p", "paths": ["/x"], "namespaces": "security"}'}, 'namespaces: must be an array of strings, got a string'),
    ({"a.json": '{"name": "p", "paths": ["/x"], "podSelector": {"matchLabels": {"a b": "c"}}}'}, 'podSelector.matchLabels.a b: is not a valid label key'),
    ({"a.json": '{"name": "p", "paths": ["/x"], "podSelector": {"matchExpressions": [{"key": "k", "operator": "Like"}]}}'}, 'unknown operator "Like"'),
    ({"a.json": '{"name": "p", "paths": ["/x"], "containers": ["Web"]}'}, 'containers[0]: "Web" is not a valid name'),
    ({"a.json": '{%s, "paths": ["/x"]}' % P, "b.json": '{%s, "paths": ["/y"]}' % P}, 'b.json: policy "p": name already used in'),
    ({"a.json/": None}, "a.json: not a regular file"),
    ({"a.json": "{" + " " * (1024 * 1024) + "}"}, "a.json: larger than 1048576 bytes"),
    ({"a.json": '{%s, "paths": ["/x"], "podSelector": []}' % P}, 'podSelector: must be an object, got an array'),
    ({"a.json": '{%s, "paths": ["/x"], "followSymlinks": 0}' % P}, '"p": followSymlinks: must be true or false, got a number'),
]


class Check(unittest.TestCase):
    def setUp(self):
        self.tmp = hivetest.files_dir(self)
        self.conf = os.path.join(self.tmp, "hive.conf")
        open(self.conf, "w").close()


    def check(self, files):
        d = tempfile.mkdtemp(dir=self.tmp)
        for name, text in files.items():
            if name.endswith("/"):
                os.mkdir(os.path.join(d, name))
            else:
                with open(os.path.join(d, name), "w") as f:
                    f.write(text)
        return d, run(HIVED, "--check", "--config", self.conf, "--policy-dir", d, check=False)

    def test_twenty_bad_policy_sets_give_distinct_clear_errors(self):
        self.assertGreaterEqual(len(BAD), 20)
        seen = {}
        for files, expect in BAD:
            d, r = self.check(files)
            with self.subTest(expect=expect):
                self.assertEqual(r.returncode, 1)
                errors = [line for line in r.stderr.splitlines() if not line.startswith("Invalid policies in")]
                self.assertEqual(len(errors), 1, r.stderr)
                self.assertIn(expect, errors[0])
                self.assertTrue(errors[0].startswith(d + "/"), errors[0])
                self.assertIn(f"Invalid policies in {d}, check failed.", r.stderr)
                message = errors[0][len(d):]
                self.assertNotIn(message, seen, f"same error for two cases: {message}")
                seen[message] = files

    def test_all_problems_are_listed_at_once(self):
        d, r = self.check({"a.json": '[{"name": "a", "host": true, "paths": ["x"]}, {"name": "b"}]',
                           "b.json": "nonsense"})
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.splitlines(), [
            f'{d}/a.json: policy #1 "a": paths[0]: "x" is not an absolute path',
            f'{d}/a.json: policy #2 "b": paths: is required',
            f'{d}/b.json:1:1: invalid JSON near "nonsense"',
            f"Invalid policies in {d}, check failed.",
        ])

    def test_good_policies_pass(self):
        d, r = self.check({"10-shadow.json": '{"name": "etc-shadow", "host": true, "paths": ["/etc/shadow"],'
                                             ' "access": ["read", "write"], "action": "log"}',
                           "20-pods.json": '[{"name": "pods", "paths": ["/etc/shadow"], "namespaces": ["security"],'
                                           ' "podSelector": {"matchLabels": {"app": "web"}}}]',
                           "README": "not a policy", "x.json.disabled": "{"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), f"{d}: 2 policies OK.")

    def test_bad_config_and_flags(self):
        with open(self.conf, "w") as f:
            f.write("[agent]\nattach = magic\n")
        d, r = self.check({})
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{self.conf}:2: attach: \"magic\" is not one of auto, fentry, kprobe, tracepoint", r.stderr)
        open(self.conf, "w").close()
        r = run(HIVED, "--check", "--config", self.conf, "--policy-dir", d, "--dedup-window", "soon", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn('--dedup-window-ms: dedup_window_ms: "soon" is not a number', r.stderr)
        missing = os.path.join(self.tmp, "missing.conf")
        r = run(HIVED, "--check", "--config", missing, "--policy-dir", d, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.splitlines(), [f"{missing}: no such file", "Invalid configuration, check failed."])

    def test_a_path_hidden_by_the_sandbox_is_refused(self):
        """hive.service gives hived a /dev of its own (PrivateDevices=yes):
        there /dev/sda is not the host's disk, and a policy on it would
        watch nothing, silently. Made here with a mount namespace whose
        /dev is a tmpfs, as systemd's is."""
        hivetest.skip_unless_root()
        d, r = self.check({"a.json": '{"name": "disk", "host": true, "paths": ["/etc/shadow", "/dev/sda"]}'})
        self.assertEqual(r.returncode, 0, r.stderr)  # same /dev as PID 1: nothing hidden
        r = run("unshare", "--mount", "sh", "-c", 'mount -t tmpfs none /dev && exec "$0" "$@"', HIVED, "--check",
                "--config", self.conf, "--policy-dir", d, check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f'{d}/a.json: policy "disk": paths[1]: /dev/sda is in hived\'s own /dev (PrivateDevices=yes '
                      "in its unit), not the host's", r.stderr)
        self.assertNotIn("paths[0]", r.stderr)

    def test_deny_without_permission_events_is_refused(self):
        """Where nothing can refuse (no fanotify permission events: here
        hived without CAP_SYS_ADMIN; and no BPF LSM program: this host lists
        the BPF LSM but refuses its programs, which only a load tells), a
        deny policy is refused, never pretended; a log policy still passes."""
        hivetest.skip_unless_root()
        d, r = self.check({"a.json": '{"name": "guard", "host": true, "paths": ["/etc/shadow"], "action": "deny"}'})
        self.assertEqual(r.returncode, 0, r.stderr)
        no_admin = ["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin"]
        r = run(*no_admin, HIVED, "--check", "--config", self.conf, "--policy-dir", d, check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f'{d}/a.json: policy "guard": action: "deny" needs BPF LSM programs or fanotify '
                      "permission events, and this kernel gives neither (BPF LSM: ", r.stderr)
        d, _ = self.check({"a.json": '{"name": "guard", "host": true, "paths": ["/etc/shadow"]}'})
        r = run(*no_admin, HIVED, "--check", "--config", self.conf, "--policy-dir", d, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_deny_of_what_logins_need_is_warned_about(self):
        """A deny that would refuse the node's own logins (the user database,
        a shell through its /bin/sh name) passes with a warning naming the
        file, the policy and why; its audit-deny and a deny of writes do not
        warn."""
        hivetest.skip_unless_root()
        d, r = self.check({"a.json": '{"name": "lockout", "host": true, "paths": ["/etc/passwd", "/bin/sh"], '
                                     '"action": "deny"}'})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f'{d}/a.json: policy "lockout": paths[0]: /etc/passwd is needed to boot or log in (every '
                      'login and most programs read the user database); this deny refuses it to every process: '
                      'roll it out as "audit-deny" first', r.stderr)
        self.assertIn('paths[1]: /bin/sh is needed to boot or log in', r.stderr)
        for quiet in ('"action": "audit-deny"', '"action": "deny", "access": ["write"]'):
            d, r = self.check({"a.json": '{"name": "lockout", "host": true, "paths": ["/etc/passwd"], %s}' % quiet})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("needed to boot or log in", r.stderr)

    def test_missing_policy_directory(self):
        r = run(HIVED, "--check", "--config", self.conf, "--policy-dir", "/nonexistent/policies", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Cannot read policy directory /nonexistent/policies: No such file or directory", r.stderr)


if __name__ == "__main__":
    hivetest.main()
