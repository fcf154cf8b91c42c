/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "shared/json.h"
#include "shared/macro.h"
#include "shared/names.h"
#include "watch/policy-json.h"
#include "watch/policy.h"

/* HivePolicy and HiveNamespacedPolicy objects of the API server, checked by
 * the same validator as a file's policies (policy-parse.c). */

/* "HivePolicy NAME" or "HiveNamespacedPolicy NAMESPACE/NAME", once the
 * metadata is known to be sound; NULL with the problem said otherwise. */
static int object_label(enum policy_kind kind, const cJSON *meta, char **ret, struct diag *d)
{
	const char *name = json_string(meta, "name"), *ns = json_string(meta, "namespace");
	bool namespaced = kind == POLICY_KIND_NAMESPACED;
	char buf[96];

	if (!name || !dns_label_is_valid(name)) {
		diag_add(d, "%s: metadata.name \"%s\" is not a valid policy name (a DNS label)",
			 policy_kind_to_string(kind), name ? json_shown(name, buf) : "");
		return -EINVAL;
	}
	if (namespaced ? !ns || !dns_label_is_valid(ns) : ns != NULL) {
		diag_add(d, "%s %s: metadata.namespace is %s", policy_kind_to_string(kind), name,
			 namespaced ? "missing or invalid" : "set on a cluster-scoped object");
		return -EINVAL;
	}
	if (asprintf(ret, "%s %s%s%s", policy_kind_to_string(kind), namespaced ? ns : "", namespaced ? "/" : "",
		     name) < 0)
		return -ENOMEM;
	return 0;
}

/*
 * The object's spec as the policy a file would hold: named after the
 * object, and a namespaced one limited to its namespace. What only a file may
 * say is refused first: the namespaced CRD has no such fields, but an older
 * or loosened one might let them through.
 */
static int spec_as_policy(enum policy_kind kind, const cJSON *object, const char *label, cJSON **ret, struct diag *d)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(object, "metadata");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(object, "spec");
	const char *name = json_string(meta, "name"), *ns = json_string(meta, "namespace");
	bool namespaced = kind == POLICY_KIND_NAMESPACED;
	cJSON *copy;

	if (!cJSON_IsObject(spec)) {
		diag_add(d, "%s: spec: must be an object", label);
		return -EINVAL;
	}
	for (const char *const *f = (const char *const[]){ "host", "namespaces", NULL }; namespaced && *f; f++)
		if (cJSON_GetObjectItemCaseSensitive(spec, *f)) {
			diag_add(d, "%s: spec.%s: not allowed: a HiveNamespacedPolicy selects pods of its own namespace only",
				 label, *f);
			return -EINVAL;
		}
	if (cJSON_GetObjectItemCaseSensitive(spec, "name")) {
		diag_add(d, "%s: spec.name: unknown field (the name is metadata.name)", label);
		return -EINVAL;
	}
	copy = cJSON_Duplicate(spec, true);
	if (!copy || !cJSON_AddStringToObject(copy, "name", name) ||
	    (namespaced && !cJSON_AddItemToObject(copy, "namespaces", cJSON_CreateStringArray(&ns, 1)))) {
		cJSON_Delete(copy);
		return -ENOMEM;
	}
	*ret = copy;
	return 0;
}

/* HIVE_POLICY is NAMESPACE/NAME for a namespaced policy; the id keeps a
 * HivePolicy apart from a file policy of the same name. */
static int name_policy(struct policy *p, enum policy_kind kind, const cJSON *meta)
{
	const char *name = json_string(meta, "name"), *ns = json_string(meta, "namespace");
	const cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");

	free(p->name);
	free(p->id);
	p->name = p->id = NULL;
	if (kind == POLICY_KIND_NAMESPACED ? asprintf(&p->name, "%s/%s", ns, name) < 0 : !(p->name = strdup(name)))
		return -ENOMEM;
	if (asprintf(&p->id, kind == POLICY_KIND_NAMESPACED ? "%s" : "HivePolicy:%s", p->name) < 0)
		return -ENOMEM;
	p->kind = kind;
	p->generation = cJSON_IsNumber(gen) && gen->valuedouble >= 0 ? (long long)gen->valuedouble : 0;
	return 0;
}

int policy_parse_resource(enum policy_kind kind, const cJSON *object, struct policy_set *set, struct diag *d)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(object, "metadata");
	_cleanup_(freep) char *label = NULL;
	cJSON *copy = NULL;
	struct policy *p;
	int r;

	r = object_label(kind, meta, &label, d);
	if (r >= 0)
		r = spec_as_policy(kind, object, label, &copy, d);
	if (r < 0)
		return r;
	p = policy_set_grow(set, &r);
	if (r == -E2BIG)
		diag_add(d, "%s: more than %d policies in all", label, POLICY_MAX_POLICIES);
	if (p)
		r = policy_from_json(copy, &(struct policy_where){ .file = label, .prefix = "spec.", .diag = d }, p);
	cJSON_Delete(copy);
	if (r >= 0)
		r = name_policy(p, kind, meta);
	if (r < 0) {
		if (p)
			policy_done(p);
		return r == -E2BIG ? -EINVAL : r;
	}
	set->n++;
	return 0;
}
