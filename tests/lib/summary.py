#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Count test cases from meson's testlog.json files: each TAP line is a case, a
test without TAP output is one case. Prints the per-suite table, every skipped
case by name, then "N passed, N failed, N skipped".

Exit status: non-zero when anything failed; with --ci also when anything was
skipped, or when a suite named in --expect did not run at all: in CI every
suite must run."""

import argparse
import json
import re
import sys

TAP = re.compile(r"^(ok|not ok) \d+( - [^#]*)?(#\s*(SKIP|TODO)\b(.*))?$", re.IGNORECASE)


def case_name(test, m):
    return f"{test['name']}: {(m.group(2) or ' - (unnamed)')[3:].strip()}"


def count(test):
    """(passed, names of failed cases, names of skipped cases with their reasons)."""
    passed = 0
    failed, skipped = [], []
    if test["result"] == "EXPECTEDFAIL":
        return 1, [], []  # a mutant: its "not ok" lines are the point
    cases = [TAP.match(line) for line in (test.get("stdout") or "").splitlines()]
    cases = [m for m in cases if m]
    for m in cases:
        if m.group(4) and m.group(4).upper() == "SKIP":
            skipped.append(f"{case_name(test, m)}: {m.group(5).strip()}")
        elif m.group(1) == "ok":
            passed += 1
        else:
            failed.append(case_name(test, m))
    plan_skip = re.search(r"^1\.\.0\s*#\s*SKIP\s*(.*)$", test.get("stdout") or "", re.M | re.I)
    result = test["result"]
    if result == "SKIP" and not cases:
        skipped.append(f"{test['name']}: {plan_skip.group(1) if plan_skip else 'the whole test'}")
    elif result not in ("OK", "EXPECTEDFAIL", "SKIP") and not failed:
        failed.append(f"{test['name']}: {result}")  # crashed, timed out or broke the protocol
    elif not cases and result == "OK":
        passed += 1
    return passed, failed, skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ci", action="store_true", help="a skip, or a suite that did not run, is a failure")
    ap.add_argument("--expect", default="", help="comma-separated suites that must have run")
    ap.add_argument("logs", nargs="+")
    args = ap.parse_args()

    passed = 0
    failed, skipped, suites = [], [], set()
    for log in args.logs:
        build = log.split("/meson-logs/")[0]
        for t in (json.loads(line) for line in open(log) if line.strip()):
            p, f, s = count(t)
            passed += p
            failed += [f"{build}: {x}" for x in f]
            skipped += [f"{build}: {x}" for x in s]
            suites.add(t["name"].split(" / ")[0].split(":")[-1])  # "project:suite / test"
            print(f"  {build + ': ' + t['name']:<44} {t['result']:<12} {p:4} passed {len(f):4} failed "
                  f"{len(s):4} skipped")
    missing = [s for s in args.expect.split(",") if s and s not in suites]
    for s in missing:
        print(f"SUITE NOT RUN: {s}")
    for f in failed:
        print(f"  FAILED {f}")
    if skipped:
        print(f"SKIPPED ({len(skipped)}; these ran nothing{', which fails CI' if args.ci else ''}):")
        for s in skipped:
            print(f"  SKIP {s}")
    n_failed = len(failed) + (len(skipped) + len(missing) if args.ci else 0)
    print(f"{passed} passed, {n_failed} failed, {len(skipped)} skipped")
    sys.exit(1 if n_failed else 0)


if __name__ == "__main__":
    main()
