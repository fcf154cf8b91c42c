/* SPDX-License-Identifier: MIT */
#ifndef HIVE_PROCESS_FILTER_H
#define HIVE_PROCESS_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Which processes a policy is about (hive-policy(5), "only" and "except"):
 * its accesses by other processes are no records, only counted ("excepted").
 *
 * One process set names processes by any of: the file they run
 * (executables: the inode the path leads to, where the policy's paths are
 * resolved, never the path the process was started by), their uid, their
 * login uid (auid), the container of this node's pods they run in. A
 * process is in the set when it matches every kind the set names, and a kind
 * when it matches any of its values: {"executables": [a, b], "uids": [0]}
 * is "a or b, run by root".
 *
 * Shared, read-only, by the policy and every watch entry made of it.
 */
struct process_set {
	char **executables;
	size_t n_executables;
	uint32_t *uids;
	size_t n_uids;
	uint32_t *auids;
	size_t n_auids;
	char **containers;
	size_t n_containers;
};

struct process_filter {
	unsigned n_ref;
	bool has_only, has_except;
	struct process_set only, except;
};

/* What an access's process is, as the record will say. */
struct process_subject {
	uint32_t uid, auid;
	const char *container; /* in this node's pods; NULL: none */
	/* Whether the process runs the file executable path leads to where
	 * the policy's paths are resolved. */
	bool (*runs)(const char *executable, void *userdata);
	void *userdata;
};

struct process_filter *process_filter_new(void);
struct process_filter *process_filter_ref(struct process_filter *f);
struct process_filter *process_filter_unref(struct process_filter *f);
bool process_set_is_empty(const struct process_set *s);

/* Whether the policy is about the subject's accesses: in "only" (when
 * given), and not in "except". NULL admits every process. */
bool process_filter_admits(const struct process_filter *f, const struct process_subject *s);

/* The same filters (two reloads of one policy). */
bool process_filter_equal(const struct process_filter *a, const struct process_filter *b);

/* Every executable of both sets, each once, for fn; stops at fn's first
 * error and returns it. */
int process_filter_foreach_executable(const struct process_filter *f, int (*fn)(const char *path, void *userdata),
				      void *userdata);

#endif
