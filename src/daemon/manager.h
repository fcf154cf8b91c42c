/* SPDX-License-Identifier: MIT */
#ifndef HIVE_MANAGER_H
#define HIVE_MANAGER_H

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "hive.h"
#include "kernel/loader.h"

struct config;
struct policy_set;

/*
 * The daemon: owns the sd-event loop and every long-lived part (loader,
 * watch set, sources, output) and wires them together.
 */
struct manager;

/* Takes ownership of config and policies. */
int manager_new(struct config *config, struct policy_set *policies, struct manager **ret);
struct manager *manager_free(struct manager *m);

/* Load and attach, fill the map, then tell systemd we are ready. */
int manager_start(struct manager *m);
int manager_run(struct manager *m);

/* Re-read the policy directory; on any error keep the running set. */
int manager_reload(struct manager *m);

/* What hivectl status and the STATUS= line show. */
struct manager_status {
	const char *attach; /* "none" while no programs are attached */
	const char *role;   /* standalone, leader, follower */
	const char *node;
	const char *kernel_id;
	size_t n_policies;
	size_t n_inodes;
	size_t n_entries;
	size_t n_missing;
	uint64_t records;
	uint64_t output_errors;
	struct loader_stats kernel;
	uint64_t ring_used; /* bytes of the ring buffer awaiting the agent */
	uint64_t unmatched;
	uint64_t excepted; /* records a process filter kept from being made */
	uint64_t denied, allowed; /* answers to permission events (deny policies) */
	uint64_t lease_transitions;
	uint64_t reloads_applied, reloads_refused; /* of the policy directory */
	size_t objects_applied, objects_rejected;  /* HivePolicy and HiveNamespacedPolicy */
	bool last_reload_failed;
};

void manager_get_status(struct manager *m, struct manager_status *ret);
const struct watch_set *manager_get_watches(struct manager *m);

#endif
