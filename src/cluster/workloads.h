/* SPDX-License-Identifier: MIT */
#ifndef HIVE_WORKLOADS_H
#define HIVE_WORKLOADS_H

#include <systemd/sd-event.h>

struct kube_client;
struct owner_ref;
struct pod_info;

/*
 * Which workload a pod belongs to, as people name it: the Deployment behind
 * its ReplicaSet, the CronJob behind its Job, else its controller
 * (StatefulSet, DaemonSet, a custom one) or the pod itself. A ReplicaSet or
 * Job is read from the API server once, while a pod of this node refers to
 * it: never per record, and with no list or watch of every controller in the
 * cluster. Until it is read, or when it cannot be (forbidden, API outage,
 * deleted), the pod's own controller is its workload, and one line says why.
 */
struct workloads;

int workloads_new(sd_event *event, struct kube_client *client, struct workloads **ret);
struct workloads *workloads_free(struct workloads *w);

/* A pod of this node refers to its controller ref (in namespace), or no
 * longer does (ref's uid): each hold is released once. */
void workloads_hold(struct workloads *w, const char *namespace, const struct owner_ref *ref);
void workloads_release(struct workloads *w, const char *uid);

/* The pod's workload as known now; both NULL when its controller reference
 * could not be trusted. Borrowed until the pod or its hold goes. */
void workloads_of(const struct workloads *w, const struct pod_info *p, const char **kind, const char **name);

#endif
