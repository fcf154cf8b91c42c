/* SPDX-License-Identifier: MIT */
/*
 * A read of a fanotify group: events walked as hived walks them, each taken
 * apart. The kernel writes these, but the names in them are any process's,
 * and the lengths must never be trusted past the buffer. The input is
 * copied 4 bytes into an 8-aligned buffer: events are only 4-byte aligned.
 */
#include <stdalign.h>

#include "fuzz.h"
#include "watch/fanotify-event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static alignas(8) unsigned char buf[4 + (1 << 16)];
	struct fanotify_walk walk = { .buf = buf + 4 };
	struct fanotify_event_metadata meta;
	const void *event;
	struct parsed_event e;

	walk.len = size < sizeof(buf) - 4 ? size : sizeof(buf) - 4;
	memcpy(buf + 4, data, walk.len);
	while (fanotify_event_next(&walk, &meta, &event)) {
		fanotify_event_parse(&meta, event, &e);
		if (e.entry.name)
			(void)strlen(e.entry.name);
		if (e.old.name)
			(void)strlen(e.old.name);
		if (e.new.name)
			(void)strlen(e.new.name);
	}
	return 0;
}
