/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <unistd.h>

#include "kube/kubeconfig.h"
#include "kube/yaml.h"
#include "shared/macro.h"
#include "tap.h"

static const char *kind_like =
	"apiVersion: v1\n"
	"clusters:\n"
	"- cluster:\n"
	"    certificate-authority-data: aGVsbG8=   # \"hello\"\n"
	"    server: https://127.0.0.1:6443/\n"
	"  name: kind-kind\n"
	"contexts:\n"
	"- context:\n"
	"    cluster: kind-kind\n"
	"    user: kind-kind\n"
	"  name: kind-kind\n"
	"current-context: kind-kind\n"
	"kind: Config\n"
	"preferences: {}\n"
	"users:\n"
	"- name: kind-kind\n"
	"  user:\n"
	"    client-certificate-data: Y2VydA==\n"
	"    client-key-data: \"a2V5\"\n";

static void test_yaml_kubeconfig_shape(void)
{
	char err[256];
	cJSON *root = yaml_parse(kind_like, strlen(kind_like), err, sizeof(err));
	const cJSON *clusters;

	CHECK(root != NULL);
	if (!root) {
		printf("# %s\n", err);
		return;
	}
	clusters = cJSON_GetObjectItem(root, "clusters");
	CHECK(cJSON_IsArray(clusters) && cJSON_GetArraySize(clusters) == 1);
	CHECK_STREQ(cJSON_GetObjectItem(cJSON_GetArrayItem(clusters, 0), "name")->valuestring, "kind-kind");
	CHECK_STREQ(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(clusters, 0), "cluster"), "server")
			    ->valuestring,
		    "https://127.0.0.1:6443/");
	CHECK(cJSON_IsObject(cJSON_GetObjectItem(root, "preferences")));
	cJSON_Delete(root);
}

static void test_yaml_scalars_and_sequences(void)
{
	const char *text = "---\na: 'it''s'\nb: \"tab\\there\"\nc:\n- x\n- \"y # not a comment\"\nd: ~\ne: []\n"
			   "f:\n  - g: 1\n    h: 2\n  - g: 3\n";
	char err[256];
	cJSON *root = yaml_parse(text, strlen(text), err, sizeof(err));

	CHECK(root != NULL);
	if (!root) {
		printf("# %s\n", err);
		return;
	}
	CHECK_STREQ(cJSON_GetObjectItem(root, "a")->valuestring, "it's");
	CHECK_STREQ(cJSON_GetObjectItem(root, "b")->valuestring, "tab\there");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(root, "c")) == 2);
	CHECK_STREQ(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "c"), 1)->valuestring, "y # not a comment");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(root, "d")));
	CHECK(cJSON_IsArray(cJSON_GetObjectItem(root, "e")));
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(root, "f")) == 2);
	CHECK_STREQ(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "f"), 0), "h")->valuestring, "2");
	cJSON_Delete(root);
}

static void test_yaml_refuses_what_it_does_not_read(void)
{
	static const struct {
		const char *text, *expect;
	} bad[] = {
		{ "a: &anchor x\n", "line 1: unsupported YAML" },
		{ "a: *alias\n", "line 1: unsupported YAML" },
		{ "a: !!binary x\n", "line 1: unsupported YAML" },
		{ "a: |\n  text\n", "line 1: unsupported YAML" },
		{ "a: {b: c}\n", "line 1: unsupported YAML" },
		{ "a: b\na: c\n", "line 2: key \"a\" given twice" },
		{ "a:\n\tb: c\n", "line 2: tab in indentation" },
		{ "a: \"open\n", "line 1: unterminated quoted string" },
		{ "a: b\n---\nc: d\n", "line 2: more than one document" },
		{ "a: b\n   c: d\n", "line 2: unexpected indentation" },
		{ "just text\n", "line 1: expected \"key: value\"" },
		{ "", "empty document" },
		{ "{\"a\": ", "invalid JSON" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char err[256];
		cJSON *root = yaml_parse(bad[i].text, strlen(bad[i].text), err, sizeof(err));

		CHECK(root == NULL);
		if (!strstr(err, bad[i].expect)) {
			printf("# case %zu: \"%s\", expected \"%s\"\n", i, err, bad[i].expect);
			tap_failed = true;
		}
		cJSON_Delete(root);
	}
}

static void test_yaml_deep_nesting_is_bounded(void)
{
	char *text = malloc(200 * 300);
	size_t o = 0;
	char err[256];
	cJSON *root;

	for (int i = 0; i < 200; i++)
		o += sprintf(text + o, "%*sk:\n", i * 2, "");
	root = yaml_parse(text, o, err, sizeof(err));
	CHECK(root == NULL);
	CHECK(strstr(err, "nested more than") != NULL);
	free(text);
}

static void test_kubeconfig_resolves_current_context(void)
{
	struct kube_credentials *c = NULL;
	struct diag d = {};

	CHECK(kubeconfig_parse("k", kind_like, strlen(kind_like), "/tmp", &c, &d) == 0);
	CHECK(d.n == 0);
	if (!c)
		return;
	CHECK_STREQ(c->server, "https://127.0.0.1:6443");
	CHECK(c->ca_len == 5 && memcmp(c->ca_pem, "hello", 5) == 0);
	CHECK(c->cert_len == 4 && memcmp(c->cert_pem, "cert", 4) == 0);
	CHECK(c->key_len == 3 && memcmp(c->key_pem, "key", 3) == 0);
	CHECK(!c->insecure && !c->token);
	kube_credentials_free(c);
}

static void test_kubeconfig_files_relative_to_it(void)
{
	char dir[] = "/tmp/hive-kc-XXXXXX", path[300];
	const char *text = "{\"kind\": \"Config\", \"current-context\": \"c\","
			   " \"contexts\": [{\"name\": \"c\", \"context\": {\"cluster\": \"k\", \"user\": \"u\"}}],"
			   " \"clusters\": [{\"name\": \"k\", \"cluster\": {\"server\": \"https://h:1\","
			   "   \"certificate-authority\": \"ca.pem\"}}],"
			   " \"users\": [{\"name\": \"u\", \"user\": {\"tokenFile\": \"token\"}}]}";
	struct kube_credentials *c = NULL;
	struct diag d = {};
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	f = fopen(path, "w");
	fputs("PEM", f);
	fclose(f);
	CHECK(kubeconfig_parse("j", text, strlen(text), dir, &c, &d) == 0);
	if (c) {
		CHECK(c->ca_len == 3);
		snprintf(path, sizeof(path), "%s/token", dir);
		CHECK_STREQ(c->token_file, path);
	}
	kube_credentials_free(c);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	unlink(path);
	rmdir(dir);
}

static void test_kubeconfig_errors_name_the_field(void)
{
	static const struct {
		const char *text, *expect;
	} bad[] = {
		{ "kind: Pod\ncurrent-context: a\n", "k: kind: expected \"Config\"" },
		{ "kind: Config\n", "k: current-context: not set" },
		{ "current-context: a\ncontexts: []\n", "k: contexts: no context named \"a\"" },
		{ "current-context: a\ncontexts:\n- name: a\n  context:\n    cluster: x\n",
		  "k: context \"a\": cluster: missing, or no such entry in clusters" },
		{ "current-context: a\ncontexts:\n- name: a\n  context:\n    cluster: x\nclusters:\n- name: x\n  cluster:\n"
		  "    server: http://plain:80\n",
		  "k: clusters[\"x\"].server: must be an https:// URL" },
		{ "current-context: a\ncontexts:\n- name: a\n  context:\n    cluster: x\n    user: u\nclusters:\n- name: x\n"
		  "  cluster:\n    server: https://h\nusers:\n- name: u\n  user:\n    exec:\n      command: aws\n",
		  "exec and auth-provider credential plugins are not supported" },
		{ "current-context: a\ncontexts:\n- name: a\n  context:\n    cluster: x\n    user: u\nclusters:\n- name: x\n"
		  "  cluster:\n    server: https://h\nusers:\n- name: u\n  user:\n    client-certificate-data: Y2VydA==\n",
		  "a client certificate needs its key" },
		{ "current-context: a\ncontexts:\n- name: a\n  context:\n    cluster: x\n    user: u\nclusters:\n- name: x\n"
		  "  cluster:\n    server: https://h\n    certificate-authority-data: '***'\nusers:\n- name: u\n  user:\n"
		  "    token: t\n",
		  "k: cluster.certificate-authority-data: not valid base64" },
		{ "current-context: a\ncontexts:\n- name: a\n  context:\n    cluster: x\n    user: u\nclusters:\n- name: x\n"
		  "  cluster:\n    server: https://h\nusers:\n- name: u\n  user: {}\n",
		  "no credentials" },
		{ "current-context: a\ncontexts:\n- name: a\n  context:\n    cluster: x\n    user: u\nclusters:\n- name: x\n"
		  "  cluster:\n    server: https://h\n    certificate-authority: /nonexistent/ca\nusers:\n- name: u\n"
		  "  user:\n    token: t\n",
		  "cluster.certificate-authority: cannot read /nonexistent/ca" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct kube_credentials *c = NULL;
		struct diag d = {};

		CHECK(kubeconfig_parse("k", bad[i].text, strlen(bad[i].text), "/", &c, &d) == -EINVAL);
		CHECK(c == NULL);
		if (d.n != 1 || !strstr(d.lines[0], bad[i].expect)) {
			printf("# case %zu: %zu messages, \"%s\", expected \"%s\"\n", i, d.n, d.n ? d.lines[0] : "",
			       bad[i].expect);
			tap_failed = true;
		}
		diag_clear(&d);
	}
}

static void test_base64(void)
{
	char *out = NULL;

	CHECK(base64_decode("aGVsbG8gd29ybGQ=", 16, &out) == 11);
	CHECK_STREQ(out, "hello world");
	free(out);
	CHECK(base64_decode("aGVs\nbG8=", 9, &out) == 5);
	free(out);
	CHECK(base64_decode("aGVsbG8=x", 9, &out) == -EINVAL);
	CHECK(base64_decode("a$==", 4, &out) == -EINVAL);
	CHECK(base64_decode("aGVsbG9=", 8, &out) == -EINVAL); /* non-zero trailing bits */
}

static void test_in_cluster(void)
{
	char dir[] = "/tmp/hive-sa-XXXXXX", path[400];
	struct kube_credentials *c = NULL;
	struct diag d = {};
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	unsetenv("KUBERNETES_SERVICE_HOST");
	CHECK(kube_in_cluster(dir, &c, &d) == -EINVAL);
	CHECK(d.n == 1 && strstr(d.lines[0], "KUBERNETES_SERVICE_HOST"));
	diag_clear(&d);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	snprintf(path, sizeof(path), "mkdir -p %s/var/run/secrets/kubernetes.io/serviceaccount", dir);
	(void)!system(path);
	snprintf(path, sizeof(path), "%s/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", dir);
	f = fopen(path, "w");
	fputs("CA", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/var/run/secrets/kubernetes.io/serviceaccount/token", dir);
	f = fopen(path, "w");
	fputs("tok\n", f);
	fclose(f);
	CHECK(kube_in_cluster(dir, &c, &d) == 0);
	if (c) {
		CHECK_STREQ(c->server, "https://[fd00::1]:443");
		CHECK_STREQ(c->token_file, path);
	}
	kube_credentials_free(c);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	(void)!system(path);
}

int main(void)
{
	RUN(test_yaml_kubeconfig_shape);
	RUN(test_yaml_scalars_and_sequences);
	RUN(test_yaml_refuses_what_it_does_not_read);
	RUN(test_yaml_deep_nesting_is_bounded);
	RUN(test_kubeconfig_resolves_current_context);
	RUN(test_kubeconfig_files_relative_to_it);
	RUN(test_kubeconfig_errors_name_the_field);
	RUN(test_base64);
	RUN(test_in_cluster);
	return TAP_END();
}
