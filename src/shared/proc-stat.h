/* SPDX-License-Identifier: MIT */
#ifndef HIVE_PROC_STAT_H
#define HIVE_PROC_STAT_H

#include <stdint.h>
#include <sys/types.h>

/* The fields of /proc/PID/stat that Hive reads (proc(5) numbers them). */
struct proc_stat {
	char comm[16];               /* 2: up to 15 bytes and a NUL, as the kernel keeps it */
	char state;                  /* 3 */
	uint32_t ppid;               /* 4 */
	unsigned tty_nr;             /* 7: 0 without a controlling terminal */
	unsigned long long utime;    /* 14, clock ticks */
	unsigned long long stime;    /* 15, clock ticks */
	unsigned long long start;    /* 22: clock ticks after boot */
	unsigned long long vsize;    /* 23, bytes */
	long long rss;               /* 24, pages */
};

/* Parse /proc/PID/stat of a process or thread (pid 0: this process). The
 * command name may hold anything, parentheses and spaces too: the fields
 * are read after its last ')'. -ESRCH-like errnos when gone, -EBADMSG when
 * the line does not parse. */
int proc_stat_read(pid_t pid, struct proc_stat *ret);
/* The same from the file's text. */
int proc_stat_parse(const char *line, struct proc_stat *ret);

/* Field 22 in microseconds of CLOCK_BOOTTIME (10 ms ticks). */
int proc_start_usec(pid_t pid, uint64_t *ret);

#endif
