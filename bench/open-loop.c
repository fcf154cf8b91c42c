/* SPDX-License-Identifier: MIT */
/*
 * open()+close() a file N times and print the mean nanoseconds per pair:
 * the cost a process pays for Hive's hooks on every open. With "refused",
 * each open must fail with EPERM instead (a deny policy's answer).
 *
 *   hive-bench-open PATH N [refused]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	struct timespec a, b;
	int refused;
	long n;

	if (argc < 3 || argc > 4 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: %s PATH N [refused]\n", argv[0]);
		return 2;
	}
	refused = argc == 4;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		int fd = open(argv[1], O_RDONLY | O_CLOEXEC);

		if (refused && fd < 0 && errno == EPERM)
			continue;
		if (fd < 0 || refused) {
			fprintf(stderr, "%s: %s\n", argv[1], fd < 0 ? "cannot open" : "opened, not refused");
			return 1;
		}
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
