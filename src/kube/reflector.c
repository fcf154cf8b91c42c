/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "kube/client.h"
#include "kube/reflector.h"
#include "shared/log.h"
#include "shared/macro.h"

#define PAGE_SIZE 500
#define BACKOFF_BASE_USEC (1 * USEC_PER_SEC)
#define BACKOFF_MAX_USEC (30 * USEC_PER_SEC)

struct reflector {
	struct kube_client *client;
	sd_event *event;
	char *path;
	char *label_selector;
	char *field_selector;
	struct reflector_ops ops;
	void *userdata;

	struct kube_call *call;
	sd_event_source *retry_timer;
	cJSON *pages; /* items gathered while listing page by page */
	char *resource_version;
	bool relist; /* the watch said 410: our version is gone */
	bool failing; /* last attempt failed; logged once */
	unsigned timeout_s;
	unsigned page_size;
	unsigned n_pages;
	unsigned attempt;
};

static void list(struct reflector *r, const char *continue_token);
static void watch(struct reflector *r);

uint64_t backoff_next_usec(unsigned attempt, uint64_t base_usec, uint64_t max_usec)
{
	uint64_t d = base_usec;
	uint32_t rnd = 0;

	for (unsigned i = 0; i < attempt && d < max_usec; i++)
		d *= 2;
	d = MIN(d, max_usec);
	(void)!getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
	/* +-20%, so that agents that lost the server together do not return together. */
	return d * 8 / 10 + (uint64_t)(d * 4 / 10) * (rnd % 1000) / 1000;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct reflector *r = userdata;

	if (r->relist || !r->resource_version)
		list(r, NULL);
	else
		watch(r);
	return 0;
}

static void schedule(struct reflector *r, uint64_t delay)
{
	sd_event_source_set_time_relative(r->retry_timer, delay);
	sd_event_source_set_enabled(r->retry_timer, SD_EVENT_ONESHOT);
}

/* A failed attempt: log the first of a series, then retry later. */
static void failed(struct reflector *r, const char *what, const struct kube_response *resp)
{
	uint64_t delay = backoff_next_usec(r->attempt++, BACKOFF_BASE_USEC, BACKOFF_MAX_USEC);

	log_full(r->failing ? LOG_DEBUG : LOG_WARNING, "Cannot %s %s on %s: %s%s%s; retrying in %.1f s.", what,
		 r->path, kube_client_server(r->client),
		 resp->error ? resp->error : "HTTP error", resp->reason ? ": " : "", resp->reason ? resp->reason : "",
		 (double)delay / USEC_PER_SEC);
	r->failing = true;
	schedule(r, delay);
}

static void recovered(struct reflector *r)
{
	if (r->failing)
		log_info("Watching %s on %s again.", r->path, kube_client_server(r->client));
	r->failing = false;
	r->attempt = 0;
}

static int set_version(struct reflector *r, const cJSON *object)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(object, "metadata"),
							  "resourceVersion");
	char *copy;

	if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > 128)
		return -EBADMSG;
	copy = strdup(v->valuestring); /* opaque: never compared, only sent back */
	if (!copy)
		return -ENOMEM;
	free(r->resource_version);
	r->resource_version = copy;
	return 0;
}

static void on_list(const struct kube_response *resp, void *userdata)
{
	struct reflector *r = userdata;
	const cJSON *items, *item, *cont;

	r->call = NULL;
	if (resp->status == 410 && cJSON_GetArraySize(r->pages) > 0) {
		/* The continue token expired mid-list: start over. */
		cJSON_Delete(r->pages);
		r->pages = NULL;
		list(r, NULL);
		return;
	}
	if (resp->error || resp->status != 200) {
		cJSON_Delete(r->pages);
		r->pages = NULL;
		failed(r, "list", resp);
		return;
	}
	items = cJSON_GetObjectItemCaseSensitive(resp->json, "items");
	if (!cJSON_IsArray(items) && !cJSON_IsNull(items)) {
		struct kube_response bad = { .status = resp->status, .error = "malformed list reply (no items)" };

		cJSON_Delete(r->pages);
		r->pages = NULL;
		failed(r, "list", &bad);
		return;
	}
	if (!r->pages)
		r->pages = cJSON_CreateArray();
	r->n_pages++;
	cJSON_ArrayForEach(item, items)
	{
		cJSON *copy = cJSON_Duplicate(item, true);

		if (copy)
			cJSON_AddItemToArray(r->pages, copy);
	}
	cont = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(resp->json, "metadata"), "continue");
	if (cJSON_IsString(cont) && cont->valuestring[0]) {
		list(r, cont->valuestring);
		return;
	}
	if (set_version(r, resp->json) < 0) {
		struct kube_response bad = { .status = resp->status, .error = "list reply without resourceVersion" };

		cJSON_Delete(r->pages);
		r->pages = NULL;
		failed(r, "list", &bad);
		return;
	}
	r->relist = false;
	recovered(r);
	r->ops.replace(r->pages, r->userdata);
	cJSON_Delete(r->pages);
	r->pages = NULL;
	watch(r);
}

/* The selectors, the list's and the watch's: query[] gets up to 4 more. */
static size_t add_selectors(const struct reflector *r, const char **query, size_t n)
{
	if (r->label_selector) {
		query[n++] = "labelSelector";
		query[n++] = r->label_selector;
	}
	if (r->field_selector) {
		query[n++] = "fieldSelector";
		query[n++] = r->field_selector;
	}
	return n;
}

static void list(struct reflector *r, const char *continue_token)
{
	const char *query[10] = { "limit" };
	char limit[16];
	size_t n;
	_cleanup_(freep) char *path = NULL;
	struct kube_response oom = { .error = "out of memory" };

	if (!continue_token)
		kube_client_count_list(r->client);
	snprintf(limit, sizeof(limit), "%u", r->page_size);
	query[1] = limit;
	n = add_selectors(r, query, 2);
	if (continue_token) {
		query[n++] = "continue";
		query[n++] = continue_token;
	}
	query[n] = NULL;
	path = kube_path(r->path, query);
	if (!path || kube_request(r->client, "GET", path, NULL, on_list, r, &r->call) < 0)
		failed(r, "list", &oom);
}

static int on_watch_object(const cJSON *event, void *userdata)
{
	struct reflector *r = userdata;
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(event, "type");
	const cJSON *object = cJSON_GetObjectItemCaseSensitive(event, "object");

	if (!cJSON_IsString(type) || !cJSON_IsObject(object)) {
		log_warning("Ignoring a malformed watch event for %s (no type or object).", r->path);
		return 0;
	}
	recovered(r);
	if (strcmp(type->valuestring, "ERROR") == 0) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(object, "code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(object, "message");

		if (cJSON_IsNumber(code) && code->valueint == 410) {
			log_info("Watch of %s expired (%s), listing again.", r->path,
				 cJSON_IsString(msg) ? msg->valuestring : "410 Gone");
			r->relist = true;
		} else
			log_warning("Watch of %s failed: %s", r->path,
				    cJSON_IsString(msg) ? msg->valuestring : "error event without a message");
		return -ECANCELED; /* ends the stream; on_watch_done decides what next */
	}
	if (set_version(r, object) < 0) {
		log_warning("Ignoring a %s watch event for %s without resourceVersion.", type->valuestring, r->path);
		return 0;
	}
	if (strcmp(type->valuestring, "BOOKMARK") == 0) {
		log_debug("Bookmark for %s at resourceVersion %s.", r->path, r->resource_version);
		return 0;
	}
	if (strcmp(type->valuestring, "ADDED") == 0 || strcmp(type->valuestring, "MODIFIED") == 0 ||
	    strcmp(type->valuestring, "DELETED") == 0)
		r->ops.event(type->valuestring, object, r->userdata);
	else
		log_debug("Ignoring watch event of type %s for %s.", type->valuestring, r->path);
	return 0;
}

static void on_watch_open(void *userdata)
{
	recovered(userdata);
}

static void on_watch_done(const struct kube_response *resp, void *userdata)
{
	struct reflector *r = userdata;

	r->call = NULL;
	kube_client_count_watch_restart(r->client);
	if (resp->status == 410)
		r->relist = true;
	if (r->relist) {
		list(r, NULL);
		return;
	}
	if (resp->status == 200 && !resp->error) {
		/* The server's timeout ended it: carry on from where we are. */
		schedule(r, 0);
		return;
	}
	failed(r, "watch", resp);
}

static void watch(struct reflector *r)
{
	char timeout[16];
	uint32_t rnd = 0;
	const char *query[14];
	size_t n = 0;
	_cleanup_(freep) char *path = NULL;
	struct kube_response oom = { .error = "out of memory" };

	/* Spread over [t, 1.2 t), like client-go: servers end long watches anyway. */
	(void)!getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
	snprintf(timeout, sizeof(timeout), "%u", r->timeout_s + rnd % (r->timeout_s / 5 + 1));
	query[n++] = "watch";
	query[n++] = "1";
	query[n++] = "resourceVersion";
	query[n++] = r->resource_version;
	query[n++] = "allowWatchBookmarks";
	query[n++] = "true";
	query[n++] = "timeoutSeconds";
	query[n++] = timeout;
	n = add_selectors(r, query, n);
	query[n] = NULL;
	path = kube_path(r->path, query);
	if (!path || kube_stream(r->client, path, on_watch_open, on_watch_object, on_watch_done, r, &r->call) < 0)
		failed(r, "watch", &oom);
}

int reflector_new(struct kube_client *client, sd_event *event, const char *path, const char *label_selector,
		  unsigned timeout_s, const struct reflector_ops *ops, void *userdata, struct reflector **ret)
{
	struct reflector *r = calloc(1, sizeof(*r));
	int k;

	if (!r)
		return -ENOMEM;
	r->timeout_s = MAX(timeout_s, 1u);
	r->page_size = PAGE_SIZE;
	r->client = client;
	r->event = sd_event_ref(event);
	r->path = strdup(path);
	r->label_selector = label_selector ? strdup(label_selector) : NULL;
	r->ops = *ops;
	r->userdata = userdata;
	if (!r->path || (label_selector && !r->label_selector)) {
		reflector_free(r);
		return -ENOMEM;
	}
	k = sd_event_add_time_relative(event, &r->retry_timer, CLOCK_MONOTONIC, 0, 0, on_retry, r);
	if (k < 0) {
		reflector_free(r);
		return k;
	}
	*ret = r; /* on_retry starts listing from the loop */
	return 0;
}

struct reflector *reflector_free(struct reflector *r)
{
	if (!r)
		return NULL;
	kube_call_cancel(r->call);
	sd_event_source_disable_unref(r->retry_timer);
	sd_event_unref(r->event);
	cJSON_Delete(r->pages);
	free(r->resource_version);
	free(r->path);
	free(r->label_selector);
	free(r->field_selector);
	free(r);
	return NULL;
}

int reflector_set_field_selector(struct reflector *r, const char *selector)
{
	char *copy = strdup(selector);

	if (!copy)
		return -ENOMEM;
	free(r->field_selector);
	r->field_selector = copy;
	return 0;
}

void reflector_set_page_size(struct reflector *r, unsigned n)
{
	r->page_size = MAX(n, 1u);
}

unsigned reflector_pages(const struct reflector *r)
{
	return r->n_pages;
}

