/* SPDX-License-Identifier: MIT */
#ifndef HIVE_POLICY_JSON_H
#define HIVE_POLICY_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "shared/diag.h"

struct policy;

/*
 * The one validator of a policy's JSON, for files (policy-parse.c) and for
 * the cluster's objects (policy-resource.c), and where its problems are
 * said: "FILE: policy #N "NAME": FIELD: ..." for a file, "LABEL: spec.FIELD:
 * ..." for an object.
 */
struct policy_where {
	const char *file;   /* the file, or the object's label ("HivePolicy NAME") */
	size_t index;       /* in the file */
	const char *name;   /* the policy's, once known */
	const char *prefix; /* of every field of an object ("spec."); NULL for files */
	struct diag *diag;
};

/* v, a policy object, checked into p (zeroed); -EINVAL with the problem said. */
int policy_from_json(const cJSON *v, struct policy_where *w, struct policy *p);

#endif
