/* SPDX-License-Identifier: MIT */
#include "fuzz.h"
#include "watch/policy.h"

/* The same bytes as a policy file, and as HivePolicy and HiveNamespacedPolicy
 * objects from the API server (another writer's, so just as untrusted), each
 * merged into the set as the agent does. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct policy_set *set = policy_set_new(), *all = policy_set_new();
	struct diag d = {};
	cJSON *object;

	if (!set || !all)
		abort();
	if (policy_parse("fuzz.json", text, size, set, &d) >= 0)
		policy_set_validate(set, &d);
	object = cJSON_ParseWithLength(text, size);
	if (object) {
		policy_parse_resource(POLICY_KIND_CLUSTER, object, set, &d);
		policy_parse_resource(POLICY_KIND_NAMESPACED, object, set, &d);
		cJSON_Delete(object);
	}
	if (policy_set_append(all, set) < 0)
		abort();
	diag_clear(&d);
	policy_set_free(set);
	policy_set_free(all);
	free(text);
	return 0;
}
