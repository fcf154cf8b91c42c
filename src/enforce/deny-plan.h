/* SPDX-License-Identifier: MIT */
#ifndef HIVE_DENY_PLAN_H
#define HIVE_DENY_PLAN_H

#include <stdint.h>

#include "hive.h"

struct hashmap;
struct watch_set;

/*
 * What the kernel's deny program (bpf/deny.bpf.h) should hold for a watch
 * set: for each file of an enforced entry (action deny or audit-deny), its
 * rules, and the members of the rules' process filters. Pure: built from the
 * set alone, applied by kernel-deny.c.
 *
 * A process filter is written under an id of its own for each scope its
 * executables are resolved in (the same policy in two containers: two ids).
 * Ids are never reused while the agent runs (the kernel may still decide by
 * a rule written with an old one while its replacement is written), and
 * start above the highest one the maps held at start (a previous agent's).
 */
struct deny_filter_ids {
	struct hashmap *by_filter; /* "filter pointer/scope" -> struct deny_filter_id */
	uint32_t next;
};

struct deny_plan {
	struct hashmap *rules;   /* struct hive_watch_key -> struct hive_deny_value (owned) */
	struct hashmap *members; /* struct hive_deny_member -> a copy of it (owned) */
	/* Rules left out: a file with more than HIVE_DENY_RULES policies of
	 * its own (refusals are kept before audit-deny). The first such file,
	 * for the log. */
	size_t n_left_out;
	char left_out[256];
};

void deny_filter_ids_init(struct deny_filter_ids *ids, uint32_t first);
void deny_filter_ids_done(struct deny_filter_ids *ids);

/* The containers a process filter names, as the kernel tells processes
 * apart: each cgroup id of this node's containers of a name, to fn. NULL
 * (or a NULL foreach): there are none (standalone, no pods). */
struct deny_containers {
	int (*foreach)(void *userdata, const char *name, int (*fn)(uint64_t cgroup_id, void *ctx), void *ctx);
	/* Moves whenever a container's cgroup is found or gone. */
	uint64_t (*generation)(void *userdata);
	void *userdata;
};

/* ids: forgets the filters no entry of s has any more. */
int deny_plan_build(const struct watch_set *s, const struct deny_containers *containers, struct deny_filter_ids *ids,
		    struct deny_plan *ret);
void deny_plan_done(struct deny_plan *p);

#endif
