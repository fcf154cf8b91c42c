/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/colocation.h"
#include "kube/client.h"
#include "kube/reflector.h"
#include "shared/hashmap.h"
#include "shared/log.h"
#include "shared/names.h"

#define REFRESH_USEC (60 * USEC_PER_SEC)
#define RETRY_MAX_USEC (30 * USEC_PER_SEC)
/* NodeWatches name the nodes asked about, and anyone who may write one could
 * make up names: keep the most recently asked. */
#define MAX_NODES 4096
/* Lookups in flight at once: each is a connection of its own (HTTP/1.1),
 * and thousands of names at once (made up ones too) must not crowd out the
 * lease's renewals. */
#define MAX_LOOKUPS 4

struct node_fact {
	struct colocation *owner;
	char *name;
	enum colocation_answer answer;
	uint64_t fetched_usec, used_usec, retry_usec;
	unsigned failures;
	bool wanted; /* to be looked up, from the loop, once retry_usec has come */
	struct kube_call *call;
};

struct colocation {
	struct kube_client *client;
	sd_event *event;
	sd_event_source *timer; /* starts the lookups that are wanted */
	char *kernel_id;
	struct hashmap *nodes; /* name -> struct node_fact */
	unsigned lookups;      /* in flight */
	bool warned_unverifiable;
	void (*on_change)(void *userdata, const char *node);
	void *userdata;
};

const char *colocation_node_boot_id(const cJSON *node)
{
	const cJSON *info = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(node, "status"),
							     "nodeInfo");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(info, "bootID");

	return cJSON_IsString(id) && strlen(id->valuestring) <= 64 ? id->valuestring : NULL;
}

static uint64_t now_usec(const struct colocation *c)
{
	uint64_t now = 0;

	sd_event_now(c->event, CLOCK_MONOTONIC, &now);
	return now;
}

/* Lookups start from the loop, never from the caller: colocation_of() is
 * called from inside the client's own callbacks, where libcurl refuses new
 * transfers. */
static void want(struct node_fact *f, uint64_t delay)
{
	struct colocation *c = f->owner;
	uint64_t at = now_usec(c) + delay, next = 0;

	f->wanted = true;
	f->retry_usec = at;
	if (sd_event_source_get_enabled(c->timer, NULL) > 0 && sd_event_source_get_time(c->timer, &next) >= 0 &&
	    next <= at)
		return;
	sd_event_source_set_time(c->timer, at);
	sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

static void fact_free(struct node_fact *f)
{
	if (f->call)
		f->owner->lookups--;
	kube_call_cancel(f->call);
	free(f->name);
	free(f);
}

static void settle(struct node_fact *f, enum colocation_answer answer)
{
	struct colocation *c = f->owner;

	f->fetched_usec = now_usec(c);
	if (answer == f->answer)
		return;
	if (answer == COLOCATION_HERE || f->answer == COLOCATION_HERE)
		log_info("Node %s %s this kernel (its Node's status.nodeInfo.bootID).", f->name,
			 answer == COLOCATION_HERE ? "runs on" : "does not run on");
	f->answer = answer;
	c->on_change(c->userdata, f->name);
}

static void on_node_read(const struct kube_response *resp, void *userdata)
{
	struct node_fact *f = userdata;
	struct colocation *c = f->owner;
	const char *boot_id;

	f->call = NULL;
	/* Room for the next waiting lookup, started from the loop. */
	c->lookups--;
	sd_event_source_set_time(c->timer, 0);
	sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
	if (resp->status == 404 && !resp->error) {
		f->failures = 0;
		settle(f, COLOCATION_ELSEWHERE);
		return;
	}
	if (resp->status == 200 && !resp->error) {
		f->failures = 0;
		boot_id = colocation_node_boot_id(resp->json);
		settle(f, boot_id && strcmp(boot_id, c->kernel_id) == 0 ? COLOCATION_HERE : COLOCATION_ELSEWHERE);
		return;
	}
	/* Try again later, keeping what we knew. */
	want(f, backoff_next_usec(f->failures++, USEC_PER_SEC, RETRY_MAX_USEC));
	if (kube_response_transient(resp))
		return;
	if (!c->warned_unverifiable)
		log_warning("Cannot read Node %s (%s%s): which nodes share this kernel cannot be verified, so lease "
			    "holders and NodeWatches labelled for it are trusted as they are. Agents need get on nodes "
			    "(deploy/20-rbac.yaml).",
			    f->name, resp->reason ? resp->reason : "HTTP error",
			    resp->status == 403 ? ", forbidden" : "");
	c->warned_unverifiable = true;
	if (f->answer == COLOCATION_UNKNOWN)
		settle(f, COLOCATION_UNVERIFIABLE);
}

static void fetch(struct node_fact *f)
{
	_cleanup_(freep) char *path = NULL;
	struct colocation *c = f->owner;

	f->wanted = false;
	if (asprintf(&path, "/api/v1/nodes/%s", f->name) < 0 ||
	    kube_request(c->client, "GET", path, NULL, on_node_read, f, &f->call) < 0)
		want(f, USEC_PER_SEC);
	else
		c->lookups++;
}

static int on_lookup_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct colocation *c = userdata;
	uint64_t now = now_usec(c), next = UINT64_MAX;
	struct hashmap_iter it;
	void *v;

	hashmap_iter_init(&it, c->nodes);
	while (hashmap_iter_next(&it, NULL, NULL, &v)) {
		struct node_fact *f = v;

		if (!f->wanted || f->call)
			continue;
		if (f->retry_usec > now)
			next = MIN(next, f->retry_usec);
		else if (c->lookups < MAX_LOOKUPS)
			fetch(f);
		/* else: started when a lookup in flight ends */
	}
	if (next != UINT64_MAX) {
		sd_event_source_set_time(s, next);
		sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	}
	return 0;
}

/* Room for one more: forget the node asked about least recently. */
static void make_room(struct colocation *c)
{
	struct node_fact *oldest = NULL;
	struct hashmap_iter it;
	void *v;

	if (hashmap_size(c->nodes) < MAX_NODES)
		return;
	hashmap_iter_init(&it, c->nodes);
	while (hashmap_iter_next(&it, NULL, NULL, &v))
		if (!oldest || ((struct node_fact *)v)->used_usec < oldest->used_usec)
			oldest = v;
	hashmap_remove_str(c->nodes, oldest->name);
	fact_free(oldest);
}

enum colocation_answer colocation_of(struct colocation *c, const char *node)
{
	struct node_fact *f = hashmap_get_str(c->nodes, node);

	if (!dns_subdomain_is_valid(node))
		return COLOCATION_ELSEWHERE; /* no Node can have that name */
	if (!f) {
		make_room(c);
		f = calloc(1, sizeof(*f));
		if (!f || !(f->name = strdup(node)) || hashmap_put_str(c->nodes, node, f, NULL) < 0) {
			if (f)
				free(f->name);
			free(f);
			return COLOCATION_UNKNOWN;
		}
		f->owner = c;
	}
	f->used_usec = now_usec(c);
	if (!f->call && !f->wanted &&
	    (f->answer == COLOCATION_UNKNOWN || f->used_usec - f->fetched_usec > REFRESH_USEC))
		want(f, 0);
	return f->answer;
}

int colocation_new(struct kube_client *client, sd_event *event, const char *kernel_id,
		   void (*on_change)(void *userdata, const char *node), void *userdata, struct colocation **ret)
{
	struct colocation *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->client = client;
	c->event = sd_event_ref(event);
	c->on_change = on_change;
	c->userdata = userdata;
	c->kernel_id = strdup(kernel_id);
	c->nodes = hashmap_new();
	if (!c->kernel_id || !c->nodes) {
		colocation_free(c);
		return -ENOMEM;
	}
	r = sd_event_add_time(event, &c->timer, CLOCK_MONOTONIC, 0, 0, on_lookup_timer, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
	if (r < 0) {
		colocation_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

struct colocation *colocation_free(struct colocation *c)
{
	struct hashmap_iter it;
	void *v;

	if (!c)
		return NULL;
	if (c->nodes) {
		hashmap_iter_init(&it, c->nodes);
		while (hashmap_iter_next(&it, NULL, NULL, &v))
			fact_free(v);
	}
	hashmap_free(c->nodes);
	sd_event_source_disable_unref(c->timer);
	sd_event_unref(c->event);
	free(c->kernel_id);
	free(c);
	return NULL;
}
