/* SPDX-License-Identifier: MIT */
/* One NodeWatch entry, or an array of them, as another node published it. */
#include "fuzz.h"
#include "cluster/nodewatch.h"
#include "watch/watch.h"

static void parse_entry(const cJSON *json)
{
	struct watch_entry *e = NULL;
	const char *why = NULL;

	if (nodewatch_entry_parse(json, "node-b", &e, &why) == 0)
		watch_entry_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *json, *item;

	log_set_max_level(-1);
	json = cJSON_ParseWithLength((const char *)data, size);
	if (cJSON_IsArray(json))
		cJSON_ArrayForEach(item, json)
			parse_entry(item);
	else if (json)
		parse_entry(json);
	cJSON_Delete(json);
	return 0;
}
