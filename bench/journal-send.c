/* SPDX-License-Identifier: MIT */
/*
 * The journal's own limit for records like hived's: send N entries with the
 * fields an access record has (names, sizes, one MESSAGE) through
 * sd_journal_sendv() as fast as journald takes them, and print entries per
 * second. Only the two timestamps change from entry to entry, as in hived's
 * records of one process (journald stores a value it has seen once only
 * once, so identical entries would be cheaper for it than real ones):
 * whatever hived reaches below this rate is its own cost.
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
	"HIVE_USER=root",
	"HIVE_GID=0",
	"HIVE_COMM=hive-bench-open",
	"HIVE_EXE=/usr/local/bin/hive-bench-open",
	/* The lineage of the bench's opener: its Python parent and theirs. */
	"HIVE_EXE_INODE=933907",
	"HIVE_EXE_DEV=254:0",
	"HIVE_PARENT_COMM=python3",
	"HIVE_PARENT_EXE=/usr/bin/python3.11",
	"HIVE_ANCESTORS=python3[4241] python3[4200] sudo[4199] bash[3100] sshd[3099] sshd[700] systemd[1]",
	"HIVE_CGROUP_ID=1",
	"HIVE_NODE=vm",
	"HIVE_KERNEL_ID=49a83099-ab28-42fb-8f32-2f0cecde2aa8",
	"HIVE_ATTACH=tracepoint",
	"HIVE_SUPPRESSED=0",
	NULL, /* HIVE_TIMESTAMP_USEC, per entry */
	NULL, /* HIVE_BOOTTIME_NSEC, per entry */
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

int main(int argc, char *argv[])
{
	struct iovec iov[N_FIELDS];
	char stamp[64], boot[64];
	struct timespec a, b;
	long n;

	if (argc != 2 || (n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: %s N\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < N_FIELDS - 2; i++)
		iov[i] = (struct iovec){ (char *)fields[i], strlen(fields[i]) };
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		struct timespec now;
		int r;

		clock_gettime(CLOCK_REALTIME, &now);
		iov[N_FIELDS - 2] = (struct iovec){ stamp, snprintf(stamp, sizeof(stamp), "HIVE_TIMESTAMP_USEC=%lld",
								    (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000) };
		clock_gettime(CLOCK_BOOTTIME, &now);
		iov[N_FIELDS - 1] = (struct iovec){ boot, snprintf(boot, sizeof(boot), "HIVE_BOOTTIME_NSEC=%lld",
								   (long long)now.tv_sec * 1000000000 + now.tv_nsec) };
		r = sd_journal_sendv(iov, N_FIELDS);

		if (r < 0) {
			fprintf(stderr, "sd_journal_sendv: %s\n", strerror(-r));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.0f\n", n / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9));
	return 0;
}
