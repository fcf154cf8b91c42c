/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "cluster/cluster.h"
#include "daemon/fleet-warnings.h"
#include "kube/client.h"
#include "shared/macro.h"

#define DROPPED_EVERY_USEC (60 * USEC_PER_SEC)

static void dropped(struct fleet_warnings *w, struct cluster *c, const struct manager_status *st)
{
	uint64_t now = clock_usec(CLOCK_MONOTONIC);
	char message[256];

	if (st->kernel.dropped <= w->dropped_said ||
	    (w->dropped_said_usec && now - w->dropped_said_usec < DROPPED_EVERY_USEC))
		return;
	snprintf(message, sizeof(message),
		 "%llu accesses to watched files have no record: the ring buffer was full (%llu in all; raise "
		 "ringbuf_kib in hive.conf, or watch less).",
		 (unsigned long long)(st->kernel.dropped - w->dropped_said), (unsigned long long)st->kernel.dropped);
	cluster_warn_node(c, "HiveAccessesDropped", message);
	w->dropped_said = st->kernel.dropped;
	w->dropped_said_usec = now;
}

/* From what the lease driver counted, not from the role seen at each tick:
 * a lease held between two ticks (as one is by an agent stopped as soon as
 * it took it, which steps down on waking) is still lost; and a lost lease
 * goes through "self-attached" while the new holder is checked, which is
 * no foreign holder. */
static void role(struct fleet_warnings *w, struct cluster *c)
{
	struct lease_episodes now = cluster_lease_episodes(c);

	if (now.foreign != w->said.foreign)
		cluster_warn_node(c, "HiveSelfAttached",
				  "This kernel's lease is held by a node not known to run on it: the agent attached "
				  "its hooks on its own (see its journal).");
	if (now.lost != w->said.lost)
		cluster_warn_node(c, "HiveLeaseLost",
				  "The agent lost this kernel's lease: another agent records its accesses now.");
	w->said = now;
}

static void api(struct fleet_warnings *w, struct cluster *c, uint64_t renew_deadline_usec)
{
	uint64_t last = kube_client_last_success_usec(cluster_client(c)), now = clock_usec(CLOCK_REALTIME);
	char message[256];

	if (!last)
		return;
	if (!w->api_lost_usec && now > last + renew_deadline_usec) {
		w->api_lost_usec = last;
		return;
	}
	if (!w->api_lost_usec || last == w->api_lost_usec)
		return;
	snprintf(message, sizeof(message),
		 "The API server could not be reached for %llu s (more than the lease's renew deadline): policies, "
		 "pods and the lease were not followed meanwhile.",
		 (unsigned long long)((last - w->api_lost_usec) / USEC_PER_SEC));
	cluster_warn_node(c, "HiveAPIUnreachable", message);
	w->api_lost_usec = 0;
}

void fleet_warnings_check(struct fleet_warnings *w, struct cluster *c, const struct manager_status *st,
			  uint64_t renew_deadline_usec)
{
	if (!c)
		return;
	dropped(w, c, st);
	role(w, c);
	api(w, c, renew_deadline_usec);
}
