/* SPDX-License-Identifier: MIT */
#include "daemon/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct config *c = NULL;
	struct diag d = {};

	if (config_new(&c) < 0)
		abort();
	if (config_parse(c, "hive.conf", text, &d) >= 0)
		config_validate(c, &d);
	diag_clear(&d);
	config_free(c);
	free(text);
	return 0;
}
