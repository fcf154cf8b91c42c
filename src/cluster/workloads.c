/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/pods.h"
#include "cluster/workloads.h"
#include "kube/client.h"
#include "kube/reflector.h"
#include "shared/hashmap.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/macro.h"

#define RETRY_BASE_USEC USEC_PER_SEC
#define RETRY_MAX_USEC (5 * 60 * USEC_PER_SEC)

/* The controllers that have a controller people name instead, and where
 * they are read. Matched by API group too: a custom resource may call
 * itself "Job". */
static const struct {
	const char *kind;
	const char *api_version;
	const char *resource;
} looked_up[] = {
	{ "ReplicaSet", "apps/v1", "replicasets" },
	{ "Job", "batch/v1", "jobs" },
};

/* One controller of pods of this node. */
struct controller {
	struct workloads *owner;
	char *namespace;
	struct owner_ref ref;
	const char *resource; /* of looked_up[] */
	struct owner_ref top; /* its own controller, once read; kind NULL: none */
	unsigned holds;
	unsigned failures;
	bool said; /* that it cannot be read, once */
	struct kube_call *call;
	sd_event_source *retry;
};

struct workloads {
	sd_event *event;
	struct kube_client *client;
	struct hashmap *by_uid; /* the controller's uid -> struct controller */
};

static const char *resource_of(const struct owner_ref *ref)
{
	for (size_t i = 0; i < ARRAY_SIZE(looked_up); i++)
		if (strcmp(ref->kind, looked_up[i].kind) == 0 && ref->api_version &&
		    strcmp(ref->api_version, looked_up[i].api_version) == 0)
			return looked_up[i].resource;
	return NULL;
}

static void controller_free(void *p)
{
	struct controller *c = p;

	if (!c)
		return;
	kube_call_cancel(c->call);
	sd_event_source_disable_unref(c->retry);
	owner_ref_clear(&c->ref);
	owner_ref_clear(&c->top);
	free(c->namespace);
	free(c);
}

static void fetch(struct controller *c);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	fetch(userdata);
	return 0;
}

static void retry_later(struct controller *c)
{
	uint64_t delay = backoff_next_usec(c->failures++, RETRY_BASE_USEC, RETRY_MAX_USEC);
	int r;

	if (!c->retry)
		r = sd_event_add_time_relative(c->owner->event, &c->retry, CLOCK_MONOTONIC, delay, 0, on_retry, c);
	else
		r = sd_event_source_set_time_relative(c->retry, delay);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->retry, SD_EVENT_ONESHOT);
	if (r < 0)
		log_debug_errno(r, "Cannot schedule reading %s %s/%s again: %m", c->ref.kind, c->namespace, c->ref.name);
}

static void on_read(const struct kube_response *resp, void *userdata)
{
	struct controller *c = userdata;
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(resp->json, "metadata");
	const char *uid = json_string(meta, "uid");
	int r;

	c->call = NULL;
	if (resp->status == 200 && !resp->error && uid && strcmp(uid, c->ref.uid) == 0) {
		r = owner_ref_parse(meta, &c->top);
		if (r == -ENOMEM) {
			retry_later(c);
			return;
		}
		if (r == -EINVAL)
			log_warning("%s %s/%s has an ownerReference that is not a valid controller reference: it is "
				    "its pods' workload.",
				    c->ref.kind, c->namespace, c->ref.name);
		else if (c->said)
			log_info("%s %s/%s read: its pods' workload is %s %s.", c->ref.kind, c->namespace, c->ref.name,
				 c->top.kind ? c->top.kind : c->ref.kind, c->top.kind ? c->top.name : c->ref.name);
		return;
	}
	/* Gone, or another object of the same name now: nothing above it. */
	if ((resp->status == 200 || resp->status == 404) && !resp->error) {
		log_info("%s %s/%s, the controller of pods of this node, no longer exists: it is their workload in "
			 "records.",
			 c->ref.kind, c->namespace, c->ref.name);
		return;
	}
	if (!c->said)
		log_warning("Cannot read %s %s/%s (%s%s%s): records of its pods name it as their workload until it "
			    "can be read%s.",
			    c->ref.kind, c->namespace, c->ref.name, resp->error ? resp->error : "HTTP error",
			    resp->reason ? ": " : "", resp->reason ? resp->reason : "",
			    resp->status == 403 ? " (agents need get on replicasets and jobs: deploy/20-rbac.yaml)" : "");
	c->said = true;
	retry_later(c);
}

static void fetch(struct controller *c)
{
	_cleanup_(freep) char *path = NULL;
	int r = -ENOMEM;

	/* Names checked by owner_ref_parse() and the API server's rules. */
	if (asprintf(&path, "/apis/%s/namespaces/%s/%s/%s", c->ref.api_version, c->namespace, c->resource,
		     c->ref.name) >= 0)
		r = kube_request(c->owner->client, "GET", path, NULL, on_read, c, &c->call);
	if (r < 0)
		retry_later(c);
}

static int ref_copy(const struct owner_ref *from, struct owner_ref *to)
{
	*to = (struct owner_ref){
		.kind = strdup(from->kind),
		.api_version = strdup(from->api_version),
		.name = strdup(from->name),
		.uid = strdup(from->uid),
	};
	if (to->kind && to->api_version && to->name && to->uid)
		return 0;
	owner_ref_clear(to);
	return -ENOMEM;
}

void workloads_hold(struct workloads *w, const char *namespace, const struct owner_ref *ref)
{
	const char *resource = ref->kind ? resource_of(ref) : NULL;
	struct controller *c;

	if (!w || !resource)
		return;
	c = hashmap_get_str(w->by_uid, ref->uid);
	if (c) {
		c->holds++;
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->namespace = strdup(namespace)) || ref_copy(ref, &c->ref) < 0 ||
	    hashmap_put_str(w->by_uid, ref->uid, c, NULL) < 0) {
		log_warning("Out of memory: the workload of pods of %s %s/%s is not read.", ref->kind, namespace,
			    ref->name);
		controller_free(c);
		return;
	}
	c->owner = w;
	c->resource = resource;
	c->holds = 1;
	fetch(c);
}

void workloads_release(struct workloads *w, const char *uid)
{
	struct controller *c;

	if (!w || !uid || !(c = hashmap_get_str(w->by_uid, uid)) || --c->holds > 0)
		return;
	hashmap_remove_str(w->by_uid, uid);
	controller_free(c);
}

void workloads_of(const struct workloads *w, const struct pod_info *p, const char **kind, const char **name)
{
	const struct controller *c;

	*kind = *name = NULL;
	if (p->owner_invalid)
		return;
	/* A static pod's mirror is owned by its Node: no controller runs it. */
	if (!p->owner.kind || strcmp(p->owner.kind, "Node") == 0) {
		*kind = "Pod";
		*name = p->name;
		return;
	}
	c = w ? hashmap_get_str(w->by_uid, p->owner.uid) : NULL;
	if (c && c->top.kind) {
		*kind = c->top.kind;
		*name = c->top.name;
		return;
	}
	*kind = p->owner.kind;
	*name = p->owner.name;
}

int workloads_new(sd_event *event, struct kube_client *client, struct workloads **ret)
{
	struct workloads *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->event = sd_event_ref(event);
	w->client = client;
	w->by_uid = hashmap_new();
	if (!w->by_uid) {
		workloads_free(w);
		return -ENOMEM;
	}
	*ret = w;
	return 0;
}

struct workloads *workloads_free(struct workloads *w)
{
	if (!w)
		return NULL;
	hashmap_free_with(w->by_uid, controller_free);
	sd_event_unref(w->event);
	free(w);
	return NULL;
}
