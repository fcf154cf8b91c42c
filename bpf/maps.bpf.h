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

/* Whose hooks record: the generation of the loader that attached them.
 * While an agent takes over from the previous one both sets are attached;
 * one write here hands over, so an access is recorded once, never twice or
 * not at all. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} control SEC(".maps");

#endif
