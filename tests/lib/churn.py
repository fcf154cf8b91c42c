# SPDX-License-Identifier: MIT
"""Identity under churn, the workload (tests/integration/test_churn.py):
replace a file of DIR (f0 .. f<N-1>) at random, the way package managers and
configuration management do (write f.new, rename it over f), then fork a
reader named r<I> that reads it and says which inode it read; for SECONDS or
LIMIT reads. One JSON line per read on stdout, the writer's pid first.

    python3 -m tests.lib.churn DIR N SECONDS LIMIT
"""

import ctypes
import json
import os
import random
import sys
import time

PR_SET_NAME = 15


def main():
    libc = ctypes.CDLL(None, use_errno=True)
    directory, n, seconds, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    print(json.dumps({"writer": os.getpid()}), flush=True)
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline and i < limit:
        path = os.path.join(directory, f"f{random.randrange(n)}")
        with open(path + ".new", "w") as f:
            f.write(f"version {i}\n")
        os.rename(path + ".new", path)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            libc.prctl(PR_SET_NAME, f"r{i:07d}".encode(), 0, 0, 0)
            fd = os.open(path, os.O_RDONLY)
            os.read(fd, 64)
            os.write(w, str(os.fstat(fd).st_ino).encode())
            os._exit(0)
        os.close(w)
        ino = int(os.read(r, 32) or 0)
        os.close(r)
        os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "comm": f"r{i:07d}", "path": path, "ino": ino}), flush=True)
        i += 1


if __name__ == "__main__":
    main()
