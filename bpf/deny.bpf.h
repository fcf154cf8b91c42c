/* SPDX-License-Identifier: MIT */
/*
 * Refusals decided in the kernel (struct hive_deny_value in hive.h): a BPF
 * LSM program on file_open, the one check every open and every exec of a
 * file passes (an exec opens its file with FMODE_EXEC), after the file
 * system's own permission checks. Nothing waits for user space: a refusal
 * holds while no agent runs, for as long as something (the service
 * manager's fd store) keeps the program's link. Part of hive.bpf.c, whose
 * helpers it uses; loaded only where the kernel runs BPF LSM programs.
 */
#ifndef HIVE_DENY_BPF_H
#define HIVE_DENY_BPF_H

/* In an exec's open flags (fsnotify tells exec from open by it too). */
#define __FMODE_EXEC 0x20
#define EACCES 13

/* Its rules and their members are maps.bpf.h's denies and deny_members:
 * kept across a restart, so that the next agent's program refuses what this
 * one did from the moment it attaches. */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hive_deny_stats);
} deny_stats SEC(".maps");

/* Who opens, as much as a filter asks of it. */
struct deny_subject {
	struct hive_watch_key exe;
	__u64 cgroup_id;
	__u32 uid, auid;
};

static __always_inline bool deny_member(__u32 filter, __u16 kind, __u16 except, __u64 value,
					const struct hive_watch_key *exe)
{
	struct hive_deny_member m = { .filter = filter, .kind = kind, .except = except, .value = value };

	if (exe) {
		m.dev = exe->dev;
		m.gen = with_generation ? exe->gen : 0;
	}
	return bpf_map_lookup_elem(&deny_members, &m) != NULL;
}

/* Whether s matches every kind of kinds, by the members of filter's set. */
static __always_inline bool deny_set_matches(__u32 filter, __u16 except, __u32 kinds, const struct deny_subject *s)
{
	if ((kinds & HIVE_PROC_EXE) && !deny_member(filter, HIVE_PROC_EXE, except, s->exe.ino, &s->exe))
		return false;
	if ((kinds & HIVE_PROC_UID) && !deny_member(filter, HIVE_PROC_UID, except, s->uid, NULL))
		return false;
	if ((kinds & HIVE_PROC_AUID) && !deny_member(filter, HIVE_PROC_AUID, except, s->auid, NULL))
		return false;
	if ((kinds & HIVE_PROC_CGROUP) && !deny_member(filter, HIVE_PROC_CGROUP, except, s->cgroup_id, NULL))
		return false;
	return true;
}

static __always_inline bool deny_admits(const struct hive_deny_rule *r, const struct deny_subject *s)
{
	if (r->only && !deny_set_matches(r->filter, 0, r->only, s))
		return false;
	return !(r->except && deny_set_matches(r->filter, 1, r->except, s));
}

/* The kinds an open is: exec, or read, write, append by its mode. */
static __always_inline __u32 deny_open_kinds(struct file *file)
{
	if (BPF_CORE_READ(file, f_flags) & __FMODE_EXEC)
		return HIVE_MAY_EXEC;
	return open_mask(file) & (HIVE_MAY_READ | HIVE_MAY_WRITE | HIVE_MAY_APPEND);
}

static __always_inline void deny_subject_read(struct deny_subject *s)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);

	if (exe)
		inode_key(BPF_CORE_READ(exe, f_inode), &s->exe);
	s->cgroup_id = bpf_get_current_cgroup_id();
	s->uid = BPF_CORE_READ(task, cred, uid.val);
	s->auid = bpf_core_field_exists(task->loginuid) ? BPF_CORE_READ(task, loginuid.val) : HIVE_ID_UNSET;
}

/* Reads that are one value of the rules' whole (struct hive_deny_value):
 * more tries than a writer can take from a reader in a row. */
#define DENY_READ_TRIES 4

static __always_inline bool same_key(const struct hive_watch_key *a, const struct hive_watch_key *b)
{
	return a->ino == b->ino && a->dev == b->dev && a->gen == b->gen;
}

/* A copy of key's rules: 1, none: 0, or -1 when every try found the element
 * rewritten under it (hive.h: the kernel reuses a freed element at once; a
 * writer that did so ran on this CPU while the program was preempted, and
 * then did its whole write). */
static __always_inline int deny_value_read(const struct hive_watch_key *key, struct hive_deny_value *out)
{
	for (int i = 0; i < DENY_READ_TRIES; i++) {
		struct hive_deny_value *v = bpf_map_lookup_elem(&denies, key);
		__u64 version;

		if (!v)
			return 0;
		version = *(volatile __u64 *)&v->version;
		asm volatile("" ::: "memory");
		__builtin_memcpy(out, v, sizeof(*out));
		asm volatile("" ::: "memory");
		if (*(volatile __u64 *)&v->version == version && out->version == version && same_key(&out->key, key))
			return 1;
	}
	return -1;
}

/* The decision's event, as fanotify's are made (no folding: each one). */
static __noinline int deny_report(const struct hive_watch_key *key, __u32 watch_id, __u32 mask, __u32 flags)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hive_dedup_key dkey = {};
	struct hive_process who = {};
	struct hive_event *event;
	bool with_lineage = ancestors_max && !ring_busy();
	__u64 *active = bpf_map_lookup_elem(&control, &(__u32){ HIVE_CONTROL_ACTIVE });

	/* While a new agent takes over, both programs are attached. Of two
	 * LSM programs on one hook the kernel runs the second only when the
	 * first allowed: a refusal is made, and said, by one of them alone,
	 * whichever is active; what both allow, the active one's alone says. */
	if (!(flags & HIVE_EVENT_DENIED) && (!active || *active != generation))
		return 0;
	event = bpf_ringbuf_reserve(&events, with_lineage ? sizeof(struct hive_lin_event) : sizeof(struct hive_event),
				    0);
	if (!event)
		return -1;
	process_key(task, pid_tgid, &dkey);
	process_who(task, pid_tgid, &who);
	__builtin_memset(event, 0, sizeof(*event));
	event->boot_ns = bpf_ktime_get_boot_ns();
	event->ino = key->ino;
	event->dev = key->dev;
	event->gen = key->gen;
	event->watch_id = watch_id;
	event->mask = mask;
	fill_process(event, &dkey, &who);
	event->flags = exe_path(task, event->exe) | flags | (with_lineage ? HIVE_EVENT_LINEAGE : 0);
	if (with_lineage)
		lineage(task, &((struct hive_lin_event *)event)->lin);
	bpf_ringbuf_submit(event, 0);
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(lsm__file_open, struct file *file, int ret)
{
	struct hive_watch_key key = {};
	struct deny_subject s = {};
	struct hive_deny_value v;
	struct hive_deny_stats *st;
	__u32 kinds, wanted = 0, watch_id = 0, zero = 0;
	bool refuse = false, would = false;
	int found;

	inode_key(BPF_CORE_READ(file, f_inode), &key);
	if (!with_generation)
		key.gen = 0;
	found = deny_value_read(&key, &v);
	if (!found || current_is_self())
		return ret;
	kinds = deny_open_kinds(file);
	deny_subject_read(&s);
	/* Rules rewritten under every try (a writer preempting this program
	 * again and again): the file has rules, and refusing what they might
	 * allow beats allowing what they refuse. Said with no watch id: user
	 * space finds the file by its key. */
	if (found < 0) {
		wanted = kinds;
		refuse = true;
	}
	for (int i = 0; found > 0 && i < HIVE_DENY_RULES; i++) {
		const struct hive_deny_rule *r = &v.rules[i];

		if (!(r->access & kinds))
			continue;
		if (!wanted)
			watch_id = r->watch_id;
		wanted |= r->access & kinds;
		if (!deny_admits(r, &s))
			continue;
		if (r->action == HIVE_DENY_REFUSE)
			refuse = true;
		else
			would = true;
	}
	/* Another program refused already (the kernel runs no LSM program
	 * after a refusal; ret is the previous ones' answer where it does):
	 * its answer stands. */
	if (!wanted || ret)
		return ret;
	st = bpf_map_lookup_elem(&deny_stats, &zero);
	if (st) {
		if (refuse)
			st->denied++;
		else if (would)
			st->would_deny++;
		else
			st->allowed++;
	}
	if (deny_report(&key, watch_id, kinds,
			HIVE_EVENT_PERMISSION | (refuse ? HIVE_EVENT_DENIED : 0)) < 0 && st)
		st->dropped++;
	return refuse ? -EACCES : 0;
}

#endif
