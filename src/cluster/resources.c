/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"
#include "kube/events.h"
#include "kube/reflector.h"
#include "watch/policy.h"
#include "cluster/resources.h"
#include "shared/hashmap.h"
#include "shared/log.h"
#include "shared/message-id.h"
#include "shared/names.h"

#define API "/apis/hive.io/v1alpha1"
#define REASON_MAX 1024 /* the CRD's status.nodes.*.reason */

static const struct {
	enum policy_kind kind;
	const char *collection;
} kinds[] = {
	{ POLICY_KIND_CLUSTER, API "/hivepolicies" },
	{ POLICY_KIND_NAMESPACED, API "/hivenamespacedpolicies" },
};

/* What this node makes of one object's generation. */
struct outcome {
	long long generation;
	bool rejected;
	char *reason; /* NULL when applied */
};

struct object {
	enum policy_kind kind;
	char *namespace, *name, *uid;
	cJSON *json;          /* as last seen */
	struct outcome now;   /* of the last rebuild */
	bool judged;          /* by a rebuild since it came (now is its outcome) */
	struct outcome told;  /* last written into its status.nodes */
	bool told_valid;
	long long evented;    /* generation a Warning Event was sent for */
};

struct resources {
	sd_event *event;
	struct kube_client *client;
	char *node;
	struct reflector *reflectors[ARRAY_SIZE(kinds)];
	struct hashmap *objects; /* "KIND/NAMESPACE/NAME" -> struct object */
	struct policy_set *applied;
	struct resources_limits limits;
	size_t room; /* policies this node may apply from objects: what policy files leave */
	void (*changed)(void *userdata);
	void *userdata;
	/* Objects come in bursts (a kubectl apply of a list, a tenant's
	 * thousands): judged again once per burst, not once per object, whose
	 * every judgment is of all of them. */
	sd_event_source *rebuild_timer;

	/* status.nodes writes: one at a time, oldest need first. */
	sd_event_source *report_timer;
	struct kube_call *report_call;
	char *reporting; /* key of the object being written */
	/* What is being written: the object's outcome may change meanwhile
	 * (a rebuild), and then it is still to be told. */
	struct outcome writing;
	unsigned failures;

	struct kube_events *events; /* Warning Events on the policy objects */
};

static void outcome_done(struct outcome *o)
{
	free(o->reason);
	*o = (struct outcome){};
}

static bool outcome_equal(const struct outcome *a, const struct outcome *b)
{
	return a->generation == b->generation && a->rejected == b->rejected &&
	       ((!a->reason && !b->reason) || (a->reason && b->reason && strcmp(a->reason, b->reason) == 0));
}

static void object_free(struct object *o)
{
	if (!o)
		return;
	free(o->namespace);
	free(o->name);
	free(o->uid);
	cJSON_Delete(o->json);
	outcome_done(&o->now);
	outcome_done(&o->told);
	free(o);
}

static const char *meta_string(const cJSON *object, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(object, "metadata"), field);

	return cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) <= 253 ? v->valuestring : NULL;
}

static long long meta_generation(const cJSON *object)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(object, "metadata"),
							  "generation");

	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9e15 ? (long long)v->valuedouble : 0;
}

static char *object_key(enum policy_kind kind, const cJSON *object)
{
	const char *ns = meta_string(object, "namespace"), *name = meta_string(object, "name");
	char *key;

	if (!name)
		return NULL;
	return asprintf(&key, "%d/%s/%s", kind, ns ? ns : "", name) < 0 ? NULL : key;
}

static const char *object_path(const struct object *o, char *buf, size_t size)
{
	if (o->kind == POLICY_KIND_NAMESPACED)
		snprintf(buf, size, API "/namespaces/%s/hivenamespacedpolicies/%s", o->namespace, o->name);
	else
		snprintf(buf, size, API "/hivepolicies/%s", o->name);
	return buf;
}

static const char *object_label(const struct object *o, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s%s%s", policy_kind_to_string(o->kind), o->namespace ? o->namespace : "",
		 o->namespace ? "/" : "", o->name);
	return buf;
}

/* ---- Warning Events ---- */

/* A Warning Event on the policy object, as kubectl describe shows it. */
static void warn_event(struct resources *s, const struct object *o, const char *reason, const char *message)
{
	kube_events_warn(s->events,
			 &(struct kube_event_object){ .api_version = "hive.io/v1alpha1",
						      .kind = policy_kind_to_string(o->kind),
						      .namespace = o->namespace,
						      .name = o->name,
						      .uid = o->uid },
			 reason, message);
}

/* ---- status.nodes ---- */

static void schedule_report(struct resources *s, uint64_t delay)
{
	if (!s->report_call) {
		sd_event_source_set_time_relative(s->report_timer, delay);
		sd_event_source_set_enabled(s->report_timer, SD_EVENT_ONESHOT);
	}
}

/* An outcome as the status shows it; with the time it was written in the
 * policy's own status, without in the NodeWatch (rewritten only on change). */
static cJSON *status_entry(const struct outcome *o, bool with_time)
{
	cJSON *e = cJSON_CreateObject();
	char stamp[KUBE_TIME_SIZE];

	if (!e || !cJSON_AddNumberToObject(e, "generation", (double)o->generation) ||
	    !cJSON_AddStringToObject(e, "state", o->rejected ? "Rejected" : "Applied") ||
	    (with_time && !cJSON_AddStringToObject(e, "time", kube_time_now(stamp))) ||
	    (o->reason && !cJSON_AddStringToObject(e, "reason", o->reason))) {
		cJSON_Delete(e);
		return NULL;
	}
	return e;
}

/* Counts of the nodes' entries for the object's current generation. */
static void count_nodes(const cJSON *object, double *applied, double *rejected)
{
	const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(object, "status"),
							     "nodes");
	long long generation = meta_generation(object);
	const cJSON *n;

	*applied = *rejected = 0;
	cJSON_ArrayForEach(n, nodes)
	{
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(n, "generation");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(n, "state");

		if (!cJSON_IsNumber(g) || (long long)g->valuedouble != generation || !cJSON_IsString(st))
			continue;
		*applied += strcmp(st->valuestring, "Applied") == 0;
		*rejected += strcmp(st->valuestring, "Rejected") == 0;
	}
}

static double status_number(const cJSON *object, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(object, "status"), field);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void on_counts_written(const struct kube_response *resp, void *userdata)
{
	struct resources *s = userdata;

	/* 409: someone wrote after the version we counted; the last writer of
	 * an entry counts again, so the counts settle without retries. */
	s->report_call = NULL;
	schedule_report(s, 0);
}

/*
 * After our entry is in: bring appliedNodes/rejectedNodes in line with the
 * entries, on condition that nothing changed since (resourceVersion).
 */
static bool write_counts(struct resources *s, const struct object *o, const cJSON *written)
{
	const char *rv = meta_string(written, "resourceVersion");
	double applied, rejected;
	cJSON *patch, *meta, *status;
	char path[512];
	int r;

	count_nodes(written, &applied, &rejected);
	if (!rv || (status_number(written, "appliedNodes") == applied &&
		    status_number(written, "rejectedNodes") == rejected))
		return false;
	patch = cJSON_CreateObject();
	meta = cJSON_AddObjectToObject(patch, "metadata");
	status = cJSON_AddObjectToObject(patch, "status");
	if (!meta || !status || !cJSON_AddStringToObject(meta, "resourceVersion", rv) ||
	    !cJSON_AddNumberToObject(status, "appliedNodes", applied) ||
	    !cJSON_AddNumberToObject(status, "rejectedNodes", rejected)) {
		cJSON_Delete(patch);
		return false;
	}
	object_path(o, path, sizeof(path) - 8);
	strcat(path, "/status");
	r = kube_request(s->client, "PATCH", path, patch, on_counts_written, s, &s->report_call);
	cJSON_Delete(patch);
	return r >= 0;
}

static void on_reported(const struct kube_response *resp, void *userdata)
{
	struct resources *s = userdata;
	_cleanup_(freep) char *key = TAKE_PTR(s->reporting);
	struct object *o = key ? hashmap_get_str(s->objects, key) : NULL;
	char label[400];

	s->report_call = NULL;
	if (!o) { /* deleted meanwhile */
		outcome_done(&s->writing);
		schedule_report(s, 0);
		return;
	}
	object_label(o, label, sizeof(label));
	if ((resp->status == 200 || resp->status == 404 || resp->status == 409) && !resp->error) {
		/* Written; or gone, or replaced by an object of the same name
		 * (the uid precondition): its own watch event comes, and with
		 * it a new report. Either way, this outcome is settled. */
		outcome_done(&o->told);
		/* (Judged again while being written: told is not now, and
		 * the next report, which every path below leads to, writes it.) */
		o->told = s->writing;
		s->writing = (struct outcome){};
		o->told_valid = true;
		if (resp->status != 200) {
			schedule_report(s, 0);
			return;
		}
		if (s->failures)
			log_info("Reporting to %s works again.", label);
		s->failures = 0;
		if (!write_counts(s, o, resp->json))
			schedule_report(s, 0);
		return;
	}
	outcome_done(&s->writing);
	s->failures++;
	log_full(s->failures == 1 ? LOG_WARNING : LOG_DEBUG, "Cannot write this node's status into %s: %s%s%s; will retry.",
		 label, resp->error ? resp->error : "HTTP error", resp->reason ? ": " : "", resp->reason ? resp->reason : "");
	schedule_report(s, backoff_next_usec(s->failures - 1, USEC_PER_SEC, 60 * USEC_PER_SEC));
}

static int report_one(struct resources *s, const char *key, struct object *o)
{
	cJSON *patch = cJSON_CreateObject(), *meta, *status, *nodes, *entry = status_entry(&o->now, true);
	char path[512];
	int r = -ENOMEM;

	meta = cJSON_AddObjectToObject(patch, "metadata");
	status = cJSON_AddObjectToObject(patch, "status");
	nodes = status ? cJSON_AddObjectToObject(status, "nodes") : NULL;
	/* uid: only the object we judged, not a new one of the same name. */
	if (!entry || !meta || !nodes || !cJSON_AddStringToObject(meta, "uid", o->uid))
		goto finish;
	cJSON_AddItemToObject(nodes, s->node, entry);
	entry = NULL;
	s->reporting = strdup(key);
	outcome_done(&s->writing);
	s->writing = (struct outcome){ .generation = o->now.generation, .rejected = o->now.rejected };
	if (!s->reporting || (o->now.reason && !(s->writing.reason = strdup(o->now.reason))))
		goto finish;
	object_path(o, path, sizeof(path) - 8);
	strcat(path, "/status");
	r = kube_request(s->client, "PATCH", path, patch, on_reported, s, &s->report_call);
finish:
	cJSON_Delete(entry);
	cJSON_Delete(patch);
	return r;
}

static int on_report_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct resources *s = userdata;
	struct hashmap_iter it;
	const void *key;
	void *value;

	if (s->report_call)
		return 0;
	hashmap_iter_init(&it, s->objects);
	while (hashmap_iter_next(&it, &key, NULL, &value)) {
		struct object *o = value;

		if (!o->uid || !o->judged || (o->told_valid && outcome_equal(&o->told, &o->now)))
			continue;
		if (report_one(s, key, o) < 0) {
			free(s->reporting);
			s->reporting = NULL;
			schedule_report(s, USEC_PER_SEC);
		}
		return 0;
	}
	return 0;
}

/* ---- the objects ---- */

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The objects' keys in order (kind, namespace, name), borrowed from the map. */
static const char **sorted_keys(const struct resources *s, size_t *ret_n)
{
	const char **keys = calloc(hashmap_size(s->objects) + 1, sizeof(char *));
	struct hashmap_iter it;
	const void *key;
	size_t k = 0;

	if (!keys)
		return NULL;
	hashmap_iter_init(&it, s->objects);
	while (hashmap_iter_next(&it, &key, NULL, NULL))
		keys[k++] = key;
	qsort(keys, k, sizeof(*keys), key_cmp);
	*ret_n = k;
	return keys;
}

/* Judge every object again, in a stable order; report what changed. */
/* What one namespace's objects have used so far in a rebuild: they come
 * one after the other (sorted_keys()). */
struct namespace_use {
	const char *namespace;
	uint32_t policies, paths;
};

/*
 * Parse o into set, within the quotas: the node's room first (HivePolicies
 * come first, so tenants' objects are the ones left out), then o's
 * namespace's. Returns < 0 with the reason in d when refused.
 */
static int admit(struct resources *s, const struct object *o, struct policy_set *set, struct namespace_use *use,
		 struct diag *d)
{
	const struct resources_limits *l = &s->limits;
	size_t paths;
	int r;

	if (o->kind == POLICY_KIND_NAMESPACED && (!use->namespace || strcmp(use->namespace, o->namespace) != 0))
		*use = (struct namespace_use){ .namespace = o->namespace };
	if (set->n >= s->room) {
		diag_add(d, "this node applies at most %d policies in all, %zu of them from its policy files",
			 POLICY_MAX_POLICIES, (size_t)POLICY_MAX_POLICIES - s->room);
		return -EDQUOT;
	}
	if (o->kind == POLICY_KIND_NAMESPACED && use->policies >= l->namespace_max_policies) {
		diag_add(d, "namespace %s has more than %u HiveNamespacedPolicies for this node (namespace_max_policies)",
			 o->namespace, l->namespace_max_policies);
		return -EDQUOT;
	}
	r = policy_parse_resource(o->kind, o->json, set, d);
	if (r < 0 || o->kind != POLICY_KIND_NAMESPACED)
		return r;
	paths = set->policies[set->n - 1].n_paths;
	if (use->paths + paths > l->namespace_max_paths) {
		policy_done(&set->policies[--set->n]);
		diag_add(d, "namespace %s names more than %u paths in its HiveNamespacedPolicies for this node "
			 "(namespace_max_paths)",
			 o->namespace, l->namespace_max_paths);
		return -EDQUOT;
	}
	use->policies++;
	use->paths += paths;
	return 0;
}

/* What this node now makes of o: said when it changed. */
static void tell(struct resources *s, struct object *o, int r, struct diag *d)
{
	struct outcome was = o->now;
	char label[400];

	o->now = (struct outcome){ .generation = meta_generation(o->json), .rejected = r < 0 };
	o->judged = true;
	if (r < 0) {
		o->now.reason = d->n ? strndup(d->lines[0], REASON_MAX) : strdup("out of memory");
		if (!outcome_equal(&was, &o->now)) {
			for (size_t j = 0; j < d->n; j++)
				log_id(LOG_ERR, HIVE_MESSAGE_POLICY_REFUSED, "%s", d->lines[j]);
			log_error("%s is refused by this node; the others keep running.",
				  object_label(o, label, sizeof(label)));
		}
		/* One Event per generation, and none when the status already
		 * says so (an agent restarted). */
		if (o->evented != o->now.generation && o->uid && o->now.reason &&
		    !(o->told_valid && outcome_equal(&o->told, &o->now))) {
			char msg[REASON_MAX + 96];

			snprintf(msg, sizeof(msg), "node %s refuses generation %lld: %s", s->node, o->now.generation,
				 o->now.reason);
			warn_event(s, o, "PolicyRejected", msg);
			o->evented = o->now.generation;
		}
	} else if (!outcome_equal(&was, &o->now))
		log_info("%s generation %lld applied.", object_label(o, label, sizeof(label)), o->now.generation);
	outcome_done(&was);
}

/* Judge every object again, in a stable order; report what changed (and,
 * with notify, tell the owner). */
static void rebuild(struct resources *s, bool notify)
{
	struct policy_set *set = policy_set_new();
	struct namespace_use use = {};
	size_t k = 0;
	_cleanup_(freep) const char **keys = sorted_keys(s, &k);

	if (!set || !keys) {
		policy_set_free(set);
		log_error("Out of memory: resource policies not updated.");
		return;
	}
	for (size_t i = 0; i < k; i++) {
		struct object *o = hashmap_get_str(s->objects, keys[i]);
		struct diag d = {};

		tell(s, o, admit(s, o, set, &use, &d), &d);
		diag_clear(&d);
	}
	policy_set_free(s->applied);
	s->applied = set;
	schedule_report(s, 0);
	if (notify)
		s->changed(s->userdata);
}

void resources_set_room(struct resources *s, size_t room)
{
	room = MIN(room, (size_t)POLICY_MAX_POLICIES);
	if (room == s->room)
		return;
	s->room = room;
	rebuild(s, false);
}

static void told_from_status(struct resources *s, struct object *o)
{
	const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o->json, "status"),
							     "nodes");
	const cJSON *mine = cJSON_GetObjectItemCaseSensitive(nodes, s->node);
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(mine, "generation");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(mine, "state");
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(mine, "reason");

	if (!cJSON_IsNumber(g) || !cJSON_IsString(st) || (why && !cJSON_IsString(why)))
		return;
	outcome_done(&o->told);
	o->told = (struct outcome){
		.generation = (long long)g->valuedouble,
		.rejected = strcmp(st->valuestring, "Rejected") == 0,
		.reason = cJSON_IsString(why) ? strndup(why->valuestring, REASON_MAX) : NULL,
	};
	o->told_valid = !cJSON_IsString(why) || o->told.reason;
}

static int object_put(struct resources *s, enum policy_kind kind, const cJSON *json, bool *changed)
{
	_cleanup_(freep) char *key = object_key(kind, json);
	const char *uid = meta_string(json, "uid"), *ns = meta_string(json, "namespace");
	struct object *o, *old;
	int r;

	/* Names go into URLs and log lines: only what Kubernetes allows. */
	if (!key || !dns_subdomain_is_valid(meta_string(json, "name")) || (ns && !dns_label_is_valid(ns)) ||
	    (uid && strlen(uid) > 64))
		return -EBADMSG;
	old = hashmap_get_str(s->objects, key);
	/* Our own and other nodes' status writes come back as events; only a
	 * new object or a new generation (a spec change) matters. */
	if (old && uid && old->uid && strcmp(old->uid, uid) == 0 && meta_generation(old->json) == meta_generation(json)) {
		cJSON *copy = cJSON_Duplicate(json, true);

		if (!copy)
			return -ENOMEM;
		cJSON_Delete(old->json);
		old->json = copy;
		return 0;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->kind = kind;
	o->name = strdup(meta_string(json, "name"));
	o->namespace = ns ? strdup(ns) : NULL;
	o->uid = uid ? strdup(uid) : NULL;
	o->json = cJSON_Duplicate(json, true);
	if (!o->name || (ns && !o->namespace) || (uid && !o->uid) || !o->json) {
		object_free(o);
		return -ENOMEM;
	}
	/* What this node last said, as the object shows it (also what an
	 * earlier agent said, before a restart): no write while it stands. */
	told_from_status(s, o);
	if (old && old->uid && o->uid && strcmp(old->uid, o->uid) == 0)
		o->evented = old->evented;
	r = hashmap_put_str(s->objects, key, o, NULL);
	if (r < 0) {
		object_free(o);
		return r;
	}
	object_free(old);
	*changed = true;
	return 0;
}

static void object_remove(struct resources *s, enum policy_kind kind, const cJSON *json, bool *changed)
{
	_cleanup_(freep) char *key = object_key(kind, json);
	struct object *o = key ? hashmap_remove_str(s->objects, key) : NULL;

	if (o) {
		object_free(o);
		*changed = true;
	}
}

/* How long a burst of changed objects gathers before they are judged. */
#define REBUILD_DELAY_USEC (20 * USEC_PER_MSEC)

static int on_rebuild_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	rebuild(userdata, true);
	return 0;
}

/* rebuild(s, true) once the burst this change is of has come. */
static void schedule_rebuild(struct resources *s)
{
	int enabled = SD_EVENT_OFF;

	if (sd_event_source_get_enabled(s->rebuild_timer, &enabled) >= 0 && enabled != SD_EVENT_OFF)
		return;
	if (sd_event_source_set_time_relative(s->rebuild_timer, REBUILD_DELAY_USEC) < 0 ||
	    sd_event_source_set_enabled(s->rebuild_timer, SD_EVENT_ONESHOT) < 0)
		rebuild(s, true); /* no timer: at once */
}

static void on_object_changed(enum policy_kind kind, const char *type, const cJSON *object, void *userdata)
{
	struct resources *s = userdata;
	bool changed = false;
	int r = 0;

	if (strcmp(type, "DELETED") == 0)
		object_remove(s, kind, object, &changed);
	else
		r = object_put(s, kind, object, &changed);
	if (r == -EBADMSG)
		log_warning("A %s without a valid metadata.name/namespace from the API server: ignored.",
			    policy_kind_to_string(kind));
	else if (r < 0)
		log_error_errno(r, "Cannot keep a %s: %m", policy_kind_to_string(kind));
	if (changed)
		schedule_rebuild(s);
}

static void on_objects_listed(enum policy_kind kind, const cJSON *items, void *userdata)
{
	struct resources *s = userdata;
	struct hashmap_iter it;
	const void *key;
	void *value;
	bool changed = false;
	char prefix[8];
	const cJSON *item;

	/* Drop what the new list no longer has, then take in the list. */
	snprintf(prefix, sizeof(prefix), "%d/", kind);
	hashmap_iter_init(&it, s->objects);
	while (hashmap_iter_next(&it, &key, NULL, &value)) {
		bool listed = false;

		if (strncmp(key, prefix, strlen(prefix)) != 0)
			continue;
		cJSON_ArrayForEach(item, items)
		{
			_cleanup_(freep) char *k = object_key(kind, item);

			listed = listed || (k && strcmp(k, key) == 0);
		}
		if (!listed) {
			object_free(hashmap_remove(s->objects, key, strlen(key) + 1));
			changed = true;
		}
	}
	cJSON_ArrayForEach(item, items)
		if (object_put(s, kind, item, &changed) < 0)
			log_warning("A %s from the API server could not be kept.", policy_kind_to_string(kind));
	if (changed)
		schedule_rebuild(s);
}

static void on_hivepolicy_changed(const char *type, const cJSON *object, void *userdata)
{
	on_object_changed(POLICY_KIND_CLUSTER, type, object, userdata);
}
static void on_hivepolicies_listed(const cJSON *items, void *userdata)
{
	on_objects_listed(POLICY_KIND_CLUSTER, items, userdata);
}
static void on_namespaced_policy_changed(const char *type, const cJSON *object, void *userdata)
{
	on_object_changed(POLICY_KIND_NAMESPACED, type, object, userdata);
}
static void on_namespaced_policies_listed(const cJSON *items, void *userdata)
{
	on_objects_listed(POLICY_KIND_NAMESPACED, items, userdata);
}

int resources_new(sd_event *event, struct kube_client *client, const char *node, unsigned watch_timeout_s,
		  const struct resources_limits *limits, void (*changed)(void *userdata), void *userdata,
		  struct resources **ret)
{
	static const struct reflector_ops ops[] = {
		{ .replace = on_hivepolicies_listed, .event = on_hivepolicy_changed },
		{ .replace = on_namespaced_policies_listed, .event = on_namespaced_policy_changed },
	};
	struct resources *s = calloc(1, sizeof(*s));
	int r = -ENOMEM;

	if (!s)
		return -ENOMEM;
	s->event = event;
	s->client = client;
	s->changed = changed;
	s->userdata = userdata;
	s->limits = *limits;
	s->room = POLICY_MAX_POLICIES;
	s->node = strdup(node);
	s->objects = hashmap_new();
	s->applied = policy_set_new();
	if (!s->node || !s->objects || !s->applied)
		goto fail;
	r = sd_event_add_time_relative(event, &s->report_timer, CLOCK_MONOTONIC, USEC_PER_SEC, 0, on_report_timer, s);
	if (r >= 0)
		r = sd_event_add_time_relative(event, &s->rebuild_timer, CLOCK_MONOTONIC, REBUILD_DELAY_USEC, 0,
					       on_rebuild_timer, s);
	if (r >= 0)
		r = kube_events_new(event, client, node, &s->events);
	if (r < 0)
		goto fail;
	sd_event_source_set_enabled(s->report_timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(s->rebuild_timer, SD_EVENT_OFF);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		r = reflector_new(client, event, kinds[i].collection, NULL, watch_timeout_s, &ops[i], s,
				  &s->reflectors[i]);
		if (r < 0)
			goto fail;
	}
	*ret = s;
	return 0;
fail:
	resources_free(s);
	return r;
}

struct resources *resources_free(struct resources *s)
{
	struct hashmap_iter it;
	void *value;

	if (!s)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		reflector_free(s->reflectors[i]);
	if (s->report_call)
		kube_call_cancel(s->report_call);
	kube_events_free(s->events);
	sd_event_source_disable_unref(s->report_timer);
	sd_event_source_disable_unref(s->rebuild_timer);
	if (s->objects) {
		hashmap_iter_init(&it, s->objects);
		while (hashmap_iter_next(&it, NULL, NULL, &value))
			object_free(value);
		hashmap_free(s->objects);
	}
	policy_set_free(s->applied);
	free(s->reporting);
	outcome_done(&s->writing);
	free(s->node);
	free(s);
	return NULL;
}

const struct policy_set *resources_applied(const struct resources *s)
{
	return s->applied;
}

void resources_count(const struct resources *s, size_t *applied, size_t *rejected)
{
	struct hashmap_iter it;
	void *v;

	*applied = *rejected = 0;
	if (!s)
		return;
	hashmap_iter_init(&it, s->objects);
	while (hashmap_iter_next(&it, NULL, NULL, &v)) {
		const struct object *o = v;

		*(o->now.rejected ? rejected : applied) += 1;
	}
}

cJSON *resources_report(const struct resources *s)
{
	cJSON *list = cJSON_CreateArray();
	size_t n = 0;
	_cleanup_(freep) const char **keys = sorted_keys(s, &n);

	if (!list || !keys) {
		cJSON_Delete(list);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct object *o = hashmap_get_str(s->objects, keys[i]);
		cJSON *e = status_entry(&o->now, false);
		char name[160];

		snprintf(name, sizeof(name), "%s%s%s", o->namespace ? o->namespace : "", o->namespace ? "/" : "",
			 o->name);
		if (!e || !cJSON_AddStringToObject(e, "kind", policy_kind_to_string(o->kind)) ||
		    !cJSON_AddStringToObject(e, "name", name)) {
			cJSON_Delete(e);
			cJSON_Delete(list);
			return NULL;
		}
		cJSON_AddItemToArray(list, e);
	}
	return list;
}
