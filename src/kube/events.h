/* SPDX-License-Identifier: MIT */
#ifndef HIVE_KUBE_EVENTS_H
#define HIVE_KUBE_EVENTS_H

#include <systemd/sd-event.h>

struct kube_client;

/*
 * Warning Events, as kubectl describe shows them on an object, reported by
 * this node's agent (source.host and reportingInstance: the node; the
 * admission policy holds agents to that). Rate-limited: a burst of 10, then
 * one each 6 s, at most 16 waiting; past that they are dropped with one log
 * line, the journal having each said already. Sent from the loop, one at a
 * time: objects arrive inside curl's callbacks, where no request may start.
 */
struct kube_events;

/* What an Event is about. namespace NULL: a cluster-wide object (the Event
 * then goes to "default"); uid may be NULL. */
struct kube_event_object {
	const char *api_version;
	const char *kind;
	const char *namespace;
	const char *name;
	const char *uid;
};

int kube_events_new(sd_event *event, struct kube_client *client, const char *node, struct kube_events **ret);
struct kube_events *kube_events_free(struct kube_events *e);

void kube_events_warn(struct kube_events *e, const struct kube_event_object *about, const char *reason,
		      const char *message);

#endif
