/* SPDX-License-Identifier: MIT */
#ifndef HIVE_RECORD_H
#define HIVE_RECORD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hive.h"
#include "output/output.h"
#include "watch/watch.h"

/*
 * One access, complete: the kernel's event (a folded one given its
 * executable's path), the watch entry it matched (which policy, which
 * path, which pod), and what user space adds about the process and this
 * host. Strings are raw; output.c escapes them all at one place.
 */
struct access_record {
	const struct hive_event *event;
	const struct hive_ext *ext; /* what follows the event (HIVE_EVENT_EXT), or NULL */
	const struct hive_lineage *lineage; /* and then (HIVE_EVENT_LINEAGE), or NULL */
	const struct watch_entry *entry;
	/* A permission event's outcome: "denied", or "would-deny" (an
	 * audit-deny policy's); NULL for what the hooks saw. */
	const char *action;
	/* The file's path: the entry's, or for a file of a watched tree, its
	 * path in the tree (the root's and the kernel's path below it). */
	const char *path;
	uint64_t realtime_usec;
	const char *kernel_id;
	const char *attach;
	const char *node;
	/* The pod and container of the process that made the access, when it
	 * runs in one of this node's pods; NULL fields otherwise. */
	struct watch_place proc;
	/* What is known now of the watched file's pod (workload, image,
	 * labels), when it is one of this node's; NULL fields otherwise. */
	struct watch_place pod;
	/* The label keys written as journal fields of their own (hive.conf's
	 * record_labels), NULL-terminated; NULL: none. */
	char *const *record_labels;
	/* From the passwd file or NSS: the login's name (auid), and for a process
	 * in no pod, the user's (a container has names of its own); "" when
	 * unknown. */
	char login[LOGIN_NAME_MAX];
	char user[LOGIN_NAME_MAX];
	char tty[HIVE_TTY_LEN + 1];
	/* The executables' paths of the event's ancestors, where known. */
	char ancestor_exe[HIVE_ANCESTORS_MAX][HIVE_EXE_LEN];
	char comm[HIVE_COMM_LEN + 1];
	char exe[HIVE_EXE_LEN + 4]; /* empty for kernel threads */
	char access[96];            /* "read,write" */
	/* Who the process was before an exec that may have come after the
	 * access (a change fanotify reported), or NULL; its comm and exe. */
	const struct hive_event *before_exec;
	char before_comm[HIVE_COMM_LEN + 1];
	char before_exe[HIVE_EXE_LEN + 4];
};

/*
 * Where the kernel's events become records and go out: the one step between
 * the ring buffer and the output. An event names an inode; the watch set
 * says which entries (policies, paths, pods) watch it, and each entry that
 * wants the event's access kind is one record.
 */
struct recorder;

struct recorder_options {
	const struct watch_set *watches;
	const char *kernel_id;
	const char *node; /* for entries that name none */
	enum output_kind output;
	FILE *json; /* where --output json writes */
	/* Where user names are read from: NULL for /etc/passwd and NSS for
	 * uids it lacks; a file: that file alone. */
	const char *passwd;
	/* The pod and container of a process by its cgroup id (NULL: none). */
	bool (*process_place)(void *userdata, uint64_t cgroup_id, struct watch_place *ret);
	/* The same of a watched file's container, by pod uid and container
	 * name (NULL: none). */
	bool (*pod_place)(void *userdata, const char *pod_uid, const char *container, struct watch_place *ret);
	char *const *record_labels; /* see struct access_record */
	void *userdata;
};

struct recorder_counters {
	uint64_t records;       /* written */
	uint64_t unmatched;     /* events for inodes no longer watched */
	uint64_t output_errors; /* records the output refused */
	uint64_t aggregated;    /* events of aggregated accesses (HIVE_EVENT_AGGREGATED) */
	uint64_t excepted;      /* records not made: the policy's process filter excepted the process */
};

/*
 * What became of the accesses each policy matched, by kind, as the records
 * say (the kernel's drops name no policy: loader_stats): an access of its
 * own record (recorded), one counted in a record's HIVE_SUPPRESSED
 * (suppressed), one a folded record reports after its window (folded), one
 * of an aggregated record (aggregated), one of a process the policy's
 * process filter is not about (excepted: no record). An access of several
 * kinds (an open for reading and writing) counts once under each.
 */
struct record_outcomes {
	uint64_t recorded, suppressed, folded, aggregated, excepted;
};
typedef void (*record_outcomes_fn)(const char *policy, const char *access, const struct record_outcomes *o,
				   void *userdata);
void record_outcomes_foreach(const struct recorder *r, record_outcomes_fn fn, void *userdata);

int record_new(const struct recorder_options *o, struct recorder **ret);
struct recorder *record_free(struct recorder *r);

/*
 * One event of hooks attached in mode attach. Folded events are given the
 * path their executable's file last had: remember says whether such events
 * can come (the kernel runs a flusher), so that the paths are kept.
 */
void record_event(struct recorder *r, const struct hive_event *event, const char *attach, bool remember);

const struct recorder_counters *record_counters(const struct recorder *r);

/* Kernel CLOCK_BOOTTIME nanoseconds to wall-clock microseconds, as of now. */
uint64_t boottime_to_realtime_usec(uint64_t boot_ns);

#endif
