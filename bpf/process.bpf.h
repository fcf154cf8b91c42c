/* SPDX-License-Identifier: MIT */
/* What both BPF objects write of a process into an event. */
#ifndef HIVE_PROCESS_BPF_H
#define HIVE_PROCESS_BPF_H

/* An event's process fields, from a dedup key (or
 * what process_key() read) and who the process was. */
static __always_inline void fill_process(struct hive_event *ev, const struct hive_dedup_key *dkey,
					 const struct hive_process *who)
{
	ev->cgroup_id = who->cgroup_id;
	ev->tid = who->tid;
	ev->tgid = dkey->tgid;
	ev->ppid = who->ppid;
	ev->uid = dkey->uid;
	ev->gid = who->gid;
	ev->euid = who->euid;
	ev->fsuid = dkey->fsuid;
	ev->exe_file = who->exe;
	ev->auid = who->auid;
	ev->sessionid = who->sessionid;
	__builtin_memcpy(ev->comm, who->comm, sizeof(ev->comm));
	__builtin_memcpy(ev->tty, who->tty, sizeof(ev->tty));
}

#endif
