/* SPDX-License-Identifier: MIT */
#ifndef HIVE_USERS_H
#define HIVE_USERS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * User names by uid, for records: from the passwd file (NSS's "files"
 * source), read again when it changes, looked at once a second at most; a
 * uid the file does not have is asked of NSS (LDAP, sssd...) by a thread of
 * its own, never on the record path, which a directory can hold up for
 * seconds: until it answers, that user is named by number, and its answer
 * (a name or none) is kept for USERS_NSS_KEEP_NS. Names are bytes from
 * outside: escaped on output like everything else.
 */
struct users;

#define USERS_NSS_KEEP_NS (300ULL * 1000000000ULL)

/* nss: also ask NSS for uids the file lacks. */
struct users *users_new(const char *passwd, bool nss);
struct users *users_free(struct users *u);

/* The name of uid, or NULL. Valid until the next call. */
const char *users_name(struct users *u, uint32_t uid);

#endif
