/* SPDX-License-Identifier: MIT */
#ifndef HIVE_SELECTION_H
#define HIVE_SELECTION_H

#include <cjson/cJSON.h>
#include <stdbool.h>

struct policy;

/*
 * Which containers a policy selects (hive-policy(5)): pods in one of
 * namespaces (all when empty) whose labels match podSelector (all pods
 * without one), and of those, the containers named in containers; without
 * names, every regular container. Init and ephemeral containers are selected
 * only by name: they are short-lived helpers, and a debugging container
 * attached with kubectl debug is not what a policy about the application
 * means unless it says so.
 */
enum container_kind {
	CONTAINER_REGULAR,
	CONTAINER_INIT,
	CONTAINER_EPHEMERAL,
};

/* Whether the policy selects containers at all (not only host paths). */
bool selection_has_containers(const struct policy *p);

/* labels: the pod's metadata.labels object, or NULL. */
bool selection_matches_pod(const struct policy *p, const char *namespace, const cJSON *labels);

bool selection_matches_container(const struct policy *p, const char *name, enum container_kind kind);

#endif
