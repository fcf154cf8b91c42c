/* SPDX-License-Identifier: MIT */
#ifndef HIVE_USERS_H
#define HIVE_USERS_H

#include <stdint.h>

/*
 * User names by uid, for records: from the passwd file (NSS's "files"
 * source), read again when it changes, looked at once a second at most. No
 * NSS lookup: one to a directory (LDAP, sssd) could block the record path for
 * seconds, so its users are named by number. Names are the file's bytes:
 * escaped on output like everything else.
 */
struct users;

struct users *users_new(const char *passwd);
struct users *users_free(struct users *u);

/* The name of uid, or NULL. Valid until the next call. */
const char *users_name(struct users *u, uint32_t uid);

#endif
