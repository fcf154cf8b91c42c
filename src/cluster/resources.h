/* SPDX-License-Identifier: MIT */
#ifndef HIVE_RESOURCES_H
#define HIVE_RESOURCES_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct kube_client;
struct policy_set;

/*
 * Policies from the cluster: the HivePolicy and HiveNamespacedPolicy objects,
 * listed and watched, each checked as a policy file is (policy.c). What this
 * node makes of each one (applied, or refused and why) goes back to the
 * object: its entry in status.nodes, and a Warning Event when refused.
 *
 * The last objects seen stay in force while the API server is unreachable.
 */
struct resources;

/* What one namespace's HiveNamespacedPolicies may use on this node. */
struct resources_limits {
	uint32_t namespace_max_policies;
	uint32_t namespace_max_paths; /* summed over its policies */
};

/* changed runs whenever the set of applied policies may have changed. */
int resources_new(sd_event *event, struct kube_client *client, const char *node, unsigned watch_timeout_s,
		  const struct resources_limits *limits, void (*changed)(void *userdata), void *userdata,
		  struct resources **ret);
struct resources *resources_free(struct resources *s);

/* How many policies the objects may add to what this node applies (the
 * policy files take the rest): objects past it are refused, the tenants'
 * first. Judges the objects again at once, without calling changed. */
void resources_set_room(struct resources *s, size_t room);

/* The policies applied now (owned by s, valid until the next changed). */
const struct policy_set *resources_applied(const struct resources *s);

/* For the node's NodeWatch status: [{kind, name, generation, state, reason}]. */
cJSON *resources_report(const struct resources *s);

/* Policy objects this node applies, and those it refuses (NULL s: none). */
void resources_count(const struct resources *s, size_t *applied, size_t *rejected);

#endif
