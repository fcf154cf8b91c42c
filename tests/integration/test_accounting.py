#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""No silent loss: under a flood every access is either logged, folded into a
later record (suppressed) or counted as dropped, and the three add up."""

import os
import re
import signal
import subprocess
import sys
import time
import unittest

from tests.lib import hivetest
from tests.lib.hivetest import Hived, host_policy, wait_until

FLOOD = "import os, sys\nfor _ in range(int(sys.argv[2])): os.close(os.open(sys.argv[1], os.O_RDONLY))\n"
FINAL = re.compile(r"Final Stats: (\d+) accesses matched, (\d+) records written, (\d+) suppressed, (\d+) dropped")


def flood(path, n):
    p = subprocess.Popen([sys.executable, "-c", FLOOD, path, str(n)])
    assert p.wait() == 0
    return p.pid


class Accounting(unittest.TestCase):
    def setUp(self):
        hivetest.skip_unless_root()
        self.tmp = hivetest.files_dir(self)
        self.file = os.path.join(self.tmp, "hot")
        open(self.file, "w").close()

    def tearDown(self):
        if hasattr(self, "hived"):
            self.hived.close()

    def start(self, config):
        self.hived = Hived({"p.json": host_policy("hot", self.file)}, config=config).start()
        return self.hived

    def final_stats(self):
        self.assertEqual(self.hived.stop(), 0)
        m = FINAL.search(self.hived.log_text())
        self.assertIsNotNone(m, self.hived.log_text())
        return [int(x) for x in m.groups()]

    def test_flood_with_dedup_adds_up(self):
        n = 20000
        h = self.start("[agent]\ndedup_window_ms = 60000\n")
        pid = flood(self.file, n)
        h.wait_record(pid=pid)
        # hived reads what the kernel queued before it exits: no wait needed.
        matched, written, suppressed, dropped = self.final_stats()
        records = h.matching(pid=pid)
        self.assertEqual(matched, n)
        self.assertEqual(len(records), written)
        self.assertEqual(len(records) + suppressed + dropped, n)
        self.assertGreater(suppressed, n // 2)

    def test_flood_into_a_full_ring_buffer_counts_drops(self):
        n = 5000
        h = self.start("[agent]\ndedup_window_ms = 0\nringbuf_kib = 4\nstats_interval_s = 1\n")
        # A consumer that does not read: the 4 KiB ring fills after a few dozen events.
        h.proc.send_signal(signal.SIGSTOP)
        try:
            pid = flood(self.file, n)
        finally:
            h.proc.send_signal(signal.SIGCONT)
        h.wait_logged("STATS", "dropped (ring buffer full)")
        wait_until(lambda: re.search(r"[1-9]\d* dropped", h.status()), 5, what="drops in STATUS")
        matched, written, suppressed, dropped = self.final_stats()
        records = h.matching(pid=pid)
        self.assertEqual(matched, n)
        self.assertEqual(suppressed, 0)
        self.assertGreater(dropped, 0)
        self.assertGreater(len(records), 0)
        self.assertEqual(len(records) + dropped, n)

    def test_a_flood_leaves_the_event_loop_its_turns(self):
        """Under a flood the ring buffer is never empty; reading it must
        still leave the timers their turn (status every 2 s here, the
        flusher, the watchdog). Reading until empty, one dispatch lasted
        the whole flood: one status update in 7 s."""
        h = self.start("[agent]\ndedup_window_ms = 0\n")
        before = len(h.notifications())
        p = subprocess.Popen([sys.executable, "-c", FLOOD, self.file, str(10 ** 9)])
        try:
            h.wait_record(pid=p.pid)
            t = time.monotonic()
            wait_until(lambda: p.poll() is None and len([n for n in h.notifications()[before:] if "STATUS=" in n]) >= 3,
                       15, what="three status updates during the flood")
            self.assertIsNone(p.poll(), "the flood ended early")
            print(f"# three status updates {time.monotonic() - t:.1f} s into the flood")
        finally:
            p.kill()
            p.wait()

    def test_suppressed_count_rides_on_the_next_record(self):
        h = self.start("[agent]\ndedup_window_ms = 300\n")
        script = ("import os, sys, time\n"
                  "for _ in range(50): os.close(os.open(sys.argv[1], os.O_RDONLY))\n"
                  "time.sleep(0.4)\n"
                  "os.close(os.open(sys.argv[1], os.O_RDONLY))\n")
        p = subprocess.Popen([sys.executable, "-c", script, self.file])
        self.assertEqual(p.wait(), 0)
        wait_until(lambda: len(h.matching(pid=p.pid)) >= 2, what="two records")
        first, second = h.matching(pid=p.pid)[:2]
        self.assertEqual(first["suppressed"], 0)
        # The next access carries the 49 (or, had the sleep overrun two
        # windows, a folded record does): every access is in one record.
        wait_until(lambda: sum(1 + r["suppressed"] for r in h.matching(pid=p.pid)) == 51, 5,
                   what=f"51 accesses in {h.matching(pid=p.pid)}")
        self.assertIn(second["suppressed"], (0, 49))

    def test_folded_accesses_of_a_process_that_stops_reach_a_record(self):
        """100,000 reads within the window, then exit: no later access will
        carry the 99,999 folded ones; the kernel reports them once the window
        has ended, and the record names the process like the first."""
        h = self.start("")  # the default window, 1 s
        pid = flood(self.file, 100000)
        wait_until(lambda: sum(1 + r["suppressed"] for r in h.matching(pid=pid)) >= 100000, 10,
                   what=f"100000 accesses in records: {h.matching(pid=pid)}")
        records = h.matching(pid=pid)
        self.assertEqual(sum(1 + r["suppressed"] for r in records), 100000)
        folded = [r for r in records if r.get("folded")]
        self.assertTrue(folded, records)
        self.assertEqual({(r["comm"], r["exe"], r["uid"], r["ppid"]) for r in records},
                         {(records[0]["comm"], records[0]["exe"], records[0]["uid"], records[0]["ppid"])})
        matched, written, suppressed, dropped = self.final_stats()
        # The kernel's count: each record not marked folded was an access
        # of its own (emitted); all others were folded, and are carried by
        # the records above.
        self.assertEqual((matched, dropped, written), (100000, 0, len(records)))
        self.assertEqual(suppressed, 100000 - (len(records) - len(folded)))

    def processes_reading(self, n, reads):
        """n processes, each opening the file reads times; their pids."""
        script = ("import os, sys\n"
                  "pids = []\n"
                  f"for _ in range({n}):\n"
                  "    pid = os.fork()\n"
                  "    if pid == 0:\n"
                  f"        for _ in range({reads}): os.close(os.open(sys.argv[1], os.O_RDONLY))\n"
                  "        os._exit(0)\n"
                  "    pids.append(pid)\n"
                  "for pid in pids: os.waitpid(pid, 0)\n"
                  "print(' '.join(map(str, pids)))\n")
        out = subprocess.run([sys.executable, "-c", script, self.file], stdout=subprocess.PIPE, text=True,
                             check=True).stdout
        pids = set(int(x) for x in out.split())
        self.assertEqual(len(pids), n)
        return pids

    def assert_accesses_add_up(self, h, pids, n):
        """n accesses of the file by pids, each in a record (theirs, or an
        aggregated one: past a half-full ring buffer a flood is aggregated,
        and only pids read the file) or counted as dropped: on a machine too
        busy for the agent to keep up, the ring buffer fills, and the counts
        must add up all the same."""
        def accesses():
            return sum(1 + r["suppressed"] for r in h.snapshot()
                       if r.get("pid") in pids or (r.get("aggregated") and r.get("path") == self.file))

        def dropped():
            m = re.search(r"(\d+) dropped", h.status())
            return int(m.group(1)) if m else 0
        wait_until(lambda: accesses() + dropped() >= n, 20,
                   what=f"{n} accesses in records or dropped (have {accesses()} + {dropped()})")
        matched, _, _, dropped = self.final_stats()
        self.assertEqual(matched, n)
        self.assertEqual(accesses() + dropped, n)

    def test_folded_accesses_of_a_thousand_processes_reach_records(self):
        h = self.start("")
        self.assert_accesses_add_up(h, self.processes_reading(1000, 10), 10000)

    def test_a_full_dedup_table_loses_no_count(self):
        """More processes at once than the dedup table holds: no entry with
        a count pending is evicted (with an LRU table, thousands were); an
        access that finds the table full is a record of its own."""
        h = self.start("[agent]\ndedup_entries = 64\n")
        self.assert_accesses_add_up(h, self.processes_reading(1000, 10), 10000)

    def test_a_busy_ring_buffer_folds_accesses_before_it_drops_any(self):
        """1,000 processes read while hived writes nothing (stopped), into a
        64 KiB ring buffer: past half full, accesses are folded into one
        count per file (a record without a process), and every access
        reaches a record once hived runs again. Without that, 814 of them
        were dropped (measured)."""
        h = self.start("[agent]\nringbuf_kib = 64\n")
        h.proc.send_signal(signal.SIGSTOP)
        try:
            pids = self.processes_reading(1000, 10)
        finally:
            h.proc.send_signal(signal.SIGCONT)

        def accesses():
            return sum(1 + r["suppressed"] for r in h.snapshot() if r.get("pid") in pids or r.get("aggregated"))
        wait_until(lambda: accesses() >= 10000, 20, what=f"10000 accesses in records (have {accesses()})")
        self.assertEqual(accesses(), 10000)
        aggregated = h.matching(aggregated=1)
        self.assertTrue(aggregated)
        self.assertEqual(aggregated[0]["folded"], 1)
        self.assertNotIn("pid", aggregated[0])
        self.assertEqual(aggregated[0]["path"], self.file)
        # No one process, but who they all were: uid, cgroup, executable.
        exe = os.path.realpath(sys.executable)
        self.assertEqual({(r["uid"], r["exe"], r["exe_inode"], r["cgroup_id"]) for r in aggregated},
                         {(0, exe, os.stat(exe).st_ino, aggregated[0]["cgroup_id"])}, aggregated)
        matched, written, suppressed, dropped = self.final_stats()
        self.assertEqual((matched, dropped), (10000, 0))

    def test_a_flood_makes_no_one_else_anonymous(self):
        """Under a flood of one file by 1,000 processes of one program, while
        hived writes nothing (stopped) into a small ring buffer, reads of
        another watched file (by the flooding user, in another program), and
        reads of the flooded file by another user, keep their full records:
        the flood is aggregated, not the accesses of anyone or anything
        else. Before, past a half-full ring every access was aggregated;
        then all but the first of each program's. The flood stays
        accounted, and hived says it aggregates."""
        other = os.path.join(self.tmp, "other")
        open(other, "w").close()
        for f in (self.tmp, self.file, other):  # another user reads the flooded file
            os.chmod(f, 0o755 if f == self.tmp else 0o644)
        self.hived = h = Hived({"p.json": host_policy("hot", self.file), "q.json": host_policy("other", other)},
                               config="[agent]\nringbuf_kib = 64\n").start()
        h.proc.send_signal(signal.SIGSTOP)
        try:
            pids = self.processes_reading(1000, 10)
            others = [hivetest.cat(other) for _ in range(5)]
            nobody = [subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c",
                                      f"cat {self.file} > /dev/null; echo $$"], check=True, stdout=subprocess.PIPE,
                                     text=True).stdout for _ in range(5)]
        finally:
            h.proc.send_signal(signal.SIGCONT)
        for pid in others:
            r = h.wait_record(timeout=20, pid=pid)
            self.assertEqual((r["comm"], r["path"]), ("cat", other))
            self.assertNotIn("aggregated", r)
        for r in (h.wait_record(timeout=20, uid=65534, ppid=int(sh)) for sh in nobody):
            self.assertEqual((r["comm"], r["path"]), ("cat", self.file))
            self.assertNotIn("aggregated", r)

        def accesses():
            return sum(1 + r["suppressed"] for r in h.snapshot()
                       if r["path"] == self.file and (r.get("pid") in pids or r.get("aggregated")))
        wait_until(lambda: accesses() >= 10000, 20, what=f"10000 accesses in records (have {accesses()})")
        self.assertEqual(accesses(), 10000)
        self.assertTrue(h.matching(aggregated=1))
        h.wait_logged("AGGREGATING", "aggregated records")

    def test_one_process_folds_each_kind_of_access_apart(self):
        h = self.start("[agent]\ndedup_window_ms = 60000\n")
        script = ("import os, sys\n"
                  "for _ in range(10): os.close(os.open(sys.argv[1], os.O_RDONLY))\n"
                  "for _ in range(10): os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND))\n")
        p = subprocess.Popen([sys.executable, "-c", script, self.file])
        self.assertEqual(p.wait(), 0)
        h.wait_record(pid=p.pid, access=lambda a: "append" in a)
        matched, written, suppressed, dropped = self.final_stats()
        records = h.matching(pid=p.pid)
        self.assertEqual(sorted(tuple(r["access"]) for r in records), [("read",), ("write", "append")], records)
        self.assertEqual((matched, written, suppressed, dropped), (20, 2, 18, 0))

    def test_dedup_keeps_processes_and_access_kinds_apart(self):
        h = self.start("[agent]\ndedup_window_ms = 60000\n")
        a = flood(self.file, 10)
        b = flood(self.file, 10)
        w = subprocess.Popen(["sh", "-c", f"echo x >> {self.file}"])
        w.wait()
        h.wait_record(pid=a)
        h.wait_record(pid=b)
        h.wait_record(pid=w.pid)


if __name__ == "__main__":
    hivetest.main()
