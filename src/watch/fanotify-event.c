/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "watch/fanotify-event.h"

bool fanotify_event_next(struct fanotify_walk *w, struct fanotify_event_metadata *meta, const void **ret_event)
{
	size_t left = w->len - w->off;

	if (w->off > w->len || left < FAN_EVENT_METADATA_LEN)
		return false;
	memcpy(meta, w->buf + w->off, sizeof(*meta));
	if (meta->event_len < FAN_EVENT_METADATA_LEN || meta->event_len > left)
		return false;
	*ret_event = w->buf + w->off;
	w->off += meta->event_len;
	return true;
}

/* An info record of a file handle (and, with name, the name after it), at
 * info, len bytes. Every part is copied out: a record is only as aligned as
 * the event it is in. */
static bool info_fid(const unsigned char *info, size_t len, struct fid_key *ret, const char **name)
{
	size_t at = offsetof(struct fanotify_event_info_fid, handle), fixed = at + sizeof(struct file_handle);
	struct file_handle fh;

	if (len < fixed)
		return false;
	memcpy(&fh, info + at, sizeof(fh));
	if (fh.handle_bytes > MAX_HANDLE_SZ || len < fixed + fh.handle_bytes)
		return false;
	memset(ret, 0, sizeof(*ret));
	memcpy(&ret->fsid, info + offsetof(struct fanotify_event_info_fid, fsid), sizeof(ret->fsid));
	ret->type = fh.handle_type;
	ret->len = fh.handle_bytes;
	memcpy(ret->bytes, info + fixed, fh.handle_bytes);
	if (name) {
		const char *s = (const char *)info + fixed + fh.handle_bytes;
		size_t room = len - fixed - fh.handle_bytes;

		*name = room && memchr(s, '\0', room) ? s : NULL;
	}
	return true;
}

void fanotify_event_parse(const struct fanotify_event_metadata *meta, const void *event, struct parsed_event *ret)
{
	const unsigned char *p = event;
	size_t off = meta->metadata_len, end = meta->event_len;

	*ret = (struct parsed_event){ .mask = meta->mask, .tid = meta->pid > 0 ? (uint32_t)meta->pid : 0 };
	while (off <= end && end - off >= sizeof(struct fanotify_event_info_header)) {
		struct fanotify_event_info_header h;

		memcpy(&h, p + off, sizeof(h));
		if (h.len < sizeof(h) || h.len > end - off)
			break;
		switch (h.info_type) {
		case FAN_EVENT_INFO_TYPE_FID:
			ret->has_child = info_fid(p + off, h.len, &ret->child, NULL);
			break;
		case FAN_EVENT_INFO_TYPE_DFID_NAME:
			if (info_fid(p + off, h.len, &ret->dir, &ret->entry.name))
				ret->entry.dir = &ret->dir;
			break;
		case FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
			if (info_fid(p + off, h.len, &ret->old_dir, &ret->old.name))
				ret->old.dir = &ret->old_dir;
			break;
		case FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
			if (info_fid(p + off, h.len, &ret->new_dir, &ret->new.name))
				ret->new.dir = &ret->new_dir;
			break;
		default:
			break;
		}
		off += h.len;
	}
}
