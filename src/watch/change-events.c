/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "kernel/loader.h"
#include "kernel/resolve.h"
#include "shared/abi.h"
#include "shared/fileio.h"
#include "shared/hashmap.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "shared/proc-stat.h"
#include "watch/change-events.h"
#include "watch/change-marks.h"
#include "watch/proc-who.h"
#include "watch/fanotify-event.h"
#include "watch/watch.h"

/* What fanotify tells apart, through the marks of change-marks.h: truncate(2)
 * of a path with the loader's record of the call (loader_truncated()). */
#define SEEN_KINDS                                                                                             \
	(HIVE_ACCESS_ATTRIB | HIVE_ACCESS_CREATE | HIVE_ACCESS_DELETE | HIVE_ACCESS_RENAME | HIVE_ACCESS_LINK | \
	 HIVE_ACCESS_TRUNCATE)

/* Whether a directory is in a watched tree, as last found. */
struct dir_place {
	struct hive_watch_key key;  /* the directory's number and device (ino 0: unknown) */
	struct hive_watch_key root; /* of the tree it is in (ino 0: none) */
};
#define DIR_CACHE_MAX 4096

/*
 * A directory removed in the events read at once: where it was. The events
 * before its removal name it by a handle that no longer opens (rm -r, the
 * kubelet's cleanup of its last "..<timestamp>" directory): their directory
 * is found through it, up to one that still opens.
 */
struct gone_dir {
	struct fid_key fid, parent;
	char name[NAME_MAX + 1];
};
#define GONE_DIRS_MAX 256

struct change_events {
	int fd;
	const struct watch_set *set;
	change_event_fn fn;
	void *userdata;
	struct loader *loader; /* NULL: stopped */
	struct change_marks *marks;
	struct hashmap *dirs;   /* struct fid_key -> struct dir_place */
	char cgroup2[PATH_MAX]; /* where the cgroup2 hierarchy is mounted here; "": nowhere */
	struct change_events_stats stats;
	struct gone_dir gone[GONE_DIRS_MAX]; /* in the events being read */
	size_t n_gone;
	struct dir_place gone_place; /* what dir_place_of() says of a removed one */
	/* Events are read in large batches: a removed directory's own event
	 * is then mostly in the same read as those of what was in it. */
	alignas(4) unsigned char buf[1 << 16];
	/* Events whose directory went, until the next read says where it was. */
	alignas(4) unsigned char deferred[1 << 14];
	size_t deferred_len;
	bool unresolved; /* dir_place_of() met a directory gone, and not told where */
	struct hive_event who; /* the last acting thread of this read, while who_known */
	struct hive_lineage who_lineage; /* and its ancestors */
	struct hive_event who_before; /* and who it was before an exec, if who_execd */
	bool who_known, who_execd;
	/* CLOCK_BOOTTIME before the last read that found the queue empty:
	 * every event read since was made after it. 0: not known (a group
	 * kept from the agent before). The same for the events put off, as of
	 * the read the first of them came in. */
	uint64_t drained_ns, deferred_drained_ns;
	uint64_t floor_ns; /* of the events being placed now: one of the two */
	const struct followed_file *root_path_of; /* root_path is its, in this read */
	char root_path[PATH_MAX];
	enum { CHILD_UNKNOWN, CHILD_THERE, CHILD_GONE } child_state; /* of child_st, in this event */
	struct stat child_st;
};

/* The "fanotify flags:... event-flags:..." line of a group's fdinfo: how
 * it was made. */
static bool group_flags(int fd, char *buf, size_t size)
{
	_cleanup_(freep) char *info = NULL;
	char path[64];
	const char *line;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (read_small_file(path, 1 << 20, &info, NULL) < 0 || !(line = strstr(info, "fanotify flags:")))
		return false;
	snprintf(buf, size, "%.*s", (int)strcspn(line, "\n"), line);
	return true;
}

int change_events_new(const struct watch_set *set, change_event_fn fn, void *userdata, int kept_fd,
		      struct change_events **ret)
{
	char made[128], kept[128];
	struct change_events *c;
	bool adopted = false;
	int fd;

	fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME_TARGET | FAN_REPORT_TID,
			   O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fd < 0) {
		if (kept_fd >= 0)
			close(kept_fd);
		return -errno;
	}
	/* The previous agent's group, if it is one like ours. */
	if (kept_fd >= 0) {
		if (group_flags(fd, made, sizeof(made)) && group_flags(kept_fd, kept, sizeof(kept)) &&
		    strcmp(made, kept) == 0 && fcntl(kept_fd, F_SETFL, O_NONBLOCK) >= 0) {
			close(fd);
			fd = kept_fd;
			adopted = true;
		} else
			close(kept_fd);
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	*c = (struct change_events){ .fd = fd, .set = set, .fn = fn, .userdata = userdata };
	c->marks = change_marks_new(fd);
	c->dirs = hashmap_new();
	if (!c->marks || !c->dirs) {
		change_events_free(c);
		return -ENOMEM;
	}
	proc_who_cgroup2(c->cgroup2);
	*ret = c;
	return adopted;
}

static void dirs_forget(struct change_events *c)
{
	hashmap_free_with(c->dirs, free);
	c->dirs = hashmap_new();
}

struct change_events *change_events_free(struct change_events *c)
{
	if (!c)
		return NULL;
	change_marks_free(c->marks);
	hashmap_free_with(c->dirs, free);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return NULL;
}

void change_events_follow(struct change_events *c, int fd, const struct hive_watch_key *key)
{
	if (c && change_marks_follow(c->marks, fd, key))
		dirs_forget(c);
}

void change_events_unfollow(struct change_events *c, const struct hive_watch_key *key)
{
	if (c && change_marks_unfollow(c->marks, key))
		dirs_forget(c);
}

uint32_t change_events_start(struct change_events *c, struct loader *l)
{
	if (!c)
		return 0;
	change_marks_start(c->marks, l != NULL);
	c->loader = l;
	return l ? SEEN_KINDS : 0;
}

int change_events_fd(const struct change_events *c)
{
	return c->fd;
}

void change_events_stats_get(const struct change_events *c, struct change_events_stats *ret)
{
	*ret = c ? c->stats : (struct change_events_stats){};
}

/* ---- who acted ---- */

static bool is_self(uint32_t tid)
{
	char path[64];

	if (tid == (uint32_t)getpid())
		return true;
	snprintf(path, sizeof(path), "/proc/self/task/%" PRIu32, tid);
	return access(path, F_OK) == 0;
}

/* The process fields of an event (who), from another's. */
static void copy_who(struct hive_event *to, const struct hive_event *from)
{
	to->tid = from->tid;
	to->tgid = from->tgid;
	to->ppid = from->ppid;
	to->uid = from->uid;
	to->gid = from->gid;
	to->euid = from->euid;
	to->fsuid = from->fsuid;
	to->cgroup_id = from->cgroup_id;
	to->exe_file = from->exe_file;
	to->auid = from->auid;
	to->sessionid = from->sessionid;
	to->flags = (to->flags & ~HIVE_EVENT_EXE_TRUNCATED) | (from->flags & HIVE_EVENT_EXE_TRUNCATED);
	memcpy(to->comm, from->comm, sizeof(to->comm));
	memcpy(to->tty, from->tty, sizeof(to->tty));
	memcpy(to->exe, from->exe, sizeof(to->exe));
}

/*
 * Who thread tid was before an exec that may have come after its change:
 * one the loader kept (loader_before_exec()), made after every event read
 * before this one could have been (c->floor_ns), and another program than
 * the thread runs now (who, or NULL when it is gone without a trace). A
 * thread still running started before its exec: an older entry is another
 * thread's that had its id.
 */
static bool execd_after(struct change_events *c, uint32_t tid, const struct hive_event *who, bool running,
			struct hive_event *ret)
{
	uint64_t start_usec;

	if (!tid || !c->loader || loader_before_exec(c->loader, tid, ret) < 0 || ret->boot_ns <= c->floor_ns)
		return false;
	if (running && (proc_start_usec((pid_t)tid, &start_usec) < 0 || ret->boot_ns / 1000 < start_usec))
		return false;
	/* (/proc gives no generation: the same file is the same number on the
	 * same device.) */
	return !who || who->exe_file.ino != ret->exe_file.ino || who->exe_file.dev != ret->exe_file.dev ||
	       memcmp(who->comm, ret->comm, sizeof(who->comm));
}

static void who_acted(struct change_events *c, uint32_t tid, struct hive_event *ev)
{
	struct hive_event *who = &c->who;

	/* The same thread as the last event of this read: as it was then. */
	if (c->who_known && who->tid == tid) {
		copy_who(ev, who);
		return;
	}
	*who = (struct hive_event){ .tid = tid };
	c->who_lineage.n = 0;
	c->who_execd = false;
	if (tid && proc_who(c->cgroup2, tid, who)) {
		proc_lineage(who->tgid, &c->who_lineage);
		c->who_execd = execd_after(c, tid, who, true, &c->who_before);
	} else if (tid && c->loader && loader_exited(c->loader, tid, who) >= 0)
		c->who_execd = execd_after(c, tid, who, false, &c->who_before);
	else if (!execd_after(c, tid, NULL, false, who) &&
		 (!tid || !c->loader || loader_changed(c->loader, tid, who) < 0)) {
		/* Gone, and not seen leaving: its id is all there is. */
		*who = (struct hive_event){ .tgid = tid, .auid = HIVE_ID_UNSET, .sessionid = HIVE_ID_UNSET };
		snprintf(who->comm, sizeof(who->comm), "?");
	}
	/* (A thread that exec'd while not its process's first takes the
	 * process's id: this one then names no thread, and who it was before
	 * the exec made the change. One killed made no exit call: who it was at
	 * its first change since its exec is what is known.) */
	who->tid = tid;
	c->who_known = true;
	copy_who(ev, who);
}

/* ---- what an event names ---- */

/* s into out (HIVE_PATH_LEN), its leading bytes lost when too long:
 * whether they were. */
static bool keep_tail(const char *s, char out[static HIVE_PATH_LEN])
{
	size_t len = strlen(s);

	if (len < HIVE_PATH_LEN) {
		memcpy(out, s, len + 1);
		return false;
	}
	memcpy(out, s + len - (HIVE_PATH_LEN - 1), HIVE_PATH_LEN);
	return true;
}

#define ENTRY_PATH_MAX (PATH_MAX + NAME_MAX + 2)

/* The path of name in directory n.dir, as this process sees it; "?/name"
 * where the directory cannot be opened. */
static const struct gone_dir *gone_find(const struct change_events *c, const struct fid_key *fid)
{
	for (size_t i = 0; i < c->n_gone; i++)
		if (c->gone[i].fid.len == fid->len && memcmp(&c->gone[i].fid, fid, fid_key_size(fid)) == 0)
			return &c->gone[i];
	return NULL;
}

/* Directory fid, opened, or its nearest ancestor that still opens when it
 * was removed in these events (*ret_chain: the removed ones, nearest
 * first, *ret_n of them). -errno when neither. */
static int open_dir_or_ancestor(struct change_events *c, const struct fid_key *fid,
				const struct gone_dir *chain[static HIVE_TREE_DEPTH], size_t *ret_n)
{
	*ret_n = 0;
	for (const struct fid_key *at = fid;;) {
		int fd = change_marks_open(c->marks, at, O_PATH | O_DIRECTORY);

		if (fd >= 0 || *ret_n == HIVE_TREE_DEPTH || !(chain[*ret_n] = gone_find(c, at)))
			return fd;
		at = &chain[(*ret_n)++]->parent;
	}
}

/* Where directory fid is (or was, when removed in these events), as this
 * process sees it. */
static bool dir_path(struct change_events *c, const struct fid_key *fid, char *buf, size_t size)
{
	const struct gone_dir *chain[HIVE_TREE_DEPTH];
	_cleanup_(closep) int fd = -1;
	size_t n, len;

	fd = open_dir_or_ancestor(c, fid, chain, &n);
	if (fd < 0)
		c->unresolved = true;
	if (fd < 0 || resolve_fd_path_buf(fd, buf, size) < 0)
		return false;
	while (n--) {
		len = strlen(buf);
		if (snprintf(buf + len, size - len, "%s%s", len == 1 ? "" : "/", chain[n]->name) >= (int)(size - len))
			return false;
	}
	return true;
}

static void entry_full_path(struct change_events *c, const struct event_name *n, char path[static ENTRY_PATH_MAX])
{
	char dir[PATH_MAX] = "?";

	if (n->dir && !dir_path(c, n->dir, dir, sizeof(dir)))
		snprintf(dir, sizeof(dir), "?");
	snprintf(path, ENTRY_PATH_MAX, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", n->name ? n->name : "?");
}

/* The same into out: whether it lost its leading bytes. */
static bool entry_path(struct change_events *c, const struct event_name *n, char out[static HIVE_PATH_LEN])
{
	char path[ENTRY_PATH_MAX];

	entry_full_path(c, n, path);
	return keep_tail(path, out);
}

/* The tree's root a directory is in: walk its parents ("..": the kernel's
 * dentries, never a path) up to a followed directory that roots a tree. */
static void find_tree(struct change_events *c, int dir_fd, struct hive_watch_key *ret)
{
	_cleanup_(closep) int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);

	for (unsigned depth = 0; fd >= 0 && depth <= HIVE_TREE_DEPTH; depth++) {
		const struct watch_inode *w;
		struct followed_file *f;
		struct stat st, parent;
		int up;

		if (fstat(fd, &st) < 0)
			return;
		f = change_marks_file_by_ino(c->marks, st.st_ino, kernel_dev_from_user(st.st_dev));
		w = f ? watch_set_find(c->set, 0, &f->key) : NULL;
		/* A tree of a directory's own entries holds nothing deeper. */
		if (w && (w->tree_access || (depth == 0 && w->entries_access))) {
			*ret = f->key;
			return;
		}
		up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0)
			return;
		if (fstat(up, &parent) < 0 || (parent.st_ino == st.st_ino && parent.st_dev == st.st_dev)) {
			close(up);
			return; /* the top */
		}
		close(fd);
		fd = up;
	}
}

/* What a directory an event names is: its key, the tree it is in. Cached
 * (until a directory moves or goes, or one is followed or no longer). */
static const struct dir_place *dir_place_of(struct change_events *c, const struct fid_key *fid)
{
	int dirs = change_marks_dirs(c->marks, &fid->fsid);
	struct dir_place *place = hashmap_get(c->dirs, fid, fid_key_size(fid));
	_cleanup_(closep) int fd = -1;
	struct stat st;

	if (place || dirs < 0)
		return place;
	fd = change_marks_open(c->marks, fid, O_PATH | O_DIRECTORY);
	if (fd < 0) {
		/* Removed since: in the tree its nearest existing ancestor
		 * is in, at no key of its own. Not kept. */
		const struct gone_dir *chain[HIVE_TREE_DEPTH];
		const struct dir_place *ancestor;
		_cleanup_(closep) int up = -1;
		size_t n;

		up = open_dir_or_ancestor(c, fid, chain, &n);
		if (up < 0 || n == 0 || !(ancestor = dir_place_of(c, &chain[n - 1]->parent))) {
			c->unresolved = true;
			return NULL;
		}
		c->gone_place = (struct dir_place){ .root = ancestor->root };
		return &c->gone_place;
	}
	place = calloc(1, sizeof(*place));
	if (!place)
		return NULL;
	if (fstat(fd, &st) == 0) {
		/* No generation: names are found by number and device. */
		place->key = (struct hive_watch_key){ .ino = st.st_ino, .dev = kernel_dev_from_user(st.st_dev) };
		if (dirs > 0)
			find_tree(c, fd, &place->root);
	}
	if (hashmap_size(c->dirs) >= DIR_CACHE_MAX)
		dirs_forget(c);
	if (hashmap_put(c->dirs, fid, fid_key_size(fid), place, NULL) < 0) {
		free(place);
		return NULL;
	}
	return place;
}

/* The watched tree directory fid is in, at any depth, that wants kind: its
 * root's followed file, or NULL. */
static const struct followed_file *tree_of(struct change_events *c, const struct fid_key *fid, uint32_t kind)
{
	const struct dir_place *place = dir_place_of(c, fid);
	const struct followed_file *root;
	const struct watch_inode *w;

	if (!place || !place->root.ino || !(root = change_marks_file_by_key(c->marks, &place->root)))
		return NULL;
	w = watch_set_find(c->set, 0, &root->key);
	return w && (w->tree_access | w->entries_access) & kind ? root : NULL;
}

/* The watched name n is, with its directory's key, or NULL. */
static const struct watch_inode *watched_name(struct change_events *c, const struct event_name *n,
					      struct hive_watch_key *ret_dir)
{
	const struct dir_place *place;
	const struct watch_inode *w;

	if (!n->dir || !n->name || !(place = dir_place_of(c, n->dir)) || !place->key.ino)
		return NULL;
	w = watch_set_find_name_at(c->set, place->key.ino, place->key.dev, n->name);
	if (w)
		*ret_dir = w->file;
	return w;
}

/* Where entry n is below root: "sub/f". */
/* Where a tree's root is, as this process sees it: asked once per read. */
static const char *root_path(struct change_events *c, const struct followed_file *root)
{
	_cleanup_(closep) int fd = -1;

	if (c->root_path_of == root)
		return c->root_path;
	c->root_path_of = NULL;
	fd = change_marks_open(c->marks, &root->fid, O_PATH | O_DIRECTORY);
	if (fd < 0 || resolve_fd_path_buf(fd, c->root_path, sizeof(c->root_path)) < 0)
		return NULL;
	c->root_path_of = root;
	return c->root_path;
}

/* Where the entry at full (its name: name) is below root: "sub/f". */
static bool below_root(struct change_events *c, const struct followed_file *root, const char *full, const char *name,
		       char out[static HIVE_PATH_LEN])
{
	const char *top = root_path(c, root);
	size_t len;

	if (!top)
		return keep_tail(name ? name : "?", out);
	len = strcmp(top, "/") == 0 ? 0 : strlen(top);
	if (strncmp(full, top, len) == 0 && full[len] == '/')
		return keep_tail(full + len + 1, out);
	return keep_tail(name ? name : "?", out);
}

/* What an attribute change changed, against how the file looked before. */
static void attrib_values(struct change_events *c, struct followed_file *f, const struct fid_key *fid,
			  struct hive_ext *ext)
{
	_cleanup_(closep) int fd = change_marks_open(c->marks, fid, O_PATH);
	struct file_look now;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	file_look_of(&st, &now);
	ext->mode = now.mode & 07777;
	ext->uid = now.uid;
	ext->gid = now.gid;
	ext->size = now.size;
	if (!f) {
		ext->changed = HIVE_CHANGED_MODE | HIVE_CHANGED_UID | HIVE_CHANGED_GID;
		return;
	}
	ext->changed |= now.mode != f->look.mode ? HIVE_CHANGED_MODE : 0;
	ext->changed |= now.uid != f->look.uid ? HIVE_CHANGED_UID : 0;
	ext->changed |= now.gid != f->look.gid ? HIVE_CHANGED_GID : 0;
	ext->changed |= now.size != f->look.size ? HIVE_CHANGED_SIZE : 0;
	ext->changed |= memcmp(&now.atime, &f->look.atime, sizeof(now.atime)) ? HIVE_CHANGED_ATIME : 0;
	ext->changed |= memcmp(&now.mtime, &f->look.mtime, sizeof(now.mtime)) ? HIVE_CHANGED_MTIME : 0;
	f->look = now;
}

static void emit(struct change_events *c, struct hive_ext_event *ce, uint32_t tid)
{
	/* The change, then its lineage as the ring buffer has them, then who
	 * the thread was before an exec (shared/abi.h says where each is). */
	alignas(struct hive_event) unsigned char full[sizeof(struct hive_ext_lin_event) + sizeof(struct hive_event)];
	size_t len = sizeof(*ce);

	ce->ev.boot_ns = clock_nsec(CLOCK_BOOTTIME);
	who_acted(c, tid, &ce->ev);
	ce->ev.flags |= HIVE_EVENT_EXT;
	c->stats.reported++;
	if (!c->who_lineage.n && !c->who_execd) {
		c->fn(ce, c->userdata);
		return;
	}
	ce->ev.flags |= (c->who_lineage.n ? HIVE_EVENT_LINEAGE : 0) | (c->who_execd ? HIVE_EVENT_BEFORE_EXEC : 0);
	memcpy(full, ce, len);
	if (c->who_lineage.n) {
		memcpy(full + len, &c->who_lineage, sizeof(c->who_lineage));
		len += sizeof(c->who_lineage);
	}
	if (c->who_execd)
		memcpy(full + len, &c->who_before, sizeof(c->who_before));
	c->fn((const struct hive_ext_event *)full, c->userdata);
}

/* How many names the event's file has now (0: gone). */
/* What stat() says of the event's file, if it is still there: asked once
 * per event. */
static const struct stat *child_stat(struct change_events *c, const struct parsed_event *e)
{
	_cleanup_(closep) int fd = -1;

	if (c->child_state == CHILD_UNKNOWN) {
		fd = e->has_child ? change_marks_open(c->marks, &e->child, O_PATH) : -1;
		c->child_state = fd >= 0 && fstat(fd, &c->child_st) == 0 ? CHILD_THERE : CHILD_GONE;
	}
	return c->child_state == CHILD_THERE ? &c->child_st : NULL;
}

static nlink_t child_links(struct change_events *c, const struct parsed_event *e)
{
	const struct stat *st = child_stat(c, e);

	return st ? st->st_nlink : 0;
}

/* The kind an event is for a watched file itself (its handle is the
 * event's child), 0: none. */
static uint32_t file_kind(const struct parsed_event *e, nlink_t nlink)
{
	/* A write (seen as its open) or a truncation: see on_watched_file(). */
	if (e->mask & FAN_MODIFY)
		return HIVE_ACCESS_TRUNCATE;
	if (e->mask & FAN_RENAME)
		return HIVE_ACCESS_RENAME;
	if (e->mask & FAN_DELETE)
		return HIVE_ACCESS_DELETE;
	/* A new name for a file that was there before: a link. A file made
	 * and renamed onto a watched path before its creation is read is
	 * followed by then too: it has one name. */
	if (e->mask & FAN_CREATE)
		return nlink > 1 ? HIVE_ACCESS_LINK : 0;
	/* Without a name, an attribute event is the link count's (a link or
	 * an unlink, told by its own event): chmod and the like have one. */
	if (e->mask & FAN_ATTRIB && e->entry.dir)
		return HIVE_ACCESS_ATTRIB;
	return 0;
}

static void on_watched_file(struct change_events *c, const struct parsed_event *e, struct followed_file *f)
{
	const struct watch_inode *w = watch_set_find(c->set, 0, &f->key);
	uint32_t kind = file_kind(e, e->mask & FAN_CREATE ? child_links(c, e) : 0);
	struct hive_ext_event ce = {};
	int64_t length;

	/* The thread's truncate(2) is taken with the modification it made,
	 * whether asked for or not: left, it would name a later write. */
	if (kind == HIVE_ACCESS_TRUNCATE) {
		if (!e->tid || !c->loader || loader_truncated(c->loader, e->tid, &length) < 0)
			return;
		ce.ext.size = length;
		ce.ext.changed |= HIVE_CHANGED_SIZE;
	}
	if (!w || !kind || !(w->access & kind))
		return;
	ce.ev.ino = f->key.ino;
	ce.ev.dev = f->key.dev;
	ce.ev.gen = f->key.gen;
	ce.ev.watch_id = w->id;
	ce.ev.mask = kind;
	if (kind == HIVE_ACCESS_ATTRIB)
		attrib_values(c, f, &e->child, &ce.ext);
	else if (kind != HIVE_ACCESS_TRUNCATE) {
		const struct event_name *other = kind == HIVE_ACCESS_RENAME ? &e->new : &e->entry;

		ce.ext.other_kind = HIVE_OTHER_TARGET;
		if (entry_path(c, other, ce.ext.other))
			ce.ext.changed |= HIVE_CHANGED_OTHER_TRUNCATED;
	}
	emit(c, &ce, e->tid);
}

/* The file an event names (its child), when it is still there: its inode,
 * and for a create its mode, type bits included, as the hooks tell it. */
static void child_values(struct change_events *c, const struct parsed_event *e, struct hive_ext_event *ce)
{
	const struct stat *st = child_stat(c, e);

	if (!st)
		return;
	ce->ev.ino = st->st_ino;
	ce->ev.dev = kernel_dev_from_user(st->st_dev);
	if (ce->ev.mask == HIVE_ACCESS_CREATE) {
		ce->ext.mode = st->st_mode;
		ce->ext.changed |= HIVE_CHANGED_MODE;
	}
}

/* The kinds an event may be for an entry of a watched tree: a create may be
 * a link, told once the tree is found (tree_kind()). */
static uint32_t tree_kinds(const struct parsed_event *e)
{
	if (e->mask & FAN_RENAME)
		return HIVE_ACCESS_RENAME;
	if (e->mask & FAN_DELETE)
		return HIVE_ACCESS_DELETE;
	if (e->mask & FAN_CREATE)
		return HIVE_ACCESS_CREATE | HIVE_ACCESS_LINK;
	if (e->mask & FAN_ATTRIB && e->entry.dir)
		return HIVE_ACCESS_ATTRIB;
	return 0;
}

/* Which one: a second name of a file (never a directory's) is a link. */
static uint32_t tree_kind(struct change_events *c, const struct parsed_event *e, uint32_t kinds)
{
	if (kinds != (HIVE_ACCESS_CREATE | HIVE_ACCESS_LINK))
		return kinds;
	return !(e->mask & FAN_ONDIR) && e->has_child && child_links(c, e) > 1 ? HIVE_ACCESS_LINK : HIVE_ACCESS_CREATE;
}

/* False when a directory of the event could not be placed (c->unresolved). */
static bool on_tree_entry(struct change_events *c, const struct parsed_event *e, bool final)
{
	char full[ENTRY_PATH_MAX];
	uint32_t kind = tree_kinds(e);
	const struct event_name *in = NULL, *other = NULL;
	const struct followed_file *root = NULL;
	struct hive_ext_event ce = {};
	const struct watch_inode *w;

	if (!kind)
		return true;
	if (kind == HIVE_ACCESS_RENAME) {
		/* Into, out of, or within a tree: named where it is in one. */
		if (e->old.dir && (root = tree_of(c, e->old.dir, kind)))
			in = &e->old, other = &e->new;
		else if (e->new.dir && (root = tree_of(c, e->new.dir, kind)))
			in = &e->new, other = &e->old;
	} else if (e->entry.dir && (root = tree_of(c, e->entry.dir, kind))) {
		in = &e->entry;
		/* The entry made or removed is named, as the hooks name it. */
		if (kind != HIVE_ACCESS_ATTRIB)
			other = &e->entry;
	}
	if (!root || !(w = watch_set_find(c->set, 0, &root->key)))
		return !c->unresolved;
	kind = tree_kind(c, e, kind);
	/* Where in the tree, before anything is said: a directory on the way
	 * may have gone and be told of by the next read. */
	entry_full_path(c, in, full);
	if (below_root(c, root, full, in->name, ce.ext.below))
		ce.ext.changed |= HIVE_CHANGED_BELOW_TRUNCATED;
	if (c->unresolved && !final)
		return false;
	/* The root's own entries: what its shallow trees want too. */
	if (!((w->tree_access | (strchr(ce.ext.below, '/') ? 0 : w->entries_access)) & kind))
		return true;
	ce.ev.watch_id = w->id;
	ce.ev.dir = root->key;
	ce.ev.flags = HIVE_EVENT_IN_TREE;
	ce.ev.mask = kind;
	child_values(c, e, &ce);
	if (kind == HIVE_ACCESS_ATTRIB && e->has_child)
		attrib_values(c, NULL, &e->child, &ce.ext);
	if (other) {
		ce.ext.other_kind = other == &e->old ? HIVE_OTHER_SOURCE : HIVE_OTHER_TARGET;
		if (other == in ? keep_tail(full, ce.ext.other) : entry_path(c, other, ce.ext.other))
			ce.ext.changed |= HIVE_CHANGED_OTHER_TRUNCATED;
	}
	emit(c, &ce, e->tid);
	return true;
}

/* A create at a watched name, or a rename onto one: the file that is there
 * now is the watched one (its entry follows as the path is resolved again),
 * and this is its first change. False when n is no watched name. */
static bool on_watched_name(struct change_events *c, const struct parsed_event *e)
{
	bool rename = e->mask & FAN_RENAME;
	const struct event_name *n = rename ? &e->new : &e->entry;
	uint32_t kind = rename ? HIVE_ACCESS_RENAME : HIVE_ACCESS_CREATE;
	struct hive_ext_event ce = {};
	const struct watch_inode *w;

	if (!(e->mask & (FAN_CREATE | FAN_RENAME)) || !(w = watched_name(c, n, &ce.ev.dir)))
		return false;
	if (!(w->access & kind))
		return true;
	ce.ev.watch_id = w->id;
	ce.ev.flags = HIVE_EVENT_BY_NAME;
	ce.ev.mask = kind;
	child_values(c, e, &ce);
	/* Where it came from, or what was made, as the hooks name it. */
	ce.ext.other_kind = rename ? HIVE_OTHER_SOURCE : HIVE_OTHER_TARGET;
	if (entry_path(c, rename ? &e->old : n, ce.ext.other))
		ce.ext.changed |= HIVE_CHANGED_OTHER_TRUNCATED;
	emit(c, &ce, e->tid);
	return true;
}

/* One kind of change of the event (e->mask has one): false as
 * on_fanotify_event() says. */
static bool on_one_kind(struct change_events *c, const struct parsed_event *e, struct followed_file *f, bool final)
{
	if (f) {
		on_watched_file(c, e, f);
		return true;
	}
	c->unresolved = false;
	if (on_watched_name(c, e))
		return true;
	/* Nothing is emitted before the tree's root is found. */
	return on_tree_entry(c, e, final) || final;
}

/* False when the event names a directory that went before it was read, and
 * the event of its removal is not among those read (c->unresolved): then
 * read on, and try again (final: no more). */
static bool on_fanotify_event(struct change_events *c, const struct fanotify_event_metadata *meta, const void *event,
			      bool final)
{
	static const uint64_t in_order[] = { FAN_CREATE, FAN_MODIFY, FAN_ATTRIB, FAN_RENAME, FAN_DELETE };
	struct followed_file *f = NULL;
	struct parsed_event e;
	uint64_t all;

	if (meta->mask & FAN_Q_OVERFLOW) {
		if (c->stats.lost++ == 0)
			log_warning("The kernel's queue of changes overflowed: changes to watched files were lost.");
		return true;
	}
	/* 0: a process outside this agent's pid namespace; still a change. */
	if (meta->pid > 0 && is_self((uint32_t)meta->pid))
		return true;
	fanotify_event_parse(meta, event, &e);
	c->child_state = CHILD_UNKNOWN;
	/* A directory removed is no place any more; one renamed into another
	 * tree moves what is below it there. */
	if (e.mask & FAN_ONDIR && e.mask & FAN_DELETE && e.has_child)
		free(hashmap_remove(c->dirs, &e.child, fid_key_size(&e.child)));
	if (e.mask & FAN_ONDIR && e.mask & FAN_RENAME && e.old.dir && e.new.dir) {
		const struct dir_place *from = dir_place_of(c, e.old.dir);
		struct hive_watch_key old_root = from ? from->root : (struct hive_watch_key){};
		const struct dir_place *to = dir_place_of(c, e.new.dir);

		if (!to || !watch_key_equal(&old_root, &to->root))
			dirs_forget(c);
	}
	if (e.has_child)
		f = change_marks_file(c->marks, &e.child);
	/* fanotify merges what one thread did to one entry while the event
	 * waited to be read (a file made and removed is one event, FAN_CREATE
	 * | FAN_DELETE): a record for each, in the order they can happen. */
	all = e.mask;
	for (size_t i = 0; i < ARRAY_SIZE(in_order); i++) {
		if (!(all & in_order[i]))
			continue;
		e.mask = in_order[i] | (all & FAN_ONDIR);
		if (!on_one_kind(c, &e, f, final))
			return false;
	}
	return true;
}

/* The directories the events in buf remove, for the events before. */
static void collect_gone(struct change_events *c, size_t len)
{
	struct fanotify_walk walk = { .buf = c->buf, .len = len };
	struct fanotify_event_metadata meta;
	const void *event;

	while (c->n_gone < GONE_DIRS_MAX && fanotify_event_next(&walk, &meta, &event)) {
		struct gone_dir *g = &c->gone[c->n_gone];
		struct parsed_event e;

		if (meta.vers != FANOTIFY_METADATA_VERSION ||
		    (meta.mask & (FAN_ONDIR | FAN_DELETE)) != (FAN_ONDIR | FAN_DELETE))
			continue;
		fanotify_event_parse(&meta, event, &e);
		if (!e.has_child || !e.entry.dir || !e.entry.name || strlen(e.entry.name) > NAME_MAX)
			continue;
		g->fid = e.child;
		g->parent = e.dir;
		strcpy(g->name, e.entry.name);
		c->n_gone++;
	}
}

/* Try the events put off again (final: for the last time); those still
 * not placed stay put off. */
static void retry_deferred(struct change_events *c, bool final)
{
	struct fanotify_walk walk = { .buf = c->deferred, .len = c->deferred_len };
	struct fanotify_event_metadata meta;
	const void *event;
	size_t kept = 0;

	while (fanotify_event_next(&walk, &meta, &event))
		if (!on_fanotify_event(c, &meta, event, final)) {
			memmove(c->deferred + kept, event, meta.event_len);
			kept += meta.event_len;
		}
	c->deferred_len = kept;
}

/* How long events put off wait for the removal of their directory, which
 * the kernel queues as it removes it: 10 ms without any event, at most 20
 * times in a row. */
#define DEFER_WAIT_MS 10
#define DEFER_WAITS_MAX 20

static int consume(struct change_events *c, unsigned budget)
{
	unsigned n = 0, waits = 0;

	for (;;) {
		uint64_t before = clock_nsec(CLOCK_BOOTTIME);
		ssize_t len = read(c->fd, c->buf, sizeof(c->buf));
		struct fanotify_walk walk = { .buf = c->buf, .len = len < 0 ? 0 : (size_t)len };
		struct fanotify_event_metadata meta;
		const void *event;

		if (len < 0) {
			int r = errno == EAGAIN ? 0 : -errno;

			if (r == 0)
				c->drained_ns = before;
			c->floor_ns = c->deferred_drained_ns;
			if (r == 0 && c->deferred_len && waits++ < DEFER_WAITS_MAX &&
			    poll(&(struct pollfd){ .fd = c->fd, .events = POLLIN }, 1, DEFER_WAIT_MS) > 0)
				continue;
			retry_deferred(c, true);
			c->n_gone = 0;
			return r;
		}
		/* The removals read before stay known to what was put off. */
		if (!c->deferred_len)
			c->n_gone = 0;
		c->who_known = false;
		c->root_path_of = NULL;
		collect_gone(c, walk.len);
		c->floor_ns = c->deferred_drained_ns;
		retry_deferred(c, false);
		c->floor_ns = c->drained_ns;
		while (fanotify_event_next(&walk, &meta, &event)) {
			if (meta.vers != FANOTIFY_METADATA_VERSION)
				return -EPROTO;
			if (c->loader && !on_fanotify_event(c, &meta, event,
							    c->deferred_len + meta.event_len > sizeof(c->deferred))) {
				if (!c->deferred_len)
					c->deferred_drained_ns = c->drained_ns;
				memcpy(c->deferred + c->deferred_len, event, meta.event_len);
				c->deferred_len += meta.event_len;
			}
			if (meta.fd >= 0)
				close(meta.fd);
			n++;
		}
		if (budget && n >= budget) {
			c->floor_ns = c->deferred_drained_ns;
			retry_deferred(c, true);
			return -EAGAIN;
		}
	}
}

int change_events_consume(struct change_events *c, unsigned budget)
{
	int r = consume(c, budget);

	/* No descriptor of a watched file system outlives the read. */
	change_marks_close(c->marks);
	return r;
}
