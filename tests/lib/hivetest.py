# SPDX-License-Identifier: MIT
"""Helpers for Hive's integration tests: run the real hived against the real
kernel and look at what it writes. Every test file ends in hivetest.main(),
which reports TAP (one line per test method) for meson and tests/run."""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("HIVE_BUILD_DIR", os.path.join(SRC, "build"))
HIVED = os.environ.get("HIVED", os.path.join(BUILD, "hived"))
HIVECTL = os.environ.get("HIVECTL", os.path.join(BUILD, "hivectl"))


def message_ids():
    """The MESSAGE_IDs hived gives what it says, by name (WATCH_MOVED, ...),
    read from their one home, src/shared/message-id.h."""
    text = open(os.path.join(SRC, "src", "shared", "message-id.h")).read()
    return dict(re.findall(r'#define HIVE_MESSAGE_(\w+) "([0-9a-f]{32})"', text))


MESSAGE = message_ids()


def skip_unless_root():
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root (BPF, mounts)")


def wait_until(predicate, timeout=5.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def run(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def files_dir(test):
    """A fresh directory on a real disk (/var/tmp, not tmpfs) for a test's
    files, removed after the test."""
    d = tempfile.mkdtemp(prefix="hive-files-", dir="/var/tmp")
    test.addCleanup(shutil.rmtree, d, ignore_errors=True)
    return d


class MountingTest(unittest.TestCase):
    """A root-only test with a files directory (self.tmp) and mounts made
    by self.mount(...), taken down (lazily, newest first) after the test."""

    def setUp(self):
        skip_unless_root()
        self.tmp = files_dir(self)
        self.mounts = []
        self.addCleanup(self.unmount_all)

    def unmount_all(self):
        for m in reversed(self.mounts):
            run("umount", "-l", m, check=False)

    def mount(self, *args):
        run("mount", *args)
        self.mounts.append(args[-1])


def cat(path):
    """Read a file in a child process named cat; returns its pid."""
    p = subprocess.Popen(["cat", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.wait()
    return p.pid


def free_port():
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics_samples(page):
    """{(name, frozenset(labels)): value} of a Prometheus exposition page."""
    out = {}
    for line in page.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        assert m, line
        labels = frozenset(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def stat_dev(path):
    """The device stat() reports, as MAJ:MIN."""
    st = os.stat(path)
    return f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"


def bpf_ids(pid, kind="prog_id"):
    """prog_id (or link_id, map_id) of every BPF object a process holds open."""
    ids = set()
    for fdinfo in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            for line in open(fdinfo):
                if line.startswith(kind + ":"):
                    ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


class Hived:
    """A hived process with its own policy directory and config file."""

    def __init__(self, policies=None, config="", args=(), output="json", env=None, wrapper=()):
        self.dir = tempfile.mkdtemp(prefix="hive-test-")
        self.policy_dir = os.path.join(self.dir, "policies.d")
        os.mkdir(self.policy_dir)
        self.config_path = os.path.join(self.dir, "hive.conf")
        with open(self.config_path, "w") as f:
            f.write(config)
        for name, content in (policies or {}).items():
            self.write_policy(name, content)
        self.args = list(args)
        self.wrapper = list(wrapper)  # a command hived runs under (e.g. unshare)
        self.output = output
        self.env = env
        self.records = []
        self.log = []
        self.notify = []
        # When each record and notification arrived (monotonic), to tell
        # which came first.
        self.record_times = []
        self.notify_times = []
        self.lock = threading.Lock()
        self.proc = None

    def write_policy(self, name, content):
        path = os.path.join(self.policy_dir, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def remove_policy(self, name):
        os.unlink(os.path.join(self.policy_dir, name))

    def _read_stdout(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            try:
                record = json.loads(line)
            except ValueError:
                record = {"_unparsed": line}
            with self.lock:
                self.records.append(record)
                self.record_times.append(time.monotonic())

    def _read_stderr(self):
        # hived logs JSON lines here (HIVE_LOG_FORMAT=json): each with its
        # priority and, for what tests look for, a MESSAGE_ID.
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            try:
                entry = json.loads(line)
            except ValueError:
                entry = {"message": line}
            if not isinstance(entry, dict) or "message" not in entry:
                entry = {"message": line}
            with self.lock:
                self.log.append(entry)

    def _read_notify(self):
        # Polls with a timeout so close() can stop it before the socket is
        # closed: a thread blocked on a closed descriptor could otherwise
        # steal datagrams from a later socket that reuses the number.
        self.notify_sock.settimeout(0.1)
        while not self.closing:
            try:
                data = self.notify_sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.notify.append(data.decode())
                self.notify_times.append(time.monotonic())

    def start(self, wait=True):
        sock_path = os.path.join(self.dir, "notify")
        self.notify_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify_sock.bind(sock_path)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path, HIVE_LOG_FORMAT="json")
        env.pop("JOURNAL_STREAM", None)
        env.update(self.env or {})
        wrapper = os.environ.get("HIVE_TEST_WRAPPER", "").split()
        cmd = wrapper + self.wrapper + [HIVED, "--config", self.config_path, "--policy-dir", self.policy_dir, "--output", self.output] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     errors="surrogateescape", env=env)
        self.closing = False
        self.threads = [threading.Thread(target=fn, daemon=True)
                        for fn in (self._read_stdout, self._read_stderr, self._read_notify)]
        for t in self.threads:
            t.start()
        if wait:
            self.wait_ready()
        return self

    def notifications(self):
        with self.lock:
            return list(self.notify)

    def wait_ready(self, count=1, timeout=20):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"hived exited with {self.proc.returncode}:\n" + self.log_text())
            return sum("READY=1" in n for n in self.notifications()) >= count
        try:
            wait_until(ready, timeout, what=f"READY=1 #{count}")
        except AssertionError as e:
            raise AssertionError(f"{e}; notifications: {self.notifications()}; log:\n{self.log_text()}")

    def status(self):
        statuses = [line[7:] for n in self.notifications() for line in n.split("\n") if line.startswith("STATUS=")]
        return statuses[-1] if statuses else ""

    def log_text(self):
        """What hived logged, one message a line."""
        with self.lock:
            return "\n".join(e["message"] for e in self.log)

    def wait_log(self, text, timeout=5):
        """Wait for text in hived's log; returns the whole log."""
        wait_until(lambda: text in self.log_text(), timeout, what=f"log line {text!r}")
        return self.log_text()

    def logged(self, name, *texts):
        """Messages logged with MESSAGE_ID name (see MESSAGE) that hold
        every one of texts (the paths, policies, nodes they are about)."""
        with self.lock:
            return [e["message"] for e in self.log
                    if e.get("message_id") == MESSAGE[name] and all(t in e["message"] for t in texts)]

    def wait_logged(self, name, *texts, timeout=5):
        """Wait until a message with MESSAGE_ID name holds every text; returns it."""
        return wait_until(lambda: self.logged(name, *texts), timeout,
                          what=f"a {name} message with {texts}; log:\n{self.log_text()}")[0]

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def matching(self, **fields):
        def match(r):
            return all((v(r.get(k)) if callable(v) else r.get(k) == v) for k, v in fields.items())
        return [r for r in self.snapshot() if match(r)]

    def wait_record(self, timeout=5, **fields):
        return wait_until(lambda: self.matching(**fields), timeout, what=f"record with {fields}")[0]

    def wait_read_logged(self, file, timeout=5, **fields):
        """Read path (cat) again and again until one of those reads is a
        record with fields; returns it."""
        pids = []

        def logged():
            pids.append(cat(file))
            return self.matching(pid=lambda p: p in pids, **fields)
        return wait_until(logged, timeout, interval=0.05, what=f"a read of {file} logged with {fields}")[0]

    def assert_not_logged(self, pid, control, **fields):
        """The access made by pid (already done) is not a record: proven
        against a positive control, a read of control made after it, which
        must be logged. Records leave the kernel's ring buffer in the order
        the accesses were made, so once the control's record is here, pid's
        would be too."""
        self.wait_read_logged(control, **fields)
        found = self.matching(pid=pid)
        if found:
            raise AssertionError(f"unexpected record(s) {found}")

    def reload(self):
        before = sum("READY=1" in n for n in self.notifications())
        self.proc.send_signal(signal.SIGHUP)
        self.wait_ready(before + 1)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            for t in self.threads[:2]:  # stdout and stderr end with the process
                t.join(5)
        return self.proc.returncode if self.proc else None

    def close(self):
        self.stop()
        if self.proc:
            self.closing = True
            for t in self.threads:
                t.join(5)
            self.notify_sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def host_policy(name, *paths, access=None):
    p = {"name": name, "host": True, "paths": list(paths)}
    if access:
        p["access"] = access
    return p


class TapResult(unittest.TestResult):
    def __init__(self, tests=()):
        super().__init__()
        self.n = 0
        # A skip in setUpClass skips every test of the class: each is listed.
        self.by_class = {}
        for t in tests:
            self.by_class.setdefault(f"{type(t).__module__}.{type(t).__qualname__}", []).append(t)

    def _line(self, test, ok, directive=""):
        self.n += 1
        name = test.id().split(".", 1)[-1]
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}{directive}", flush=True)

    def addSuccess(self, test):
        self._line(test, True)

    def addSkip(self, test, reason):
        m = re.match(r"setUpClass \((.*)\)$", str(test))
        for t in self.by_class.get(m.group(1), [test]) if m else [test]:
            self._line(t, True, f" # SKIP {reason}")

    def _problem(self, test, err):
        text = self._exc_info_to_string(err, test)
        for line in text.splitlines():
            print("# " + line, flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)  # for wasSuccessful(), hence the exit code
        self._problem(test, err)
        self._line(test, False)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._problem(subtest, err)
            self.failed_subtests.add(test.id())

    def startTest(self, test):
        super().startTest(test)
        self.failed_subtests = getattr(self, "failed_subtests", set())

    def stopTest(self, test):
        super().stopTest(test)
        # A test whose subtests failed gets no addFailure(); report it here.
        if test.id() in self.failed_subtests:
            self._line(test, False)

    def addError(self, test, err):
        super().addError(test, err)
        self._problem(test, err)
        self._line(test, False)


def main():
    """Run the module's tests, or those named on the command line (Class or Class.method)."""
    module = sys.modules["__main__"]
    if len(sys.argv) > 1:
        suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:], module)
    else:
        suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    def flatten(s):
        for t in s:
            yield from flatten(t) if isinstance(t, unittest.TestSuite) else [t]
    result = TapResult(list(flatten(suite)))
    suite.run(result)
    print(f"1..{result.n}", flush=True)
    sys.exit(0 if result.wasSuccessful() else 1)
