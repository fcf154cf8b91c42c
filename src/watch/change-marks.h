/* SPDX-License-Identifier: MIT */
#ifndef HIVE_CHANGE_MARKS_H
#define HIVE_CHANGE_MARKS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "hive.h"
#include "watch/fanotify-event.h"

/*
 * What the fanotify group of change-events.h is asked about, and how the
 * files its events name are opened again.
 *
 * Each followed file is known by the handle fanotify reports for it, taken
 * when it was found. On the file systems that hold one, a filesystem mark
 * (while started) asks for every directory-entry and attribute change there;
 * overlayfs takes none, and there each followed file, the directory it is in
 * and each followed directory carry an inode mark, and are opened again by
 * the path they had, if still the same file, since their handles are made
 * only to be compared. Each followed regular file carries an inode mark for
 * its modifications too (a write, or a truncate(2) of its path).
 *
 * No descriptor is held on a followed file system between reads: one kept
 * open would keep a container's root from being unmounted.
 */

/* What a filesystem mark asks for: the changes fanotify can tell apart. */
#define MARK_MASK (FAN_ATTRIB | FAN_CREATE | FAN_DELETE | FAN_RENAME | FAN_ONDIR)

/* What a followed file looked like, to say what an attribute change changed. */
struct file_look {
	uint32_t mode, uid, gid;
	uint64_t size;
	struct timespec atime, mtime;
};
void file_look_of(const struct stat *st, struct file_look *ret);

struct followed_file {
	struct hive_watch_key key;
	struct fid_key fid;
	unsigned refs;
	bool dir;
	bool modify_marked; /* the modification mark on it, to be removed with it */
	bool by_path;       /* opened again by its path (and has_parent: its directory too) */
	bool has_parent;
	struct fid_key parent;
	struct file_look look;
};

struct change_marks;

/* group: the fanotify group's descriptor, which stays the caller's. */
struct change_marks *change_marks_new(int group);
struct change_marks *change_marks_free(struct change_marks *m);

/* Follow the file behind fd (any descriptor of it, O_PATH too), known to the
 * watch set as key; filesystem marks are placed only when started. As many
 * unfollow as follow calls. Return whether a directory came or went: where
 * directories are in trees is then to be found again. */
bool change_marks_follow(struct change_marks *m, int fd, const struct hive_watch_key *key);
bool change_marks_unfollow(struct change_marks *m, const struct hive_watch_key *key);

/* Place (on) or remove the filesystem marks. */
void change_marks_start(struct change_marks *m, bool on);

struct followed_file *change_marks_file(const struct change_marks *m, const struct fid_key *fid);
struct followed_file *change_marks_file_by_key(const struct change_marks *m, const struct hive_watch_key *key);
struct followed_file *change_marks_file_by_ino(const struct change_marks *m, uint64_t ino, uint32_t dev);

/* How many followed directories (possible tree roots) file system fsid
 * has; -ENOENT: it is not followed. */
int change_marks_dirs(const struct change_marks *m, const __kernel_fsid_t *fsid);

/* A descriptor of what handle fid names (flags: O_PATH, O_DIRECTORY), or
 * -errno (-ESTALE: gone). Mount points opened for it stay open until
 * change_marks_close(), at the end of each read. */
int change_marks_open(struct change_marks *m, const struct fid_key *fid, int flags);
void change_marks_close(struct change_marks *m);

#endif
