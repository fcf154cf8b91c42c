/* SPDX-License-Identifier: MIT */
#ifndef HIVE_CLUSTER_H
#define HIVE_CLUSTER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "kube/lease.h"
#include "shared/diag.h"

struct kube_client;
struct identity;
struct watch_set;

/*
 * Cluster mode: the API client, the per-kernel loader election, which nodes
 * share this kernel, and the shared NodeWatch store, wired to the watch set.
 * The manager hears through on_leader whether to attach its access hooks:
 * when it holds the lease, and also when the lease is held by a node not
 * known to run on this kernel ("self-attached").
 */
struct cluster;

struct cluster_options {
	const char *kubeconfig; /* a path, or "in-cluster" */
	const char *namespace;  /* of the Lease and the NodeWatches */
	const char *node;
	const char *kernel_id;
	struct lease_timing lease;
	unsigned watch_timeout_s;
	struct identity *identity; /* for the presence probe's file */
	const char *runtime_dir;   /* where to make it */
	/* Whether to attach the access hooks, each time that changes. */
	void (*on_leader)(bool leader, void *userdata);
	void *userdata;
};

/* Check the kubeconfig (or in-cluster files; NULL: none) as --check and
 * start-up do. */
int cluster_check_credentials(const char *kubeconfig, struct diag *d);

int cluster_new(sd_event *event, const struct cluster_options *o, struct watch_set *set, struct cluster **ret);
struct cluster *cluster_free(struct cluster *c);

/* The API client, for other users of the same server (pod discovery). */
struct kube_client *cluster_client(struct cluster *c);

/* What this node makes of the resource policies, for its NodeWatch status
 * (takes ownership). */
void cluster_set_policy_report(struct cluster *c, cJSON *policies);

/* A Warning Event on this node's Node object (rate-limited, see
 * kube/events.h): what a fleet must know of this agent. */
void cluster_warn_node(struct cluster *c, const char *reason, const char *message);

/* "leader", "follower" or "self-attached" (attached without the lease:
 * its holder is foreign to this kernel, or not known yet to run here). */
const char *cluster_role(const struct cluster *c);
/* Leases lost and foreign holders found, since start (lease.h). */
struct lease_episodes cluster_lease_episodes(const struct cluster *c);

/* Give the lease back if held; done runs once that is settled. */
void cluster_release(struct cluster *c, void (*done)(void *userdata), void *userdata);

#endif
