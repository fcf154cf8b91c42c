/* SPDX-License-Identifier: MIT */
#ifndef HIVE_PODS_H
#define HIVE_PODS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
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
struct histogram;

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
/* Each cgroup id of this node's containers named name, to fn: a process
 * filter's "containers" as the kernel tells processes apart. */
int pod_source_foreach_cgroup(const struct pod_source *s, const char *name,
			      int (*fn)(uint64_t cgroup_id, void *userdata), void *userdata);
/* Moves whenever a container's cgroup is found or forgotten. */
uint64_t pod_source_cgroups_generation(const struct pod_source *s);
/* The same of a container of this node's pods by the pod's uid and the
 * container's name (a watched file's); false when not one of them. */
bool pod_source_describe(const struct pod_source *s, const char *pod_uid, const char *container,
			 struct watch_place *ret);

size_t pod_source_n_paths(const struct pod_source *s);
size_t pod_source_n_missing(const struct pod_source *s);
/* Seconds from a container's first process to its first watched file in
 * the map, for containers started while the agent followed their pod
 * (NULL without a pod source). */
const struct histogram *pod_source_discovery(const struct pod_source *s);

/*
 * A pod object from the API server, checked: every name that ends up in a
 * path (UID, container id) or a record is validated. Exposed for tests.
 */
#define POD_IMAGE_MAX 1024

struct pod_container_status {
	char *name;
	enum container_kind kind;
	char *container_id; /* "containerd://ID" */
	/* As the kubelet reports them; NULL when absent or not a plain
	 * printable reference (never a reason to drop the container). */
	char *image;    /* "docker.io/library/nginx:1.25" */
	char *image_id; /* its digest: "docker.io/library/nginx@sha256:..." */
};

/* The object that controls a pod or a controller (the ownerReference with
 * controller: true), checked. */
struct owner_ref {
	char *kind;        /* "ReplicaSet" */
	char *api_version; /* "apps/v1" */
	char *name;
	char *uid;
};
struct pod_info {
	char *uid;
	char *namespace;
	char *name;
	char *qos; /* status.qosClass, or NULL */
	cJSON *labels;
	/* Its controller; kind NULL when it has none. owner_invalid: it
	 * names one the parser refused, so no workload is claimed. */
	struct owner_ref owner;
	bool owner_invalid;
	/* Running containers that have an id. */
	struct pod_container_status *containers;
	size_t n_containers;
};
int pod_info_parse(const cJSON *pod, struct pod_info **ret, const char **why);
/* The controller among an object's metadata.ownerReferences: 1 and *ret
 * set, 0 when none, -EINVAL when one is malformed, -ENOMEM. */
int owner_ref_parse(const cJSON *meta, struct owner_ref *ret);
void owner_ref_clear(struct owner_ref *o);
bool uid_is_valid(const char *s);
struct pod_info *pod_info_free(struct pod_info *p);

#endif
