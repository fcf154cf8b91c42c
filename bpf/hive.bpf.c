// SPDX-License-Identifier: MIT
/*
 * Hive's kernel side: report accesses to watched inodes.
 *
 * Three ways in, one body: fentry and kprobe on inode_permission() see every
 * permission check; on kernels that offer neither, tracepoints on the exit of
 * the open and exec syscalls look up the file behind the returned descriptor.
 * All of them end in record_access(). What is done to a file (attributes,
 * names) comes through the hooks of changes.bpf.h, in fentry and kprobe
 * modes.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "hive.h"
#include "inode.bpf.h"
#include "maps.bpf.h"
#include "process.bpf.h"
#include "task.bpf.h"

/* include/linux/fs.h and uapi fcntl.h; macros are not in BTF. */
#define FMODE_READ  0x1
#define FMODE_WRITE 0x2
#define FMODE_CREATED 0x100000
#define O_APPEND    02000
#define O_TRUNC     01000

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by user space before load. */
/* How many ancestors a record names (hive.conf's ancestors). */
const volatile __u32 ancestors_max = HIVE_ANCESTORS_MAX;
/* Position of the struct inode * argument of inode_permission(): 0 before
 * 5.12, 1 since a user_namespace (later mnt_idmap) went in front of it. */
const volatile __u32 inode_arg = 1;
const volatile __u64 dedup_window_ns = 0;
/* Set when bpf/flush.bpf.c runs: folded counts of a window ended long ago
 * are then its to report, see dedup_admit(). */
const volatile __u32 flusher = 0;
/* This loader's generation: the hooks record only while control holds it. */
const volatile __u64 generation = 0;
/* Whether the map's keys have the inode's generation: user space learns it
 * from the resolver, and where that cannot run, from fstat(), which knows
 * none. */
const volatile __u32 with_generation = 1;

/* Room to build a path backwards from the middle, with offsets the verifier
 * can bound by masking. Per CPU, and never used by two runs at once, even on
 * a kernel that preempts a run: the kernel starts no program on a CPU where
 * one of these runs (it skips it and counts it: loader_stats.missed). */
struct path_scratch {
	char buf[2 * HIVE_EXE_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} scratch SEC(".maps");

/*
 * Under pressure, each watched file and each accessor (uid and cgroup) gets
 * a share of full records per dedup window (HIVE_SHARE_PER_WINDOW): only an
 * access whose file and whose accessor have both used theirs is aggregated.
 * So a flood of one file by one user aggregates that flood, and nothing
 * else: another file's accesses, or another user's accesses to the flooded
 * file, keep their full records.
 */
#define HIVE_SHARE_PER_WINDOW 8

struct share_key {
	__u64 a, b;
	__u32 c;
	__u32 kind; /* 0: a file (ino, dev, gen); 1: an accessor (cgroup, uid) */
};

struct share {
	__u64 window_ns;
	__u64 used;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct share_key);
	__type(value, struct share);
} shares SEC(".maps");

/* A names map key is built here: too big for the stack beside the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hive_name_key);
} name_scratch SEC(".maps");

/* Put '/' and dentry's name in front of what s->buf holds from *pos on;
 * false when it does not fit (or has no name). */
static __always_inline bool prepend_name(struct path_scratch *s, __u32 *pos, struct dentry *dentry)
{
	__u32 len = BPF_CORE_READ(dentry, d_name.len);

	if (len == 0 || len + 1 > *pos)
		return false;
	*pos -= len + 1;
	*pos &= HIVE_EXE_LEN - 1;
	s->buf[*pos] = '/';
	bpf_probe_read_kernel(&s->buf[*pos + 1], len & (HIVE_EXE_LEN - 1), BPF_CORE_READ(dentry, d_name.name));
	return true;
}

/*
 * The path of dentry on vfsmnt from the current process's root (so a
 * container process shows its path inside the container), written into out.
 * Done here because short-lived processes are gone before user space could
 * ask /proc, and a name may be gone too. Walks dentries up, crossing mount
 * points, like d_path() does. Returns HIVE_EVENT_EXE_TRUNCATED when the
 * leading components did not fit.
 */
static __always_inline __u32 path_from_root(struct task_struct *task, struct dentry *dentry,
					    struct vfsmount *vfsmnt, char out[HIVE_EXE_LEN])
{
	struct dentry *root_dentry, *parent;
	struct vfsmount *root_mnt;
	struct mount *mnt, *mnt_parent;
	struct path_scratch *s;
	__u32 zero = 0, pos = HIVE_EXE_LEN, flags = HIVE_EVENT_EXE_TRUNCATED;

	out[0] = '\0';
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!dentry || !vfsmnt || !s)
		return 0;
	mnt = container_of(vfsmnt, struct mount, mnt);
	root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	s->buf[HIVE_EXE_LEN] = '\0';

	for (int i = 0; i < HIVE_EXE_DEPTH; i++) {
		if (dentry == root_dentry && vfsmnt == root_mnt) {
			flags = 0;
			break;
		}
		parent = BPF_CORE_READ(dentry, d_parent);
		if (dentry == BPF_CORE_READ(vfsmnt, mnt_root) || dentry == parent) {
			mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			if (mnt == mnt_parent) { /* the global root: outside the process's root */
				flags = 0;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = &mnt_parent->mnt;
			continue;
		}
		if (!prepend_name(s, &pos, dentry))
			break;
		dentry = parent;
	}
	if (pos == HIVE_EXE_LEN) { /* the root itself, or nothing */
		if (!flags) {
			out[0] = '/';
			out[1] = '\0';
		}
		return flags;
	}
	bpf_probe_read_kernel(out, HIVE_EXE_LEN, &s->buf[pos & (HIVE_EXE_LEN - 1)]);
	out[HIVE_EXE_LEN - 1] = '\0';
	return flags;
}

/* The current executable's path, see path_from_root(). */
static __always_inline __u32 exe_path(struct task_struct *task, char out[HIVE_EXE_LEN])
{
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);

	out[0] = '\0';
	if (!exe)
		return 0;
	return path_from_root(task, BPF_CORE_READ(exe, f_path.dentry), BPF_CORE_READ(exe, f_path.mnt), out);
}

/*
 * Decide whether this access becomes an event. Returns how many earlier
 * suppressed accesses the event carries, or -1 when it is suppressed.
 *
 * Within the window after an event, accesses are only counted (pending).
 * The next access after the window carries them. With the flusher running,
 * an entry whose window ended a window ago is the flusher's to report (it
 * takes it from two windows and a guard of 10 ms on, flush.bpf.c): the
 * access then starts a new window and leaves
 * pending alone, so that the two never claim the same count at once (the
 * claim is a read and a subtraction, not one atomic step, which 5.10 lacks).
 */
static __always_inline long dedup_admit(struct hive_dedup_key *key, __u64 now,
					const struct hive_dedup_state *found_by, struct hive_process **who)
{
	struct hive_dedup_state *state;
	__u64 pending, since;

	*who = NULL;
	if (!dedup_window_ns)
		return 0;

	state = bpf_map_lookup_elem(&dedup, key);
	if (!state) {
		/* found_by is the new entry (its last_emit_ns now, nothing
		 * pending); never over an entry another CPU made meanwhile: that
		 * one may already hold a count. */
		if (bpf_map_update_elem(&dedup, key, found_by, BPF_NOEXIST) == 0) {
			state = bpf_map_lookup_elem(&dedup, key);
			if (state)
				*who = &state->who;
			return 0;
		}
		state = bpf_map_lookup_elem(&dedup, key);
		if (!state) /* the table is full: an event of its own */
			return 0;
	}
	since = now - state->last_emit_ns;
	if (since < dedup_window_ns) {
		__sync_fetch_and_add(&state->pending, 1);
		return -1;
	}
	state->last_emit_ns = now;
	state->watch_id = found_by->watch_id;
	state->flags = found_by->flags;
	state->dir = found_by->dir;
	*who = &state->who;
	if (flusher && since >= 2 * dedup_window_ns)
		return 0;
	/* Subtract what we read instead of exchanging: other CPUs may add to
	 * pending meanwhile, and fetch-and-op atomics need newer kernels. A
	 * count below zero is the flusher's and ours both claiming the same
	 * accesses (this program held up past its guard): claim nothing, the
	 * flusher clears it. */
	pending = state->pending;
	if ((__s64)pending <= 0)
		return 0;
	__sync_fetch_and_add(&state->pending, -pending);
	return pending;
}

static __always_inline void dedup_giveback(struct hive_dedup_key *key, __u64 count)
{
	struct hive_dedup_state *state;

	if (!count)
		return;
	state = bpf_map_lookup_elem(&dedup, key);
	if (state)
		__sync_fetch_and_add(&state->pending, count);
}

/*
 * Whether user space is falling behind: the ring buffer more than half full.
 * Past that point an access that would be a record of its own is folded
 * into one count per file and access kind instead (aggregate()), so that the
 * ring keeps room and no access is lost, only who made it.
 */
static __always_inline bool ring_busy(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) * 2 > bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);
}

/*
 * Fold count accesses into their group's aggregate entry: the dedup key with
 * no process (tgid 0), kept apart by uid, fsuid, cgroup and executable. Its
 * last_emit_ns stays when it was made, so the flusher reports it
 * (HIVE_EVENT_AGGREGATED) two windows later and every window after while
 * accesses keep coming. A group's first access under pressure is still a
 * record of its own, and marks the group (an entry with nothing pending):
 * a flood of one file, or of one uid, cgroup and program, is aggregated,
 * while anyone else's next access keeps its full record. False when the
 * access is to be a record: the group's first, or no room in the table.
 */
static __always_inline bool aggregate(const struct hive_dedup_key *dkey, __u64 count, __u64 now,
				      const struct hive_dedup_state *found_by)
{
	struct hive_dedup_key akey = {
		.ino = dkey->ino,
		.dev = dkey->dev,
		.gen = dkey->gen,
		.mask = dkey->mask,
		.uid = dkey->uid,
		.fsuid = dkey->fsuid,
		.cgroup_id = found_by->who.cgroup_id,
		.exe = found_by->who.exe,
	};
	struct hive_dedup_state *state;

	state = bpf_map_lookup_elem(&dedup, &akey);
	if (!state) {
		/* found_by: last_emit_ns now, nothing pending. */
		bpf_map_update_elem(&dedup, &akey, found_by, BPF_NOEXIST);
		return false;
	}
	__sync_fetch_and_add(&state->pending, count);
	return true;
}

/* Whether key has used its share of full records in this window (the
 * count is shared by all CPUs; a window restarting twice at once only gives
 * a few more records). */
static __always_inline bool share_used(const struct share_key *key, __u64 now)
{
	struct share fresh = { .window_ns = now, .used = 1 }, *sh = bpf_map_lookup_elem(&shares, key);

	if (!sh) {
		bpf_map_update_elem(&shares, key, &fresh, BPF_ANY);
		return false;
	}
	if (now - sh->window_ns > dedup_window_ns) {
		sh->window_ns = now;
		sh->used = 1;
		return false;
	}
	/* The add without its result: fetching atomics need 5.12. */
	__sync_fetch_and_add(&sh->used, 1);
	return sh->used > HIVE_SHARE_PER_WINDOW;
}

/* Under pressure: whether both the file and the accessor of this access have
 * used their shares (both are counted). */
static __always_inline bool flooding(const struct hive_dedup_key *dkey, __u64 cgroup_id, __u64 now)
{
	struct share_key file = { .a = dkey->ino, .b = dkey->dev, .c = dkey->gen, .kind = 0 };
	struct share_key who = { .a = cgroup_id, .b = dkey->uid, .kind = 1 };
	bool file_used = share_used(&file, now), who_used = share_used(&who, now);

	return file_used && who_used;
}

/* The current process as dedup keys name it: see struct hive_dedup_key. */
static __always_inline void process_key(struct task_struct *task, __u64 pid_tgid, struct hive_dedup_key *dkey)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);

	dkey->tgid = pid_tgid >> 32;
	dkey->start_ns = BPF_CORE_READ(task, start_time);
	dkey->exec_id = (__u32)BPF_CORE_READ(task, self_exec_id);
	dkey->uid = BPF_CORE_READ(cred, uid.val);
	dkey->fsuid = BPF_CORE_READ(cred, fsuid.val);
}

/* The login behind task (kept by the kernel for audit: without
 * CONFIG_AUDITSYSCALL there is none) and its controlling terminal. */
static __always_inline void process_login(struct task_struct *task, struct hive_process *who)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);

	who->auid = HIVE_ID_UNSET;
	who->sessionid = HIVE_ID_UNSET;
	if (bpf_core_field_exists(task->loginuid)) {
		who->auid = BPF_CORE_READ(task, loginuid.val);
		who->sessionid = BPF_CORE_READ(task, sessionid);
	}
	if (tty)
		BPF_CORE_READ_STR_INTO(&who->tty, tty, name);
}

/* Whether task is the init of its own pid namespace (the host's, or a
 * container's): pid 1 at the deepest level of its struct pid. */
static __always_inline bool is_ns_init(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct upid up = {};

	if (bpf_probe_read_kernel(&up, sizeof(up), &pid->numbers[level & (HIVE_PIDNS_DEPTH - 1)]))
		return false;
	return level < HIVE_PIDNS_DEPTH && up.nr == 1;
}

/* Who task descends from, nearest first, up to its namespace's init: read
 * only for an access that becomes an event (the event's own memory), so
 * that a parent gone a moment later is named all the same. */
static __always_inline void lineage(struct task_struct *task, struct hive_lineage *lin)
{
	struct task_struct *t = task;
	bool init = is_ns_init(task);
	__u32 n = 0;

	/* Each level's init test is the next one's stop: read once. */
	for (__u32 i = 0; i < HIVE_ANCESTORS_MAX && i < ancestors_max && !init; i++) {
		struct hive_ancestor *a = &lin->ancestors[i];
		struct task_struct *parent;
		struct file *exe;

		parent = BPF_CORE_READ(t, real_parent, group_leader);
		if (!parent || parent == t || !(a->tgid = BPF_CORE_READ(parent, tgid)))
			break;
		BPF_CORE_READ_INTO(&a->comm, parent, comm);
		__builtin_memset(&a->exe, 0, sizeof(a->exe));
		exe = BPF_CORE_READ(parent, mm, exe_file);
		if (exe)
			inode_key(BPF_CORE_READ(exe, f_inode), &a->exe);
		init = is_ns_init(parent);
		a->flags = init ? HIVE_ANCESTOR_NS_INIT : 0;
		n++;
		t = parent;
	}
	lin->n = n;
}

/* The rest of who the current process is: read only for an access that
 * becomes an event, or starts a fold. */
static __always_inline void process_who(struct task_struct *task, __u64 pid_tgid, struct hive_process *who)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);

	who->cgroup_id = bpf_get_current_cgroup_id();
	if (exe)
		inode_key(BPF_CORE_READ(exe, f_inode), &who->exe);
	who->tid = (__u32)pid_tgid;
	who->ppid = BPF_CORE_READ(task, real_parent, tgid);
	who->gid = BPF_CORE_READ(cred, gid.val);
	who->euid = BPF_CORE_READ(cred, euid.val);
	bpf_get_current_comm(who->comm, sizeof(who->comm));
	process_login(task, who);
}

/* The watch entry of the inode, or NULL: the first thing every hook asks. */
static __always_inline struct hive_watch_value *watched(struct inode *inode, struct hive_watch_key *key)
{
	if (!inode)
		return NULL;
	inode_key(inode, key);
	if (!with_generation)
		key->gen = 0;
	return bpf_map_lookup_elem(&watches, key);
}

/* Whether bit pos of the name filter is set: maybe watched, or surely not. */
static __always_inline bool name_filter_has(__u32 pos)
{
	__u32 word = pos / 64;
	__u64 *bits = bpf_map_lookup_elem(&name_filter, &word);

	return bits && (*bits & (1ULL << (pos % 64)));
}

/* What the name filter knows a name by: its length, first and last byte. */
struct name_sig {
	__u32 len;
	unsigned char first, last;
	bool read;
};

static __always_inline void name_sig_read(struct dentry *dentry, struct name_sig *sig)
{
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);

	if (sig->read)
		return;
	sig->read = true;
	sig->len = BPF_CORE_READ(dentry, d_name.len);
	bpf_probe_read_kernel(&sig->first, 1, name);
	if (sig->len)
		bpf_probe_read_kernel(&sig->last, 1, name + ((sig->len - 1) & (HIVE_NAME_LEN - 1)));
}

/* Whether dir may have dentry's name watched (with prefix: a volume's). */
static __always_inline bool name_filter_passes(struct inode *dir, struct dentry *dentry, struct name_sig *sig)
{
	__u64 ino;

	if (!dir)
		return false;
	ino = KREAD(dir, i_ino);
	if (!name_filter_has(HIVE_NAME_FILTER_DIR(ino)))
		return false;
	name_sig_read(dentry, sig);
	return name_filter_has(HIVE_NAME_FILTER_NAME(ino, sig->len, sig->first, sig->last));
}

/* dir's watched name that dentry has (after prefix, if any), if any. */
static __always_inline struct hive_watch_value *lookup_name(struct inode *dir, struct dentry *dentry,
							      const char *prefix, struct hive_watch_key *dkey)
{
	struct hive_watch_value *watch = watched(dir, dkey);
	struct hive_name_key *key;
	__u32 zero = 0, skip = prefix ? sizeof(HIVE_NAME_ANY_DATA_DIR) - 1 : 0;

	if (!watch || !watch->name_access)
		return NULL;
	key = bpf_map_lookup_elem(&name_scratch, &zero);
	if (!key)
		return NULL;
	__builtin_memset(key, 0, sizeof(*key));
	key->dir = *dkey; /* as watched() made it: without the generation where there is none */
	if (prefix)
		__builtin_memcpy(key->name, HIVE_NAME_ANY_DATA_DIR, sizeof(HIVE_NAME_ANY_DATA_DIR) - 1);
	bpf_probe_read_kernel_str(key->name + skip, sizeof(key->name) - skip, BPF_CORE_READ(dentry, d_name.name));
	return bpf_map_lookup_elem(&names, key);
}

/*
 * A file not found by its inode, reached through dentry: is it at a watched
 * name? Then it is the watched file, though the inode map still names the
 * one that was there before a rename, link or create put it there: the
 * kernel's own resolution decides, not user space following later. For an
 * open of any other file this costs a bit of the name filter, beside a
 * watched name three bytes of the name and a second bit.
 */
static __always_inline struct hive_watch_value *watched_name(struct dentry *dentry, struct hive_watch_key *dkey)
{
	struct hive_watch_value *found = NULL;
	struct dentry *parent, *volume;
	struct inode *parent_inode, *volume_inode;
	struct name_sig sig = {};
	char prefix[3] = {};
	__u64 *volumes;

	if (!dentry)
		return NULL;
	parent = KREAD(dentry, d_parent);
	if (!parent || parent == dentry)
		return NULL;
	parent_inode = KREAD(parent, d_inode);
	if (name_filter_passes(parent_inode, dentry, &sig))
		found = lookup_name(parent_inode, dentry, NULL, dkey);
	if (found)
		return found;
	/* In a "..<timestamp>" directory of a kubelet volume: the name on the
	 * volume's directory (HIVE_NAME_ANY_DATA_DIR). */
	volumes = bpf_map_lookup_elem(&control, &(__u32){ HIVE_CONTROL_DATA_DIR_NAMES });
	if (!volumes || !*volumes)
		return NULL;
	bpf_probe_read_kernel(prefix, sizeof(prefix), BPF_CORE_READ(parent, d_name.name));
	if (prefix[0] != '.' || prefix[1] != '.' || !prefix[2])
		return NULL;
	volume = BPF_CORE_READ(parent, d_parent);
	if (!volume || volume == parent)
		return NULL;
	volume_inode = BPF_CORE_READ(volume, d_inode);
	if (!name_filter_passes(volume_inode, dentry, &sig))
		return NULL;
	return lookup_name(volume_inode, dentry, HIVE_NAME_ANY_DATA_DIR, dkey);
}

/* What record_access() builds: on the stack, with its callers', it would
 * pass the 512 bytes the kernel allows. Per CPU, and never used by two runs
 * at once (see path_scratch). */
struct record_scratch {
	struct hive_dedup_key dkey;
	struct hive_dedup_state found_by;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct record_scratch);
} record_scratch SEC(".maps");

/* How a watch was found, when not by the file itself: by a name
 * (HIVE_EVENT_BY_NAME) or a tree (HIVE_EVENT_IN_TREE), and that name's
 * directory or the tree's root. */
struct found {
	struct hive_watch_key dir;
	__u32 flags;
};

/* An access of mask to the watched file key: count it, fold it, or make it
 * an event. by: how watch was found, NULL: by the file. ext: what follows the event
 * (a change's values, the path in the tree), or NULL. A change
 * (HIVE_ACCESS_CHANGES) is never folded or aggregated, since its values (the
 * new mode, the other name) are what a reader needs: it is a record, or
 * dropped and counted. A function of its own: inlined into every caller,
 * its locals would pass the stack's 512 bytes. */
static __noinline int record_access(const struct hive_watch_key *key, const struct hive_watch_value *watch,
					 __u32 mask, const struct found *by, const struct hive_ext *ext)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct record_scratch *rs;
	struct hive_process *kept_who;
	struct hive_stats *counters;
	struct hive_event *event;
	bool with_lineage;
	__u64 pid_tgid, now;
	__u32 zero = 0;
	__u64 *active;
	long carried;

	/* (A tree's root: which of its trees found the file, tree_levels()
	 * knew; user space tells their entries apart by the depth.) */
	if (!(mask & (by && by->flags & HIVE_EVENT_IN_TREE ? watch->tree_access | watch->entries_access
							 : watch->access)))
		return 0;
	active = bpf_map_lookup_elem(&control, &(__u32){ HIVE_CONTROL_ACTIVE });
	if (!active || *active != generation)
		return 0; /* another loader's hooks record now */
	if (watch->access & HIVE_WATCH_PRESENCE) {
		bpf_send_signal(HIVE_PRESENCE_SIGNAL);
		return 0;
	}

	pid_tgid = bpf_get_current_pid_tgid();
#ifndef HIVE_MUTANT_NO_SELF_FILTER
	if (current_is_self())
		return 0;
#endif

	counters = bpf_map_lookup_elem(&stats, &zero);
	rs = bpf_map_lookup_elem(&record_scratch, &zero);
	if (!counters || !rs)
		return 0;
	counters->matched++;
	__builtin_memset(rs, 0, sizeof(*rs));

	now = bpf_ktime_get_boot_ns();
	rs->dkey.ino = key->ino;
	rs->dkey.dev = key->dev;
	rs->dkey.gen = key->gen;
	rs->dkey.mask = mask;
	process_key(task, pid_tgid, &rs->dkey);
	rs->found_by.watch_id = watch->watch_id;
	rs->found_by.last_emit_ns = now; /* as a new dedup entry would have it */
	if (by) {
		rs->found_by.flags = by->flags;
		rs->found_by.dir = by->dir;
	}
	if (mask & HIVE_ACCESS_CHANGES)
		carried = 0, kept_who = NULL;
	else
		carried = dedup_admit(&rs->dkey, now, &rs->found_by, &kept_who);
	if (carried < 0) {
		counters->suppressed++;
		return 0;
	}
	process_who(task, pid_tgid, &rs->found_by.who);
	if (kept_who)
		*kept_who = rs->found_by.who; /* what the flusher will name */
	/* Only with the flusher, which reports the aggregate; with
	 * dedup_window_ms = 0 every access is to be a record of its own. */
	if (!(mask & HIVE_ACCESS_CHANGES) && flusher && dedup_window_ns && ring_busy() &&
	    flooding(&rs->dkey, rs->found_by.who.cgroup_id, now) && aggregate(&rs->dkey, 1 + carried, now, &rs->found_by)) {
		counters->suppressed++;
		return 0;
	}

	/* A lineage only while the ring has room: under pressure records
	 * stay as small as they can, and accesses are folded, not dropped. */
	with_lineage = ancestors_max && !ring_busy();
	if (ext && with_lineage)
		event = bpf_ringbuf_reserve(&events, sizeof(struct hive_ext_lin_event), 0);
	else if (ext)
		event = bpf_ringbuf_reserve(&events, sizeof(struct hive_ext_event), 0);
	else if (with_lineage)
		event = bpf_ringbuf_reserve(&events, sizeof(struct hive_lin_event), 0);
	else
		event = bpf_ringbuf_reserve(&events, sizeof(struct hive_event), 0);
	if (!event) {
		counters->dropped++;
		dedup_giveback(&rs->dkey, carried);
		return 0;
	}

	event->boot_ns = now;
	event->ino = key->ino;
	event->dev = key->dev;
	event->gen = key->gen;
	event->suppressed = carried;
	event->watch_id = rs->found_by.watch_id;
	event->mask = mask;
	fill_process(event, &rs->dkey, &rs->found_by.who);
	event->flags = exe_path(task, event->exe);
	event->flags |= rs->found_by.flags | (ext ? HIVE_EVENT_EXT : 0) | (with_lineage ? HIVE_EVENT_LINEAGE : 0);
	event->dir = rs->found_by.dir;
	if (ext)
		__builtin_memcpy(&((struct hive_ext_event *)event)->ext, ext, sizeof(*ext));
	if (ext && with_lineage)
		lineage(task, &((struct hive_ext_lin_event *)event)->lin);
	else if (with_lineage)
		lineage(task, &((struct hive_lin_event *)event)->lin);
	bpf_ringbuf_submit(event, 0);
	counters->emitted++;
	return 0;
}

/* Where tree_levels() leaves the key of the root it found: a map, not the
 * stack, so that the walk's steps leave the same state whether they looked
 * a parent up or not (the verifier then checks each step once). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hive_watch_key);
} tree_root SEC(".maps");

/*
 * A dentry's d_parent and d_inode in one read: in every kernel Hive runs on
 * they are 24 bytes apart (d_name between them); read one by one elsewhere.
 */
static __always_inline void dentry_up(struct dentry *d, struct dentry **parent, struct inode **inode)
{
	__u64 span[4] = {};
	__u32 at_parent = bpf_core_field_offset(struct dentry, d_parent),
	      at_inode = bpf_core_field_offset(struct dentry, d_inode);

	if (at_inode != at_parent + 3 * sizeof(__u64) ||
	    bpf_probe_read_kernel(span, sizeof(span), (void *)d + at_parent) < 0) {
		*parent = BPF_CORE_READ(d, d_parent);
		*inode = BPF_CORE_READ(d, d_inode);
		return;
	}
	*parent = (struct dentry *)span[0];
	*inode = (struct inode *)span[3];
}

/* One level of the walk: whether dir (not NULL, inode number ino), i levels
 * above the file, is the root of a tree that wants one of kinds there, its
 * key then in root. */
static __always_inline bool tree_root_at(struct inode *dir, __u32 i, __u32 kinds, struct hive_watch_key *root,
					 __u64 ino)
{
	struct hive_watch_value *v;

	if (!name_filter_has(HIVE_NAME_FILTER_TREE(ino)))
		return false;
	v = watched(dir, root);
	/* Its own entries' trees only from just above. */
	return v && ((v->tree_access | (i == 0 ? v->entries_access : 0)) & kinds);
}

/* The walk by plain loads (read.bpf.h): what every open outside the trees
 * pays, two calls a level otherwise. */
static __always_inline __u32 tree_levels_direct(struct dentry *d, __u32 kinds, struct hive_watch_key *root)
{
	struct dentry *parent;
	struct inode *inode;

	d = KERNEL_CAST(d);
	parent = d->d_parent;
	for (__u32 i = 0; i < HIVE_TREE_DEPTH; i++) {
		if (!parent || parent == d)
			return 0;
		inode = parent->d_inode;
		if (inode && tree_root_at(inode, i, kinds, root, inode->i_ino))
			return i + 1;
		d = parent;
		parent = d->d_parent;
	}
	return 0;
}

/*
 * Directory trees (hive.h, HIVE_TREE_DEPTH): how many levels above dentry,
 * on its own file system, the nearest tree root is whose tree wants one of
 * kinds at that depth (one of its own entries' trees: just above), with
 * that root's key in tree_root; 0 where dentry is in no such tree. A global
 * function: the verifier checks it once, on its own, however
 * many callers and names use it.
 */
__noinline __u32 tree_levels(__u64 dentry, __u32 kinds)
{
	struct dentry *d = (struct dentry *)dentry, *parent, *next;
	struct hive_watch_key *root;
	struct inode *inode;
	__u32 zero = 0;

	root = bpf_map_lookup_elem(&tree_root, &zero);
	if (!d || !root)
		return 0;
	if (direct_reads)
		return tree_levels_direct(d, kinds, root);
	parent = BPF_CORE_READ(d, d_parent);
	for (__u32 i = 0; i < HIVE_TREE_DEPTH; i++) {
		if (!parent || parent == d)
			return 0;
		/* Two reads a level: the parent's own parent with its inode,
		 * and the inode's number. */
		dentry_up(parent, &next, &inode);
		if (inode && tree_root_at(inode, i, kinds, root, BPF_CORE_READ(inode, i_ino)))
			return i + 1;
		d = parent;
		parent = next;
	}
	return 0;
}

/* The first names of an inode that has more than one link (a hard link
 * outside the tree reaches a file in it): looked at beside the one used. */
#define TREE_ALIASES 4

/*
 * The tree the file at dentry is in (or, with inode, any of its names the
 * kernel has: a hard link made outside the tree reaches the file there);
 * its root's watch entry, the root's key in root, and the name it is in the
 * tree by in *in_tree with the levels to its root in *levels.
 */
static __always_inline struct hive_watch_value *watched_tree(struct dentry *dentry, struct inode *inode, __u32 kinds,
							     struct hive_watch_key *root, struct dentry **in_tree,
							     __u32 *levels)
{
	__u64 *trees = bpf_map_lookup_elem(&control, &(__u32){ HIVE_CONTROL_TREES });
	struct hive_watch_key *found;
	struct hlist_node *alias;
	__u32 zero = 0;

	if (!trees || !*trees)
		return NULL;
	*in_tree = dentry;
	*levels = tree_levels((__u64)dentry, kinds);
	if (!*levels && inode && BPF_CORE_READ(inode, i_nlink) > 1) {
		alias = BPF_CORE_READ(inode, i_dentry.first);
		for (int i = 0; i < TREE_ALIASES && alias && !*levels; i++) {
			*in_tree = (void *)alias - bpf_core_field_offset(struct dentry, d_u.d_alias);
			if (*in_tree != dentry)
				*levels = tree_levels((__u64)*in_tree, kinds);
			alias = BPF_CORE_READ(alias, next);
		}
	}
	found = bpf_map_lookup_elem(&tree_root, &zero);
	if (!*levels || !found)
		return NULL;
	*root = *found;
	return bpf_map_lookup_elem(&watches, root);
}

/* The path of dentry below its tree's root, levels up: "sub/f". Returns
 * HIVE_CHANGED_BELOW_TRUNCATED when the leading components did not fit. */
static __always_inline __u32 path_below(struct dentry *dentry, __u32 levels, char out[HIVE_PATH_LEN])
{
	struct path_scratch *s;
	__u32 zero = 0, pos = HIVE_PATH_LEN;

	out[0] = '\0';
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	s->buf[HIVE_PATH_LEN] = '\0';
	for (__u32 i = 0; i < HIVE_TREE_DEPTH && i < levels; i++) {
		if (!prepend_name(s, &pos, dentry))
			break;
		dentry = BPF_CORE_READ(dentry, d_parent);
		if (i + 1 == levels) {
			/* Without the leading '/'. */
			bpf_probe_read_kernel(out, HIVE_PATH_LEN, &s->buf[(pos + 1) & (HIVE_PATH_LEN - 1)]);
			out[HIVE_PATH_LEN - 1] = '\0';
			return 0;
		}
	}
	bpf_probe_read_kernel(out, HIVE_PATH_LEN, &s->buf[(pos + 1) & (HIVE_PATH_LEN - 1)]);
	out[HIVE_PATH_LEN - 1] = '\0';
	return HIVE_CHANGED_BELOW_TRUNCATED;
}

/* An extension's scratch, zeroed: too big for the stack beside the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hive_ext);
} ext_scratch SEC(".maps");

static __always_inline struct hive_ext *ext_begin(void)
{
	__u32 zero = 0;
	struct hive_ext *x = bpf_map_lookup_elem(&ext_scratch, &zero);

	if (x)
		__builtin_memset(x, 0, sizeof(*x));
	return x;
}

/*
 * The syscall-exit fallback: a successful open is reported with the access
 * mode it was granted, so the mask means what inode_permission()'s would have
 * meant. Read only for a watched file: every open of the host pays for what
 * happens before the lookup.
 */
static __always_inline __u32 open_mask(struct file *file)
{
	unsigned int f_mode = BPF_CORE_READ(file, f_mode), f_flags = BPF_CORE_READ(file, f_flags);
	__u32 mask = HIVE_MAY_OPEN;

	if (f_mode & FMODE_READ)
		mask |= HIVE_MAY_READ;
	if (f_mode & FMODE_WRITE)
		mask |= HIVE_MAY_WRITE;
	if (f_flags & O_APPEND)
		mask |= HIVE_MAY_APPEND;
	return mask;
}

/*
 * The overlay whose watched file a thread's permission check just hit, by
 * its mounter's credentials: overlayfs checks the layer's inode next, nested
 * in that check and with those credentials (see HIVE_WATCH_LAYER). Never a
 * thread's own credentials (the mount made a copy of its mounter's), so a
 * stale entry matches no later access of the thread.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} overlay_checks SEC(".maps");

static __always_inline void overlay_check_begins(struct inode *inode)
{
	const struct cred *creator = overlay_creator(KREAD(inode, i_sb));
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 value = (__u64)creator;

	if (creator)
		bpf_map_update_elem(&overlay_checks, &tid, &value, BPF_ANY);
}

/* Whether this check of a layer's inode is overlayfs' own, nested in an
 * overlay file's: of the overlay this thread's last hit was on, or of the
 * one that is the process's root (its container's image file, which the
 * watched container's shares). */
static __always_inline bool overlay_check_nested(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	const struct cred *cred = BPF_CORE_READ(task, cred);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *stashed;

	if (cred == BPF_CORE_READ(task, real_cred))
		return false; /* the thread's own credentials: not overlayfs' check */
	stashed = bpf_map_lookup_elem(&overlay_checks, &tid);
	if (stashed && *stashed == (__u64)cred)
		return true;
	return cred == overlay_creator(BPF_CORE_READ(task, fs, root.dentry, d_sb));
}

/* At a hit of a permission check: false for overlayfs' own check of a
 * layer nested in an overlay file's; at an overlay file's, the overlay is
 * remembered for the nested check to come. (At an exec's syscall exit,
 * which calls it too, no credentials are overridden: it counts.) */
static __always_inline bool overlay_check_counts(const struct hive_watch_value *watch, struct inode *inode)
{
	if (watch->access & HIVE_WATCH_LAYER)
		return !overlay_check_nested();
	overlay_check_begins(inode);
	return true;
}

/* A file of a tree, found at dentry (see watched_tree()): its access of
 * mask, or with file (the syscall-exit fallback), of what the open was
 * granted, read only once the file is found in a tree. */
static __always_inline int record_in_tree(struct inode *inode, struct dentry *dentry, __u32 mask, struct file *file)
{
	struct found by = { .flags = HIVE_EVENT_IN_TREE };
	struct hive_watch_key key = {};
	struct hive_watch_value *watch;
	struct dentry *in_tree;
	struct hive_ext *x;
	__u32 levels;

	watch = watched_tree(dentry, inode, file ? HIVE_MAY_READ | HIVE_MAY_WRITE | HIVE_MAY_APPEND : mask, &by.dir,
			     &in_tree, &levels);
	/* A permission check (no file): a tree in a layer, or on overlayfs. */
	if (!watch || (!file && !overlay_check_counts(watch, inode)) || !(x = ext_begin()))
		return 0;
	if (file)
		mask = open_mask(file);
	if (inode)
		watched(inode, &key);
	x->changed = path_below(in_tree, levels, x->below);
	return record_access(&key, watch, mask, &by, x);
}

/* The dentry an inode is reached by: its first alias (a file a rename put at
 * a watched name has that one). */
static __always_inline struct dentry *first_alias(struct inode *inode)
{
	struct hlist_node *first = BPF_CORE_READ(inode, i_dentry.first);

	return first ? (void *)first - bpf_core_field_offset(struct dentry, d_u.d_alias) : NULL;
}

static __always_inline int handle_access(struct inode *inode, __u32 mask)
{
	struct found by = { .flags = HIVE_EVENT_BY_NAME };
	struct hive_watch_key key;
	struct hive_watch_value *watch = watched(inode, &key);
	struct dentry *dentry;

	if (watch)
		return overlay_check_counts(watch, inode) ? record_access(&key, watch, mask, NULL, NULL) : 0;
	/* By name only at an open: inode_permission() is asked for every
	 * directory of every path walked, and a name is what an open is of. */
	if (!inode || !(mask & HIVE_MAY_OPEN))
		return 0;
	dentry = first_alias(inode);
	watch = watched_name(dentry, &by.dir);
	if (watch)
		return record_access(&key, watch, mask, &by, NULL);
	return record_in_tree(inode, dentry, mask, NULL);
}

SEC("fentry/inode_permission")
int fentry__inode_permission(__u64 *ctx)
{
	if (inode_arg == 0)
		return handle_access((struct inode *)ctx[0], (__u32)ctx[1]);
	return handle_access((struct inode *)ctx[1], (__u32)ctx[2]);
}

SEC("kprobe/inode_permission")
int kprobe__inode_permission(struct pt_regs *ctx)
{
	if (inode_arg == 0)
		return handle_access((struct inode *)PT_REGS_PARM1_CORE(ctx), PT_REGS_PARM2_CORE(ctx));
	return handle_access((struct inode *)PT_REGS_PARM2_CORE(ctx), PT_REGS_PARM3_CORE(ctx));
}

#include "changes.bpf.h"

/*
 * Who a thread is, by its id as the agent's pid namespace numbers it, into
 * map (exits, execs or changed, maps.bpf.h): only the process fields of the event.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hive_event);
} who_scratch SEC(".maps");

static __always_inline int remember_who(void *map)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hive_dedup_key dkey = {};
	struct hive_process who = {};
	struct hive_event *ev;
	__u32 tid = current_tid_seen_by_self(), zero = 0;

	ev = bpf_map_lookup_elem(&who_scratch, &zero);
	if (!tid || !ev)
		return 0;
	process_key(task, pid_tgid, &dkey);
	process_who(task, pid_tgid, &who);
	ev->boot_ns = bpf_ktime_get_boot_ns();
	fill_process(ev, &dkey, &who);
	ev->flags = exe_path(task, ev->exe);
	bpf_map_update_elem(map, &tid, ev, BPF_ANY);
	return 0;
}

/* Who it is, at its first change since its exec: all that names a thread
 * killed before its change is read (it makes no exit call). A function of
 * its own: every caller shares its instructions. */
static __noinline int remember_changer(void)
{
	return remember_who(&changed);
}

/*
 * Tracepoint mode names who made a change in user space, when it reads
 * fanotify's report, by the thread's id: the thread may have exec'd another
 * program by then. A thread that changed a file is marked (changers, with
 * the task's start_time) until its next exec, which keeps who it was before
 * (execs): user space names both where the exec may have come after the
 * change. Only a thread that changed something before its exec is kept,
 * not every fork-and-exec (whose changes come after it).
 */
static __always_inline bool changer_marked(__u32 tid, __u64 start)
{
	__u64 *marked = bpf_map_lookup_elem(&changers, &tid);

	return marked && *marked == start;
}

static __always_inline void mark_changer(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 start = BPF_CORE_READ(task, start_time);
	__u32 tid = current_tid_seen_by_self();

	/* A thread that changes many files is marked once: a lookup costs
	 * less than an update of the LRU map. */
	if (!tid || changer_marked(tid, start))
		return;
	bpf_map_update_elem(&changers, &tid, &start, BPF_ANY);
	remember_changer();
}

static __always_inline void forget_changer(void)
{
	__u32 tid = current_tid_seen_by_self();

	if (tid)
		bpf_map_delete_elem(&changers, &tid);
}

/* Attached (loader.c, change_calls) to the exit of every system call that
 * makes a change fanotify reports but no other hook of this mode sees. */
SEC("tracepoint/syscalls/sys_exit_chmod")
int tracepoint__syscalls__sys_exit_change(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret >= 0)
		mark_changer();
	return 0;
}

/* Fallback: the file behind a successful open, watched itself, by its name,
 * or in a tree (see open_mask()). */
static __always_inline int record_open(struct file *file)
{
	struct found by = { .flags = HIVE_EVENT_BY_NAME };
	struct hive_watch_value *watch;
	struct hive_watch_key key;
	struct dentry *dentry;
	struct inode *inode;

	inode = KREAD(file, f_inode);
	watch = watched(inode, &key);
	if (watch)
		return record_access(&key, watch, open_mask(file), NULL, NULL);
	dentry = BPF_CORE_READ(file, f_path.dentry);
	watch = watched_name(dentry, &by.dir);
	if (watch)
		return record_access(&key, watch, open_mask(file), &by, NULL);
	return record_in_tree(inode, dentry, 0, file);
}

/* flags: the open's own (O_TRUNC is gone from the file's f_flags by now). */
static __always_inline int handle_open_exit(long ret, __u64 flags)
{
	struct file *file = current_fd_file(ret);

	if (!file)
		return 0;
	record_open(file);
	if (KREAD(file, f_mode) & FMODE_CREATED) {
		mark_changer();
		return 0;
	}
	/* The kernel truncates an existing regular file only, never the one
	 * the open made. */
	if ((flags & O_TRUNC) && (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT_) == S_IFREG_) {
		mark_changer();
		on_truncated(BPF_CORE_READ(file, f_path.dentry), 0);
	}
	return 0;
}

static __always_inline int handle_exec_exit(long ret)
{
	struct found by = { .flags = HIVE_EVENT_BY_NAME };
	struct hive_watch_value *watch;
	struct hive_watch_key key;
	struct file *exe;

	if (ret != 0)
		return 0;
	forget_changer();
	exe = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), mm, exe_file);
	watch = watched(BPF_CORE_READ(exe, f_inode), &key);
	if (watch)
		return record_access(&key, watch, HIVE_MAY_EXEC | HIVE_MAY_OPEN, NULL, NULL);
	watch = watched_name(BPF_CORE_READ(exe, f_path.dentry), &by.dir);
	if (watch)
		return record_access(&key, watch, HIVE_MAY_EXEC | HIVE_MAY_OPEN, &by, NULL);
	return record_in_tree(BPF_CORE_READ(exe, f_inode), BPF_CORE_READ(exe, f_path.dentry),
			      HIVE_MAY_EXEC | HIVE_MAY_OPEN, NULL);
}

/* The open calls' numbers on this architecture (user space's SYS_*; -1:
 * no such call): one program serves the four, for each program is verified
 * at every start (a third of a second each, here). */
const volatile int nr_open = -1;
const volatile int nr_creat = -1;
const volatile int nr_openat2 = -1;

/* A syscalls/sys_exit_* tracepoint's record, as its tracefs format file
 * says (the kernel's own struct is not in every kernel's BTF). */
struct syscall_exit_record {
	__u64 common;
	int nr;
	long ret;
};

/* open(2), openat(2), openat2(2) and creat(2): the loader attaches it to
 * each. */
SEC("tracepoint/syscalls/sys_exit_openat")
int tracepoint__syscalls__sys_exit_opens(struct syscall_exit_record *ctx)
{
	long ret = ctx->ret; /* read once: a context pointer moved is refused */
	int nr = ctx->nr;
	__u64 flags = 0;

	if (ret < 0)
		return 0;
	if (nr == nr_creat) {
		flags = O_TRUNC;
	} else if (nr == nr_open) {
		flags = syscall_arg(1);
	} else if (nr == nr_openat2) {
		struct open_how *how = (struct open_how *)syscall_arg(2);

		if (how)
			bpf_probe_read_user(&flags, sizeof(flags), &how->flags);
	} else {
		flags = syscall_arg(2);
	}
	return handle_open_exit(ret, flags);
}

/* ftruncate(2): the descriptor is still open at the exit. */
SEC("tracepoint/syscalls/sys_exit_ftruncate")
int tracepoint__syscalls__sys_exit_ftruncate(struct trace_event_raw_sys_exit *ctx)
{
	struct file *file;

	if (ctx->ret != 0)
		return 0;
	mark_changer();
	if (!syscall_args_known() || !(file = current_fd_file((long)syscall_arg(0))))
		return 0;
	return on_truncated(BPF_CORE_READ(file, f_path.dentry), (__s64)syscall_arg(1));
}

/* execve(2) and execveat(2): the loader attaches it to each. */
SEC("tracepoint/syscalls/sys_exit_execve")
int tracepoint__syscalls__sys_exit_execs(struct trace_event_raw_sys_exit *ctx)
{
	return handle_exec_exit(ctx->ret);
}

/* truncate(2): kept for user space to pair with the watched file fanotify
 * sees modified (maps.bpf.h, truncations). */
SEC("tracepoint/syscalls/sys_exit_truncate")
int tracepoint__syscalls__sys_exit_truncate(struct trace_event_raw_sys_exit *ctx)
{
	struct hive_truncation t;
	__u32 tid;

	if (ctx->ret != 0)
		return 0;
	mark_changer();
	if (!syscall_args_known() || !(tid = current_tid_seen_by_self()))
		return 0;
	t.boot_ns = bpf_ktime_get_boot_ns();
	t.length = (__s64)syscall_arg(1);
	bpf_map_update_elem(&truncations, &tid, &t, BPF_ANY);
	return 0;
}

/* Who a thread was as it leaves (exit_group(2) or exit(2): the loader
 * attaches it to each). Attached in tracepoint mode only; a thread killed
 * by a signal makes no such call and is named by its id alone. */
SEC("tracepoint/syscalls/sys_enter_exit_group")
int tracepoint__syscalls__sys_enter_exits(void *ctx)
{
	return remember_who(&exits);
}

/* Who a thread that changed a file was as it calls exec (see
 * mark_changer()); attached to execve(2) and execveat(2). A failed exec
 * leaves an entry that names the program still running: user space finds
 * nothing before it to name. */
SEC("tracepoint/syscalls/sys_enter_execve")
int tracepoint__syscalls__sys_enter_exec(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tid = current_tid_seen_by_self();

	if (!tid || !changer_marked(tid, BPF_CORE_READ(task, start_time)))
		return 0;
	return remember_who(&execs);
}

#include "deny.bpf.h"
