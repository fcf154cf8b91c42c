/* SPDX-License-Identifier: MIT */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"
#include "kube/events.h"
#include "shared/log.h"
#include "shared/macro.h"

#define EVENT_BURST 10
#define EVENT_REFILL_USEC (6 * USEC_PER_SEC) /* one more Event allowed per 6 s */
#define EVENT_QUEUE 16

struct kube_events {
	sd_event *event;
	struct kube_client *client;
	char *node;
	cJSON *queue[EVENT_QUEUE];
	size_t n_queued;
	struct kube_call *call;
	sd_event_source *timer;
	double tokens;
	uint64_t refilled_usec;
	unsigned long long suppressed;
};

static void send_next(struct kube_events *e);

static void on_sent(const struct kube_response *resp, void *userdata)
{
	struct kube_events *e = userdata;

	e->call = NULL;
	if (resp->status != 201)
		log_debug("Cannot create an Event: %s%s%s", resp->error ? resp->error : "HTTP error",
			  resp->reason ? ": " : "", resp->reason ? resp->reason : "");
	send_next(e);
}

static void send_next(struct kube_events *e)
{
	const cJSON *meta;
	char path[128];
	cJSON *body;

	if (e->call || e->n_queued == 0)
		return;
	body = e->queue[0];
	memmove(e->queue, e->queue + 1, --e->n_queued * sizeof(cJSON *));
	meta = cJSON_GetObjectItemCaseSensitive(body, "metadata");
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events",
		 cJSON_GetObjectItemCaseSensitive(meta, "namespace")->valuestring);
	if (kube_request(e->client, "POST", path, body, on_sent, e, &e->call) < 0)
		log_warning("Cannot send an Event.");
	cJSON_Delete(body);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	send_next(userdata);
	return 0;
}

static bool allowed(struct kube_events *e)
{
	uint64_t now = 0;

	sd_event_now(e->event, CLOCK_MONOTONIC, &now);
	e->tokens = MIN((double)EVENT_BURST, e->tokens + (double)(now - e->refilled_usec) / EVENT_REFILL_USEC);
	e->refilled_usec = now;
	if (e->tokens < 1 || e->n_queued >= EVENT_QUEUE)
		return false;
	e->tokens -= 1;
	return true;
}

static cJSON *event_object(const struct kube_events *e, const struct kube_event_object *o, const char *reason,
			   const char *message)
{
	cJSON *ev = cJSON_CreateObject(), *meta, *inv, *src;
	char stamp[KUBE_TIME_SIZE], prefix[80];

	kube_time_now(stamp);
	snprintf(prefix, sizeof(prefix), "%.60s.", o->name);
	meta = cJSON_AddObjectToObject(ev, "metadata");
	inv = cJSON_AddObjectToObject(ev, "involvedObject");
	src = cJSON_AddObjectToObject(ev, "source");
	if (!meta || !inv || !src || !cJSON_AddStringToObject(meta, "generateName", prefix) ||
	    !cJSON_AddStringToObject(meta, "namespace", o->namespace ? o->namespace : "default") ||
	    !cJSON_AddStringToObject(inv, "apiVersion", o->api_version) ||
	    !cJSON_AddStringToObject(inv, "kind", o->kind) || !cJSON_AddStringToObject(inv, "name", o->name) ||
	    (o->uid && !cJSON_AddStringToObject(inv, "uid", o->uid)) ||
	    (o->namespace && !cJSON_AddStringToObject(inv, "namespace", o->namespace)) ||
	    !cJSON_AddStringToObject(ev, "type", "Warning") || !cJSON_AddStringToObject(ev, "reason", reason) ||
	    !cJSON_AddStringToObject(ev, "message", message) || !cJSON_AddStringToObject(src, "component", "hived") ||
	    !cJSON_AddStringToObject(src, "host", e->node) ||
	    !cJSON_AddStringToObject(ev, "reportingComponent", "hive.io/hived") ||
	    !cJSON_AddStringToObject(ev, "reportingInstance", e->node) ||
	    !cJSON_AddStringToObject(ev, "firstTimestamp", stamp) ||
	    !cJSON_AddStringToObject(ev, "lastTimestamp", stamp) || !cJSON_AddNumberToObject(ev, "count", 1)) {
		cJSON_Delete(ev);
		return NULL;
	}
	return ev;
}

void kube_events_warn(struct kube_events *e, const struct kube_event_object *about, const char *reason,
		      const char *message)
{
	cJSON *ev;

	if (!e)
		return;
	if (!allowed(e)) {
		if (e->suppressed++ == 0)
			log_notice("Too many problems to report each as an Event; the journal has them all.");
		return;
	}
	ev = event_object(e, about, reason, message);
	if (!ev)
		return;
	e->queue[e->n_queued++] = ev;
	sd_event_source_set_time_relative(e->timer, 0);
	sd_event_source_set_enabled(e->timer, SD_EVENT_ONESHOT);
}

int kube_events_new(sd_event *event, struct kube_client *client, const char *node, struct kube_events **ret)
{
	struct kube_events *e = calloc(1, sizeof(*e));
	int r;

	if (!e)
		return -ENOMEM;
	e->event = event;
	e->client = client;
	e->tokens = EVENT_BURST;
	sd_event_now(event, CLOCK_MONOTONIC, &e->refilled_usec);
	e->node = strdup(node);
	r = e->node ? sd_event_add_time_relative(event, &e->timer, CLOCK_MONOTONIC, 0, 0, on_timer, e) : -ENOMEM;
	if (r >= 0)
		r = sd_event_source_set_enabled(e->timer, SD_EVENT_OFF);
	if (r < 0) {
		kube_events_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

struct kube_events *kube_events_free(struct kube_events *e)
{
	if (!e)
		return NULL;
	if (e->call)
		kube_call_cancel(e->call);
	for (size_t i = 0; i < e->n_queued; i++)
		cJSON_Delete(e->queue[i]);
	sd_event_source_disable_unref(e->timer);
	free(e->node);
	free(e);
	return NULL;
}
