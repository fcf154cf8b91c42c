/* SPDX-License-Identifier: MIT */
#ifndef HIVE_FLEET_WARNINGS_H
#define HIVE_FLEET_WARNINGS_H

#include <stdint.h>

#include "daemon/manager.h"
#include "kube/lease.h"

struct cluster;

/*
 * What a fleet must know of this agent without reading its journal, as
 * Warning Events on its own Node (kubectl describe node, and any tool that
 * watches Events): accesses dropped (at most one Event a minute, with the
 * count since the last), attached without the lease (its holder is not
 * known to run on this kernel), the lease lost, the API server out of reach
 * longer than the lease's renew deadline (said once it is back: an Event
 * needs the API server).
 */
struct fleet_warnings {
	uint64_t dropped_said;      /* the drop count the last Event covered */
	uint64_t dropped_said_usec; /* CLOCK_MONOTONIC of that Event */
	struct lease_episodes said; /* the leases lost and foreign holders the Events covered */
	uint64_t api_lost_usec;     /* CLOCK_REALTIME of the last answer before an outage; 0: none */
};

/* Every status tick, in cluster mode. */
void fleet_warnings_check(struct fleet_warnings *w, struct cluster *c, const struct manager_status *st,
			  uint64_t renew_deadline_usec);

#endif
