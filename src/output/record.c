/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "output/record.h"
#include "shared/abi.h"
#include "shared/macro.h"

uint64_t boottime_to_realtime_usec(uint64_t boot_ns)
{
	struct timespec rt, bt;
	int64_t offset_ns;

	/* Recomputed per event so that clock steps (NTP, suspend) are followed. */
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	offset_ns = (int64_t)(rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
	return (uint64_t)((int64_t)boot_ns + offset_ns) / NSEC_PER_USEC;
}

void record_enrich(struct access_record *r)
{
	const struct hive_event *ev = r->event;

	r->realtime_usec = boottime_to_realtime_usec(ev->boot_ns);
	memcpy(r->comm, ev->comm, sizeof(ev->comm));
	r->comm[sizeof(ev->comm)] = '\0';
	access_to_string(ev->mask, r->access, sizeof(r->access));
	/* From the kernel, not /proc/PID/exe: the process may be gone, and its
	 * pid (the kernel's initial-namespace one) may name another process in
	 * the pid namespace hived runs in. */
	r->exe[0] = '\0';
	if (ev->exe[0])
		snprintf(r->exe, sizeof(r->exe), "%s%.*s", ev->flags & HIVE_EVENT_EXE_TRUNCATED ? "..." : "",
			 (int)sizeof(ev->exe), ev->exe);
}
