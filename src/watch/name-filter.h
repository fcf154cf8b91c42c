/* SPDX-License-Identifier: MIT */
#ifndef HIVE_NAME_FILTER_H
#define HIVE_NAME_FILTER_H

#include <stdint.h>

#include "hive.h"

/*
 * The user-space side of the name_filter map (hive.h, HIVE_NAME_FILTER_DIR()):
 * how many watched names set each bit, so that a bit is cleared when its
 * last name goes, and which words the map does not have yet.
 */
struct name_filter;

int name_filter_new(struct name_filter **ret);
struct name_filter *name_filter_free(struct name_filter *f);

/* A watched name comes (+1) or goes (-1): its directory's bit and its own.
 * Counted before the name enters the names map, after it left: the hooks
 * never miss a name because of the filter. */
void name_filter_count(struct name_filter *f, const struct hive_name_key *key, int delta);

/* A tree's root comes (+1) or goes (-1): its bit (HIVE_NAME_FILTER_TREE()),
 * which the hooks check at every parent of a file before asking the watch
 * map. */
void name_filter_count_tree(struct name_filter *f, const struct hive_watch_key *root, int delta);

/* Write the words that changed (all of them after name_filter_unsynced()):
 * put(map, word, bits) returns -errno; a word that failed stays to write. */
int name_filter_sync(struct name_filter *f, int (*put)(void *map, uint32_t word, uint64_t bits), void *map);
void name_filter_unsynced(struct name_filter *f);

#endif
