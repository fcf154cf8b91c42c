/* SPDX-License-Identifier: MIT */
/* A pod object as the API server sends it (or anyone who can write pods in
 * it: names, labels and container statuses end up in paths and records),
 * then the selection of every policy kind over it. */
#include "fuzz.h"
#include "cluster/pods.h"
#include "watch/policy.h"
#include "cluster/selection.h"

static const char policies[] =
	"[{\"name\":\"a\",\"paths\":[\"/x\"],\"namespaces\":[\"payments\"],\"podSelector\":{\"matchLabels\":"
	"{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"NotIn\",\"values\":[\"x\"]},"
	"{\"key\":\"u\",\"operator\":\"Exists\"}]}},"
	"{\"name\":\"b\",\"paths\":[\"/x\"],\"containers\":[\"init\",\"app\"]}]";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy_set *set;
	struct pod_info *p = NULL;
	const char *why;
	cJSON *json;

	log_set_max_level(-1);
	if (!set) {
		struct diag d = {};

		set = policy_set_new();
		if (policy_parse("fuzz", policies, strlen(policies), set, &d) < 0)
			abort();
		diag_clear(&d);
	}
	json = cJSON_ParseWithLength((const char *)data, size);
	if (json && pod_info_parse(json, &p, &why) == 0) {
		for (size_t i = 0; i < set->n; i++) {
			if (!selection_matches_pod(&set->policies[i], p->namespace, p->labels))
				continue;
			for (size_t j = 0; j < p->n_containers; j++)
				(void)selection_matches_container(&set->policies[i], p->containers[j].name,
							       p->containers[j].kind);
		}
		pod_info_free(p);
	}
	cJSON_Delete(json);
	return 0;
}
