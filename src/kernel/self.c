/* SPDX-License-Identifier: MIT */
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/self.h"
#include "shared/abi.h"

/* The initial pid namespace's inode number, the same on every kernel
 * (PROC_PID_INIT_INO). */
#define PID_NS_INIT_INO 0xEFFFFFFCU

void bpf_self_get(struct bpf_self *ret)
{
	struct stat st;

	*ret = (struct bpf_self){ .tgid = (uint32_t)getpid() };
	/* In the initial namespace the kernel's own ids are ours: the programs
	 * take them as they are, without walking a thread's namespaces on
	 * every hook. */
	if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != PID_NS_INIT_INO) {
		ret->pidns_dev = kernel_dev_from_user(st.st_dev);
		ret->pidns_ino = st.st_ino;
	}
}
