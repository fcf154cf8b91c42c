/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "metrics/http.h"
#include "shared/escape.h"
#include "shared/fileio.h"
#include "shared/log.h"
#include "shared/names.h"

#define CONFIG_MAX_SIZE (64 * 1024)

int config_new(struct config **ret)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	*c = (struct config){
		.policy_dir = strdup(CONFIG_DEFAULT_POLICY_DIR),
		.cgroup_root = strdup("/sys/fs/cgroup"),
		.output = OUTPUT_JOURNAL,
		.attach = ATTACH_AUTO,
		.dedup_window_ms = 1000,
		.dedup_entries = 16384,
		.ringbuf_kib = 4096,
		.ancestors = HIVE_ANCESTORS_MAX,
		.max_watches = 65536,
		.rescan_interval_ms = 500,
		.stats_interval_s = 60,
		.log_level = LOG_INFO,
		.kube_namespace = strdup("hive-system"),
		.lease_duration_s = 15,
		.renew_deadline_s = 10,
		.retry_period_s = 2,
		.watch_timeout_s = 300,
		.namespace_max_policies = 64,
		.namespace_max_paths = 256,
		.namespace_max_files = 1024,
	};
	if (!c->policy_dir || !c->cgroup_root || !c->kube_namespace) {
		config_free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

struct config *config_free(struct config *c)
{
	if (!c)
		return NULL;
	free(c->policy_dir);
	free(c->cgroup_root);
	free(c->node_name);
	free(c->kubeconfig);
	free(c->kube_namespace);
	free(c->metrics_listen);
	for (size_t i = 0; c->record_labels && c->record_labels[i]; i++)
		free(c->record_labels[i]);
	free(c->record_labels);
	free(c);
	return NULL;
}

struct key;

static char *strip(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Check value and store it in field; problems go to d, as "WHERE: NAME:
 * "VALUE" ...". */
typedef int (*key_setter)(const struct key *k, void *field, const char *value, const char *where, struct diag *d);

struct key {
	const char *section;
	const char *name;
	key_setter set;
	size_t offset;
	uint64_t min, max; /* numbers */
};

static int set_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/* Every message shows the value escaped and cut: it may be anything. */
static int refused(struct diag *d, const struct key *k, const char *value, const char *where, const char *what)
{
	char shown[ESCAPED_SIZE(80)];

	escape_untrusted(value, strnlen(value, 80), shown, sizeof(shown));
	diag_add(d, "%s: %s: \"%s\" %s", where, k->name, shown, what);
	return -EINVAL;
}

static int set_path(const struct key *k, void *field, const char *value, const char *where, struct diag *d)
{
	if (value[0] != '/')
		return refused(d, k, value, where, "is not an absolute path");
	return set_string(field, value);
}

/* A path, "in-cluster" (the pod's service account), or empty: none. */
static int set_kubeconfig(const struct key *k, void *field, const char *value, const char *where, struct diag *d)
{
	if (value[0] == '\0') {
		*(char **)field = mfree(*(char **)field);
		return 0;
	}
	if (strcmp(value, "in-cluster") == 0)
		return set_string(field, value);
	return set_path(k, field, value, where, d);
}

/* Empty: the host name. */
static int set_node_name(const struct key *k, void *field, const char *value, const char *where, struct diag *d)
{
	if (value[0] == '\0') {
		*(char **)field = mfree(*(char **)field);
		return 0;
	}
	if (!dns_subdomain_is_valid(value))
		return refused(d, k, value, where, "is not a valid node name (lower-case RFC 1123 subdomain)");
	return set_string(field, value);
}

static int set_namespace(const struct key *k, void *field, const char *value, const char *where, struct diag *d)
{
	if (!dns_label_is_valid(value))
		return refused(d, k, value, where, "is not a valid namespace name");
	return set_string(field, value);
}

static int parse_number(const struct key *k, const char *value, const char *where, struct diag *d, uint64_t *ret)
{
	char what[96], *end;
	unsigned long long v;

	errno = 0;
	v = isdigit((unsigned char)value[0]) ? strtoull(value, &end, 10) : 0;
	if (!isdigit((unsigned char)value[0]) || errno || *end || v < k->min || v > k->max) {
		snprintf(what, sizeof(what), "is not a number from %llu to %llu", (unsigned long long)k->min,
			 (unsigned long long)k->max);
		return refused(d, k, value, where, what);
	}
	*ret = v;
	return 0;
}

static int set_u64(const struct key *k, void *field, const char *value, const char *where, struct diag *d)
{
	return parse_number(k, value, where, d, field);
}

static int set_u32(const struct key *k, void *field, const char *value, const char *where, struct diag *d)
{
	uint64_t v;
	int r = parse_number(k, value, where, d, &v);

	if (r >= 0)
		*(uint32_t *)field = (uint32_t)v;
	return r;
}

static int set_output(const struct key *k, void *field, const char *value, const char *where, struct diag *d)
{
	int v = output_kind_from_string(value);

	if (v < 0)
		return refused(d, k, value, where, "is not one of journal, json");
	*(enum output_kind *)field = v;
	return 0;
}

static int set_attach(const struct key *k, void *field, const char *value, const char *where, struct diag *d)
{
	int v = attach_mode_from_string(value);

	if (v < 0 || v == ATTACH_NONE)
		return refused(d, k, value, where, "is not one of auto, fentry, kprobe, tracepoint");
	*(enum attach_mode *)field = v;
	return 0;
}

static int set_log_level(const struct key *k, void *field, const char *value, const char *where, struct diag *d)
{
	int v = log_level_from_string(value);

	if (v < 0)
		return refused(d, k, value, where, "is not a log level (err, warning, notice, info, debug)");
	*(int *)field = v;
	return 0;
}

/* "app, app.kubernetes.io/name": label keys, each a journal field name of
 * its own that no other key of the list maps to; empty: none. */
static int set_labels(const struct key *k, void *field, const char *value, const char *where, struct diag *d)
{
	_cleanup_(freep) char *copy = strdup(value);
	char names[OUTPUT_RECORD_LABELS_MAX][OUTPUT_FIELD_NAME_MAX + 1];
	char **list = calloc(OUTPUT_RECORD_LABELS_MAX + 1, sizeof(*list)), ***ret = field;
	size_t n = 0;
	int r = 0;

	if (!copy || !list) {
		free(list);
		return -ENOMEM;
	}
	for (char *save = NULL, *key = strtok_r(copy, ",", &save); key && r >= 0; key = strtok_r(NULL, ",", &save)) {
		key = strip(key);
		if (!label_key_is_valid(key))
			r = refused(d, k, key, where, "is not a label key");
		else if (n == OUTPUT_RECORD_LABELS_MAX)
			r = refused(d, k, key, where, "is one label too many (at most 32)");
		else if (output_label_field(key, true, names[n]) < 0)
			r = refused(d, k, key, where, "makes a journal field name longer than 64 characters");
		for (size_t i = 0; r >= 0 && i < n; i++)
			if (strcmp(names[i], names[n]) == 0)
				r = refused(d, k, key, where, "makes the same journal field name as another key of the list");
		if (r >= 0 && !(list[n++] = strdup(key)))
			r = -ENOMEM;
	}
	if (r < 0 || n == 0) {
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
		list = NULL;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; *ret && (*ret)[i]; i++)
		free((*ret)[i]);
	free(*ret);
	*ret = list;
	return 0;
}

/* "127.0.0.1:9464", "[::1]:9464"; empty: no endpoint. */
static int set_listen(const struct key *k, void *field, const char *value, const char *where, struct diag *d)
{
	struct sockaddr_storage addr;
	socklen_t len;

	if (value[0] == '\0') {
		*(char **)field = mfree(*(char **)field);
		return 0;
	}
	if (metrics_parse_listen(value, &addr, &len) < 0)
		return refused(d, k, value, where,
			       "is not ADDRESS:PORT with a numeric IPv4 address or a [bracketed] IPv6 one");
	return set_string(field, value);
}

#define AT(field) offsetof(struct config, field)

static const struct key keys[] = {
	{ "agent", "policy_dir", set_path, AT(policy_dir) },
	{ "agent", "output", set_output, AT(output) },
	{ "agent", "attach", set_attach, AT(attach) },
	{ "agent", "dedup_window_ms", set_u64, AT(dedup_window_ms), 0, 3600 * 1000 },
	{ "agent", "dedup_entries", set_u32, AT(dedup_entries), 64, 1 << 22 },
	{ "agent", "ringbuf_kib", set_u32, AT(ringbuf_kib), 4, 1024 * 1024 },
	{ "agent", "ancestors", set_u32, AT(ancestors), 0, HIVE_ANCESTORS_MAX },
	{ "agent", "max_watches", set_u32, AT(max_watches), 1, 1 << 22 },
	{ "agent", "rescan_interval_ms", set_u64, AT(rescan_interval_ms), 50, 60 * 1000 },
	{ "agent", "stats_interval_s", set_u64, AT(stats_interval_s), 1, 24 * 3600 },
	{ "agent", "log_level", set_log_level, AT(log_level) },
	{ "agent", "node_name", set_node_name, AT(node_name) },
	{ "kubernetes", "kubeconfig", set_kubeconfig, AT(kubeconfig) },
	{ "kubernetes", "namespace", set_namespace, AT(kube_namespace) },
	{ "kubernetes", "lease_duration_s", set_u64, AT(lease_duration_s), 1, 300 }, /* the admission policy's bound */
	{ "kubernetes", "renew_deadline_s", set_u64, AT(renew_deadline_s), 1, 3600 },
	{ "kubernetes", "retry_period_s", set_u64, AT(retry_period_s), 1, 3600 },
	{ "kubernetes", "cgroup_root", set_path, AT(cgroup_root) },
	{ "kubernetes", "watch_timeout_s", set_u64, AT(watch_timeout_s), 5, 3600 },
	{ "kubernetes", "namespace_max_policies", set_u32, AT(namespace_max_policies), 0, 4096 },
	{ "kubernetes", "namespace_max_paths", set_u32, AT(namespace_max_paths), 0, 4096 * 256 },
	{ "kubernetes", "namespace_max_files", set_u32, AT(namespace_max_files), 0, 1 << 22 },
	{ "kubernetes", "record_labels", set_labels, AT(record_labels) },
	{ "metrics", "listen", set_listen, AT(metrics_listen) },
};

int config_set(struct config *c, const char *section, const char *name, const char *value, const char *where,
	       struct diag *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return keys[i].set(&keys[i], (char *)c + keys[i].offset, value, where, d);
	diag_add(d, "%s: unknown key \"%s\" in section [%s]", where, name, section);
	return -EINVAL;
}

int config_parse(struct config *c, const char *label, const char *text, struct diag *d)
{
	_cleanup_(freep) char *copy = strdup(text);
	char section[32] = "agent";
	size_t lineno = 0;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *p = copy; p;) {
		char where[512], *eq, *line = p, *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : NULL;
		lineno++;
		line = strip(line);
		snprintf(where, sizeof(where), "%s:%zu", label, lineno);

		if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[') {
			if (strcmp(line, "[agent]") == 0 || strcmp(line, "[kubernetes]") == 0 ||
			    strcmp(line, "[metrics]") == 0)
				snprintf(section, sizeof(section), "%.*s", (int)strlen(line) - 2, line + 1);
			else {
				diag_add(d, "%s: unknown section %.40s (expected [agent], [kubernetes] or [metrics])",
					 where, line);
				r = -EINVAL;
			}
			continue;
		}
		eq = strchr(line, '=');
		if (!eq) {
			diag_add(d, "%s: expected \"key = value\"", where);
			r = -EINVAL;
			continue;
		}
		*eq = '\0';
		if (config_set(c, section, strip(line), strip(eq + 1), where, d) < 0)
			r = -EINVAL;
	}
	return r;
}

int config_load_file(struct config *c, const char *path, struct diag *d)
{
	_cleanup_(freep) char *text = NULL;
	int r;

	r = read_small_file(path, CONFIG_MAX_SIZE, &text, NULL);
	if (r == -ENOENT)
		return r;
	if (r < 0) {
		diag_add(d, "%s: cannot read: %s", path, strerror(-r));
		return -EINVAL;
	}
	return config_parse(c, path, text, d);
}

int config_validate(const struct config *c, struct diag *d)
{
	int r = 0;

	if (c->ringbuf_kib & (c->ringbuf_kib - 1)) {
		diag_add(d, "ringbuf_kib: %u is not a power of two", c->ringbuf_kib);
		r = -EINVAL;
	}
	/* client-go's rule: the lease must outlive a renewal attempt, which
	 * must leave room for more than one retry. */
	if (c->lease_duration_s <= c->renew_deadline_s) {
		diag_add(d, "lease_duration_s (%llu) must be greater than renew_deadline_s (%llu)",
			 (unsigned long long)c->lease_duration_s, (unsigned long long)c->renew_deadline_s);
		r = -EINVAL;
	}
	if (c->renew_deadline_s * 10 <= c->retry_period_s * 12) {
		diag_add(d, "renew_deadline_s (%llu) must be greater than 1.2 x retry_period_s (%llu)",
			 (unsigned long long)c->renew_deadline_s, (unsigned long long)c->retry_period_s);
		r = -EINVAL;
	}
	return r;
}
