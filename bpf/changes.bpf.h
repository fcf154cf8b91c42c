/* SPDX-License-Identifier: MIT */
/*
 * What is done to a file (HIVE_ACCESS_CHANGES), in fentry and kprobe modes:
 * the kernel's own security hooks on each operation, which see the file by
 * its dentry whatever name the process used. Attributes and truncation come
 * to security_inode_setattr() and the xattr hooks, which every path,
 * descriptor and open(O_TRUNC) goes through; operations on names come to the
 * security_path_*() hooks, which also know the mount, so that the other name
 * of a rename, a link or a create can be told as the process sees it. Part
 * of hive.bpf.c: one object, one record_access().
 *
 * Hooks see the attempt, before the file system acts (like
 * inode_permission()): a change refused later is still a record.
 *
 * Tracepoint mode has truncations here only (on_truncated(), at the exit of
 * open(O_TRUNC) and ftruncate(2)); fanotify sees the rest
 * (src/watch/change-events.c).
 */
#ifndef HIVE_CHANGES_BPF_H
#define HIVE_CHANGES_BPF_H

/* include/linux/fs.h and uapi fs.h; macros are not in BTF. */
#define ATTR_MODE       (1 << 0)
#define ATTR_UID        (1 << 1)
#define ATTR_GID        (1 << 2)
#define ATTR_SIZE       (1 << 3)
#define ATTR_ATIME      (1 << 4)
#define ATTR_MTIME      (1 << 5)
#define RENAME_EXCHANGE (1 << 1)

/* Where struct dentry * sits in security_inode_setattr()'s and the xattr
 * hooks' arguments: first before 5.12, second since an idmap went in front
 * (set by user space from the kernel's BTF). */
const volatile __u32 setattr_arg = 1;
const volatile __u32 xattr_arg = 1;

/* fentry's argument as a plain value: read straight from the context, the
 * verifier types it as the kernel's pointer, which a global function
 * (tree_levels()) does not take. */
static __always_inline void *ctx_arg(__u64 *slot)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), slot);
	return (void *)v;
}

/* Argument i of the hooked function, from fentry's context or kprobe's
 * registers (one of the two is NULL). */
static __always_inline void *hook_arg(__u64 *ctx, struct pt_regs *regs, __u32 i)
{
	if (ctx) {
		switch (i) {
		case 0:
			return ctx_arg(&ctx[0]);
		case 1:
			return ctx_arg(&ctx[1]);
		case 2:
			return ctx_arg(&ctx[2]);
		case 3:
			return ctx_arg(&ctx[3]);
		default:
			return ctx_arg(&ctx[4]);
		}
	}
	switch (i) {
	case 0:
		return (void *)PT_REGS_PARM1_CORE(regs);
	case 1:
		return (void *)PT_REGS_PARM2_CORE(regs);
	case 2:
		return (void *)PT_REGS_PARM3_CORE(regs);
	case 3:
		return (void *)PT_REGS_PARM4_CORE(regs);
	default:
		return (void *)PT_REGS_PARM5_CORE(regs);
	}
}

/* A watched file a change is about: by its inode, by the name it is at, or
 * by the tree it is in (found: HIVE_EVENT_BY_NAME, HIVE_EVENT_IN_TREE). */
struct changed_file {
	struct hive_watch_key key;
	struct found by; /* by.flags 0: by the file itself */
	struct hive_watch_value *watch;
	struct dentry *in_tree; /* HIVE_EVENT_IN_TREE: its name in the tree */
	__u32 levels;           /* and how far below the root */
};

/* The tree at dentry (a name, maybe negative: where something is made or
 * arrives), for one of kinds. */
static __always_inline bool tree_watched(struct dentry *dentry, struct inode *inode, __u32 kinds,
					 struct changed_file *f)
{
	f->watch = watched_tree(dentry, inode, kinds, &f->by.dir, &f->in_tree, &f->levels);
	f->by.flags = HIVE_EVENT_IN_TREE;
	return f->watch != NULL;
}

/* Whether dentry's file (or, for a negative dentry, its name) is watched
 * for one of kinds: itself, its name, or a tree it is in. */
static __always_inline bool changed_watched(struct dentry *dentry, __u32 kinds, struct changed_file *f)
{
	struct inode *inode;

	if (!dentry)
		return false;
	__builtin_memset(&f->key, 0, sizeof(f->key));
	inode = BPF_CORE_READ(dentry, d_inode);
	f->by.flags = 0;
	f->watch = watched(inode, &f->key);
	if (!f->watch) {
		f->watch = watched_name(dentry, &f->by.dir);
		f->by.flags = HIVE_EVENT_BY_NAME;
	}
	if (f->watch && (f->watch->access & kinds))
		return true;
	return tree_watched(dentry, inode, kinds, f);
}

/* Only the name at a dentry, or the tree it is in: where arriving arrives. */
static __always_inline bool name_watched(struct dentry *dentry, struct dentry *arriving, __u32 kinds,
					 struct changed_file *f)
{
	__builtin_memset(&f->key, 0, sizeof(f->key));
	if (arriving)
		inode_key(BPF_CORE_READ(arriving, d_inode), &f->key);
	if (!with_generation)
		f->key.gen = 0;
	f->watch = watched_name(dentry, &f->by.dir);
	f->by.flags = HIVE_EVENT_BY_NAME;
	if (f->watch && (f->watch->access & kinds))
		return true;
	return tree_watched(dentry, NULL, kinds, f);
}

/* The extension of a change to f: where in its tree f is, if it is. */
static __always_inline struct hive_ext *change_begin(struct changed_file *f, __u32 other_kind)
{
	struct hive_ext *c = ext_begin();

	if (c) {
		c->other_kind = other_kind;
		if (f->by.flags == HIVE_EVENT_IN_TREE)
			c->changed |= path_below(f->in_tree, f->levels, c->below);
	}
	return c;
}

/* c's other name: dentry on the mount of path, from the process's root. */
static __always_inline void change_other_path(struct hive_ext *c, const struct path *on, struct dentry *dentry)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (path_from_root(task, dentry, BPF_CORE_READ(on, mnt), c->other))
		c->changed |= HIVE_CHANGED_OTHER_TRUNCATED;
}

static __always_inline int change_record(struct changed_file *f, __u32 kinds, struct hive_ext *c)
{
	return record_access(&f->key, f->watch, kinds, f->by.flags ? &f->by : NULL, c);
}

/* A name operation's record: kind on f, other the name (on, dentry). */
static __always_inline int name_change(struct changed_file *f, __u32 kind, __u32 other_kind, const struct path *on,
				       struct dentry *other, __u32 mode)
{
	struct hive_ext *c = change_begin(f, other_kind);

	if (!c)
		return 0;
	change_other_path(c, on, other);
	if (mode) {
		c->mode = mode;
		c->changed |= HIVE_CHANGED_MODE;
	}
	return change_record(f, kind, c);
}

/* chmod, chown, utimes, truncate (any way): notify_change() asks here. */
static __always_inline int on_setattr(struct dentry *dentry, struct iattr *attr)
{
	unsigned int valid = BPF_CORE_READ(attr, ia_valid);
	struct changed_file f;
	struct hive_ext *c;
	__u32 kinds = 0;

	if (valid & ATTR_SIZE)
		kinds |= HIVE_ACCESS_TRUNCATE;
	/* A truncate sets the times too; utimes sets both. */
	if ((valid & (ATTR_MODE | ATTR_UID | ATTR_GID | ATTR_ATIME)) || ((valid & ATTR_MTIME) && !(valid & ATTR_SIZE)))
		kinds |= HIVE_ACCESS_ATTRIB;
	if (!kinds || !changed_watched(dentry, kinds, &f) || !(c = change_begin(&f, HIVE_OTHER_NONE)))
		return 0;
	if (valid & ATTR_MODE) {
		c->mode = BPF_CORE_READ(attr, ia_mode) & 07777;
		c->changed |= HIVE_CHANGED_MODE;
	}
	if (valid & ATTR_UID) {
		c->uid = BPF_CORE_READ(attr, ia_uid.val);
		c->changed |= HIVE_CHANGED_UID;
	}
	if (valid & ATTR_GID) {
		c->gid = BPF_CORE_READ(attr, ia_gid.val);
		c->changed |= HIVE_CHANGED_GID;
	}
	if (valid & ATTR_SIZE) {
		c->size = BPF_CORE_READ(attr, ia_size);
		c->changed |= HIVE_CHANGED_SIZE;
	}
	if (kinds & HIVE_ACCESS_ATTRIB)
		c->changed |= (valid & ATTR_ATIME ? HIVE_CHANGED_ATIME : 0) | (valid & ATTR_MTIME ? HIVE_CHANGED_MTIME : 0);
	return change_record(&f, kinds, c);
}

/* A truncation to size seen at the exit of its system call (tracepoint
 * mode: open(O_TRUNC), ftruncate(2)), after the file system acted. */
static __always_inline int on_truncated(struct dentry *dentry, __s64 size)
{
	struct changed_file f;
	struct hive_ext *c;

	if (!changed_watched(dentry, HIVE_ACCESS_TRUNCATE, &f) || !(c = change_begin(&f, HIVE_OTHER_NONE)))
		return 0;
	c->size = size;
	c->changed |= HIVE_CHANGED_SIZE;
	return change_record(&f, HIVE_ACCESS_TRUNCATE, c);
}

/* An extended attribute or ACL set or removed: its name is the other. */
static __always_inline int on_xattr(struct dentry *dentry, const char *name, __u32 removed)
{
	struct changed_file f;
	struct hive_ext *c;

	if (!changed_watched(dentry, HIVE_ACCESS_ATTRIB, &f) || !(c = change_begin(&f, HIVE_OTHER_XATTR)))
		return 0;
	c->changed |= HIVE_CHANGED_XATTR | removed;
	bpf_probe_read_kernel_str(c->other, sizeof(c->other), name);
	return change_record(&f, HIVE_ACCESS_ATTRIB, c);
}

static __always_inline int on_delete(const struct path *dir, struct dentry *dentry)
{
	struct changed_file f;

	if (!changed_watched(dentry, HIVE_ACCESS_DELETE, &f))
		return 0;
	return name_change(&f, HIVE_ACCESS_DELETE, HIVE_OTHER_TARGET, dir, dentry, 0);
}

static __always_inline int on_create(const struct path *dir, struct dentry *dentry, __u32 mode)
{
	struct changed_file f;

	if (!changed_watched(dentry, HIVE_ACCESS_CREATE, &f))
		return 0;
	return name_change(&f, HIVE_ACCESS_CREATE, HIVE_OTHER_TARGET, dir, dentry, mode);
}

/*
 * A rename, in three programs on the same hook (one would be more than the
 * verifier of older kernels takes): the file that moves (renamed away from
 * its name, or out of or within a tree), the file at the new name (renamed
 * over: its delete; exchanged: renamed too), and a watched new name or tree
 * (something arrives there).
 */
static __always_inline int on_rename_from(const struct path *new_dir, struct dentry *old_dentry,
					  struct dentry *new_dentry)
{
	struct changed_file f;

	if (changed_watched(old_dentry, HIVE_ACCESS_RENAME, &f))
		name_change(&f, HIVE_ACCESS_RENAME, HIVE_OTHER_TARGET, new_dir, new_dentry, 0);
	return 0;
}

static __always_inline int on_rename_over(const struct path *old_dir, struct dentry *old_dentry,
					  struct dentry *new_dentry, unsigned int flags)
{
	bool exchange = flags & RENAME_EXCHANGE;
	struct changed_file f;

	if (BPF_CORE_READ(new_dentry, d_inode) &&
	    changed_watched(new_dentry, exchange ? HIVE_ACCESS_RENAME : HIVE_ACCESS_DELETE, &f))
		name_change(&f, exchange ? HIVE_ACCESS_RENAME : HIVE_ACCESS_DELETE,
			    exchange ? HIVE_OTHER_TARGET : HIVE_OTHER_SOURCE, old_dir, old_dentry, 0);
	return 0;
}

static __always_inline int on_rename_to(const struct path *old_dir, struct dentry *old_dentry,
					struct dentry *new_dentry)
{
	struct changed_file f, from;

	if (!name_watched(new_dentry, old_dentry, HIVE_ACCESS_RENAME, &f))
		return 0;
	/* Within one tree, on_rename_from()'s record says it all. */
	if (f.by.flags == HIVE_EVENT_IN_TREE && tree_watched(old_dentry, NULL, HIVE_ACCESS_RENAME, &from) &&
	    from.by.dir.ino == f.by.dir.ino && from.by.dir.dev == f.by.dir.dev)
		return 0;
	return name_change(&f, HIVE_ACCESS_RENAME, HIVE_OTHER_SOURCE, old_dir, old_dentry, 0);
}

/* A hard link: to a watched file, or made at a watched name (a create). */
static __always_inline int on_link(struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry)
{
	struct changed_file f;

	if (changed_watched(old_dentry, HIVE_ACCESS_LINK, &f))
		name_change(&f, HIVE_ACCESS_LINK, HIVE_OTHER_TARGET, new_dir, new_dentry, 0);
	/* A link stays on its mount: the old name is on the new one's. */
	if (name_watched(new_dentry, old_dentry, HIVE_ACCESS_CREATE, &f))
		name_change(&f, HIVE_ACCESS_CREATE, HIVE_OTHER_SOURCE, new_dir, old_dentry, 0);
	return 0;
}

/* One program per mode for each hook: fentry reads its arguments from ctx,
 * kprobe from the registers. */
#define CHANGE_HOOK_AS(name, func, body)                                                                       \
	static __always_inline int change__##name(__u64 *ctx, struct pt_regs *regs)                            \
	{                                                                                                      \
		body;                                                                                          \
	}                                                                                                      \
	SEC("fentry/" #func)                                                                                   \
	int fentry__##name(__u64 *ctx)                                                                         \
	{                                                                                                      \
		return change__##name(ctx, NULL);                                                              \
	}                                                                                                      \
	SEC("kprobe/" #func)                                                                                   \
	int kprobe__##name(struct pt_regs *regs)                                                               \
	{                                                                                                      \
		return change__##name(NULL, regs);                                                             \
	}
#define CHANGE_HOOK(func, body) CHANGE_HOOK_AS(func, func, body)

#define ARG(i) hook_arg(ctx, regs, i)

/* fentry may only touch its context at constant offsets: one call per
 * argument layout, each with its own constant offsets. */
CHANGE_HOOK(security_inode_setattr, if (setattr_arg == 0) return on_setattr(ARG(0), ARG(1));
	    return on_setattr(ARG(1), ARG(2)))
CHANGE_HOOK(security_inode_setxattr, if (xattr_arg == 0) return on_xattr(ARG(0), ARG(1), 0);
	    return on_xattr(ARG(1), ARG(2), 0))
CHANGE_HOOK(security_inode_removexattr, if (xattr_arg == 0) return on_xattr(ARG(0), ARG(1), HIVE_CHANGED_REMOVED);
	    return on_xattr(ARG(1), ARG(2), HIVE_CHANGED_REMOVED))
/* 6.2+: ACLs have hooks of their own (before, they were xattrs). */
CHANGE_HOOK(security_inode_set_acl, return on_xattr(ARG(1), ARG(2), 0))
CHANGE_HOOK(security_inode_remove_acl, return on_xattr(ARG(1), ARG(2), HIVE_CHANGED_REMOVED))
CHANGE_HOOK(security_path_unlink, return on_delete(ARG(0), ARG(1)))
CHANGE_HOOK(security_path_rmdir, return on_delete(ARG(0), ARG(1)))
CHANGE_HOOK(security_path_mknod, return on_create(ARG(0), ARG(1), (__u32)(__u64)ARG(2) & 0xffff))
CHANGE_HOOK(security_path_mkdir, return on_create(ARG(0), ARG(1), S_IFDIR_ | ((__u32)(__u64)ARG(2) & 07777)))
CHANGE_HOOK(security_path_symlink, return on_create(ARG(0), ARG(1), S_IFLNK_ | 0777))
CHANGE_HOOK(security_path_rename, return on_rename_from(ARG(2), ARG(1), ARG(3)))
CHANGE_HOOK_AS(security_path_rename_over, security_path_rename,
	       return on_rename_over(ARG(0), ARG(1), ARG(3), (__u32)(__u64)ARG(4)))
CHANGE_HOOK_AS(security_path_rename_to, security_path_rename, return on_rename_to(ARG(0), ARG(1), ARG(3)))
CHANGE_HOOK(security_path_link, return on_link(ARG(0), ARG(1), ARG(2)))

#endif
