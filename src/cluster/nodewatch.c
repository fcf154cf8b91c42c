/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/colocation.h"
#include "hive.h"
#include "kube/client.h"
#include "kube/reflector.h"
#include "cluster/nodewatch.h"
#include "watch/policy.h"
#include "shared/abi.h"
#include "shared/escape.h"
#include "shared/hashmap.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/message-id.h"
#include "shared/names.h"
#include "watch/watch.h"

#define PUBLISH_INTERVAL_USEC USEC_PER_SEC
#define API "/apis/hive.io/v1alpha1"

struct remote_node {
	char **keys; /* watch set keys of this node's entries */
	size_t n_keys;
	cJSON *object; /* the NodeWatch as last seen, to judge it again when trust changes */
	enum colocation_answer where; /* of its node, as last judged */
};

struct nodewatch {
	struct kube_client *client;
	sd_event *event;
	struct watch_set *set;
	char *namespace, *node, *kernel_id;
	char *collection; /* .../namespaces/NS/nodewatches */
	char *object;     /* .../nodewatches/NODE */
	char *label_selector;

	/* Publishing. */
	sd_event_source *publish_timer;
	struct kube_call *write_call;
	char *resource_version; /* of our object; NULL: read it first */
	char written[8][128];   /* resourceVersions of our last writes, to know their echoes */
	unsigned n_written;
	uint64_t published_generation, writing_generation;
	cJSON *report; /* status.policies: what this node makes of the resource policies */
	uint64_t report_generation, published_report, writing_report;
	bool have_published; /* written at least once */
	bool verify;         /* a sign that someone else wrote it: write ours again */
	bool tampered;       /* our write met a conflict: someone else did */
	unsigned failures;
	bool warned_truncated;

	/* Mirroring. */
	struct reflector *reflector;
	struct hashmap *remote; /* node name -> struct remote_node */
	struct colocation *colocation;
};

/* ---- entries <-> JSON ---- */

static const char *opt_string(const cJSON *o, const char *name, size_t max, bool *bad)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v) || strlen(v->valuestring) > max || !v->valuestring[0]) {
		*bad = true;
		return NULL;
	}
	return v->valuestring;
}

/* A decimal number below 2^32, digits only. */
static int parse_u32(const char *s, uint32_t *ret)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/* An entry's access list (absent: every kind). */
static int parse_access(const cJSON *access, uint32_t *ret, const char **why)
{
	const cJSON *a;

	*ret = 0;
	if (access && !cJSON_IsArray(access))
		return *why = "access is not a list", -EBADMSG;
	cJSON_ArrayForEach(a, access)
	{
		uint32_t bit = cJSON_IsString(a) ? access_from_name(a->valuestring) : 0;

		if (!bit)
			return *why = "unknown access", -EBADMSG;
		*ret |= bit;
	}
	if (!*ret)
		*ret = HIVE_ACCESS_ALL;
	return 0;
}

/* A file as an entry names it: "inode", "dev" and "generation" of o (the
 * entry itself, or one of its "layers"). */
static int parse_file(const cJSON *o, struct hive_watch_key *ret, const char **why)
{
	const char *inode, *dev, *gen;
	unsigned long long ino;
	bool bad = false;
	char *end;

	inode = opt_string(o, "inode", 20, &bad);
	dev = opt_string(o, "dev", 12, &bad);
	gen = opt_string(o, "generation", 10, &bad);
	if (bad || !inode || !dev)
		return *why = "missing or malformed inode or dev", -EBADMSG;
	errno = 0;
	ino = strtoull(inode, &end, 10);
	if (errno || *end || inode[0] < '0' || inode[0] > '9')
		return *why = "inode is not a decimal number", -EBADMSG;
	*ret = (struct hive_watch_key){ .ino = ino };
	if (kernel_dev_from_string(dev, &ret->dev) < 0)
		return *why = "dev is not MAJOR:MINOR", -EBADMSG;
	/* An agent from before generations were kept publishes none: 0. */
	if (gen && parse_u32(gen, &ret->gen) < 0)
		return *why = "generation is not a decimal number below 2^32", -EBADMSG;
	return 0;
}

/* What parse_file() reads, into o. */
static bool add_file(cJSON *o, const struct hive_watch_key *file)
{
	char num[24], gen[12], dev[KERNEL_DEV_STRLEN];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)file->ino);
	snprintf(gen, sizeof(gen), "%u", file->gen);
	kernel_dev_to_string(file->dev, dev);
	return cJSON_AddStringToObject(o, "inode", num) && cJSON_AddStringToObject(o, "dev", dev) &&
	       cJSON_AddStringToObject(o, "generation", gen);
}

/* An entry's "layers" (NULL: none), checked by the caller to be an array
 * of at most HIVE_LAYERS_MAX. */
static int parse_layers(const cJSON *layers, struct watch_layers **ret, const char **why)
{
	struct hive_watch_key keys[HIVE_LAYERS_MAX];
	uint32_t n = 0;
	const cJSON *l;

	cJSON_ArrayForEach(l, layers)
	{
		if (!cJSON_IsObject(l) || parse_file(l, &keys[n], why) < 0)
			return *why = "layers: an item is not an object with inode, dev and generation", -EBADMSG;
		n++;
	}
	return watch_layers_new(ret, keys, n);
}

int nodewatch_entry_parse(const cJSON *json, const char *node, struct watch_entry **ret, const char **why)
{
	const char *key, *path, *policy, *kind, *ns, *pod, *pod_uid, *container, *container_id, *presence_for;
	const cJSON *layers;
	struct hive_watch_key file;
	uint32_t mask;
	struct watch_entry *e;
	_cleanup_(freep) char *full_key = NULL;
	bool bad = false;
	int r;

	if (!cJSON_IsObject(json))
		return *why = "entry is not an object", -EBADMSG;
	key = opt_string(json, "key", 1024, &bad);
	path = opt_string(json, "path", 4096, &bad);
	policy = opt_string(json, "policy", 127, &bad);
	kind = opt_string(json, "policyKind", 32, &bad);
	ns = opt_string(json, "namespace", 63, &bad);
	pod = opt_string(json, "pod", 253, &bad);
	pod_uid = opt_string(json, "podUID", 64, &bad);
	container = opt_string(json, "container", 63, &bad);
	container_id = opt_string(json, "containerID", 192, &bad);
	presence_for = opt_string(json, "presenceFor", 253, &bad);
	if (bad || !key || !path || !policy)
		return *why = "missing or malformed key, path or policy", -EBADMSG;
	if (parse_file(json, &file, why) < 0)
		return -EBADMSG;
	/* What a policy may name, checked again: this comes from another node. */
	if (!policy_path_is_valid(path))
		return *why = "path is not an absolute path without \".\", \"..\" or empty components", -EBADMSG;
	if (!policy_name_is_valid(policy))
		return *why = "policy is not a valid policy name", -EBADMSG;
	if (presence_for && !dns_subdomain_is_valid(presence_for))
		return *why = "presenceFor is not a node name", -EBADMSG;
	if (kind && !(kind = policy_kind_canonical(kind)))
		return *why = "policyKind is not file, HivePolicy or HiveNamespacedPolicy", -EBADMSG;
	if (parse_access(cJSON_GetObjectItemCaseSensitive(json, "access"), &mask, why) < 0)
		return -EBADMSG;
	layers = cJSON_GetObjectItemCaseSensitive(json, "layers");
	if (layers && (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) > HIVE_LAYERS_MAX))
		return *why = "layers is not an array of at most 16 files", -EBADMSG;
	full_key = watch_key("node", node, key, NULL);
	if (!full_key)
		return -ENOMEM;
	e = watch_entry_new(full_key, &file, mask, policy, path, node);
	if (!e || watch_entry_set_place(e, &(struct watch_place){ .namespace = ns, .pod = pod, .pod_uid = pod_uid,
								     .container = container,
								     .container_id = container_id }) < 0) {
		watch_entry_free(e);
		return -ENOMEM;
	}
	r = parse_layers(layers, &e->layers, why);
	if (r < 0) {
		watch_entry_free(e);
		return r;
	}
	e->shared = true;
	e->policy_kind = kind;
	/* The directory's whole tree; anything but true is a single file. */
	e->tree = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json, "tree"));
	e->shallow = e->tree && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json, "shallow"));
	if (presence_for && !(e->presence_for = strdup(presence_for))) {
		watch_entry_free(e);
		return -ENOMEM;
	}
	*ret = e;
	return 0;
}

struct build {
	cJSON *entries;
	size_t n, skipped;
	size_t probes; /* of n: presence probes, not files watched */
	bool tenants;  /* this pass: the entries of HiveNamespacedPolicies, which come last */
	int error;
};

static int add_local_entry(const struct watch_entry *e, void *userdata)
{
	struct build *b = userdata;
	cJSON *o, *access, *layers = NULL;

	/* Shared: another node's. Without a file: only a name is watched, which
	 * a co-located loader cannot use (and the CRD wants an inode). A
	 * filter's executable: no access of it is watched. An enforced file:
	 * this agent refuses and records its accesses itself. */
	if (e->shared || !e->has_file || e->executable || e->action || watch_entry_is_tenants(e) != b->tenants)
		return 0;
	if (b->n >= NODEWATCH_MAX_ENTRIES) {
		b->skipped++;
		return 0;
	}
	o = cJSON_CreateObject();
	/* Every kind is said by leaving the list out: readers take that for
	 * every kind they know, and the entry stays small. */
	access = o && e->access != HIVE_ACCESS_ALL ? cJSON_AddArrayToObject(o, "access") : NULL;
	if (!o || (e->access != HIVE_ACCESS_ALL && !access))
		goto oom;
	for (size_t i = 0; access && i < ACCESS_N; i++)
		if ((e->access & access_bit(i)) &&
		    !cJSON_AddItemToArray(access, cJSON_CreateString(access_name(access_bit(i)))))
			goto oom;
	if (!cJSON_AddStringToObject(o, "key", e->key) || !cJSON_AddStringToObject(o, "path", e->path) ||
	    !cJSON_AddStringToObject(o, "policy", e->policy) || !add_file(o, &e->file) ||
	    (e->policy_kind && !cJSON_AddStringToObject(o, "policyKind", e->policy_kind)))
		goto oom;
	if ((e->namespace && !cJSON_AddStringToObject(o, "namespace", e->namespace)) ||
	    (e->pod && !cJSON_AddStringToObject(o, "pod", e->pod)) ||
	    (e->pod_uid && !cJSON_AddStringToObject(o, "podUID", e->pod_uid)) ||
	    (e->container && !cJSON_AddStringToObject(o, "container", e->container)) ||
	    (e->container_id && !cJSON_AddStringToObject(o, "containerID", e->container_id)) ||
	    (e->presence_for && !cJSON_AddStringToObject(o, "presenceFor", e->presence_for)) ||
	    (e->tree && !cJSON_AddTrueToObject(o, "tree")) || (e->shallow && !cJSON_AddTrueToObject(o, "shallow")))
		goto oom;
	if (e->layers && !(layers = cJSON_AddArrayToObject(o, "layers")))
		goto oom;
	for (uint32_t i = 0; e->layers && i < e->layers->n; i++) {
		cJSON *layer = cJSON_CreateObject();

		if (!layer || !add_file(layer, &e->layers->at[i].key) || !cJSON_AddItemToArray(layers, layer)) {
			cJSON_Delete(layer);
			goto oom;
		}
	}
	cJSON_AddItemToArray(b->entries, o);
	b->n++;
	b->probes += e->presence_for != NULL;
	return 0;
oom:
	cJSON_Delete(o);
	return b->error = -ENOMEM;
}

static cJSON *build_object(struct nodewatch *s)
{
	struct build b = { .entries = cJSON_CreateArray() };
	cJSON *obj = cJSON_CreateObject(), *meta, *labels, *spec;
	char stamp[KUBE_TIME_SIZE];

	if (!obj || !b.entries)
		goto oom;
	/* The admin's entries first: past the cap, a tenant's are left out. */
	watch_set_foreach(s->set, add_local_entry, &b);
	b.tenants = true;
	watch_set_foreach(s->set, add_local_entry, &b);
	if (b.error < 0)
		goto oom;
	if (b.skipped && !s->warned_truncated) {
		log_warning("This node watches more than %d entries; %zu are not shared through the API server.",
			    NODEWATCH_MAX_ENTRIES, b.skipped);
		s->warned_truncated = true;
	}
	kube_time_now(stamp);
	cJSON_AddStringToObject(obj, "apiVersion", "hive.io/v1alpha1");
	cJSON_AddStringToObject(obj, "kind", "NodeWatch");
	meta = cJSON_AddObjectToObject(obj, "metadata");
	labels = meta ? cJSON_AddObjectToObject(meta, "labels") : NULL;
	spec = cJSON_AddObjectToObject(obj, "spec");
	if (!labels || !spec || !cJSON_AddStringToObject(meta, "name", s->node) ||
	    !cJSON_AddStringToObject(meta, "namespace", s->namespace) ||
	    !cJSON_AddStringToObject(labels, "hive.io/kernel-id", s->kernel_id) ||
	    !cJSON_AddStringToObject(labels, "hive.io/node", s->node) ||
	    !cJSON_AddStringToObject(spec, "nodeName", s->node) || !cJSON_AddStringToObject(spec, "kernelId", s->kernel_id) ||
	    !cJSON_AddNumberToObject(spec, "entryCount", (double)(b.n - b.probes)) || !cJSON_AddStringToObject(spec, "updated", stamp))
		goto oom;
	if (s->resource_version && !cJSON_AddStringToObject(meta, "resourceVersion", s->resource_version))
		goto oom;
	cJSON_AddItemToObject(spec, "entries", b.entries);
	if (s->report) {
		cJSON *status = cJSON_AddObjectToObject(obj, "status"), *copy = cJSON_Duplicate(s->report, true);

		if (!status || !copy || !cJSON_AddItemToObject(status, "policies", copy)) {
			cJSON_Delete(copy);
			cJSON_Delete(obj);
			return NULL;
		}
	}
	return obj;
oom:
	cJSON_Delete(b.entries);
	cJSON_Delete(obj);
	return NULL;
}

/* ---- publishing ---- */

static void publish(struct nodewatch *s);

static int set_resource_version(struct nodewatch *s, const cJSON *object)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(object, "metadata"),
							  "resourceVersion");

	free(s->resource_version);
	s->resource_version = cJSON_IsString(v) && strlen(v->valuestring) < 128 ? strdup(v->valuestring) : NULL;
	return s->resource_version ? 0 : -EBADMSG;
}

static void write_failed(struct nodewatch *s, const char *what, const struct kube_response *resp)
{
	s->failures++;
	log_full(s->failures == 1 ? LOG_WARNING : LOG_DEBUG, "Cannot %s NodeWatch %s/%s: %s%s%s; will retry.", what,
		 s->namespace, s->node, resp->error ? resp->error : "HTTP error", resp->reason ? ": " : "",
		 resp->reason ? resp->reason : "");
}

static void on_written(const struct kube_response *resp, void *userdata)
{
	struct nodewatch *s = userdata;

	s->write_call = NULL;
	if ((resp->status == 200 || resp->status == 201) && !resp->error && set_resource_version(s, resp->json) == 0) {
		snprintf(s->written[s->n_written++ % ARRAY_SIZE(s->written)], sizeof(s->written[0]), "%s",
			 s->resource_version);
		if (s->failures)
			log_info("NodeWatch %s/%s written again.", s->namespace, s->node);
		s->failures = 0;
		s->published_generation = s->writing_generation;
		s->published_report = s->writing_report;
		s->have_published = true;
		return;
	}
	if (resp->status == 409 || resp->status == 404) {
		/* Our version is stale (or the object went away): read it again.
		 * We are its only writer, so someone else wrote it. */
		log_info("NodeWatch %s/%s: %s on write, reading it again.", s->namespace, s->node,
			 resp->status == 409 ? "conflict (409)" : "gone (404)");
		s->tampered = s->have_published;
		free(s->resource_version);
		s->resource_version = NULL;
		publish(s);
		return;
	}
	write_failed(s, "write", resp);
}

static void write_object(struct nodewatch *s)
{
	cJSON *obj = build_object(s);
	struct kube_response oom = { .error = "out of memory" };

	s->verify = false;
	s->writing_generation = watch_set_local_generation(s->set);
	s->writing_report = s->report_generation;
	if (!obj || kube_request(s->client, s->resource_version ? "PUT" : "POST",
				 s->resource_version ? s->object : s->collection, obj, on_written, s, &s->write_call) < 0)
		write_failed(s, "write", &oom);
	cJSON_Delete(obj);
}

static void last_manager(const cJSON *object, char *out, size_t size);

static void on_read_own(const struct kube_response *resp, void *userdata)
{
	struct nodewatch *s = userdata;
	char who[320];

	s->write_call = NULL;
	if (resp->status == 404 && !resp->error) {
		if (s->tampered)
			log_id(LOG_WARNING, HIVE_MESSAGE_NODEWATCH_TAMPERED,
			       "NodeWatch %s/%s was deleted by someone else: restoring it.", s->namespace, s->node);
		s->tampered = false;
		write_object(s); /* POST */
		return;
	}
	if (resp->status == 200 && !resp->error && set_resource_version(s, resp->json) == 0) {
		if (s->tampered) {
			last_manager(resp->json, who, sizeof(who));
			log_id(LOG_WARNING, HIVE_MESSAGE_NODEWATCH_TAMPERED,
			       "NodeWatch %s/%s was changed by someone else (%s): restoring it.", s->namespace, s->node,
			       who);
		}
		s->tampered = false;
		write_object(s); /* PUT over it: we are its only writer */
		return;
	}
	write_failed(s, "read", resp);
}

static void publish(struct nodewatch *s)
{
	struct kube_response oom = { .error = "out of memory" };

	if (s->write_call)
		return;
	if (!s->resource_version) {
		if (kube_request(s->client, "GET", s->object, NULL, on_read_own, s, &s->write_call) < 0)
			write_failed(s, "read", &oom);
		return;
	}
	write_object(s);
}

static int on_publish_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct nodewatch *s = userdata;
	uint64_t delay = PUBLISH_INTERVAL_USEC;

	/* Whatever changed within the last interval goes out in one write. */
	if (!s->have_published || s->verify || watch_set_local_generation(s->set) != s->published_generation ||
	    s->report_generation != s->published_report)
		publish(s);
	if (s->failures)
		delay = backoff_next_usec(s->failures - 1, PUBLISH_INTERVAL_USEC, 30 * USEC_PER_SEC);
	return sd_event_source_set_time_relative(source, delay);
}

/* The newest entry of metadata.managedFields: who last wrote the object. */
static void last_manager(const cJSON *object, char *out, size_t size)
{
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(object, "metadata"),
							       "managedFields");
	const cJSON *f, *newest = NULL, *newest_time = NULL;
	char manager[ESCAPED_SIZE(32)], op[ESCAPED_SIZE(8)], when[ESCAPED_SIZE(16)];

	cJSON_ArrayForEach(f, fields)
	{
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "time");

		/* RFC 3339 in UTC compares as text. */
		if (cJSON_IsString(t) && (!newest || strcmp(t->valuestring, newest_time->valuestring) >= 0)) {
			newest = f;
			newest_time = t;
		}
	}
	if (!newest) {
		snprintf(out, size, "no managedFields");
		return;
	}
#define FIELD(name, buf)                                                                                       \
	do {                                                                                                   \
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(newest, name);                               \
		const char *t = cJSON_IsString(v) ? v->valuestring : "?";                                      \
		escape_untrusted(t, strnlen(t, (sizeof(buf) - 1) / 4), buf, sizeof(buf));                      \
	} while (0)
	FIELD("manager", manager);
	FIELD("operation", op);
	FIELD("time", when);
#undef FIELD
	snprintf(out, size, "last written by field manager \"%s\", %s at %s", manager, op, when);
}

/*
 * Our own NodeWatch as a watch event or a list shows it. We are its only
 * writer, so a version we did not write (or its absence) is a sign that
 * someone else changed it: a peer's stolen credentials where no admission
 * policy stops them. Not proof (a list may predate our last write), so the
 * next tick writes ours again with the resourceVersion we know: if nobody
 * else wrote, that succeeds; if someone did, it conflicts (409) or finds the
 * object gone (404), and on_read_own() says who and restores it.
 */
static void own_object_seen(struct nodewatch *s, const cJSON *object, bool absent)
{
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(object, "metadata"),
							   "resourceVersion");

	/* Even before our first write is known to be done: its answer may be
	 * processed after this event, when the loop was busy (loading BPF). */
	for (size_t i = 0; !absent && cJSON_IsString(rv) && i < ARRAY_SIZE(s->written); i++)
		if (strcmp(rv->valuestring, s->written[i]) == 0)
			return;
	s->verify = true;
}

/* ---- mirroring ---- */

static void remote_node_clear(struct nodewatch *s, struct remote_node *rn)
{
	for (size_t i = 0; i < rn->n_keys; i++) {
		watch_set_remove(s->set, rn->keys[i]);
		free(rn->keys[i]);
	}
	free(rn->keys);
	rn->keys = NULL;
	rn->n_keys = 0;
}

static void remote_node_drop(struct nodewatch *s, const char *node)
{
	struct remote_node *rn = hashmap_remove_str(s->remote, node);

	if (!rn)
		return;
	remote_node_clear(s, rn);
	cJSON_Delete(rn->object);
	free(rn);
}

/* The entries of a NodeWatch, checked, into the watch set; rn->keys become
 * the keys it now has there. */
static void remote_node_mirror(struct nodewatch *s, struct remote_node *rn, const char *node, const cJSON *entries)
{
	char **old = rn->keys, **keys = NULL;
	size_t n_old = rn->n_keys, n = 0, bad = 0, index = 0;
	const char *why = NULL;
	const cJSON *item;

	if (cJSON_IsArray(entries) && !(keys = calloc(cJSON_GetArraySize(entries) + 1, sizeof(char *)))) {
		log_error("Out of memory while mirroring NodeWatch %s.", node);
		return;
	}
	cJSON_ArrayForEach(item, entries)
	{
		struct watch_entry *e = NULL;

		if (index++ >= NODEWATCH_MAX_ENTRIES)
			break;
		if (nodewatch_entry_parse(item, node, &e, &why) < 0) {
			bad++;
			continue;
		}
		/* A presence probe is answered by the agent it asks alone: the
		 * lease holder it doubts (cluster/presence.h), never watched by
		 * the others. */
		if (e->presence_for && strcmp(e->presence_for, s->node) != 0) {
			watch_entry_free(e);
			continue;
		}
		if (e->presence_for)
			e->access |= HIVE_WATCH_PRESENCE;
		keys[n] = strdup(e->key);
		if (!keys[n]) {
			watch_entry_free(e);
			continue;
		}
		n++;
		/* An identical entry is a no-op: a resync does not churn the map. */
		if (watch_set_put(s->set, e) < 0)
			log_warning("Kernel map refused an entry of node %s.", node);
	}
	if (bad)
		log_warning("NodeWatch %s: ignored %zu malformed entries (first problem: %s).", node, bad, why);

	/* Entries the node no longer lists. */
	for (size_t i = 0; i < n_old; i++) {
		bool kept = false;

		for (size_t j = 0; j < n && !kept; j++)
			kept = strcmp(old[i], keys[j]) == 0;
		if (!kept)
			watch_set_remove(s->set, old[i]);
		free(old[i]);
	}
	free(old);
	rn->keys = keys;
	rn->n_keys = n;
}

/* Whether the NodeWatch of node may feed this kernel's loader: only when the
 * node's own kubelet says it runs here (or when nobody can tell: see
 * colocation.h). Logged when that changes; judged again once a lookup ends. */
static bool remote_node_trusted(struct nodewatch *s, struct remote_node *rn, const char *node)
{
	enum colocation_answer where = s->colocation ? colocation_of(s->colocation, node) : COLOCATION_HERE;
	bool trusted = where == COLOCATION_HERE || where == COLOCATION_UNVERIFIABLE;

	if (where == COLOCATION_ELSEWHERE && rn->where != COLOCATION_ELSEWHERE)
		log_id(LOG_WARNING, HIVE_MESSAGE_NODEWATCH_IGNORED,
		       "Ignoring NodeWatch %s/%s: it is labelled for this kernel, but node %s is not known to run "
		       "on it (no Node of that name reports boot id %s); its entries are not watched.",
		       s->namespace, node, node, s->kernel_id);
	else if (trusted && rn->where == COLOCATION_ELSEWHERE)
		log_info("NodeWatch %s/%s: node %s runs on this kernel now, watching its entries.", s->namespace,
			 node, node);
	rn->where = where;
	return trusted;
}

/* The NodeWatch of another node on this kernel, checked, into the watch set. */
static void remote_node_apply(struct nodewatch *s, const cJSON *object)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(object, "metadata");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(object, "spec");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(spec, "nodeName");
	const cJSON *kernel = cJSON_GetObjectItemCaseSensitive(spec, "kernelId");
	struct remote_node *rn;
	cJSON *copy;

	if (!cJSON_IsString(name) || !cJSON_IsString(node) || strcmp(name->valuestring, node->valuestring) != 0 ||
	    !dns_subdomain_is_valid(node->valuestring)) {
		log_warning("Ignoring a NodeWatch whose name and spec.nodeName differ or are not node names.");
		return;
	}
	if (strcmp(node->valuestring, s->node) == 0) {
		own_object_seen(s, object, false);
		return;
	}
	if (!cJSON_IsString(kernel) || strcmp(kernel->valuestring, s->kernel_id) != 0) {
		log_id(LOG_WARNING, HIVE_MESSAGE_NODEWATCH_IGNORED,
		       "Ignoring NodeWatch %s: labelled for this kernel but spec.kernelId says otherwise.",
		       node->valuestring);
		remote_node_drop(s, node->valuestring);
		return;
	}
	rn = hashmap_get_str(s->remote, node->valuestring);
	if (!rn) {
		rn = calloc(1, sizeof(*rn));
		if (!rn || hashmap_put_str(s->remote, node->valuestring, rn, NULL) < 0) {
			free(rn);
			log_error("Out of memory while mirroring NodeWatch %s.", node->valuestring);
			return;
		}
	}
	if (rn->object != object) {
		copy = cJSON_Duplicate(object, true);
		if (!copy) {
			log_error("Out of memory while mirroring NodeWatch %s.", node->valuestring);
			return;
		}
		cJSON_Delete(rn->object);
		rn->object = copy;
	}
	if (!remote_node_trusted(s, rn, node->valuestring)) {
		remote_node_clear(s, rn);
		return;
	}
	remote_node_mirror(s, rn, node->valuestring, cJSON_GetObjectItemCaseSensitive(spec, "entries"));
}

void nodewatch_recheck(struct nodewatch *s, const char *node)
{
	struct remote_node *rn = hashmap_get_str(s->remote, node);

	if (rn && rn->object)
		remote_node_apply(s, rn->object);
}

static const char *object_node(const cJSON *object)
{
	return json_string(cJSON_GetObjectItemCaseSensitive(object, "metadata"), "name");
}

static void on_nodewatches_listed(const cJSON *items, void *userdata)
{
	struct nodewatch *s = userdata;
	struct hashmap_iter it;
	const void *key;
	const cJSON *item;
	bool own = false;

	cJSON_ArrayForEach(item, items) {
		own = own || (object_node(item) && strcmp(object_node(item), s->node) == 0);
		remote_node_apply(s, item);
	}
	if (!own)
		own_object_seen(s, NULL, true);
	/* Nodes whose objects are gone. */
	hashmap_iter_init(&it, s->remote);
	while (hashmap_iter_next(&it, &key, NULL, NULL)) {
		bool present = false;

		cJSON_ArrayForEach(item, items)
			present = present || (object_node(item) && strcmp(object_node(item), key) == 0);
		if (!present)
			remote_node_drop(s, key);
	}
}

static void on_nodewatch_changed(const char *type, const cJSON *object, void *userdata)
{
	struct nodewatch *s = userdata;
	const char *node = object_node(object);

	if (strcmp(type, "DELETED") == 0) {
		if (node && strcmp(node, s->node) == 0)
			own_object_seen(s, object, true);
		else if (node)
			remote_node_drop(s, node);
		return;
	}
	remote_node_apply(s, object);
}

int nodewatch_new(struct kube_client *client, sd_event *event, struct watch_set *set,
		   struct colocation *colocation, const char *namespace, const char *node, const char *kernel_id,
		   unsigned watch_timeout_s, struct nodewatch **ret)
{
	static const struct reflector_ops ops = { .replace = on_nodewatches_listed, .event = on_nodewatch_changed };
	struct nodewatch *s = calloc(1, sizeof(*s));
	int r = -ENOMEM;

	if (!s)
		return -ENOMEM;
	s->client = client;
	s->event = sd_event_ref(event);
	s->set = set;
	s->colocation = colocation;
	s->namespace = strdup(namespace);
	s->node = strdup(node);
	s->kernel_id = strdup(kernel_id);
	s->remote = hashmap_new();
	if (!s->namespace || !s->node || !s->kernel_id || !s->remote ||
	    asprintf(&s->collection, API "/namespaces/%s/nodewatches", namespace) < 0 ||
	    asprintf(&s->object, "%s/%s", s->collection, node) < 0 ||
	    asprintf(&s->label_selector, "hive.io/kernel-id=%s", kernel_id) < 0)
		goto fail;
	r = sd_event_add_time_relative(event, &s->publish_timer, CLOCK_MONOTONIC, 0, 0, on_publish_timer, s);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->publish_timer, SD_EVENT_ON);
	if (r >= 0)
		r = reflector_new(client, event, s->collection, s->label_selector, watch_timeout_s, &ops, s,
				  &s->reflector);
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	nodewatch_free(s);
	return r;
}

struct nodewatch *nodewatch_free(struct nodewatch *s)
{
	struct hashmap_iter it;
	const void *key;

	if (!s)
		return NULL;
	reflector_free(s->reflector);
	kube_call_cancel(s->write_call);
	sd_event_source_disable_unref(s->publish_timer);
	if (s->remote) {
		hashmap_iter_init(&it, s->remote);
		while (hashmap_iter_next(&it, &key, NULL, NULL))
			remote_node_drop(s, key);
	}
	hashmap_free(s->remote);
	sd_event_unref(s->event);
	free(s->namespace);
	free(s->node);
	free(s->kernel_id);
	free(s->collection);
	free(s->object);
	free(s->label_selector);
	free(s->resource_version);
	cJSON_Delete(s->report);
	free(s);
	return NULL;
}

void nodewatch_set_report(struct nodewatch *s, cJSON *policies)
{
	if (s->report && policies && cJSON_Compare(s->report, policies, true)) {
		cJSON_Delete(policies);
		return;
	}
	cJSON_Delete(s->report);
	s->report = policies;
	s->report_generation++;
}

