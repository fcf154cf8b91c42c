/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "output/users.h"
#include "shared/hashmap.h"
#include "shared/macro.h"

#define USERS_CHECK_EVERY_NS NSEC_PER_SEC

struct users {
	char *passwd;
	struct hashmap *names; /* uint32_t uid -> char * */
	struct stat read_st;   /* of the file as last read; st_ino 0: never read */
	uint64_t checked_ns;   /* CLOCK_MONOTONIC of the last look at it */
};

struct users *users_new(const char *passwd)
{
	struct users *u = calloc(1, sizeof(*u));

	if (!u || !(u->passwd = strdup(passwd)) || !(u->names = hashmap_new()))
		return users_free(u);
	return u;
}

struct users *users_free(struct users *u)
{
	if (!u)
		return NULL;
	hashmap_free_with(u->names, free);
	free(u->passwd);
	free(u);
	return NULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The names as the file has them now; the first of a uid counts, as
 * getpwuid() would say. What cannot be read leaves the names as they were. */
static void reload(struct users *u, const struct stat *st)
{
	_cleanup_(fclosep) FILE *f = fopen(u->passwd, "re");
	struct hashmap *names;
	struct passwd *pw;

	if (!f || !(names = hashmap_new()))
		return;
	while ((pw = fgetpwent(f))) {
		char *name;

		if (hashmap_get(names, &pw->pw_uid, sizeof(pw->pw_uid)))
			continue;
		name = strdup(pw->pw_name);
		if (!name || hashmap_put(names, &pw->pw_uid, sizeof(pw->pw_uid), name, NULL) < 0)
			free(name);
	}
	hashmap_free_with(u->names, free);
	u->names = names;
	u->read_st = *st;
}

const char *users_name(struct users *u, uint32_t uid)
{
	uint64_t now = now_ns();
	struct stat st;

	if (!u)
		return NULL;
	if (!u->checked_ns || now - u->checked_ns >= USERS_CHECK_EVERY_NS) {
		u->checked_ns = now;
		if (stat(u->passwd, &st) == 0 && !same_file(&st, &u->read_st))
			reload(u, &st);
	}
	return hashmap_get(u->names, &uid, sizeof(uid));
}
