/* SPDX-License-Identifier: MIT */
#ifndef HIVE_NODEWATCH_H
#define HIVE_NODEWATCH_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <systemd/sd-event.h>

struct colocation;
struct kube_client;
struct watch_set;
struct watch_entry;

/*
 * The watch entries shared through the API server, one NodeWatch object per
 * node (O(nodes) objects, whatever the number of pods and paths):
 *
 * - publish: this node's own entries go into the NodeWatch named after the
 *   node, labelled with the kernel id; one writer per object, at most one
 *   write per second however fast the entries churn;
 * - mirror: the NodeWatches of the other nodes on this kernel become entries
 *   of the watch set (marked shared), so the kernel's loader watches their
 *   files too, and a restarted loader rebuilds its map.
 *
 * This node's own entries never make the round trip: an API server outage
 * does not touch what the local loader watches.
 */
struct nodewatch;

#define NODEWATCH_MAX_ENTRIES 5000 /* the CRD's maxItems; etcd objects are at most 1.5 MiB */

/*
 * colocation (may be NULL: trust every NodeWatch labelled for this kernel)
 * decides which other nodes' entries are watched: only those of nodes whose
 * Node says they run on this kernel. A change of our own NodeWatch by anyone
 * else is logged, with who did it, and undone.
 */
int nodewatch_new(struct kube_client *client, sd_event *event, struct watch_set *set,
		   struct colocation *colocation, const char *namespace, const char *node, const char *kernel_id,
		   unsigned watch_timeout_s, struct nodewatch **ret);
struct nodewatch *nodewatch_free(struct nodewatch *s);

/* status.policies of our NodeWatch (takes ownership; NULL: none), written
 * with the next publish. */
void nodewatch_set_report(struct nodewatch *s, cJSON *policies);

/* Whether node runs on this kernel changed: judge its NodeWatch again (one
 * node's answer at a time: thousands of NodeWatches, each answered in turn,
 * must not make each answer a pass over all of them). */
void nodewatch_recheck(struct nodewatch *s, const char *node);

/*
 * One NodeWatch entry, from the API server and so untrusted, into a watch
 * entry for node (keyed "node/NODE/KEY"); -EBADMSG with the reason when
 * malformed. Exposed for the unit tests.
 */
int nodewatch_entry_parse(const cJSON *json, const char *node, struct watch_entry **ret, const char **why);

#endif
