/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "output/folded.h"
#include "shared/hashmap.h"
#include "shared/macro.h"

struct folded_cache {
	struct hashmap *map; /* struct hive_dedup_key -> struct hive_event */
};

static struct hive_dedup_key key_of(const struct hive_event *ev)
{
	return (struct hive_dedup_key){ .ino = ev->ino, .dev = ev->dev, .gen = ev->gen, .tgid = ev->tgid,
					.mask = ev->mask };
}

static void clear(struct hashmap *m)
{
	struct hashmap_iter it;
	const void *k;
	size_t len;
	void *v;

	hashmap_iter_init(&it, m);
	while (hashmap_iter_next(&it, &k, &len, &v)) {
		hashmap_remove(m, k, len);
		free(v);
	}
}

struct folded_cache *folded_cache_new(void)
{
	struct folded_cache *c = calloc(1, sizeof(*c));

	if (c && !(c->map = hashmap_new()))
		c = mfree(c);
	return c;
}

struct folded_cache *folded_cache_free(struct folded_cache *c)
{
	if (!c)
		return NULL;
	clear(c->map);
	hashmap_free(c->map);
	free(c);
	return NULL;
}

void folded_cache_remember(struct folded_cache *c, const struct hive_event *ev)
{
	struct hive_dedup_key k = key_of(ev);
	struct hive_event *copy = hashmap_get(c->map, &k, sizeof(k));

	if (copy) {
		*copy = *ev;
		return;
	}
	if (hashmap_size(c->map) >= FOLDED_CACHE_MAX)
		clear(c->map);
	copy = malloc(sizeof(*copy));
	if (!copy)
		return;
	*copy = *ev;
	if (hashmap_put(c->map, &k, sizeof(k), copy, NULL) < 0)
		free(copy);
}

bool folded_cache_complete(const struct folded_cache *c, const struct hive_event *folded, struct hive_event *ret)
{
	struct hive_dedup_key k = key_of(folded);
	const struct hive_event *last = hashmap_get(c->map, &k, sizeof(k));

	*ret = last ? *last : *folded;
	ret->boot_ns = folded->boot_ns;
	ret->suppressed = folded->suppressed;
	/* What the accesses were found by is the kernel's (the dedup entry
	 * keeps it): an entry removed since is still found among the retired
	 * ones (watch/retired.h). */
	ret->flags = ((last ? last->flags : 0) & ~HIVE_EVENT_BY_NAME) | folded->flags;
	ret->watch_id = folded->watch_id;
	ret->dir = folded->dir;
	return last;
}
