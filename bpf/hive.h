/* SPDX-License-Identifier: MIT */
/*
 * Everything that crosses the kernel/user boundary: map keys and values, the
 * ring-buffer event, the statistics block. Plain fixed-size fields only, so the
 * layout is the same for clang -target bpf and for the host compiler.
 */
#ifndef HIVE_H
#define HIVE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define HIVE_COMM_LEN 16
/* A controlling terminal's name as the kernel has it ("pts3", "tty1"). */
#define HIVE_TTY_LEN 16
/* How many ancestors a record names, nearest first. */
#define HIVE_ANCESTORS_MAX 8

/* loginuid and sessionid when no login set them (audit's "unset"). */
#define HIVE_ID_UNSET 0xffffffffu
/* The executable's path as the process itself sees it (from its root). */
#define HIVE_EXE_LEN 256
#define HIVE_EXE_DEPTH 32

/* The kernel's MAY_* bits (include/linux/fs.h); inode_permission() gets them. */
#define HIVE_MAY_EXEC   0x01
#define HIVE_MAY_WRITE  0x02
#define HIVE_MAY_READ   0x04
#define HIVE_MAY_APPEND 0x08
#define HIVE_MAY_ACCESS 0x10
#define HIVE_MAY_OPEN   0x20
#define HIVE_MAY_CHDIR  0x40

/*
 * What is done to a file, beside the permission checks above: the change
 * kinds a policy can select, seen by the kernel's own hooks on each
 * operation (hive.bpf.c). Above every MAY_* bit, so that one mask holds both.
 */
#define HIVE_ACCESS_ATTRIB   0x100  /* mode, owner, times, xattrs, ACLs */
#define HIVE_ACCESS_TRUNCATE 0x200  /* truncate(), ftruncate(), O_TRUNC */
#define HIVE_ACCESS_CREATE   0x400  /* a new entry at a watched name */
#define HIVE_ACCESS_DELETE   0x800  /* unlink, rmdir, renamed over */
#define HIVE_ACCESS_RENAME   0x1000 /* renamed away, or onto a watched name */
#define HIVE_ACCESS_LINK     0x2000 /* a new hard link to it */
#define HIVE_ACCESS_CHANGES                                                                                    \
	(HIVE_ACCESS_ATTRIB | HIVE_ACCESS_TRUNCATE | HIVE_ACCESS_CREATE | HIVE_ACCESS_DELETE | HIVE_ACCESS_RENAME | \
	 HIVE_ACCESS_LINK)

/* The accesses a policy can select; other bits only qualify them. */
#define HIVE_ACCESS_ALL (HIVE_MAY_EXEC | HIVE_MAY_WRITE | HIVE_MAY_READ | HIVE_MAY_APPEND | HIVE_ACCESS_CHANGES)

/*
 * In a watch value's access: the file is another agent's presence probe
 * (cluster/presence.h), which asks whether this kernel really runs the
 * loader that holds its lease. An open of it is answered with
 * HIVE_PRESENCE_SIGNAL to the opening process, which no agent on another
 * kernel can send, and is no record.
 */
#define HIVE_WATCH_PRESENCE 0x80000000u
#define HIVE_PRESENCE_SIGNAL 23 /* SIGURG: ignored unless asked for */

/*
 * In a watch value's access: every entry of the inode is a container's file
 * as the host sees it in the overlay's layers (the overlay inode has an
 * entry of its own). An open through the container's overlay checks the
 * overlay inode, then overlayfs checks this one, nested, with its mounter's
 * credentials: that nested check is the overlay file's access (recorded
 * there once), or another container's of the same image (not this
 * container's file), and is no record of the layer. Any other access of it
 * is: a read of the runtime's snapshot directory, or through another
 * overlay mounted over it.
 */
#define HIVE_WATCH_LAYER 0x40000000u

/*
 * A file as the kernel sees it: inode number plus the superblock's s_dev,
 * encoded the kernel's way ((major << 20) | minor), which is not user space's
 * st_dev encoding and, on btrfs subvolumes, not even the same device; and the
 * inode's generation, which tells the file from a later one the file system
 * gives the same number once this one is gone (see inode_key() in
 * inode.bpf.h: overlayfs takes its upper file's).
 */
struct hive_watch_key {
	__u64 ino;
	__u32 dev;
	__u32 gen;
};

/*
 * What the maps shared across restarts mean (maps.bpf.h): raised whenever a
 * key, a value or their meaning changes, so that a new agent never adopts a
 * previous agent's maps of another layout. 2: keys have the inode's
 * generation; 3: watched names; 4: dedup entries say what their accesses
 * were found by, directories with names are marked (name_filter); 5: dedup
 * entries are per process instance and exec, and say who; 6: change kinds
 * in access masks, change events in the ring buffer; 7: threads that exited
 * (exits); 8: truncate(2) calls (truncations), logins (auid, session, tty)
 * in what dedup entries and exits say of a process; 9: threads that changed a
 * file since their exec (changers), who they were before it (execs) and at
 * their first change (changed); trees
 * of a directory's own entries (entries_access in watch values); 10: the
 * deny program's rules and filter members (denies, deny_members) kept; 11:
 * deny rules say their key and version (struct hive_deny_value); 12: tree
 * roots have bits of their own in name_filter (HIVE_NAME_FILTER_TREE()); 13:
 * a container's files watched in the overlay's layers (HIVE_WATCH_LAYER).
 */
#define HIVE_MAPS_LAYOUT 13

/* The control map's entries (maps.bpf.h). */
enum {
	HIVE_CONTROL_ACTIVE,
	HIVE_CONTROL_LAYOUT,
	/* How many names are watched in any "..<timestamp>" directory
	 * (HIVE_NAME_ANY_DATA_DIR): while none, an open of an unwatched file
	 * does not read its directory's name. */
	HIVE_CONTROL_DATA_DIR_NAMES,
	/* How many trees are watched: while none, no access walks its
	 * file's parents. */
	HIVE_CONTROL_TREES,
	_HIVE_CONTROL_MAX,
};

struct hive_watch_value {
	__u32 watch_id;    /* user space's slot, echoed in events */
	__u32 access;      /* union of HIVE_MAY_* the policies on this inode (or name) want */
	__u32 name_access; /* on a directory: the union of what its watched names want (0: none) */
	/* On a directory: the union of what the trees rooted here want for
	 * everything below it, at any depth (0: no tree). */
	__u32 tree_access;
	/* And of what those of its own entries only ("DIR/" "*") want of
	 * them: a file of a directory below is not theirs. */
	__u32 entries_access;
};

/*
 * Directory trees (a policy path ending in "/" "**", or "/" "*" for a
 * directory's own entries, one level below): an access to a file none of the
 * maps name walks the file's parents up, on its own file system, looking for
 * a tree's root: the kernel's dentries, so a hard link, a bind mount or a
 * symlink that reaches a file of the tree reaches it there. Each parent
 * costs one bit of the name filter (a root sets HIVE_NAME_FILTER_TREE() of
 * its inode number); only where it is set, the watch map is asked. Not the
 * bit of a directory with watched names: "/" has those (the name "etc" of a
 * tree "/etc/" "**"), and every walk passes it. Deeper below its root than
 * HIVE_TREE_DEPTH, a file is not found.
 */
#define HIVE_TREE_DEPTH 48

/*
 * What spares an open of an unwatched file the hash lookups of its directory
 * and its name (a 272-byte key): the name_filter map, a bitmap. Bit
 * HIVE_NAME_FILTER_DIR(ino) is set while a directory of inode number ino has
 * watched names, bit HIVE_NAME_FILTER_NAME(ino, len, first, last) while one
 * of them has that length, first and last byte; the hooks look the
 * directory and the name up only where both are set: an open elsewhere costs
 * one array read, beside a watched file three bytes of the name more. Bits
 * are shared (they may say yes wrongly, never no).
 */
#define HIVE_NAME_FILTER_BITS (3U << 16)
#define HIVE_NAME_FILTER_DIR(ino) ((__u32)((ino)&0xffff))
#define HIVE_NAME_FILTER_TREE(ino) ((__u32)0x20000 | (__u32)((ino)&0xffff))
#define HIVE_NAME_FILTER_NAME(ino, len, first, last)                                                          \
	((__u32)0x10000 | (__u32)((((__u64)(ino)*0x9e3779b97f4a7c15ULL) ^                                        \
				   ((__u64)(len) << 16 | (__u64)(first) << 8 | (__u64)(last))) *                   \
					  0xff51afd7ed558ccdULL >>                                                 \
				  48))

/*
 * A name in a directory: the last component of a watched path, so that the
 * file a rename, a link or a create puts there is the watched one from its
 * first access, as the kernel resolved it, before user space has followed
 * (the inode map still names the file that was there). Looked up only when
 * the directory's own entry in the watch map has name_access.
 */
#define HIVE_NAME_LEN 256 /* NAME_MAX and its NUL */

/*
 * The kubelet writes each version of a Secret, ConfigMap or projected volume
 * into a new directory "..<timestamp>" of the volume and swaps the "..data"
 * symlink to it: a file of such a volume is watched by the name
 * "..* /NAME" (without the space) on the volume's directory, whatever
 * "..<timestamp>" directory it is in. A real name has no '/'.
 */
#define HIVE_NAME_ANY_DATA_DIR "..*/"

struct hive_name_key {
	struct hive_watch_key dir; /* the directory, as the kernel sees it */
	char name[HIVE_NAME_LEN];  /* NUL-padded: the whole key is hashed */
};

/*
 * Accesses are folded per process, file and access kind. A process is its
 * tgid and start time (a reused pid is another process), its exec (an exec
 * ends the fold: what the new program does is its own) and the ids the
 * permission check used. Aggregates (ring buffer busy, see aggregate() in
 * hive.bpf.c) have no process: tgid, start_ns and exec_id 0, and are kept
 * apart by uid, fsuid, cgroup and executable instead.
 */
struct hive_dedup_key {
	__u64 ino;
	__u32 dev;
	__u32 gen;
	__u32 mask;
	__u32 tgid;
	__u64 start_ns; /* the task's start_time */
	__u32 exec_id;  /* the task's self_exec_id, raised by every exec */
	__u32 uid;
	__u32 fsuid;
	__u32 pad;
	/* Aggregates only (0 otherwise: the state has them). */
	__u64 cgroup_id;
	struct hive_watch_key exe;
};

/*
 * Who made the accesses, beside the dedup key: as of the fold's last event,
 * or of the aggregate's first access (which names no process).
 */
struct hive_process {
	__u64 cgroup_id;
	struct hive_watch_key exe; /* the executable's file, as watch keys are */
	__u32 tid;
	__u32 ppid;
	__u32 gid;
	__u32 euid;
	__u32 auid;      /* the login behind the process, across su and sudo; HIVE_ID_UNSET: none */
	__u32 sessionid; /* that login's session; HIVE_ID_UNSET: none */
	char comm[HIVE_COMM_LEN];
	char tty[HIVE_TTY_LEN]; /* empty: no controlling terminal */
};

struct hive_dedup_state {
	__u64 last_emit_ns; /* CLOCK_BOOTTIME of the last event submitted */
	__u64 pending;      /* accesses suppressed since then */
	/* What they were found by, as the last event said (watch_id, and
	 * HIVE_EVENT_BY_NAME with dir): the flusher reports them so, even
	 * once their file has left the watch map (a replaced file). */
	__u32 watch_id;
	__u32 flags;
	struct hive_watch_key dir;
	struct hive_process who;
};

/* A successful truncate(2) of a thread, until user space pairs it with the
 * file fanotify says the thread modified (maps.bpf.h, truncations). */
struct hive_truncation {
	__u64 boot_ns;
	__s64 length;
};

/* A process the accessing one descends from, as it was at the access. */
struct hive_ancestor {
	struct hive_watch_key exe; /* the file it runs (ino 0: none, a kernel thread) */
	__u32 tgid;                /* as the initial pid namespace numbers it */
	__u32 flags;               /* HIVE_ANCESTOR_* */
	char comm[HIVE_COMM_LEN];
};
/* Its pid namespace's init (the host's or a container's): the last one. */
#define HIVE_ANCESTOR_NS_INIT 0x1

struct hive_event {
	__u64 boot_ns; /* CLOCK_BOOTTIME; user space derives wall-clock time */
	__u64 ino;
	__u64 cgroup_id;
	__u64 suppressed; /* same (process, file, mask) accesses folded into this one */
	__u32 dev;        /* kernel encoding, see struct hive_watch_key */
	__u32 watch_id;
	__u32 tid;
	__u32 tgid;
	__u32 ppid;
	__u32 uid;   /* real */
	__u32 gid;
	__u32 euid;  /* effective */
	__u32 fsuid; /* what the permission check used */
	__u32 mask;
	__u32 flags; /* HIVE_EVENT_* */
	__u32 gen;   /* with ino and dev: the file, see struct hive_watch_key */
	__u32 auid;      /* see struct hive_process */
	__u32 sessionid;
	char tty[HIVE_TTY_LEN];
	/* HIVE_EVENT_BY_NAME: the directory of the name it was found by. */
	struct hive_watch_key dir;
	/* The file the process runs (0 for kernel threads): its path below
	 * can be made to read like another program's, this cannot. */
	struct hive_watch_key exe_file;
	char comm[HIVE_COMM_LEN];
	char exe[HIVE_EXE_LEN]; /* NUL-terminated; empty for kernel threads, and for folded events */
};

/* exe lost its leading components: deeper than HIVE_EXE_DEPTH or longer
 * than HIVE_EXE_LEN. */
#define HIVE_EVENT_EXE_TRUNCATED 0x1
/* Not one access but folded ones whose window ended without a later access
 * to carry them (bpf/flush.bpf.c): 1 + suppressed of them. Everything but
 * the executable's path is the kernel's (the dedup key and state); user
 * space names the executable's file by the path it last saw for it. */
#define HIVE_EVENT_FOLDED 0x2
/* Folded while the ring buffer was more than half full: accesses of
 * processes of one uid, fsuid, cgroup and executable (tgid 0), counted per
 * file and access kind. Set with FOLDED. */
#define HIVE_EVENT_AGGREGATED 0x4
/* Found by the name it was reached through (struct hive_name_key), not by
 * its inode: watch_id is the name's, and ino/dev/gen the file's. */
#define HIVE_EVENT_BY_NAME 0x8

/* struct hive_ext follows the event: a change (HIVE_ACCESS_CHANGES), or an
 * access found by its tree (HIVE_EVENT_IN_TREE). */
#define HIVE_EVENT_EXT 0x10
/* Found by the watched directory tree it is in (HIVE_WATCH_TREE): watch_id
 * and dir are the tree's root, ino/dev/gen the file's, and the extension's
 * below its path under the root (where the root kept it: a folded record has
 * no extension). */
#define HIVE_EVENT_IN_TREE 0x20
/* A struct hive_lineage follows the event (after its struct hive_ext, if
 * any): who the process descends from. Only while the ring buffer has room:
 * under pressure records stay small, and accesses are not dropped. */
#define HIVE_EVENT_LINEAGE 0x40
/* Made by user space, never by the hooks: an open or exec asked about
 * through a permission event (enforce/), for the entries of deny and
 * audit-deny policies; DENIED when it was refused. */
#define HIVE_EVENT_PERMISSION 0x100
#define HIVE_EVENT_DENIED 0x200
/* Made by user space, never by the hooks, for a change fanotify reported
 * (tracepoint mode): the acting thread ran another program until an exec
 * that may have come after the change (maps.bpf.h, execs). Who it was then
 * follows everything else of the event, as a struct hive_event of which
 * only the process fields are set. */
#define HIVE_EVENT_BEFORE_EXEC 0x400

/*
 * Refusals in the kernel (bpf/deny.bpf.h): a BPF LSM program on file_open
 * looks every opened file up in the denies map and applies its rules, each
 * one policy's deny or audit-deny entry on the file: the kinds of open it
 * is about, and which processes (the policy's process filter, written as
 * members of a filter id: the kernel decides with nothing but maps). A
 * refused open fails with EACCES; each decision a rule wants is an event
 * (HIVE_EVENT_PERMISSION, DENIED when refused), as fanotify's are.
 */
#define HIVE_DENY_RULES 4

enum {
	HIVE_DENY_REFUSE = 1, /* "deny" */
	HIVE_DENY_AUDIT,      /* "audit-deny": refuse nothing, say what would be */
};

/* What a process filter names (struct hive_deny_member's kind). */
#define HIVE_PROC_EXE    0x1 /* the file it runs, as watch keys are */
#define HIVE_PROC_UID    0x2 /* its real uid */
#define HIVE_PROC_AUID   0x4 /* its login uid */
#define HIVE_PROC_CGROUP 0x8 /* its cgroup (v2 id): a container */

struct hive_deny_rule {
	__u32 access;   /* HIVE_MAY_READ, _WRITE, _APPEND, _EXEC it refuses; 0: an unused slot */
	__u32 action;   /* HIVE_DENY_* */
	__u32 watch_id; /* echoed in the event */
	__u32 filter;   /* the id its members are written with */
	/* A process is about the rule when it matches every kind in only
	 * (0: every process) and not every kind in except (0: none). A kind
	 * matches when the member of that value is in the map. */
	__u32 only;
	__u32 except;
};

/*
 * The kernel hands an element of a hash map that an update or a delete freed
 * to the next update on its CPU at once, without waiting for the programs
 * still reading it (preempted there): such a program would read another
 * file's rules. So a value says whose it is and which write made it (the
 * loader stamps both, a version no write used before on this boot), and the
 * program keeps a copy only when both held from before to after it.
 */
struct hive_deny_value {
	struct hive_deny_rule rules[HIVE_DENY_RULES];
	struct hive_watch_key key;
	__u64 version;
};

/* A value of a kind in a rule's only or except set; no padding: hashed. */
struct hive_deny_member {
	__u32 filter;
	__u16 kind;   /* one HIVE_PROC_* */
	__u16 except; /* 1: of the except set; 0: of only */
	__u64 value;  /* uid, auid, cgroup id; the executable's inode number */
	__u32 dev;    /* the executable's, as watch keys have it */
	__u32 gen;
};

/* Per CPU: the decisions of the deny program. */
struct hive_deny_stats {
	__u64 denied;     /* refused */
	__u64 would_deny; /* refused but for audit-deny */
	__u64 allowed;    /* a rule's kind of open, by a process its filter leaves out */
	__u64 dropped;    /* decided, but the ring buffer had no room for the event */
};

/* What a change set, in struct hive_ext's changed. */
#define HIVE_CHANGED_MODE      0x1
#define HIVE_CHANGED_UID       0x2
#define HIVE_CHANGED_GID       0x4
#define HIVE_CHANGED_SIZE      0x8
#define HIVE_CHANGED_ATIME     0x10
#define HIVE_CHANGED_MTIME     0x20
#define HIVE_CHANGED_XATTR     0x40 /* other names it; set, or removed: */
#define HIVE_CHANGED_REMOVED   0x80
/* other lost its leading components (longer than HIVE_PATH_LEN). */
#define HIVE_CHANGED_OTHER_TRUNCATED 0x100
/* below lost its leading components, or the file is deeper below its tree's
 * root than HIVE_TREE_DEPTH (never: it would not have been found). */
#define HIVE_CHANGED_BELOW_TRUNCATED 0x200

/* What struct hive_ext's other is. */
enum {
	HIVE_OTHER_NONE,
	HIVE_OTHER_TARGET, /* the name the operation made or removed: a rename's or link's new name, the created or deleted entry */
	HIVE_OTHER_SOURCE, /* where what arrived at the watched name came from (rename onto it) */
	HIVE_OTHER_XATTR,  /* the extended attribute's name */
};

#define HIVE_PATH_LEN HIVE_EXE_LEN

/*
 * What follows a change's event, or a tree's, in the ring buffer: what a
 * reader needs to tell chmod 0644 from chmod 4755, the other name of a
 * rename, a link or a create, as the kernel resolved it (from the process's
 * root, like exe), and where in its tree the file is. Values are those asked
 * for, before the file system applies them.
 */
struct hive_ext {
	__u64 size;    /* HIVE_CHANGED_SIZE */
	__u32 mode;    /* HIVE_CHANGED_MODE; a create's mode, type bits included */
	__u32 uid;     /* HIVE_CHANGED_UID, as the kernel's initial namespace numbers it */
	__u32 gid;     /* HIVE_CHANGED_GID */
	__u32 changed; /* HIVE_CHANGED_* */
	__u32 other_kind; /* HIVE_OTHER_* */
	__u32 pad;
	char other[HIVE_PATH_LEN]; /* NUL-terminated */
	/* HIVE_EVENT_IN_TREE: the path below the tree's root, "sub/f"
	 * (NUL-terminated), as the file's own file system has it. */
	char below[HIVE_PATH_LEN];
};

struct hive_ext_event {
	struct hive_event ev;
	struct hive_ext ext;
};

/* Who the process descends from, nearest first, up to its pid namespace's
 * init; read at the access (src/watch/proc-who.c reads it from /proc for a
 * change seen through fanotify, while the thread is there). */
struct hive_lineage {
	__u32 n; /* ancestors[0..n) */
	__u32 reserved;
	struct hive_ancestor ancestors[HIVE_ANCESTORS_MAX];
};

/* The records the ring buffer carries: an event, its change, its lineage. */
struct hive_lin_event {
	struct hive_event ev;
	struct hive_lineage lin;
};

struct hive_ext_lin_event {
	struct hive_event ev;
	struct hive_ext ext;
	struct hive_lineage lin;
};

/*
 * Per-CPU counters. Every access to a watched inode that passes the access
 * filter is counted in matched, and in exactly one of emitted, suppressed or
 * dropped, so matched == emitted + suppressed + dropped always holds.
 */
struct hive_stats {
	__u64 matched;
	__u64 emitted;
	__u64 suppressed;
	__u64 dropped;
};

/*
 * Written by the resolver program when the agent itself opens a file with
 * openat2(): the identity of the file behind the returned descriptor, read
 * back through the mmap()ed .bss.
 */
#define HIVE_LAYERS_MAX 16

struct hive_resolved {
	__u64 ino;
	__u32 dev;
	__s32 fd;
	__u64 seq;
	__u32 gen;
	__u32 pad;
	/* The name the file was reached by: its directory and last component. */
	struct hive_name_key name;
	/* On overlayfs, the files below, as the host reaches them in the
	 * layers: of a file, the one the overlay shows (its upper file once
	 * copied up, its lower one before); of a directory, every layer's
	 * (a file below it may be in any), the upper one first, then the
	 * lower ones from the top, HIVE_LAYERS_MAX at most. None elsewhere. */
	struct hive_watch_key layers[HIVE_LAYERS_MAX];
	__u32 n_layers;
	__u32 layers_truncated; /* a directory in more layers than that */
};

#endif
