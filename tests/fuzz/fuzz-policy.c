/* SPDX-License-Identifier: MIT */
#include "fuzz.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct policy_set *set = policy_set_new();
	struct diag d = {};

	if (!set)
		abort();
	if (policy_parse("fuzz.json", text, size, set, &d) >= 0)
		policy_set_validate(set, &d);
	diag_clear(&d);
	policy_set_free(set);
	free(text);
	return 0;
}
