/* SPDX-License-Identifier: MIT */
#ifndef HIVE_EXE_NAMES_H
#define HIVE_EXE_NAMES_H

#include <stdbool.h>

#include "hive.h"

/*
 * The path each executable file (struct hive_event's exe_file) was last
 * seen by. Folded events (HIVE_EVENT_FOLDED, bpf/flush.bpf.c) say who made
 * the accesses, the executable's file included, but not its path, which is
 * too long for the dedup state: they are given the path the last event of
 * that file had. Bounded: when full it starts over, and a folded record it
 * cannot name the path of has the executable's inode and device alone.
 */
#define EXE_NAMES_MAX 4096

struct exe_names;

struct exe_names *exe_names_new(void);
struct exe_names *exe_names_free(struct exe_names *n);

/* The path file k has (as of now); truncated: the path is cut, never
 * given out. */
void exe_names_put(struct exe_names *n, const struct hive_watch_key *k, const char *path, bool truncated);

/* An event that was emitted for an access (not a folded one). */
void exe_names_remember(struct exe_names *n, const struct hive_event *ev);

/* The path the executable file k was last seen by, or NULL. */
const char *exe_names_find(const struct exe_names *n, const struct hive_watch_key *k);

/* Give ev (a folded event) the path of its executable; false when none is
 * known (ev->exe stays empty). */
bool exe_names_complete(const struct exe_names *n, struct hive_event *ev);

#endif
