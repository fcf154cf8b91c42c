/* SPDX-License-Identifier: MIT */
#ifndef HIVE_AUDITD_H
#define HIVE_AUDITD_H

#include <stdbool.h>
#include <stdint.h>

/*
 * auditd's file watches as Hive policies: what "hivectl from-auditd" reads.
 * A watch is "-w PATH [-p PERMS] [-k KEY]", or a syscall rule on a path,
 * "-a always,exit -F path=PATH|dir=DIR [-F perm=PERMS] [-F key=KEY]". PERMS
 * map to access kinds: r read; w write, append, truncate, create, delete,
 * rename, link; x exec; a attrib. A directory ("-F dir=", or "-w" on a
 * directory) is its whole tree (DIR and the tree suffix). The key becomes
 * the policy's name.
 */

struct auditd_watch {
	char path[4096]; /* absolute, without a trailing '/' (but "/") */
	bool tree;
	uint32_t access; /* HIVE_MAY_*, HIVE_ACCESS_* */
	char key[256];   /* "" when the rule has none */
	/* What the rule said that a Hive policy does not (yet) express: an
	 * auid, uid or arch filter, a syscall list. "" when nothing. */
	char dropped[256];
};

/*
 * One line of a rules file. Returns 1 with *w filled for a file watch; 0
 * for a line that is no file watch (a comment, a control line, a syscall
 * rule without a path), with *why saying which when it is a rule; -EINVAL
 * for a malformed watch, with *why.
 */
int auditd_parse_line(const char *line, struct auditd_watch *w, const char **why);

/* "wa" -> the access kinds; 0 for a letter auditd does not know. */
uint32_t auditd_perms_to_access(const char *perms);

/* A policy name from a key: lower case, every other character than
 * [a-z0-9] a '-', at most 63, starting and ending alphanumeric
 * ("10.2.2-priv-config-changes" -> "10-2-2-priv-config-changes"); "auditd"
 * for an empty key or one with nothing alphanumeric. */
void auditd_key_to_name(const char *key, char name[static 64]);

#endif
