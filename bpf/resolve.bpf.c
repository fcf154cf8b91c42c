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
#include "inode.bpf.h"
#include "task.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";


struct hive_resolved resolved = {};

/* An overlay file's files below: of a directory, its directory in each
 * layer; of anything else, the one the overlay shows. */
static __always_inline void resolve_layers(struct file *file, struct inode *inode)
{
	struct inode *layer;

	if ((BPF_CORE_READ(inode, i_mode) & S_IFMT_) == S_IFDIR_) {
		resolved.n_layers = overlay_dir_layers(BPF_CORE_READ(file, f_path.dentry), inode, resolved.layers,
						       &resolved.layers_truncated);
	} else if ((layer = overlay_visible_inode(inode))) {
		inode_key(layer, &resolved.layers[0]);
		resolved.n_layers = 1;
	}
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int resolve__sys_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	struct hive_watch_key key;
	struct inode *inode;
	struct file *file;

	if (!current_is_self()) /* only the agent's own calls */
		return 0;
	file = current_fd_file(ctx->ret);
	if (!file)
		return 0;
	/* The same functions the hooks key their lookups with. */
	inode = BPF_CORE_READ(file, f_inode);
	inode_key(inode, &key);
	resolved.ino = key.ino;
	resolved.dev = key.dev;
	resolved.gen = key.gen;
	__builtin_memset(&resolved.name, 0, sizeof(resolved.name));
	dentry_name_key(BPF_CORE_READ(file, f_path.dentry), &resolved.name);
	resolved.n_layers = 0;
	resolved.layers_truncated = 0;
	if (BPF_CORE_READ(inode, i_sb, s_magic) == OVERLAYFS_SUPER_MAGIC)
		resolve_layers(file, inode);
	resolved.fd = ctx->ret;
	resolved.seq++;
	return 0;
}
