/* SPDX-License-Identifier: MIT */
#ifndef HIVE_DIR_EVENTS_H
#define HIVE_DIR_EVENTS_H

#include <systemd/sd-event.h>

/*
 * Something happened to a name in a directory: inotify on a directory that
 * holds a watched file (or the symlink leading to it), calling fn for an
 * event that names one of names, or the directory itself (removed, moved
 * away, the queue overflowed), so that its owner resolves again at once
 * rather than at the next rescan. Events for other names in the directory
 * cost one comparison each.
 */
struct dir_events;

typedef void (*dir_events_fn)(void *userdata);

/* dir_fd stays the caller's; names (n of them) are copied. */
int dir_events_new(sd_event *event, int dir_fd, const char *const *names, size_t n, dir_events_fn fn,
		   void *userdata, struct dir_events **ret);
/* The owner moved (a rebuilt pod took over the item). */
void dir_events_set_userdata(struct dir_events *d, void *userdata);
struct dir_events *dir_events_free(struct dir_events *d);

#endif
