/* SPDX-License-Identifier: MIT */
#ifndef HIVE_HOST_H
#define HIVE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct identity;
struct policy_set;
struct watch_set;

/*
 * The watch source for files of the host itself ("host": true policies).
 * Keeps each path's current inode in the watch set: re-resolves on inotify
 * events in the path's directory, on changes of the mount table, and in a
 * periodic rescan of a few paths at a time, which also catches what neither
 * sees (a directory higher up swapped, a symlink retargeted elsewhere).
 */
struct host_source;

/* identity tells which inode the kernel sees for a path (NULL: fstat()). */
int host_source_new(sd_event *event, struct watch_set *set, struct identity *identity, const char *node,
		    uint64_t rescan_usec, struct host_source **ret);
struct host_source *host_source_free(struct host_source *h);

/* Make the host paths of policies the watched ones. They are resolved in
 * slices from the event loop: the source is settled once all have been. */
int host_source_apply(struct host_source *h, const struct policy_set *policies);

/* Re-resolve every path, in slices as above. */
void host_source_rescan(struct host_source *h);

/* Whether every path has been resolved since the last apply or rescan; fn
 * is called each time that becomes true. */
bool host_source_settled(const struct host_source *h);
void host_source_set_settled_callback(struct host_source *h, void (*fn)(void *userdata), void *userdata);

size_t host_source_n_paths(const struct host_source *h);
size_t host_source_n_missing(const struct host_source *h);

#endif
