/* SPDX-License-Identifier: MIT */
/*
 * Attach minimal-check.bpf.c with PATH as the watched file, say "attached",
 * and stay until SIGINT or SIGTERM; then print how many opens it matched.
 *
 *   hive-bench-minimal-check PATH
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "minimal-check.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

int main(int argc, char *argv[])
{
	struct minimal_check_bpf *skel;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH\n", argv[0]);
		return 2;
	}
	skel = minimal_check_bpf__open();
	if (!skel)
		return 1;
	skel->rodata->learn_tgid = getpid();
	if (minimal_check_bpf__load(skel) || minimal_check_bpf__attach(skel)) {
		fprintf(stderr, "cannot load or attach the minimal check\n");
		minimal_check_bpf__destroy(skel);
		return 1;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC); /* learned by the program */
	if (fd < 0) {
		perror(argv[1]);
		minimal_check_bpf__destroy(skel);
		return 1;
	}
	close(fd);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	printf("%llu opens matched\n", (unsigned long long)skel->bss->hits);
	minimal_check_bpf__destroy(skel);
	return 0;
}
