/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hive.h"
#include "shared/macro.h"
#include "watch/deny-safety.h"
#include "watch/policy.h"
#include "tap.h"

#define OK_PATHS "\"host\": true, \"paths\": [\"/etc/shadow\"]"

/* Each of these must be refused with one message containing `expect`. */
static const struct bad_case {
	const char *json;
	const char *expect;
} bad_cases[] = {
	{ "{", "invalid JSON" },
	{ "{\"name\": \"a\", " OK_PATHS "} extra", "unexpected text after the JSON value" },
	{ "42", "must hold a policy object or an array of them, got a number" },
	{ "[42]", "policy #1: must be an object, got a number" },
	{ "{" OK_PATHS "}", "name: is required" },
	{ "{\"name\": 5, " OK_PATHS "}", "name: must be a string, got a number" },
	{ "{\"name\": \"Shadow_Watch\", " OK_PATHS "}", "name: \"Shadow_Watch\" is not a valid name" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"colour\": 1}", "colour: unknown field (known fields: name, host" },
	{ "{\"name\": \"a\", \"host\": \"yes\", \"paths\": [\"/x\"]}", "host: must be true or false, got a string" },
	{ "{\"name\": \"a\", \"host\": true}", "paths: is required" },
	{ "{\"name\": \"a\", \"host\": true, \"paths\": []}", "paths: must not be empty" },
	{ "{\"name\": \"a\", \"host\": true, \"paths\": \"/x\"}", "paths: must be an array of strings, got a string" },
	{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"etc/shadow\"]}", "paths[0]: \"etc/shadow\" is not an absolute path" },
	{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/x\", 3]}", "paths[1]: must be a string, got a number" },
	{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/x\", \"/x\"]}", "paths[1]: \"/x\" is listed twice" },
	{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/etc/../x\"]}", "has a \".\" or \"..\" component" },
	{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/etc//x\"]}", "has an empty component" },
	{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/etc/\"]}", "ends with \"/\"" },
	{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/x\\ny\"]}", "contains a control character" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"access\": [\"read\", \"exe\"]}", "access[1]: unknown access \"exe\" (expected read, write, exec, append, attrib, truncate, create, delete, rename or link)" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"access\": []}", "access: must not be empty" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"access\": [\"read\", \"read\"]}", "access[1]: \"read\" is listed twice" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"action\": \"block\"}", "action: unknown action \"block\" (expected log, deny or audit-deny)" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"action\": \"deny\", \"access\": [\"read\", \"attrib\"]}", "access: attrib cannot be refused: action \"deny\" refuses opens (read, write, append) and exec only" },
	{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/x\", \"/etc/**\"], \"action\": \"audit-deny\"}", "paths[1]: action \"audit-deny\" takes files, not a tree (\"/**\" or \"/*\")" },
	{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/etc/cron.d/*\"], \"action\": \"deny\"}", "paths[0]: action \"deny\" takes files, not a tree" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"]}", "selects nothing" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"], \"namespaces\": [\"Security\"]}", "namespaces[0]: \"Security\" is not a valid name" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"], \"podSelector\": {\"matchLabels\": {\"app\": 5}}}", "podSelector.matchLabels.app: must be a string, got a number" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"], \"podSelector\": {\"matchLabels\": {\"-bad\": \"x\"}}}", "is not a valid label key" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"], \"podSelector\": {\"matchExpressions\": [{\"key\": \"app\", \"operator\": \"Near\"}]}}", "unknown operator \"Near\"" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"], \"podSelector\": {\"matchExpressions\": [{\"key\": \"app\", \"operator\": \"In\"}]}}", "matchExpressions[0].values: is required with operator In" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"], \"podSelector\": {\"matchExpressions\": [{\"key\": \"app\", \"operator\": \"Exists\", \"values\": [\"x\"]}]}}", "\"values\" must be empty with operator Exists" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"], \"podSelector\": {\"labels\": {}}}", "podSelector.labels: unknown field" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"], \"podSelector\": {\"matchExpressions\": [{\"operator\": \"Exists\"}]}}", "podSelector.matchExpressions[0].key: is required" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"], \"podSelector\": {\"matchExpressions\": [\"app\"]}}", "podSelector.matchExpressions[0]: must be an object, got a string" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"], \"podSelector\": {\"matchExpressions\": [{\"key\": \"app\", \"operator\": \"NotIn\", \"values\": []}]}}", "podSelector.matchExpressions[0].values: must not be empty" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"], \"podSelector\": {\"matchExpressions\": [{\"key\": \"app\", \"operator\": \"In\", \"values\": [\"x\"], \"extra\": 1}]}}", "podSelector.matchExpressions[0].extra: unknown field (known fields: key, operator, values)" },
	{ "{\"name\": \"a\", \"paths\": [\"/x\"], \"containers\": [\"\"]}", "containers[0]: \"\" is not a valid name" },
	{ "{\"name\": \"a\", \"name\": \"b\", " OK_PATHS "}", "name: field given more than once" },
	{ "{\"name\": \"a\", \"host\": 1, \"paths\": [\"/x\"]}", "host: must be true or false, got a number" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"followSymlinks\": \"no\"}", "followSymlinks: must be true or false, got a string" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"except\": {}}", "except: must name processes by at least one of \"executables\"" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"only\": []}", "only: must be an object, got an array" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"except\": {\"programs\": [\"/x\"]}}", "except.programs: unknown field (known fields: executables, uids, auids, containers)" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"except\": {\"executables\": [\"head\"]}}", "except.executables[0]: \"head\" is not an absolute path" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"except\": {\"executables\": [\"/usr/**\"]}}", "except.executables[0]: \"/usr/**\" is a directory: an executable is a file" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"except\": {\"executables\": []}}", "except.executables: must not be empty" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"only\": {\"uids\": [-1]}}", "only.uids[0]: must be a whole number from 0 to 4294967294, got -1" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"only\": {\"uids\": [1.5]}}", "only.uids[0]: must be a whole number from 0 to 4294967294, got 1.5" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"only\": {\"auids\": [4294967295]}}", "only.auids[0]: must be a whole number from 0 to 4294967294" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"only\": {\"uids\": [\"root\"]}}", "only.uids[0]: must be a number, got a string" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"only\": {\"uids\": [0, 0]}}", "only.uids[1]: 0 is listed twice" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"only\": {\"uids\": []}}", "only.uids: must not be empty" },
	{ "{\"name\": \"a\", " OK_PATHS ", \"except\": {\"containers\": [\"App\"]}}", "except.containers[0]: \"App\" is not a valid name" },
};

static void test_bad_policies_each_have_a_distinct_clear_error(void)
{
	const char *seen[ARRAY_SIZE(bad_cases)] = {};
	struct diag all = {};

	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		struct policy_set *set = policy_set_new();
		struct diag d = {};
		int r = policy_parse("bad.json", bad_cases[i].json, strlen(bad_cases[i].json), set, &d);

		CHECK(r == -EINVAL);
		CHECK(set->n == 0);
		CHECK(d.n == 1);
		if (d.n >= 1) {
			if (!strstr(d.lines[0], bad_cases[i].expect) || strncmp(d.lines[0], "bad.json", 8) != 0) {
				printf("# case %zu: got \"%s\", expected to contain \"%s\"\n", i, d.lines[0],
				       bad_cases[i].expect);
				tap_failed = true;
			}
			diag_add(&all, "%s", d.lines[0]);
			seen[i] = all.lines[all.n - 1];
		}
		policy_set_free(set);
		diag_clear(&d);
	}
	CHECK(ARRAY_SIZE(bad_cases) >= 20);
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++)
		for (size_t j = 0; j < i; j++)
			if (seen[i] && seen[j] && strcmp(seen[i], seen[j]) == 0) {
				printf("# cases %zu and %zu give the same message: %s\n", j, i, seen[i]);
				tap_failed = true;
			}
	diag_clear(&all);
}

static void test_good_policy_defaults(void)
{
	const char *json = "{\"name\": \"etc-shadow\", \"host\": true, \"paths\": [\"/etc/shadow\", \"/\"]}";
	struct policy_set *set = policy_set_new();
	struct diag d = {};

	CHECK(policy_parse("ok.json", json, strlen(json), set, &d) == 0);
	CHECK(d.n == 0);
	CHECK(set->n == 1);
	CHECK_STREQ(set->policies[0].name, "etc-shadow");
	CHECK(set->policies[0].host);
	CHECK(set->policies[0].n_paths == 2);
	CHECK(set->policies[0].access == HIVE_ACCESS_ALL);
	CHECK(set->policies[0].action == POLICY_ACTION_LOG);
	CHECK(set->policies[0].follow_symlinks);
	policy_set_free(set);

	/* deny refuses opens and execs: that is what its access means by default. */
	set = policy_set_new();
	json = "{\"name\": \"d\", \"host\": true, \"paths\": [\"/x\"], \"action\": \"deny\"}";
	CHECK(policy_parse("ok.json", json, strlen(json), set, &d) == 0);
	CHECK(set->policies[0].action == POLICY_ACTION_DENY && set->policies[0].access == POLICY_DENY_ACCESS);
	CHECK_STREQ(set->policies[0].file, "ok.json");
	policy_set_free(set);

	set = policy_set_new();
	json = "{\"name\": \"strict\", \"host\": true, \"paths\": [\"/x\"], \"followSymlinks\": false}";
	CHECK(policy_parse("ok.json", json, strlen(json), set, &d) == 0);
	CHECK(set->n == 1 && !set->policies[0].follow_symlinks);
	policy_set_free(set);
}

static void test_array_with_selectors(void)
{
	const char *json = "[{\"name\": \"a\", \"host\": true, \"paths\": [\"/x\"], \"access\": [\"write\", \"append\"]},"
			   " {\"name\": \"b\", \"paths\": [\"/etc/shadow\"], \"namespaces\": [\"security\"],"
			   "  \"podSelector\": {\"matchLabels\": {\"app.kubernetes.io/name\": \"web\"},"
			   "    \"matchExpressions\": [{\"key\": \"tier\", \"operator\": \"NotIn\", \"values\": [\"dev\", \"\"]},"
			   "                           {\"key\": \"canary\", \"operator\": \"DoesNotExist\"}]},"
			   "  \"containers\": [\"app\"], \"action\": \"log\"}]";
	struct policy_set *set = policy_set_new();
	struct diag d = {};

	CHECK(policy_parse("ok.json", json, strlen(json), set, &d) == 0);
	CHECK(set->n == 2);
	if (set->n == 2) {
		const struct policy *b = &set->policies[1];

		CHECK(set->policies[0].access == (HIVE_MAY_WRITE | HIVE_MAY_APPEND));
		CHECK(!b->host);
		CHECK(b->n_namespaces == 1);
		CHECK(b->has_pod_selector);
		CHECK(b->pod_selector.n_match == 1);
		CHECK_STREQ(b->pod_selector.match_keys[0], "app.kubernetes.io/name");
		CHECK(b->pod_selector.n_expressions == 2);
		CHECK(b->pod_selector.expressions[0].op == SELECTOR_NOT_IN);
		CHECK(b->pod_selector.expressions[0].n_values == 2);
		CHECK(b->pod_selector.expressions[1].op == SELECTOR_DOES_NOT_EXIST);
		CHECK(b->n_containers == 1);
	}
	policy_set_free(set);
}

static void test_every_bad_policy_in_a_file_is_reported(void)
{
	const char *json = "[{\"name\": \"a\", \"host\": true, \"paths\": [\"x\"]},"
			   " {\"name\": \"b\", \"host\": true, \"paths\": [\"/ok\"]},"
			   " {\"name\": \"c\", \"host\": true, \"paths\": [\"/y\"], \"access\": [\"fly\"]}]";
	struct policy_set *set = policy_set_new();
	struct diag d = {};

	CHECK(policy_parse("f.json", json, strlen(json), set, &d) == -EINVAL);
	CHECK(d.n == 2);
	if (d.n == 2) {
		CHECK(strstr(d.lines[0], "policy #1 \"a\"") != NULL);
		CHECK(strstr(d.lines[1], "policy #3 \"c\"") != NULL);
	}
	policy_set_free(set);
	diag_clear(&d);
}

static void test_hostile_bytes_are_escaped_in_messages(void)
{
	/* An ANSI escape and invalid UTF-8 in a field name must not reach a terminal raw. */
	const char json[] = "{\"name\": \"a\", " OK_PATHS ", \"\\u001b[31mred\xff\": 1}";
	struct policy_set *set = policy_set_new();
	struct diag d = {};

	CHECK(policy_parse("h.json", json, strlen(json), set, &d) == -EINVAL);
	CHECK(d.n == 1);
	if (d.n == 1) {
		CHECK(strchr(d.lines[0], 0x1b) == NULL);
		CHECK(strchr(d.lines[0], (char)0xff) == NULL);
		CHECK(strstr(d.lines[0], "\\x1b[31mred\\xff") != NULL);
	}
	policy_set_free(set);
	diag_clear(&d);
}

static void test_deep_nesting_and_huge_input_do_not_crash(void)
{
	size_t n = 100000;
	char *deep = malloc(2 * n + 1);
	struct policy_set *set = policy_set_new();
	struct diag d = {};

	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	CHECK(policy_parse("deep.json", deep, 2 * n, set, &d) == -EINVAL);
	CHECK(d.n >= 1);
	free(deep);
	policy_set_free(set);
	diag_clear(&d);
}

static void test_too_many_paths(void)
{
	char *json = malloc(64 * 1024);
	size_t o = 0;
	struct policy_set *set = policy_set_new();
	struct diag d = {};

	o += sprintf(json + o, "{\"name\": \"a\", \"host\": true, \"paths\": [");
	for (int i = 0; i <= POLICY_MAX_PATHS; i++)
		o += sprintf(json + o, "%s\"/p%d\"", i ? "," : "", i);
	sprintf(json + o, "]}");
	CHECK(policy_parse("many.json", json, strlen(json), set, &d) == -EINVAL);
	CHECK(d.n == 1 && strstr(d.lines[0], "at most 256 are allowed"));
	free(json);
	policy_set_free(set);
	diag_clear(&d);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void test_directory_loading(void)
{
	char dir[] = "/tmp/hive-policy-test-XXXXXX";
	char sub[600];
	struct policy_set *set = NULL;
	struct diag d = {};

	CHECK(mkdtemp(dir) != NULL);
	write_file(dir, "10-a.json", "{\"name\": \"a\", " OK_PATHS "}");
	write_file(dir, "20-b.json", "[{\"name\": \"b\", " OK_PATHS "}]");
	write_file(dir, "example.json.disabled", "not json at all");
	write_file(dir, ".hidden.json", "not json at all");
	CHECK(policy_set_load_dir(dir, &set, &d) == 0);
	CHECK(set && set->n == 2);
	if (set && set->n == 2) {
		CHECK_STREQ(set->policies[0].name, "a");
		CHECK_STREQ(set->policies[1].name, "b");
	}
	set = policy_set_free(set);

	/* The same name in two files: both files named in the message. */
	write_file(dir, "30-dup.json", "{\"name\": \"a\", " OK_PATHS "}");
	CHECK(policy_set_load_dir(dir, &set, &d) == -EINVAL);
	CHECK(set == NULL);
	CHECK(d.n == 1 && strstr(d.lines[0], "30-dup.json: policy \"a\": name already used in") &&
	      strstr(d.lines[0], "10-a.json"));
	diag_clear(&d);

	snprintf(sub, sizeof(sub), "%s/30-dup.json", dir);
	unlink(sub);
	snprintf(sub, sizeof(sub), "%s/40-dir.json", dir);
	mkdir(sub, 0700);
	CHECK(policy_set_load_dir(dir, &set, &d) == -EINVAL);
	CHECK(d.n == 1 && strstr(d.lines[0], "40-dir.json: not a regular file"));
	diag_clear(&d);
	rmdir(sub);

	CHECK(policy_set_load_dir("/nonexistent/hive", &set, &d) == -ENOENT);
	(void)!system((snprintf(sub, sizeof(sub), "rm -rf %s", dir), sub));
}

static int parse_object(enum policy_kind kind, const char *json, struct policy_set *set, struct diag *d)
{
	cJSON *o = cJSON_Parse(json);
	int r;

	CHECK(o != NULL);
	r = policy_parse_resource(kind, o, set, d);
	cJSON_Delete(o);
	return r;
}

#define META(ns) "\"metadata\": {\"name\": \"web\", " ns "\"generation\": 3}"

static void test_resources_mean_what_files_mean(void)
{
	struct policy_set *set = policy_set_new(), *all = policy_set_new();
	struct diag d = {};

	CHECK(policy_parse("f.json", "{\"name\": \"web\", " OK_PATHS "}", strlen("{\"name\": \"web\", " OK_PATHS "}"),
			   set, &d) == 0);
	CHECK(parse_object(POLICY_KIND_CLUSTER, "{" META("") ", \"spec\": {" OK_PATHS ", \"access\": [\"read\"]}}",
			   set, &d) == 0);
	CHECK(parse_object(POLICY_KIND_NAMESPACED,
			   "{" META("\"namespace\": \"team-a\", ") ", \"spec\": {\"paths\": [\"/etc/app\"], "
			   "\"podSelector\": {\"matchLabels\": {\"app\": \"web\"}}}}",
			   set, &d) == 0);
	CHECK(d.n == 0);
	CHECK(set->n == 3);
	if (set->n == 3) {
		const struct policy *f = &set->policies[0], *c = &set->policies[1], *n = &set->policies[2];

		/* Same name, both kept and told apart. */
		CHECK_STREQ(f->name, "web");
		CHECK_STREQ(c->name, "web");
		CHECK(strcmp(f->id, c->id) != 0);
		CHECK(f->kind == POLICY_KIND_FILE && c->kind == POLICY_KIND_CLUSTER);
		CHECK(c->generation == 3 && c->host && c->access == HIVE_MAY_READ);
		/* A namespaced policy is named NAMESPACE/NAME and held to its namespace. */
		CHECK_STREQ(n->name, "team-a/web");
		CHECK(n->kind == POLICY_KIND_NAMESPACED && !n->host);
		CHECK(n->n_namespaces == 1 && strcmp(n->namespaces[0], "team-a") == 0);
		CHECK(n->has_pod_selector && n->pod_selector.n_match == 1);
	}
	CHECK(policy_set_validate(set, &d) == 0);
	CHECK(policy_set_append(all, set) == 0);
	CHECK(all->n == 3 && strcmp(all->policies[2].name, "team-a/web") == 0 &&
	      strcmp(all->policies[2].pod_selector.match_values[0], "web") == 0);
	CHECK(policy_name_is_valid("web") && policy_name_is_valid("team-a/web"));
	CHECK(!policy_name_is_valid("a/b/c") && !policy_name_is_valid("/web") && !policy_name_is_valid("Web"));
	CHECK_STREQ(policy_kind_canonical("HiveNamespacedPolicy"), "HiveNamespacedPolicy");
	CHECK(policy_kind_canonical("Pod") == NULL);
	policy_set_free(set);
	policy_set_free(all);
}

static void test_bad_resources_are_refused_with_the_field(void)
{
	static const struct {
		enum policy_kind kind;
		const char *json, *expect;
	} cases[] = {
		{ POLICY_KIND_NAMESPACED, "{" META("\"namespace\": \"team-a\", ") ", \"spec\": {" OK_PATHS "}}",
		  "HiveNamespacedPolicy team-a/web: spec.host: not allowed: a HiveNamespacedPolicy selects pods of its own namespace only" },
		{ POLICY_KIND_NAMESPACED,
		  "{" META("\"namespace\": \"team-a\", ") ", \"spec\": {\"paths\": [\"/x\"], \"namespaces\": [\"team-b\"]}}",
		  "spec.namespaces: not allowed" },
		{ POLICY_KIND_NAMESPACED, "{" META("") ", \"spec\": {\"paths\": [\"/x\"]}}", "metadata.namespace is missing" },
		{ POLICY_KIND_CLUSTER, "{" META("\"namespace\": \"x\", ") ", \"spec\": {" OK_PATHS "}}",
		  "metadata.namespace is set on a cluster-scoped object" },
		{ POLICY_KIND_CLUSTER, "{\"metadata\": {\"name\": \"a.b\"}, \"spec\": {" OK_PATHS "}}",
		  "metadata.name \"a.b\" is not a valid policy name" },
		{ POLICY_KIND_CLUSTER, "{" META("") "}", "HivePolicy web: spec: must be an object" },
		{ POLICY_KIND_CLUSTER, "{" META("") ", \"spec\": {\"paths\": [\"rel\"], \"host\": true}}",
		  "HivePolicy web: spec.paths[0]: \"rel\" is not an absolute path" },
		{ POLICY_KIND_CLUSTER, "{" META("") ", \"spec\": {\"name\": \"x\", " OK_PATHS "}}", "spec.name: unknown field" },
		{ POLICY_KIND_CLUSTER, "{" META("") ", \"spec\": {\"paths\": [\"/x\"]}}", "HivePolicy web: selects nothing" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct policy_set *set = policy_set_new();
		struct diag d = {};

		CHECK(parse_object(cases[i].kind, cases[i].json, set, &d) == -EINVAL);
		CHECK(set->n == 0);
		CHECK(d.n == 1);
		if (d.n == 1 && !strstr(d.lines[0], cases[i].expect))
			printf("# case %zu: \"%s\" lacks \"%s\"\n", i, d.lines[0], cases[i].expect);
		CHECK(d.n == 1 && strstr(d.lines[0], cases[i].expect));
		diag_clear(&d);
		policy_set_free(set);
	}
}

static int count_executable(const char *path, void *userdata)
{
	(*(size_t *)userdata)++;
	return path[0] == '/' ? 0 : -EINVAL;
}

static bool runs_head(const char *executable, void *userdata)
{
	return strcmp(executable, "/usr/bin/head") == 0 && userdata;
}

/* "only" and "except": every kind a set names must hold, any of its values. */
static void test_process_filters(void)
{
	const char *json = "{\"name\": \"f\", \"host\": true, \"paths\": [\"/x\"], "
			   "\"only\": {\"uids\": [0, 33], \"containers\": [\"app\"]}, "
			   "\"except\": {\"executables\": [\"/usr/bin/head\", \"/bin/x\"], \"auids\": [1000]}}";
	struct policy_set *set = policy_set_new(), *copy = policy_set_new();
	struct diag d = {};
	const struct process_filter *f;
	struct process_subject s = { .uid = 33, .auid = 1000, .container = "app", .runs = runs_head };
	size_t n_exe = 0;

	CHECK(policy_parse("ok.json", json, strlen(json), set, &d) == 0 && set->n == 1);
	f = set->policies[0].filter;
	CHECK(f && f->has_only && f->has_except && f->only.n_uids == 2 && f->except.n_executables == 2);
	/* In only; runs head but the except's auid must hold too: */
	s.userdata = NULL; /* runs nothing */
	CHECK(process_filter_admits(f, &s));
	s.userdata = &s; /* runs /usr/bin/head, auid 1000: excepted */
	CHECK(!process_filter_admits(f, &s));
	s.auid = 1001;
	CHECK(process_filter_admits(f, &s));
	s.uid = 1; /* not in only */
	CHECK(!process_filter_admits(f, &s));
	s.uid = 0;
	s.container = NULL; /* in no container: not in only */
	CHECK(!process_filter_admits(f, &s));
	CHECK(process_filter_admits(NULL, &s));
	/* Copies share it; equal to a filter parsed again. */
	CHECK(policy_set_append(copy, set) == 0 && copy->policies[0].filter == f && f->n_ref == 2);
	policy_set_free(copy);
	copy = policy_set_new();
	CHECK(policy_parse("ok.json", json, strlen(json), copy, &d) == 0);
	CHECK(process_filter_equal(f, copy->policies[0].filter) && !process_filter_equal(f, NULL));
	(void)process_filter_foreach_executable(f, count_executable, &n_exe);
	CHECK(n_exe == 2);
	policy_set_free(copy);
	policy_set_free(set);
}

/* A path ending in the tree suffix watches the directory before it. */
static void test_tree_paths(void)
{
	size_t len = 0;

	CHECK(policy_path_tree("/etc/sudoers.d/**", &len) == POLICY_TREE_ALL && len == strlen("/etc/sudoers.d"));
	CHECK(policy_path_tree("/**", &len) == POLICY_TREE_ALL && len == 1);
	/* Its own entries only. */
	CHECK(policy_path_tree("/etc/cron.d/*", &len) == POLICY_TREE_ENTRIES && len == strlen("/etc/cron.d"));
	CHECK(policy_path_tree("/*", &len) == POLICY_TREE_ENTRIES && len == 1);
	CHECK(!policy_path_tree("/etc/**/x", &len) && !policy_path_tree("/etc/a*", &len) &&
	      !policy_path_tree("/etc/*/x", &len) && !policy_path_tree("/etc/a**", &len) &&
	      !policy_path_tree("/etc", &len));
	CHECK(policy_path_is_valid("/etc/**") && policy_path_is_valid("/**") && policy_path_is_valid("/etc/*"));
}

static void keep_line(const char *line, void *userdata)
{
	char **last = userdata;

	free(*last);
	*last = strdup(line);
}

/* Deny policies that would refuse what the system needs are warned about;
 * writes only, audit-deny, "only", pod policies and other files are not. */
static void test_deny_safety_warnings(void)
{
	static const struct {
		const char *json;
		const char *warned; /* NULL: none */
	} cases[] = {
		{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/etc/shadow\"], \"action\": \"deny\"}",
		  "paths[0]: /etc/shadow is needed to boot or log in (password logins read it, through unix_chkpwd); "
		  "this deny refuses it to every process:" },
		{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/x\", \"/etc/pam.d/sshd\"], \"action\": \"deny\", "
		  "\"except\": {\"uids\": [0]}}",
		  "paths[1]: /etc/pam.d/sshd is needed to boot or log in (every login reads its PAM configuration); this "
		  "deny refuses it to every process its \"except\" does not name" },
		{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/usr/lib/x86_64-linux-gnu/libpam.so.0\"], "
		  "\"action\": \"deny\"}",
		  "a shared library or the dynamic loader" },
		{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/etc/shadow\"], \"action\": \"deny\", "
		  "\"access\": [\"write\", \"append\"]}",
		  NULL },
		{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/etc/shadow\"], \"action\": \"audit-deny\"}", NULL },
		{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/etc/shadow\"], \"action\": \"deny\", "
		  "\"only\": {\"uids\": [1000]}}",
		  NULL },
		{ "{\"name\": \"a\", \"paths\": [\"/etc/shadow\"], \"action\": \"deny\", "
		  "\"namespaces\": [\"web\"]}",
		  NULL },
		{ "{\"name\": \"a\", \"host\": true, \"paths\": [\"/etc/hive-test-key\", \"/usr/lib/os-release\"], "
		  "\"action\": \"deny\"}",
		  NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct policy_set *set = policy_set_new();
		struct diag d = {};
		char *line = NULL;

		CHECK(policy_parse("p.json", cases[i].json, strlen(cases[i].json), set, &d) == 0);
		deny_safety_warnings(set, keep_line, &line);
		if (cases[i].warned) {
			CHECK(line && strstr(line, cases[i].warned));
			CHECK(line && strncmp(line, "p.json: policy \"a\": ", strlen("p.json: policy \"a\": ")) == 0);
		} else
			CHECK(!line);
		if ((cases[i].warned != NULL) != (line != NULL) || (line && !strstr(line, cases[i].warned)))
			printf("# case %zu: %s\n", i, line ? line : "(no warning)");
		free(line);
		diag_clear(&d);
		policy_set_free(set);
	}
	CHECK(deny_critical_path("/etc/passwdx") == NULL);
	CHECK(deny_critical_path("/etc/security") != NULL);
	CHECK(deny_critical_path("/lib64/ld-linux-x86-64.so.2") != NULL);
}

int main(void)
{
	RUN(test_bad_policies_each_have_a_distinct_clear_error);
	RUN(test_good_policy_defaults);
	RUN(test_array_with_selectors);
	RUN(test_every_bad_policy_in_a_file_is_reported);
	RUN(test_hostile_bytes_are_escaped_in_messages);
	RUN(test_deep_nesting_and_huge_input_do_not_crash);
	RUN(test_too_many_paths);
	RUN(test_directory_loading);
	RUN(test_resources_mean_what_files_mean);
	RUN(test_bad_resources_are_refused_with_the_field);
	RUN(test_tree_paths);
	RUN(test_process_filters);
	RUN(test_deny_safety_warnings);
	return TAP_END();
}
