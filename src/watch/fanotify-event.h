/* SPDX-License-Identifier: MIT */
#ifndef HIVE_FANOTIFY_EVENT_H
#define HIVE_FANOTIFY_EVENT_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/fanotify.h>

/*
 * One fanotify event of a group that reports file handles and names
 * (FAN_REPORT_DFID_NAME_TARGET), taken apart: what watch/change-events.c
 * matches against the watched files. Names are bytes a process chose; a
 * record that does not fit where it says it is, is left out.
 */

/* A file handle as fanotify reports it: the file system's id, the handle's
 * type and bytes. Hashed as bytes (fid_key_size()), the unused tail zero. */
struct fid_key {
	__kernel_fsid_t fsid;
	int type;
	unsigned len;
	unsigned char bytes[MAX_HANDLE_SZ];
};

static inline size_t fid_key_size(const struct fid_key *k)
{
	return offsetof(struct fid_key, bytes) + k->len;
}

/* A name in a directory, as an event reports it. */
struct event_name {
	const struct fid_key *dir; /* NULL: none reported */
	const char *name;          /* NUL-terminated, in the event's buffer; NULL: none */
};

struct parsed_event {
	uint64_t mask;
	uint32_t tid; /* as the reader's pid namespace numbers it; 0: outside it */
	struct fid_key child, dir, old_dir, new_dir;
	bool has_child; /* the file itself (FAN_EVENT_INFO_TYPE_FID) */
	struct event_name entry, old, new; /* the entry changed; a rename's two */
};

/* A read of a fanotify group, walked event by event. The kernel aligns
 * events to 4 bytes and struct fanotify_event_metadata wants 8: its metadata
 * is copied out, never read in place (as FAN_EVENT_NEXT() would). */
struct fanotify_walk {
	const unsigned char *buf;
	size_t len, off;
};

/* The next event: its metadata into *meta, its bytes (meta->event_len of
 * them, from the metadata on) at *ret_event. False at the end, or at an event
 * that does not fit in what is left. */
bool fanotify_event_next(struct fanotify_walk *w, struct fanotify_event_metadata *meta, const void **ret_event);

/* The event at event (as fanotify_event_next() gave it, meta its metadata)
 * into *ret, which points into itself and into the event's bytes. */
void fanotify_event_parse(const struct fanotify_event_metadata *meta, const void *event, struct parsed_event *ret);

#endif
