/* SPDX-License-Identifier: MIT */
/*
 * open()+close() a file N times and print the mean nanoseconds per pair:
 * the cost a process pays for Hive's hooks on every open. With "refused",
 * each open must fail with EPERM instead (a deny policy's answer). With
 * "latency", each pair is timed on its own and the median and 99th
 * percentile follow the mean (what one open waits for a permission answer).
 *
 *   hive-bench-open PATH N [refused] [latency]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	return *(const double *)a < *(const double *)b ? -1 : *(const double *)a > *(const double *)b;
}

int main(int argc, char *argv[])
{
	bool refused = false, latency = false;
	double start, *each = NULL;
	long n;

	for (int i = 3; i < argc; i++) {
		refused = refused || strcmp(argv[i], "refused") == 0;
		latency = latency || strcmp(argv[i], "latency") == 0;
	}
	if (argc < 3 || argc > 5 || (n = atol(argv[2])) <= 0 || (latency && !(each = calloc(n, sizeof(*each))))) {
		fprintf(stderr, "usage: %s PATH N [refused] [latency]\n", argv[0]);
		return 2;
	}
	start = now_ns();
	for (long i = 0; i < n; i++) {
		double t = latency ? now_ns() : 0;
		int fd = open(argv[1], O_RDONLY | O_CLOEXEC);

		if (!(refused && fd < 0 && errno == EPERM) && (fd < 0 || refused)) {
			fprintf(stderr, "%s: %s\n", argv[1], fd < 0 ? "cannot open" : "opened, not refused");
			return 1;
		}
		if (fd >= 0)
			close(fd);
		if (latency)
			each[i] = now_ns() - t;
	}
	printf("%.1f", (now_ns() - start) / n);
	if (latency) {
		qsort(each, n, sizeof(*each), cmp_double);
		printf(" %.1f %.1f", each[n / 2], each[(size_t)(n * 0.99)]);
	}
	printf("\n");
	free(each);
	return 0;
}
