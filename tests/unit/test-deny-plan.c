/* SPDX-License-Identifier: MIT */
/* What the kernel's deny program is given for a watch set: rules per file,
 * the members of their process filters, filter ids never given twice. */
#include <stdlib.h>
#include <string.h>

#include "enforce/deny-plan.h"
#include "shared/hashmap.h"
#include "shared/macro.h"
#include "watch/policy.h"
#include "watch/process-filter.h"
#include "watch/watch.h"
#include "tap.h"

#define DEV ((8 << 20) | 1)

static struct watch_entry *enforced(const char *key, uint64_t ino, uint32_t access, int action,
				    struct process_filter *f)
{
	struct hive_watch_key file = { .ino = ino, .dev = DEV, .gen = 7 };
	struct watch_entry *e = watch_entry_new(key, &file, access, key, "/srv/secret", "node-1");

	e->action = action;
	e->filter = process_filter_ref(f);
	e->filter_scope = f ? strdup("host") : NULL;
	return e;
}

static struct watch_entry *executable(const char *path, uint64_t ino)
{
	_cleanup_(freep) char *key = watch_executable_key("host", path);
	struct hive_watch_key file = { .ino = ino, .dev = DEV, .gen = 3 };
	struct watch_entry *e = watch_entry_new(key, &file, 0, "p", path, "node-1");

	e->executable = true;
	return e;
}

/* except: {"executables": [exe], "uids": [uid]} */
static struct process_filter *except_filter(const char *exe, uint32_t uid)
{
	struct process_filter *f = process_filter_new();

	f->has_except = true;
	f->except.executables = calloc(1, sizeof(char *));
	f->except.executables[0] = strdup(exe);
	f->except.n_executables = 1;
	f->except.uids = malloc(sizeof(uint32_t));
	f->except.uids[0] = uid;
	f->except.n_uids = 1;
	return f;
}

static const struct hive_deny_value *rules_of(const struct deny_plan *p, uint64_t ino)
{
	struct hive_watch_key key = { .ino = ino, .dev = DEV, .gen = 7 };

	return hashmap_get(p->rules, &key, sizeof(key));
}

static bool has_member(const struct deny_plan *p, struct hive_deny_member m)
{
	return hashmap_get(p->members, &m, sizeof(m)) != NULL;
}

static void test_rules_and_members(void)
{
	struct process_filter *f = except_filter("/usr/bin/head", 1000);
	const struct hive_deny_value *v;
	struct deny_filter_ids ids;
	struct deny_plan plan;
	struct watch_set *s;

	CHECK(watch_set_new(&s) == 0);
	deny_filter_ids_init(&ids, 5);
	CHECK(watch_set_put(s, enforced("deny", 10, HIVE_MAY_READ | HIVE_ACCESS_ATTRIB, POLICY_ACTION_DENY, f)) >= 0);
	CHECK(watch_set_put(s, enforced("audit", 10, HIVE_MAY_WRITE, POLICY_ACTION_AUDIT_DENY, NULL)) >= 0);
	CHECK(watch_set_put(s, enforced("log", 11, HIVE_MAY_READ, POLICY_ACTION_LOG, NULL)) >= 0);
	CHECK(watch_set_put(s, executable("/usr/bin/head", 50)) >= 0);
	CHECK(deny_plan_build(s, NULL, &ids, &plan) == 0);

	/* One file; the log policy's is not the deny program's. */
	CHECK(hashmap_size(plan.rules) == 1);
	CHECK(!rules_of(&plan, 11));
	v = rules_of(&plan, 10);
	CHECK(v != NULL);
	if (v) {
		const struct hive_deny_rule *deny = v->rules[0].action == HIVE_DENY_REFUSE ? &v->rules[0] : &v->rules[1];
		const struct hive_deny_rule *audit = deny == &v->rules[0] ? &v->rules[1] : &v->rules[0];

		/* Only the kinds an open or exec is: attrib is no open. */
		CHECK(deny->access == HIVE_MAY_READ && deny->action == HIVE_DENY_REFUSE);
		CHECK(deny->except == (HIVE_PROC_EXE | HIVE_PROC_UID) && deny->only == 0);
		CHECK(deny->filter >= 5);
		CHECK(audit->access == HIVE_MAY_WRITE && audit->action == HIVE_DENY_AUDIT && !audit->except);
		CHECK(audit->filter != deny->filter);
		CHECK(v->rules[2].access == 0 && v->rules[3].access == 0);
		/* The executable by the inode its path leads to, with its generation. */
		CHECK(has_member(&plan, (struct hive_deny_member){ .filter = deny->filter, .kind = HIVE_PROC_EXE,
								   .except = 1, .value = 50, .dev = DEV, .gen = 3 }));
		CHECK(has_member(&plan, (struct hive_deny_member){ .filter = deny->filter, .kind = HIVE_PROC_UID,
								   .except = 1, .value = 1000 }));
		CHECK(hashmap_size(plan.members) == 2);
	}
	deny_plan_done(&plan);

	/* Built again: the same ids (5 and 6 above, none new). */
	CHECK(ids.next == 7);
	CHECK(deny_plan_build(s, NULL, &ids, &plan) == 0);
	CHECK(rules_of(&plan, 10) != NULL);
	CHECK(ids.next == 7);
	deny_plan_done(&plan);

	/* The executable not found (yet): no process runs it, the kind stays. */
	{
		_cleanup_(freep) char *key = watch_executable_key("host", "/usr/bin/head");

		CHECK(watch_set_remove(s, key) >= 0);
	}
	CHECK(deny_plan_build(s, NULL, &ids, &plan) == 0);
	CHECK(hashmap_size(plan.members) == 1);
	deny_plan_done(&plan);

	/* The policy gone and another made: a new id, never the old one. */
	CHECK(watch_set_remove(s, "deny") >= 0);
	CHECK(deny_plan_build(s, NULL, &ids, &plan) == 0);
	deny_plan_done(&plan);
	{
		struct process_filter *g = except_filter("/usr/bin/tail", 0);
		const struct hive_deny_value *w;

		CHECK(watch_set_put(s, enforced("deny2", 10, HIVE_MAY_READ, POLICY_ACTION_DENY, g)) >= 0);
		CHECK(deny_plan_build(s, NULL, &ids, &plan) == 0);
		w = rules_of(&plan, 10);
		CHECK(w && (w->rules[0].filter >= 7 || w->rules[1].filter >= 7));
		deny_plan_done(&plan);
		process_filter_unref(g);
	}
	deny_filter_ids_done(&ids);
	watch_set_free(s);
	process_filter_unref(f);
}

/* More policies on one file than the kernel's value holds: refusals before
 * audit-deny, the rest said. */
static void test_too_many_rules(void)
{
	struct process_filter *f[HIVE_DENY_RULES + 1];
	const struct hive_deny_value *v;
	struct deny_filter_ids ids;
	struct deny_plan plan;
	struct watch_set *s;
	size_t refusals = 0;

	CHECK(watch_set_new(&s) == 0);
	deny_filter_ids_init(&ids, 0);
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		char key[16];

		f[i] = except_filter("/usr/bin/head", (uint32_t)i);
		snprintf(key, sizeof(key), "p%zu", i);
		/* The last one refuses; the others only audit. */
		CHECK(watch_set_put(s, enforced(key, 10, HIVE_MAY_READ,
						i == ARRAY_SIZE(f) - 1 ? POLICY_ACTION_DENY : POLICY_ACTION_AUDIT_DENY,
						f[i])) >= 0);
	}
	CHECK(deny_plan_build(s, NULL, &ids, &plan) == 0);
	v = rules_of(&plan, 10);
	CHECK(v != NULL);
	for (size_t i = 0; v && i < HIVE_DENY_RULES; i++)
		refusals += v->rules[i].action == HIVE_DENY_REFUSE;
	CHECK(refusals == 1);
	CHECK(plan.n_left_out == 1);
	CHECK(strstr(plan.left_out, "/srv/secret") != NULL);
	deny_plan_done(&plan);
	deny_filter_ids_done(&ids);
	watch_set_free(s);
	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		process_filter_unref(f[i]);
}

/* This node's containers: "nginx" twice (two pods), "sidecar" once. */
static int fake_cgroups(void *userdata, const char *name, int (*fn)(uint64_t cgroup_id, void *ctx), void *ctx)
{
	static const struct {
		const char *name;
		uint64_t id;
	} node[] = { { "nginx", 101 }, { "sidecar", 102 }, { "nginx", 103 } };
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(node) && r >= 0; i++)
		if (strcmp(node[i].name, name) == 0)
			r = fn(node[i].id, ctx);
	return r;
}

static void test_containers_by_cgroup(void)
{
	struct process_filter *f = process_filter_new();
	struct deny_containers containers = { .foreach = fake_cgroups };
	const struct hive_deny_value *v;
	struct deny_filter_ids ids;
	struct deny_plan plan;
	struct watch_set *s;

	/* only: {"containers": ["nginx", "gone"]} */
	f->has_only = true;
	f->only.containers = calloc(2, sizeof(char *));
	f->only.containers[0] = strdup("nginx");
	f->only.containers[1] = strdup("gone");
	f->only.n_containers = 2;
	CHECK(watch_set_new(&s) == 0);
	deny_filter_ids_init(&ids, 1);
	CHECK(watch_set_put(s, enforced("deny", 10, HIVE_MAY_READ, POLICY_ACTION_DENY, f)) >= 0);
	CHECK(deny_plan_build(s, &containers, &ids, &plan) == 0);
	v = rules_of(&plan, 10);
	CHECK(v && v->rules[0].only == HIVE_PROC_CGROUP);
	/* Each cgroup of a container of that name, on this node; none of
	 * another name, nothing for a name no container has. */
	if (v) {
		CHECK(has_member(&plan, (struct hive_deny_member){ .filter = v->rules[0].filter,
								   .kind = HIVE_PROC_CGROUP, .value = 101 }));
		CHECK(has_member(&plan, (struct hive_deny_member){ .filter = v->rules[0].filter,
								   .kind = HIVE_PROC_CGROUP, .value = 103 }));
	}
	CHECK(hashmap_size(plan.members) == 2);
	deny_plan_done(&plan);
	/* Without pods (standalone): the rule still names containers, with
	 * no member: no process is one of them. */
	CHECK(deny_plan_build(s, NULL, &ids, &plan) == 0);
	CHECK(hashmap_size(plan.members) == 0);
	CHECK(rules_of(&plan, 10) && rules_of(&plan, 10)->rules[0].only == HIVE_PROC_CGROUP);
	deny_plan_done(&plan);
	deny_filter_ids_done(&ids);
	watch_set_free(s);
	process_filter_unref(f);
}

int main(void)
{
	RUN(test_rules_and_members);
	RUN(test_containers_by_cgroup);
	RUN(test_too_many_rules);
	return TAP_END();
}
