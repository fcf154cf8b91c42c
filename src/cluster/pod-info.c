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
bool uid_is_valid(const char *s)
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
		free(p->containers[i].image);
		free(p->containers[i].image_id);
	}
	free(p->containers);
	cJSON_Delete(p->labels);
	owner_ref_clear(&p->owner);
	free(p->uid);
	free(p->namespace);
	free(p->name);
	free(p->qos);
	free(p);
	return NULL;
}

void owner_ref_clear(struct owner_ref *o)
{
	free(o->kind);
	free(o->api_version);
	free(o->name);
	free(o->uid);
	*o = (struct owner_ref){};
}

/* "GROUP/VERSION" or "VERSION": compared, never shown. */
static bool api_version_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 317)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr("./-", s[i])))
			return false;
	return true;
}

int owner_ref_parse(const cJSON *meta, struct owner_ref *ret)
{
	const cJSON *refs = cJSON_GetObjectItemCaseSensitive(meta, "ownerReferences"), *ref;

	*ret = (struct owner_ref){};
	if (refs && !cJSON_IsArray(refs))
		return -EINVAL;
	cJSON_ArrayForEach(ref, refs) {
		const char *kind = json_string(ref, "kind"), *name = json_string(ref, "name"), *uid = json_string(ref, "uid"),
			   *api_version = json_string(ref, "apiVersion");

		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ref, "controller")))
			continue;
		if (!kind || !kind_is_valid(kind) || !name || !dns_subdomain_is_valid(name) || !uid || !uid_is_valid(uid) ||
		    !api_version || !api_version_is_valid(api_version))
			return -EINVAL;
		ret->kind = strdup(kind);
		ret->api_version = strdup(api_version);
		ret->name = strdup(name);
		ret->uid = strdup(uid);
		if (!ret->kind || !ret->api_version || !ret->name || !ret->uid) {
			owner_ref_clear(ret);
			return -ENOMEM;
		}
		return 1; /* the API server allows one controller */
	}
	return 0;
}

/* An image reference as the kubelet reports it: printable, no spaces, of a
 * sane length; a copy, or NULL. */
static char *image_dup(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > POD_IMAGE_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return NULL;
	return strdup(s);
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
			.image = image_dup(json_string(st, "image")),
			.image_id = image_dup(json_string(st, "imageID")),
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
	r = owner_ref_parse(meta, &p->owner);
	p->owner_invalid = r == -EINVAL;
	if (r == -ENOMEM || !p->uid || !p->namespace || !p->name || (qos && !p->qos) || (labels && !p->labels)) {
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
