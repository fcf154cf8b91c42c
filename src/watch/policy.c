/* SPDX-License-Identifier: MIT */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hive.h"
#include "watch/policy.h"
#include "shared/abi.h"
#include "shared/escape.h"
#include "shared/fileio.h"
#include "shared/log.h"
#include "shared/names.h"

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void selector_done(struct label_selector *s)
{
	strv_free(s->match_keys, s->n_match);
	strv_free(s->match_values, s->n_match);
	for (size_t i = 0; i < s->n_expressions; i++) {
		free(s->expressions[i].key);
		strv_free(s->expressions[i].values, s->expressions[i].n_values);
	}
	free(s->expressions);
}

static void policy_done(struct policy *p)
{
	free(p->name);
	free(p->id);
	free(p->file);
	strv_free(p->paths, p->n_paths);
	strv_free(p->namespaces, p->n_namespaces);
	strv_free(p->containers, p->n_containers);
	selector_done(&p->pod_selector);
}

struct policy_set *policy_set_new(void)
{
	return calloc(1, sizeof(struct policy_set));
}

struct policy_set *policy_set_free(struct policy_set *set)
{
	if (!set)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		policy_done(&set->policies[i]);
	free(set->policies);
	free(set);
	return NULL;
}

/* Room for one more policy, zeroed, at set->policies[set->n]. */
static int grow(struct policy_set *set)
{
	struct policy *grown;

	if (set->n >= POLICY_MAX_POLICIES)
		return -E2BIG;
	grown = realloc(set->policies, (set->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	set->policies = grown;
	memset(&set->policies[set->n], 0, sizeof(struct policy));
	return 0;
}

/* Where a message is about: "FILE: policy #N \"name\": FIELD", or for an
 * object of the API server "HivePolicy NAME: spec.FIELD". */
struct where {
	const char *file;
	size_t index;
	const char *name;
	const char *prefix; /* of every field; set for resources */
	struct diag *diag;
};

_printf_(3, 4) static int fail(const struct where *w, const char *field, const char *fmt, ...)
{
	char msg[512], name[3 * 64 + 8] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->prefix) {
		diag_add(w->diag, "%s: %s%s%s%s", w->file, field ? w->prefix : "", field ? field : "",
			 field ? ": " : "", msg);
		return -EINVAL;
	}
	if (w->name)
		snprintf(name, sizeof(name), " \"%s\"", w->name);
	diag_add(w->diag, "%s: policy #%zu%s: %s%s%s", w->file, w->index + 1, name, field ? field : "",
		 field ? ": " : "", msg);
	return -EINVAL;
}

/* A JSON string for messages, escaped and shortened. */
static const char *shown(const char *s, char buf[static 96])
{
	size_t n = escape_untrusted(s, strlen(s), buf, 96);

	if (n >= 96)
		strcpy(buf + 96 - 4, "...");
	return buf;
}

static const char *json_type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "invalid";
}

/* Reject fields outside allowed and fields given twice (cJSON keeps both). */
static int check_fields(const struct where *w, const char *prefix, const cJSON *obj, const char *const *allowed)
{
	char buf[96], field[160];

	for (const cJSON *c = obj->child; c; c = c->next) {
		bool known = false;

		for (size_t i = 0; allowed[i]; i++)
			known = known || strcmp(c->string, allowed[i]) == 0;
		snprintf(field, sizeof(field), "%s%s", prefix, shown(c->string, buf));
		if (!known) {
			char list[256] = "";
			size_t used = 0;

			for (size_t i = 0; allowed[i] && used < sizeof(list); i++)
				used += snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", allowed[i]);
			return fail(w, field, "unknown field (known fields: %s)", list);
		}
		for (const cJSON *d = c->next; d; d = d->next)
			if (strcmp(c->string, d->string) == 0)
				return fail(w, field, "field given more than once");
	}
	return 0;
}

typedef int (*string_check_fn)(const char *s, const char **why);

/* A JSON array of strings, each passing check, no duplicates, 1..max items. */
static int parse_string_list(const struct where *w, const char *field, const cJSON *v, size_t max,
			     string_check_fn check, char ***ret, size_t *ret_n)
{
	char buf[96], item[128];
	char **list;
	size_t n = 0;
	int size, r;

	if (!cJSON_IsArray(v))
		return fail(w, field, "must be an array of strings, got %s", json_type_name(v));
	size = cJSON_GetArraySize(v);
	if (size == 0)
		return fail(w, field, "must not be empty");
	if ((size_t)size > max)
		return fail(w, field, "has %d entries, at most %zu are allowed", size, max);
	list = calloc(size, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (const cJSON *c = v->child; c; c = c->next, n++) {
		const char *why = NULL;

		snprintf(item, sizeof(item), "%s[%zu]", field, n);
		if (!cJSON_IsString(c)) {
			r = fail(w, item, "must be a string, got %s", json_type_name(c));
			goto fail;
		}
		if (check && check(c->valuestring, &why) < 0) {
			r = fail(w, item, "\"%s\" %s", shown(c->valuestring, buf), why);
			goto fail;
		}
		for (size_t i = 0; i < n; i++)
			if (strcmp(list[i], c->valuestring) == 0) {
				r = fail(w, item, "\"%s\" is listed twice", shown(c->valuestring, buf));
				goto fail;
			}
		list[n] = strdup(c->valuestring);
		if (!list[n]) {
			r = -ENOMEM;
			goto fail;
		}
	}
	*ret = list;
	*ret_n = n;
	return 0;
fail:
	strv_free(list, n);
	return r;
}

static int check_watch_path(const char *s, const char **why)
{
	const char *p = s;

	if (s[0] != '/')
		return *why = "is not an absolute path", -EINVAL;
	if (strlen(s) >= PATH_MAX)
		return *why = "is longer than PATH_MAX", -EINVAL;
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return *why = "contains a control character", -EINVAL;
	if (strcmp(s, "/") == 0)
		return 0;
	/* Each component: not empty, not "." or "..", so the path a record
	 * shows is the path that was resolved. */
	while (*p == '/') {
		const char *c = ++p;
		size_t len;

		while (*p && *p != '/')
			p++;
		len = p - c;
		if (len == 0)
			return *why = *p ? "has an empty component (\"//\")" : "ends with \"/\"", -EINVAL;
		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return *why = "has a \".\" or \"..\" component", -EINVAL;
		if (len > NAME_MAX)
			return *why = "has a component longer than NAME_MAX", -EINVAL;
	}
	return 0;
}

bool policy_path_is_valid(const char *path)
{
	const char *why;

	return check_watch_path(path, &why) == 0;
}

static int check_dns_label(const char *s, const char **why)
{
	if (!dns_label_is_valid(s))
		return *why = "is not a valid name (lower-case letters, digits and '-', at most 63, "
			      "starting and ending with a letter or digit)",
		       -EINVAL;
	return 0;
}

static int check_label_value(const char *s, const char **why)
{
	if (!label_value_is_valid(s))
		return *why = "is not a valid label value (at most 63 of [A-Za-z0-9-_.], "
			      "starting and ending with a letter or digit)",
		       -EINVAL;
	return 0;
}

static int parse_access(const struct where *w, const cJSON *v, uint32_t *ret)
{
	char buf[96], item[32];
	uint32_t access = 0;
	size_t i = 0;

	if (!cJSON_IsArray(v))
		return fail(w, "access", "must be an array of strings, got %s", json_type_name(v));
	if (!v->child)
		return fail(w, "access", "must not be empty (leave it out to watch every access)");
	for (const cJSON *c = v->child; c; c = c->next, i++) {
		uint32_t bit = 0;

		snprintf(item, sizeof(item), "access[%zu]", i);
		if (!cJSON_IsString(c))
			return fail(w, item, "must be a string, got %s", json_type_name(c));
		bit = access_from_name(c->valuestring);
		if (!bit)
			return fail(w, item, "unknown access \"%s\" (expected read, write, exec or append)",
				    shown(c->valuestring, buf));
		if (access & bit)
			return fail(w, item, "\"%s\" is listed twice", c->valuestring);
		access |= bit;
	}
	*ret = access;
	return 0;
}

static int parse_selector(const struct where *w, const cJSON *v, struct label_selector *sel)
{
	static const char *const fields[] = { "matchLabels", "matchExpressions", NULL };
	static const char *const expr_fields[] = { "key", "operator", "values", NULL };
	static const char *const ops[] = {
		[SELECTOR_IN] = "In",
		[SELECTOR_NOT_IN] = "NotIn",
		[SELECTOR_EXISTS] = "Exists",
		[SELECTOR_DOES_NOT_EXIST] = "DoesNotExist",
	};
	const cJSON *labels, *exprs;
	char buf[96], field[160];
	size_t i;
	int r;

	if (!cJSON_IsObject(v))
		return fail(w, "podSelector", "must be an object, got %s", json_type_name(v));
	r = check_fields(w, "podSelector.", v, fields);
	if (r < 0)
		return r;

	labels = cJSON_GetObjectItemCaseSensitive(v, "matchLabels");
	if (labels) {
		int n = cJSON_GetArraySize(labels);

		if (!cJSON_IsObject(labels))
			return fail(w, "podSelector.matchLabels", "must be an object of strings, got %s",
				    json_type_name(labels));
		if ((size_t)n > POLICY_MAX_LIST)
			return fail(w, "podSelector.matchLabels", "has %d labels, at most %d are allowed", n,
				    POLICY_MAX_LIST);
		sel->match_keys = calloc(n + 1, sizeof(char *));
		sel->match_values = calloc(n + 1, sizeof(char *));
		if (!sel->match_keys || !sel->match_values)
			return -ENOMEM;
		for (const cJSON *c = labels->child; c; c = c->next) {
			snprintf(field, sizeof(field), "podSelector.matchLabels.%s", shown(c->string, buf));
			if (!label_key_is_valid(c->string))
				return fail(w, field, "is not a valid label key ([prefix/]name)");
			if (!cJSON_IsString(c))
				return fail(w, field, "must be a string, got %s", json_type_name(c));
			if (!label_value_is_valid(c->valuestring))
				return fail(w, field, "\"%s\" is not a valid label value", shown(c->valuestring, buf));
			for (const cJSON *d = c->next; d; d = d->next)
				if (strcmp(c->string, d->string) == 0)
					return fail(w, field, "label given more than once");
			sel->match_keys[sel->n_match] = strdup(c->string);
			sel->match_values[sel->n_match] = strdup(c->valuestring);
			sel->n_match++;
			if (!sel->match_keys[sel->n_match - 1] || !sel->match_values[sel->n_match - 1])
				return -ENOMEM;
		}
	}

	exprs = cJSON_GetObjectItemCaseSensitive(v, "matchExpressions");
	if (!exprs)
		return 0;
	if (!cJSON_IsArray(exprs))
		return fail(w, "podSelector.matchExpressions", "must be an array, got %s", json_type_name(exprs));
	if ((size_t)cJSON_GetArraySize(exprs) > POLICY_MAX_LIST)
		return fail(w, "podSelector.matchExpressions", "has more than %d terms", POLICY_MAX_LIST);
	sel->expressions = calloc(cJSON_GetArraySize(exprs) + 1, sizeof(*sel->expressions));
	if (!sel->expressions)
		return -ENOMEM;
	i = 0;
	for (const cJSON *c = exprs->child; c; c = c->next, i++) {
		struct label_requirement *req = &sel->expressions[sel->n_expressions];
		const cJSON *key, *op, *values;
		int k;

		snprintf(field, sizeof(field), "podSelector.matchExpressions[%zu].", i);
		if (!cJSON_IsObject(c))
			return fail(w, field, "must be an object, got %s", json_type_name(c));
		r = check_fields(w, field, c, expr_fields);
		if (r < 0)
			return r;
		snprintf(field, sizeof(field), "podSelector.matchExpressions[%zu]", i);
		key = cJSON_GetObjectItemCaseSensitive(c, "key");
		op = cJSON_GetObjectItemCaseSensitive(c, "operator");
		values = cJSON_GetObjectItemCaseSensitive(c, "values");
		if (!cJSON_IsString(key) || !label_key_is_valid(key->valuestring))
			return fail(w, field, "\"key\" must be a valid label key");
		if (!cJSON_IsString(op))
			return fail(w, field, "\"operator\" must be one of In, NotIn, Exists, DoesNotExist");
		for (k = 0; k < (int)ARRAY_SIZE(ops); k++)
			if (strcmp(op->valuestring, ops[k]) == 0)
				break;
		if (k == (int)ARRAY_SIZE(ops))
			return fail(w, field, "unknown operator \"%s\" (expected In, NotIn, Exists or DoesNotExist)",
				    shown(op->valuestring, buf));
		req->op = k;
		req->key = strdup(key->valuestring);
		sel->n_expressions++;
		if (!req->key)
			return -ENOMEM;
		if (k == SELECTOR_IN || k == SELECTOR_NOT_IN) {
			char vfield[200];

			snprintf(vfield, sizeof(vfield), "%s.values", field);
			if (!values)
				return fail(w, vfield, "is required with operator %s", ops[k]);
			r = parse_string_list(w, vfield, values, POLICY_MAX_LIST, check_label_value, &req->values,
					      &req->n_values);
			if (r < 0)
				return r;
		} else if (values && cJSON_GetArraySize(values) > 0)
			return fail(w, field, "\"values\" must be empty with operator %s", ops[k]);
	}
	return 0;
}

static int parse_policy(const struct where *w0, const cJSON *v, struct policy *p)
{
	static const char *const fields[] = {
		"name", "host", "paths", "access", "action", "namespaces", "podSelector", "containers",
		"followSymlinks", NULL,
	};
	const cJSON *name, *host, *paths, *access, *action, *namespaces, *selector, *containers, *follow;
	struct where w = *w0;
	char buf[96];
	int r;

	if (!cJSON_IsObject(v))
		return fail(&w, NULL, "must be an object, got %s", json_type_name(v));

	/* The name first, so that every later message can show it. */
	name = cJSON_GetObjectItemCaseSensitive(v, "name");
	if (!name)
		return fail(&w, "name", "is required");
	if (!cJSON_IsString(name))
		return fail(&w, "name", "must be a string, got %s", json_type_name(name));
	if (!dns_label_is_valid(name->valuestring))
		return fail(&w, "name",
			    "\"%s\" is not a valid name (lower-case letters, digits and '-', at most 63, "
			    "starting and ending with a letter or digit)",
			    shown(name->valuestring, buf));
	w.name = name->valuestring;

	r = check_fields(&w, "", v, fields);
	if (r < 0)
		return r;

	p->name = strdup(name->valuestring);
	p->id = strdup(name->valuestring);
	p->file = strdup(w.file);
	if (!p->name || !p->id || !p->file)
		return -ENOMEM;

	host = cJSON_GetObjectItemCaseSensitive(v, "host");
	if (host && !cJSON_IsBool(host))
		return fail(&w, "host", "must be true or false, got %s", json_type_name(host));
	p->host = host && cJSON_IsTrue(host);

	follow = cJSON_GetObjectItemCaseSensitive(v, "followSymlinks");
	if (follow && !cJSON_IsBool(follow))
		return fail(&w, "followSymlinks", "must be true or false, got %s", json_type_name(follow));
	p->follow_symlinks = !follow || cJSON_IsTrue(follow);

	paths = cJSON_GetObjectItemCaseSensitive(v, "paths");
	if (!paths)
		return fail(&w, "paths", "is required");
	r = parse_string_list(&w, "paths", paths, POLICY_MAX_PATHS, check_watch_path, &p->paths, &p->n_paths);
	if (r < 0)
		return r;

	p->access = HIVE_ACCESS_ALL;
	access = cJSON_GetObjectItemCaseSensitive(v, "access");
	if (access) {
		r = parse_access(&w, access, &p->access);
		if (r < 0)
			return r;
	}

	action = cJSON_GetObjectItemCaseSensitive(v, "action");
	if (action) {
		if (!cJSON_IsString(action))
			return fail(&w, "action", "must be a string, got %s", json_type_name(action));
		if (strcmp(action->valuestring, "log") != 0)
			return fail(&w, "action", "unsupported action \"%s\" (only \"log\" is supported)",
				    shown(action->valuestring, buf));
	}
	p->action = POLICY_ACTION_LOG;

	namespaces = cJSON_GetObjectItemCaseSensitive(v, "namespaces");
	if (namespaces) {
		r = parse_string_list(&w, "namespaces", namespaces, POLICY_MAX_LIST, check_dns_label, &p->namespaces,
				      &p->n_namespaces);
		if (r < 0)
			return r;
	}
	selector = cJSON_GetObjectItemCaseSensitive(v, "podSelector");
	if (selector) {
		p->has_pod_selector = true;
		r = parse_selector(&w, selector, &p->pod_selector);
		if (r < 0)
			return r;
	}
	containers = cJSON_GetObjectItemCaseSensitive(v, "containers");
	if (containers) {
		r = parse_string_list(&w, "containers", containers, POLICY_MAX_LIST, check_dns_label, &p->containers,
				      &p->n_containers);
		if (r < 0)
			return r;
	}

	if (!p->host && !namespaces && !selector && !containers)
		return fail(&w, NULL,
			    "selects nothing: set \"host\": true, or select containers with \"namespaces\", "
			    "\"podSelector\" or \"containers\"");
	return 0;
}

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

int policy_parse(const char *label, const char *text, size_t len, struct policy_set *set, struct diag *d)
{
	const char *end = NULL;
	cJSON *root;
	const cJSON *item;
	size_t line, column, index = 0;
	int r = 0;

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
		return -EINVAL;
	}
	while (end && end < text + len && strchr(" \t\r\n", *end))
		end++;
	if (end && end < text + len) {
		line_column(text, end - text, &line, &column);
		diag_add(d, "%s:%zu:%zu: unexpected text after the JSON value", label, line, column);
		cJSON_Delete(root);
		return -EINVAL;
	}
	if (!cJSON_IsObject(root) && !cJSON_IsArray(root)) {
		diag_add(d, "%s: must hold a policy object or an array of them, got %s", label,
			 json_type_name(root));
		cJSON_Delete(root);
		return -EINVAL;
	}

	item = cJSON_IsArray(root) ? root->child : root;
	for (; item; item = cJSON_IsArray(root) ? item->next : NULL, index++) {
		struct where w = { .file = label, .index = index, .diag = d };
		int k = grow(set);

		if (k == -E2BIG) {
			diag_add(d, "%s: more than %d policies in all", label, POLICY_MAX_POLICIES);
			r = -EINVAL;
			break;
		}
		if (k < 0) {
			r = k;
			break;
		}
		k = parse_policy(&w, item, &set->policies[set->n]);
		if (k < 0) {
			policy_done(&set->policies[set->n]);
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

int policy_set_validate(const struct policy_set *set, struct diag *d)
{
	int r = 0;

	for (size_t i = 0; i < set->n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(set->policies[i].id, set->policies[j].id) == 0) {
				diag_add(d, "%s: policy \"%s\": name already used in %s", set->policies[i].file,
					 set->policies[i].name, set->policies[j].file);
				r = -EINVAL;
				break;
			}
	return r;
}

static const char *const kind_names[_POLICY_KIND_MAX] = {
	[POLICY_KIND_FILE] = "file",
	[POLICY_KIND_CLUSTER] = "HivePolicy",
	[POLICY_KIND_NAMESPACED] = "HiveNamespacedPolicy",
};

const char *policy_kind_to_string(enum policy_kind k)
{
	return k < _POLICY_KIND_MAX ? kind_names[k] : NULL;
}

const char *policy_kind_canonical(const char *s)
{
	for (size_t i = 0; i < _POLICY_KIND_MAX; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return kind_names[i];
	return NULL;
}

bool policy_name_is_valid(const char *name)
{
	const char *slash = strchr(name, '/');
	char ns[64];

	if (!slash)
		return dns_label_is_valid(name);
	if ((size_t)(slash - name) >= sizeof(ns))
		return false;
	memcpy(ns, name, slash - name);
	ns[slash - name] = 0;
	return dns_label_is_valid(ns) && dns_label_is_valid(slash + 1);
}

static const char *metadata_string(const cJSON *meta, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, field);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int policy_parse_resource(enum policy_kind kind, const cJSON *object, struct policy_set *set, struct diag *d)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(object, "metadata"), *spec, *gen;
	const char *name = metadata_string(meta, "name"), *ns = metadata_string(meta, "namespace");
	bool namespaced = kind == POLICY_KIND_NAMESPACED;
	_cleanup_(freep) char *label = NULL;
	cJSON *copy = NULL;
	struct where w = { .index = 0, .prefix = "spec.", .diag = d };
	struct policy *p;
	char buf[96];
	int r;

	if (!name || !dns_label_is_valid(name)) {
		diag_add(d, "%s: metadata.name \"%s\" is not a valid policy name (a DNS label)",
			 policy_kind_to_string(kind), name ? shown(name, buf) : "");
		return -EINVAL;
	}
	if (namespaced ? !ns || !dns_label_is_valid(ns) : ns != NULL) {
		diag_add(d, "%s %s: metadata.namespace is %s", policy_kind_to_string(kind), name,
			 namespaced ? "missing or invalid" : "set on a cluster-scoped object");
		return -EINVAL;
	}
	if (asprintf(&label, "%s %s%s%s", policy_kind_to_string(kind), namespaced ? ns : "", namespaced ? "/" : "",
		     name) < 0)
		return -ENOMEM;
	w.file = label;
	gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");
	spec = cJSON_GetObjectItemCaseSensitive(object, "spec");
	if (!cJSON_IsObject(spec)) {
		diag_add(d, "%s: spec: must be an object", label);
		return -EINVAL;
	}
	/* Defence in depth: the namespaced CRD has no such fields, but an
	 * older or loosened one might let them through. */
	if (namespaced)
		for (const char *const *f = (const char *const[]){ "host", "namespaces", NULL }; *f; f++)
			if (cJSON_GetObjectItemCaseSensitive(spec, *f))
				return fail(&w, *f,
					    "not allowed: a HiveNamespacedPolicy selects pods of its own namespace only");
	if (cJSON_GetObjectItemCaseSensitive(spec, "name"))
		return fail(&w, "name", "unknown field (the name is metadata.name)");

	/* The same checks as a file's, on the spec named after the object (a
	 * namespaced one limited to its namespace). */
	copy = cJSON_Duplicate(spec, true);
	if (!copy || !cJSON_AddStringToObject(copy, "name", name) ||
	    (namespaced && !cJSON_AddItemToObject(copy, "namespaces", cJSON_CreateStringArray(&ns, 1)))) {
		cJSON_Delete(copy);
		return -ENOMEM;
	}
	r = grow(set);
	if (r == -E2BIG)
		diag_add(d, "%s: more than %d policies in all", label, POLICY_MAX_POLICIES);
	if (r < 0) {
		cJSON_Delete(copy);
		return r == -E2BIG ? -EINVAL : r;
	}
	p = &set->policies[set->n];
	r = parse_policy(&w, copy, p);
	cJSON_Delete(copy);
	if (r >= 0) {
		free(p->name);
		free(p->id);
		p->name = p->id = NULL;
		if (namespaced)
			r = asprintf(&p->name, "%s/%s", ns, name) < 0 ? -ENOMEM : 0;
		else
			r = (p->name = strdup(name)) ? 0 : -ENOMEM;
		if (r >= 0 && asprintf(&p->id, namespaced ? "%s" : "HivePolicy:%s", p->name) < 0)
			r = -ENOMEM;
	}
	if (r < 0) {
		policy_done(p);
		return r;
	}
	p->kind = kind;
	p->generation = cJSON_IsNumber(gen) && gen->valuedouble >= 0 ? (long long)gen->valuedouble : 0;
	set->n++;
	return 0;
}

static int strv_copy(char *const *src, size_t n, char ***ret)
{
	char **v;

	if (!src) {
		*ret = NULL;
		return 0;
	}
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(v[i] = strdup(src[i]))) {
			strv_free(v, i);
			return -ENOMEM;
		}
	*ret = v;
	return 0;
}

static int policy_copy(struct policy *dst, const struct policy *src)
{
	const struct label_selector *s = &src->pod_selector;
	struct label_selector *t = &dst->pod_selector;

	*dst = (struct policy){
		.kind = src->kind,
		.generation = src->generation,
		.host = src->host,
		.follow_symlinks = src->follow_symlinks,
		.n_paths = src->n_paths,
		.access = src->access,
		.action = src->action,
		.n_namespaces = src->n_namespaces,
		.has_pod_selector = src->has_pod_selector,
		.n_containers = src->n_containers,
	};
	dst->name = strdup(src->name);
	dst->id = strdup(src->id);
	dst->file = strdup(src->file);
	if (!dst->name || !dst->id || !dst->file || strv_copy(src->paths, src->n_paths, &dst->paths) < 0 ||
	    strv_copy(src->namespaces, src->n_namespaces, &dst->namespaces) < 0 ||
	    strv_copy(src->containers, src->n_containers, &dst->containers) < 0)
		return -ENOMEM;
	t->n_match = s->n_match;
	if (strv_copy(s->match_keys, s->n_match, &t->match_keys) < 0 ||
	    strv_copy(s->match_values, s->n_match, &t->match_values) < 0)
		return -ENOMEM;
	if (s->n_expressions) {
		t->expressions = calloc(s->n_expressions, sizeof(*t->expressions));
		if (!t->expressions)
			return -ENOMEM;
		for (size_t i = 0; i < s->n_expressions; i++, t->n_expressions++) {
			struct label_requirement *a = &t->expressions[i];
			const struct label_requirement *b = &s->expressions[i];

			a->op = b->op;
			a->n_values = b->n_values;
			if (!(a->key = strdup(b->key)) || strv_copy(b->values, b->n_values, &a->values) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int policy_set_append(struct policy_set *dst, const struct policy_set *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int r = grow(dst);

		if (r < 0)
			return r;
		r = policy_copy(&dst->policies[dst->n], &src->policies[i]);
		if (r < 0) {
			policy_done(&dst->policies[dst->n]);
			return r;
		}
		dst->n++;
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_policy_file(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

int policy_set_load_dir(const char *dir, struct policy_set **ret, struct diag *d)
{
	_cleanup_(closedirp) DIR *dp = NULL;
	struct policy_set *set = NULL;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	int r = 0;

	dp = opendir(dir);
	if (!dp)
		return negative_errno();
	set = policy_set_new();
	if (!set)
		return -ENOMEM;

	while ((errno = 0, de = readdir(dp))) {
		char **grown;

		if (!is_policy_file(de->d_name))
			continue;
		if (n >= POLICY_MAX_FILES) {
			diag_add(d, "%s: more than %d policy files", dir, POLICY_MAX_FILES);
			r = -EINVAL;
			goto finish;
		}
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown || !(grown[n] = strdup(de->d_name))) {
			names = grown ? grown : names;
			r = -ENOMEM;
			goto finish;
		}
		names = grown;
		n++;
	}
	if (errno) {
		r = negative_errno();
		goto finish;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);

	for (size_t i = 0; i < n; i++) {
		_cleanup_(freep) char *path = NULL, *text = NULL;
		size_t len;
		int k;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			r = -ENOMEM;
			goto finish;
		}
		k = read_small_file(path, POLICY_MAX_FILE_SIZE, &text, &len);
		if (k == -EFBIG)
			diag_add(d, "%s: larger than %d bytes", path, POLICY_MAX_FILE_SIZE);
		else if (k == -EISDIR || k == -ENODEV)
			diag_add(d, "%s: not a regular file", path);
		else if (k < 0)
			diag_add(d, "%s: cannot read: %s", path, strerror(-k));
		if (k < 0) {
			r = -EINVAL;
			continue;
		}
		k = policy_parse(path, text, len, set, d);
		if (k == -ENOMEM) {
			r = k;
			goto finish;
		}
		if (k < 0)
			r = -EINVAL;
	}
	if (policy_set_validate(set, d) < 0)
		r = -EINVAL;

finish:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (r < 0) {
		policy_set_free(set);
		return r;
	}
	*ret = set;
	return 0;
}
