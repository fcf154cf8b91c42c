/* SPDX-License-Identifier: MIT */
#ifndef HIVE_KUBE_REFLECTOR_H
#define HIVE_KUBE_REFLECTOR_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

struct kube_client;

/*
 * Keep a local view of a collection (client-go's reflector): LIST (in pages)
 * then WATCH from the list's resourceVersion, remember the last version seen
 * (bookmarks too), reconnect when the stream ends, re-list when the version
 * expired (410), back off with jitter while the server is unreachable.
 */
struct reflector_ops {
	/* After every (re)list: the whole collection; drop what is not in it. */
	void (*replace)(const cJSON *items, void *userdata);
	/* type: "ADDED", "MODIFIED" or "DELETED". */
	void (*event)(const char *type, const cJSON *object, void *userdata);
};

struct reflector;

/* path: the collection, e.g. /apis/hive.io/v1alpha1/namespaces/hive-system/nodewatches;
 * timeout_s: how long the server keeps one watch open before we reconnect. */
int reflector_new(struct kube_client *client, sd_event *event, const char *path, const char *label_selector,
		  unsigned timeout_s, const struct reflector_ops *ops, void *userdata, struct reflector **ret);
struct reflector *reflector_free(struct reflector *r);

/* E.g. "spec.nodeName=NODE"; call before the loop runs the first list. */
int reflector_set_field_selector(struct reflector *r, const char *selector);

/* Items per LIST request (default 500), and how many pages were fetched. */
void reflector_set_page_size(struct reflector *r, unsigned n);
unsigned reflector_pages(const struct reflector *r);

/* Exponential backoff with +-20% jitter: 1 s doubling to 30 s. */
uint64_t backoff_next_usec(unsigned attempt, uint64_t base_usec, uint64_t max_usec);

#endif
