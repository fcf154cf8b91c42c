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
import re
import shutil
import subprocess
import sys
import tempfile
import time

CACHE = os.environ.get("HIVE_CACHE_DIR", "/var/cache/hive-test")
INSTALLED = "/usr/share/doc/auditd/examples/rules"
UNPACKED = os.path.join(CACHE, "auditd", "usr", "share", "doc", "auditd", "examples", "rules")


def rules_dir():
    """Where the rule sets are, or None."""
    for d in (INSTALLED, UNPACKED):
        if os.path.exists(os.path.join(d, "30-stig.rules")):
            return d
    return None


def daemon():
    """auditd and auditctl: installed, or runnable from the unpacked
    package with its libraries: (auditd, auditctl, environment), or None."""
    root = os.path.join(CACHE, "auditd")
    auditd, auditctl = (os.path.join(root, "sbin", x) for x in ("auditd", "auditctl"))
    if shutil.which("auditd") and shutil.which("auditctl"):
        return shutil.which("auditd"), shutil.which("auditctl"), dict(os.environ)
    libs = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(root, "**", "lib*.so.*"), recursive=True)})
    have = {os.path.basename(p) for p in glob.glob(os.path.join(root, "**", "lib*.so.*"), recursive=True)}
    if not (os.path.exists(auditd) and os.path.exists(auditctl) and "libauparse.so.0" in have):
        return None
    return auditd, auditctl, dict(os.environ, LD_LIBRARY_PATH=":".join(libs))


FOREGROUND_CONF = """local_events = yes
write_logs = no
log_format = RAW
flush = INCREMENTAL_ASYNC
freq = 1
space_left = 2
space_left_action = IGNORE
admin_space_left = 1
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
"""


class Daemon:
    """A real auditd with the rules of rules_file, in the foreground: its
    records are read from its output (foreground mode writes them there,
    not to a log). The kernel's audit state before is restored by close()."""

    def __init__(self, rules_file, work):
        found = daemon()
        if not found:
            raise RuntimeError("auditd is neither installed nor unpacked (tests/prepare)")
        self.auditd, self.auditctl, self.env = found
        status = self.ctl("-s").stdout
        if re.search(r"^pid [1-9]", status, re.M):
            raise RuntimeError("another audit daemon runs on this machine: stop it first")
        m = re.search(r"^enabled (\d+)", status, re.M)
        self.enabled = m.group(1) if m else "0"
        conf = tempfile.mkdtemp(prefix="auditd-conf-", dir=work)
        with open(os.path.join(conf, "auditd.conf"), "w") as f:
            f.write(FOREGROUND_CONF)
        self.out = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([self.auditd, "-f", "-n", "-c", conf], env=self.env, stdout=self.out,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 10
        while not re.search(r"^pid [1-9]", self.ctl("-s").stdout, re.M):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("auditd did not register with the kernel")
            time.sleep(0.05)
        r = self.ctl("-R", rules_file)
        if r.returncode != 0:
            self.close()
            raise RuntimeError(f"auditctl -R {rules_file}: {r.stderr}")

    def ctl(self, *args):
        return subprocess.run([self.auditctl, *args], env=self.env, capture_output=True, text=True)

    def comms(self, keys):
        """The comm of every SYSCALL record of these keys so far."""
        self.out.seek(0)
        found = set()
        for line in self.out.read().splitlines():
            m = re.search(r'type=SYSCALL .* comm="([^"]*)" .* key="([^"]*)"', line)
            if m and m.group(2) in keys:
                found.add(m.group(1))
        return found

    def close(self):
        self.ctl("-D")
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.ctl("-e", self.enabled)
        self.out.close()


def prepare():
    if rules_dir() and daemon():
        return rules_dir()
    os.makedirs(CACHE, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        # The daemon's own libraries beside it: the comparison test runs
        # auditd from here, never installed (no service of its own).
        subprocess.run(["apt-get", "-o", "APT::Sandbox::User=root", "download", "auditd", "libauparse0",
                        "libwrap0"], cwd=work, check=True, stdout=subprocess.DEVNULL)
        for deb in glob.glob(os.path.join(work, "*.deb")):
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
