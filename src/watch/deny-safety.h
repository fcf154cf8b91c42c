/* SPDX-License-Identifier: MIT */
#ifndef HIVE_DENY_SAFETY_H
#define HIVE_DENY_SAFETY_H

#include "watch/policy.h"

/*
 * What a deny policy would take from the system itself: a host policy that
 * refuses reads or execs of a file the node needs to boot or to let anyone
 * log in (the user database, PAM, the dynamic loader and libraries, init,
 * the shells, sshd, su, sudo), to every process but those its "except"
 * names, is a warning of `hived --check`, the start and every reload. Not
 * an error: it may be meant (an "except" that lets the system's programs
 * through); "only" names whom it refuses, and is not warned about.
 */

/* Why path is needed to boot or log in, or NULL. Pure: path as written. */
const char *deny_critical_path(const char *path);

/* Each warning of set's policies as one line for fn. Paths are also
 * compared as the host resolves them (/bin/sh is /usr/bin/dash). */
void deny_safety_warnings(const struct policy_set *set, void (*fn)(const char *line, void *userdata),
			  void *userdata);

#endif
