/* SPDX-License-Identifier: MIT */
/* A pod object from the API server, checked before anything of it is used. */
#include <stdlib.h>
#include <string.h>

#include "cluster/cgroup.h"
#include "cluster/pods.h"
#include "shared/json.h"
#include "shared/names.h"
#include "watch/policy.h"

/* UIDs become part of cgroup paths: only what the API server generates. */
static bool uid_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 36)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || s[i] == '-'))
			return false;
	return true;
}

static bool qos_is_valid(const char *s)
{
	return strcmp(s, "Guaranteed") == 0 || strcmp(s, "Burstable") == 0 || strcmp(s, "BestEffort") == 0;
}

struct pod_info *pod_info_free(struct pod_info *p)
{
	if (!p)
		return NULL;
	for (size_t i = 0; i < p->n_containers; i++) {
		free(p->containers[i].name);
		free(p->containers[i].container_id);
	}
	free(p->containers);
	cJSON_Delete(p->labels);
	free(p->uid);
	free(p->namespace);
	free(p->name);
	free(p->qos);
	free(p);
	return NULL;
}

static int add_statuses(struct pod_info *p, const cJSON *list, enum container_kind kind, const char **why)
{
	const cJSON *st;

	if (list && !cJSON_IsArray(list)) {
		*why = "a container status list is not an array";
		return -EINVAL;
	}
	cJSON_ArrayForEach(st, list) {
		const char *name = json_string(st, "name"), *id = json_string(st, "containerID");
		const cJSON *state = cJSON_GetObjectItemCaseSensitive(st, "state");
		char runtime[32], bare[CONTAINER_ID_MAX + 1];
		struct pod_container_status *grown;

		if (!name || !dns_label_is_valid(name)) {
			*why = "a container status has no valid name";
			return -EINVAL;
		}
		/* Only a running container has processes whose root we can use. */
		if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(state, "running")) || !id || !id[0])
			continue;
		if (cgroup_parse_container_id(id, runtime, bare) < 0) {
			*why = "a containerID is not RUNTIME://ID with a plain ID";
			return -EINVAL;
		}
		if (p->n_containers >= POLICY_MAX_LIST) {
			*why = "too many containers";
			return -EINVAL;
		}
		grown = realloc(p->containers, (p->n_containers + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		p->containers = grown;
		grown[p->n_containers] = (struct pod_container_status){
			.name = strdup(name),
			.kind = kind,
			.container_id = strdup(id),
		};
		p->n_containers++;
		if (!grown[p->n_containers - 1].name || !grown[p->n_containers - 1].container_id)
			return -ENOMEM;
	}
	return 0;
}

int pod_info_parse(const cJSON *pod, struct pod_info **ret, const char **why)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(pod, "status");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(meta, "labels"), *l;
	const char *uid = json_string(meta, "uid"), *ns = json_string(meta, "namespace"), *name = json_string(meta, "name");
	const char *qos = json_string(status, "qosClass");
	struct pod_info *p;
	int r;

	*why = NULL;
	if (!uid || !uid_is_valid(uid)) {
		*why = "metadata.uid is missing or not a UID";
		return -EINVAL;
	}
	if (!ns || !dns_label_is_valid(ns) || !name || !dns_subdomain_is_valid(name)) {
		*why = "metadata.namespace or metadata.name is missing or invalid";
		return -EINVAL;
	}
	if (qos && !qos_is_valid(qos)) {
		*why = "status.qosClass is not Guaranteed, Burstable or BestEffort";
		return -EINVAL;
	}
	if (labels && !cJSON_IsObject(labels)) {
		*why = "metadata.labels is not an object";
		return -EINVAL;
	}
	cJSON_ArrayForEach(l, labels)
		if (!label_key_is_valid(l->string) || !cJSON_IsString(l) || !label_value_is_valid(l->valuestring)) {
			*why = "a label is not a valid key and value";
			return -EINVAL;
		}

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->uid = strdup(uid);
	p->namespace = strdup(ns);
	p->name = strdup(name);
	p->qos = qos ? strdup(qos) : NULL;
	p->labels = labels ? cJSON_Duplicate(labels, true) : NULL;
	if (!p->uid || !p->namespace || !p->name || (qos && !p->qos) || (labels && !p->labels)) {
		pod_info_free(p);
		return -ENOMEM;
	}
	r = add_statuses(p, cJSON_GetObjectItemCaseSensitive(status, "containerStatuses"), CONTAINER_REGULAR, why);
	if (r >= 0)
		r = add_statuses(p, cJSON_GetObjectItemCaseSensitive(status, "initContainerStatuses"), CONTAINER_INIT,
				 why);
	if (r >= 0)
		r = add_statuses(p, cJSON_GetObjectItemCaseSensitive(status, "ephemeralContainerStatuses"),
				 CONTAINER_EPHEMERAL, why);
	if (r < 0) {
		pod_info_free(p);
		return r;
	}
	*ret = p;
	return 0;
}
