#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Count test cases from meson's testlog.json files: each TAP line is a case, a test
without TAP output is one case. Prints the per-suite table, then
"N passed, N failed"; exits non-zero when anything failed."""

import json
import re
import sys

TAP = re.compile(r"^(ok|not ok) \d+( - [^#]*)?(#\s*(SKIP|TODO)\b.*)?$", re.IGNORECASE)


def count(test):
    passed = failed = skipped = 0
    cases = [TAP.match(line) for line in (test.get("stdout") or "").splitlines()]
    cases = [m for m in cases if m]
    for m in cases:
        if m.group(4) and m.group(4).upper() == "SKIP":
            skipped += 1
        elif m.group(1) == "ok":
            passed += 1
        else:
            failed += 1
    result = test["result"]
    if result in ("SKIP",) and not cases:
        skipped += 1
    elif result not in ("OK", "EXPECTEDFAIL", "SKIP") and failed == 0:
        failed += 1  # crashed, timed out or broke the protocol
    elif not cases and result == "OK":
        passed += 1
    return passed, failed, skipped


def main():
    totals = [0, 0, 0]
    for log in sys.argv[1:]:
        build = log.split("/meson-logs/")[0]
        for t in (json.loads(line) for line in open(log) if line.strip()):
            p, f, s = count(t)
            totals = [totals[0] + p, totals[1] + f, totals[2] + s]
            name = f"{build}: {t['name']}"
            print(f"  {name:<44} {t['result']:<8} {p:4} passed {f:4} failed {s:4} skipped")
    if totals[2]:
        print(f"{totals[2]} skipped (see the SKIP reasons in the log)")
    print(f"{totals[0]} passed, {totals[1]} failed")
    sys.exit(1 if totals[1] else 0)


if __name__ == "__main__":
    main()
