/* SPDX-License-Identifier: MIT */
#ifndef HIVE_HASHMAP_H
#define HIVE_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A chained hash map from byte-string keys to pointers. Keys are copied into
 * the map; values are borrowed. The hash is seeded per process because some
 * keys (pod names, paths) come from outside.
 */
struct hashmap;

struct hashmap *hashmap_new(void);
void hashmap_free(struct hashmap *m);
/* The same, each value passed to free_value first (once per entry: a value
 * in two maps is freed with one of them). */
void hashmap_free_with(struct hashmap *m, void (*free_value)(void *));

/* 0 on insert, 1 when an existing value was replaced (*old set if non-NULL),
 * -ENOMEM. */
int hashmap_put(struct hashmap *m, const void *key, size_t key_len, void *value, void **old);
void *hashmap_get(const struct hashmap *m, const void *key, size_t key_len);
/* Returns the removed value, or NULL. */
void *hashmap_remove(struct hashmap *m, const void *key, size_t key_len);
size_t hashmap_size(const struct hashmap *m);

/* Iteration; removing the current entry while iterating is allowed. */
struct hashmap_iter {
	const struct hashmap *map;
	size_t bucket;
	void *node, *next;
};
void hashmap_iter_init(struct hashmap_iter *it, const struct hashmap *m);
bool hashmap_iter_next(struct hashmap_iter *it, const void **key, size_t *key_len, void **value);

/* String keys are stored with their terminating NUL so iteration yields C strings. */
static inline int hashmap_put_str(struct hashmap *m, const char *key, void *value, void **old)
{
	return hashmap_put(m, key, strlen(key) + 1, value, old);
}
static inline void *hashmap_get_str(const struct hashmap *m, const char *key)
{
	return hashmap_get(m, key, strlen(key) + 1);
}
static inline void *hashmap_remove_str(struct hashmap *m, const char *key)
{
	return hashmap_remove(m, key, strlen(key) + 1);
}

#endif
