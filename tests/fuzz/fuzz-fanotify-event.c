/* SPDX-License-Identifier: MIT */
/*
 * A read of a fanotify group: events walked as hived walks them
 * (FAN_EVENT_OK/NEXT), each taken apart. The kernel writes these, but the
 * names in them are any process's, and the lengths must never be trusted
 * past the buffer.
 */
#include <stdalign.h>

#include "fuzz.h"
#include "watch/fanotify-event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static alignas(struct fanotify_event_metadata) unsigned char buf[1 << 16];
	const struct fanotify_event_metadata *meta = (const void *)buf;
	size_t len = size < sizeof(buf) ? size : sizeof(buf);
	struct parsed_event e;

	memcpy(buf, data, len);
	for (; FAN_EVENT_OK(meta, len); meta = FAN_EVENT_NEXT(meta, len)) {
		fanotify_event_parse(meta, &e);
		if (e.entry.name)
			(void)strlen(e.entry.name);
		if (e.old.name)
			(void)strlen(e.old.name);
		if (e.new.name)
			(void)strlen(e.new.name);
	}
	return 0;
}
