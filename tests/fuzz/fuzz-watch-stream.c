/* SPDX-License-Identifier: MIT */
/*
 * A watch stream from the API server: the body is split into chunks (the
 * first byte picks where, as the network would), objects are cut out of it,
 * and each event's object goes to every parser of API objects: Lease records,
 * NodeWatch entries, Nodes.
 */
#include "cluster/colocation.h"
#include "fuzz.h"
#include "kube/client.h"
#include "kube/lease.h"
#include "cluster/nodewatch.h"
#include "watch/watch.h"

static int on_object(const cJSON *event, void *userdata)
{
	const cJSON *object = cJSON_GetObjectItemCaseSensitive(event, "object"), *item;
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(object, "spec");
	struct lease_record rec;
	const char *why;

	if (lease_record_from_json(object, &rec) == 0) {
		cJSON *back = lease_to_json(&rec, "hive-x", "hive-system", "k");

		cJSON_Delete(back);
	}
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(spec, "entries"))
	{
		struct watch_entry *e = NULL;

		if (nodewatch_entry_parse(item, "node-a", &e, &why) == 0)
			watch_entry_free(e);
	}
	(void)colocation_node_boot_id(object);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_lines jl = { .max = 64 * 1024 };
	size_t chunk = size ? data[0] % 64 + 1 : 1;

	log_set_max_level(-1);
	for (size_t off = size ? 1 : 0; off < size; off += chunk)
		if (json_lines_feed(&jl, (const char *)data + off, chunk < size - off ? chunk : size - off, on_object,
				    NULL) < 0)
			break;
	json_lines_done(&jl);
	return 0;
}
