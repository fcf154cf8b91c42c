/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "shared/hashmap.h"
#include "watch/retired.h"
#include "watch/watch.h"

struct retired {
	struct hashmap *slots;                  /* uint32_t id -> struct watch_inode */
	struct hashmap *files;                  /* struct hive_watch_key -> its latest file slot */
	struct watch_entry *ring[RETIRED_MAX]; /* owned; the oldest at next once full */
	size_t next, n;
};

int retired_new(struct retired **ret)
{
	struct retired *r = calloc(1, sizeof(*r));

	if (!r || !(r->slots = hashmap_new()) || !(r->files = hashmap_new())) {
		if (r)
			hashmap_free(r->slots);
		free(r);
		return -ENOMEM;
	}
	*ret = r;
	return 0;
}

static void slot_drop_entry(struct retired *r, uint32_t id, const struct watch_entry *e)
{
	struct watch_inode *slot = id ? hashmap_get(r->slots, &id, sizeof(id)) : NULL;

	if (!slot)
		return;
	for (size_t i = 0; i < slot->n_entries; i++)
		if (slot->entries[i] == e) {
			slot->entries[i] = slot->entries[--slot->n_entries];
			break;
		}
	if (slot->n_entries)
		return;
	hashmap_remove(r->slots, &id, sizeof(id));
	if (hashmap_get(r->files, &slot->file, sizeof(slot->file)) == slot)
		hashmap_remove(r->files, &slot->file, sizeof(slot->file));
	free(slot->entries);
	free(slot);
}

static void forget(struct retired *r, struct watch_entry *e)
{
	slot_drop_entry(r, e->file_id, e);
	slot_drop_entry(r, e->name_id, e);
	for (uint32_t i = 0; e->layers && i < e->layers->n; i++)
		slot_drop_entry(r, e->layers->at[i].id, e);
	watch_entry_free(e);
}

static int slot_add_entry(struct retired *r, uint32_t id, const struct hive_watch_key *key, struct watch_entry *e,
			  bool is_file)
{
	struct watch_inode *slot = hashmap_get(r->slots, &id, sizeof(id));
	struct watch_entry **grown;

	if (!slot) {
		slot = calloc(1, sizeof(*slot));
		if (!slot)
			return -ENOMEM;
		*slot = (struct watch_inode){ .file = *key, .id = id };
		if (hashmap_put(r->slots, &slot->id, sizeof(slot->id), slot, NULL) < 0) {
			free(slot);
			return -ENOMEM;
		}
		/* Best effort: found by its id otherwise. */
		if (is_file)
			(void)hashmap_put(r->files, &slot->file, sizeof(slot->file), slot, NULL);
	}
	grown = realloc(slot->entries, (slot->n_entries + 1) * sizeof(*grown));
	if (!grown) {
		if (!slot->n_entries) {
			hashmap_remove(r->slots, &id, sizeof(id));
			free(slot);
		}
		return -ENOMEM;
	}
	slot->entries = grown;
	slot->entries[slot->n_entries++] = e;
	slot->access |= watch_entry_access_at(e, slot);
	return 0;
}

void retired_add(struct retired *r, struct watch_entry *e)
{
	if (r->n == RETIRED_MAX)
		forget(r, r->ring[r->next]);
	else
		r->n++;
	r->ring[r->next] = e;
	r->next = (r->next + 1) % RETIRED_MAX;
	/* Out of memory: kept in the ring, found by neither id. */
	if (e->file_id && e->has_file && slot_add_entry(r, e->file_id, &e->file, e, true) < 0)
		e->file_id = 0;
	if (e->name_id && e->name && slot_add_entry(r, e->name_id, &e->name->dir, e, false) < 0)
		e->name_id = 0;
	for (uint32_t i = 0; e->layers && i < e->layers->n; i++)
		if (e->layers->at[i].id && slot_add_entry(r, e->layers->at[i].id, &e->layers->at[i].key, e, true) < 0)
			e->layers->at[i].id = 0;
}

const struct watch_inode *retired_find(const struct retired *r, uint32_t id, const struct hive_watch_key *key)
{
	const struct watch_inode *slot = hashmap_get(r->slots, &id, sizeof(id));

	return slot && watch_key_equal(&slot->file, key) ? slot : NULL;
}

const struct watch_inode *retired_find_file(const struct retired *r, const struct hive_watch_key *file)
{
	return hashmap_get(r->files, file, sizeof(*file));
}

struct retired *retired_free(struct retired *r)
{
	if (!r)
		return NULL;
	while (r->n > 0) {
		r->next = (r->next + RETIRED_MAX - 1) % RETIRED_MAX;
		forget(r, r->ring[r->next]);
		r->n--;
	}
	hashmap_free(r->slots);
	hashmap_free(r->files);
	free(r);
	return NULL;
}
