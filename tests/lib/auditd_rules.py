#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The compliance rule sets Debian's auditd package ships
(/usr/share/doc/auditd/examples/rules: 30-stig.rules, 30-pci-dss-v31.rules,
...): the installed ones, or the package's own files unpacked into
$HIVE_CACHE_DIR without installing it (its daemon would start and audit the
whole test machine).

    python3 -m tests.lib.auditd_rules --prepare   (tests/prepare)
"""

import glob
import os
import subprocess
import sys
import tempfile

CACHE = os.environ.get("HIVE_CACHE_DIR", "/var/cache/hive-test")
INSTALLED = "/usr/share/doc/auditd/examples/rules"
UNPACKED = os.path.join(CACHE, "auditd", "usr", "share", "doc", "auditd", "examples", "rules")


def rules_dir():
    """Where the rule sets are, or None."""
    for d in (INSTALLED, UNPACKED):
        if os.path.exists(os.path.join(d, "30-stig.rules")):
            return d
    return None


def prepare():
    if rules_dir():
        return rules_dir()
    os.makedirs(CACHE, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        subprocess.run(["apt-get", "-o", "APT::Sandbox::User=root", "download", "auditd"], cwd=work, check=True, stdout=subprocess.DEVNULL)
        deb = glob.glob(os.path.join(work, "auditd_*.deb"))[0]
        subprocess.run(["dpkg-deb", "-x", deb, os.path.join(CACHE, "auditd")], check=True)
    # Some releases ship them compressed.
    for gz in glob.glob(os.path.join(UNPACKED, "*.rules.gz")):
        subprocess.run(["gunzip", "-f", gz], check=True)
    if not rules_dir():
        sys.exit("auditd's package has no example rules")
    return rules_dir()


if __name__ == "__main__":
    if "--prepare" in sys.argv:
        print(prepare())
    else:
        print(rules_dir() or "")
