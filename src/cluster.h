/* SPDX-License-Identifier: MIT */
#ifndef HIVE_CLUSTER_H
#define HIVE_CLUSTER_H

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "shared/diag.h"

struct config;
struct watch_set;

/*
 * Cluster mode: the API client, the per-kernel loader election and the
 * shared NodeWatch store, wired to the watch set. The manager hears about
 * leadership through on_leader and attaches or detaches its programs.
 */
struct cluster;

/* Check the kubeconfig (or in-cluster files) as --check and start-up do. */
int cluster_check_credentials(const struct config *config, struct diag *d);

int cluster_new(sd_event *event, const struct config *config, struct watch_set *set, const char *node,
		const char *kernel_id, void (*on_leader)(bool leader, void *userdata), void *userdata,
		struct cluster **ret);
struct cluster *cluster_free(struct cluster *c);

bool cluster_is_leader(const struct cluster *c);

/* Give the lease back if held; done runs once that is settled. */
void cluster_release(struct cluster *c, void (*done)(void *userdata), void *userdata);

#endif
