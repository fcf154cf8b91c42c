/* SPDX-License-Identifier: MIT */
#ifndef HIVE_LOADER_H
#define HIVE_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "hive.h"

/*
 * The BPF side of the agent: load hive.bpf.c in the best attach mode the
 * running kernel allows, keep its watch map, hand ring-buffer events to a
 * callback. No event loop in here: the daemon adds loader_event_fd() to
 * sd-event, the kernel test binary polls it, both call loader_consume().
 */

enum attach_mode {
	ATTACH_AUTO,
	ATTACH_FENTRY,
	ATTACH_KPROBE,
	ATTACH_TRACEPOINT,
	/* Only the agent's own resolver: for agents that must learn inode
	 * identities but are not the loader of their kernel. */
	ATTACH_NONE,
	_ATTACH_MODE_MAX,
};

const char *attach_mode_to_string(enum attach_mode m);
int attach_mode_from_string(const char *s);

struct loader_options {
	enum attach_mode mode;
	uint64_t dedup_window_ns;
	uint32_t max_watches;
	uint32_t ringbuf_bytes; /* power of two, multiple of the page size */
};

/* Return < 0 to stop consuming; the error is returned by loader_consume(). */
typedef int (*loader_event_fn)(const struct hive_event *event, void *userdata);

struct loader;

int loader_new(const struct loader_options *options, loader_event_fn on_event, void *userdata,
	       struct loader **ret);
struct loader *loader_free(struct loader *l);

enum attach_mode loader_mode(const struct loader *l);
/* Why the modes before the chosen one were skipped, e.g. "fentry: Operation not permitted". */
const char *loader_probe_notes(const struct loader *l);

/* After loader_new() failed: why each mode it tried was refused. */
const char *loader_failure_notes(void);

int loader_event_fd(const struct loader *l);
int loader_consume(struct loader *l);

int loader_watch_put(struct loader *l, const struct hive_watch_key *key, const struct hive_watch_value *value);
int loader_watch_delete(struct loader *l, const struct hive_watch_key *key);

int loader_stats(const struct loader *l, struct hive_stats *ret);

static inline void hive_stats_add(struct hive_stats *to, const struct hive_stats *from)
{
	to->matched += from->matched;
	to->emitted += from->emitted;
	to->suppressed += from->suppressed;
	to->dropped += from->dropped;
}

/*
 * The identity the hooks will compare for the file behind fd, which the
 * calling thread must have just opened with openat2(). Falls back to fstat()
 * (converted to the kernel's dev encoding) when no resolver runs; returns 1
 * when the kernel reported it, 0 for the fstat() fallback.
 */
int loader_key_for_fd(struct loader *l, int fd, struct hive_watch_key *ret);

/* Same fallback, without any loader: the stat view. */
int watch_key_from_fstat(int fd, struct hive_watch_key *ret);

static inline unsigned kernel_dev_major(uint32_t dev)
{
	return dev >> 20;
}
static inline unsigned kernel_dev_minor(uint32_t dev)
{
	return dev & ((1U << 20) - 1);
}

#endif
