/* SPDX-License-Identifier: MIT */
/* Taking fanotify events apart: every info record read where it says it is,
 * names only when terminated inside their record, nothing read past the
 * event, whatever the lengths say. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "watch/fanotify-event.h"

/* An event being built: metadata, then info records. */
struct builder {
	alignas(struct fanotify_event_metadata) unsigned char buf[1024];
	size_t len;
};

static struct fanotify_event_metadata *begin(struct builder *b, uint64_t mask, int pid)
{
	struct fanotify_event_metadata *m = (void *)b->buf;

	memset(b, 0, sizeof(*b));
	*m = (struct fanotify_event_metadata){ .vers = FANOTIFY_METADATA_VERSION, .metadata_len = sizeof(*m),
					       .mask = mask, .fd = FAN_NOFD, .pid = pid,
					       .event_len = sizeof(*m) };
	b->len = sizeof(*m);
	return m;
}

/* An info record of type with a handle of n bytes (each byte fill) and
 * name (NULL: none; with its NUL unless cut), and len_delta added to the
 * record's stated length. */
static void add_fid(struct builder *b, uint8_t type, unsigned n, unsigned char fill, const char *name,
		    bool cut_nul, int len_delta)
{
	struct fanotify_event_info_fid *info = (void *)(b->buf + b->len);
	struct file_handle *fh = (void *)info->handle;
	size_t name_len = name ? strlen(name) + !cut_nul : 0;
	size_t len = sizeof(*info) + sizeof(*fh) + n + name_len;

	len = (len + 3) & ~(size_t)3;
	info->hdr.info_type = type;
	info->hdr.len = (uint16_t)(len + len_delta);
	info->fsid.val[0] = 7;
	fh->handle_bytes = n;
	fh->handle_type = 1;
	memset(fh->f_handle, fill, n);
	if (name)
		memcpy(fh->f_handle + n, name, name_len);
	b->len += len;
	((struct fanotify_event_metadata *)b->buf)->event_len = (uint32_t)b->len;
}

/* The built event, walked and taken apart as hived does. */
static void parse(const struct builder *b, struct parsed_event *ret)
{
	struct fanotify_walk walk = { .buf = b->buf, .len = b->len };
	struct fanotify_event_metadata meta;
	const void *event;

	if (!fanotify_event_next(&walk, &meta, &event))
		abort();
	fanotify_event_parse(&meta, event, ret);
}

static void test_create_with_dir_name_and_child(void)
{
	struct builder b;
	struct parsed_event e;

	begin(&b, FAN_CREATE, 42);
	add_fid(&b, FAN_EVENT_INFO_TYPE_DFID_NAME, 8, 0xd1, "shadow", false, 0);
	add_fid(&b, FAN_EVENT_INFO_TYPE_FID, 8, 0xc1, NULL, false, 0);
	parse(&b, &e);
	CHECK(e.mask == FAN_CREATE && e.tid == 42);
	CHECK(e.entry.dir == &e.dir && e.dir.len == 8 && e.dir.bytes[7] == 0xd1 && e.dir.fsid.val[0] == 7);
	CHECK_STREQ(e.entry.name, "shadow");
	CHECK(e.has_child && e.child.bytes[0] == 0xc1 && fid_key_size(&e.child) == offsetof(struct fid_key, bytes) + 8);
	CHECK(!e.old.dir && !e.new.dir);
}

static void test_rename_has_both_names(void)
{
	struct builder b;
	struct parsed_event e;

	begin(&b, FAN_RENAME, 1);
	add_fid(&b, FAN_EVENT_INFO_TYPE_OLD_DFID_NAME, 8, 1, "a", false, 0);
	add_fid(&b, FAN_EVENT_INFO_TYPE_NEW_DFID_NAME, 12, 2, "b", false, 0);
	add_fid(&b, FAN_EVENT_INFO_TYPE_FID, 8, 3, NULL, false, 0);
	parse(&b, &e);
	CHECK_STREQ(e.old.name, "a");
	CHECK_STREQ(e.new.name, "b");
	CHECK(e.old.dir == &e.old_dir && e.new.dir == &e.new_dir && e.new_dir.len == 12 && e.has_child);
}

static void test_a_name_without_its_nul_is_no_name(void)
{
	struct builder b;
	struct parsed_event e;

	begin(&b, FAN_DELETE, 1);
	/* "abc" fills the record to its 4-byte end exactly: no NUL inside. */
	add_fid(&b, FAN_EVENT_INFO_TYPE_DFID_NAME, 5, 1, "abc", true, 0);
	parse(&b, &e);
	CHECK(e.entry.dir && !e.entry.name);
}

static void test_lengths_that_lie_read_nothing_past_the_event(void)
{
	struct builder b;
	struct parsed_event e;

	/* A record longer than what is left: it and what follows are left out. */
	begin(&b, FAN_ATTRIB, 1);
	add_fid(&b, FAN_EVENT_INFO_TYPE_FID, 8, 1, NULL, false, 64);
	parse(&b, &e);
	CHECK(!e.has_child);
	/* A record of length 0 would never end the walk. */
	begin(&b, FAN_ATTRIB, 1);
	add_fid(&b, FAN_EVENT_INFO_TYPE_FID, 8, 1, NULL, false, 0);
	((struct fanotify_event_info_header *)(b.buf + sizeof(struct fanotify_event_metadata)))->len = 0;
	parse(&b, &e);
	CHECK(!e.has_child);
	/* A handle longer than its record, or than any handle. */
	begin(&b, FAN_ATTRIB, 1);
	add_fid(&b, FAN_EVENT_INFO_TYPE_FID, 8, 1, NULL, false, 0);
	((struct file_handle *)((struct fanotify_event_info_fid *)(b.buf + sizeof(struct fanotify_event_metadata)))
		 ->handle)
		->handle_bytes = 200;
	parse(&b, &e);
	CHECK(!e.has_child);
	/* Metadata longer than the event. */
	begin(&b, FAN_ATTRIB, 1);
	add_fid(&b, FAN_EVENT_INFO_TYPE_FID, 8, 1, NULL, false, 0);
	((struct fanotify_event_metadata *)b.buf)->metadata_len = 1000;
	parse(&b, &e);
	CHECK(!e.has_child);
}

static void test_a_process_outside_the_namespace_has_no_id(void)
{
	struct builder b;
	struct parsed_event e;

	begin(&b, FAN_ATTRIB, 0);
	parse(&b, &e);
	CHECK(e.tid == 0 && !e.has_child && !e.entry.dir);
}

/* Events are 4-byte aligned: the second of a read may sit where its
 * metadata's 8-byte fields cannot be read in place (UBSan says so). */
static void test_events_walked_at_4_byte_offsets(void)
{
	struct builder one, two;
	struct fanotify_walk walk = { 0 };
	struct fanotify_event_metadata meta;
	const void *event;
	unsigned char *buf;
	struct parsed_event e;

	begin(&one, FAN_CREATE, 5);
	add_fid(&one, FAN_EVENT_INFO_TYPE_DFID_NAME, 8, 1, "abcdef", false, 0); /* 24 + 36 bytes */
	begin(&two, FAN_DELETE, 6);
	add_fid(&two, FAN_EVENT_INFO_TYPE_DFID_NAME, 8, 2, "gone", false, 0);
	CHECK(one.len % 8 == 4);
	buf = malloc(one.len + two.len);
	memcpy(buf, one.buf, one.len);
	memcpy(buf + one.len, two.buf, two.len);
	walk = (struct fanotify_walk){ .buf = buf, .len = one.len + two.len };
	CHECK(fanotify_event_next(&walk, &meta, &event) && meta.pid == 5);
	CHECK(fanotify_event_next(&walk, &meta, &event) && meta.pid == 6 && meta.mask == FAN_DELETE);
	fanotify_event_parse(&meta, event, &e);
	CHECK_STREQ(e.entry.name, "gone");
	CHECK(e.dir.bytes[0] == 2);
	CHECK(!fanotify_event_next(&walk, &meta, &event));
	/* A read cut inside an event, or an event longer than the read. */
	walk = (struct fanotify_walk){ .buf = buf, .len = one.len + two.len - 1 };
	CHECK(fanotify_event_next(&walk, &meta, &event) && !fanotify_event_next(&walk, &meta, &event));
	((struct fanotify_event_metadata *)one.buf)->event_len = 8;
	walk = (struct fanotify_walk){ .buf = one.buf, .len = one.len };
	CHECK(!fanotify_event_next(&walk, &meta, &event));
	free(buf);
}

int main(void)
{
	RUN(test_create_with_dir_name_and_child);
	RUN(test_rename_has_both_names);
	RUN(test_a_name_without_its_nul_is_no_name);
	RUN(test_lengths_that_lie_read_nothing_past_the_event);
	RUN(test_a_process_outside_the_namespace_has_no_id);
	RUN(test_events_walked_at_4_byte_offsets);
	return TAP_END();
}
