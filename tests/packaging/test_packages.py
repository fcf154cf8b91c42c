#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The .deb and the .rpm, built with their one command each, inspected:
files, dependencies, configuration files, maintainer scripts, lintian."""

import os
import re
import shutil
import tempfile
import unittest

from tests.lib import hivetest
from tests.lib.hivetest import SRC, run

VERSION = re.search(r"version : '([^']+)'", open(os.path.join(SRC, "meson.build")).read()).group(1)
FILES = ["/usr/sbin/hived", "/usr/bin/hivectl", "/etc/hive/hive.conf", "/etc/hive/policies.d/example.json.disabled",
         "/usr/lib/systemd/catalog/hive.catalog", "/usr/share/dbus-1/system.d/io.hive.Hive1.conf"]
MAN = ["hived.8", "hive.conf.5", "hive-policy.5", "hivectl.1"]
LIBS = ["libbpf", "libsystemd", "libcjson", "libcurl"]


class Deb(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("dpkg-buildpackage", "dh", "lintian"):
            if not shutil.which(tool):
                raise unittest.SkipTest(f"{tool} not installed (debhelper, dpkg-dev, lintian)")
        cls.out = tempfile.mkdtemp(prefix="hive-deb-")
        run(os.path.join(SRC, "packaging", "deb", "build"), cls.out)
        cls.deb = os.path.join(cls.out, f"hive_{VERSION}_amd64.deb")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, ignore_errors=True)

    def field(self, name):
        return run("dpkg-deb", "-f", self.deb, name).stdout.strip()

    def test_name_and_files(self):
        self.assertTrue(os.path.exists(self.deb))
        listing = run("dpkg-deb", "-c", self.deb).stdout
        for f in FILES + ["/lib/systemd/system/hive.service"]:
            self.assertIn("." + f + "\n", listing)
        for page in MAN:
            self.assertRegex(listing, re.escape(page) + r"\.gz\n")

    def test_depends(self):
        depends = self.field("Depends")
        for lib in ["libbpf1", "libsystemd0", "libcjson1", "libcurl4", "libc6"]:
            self.assertIn(lib, depends)
        self.assertIn("default-dbus-system-bus | dbus-system-bus", depends)

    def test_conffiles(self):
        with tempfile.TemporaryDirectory() as d:
            run("dpkg-deb", "-e", self.deb, d)
            conffiles = open(os.path.join(d, "conffiles")).read().split()
            postinst = open(os.path.join(d, "postinst")).read()
            postrm = open(os.path.join(d, "postrm")).read()
        self.assertIn("/etc/hive/hive.conf", conffiles)
        self.assertIn("/etc/hive/policies.d/example.json.disabled", conffiles)
        # Debian policy: the unit is enabled and started on installation.
        self.assertIn("deb-systemd-helper", postinst)
        self.assertIn("enable", postinst)
        self.assertIn("rmdir --ignore-fail-on-non-empty /etc/hive/policies.d /etc/hive", postrm)

    def test_lintian_tags_are_all_explained(self):
        report = open(os.path.join(self.out, "lintian.txt")).read()
        tags = set(re.findall(r"^[EWIPX]: hive[^:]*: (\S+)", report, re.M))
        notes = open(os.path.join(SRC, "packaging", "deb", "lintian-notes.md")).read()
        self.assertFalse([t for t in tags if t not in notes], report)
        self.assertNotRegex(report, r"^E: ", "lintian errors")


class Rpm(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("rpmbuild"):
            raise unittest.SkipTest("rpmbuild not installed (package rpm)")
        cls.out = tempfile.mkdtemp(prefix="hive-rpm-")
        run(os.path.join(SRC, "packaging", "rpm", "build"), cls.out)
        cls.rpm = os.path.join(cls.out, f"hive-{VERSION}-1.x86_64.rpm")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, ignore_errors=True)

    def query(self, *args):
        return run("rpm", "-qp", *args, self.rpm).stdout

    def test_version_matches_meson(self):
        self.assertEqual(self.query("--qf", "%{NAME} %{VERSION}"), f"hive {VERSION}")

    def test_files(self):
        files = self.query("-l").split()
        for f in FILES + ["/usr/lib/systemd/system/hive.service"]:
            self.assertIn(f, files)
        for page in MAN:
            self.assertTrue(any(f.endswith(page) or f.endswith(page + ".gz") for f in files), page)

    def test_config_files_are_noreplace(self):
        self.assertIn("/etc/hive/hive.conf", self.query("-c").split())
        flags = self.query("--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]")
        for f in ("hive.conf", "policies.d/example.json.disabled"):
            self.assertRegex(flags, r"(?m)^/etc/hive/" + re.escape(f) + r" cn$")

    def test_requires(self):
        requires = self.query("-R")
        for lib in LIBS:
            self.assertIn(lib + ".so", requires)
        self.assertRegex(requires, r"(?m)^dbus$")
        self.assertRegex(requires, r"(?m)^systemd$")

    def test_scriptlets(self):
        scripts = self.query("--scripts")
        post = scripts.split("postinstall scriptlet")[1].split("preuninstall")[0]
        self.assertIn("hive.service", post)
        self.assertRegex(post, r"preset|systemd-update-helper")
        self.assertIn("journalctl --update-catalog", post)
        preun = scripts.split("preuninstall scriptlet")[1].split("postuninstall")[0]
        self.assertRegex(preun, r"disable --now hive.service|systemd-update-helper remove-system-units hive.service")
        postun = scripts.split("postuninstall scriptlet")[1]
        self.assertRegex(postun, r"try-restart hive.service|mark-restart-system-units hive.service")


if __name__ == "__main__":
    hivetest.main()
