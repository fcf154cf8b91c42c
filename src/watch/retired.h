/* SPDX-License-Identifier: MIT */
#ifndef HIVE_RETIRED_H
#define HIVE_RETIRED_H

#include <stddef.h>
#include <stdint.h>

#include "hive.h"

struct watch_entry;
struct watch_inode;

/*
 * Entries the watch set removed, still found by the slot ids the kernel
 * echoes: an event can reach user space after its entry went — the ring
 * buffer's backlog, and the folded accesses the flusher reports up to three
 * dedup windows later — and the access was made while the file was watched,
 * so its record names that entry. Which matters when files are replaced: the
 * old file's entry goes at the replace, its late counts come after. Slot ids
 * are never reused, so a retired entry cannot be taken for a new one. The
 * last RETIRED_MAX are kept (a hostile writer replacing files in a loop
 * costs the agent that much memory, no more); an event for an older one is
 * counted as for a removed watch.
 */
#define RETIRED_MAX 16384

struct retired;

int retired_new(struct retired **ret);
struct retired *retired_free(struct retired *r);

/* Takes e (its slot ids as the set gave them: file_id, name_id). */
void retired_add(struct retired *r, struct watch_entry *e);

/* The retired entries of slot id, when key is its file (for a name's slot,
 * its directory); NULL otherwise. */
const struct watch_inode *retired_find(const struct retired *r, uint32_t id, const struct hive_watch_key *key);

/* The latest retired entries of file, whatever their id: for an event the
 * kernel could not give an id (the flusher's, once the file left the map). */
const struct watch_inode *retired_find_file(const struct retired *r, const struct hive_watch_key *file);

#endif
