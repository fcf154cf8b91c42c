/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "enforce/deny-plan.h"
#include "enforce/kernel-deny.h"
#include "kernel/loader.h"
#include "shared/hashmap.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "watch/watch.h"

struct kernel_denier {
	struct kernel_denier_options o;
	struct loader *loader;
	sd_event_source *post;
	struct deny_filter_ids ids;
	/* What this agent wrote into the loader's maps. */
	struct deny_plan written;
	uint64_t generation, containers_generation;
	bool synced, pruned;
	int last_error; /* said once */
	size_t last_left_out;
};

/* Whether r is no error; an error is said once until another comes. */
static bool say_error(struct kernel_denier *d, int r, const char *what)
{
	if (r < 0 && r != d->last_error)
		log_error_errno(r, "Cannot write %s into the kernel's deny maps (%m): the access may not be refused.",
				what);
	d->last_error = r < 0 ? r : d->last_error;
	return r >= 0;
}

/* Nothing written yet (new maps, or another loader's). */
static int written_reset(struct kernel_denier *d)
{
	deny_plan_done(&d->written);
	d->written = (struct deny_plan){ .rules = hashmap_new(), .members = hashmap_new() };
	return d->written.rules && d->written.members ? 0 : -ENOMEM;
}

static int highest_rule_filter(const struct hive_watch_key *key, const struct hive_deny_value *v, void *userdata)
{
	uint32_t *highest = userdata;

	for (size_t i = 0; i < HIVE_DENY_RULES; i++)
		*highest = MAX(*highest, v->rules[i].filter);
	return 0;
}

static int highest_member_filter(const struct hive_deny_member *m, void *userdata)
{
	uint32_t *highest = userdata;

	*highest = MAX(*highest, m->filter);
	return 0;
}

/* Filter ids above every one the maps hold (a previous agent's). */
static uint32_t first_free_id(const struct loader *l)
{
	uint32_t highest = 0;

	(void)loader_deny_foreach(l, highest_rule_filter, highest_member_filter, &highest);
	return highest + 1;
}

/* The first rule attached the program: said, and its link kept. */
static void tell_attach(struct kernel_denier *d, bool before)
{
	if (before || !loader_deny_attached(d->loader))
		return;
	log_info("Attached the BPF LSM program that refuses deny policies' accesses.");
	if (d->o.attach_changed)
		d->o.attach_changed(d->o.userdata);
}

/* Members before the rules that name them, rules before removing what they
 * replace, members of gone rules last: the kernel never decides by a rule
 * whose members are half written. */
static void apply(struct kernel_denier *d, struct deny_plan *plan)
{
	bool attached = loader_deny_attached(d->loader);
	struct hashmap_iter it;
	const void *key;
	size_t len;
	void *v;

	/* What the kernel refused is left out of what is written: tried
	 * again at the next change. */
	hashmap_iter_init(&it, plan->members);
	while (hashmap_iter_next(&it, &key, &len, NULL))
		if (!hashmap_get(d->written.members, key, len) && !say_error(d, loader_deny_member_put(d->loader, key),
									       "a process filter"))
			free(hashmap_remove(plan->members, key, len));
	hashmap_iter_init(&it, plan->rules);
	while (hashmap_iter_next(&it, &key, &len, &v)) {
		const struct hive_deny_value *old = hashmap_get(d->written.rules, key, len);

		if ((old && memcmp(old, v, sizeof(*old)) == 0) || say_error(d, loader_deny_put(d->loader, key, v), "a rule"))
			continue;
		if (old) /* the kernel still has the old one */
			memcpy(v, old, sizeof(*old));
		else
			free(hashmap_remove(plan->rules, key, len));
	}
	hashmap_iter_init(&it, d->written.rules);
	while (hashmap_iter_next(&it, &key, NULL, NULL))
		if (!hashmap_get(plan->rules, key, sizeof(struct hive_watch_key)))
			(void)loader_deny_delete(d->loader, key);
	hashmap_iter_init(&it, d->written.members);
	while (hashmap_iter_next(&it, &key, NULL, NULL))
		if (!hashmap_get(plan->members, key, sizeof(struct hive_deny_member)))
			(void)loader_deny_member_delete(d->loader, key);
	deny_plan_done(&d->written);
	d->written = *plan;
	*plan = (struct deny_plan){};
	/* Once attached, the program stays while this agent runs, rules or
	 * none: Linux 5.10 refuses to attach a BPF LSM program a second time
	 * (ENOENT), which would leave a deny policy of a later reload
	 * refusing nothing. A rule-less program costs an open one lookup. */
	tell_attach(d, attached);
}

static uint64_t containers_generation(const struct kernel_denier *d)
{
	return d->o.containers.generation ? d->o.containers.generation(d->o.containers.userdata) : 0;
}

static void sync_rules(struct kernel_denier *d)
{
	struct deny_plan plan;
	int r;

	d->generation = watch_set_local_generation(d->o.watches);
	d->containers_generation = containers_generation(d);
	r = deny_plan_build(d->o.watches, &d->o.containers, &d->ids, &plan);
	if (r < 0) {
		say_error(d, r, "the rules");
		return;
	}
	if (plan.n_left_out && plan.n_left_out != d->last_left_out)
		log_error("A file has more than %d deny or audit-deny policies of its own: %zu rules left out in the "
			  "kernel (refusals kept first), on %s.",
			  HIVE_DENY_RULES, plan.n_left_out, plan.left_out);
	d->last_left_out = plan.n_left_out;
	apply(d, &plan);
	deny_plan_done(&plan);
	d->synced = true;
}

void kernel_denier_sync(struct kernel_denier *d)
{
	if (d && d->loader &&
	    (!d->synced || watch_set_local_generation(d->o.watches) != d->generation ||
	     containers_generation(d) != d->containers_generation))
		sync_rules(d);
}

/* After each turn of the loop: the set changed, the maps follow. */
static int on_post(sd_event_source *s, void *userdata)
{
	kernel_denier_sync(userdata);
	return 0;
}

int kernel_denier_new(sd_event *event, struct loader *loader, const struct kernel_denier_options *o,
		      struct kernel_denier **ret)
{
	struct kernel_denier *d;
	int r;

	if (!loader_can_deny(loader))
		return -EOPNOTSUPP;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->o = *o;
	d->loader = loader;
	/* New maps hold nothing to prune. */
	d->pruned = !loader_adopted(loader);
	deny_filter_ids_init(&d->ids, first_free_id(loader));
	if (!d->ids.by_filter || written_reset(d) < 0) {
		kernel_denier_free(d);
		return -ENOMEM;
	}
	r = sd_event_add_post(event, &d->post, on_post, d);
	if (r < 0) {
		kernel_denier_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

struct kernel_denier *kernel_denier_free(struct kernel_denier *d)
{
	if (!d)
		return NULL;
	sd_event_source_disable_unref(d->post);
	deny_plan_done(&d->written);
	deny_filter_ids_done(&d->ids);
	free(d);
	return NULL;
}

int kernel_denier_set_loader(struct kernel_denier *d, struct loader *loader)
{
	if (loader == d->loader)
		return 0;
	d->loader = loader;
	if (written_reset(d) < 0)
		return -ENOMEM;
	if (!loader || !loader_can_deny(loader)) {
		d->loader = NULL;
		return -EOPNOTSUPP;
	}
	d->ids.next = MAX(d->ids.next, first_free_id(loader));
	d->pruned = !loader_adopted(loader);
	sync_rules(d);
	return 0;
}

static int prune_rule(const struct hive_watch_key *key, const struct hive_deny_value *v, void *userdata)
{
	struct kernel_denier *d = userdata;

	if (!hashmap_get(d->written.rules, key, sizeof(*key)))
		(void)loader_deny_delete(d->loader, key);
	return 0;
}

static int prune_member(const struct hive_deny_member *m, void *userdata)
{
	struct kernel_denier *d = userdata;

	if (!hashmap_get(d->written.members, m, sizeof(*m)))
		(void)loader_deny_member_delete(d->loader, m);
	return 0;
}

void kernel_denier_prune(struct kernel_denier *d)
{
	if (!d || !d->loader || d->pruned)
		return;
	sync_rules(d);
	(void)loader_deny_foreach(d->loader, prune_rule, prune_member, d);
	d->pruned = true;
}
