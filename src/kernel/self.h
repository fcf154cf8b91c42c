/* SPDX-License-Identifier: MIT */
#ifndef HIVE_SELF_H
#define HIVE_SELF_H

#include <stdint.h>

/*
 * This process as the kernel's BPF programs know it (task.bpf.h's
 * current_is_self()). In a pid namespace of its own (a container,
 * systemd-nspawn) getpid() is not the tgid bpf_get_current_pid_tgid()
 * returns, so the programs ask for the tgid as our namespace numbers it
 * instead.
 */
struct bpf_self {
	uint32_t tgid;      /* getpid() */
	uint64_t pidns_dev; /* our pid namespace: its nsfs device (the kernel's encoding) */
	uint64_t pidns_ino; /* and inode; 0: the initial one, or unknown: the programs compare the tgid alone */
};

void bpf_self_get(struct bpf_self *ret);

#endif
