/* SPDX-License-Identifier: MIT */
/* Which file an inode is, as every BPF object of Hive names it. */
#ifndef HIVE_INODE_BPF_H
#define HIVE_INODE_BPF_H

#include "read.bpf.h"

#define OVERLAYFS_SUPER_MAGIC 0x794c7630

/* i_mode's file types (vmlinux.h has no macros). */
#define S_IFMT_  0170000
#define S_IFREG_ 0100000
#define S_IFDIR_ 0040000
#define S_IFLNK_ 0120000

/* The parts of overlayfs' inode Hive reads, as they were until 5.18 (the
 * lower inode), until 6.4 (the lower path) and since (a stack of lower
 * paths); only where the kernel's BTF describes overlayfs (built in, or its
 * module loaded when the program was). */
struct ovl_inode___hive_old {
	struct inode vfs_inode;
	struct dentry *__upperdentry;
	struct inode *lower;
} __attribute__((preserve_access_index));

struct ovl_path___hive {
	struct dentry *dentry;
} __attribute__((preserve_access_index));

struct ovl_inode___hive_mid {
	struct inode vfs_inode;
	struct dentry *__upperdentry;
	struct ovl_path___hive lowerpath;
} __attribute__((preserve_access_index));

/* A directory's stack of lower paths until 6.4, in its dentry's d_fsdata. */
struct ovl_entry___hive_mid {
	unsigned int numlower;
	struct ovl_path___hive lowerstack[0];
} __attribute__((preserve_access_index));

struct ovl_entry___hive {
	unsigned int __numlower;
	struct ovl_path___hive __lowerstack[0];
} __attribute__((preserve_access_index));

struct ovl_inode___hive {
	struct inode vfs_inode;
	struct dentry *__upperdentry;
	struct ovl_entry___hive *oe;
} __attribute__((preserve_access_index));

/* An overlay's superblock's s_fs_info: the credentials of its mounter,
 * which overlayfs takes for its own checks of the layers' inodes. */
struct ovl_fs___hive {
	const struct cred *creator_cred;
} __attribute__((preserve_access_index));

/* The mounter's credentials of the overlay sb is, NULL when it is none. */
static __always_inline const struct cred *overlay_creator(struct super_block *sb)
{
	struct ovl_fs___hive *ofs;

	if (!bpf_core_field_exists(struct ovl_fs___hive, creator_cred) || !sb ||
	    KREAD(sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
		return NULL;
	ofs = BPF_CORE_READ(sb, s_fs_info);
	return ofs ? BPF_CORE_READ(ofs, creator_cred) : NULL;
}

/* The inodes below an overlay inode: its first lower one, its upper one
 * (NULL: none). */
static __always_inline void overlay_layers(struct inode *inode, struct inode **lower, struct inode **upper)
{
	struct dentry *upper_dentry = NULL;

	*lower = NULL;
	if (bpf_core_field_exists(struct ovl_inode___hive_old, lower)) {
		struct ovl_inode___hive_old *oi =
			(void *)inode - bpf_core_field_offset(struct ovl_inode___hive_old, vfs_inode);

		*lower = BPF_CORE_READ(oi, lower);
		upper_dentry = BPF_CORE_READ(oi, __upperdentry);
	} else if (bpf_core_field_exists(struct ovl_inode___hive_mid, lowerpath)) {
		struct ovl_inode___hive_mid *oi =
			(void *)inode - bpf_core_field_offset(struct ovl_inode___hive_mid, vfs_inode);
		struct dentry *lower_dentry = BPF_CORE_READ(oi, lowerpath.dentry);

		*lower = lower_dentry ? BPF_CORE_READ(lower_dentry, d_inode) : NULL;
		upper_dentry = BPF_CORE_READ(oi, __upperdentry);
	} else if (bpf_core_field_exists(struct ovl_inode___hive, oe)) {
		struct ovl_inode___hive *oi = (void *)inode - bpf_core_field_offset(struct ovl_inode___hive, vfs_inode);
		struct ovl_entry___hive *oe = BPF_CORE_READ(oi, oe);

		if (oe && BPF_CORE_READ(oe, __numlower))
			*lower = BPF_CORE_READ(oe, __lowerstack[0].dentry, d_inode);
		upper_dentry = BPF_CORE_READ(oi, __upperdentry);
	}
	*upper = upper_dentry ? BPF_CORE_READ(upper_dentry, d_inode) : NULL;
}

/* The real inode below an overlay inode, the lower one if any: the one
 * whose generation a copy-up keeps. */
static __always_inline struct inode *overlay_real_inode(struct inode *inode)
{
	struct inode *lower, *upper;

	overlay_layers(inode, &lower, &upper);
	return lower ? lower : upper;
}

/* The file the overlay shows, as the host sees it in the layers: the upper
 * one once copied up, the lower one before (what overlayfs itself checks
 * permission on, and reads). */
static __always_inline struct inode *overlay_visible_inode(struct inode *inode)
{
	struct inode *lower, *upper;

	overlay_layers(inode, &lower, &upper);
	return upper ? upper : lower;
}

/*
 * An overlay inode has no generation of its own, and its number is its real
 * file's. A file of the image keeps its lower file, and so its generation,
 * when a write copies it up; a file the container made has only an upper
 * one, whose generation tells a recycled number from the file. 0 where
 * unknown.
 */
static __always_inline __u32 overlay_gen(struct inode *inode)
{
	struct inode *real = overlay_real_inode(inode);

	return real ? BPF_CORE_READ(real, i_generation) : 0;
}

/* The identity the watch map is keyed on: see struct hive_watch_key. */
static __always_inline void inode_key(struct inode *inode, struct hive_watch_key *key)
{
	struct super_block *sb = KREAD(inode, i_sb);

	key->ino = KREAD(inode, i_ino);
	key->dev = KREAD(sb, s_dev);
	key->gen = KREAD(inode, i_generation);
	if (!key->gen && KREAD(sb, s_magic) == OVERLAYFS_SUPER_MAGIC)
		key->gen = overlay_gen(inode);
}

/* The dentry of lower path i of a stack that starts at stack: the stride is
 * the kernel's struct ovl_path, which has more than Hive reads. */
static __always_inline struct dentry *lower_stack_dentry(void *stack, __u32 i)
{
	struct dentry *d = NULL;

	bpf_probe_read_kernel(&d, sizeof(d),
			      stack + i * bpf_core_type_size(struct ovl_path___hive) +
				      bpf_core_field_offset(struct ovl_path___hive, dentry));
	return d;
}

/*
 * The directories below an overlay directory, into out (keyed as
 * inode_key() does): its upper one, then its lower ones from the top, at
 * most HIVE_LAYERS_MAX; *truncated when it is in more layers. Returns how
 * many. A file below the directory may be in any of them.
 */
static __always_inline __u32 overlay_dir_layers(struct dentry *dentry, struct inode *inode,
						 struct hive_watch_key *out, __u32 *truncated)
{
	struct inode *lower, *upper;
	void *stack = NULL;
	__u32 n = 0, numlower = 0;

	overlay_layers(inode, &lower, &upper);
	if (upper)
		inode_key(upper, &out[n++]);
	if (bpf_core_field_exists(struct ovl_inode___hive, oe)) {
		struct ovl_inode___hive *oi = (void *)inode - bpf_core_field_offset(struct ovl_inode___hive, vfs_inode);
		struct ovl_entry___hive *oe = BPF_CORE_READ(oi, oe);

		if (oe) {
			numlower = BPF_CORE_READ(oe, __numlower);
			stack = (void *)oe + bpf_core_field_offset(struct ovl_entry___hive, __lowerstack);
		}
	} else if (bpf_core_field_exists(struct ovl_entry___hive_mid, lowerstack)) {
		struct ovl_entry___hive_mid *oe = BPF_CORE_READ(dentry, d_fsdata);

		if (oe) {
			numlower = BPF_CORE_READ(oe, numlower);
			stack = (void *)oe + bpf_core_field_offset(struct ovl_entry___hive_mid, lowerstack);
		}
	} else if (lower) {
		/* Until 5.18 the inode names only its first lower one. */
		inode_key(lower, &out[n++]);
	}
	for (__u32 i = 0; stack && i < numlower && i < HIVE_LAYERS_MAX; i++) {
		struct dentry *d = lower_stack_dentry(stack, i);
		struct inode *li = d ? BPF_CORE_READ(d, d_inode) : NULL;

		if (!li || n >= HIVE_LAYERS_MAX)
			break;
		inode_key(li, &out[n++]);
	}
	*truncated = numlower + (upper != NULL) > n;
	return n;
}

/* The name dentry has in its directory, as a key of the names map (key
 * zeroed by the caller: the whole key is hashed). False for a root. */
static __always_inline bool dentry_name_key(struct dentry *dentry, struct hive_name_key *key)
{
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

	if (!parent || parent == dentry)
		return false;
	inode_key(BPF_CORE_READ(parent, d_inode), &key->dir);
	bpf_probe_read_kernel_str(key->name, sizeof(key->name), BPF_CORE_READ(dentry, d_name.name));
	return true;
}

#endif
