/* SPDX-License-Identifier: MIT */
/*
 * Change a file N times and print the mean nanoseconds per change: what a
 * process pays for a change hook or a watch rule on what it does to files.
 *
 *   hive-bench-change chmod PATH N    chmod 0600, then 0644, ...
 *   hive-bench-change rename PATH N   PATH -> PATH.moved -> PATH, ...
 *   hive-bench-change link PATH N     link PATH PATH.link, unlink PATH.link
 *
 * Each pair of a rename or a link counts as two changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int change(const char *kind, const char *path, const char *other, long i)
{
	if (strcmp(kind, "chmod") == 0)
		return chmod(path, i % 2 ? 0644 : 0600);
	if (strcmp(kind, "rename") == 0)
		return i % 2 ? rename(other, path) : rename(path, other);
	if (strcmp(kind, "link") == 0)
		return i % 2 ? unlink(other) : link(path, other);
	return -1;
}

int main(int argc, char *argv[])
{
	struct timespec a, b;
	char other[4096];
	long n;

	if (argc != 4 || (n = atol(argv[3])) <= 0 || n % 2) {
		fprintf(stderr, "usage: %s chmod|rename|link PATH EVEN-N\n", argv[0]);
		return 2;
	}
	snprintf(other, sizeof(other), "%s.%s", argv[2], strcmp(argv[1], "link") == 0 ? "link" : "moved");
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		if (change(argv[1], argv[2], other, i) < 0) {
			perror(argv[2]);
			return 1;
		}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
