#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The install path, end to end, in a real systemd with a real journald:
Debian (debootstrap, cached) booted with systemd-nspawn; the built .deb
installed with apt; then exactly the README's steps, reload, hivectl, a
crash and restart, stop, remove and purge. The steps run in order and share
one container."""

import fcntl
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from tests.lib import hivetest
from tests.lib.hivetest import MESSAGE, SRC, bpf_ids, run, wait_until

CACHE = os.environ.get("HIVE_CACHE_DIR", "/var/cache/hive-test")
ROOTFS = os.path.join(CACHE, "rootfs-bookworm")
PACKAGES = "systemd,systemd-sysv,dbus,ca-certificates"
MIRROR = "http://deb.debian.org/debian"

# Names of the access hooks' programs, as the kernel keeps them (15 characters).
HOOK_PREFIXES = ("fentry__inode_p", "kprobe__inode_p", "tracepoint__sys")

POLICY = {"name": "etc-shadow", "host": True, "paths": ["/etc/shadow"], "access": ["read", "write", "append"],
          "action": "log"}


def ensure_rootfs():
    """A minimal Debian with systemd, made once and reused (read-only lower layer)."""
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, "rootfs.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(ROOTFS, "usr/lib/systemd/systemd")):
            return
        tmp = ROOTFS + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        r = run("debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm", tmp, MIRROR,
                check=False)
        if r.returncode != 0:  # a failure to prepare is a failure, never a skip
            raise RuntimeError(f"debootstrap failed: {r.stderr[-300:]}")
        os.rename(tmp, ROOTFS)


WORK_PREFIX = "hive-nspawn-"


def end_stale_containers():
    """A run killed before its cleanup (a timeout's SIGKILL) leaves its booted
    Debian running, and with it hived's hooks, attached through that systemd's
    file descriptor store: they would count as this run's. Its processes are
    those whose root is a work directory's "root"."""
    stale = re.compile(re.escape(os.path.join(tempfile.gettempdir(), WORK_PREFIX)) + r"[^/]+/root$")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if stale.match(os.readlink(f"/proc/{pid}/root")):
                os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
    with open("/proc/self/mounts") as f:
        for target in [line.split()[1] for line in f if line.split()[0] == "overlay"]:
            if stale.match(target):
                run("umount", "-l", target, check=False)


class Service(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        hivetest.skip_unless_root()
        for tool in ("systemd-nspawn", "debootstrap", "nsenter", "dpkg-buildpackage", "bpftool"):
            if not shutil.which(tool):
                raise unittest.SkipTest(f"{tool} not installed")
        ensure_rootfs()
        end_stale_containers()
        cls.work = tempfile.mkdtemp(prefix=WORK_PREFIX)
        run(os.path.join(SRC, "packaging", "deb", "build"), cls.work)
        cls.deb = os.path.basename(glob.glob(os.path.join(cls.work, "hive_*.deb"))[0])

        cls.root = os.path.join(cls.work, "root")
        for d in ("upper", "overlay-work", "root"):
            os.mkdir(os.path.join(cls.work, d))
        run("mount", "-t", "overlay", "overlay", "-o",
            f"lowerdir={ROOTFS},upperdir={cls.work}/upper,workdir={cls.work}/overlay-work", cls.root)
        shutil.copy(os.path.join(cls.work, cls.deb), os.path.join(cls.root, "root"))
        cls.console = open(os.path.join(cls.work, "console.log"), "w")
        # --system-call-filter: nspawn's own seccomp filter refuses bpf(),
        # perf_event_open() and fanotify to the container unless told
        # otherwise.
        cls.nspawn = subprocess.Popen(
            ["systemd-nspawn", "-q", "-b", "--register=no", "--keep-unit", "--capability=all",
             "--system-call-filter=bpf perf_event_open fanotify_init fanotify_mark open_by_handle_at",
             "--console=read-only", "-M", "hive-e2e", "-D", cls.root],
            stdin=subprocess.DEVNULL, stdout=cls.console, stderr=subprocess.STDOUT)

        def leader():
            kids = run("pgrep", "-P", str(cls.nspawn.pid), check=False).stdout.split()
            return kids[0] if kids else None
        cls.leader = wait_until(leader, 30, what="the container's init")
        wait_until(lambda: cls.sh("systemctl is-system-running", check=False).stdout.strip() in
                   ("running", "degraded"), 90, interval=0.5, what="the container to boot")

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "nspawn"):
            cls.nspawn.send_signal(signal.SIGTERM)  # nspawn halts the container
            try:
                cls.nspawn.wait(30)
            except subprocess.TimeoutExpired:
                cls.nspawn.kill()
                cls.nspawn.wait()
            run("umount", "-l", cls.root, check=False)
        shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def sh(cls, script, check=True, timeout=300):
        r = subprocess.run(["nsenter", "-t", str(cls.leader), "-a", "sh", "-c", script], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout,
                           env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
                                "LANG": "C.UTF-8"})
        if check and r.returncode != 0:
            raise AssertionError(f"{script!r} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def journal(self, *match):
        # Plain field matches (ANDed), not -u: journalctl ORs -u's own terms.
        out = self.sh("journalctl _SYSTEMD_UNIT=hive.service --no-pager -o json " + " ".join(match)).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def wait_record(self, command, timeout=10, **match):
        """Run a command in the container and wait for the record it causes.
        Records carry the kernel's initial-namespace pids, not the
        container's, so take the first matching record logged after the
        command started (the container shares the host's clock)."""
        since = int(time.time() * 1e6)
        self.sh(command + " >/dev/null")
        terms = [f"HIVE_COMM={command.split()[0]}"] + [f"{k}={v}" for k, v in match.items()]

        def fresh():
            return [e for e in self.journal(*terms) if int(e["__REALTIME_TIMESTAMP"]) >= since]
        try:
            return wait_until(fresh, timeout, interval=0.3, what=f"record of {command}")[0]
        except AssertionError as e:
            tail = self.sh("journalctl -u hive --no-pager -n 25; systemctl status hive --no-pager", check=False)
            raise AssertionError(f"{e}\n{tail.stdout}") from None

    def wait_log(self, *texts, lines=40, timeout=10):
        """Wait until hived's last lines in the journal hold every text;
        returns them. Its log comes through a stream and its records as
        native messages: journald may store a record before a line logged
        earlier, so a line is waited for, never looked up once."""
        def logged():
            log = self.sh(f"journalctl -u hive --no-pager -o cat -n {lines}").stdout
            return all(t in log for t in texts) and log
        return wait_until(logged, timeout, interval=0.3, what=f"{texts} in hived's log")

    def wait_message(self, name, *texts, since=0, timeout=10):
        """Wait for hived's journal entry with MESSAGE_ID name (hivetest.MESSAGE)
        whose message holds every text, at or after since (µs); returns it."""
        def found():
            return [e for e in self.journal(f"MESSAGE_ID={MESSAGE[name]}")
                    if int(e["__REALTIME_TIMESTAMP"]) >= since and all(t in e["MESSAGE"] for t in texts)]
        return wait_until(found, timeout, interval=0.3, what=f"a {name} entry with {texts}")[0]

    def main_pid(self):
        return int(self.sh("systemctl show -p MainPID --value hive").stdout)

    def host_pid(self, container_pid):
        """The host's pid of a process of the container, to look at its BPF objects from here."""
        ns = os.readlink(f"/proc/{self.leader}/ns/pid")
        for status in glob.glob("/proc/[0-9]*/status"):
            try:
                pid = status.split("/")[2]
                if os.readlink(f"/proc/{pid}/ns/pid") != ns:
                    continue
                nspid = next(x for x in open(status) if x.startswith("NSpid:")).split()
                if int(nspid[-1]) == container_pid:
                    return int(pid)
            except (OSError, StopIteration):
                pass
        raise AssertionError(f"no host pid for container pid {container_pid}")

    # The README's install steps, in order.

    def test_01_apt_install(self):
        self.sh("apt-get update -q")
        r = self.sh(f"apt-get install -y -q /root/{self.deb}")
        self.assertIn("Setting up hive", r.stdout)
        self.assertEqual(self.sh("dpkg-query -W -f '${Status}' hive").stdout, "install ok installed")
        # Debian policy: enabled and started on installation, by the package alone.
        self.assertEqual(self.sh("systemctl is-enabled hive").stdout.strip(), "enabled")
        self.assertEqual(self.sh("systemctl is-active hive", check=False).stdout.strip(), "active")
        started = int(self.sh("systemctl show -p ExecMainStartTimestampMonotonic --value hive").stdout)
        self.assertGreater(started, 0)
        self.assertRegex(self.sh("systemctl status hive --no-pager", check=False).stdout,
                         r"Status: \"(fentry|kprobe|tracepoint) mode; watching 0 inodes")
        # hived's own messages reach the journal with their MESSAGE_ID, which
        # the installed catalog explains.
        attached = self.wait_message("ATTACHED")
        self.assertEqual((attached["PRIORITY"], attached["SYSLOG_IDENTIFIER"]), ("6", "hived"))
        explained = self.sh(f"journalctl -x --no-pager MESSAGE_ID={MESSAGE['ATTACHED']}").stdout
        self.assertIn("Hive's access hooks are attached", explained)

    def test_02_enable_now_and_read_a_watched_file(self):
        self.sh("cp /etc/hive/policies.d/example.json.disabled /etc/hive/policies.d/etc-shadow.json")
        # README's steps; enable --now is a no-op on Debian, needed on RPM systems.
        self.sh("systemctl enable --now hive && systemctl reload hive")
        self.assertEqual(self.sh("systemctl is-active hive").stdout.strip(), "active")
        e = self.wait_record("cat /etc/shadow", HIVE_POLICY="etc-shadow")
        for field in ("HIVE_PATH", "HIVE_INODE", "HIVE_DEV", "HIVE_ACCESS", "HIVE_PPID", "HIVE_UID", "HIVE_GID",
                      "HIVE_COMM", "HIVE_EXE", "HIVE_NODE", "HIVE_KERNEL_ID", "HIVE_ATTACH", "HIVE_SUPPRESSED"):
            self.assertIn(field, e)
        self.assertEqual((e["HIVE_PATH"], e["HIVE_ACCESS"], e["HIVE_COMM"], e["HIVE_EXE"]),
                         ("/etc/shadow", "read", "cat", "/usr/bin/cat"))
        self.assertEqual(e["_SYSTEMD_UNIT"], "hive.service")
        self.assertEqual(e["MESSAGE_ID"], MESSAGE["ACCESS"])
        explained = self.sh("journalctl -u hive -x --no-pager HIVE_POLICY=etc-shadow").stdout
        self.assertIn("Subject: cat accessed watched file /etc/shadow (read)", explained)
        self.assertIn("which policy etc-shadow watches", explained)
        # systemctl reload returns once SIGHUP is sent: the status comes with
        # the reload's READY=1.
        wait_until(lambda: re.search(r"Status: \"(fentry|kprobe|tracepoint) mode; watching 2 inodes",
                                     self.sh("systemctl status hive --no-pager", check=False).stdout), 10,
                   interval=0.3, what="the status after the reload")

    def test_03_reload_adds_a_policy(self):
        self.sh("""cat > /etc/hive/policies.d/hostname.json <<'EOF'
{"name": "hostname", "host": true, "paths": ["/etc/hostname"]}
EOF
systemctl reload hive""")
        self.wait_record("cat /etc/hostname", HIVE_POLICY="hostname")

    def test_04_broken_policy_reload_fails_and_old_one_keeps_logging(self):
        self.sh("echo '{\"name\": \"broken\", \"host\": true, \"paths\": [\"etc/passwd\"]}' "
                "> /etc/hive/policies.d/broken.json")
        r = self.sh("systemctl reload hive", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.wait_log('broken.json: policy #1 "broken": paths[0]: "etc/passwd" is not an absolute path', lines=30)
        self.assertEqual(self.sh("systemctl is-active hive").stdout.strip(), "active")
        self.wait_record("cat /etc/shadow", HIVE_POLICY="etc-shadow")
        self.wait_record("cat /etc/hostname", HIVE_POLICY="hostname")
        self.sh("rm /etc/hive/policies.d/broken.json && systemctl reload hive")

    def test_05_hivectl(self):
        status = self.sh("hivectl status").stdout
        self.assertRegex(status, r"Attach mode +(fentry|kprobe|tracepoint)")
        self.assertRegex(status, r"Watched inodes +3")  # shadow, gshadow, hostname
        self.assertRegex(status, r"Policies +2")
        self.assertIn("Kernel id", status)
        listing = self.sh("hivectl list").stdout
        self.assertIn("/etc/shadow", listing)
        self.assertIn("/etc/hostname", listing)
        r = self.sh("setpriv --reuid=nobody --regid=nogroup --clear-groups hivectl status", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("permission denied", r.stderr)

    def test_05a_hardening(self):
        out = self.sh("systemd-analyze security hive.service --no-pager").stdout
        score = float(re.search(r"Overall exposure level for hive.service: ([0-9.]+)", out).group(1))
        for line in out.splitlines():
            if line.startswith("✗"):
                print("# exposure: " + " ".join(line.split()[:2]))
        print(f"# systemd-analyze security hive.service: {score}")
        self.assertLessEqual(score, 3.5)
        # What README.md promises about the sandbox.
        for setting in ("ProtectSystem=", "NoNewPrivileges=",
                        "ProtectProc=", "SystemCallFilter=~@mount"):
            line = next((x for x in out.splitlines() if setting in x), "")
            self.assertTrue(line.startswith("✓"), f"{setting}: {line}")

    def test_05b_flood_is_not_cut_by_journald(self):
        """Every record hived writes is in the journal: journald's rate
        limit is lifted for the unit. Without that, journald keeps at most
        its burst (10000 per 30 s, scaled by free disk: 37478 of 60000 here)
        and drops the rest."""
        self.sh("cp -a /etc/hive/hive.conf /root/hive.conf.orig && "
                "printf '[agent]\\ndedup_window_ms = 0\\n' > /etc/hive/hive.conf && systemctl restart hive")
        wait_until(lambda: self.sh("systemctl is-active hive", check=False).stdout.strip() == "active", 20,
                   what="hived restarted")

        def counters():
            text = self.sh("systemctl show -p StatusText --value hive").stdout
            m = re.search(r"(\d+) records, \d+ suppressed, (\d+) dropped", text)
            return (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        wait_until(lambda: "mode;" in self.sh("systemctl show -p StatusText --value hive").stdout, 20,
                   what="hived's status")
        since = int(time.time() * 1e6)
        records0, dropped0 = counters()
        # 60000 opens in batches, at a pace the agent keeps up with (the
        # ring buffer is not what this is about), far above journald's limit.
        n = 60000
        self.sh("b=0; while [ $b -lt 30 ]; do i=0; while [ $i -lt 2000 ]; do : < /etc/hostname; i=$((i+1)); done; "
                "sleep 0.2; b=$((b+1)); done")
        wait_until(lambda: sum(x - y for x, y in zip(counters(), (records0, dropped0))) >= n, 60,
                   interval=1, what=f"{n} accesses counted")
        records, dropped = counters()
        written = records - records0

        def journaled():
            out = self.sh(f"journalctl _SYSTEMD_UNIT=hive.service HIVE_POLICY=hostname "
                          f"--since=@{since / 1e6:.6f} -o export --output-fields=HIVE_PID | grep -c ^HIVE_PID=",
                          check=False).stdout
            return int(out.strip() or 0)
        try:
            wait_until(lambda: journaled() >= written, 60, interval=1, what=f"{written} records in the journal")
        finally:
            print(f"# {n} opens: {written} records written, {journaled()} in the journal, "
                  f"{dropped - dropped0} dropped at the ring buffer (counted)")
        self.assertEqual(journaled(), written)
        self.assertGreater(written, 40000)
        self.assertNotIn("Suppressed", self.sh("journalctl -u systemd-journald --no-pager -o cat").stdout)
        self.sh("cp -a /root/hive.conf.orig /etc/hive/hive.conf && systemctl restart hive")

    def hook_programs(self):
        """Ids of the access hooks' programs loaded on this kernel (any holder)."""
        out = run("bpftool", "-j", "prog", "show").stdout
        return sorted(p["id"] for p in json.loads(out) if p.get("name", "").startswith(HOOK_PREFIXES))

    def records_since(self, since, **match):
        terms = [f"{k}={v}" for k, v in match.items()]
        return [e for e in self.journal(*terms) if int(e["__REALTIME_TIMESTAMP"]) >= since]

    def wait_records(self, since, n, what):
        """n records of cat reading /etc/shadow since then, exactly."""
        try:
            wait_until(lambda: len(self.records_since(since, HIVE_COMM="cat", HIVE_POLICY="etc-shadow")) >= n, 20,
                       interval=0.5, what=what)
        finally:
            got = self.records_since(since, HIVE_COMM="cat", HIVE_POLICY="etc-shadow")
            if len(got) != n:
                anyunit = self.sh("journalctl --no-pager -o json MESSAGE_ID=feff1561c2e44c39b94887118ce1eafc "
                                  f"HIVE_COMM=cat --since=@{since / 1e6:.6f} | grep -c _SYSTEMD_UNIT || true").stdout
                alls = self.sh("journalctl --no-pager -o json MESSAGE_ID=feff1561c2e44c39b94887118ce1eafc "
                               f"HIVE_COMM=cat --since=@{since / 1e6:.6f} | wc -l").stdout
                print(f"# with any unit: {anyunit} of {alls}")
                times = sorted(int(e["HIVE_TIMESTAMP_USEC"]) for e in got)
                start = int(self.sh("systemctl show -p ExecMainStartTimestamp --value --timestamp=us+utc hive | "
                                    "xargs -I{} date -d {} +%s%6N", check=False).stdout.strip() or 0)
                for a, b in zip(times, times[1:]):
                    if b - a > 60000:
                        print(f"# gap of {(b - a) / 1000:.0f} ms from {(a - start) / 1000:.0f} ms after the start")
                log = self.sh("journalctl -u hive --no-pager -o cat -n 300 | grep -v '^cat\\[' | tail -40",
                              check=False).stdout
                print(f"# {len(got)} of {n} records; the agent's log:\n" +
                      "\n".join("# " + line for line in log.splitlines()))
        self.assertEqual(len(got), n)

    def wait_restarted(self, before):
        wait_until(lambda: self.main_pid() not in (0, before) and
                   self.sh("systemctl is-active hive", check=False).stdout.strip() == "active",
                   60, interval=0.5, what="systemd to start hived again")

    def test_06_killed_daemon_is_restarted(self):
        """kill -9: the hooks stay attached (systemd's fd store holds them)
        and record while no agent runs; the next agent reads those records
        and replaces the programs. Reads made in the 2 s before systemd
        restarts hived are all in the journal."""
        # A change too (told by fanotify in tracepoint mode: its group is
        # in the fd store as well), of a file on /run: the container's root
        # is an overlayfs, which takes no fanotify filesystem mark.
        self.sh("echo x > /run/watched && echo '{\"name\": \"run\", \"host\": true, \"paths\": "
                "[\"/run/watched\"]}' > /etc/hive/policies.d/run.json && systemctl reload hive")
        self.wait_record("cat /run/watched", HIVE_POLICY="run")
        before, hooks = self.main_pid(), self.hook_programs()
        self.assertTrue(hooks)
        since = int(time.time() * 1e6)
        done = float(self.sh(f"kill -9 {before}; i=0; while [ $i -lt 20 ]; do cat /etc/shadow >/dev/null; "
                             "i=$((i+1)); done; chmod 0600 /run/watched; cut -d' ' -f1 /proc/uptime").stdout)
        self.wait_restarted(before)
        started = int(self.sh("systemctl show -p ExecMainStartTimestampMonotonic --value hive").stdout) / 1e6
        self.assertLess(done, started, "the reads were to happen while no agent ran")
        self.wait_records(since, 20, "the 20 reads made while hived was down")
        try:
            wait_until(lambda: self.records_since(since, HIVE_COMM="chmod", HIVE_ACCESS="attrib", HIVE_POLICY="run"),
                       20, interval=0.5, what="the chmod made while hived was down")
        except AssertionError:
            for e in self.records_since(since, HIVE_POLICY="run"):
                print(f"# record: {e.get('HIVE_COMM')} {e.get('HIVE_ACCESS')} {e.get('HIVE_PATH')}")
            log = self.sh("journalctl -u hive --no-pager -o cat -n 400 | grep -iv '^cat\\[' | "
                          "grep -i 'fanotify\\|change\\|took over\\|attached' | tail -20", check=False).stdout
            print("\n".join("# " + line for line in log.splitlines()))
            raise
        self.wait_log("taking it over")
        self.wait_message("ADOPTED", since=since)
        # The old programs went once the new ones were attached: one set.
        wait_until(lambda: len(self.hook_programs()) == len(hooks), 10, interval=0.5, what="one set of hooks")
        self.assertNotEqual(self.hook_programs(), hooks)
        self.wait_record("cat /etc/shadow", HIVE_POLICY="etc-shadow")

    def test_06a_upgrade_records_every_access(self):
        """apt install of a newer package while a process reads the watched
        file in a loop: every read is a record, across the restart."""
        self.sh(f"rm -rf /root/newer && dpkg-deb -R /root/{self.deb} /root/newer && "
                "sed -i 's/^Version: .*/&+1/' /root/newer/DEBIAN/control && "
                "dpkg-deb -b /root/newer /root/hive-newer.deb >/dev/null")
        before = self.main_pid()
        since = int(time.time() * 1e6)
        n = 300
        self.sh(f"(i=0; while [ $i -lt {n} ]; do cat /etc/shadow >/dev/null; i=$((i+1)); sleep 0.02; done) & "
                "sleep 1; apt-get install -y -q /root/hive-newer.deb >/dev/null; wait")
        self.wait_restarted(before)
        self.assertRegex(self.sh("dpkg-query -W -f '${Version}' hive").stdout, r"\+1$")
        self.wait_records(since, n, f"{n} reads in the journal")

    def test_07_stop_leaves_no_program_attached(self):
        """A stop detaches everything, and first reports the accesses still
        folded in the kernel: a shell that read the watched file 50 times
        right before the stop has them all in its records."""
        progs = bpf_ids(self.host_pid(self.main_pid()))
        self.assertTrue(progs)
        since = int(time.time() * 1e6)
        self.sh("i=0; while [ $i -lt 50 ]; do read x < /etc/shadow; i=$((i+1)); done; systemctl stop hive")
        records = self.records_since(since, HIVE_COMM="sh", HIVE_POLICY="etc-shadow")
        self.assertEqual(sum(1 + int(e["HIVE_SUPPRESSED"]) for e in records), 50, records)
        self.assertIn("1", [e.get("HIVE_FOLDED") for e in records])
        for prog in progs:
            self.assertNotEqual(run("bpftool", "prog", "show", "id", str(prog), check=False).returncode, 0,
                                f"program {prog} still loaded after stop")
        # Nor any kept for a restart: a stop empties systemd's fd store.
        self.assertEqual(self.hook_programs(), [])
        self.wait_message("STATS", "Final Stats:", since=since)

    def test_08_remove_then_purge(self):
        self.sh("systemctl start hive")
        wait_until(lambda: self.hook_programs(), 20, interval=0.5, what="hooks attached")
        self.sh("apt-get remove -y -q hive")
        self.assertEqual(self.hook_programs(), [], "removal leaves no program attached")
        self.assertEqual(self.sh("test -e /usr/sbin/hived", check=False).returncode, 1)
        self.assertEqual(self.sh("test -e /etc/hive/hive.conf", check=False).returncode, 0, "remove keeps config")
        self.sh("apt-get purge -y -q hive")
        self.assertEqual(self.sh("test -e /etc/hive/hive.conf", check=False).returncode, 1, "purge removes config")
        self.assertNotIn("hive", self.sh("dpkg -l | awk '{print $2}'").stdout.split())
        # The administrator's own policies are theirs: left in place.
        self.assertEqual(self.sh("test -e /etc/hive/policies.d/etc-shadow.json", check=False).returncode, 0)


if __name__ == "__main__":
    if sys.argv[1:] == ["--prepare"]:  # tests/prepare
        ensure_rootfs()
        print(ROOTFS)
    else:
        hivetest.main()
