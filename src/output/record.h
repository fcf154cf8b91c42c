/* SPDX-License-Identifier: MIT */
#ifndef HIVE_RECORD_H
#define HIVE_RECORD_H

#include <limits.h>
#include <stdint.h>

#include "hive.h"

struct watch_entry;

/* Journal MESSAGE_ID of an access record; the catalog entry explains it. */
#define HIVE_ACCESS_MESSAGE_ID "feff1561c2e44c39b94887118ce1eafc"

/*
 * One access, enriched: the kernel's event, the watch entry it matched (which
 * policy, which path, which pod) and what user space adds about the process
 * and this host. Strings are raw; output.c escapes them all at one place.
 */
struct access_record {
	const struct hive_event *event;
	const struct watch_entry *entry;
	uint64_t realtime_usec;
	const char *kernel_id;
	const char *attach;
	const char *node;
	/* The pod and container of the process that made the access, when it
	 * runs in one of this node's pods. */
	const char *proc_namespace;
	const char *proc_pod;
	const char *proc_container;
	char comm[HIVE_COMM_LEN + 1];
	char exe[HIVE_EXE_LEN + 4]; /* empty for kernel threads */
	char access[64];                  /* "read,write" */
};

/* Fill in what the event and entry do not carry. */
void record_enrich(struct access_record *r);

/* Kernel CLOCK_BOOTTIME nanoseconds to wall-clock microseconds, as of now. */
uint64_t boottime_to_realtime_usec(uint64_t boot_ns);

#endif
