/* SPDX-License-Identifier: MIT */
#ifndef HIVE_ABI_H
#define HIVE_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hive.h"

/*
 * The kernel's vocabulary, in one place, for everything that names it to
 * people or to the API server: the MAY_* bits of a permission check and their
 * names in policies and records, and the kernel's own encoding of a device
 * number (the superblock's s_dev, which is not user space's st_dev) with its
 * "MAJOR:MINOR" text.
 */

/* "read", "write", "exec", "append" (permission checks), "attrib",
 * "truncate", "create", "delete", "rename", "link" (changes): the accesses a
 * policy can select. */
const char *access_name(uint32_t bit);
/* The HIVE_MAY_* bit named name, or 0. */
uint32_t access_from_name(const char *name);
/* Every selectable bit of access, in name order, as "read,write" into buf. */
const char *access_to_string(uint32_t access, char *buf, size_t size);
/* The selectable bits, in order, for walking them: for (i = 0; i < ACCESS_N; i++) access_bit(i). */
#define ACCESS_N 10
uint32_t access_bit(size_t i);
/* "read, write, ... or link", for messages. */
const char *access_names(void);

/* What the change event ev did, or NULL when ev is no change. ev must
 * point into a whole struct hive_ext_event when it says it is one (the
 * loader checks the size of what the kernel sent). */
static inline const struct hive_ext *hive_event_ext(const struct hive_event *ev)
{
	return ev->flags & HIVE_EVENT_EXT ? &((const struct hive_ext_event *)ev)->ext : NULL;
}

/* Who the process of ev descends from, or NULL when the event says
 * nothing of it. The same rule for its memory as hive_event_ext(). */
static inline const struct hive_lineage *hive_event_lineage(const struct hive_event *ev)
{
	if (!(ev->flags & HIVE_EVENT_LINEAGE))
		return NULL;
	if (ev->flags & HIVE_EVENT_EXT)
		return &((const struct hive_ext_lin_event *)ev)->lin;
	return &((const struct hive_lin_event *)ev)->lin;
}

/* The size of the record ev says it is. */
static inline size_t hive_event_size(const struct hive_event *ev)
{
	/* What user space adds (HIVE_EVENT_BEFORE_EXEC) comes last. */
	size_t before = ev->flags & HIVE_EVENT_BEFORE_EXEC ? sizeof(struct hive_event) : 0;

	switch (ev->flags & (HIVE_EVENT_EXT | HIVE_EVENT_LINEAGE)) {
	case HIVE_EVENT_EXT | HIVE_EVENT_LINEAGE:
		return sizeof(struct hive_ext_lin_event) + before;
	case HIVE_EVENT_EXT:
		return sizeof(struct hive_ext_event) + before;
	case HIVE_EVENT_LINEAGE:
		return sizeof(struct hive_lin_event) + before;
	default:
		return sizeof(struct hive_event) + before;
	}
}

_Static_assert(sizeof(struct hive_ext_event) % _Alignof(struct hive_event) == 0 &&
		       sizeof(struct hive_ext_lin_event) % _Alignof(struct hive_event) == 0 &&
		       sizeof(struct hive_lin_event) % _Alignof(struct hive_event) == 0,
	       "what follows an event is aligned as one");

/* Who the process of ev was before an exec that may have come after it
 * (HIVE_EVENT_BEFORE_EXEC; only its process fields), or NULL. The same rule
 * for its memory as hive_event_ext(). */
static inline const struct hive_event *hive_event_before_exec(const struct hive_event *ev)
{
	if (!(ev->flags & HIVE_EVENT_BEFORE_EXEC))
		return NULL;
	return (const struct hive_event *)((const char *)ev + hive_event_size(ev) - sizeof(struct hive_event));
}

/* The kernel's dev_t: (major << 20) | minor, majors below 4096. */
static inline unsigned kernel_dev_major(uint32_t dev)
{
	return dev >> 20;
}
static inline unsigned kernel_dev_minor(uint32_t dev)
{
	return dev & ((1U << 20) - 1);
}
/* What stat() says, in the kernel's encoding (the same device only where the
 * filesystem agrees: not on btrfs subvolumes, see loader_key_for_fd()). */
uint32_t kernel_dev_from_user(dev_t st_dev);

#define KERNEL_DEV_STRLEN 16 /* "4095:1048575" and the NUL */
/* "MAJOR:MINOR". */
const char *kernel_dev_to_string(uint32_t dev, char out[static KERNEL_DEV_STRLEN]);
/* Strict: decimal digits, one colon, both in range, nothing else. -EINVAL otherwise. */
int kernel_dev_from_string(const char *s, uint32_t *ret);

#endif
