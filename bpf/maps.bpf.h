/* SPDX-License-Identifier: MIT */
/*
 * The maps the access hooks (hive.bpf.c) and the flusher of folded counts
 * (flush.bpf.c) share: one definition, so that the second object can reuse
 * the first one's maps (libbpf checks that they match).
 */
#ifndef HIVE_MAPS_BPF_H
#define HIVE_MAPS_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* resized from user space */
	__type(key, struct hive_watch_key);
	__type(value, struct hive_watch_value);
} watches SEC(".maps");

/* Watched names (struct hive_name_key), for files not (yet) in watches.
 * Not preallocated: 272-byte keys for every possible entry would cost
 * megabytes, and only user space adds entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536); /* resized from user space */
	__type(key, struct hive_name_key);
	__type(value, struct hive_watch_value);
} names SEC(".maps");

/* Which directories and names may be watched: HIVE_NAME_FILTER_DIR(). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HIVE_NAME_FILTER_BITS / 64);
	__type(key, __u32);
	__type(value, __u64);
} name_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized from user space */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct hive_dedup_key);
	__type(value, struct hive_dedup_state);
} dedup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hive_stats);
} stats SEC(".maps");

/* [HIVE_CONTROL_ACTIVE]: whose hooks record, the generation of the loader
 * that attached them. While an agent takes over from the previous one both
 * sets are attached; one write here hands over, so an access is recorded
 * once, never twice or not at all. [HIVE_CONTROL_LAYOUT]: the layout of these
 * maps, HIVE_MAPS_LAYOUT, so that an agent adopts only maps that mean what
 * its programs think they mean. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, _HIVE_CONTROL_MAX);
	__type(key, __u32);
	__type(value, __u64);
} control SEC(".maps");

/*
 * Who a thread was as it exited, by its id as the agent's pid namespace
 * numbers it (hive.bpf.c, remember_exit()): where no hook sees changes
 * (tracepoint mode), fanotify reports them in user space naming the acting
 * thread by its id only, and a process like chmod(1) is gone by the time
 * that report is read, perhaps by the next agent after a restart. Only the
 * process fields of the event are set.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct hive_event);
} exits SEC(".maps");

/*
 * Threads that changed a file (a successful chmod, rename, unlink, an open
 * that made or truncated a file...) since their last exec, by their id as
 * the agent's pid namespace numbers them, with the task's start_time (an id
 * reused by another thread is not the same thread). Tracepoint mode only:
 * fanotify reports such a change by the thread's id, and user space reads
 * who the thread is when it reads the report, perhaps after an exec. Least
 * recently marked first out: a thread's mark is lost only after 8192 other
 * threads changed files, while its change waits to be read.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} changers SEC(".maps");

/*
 * Who a thread of changers was just before it called exec (hive.bpf.c,
 * remember_exec()), with the time of that call: a change reported by
 * fanotify and read after that time may have been made by the program that
 * ran before, and the record says so (HIVE_EVENT_BEFORE_EXEC). A thread
 * other than the process's first takes the process's id at the exec: its
 * own id then names no thread, and this entry is all that says who made its
 * changes. Only the process fields of the event are set.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct hive_event);
} execs SEC(".maps");

/*
 * Who a thread of changers was at its first change since its exec
 * (hive.bpf.c, mark_changer()): a thread killed before its change is read
 * makes no exit call for exits to keep it by, and would be named by its id
 * alone. Only the process fields of the event are set.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct hive_event);
} changed SEC(".maps");

/*
 * A thread's last successful truncate(2), by its id as the agent's pid
 * namespace numbers it (tracepoint mode only). The call names a path, which
 * nothing at its exit resolves the way the kernel did; fanotify tells which
 * watched file the thread modified (FAN_MODIFY, a write or a truncation) and
 * user space takes the entry with it: that modification was this
 * truncation.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct hive_truncation);
} truncations SEC(".maps");

/*
 * The refusals of deny.bpf.h: a file's rules (struct hive_deny_value) by
 * its key as the watch map has it, and the members of the rules' process
 * filters. Kept and adopted like the others, so that a restarted agent
 * refuses from its first moment what the previous one refused.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536); /* resized from user space */
	__type(key, struct hive_watch_key);
	__type(value, struct hive_deny_value);
} denies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct hive_deny_member);
	__type(value, __u8);
} deny_members SEC(".maps");

#endif
