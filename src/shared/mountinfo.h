/* SPDX-License-Identifier: MIT */
#ifndef HIVE_MOUNTINFO_H
#define HIVE_MOUNTINFO_H

#include <limits.h>

/* One line of /proc/self/mountinfo: "id parent major:minor root mount-point
 * options [optional...] - fstype source super-options". */
struct mount_entry {
	int id;
	unsigned major, minor;
	char point[PATH_MAX]; /* its octal escapes (\040) undone */
	char fstype[64];
};

/* fn for each mount of this agent's mount namespace, in mountinfo's order
 * (the last one mounted at a point last), until it returns nonzero: what it
 * returned, 0 at the end, or -errno when mountinfo cannot be read. */
int mountinfo_foreach(int (*fn)(const struct mount_entry *m, void *userdata), void *userdata);

#endif
