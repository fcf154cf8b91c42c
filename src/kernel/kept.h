/* SPDX-License-Identifier: MIT */
#ifndef HIVE_KEPT_H
#define HIVE_KEPT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The kernel side one agent leaves to the next: its BPF maps and the links of
 * its attached hooks, as descriptors. The daemon hands them to the service
 * manager's file descriptor store (daemon/fdstore.h) and takes them back at
 * start; the loader adopts the maps when they fit (loader_options.kept).
 */

enum kept_map {
	KEPT_WATCHES,
	KEPT_EVENTS,
	KEPT_DEDUP,
	KEPT_STATS,
	KEPT_CONTROL,
	KEPT_NAMES,
	KEPT_NAME_FILTER,
	KEPT_EXITS,
	KEPT_TRUNCATIONS,
	KEPT_CHANGERS,
	KEPT_EXECS,
	KEPT_CHANGED,
	KEPT_DENIES,
	KEPT_DENY_MEMBERS,
	_KEPT_MAP_MAX,
};

#define KEPT_LINKS_MAX 19 /* every hook of a mode (HOOKS_MAX) and the deny program */

struct kept_bpf {
	int maps[_KEPT_MAP_MAX]; /* -1: none */
	int links[KEPT_LINKS_MAX];
	size_t n_links;
};

#define KEPT_BPF_NONE                                                                                          \
	(struct kept_bpf)                                                                                      \
	{                                                                                                      \
		.maps = { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 }                               \
	}

/*
 * What a loader of the deny program alone left (a cluster's follower refuses
 * with one, daemon/manager.c): its link keeps its refusals while no agent
 * runs, and its ring buffer holds the records of what it refused meanwhile.
 * -1: none.
 */
struct kept_refusals {
	int link;
	int events;
};

#define KEPT_REFUSALS_NONE ((struct kept_refusals){ .link = -1, .events = -1 })

bool kept_bpf_any(const struct kept_bpf *k);
/* Close our copies (old links: their programs detach unless stored again). */
void kept_bpf_close(struct kept_bpf *k);
void kept_refusals_close(struct kept_refusals *k);

#endif
