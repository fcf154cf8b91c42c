/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kernel/resolve.h"
#include "shared/abi.h"
#include "shared/hashmap.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/mountinfo.h"
#include "watch/change-marks.h"

/* On a file system that takes no filesystem mark (overlayfs), marks on the
 * inodes: a followed file's own attributes; a directory's entries and its
 * children's attributes. */
#define FILE_MARK_MASK (FAN_ATTRIB | FAN_MODIFY)
#define DIR_MARK_MASK  (MARK_MASK | FAN_EVENT_ON_CHILD)
#ifndef OVERLAYFS_SUPER_MAGIC
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#endif
/* On each followed regular file, wherever it is: a write or a truncation,
 * which the loader's record of truncate(2) calls tells apart
 * (loader_truncated()); nothing else sees truncate(2) of a path in
 * tracepoint mode. */
#define MODIFY_MARK_MASK FAN_MODIFY

/*
 * On a file system whose handles cannot be opened again (overlayfs: they are
 * made only to be compared, AT_HANDLE_FID): the path a followed file, or the
 * directory it is in, had when it was followed, and what it was there, for
 * change_marks_open() to open it by while it still is.
 */
struct fid_path {
	struct fid_key fid;
	char *path;
	dev_t dev;
	ino_t ino;
	unsigned refs;
};

/* A file system with followed files: where it is mounted, to open handles
 * and to mark it. Opened only while events are read. */
struct followed_fs {
	__kernel_fsid_t fsid;
	char *mount_point;
	int fd; /* while events are read, or -1 */
	unsigned refs;
	unsigned dirs;  /* followed directories: possible tree roots */
	bool per_inode; /* takes no filesystem mark: its files and directories are marked */
	bool marked;
	bool mark_failed; /* and said so */
};

struct ino_key {
	uint64_t ino;
	uint32_t dev;
	uint32_t zero; /* no padding: keys are hashed as bytes */
};

struct change_marks {
	int group;
	bool started;
	struct hashmap *files;  /* struct fid_key -> struct followed_file */
	struct hashmap *by_key; /* struct hive_watch_key -> struct followed_file */
	struct hashmap *by_ino; /* struct ino_key -> struct followed_file, for tree roots */
	struct hashmap *fss;    /* __kernel_fsid_t -> struct followed_fs */
	struct hashmap *paths;  /* struct fid_key -> struct fid_path */
	bool per_inode_said;    /* a file system followed per inode */
};

void file_look_of(const struct stat *st, struct file_look *ret)
{
	*ret = (struct file_look){
		.mode = st->st_mode, .uid = st->st_uid, .gid = st->st_gid, .size = st->st_size,
		.atime = st->st_atim, .mtime = st->st_mtim,
	};
}

static void fid_path_free(void *p)
{
	struct fid_path *fp = p;

	if (fp)
		free(fp->path);
	free(fp);
}

static void followed_fs_free(void *p)
{
	struct followed_fs *fs = p;

	if (fs && fs->fd >= 0)
		close(fs->fd);
	if (fs)
		free(fs->mount_point);
	free(fs);
}

struct change_marks *change_marks_new(int group)
{
	struct change_marks *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->group = group;
	m->files = hashmap_new();
	m->by_key = hashmap_new();
	m->by_ino = hashmap_new();
	m->fss = hashmap_new();
	m->paths = hashmap_new();
	if (!m->files || !m->by_key || !m->by_ino || !m->fss || !m->paths)
		return change_marks_free(m);
	return m;
}

struct change_marks *change_marks_free(struct change_marks *m)
{
	if (!m)
		return NULL;
	hashmap_free_with(m->files, free); /* by_key and by_ino hold the same values */
	hashmap_free(m->by_key);
	hashmap_free(m->by_ino);
	hashmap_free_with(m->fss, followed_fs_free);
	hashmap_free_with(m->paths, fid_path_free);
	free(m);
	return NULL;
}

struct followed_file *change_marks_file(const struct change_marks *m, const struct fid_key *fid)
{
	return hashmap_get(m->files, fid, fid_key_size(fid));
}

struct followed_file *change_marks_file_by_key(const struct change_marks *m, const struct hive_watch_key *key)
{
	return hashmap_get(m->by_key, key, sizeof(*key));
}

struct followed_file *change_marks_file_by_ino(const struct change_marks *m, uint64_t ino, uint32_t dev)
{
	return hashmap_get(m->by_ino, &(struct ino_key){ ino, dev }, sizeof(struct ino_key));
}

int change_marks_dirs(const struct change_marks *m, const __kernel_fsid_t *fsid)
{
	const struct followed_fs *fs = hashmap_get(m->fss, fsid, sizeof(*fsid));

	return fs ? (int)fs->dirs : -ENOENT;
}

/* A descriptor of fs's mount point, open until change_marks_close(): -errno when
 * it is no longer that file system. */
static int fs_fd(struct followed_fs *fs)
{
	struct statfs sfs;

	if (fs->fd >= 0)
		return fs->fd;
	fs->fd = open(fs->mount_point, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->fd < 0)
		return -errno;
	if (fstatfs(fs->fd, &sfs) < 0 || memcmp(&sfs.f_fsid, &fs->fsid, sizeof(fs->fsid)) != 0) {
		close(fs->fd);
		fs->fd = -1;
		return -ESTALE;
	}
	return fs->fd;
}

#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200 /* Linux 6.5 */
#endif

/* The handle fanotify will report for the file behind fd: on a file system
 * whose handles cannot be opened again (overlayfs), the kind made only to
 * be compared (6.5+). */
static bool handle_of(int fd, struct file_handle *fh, int *ret_mount_id)
{
	unsigned room = fh->handle_bytes;

	if (name_to_handle_at(fd, "", fh, ret_mount_id, AT_EMPTY_PATH) == 0)
		return fh->handle_bytes <= MAX_HANDLE_SZ;
	fh->handle_bytes = room;
	return name_to_handle_at(fd, "", fh, ret_mount_id, AT_EMPTY_PATH | AT_HANDLE_FID) == 0 &&
	       fh->handle_bytes <= MAX_HANDLE_SZ;
}

/* path opened (O_PATH) if it is still the file (dev, ino) there. No
 * symbolic link is followed: a container may have put one on the way since,
 * to point this agent at a host file. */
static int open_same(const char *path, dev_t dev, ino_t ino)
{
	_cleanup_(closep) int fd = resolve_open(-1, path, false);
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || st.st_dev != dev || st.st_ino != ino)
		return -ESTALE;
	return TAKE_FD(fd);
}

/* The path known for handle k (struct fid_path), opened if it is still
 * the same file there (flags: O_PATH, as change_marks_open()'s callers ask). */
static int open_fid_path(struct change_marks *m, const struct fid_key *k, int flags)
{
	const struct fid_path *fp = hashmap_get(m->paths, k, fid_key_size(k));

	return fp ? open_same(fp->path, fp->dev, fp->ino) : -ESTALE;
}

/* Know the file at path (fd, on file system fsid) by its handle, into
 * *ret: false where it has none. */
static bool fid_path_ref(struct change_marks *m, int fd, const char *path, const __kernel_fsid_t *fsid,
			 struct fid_key *ret)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[MAX_HANDLE_SZ];
	} h = { .fh.handle_bytes = MAX_HANDLE_SZ };
	struct fid_path *fp;
	struct stat st;
	int mount_id;

	if (fstat(fd, &st) < 0 || !handle_of(fd, &h.fh, &mount_id))
		return false;
	*ret = (struct fid_key){ .fsid = *fsid, .type = h.fh.handle_type, .len = h.fh.handle_bytes };
	memcpy(ret->bytes, h.fh.f_handle, h.fh.handle_bytes);
	fp = hashmap_get(m->paths, ret, fid_key_size(ret));
	if (fp) {
		fp->refs++;
		return true;
	}
	fp = calloc(1, sizeof(*fp));
	if (!fp || !(fp->path = strdup(path))) {
		free(fp);
		return false;
	}
	fp->fid = *ret;
	fp->dev = st.st_dev;
	fp->ino = st.st_ino;
	fp->refs = 1;
	if (hashmap_put(m->paths, &fp->fid, fid_key_size(&fp->fid), fp, NULL) < 0) {
		fid_path_free(fp);
		return false;
	}
	return true;
}

static void fid_path_unref(struct change_marks *m, const struct fid_key *k)
{
	struct fid_path *fp = hashmap_get(m->paths, k, fid_key_size(k));

	if (fp && --fp->refs == 0) {
		hashmap_remove(m->paths, k, fid_key_size(k));
		fid_path_free(fp);
	}
}

/* A descriptor of what handle k names (flags: open()'s), or -errno
 * (-ESTALE: gone). */
int change_marks_open(struct change_marks *m, const struct fid_key *k, int flags)
{
	struct followed_fs *fs = hashmap_get(m->fss, &k->fsid, sizeof(k->fsid));
	struct {
		struct file_handle fh;
		unsigned char bytes[MAX_HANDLE_SZ];
	} h;
	int fd;

	if (!fs)
		return -ENODEV;
	h.fh.handle_bytes = k->len;
	h.fh.handle_type = k->type;
	memcpy(h.fh.f_handle, k->bytes, k->len);
	if (fs->per_inode)
		return open_fid_path(m, k, flags);
	if (fs_fd(fs) < 0)
		return -ENODEV;
	fd = open_by_handle_at(fs->fd, &h.fh, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

void change_marks_close(struct change_marks *m)
{
	struct hashmap_iter it;
	struct followed_fs *fs;

	hashmap_iter_init(&it, m->fss);
	while (hashmap_iter_next(&it, NULL, NULL, (void **)&fs))
		if (fs->fd >= 0) {
			close(fs->fd);
			fs->fd = -1;
		}
}

static int mark_fs(struct change_marks *m, struct followed_fs *fs, bool add)
{
	char proc[64];
	int fd = fs_fd(fs), r = 0;

	if (fd < 0)
		return fd;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (fanotify_mark(m->group, (add ? FAN_MARK_ADD : FAN_MARK_REMOVE) | FAN_MARK_FILESYSTEM, MARK_MASK, AT_FDCWD,
			  proc) < 0)
		r = -errno;
	else
		fs->marked = add;
	close(fs->fd);
	fs->fd = -1;
	return r;
}

static void mark_fs_or_say(struct change_marks *m, struct followed_fs *fs)
{
	int r;

	if (fs->marked || fs->mark_failed || fs->per_inode)
		return;
	r = mark_fs(m, fs, true);
	if (r >= 0)
		return;
	fs->mark_failed = true;
	log_warning_errno(r, "Cannot follow changes on the file system mounted at %s through fanotify (%m): changes "
			     "to the files watched there are not recorded.",
			  fs->mount_point);
}

/* An inode mark on the file or directory behind fd (any descriptor, O_PATH
 * too). It holds no mount (a container's root still unmounts) and goes with
 * the inode, the file system or the group: never removed before, as the
 * file it is on cannot be opened again by its handle (AT_HANDLE_FID). */
static bool mark_inode(struct change_marks *m, int fd, unsigned flags, uint64_t mask)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (fanotify_mark(m->group, flags, mask, AT_FDCWD, proc) == 0)
		return true;
	log_debug_errno(errno, "Cannot %s fanotify mark on %s: %m", flags & FAN_MARK_REMOVE ? "remove the" : "add a",
			proc);
	return false;
}

/* Whether fd is a descriptor (closed here). */
static bool found_and_closed(int fd)
{
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Where the file behind fd (st: its stat) is in this agent's mount
 * namespace: the path the kernel has for it, which is a container's own when
 * it was reached through /proc/PID/root, then the same below the mount point
 * of its file system here. False when neither is that file. */
static bool own_path(const struct followed_fs *fs, int fd, const struct stat *st, char *buf, size_t size)
{
	char seen[PATH_MAX];

	if (resolve_fd_path_buf(fd, seen, sizeof(seen)) < 0 || seen[0] != '/')
		return false;
	if (snprintf(buf, size, "%s", seen) < (int)size && found_and_closed(open_same(buf, st->st_dev, st->st_ino)))
		return true;
	return snprintf(buf, size, "%s%s", strcmp(fs->mount_point, "/") == 0 ? "" : fs->mount_point, seen) <
		       (int)size &&
	       found_and_closed(open_same(buf, st->st_dev, st->st_ino));
}

/* The directory a followed file (at path) is in, where its removal, its
 * renames and its links made beside it are events: found by the path the
 * kernel had for the file (as this agent's mount namespace sees it), marked
 * and known by its path when it is on the same file system. A name a process
 * changes meanwhile marks another directory: events there name no followed
 * file. */
static void mark_parent(struct change_marks *m, struct followed_file *f, const char *path)
{
	_cleanup_(closep) int dir = -1;
	char parent[PATH_MAX], *slash;
	struct statfs sfs;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0'; /* "/x": the root */
	else
		*slash = '\0';
	dir = resolve_open(-1, parent, false);
	if (dir < 0 || fstatfs(dir, &sfs) < 0 || memcmp(&sfs.f_fsid, &f->fid.fsid, sizeof(f->fid.fsid)) != 0)
		return;
	(void)mark_inode(m, dir, FAN_MARK_ADD, DIR_MARK_MASK);
	f->has_parent = fid_path_ref(m, dir, parent, &f->fid.fsid, &f->parent);
}

struct mount_of {
	const struct stat *st;
	int mount_id;
	const __kernel_fsid_t *fsid;
	char *found;
};

static int mount_is_of(const struct mount_entry *e, void *userdata)
{
	struct mount_of *want = userdata;
	struct statfs sfs;
	int dir, r;

	/* Its own mount, or one of the same device (btrfs gives a
	 * subvolume's files a device of their own: the file system's id
	 * decides). */
	if (e->id != want->mount_id && makedev(e->major, e->minor) != want->st->st_dev)
		return 0;
	dir = open(e->point, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return 0;
	r = fstatfs(dir, &sfs);
	close(dir);
	if (r < 0 || memcmp(&sfs.f_fsid, want->fsid, sizeof(*want->fsid)) != 0)
		return 0;
	want->found = strdup(e->point);
	return 1;
}

/*
 * Where the file system of a followed file is mounted in this mount
 * namespace (a container's root is mounted here by its runtime too), from
 * mountinfo: a directory there, opened for reading, is what
 * open_by_handle_at() needs (it refuses O_PATH descriptors), and it counts
 * only once it is seen to be that file system.
 */
static char *find_mount_point(const struct stat *st, int mount_id, const __kernel_fsid_t *fsid)
{
	struct mount_of want = { st, mount_id, fsid, NULL };

	(void)mountinfo_foreach(mount_is_of, &want);
	return want.found;
}

static struct followed_fs *fs_follow(struct change_marks *m, const struct stat *st, int mount_id,
				     const struct statfs *sfs)
{
	const __kernel_fsid_t *fsid = (const __kernel_fsid_t *)&sfs->f_fsid;
	struct followed_fs *fs = hashmap_get(m->fss, fsid, sizeof(*fsid));

	if (fs) {
		fs->refs++;
		return fs;
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return NULL;
	fs->mount_point = find_mount_point(st, mount_id, fsid);
	fs->fsid = *fsid;
	fs->fd = -1;
	fs->refs = 1;
	/* overlayfs takes no filesystem mark (EOPNOTSUPP), inode marks since
	 * 6.6 (with AT_HANDLE_FID handles). */
	fs->per_inode = sfs->f_type == OVERLAYFS_SUPER_MAGIC;
	if (!fs->mount_point || hashmap_put(m->fss, fsid, sizeof(*fsid), fs, NULL) < 0) {
		free(fs->mount_point);
		free(fs);
		return NULL;
	}
	if (m->started)
		mark_fs_or_say(m, fs);
	if (fs->per_inode && !m->per_inode_said) {
		m->per_inode_said = true;
		log_info("Changes on overlayfs (the first at %s) are followed on each watched file, the directory it is "
			 "in and a tree's root: a tree's deeper entries and links made elsewhere are not seen.",
			 fs->mount_point);
	}
	return fs;
}

static void fs_unfollow(struct change_marks *m, const __kernel_fsid_t *fsid, bool dir)
{
	struct followed_fs *fs = hashmap_get(m->fss, fsid, sizeof(*fsid));

	if (!fs)
		return;
	if (dir && fs->dirs)
		fs->dirs--;
	if (--fs->refs)
		return;
	if (fs->marked)
		(void)mark_fs(m, fs, false);
	hashmap_remove(m->fss, fsid, sizeof(*fsid));
	if (fs->fd >= 0)
		close(fs->fd);
	free(fs->mount_point);
	free(fs);
}

/* What following f took, given back. */
static void forget(struct change_marks *m, struct followed_file *f)
{
	if (f->by_path)
		fid_path_unref(m, &f->fid);
	if (f->has_parent)
		fid_path_unref(m, &f->parent);
	if (f->modify_marked) {
		_cleanup_(closep) int fd = change_marks_open(m, &f->fid, O_PATH);

		/* A file gone took its mark along. */
		if (fd >= 0)
			(void)mark_inode(m, fd, FAN_MARK_REMOVE, MODIFY_MARK_MASK);
		change_marks_close(m);
	}
	fs_unfollow(m, &f->fid.fsid, f->dir);
	free(f);
}

bool change_marks_follow(struct change_marks *m, int fd, const struct hive_watch_key *key)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[MAX_HANDLE_SZ];
	} h = { .fh.handle_bytes = MAX_HANDLE_SZ };
	struct followed_file *f;
	struct followed_fs *fs;
	struct statfs sfs;
	struct stat st;
	int mount_id;

	if (fd < 0)
		return false;
	f = hashmap_get(m->by_key, key, sizeof(*key));
	if (f) {
		f->refs++;
		return false;
	}
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0 || !handle_of(fd, &h.fh, &mount_id))
		return false; /* a file system without handles: no change is told of it */
	f = calloc(1, sizeof(*f));
	if (!f)
		return false;
	f->key = *key;
	f->refs = 1;
	f->dir = S_ISDIR(st.st_mode);
	file_look_of(&st, &f->look);
	memcpy(&f->fid.fsid, &sfs.f_fsid, sizeof(f->fid.fsid));
	f->fid.type = h.fh.handle_type;
	f->fid.len = h.fh.handle_bytes;
	memcpy(f->fid.bytes, h.fh.f_handle, h.fh.handle_bytes);
	fs = fs_follow(m, &st, mount_id, &sfs);
	if (!fs) {
		free(f);
		return false;
	}
	/* Marked from the first: the descriptor is at hand only now. Events
	 * before the start are read and left. */
	if (fs->per_inode) {
		char path[PATH_MAX];

		(void)mark_inode(m, fd, FAN_MARK_ADD, f->dir ? DIR_MARK_MASK : FILE_MARK_MASK);
		if (own_path(fs, fd, &st, path, sizeof(path)) &&
		    (f->by_path = fid_path_ref(m, fd, path, &f->fid.fsid, &(struct fid_key){})) && !f->dir)
			mark_parent(m, f, path);
	} else if (S_ISREG(st.st_mode))
		f->modify_marked = mark_inode(m, fd, FAN_MARK_ADD, MODIFY_MARK_MASK);
	if (f->dir)
		fs->dirs++;
	if (hashmap_put(m->files, &f->fid, fid_key_size(&f->fid), f, NULL) < 0 ||
	    hashmap_put(m->by_key, key, sizeof(*key), f, NULL) < 0 ||
	    hashmap_put(m->by_ino, &(struct ino_key){ key->ino, key->dev }, sizeof(struct ino_key), f, NULL) < 0) {
		hashmap_remove(m->files, &f->fid, fid_key_size(&f->fid));
		hashmap_remove(m->by_key, key, sizeof(*key));
		forget(m, f);
		return false;
	}
	return f->dir;
}

bool change_marks_unfollow(struct change_marks *m, const struct hive_watch_key *key)
{
	struct followed_file *f;
	bool dir;

	if (!(f = hashmap_get(m->by_key, key, sizeof(*key))) || --f->refs)
		return false;
	hashmap_remove(m->files, &f->fid, fid_key_size(&f->fid));
	hashmap_remove(m->by_key, key, sizeof(*key));
	if (hashmap_get(m->by_ino, &(struct ino_key){ key->ino, key->dev }, sizeof(struct ino_key)) == f)
		hashmap_remove(m->by_ino, &(struct ino_key){ key->ino, key->dev }, sizeof(struct ino_key));
	dir = f->dir;
	forget(m, f);
	return dir;
}

void change_marks_start(struct change_marks *m, bool on)
{
	struct hashmap_iter it;
	struct followed_fs *fs;

	if (m->started != on) {
		hashmap_iter_init(&it, m->fss);
		while (hashmap_iter_next(&it, NULL, NULL, (void **)&fs)) {
			if (on)
				mark_fs_or_say(m, fs);
			else {
				if (fs->marked)
					(void)mark_fs(m, fs, false);
				fs->mark_failed = false;
			}
		}
	}
	m->started = on;
}

