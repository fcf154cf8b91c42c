/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "shared/names.h"
#include "shared/strv.h"
#include "watch/policy.h"

/* The policy model: sets of policies, their copies, names and kinds. The
 * JSON they come from is read by policy-parse.c, policy-resource.c and
 * policy-dir.c. */

static void selector_done(struct label_selector *s)
{
	strv_free(s->match_keys, s->n_match);
	strv_free(s->match_values, s->n_match);
	for (size_t i = 0; i < s->n_expressions; i++) {
		free(s->expressions[i].key);
		strv_free(s->expressions[i].values, s->expressions[i].n_values);
	}
	free(s->expressions);
}

static const char *const action_names[_POLICY_ACTION_MAX] = {
	[POLICY_ACTION_LOG] = "log",
	[POLICY_ACTION_DENY] = "deny",
	[POLICY_ACTION_AUDIT_DENY] = "audit-deny",
};

const char *policy_action_to_string(enum policy_action a)
{
	return a < _POLICY_ACTION_MAX ? action_names[a] : NULL;
}

void policy_done(struct policy *p)
{
	free(p->name);
	free(p->id);
	free(p->file);
	strv_free(p->paths, p->n_paths);
	strv_free(p->namespaces, p->n_namespaces);
	strv_free(p->containers, p->n_containers);
	selector_done(&p->pod_selector);
	process_filter_unref(p->filter);
	*p = (struct policy){};
}

struct policy_set *policy_set_new(void)
{
	return calloc(1, sizeof(struct policy_set));
}

struct policy_set *policy_set_free(struct policy_set *set)
{
	if (!set)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		policy_done(&set->policies[i]);
	free(set->policies);
	free(set);
	return NULL;
}

struct policy *policy_set_grow(struct policy_set *set, int *ret)
{
	struct policy *grown;

	*ret = -E2BIG;
	if (set->n >= POLICY_MAX_POLICIES)
		return NULL;
	*ret = -ENOMEM;
	grown = realloc(set->policies, (set->n + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	set->policies = grown;
	*ret = 0;
	return memset(&set->policies[set->n], 0, sizeof(struct policy));
}

static int selector_copy(struct label_selector *t, const struct label_selector *s)
{
	t->n_match = s->n_match;
	if (strv_copy(s->match_keys, s->n_match, &t->match_keys) < 0 ||
	    strv_copy(s->match_values, s->n_match, &t->match_values) < 0)
		return -ENOMEM;
	if (!s->n_expressions)
		return 0;
	t->expressions = calloc(s->n_expressions, sizeof(*t->expressions));
	if (!t->expressions)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_expressions; i++, t->n_expressions++) {
		struct label_requirement *a = &t->expressions[i];
		const struct label_requirement *b = &s->expressions[i];

		a->op = b->op;
		a->n_values = b->n_values;
		if (!(a->key = strdup(b->key)) || strv_copy(b->values, b->n_values, &a->values) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int policy_copy(struct policy *dst, const struct policy *src)
{
	*dst = (struct policy){
		.kind = src->kind,
		.generation = src->generation,
		.host = src->host,
		.follow_symlinks = src->follow_symlinks,
		.n_paths = src->n_paths,
		.access = src->access,
		.action = src->action,
		.n_namespaces = src->n_namespaces,
		.has_pod_selector = src->has_pod_selector,
		.n_containers = src->n_containers,
		.filter = process_filter_ref(src->filter), /* read-only once parsed */
	};
	dst->name = strdup(src->name);
	dst->id = strdup(src->id);
	dst->file = strdup(src->file);
	if (!dst->name || !dst->id || !dst->file || strv_copy(src->paths, src->n_paths, &dst->paths) < 0 ||
	    strv_copy(src->namespaces, src->n_namespaces, &dst->namespaces) < 0 ||
	    strv_copy(src->containers, src->n_containers, &dst->containers) < 0)
		return -ENOMEM;
	return selector_copy(&dst->pod_selector, &src->pod_selector);
}

int policy_set_append(struct policy_set *dst, const struct policy_set *src)
{
	for (size_t i = 0; i < src->n; i++) {
		struct policy *p;
		int r;

		p = policy_set_grow(dst, &r);
		if (!p)
			return r;
		r = policy_copy(p, &src->policies[i]);
		if (r < 0) {
			policy_done(p);
			return r;
		}
		dst->n++;
	}
	return 0;
}

int policy_set_validate(const struct policy_set *set, struct diag *d)
{
	int r = 0;

	for (size_t i = 0; i < set->n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(set->policies[i].id, set->policies[j].id) == 0) {
				diag_add(d, "%s: policy \"%s\": name already used in %s", set->policies[i].file,
					 set->policies[i].name, set->policies[j].file);
				r = -EINVAL;
				break;
			}
	return r;
}

static const char *const kind_names[_POLICY_KIND_MAX] = {
	[POLICY_KIND_FILE] = "file",
	[POLICY_KIND_CLUSTER] = "HivePolicy",
	[POLICY_KIND_NAMESPACED] = "HiveNamespacedPolicy",
};

const char *policy_kind_to_string(enum policy_kind k)
{
	return k < _POLICY_KIND_MAX ? kind_names[k] : NULL;
}

const char *policy_kind_canonical(const char *s)
{
	for (size_t i = 0; i < _POLICY_KIND_MAX; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return kind_names[i];
	return NULL;
}

bool policy_name_is_valid(const char *name)
{
	const char *slash = strchr(name, '/');
	char ns[64];

	if (!slash)
		return dns_label_is_valid(name);
	if ((size_t)(slash - name) >= sizeof(ns))
		return false;
	memcpy(ns, name, slash - name);
	ns[slash - name] = 0;
	return dns_label_is_valid(ns) && dns_label_is_valid(slash + 1);
}

bool policy_path_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

enum policy_tree policy_path_tree(const char *path, size_t *root_len)
{
	size_t len = strlen(path);

	if (len >= 3 && strcmp(path + len - 3, "/**") == 0) {
		*root_len = len == 3 ? 1 : len - 3;
		return POLICY_TREE_ALL;
	}
	if (len >= 2 && strcmp(path + len - 2, "/*") == 0) {
		*root_len = len == 2 ? 1 : len - 2;
		return POLICY_TREE_ENTRIES;
	}
	return POLICY_TREE_NONE;
}

const char *policy_path_invalid(const char *s)
{
	const char *p = s;

	if (s[0] != '/')
		return "is not an absolute path";
	if (strlen(s) >= PATH_MAX)
		return "is longer than PATH_MAX";
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return "contains a control character";
	if (strcmp(s, "/") == 0)
		return NULL;
	/* Each component: not empty, not "." or "..", so the path a record
	 * shows is the path that was resolved. */
	while (*p == '/') {
		const char *c = ++p;
		size_t len;

		while (*p && *p != '/')
			p++;
		len = p - c;
		if (len == 0)
			return *p ? "has an empty component (\"//\")" : "ends with \"/\"";
		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return "has a \".\" or \"..\" component";
		if (len > NAME_MAX)
			return "has a component longer than NAME_MAX";
	}
	return NULL;
}

bool policy_path_is_valid(const char *path)
{
	return !policy_path_invalid(path);
}
