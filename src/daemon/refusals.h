/* SPDX-License-Identifier: MIT */
#ifndef HIVE_REFUSALS_H
#define HIVE_REFUSALS_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "enforce/deny-plan.h"
#include "kernel/kept.h"
#include "kernel/loader.h"

struct watch_set;

/*
 * Who refuses the accesses deny policies name, chosen at start and kept in
 * step with the access hooks' loader:
 * - in the kernel (enforce/kernel-deny.h) where it runs BPF LSM programs:
 *   by the deny program of the access hooks' loader, or, while that loader
 *   has none (a cluster's follower attaches no hooks; tracepoint mode), by
 *   a loader of the deny program alone. When the hooks' loader changes (the
 *   lease moved), the rules are written into the next program before the
 *   old one goes: nothing is let through in between, and the refusals do
 *   not depend on holding the lease;
 * - else through fanotify permission events (enforce/enforce.h);
 * - else nowhere (no policy can deny here).
 * A loader of the deny program alone hands its link and ring buffer to the
 * service manager (daemon/fdstore.h): its refusals hold across a restart,
 * and the next agent reads what it refused meanwhile.
 */
struct refusals;

struct refusals_options {
	struct watch_set *watches;
	/* What process filters' containers are, in the kernel (deny-plan.h). */
	struct deny_containers containers;
	/* For a loader of the deny program alone (its mode is set here). */
	struct loader_options loader;
	/* Each event of such a loader's ring buffer, or of the previous
	 * agent's kept one. */
	loader_event_fn on_event;
	/* The hooks' loader attached its deny program: its side is to be
	 * stored anew (the link is new). */
	void (*hooks_side_changed)(void *userdata);
	/* For fanotify: the container of a cgroup (enforce.h), and each answer. */
	const char *(*container)(void *userdata, uint64_t cgroup_id);
	void (*decided)(void *userdata, const struct hive_event *ev);
	void *userdata;
};

/* hooks: the access hooks' loader, or NULL; kept: what the previous agent's
 * loader of the deny program alone left (taken over). Fails only when no
 * mechanism is available (then no policy can deny). */
int refusals_new(sd_event *event, const struct refusals_options *o, struct loader *hooks,
		 struct kept_refusals *kept, struct refusals **ret);
/* Leaves what refuses in the kernel attached for the next agent (the
 * service manager keeps it); refusals_stop() first on a stop. */
struct refusals *refusals_free(struct refusals *r);

/* The hooks' loader is replaced by hooks (NULL: none): call before the old
 * one is freed. */
void refusals_follow(struct refusals *r, struct loader *hooks);

/* "kernel", "fanotify", or NULL: none. */
const char *refusals_mechanism(const struct refusals *r);

/* Before READY=1: what the agent says it refuses is refused. */
void refusals_sync(struct refusals *r);

/* Every source has found its files: what a previous agent refused and this
 * one does not is let through from now on, and its loader of the deny
 * program alone goes (what it refused meanwhile read first). Once. */
void refusals_settled(struct refusals *r);

/* A stop: nothing stays refused (what the kernel queued: refusals_consume()). */
void refusals_stop(struct refusals *r);

/* What the queues hold now, read (at exit). */
void refusals_consume(struct refusals *r);

struct refusals_stats {
	uint64_t denied, allowed;
	uint64_t dropped; /* decisions whose event found no room */
};
void refusals_stats_get(const struct refusals *r, struct refusals_stats *ret);

#endif
