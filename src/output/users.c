/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "output/users.h"
#include "shared/hashmap.h"
#include "shared/macro.h"

#define USERS_CHECK_EVERY_NS NSEC_PER_SEC
/* Questions to NSS in flight, and answers kept, at most. */
#define NSS_PENDING_MAX 64
#define NSS_KEPT_MAX 4096

/* One answer from NSS, as the thread sends it. */
struct nss_answer {
	uint32_t uid;
	bool found;
	char name[LOGIN_NAME_MAX];
};

/* What NSS said of a uid, or that it is being asked. */
struct nss_name {
	bool pending;
	uint64_t until_ns; /* answered: kept until then */
	char *name;        /* NULL: no such user */
};

struct users {
	char *passwd;
	struct hashmap *names; /* uint32_t uid -> char * */
	struct stat read_st;   /* of the file as last read; st_ino 0: never read */
	uint64_t checked_ns;   /* CLOCK_MONOTONIC of the last look at it */
	bool nss;
	int ask_fd;            /* to the NSS thread; -1 until it runs */
	struct hashmap *nss_names; /* uint32_t uid -> struct nss_name */
	unsigned pending;
};

struct users *users_new(const char *passwd, bool nss)
{
	struct users *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->ask_fd = -1;
	u->nss = nss;
	if (!(u->passwd = strdup(passwd)) || !(u->names = hashmap_new()) || !(u->nss_names = hashmap_new()))
		return users_free(u);
	return u;
}

static void nss_name_free(void *p)
{
	struct nss_name *n = p;

	if (n)
		free(n->name);
	free(n);
}

struct users *users_free(struct users *u)
{
	if (!u)
		return NULL;
	/* The thread sees its socket closed and ends, after the lookup it
	 * may be blocked in. */
	if (u->ask_fd >= 0)
		close(u->ask_fd);
	hashmap_free_with(u->names, free);
	hashmap_free_with(u->nss_names, nss_name_free);
	free(u->passwd);
	free(u);
	return NULL;
}

/* The thread: a uid in, an answer out, until the socket closes. */
static void *nss_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint32_t uid;

	while (recv(fd, &uid, sizeof(uid), 0) == (ssize_t)sizeof(uid)) {
		struct nss_answer a = { .uid = uid };
		struct passwd pw, *found = NULL;
		char buf[4096];

		if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found) {
			a.found = true;
			snprintf(a.name, sizeof(a.name), "%s", found->pw_name);
		}
		if (send(fd, &a, sizeof(a), MSG_NOSIGNAL) < 0)
			break;
	}
	close(fd);
	return NULL;
}

static int nss_start(struct users *u)
{
	pthread_attr_t attr;
	pthread_t thread;
	int fds[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	r = -pthread_attr_init(&attr);
	if (r == 0) {
		(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = -pthread_create(&thread, &attr, nss_thread, (void *)(intptr_t)fds[1]);
		pthread_attr_destroy(&attr);
	}
	if (r < 0) {
		close(fds[0]);
		close(fds[1]);
		u->nss = false; /* named by the file alone from now on */
		return r;
	}
	u->ask_fd = fds[0];
	return 0;
}

static struct nss_name *nss_entry(struct users *u, uint32_t uid)
{
	struct nss_name *n = hashmap_get(u->nss_names, &uid, sizeof(uid));

	if (n)
		return n;
	if (hashmap_size(u->nss_names) >= NSS_KEPT_MAX) {
		hashmap_free_with(u->nss_names, nss_name_free);
		u->pending = 0; /* their answers are taken as they come */
		if (!(u->nss_names = hashmap_new()))
			return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n && hashmap_put(u->nss_names, &uid, sizeof(uid), n, NULL) < 0)
		n = mfree(n);
	return n;
}

/* Take what the thread answered so far, without waiting. */
static void nss_take_answers(struct users *u, uint64_t now)
{
	struct nss_answer a;

	while (recv(u->ask_fd, &a, sizeof(a), MSG_DONTWAIT) == (ssize_t)sizeof(a)) {
		struct nss_name *n = nss_entry(u, a.uid);

		if (!n)
			continue;
		if (n->pending && u->pending)
			u->pending--;
		n->pending = false;
		n->until_ns = now + USERS_NSS_KEEP_NS;
		free(n->name);
		a.name[sizeof(a.name) - 1] = '\0';
		n->name = a.found ? strdup(a.name) : NULL;
	}
}

/* NSS's name of uid as known now; asks it when not. */
static const char *nss_name(struct users *u, uint32_t uid, uint64_t now)
{
	struct nss_name *n;

	if (u->ask_fd < 0 && nss_start(u) < 0)
		return NULL;
	nss_take_answers(u, now);
	n = hashmap_get(u->nss_names, &uid, sizeof(uid));
	if (n && (n->pending || now < n->until_ns))
		return n->name;
	if (u->pending >= NSS_PENDING_MAX || !(n = n ?: nss_entry(u, uid)))
		return NULL;
	if (send(u->ask_fd, &uid, sizeof(uid), MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(uid)) {
		n->pending = true;
		u->pending++;
	}
	return n->name; /* the last answer while the next is asked */
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
	const char *name;
	struct stat st;

	if (!u)
		return NULL;
	if (!u->checked_ns || now - u->checked_ns >= USERS_CHECK_EVERY_NS) {
		u->checked_ns = now;
		if (stat(u->passwd, &st) == 0 && !same_file(&st, &u->read_st))
			reload(u, &st);
	}
	name = hashmap_get(u->names, &uid, sizeof(uid));
	if (name || !u->nss)
		return name;
	return nss_name(u, uid, now);
}
