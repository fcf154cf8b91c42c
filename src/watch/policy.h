/* SPDX-License-Identifier: MIT */
#ifndef HIVE_POLICY_H
#define HIVE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "hive.h"
#include "shared/diag.h"
#include "watch/process-filter.h"

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
	POLICY_ACTION_DENY,       /* refuse the open (or exec), and record it */
	POLICY_ACTION_AUDIT_DENY, /* record what deny would refuse, refuse nothing */
	_POLICY_ACTION_MAX,
};

/* "log", "deny", "audit-deny". */
const char *policy_action_to_string(enum policy_action a);

/* What a deny policy can refuse: opens (for reading, writing, appending)
 * and executions. */
#define POLICY_DENY_ACCESS (HIVE_MAY_READ | HIVE_MAY_WRITE | HIVE_MAY_APPEND | HIVE_MAY_EXEC)

/* Where a policy comes from; a file policy and a HivePolicy may share a
 * name, so records and keys say which. */
enum policy_kind {
	POLICY_KIND_FILE,
	POLICY_KIND_CLUSTER,    /* HivePolicy */
	POLICY_KIND_NAMESPACED, /* HiveNamespacedPolicy */
	_POLICY_KIND_MAX,
};

/* "file", "HivePolicy", "HiveNamespacedPolicy" (HIVE_POLICY_KIND=). */
const char *policy_kind_to_string(enum policy_kind k);
/* The same strings back, static; NULL when unknown. */
const char *policy_kind_canonical(const char *s);

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
	char *name; /* HIVE_POLICY: NAME, or NAMESPACE/NAME for a HiveNamespacedPolicy */
	char *id;   /* unique over all kinds, the policy's part of watch keys */
	char *file; /* where it was defined, for messages */
	enum policy_kind kind;
	long long generation; /* metadata.generation of a resource; 0 for files */
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
	/* Which processes' accesses it is about ("only", "except"); NULL:
	 * everyone's. */
	struct process_filter *filter;
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

/*
 * One HivePolicy or HiveNamespacedPolicy object from the API server, checked
 * as a file would be (the CRD's schema may be older, or bypassed) and
 * appended to set. A namespaced policy selects pods of its own namespace
 * only: "host" or "namespaces" in it is an error. -EINVAL with the reason in
 * d when the object is refused.
 */
int policy_parse_resource(enum policy_kind kind, const cJSON *object, struct policy_set *set, struct diag *d);

/* Deep copies of src's policies appended to dst. */
int policy_set_append(struct policy_set *dst, const struct policy_set *src);

/* Room for one more policy, zeroed, at set->policies[set->n] (counted once
 * the caller increments set->n); NULL with -E2BIG past POLICY_MAX_POLICIES,
 * or -ENOMEM, in *ret. */
struct policy *policy_set_grow(struct policy_set *set, int *ret);
/* Free what p holds, and zero it. */
void policy_done(struct policy *p);

/* What HIVE_POLICY may hold: a DNS label, or two joined by '/'. */
bool policy_name_is_valid(const char *name);

/* Checks that need the whole set (duplicate names). */
int policy_set_validate(const struct policy_set *set, struct diag *d);

/* What paths[] accepts: absolute, no ".", ".." or empty components, no
 * control characters, within PATH_MAX and NAME_MAX. policy_path_invalid()
 * says why not (NULL when valid). */
bool policy_path_is_valid(const char *path);
/* What a path's last component says of the directory before it: "**", it
 * and everything below it at any depth; "*", it and its own entries
 * (files, directories, links: not what is in those directories). */
enum policy_tree {
	POLICY_TREE_NONE,    /* a file (or a directory itself) */
	POLICY_TREE_ALL,     /* "DIR/" "**" */
	POLICY_TREE_ENTRIES, /* "DIR/" "*" */
};
/* Which of those path is; *root_len is the length of the directory's path:
 * 4 for "/etc" and a tree suffix, 1 for "/" and one). */
enum policy_tree policy_path_tree(const char *path, size_t *root_len);
/* Whether path is dir or below it ("/etc/pam.d/sshd" is below "/etc/pam.d",
 * "/etc/pam.dx" is not). */
bool policy_path_below(const char *path, const char *dir);
const char *policy_path_invalid(const char *path);

struct policy_set *policy_set_new(void);
struct policy_set *policy_set_free(struct policy_set *set);

#endif
