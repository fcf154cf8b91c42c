/* SPDX-License-Identifier: MIT */
/* A Lease as the API server returns it; what parses must write back. */
#include "fuzz.h"
#include "kube/lease.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lease_record rec, again;
	cJSON *json, *back;

	log_set_max_level(-1);
	json = cJSON_ParseWithLength((const char *)data, size);
	if (json && lease_record_from_json(json, &rec) == 0) {
		back = lease_to_json(&rec, "hive-x", "hive-system", "kernel");
		if (!back || lease_record_from_json(back, &again) != 0 || strcmp(again.holder, rec.holder) != 0 ||
		    again.duration_s != rec.duration_s || again.transitions != rec.transitions)
			abort(); /* a record we accept must survive our own round trip */
		cJSON_Delete(back);
	}
	cJSON_Delete(json);
	return 0;
}
