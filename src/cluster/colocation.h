/* SPDX-License-Identifier: MIT */
#ifndef HIVE_COLOCATION_H
#define HIVE_COLOCATION_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

struct kube_client;

/*
 * Which Kubernetes nodes run on this kernel, by the kubelet's word: every
 * kubelet writes its kernel's boot id into its Node's status.nodeInfo.bootID,
 * and only that kubelet may write its Node (NodeRestriction). Agents can write
 * NodeWatches and Leases, so neither may be taken as proof of where a node
 * runs: a lease holder or a NodeWatch is trusted for this kernel only when
 * its node's Node object says it runs here.
 *
 * Only the nodes asked about are looked up (GET, so agents need no list or
 * watch of every Node, and memory is O(nodes asked about), bounded), answers
 * are refreshed after a minute, and on_change runs whenever an answer changes,
with the node it is about.
 */
struct colocation;

enum colocation_answer {
	COLOCATION_UNKNOWN,      /* being looked up */
	COLOCATION_HERE,         /* its Node reports this kernel's boot id */
	COLOCATION_ELSEWHERE,    /* no Node of that name, or another boot id */
	COLOCATION_UNVERIFIABLE, /* the API server will not tell us (e.g. RBAC without get nodes) */
};

int colocation_new(struct kube_client *client, sd_event *event, const char *kernel_id,
		   void (*on_change)(void *userdata, const char *node), void *userdata, struct colocation **ret);
struct colocation *colocation_free(struct colocation *c);

/* What is known now; starts a lookup (or a refresh) when needed. */
enum colocation_answer colocation_of(struct colocation *c, const char *node);

/* The boot id a Node object reports, or NULL when malformed. Exposed for tests. */
const char *colocation_node_boot_id(const cJSON *node);

#endif
