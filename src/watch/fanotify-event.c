/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "watch/fanotify-event.h"

/* An info record of a file handle (and, with name, the name after it). */
static bool info_fid(const struct fanotify_event_info_fid *info, size_t len, struct fid_key *ret, const char **name)
{
	const struct file_handle *fh = (const struct file_handle *)info->handle;
	size_t fixed = sizeof(*info) + sizeof(*fh);

	if (len < fixed || fh->handle_bytes > MAX_HANDLE_SZ || len < fixed + fh->handle_bytes)
		return false;
	memset(ret, 0, sizeof(*ret));
	memcpy(&ret->fsid, &info->fsid, sizeof(ret->fsid));
	ret->type = fh->handle_type;
	ret->len = fh->handle_bytes;
	memcpy(ret->bytes, fh->f_handle, fh->handle_bytes);
	if (name) {
		const char *s = (const char *)fh->f_handle + fh->handle_bytes;
		size_t room = len - fixed - fh->handle_bytes;

		*name = room && memchr(s, '\0', room) ? s : NULL;
	}
	return true;
}

void fanotify_event_parse(const struct fanotify_event_metadata *meta, struct parsed_event *ret)
{
	const char *p = (const char *)meta + meta->metadata_len, *end = (const char *)meta + meta->event_len;

	*ret = (struct parsed_event){ .mask = meta->mask, .tid = meta->pid > 0 ? (uint32_t)meta->pid : 0 };
	while (p + sizeof(struct fanotify_event_info_header) <= end) {
		const struct fanotify_event_info_header *h = (const void *)p;
		const struct fanotify_event_info_fid *info = (const void *)p;

		if (h->len < sizeof(*h) || h->len > (size_t)(end - p))
			break;
		switch (h->info_type) {
		case FAN_EVENT_INFO_TYPE_FID:
			ret->has_child = info_fid(info, h->len, &ret->child, NULL);
			break;
		case FAN_EVENT_INFO_TYPE_DFID_NAME:
			if (info_fid(info, h->len, &ret->dir, &ret->entry.name))
				ret->entry.dir = &ret->dir;
			break;
		case FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
			if (info_fid(info, h->len, &ret->old_dir, &ret->old.name))
				ret->old.dir = &ret->old_dir;
			break;
		case FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
			if (info_fid(info, h->len, &ret->new_dir, &ret->new.name))
				ret->new.dir = &ret->new_dir;
			break;
		default:
			break;
		}
		p += h->len;
	}
}
