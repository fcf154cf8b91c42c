/* SPDX-License-Identifier: MIT */
/*
 * The journal's own limit for records like hived's: send N entries with the
 * fields an access record has (names, sizes, one MESSAGE) through
 * sd_journal_sendv() as fast as journald takes them, and print entries per
 * second. Nothing is formatted per entry: whatever hived reaches below this
 * rate is its own cost.
 *
 *   hive-bench-journal-send N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>

static const char *const fields[] = {
	"MESSAGE=cat[4242] uid=0 read /var/tmp/hive-bench-files/watched (policy bench)",
	"MESSAGE_ID=feff1561c2e44c39b94887118ce1eafc",
	"PRIORITY=5",
	"SYSLOG_IDENTIFIER=hive-bench",
	"HIVE_POLICY=bench",
	"HIVE_POLICY_KIND=file",
	"HIVE_PATH=/var/tmp/hive-bench-files/watched",
	"HIVE_INODE=933906",
	"HIVE_DEV=254:0",
	"HIVE_ACCESS=read",
	"HIVE_MASK=36",
	"HIVE_PID=4242",
	"HIVE_TID=4242",
	"HIVE_PPID=4241",
	"HIVE_UID=0",
	"HIVE_GID=0",
	"HIVE_COMM=hive-bench-open",
	"HIVE_EXE=/work/main/build/bench/hive-bench-open",
	"HIVE_CGROUP_ID=1",
	"HIVE_NODE=vm",
	"HIVE_KERNEL_ID=49a83099-ab28-42fb-8f32-2f0cecde2aa8",
	"HIVE_ATTACH=tracepoint",
	"HIVE_SUPPRESSED=0",
	"HIVE_TIMESTAMP_USEC=1795972934692525",
	"HIVE_BOOTTIME_NSEC=32133878721324",
};

int main(int argc, char *argv[])
{
	struct iovec iov[sizeof(fields) / sizeof(fields[0])];
	struct timespec a, b;
	long n;

	if (argc != 2 || (n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: %s N\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		iov[i] = (struct iovec){ (char *)fields[i], strlen(fields[i]) };
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		int r = sd_journal_sendv(iov, sizeof(fields) / sizeof(fields[0]));

		if (r < 0) {
			fprintf(stderr, "sd_journal_sendv: %s\n", strerror(-r));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.0f\n", n / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9));
	return 0;
}
