/* SPDX-License-Identifier: MIT */
/* What both BPF objects read from the current task. */
#ifndef HIVE_TASK_BPF_H
#define HIVE_TASK_BPF_H

/* Set by user space (kernel/self.h): this agent's tgid as its own pid
 * namespace numbers it, and that namespace. */
const volatile __u32 self_tgid = 0;
const volatile __u64 self_pidns_dev = 0;
const volatile __u64 self_pidns_ino = 0;

/* Whether the current task is of this agent: in a pid namespace of its own
 * (a container, systemd-nspawn) by the tgid there, as getpid() said it. */
static __always_inline bool current_is_self(void)
{
	struct bpf_pidns_info ns = {};

	if (!self_pidns_ino)
		return (__u32)(bpf_get_current_pid_tgid() >> 32) == self_tgid;
	return bpf_get_ns_current_pid_tgid(self_pidns_dev, self_pidns_ino, &ns, sizeof(ns)) == 0 &&
	       ns.tgid == self_tgid;
}

/* The current thread's id as this agent's pid namespace numbers it (what
 * fanotify tells the agent), or 0 where the thread is not in it. */
static __always_inline __u32 current_tid_seen_by_self(void)
{
	struct bpf_pidns_info ns = {};

	if (!self_pidns_ino)
		return (__u32)bpf_get_current_pid_tgid();
	if (bpf_get_ns_current_pid_tgid(self_pidns_dev, self_pidns_ino, &ns, sizeof(ns)))
		return 0;
	return ns.pid;
}

/* The file behind descriptor fd of the current task, or NULL. */
static __always_inline struct file *current_fd_file(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *file = NULL;

	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
		return NULL;
	return file;
}

#endif
