/* SPDX-License-Identifier: MIT */
#ifndef HIVE_MACRO_H
#define HIVE_MACRO_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _sentinel_ __attribute__((sentinel))
#define _unused_ __attribute__((unused))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define USEC_PER_SEC 1000000ULL
#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL
#define USEC_PER_MSEC 1000ULL

/* The clock's time now, in microseconds. */
static inline uint64_t clock_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

/* The same in nanoseconds: the kernel's event times (bpf_ktime_get_boot_ns()). */
static inline uint64_t clock_nsec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* free() that returns NULL, for p = mfree(p). */
static inline void *mfree(void *p)
{
	free(p);
	return NULL;
}

/* Two strings, either possibly NULL, are equal. */
static inline bool streq_ptr(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* Hand ownership to the caller: the cleanup attribute then sees NULL / -1. */
static inline void *steal_pointer(void *pp)
{
	void **p = pp, *v = *p;

	*p = NULL;
	return v;
}
#define TAKE_PTR(p) ((__typeof__(p))steal_pointer(&(p)))

static inline int take_fd(int *fd)
{
	int v = *fd;

	*fd = -1;
	return v;
}
#define TAKE_FD(fd) take_fd(&(fd))

/* errno as a negative return value, never 0 even if errno was not set. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* NAME_to_string() and NAME_from_string() for an enum whose names are in the
 * array NAME_names[max], like systemd's DEFINE_STRING_TABLE_LOOKUP. */
#define DEFINE_STRING_TABLE(name, type, max)                                                       \
	const char *name##_to_string(type v)                                                       \
	{                                                                                          \
		return (int)v >= 0 && (int)v < (max) && name##_names[v] ? name##_names[v] : "invalid"; \
	}                                                                                          \
	int name##_from_string(const char *s)                                                      \
	{                                                                                          \
		for (int i = 0; i < (max); i++)                                                    \
			if (name##_names[i] && strcmp(s, name##_names[i]) == 0)                    \
				return i;                                                          \
		return -EINVAL;                                                                    \
	}

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

#endif
