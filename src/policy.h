/* SPDX-License-Identifier: MIT */
#ifndef HIVE_POLICY_H
#define HIVE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/diag.h"

/*
 * Policies: which files to watch, where, for which accesses. They come from
 * JSON files an administrator writes (hive-policy(5)); everything is
 * validated before a set replaces the running one.
 */

#define POLICY_MAX_FILES 1024
#define POLICY_MAX_FILE_SIZE (1024 * 1024)
#define POLICY_MAX_POLICIES 4096
#define POLICY_MAX_PATHS 256
#define POLICY_MAX_LIST 256 /* namespaces, containers, selector terms, values */

enum policy_action {
	POLICY_ACTION_LOG,
};

enum selector_op {
	SELECTOR_IN,
	SELECTOR_NOT_IN,
	SELECTOR_EXISTS,
	SELECTOR_DOES_NOT_EXIST,
};

struct label_requirement {
	char *key;
	enum selector_op op;
	char **values;
	size_t n_values;
};

/* Kubernetes' LabelSelector: all terms must hold. */
struct label_selector {
	char **match_keys;
	char **match_values;
	size_t n_match;
	struct label_requirement *expressions;
	size_t n_expressions;
};

struct policy {
	char *name;
	char *file; /* where it was defined, for messages */
	bool host;
	bool follow_symlinks; /* false: a path through a symlink is not watched */
	char **paths;
	size_t n_paths;
	uint32_t access; /* HIVE_MAY_* */
	enum policy_action action;
	/* Container selection (selection.h); pods.c acts on it. */
	char **namespaces;
	size_t n_namespaces;
	bool has_pod_selector;
	struct label_selector pod_selector;
	char **containers;
	size_t n_containers;
};

struct policy_set {
	struct policy *policies;
	size_t n;
};

/* Every *.json file of dir, in name order. Returns -EINVAL with the problems
 * in d when anything is wrong, other -errno when dir cannot be read. */
int policy_set_load_dir(const char *dir, struct policy_set **ret, struct diag *d);

/* Parse one file's text; label names it in messages. Appends to set. */
int policy_parse(const char *label, const char *text, size_t len, struct policy_set *set, struct diag *d);

/* Checks that need the whole set (duplicate names). */
int policy_set_validate(const struct policy_set *set, struct diag *d);

/* What paths[] accepts: absolute, no ".", ".." or empty components, no
 * control characters, within PATH_MAX and NAME_MAX. */
bool policy_path_is_valid(const char *path);

struct policy_set *policy_set_new(void);
struct policy_set *policy_set_free(struct policy_set *set);

#endif
