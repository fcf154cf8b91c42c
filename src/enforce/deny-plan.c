/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enforce/deny-plan.h"
#include "shared/hashmap.h"
#include "shared/macro.h"
#include "watch/policy.h"
#include "watch/process-filter.h"
#include "watch/watch.h"

#define DENIED_KINDS (HIVE_MAY_READ | HIVE_MAY_WRITE | HIVE_MAY_APPEND | HIVE_MAY_EXEC)

struct deny_filter_id {
	struct process_filter *filter; /* a reference: its address names no other filter meanwhile */
	char *scope;
	uint32_t id;
	bool used; /* by the plan being built */
};

static void filter_id_free(void *p)
{
	struct deny_filter_id *f = p;

	process_filter_unref(f->filter);
	free(f->scope);
	free(f);
}

void deny_filter_ids_init(struct deny_filter_ids *ids, uint32_t first)
{
	*ids = (struct deny_filter_ids){ .by_filter = hashmap_new(), .next = first ? first : 1 };
}

void deny_filter_ids_done(struct deny_filter_ids *ids)
{
	hashmap_free_with(ids->by_filter, filter_id_free);
	ids->by_filter = NULL;
}

void deny_plan_done(struct deny_plan *p)
{
	hashmap_free_with(p->rules, free);
	hashmap_free_with(p->members, free);
	*p = (struct deny_plan){};
}

struct building {
	const struct watch_set *set;
	const struct deny_containers *containers;
	struct deny_filter_ids *ids;
	struct deny_plan *plan;
};

/* The id of e's filter in e's scope, new ones numbered on. */
static struct deny_filter_id *filter_id(struct building *b, const struct watch_entry *e)
{
	_cleanup_(freep) char *name = NULL;
	struct deny_filter_id *f;

	if (asprintf(&name, "%p/%s", (const void *)e->filter, e->filter_scope ? e->filter_scope : "") < 0)
		return NULL;
	f = hashmap_get_str(b->ids->by_filter, name);
	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->scope = strdup(e->filter_scope ? e->filter_scope : ""))) {
		free(f);
		return NULL;
	}
	f->filter = process_filter_ref(e->filter);
	f->id = b->ids->next++;
	if (hashmap_put_str(b->ids->by_filter, name, f, NULL) < 0) {
		filter_id_free(f);
		return NULL;
	}
	return f;
}

static uint32_t set_kinds(const struct process_set *s)
{
	return (s->n_executables ? HIVE_PROC_EXE : 0) | (s->n_uids ? HIVE_PROC_UID : 0) |
	       (s->n_auids ? HIVE_PROC_AUID : 0) | (s->n_containers ? HIVE_PROC_CGROUP : 0);
}

static int member_add(struct deny_plan *p, const struct hive_deny_member *m)
{
	struct hive_deny_member *copy;

	if (hashmap_get(p->members, m, sizeof(*m)))
		return 0;
	copy = malloc(sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	*copy = *m;
	if (hashmap_put(p->members, copy, sizeof(*copy), copy, NULL) < 0) {
		free(copy);
		return -ENOMEM;
	}
	return 0;
}

struct cgroup_member {
	struct deny_plan *plan;
	struct hive_deny_member m;
};

static int add_cgroup(uint64_t cgroup_id, void *userdata)
{
	struct cgroup_member *c = userdata;

	c->m.value = cgroup_id;
	return member_add(c->plan, &c->m);
}

/* The values of one set as members. Containers by the cgroup ids of this
 * node's containers of that name (none without pods: no process of a pod
 * runs on a node without any). */
static int set_members(struct building *b, const struct deny_filter_id *f, const struct process_set *s, uint16_t except)
{
	struct hive_deny_member m = { .filter = f->id, .except = except };
	struct cgroup_member c = { .plan = b->plan, .m = { .filter = f->id, .except = except, .kind = HIVE_PROC_CGROUP } };
	int r = 0;

	for (size_t i = 0; i < s->n_containers && r >= 0 && b->containers && b->containers->foreach; i++)
		r = b->containers->foreach(b->containers->userdata, s->containers[i], add_cgroup, &c);

	m.kind = HIVE_PROC_UID;
	for (size_t i = 0; i < s->n_uids && r >= 0; i++) {
		m.value = s->uids[i];
		r = member_add(b->plan, &m);
	}
	m.kind = HIVE_PROC_AUID;
	for (size_t i = 0; i < s->n_auids && r >= 0; i++) {
		m.value = s->auids[i];
		r = member_add(b->plan, &m);
	}
	m.kind = HIVE_PROC_EXE;
	for (size_t i = 0; i < s->n_executables && r >= 0; i++) {
		_cleanup_(freep) char *key = watch_executable_key(f->scope, s->executables[i]);
		const struct watch_entry *x = key ? watch_set_get(b->set, key) : NULL;

		if (!key)
			return -ENOMEM;
		/* Not found (yet): nothing runs it. */
		if (!x || !x->has_file)
			continue;
		m.value = x->file.ino;
		m.dev = x->file.dev;
		m.gen = x->file.gen;
		r = member_add(b->plan, &m);
	}
	return r;
}

/* Room for rule in v: merged with one of the same action and filter, or a
 * free slot, or an audit-deny rule's when it refuses (that one is then
 * left out). False when a rule was left out. */
static bool rule_add(struct hive_deny_value *v, const struct hive_deny_rule *rule)
{
	struct hive_deny_rule *free_slot = NULL, *audit = NULL;

	for (size_t i = 0; i < HIVE_DENY_RULES; i++) {
		struct hive_deny_rule *r = &v->rules[i];

		if (!r->access) {
			free_slot = free_slot ?: r;
			continue;
		}
		if (r->action == rule->action && r->filter == rule->filter) {
			r->access |= rule->access;
			return true;
		}
		if (r->action == HIVE_DENY_AUDIT)
			audit = r;
	}
	if (free_slot) {
		*free_slot = *rule;
		return true;
	}
	if (audit && rule->action == HIVE_DENY_REFUSE)
		*audit = *rule;
	return false;
}

static int add_entry(const struct watch_entry *e, void *userdata)
{
	struct building *b = userdata;
	struct hive_deny_rule rule = {
		.access = e->access & DENIED_KINDS,
		.action = e->action == POLICY_ACTION_DENY ? HIVE_DENY_REFUSE : HIVE_DENY_AUDIT,
		.watch_id = e->file_id,
	};
	struct hive_deny_value *v;
	struct deny_filter_id *f;
	int r = 0;

	if (e->action == POLICY_ACTION_LOG || e->executable || !e->has_file || !rule.access)
		return 0;
	f = filter_id(b, e);
	if (!f)
		return -ENOMEM;
	rule.filter = f->id;
	if (e->filter && e->filter->has_only)
		rule.only = set_kinds(&e->filter->only);
	if (e->filter && e->filter->has_except)
		rule.except = set_kinds(&e->filter->except);
	if (!f->used && e->filter) {
		if (e->filter->has_only)
			r = set_members(b, f, &e->filter->only, 0);
		if (r >= 0 && e->filter->has_except)
			r = set_members(b, f, &e->filter->except, 1);
		if (r < 0)
			return r;
	}
	f->used = true;

	v = hashmap_get(b->plan->rules, &e->file, sizeof(e->file));
	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v || hashmap_put(b->plan->rules, &e->file, sizeof(e->file), v, NULL) < 0) {
			free(v);
			return -ENOMEM;
		}
	}
	if (!rule_add(v, &rule) && b->plan->n_left_out++ == 0)
		snprintf(b->plan->left_out, sizeof(b->plan->left_out), "%s (policy %s among them)", e->path, e->policy);
	return 0;
}

int deny_plan_build(const struct watch_set *s, const struct deny_containers *containers, struct deny_filter_ids *ids,
		    struct deny_plan *ret)
{
	struct building b = { .set = s, .containers = containers, .ids = ids, .plan = ret };
	struct hashmap_iter it;
	const void *name;
	size_t len;
	void *v;
	int r;

	*ret = (struct deny_plan){ .rules = hashmap_new(), .members = hashmap_new() };
	if (!ret->rules || !ret->members || !ids->by_filter) {
		deny_plan_done(ret);
		return -ENOMEM;
	}
	hashmap_iter_init(&it, ids->by_filter);
	while (hashmap_iter_next(&it, NULL, NULL, &v))
		((struct deny_filter_id *)v)->used = false;
	r = watch_set_foreach(s, add_entry, &b);
	if (r < 0) {
		deny_plan_done(ret);
		return r;
	}
	/* Filters no entry has any more are forgotten; their ids are not
	 * given again. */
	hashmap_iter_init(&it, ids->by_filter);
	while (hashmap_iter_next(&it, &name, &len, &v))
		if (!((struct deny_filter_id *)v)->used)
			filter_id_free(hashmap_remove(ids->by_filter, name, len));
	return 0;
}
