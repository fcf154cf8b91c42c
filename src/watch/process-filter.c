/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/strv.h"
#include "watch/process-filter.h"

struct process_filter *process_filter_new(void)
{
	struct process_filter *f = calloc(1, sizeof(*f));

	if (f)
		f->n_ref = 1;
	return f;
}

struct process_filter *process_filter_ref(struct process_filter *f)
{
	if (f)
		f->n_ref++;
	return f;
}

static void set_done(struct process_set *s)
{
	strv_free(s->executables, s->n_executables);
	free(s->uids);
	free(s->auids);
	strv_free(s->containers, s->n_containers);
}

struct process_filter *process_filter_unref(struct process_filter *f)
{
	if (!f || --f->n_ref > 0)
		return NULL;
	set_done(&f->only);
	set_done(&f->except);
	free(f);
	return NULL;
}

bool process_set_is_empty(const struct process_set *s)
{
	return !s->n_executables && !s->n_uids && !s->n_auids && !s->n_containers;
}

static bool has_u32(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static bool has_string(char *const *v, size_t n, const char *x)
{
	for (size_t i = 0; x && i < n; i++)
		if (strcmp(v[i], x) == 0)
			return true;
	return false;
}

static bool runs_any(const struct process_set *set, const struct process_subject *s)
{
	for (size_t i = 0; i < set->n_executables; i++)
		if (s->runs && s->runs(set->executables[i], s->userdata))
			return true;
	return false;
}

/* Every kind the set names holds; cheapest first, the executables last
 * (a lookup of the watch set each). */
static bool set_matches(const struct process_set *set, const struct process_subject *s)
{
	return (!set->n_uids || has_u32(set->uids, set->n_uids, s->uid)) &&
	       (!set->n_auids || has_u32(set->auids, set->n_auids, s->auid)) &&
	       (!set->n_containers || has_string(set->containers, set->n_containers, s->container)) &&
	       (!set->n_executables || runs_any(set, s));
}

bool process_filter_admits(const struct process_filter *f, const struct process_subject *s)
{
	if (!f)
		return true;
	if (f->has_only && !set_matches(&f->only, s))
		return false;
	return !(f->has_except && set_matches(&f->except, s));
}

static bool strv_same(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool set_equal(const struct process_set *a, const struct process_set *b)
{
	return strv_same(a->executables, a->n_executables, b->executables, b->n_executables) &&
	       a->n_uids == b->n_uids && (!a->n_uids || memcmp(a->uids, b->uids, a->n_uids * sizeof(*a->uids)) == 0) &&
	       a->n_auids == b->n_auids &&
	       (!a->n_auids || memcmp(a->auids, b->auids, a->n_auids * sizeof(*a->auids)) == 0) &&
	       strv_same(a->containers, a->n_containers, b->containers, b->n_containers);
}

bool process_filter_equal(const struct process_filter *a, const struct process_filter *b)
{
	if (a == b)
		return true;
	if (!a || !b)
		return false;
	return a->has_only == b->has_only && a->has_except == b->has_except && set_equal(&a->only, &b->only) &&
	       set_equal(&a->except, &b->except);
}

int process_filter_foreach_executable(const struct process_filter *f, int (*fn)(const char *path, void *userdata),
				      void *userdata)
{
	if (!f)
		return 0;
	for (size_t i = 0; i < f->only.n_executables; i++) {
		int r = fn(f->only.executables[i], userdata);

		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < f->except.n_executables; i++) {
		int r;

		if (has_string(f->only.executables, f->only.n_executables, f->except.executables[i]))
			continue;
		r = fn(f->except.executables[i], userdata);
		if (r < 0)
			return r;
	}
	return 0;
}
