/* SPDX-License-Identifier: MIT */
#ifndef HIVE_RESOURCES_H
#define HIVE_RESOURCES_H

#include <cjson/cJSON.h>
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

/* changed runs whenever the set of applied policies may have changed. */
int resources_new(sd_event *event, struct kube_client *client, const char *node, unsigned watch_timeout_s,
			  void (*changed)(void *userdata), void *userdata, struct resources **ret);
struct resources *resources_free(struct resources *s);

/* The policies applied now (owned by s, valid until the next changed). */
const struct policy_set *resources_applied(const struct resources *s);

/* For the node's NodeWatch status: [{kind, name, generation, state, reason}]. */
cJSON *resources_report(const struct resources *s);

#endif
