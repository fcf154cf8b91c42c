/* SPDX-License-Identifier: MIT */
#ifndef HIVE_LOADER_H
#define HIVE_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/kept.h"
#include "hive.h"
#include "shared/abi.h"

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
	/* No access hooks: an agent that is not its kernel's loader. There
	 * is no loader then, or one of the deny program alone (loader_new()
	 * with deny: a cluster's follower refuses in the kernel too). */
	ATTACH_NONE,
	_ATTACH_MODE_MAX,
};

const char *attach_mode_to_string(enum attach_mode m);
int attach_mode_from_string(const char *s);

struct loader_options {
	enum attach_mode mode;
	/* Key watched files with their inode's generation too: whenever the
	 * identities the map is filled with come from the kernel (identity.h). */
	bool with_generation;
	uint64_t dedup_window_ns;
	uint32_t dedup_entries; /* 0: the built-in size */
	uint32_t max_watches;
	uint32_t ringbuf_bytes; /* power of two, multiple of the page size */
	uint32_t ancestors;     /* how many a record names (at most HIVE_ANCESTORS_MAX) */
	/* Load the deny program (bpf/deny.bpf.h) where the kernel runs BPF
	 * LSM programs; where it does not, notes say "deny: ...". */
	bool deny;
	/* Maps a previous agent left (kept.h), adopted when they fit: the
	 * new programs then record into the same ring buffer, watch map,
	 * dedup and counters. NULL or none: new maps. */
	const struct kept_bpf *kept;
};

/* Return < 0 to stop consuming; the error is returned by loader_consume(). */
typedef int (*loader_event_fn)(const struct hive_event *event, void *userdata);

struct loader;

/* Why the modes before the chosen one (or all of them, on failure) were
 * skipped, e.g. "fentry: Operation not permitted". */
#define LOADER_NOTES_SIZE 256

/* Whether the running kernel lists the BPF LSM among its active security
 * modules (lsm= on its command line, or its CONFIG_LSM): where the deny
 * program may load. True when it cannot tell (no securityfs). */
bool loader_lsm_listed(void);
/* Whether the deny program loads here (listed is not enough: a kernel may
 * list the BPF LSM and still refuse its programs): 0, or why not. Loads
 * and frees it: a fraction of a second. */
int loader_probe_deny(void);

int loader_new(const struct loader_options *options, loader_event_fn on_event, void *userdata, struct loader **ret,
	       char notes[static LOADER_NOTES_SIZE]);
struct loader *loader_free(struct loader *l);

enum attach_mode loader_mode(const struct loader *l);
/* The change kinds (HIVE_ACCESS_CHANGES) the chosen mode cannot see on this
 * kernel: no hook for them in tracepoint mode, or a hooked function the
 * kernel lacks. */
/* Thread tid's last truncate(2) not yet taken (tracepoint mode), taken:
 * the length it asked for. -ENOENT: none. */
int loader_truncated(const struct loader *l, uint32_t tid, int64_t *ret_length);
uint32_t loader_unseen(const struct loader *l);
/* The calls of a kind the mode sees that its hooks still do not see (for
 * fanotify to see, in part), or NULL. */
const char *loader_unseen_calls(const struct loader *l);
/* Who thread tid (as this process's pid namespace numbers it) was when it
 * exited, in tracepoint mode: the process fields of *ret. -ENOENT: not
 * known (still running, exited long ago, or another mode). */
int loader_exited(const struct loader *l, uint32_t tid, struct hive_event *ret);
/* Who thread tid was as it last called exec after changing a file, in
 * tracepoint mode (bpf/maps.bpf.h, execs), its boot_ns the time of that
 * call. -ENOENT: no such exec known. */
int loader_before_exec(const struct loader *l, uint32_t tid, struct hive_event *ret);
/* Who thread tid was at its first change of a file since its last exec, in
 * tracepoint mode (bpf/maps.bpf.h, changed): for one killed before its
 * change was read. -ENOENT: not known. */
int loader_changed(const struct loader *l, uint32_t tid, struct hive_event *ret);
/* Whether the kept maps were adopted. */
bool loader_adopted(const struct loader *l);
/* What to keep across a restart: the maps and the attached links' fds
 * (owned by l). Returns the number of links. */
size_t loader_kernel_fds(const struct loader *l, int maps[static _KEPT_MAP_MAX], int links[static KEPT_LINKS_MAX]);

/*
 * Refusals decided in the kernel (struct hive_deny_value in hive.h), where
 * options.deny and the kernel loaded the deny program: rules per file,
 * keyed like the watch map, and the members of their process filters.
 * -EOPNOTSUPP without it. The program is attached at the first rule put (or
 * at load, when the maps adopted from the previous agent hold rules): until
 * then opens do not pay for it; then until the agent ends.
 */
bool loader_can_deny(const struct loader *l);
bool loader_deny_attached(const struct loader *l);
/* A stop: every refusal ends. (Not while rules may come again: Linux 5.10
 * cannot attach the program a second time.) */
void loader_deny_detach(struct loader *l);
int loader_deny_put(struct loader *l, const struct hive_watch_key *key, const struct hive_deny_value *value);
int loader_deny_delete(struct loader *l, const struct hive_watch_key *key);
int loader_deny_member_put(struct loader *l, const struct hive_deny_member *m);
int loader_deny_member_delete(struct loader *l, const struct hive_deny_member *m);
/* Every rule, then every member the maps hold (those a previous agent
 * left too); either callback may be NULL, and may delete what it is given. */
int loader_deny_foreach(const struct loader *l,
			int (*rule)(const struct hive_watch_key *key, const struct hive_deny_value *value,
				    void *userdata),
			int (*member)(const struct hive_deny_member *m, void *userdata), void *userdata);
int loader_deny_stats(const struct loader *l, struct hive_deny_stats *ret);
/* The deny program's link (owned by l), -EBADF: none. Whoever holds a copy
 * keeps the refusals of its maps in force after l is gone. */
int loader_deny_link_fd(const struct loader *l);

int loader_event_fd(const struct loader *l);
/* The ring buffer map itself, to be kept (daemon/fdstore.h). */
int loader_events_map_fd(const struct loader *l);
/* Every event a ring buffer map (another loader's, kept) holds, to fn. */
int loader_drain_ring(int events_fd, loader_event_fn fn, void *userdata);
int loader_consume(struct loader *l);

/* fn for every key in the watch map; returns the sum of what fn returned. */
int loader_watch_foreach(struct loader *l, int (*fn)(const struct hive_watch_key *key, void *userdata),
			 void *userdata);
int loader_watch_put(struct loader *l, const struct hive_watch_key *key, const struct hive_watch_value *value);
int loader_watch_delete(struct loader *l, const struct hive_watch_key *key);
/* The same for watched names (struct hive_name_key). */
int loader_name_foreach(struct loader *l, int (*fn)(const struct hive_name_key *key, void *userdata),
			void *userdata);
int loader_name_put(struct loader *l, const struct hive_name_key *key, const struct hive_watch_value *value);
int loader_name_delete(struct loader *l, const struct hive_name_key *key);
/* How many names are watched in any "..<timestamp>" directory (the control
 * map's HIVE_CONTROL_DATA_DIR_NAMES). */
/* How many directory trees are watched (HIVE_CONTROL_TREES). */
int loader_set_trees(struct loader *l, uint64_t n);
int loader_set_data_dir_names(struct loader *l, uint64_t n);
/* Word word of the name_filter map (HIVE_NAME_FILTER_DIR()). */
int loader_name_filter_put(struct loader *l, uint32_t word, uint64_t bits);

/*
 * Have the kernel report folded accesses whose dedup window has ended (as
 * HIVE_EVENT_FOLDED events through the ring buffer): run it every window.
 * -EOPNOTSUPP where the kernel cannot (before 5.14); -ENOBUFS when the ring
 * was full, the rest is reported by the next run.
 */
bool loader_has_flusher(const struct loader *l);
int loader_flush_folded(struct loader *l);

/*
 * At exit: leave the hooks attached for whoever else holds their links (the
 * service manager's fd store) instead of detaching them. libbpf's detach of
 * a perf-event link disables the event itself, which the other holder
 * shares; closing our descriptors at exit does not.
 */
void loader_disconnect(struct loader *l);

/* Stopping for good: detach the access hooks, then report every pending
 * folded count, whatever its age (nothing else can claim it any more). */
int loader_detach_and_flush_all(struct loader *l);

/* What the kernel counted for the access hooks. */
struct loader_stats {
	uint64_t matched, emitted, suppressed, dropped; /* struct hive_stats, summed over CPUs */
	/* Runs of the access hooks that the kernel skipped: it never runs a
	 * program on a CPU where one is already running, and on a kernel that
	 * preempts a program (preempt=full, or syscall tracepoints since 6.13)
	 * the next task's run is skipped. Any of them may have been an access
	 * to a watched file. Counted from 5.12 on; 0 before. */
	uint64_t missed;
};

/* Add the kernel's counters to *total. */
int loader_stats_add(const struct loader *l, struct loader_stats *total);

/* Bytes of the ring buffer written by the hooks and not yet read by the
 * agent (records, and the headers of records being written). */
uint64_t loader_ring_used(const struct loader *l);

/*
 * Whether the kernel has skipped runs of this loader's fentry hook: it runs
 * fentry programs preemptible, and a kernel that preempts them (preempt=full
 * or lazy, real-time kernels) then skips every other task's run on that CPU.
 * kprobe hooks run with preemption off and lose nothing to it (measured on
 * 6.1 and 6.12 booted with preempt=full: fentry missed three reads in four of
 * six busy processes, kprobe none): auto mode moves there.
 */
bool loader_fentry_preempted(const struct loader *l);

/* libbpf's messages into our log, tracefs mounted if it is not: before
 * loading any BPF object (identity.c loads one too). */
void loader_prepare(void);

#endif
