/* SPDX-License-Identifier: MIT */
/* What both BPF objects read from the current task. */
#ifndef HIVE_TASK_BPF_H
#define HIVE_TASK_BPF_H

#include "read.bpf.h"

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

/* How deep below the agent's pid namespace a thread is still found (a
 * container's, one nested in it, ...). */
#define HIVE_PIDNS_DEPTH 8

/* The current thread's id as this agent's pid namespace numbers it (what
 * fanotify tells the agent), or 0 where the thread is not in it or below.
 * bpf_get_ns_current_pid_tgid() knows only the thread's own namespace: a
 * container's thread is numbered at the agent's level of its struct pid. */
static __always_inline __u32 current_tid_seen_by_self(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);

	if (!self_pidns_ino)
		return (__u32)bpf_get_current_pid_tgid();
	for (unsigned int i = 0; i < HIVE_PIDNS_DEPTH; i++) {
		unsigned int at = level >= i ? level - i : 0;
		struct upid up = {};

		if (level < i || bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[at]))
			return 0;
		if (BPF_CORE_READ(up.ns, ns.inum) == self_pidns_ino)
			return (__u32)up.nr;
	}
	return 0;
}

/* Whether syscall_arg() knows: since 5.15 (bpf_task_pt_regs()). */
static __always_inline bool syscall_args_known(void)
{
	return bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs);
}

/* Argument i (0-4) of a system call entered with regs, read by one family
 * of libbpf's macros (suffix _SYSCALL: plain loads; _CORE_SYSCALL: calls). */
#define SYSCALL_ARG(regs, i, family)                                                                         \
	((i) == 0 ? PT_REGS_PARM1##family(regs) :                                                                \
	 (i) == 1 ? PT_REGS_PARM2##family(regs) :                                                                \
	 (i) == 2 ? PT_REGS_PARM3##family(regs) :                                                                \
	 (i) == 3 ? PT_REGS_PARM4##family(regs) : PT_REGS_PARM5##family(regs))

/* Argument i (0-4) of the current system call, from the registers it was
 * entered with: what a syscall-exit tracepoint does not carry. 0 where
 * !syscall_args_known(). */
static __always_inline unsigned long syscall_arg(__u32 i)
{
	struct pt_regs *regs;

	if (!syscall_args_known())
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	/* The helper's pointer is the kernel's own: plain loads may read it
	 * wherever they read anything (read.bpf.h). */
	return direct_reads ? SYSCALL_ARG(regs, i, _SYSCALL) : SYSCALL_ARG(regs, i, _CORE_SYSCALL);
}

/* The file behind descriptor fd of the current task, or NULL. */
static __always_inline struct file *current_fd_file(long fd)
{
	struct file *file = NULL;
	struct fdtable *fdt;
	struct file **fds;

	fdt = direct_reads ? bpf_get_current_task_btf()->files->fdt :
			     BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), files, fdt);
	if (!fdt || fd < 0 || fd >= KREAD(fdt, max_fds))
		return NULL;
	/* A pointer to pointers: a number to the verifier, read by a call. */
	fds = KREAD(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
		return NULL;
	return file;
}

#endif
