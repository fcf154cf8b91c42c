/* SPDX-License-Identifier: MIT */
#ifndef HIVE_CONFIG_H
#define HIVE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/loader.h"
#include "output/output.h"
#include "shared/diag.h"

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/hive/hive.conf"
#define CONFIG_DEFAULT_POLICY_DIR SYSCONFDIR "/hive/policies.d"

/*
 * hive.conf(5): "[section]" headers and "key = value" lines. Command-line
 * flags set the same keys after the file, so they win.
 */
struct config {
	/* [agent] */
	char *policy_dir;
	enum output_kind output;
	enum attach_mode attach;
	uint64_t dedup_window_ms;
	uint32_t dedup_entries;
	uint32_t ringbuf_kib;
	uint32_t ancestors;
	uint32_t max_watches;
	uint64_t rescan_interval_ms;
	uint64_t stats_interval_s;
	int log_level;
	char *node_name; /* NULL: the host name */
	/* [kubernetes] */
	char *kubeconfig; /* NULL: standalone */
	char *kube_namespace;
	uint64_t lease_duration_s;
	uint64_t renew_deadline_s;
	uint64_t retry_period_s;
	uint64_t watch_timeout_s;
	/* What one namespace's HiveNamespacedPolicies may use on this node. */
	uint32_t namespace_max_policies;
	uint32_t namespace_max_paths; /* summed over its policies */
	uint32_t namespace_max_files; /* watched in its pods */
	char *cgroup_root; /* where the kubelet's cgroups are found (pods) */
	/* Pod label keys that records carry as journal fields of their own
	 * (output_label_field()), NULL-terminated; NULL: none. */
	char **record_labels;
	/* [metrics] */
	char *metrics_listen; /* "ADDRESS:PORT", or NULL: no endpoint */
};

int config_new(struct config **ret);
struct config *config_free(struct config *c);

/* Parse a file into c. A missing file is -ENOENT and leaves c alone. */
int config_load_file(struct config *c, const char *path, struct diag *d);
int config_parse(struct config *c, const char *label, const char *text, struct diag *d);

/* Set one key, as from a flag; where names the origin in messages. */
int config_set(struct config *c, const char *section, const char *key, const char *value, const char *where,
	       struct diag *d);

/* Checks across keys, once everything is set. */
int config_validate(const struct config *c, struct diag *d);

#endif
