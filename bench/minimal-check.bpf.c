// SPDX-License-Identifier: MIT
/*
 * The least a tracepoint-mode hook can do per open, for comparison with
 * hived's: the opened descriptor's file, its inode's key (the same
 * inode_key() hived's hooks use), one hash lookup, a counter on a hit.
 * Nothing else: no names, no record, no dedup.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "hive.h"
#include "inode.bpf.h"
#include "task.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* The loader's own open of the watched file puts its key in the map. */
const volatile __u32 learn_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct hive_watch_key);
	__type(value, __u32);
} watched SEC(".maps");

__u64 hits = 0;

SEC("tracepoint/syscalls/sys_exit_openat")
int minimal_check(struct trace_event_raw_sys_exit *ctx)
{
	struct file *file = current_fd_file(ctx->ret);
	struct hive_watch_key key;
	__u32 one = 1;

	if (!file)
		return 0;
	inode_key(BPF_CORE_READ(file, f_inode), &key);
	if (bpf_map_lookup_elem(&watched, &key))
		__sync_fetch_and_add(&hits, 1);
	else if ((__u32)(bpf_get_current_pid_tgid() >> 32) == learn_tgid)
		bpf_map_update_elem(&watched, &key, &one, BPF_ANY);
	return 0;
}
