/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "hive.h"
#include "shared/abi.h"
#include "shared/escape.h"
#include "shared/json.h"
#include "shared/names.h"
#include "shared/strv.h"
#include "watch/policy-json.h"
#include "watch/policy.h"

/* ---- the checks of single values ---- */

static const char *name_invalid(const char *s)
{
	return dns_label_is_valid(s) ? NULL
				     : "is not a valid name (lower-case letters, digits and '-', at most 63, "
				       "starting and ending with a letter or digit)";
}

static const char *label_key_invalid(const char *s)
{
	return label_key_is_valid(s) ? NULL : "is not a valid label key ([prefix/]name)";
}

static const char *label_value_invalid(const char *s)
{
	return label_value_is_valid(s) ? NULL
				       : "is not a valid label value (at most 63 of [A-Za-z0-9-_.], "
					 "starting and ending with a letter or digit)";
}

/* ---- fields that are more than a stock type ---- */

static int dispatch_access(const struct json_field *f, const cJSON *v, void *target, const char *field,
			   const struct json_context *c)
{
	uint32_t *access = (uint32_t *)((char *)target + f->offset);
	char buf[96], item[64];
	size_t i = 0;

	if (!cJSON_IsArray(v))
		return json_fail(c, field, "must be an array of strings, got %s", json_type_name(v));
	if (!v->child)
		return json_fail(c, field, "must not be empty (leave it out to watch every access)");
	*access = 0;
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		uint32_t bit;

		snprintf(item, sizeof(item), "%s[%zu]", field, i);
		if (!cJSON_IsString(e))
			return json_fail(c, item, "must be a string, got %s", json_type_name(e));
		bit = access_from_name(e->valuestring);
		if (!bit)
			return json_fail(c, item, "unknown access \"%s\" (expected %s)",
					 json_shown(e->valuestring, buf), access_names());
		if (*access & bit)
			return json_fail(c, item, "\"%s\" is listed twice", e->valuestring);
		*access |= bit;
	}
	return 0;
}

static int dispatch_action(const struct json_field *f, const cJSON *v, void *target, const char *field,
			   const struct json_context *c)
{
	char buf[96];

	if (!cJSON_IsString(v))
		return json_fail(c, field, "must be a string, got %s", json_type_name(v));
	for (enum policy_action a = 0; a < _POLICY_ACTION_MAX; a++)
		if (strcmp(v->valuestring, policy_action_to_string(a)) == 0) {
			*(enum policy_action *)((char *)target + f->offset) = a;
			return 0;
		}
	return json_fail(c, field, "unknown action \"%s\" (expected log, deny or audit-deny)",
			 json_shown(v->valuestring, buf));
}

static const char *const selector_ops[] = {
	[SELECTOR_IN] = "In",
	[SELECTOR_NOT_IN] = "NotIn",
	[SELECTOR_EXISTS] = "Exists",
	[SELECTOR_DOES_NOT_EXIST] = "DoesNotExist",
};

static int dispatch_operator(const struct json_field *f, const cJSON *v, void *target, const char *field,
			     const struct json_context *c)
{
	char buf[96];

	if (!cJSON_IsString(v))
		return json_fail(c, field, "must be one of In, NotIn, Exists, DoesNotExist, got %s",
				 json_type_name(v));
	for (size_t k = 0; k < ARRAY_SIZE(selector_ops); k++)
		if (strcmp(v->valuestring, selector_ops[k]) == 0) {
			*(enum selector_op *)((char *)target + f->offset) = k;
			return 0;
		}
	return json_fail(c, field, "unknown operator \"%s\" (expected In, NotIn, Exists or DoesNotExist)",
			 json_shown(v->valuestring, buf));
}

/* matchLabels: an object of label keys to values. */
static int dispatch_match_labels(const struct json_field *f, const cJSON *v, void *target, const char *field,
				 const struct json_context *c)
{
	struct label_selector *sel = target;
	char buf[96], item[256];
	int n = cJSON_GetArraySize(v);

	if (!cJSON_IsObject(v))
		return json_fail(c, field, "must be an object of strings, got %s", json_type_name(v));
	if ((size_t)n > POLICY_MAX_LIST)
		return json_fail(c, field, "has %d labels, at most %d are allowed", n, POLICY_MAX_LIST);
	sel->match_keys = calloc(n + 1, sizeof(char *));
	sel->match_values = calloc(n + 1, sizeof(char *));
	if (!sel->match_keys || !sel->match_values)
		return -ENOMEM;
	for (const cJSON *e = v->child; e; e = e->next) {
		snprintf(item, sizeof(item), "%s.%s", field, json_shown(e->string, buf));
		if (!label_key_is_valid(e->string))
			return json_fail(c, item, "%s", label_key_invalid(e->string));
		if (!cJSON_IsString(e))
			return json_fail(c, item, "must be a string, got %s", json_type_name(e));
		if (!label_value_is_valid(e->valuestring))
			return json_fail(c, item, "\"%s\" is not a valid label value", json_shown(e->valuestring, buf));
		for (const cJSON *d = e->next; d; d = d->next)
			if (strcmp(e->string, d->string) == 0)
				return json_fail(c, item, "label given more than once");
		sel->match_keys[sel->n_match] = strdup(e->string);
		sel->match_values[sel->n_match] = strdup(e->valuestring);
		sel->n_match++;
		if (!sel->match_keys[sel->n_match - 1] || !sel->match_values[sel->n_match - 1])
			return -ENOMEM;
	}
	return 0;
}

/* In and NotIn compare with values; Exists and DoesNotExist take none. */
static int verify_requirement(void *target, const char *field, const struct json_context *c)
{
	const struct label_requirement *req = target;
	char values[300];

	snprintf(values, sizeof(values), "%s.values", field);
	if (req->op == SELECTOR_IN || req->op == SELECTOR_NOT_IN) {
		if (!req->values)
			return json_fail(c, values, "is required with operator %s", selector_ops[req->op]);
		if (req->n_values == 0)
			return json_fail(c, values, "must not be empty");
	} else if (req->n_values > 0)
		return json_fail(c, field, "\"values\" must be empty with operator %s", selector_ops[req->op]);
	return 0;
}

#define REQ(f) offsetof(struct label_requirement, f)

static const struct json_field requirement_fields[] = {
	{ "key", json_dispatch_string, REQ(key), JSON_REQUIRED, .check = label_key_invalid },
	{ "operator", dispatch_operator, REQ(op), JSON_REQUIRED },
	{ "values", json_dispatch_strv, REQ(values), JSON_EMPTY_OK, .count_offset = REQ(n_values),
	  .max = POLICY_MAX_LIST, .check = label_value_invalid },
	{},
};

static const struct json_object_spec requirement_spec = {
	.fields = requirement_fields,
	.size = sizeof(struct label_requirement),
	.verify = verify_requirement,
};

#define SEL(f) offsetof(struct label_selector, f)

/* Kubernetes' LabelSelector. */
static const struct json_field selector_fields[] = {
	{ "matchLabels", dispatch_match_labels },
	{ "matchExpressions", json_dispatch_object_array, SEL(expressions), .count_offset = SEL(n_expressions),
	  .max = POLICY_MAX_LIST, .data = &requirement_spec },
	{},
};

static const struct json_object_spec selector_spec = { .fields = selector_fields };

static int dispatch_selector(const struct json_field *f, const cJSON *v, void *target, const char *field,
			     const struct json_context *c)
{
	((struct policy *)target)->has_pod_selector = true;
	return json_dispatch_object(f, v, target, field, c);
}

/* ---- which processes ---- */

/* An executable is a file: a tree or "/" names none. */
static const char *executable_invalid(const char *s)
{
	const char *why = policy_path_invalid(s);

	if (why)
		return why;
	if (policy_path_tree(s, &(size_t){ 0 }) || strcmp(s, "/") == 0)
		return "is a directory: an executable is a file";
	return NULL;
}

#define PSET(f) offsetof(struct process_set, f)

static const struct json_field process_set_fields[] = {
	{ "executables", json_dispatch_strv, PSET(executables), .count_offset = PSET(n_executables),
	  .max = POLICY_MAX_LIST, .check = executable_invalid },
	{ "uids", json_dispatch_u32v, PSET(uids), .count_offset = PSET(n_uids), .max = POLICY_MAX_LIST },
	{ "auids", json_dispatch_u32v, PSET(auids), .count_offset = PSET(n_auids), .max = POLICY_MAX_LIST },
	{ "containers", json_dispatch_strv, PSET(containers), .count_offset = PSET(n_containers),
	  .max = POLICY_MAX_LIST, .check = name_invalid },
	{},
};

static int verify_process_set(void *target, const char *field, const struct json_context *c)
{
	if (process_set_is_empty(target))
		return json_fail(c, field, "must name processes by at least one of \"executables\", \"uids\", "
					   "\"auids\", \"containers\"");
	return 0;
}

static const struct json_object_spec process_set_spec = {
	.fields = process_set_fields,
	.verify = verify_process_set,
};

/* "only" and "except": one shared filter per policy, made by the first. */
static int dispatch_process_set(const struct json_field *f, const cJSON *v, void *target, const char *field,
				const struct json_context *c)
{
	struct policy *p = target;
	int r;

	if (!p->filter && !(p->filter = process_filter_new()))
		return -ENOMEM;
	r = json_dispatch_object(f, v, p->filter, field, c);
	if (r < 0)
		return r;
	p->filter->has_only = !process_set_is_empty(&p->filter->only);
	p->filter->has_except = !process_set_is_empty(&p->filter->except);
	return 0;
}

/* ---- the policy ---- */

#define AT(f) offsetof(struct policy, f)

/* A policy's fields, in the order they are checked (hive-policy(5)). */
static const struct json_field policy_fields[] = {
	{ "name", json_dispatch_string, AT(name), JSON_REQUIRED, .check = name_invalid },
	{ "host", json_dispatch_bool, AT(host) },
	{ "followSymlinks", json_dispatch_bool, AT(follow_symlinks) },
	{ "paths", json_dispatch_strv, AT(paths), JSON_REQUIRED, .count_offset = AT(n_paths), .max = POLICY_MAX_PATHS,
	  .check = policy_path_invalid },
	{ "access", dispatch_access, AT(access) },
	{ "action", dispatch_action, AT(action) },
	{ "namespaces", json_dispatch_strv, AT(namespaces), .count_offset = AT(n_namespaces), .max = POLICY_MAX_LIST,
	  .check = name_invalid },
	{ "podSelector", dispatch_selector, AT(pod_selector), .data = &selector_spec },
	{ "containers", json_dispatch_strv, AT(containers), .count_offset = AT(n_containers), .max = POLICY_MAX_LIST,
	  .check = name_invalid },
	{ "only", dispatch_process_set, offsetof(struct process_filter, only), .data = &process_set_spec },
	{ "except", dispatch_process_set, offsetof(struct process_filter, except), .data = &process_set_spec },
	{},
};

/* A refusal is of an open or an execution of a file: what else the
 * policy says must fit that. */
static int verify_action(struct policy *p, const struct json_context *c)
{
	char names[96];

	if (p->action == POLICY_ACTION_LOG)
		return 0;
	if (p->access == HIVE_ACCESS_ALL)
		p->access = POLICY_DENY_ACCESS;
	if (p->access & ~POLICY_DENY_ACCESS) {
		access_to_string(p->access & ~POLICY_DENY_ACCESS, names, sizeof(names));
		return json_fail(c, "access",
				 "%s cannot be refused: action \"%s\" refuses opens (read, write, append) and exec only",
				 names, policy_action_to_string(p->action));
	}
	for (size_t i = 0; i < p->n_paths; i++) {
		char field[32];

		snprintf(field, sizeof(field), "paths[%zu]", i);
		if (policy_path_tree(p->paths[i], &(size_t){ 0 }))
			return json_fail(c, field, "action \"%s\" takes files, not a tree (\"/**\" or \"/*\")",
					 policy_action_to_string(p->action));
	}
	return 0;
}

static void report(void *userdata, const char *field, const char *message)
{
	const struct policy_where *w = userdata;
	char name[3 * 64 + 8] = "";

	if (w->prefix) {
		diag_add(w->diag, "%s: %s%s%s%s", w->file, field ? w->prefix : "", field ? field : "", field ? ": " : "",
			 message);
		return;
	}
	if (w->name)
		snprintf(name, sizeof(name), " \"%s\"", w->name);
	diag_add(w->diag, "%s: policy #%zu%s: %s%s%s", w->file, w->index + 1, name, field ? field : "",
		 field ? ": " : "", message);
}

int policy_from_json(const cJSON *v, struct policy_where *w, struct policy *p)
{
	const struct json_context c = { .report = report, .userdata = w };
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");
	int r;

	if (!cJSON_IsObject(v))
		return json_fail(&c, NULL, "must be an object, got %s", json_type_name(v));
	/* The name first, so that every later message can show it. */
	if (!name)
		return json_fail(&c, "name", "is required");
	r = policy_fields[0].dispatch(&policy_fields[0], name, p, "name", &c);
	if (r < 0)
		return r;
	w->name = name->valuestring;

	p->follow_symlinks = true;
	p->access = HIVE_ACCESS_ALL;
	r = json_dispatch(v, policy_fields, p, "", &c);
	if (r < 0)
		return r;
	r = verify_action(p, &c);
	if (r < 0)
		return r;
	p->id = strdup(p->name);
	p->file = strdup(w->file);
	if (!p->id || !p->file)
		return -ENOMEM;
	if (!p->host && !p->namespaces && !p->has_pod_selector && !p->containers)
		return json_fail(&c, NULL,
				 "selects nothing: set \"host\": true, or select containers with \"namespaces\", "
				 "\"podSelector\" or \"containers\"");
	return 0;
}

/* ---- a policy file ---- */

/* 1-based line and column of offset in text, for JSON syntax errors. */
static void line_column(const char *text, size_t offset, size_t *line, size_t *column)
{
	*line = 1;
	*column = 1;
	for (size_t i = 0; i < offset; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*column = 1;
		} else
			(*column)++;
	}
}

/* The file's text as JSON, or NULL with the problem said. */
static cJSON *parse_text(const char *label, const char *text, size_t len, struct diag *d)
{
	const char *end = NULL;
	size_t line, column;
	cJSON *root;

	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root) {
		/* cJSON's error pointer is global: fine, we are single-threaded.
		 * It points where parsing stopped, at most at the last byte. */
		const char *at = cJSON_GetErrorPtr();
		size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : 0;
		char near[ESCAPED_SIZE(24)];

		line_column(text, off, &line, &column);
		escape_untrusted(text + off, strnlen(text + off, MIN(len - off, 24)), near, sizeof(near));
		diag_add(d, "%s:%zu:%zu: invalid JSON near \"%s\"", label, line, column, near);
		return NULL;
	}
	while (end && end < text + len && strchr(" \t\r\n", *end))
		end++;
	if (end && end < text + len) {
		line_column(text, end - text, &line, &column);
		diag_add(d, "%s:%zu:%zu: unexpected text after the JSON value", label, line, column);
	} else if (!cJSON_IsObject(root) && !cJSON_IsArray(root))
		diag_add(d, "%s: must hold a policy object or an array of them, got %s", label, json_type_name(root));
	else
		return root;
	cJSON_Delete(root);
	return NULL;
}

int policy_parse(const char *label, const char *text, size_t len, struct policy_set *set, struct diag *d)
{
	cJSON *root = parse_text(label, text, len, d);
	const cJSON *item;
	size_t index = 0;
	int r = 0;

	if (!root)
		return -EINVAL;
	item = cJSON_IsArray(root) ? root->child : root;
	for (; item; item = cJSON_IsArray(root) ? item->next : NULL, index++) {
		struct policy_where w = { .file = label, .index = index, .diag = d };
		struct policy *p;
		int k;

		p = policy_set_grow(set, &k);
		if (k == -E2BIG)
			diag_add(d, "%s: more than %d policies in all", label, POLICY_MAX_POLICIES);
		if (!p) {
			r = k == -E2BIG ? -EINVAL : k;
			break;
		}
		k = policy_from_json(item, &w, p);
		if (k < 0) {
			policy_done(p);
			if (k == -ENOMEM) {
				diag_add(d, "%s: out of memory", label);
				r = k;
				break;
			}
			r = -EINVAL; /* keep going: report every bad policy */
			continue;
		}
		set->n++;
	}
	cJSON_Delete(root);
	return r;
}
