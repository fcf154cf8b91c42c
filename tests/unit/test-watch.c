/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "shared/macro.h"
#include "watch/policy.h"
#include "watch/retired.h"
#include "watch/watch.h"
#include "tap.h"

static struct watch_entry *entry(const char *key, uint64_t ino, uint32_t access, const char *policy)
{
	struct hive_watch_key file = { .ino = ino, .dev = (8 << 20) | 1 };

	return watch_entry_new(key, &file, access, policy, "/etc/shadow", "node-1");
}

static void test_entries_group_by_inode(void)
{
	struct hive_watch_key file = { .ino = 10, .dev = (8 << 20) | 1 };
	const struct watch_inode *inode;
	struct watch_set *s;
	uint32_t id;

	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_put(s, entry("host/a//etc/shadow", 10, HIVE_MAY_READ, "a")) == 0);
	CHECK(watch_set_put(s, entry("host/b//etc/shadow", 10, HIVE_MAY_WRITE, "b")) == 0);
	CHECK(watch_set_put(s, entry("host/b//etc/passwd", 11, HIVE_MAY_WRITE, "b")) == 0);
	CHECK(watch_set_n_entries(s) == 3);
	CHECK(watch_set_n_inodes(s) == 2);

	inode = watch_set_find(s, 1, &file);
	CHECK(inode != NULL);
	if (!inode)
		return;
	CHECK(inode->n_entries == 2);
	CHECK(inode->access == (HIVE_MAY_READ | HIVE_MAY_WRITE));
	id = inode->id;

	/* The file decides, not the id: an event with another inode's id (a
	 * previous agent's, after a restart) is the event's file's, or none. */
	file.ino = 11;
	inode = watch_set_find(s, id, &file);
	CHECK(inode && inode->file.ino == 11 && inode->n_entries == 1);
	file.ino = 12;
	CHECK(watch_set_find(s, id, &file) == NULL);
	file.ino = 10;
	CHECK(watch_set_find(s, id + 1000, &file) == watch_set_find(s, id, &file));

	CHECK(watch_set_remove(s, "host/b//etc/shadow") == 0);
	inode = watch_set_find(s, id, &file);
	CHECK(inode && inode->access == HIVE_MAY_READ && inode->n_entries == 1);
	CHECK(watch_set_remove(s, "host/a//etc/shadow") == 0);
	CHECK(watch_set_n_inodes(s) == 1);
	/* Gone from the set, still found by its id for a late event: with
	 * every entry the slot had (the record's access filters them). */
	inode = watch_set_find(s, id, &file);
	CHECK(inode && inode->n_entries == 2 && inode->access == (HIVE_MAY_READ | HIVE_MAY_WRITE));
	CHECK(watch_set_find(s, id + 1000, &file) == NULL);
	watch_set_free(s);
}

/* A file replaced: its entry's late events (the ring buffer's backlog, the
 * folded counts reported windows later) still name it, for the last
 * RETIRED_MAX removed entries. */
static void test_removed_entries_are_found_for_late_events(void)
{
	struct hive_watch_key old_file = { .ino = 10, .dev = (8 << 20) | 1 }, other = old_file;
	const struct watch_inode *inode;
	struct watch_set *s;
	uint32_t id;

	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_put(s, entry("k", 10, HIVE_MAY_READ, "p")) == 0);
	id = watch_set_find(s, 0, &old_file)->id;
	CHECK(watch_set_put(s, entry("k", 20, HIVE_MAY_READ, "p")) == 0);
	inode = watch_set_find(s, id, &old_file);
	CHECK(inode && inode->n_entries == 1 && inode->entries[0]->file.ino == 10);
	other.ino = 11;
	CHECK(watch_set_find(s, id, &other) == NULL); /* the id, and its file */
	for (uint64_t i = 0; i < RETIRED_MAX - 1; i++)
		CHECK(watch_set_put(s, entry("k", 30 + i, HIVE_MAY_READ, "p")) == 0);
	CHECK(watch_set_find(s, id, &old_file) != NULL);
	CHECK(watch_set_put(s, entry("k", 1, HIVE_MAY_READ, "p")) == 0);
	CHECK(watch_set_find(s, id, &old_file) == NULL);
	watch_set_free(s);
}

static void test_replace_moves_entry_to_new_inode(void)
{
	struct hive_watch_key old_file = { .ino = 10, .dev = (8 << 20) | 1 };
	struct hive_watch_key new_file = { .ino = 20, .dev = (8 << 20) | 1 };
	const struct watch_inode *a, *b;
	struct watch_set *s;

	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_put(s, entry("k", 10, HIVE_ACCESS_ALL, "p")) == 0);
	a = watch_set_find(s, 1, &old_file);
	CHECK(a != NULL);
	/* Re-putting an identical entry changes nothing. */
	CHECK(watch_set_put(s, entry("k", 10, HIVE_ACCESS_ALL, "p")) == 0);
	CHECK(watch_set_find(s, 1, &old_file) == a);
	/* The path now names another inode: the old one is gone, ids are not reused. */
	CHECK(watch_set_put(s, entry("k", 20, HIVE_ACCESS_ALL, "p")) == 0);
	CHECK(watch_set_n_entries(s) == 1);
	CHECK(watch_set_n_inodes(s) == 1);
	CHECK(watch_set_find(s, 1, &old_file) == NULL);
	b = watch_set_find(s, 2, &new_file);
	CHECK(b != NULL && b->n_entries == 1);
	CHECK(watch_set_get(s, "k")->file.ino == 20);
	watch_set_free(s);
}

static void test_pod_metadata(void)
{
	struct watch_entry *a = entry("k", 1, HIVE_MAY_READ, "p"), *b = entry("k", 1, HIVE_MAY_READ, "p");

	CHECK(watch_entry_equal(a, b));
	CHECK(watch_entry_set_place(b, &(struct watch_place){ "security", "web-0", "uid-1", "app", "containerd://abc" }) == 0);
	CHECK(!watch_entry_equal(a, b));
	watch_entry_free(a);
	watch_entry_free(b);
}

/* A kernel map of a few slots, as the watch set writes it, and its names. */
struct fake_map {
	struct {
		struct hive_watch_key key;
		struct hive_watch_value value;
	} slots[4];
	size_t n, capacity;
	unsigned writes;
	struct {
		struct hive_name_key key;
		struct hive_watch_value value;
	} names[4];
	size_t n_names;
	uint64_t data_dir_names;
	bool uncounted; /* a volume name in the map while the count said none */
	uint64_t trees;
	bool tree_uncounted; /* a tree in the map while the count or the filter said none */
	uint64_t name_filter[HIVE_NAME_FILTER_BITS / 64];
	bool unmarked; /* a name in the map while the filter did not let it through */
};

static bool is_data_dir_name(const struct hive_name_key *key)
{
	return strncmp(key->name, HIVE_NAME_ANY_DATA_DIR, strlen(HIVE_NAME_ANY_DATA_DIR)) == 0;
}

static bool filter_has(const struct fake_map *m, uint32_t pos)
{
	return m->name_filter[pos / 64] & (1ULL << (pos % 64));
}

/* As the hooks ask: the directory's bit, then the name's. */
static bool filter_passes(const struct fake_map *m, uint64_t dir_ino, const char *name)
{
	size_t len = strlen(name);

	return filter_has(m, HIVE_NAME_FILTER_DIR(dir_ino)) &&
	       filter_has(m, HIVE_NAME_FILTER_NAME(dir_ino, len, (unsigned char)name[0],
						   len ? (unsigned char)name[len - 1] : 0));
}

static const char *dentry_name(const struct hive_name_key *key)
{
	return is_data_dir_name(key) ? key->name + strlen(HIVE_NAME_ANY_DATA_DIR) : key->name;
}


static int fake_find(struct fake_map *m, const struct hive_watch_key *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->slots[i].key.ino == key->ino && m->slots[i].key.dev == key->dev)
			return (int)i;
	return -1;
}

static int fake_put(void *map, const struct hive_watch_key *key, const struct hive_watch_value *value)
{
	struct fake_map *m = map;
	int i = fake_find(m, key);

	m->writes++;
	if (i < 0) {
		if (m->n == m->capacity)
			return -E2BIG; /* what a full BPF hash map says */
		i = (int)m->n++;
		m->slots[i].key = *key;
	}
	m->slots[i].value = *value;
	m->tree_uncounted |= (value->tree_access || value->entries_access) && (!m->trees || !filter_has(m, HIVE_NAME_FILTER_TREE(key->ino)));
	return 0;
}

static int fake_delete(void *map, const struct hive_watch_key *key)
{
	struct fake_map *m = map;
	int i = fake_find(m, key);

	m->writes++;
	if (i >= 0)
		m->slots[i] = m->slots[--m->n];
	return 0;
}

static int fake_foreach(void *map, int (*fn)(const struct hive_watch_key *key, void *userdata), void *userdata)
{
	struct fake_map *m = map;
	struct hive_watch_key keys[ARRAY_SIZE(m->slots)];
	size_t n = m->n;
	int sum = 0;

	/* Keys first: fn may delete. */
	for (size_t i = 0; i < n; i++)
		keys[i] = m->slots[i].key;
	for (size_t i = 0; i < n; i++)
		sum += fn(&keys[i], userdata);
	return sum;
}

static int fake_name_find(struct fake_map *m, const struct hive_name_key *key)
{
	for (size_t i = 0; i < m->n_names; i++)
		if (memcmp(&m->names[i].key, key, sizeof(*key)) == 0)
			return (int)i;
	return -1;
}

static int fake_name_put(void *map, const struct hive_name_key *key, const struct hive_watch_value *value)
{
	struct fake_map *m = map;
	int i = fake_name_find(m, key);

	if (i < 0) {
		if (m->n_names == ARRAY_SIZE(m->names))
			return -E2BIG;
		i = (int)m->n_names++;
		m->names[i].key = *key;
	}
	m->names[i].value = *value;
	m->uncounted |= is_data_dir_name(key) && !m->data_dir_names;
	m->unmarked |= !filter_passes(m, key->dir.ino, dentry_name(key));
	return 0;
}

static int fake_name_delete(void *map, const struct hive_name_key *key)
{
	struct fake_map *m = map;
	int i = fake_name_find(m, key);

	if (i >= 0)
		m->names[i] = m->names[--m->n_names];
	m->uncounted |= i >= 0 && is_data_dir_name(key) && !m->data_dir_names;
	m->unmarked |= i >= 0 && !filter_passes(m, key->dir.ino, dentry_name(key));
	return 0;
}

static int fake_name_filter_put(void *map, uint32_t word, uint64_t bits)
{
	((struct fake_map *)map)->name_filter[word] = bits;
	return 0;
}

static int fake_trees(void *map, uint64_t n)
{
	((struct fake_map *)map)->trees = n;
	return 0;
}

static int fake_data_dir_names(void *map, uint64_t n)
{
	((struct fake_map *)map)->data_dir_names = n;
	return 0;
}

static int fake_name_foreach(void *map, int (*fn)(const struct hive_name_key *key, void *userdata), void *userdata)
{
	struct fake_map *m = map;
	struct hive_name_key keys[ARRAY_SIZE(m->names)];
	size_t n = m->n_names;
	int sum = 0;

	for (size_t i = 0; i < n; i++)
		keys[i] = m->names[i].key;
	for (size_t i = 0; i < n; i++)
		sum += fn(&keys[i], userdata);
	return sum;
}

static const struct watch_map_ops fake_ops = {
	.put = fake_put,
	.delete = fake_delete,
	.foreach = fake_foreach,
	.name_put = fake_name_put,
	.name_delete = fake_name_delete,
	.name_foreach = fake_name_foreach,
	.data_dir_names = fake_data_dir_names,
	.name_filter_put = fake_name_filter_put,
	.trees = fake_trees,
};

static uint32_t map_access(struct fake_map *m, uint64_t ino)
{
	struct hive_watch_key key = { .ino = ino, .dev = (8 << 20) | 1 };
	int i = fake_find(m, &key);

	return i < 0 ? 0 : m->slots[i].value.access;
}

static void test_map_follows_the_set(void)
{
	struct fake_map m = { .capacity = 4 };
	struct watch_set *s;

	CHECK(watch_set_new(&s) == 0);
	/* Entries made before the map is there are all written when it comes. */
	CHECK(watch_set_put(s, entry("a", 10, HIVE_MAY_READ, "a")) == 0);
	CHECK(watch_set_set_map(s, &fake_ops, &m) == 0);
	CHECK(m.n == 1 && map_access(&m, 10) == HIVE_MAY_READ);
	/* One slot per inode, with the union of what its entries want. */
	CHECK(watch_set_put(s, entry("b", 10, HIVE_MAY_WRITE, "b")) == 0);
	CHECK(m.n == 1 && map_access(&m, 10) == (HIVE_MAY_READ | HIVE_MAY_WRITE));
	/* The same entry again writes nothing. */
	m.writes = 0;
	CHECK(watch_set_put(s, entry("b", 10, HIVE_MAY_WRITE, "b")) == 0);
	CHECK(m.writes == 0);
	CHECK(watch_set_remove(s, "a") == 0);
	CHECK(map_access(&m, 10) == HIVE_MAY_WRITE);
	/* The last entry of an inode takes its slot with it. */
	CHECK(watch_set_remove(s, "b") == 0);
	CHECK(m.n == 0);
	/* Without a map, nothing is written and nothing is unsynced. */
	CHECK(watch_set_set_map(s, NULL, NULL) == 0);
	CHECK(watch_set_put(s, entry("c", 11, HIVE_MAY_READ, "c")) == 0);
	CHECK(m.n == 0 && watch_set_n_unsynced(s) == 0);
	watch_set_free(s);
}

/* A container's file on overlayfs is watched in its layer too, for opens
 * alone, and the layer's slot says so to the hooks (HIVE_WATCH_LAYER) while
 * no other entry wants the file itself. */
static void test_layers_are_watched_for_opens(void)
{
	struct hive_watch_key layer = { .ino = 20, .dev = (8 << 20) | 1 };
	struct fake_map m = { .capacity = 4 };
	struct watch_entry *e = entry("pod/u/app/p//etc/shadow", 10, HIVE_ACCESS_ALL, "p");
	const struct watch_inode *inode;
	struct watch_set *s;
	uint32_t id;

	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_set_map(s, &fake_ops, &m) == 0);
	CHECK(watch_layers_new(&e->layers, &layer, 1) == 0);
	CHECK(watch_set_put(s, e) == 0);
	CHECK(m.n == 2 && watch_set_n_inodes(s) == 2);
	CHECK(map_access(&m, 10) == HIVE_ACCESS_ALL);
	CHECK(map_access(&m, 20) == (WATCH_LAYER_ACCESS | HIVE_WATCH_LAYER));
	inode = watch_set_find(s, 0, &layer);
	CHECK(inode && inode->n_entries == 1 && inode->layer && inode->access == WATCH_LAYER_ACCESS);
	if (!inode)
		goto out;
	id = inode->id;
	CHECK(watch_entry_access_at(inode->entries[0], inode) == WATCH_LAYER_ACCESS);
	/* A host policy on the same file: its changes are its own, and the
	 * hooks no longer take a check nested in an overlay's for the
	 * overlay's. */
	CHECK(watch_set_put(s, entry("host/h//snap/etc/shadow", 20, HIVE_ACCESS_ALL, "h")) == 0);
	CHECK(map_access(&m, 20) == HIVE_ACCESS_ALL);
	CHECK(watch_set_remove(s, "host/h//snap/etc/shadow") == 0);
	CHECK(map_access(&m, 20) == (WATCH_LAYER_ACCESS | HIVE_WATCH_LAYER));
	/* Copied up: the layer moves to the upper file, in one put. */
	e = entry("pod/u/app/p//etc/shadow", 10, HIVE_ACCESS_ALL, "p");
	CHECK(watch_layers_new(&e->layers, &(struct hive_watch_key){ .ino = 21, .dev = (8 << 20) | 1 }, 1) == 0);
	CHECK(watch_set_put(s, e) == 0);
	CHECK(m.n == 2 && map_access(&m, 20) == 0 && map_access(&m, 21) == (WATCH_LAYER_ACCESS | HIVE_WATCH_LAYER));
	/* The old layer's late events still name the entry (and the host
	 * policy's, removed before). */
	inode = watch_set_find(s, id, &layer);
	CHECK(inode && inode->n_entries == 2);
	for (size_t i = 0; inode && i < inode->n_entries; i++)
		CHECK(watch_entry_access_at(inode->entries[i], inode) ==
		      (inode->entries[i]->layers ? WATCH_LAYER_ACCESS : HIVE_ACCESS_ALL));
	CHECK(watch_set_remove(s, "pod/u/app/p//etc/shadow") == 0);
	CHECK(m.n == 0 && watch_set_n_inodes(s) == 0);
out:
	watch_set_free(s);
}

/* A container's tree on overlayfs: its root's directory in each layer is a
 * tree root too (a file below may be in any layer), for opens alone. */
static void test_a_trees_layers_are_tree_roots(void)
{
	struct hive_watch_key layers[] = { { .ino = 20, .dev = (8 << 20) | 1 }, { .ino = 30, .dev = (8 << 20) | 2 },
					   { .ino = 20, .dev = (8 << 20) | 1 } };
	struct fake_map m = { .capacity = 4 };
	struct watch_entry *e = entry("pod/u/app/p//etc/**", 10, HIVE_ACCESS_ALL, "p");
	struct watch_set *s;

	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_set_map(s, &fake_ops, &m) == 0);
	e->tree = true;
	/* The same layer twice has one slot. */
	CHECK(watch_layers_new(&e->layers, layers, ARRAY_SIZE(layers)) == 0);
	CHECK(watch_set_put(s, e) == 0);
	CHECK(m.n == 3 && m.trees == 3);
	for (size_t i = 0; i < m.n; i++)
		if (m.slots[i].key.ino != 10)
			CHECK(m.slots[i].value.tree_access == WATCH_LAYER_ACCESS &&
			      m.slots[i].value.access == (WATCH_LAYER_ACCESS | HIVE_WATCH_LAYER));
	CHECK(watch_set_remove(s, "pod/u/app/p//etc/**") == 0);
	CHECK(m.n == 0 && m.trees == 0);
	watch_set_free(s);
}

static void test_full_map_is_retried(void)
{
	struct fake_map m = { .capacity = 2 };
	struct watch_set *s;

	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_set_map(s, &fake_ops, &m) == 0);
	CHECK(watch_set_put(s, entry("a", 1, HIVE_MAY_READ, "a")) == 0);
	CHECK(watch_set_put(s, entry("b", 2, HIVE_MAY_READ, "b")) == 0);
	/* Kept in the set, said to the caller, counted as unsynced. */
	CHECK(watch_set_put(s, entry("c", 3, HIVE_MAY_READ, "c")) == -E2BIG);
	CHECK(watch_set_n_entries(s) == 3 && watch_set_n_unsynced(s) == 1);
	CHECK(watch_set_sync(s) == -E2BIG);
	/* Room again: the next sync writes it. */
	CHECK(watch_set_remove(s, "a") == 0);
	CHECK(watch_set_sync(s) == 0);
	CHECK(watch_set_n_unsynced(s) == 0 && map_access(&m, 3) == HIVE_MAY_READ && m.n == 2);
	watch_set_free(s);
}

static void test_prune_drops_what_the_set_lacks(void)
{
	struct fake_map m = { .capacity = 4 };
	struct hive_watch_value v = { .watch_id = 99, .access = HIVE_MAY_READ };
	struct hive_watch_key left = { .ino = 7, .dev = (8 << 20) | 1 };
	struct watch_set *s;

	/* A previous agent's map, adopted: inode 7 is not watched any more. */
	CHECK(fake_put(&m, &left, &v) == 0);
	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_put(s, entry("a", 1, HIVE_MAY_READ, "a")) == 0);
	CHECK(watch_set_set_map(s, &fake_ops, &m) == 0);
	CHECK(m.n == 2);
	CHECK(watch_set_prune(s) == 1);
	CHECK(m.n == 1 && map_access(&m, 1) == HIVE_MAY_READ && map_access(&m, 7) == 0);
	watch_set_free(s);
}

static struct hive_name_key name_in(uint64_t dir_ino, const char *name)
{
	struct hive_name_key k = { .dir = { .ino = dir_ino, .dev = (8 << 20) | 1, .gen = 7 } };

	snprintf(k.name, sizeof(k.name), "%s", name);
	return k;
}

static const struct hive_watch_value *map_value(struct fake_map *m, uint64_t ino, uint32_t gen)
{
	struct hive_watch_key key = { .ino = ino, .dev = (8 << 20) | 1, .gen = gen };
	int i = fake_find(m, &key);

	return i < 0 ? NULL : &m->slots[i].value;
}

/* The hooks look a name up NUL-padded: a kept map's key with a byte after
 * its NUL is none they find, whatever name it starts with, and goes. */
static void test_prune_drops_a_name_key_not_padded(void)
{
	struct fake_map m = { .capacity = 4 };
	struct hive_watch_value v = { .watch_id = 99, .access = HIVE_MAY_READ };
	struct hive_name_key shadow = name_in(2, "shadow"), unpadded = shadow;
	struct watch_entry *a = entry("a", 10, HIVE_MAY_READ, "a");
	struct watch_set *s;

	unpadded.name[sizeof(unpadded.name) - 1] = 'x';
	CHECK(fake_name_put(&m, &unpadded, &v) == 0);
	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_entry_set_name(a, &shadow) == 0 && watch_set_put(s, a) == 0);
	CHECK(watch_set_set_map(s, &fake_ops, &m) == 0);
	CHECK(m.n_names == 2);
	CHECK(watch_set_prune(s) == 1);
	CHECK(m.n_names == 1 && fake_name_find(&m, &shadow) == 0);
	watch_set_free(s);
}

/* An entry keeps its name at its used length; the map gets the kernel's
 * whole key, NUL-padded, for the longest names too (255 bytes and a NUL,
 * and 256 bytes with none, which a name key may hold). */
static void test_longest_names_reach_the_map_whole(void)
{
	struct fake_map m = { .capacity = 4 };
	struct hive_name_key longest = name_in(2, ""), full = name_in(2, "");
	struct watch_entry *a = entry("a", 10, HIVE_MAY_READ, "a"), *b = entry("b", 11, HIVE_MAY_READ, "b");
	struct watch_set *s;

	memset(longest.name, 'l', sizeof(longest.name) - 1);
	memset(full.name, 'f', sizeof(full.name));
	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_set_map(s, &fake_ops, &m) == 0);
	CHECK(watch_entry_set_name(a, &longest) == 0 && watch_set_put(s, a) == 0);
	CHECK(watch_entry_set_name(b, &full) == 0 && watch_set_put(s, b) == 0);
	CHECK(m.n_names == 2 && fake_name_find(&m, &longest) >= 0 && fake_name_find(&m, &full) >= 0);
	CHECK(watch_set_find_name_at(s, 2, longest.dir.dev, longest.name));
	/* The same name again is the same slot; one byte shorter is another. */
	b = entry("b", 11, HIVE_MAY_READ, "b");
	CHECK(b && watch_entry_set_name(b, &full) == 0 && watch_set_put(s, b) == 0 && m.n_names == 2);
	full.name[sizeof(full.name) - 1] = '\0';
	b = entry("b", 11, HIVE_MAY_READ, "b");
	CHECK(b && watch_entry_set_name(b, &full) == 0 && watch_set_put(s, b) == 0 && m.n_names == 2);
	CHECK(fake_name_find(&m, &full) >= 0);
	CHECK(watch_set_remove(s, "a") == 0 && watch_set_remove(s, "b") == 0 && m.n_names == 0);
	watch_set_free(s);
}

static void test_names_are_watched_with_their_directory(void)
{
	struct fake_map m = { .capacity = 4 };
	struct hive_name_key shadow = name_in(2, "shadow"), gshadow = name_in(2, "gshadow");
	struct hive_watch_key dir = shadow.dir;
	struct watch_entry *a = entry("a", 10, HIVE_MAY_READ, "a"), *b = watch_entry_new("b", NULL, HIVE_MAY_WRITE,
											 "b", "/etc/gshadow", NULL);
	const struct watch_inode *found;
	struct watch_set *s;

	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_set_map(s, &fake_ops, &m) == 0);
	CHECK(watch_entry_set_name(a, &shadow) == 0 && watch_entry_set_name(b, &gshadow) == 0);
	CHECK(watch_set_put(s, a) == 0);
	/* The file by its inode, its name in the names map, and the directory
	 * saying it has a watched name (and no access of its own). */
	CHECK(map_access(&m, 10) == HIVE_MAY_READ);
	CHECK(m.n_names == 1 && m.names[0].value.access == HIVE_MAY_READ);
	CHECK(map_value(&m, 2, 7) && map_value(&m, 2, 7)->access == 0 &&
	      map_value(&m, 2, 7)->name_access == HIVE_MAY_READ);
	/* The filter lets the hooks look it up; not other names. */
	CHECK(filter_passes(&m, 2, "shadow"));
	CHECK(!filter_passes(&m, 2, "passwd") && !filter_passes(&m, 3, "shadow"));
	/* A name alone: nothing is there yet. */
	CHECK(watch_set_put(s, b) == 0);
	CHECK(m.n_names == 2 && m.n == 2);
	CHECK(map_value(&m, 2, 7)->name_access == (HIVE_MAY_READ | HIVE_MAY_WRITE));
	CHECK(watch_set_n_inodes(s) == 1); /* the directory is not a watched file */
	/* A name's access changed by its entry's replacement: the union is
	 * kept by counts, not recomputed. */
	b = watch_entry_new("b", NULL, HIVE_MAY_EXEC, "b", "/etc/gshadow", NULL);
	CHECK(b && watch_entry_set_name(b, &gshadow) == 0 && watch_set_put(s, b) == 0);
	CHECK(map_value(&m, 2, 7)->name_access == (HIVE_MAY_READ | HIVE_MAY_EXEC));
	b = watch_entry_new("b", NULL, HIVE_MAY_READ, "b", "/etc/gshadow", NULL);
	CHECK(b && watch_entry_set_name(b, &gshadow) == 0 && watch_set_put(s, b) == 0);
	CHECK(map_value(&m, 2, 7)->name_access == HIVE_MAY_READ);
	/* fanotify names a directory by number and device, and the name. */
	found = watch_set_find_name_at(s, 2, dir.dev, "gshadow");
	CHECK(found && found->n_entries == 1 && found->entries[0] == b);
	CHECK(watch_set_find_name_at(s, 2, dir.dev, "gshado") == NULL);
	CHECK(watch_set_find_name_at(s, 3, dir.dev, "gshadow") == NULL);
	/* An event found by name is the name's, checked against its directory. */
	found = watch_set_find_name(s, m.names[0].value.watch_id, &dir);
	CHECK(found && found->n_entries == 1);
	dir.gen = 8;
	CHECK(watch_set_find_name(s, m.names[0].value.watch_id, &dir) == NULL);
	/* Removing the names takes the directory out of the map too. */
	CHECK(watch_set_remove(s, "b") == 0);
	CHECK(m.n_names == 1 && map_value(&m, 2, 7)->name_access == HIVE_MAY_READ);
	b = watch_entry_new("b", NULL, HIVE_MAY_WRITE, "b", "/etc/gshadow", NULL);
	CHECK(b && watch_entry_set_name(b, &gshadow) == 0 && watch_set_put(s, b) == 0);
	CHECK(watch_set_remove(s, "a") == 0);
	CHECK(m.n_names == 1 && map_value(&m, 2, 7)->name_access == HIVE_MAY_WRITE);
	CHECK(watch_set_remove(s, "b") == 0);
	CHECK(m.n_names == 0 && m.n == 0);
	CHECK(!filter_passes(&m, 2, "shadow") && !filter_has(&m, HIVE_NAME_FILTER_DIR(2)));
	CHECK(!m.unmarked);
	watch_set_free(s);
}

/* A kubelet volume's name (HIVE_NAME_ANY_DATA_DIR): the hooks read a directory's name
 * only while the map's count says such names exist, so the count goes up
 * before the name enters the map and down after it left. */
static void test_volume_names_are_counted(void)
{
	struct fake_map m = { .capacity = 4 };
	struct hive_name_key token = name_in(3, HIVE_NAME_ANY_DATA_DIR "token"), plain = name_in(3, "plain");
	struct watch_entry *a = entry("a", 10, HIVE_MAY_READ, "a"), *b = entry("b", 11, HIVE_MAY_READ, "b");
	struct watch_set *s;

	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_set_map(s, &fake_ops, &m) == 0);
	CHECK(watch_entry_set_name(a, &token) == 0 && watch_entry_set_name(b, &plain) == 0);
	CHECK(watch_set_put(s, b) == 0);
	CHECK(m.data_dir_names == 0);
	CHECK(watch_set_put(s, a) == 0);
	CHECK(m.data_dir_names == 1 && m.n_names == 2);
	/* The filter has the volume's name as the hooks see it: "token". */
	CHECK(filter_passes(&m, 3, "token") && filter_passes(&m, 3, "plain"));
	CHECK(!m.unmarked);
	CHECK(watch_set_remove(s, "a") == 0);
	CHECK(m.data_dir_names == 0 && m.n_names == 1);
	CHECK(!m.uncounted);
	watch_set_free(s);
}

/* A file kept away by an item (watch/item.h) is one record with the item's
 * own entry, or with an earlier kept-away one, on the same inode; other
 * items' entries are records of their own. */
static void test_kept_away_entries_do_not_repeat_records(void)
{
	struct hive_watch_key file = { .ino = 10, .dev = (8 << 20) | 1 };
	const struct watch_inode *inode;
	struct watch_set *s;
	size_t repeats = 0;

	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_put(s, entry("host/a//etc/shadow", 10, HIVE_MAY_READ, "a")) == 0);
	CHECK(watch_set_put(s, entry("host/a//etc/shadow" WATCH_AWAY_KEY_MARK "away0", 10, HIVE_MAY_READ, "a")) == 0);
	CHECK(watch_set_put(s, entry("host/a//etc/shadow" WATCH_AWAY_KEY_MARK "away1", 10, HIVE_MAY_READ, "a")) == 0);
	CHECK(watch_set_put(s, entry("host/a//etc/shadow2" WATCH_AWAY_KEY_MARK "away0", 10, HIVE_MAY_READ, "a")) == 0);
	CHECK(watch_set_put(s, entry("host/b//etc/shadow", 10, HIVE_MAY_READ, "b")) == 0);
	inode = watch_set_find(s, 0, &file);
	CHECK(inode && inode->n_entries == 5);
	for (size_t i = 0; inode && i < inode->n_entries; i++)
		repeats += watch_inode_entry_repeats(inode, i);
	CHECK(repeats == 2); /* host/a//etc/shadow's two kept-away entries */
	/* Alone on its inode, a kept-away entry is its item's record. */
	CHECK(watch_set_remove(s, "host/a//etc/shadow") == 0);
	CHECK(watch_set_remove(s, "host/a//etc/shadow" WATCH_AWAY_KEY_MARK "away1") == 0);
	inode = watch_set_find(s, 0, &file);
	repeats = 0;
	for (size_t i = 0; inode && i < inode->n_entries; i++)
		repeats += watch_inode_entry_repeats(inode, i);
	CHECK(inode && inode->n_entries == 3 && repeats == 0);
	watch_set_free(s);
}

/* A namespace's HiveNamespacedPolicies have at most their quota of entries;
 * replacing one of them is no new one, and others' entries do not count. */
static void test_tenant_quota(void)
{
	struct watch_place team_a = { .namespace = "team-a", .pod = "p", .pod_uid = "u", .container = "c",
				      .container_id = "containerd://1" };
	struct watch_place team_b = team_a;
	struct watch_set *s;
	struct watch_entry *e;
	char key[32];

	team_b.namespace = "team-b";
	CHECK(watch_set_new(&s) == 0);
	watch_set_set_tenant_quota(s, 2);
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "pod/a/%d", i);
		e = entry(key, 100 + i, HIVE_MAY_READ, "team-a/p");
		CHECK(e && watch_entry_set_place(e, &team_a) == 0);
		e->policy_kind = policy_kind_to_string(POLICY_KIND_NAMESPACED);
		CHECK(watch_entry_is_tenants(e));
		CHECK(watch_set_put(s, e) == (i < 2 ? 0 : -EDQUOT));
	}
	CHECK(watch_set_n_entries(s) == 2);
	/* The same key on another file: a replacement, not a third. */
	e = entry("pod/a/1", 200, HIVE_MAY_READ, "team-a/p");
	watch_entry_set_place(e, &team_a);
	e->policy_kind = policy_kind_to_string(POLICY_KIND_NAMESPACED);
	CHECK(watch_set_put(s, e) == 0);
	/* Another namespace, a HivePolicy's entry in team-a's pod, another
	 * node's entry: none counts against team-a. */
	e = entry("pod/b/0", 300, HIVE_MAY_READ, "team-b/p");
	watch_entry_set_place(e, &team_b);
	e->policy_kind = policy_kind_to_string(POLICY_KIND_NAMESPACED);
	CHECK(watch_set_put(s, e) == 0);
	e = entry("pod/a/admin", 301, HIVE_MAY_READ, "admin");
	watch_entry_set_place(e, &team_a);
	e->policy_kind = policy_kind_to_string(POLICY_KIND_CLUSTER);
	CHECK(!watch_entry_is_tenants(e) && watch_set_put(s, e) == 0);
	e = entry("node/n/pod/a/9", 302, HIVE_MAY_READ, "team-a/p");
	watch_entry_set_place(e, &team_a);
	e->policy_kind = policy_kind_to_string(POLICY_KIND_NAMESPACED);
	e->shared = true;
	CHECK(watch_set_put(s, e) == 0);
	/* Room again once one goes. */
	CHECK(watch_set_remove(s, "pod/a/0") == 0);
	e = entry("pod/a/2", 102, HIVE_MAY_READ, "team-a/p");
	watch_entry_set_place(e, &team_a);
	e->policy_kind = policy_kind_to_string(POLICY_KIND_NAMESPACED);
	CHECK(watch_set_put(s, e) == 0);
	watch_set_free(s);
}

static void test_keys(void)
{
	char *k = watch_key("host", "etc-shadow", "/etc/shadow", NULL);

	CHECK_STREQ(k, "host/etc-shadow//etc/shadow");
	free(k);
	k = watch_key("pod", "uid", "app", "p", "/x", NULL);
	CHECK_STREQ(k, "pod/uid/app/p//x");
	free(k);
}

/* A tree's root: its slot says what the tree wants below it, the hooks'
 * count of trees and its filter bit come before it, and go after it. */
static void test_trees_are_counted_and_marked(void)
{
	struct fake_map m = { .capacity = 4 };
	struct watch_entry *tree = entry("t", 10, HIVE_MAY_READ | HIVE_ACCESS_CREATE, "t");
	struct watch_set *s;
	int i;

	CHECK(watch_set_new(&s) == 0);
	CHECK(watch_set_set_map(s, &fake_ops, &m) == 0);
	tree->tree = true;
	CHECK(watch_set_put(s, tree) == 0);
	CHECK(watch_set_put(s, entry("plain", 10, HIVE_MAY_WRITE, "p")) == 0);
	i = fake_find(&m, &(struct hive_watch_key){ .ino = 10, .dev = (8 << 20) | 1 });
	CHECK(i >= 0 && m.slots[i].value.tree_access == (HIVE_MAY_READ | HIVE_ACCESS_CREATE));
	CHECK(i >= 0 && m.slots[i].value.access == (HIVE_MAY_READ | HIVE_MAY_WRITE | HIVE_ACCESS_CREATE));
	CHECK(m.trees == 1 && filter_has(&m, HIVE_NAME_FILTER_TREE(10)) && !m.tree_uncounted);
	/* Not the bit of a directory with watched names, which every walk
	 * passes at "/" (the name "etc" of "/etc/" "**"). */
	CHECK(!filter_has(&m, HIVE_NAME_FILTER_DIR(10)));
	/* The tree goes, the plain watch of the directory stays. */
	CHECK(watch_set_remove(s, "t") == 0);
	i = fake_find(&m, &(struct hive_watch_key){ .ino = 10, .dev = (8 << 20) | 1 });
	CHECK(i >= 0 && m.slots[i].value.tree_access == 0 && m.slots[i].value.access == HIVE_MAY_WRITE);
	CHECK(m.trees == 0 && !filter_has(&m, HIVE_NAME_FILTER_TREE(10)));
	/* A tree is not the same entry as the directory alone. */
	tree = entry("plain", 10, HIVE_MAY_WRITE, "p");
	tree->tree = true;
	CHECK(watch_set_put(s, tree) == 0);
	CHECK(m.trees == 1);
	CHECK(watch_set_remove(s, "plain") == 0);
	CHECK(m.n == 0 && m.trees == 0);
	/* A tree of the directory's own entries: what it wants of them, apart
	 * from what a whole tree wants below; counted and marked alike. */
	tree = entry("own", 10, HIVE_ACCESS_CREATE, "o");
	tree->tree = tree->shallow = true;
	CHECK(watch_set_put(s, tree) == 0);
	i = fake_find(&m, &(struct hive_watch_key){ .ino = 10, .dev = (8 << 20) | 1 });
	CHECK(i >= 0 && m.slots[i].value.entries_access == HIVE_ACCESS_CREATE && m.slots[i].value.tree_access == 0);
	CHECK(m.trees == 1 && filter_has(&m, HIVE_NAME_FILTER_TREE(10)) && !m.tree_uncounted);
	tree = entry("all", 10, HIVE_MAY_READ, "a");
	tree->tree = true;
	CHECK(watch_set_put(s, tree) == 0);
	i = fake_find(&m, &(struct hive_watch_key){ .ino = 10, .dev = (8 << 20) | 1 });
	CHECK(i >= 0 && m.slots[i].value.entries_access == HIVE_ACCESS_CREATE &&
	      m.slots[i].value.tree_access == HIVE_MAY_READ && m.trees == 1);
	CHECK(watch_set_remove(s, "all") == 0 && watch_set_remove(s, "own") == 0);
	CHECK(m.n == 0 && m.trees == 0 && !filter_has(&m, HIVE_NAME_FILTER_TREE(10)));
	watch_set_free(s);
}

int main(void)
{
	RUN(test_entries_group_by_inode);
	RUN(test_replace_moves_entry_to_new_inode);
	RUN(test_removed_entries_are_found_for_late_events);
	RUN(test_pod_metadata);
	RUN(test_map_follows_the_set);
	RUN(test_layers_are_watched_for_opens);
	RUN(test_a_trees_layers_are_tree_roots);
	RUN(test_full_map_is_retried);
	RUN(test_prune_drops_what_the_set_lacks);
	RUN(test_prune_drops_a_name_key_not_padded);
	RUN(test_longest_names_reach_the_map_whole);
	RUN(test_keys);
	RUN(test_kept_away_entries_do_not_repeat_records);
	RUN(test_tenant_quota);
	RUN(test_names_are_watched_with_their_directory);
	RUN(test_volume_names_are_counted);
	RUN(test_trees_are_counted_and_marked);
	return TAP_END();
}
