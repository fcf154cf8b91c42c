/* SPDX-License-Identifier: MIT */
#ifndef HIVE_ENFORCE_H
#define HIVE_ENFORCE_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "hive.h"

struct watch_set;

/*
 * Refusals (policies with "action": "deny" or "audit-deny"), through
 * fanotify permission events: each file of an enforced entry carries an
 * inode mark for FAN_OPEN_PERM and FAN_OPEN_EXEC_PERM, and the kernel holds
 * every open or exec of it until this agent answers. The answer is "refuse"
 * when a deny policy's entry on the file wants that access (read, write or
 * append from the open's flags, or exec) of that process (its process
 * filter admits it); "allow" otherwise, and always for this agent itself. A
 * refused open fails with EPERM.
 *
 * The group lives and dies with the agent's process: when hived exits, for
 * a restart too, the kernel drops the marks and allows everything until
 * the next agent has found the files again (fail-open; hive-policy(5)).
 */
struct enforcer;

struct enforcer_options {
	struct watch_set *watches;
	/* The container name of the process of a cgroup id, NULL: none (for
	 * the process filters' "containers"). May be NULL. */
	const char *(*container)(void *userdata, uint64_t cgroup_id);
	/* Each answer about an access some enforced entry wants, as an
	 * event (HIVE_EVENT_PERMISSION, and HIVE_EVENT_DENIED when refused),
	 * for the recorder. */
	void (*decided)(void *userdata, const struct hive_event *ev);
	void *userdata;
};

struct enforcer_stats {
	uint64_t denied, allowed;
};

/* -errno when this kernel has no fanotify permission events (or the agent
 * lacks CAP_SYS_ADMIN): then no policy can deny. */
int enforcer_new(sd_event *event, const struct enforcer_options *o, struct enforcer **ret);
struct enforcer *enforcer_free(struct enforcer *e);

/* What the watch set tells of each enforced file (watch_set_set_enforcer()). */
const struct watch_file_follower *enforcer_follower(struct enforcer *e);

void enforcer_stats_get(const struct enforcer *e, struct enforcer_stats *ret);

/* The access an open asked for, from its flags (O_ACCMODE, O_APPEND). */
uint32_t enforce_open_access(unsigned long flags);

#endif
