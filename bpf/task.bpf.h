/* SPDX-License-Identifier: MIT */
/* What both BPF objects read from the current task. */
#ifndef HIVE_TASK_BPF_H
#define HIVE_TASK_BPF_H

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
