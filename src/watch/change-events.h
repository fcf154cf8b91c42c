/* SPDX-License-Identifier: MIT */
#ifndef HIVE_CHANGE_EVENTS_H
#define HIVE_CHANGE_EVENTS_H

#include <stdint.h>

#include "hive.h"

/*
 * Changes to watched files (attrib, create, delete, rename, link, and
 * truncate(2) of a path) seen through fanotify, where no hook of the attach
 * mode sees them: syscall tracepoints name paths, not inodes.
 *
 * One fanotify group reporting file handles (FAN_REPORT_DFID_NAME_TARGET),
 * asked about the file systems and files that change-marks.h follows: every
 * directory-entry change (create, delete, rename, with the names the kernel
 * resolved) and attribute change there, by file handle, and the
 * modifications of each watched regular file. The handle of each watched file
 * is taken when the file is found (change_events_follow()), so that a file
 * whose last name went before the event is read is still recognised; a file
 * of a watched tree is recognised by walking its directory's parents up to a
 * watched root, the kernel's dentries again. A modification is a truncation
 * when the thread's last truncate(2) is still untaken (loader_truncated());
 * a write is seen at its open.
 *
 * The acting thread is named by fanotify by its id only: who it is comes
 * from /proc, or from the loader's record of threads that exited
 * (loader_exited()) when it is gone by the time the event is read.
 *
 * Needs CAP_SYS_ADMIN (fanotify_init() and filesystem marks) and Linux 5.17
 * (FAN_RENAME, FAN_REPORT_TARGET_FID). No event loop in here: the daemon
 * adds change_events_fd() to sd-event and calls change_events_consume().
 */

struct change_events;
struct loader;
struct watch_set;

/* A change on a watched file, as the ring buffer would carry it. */
typedef void (*change_event_fn)(const struct hive_ext_event *ev, void *userdata);

/* kept_fd: the group a previous agent left (taken over when it reports
 * as this one would: its marks stay, and what it queued meanwhile is read),
 * or -1; taken in all cases. Returns 1 when it was taken over.
 * -EPERM without CAP_SYS_ADMIN, -EINVAL where the kernel lacks what is
 * needed. */
int change_events_new(const struct watch_set *set, change_event_fn fn, void *userdata, int kept_fd,
		      struct change_events **ret);
struct change_events *change_events_free(struct change_events *c);

/* Follow the file behind fd (any descriptor of it, O_PATH too), which the
 * watch set knows as key: as many unfollow as follow calls. */
void change_events_follow(struct change_events *c, int fd, const struct hive_watch_key *key);
void change_events_unfollow(struct change_events *c, const struct hive_watch_key *key);

/* Start reporting (l: the loader, for threads that exited) and return the
 * change kinds that are now seen; or stop (l NULL: the marks go). */
uint32_t change_events_start(struct change_events *c, struct loader *l);

int change_events_fd(const struct change_events *c);
/* Read what fanotify queued; at most budget events (0: all). */
int change_events_consume(struct change_events *c, unsigned budget);

struct change_events_stats {
	uint64_t reported; /* changes to watched files handed on */
	uint64_t lost;     /* times fanotify's queue overflowed: changes lost, how many unknown */
};
void change_events_stats_get(const struct change_events *c, struct change_events_stats *ret);

#endif
