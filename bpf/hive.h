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

/* The accesses a policy can select; other bits only qualify them. */
#define HIVE_ACCESS_ALL (HIVE_MAY_EXEC | HIVE_MAY_WRITE | HIVE_MAY_READ | HIVE_MAY_APPEND)

/*
 * A file as the kernel sees it: inode number plus the superblock's s_dev,
 * encoded the kernel's way ((major << 20) | minor), which is not user space's
 * st_dev encoding and, on btrfs subvolumes, not even the same device.
 */
struct hive_watch_key {
	__u64 ino;
	__u32 dev;
	__u32 pad; /* zero: the whole struct is hashed */
};

struct hive_watch_value {
	__u32 watch_id; /* user space's inode slot, echoed in events */
	__u32 access;   /* union of HIVE_MAY_* the policies on this inode want */
};

struct hive_dedup_key {
	__u64 ino;
	__u32 dev;
	__u32 tgid;
	__u32 mask;
	__u32 pad;
};

struct hive_dedup_state {
	__u64 last_emit_ns; /* CLOCK_BOOTTIME of the last event submitted */
	__u64 pending;      /* accesses suppressed since then */
};

struct hive_event {
	__u64 boot_ns; /* CLOCK_BOOTTIME; user space derives wall-clock time */
	__u64 ino;
	__u64 cgroup_id;
	__u64 suppressed; /* same (tgid, file, mask) accesses folded into this one */
	__u32 dev;        /* kernel encoding, see struct hive_watch_key */
	__u32 watch_id;
	__u32 tid;
	__u32 tgid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u32 mask;
	__u32 flags; /* HIVE_EVENT_* */
	__u32 pad;
	char comm[HIVE_COMM_LEN];
	char exe[HIVE_EXE_LEN]; /* NUL-terminated; empty for kernel threads */
};

/* exe lost its leading components: deeper than HIVE_EXE_DEPTH or longer
 * than HIVE_EXE_LEN. */
#define HIVE_EVENT_EXE_TRUNCATED 0x1
/* Not one access but folded ones whose window ended without a later access
 * to carry them (bpf/flush.bpf.c): 1 + suppressed of them. Only tgid, file
 * and mask are known; the rest is user space's to fill in. */
#define HIVE_EVENT_FOLDED 0x2
/* Folded while the ring buffer was more than half full: accesses by any
 * process (tgid 0), counted per file and access kind. Set with FOLDED. */
#define HIVE_EVENT_AGGREGATED 0x4

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
struct hive_resolved {
	__u64 ino;
	__u32 dev;
	__s32 fd;
	__u64 seq;
};

#endif
