/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "kernel/loader.h"
#include "shared/hashmap.h"
#include "shared/macro.h"
#include "watch/name-filter.h"
#include "watch/policy.h"
#include "watch/retired.h"
#include "watch/watch.h"

struct name_slot;

/* The entries of one inode, and the watched names in it when it is a
 * directory; one entry of the watch map. */
struct inode_slot {
	struct watch_inode pub;     /* the entries whose file this is */
	struct name_slot **names;   /* the watched names in it */
	size_t n_names;
	uint32_t name_access;       /* their union */
	/* How many of the names want each access bit (allocated with the
	 * first name): a directory may hold 100,000 watched names, whose union
	 * is not recomputed at each one's change. */
	uint32_t *name_counts;
	uint32_t synced_access;     /* what the map holds; both 0: not in it */
	uint32_t synced_name_access;
	uint32_t synced_tree_access, synced_entries_access;
	bool tree_counted; /* in n_trees and the name filter */
	bool unsynced;              /* counted in n_unsynced */
};

/* The entries of one name; one entry of the names map. */
struct name_slot {
	struct watch_inode pub; /* pub.file: the directory */
	struct hive_name_key key;
	struct inode_slot *dir;
	size_t at;              /* in dir->names */
	uint32_t counted;       /* its access, as counted in dir->name_counts */
	uint32_t synced_access; /* 0: not in the map */
	bool unsynced;
};

struct watch_set {
	struct hashmap *entries;  /* key -> struct watch_entry */
	struct hashmap *inodes;   /* struct hive_watch_key -> struct inode_slot */
	struct hashmap *names;    /* struct hive_name_key, its used bytes -> struct name_slot */
	struct hashmap *ids;      /* uint32_t id -> struct inode_slot */
	struct hashmap *numbers;  /* struct inode_number -> struct inode_slot: its file, whatever its generation */
	struct hashmap *name_ids; /* uint32_t id -> struct name_slot */
	uint32_t next_id;
	uint64_t local_generation;
	const struct watch_map_ops *map_ops; /* NULL: no map */
	void *map;
	size_t n_unsynced; /* slots whose map entry is not what it should be */
	uint64_t n_data_dir_names;      /* names in any "..<timestamp>" directory */
	uint64_t n_trees;               /* inodes with tree entries */
	uint64_t synced_trees;          /* what the map says; UINT64_MAX: unknown */
	uint64_t synced_data_dir_names; /* what the map says; UINT64_MAX: unknown */
	struct name_filter *name_filter;
	struct retired *retired; /* removed entries, for late events */
	struct hashmap *tenants; /* namespace -> struct tenant: files its HiveNamespacedPolicies watch here */
	uint32_t tenant_max_files;
	struct change_events *change_events;
	const struct watch_file_follower *enforcer;
};

/* A file by number and device alone: what stat() tells of a directory,
 * which knows no generation. */
struct inode_number {
	uint64_t ino;
	uint32_t dev;
	uint32_t zero; /* no padding: keys are hashed as bytes */
};

struct tenant {
	uint32_t n;
	char namespace[];
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
	if (file) {
		e->file = *file;
		e->has_file = true;
	}
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

int watch_entry_set_name(struct watch_entry *e, const struct hive_name_key *name)
{
	size_t len = name ? strnlen(name->name, sizeof(name->name)) : 0;

	free(e->name);
	e->name = NULL;
	if (!name)
		return 0;
	e->name = malloc(sizeof(*e->name) + len + 1);
	if (!e->name)
		return -ENOMEM;
	e->name->dir = name->dir;
	memcpy(e->name->name, name->name, len);
	e->name->name[len] = '\0';
	return 0;
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

char *watch_executable_key(const char *scope, const char *path)
{
	return watch_key(scope, WATCH_EXECUTABLE_KEY_MARK, path, NULL);
}

struct watch_entry *watch_entry_free(struct watch_entry *e)
{
	if (!e)
		return NULL;
	process_filter_unref(e->filter);
	free(e->filter_scope);
	free(e->key);
	free(e->name);
	free(e->layers);
	free(e->policy);
	free(e->path);
	free(e->node);
	free(e->namespace);
	free(e->pod);
	free(e->pod_uid);
	free(e->container);
	free(e->container_id);
	free(e->presence_for);
	free(e);
	return NULL;
}

/* The bytes of a name key that say something: the directory and the name
 * up to its NUL. The map keeps a copy of each key and a name is mostly
 * padding; hashing and holding all of it cost a path 250 bytes. */
static size_t name_key_len(const struct hive_name_key *key)
{
	return offsetof(struct hive_name_key, name) + strnlen(key->name, sizeof(key->name));
}

_Static_assert(offsetof(struct watch_name, name) == offsetof(struct hive_name_key, name),
	       "a watch_name's bytes are a name key's");

/* The bytes of n that key the set's names (name_key_len()'s). */
static size_t watch_name_len(const struct watch_name *n)
{
	return offsetof(struct watch_name, name) + strlen(n->name);
}

static bool name_equal(const struct watch_name *a, const struct watch_name *b)
{
	return (!a && !b) || (a && b && watch_key_equal(&a->dir, &b->dir) && strcmp(a->name, b->name) == 0);
}

/* The item key an entry's key belongs to: its length. */
static size_t item_key_len(const char *key)
{
	return strcspn(key, WATCH_AWAY_KEY_MARK);
}

bool watch_inode_entry_repeats(const struct watch_inode *inode, size_t i)
{
	const char *key = inode->entries[i]->key;
	size_t len = item_key_len(key);

	if (!key[len])
		return false; /* an item's own entry */
	for (size_t j = 0; j < inode->n_entries; j++) {
		const char *other = inode->entries[j]->key;

		if (j != i && item_key_len(other) == len && strncmp(other, key, len) == 0 && (!other[len] || j < i))
			return true;
	}
	return false;
}

/* n layers, keys and ids zero (*ret NULL when n is 0). */
static int layers_alloc(struct watch_layers **ret, uint32_t n)
{
	*ret = n ? calloc(1, sizeof(**ret) + n * sizeof((*ret)->at[0])) : NULL;
	if (n && !*ret)
		return -ENOMEM;
	if (*ret)
		(*ret)->n = n;
	return 0;
}

int watch_layers_new(struct watch_layers **ret, const struct hive_watch_key *keys, uint32_t n)
{
	int r = layers_alloc(ret, n);

	for (uint32_t i = 0; r >= 0 && i < n; i++)
		(*ret)->at[i].key = keys[i];
	return r;
}

int watch_layers_dup(struct watch_layers **ret, const struct watch_layers *l)
{
	int r = layers_alloc(ret, l ? l->n : 0);

	/* The copy has no slots yet: ids stay 0. */
	for (uint32_t i = 0; r >= 0 && l && i < l->n; i++)
		(*ret)->at[i].key = l->at[i].key;
	return r;
}

bool watch_layers_are(const struct watch_layers *l, const struct hive_watch_key *keys, uint32_t n)
{
	if ((l ? l->n : 0) != n)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (!watch_key_equal(&l->at[i].key, &keys[i]))
			return false;
	return true;
}

bool watch_layers_equal(const struct watch_layers *a, const struct watch_layers *b)
{
	if ((a ? a->n : 0) != (b ? b->n : 0))
		return false;
	for (uint32_t i = 0; a && i < a->n; i++)
		if (!watch_key_equal(&a->at[i].key, &b->at[i].key))
			return false;
	return true;
}

bool watch_entry_equal(const struct watch_entry *a, const struct watch_entry *b)
{
	return a->has_file == b->has_file && (!a->has_file || watch_key_equal(&a->file, &b->file)) &&
	       watch_layers_equal(a->layers, b->layers) &&
	       name_equal(a->name, b->name) && a->access == b->access && a->tree == b->tree &&
	       a->shallow == b->shallow && a->shared == b->shared &&
	       streq_ptr(a->key, b->key) && streq_ptr(a->policy, b->policy) && streq_ptr(a->path, b->path) &&
	       streq_ptr(a->policy_kind, b->policy_kind) && streq_ptr(a->node, b->node) &&
	       streq_ptr(a->namespace, b->namespace) && streq_ptr(a->pod, b->pod) &&
	       streq_ptr(a->pod_uid, b->pod_uid) && streq_ptr(a->container, b->container) &&
	       streq_ptr(a->container_id, b->container_id) && streq_ptr(a->presence_for, b->presence_for) &&
	       a->executable == b->executable && a->action == b->action && process_filter_equal(a->filter, b->filter) &&
	       streq_ptr(a->filter_scope, b->filter_scope);
}

int watch_set_new(struct watch_set **ret)
{
	struct watch_set *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->entries = hashmap_new();
	s->inodes = hashmap_new();
	s->names = hashmap_new();
	s->ids = hashmap_new();
	s->numbers = hashmap_new();
	s->name_ids = hashmap_new();
	/* Ids from a random start: an event recorded by the previous agent's
	 * hooks (kept across a restart) carries one of its ids, which must not
	 * be taken for one of ours. Inode events are checked against their
	 * file anyway; a name's event against its directory. */
	if (getrandom(&s->next_id, sizeof(s->next_id), GRND_NONBLOCK) != sizeof(s->next_id))
		s->next_id = 1;
	s->tenants = hashmap_new();
	s->tenant_max_files = UINT32_MAX;
	if (!s->entries || !s->inodes || !s->names || !s->ids || !s->numbers || !s->name_ids || !s->tenants ||
	    retired_new(&s->retired) < 0 || name_filter_new(&s->name_filter) < 0) {
		watch_set_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

static void inode_slot_free(struct inode_slot *slot)
{
	free(slot->pub.entries);
	free(slot->names);
	free(slot->name_counts);
	free(slot);
}

static void name_slot_free(struct name_slot *ns)
{
	free(ns->pub.entries);
	free(ns);
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
		while (hashmap_iter_next(&it, NULL, NULL, &v))
			inode_slot_free(v);
	}
	if (s->names) {
		hashmap_iter_init(&it, s->names);
		while (hashmap_iter_next(&it, NULL, NULL, &v))
			name_slot_free(v);
	}
	hashmap_free(s->entries);
	hashmap_free(s->inodes);
	hashmap_free(s->names);
	hashmap_free(s->ids);
	hashmap_free(s->numbers);
	hashmap_free(s->name_ids);
	if (s->tenants) {
		hashmap_iter_init(&it, s->tenants);
		while (hashmap_iter_next(&it, NULL, NULL, &v))
			free(v);
	}
	hashmap_free(s->tenants);
	retired_free(s->retired);
	name_filter_free(s->name_filter);
	free(s);
	return NULL;
}

void watch_set_set_tenant_quota(struct watch_set *s, uint32_t max_files)
{
	s->tenant_max_files = max_files;
}

/* The namespace whose quota e counts against: an entry this node made for
 * a HiveNamespacedPolicy (whose pods are all in its own namespace). */
static const char *tenant_of(const struct watch_entry *e)
{
	if (e->shared || !e->namespace || !e->policy_kind ||
	    strcmp(e->policy_kind, policy_kind_to_string(POLICY_KIND_NAMESPACED)) != 0)
		return NULL;
	return e->namespace;
}

bool watch_entry_is_tenants(const struct watch_entry *e)
{
	return tenant_of(e) != NULL;
}

/* Count e (delta +1) or uncount it (-1); -EDQUOT when its namespace has its
 * quota already. */
static int tenant_count(struct watch_set *s, const struct watch_entry *e, int delta)
{
	const char *ns = tenant_of(e);
	struct tenant *t;

	if (!ns)
		return 0;
	t = hashmap_get_str(s->tenants, ns);
	if (delta > 0) {
		if ((t ? t->n : 0) >= s->tenant_max_files)
			return -EDQUOT;
		if (!t) {
			t = calloc(1, sizeof(*t) + strlen(ns) + 1);
			if (!t)
				return -ENOMEM;
			strcpy(t->namespace, ns);
			if (hashmap_put_str(s->tenants, t->namespace, t, NULL) < 0) {
				free(t);
				return -ENOMEM;
			}
		}
		t->n++;
	} else if (t && --t->n == 0) {
		hashmap_remove_str(s->tenants, ns);
		free(t);
	}
	return 0;
}

static uint32_t next_id(struct watch_set *s)
{
	/* Never 0 (no id); never reused while the agent lives, so a late event
	 * for a removed slot cannot be taken for a new one. */
	if (++s->next_id == 0)
		s->next_id = 1;
	return s->next_id;
}

/* Kept as a count, so that the status timer need not walk 100,000 slots. */
static void count_unsynced(struct watch_set *s, bool *flag, bool unsynced)
{
	if (unsynced != *flag) {
		s->n_unsynced += unsynced ? 1 : -1;
		*flag = unsynced;
	}
}

/* Bring the map's copy of one inode in line with the set. */
static int sync_inode(struct watch_set *s, struct inode_slot *slot)
{
	struct hive_watch_value value = {
		.watch_id = slot->pub.id,
		.access = slot->pub.access | (slot->pub.layer && slot->pub.access ? HIVE_WATCH_LAYER : 0),
		.name_access = slot->name_access,
		.tree_access = slot->pub.tree_access,
		.entries_access = slot->pub.entries_access,
	};
	bool differs = slot->synced_access != value.access || slot->synced_name_access != value.name_access ||
		       slot->synced_tree_access != value.tree_access ||
		       slot->synced_entries_access != value.entries_access;
	int r = 0;

	if (s->map_ops && differs) {
		if (!value.access && !value.name_access && !value.tree_access && !value.entries_access)
			r = s->map_ops->delete(s->map, &slot->pub.file);
		else
			r = s->map_ops->put(s->map, &slot->pub.file, &value);
		if (r >= 0) {
			slot->synced_access = value.access;
			slot->synced_name_access = value.name_access;
			slot->synced_tree_access = value.tree_access;
			slot->synced_entries_access = value.entries_access;
			differs = false;
		}
	}
	count_unsynced(s, &slot->unsynced, differs);
	return r < 0 ? r : 0;
}

static int sync_name(struct watch_set *s, struct name_slot *ns)
{
	struct hive_watch_value value = { .watch_id = ns->pub.id, .access = ns->pub.access };
	int r = 0;

	if (s->map_ops && ns->synced_access != ns->pub.access) {
		if (!ns->pub.access)
			r = s->map_ops->name_delete(s->map, &ns->key);
		else
			r = s->map_ops->name_put(s->map, &ns->key, &value);
		if (r >= 0)
			ns->synced_access = ns->pub.access;
	}
	count_unsynced(s, &ns->unsynced, ns->synced_access != ns->pub.access);
	return r < 0 ? r : 0;
}

/* Whether key is one of e's layers (other than its file, and than the
 * layers before it: each has one slot). */
static bool is_layer_of(const struct watch_entry *e, const struct hive_watch_key *key, uint32_t before)
{
	if (e->has_file && watch_key_equal(&e->file, key))
		return false;
	for (uint32_t i = 0; e->layers && i < e->layers->n && i < before; i++)
		if (watch_key_equal(&e->layers->at[i].key, key))
			return true;
	return false;
}

/* Whether e is in inode's slot for one of its layers alone. */
static bool entry_by_layer(const struct watch_entry *e, const struct watch_inode *inode)
{
	return is_layer_of(e, &inode->file, UINT32_MAX);
}

uint32_t watch_entry_access_at(const struct watch_entry *e, const struct watch_inode *inode)
{
	return entry_by_layer(e, inode) ? e->access & WATCH_LAYER_ACCESS : e->access;
}

static void recompute_access(struct watch_inode *pub)
{
	pub->access = pub->tree_access = pub->entries_access = 0;
	pub->layer = pub->n_entries > 0;
	for (size_t i = 0; i < pub->n_entries; i++) {
		const struct watch_entry *e = pub->entries[i];
		uint32_t access = watch_entry_access_at(e, pub);

		pub->layer = pub->layer && entry_by_layer(e, pub);
		if (e->action != 0) /* enforced: its records come from the permission events */
			continue;
		pub->access |= access;
		if (e->tree)
			*(e->shallow ? &pub->entries_access : &pub->tree_access) |= access;
	}
}

static int entries_add(struct watch_inode *pub, struct watch_entry *e)
{
	struct watch_entry **grown = realloc(pub->entries, (pub->n_entries + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	pub->entries = grown;
	pub->entries[pub->n_entries++] = e;
	recompute_access(pub);
	return 0;
}

static void entries_remove(struct watch_inode *pub, struct watch_entry *e)
{
	for (size_t i = 0; i < pub->n_entries; i++)
		if (pub->entries[i] == e) {
			pub->entries[i] = pub->entries[--pub->n_entries];
			break;
		}
	recompute_access(pub);
}

static struct inode_slot *inode_slot_get(struct watch_set *s, const struct hive_watch_key *file)
{
	struct inode_slot *slot = hashmap_get(s->inodes, file, sizeof(*file));

	if (slot)
		return slot;
	slot = calloc(1, sizeof(*slot));
	if (!slot)
		return NULL;
	slot->pub.file = *file;
	slot->pub.id = next_id(s);
	if (hashmap_put(s->inodes, &slot->pub.file, sizeof(slot->pub.file), slot, NULL) < 0) {
		free(slot);
		return NULL;
	}
	if (hashmap_put(s->ids, &slot->pub.id, sizeof(slot->pub.id), slot, NULL) < 0) {
		hashmap_remove(s->inodes, &slot->pub.file, sizeof(slot->pub.file));
		free(slot);
		return NULL;
	}
	/* The latest of the generations of a number, should two be here. */
	(void)hashmap_put(s->numbers, &(struct inode_number){ file->ino, file->dev }, sizeof(struct inode_number),
			  slot, NULL);
	return slot;
}

static void count_tree(struct watch_set *s, struct inode_slot *slot, bool counted);

/* A slot with neither entries nor names goes. Even if the map delete
 * failed: an orphaned map key only produces events user space ignores, and
 * sync retries nothing for it. Dropping the slot keeps user space
 * consistent. */
static void inode_slot_drop_if_empty(struct watch_set *s, struct inode_slot *slot)
{
	if (slot->pub.n_entries || slot->n_names)
		return;
	hashmap_remove(s->inodes, &slot->pub.file, sizeof(slot->pub.file));
	hashmap_remove(s->ids, &slot->pub.id, sizeof(slot->pub.id));
	if (hashmap_get(s->numbers, &(struct inode_number){ slot->pub.file.ino, slot->pub.file.dev },
			sizeof(struct inode_number)) == slot)
		hashmap_remove(s->numbers, &(struct inode_number){ slot->pub.file.ino, slot->pub.file.dev },
			       sizeof(struct inode_number));
	s->n_unsynced -= slot->unsynced;
	count_tree(s, slot, false);
	inode_slot_free(slot);
}

#define ACCESS_BITS 14
_Static_assert(HIVE_ACCESS_ALL < (1U << ACCESS_BITS), "every access bit has a count");

/* ns's access counted in its directory's union as it is now. */
static void count_name_access(struct name_slot *ns)
{
	struct inode_slot *dir = ns->dir;
	uint32_t changed = ns->counted ^ ns->pub.access;

	if (!changed)
		return;
	dir->name_access = 0;
	for (unsigned b = 0; b < ACCESS_BITS; b++) {
		if (changed & (1U << b))
			dir->name_counts[b] += ns->pub.access & (1U << b) ? 1 : -1;
		if (dir->name_counts[b])
			dir->name_access |= 1U << b;
	}
	ns->counted = ns->pub.access;
}

/* The name filter's words the map does not have yet. */
static int sync_name_filter(struct watch_set *s)
{
	if (!s->map_ops || !s->map_ops->name_filter_put)
		return 0;
	return name_filter_sync(s->name_filter, s->map_ops->name_filter_put, s->map);
}

/* Tell the map a count through op (NULL: the map takes none), if it
 * differs from what it was told last (*synced). */
static int sync_count(struct watch_set *s, int (*op)(void *map, uint64_t n), uint64_t n, uint64_t *synced)
{
	int r = 0;

	if (s->map_ops && op && *synced != n) {
		r = op(s->map, n);
		if (r >= 0)
			*synced = n;
	}
	return r < 0 ? r : 0;
}

/* Tell the map how many names are HIVE_NAME_ANY_DATA_DIR's, if it differs. */
static int sync_data_dir_names(struct watch_set *s)
{
	return sync_count(s, s->map_ops ? s->map_ops->data_dir_names : NULL, s->n_data_dir_names,
			  &s->synced_data_dir_names);
}

/* Counted up before such a name enters the map, down after it left: the
 * hooks look for it only while the count says there is one. */
static int count_data_dir_name(struct watch_set *s, const struct hive_name_key *key, int delta)
{
	if (strncmp(key->name, HIVE_NAME_ANY_DATA_DIR, strlen(HIVE_NAME_ANY_DATA_DIR)) != 0)
		return 0;
	s->n_data_dir_names += delta;
	return sync_data_dir_names(s);
}

static struct name_slot *name_slot_get(struct watch_set *s, const struct watch_name *name)
{
	struct name_slot *ns = hashmap_get(s->names, name, watch_name_len(name));
	struct inode_slot *dir;
	struct name_slot **grown;

	if (ns)
		return ns;
	dir = inode_slot_get(s, &name->dir);
	if (!dir)
		return NULL;
	if (!dir->name_counts)
		dir->name_counts = calloc(ACCESS_BITS, sizeof(*dir->name_counts));
	ns = dir->name_counts ? calloc(1, sizeof(*ns)) : NULL;
	grown = ns ? realloc(dir->names, (dir->n_names + 1) * sizeof(*grown)) : NULL;
	if (!grown)
		goto fail;
	dir->names = grown;
	/* The kernel's key, padded with zeros (calloc) as the hooks make theirs. */
	ns->key.dir = name->dir;
	memcpy(ns->key.name, name->name, MIN(strlen(name->name), sizeof(ns->key.name)));
	ns->pub.file = name->dir;
	ns->pub.id = next_id(s);
	ns->dir = dir;
	if (hashmap_put(s->names, &ns->key, name_key_len(&ns->key), ns, NULL) < 0)
		goto fail;
	if (hashmap_put(s->name_ids, &ns->pub.id, sizeof(ns->pub.id), ns, NULL) < 0) {
		hashmap_remove(s->names, &ns->key, name_key_len(&ns->key));
		goto fail;
	}
	ns->at = dir->n_names;
	dir->names[dir->n_names++] = ns;
	/* Before the name enters the map (failed: watch_set_sync() retries). */
	name_filter_count(s->name_filter, &ns->key, +1);
	(void)sync_name_filter(s);
	(void)count_data_dir_name(s, &ns->key, +1);
	return ns;
fail:
	free(ns);
	inode_slot_drop_if_empty(s, dir);
	return NULL;
}

/* A name without entries goes: from its directory's union first, then from
 * the names map, so that the hooks never look up a name that is not there. */
static int name_slot_drop_if_empty(struct watch_set *s, struct name_slot *ns)
{
	struct inode_slot *dir = ns->dir;
	int r, k;

	if (ns->pub.n_entries)
		return 0;
	dir->names[ns->at] = dir->names[--dir->n_names];
	dir->names[ns->at]->at = ns->at;
	count_name_access(ns);
	r = sync_inode(s, dir);
	k = sync_name(s, ns);
	(void)count_data_dir_name(s, &ns->key, -1);
	name_filter_count(s->name_filter, &ns->key, -1);
	(void)sync_name_filter(s);
	hashmap_remove(s->names, &ns->key, name_key_len(&ns->key));
	hashmap_remove(s->name_ids, &ns->pub.id, sizeof(ns->pub.id));
	s->n_unsynced -= ns->unsynced;
	name_slot_free(ns);
	inode_slot_drop_if_empty(s, dir);
	return r < 0 ? r : k;
}

/* Tell the map how many trees there are, if it differs. */
static int sync_trees(struct watch_set *s)
{
	return sync_count(s, s->map_ops ? s->map_ops->trees : NULL, s->n_trees, &s->synced_trees);
}

/* A slot's tree is counted (its filter bit, the trees the hooks look for)
 * before it enters the map, and uncounted after it left: the hooks never
 * miss a tree because of either. */
static void count_tree(struct watch_set *s, struct inode_slot *slot, bool counted)
{
	if (slot->tree_counted == counted)
		return;
	slot->tree_counted = counted;
	s->n_trees += counted ? 1 : -1;
	name_filter_count_tree(s->name_filter, &slot->pub.file, counted ? +1 : -1);
	(void)sync_name_filter(s);
	(void)sync_trees(s);
}

/* Take e out of the slot of file (its own, or its layer), if any. */
static int inode_remove(struct watch_set *s, struct watch_entry *e, const struct hive_watch_key *file)
{
	struct inode_slot *slot = file ? hashmap_get(s->inodes, file, sizeof(*file)) : NULL;
	int r;

	if (!slot)
		return 0;
	entries_remove(&slot->pub, e);
	r = sync_inode(s, slot);
	if (!slot->pub.tree_access && !slot->pub.entries_access && !slot->synced_tree_access &&
	    !slot->synced_entries_access)
		count_tree(s, slot, false);
	inode_slot_drop_if_empty(s, slot);
	return r;
}

static int name_remove(struct watch_set *s, struct watch_entry *e)
{
	struct name_slot *ns = e->name ? hashmap_get(s->names, e->name, watch_name_len(e->name)) : NULL;
	int r;

	if (!ns)
		return 0;
	entries_remove(&ns->pub, e);
	if (!ns->pub.n_entries)
		return name_slot_drop_if_empty(s, ns);
	count_name_access(ns);
	r = sync_inode(s, ns->dir);
	return r < 0 ? r : sync_name(s, ns);
}

/* Layer i's slot, when it has one of its own (not the file's, not an
 * earlier layer's). */
static const struct hive_watch_key *layer_of(const struct watch_entry *e, uint32_t i)
{
	const struct hive_watch_key *key = &e->layers->at[i].key;

	return key->ino && !is_layer_of(e, key, i) && !(e->has_file && watch_key_equal(key, &e->file)) ? key : NULL;
}

static int layers_remove(struct watch_set *s, struct watch_entry *e)
{
	int r = 0;

	for (uint32_t i = 0; e->layers && i < e->layers->n; i++) {
		int k = e->layers->at[i].id ? inode_remove(s, e, layer_of(e, i)) : 0;

		if (r >= 0)
			r = k;
	}
	return r;
}

static int slot_remove_entry(struct watch_set *s, struct watch_entry *e)
{
	int r = inode_remove(s, e, e->has_file ? &e->file : NULL), k = name_remove(s, e), l = layers_remove(s, e);

	return r < 0 ? r : k < 0 ? k : l;
}

/* Put e in the slot of file (its own, or its layer); *id: the slot's. */
static int inode_add(struct watch_set *s, struct watch_entry *e, const struct hive_watch_key *file, uint32_t *id)
{
	struct inode_slot *slot = inode_slot_get(s, file);

	if (!slot || entries_add(&slot->pub, e) < 0) {
		if (slot)
			inode_slot_drop_if_empty(s, slot);
		return -ENOMEM;
	}
	*id = slot->pub.id;
	if (slot->pub.tree_access || slot->pub.entries_access)
		count_tree(s, slot, true);
	return sync_inode(s, slot);
}

/* The name into the names map before its directory says it has one: the
 * hooks look a name up only once the directory's entry says so. */
static int name_add(struct watch_set *s, struct watch_entry *e)
{
	struct name_slot *ns = name_slot_get(s, e->name);
	int r, k;

	if (!ns || entries_add(&ns->pub, e) < 0) {
		if (ns)
			name_slot_drop_if_empty(s, ns);
		return -ENOMEM;
	}
	e->name_id = ns->pub.id;
	r = sync_name(s, ns);
	count_name_access(ns);
	k = sync_inode(s, ns->dir);
	return r < 0 ? r : k;
}

static int layers_add(struct watch_set *s, struct watch_entry *e)
{
	int r = 0;

	for (uint32_t i = 0; e->layers && i < e->layers->n; i++) {
		const struct hive_watch_key *key = layer_of(e, i);
		int k = key ? inode_add(s, e, key, &e->layers->at[i].id) : 0;

		if (k == -ENOMEM) {
			layers_remove(s, e);
			return k;
		}
		if (r >= 0)
			r = k;
	}
	return r;
}

static int slot_add_entry(struct watch_set *s, struct watch_entry *e)
{
	int r = 0, k = 0, l = 0;

	if (e->has_file)
		r = inode_add(s, e, &e->file, &e->file_id);
	if (r == -ENOMEM)
		return r;
	if (e->name)
		k = name_add(s, e);
	if (k != -ENOMEM)
		l = layers_add(s, e);
	if (k == -ENOMEM || l == -ENOMEM) {
		inode_remove(s, e, e->has_file ? &e->file : NULL);
		if (l == -ENOMEM)
			name_remove(s, e);
		return -ENOMEM;
	}
	return r < 0 ? r : k < 0 ? k : l;
}

int watch_set_put(struct watch_set *s, struct watch_entry *e)
{
	struct watch_entry *old = hashmap_get_str(s->entries, e->key);
	bool same_tenant;
	int r, k;

	if (old && watch_entry_equal(old, e)) {
		watch_entry_free(e);
		return 0;
	}
	/* Counted anew, the entry it replaces uncounted once it goes; the
	 * same namespace's entry replaced by its next is the same count. */
	same_tenant = old && tenant_of(old) && tenant_of(e) && strcmp(tenant_of(old), tenant_of(e)) == 0;
	r = same_tenant ? 0 : tenant_count(s, e, +1);
	if (r < 0) {
		watch_entry_free(e);
		return r;
	}
	if (!e->shared || (old && !old->shared))
		s->local_generation++;
	/* Add the new entry before removing the old one: when only the
	 * metadata changed, the inode never leaves the map. */
	r = hashmap_put_str(s->entries, e->key, e, NULL);
	if (r < 0) {
		if (!same_tenant)
			tenant_count(s, e, -1);
		watch_entry_free(e);
		return r;
	}
	r = slot_add_entry(s, e);
	if (r == -ENOMEM) {
		hashmap_put_str(s->entries, e->key, old, NULL);
		if (!old)
			hashmap_remove_str(s->entries, e->key);
		if (!same_tenant)
			tenant_count(s, e, -1);
		watch_entry_free(e);
		return r;
	}
	if (old) {
		if (!same_tenant)
			tenant_count(s, old, -1);
		k = slot_remove_entry(s, old);
		retired_add(s->retired, old);
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
	tenant_count(s, e, -1);
	r = slot_remove_entry(s, e);
	retired_add(s->retired, e);
	return r;
}

const struct watch_entry *watch_set_get(const struct watch_set *s, const char *key)
{
	return hashmap_get_str(s->entries, key);
}

const struct watch_inode *watch_set_find(const struct watch_set *s, uint32_t id, const struct hive_watch_key *file)
{
	struct inode_slot *slot = hashmap_get(s->ids, &id, sizeof(id));

	if (slot && slot->pub.n_entries && watch_key_equal(&slot->pub.file, file))
		return &slot->pub;
	/* An event from before a restart carries the previous agent's id:
	 * the file decides. */
	slot = hashmap_get(s->inodes, file, sizeof(*file));
	if (slot && slot->pub.n_entries)
		return &slot->pub;
	return id ? retired_find(s->retired, id, file) : retired_find_file(s->retired, file);
}

const struct watch_inode *watch_set_find_name(const struct watch_set *s, uint32_t id,
					      const struct hive_watch_key *dir)
{
	struct name_slot *ns = hashmap_get(s->name_ids, &id, sizeof(id));

	if (ns && watch_key_equal(&ns->pub.file, dir))
		return &ns->pub;
	return retired_find(s->retired, id, dir);
}

const struct watch_inode *watch_set_find_name_at(const struct watch_set *s, uint64_t ino, uint32_t dev,
					      const char *name)
{
	struct inode_slot *dir = hashmap_get(s->numbers, &(struct inode_number){ ino, dev }, sizeof(struct inode_number));
	struct hive_name_key key = {}; /* NUL-padded, as every key of names */
	struct name_slot *ns;
	size_t len = strlen(name);

	if (!dir || len >= sizeof(key.name))
		return NULL;
	key.dir = dir->pub.file;
	memcpy(key.name, name, len);
	ns = hashmap_get(s->names, &key, name_key_len(&key));
	return ns && ns->pub.n_entries ? &ns->pub : NULL;
}

static int prune_inode(const struct hive_watch_key *key, void *userdata)
{
	struct watch_set *s = userdata;

	if (hashmap_get(s->inodes, key, sizeof(*key)))
		return 0;
	return s->map_ops->delete(s->map, key) < 0 ? 0 : 1;
}

/* Whether nothing follows the name's NUL: the names map is keyed by the
 * bytes before it, the hooks look names up NUL-padded. */
static bool name_key_padded(const struct hive_name_key *key)
{
	for (size_t i = strnlen(key->name, sizeof(key->name)); i < sizeof(key->name); i++)
		if (key->name[i])
			return false;
	return true;
}

static int prune_name(const struct hive_name_key *key, void *userdata)
{
	struct watch_set *s = userdata;

	/* One with bytes after its NUL is no name of the set's, whatever it
	 * starts with: the hooks never find it. */
	if (name_key_padded(key) && hashmap_get(s->names, key, name_key_len(key)))
		return 0;
	return s->map_ops->name_delete(s->map, key) < 0 ? 0 : 1;
}

int watch_set_prune(struct watch_set *s)
{
	if (!s->map_ops)
		return 0;
	/* The names first: the directories that announce them go after. */
	return s->map_ops->name_foreach(s->map, prune_name, s) + s->map_ops->foreach(s->map, prune_inode, s);
}

int watch_set_sync(struct watch_set *s)
{
	struct hashmap_iter it;
	void *v;
	int r = sync_data_dir_names(s), k;

	k = sync_trees(s);
	if (k < 0 && r >= 0)
		r = k;
	k = sync_name_filter(s);
	if (k < 0 && r >= 0)
		r = k;
	/* Names before the directories that announce them. */
	hashmap_iter_init(&it, s->names);
	while (hashmap_iter_next(&it, NULL, NULL, &v)) {
		k = sync_name(s, v);
		if (k < 0 && r >= 0)
			r = k;
		if (k == -E2BIG) /* the map is full: so it stays for the rest of this walk */
			break;
	}
	hashmap_iter_init(&it, s->inodes);
	while (hashmap_iter_next(&it, NULL, NULL, &v)) {
		k = sync_inode(s, v);
		if (k < 0 && r >= 0)
			r = k;
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
	s->synced_data_dir_names = s->synced_trees = UINT64_MAX;
	/* Unknown: a kept map has the previous agent's bits. */
	name_filter_unsynced(s->name_filter);
	hashmap_iter_init(&it, s->inodes);
	while (hashmap_iter_next(&it, NULL, NULL, &v)) {
		struct inode_slot *slot = v;

		slot->synced_access = slot->synced_name_access = slot->synced_tree_access = 0;
		slot->synced_entries_access = 0;
		count_unsynced(s, &slot->unsynced,
			       slot->pub.access || slot->name_access || slot->pub.tree_access || slot->pub.entries_access);
	}
	hashmap_iter_init(&it, s->names);
	while (hashmap_iter_next(&it, NULL, NULL, &v)) {
		struct name_slot *ns = v;

		ns->synced_access = 0;
		count_unsynced(s, &ns->unsynced, ns->pub.access);
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
	struct hashmap_iter it;
	void *v;
	size_t n = 0;

	/* Watched files; a directory there only for its names is not one. */
	hashmap_iter_init(&it, s->inodes);
	while (hashmap_iter_next(&it, NULL, NULL, &v))
		n += ((struct inode_slot *)v)->pub.n_entries > 0;
	return n;
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

/* The loader's maps, for the set. */

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

static int loader_put_name(void *map, const struct hive_name_key *key, const struct hive_watch_value *value)
{
	return loader_name_put(map, key, value);
}

static int loader_delete_name(void *map, const struct hive_name_key *key)
{
	return loader_name_delete(map, key);
}

static int loader_data_dir_names(void *map, uint64_t n)
{
	return loader_set_data_dir_names(map, n);
}

static int loader_name_filter(void *map, uint32_t word, uint64_t bits)
{
	return loader_name_filter_put(map, word, bits);
}

static int loader_trees(void *map, uint64_t n)
{
	return loader_set_trees(map, n);
}

static int loader_foreach_name(void *map, int (*fn)(const struct hive_name_key *key, void *userdata),
			       void *userdata)
{
	return loader_name_foreach(map, fn, userdata);
}

void watch_set_set_change_events(struct watch_set *s, struct change_events *c)
{
	s->change_events = c;
}

struct change_events *watch_set_change_events(const struct watch_set *s)
{
	return s->change_events;
}

void watch_set_set_enforcer(struct watch_set *s, const struct watch_file_follower *f)
{
	s->enforcer = f;
}

const struct watch_file_follower *watch_set_enforcer(const struct watch_set *s)
{
	return s->enforcer;
}

struct running {
	const struct watch_set *s;
	const struct watch_entry *e;
	const struct hive_watch_key *exe;
};

/* Whether the process runs the file a filter's executable path leads to,
 * as its entry says now. A generation of 0 is unknown (read from /proc, not
 * by the hooks): number and device then tell, a process's executable being
 * a file alive at the same time as the entry's. */
static bool runs(const char *executable, void *userdata)
{
	const struct running *x = userdata;
	_cleanup_(freep) char *key = watch_executable_key(x->e->filter_scope, executable);
	const struct watch_entry *f = key ? watch_set_get(x->s, key) : NULL;

	return f && f->has_file && f->file.ino == x->exe->ino && f->file.dev == x->exe->dev &&
	       (x->exe->gen == 0 || f->file.gen == x->exe->gen);
}

bool watch_entry_admits(const struct watch_set *s, const struct watch_entry *e, const struct hive_event *ev,
			const char *container)
{
	struct running x = { .s = s, .e = e, .exe = &ev->exe_file };

	return process_filter_admits(e->filter, &(struct process_subject){
							 .uid = ev->uid,
							 .auid = ev->auid,
							 .container = container,
							 .runs = runs,
							 .userdata = &x,
						 });
}

int watch_set_set_loader(struct watch_set *s, struct loader *loader)
{
	static const struct watch_map_ops ops = {
		.put = loader_put,
		.delete = loader_delete,
		.foreach = loader_foreach,
		.name_put = loader_put_name,
		.name_delete = loader_delete_name,
		.name_foreach = loader_foreach_name,
		.data_dir_names = loader_data_dir_names,
		.name_filter_put = loader_name_filter,
		.trees = loader_trees,
	};

	return watch_set_set_map(s, &ops, loader);
}
