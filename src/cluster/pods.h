/* SPDX-License-Identifier: MIT */
#ifndef HIVE_PODS_H
#define HIVE_PODS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cluster/selection.h"

struct identity;
struct kube_client;
struct policy_set;
struct watch_place;
struct watch_set;

/*
 * The watch source for files inside containers: watches this node's pods
 * (spec.nodeName) through the API server, selects containers with the
 * policies, finds a process of each selected container through its cgroup
 * (cgroup.h) and resolves the policy's paths inside that process's root, so
 * that the watch set holds the inode the access hooks see. Follows container
 * restarts (a new container id: a new inode, the old one dropped), pod
 * deletion, label changes, and files that appear or are replaced later
 * (periodic rescan, as for host paths).
 *
 * It also knows the cgroup of every running container on the node, so that a
 * record can name the pod of the process that made an access.
 */
struct pod_source;

struct pod_source_options {
	const char *node;
	const char *cgroup_root;
	uint64_t rescan_usec;
	unsigned watch_timeout_s;
};

int pod_source_new(sd_event *event, struct kube_client *client, struct watch_set *set, struct identity *identity,
		   const struct pod_source_options *o, struct pod_source **ret);
struct pod_source *pod_source_free(struct pod_source *s);

/* Select anew with these policies (kept by the caller while in use). */
void pod_source_apply(struct pod_source *s, const struct policy_set *policies);

/* The pod and container a process with this cgroup id runs in (namespace,
 * pod and container names); false when none of this node's. */
bool pod_source_owner(const struct pod_source *s, uint64_t cgroup_id, struct watch_place *ret);

size_t pod_source_n_paths(const struct pod_source *s);
size_t pod_source_n_missing(const struct pod_source *s);

/*
 * A pod object from the API server, checked: every name that ends up in a
 * path (UID, container id) or a record is validated. Exposed for tests.
 */
struct pod_container_status {
	char *name;
	enum container_kind kind;
	char *container_id; /* "containerd://ID" */
};
struct pod_info {
	char *uid;
	char *namespace;
	char *name;
	char *qos; /* status.qosClass, or NULL */
	cJSON *labels;
	/* Running containers that have an id. */
	struct pod_container_status *containers;
	size_t n_containers;
};
int pod_info_parse(const cJSON *pod, struct pod_info **ret, const char **why);
struct pod_info *pod_info_free(struct pod_info *p);

#endif
