/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "watch/policy.h"
#include "cluster/selection.h"
#include "shared/json.h"

static bool in_list(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

bool selection_has_containers(const struct policy *p)
{
	return p->n_namespaces > 0 || p->has_pod_selector || p->n_containers > 0;
}

static bool requirement_holds(const struct label_requirement *req, const cJSON *labels)
{
	const char *v = json_string(labels, req->key);

	switch (req->op) {
	case SELECTOR_IN:
		return v && in_list(req->values, req->n_values, v);
	case SELECTOR_NOT_IN: /* as in Kubernetes: a pod without the label matches */
		return !v || !in_list(req->values, req->n_values, v);
	case SELECTOR_EXISTS:
		return v != NULL;
	case SELECTOR_DOES_NOT_EXIST:
		return v == NULL;
	}
	return false;
}

bool selection_matches_pod(const struct policy *p, const char *namespace, const cJSON *labels)
{
	const struct label_selector *sel = &p->pod_selector;

	if (!selection_has_containers(p))
		return false;
	if (p->n_namespaces > 0 && !in_list(p->namespaces, p->n_namespaces, namespace))
		return false;
	if (!p->has_pod_selector)
		return true;
	for (size_t i = 0; i < sel->n_match; i++) {
		const char *v = json_string(labels, sel->match_keys[i]);

		if (!v || strcmp(v, sel->match_values[i]) != 0)
			return false;
	}
	for (size_t i = 0; i < sel->n_expressions; i++)
		if (!requirement_holds(&sel->expressions[i], labels))
			return false;
	return true;
}

bool selection_matches_container(const struct policy *p, const char *name, enum container_kind kind)
{
	if (p->n_containers > 0)
		return in_list(p->containers, p->n_containers, name);
	return kind == CONTAINER_REGULAR;
}
