/* SPDX-License-Identifier: MIT */
#ifndef HIVE_FOLDED_H
#define HIVE_FOLDED_H

#include <stdbool.h>

#include "hive.h"

/*
 * Records of folded accesses (HIVE_EVENT_FOLDED, bpf/flush.bpf.c) come from
 * the kernel with the process id, the file and the access only: the process
 * may be long gone. They are filled in from the last event of the same
 * (process, file, access), remembered here. Bounded: when full, it starts
 * over, and a folded record it cannot complete names the pid alone.
 */
#define FOLDED_CACHE_MAX 4096

struct folded_cache;

struct folded_cache *folded_cache_new(void);
struct folded_cache *folded_cache_free(struct folded_cache *c);

/* An event that was emitted for an access (not a folded one). */
void folded_cache_remember(struct folded_cache *c, const struct hive_event *ev);

/* folded completed from what was remembered into *ret; false when nothing was
 * (*ret is then folded as it came). */
bool folded_cache_complete(const struct folded_cache *c, const struct hive_event *folded, struct hive_event *ret);

#endif
