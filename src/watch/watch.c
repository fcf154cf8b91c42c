/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/loader.h"
#include "shared/hashmap.h"
#include "shared/macro.h"
#include "watch/watch.h"

struct inode_slot {
	struct watch_inode pub;
	uint32_t synced_access; /* what the map holds; 0: not in the map */
	bool unsynced;          /* counted in n_unsynced */
};

struct watch_set {
	struct hashmap *entries; /* key -> struct watch_entry */
	struct hashmap *inodes;  /* struct hive_watch_key -> struct inode_slot */
	struct hashmap *ids;     /* uint32_t id -> struct inode_slot */
	uint32_t next_id;
	uint64_t local_generation;
	const struct watch_map_ops *map_ops; /* NULL: no map */
	void *map;
	size_t n_unsynced; /* slots whose map entry is not what it should be */
};

static char *strdup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

struct watch_entry *watch_entry_new(const char *key, const struct hive_watch_key *file, uint32_t access,
				    const char *policy, const char *path, const char *node)
{
	struct watch_entry *e = calloc(1, sizeof(*e));
	bool oom = false;

	if (!e)
		return NULL;
	e->file = *file;
	e->file.pad = 0;
	e->access = access;
	e->key = strdup_or_null(key, &oom);
	e->policy = strdup_or_null(policy, &oom);
	e->path = strdup_or_null(path, &oom);
	e->node = strdup_or_null(node, &oom);
	if (oom || !e->key)
		return watch_entry_free(e);
	return e;
}

int watch_entry_set_place(struct watch_entry *e, const struct watch_place *place)
{
	bool oom = false;

	e->namespace = strdup_or_null(place->namespace, &oom);
	e->pod = strdup_or_null(place->pod, &oom);
	e->pod_uid = strdup_or_null(place->pod_uid, &oom);
	e->container = strdup_or_null(place->container, &oom);
	e->container_id = strdup_or_null(place->container_id, &oom);
	return oom ? -ENOMEM : 0;
}

char *watch_key(const char *source, ...)
{
	size_t len = strlen(source) + 1;
	const char *part;
	char *key, *p;
	va_list ap;

	va_start(ap, source);
	while ((part = va_arg(ap, const char *)))
		len += 1 + strlen(part);
	va_end(ap);
	key = malloc(len);
	if (!key)
		return NULL;
	p = stpcpy(key, source);
	va_start(ap, source);
	while ((part = va_arg(ap, const char *)))
		p = stpcpy(stpcpy(p, "/"), part);
	va_end(ap);
	return key;
}

struct watch_entry *watch_entry_free(struct watch_entry *e)
{
	if (!e)
		return NULL;
	free(e->key);
	free(e->policy);
	free(e->path);
	free(e->node);
	free(e->namespace);
	free(e->pod);
	free(e->pod_uid);
	free(e->container);
	free(e->container_id);
	free(e);
	return NULL;
}

bool watch_entry_equal(const struct watch_entry *a, const struct watch_entry *b)
{
	return a->file.ino == b->file.ino && a->file.dev == b->file.dev && a->access == b->access &&
	       a->shared == b->shared &&
	       streq_ptr(a->key, b->key) && streq_ptr(a->policy, b->policy) && streq_ptr(a->path, b->path) &&
	       streq_ptr(a->policy_kind, b->policy_kind) &&
	       streq_ptr(a->node, b->node) && streq_ptr(a->namespace, b->namespace) &&
	       streq_ptr(a->pod, b->pod) && streq_ptr(a->pod_uid, b->pod_uid) &&
	       streq_ptr(a->container, b->container) && streq_ptr(a->container_id, b->container_id);
}

int watch_set_new(struct watch_set **ret)
{
	struct watch_set *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->entries = hashmap_new();
	s->inodes = hashmap_new();
	s->ids = hashmap_new();
	s->next_id = 1;
	if (!s->entries || !s->inodes || !s->ids) {
		watch_set_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

struct watch_set *watch_set_free(struct watch_set *s)
{
	struct hashmap_iter it;
	void *v;

	if (!s)
		return NULL;
	if (s->entries) {
		hashmap_iter_init(&it, s->entries);
		while (hashmap_iter_next(&it, NULL, NULL, &v))
			watch_entry_free(v);
	}
	if (s->inodes) {
		hashmap_iter_init(&it, s->inodes);
		while (hashmap_iter_next(&it, NULL, NULL, &v)) {
			free(((struct inode_slot *)v)->pub.entries);
			free(v);
		}
	}
	hashmap_free(s->entries);
	hashmap_free(s->inodes);
	hashmap_free(s->ids);
	free(s);
	return NULL;
}

/* Kept as a count, so that the status timer need not walk 100,000 slots. */
static void count_unsynced(struct watch_set *s, struct inode_slot *slot)
{
	bool unsynced = slot->synced_access != slot->pub.access;

	if (unsynced != slot->unsynced) {
		s->n_unsynced += unsynced ? 1 : -1;
		slot->unsynced = unsynced;
	}
}

/* Bring the map's copy of one inode in line with the set. */
static int sync_slot(struct watch_set *s, struct inode_slot *slot)
{
	struct hive_watch_value value = { .watch_id = slot->pub.id, .access = slot->pub.access };
	int r = 0;

	if (s->map_ops && slot->synced_access != slot->pub.access) {
		if (slot->pub.access == 0)
			r = s->map_ops->delete(s->map, &slot->pub.file);
		else
			r = s->map_ops->put(s->map, &slot->pub.file, &value);
		if (r >= 0)
			slot->synced_access = slot->pub.access;
	}
	count_unsynced(s, slot);
	return r < 0 ? r : 0;
}

static void recompute_access(struct inode_slot *slot)
{
	slot->pub.access = 0;
	for (size_t i = 0; i < slot->pub.n_entries; i++)
		slot->pub.access |= slot->pub.entries[i]->access;
}

static int slot_remove_entry(struct watch_set *s, struct watch_entry *e)
{
	struct inode_slot *slot = hashmap_get(s->inodes, &e->file, sizeof(e->file));
	int r;

	if (!slot)
		return 0;
	for (size_t i = 0; i < slot->pub.n_entries; i++)
		if (slot->pub.entries[i] == e) {
			slot->pub.entries[i] = slot->pub.entries[--slot->pub.n_entries];
			break;
		}
	recompute_access(slot);
	r = sync_slot(s, slot);
	if (slot->pub.n_entries == 0) {
		/* Even if the map delete failed: an orphaned map key only
		 * produces events user space ignores, and sync retries nothing
		 * for it. Dropping the slot keeps user space consistent. */
		hashmap_remove(s->inodes, &slot->pub.file, sizeof(slot->pub.file));
		hashmap_remove(s->ids, &slot->pub.id, sizeof(slot->pub.id));
		s->n_unsynced -= slot->unsynced;
		free(slot->pub.entries);
		free(slot);
	}
	return r;
}

static int slot_add_entry(struct watch_set *s, struct watch_entry *e)
{
	struct inode_slot *slot = hashmap_get(s->inodes, &e->file, sizeof(e->file));
	struct watch_entry **grown;
	int r;

	if (!slot) {
		slot = calloc(1, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		slot->pub.file = e->file;
		/* Ids are never reused while the agent lives, so a late event
		 * for a removed inode cannot be taken for a new one. */
		slot->pub.id = s->next_id++;
		if (hashmap_put(s->inodes, &slot->pub.file, sizeof(slot->pub.file), slot, NULL) < 0) {
			free(slot);
			return -ENOMEM;
		}
		if (hashmap_put(s->ids, &slot->pub.id, sizeof(slot->pub.id), slot, NULL) < 0) {
			hashmap_remove(s->inodes, &slot->pub.file, sizeof(slot->pub.file));
			free(slot);
			return -ENOMEM;
		}
	}
	grown = realloc(slot->pub.entries, (slot->pub.n_entries + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	slot->pub.entries = grown;
	slot->pub.entries[slot->pub.n_entries++] = e;
	recompute_access(slot);
	r = sync_slot(s, slot);
	return r;
}

int watch_set_put(struct watch_set *s, struct watch_entry *e)
{
	struct watch_entry *old = hashmap_get_str(s->entries, e->key);
	int r, k;

	if (old && watch_entry_equal(old, e)) {
		watch_entry_free(e);
		return 0;
	}
	if (!e->shared || (old && !old->shared))
		s->local_generation++;
	/* Add the new entry before removing the old one: when only the
	 * metadata changed, the inode never leaves the map. */
	r = hashmap_put_str(s->entries, e->key, e, NULL);
	if (r < 0) {
		watch_entry_free(e);
		return r;
	}
	r = slot_add_entry(s, e);
	if (r == -ENOMEM) {
		hashmap_put_str(s->entries, e->key, old, NULL);
		if (!old)
			hashmap_remove_str(s->entries, e->key);
		watch_entry_free(e);
		return r;
	}
	if (old) {
		k = slot_remove_entry(s, old);
		watch_entry_free(old);
		if (r >= 0)
			r = k;
	}
	return r;
}

int watch_set_remove(struct watch_set *s, const char *key)
{
	struct watch_entry *e = hashmap_remove_str(s->entries, key);
	int r;

	if (!e)
		return 0;
	if (!e->shared)
		s->local_generation++;
	r = slot_remove_entry(s, e);
	watch_entry_free(e);
	return r;
}

const struct watch_entry *watch_set_get(const struct watch_set *s, const char *key)
{
	return hashmap_get_str(s->entries, key);
}

const struct watch_inode *watch_set_find(const struct watch_set *s, uint32_t id, const struct hive_watch_key *file)
{
	struct inode_slot *slot = hashmap_get(s->ids, &id, sizeof(id));
	struct hive_watch_key key = { .ino = file->ino, .dev = file->dev };

	if (slot && slot->pub.file.ino == file->ino && slot->pub.file.dev == file->dev)
		return &slot->pub;
	/* An event from before a restart carries the previous agent's id:
	 * the inode decides. */
	slot = hashmap_get(s->inodes, &key, sizeof(key));
	return slot ? &slot->pub : NULL;
}

static int prune_one(const struct hive_watch_key *key, void *userdata)
{
	struct watch_set *s = userdata;
	struct hive_watch_key k = *key;

	k.pad = 0;
	if (hashmap_get(s->inodes, &k, sizeof(k)))
		return 0;
	return s->map_ops->delete(s->map, key) < 0 ? 0 : 1;
}

int watch_set_prune(struct watch_set *s)
{
	if (!s->map_ops)
		return 0;
	return s->map_ops->foreach(s->map, prune_one, s);
}

int watch_set_sync(struct watch_set *s)
{
	struct hashmap_iter it;
	void *v;
	int r = 0;

	hashmap_iter_init(&it, s->inodes);
	while (hashmap_iter_next(&it, NULL, NULL, &v)) {
		int k = sync_slot(s, v);

		if (k < 0 && r >= 0)
			r = k;
		/* The map is full: so it stays for the rest of this walk. */
		if (k == -E2BIG)
			break;
	}
	return r;
}

int watch_set_set_map(struct watch_set *s, const struct watch_map_ops *ops, void *map)
{
	struct hashmap_iter it;
	void *v;

	s->map_ops = map ? ops : NULL;
	s->map = map;
	hashmap_iter_init(&it, s->inodes);
	while (hashmap_iter_next(&it, NULL, NULL, &v)) {
		((struct inode_slot *)v)->synced_access = 0;
		count_unsynced(s, v);
	}
	return watch_set_sync(s);
}

size_t watch_set_n_entries(const struct watch_set *s)
{
	return hashmap_size(s->entries);
}

uint64_t watch_set_local_generation(const struct watch_set *s)
{
	return s->local_generation;
}

size_t watch_set_n_inodes(const struct watch_set *s)
{
	return hashmap_size(s->inodes);
}

size_t watch_set_n_unsynced(const struct watch_set *s)
{
	return s->map_ops ? s->n_unsynced : 0;
}

int watch_set_foreach(const struct watch_set *s, int (*fn)(const struct watch_entry *e, void *userdata),
		      void *userdata)
{
	struct hashmap_iter it;
	void *v;
	int r;

	hashmap_iter_init(&it, s->entries);
	while (hashmap_iter_next(&it, NULL, NULL, &v)) {
		r = fn(v, userdata);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The loader's map, for the set. */

static int loader_put(void *map, const struct hive_watch_key *key, const struct hive_watch_value *value)
{
	return loader_watch_put(map, key, value);
}

static int loader_delete(void *map, const struct hive_watch_key *key)
{
	return loader_watch_delete(map, key);
}

static int loader_foreach(void *map, int (*fn)(const struct hive_watch_key *key, void *userdata), void *userdata)
{
	return loader_watch_foreach(map, fn, userdata);
}

int watch_set_set_loader(struct watch_set *s, struct loader *loader)
{
	static const struct watch_map_ops ops = { .put = loader_put, .delete = loader_delete, .foreach = loader_foreach };

	return watch_set_set_map(s, &ops, loader);
}
