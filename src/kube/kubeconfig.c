/* SPDX-License-Identifier: MIT */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kubeconfig.h"
#include "kube/yaml.h"
#include "shared/escape.h"
#include "shared/fileio.h"

#define KUBECONFIG_MAX_SIZE (4 * 1024 * 1024)
#define CREDENTIAL_FILE_MAX (1024 * 1024)
#define SERVICE_ACCOUNT "var/run/secrets/kubernetes.io/serviceaccount"

struct kube_credentials *kube_credentials_free(struct kube_credentials *c)
{
	if (!c)
		return NULL;
	free(c->server);
	free(c->ca_pem);
	free(c->cert_pem);
	if (c->key_pem)
		explicit_bzero(c->key_pem, c->key_len);
	free(c->key_pem);
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c->token_file);
	free(c);
	return NULL;
}

static char *dup_bytes(const char *data, size_t len, bool *oom)
{
	char *copy;

	if (!data)
		return NULL;
	copy = malloc(len + 1);
	if (!copy) {
		*oom = true;
		return NULL;
	}
	memcpy(copy, data, len);
	copy[len] = '\0';
	return copy;
}

struct kube_credentials *kube_credentials_dup(const struct kube_credentials *c)
{
	struct kube_credentials *d = calloc(1, sizeof(*d));
	bool oom = false;

	if (!d)
		return NULL;
	*d = (struct kube_credentials){
		.server = dup_bytes(c->server, strlen(c->server), &oom),
		.ca_pem = dup_bytes(c->ca_pem, c->ca_len, &oom),
		.ca_len = c->ca_len,
		.cert_pem = dup_bytes(c->cert_pem, c->cert_len, &oom),
		.cert_len = c->cert_len,
		.key_pem = dup_bytes(c->key_pem, c->key_len, &oom),
		.key_len = c->key_len,
		.token = c->token ? dup_bytes(c->token, strlen(c->token), &oom) : NULL,
		.token_file = c->token_file ? dup_bytes(c->token_file, strlen(c->token_file), &oom) : NULL,
		.insecure = c->insecure,
	};
	return oom ? kube_credentials_free(d) : d;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *in, size_t len, char **ret)
{
	char *out = malloc(len / 4 * 3 + 4);
	unsigned bits = 0, n_bits = 0, pad = 0;
	size_t o = 0;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad > 0)
			goto bad; /* data after padding, or not base64 */
		bits = (bits << 6) | v;
		n_bits += 6;
		if (n_bits >= 8) {
			n_bits -= 8;
			out[o++] = (bits >> n_bits) & 0xff;
		}
	}
	if (pad > 2 || n_bits >= 6 || (bits & ((1u << n_bits) - 1)))
		goto bad;
	out[o] = '\0';
	*ret = out;
	return (int)o;
bad:
	free(out);
	return -EINVAL;
}

/* The named entry of a kubeconfig list ("clusters", ...): its inner object. */
static const cJSON *named(const cJSON *root, const char *list, const char *inner, const char *name)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, list), *item;

	cJSON_ArrayForEach(item, items)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(item, "name");

		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return cJSON_GetObjectItemCaseSensitive(item, inner);
	}
	return NULL;
}

static const char *string_field(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/*
 * A credential given inline (FIELD-data, base64) or as a file (FIELD,
 * relative to the kubeconfig). Returns 0 with *ret NULL when neither is set.
 */
static int credential(const char *label, const char *where, const cJSON *o, const char *field, const char *base_dir,
		      char **ret, size_t *ret_len, struct diag *d)
{
	char data_field[64], path[PATH_MAX];
	const char *data, *file;
	size_t len;
	int r;

	snprintf(data_field, sizeof(data_field), "%s-data", field);
	data = string_field(o, data_field);
	file = string_field(o, field);
	*ret = NULL;
	if (data) {
		r = base64_decode(data, strlen(data), ret);
		if (r < 0) {
			diag_add(d, "%s: %s.%s: not valid base64", label, where, data_field);
			return -EINVAL;
		}
		*ret_len = r;
		return 0;
	}
	if (!file)
		return 0;
	snprintf(path, sizeof(path), "%s%s%s", file[0] == '/' ? "" : base_dir, file[0] == '/' ? "" : "/", file);
	r = read_small_file(path, CREDENTIAL_FILE_MAX, ret, &len);
	if (r < 0) {
		diag_add(d, "%s: %s.%s: cannot read %s: %s", label, where, field, path, strerror(-r));
		return -EINVAL;
	}
	*ret_len = len;
	return 0;
}

/* The cluster and user entries the current context names. */
struct kubeconfig_context {
	char name[ESCAPED_SIZE(64)]; /* the current context's, escaped for messages */
	const cJSON *cluster, *user;
	const char *cluster_name, *user_name;
};

static int find_context(const char *label, const cJSON *root, struct kubeconfig_context *ctx, struct diag *d)
{
	const cJSON *context, *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
	const char *current;

	if (kind && (!cJSON_IsString(kind) || strcmp(kind->valuestring, "Config") != 0)) {
		diag_add(d, "%s: kind: expected \"Config\"", label);
		return -EINVAL;
	}
	current = string_field(root, "current-context");
	if (!current) {
		diag_add(d, "%s: current-context: not set", label);
		return -EINVAL;
	}
	escape_untrusted(current, strnlen(current, 64), ctx->name, sizeof(ctx->name));
	context = named(root, "contexts", "context", current);
	if (!cJSON_IsObject(context)) {
		diag_add(d, "%s: contexts: no context named \"%s\" (the current-context)", label, ctx->name);
		return -EINVAL;
	}
	ctx->cluster_name = string_field(context, "cluster");
	ctx->user_name = string_field(context, "user");
	ctx->cluster = ctx->cluster_name ? named(root, "clusters", "cluster", ctx->cluster_name) : NULL;
	ctx->user = ctx->user_name ? named(root, "users", "user", ctx->user_name) : NULL;
	if (!cJSON_IsObject(ctx->cluster)) {
		diag_add(d, "%s: context \"%s\": cluster: missing, or no such entry in clusters", label, ctx->name);
		return -EINVAL;
	}
	return 0;
}

/* The server, how to trust it. */
static int read_cluster(const char *label, const struct kubeconfig_context *ctx, const char *base_dir,
			struct kube_credentials *c, struct diag *d)
{
	const char *server = string_field(ctx->cluster, "server");
	const char *insecure = string_field(ctx->cluster, "insecure-skip-tls-verify");

	if (!server || strncmp(server, "https://", 8) != 0 || strlen(server) <= 8) {
		diag_add(d, "%s: clusters[\"%s\"].server: must be an https:// URL", label, ctx->cluster_name);
		return -EINVAL;
	}
	c->server = strdup(server);
	if (!c->server)
		return -ENOMEM;
	while (strlen(c->server) > 8 && c->server[strlen(c->server) - 1] == '/')
		c->server[strlen(c->server) - 1] = '\0';
	c->insecure = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ctx->cluster, "insecure-skip-tls-verify")) ||
		      (insecure && strcmp(insecure, "true") == 0);
	return credential(label, "cluster", ctx->cluster, "certificate-authority", base_dir, &c->ca_pem, &c->ca_len,
			  d);
}

/* Who we are: a client certificate and key, a token, or a token file. */
static int read_user(const char *label, const struct kubeconfig_context *ctx, const char *base_dir,
		     struct kube_credentials *c, struct diag *d)
{
	const cJSON *user = ctx->user;
	const char *user_name = ctx->user_name, *token, *token_file;

	if (user && !cJSON_IsObject(user) && !cJSON_IsNull(user)) {
		diag_add(d, "%s: users[\"%s\"].user: must be a mapping", label, user_name);
		return -EINVAL;
	}
	if (user_name && !user) {
		diag_add(d, "%s: context \"%s\": user \"%s\": no such entry in users", label, ctx->name, user_name);
		return -EINVAL;
	}
	if (cJSON_GetObjectItemCaseSensitive(user, "exec") || cJSON_GetObjectItemCaseSensitive(user, "auth-provider")) {
		diag_add(d, "%s: users[\"%s\"]: exec and auth-provider credential plugins are not supported; "
			 "use a client certificate or a token",
			 label, user_name);
		return -EINVAL;
	}
	if (credential(label, "user", user, "client-certificate", base_dir, &c->cert_pem, &c->cert_len, d) < 0 ||
	    credential(label, "user", user, "client-key", base_dir, &c->key_pem, &c->key_len, d) < 0)
		return -EINVAL;
	if (!c->cert_pem != !c->key_pem) {
		diag_add(d, "%s: users[\"%s\"]: a client certificate needs its key, and a key its certificate", label,
			 user_name);
		return -EINVAL;
	}
	token = string_field(user, "token");
	token_file = string_field(user, "tokenFile");
	if (token && !(c->token = strdup(token)))
		return -ENOMEM;
	if (token_file) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s%s%s", token_file[0] == '/' ? "" : base_dir,
			 token_file[0] == '/' ? "" : "/", token_file);
		if (!(c->token_file = strdup(path)))
			return -ENOMEM;
	}
	if (!c->cert_pem && !c->token && !c->token_file) {
		diag_add(d, "%s: users[\"%s\"]: no credentials (client-certificate/client-key, token or tokenFile)",
			 label, user_name ? user_name : "");
		return -EINVAL;
	}
	return 0;
}

int kubeconfig_parse(const char *label, const char *text, size_t len, const char *base_dir,
		     struct kube_credentials **ret, struct diag *d)
{
	struct kubeconfig_context ctx = {};
	struct kube_credentials *c = NULL;
	char err[256];
	cJSON *root;
	int r = -EINVAL;

	root = yaml_parse(text, len, err, sizeof(err));
	if (!root) {
		diag_add(d, "%s: %s", label, err[0] ? err : "cannot parse");
		return -EINVAL;
	}
	if (!cJSON_IsObject(root))
		diag_add(d, "%s: not a kubeconfig (expected a mapping at the top)", label);
	else if ((r = find_context(label, root, &ctx, d)) >= 0 && !(c = calloc(1, sizeof(*c))))
		r = -ENOMEM;
	if (r >= 0)
		r = read_cluster(label, &ctx, base_dir, c, d);
	if (r >= 0)
		r = read_user(label, &ctx, base_dir, c, d);
	if (r >= 0)
		*ret = TAKE_PTR(c);
	kube_credentials_free(c);
	cJSON_Delete(root);
	return r;
}

int kubeconfig_load(const char *path, struct kube_credentials **ret, struct diag *d)
{
	_cleanup_(freep) char *text = NULL, *dir_copy = NULL;
	size_t len;
	int r;

	r = read_small_file(path, KUBECONFIG_MAX_SIZE, &text, &len);
	if (r < 0) {
		diag_add(d, "%s: cannot read: %s", path, strerror(-r));
		return -EINVAL;
	}
	dir_copy = strdup(path);
	if (!dir_copy)
		return -ENOMEM;
	return kubeconfig_parse(path, text, len, dirname(dir_copy), ret, d);
}

int kube_in_cluster(const char *root, struct kube_credentials **ret, struct diag *d)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	struct kube_credentials *c;
	char path[PATH_MAX];
	int r;

	if (!host || !port || !*host || !*port) {
		diag_add(d, "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not in a pod?)");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	/* An IPv6 service address needs brackets in a URL. */
	if (asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port) < 0) {
		c->server = NULL;
		kube_credentials_free(c);
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/" SERVICE_ACCOUNT "/ca.crt", root);
	r = read_small_file(path, CREDENTIAL_FILE_MAX, &c->ca_pem, &c->ca_len);
	if (r < 0) {
		diag_add(d, "in-cluster: cannot read %s: %s", path, strerror(-r));
		kube_credentials_free(c);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/" SERVICE_ACCOUNT "/token", root);
	if (access(path, R_OK) < 0) {
		diag_add(d, "in-cluster: cannot read %s: %m", path);
		kube_credentials_free(c);
		return -EINVAL;
	}
	c->token_file = strdup(path);
	if (!c->token_file) {
		kube_credentials_free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}
