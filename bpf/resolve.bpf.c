// SPDX-License-Identifier: MIT
/*
 * Which inode the kernel sees behind a descriptor the agent itself just
 * opened with openat2(): the (s_dev, i_ino) the access hooks compare, which
 * stat() does not always give (btrfs subvolumes report another st_dev).
 * An object of its own, loaded once: whether this agent's access hooks are
 * attached, and in which mode, changes nothing here.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "hive.h"
#include "task.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by user space before load: only the agent's own calls are looked at. */
const volatile __u32 self_tgid = 0;

struct hive_resolved resolved = {};

SEC("tracepoint/syscalls/sys_exit_openat2")
int resolve__sys_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	struct inode *inode;
	struct file *file;

	if ((__u32)(bpf_get_current_pid_tgid() >> 32) != self_tgid)
		return 0;
	file = current_fd_file(ctx->ret);
	if (!file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	resolved.ino = BPF_CORE_READ(inode, i_ino);
	resolved.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	resolved.fd = ctx->ret;
	resolved.seq++;
	return 0;
}
