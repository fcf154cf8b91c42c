/* SPDX-License-Identifier: MIT */
#ifndef HIVE_PROC_WHO_H
#define HIVE_PROC_WHO_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "hive.h"

/*
 * Who a thread is, from /proc, for a change fanotify reports by the thread's
 * id alone: the process fields of a struct hive_event as the kernel would
 * fill them at an access (bpf/hive.bpf.c), while the thread still runs.
 */

/* Where the cgroup2 hierarchy is mounted here (/sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on a hybrid host), "" for nowhere: where a
 * thread's cgroup, and so its id, is found. */
void proc_who_cgroup2(char buf[static PATH_MAX]);

/* The process fields of *ev, for thread tid as this agent's pid namespace
 * numbers it. False when it is gone, or a zombie (no executable any more). */
bool proc_who(const char *cgroup2, uint32_t tid, struct hive_event *ev);

/*
 * The same through the thread's /proc directory, opened once: every field
 * then comes from that one thread, or none (its pid reused meanwhile by
 * another process fails the reads instead of mixing the two).
 */
int proc_dir_open(uint32_t tid);
bool proc_who_at(const char *cgroup2, int dir, struct hive_event *ev);

/* File name of a /proc/PID directory, whole, in one read (each of these files
 * is written in one go when the buffer holds it): its length, -EFBIG when
 * it does not fit. */
int proc_read_at(int dir, const char *name, char *buf, size_t size);

/* Who process tgid descends from, nearest first, up to its namespace's init
 * (at most HIVE_ANCESTORS_MAX), as lineage() in bpf/hive.bpf.c reads it at
 * an access; numbered as this agent's pid namespace numbers them. */
void proc_lineage(uint32_t tgid, struct hive_lineage *lin);

#endif
