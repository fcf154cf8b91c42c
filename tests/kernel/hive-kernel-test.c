/* SPDX-License-Identifier: MIT */
/*
 * The access scenario, run against the real BPF object and loader code in each
 * attach mode named on the command line. Linked statically so it runs as the
 * only program of a QEMU guest's initramfs. Events must name this binary (or
 * the copy it execs) as their exe. Prints "HIVE: ok|not ok ..." lines
 * that the host side (tests/kernel/run-qemu) turns into test results.
 *
 *   hive-kernel-test MODE...   (auto, fentry, kprobe, tracepoint; cost: see cost(),
 *                               preempt: see preempt(), deny: deny_scenario(),
 *                               deny-cost: deny_cost(), tree-cost: tree_cost())
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/identity.h"
#include "kernel/loader.h"
#include "kernel/resolve.h"
#include "shared/log.h"
#include "watch/watch.h"

#define MAX_EVENTS 256
#define DIR_ "/tmp/hive-kernel-test"

static struct hive_event events[MAX_EVENTS];
static struct hive_ext changes[MAX_EVENTS]; /* where events[i] is a change */
static struct hive_lineage lineages[MAX_EVENTS]; /* n 0: events[i] has none */
static size_t n_events;
static int failures;

static int on_event(const struct hive_event *ev, void *userdata)
{
	const struct hive_ext *c = hive_event_ext(ev);

	if (n_events < MAX_EVENTS) {
		changes[n_events] = c ? *c : (struct hive_ext){};
		lineages[n_events] = hive_event_lineage(ev) ? *hive_event_lineage(ev) : (struct hive_lineage){};
		events[n_events++] = *ev;
	}
	return 0;
}

static void report(bool ok, const char *mode, const char *what)
{
	printf("HIVE: %s - %s: %s\n", ok ? "ok" : "not ok", mode, what);
	fflush(stdout);
	failures += !ok;
}

static void drain(struct loader *l, int ms)
{
	struct pollfd p = { .fd = loader_event_fd(l), .events = POLLIN };

	while (poll(&p, 1, ms) > 0)
		loader_consume(l);
	loader_consume(l);
}

static char self_exe[HIVE_EXE_LEN];

/* An event from pid for watch id with all of mask's bits, from exe. */
static bool seen(pid_t pid, uint32_t watch_id, uint32_t mask, const char *exe)
{
	for (size_t i = 0; i < n_events; i++)
		if ((pid_t)events[i].tgid == pid && events[i].watch_id == watch_id &&
		    (events[i].mask & mask) == mask && strcmp(events[i].exe, exe) == 0)
			return true;
	return false;
}

/* pid's event names this program as the first of its ancestors, with its
 * executable's file, and ends at an init or the bound. */
static bool lineage_is_self(pid_t pid)
{
	struct stat exe;

	if (stat("/proc/self/exe", &exe) < 0)
		return false;
	for (size_t i = 0; i < n_events; i++) {
		const struct hive_lineage *lin = &lineages[i];

		if ((pid_t)events[i].tgid != pid)
			continue;
		return lin->n >= 1 && lin->n <= HIVE_ANCESTORS_MAX && (pid_t)lin->ancestors[0].tgid == getpid() &&
		       lin->ancestors[0].exe.ino == exe.st_ino &&
		       (lin->n == HIVE_ANCESTORS_MAX || (lin->ancestors[lin->n - 1].flags & HIVE_ANCESTOR_NS_INIT));
	}
	return false;
}

/* The accesses of the scenario, each from a child process of its own. */
static const struct step {
	const char *what, *path;
	int flags;
	bool exec;
	uint32_t watch_id, mask;
} steps[] = {
	{ "read", DIR_ "/secret", O_RDONLY, false, 1, HIVE_MAY_READ },
	{ "write", DIR_ "/secret", O_WRONLY, false, 1, HIVE_MAY_WRITE },
	{ "append", DIR_ "/secret", O_WRONLY | O_APPEND, false, 1, HIVE_MAY_WRITE | HIVE_MAY_APPEND },
	{ "exec", DIR_ "/tool", 0, true, 2, HIVE_MAY_EXEC },
	{ "read through a symlink", DIR_ "/symlink", O_RDONLY, false, 1, HIVE_MAY_READ },
	{ "read through a hard link", DIR_ "/hardlink", O_RDONLY, false, 1, HIVE_MAY_READ },
};

static bool seen_ino(uint64_t ino)
{
	for (size_t i = 0; i < n_events; i++)
		if (events[i].ino == ino)
			return true;
	return false;
}

/* What an open's errno says, as a child's exit status. */
static int open_status(int fd)
{
	return fd >= 0 ? 0 : errno == EACCES ? 1 : 2;
}

/* Open path in a child process, as uid (0: as we are); *status is its exit
 * status: 0 opened, 1 refused with EACCES, 2 failed otherwise. */
static pid_t child_open_as(const char *path, int flags, uid_t uid, int *status)
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0) {
		int fd;

		if (uid && (setgid(uid) < 0 || setuid(uid) < 0))
			_exit(3);
		fd = open(path, flags | O_CLOEXEC, 0600);
		_exit(open_status(fd));
	}
	waitpid(pid, &st, 0);
	if (status)
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return pid;
}

static pid_t child_open(const char *path, int flags)
{
	return child_open_as(path, flags, 0, NULL);
}

static pid_t child_exec(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		execl(path, path, "--noop", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	return pid;
}

static struct identity *identity;

/* path's file as the hooks see it; 1 when the kernel said so. */
static int file_key(const char *path, struct hive_watch_key *key)
{
	int fd, r;

	identity_begin(identity);
	fd = resolve_open(-1, path, true);
	r = fd < 0 ? fd : identity_of_fd(identity, fd, key, NULL, NULL);
	identity_end(identity);
	if (fd >= 0)
		close(fd);
	return r;
}

/* The same, with the files below on overlayfs. */
static int file_layer_key(const char *path, struct hive_watch_key *key, struct identity_layers *layers)
{
	int fd, r;

	identity_begin(identity);
	fd = resolve_open(-1, path, true);
	r = fd < 0 ? fd : identity_of_fd(identity, fd, key, NULL, layers);
	identity_end(identity);
	if (fd >= 0)
		close(fd);
	return r;
}

static int watch(struct loader *l, const char *path, uint32_t id, struct hive_watch_key *key)
{
	struct hive_watch_value value = { .watch_id = id, .access = HIVE_ACCESS_ALL };
	int r, from_kernel;

	from_kernel = r = file_key(path, key);
	if (r < 0)
		return r;
	r = loader_watch_put(l, key, &value);
	return r < 0 ? r : from_kernel;
}

/* BPF links this process holds (each link fd's fdinfo names its link_id). */
/*
 * What this process has attached: its BPF links and its perf events.
 * kprobes and tracepoints attach through a perf event: before 5.15 with no
 * BPF link at all, later with a "perf" link that holds the event open, which
 * is therefore not counted again.
 */
static int count_links(void)
{
	DIR *d = opendir("/proc/self/fdinfo");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char path[300], line[128], target[64] = "";
		bool link = false, perf_link = false;
		FILE *f;
		ssize_t k;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		k = readlink(path, target, sizeof(target) - 1);
		target[k > 0 ? k : 0] = '\0';
		n += strcmp(target, "anon_inode:[perf_event]") == 0;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", de->d_name);
		f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f)) {
			link = link || strncmp(line, "link_id:", 8) == 0;
			perf_link = perf_link || strncmp(line, "link_type:\tperf", 15) == 0; /* "perf" */
		}
		n += link && !perf_link;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			break;
	close(in);
	close(out);
	return n == 0 ? 0 : -1;
}

/* The name filter as this test sets it: one bit more per watched name. */
static uint64_t name_filter[HIVE_NAME_FILTER_BITS / 64];

static int name_filter_set(struct loader *l, uint32_t pos)
{
	name_filter[pos / 64] |= 1ULL << (pos % 64);
	return loader_name_filter_put(l, pos / 64, name_filter[pos / 64]);
}

/* Watch name in DIR_ (whose own entry has id 4 and watches only names) as
 * watch id, as the watch set writes it: names map, directory entry, the
 * directory's and the name's filter bits. */
static int watch_name(struct loader *l, const char *name, uint32_t id)
{
	struct hive_name_key key = {};
	size_t len = strlen(name);
	int r = watch(l, DIR_, 4, &key.dir);

	if (r < 0)
		return r;
	r = loader_watch_put(l, &key.dir, &(struct hive_watch_value){ .watch_id = 4, .name_access = HIVE_ACCESS_ALL });
	snprintf(key.name, sizeof(key.name), "%s", name);
	if (r >= 0)
		r = loader_name_put(l, &key, &(struct hive_watch_value){ .watch_id = id, .access = HIVE_ACCESS_ALL });
	if (r >= 0)
		r = name_filter_set(l, HIVE_NAME_FILTER_DIR(key.dir.ino));
	if (r >= 0)
		r = name_filter_set(l, HIVE_NAME_FILTER_NAME(key.dir.ino, len, (unsigned char)name[0],
							  (unsigned char)name[len - 1]));
	return r;
}

/*
 * A file renamed over a watched name, the inode map not told: the hooks find
 * it by its directory and name, on this kernel's hook.
 */
static bool renamed_over_is_seen_by_name(struct loader *l)
{
	pid_t p;

	if (watch_name(l, "named", 3) < 0 || close(open(DIR_ "/named.new", O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) < 0 ||
	    rename(DIR_ "/named.new", DIR_ "/named") < 0)
		return false;
	p = child_open(DIR_ "/named", O_RDONLY);
	drain(l, 300);
	return seen(p, 3, HIVE_MAY_READ, self_exe);
}

/* What is done to a file, each from a child process of its own. */
static void act_chmod(void) { _exit(chmod(DIR_ "/c-attr", 04755) < 0); }
static void act_fchmod(void)
{
	int fd = open(DIR_ "/c-attr", O_RDONLY | O_CLOEXEC);

	_exit(fd < 0 || fchmod(fd, 0640) < 0);
}
static void act_chown(void) { _exit(chown(DIR_ "/c-attr", 1000, 1001) < 0); }
static void act_utimes(void) { _exit(utimes(DIR_ "/c-attr", NULL) < 0); }
static void act_setxattr(void) { _exit(setxattr(DIR_ "/c-attr", "trusted.hive", "x", 1, 0) < 0); }
static void act_removexattr(void) { _exit(removexattr(DIR_ "/c-attr", "trusted.hive") < 0); }
static void act_truncate(void) { _exit(truncate(DIR_ "/c-attr", 3) < 0); }
static void act_open_trunc(void) { _exit(open(DIR_ "/c-attr", O_WRONLY | O_TRUNC | O_CLOEXEC) < 0); }
static void act_ftruncate(void)
{
	int fd = open(DIR_ "/c-attr", O_WRONLY | O_CLOEXEC);

	_exit(fd < 0 || ftruncate(fd, 2) < 0);
}
static void act_link(void) { _exit(link(DIR_ "/c-attr", DIR_ "/c-attr.link") < 0); }
static void act_unlink(void) { _exit(unlink(DIR_ "/c-gone") < 0); }
static void act_rename(void) { _exit(rename(DIR_ "/c-move", DIR_ "/c-moved") < 0); }
static void act_rename_over(void) { _exit(rename(DIR_ "/c-new", DIR_ "/c-over") < 0); }
static void act_create(void) { _exit(open(DIR_ "/c-future", O_CREAT | O_WRONLY | O_CLOEXEC, 0600) < 0); }
static void act_arrive(void) { _exit(rename(DIR_ "/c-src", DIR_ "/c-arrive") < 0); }
static void act_mkdir(void) { _exit(mkdir(DIR_ "/c-subdir", 0750) < 0); }
static void act_chmod_other(void) { _exit(chmod(DIR_ "/other", 0644) < 0); }

static const struct change_step {
	const char *what;
	void (*act)(void);
	uint32_t watch_id, kind, changed, mode;
	uint32_t other_kind;
	const char *other;
} change_steps[] = {
	{ "chmod 4755", act_chmod, 10, HIVE_ACCESS_ATTRIB, HIVE_CHANGED_MODE, 04755 },
	{ "fchmod 0640 (by descriptor)", act_fchmod, 10, HIVE_ACCESS_ATTRIB, HIVE_CHANGED_MODE, 0640 },
	{ "chown 1000:1001", act_chown, 10, HIVE_ACCESS_ATTRIB, HIVE_CHANGED_UID | HIVE_CHANGED_GID },
	{ "utimes", act_utimes, 10, HIVE_ACCESS_ATTRIB, HIVE_CHANGED_ATIME | HIVE_CHANGED_MTIME },
	{ "setxattr", act_setxattr, 10, HIVE_ACCESS_ATTRIB, HIVE_CHANGED_XATTR, 0, HIVE_OTHER_XATTR, "trusted.hive" },
	{ "removexattr", act_removexattr, 10, HIVE_ACCESS_ATTRIB, HIVE_CHANGED_XATTR | HIVE_CHANGED_REMOVED, 0,
	  HIVE_OTHER_XATTR, "trusted.hive" },
	{ "truncate", act_truncate, 10, HIVE_ACCESS_TRUNCATE, HIVE_CHANGED_SIZE },
	{ "open with O_TRUNC", act_open_trunc, 10, HIVE_ACCESS_TRUNCATE, HIVE_CHANGED_SIZE },
	{ "ftruncate", act_ftruncate, 10, HIVE_ACCESS_TRUNCATE, HIVE_CHANGED_SIZE },
	{ "hard link", act_link, 10, HIVE_ACCESS_LINK, 0, 0, HIVE_OTHER_TARGET, DIR_ "/c-attr.link" },
	{ "unlink", act_unlink, 11, HIVE_ACCESS_DELETE, 0, 0, HIVE_OTHER_TARGET, DIR_ "/c-gone" },
	{ "rename away", act_rename, 12, HIVE_ACCESS_RENAME, 0, 0, HIVE_OTHER_TARGET, DIR_ "/c-moved" },
	{ "renamed over (its delete)", act_rename_over, 13, HIVE_ACCESS_DELETE, 0, 0, HIVE_OTHER_SOURCE, DIR_ "/c-new" },
	{ "create at a watched name", act_create, 14, HIVE_ACCESS_CREATE, HIVE_CHANGED_MODE, 0, HIVE_OTHER_TARGET,
	  DIR_ "/c-future" },
	{ "renamed onto a watched name", act_arrive, 15, HIVE_ACCESS_RENAME, 0, 0, HIVE_OTHER_SOURCE, DIR_ "/c-src" },
	{ "mkdir at a watched name", act_mkdir, 16, HIVE_ACCESS_CREATE, HIVE_CHANGED_MODE, S_IFDIR | 0750,
	  HIVE_OTHER_TARGET, DIR_ "/c-subdir" },
};

static pid_t child_do(void (*act)(void), int *status)
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0)
		act();
	waitpid(pid, &st, 0);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return pid;
}

/* The change event of pid that step expects, or -1. */
static ssize_t seen_change(pid_t pid, const struct change_step *t)
{
	for (size_t i = 0; i < n_events; i++) {
		const struct hive_ext *c = &changes[i];

		if ((pid_t)events[i].tgid != pid || events[i].watch_id != t->watch_id || !(events[i].mask & t->kind) ||
		    !(events[i].flags & HIVE_EVENT_EXT) || strcmp(events[i].exe, self_exe) != 0 ||
		    (c->changed & t->changed) != t->changed || c->other_kind != t->other_kind)
			continue;
		if (t->mode && c->mode != t->mode)
			continue;
		if (t->other && strcmp(c->other, t->other) != 0)
			continue;
		return (ssize_t)i;
	}
	return -1;
}

static int make_file(const char *path)
{
	return close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
}

/*
 * Every change kind on watched files and names, with its values and other
 * name as the kernel resolved them; none for an unwatched file. In
 * tracepoint mode (where fanotify, not in this binary, sees the rest) only
 * truncations through a descriptor or at open, on kernels that tell a
 * system call's arguments at its exit, and the loader says so.
 */
/* A child that chmods an unwatched file, then execs this program (--noop);
 * change: whether it chmods at all. */
static pid_t child_change_then_exec(bool change)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (change && chmod(DIR_ "/other", 0644) < 0)
			_exit(126);
		execl(self_exe, self_exe, "--noop", (char *)NULL);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	return pid;
}

/* Tracepoint mode keeps who a thread that changed a file was as it
 * exec'd (user space names both when the change is read after the exec);
 * a fork that execs before any change is not kept. */
static void exec_marks(struct loader *l, const char *mode_name)
{
	struct hive_event before = {};
	pid_t changed = child_change_then_exec(true), plain = child_change_then_exec(false);
	char what[256];
	int r = loader_before_exec(l, (uint32_t)changed, &before);

	snprintf(what, sizeof(what), "who a thread was before its exec after a change is kept (%d, tgid %u, exe %.100s)",
		 r, before.tgid, before.exe);
	report(r == 0 && before.tgid == (uint32_t)changed && before.boot_ns > 0 && strcmp(before.exe, self_exe) == 0,
	       mode_name, what);
	report(loader_before_exec(l, (uint32_t)plain, &before) == -ENOENT, mode_name,
	       "a fork that execs before any change is not kept");
}

static void change_scenario(struct loader *l, const char *mode_name)
{
	const char *files[] = { DIR_ "/c-attr", DIR_ "/c-gone", DIR_ "/c-move", DIR_ "/c-over", DIR_ "/c-new",
				DIR_ "/c-src" };
	struct hive_watch_key key;
	struct stat other;
	char what[512];
	int r = 0, status;
	pid_t p, control;

	bool tracepoint = loader_mode(l) == ATTACH_TRACEPOINT;

	if (tracepoint) {
		bool truncations = !(loader_unseen(l) & HIVE_ACCESS_TRUNCATE);

		snprintf(what, sizeof(what), "changes but truncations are said to be unseen (unseen: %#x; truncations %s)",
			 loader_unseen(l), truncations ? "seen, truncate(2) of a path not" : "not seen");
		report((loader_unseen(l) | HIVE_ACCESS_TRUNCATE) == HIVE_ACCESS_CHANGES &&
			       truncations == (loader_unseen_calls(l) != NULL),
		       mode_name, what);
		exec_marks(l, mode_name);
		if (!truncations)
			return;
	} else {
		snprintf(what, sizeof(what), "every change kind has its hooks (unseen: %#x)", loader_unseen(l));
		report(loader_unseen(l) == 0 && !loader_unseen_calls(l), mode_name, what);
	}
	/* As an earlier mode left them. */
	for (size_t i = 0; i < ARRAY_SIZE(change_steps); i++)
		if (change_steps[i].other && change_steps[i].other_kind == HIVE_OTHER_TARGET)
			unlink(change_steps[i].other);
	rmdir(DIR_ "/c-subdir");
	for (size_t i = 0; i < ARRAY_SIZE(files) && r >= 0; i++)
		r = make_file(files[i]);
	for (uint32_t id = 10; id <= 13 && r >= 0; id++)
		r = watch(l, files[id - 10], id, &key);
	if (r >= 0)
		r = watch_name(l, "c-future", 14);
	if (r >= 0)
		r = watch_name(l, "c-arrive", 15);
	if (r >= 0)
		r = watch_name(l, "c-subdir", 16);
	report(r >= 0, mode_name, "change watches set up");
	if (r < 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(change_steps); i++) {
		const struct change_step *t = &change_steps[i];
		ssize_t k;

		if (tracepoint && t->act == act_truncate) {
			int64_t length = 0;

			/* Left for fanotify's report of the file to pair with. */
			p = child_do(t->act, &status);
			snprintf(what, sizeof(what), "truncate(2) is kept for its thread (exit %d)", status);
			report(status == 0 && loader_truncated(l, (uint32_t)p, &length) == 0 && length == 3 &&
				       loader_truncated(l, (uint32_t)p, &length) == -ENOENT,
			       mode_name, what);
			continue;
		}
		if (tracepoint && t->kind != HIVE_ACCESS_TRUNCATE)
			continue;
		p = child_do(t->act, &status);
		drain(l, 300);
		k = seen_change(p, t);
		snprintf(what, sizeof(what), "%s is a change record (exit %d)", t->what, status);
		if (k < 0 && n_events) {
			const struct hive_ext *c = &changes[n_events - 1];

			snprintf(what + strlen(what), sizeof(what) - strlen(what),
				 "; last event: pid %u id %u mask %#x changed %#x mode %o other %u \"%.100s\"",
				 events[n_events - 1].tgid, events[n_events - 1].watch_id, events[n_events - 1].mask,
				 c->changed, c->mode, c->other_kind, c->other);
		}
		report(status == 0 && k >= 0, mode_name, what);
	}
	if (tracepoint)
		return;
	p = child_do(act_chmod_other, &status);
	control = child_do(act_chmod, &status);
	drain(l, 300);
	report(stat(DIR_ "/other", &other) == 0 && seen_change(control, &change_steps[0]) >= 0 && !seen_ino(other.st_ino),
	       mode_name, "a change to an unwatched file is silent (a later watched one is seen)");
}

/* An event of pid for the tree of watch id, of one of kinds, at below. */
static bool seen_in_tree(pid_t pid, uint32_t id, uint32_t kinds, const char *below)
{
	for (size_t i = 0; i < n_events; i++)
		if ((pid_t)events[i].tgid == pid && events[i].watch_id == id && (events[i].mask & kinds) &&
		    (events[i].flags & HIVE_EVENT_IN_TREE) && (events[i].flags & HIVE_EVENT_EXT) &&
		    strcmp(changes[i].below, below) == 0)
			return true;
	return false;
}

static void act_tree_create(void) { _exit(open(DIR_ "/tree/sub/new", O_CREAT | O_WRONLY | O_CLOEXEC, 0600) < 0); }
static void act_tree_chmod(void) { _exit(chmod(DIR_ "/tree/sub/f", 0600) < 0); }
static void act_tree_move_in(void) { _exit(rename(DIR_ "/tree-in", DIR_ "/tree/sub/moved") < 0); }
static void act_tree_unlink(void) { _exit(unlink(DIR_ "/tree/sub/new") < 0); }

static void act_entries_create(void) { _exit(open(DIR_ "/entries/new", O_CREAT | O_WRONLY | O_CLOEXEC, 0600) < 0); }
static void act_entries_deep_create(void)
{
	_exit(open(DIR_ "/entries/sub/new", O_CREAT | O_WRONLY | O_CLOEXEC, 0600) < 0);
}

/* A tree of a directory's own entries ("DIR/" "*": entries_access on its
 * root): a file in it is found, one in a directory of it is not; the same
 * of a create where changes have hooks. */
static void entries_scenario(struct loader *l, const char *mode_name)
{
	struct hive_watch_key root;
	int r, status;
	pid_t top, deep;

	mkdir(DIR_ "/entries", 0755);
	mkdir(DIR_ "/entries/sub", 0755);
	unlink(DIR_ "/entries/new");
	unlink(DIR_ "/entries/sub/new");
	r = make_file(DIR_ "/entries/f");
	if (r >= 0)
		r = make_file(DIR_ "/entries/sub/g");
	if (r >= 0)
		r = watch(l, DIR_ "/entries", 21, &root);
	if (r >= 0)
		r = loader_watch_put(l, &root, &(struct hive_watch_value){ .watch_id = 21, .access = HIVE_ACCESS_ALL,
									  .entries_access = HIVE_ACCESS_ALL });
	if (r >= 0)
		r = name_filter_set(l, HIVE_NAME_FILTER_TREE(root.ino));
	if (r >= 0)
		r = loader_set_trees(l, 2);
	report(r >= 0, mode_name, "a directory's own entries watched");
	if (r < 0)
		return;
	deep = child_open(DIR_ "/entries/sub/g", O_RDONLY);
	top = child_open(DIR_ "/entries/f", O_RDONLY);
	drain(l, 300);
	report(seen_in_tree(top, 21, HIVE_MAY_READ, "f") && !seen_in_tree(deep, 21, HIVE_MAY_READ, "sub/g"), mode_name,
	       "a read of a directory's own entry is found, one a level deeper is not");
	if (loader_mode(l) == ATTACH_TRACEPOINT)
		return;
	deep = child_do(act_entries_deep_create, &status);
	top = child_do(act_entries_create, &status);
	drain(l, 300);
	report(seen_in_tree(top, 21, HIVE_ACCESS_CREATE, "new") && !seen_in_tree(deep, 21, HIVE_ACCESS_CREATE, "sub/new"),
	       mode_name, "a create among a directory's own entries is found, one a level deeper is not");
}

/* Any event of pid for watch id. */
static bool seen_id(pid_t pid, uint32_t watch_id)
{
	for (size_t i = 0; i < n_events; i++)
		if ((pid_t)events[i].tgid == pid && events[i].watch_id == watch_id)
			return true;
	return false;
}

#define OVL_DIR DIR_ "/ovl"

/* Open path in a child whose root is root first: a container's process. */
static pid_t child_open_in(const char *root, const char *path, int flags)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(chroot(root) < 0 || chdir("/") < 0 ? 3 : open_status(open(path, flags | O_CLOEXEC)));
	waitpid(pid, &st, 0);
	return pid;
}

/* Overlay name of dir's "lower" (with name-upper, name-work). */
static int mount_overlay(const char *dir, const char *name)
{
	char options[768], upper[128], work[128], merged[128];

	snprintf(upper, sizeof(upper), "%s/%s-upper", dir, name);
	snprintf(work, sizeof(work), "%s/%s-work", dir, name);
	snprintf(merged, sizeof(merged), "%s/%s", dir, name);
	mkdir(upper, 0755);
	mkdir(work, 0755);
	mkdir(merged, 0755);
	snprintf(options, sizeof(options), "lowerdir=%s/lower,upperdir=%s,workdir=%s", dir, upper, work);
	return mount("overlay", merged, "overlay", 0, options) < 0 ? -errno : 0;
}

/* dir/name, in a static buffer: one path per call. */
static const char *in(const char *dir, const char *name)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/*
 * A container's file on overlayfs, watched as a pod's entry is: its overlay
 * inode, and the file below that the overlay shows (HIVE_WATCH_LAYER). A
 * read through the overlay is one record, the overlay file's (in fentry and
 * kprobe modes overlayfs checks the lower inode next, nested, with its
 * mounter's credentials: no second record); a read of the lower file itself
 * is the layer's record; a process whose root is another overlay of the
 * same layer (another container of the image) reads its own file: none.
 */
/* A tree of a container's directory on overlayfs: the directory in each
 * layer is a tree root too (HIVE_WATCH_LAYER), whose files are the
 * container's from the host; through the overlay, one record still. */
static void overlay_tree_scenario(struct loader *l, const char *mode_name, const char *dir)
{
	struct hive_watch_value layer = { .watch_id = 51, .access = WATCH_LAYER_ACCESS | HIVE_WATCH_LAYER,
					  .tree_access = WATCH_LAYER_ACCESS };
	struct identity_layers layers;
	struct hive_watch_key root;
	pid_t p;
	int r;

	mkdir(in(dir, "lower/t"), 0755);
	mkdir(in(dir, "lower/t/sub"), 0755);
	r = make_file(in(dir, "lower/t/sub/g"));
	if (r >= 0) /* made through the overlay: t is in the upper layer too */
		r = make_file(in(dir, "merged/t/new"));
	if (r >= 0)
		r = file_layer_key(in(dir, "merged/t"), &root, &layers);
	report(r == 1 && layers.n == 2, mode_name, "the resolver reports a directory in both its layers");
	if (r != 1 || layers.n != 2)
		return;
	r = loader_watch_put(l, &root, &(struct hive_watch_value){ .watch_id = 50, .access = HIVE_ACCESS_ALL,
								  .tree_access = HIVE_ACCESS_ALL });
	for (uint32_t i = 0; r >= 0 && i <= layers.n; i++)
		r = name_filter_set(l, HIVE_NAME_FILTER_TREE(i < layers.n ? layers.keys[i].ino : root.ino));
	for (uint32_t i = 0; r >= 0 && i < layers.n; i++)
		r = loader_watch_put(l, &layers.keys[i], &layer);
	if (r >= 0)
		r = loader_set_trees(l, 4);
	report(r >= 0, mode_name, "a tree on overlayfs and its layers watched");
	if (r < 0)
		return;
	p = child_open(in(dir, "lower/t/sub/g"), O_RDONLY);
	drain(l, 300);
	report(seen_in_tree(p, 51, HIVE_MAY_READ, "sub/g") && !seen_id(p, 50), mode_name,
	       "a read in the tree's lower layer is the layer's record");
	p = child_open(in(dir, "merged-upper/t/new"), O_RDONLY);
	drain(l, 300);
	report(seen_in_tree(p, 51, HIVE_MAY_READ, "new") && !seen_id(p, 50), mode_name,
	       "a read in the tree's upper layer is the layer's record");
	p = child_open(in(dir, "merged/t/sub/g"), O_RDONLY);
	drain(l, 300);
	report(seen_in_tree(p, 50, HIVE_MAY_READ, "sub/g") && !seen_id(p, 51), mode_name,
	       "a read in the tree through the overlay is one record, the overlay's");
}

static void overlay_scenario(struct loader *l, const char *mode_name)
{
	uint32_t layer_access = WATCH_LAYER_ACCESS | HIVE_WATCH_LAYER;
	struct hive_watch_key file, lower, upper;
	struct identity_layers layers;
	bool nested_hooks = loader_mode(l) != ATTACH_TRACEPOINT;
	char what[160], dir[64];
	pid_t p, control;
	int r;

	/* A directory per mode: the last one's file was copied up. */
	snprintf(dir, sizeof(dir), "%s/%s", OVL_DIR, mode_name);
	mkdir(OVL_DIR, 0755);
	mkdir(dir, 0755);
	mkdir(in(dir, "lower"), 0755);
	r = make_file(in(dir, "lower/f"));
	if (r >= 0)
		r = mount_overlay(dir, "merged");
	if (r >= 0)
		r = mount_overlay(dir, "other");
	snprintf(what, sizeof(what), "two overlays over one lower layer (%s)", r < 0 ? strerror(-r) : "mounted");
	report(r >= 0, mode_name, what);
	if (r < 0)
		return;
	r = file_layer_key(in(dir, "merged/f"), &file, &layers);
	if (r >= 0)
		r = file_key(in(dir, "lower/f"), &lower);
	if (r == 1 && !layers.n && access("/sys/kernel/btf/overlay", F_OK) < 0) {
		/* 5.10: overlayfs is a module, and modules have no BTF. */
		report(true, mode_name, "no layer where the kernel's BTF does not describe overlayfs (a module before 5.11)");
		goto out;
	}
	report(r == 1 && layers.n == 1 && watch_key_equal(&layers.keys[0], &lower), mode_name,
	       "the resolver reports the lower file below an overlay file");
	if (r != 1 || layers.n != 1)
		goto out;
	r = loader_watch_put(l, &file, &(struct hive_watch_value){ .watch_id = 40, .access = HIVE_ACCESS_ALL });
	if (r >= 0)
		r = loader_watch_put(l, &lower, &(struct hive_watch_value){ .watch_id = 41, .access = layer_access });
	report(r >= 0, mode_name, "overlay file and its layer watched");
	if (r < 0)
		goto out;

	p = child_open(in(dir, "merged/f"), O_RDONLY);
	control = child_open(DIR_ "/secret", O_RDONLY);
	drain(l, 300);
	report(seen(p, 40, HIVE_MAY_READ, self_exe) && !seen_id(p, 41) && seen(control, 1, HIVE_MAY_READ, self_exe),
	       mode_name, "a read through the overlay is one record, the overlay file's");
	p = child_open(in(dir, "lower/f"), O_RDONLY);
	drain(l, 300);
	report(seen(p, 41, HIVE_MAY_READ, self_exe) && !seen_id(p, 40), mode_name,
	       "a read of the lower file is the layer's record");
	p = child_open_in(in(dir, "other"), "/f", O_RDONLY);
	control = child_open(DIR_ "/secret", O_RDONLY);
	drain(l, 300);
	report(!seen_id(p, 41) && !seen_id(p, 40) && seen(control, 1, HIVE_MAY_READ, self_exe), mode_name,
	       "another overlay's process reading its own file of the layer is silent");
	p = child_open(in(dir, "other/f"), O_RDONLY);
	control = child_open(DIR_ "/secret", O_RDONLY);
	drain(l, 300);
	snprintf(what, sizeof(what), "a read through another overlay mounted over the layer %s",
		 nested_hooks ? "is the layer's record" : "is not seen by the syscall-exit fallback");
	report(seen_id(p, 41) == nested_hooks && seen(control, 1, HIVE_MAY_READ, self_exe), mode_name, what);

	/* A write copies the file up: the overlay shows the upper file. */
	p = child_open(in(dir, "merged/f"), O_WRONLY | O_APPEND);
	drain(l, 300);
	r = file_layer_key(in(dir, "merged/f"), &file, &layers);
	if (r >= 0)
		r = file_key(in(dir, "merged-upper/f"), &upper);
	report(seen(p, 40, HIVE_MAY_WRITE | HIVE_MAY_APPEND, self_exe) && !seen_id(p, 41) && r == 1 &&
		       layers.n == 1 && watch_key_equal(&layers.keys[0], &upper) && !watch_key_equal(&upper, &lower),
	       mode_name, "a write is one record, and copies the file up: the upper file is then below it");
	overlay_tree_scenario(l, mode_name, dir);
out:
	umount(in(dir, "merged"));
	umount(in(dir, "other"));
}

/*
 * A directory tree (HIVE_WATCH_TREE's tree_access on its root, as the watch
 * set writes it): a file at any depth below it, also through a hard link
 * outside it, is found by walking its parents, with its path below the
 * root; in fentry and kprobe modes, changes in it too.
 */
static void tree_scenario(struct loader *l, const char *mode_name)
{
	static const struct {
		const char *what;
		void (*act)(void);
		uint32_t kind;
		const char *below;
	} tree_changes[] = {
		{ "a create in a tree", act_tree_create, HIVE_ACCESS_CREATE, "sub/new" },
		{ "a chmod in a tree", act_tree_chmod, HIVE_ACCESS_ATTRIB, "sub/f" },
		{ "a rename into a tree", act_tree_move_in, HIVE_ACCESS_RENAME, "sub/moved" },
		{ "an unlink in a tree", act_tree_unlink, HIVE_ACCESS_DELETE, "sub/new" },
	};
	struct hive_watch_key root;
	struct stat outside;
	char what[200];
	int r, status;
	pid_t p, control;

	unlink(DIR_ "/tree/sub/moved");
	mkdir(DIR_ "/tree", 0755);
	mkdir(DIR_ "/tree/sub", 0755);
	r = make_file(DIR_ "/tree/sub/f");
	if (r >= 0 && access(DIR_ "/tree-link", F_OK) < 0)
		r = link(DIR_ "/tree/sub/f", DIR_ "/tree-link");
	if (r >= 0)
		r = make_file(DIR_ "/tree-in");
	if (r >= 0)
		r = watch(l, DIR_ "/tree", 20, &root);
	if (r >= 0)
		r = loader_watch_put(l, &root, &(struct hive_watch_value){ .watch_id = 20, .access = HIVE_ACCESS_ALL,
									  .tree_access = HIVE_ACCESS_ALL });
	if (r >= 0)
		r = name_filter_set(l, HIVE_NAME_FILTER_TREE(root.ino));
	if (r >= 0)
		r = loader_set_trees(l, 1);
	report(r >= 0, mode_name, "tree watched");
	if (r < 0)
		return;
	p = child_open(DIR_ "/tree/sub/f", O_RDONLY);
	drain(l, 300);
	report(seen_in_tree(p, 20, HIVE_MAY_READ, "sub/f"), mode_name, "a read two levels down a tree");
	p = child_open(DIR_ "/tree-link", O_RDONLY);
	drain(l, 300);
	report(seen_in_tree(p, 20, HIVE_MAY_READ, "sub/f"), mode_name, "a read through a hard link outside the tree");
	p = child_open(DIR_ "/other", O_RDONLY);
	control = child_open(DIR_ "/tree/sub/f", O_RDONLY);
	drain(l, 300);
	report(stat(DIR_ "/other", &outside) == 0 && seen_in_tree(control, 20, HIVE_MAY_READ, "sub/f") &&
		       !seen_ino(outside.st_ino),
	       mode_name, "a file outside the tree is silent");
	entries_scenario(l, mode_name);
	if (loader_mode(l) == ATTACH_TRACEPOINT)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(tree_changes); i++) {
		p = child_do(tree_changes[i].act, &status);
		drain(l, 300);
		snprintf(what, sizeof(what), "%s is a change record (exit %d)", tree_changes[i].what, status);
		report(status == 0 && seen_in_tree(p, 20, tree_changes[i].kind, tree_changes[i].below), mode_name, what);
	}
}

static void scenario(const char *mode_name)
{
	struct loader_options o = { .max_watches = 64, .ringbuf_bytes = 1 << 16, .ancestors = HIVE_ANCESTORS_MAX,
				    .with_generation = identity_from_kernel(identity) };
	struct hive_watch_key secret, tool;
	struct loader *l = NULL;
	struct loader_stats st = {};
	struct stat other;
	char what[128 + LOADER_NOTES_SIZE], notes[LOADER_NOTES_SIZE];
	int mode = attach_mode_from_string(mode_name), r, status = -1;
	pid_t p, control;

	n_events = 0;
	o.mode = mode;
	r = loader_new(&o, on_event, NULL, &l, notes);
	snprintf(what, sizeof(what), "load and attach (%s%s%s)", r < 0 ? strerror(-r) : "attached", notes[0] ? ": " : "",
		 notes);
	report(r >= 0, mode_name, what);
	if (r < 0)
		return;
	snprintf(what, sizeof(what), "mode is %s", attach_mode_to_string(loader_mode(l)));
	report(mode != ATTACH_AUTO || loader_mode(l) == ATTACH_FENTRY, mode_name, what);

	r = watch(l, DIR_ "/secret", 1, &secret);
	if (r >= 0)
		r = watch(l, DIR_ "/tool", 2, &tool);
	report(r >= 0, mode_name, "watch map filled");
	if (r < 0)
		goto finish;
	report(r == 1, mode_name, "inode identity reported by the kernel");
	if (loader_mode(l) != ATTACH_TRACEPOINT) {
		/* Nothing but the mode's own hooks stays attached: the
		 * resolver's syscall tracepoint only while resolving. */
		int maps[_KEPT_MAP_MAX], links[KEPT_LINKS_MAX];
		size_t hooks = loader_kernel_fds(l, maps, links);

		snprintf(what, sizeof(what), "only the mode's %zu hooks are attached once resolved (%d attachments)",
			 hooks, count_links());
		report(count_links() == (int)hooks, mode_name, what);
	}

	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		const struct step *t = &steps[i];
		/* inode_permission() checks an exec before the new image replaces
		 * the old; the syscall-exit fallback only sees it afterwards. */
		const char *exe = t->exec && loader_mode(l) == ATTACH_TRACEPOINT ? t->path : self_exe;

		p = t->exec ? child_exec(t->path) : child_open(t->path, t->flags);
		drain(l, 300);
		report(seen(p, t->watch_id, t->mask, exe), mode_name, t->what);
	}
	report(renamed_over_is_seen_by_name(l), mode_name, "a file renamed over a watched name is seen by its name");
	/* Negative checks against a positive control made after them: events
	 * leave the ring buffer in order, so once the control's is here, theirs
	 * would be too. */
	p = child_open(DIR_ "/other", O_RDONLY);
	control = child_open(DIR_ "/secret", O_RDONLY);
	drain(l, 300);
	report(stat(DIR_ "/other", &other) == 0 && seen(control, 1, HIVE_MAY_READ, self_exe) && !seen_ino(other.st_ino),
	       mode_name, "unwatched file is silent (a later watched read is seen)");
	report(lineage_is_self(control), mode_name, "a read names the reader's parent, this program, first of its ancestors");

	/* How full the ring is, as the metrics read it: an event waits there
	 * until the agent reads it, and no longer. */
	p = child_open(DIR_ "/secret", O_RDONLY);
	{
		uint64_t waiting = loader_ring_used(l);

		drain(l, 300);
		snprintf(what, sizeof(what), "ring buffer use: %llu bytes before reading, %llu after",
			 (unsigned long long)waiting, (unsigned long long)loader_ring_used(l));
		report(waiting >= sizeof(struct hive_event) && loader_ring_used(l) == 0 && seen(p, 1, HIVE_MAY_READ, self_exe),
		       mode_name, what);
	}

	/* A read refused with EACCES: inode_permission() runs, and is seen; the
	 * syscall-exit fallback sees only opens that succeeded (README). */
	p = child_open_as(DIR_ "/secret", O_RDONLY, 65534, &status);
	control = child_open(DIR_ "/secret", O_RDONLY);
	drain(l, 300);
	snprintf(what, sizeof(what), "denied read (EACCES as uid 65534) %s", loader_mode(l) == ATTACH_TRACEPOINT ?
		 "is not seen by the syscall-exit fallback" : "is seen");
	report(status == 1 && seen(control, 1, HIVE_MAY_READ, self_exe) &&
		       seen(p, 1, HIVE_MAY_READ, self_exe) == (loader_mode(l) != ATTACH_TRACEPOINT),
	       mode_name, what);

	change_scenario(l, mode_name);
	tree_scenario(l, mode_name);
	overlay_scenario(l, mode_name);

	r = loader_stats_add(l, &st);
	snprintf(what, sizeof(what), "stats add up (%llu matched, %llu emitted, %zu received)",
		 (unsigned long long)st.matched, (unsigned long long)st.emitted, n_events);
	report(r >= 0 && st.matched == st.emitted + st.suppressed + st.dropped && st.emitted == n_events, mode_name,
	       what);
finish:
	loader_free(l);
}

/* ns per getpid(): a system call that touches no inode, so that only hooks
 * on the system call path itself can slow it down. */
/*
 * Refusals decided in the kernel (bpf/deny.bpf.h), where it runs BPF LSM
 * programs (booted with lsm=...,bpf): EACCES and an event for a refused
 * open, the process filter by the executable's inode (a hard link to the
 * excepted program is that program, a copy is not), by uid; exec and append
 * refused alone; audit-deny refuses nothing; a refusal outlives the killed
 * loader as long as its link is held (the fd store) and ends with it.
 */
#define DENY_DIR DIR_ "/deny"

/* Exec program (this binary's copy) with "--open path flags" in a child;
 * *status as child_open_as() has it, or 1 when the exec was refused. */
static pid_t child_run(const char *program, const char *path, int flags, int *status)
{
	pid_t pid = fork();
	int st = 0;
	char f[16];

	if (pid == 0) {
		snprintf(f, sizeof(f), "%d", flags);
		execl(program, program, "--open", path, f, (char *)NULL);
		_exit(open_status(-1));
	}
	waitpid(pid, &st, 0);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return pid;
}

/* The event of pid's open of key with all of flags (and no other of
 * PERMISSION and DENIED). */
static bool seen_decision(pid_t pid, const struct hive_watch_key *key, uint32_t watch_id, uint32_t mask, uint32_t flags)
{
	for (size_t i = 0; i < n_events; i++)
		if ((pid_t)events[i].tgid == pid && events[i].ino == key->ino && events[i].watch_id == watch_id &&
		    events[i].mask == mask &&
		    (events[i].flags & (HIVE_EVENT_PERMISSION | HIVE_EVENT_DENIED)) == flags)
			return true;
	return false;
}

/* A new file at path, anyone may read it: its key. */
static int new_file(const char *path, struct hive_watch_key *key)
{
	int r = make_file(path);

	if (r >= 0)
		r = chmod(path, 0644);
	return r < 0 ? r : file_key(path, key);
}

static int deny_file(struct loader *l, const char *path, struct hive_watch_key *key, const struct hive_deny_rule *rule)
{
	int r = new_file(path, key);

	return r < 0 ? r : loader_deny_put(l, key, &(struct hive_deny_value){ .rules = { *rule } });
}

/* The "agent" that is killed: its loader refuses reads of key and hands
 * the deny program's link to sock (as hived hands it to the fd store). */
static void held_agent(const struct loader_options *o, const struct hive_watch_key *key, int sock)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c = {};
	char notes[LOADER_NOTES_SIZE], byte = 'x';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof(c.buf) };
	struct loader *l = NULL;
	int fd;

	if (loader_new(o, on_event, NULL, &l, notes) < 0 ||
	    loader_deny_put(l, key, &(struct hive_deny_value){ .rules = { { .access = HIVE_MAY_READ,
									    .action = HIVE_DENY_REFUSE } } }) < 0 ||
	    (fd = loader_deny_link_fd(l)) < 0)
		_exit(1);
	c.h.cmsg_level = SOL_SOCKET;
	c.h.cmsg_type = SCM_RIGHTS;
	c.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&c.h), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		_exit(1);
	for (;;)
		pause();
}

static int receive_fd(int sock)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c = {};
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof(c.buf) };
	int fd = -1;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1 || !CMSG_FIRSTHDR(&msg))
		return -1;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	return fd;
}

static void held_across_kill(const struct loader_options *o)
{
	const char *held = DENY_DIR "/held";
	int sv[2], link = -1, before = -1, after = -1, stopped = -1;
	struct hive_watch_key key;
	char what[160];
	pid_t agent;

	unlink(held);
	if (new_file(held, &key) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		report(false, "deny", "held file and socketpair");
		return;
	}
	agent = fork();
	if (agent == 0) {
		close(sv[0]);
		held_agent(o, &key, sv[1]);
	}
	close(sv[1]);
	link = receive_fd(sv[0]);
	close(sv[0]);
	child_open_as(held, O_RDONLY, 0, &before);
	kill(agent, SIGKILL);
	waitpid(agent, NULL, 0);
	child_open_as(held, O_RDONLY, 0, &after);
	if (link >= 0)
		close(link);
	child_open_as(held, O_RDONLY, 0, &stopped);
	snprintf(what, sizeof(what), "a refusal holds after kill -9 of its loader while the link is held (link %d, "
		 "before %d, after %d)", link, before, after);
	report(link >= 0 && before == 1 && after == 1, "deny", what);
	report(stopped == 0, "deny", "closing the last link (a stop) allows everything again");
}

static bool kernel_preempts(void);

/* Readers for rewritten_under_readers(): each opens path reads times; its
 * exit status is 0 when every open was refused with EACCES, 1 when one got
 * through, 2 when one failed otherwise. */
#define DENY_READERS 3
#define DENY_READS 4000

static int deny_reader(const char *path, int reads)
{
	int worst = 0;

	for (int i = 0; i < reads; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC), st = fd >= 0 ? 1 : errno == EACCES ? 0 : 2;

		if (fd >= 0)
			close(fd);
		worst = st > worst ? st : worst;
	}
	return worst;
}

/*
 * Rules rewritten while processes are refused: the kernel hands a freed
 * element of a hash map to the next update on its CPU at once, without
 * waiting for the readers of the old one, so a program preempted between
 * its lookup and its reading of the rules (a kernel booted with
 * preempt=full) may read another file's rules in the same memory. Here the
 * refused file's rule and an audit-deny rule of another file are rewritten
 * in turn, in a loop while readers are refused: none may get through.
 */
static void rewritten_under_readers(struct loader *l)
{
	const struct hive_deny_value audit = { .rules = { { .access = HIVE_MAY_READ, .action = HIVE_DENY_AUDIT,
							     .watch_id = 41 } } };
	struct hive_watch_key churned, other;
	int running = 0, through = 0, failed = 0, st;
	unsigned long rewrites = 0;
	char what[200];
	pid_t p;

	if (deny_file(l, DENY_DIR "/churned", &churned,
		      &(struct hive_deny_rule){ .access = HIVE_MAY_READ, .action = HIVE_DENY_REFUSE, .watch_id = 40 }) < 0 ||
	    new_file(DENY_DIR "/other-rule", &other) < 0) {
		report(false, "deny", "rewritten rules: files");
		return;
	}
	for (int i = 0; i < DENY_READERS; i++) {
		p = fork();
		if (p == 0)
			_exit(deny_reader(DENY_DIR "/churned", DENY_READS));
		running += p > 0;
	}
	while (running > 0) {
		struct hive_deny_value refuse = { .rules = { { .access = HIVE_MAY_READ, .action = HIVE_DENY_REFUSE,
							       .watch_id = 40 + rewrites % 2 } } };

		/* The element the first frees, the second takes. */
		(void)loader_deny_put(l, &churned, &refuse);
		(void)loader_deny_put(l, &other, &audit);
		rewrites++;
		/* A pair per wakeup: each wakeup preempts a reader wherever it
		 * is, the more of them the likelier one inside the program. */
		usleep(100);
		while (running > 0 && (p = waitpid(-1, &st, WNOHANG)) > 0) {
			running--;
			through += WIFEXITED(st) && WEXITSTATUS(st) == 1;
			failed += !WIFEXITED(st) || WEXITSTATUS(st) > 1;
		}
	}
	(void)loader_deny_delete(l, &churned);
	(void)loader_deny_delete(l, &other);
	snprintf(what, sizeof(what), "rules rewritten %lu times while %d processes were refused %d reads each%s: %d "
		 "let one through, %d failed otherwise", rewrites, DENY_READERS, DENY_READS,
		 kernel_preempts() ? ", on a kernel that preempts them" : "", through, failed);
	report(rewrites > 0 && through == 0 && failed == 0, "deny", what);
}

static double fastest(double *v, size_t n);

static double open_close_ns(const char *path)
{
	struct timespec a, b;
	const int n = 20000;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		close(open(path, O_RDONLY | O_CLOEXEC));
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
}

#define DENY_COST_ROUNDS 3
#define DENY_COST_FILES 20

/* ns per open+close of path, each decision's event read between batches
 * (not timed): what a refused or allowed open of a denied file costs its
 * process, event included, with an agent that keeps up. */
static double decided_open_ns(struct loader *l, const char *path)
{
	const int batches = 400, per_batch = 50;
	double total = 0;

	for (int b = 0; b < batches; b++) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < per_batch; i++)
			close(open(path, O_RDONLY | O_CLOEXEC));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		total += (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
		loader_consume(l);
	}
	return total / (batches * per_batch);
}

/*
 * What every other open pays for the deny program: open+close of a file no
 * rule names, with the access hooks alone and with the deny program and
 * DENY_COST_FILES refused files, alternating (emulated timings are only
 * good for ratios). A figure for docs/benchmarks.md, not a check.
 */
static void deny_cost(void)
{
	const struct loader_options *with_deny = &(struct loader_options){
		.max_watches = 64, .ringbuf_bytes = 1 << 16, .mode = ATTACH_FENTRY,
		.with_generation = identity_from_kernel(identity), .deny = true };
	double without[DENY_COST_ROUNDS], with[DENY_COST_ROUNDS], refused[DENY_COST_ROUNDS],
		allowed[DENY_COST_ROUNDS];
	char notes[LOADER_NOTES_SIZE];

	mkdir(DENY_DIR, 0755);
	for (int r = 0; r < DENY_COST_ROUNDS; r++)
		for (int d = 0; d < 2; d++) {
			struct loader_options o = *with_deny;
			struct hive_watch_key key;
			struct loader *l = NULL;
			int k = 0;

			o.deny = d;
			if (loader_new(&o, on_event, NULL, &l, notes) < 0 || watch(l, DIR_ "/secret", 1, &key) < 0) {
				report(false, "deny", "cost: load");
				loader_free(l);
				return;
			}
			for (int f = 0; d && f < DENY_COST_FILES && k >= 0; f++) {
				char path[64];

				snprintf(path, sizeof(path), DENY_DIR "/cost-%d", f);
				k = deny_file(l, path, &key, &(struct hive_deny_rule){ .access = HIVE_MAY_READ,
										.action = HIVE_DENY_REFUSE });
			}
			/* A file whose rule leaves root out: allowed, and said. */
			if (d && k >= 0)
				k = loader_deny_member_put(l, &(struct hive_deny_member){ .filter = 7, .kind = HIVE_PROC_UID,
											  .value = 1234 });
			if (d && k >= 0)
				k = deny_file(l, DENY_DIR "/cost-allowed", &key,
					      &(struct hive_deny_rule){ .access = HIVE_MAY_READ,
									.action = HIVE_DENY_REFUSE,
									.filter = 7,
									.only = HIVE_PROC_UID });
			(d ? with : without)[r] = k < 0 ? 0 : open_close_ns(DIR_ "/other");
			if (d) {
				refused[r] = k < 0 ? 0 : decided_open_ns(l, DENY_DIR "/cost-0");
				allowed[r] = k < 0 ? 0 : decided_open_ns(l, DENY_DIR "/cost-allowed");
			}
			loader_free(l);
		}
	printf("HIVE: figure - open+close of another file, %s mode: %.0f ns with the access hooks, %.0f ns with the "
	       "deny program and %d refused files too (ratio %.2f, fastest of %d rounds)\n",
	       attach_mode_to_string(with_deny->mode), fastest(without, DENY_COST_ROUNDS), fastest(with, DENY_COST_ROUNDS),
	       DENY_COST_FILES, fastest(with, DENY_COST_ROUNDS) / fastest(without, DENY_COST_ROUNDS), DENY_COST_ROUNDS);
	printf("HIVE: figure - open+close of a denied file, %s mode: refused %.0f ns, allowed (its rule leaves the "
	       "opener out) %.0f ns, each with its event (fastest of %d rounds)\n",
	       attach_mode_to_string(with_deny->mode), fastest(refused, DENY_COST_ROUNDS),
	       fastest(allowed, DENY_COST_ROUNDS), DENY_COST_ROUNDS);
}

#define TREE_COST_TREES 20
#define TREE_COST_ROUNDS 15
#define TREE_COST_FILE DIR_ "/deep/a/b/c/d/e/f"

/* Loaded in fentry mode with a file watched and trees trees (directories
 * of their own under DIR_ "/trees"), as the watch set writes them. */
static struct loader *tree_cost_loader(int trees)
{
	struct loader_options o = { .max_watches = 64, .ringbuf_bytes = 1 << 16, .mode = ATTACH_FENTRY,
				    .with_generation = identity_from_kernel(identity) };
	char notes[LOADER_NOTES_SIZE];
	struct hive_watch_key key;
	struct loader *l = NULL;
	int r = loader_new(&o, on_event, NULL, &l, notes);

	if (r >= 0)
		r = watch(l, DIR_ "/secret", 1, &key);
	for (int t = 0; t < trees && r >= 0; t++) {
		char path[64];

		snprintf(path, sizeof(path), DIR_ "/trees/t%d", t);
		mkdir(path, 0755);
		r = watch(l, path, 40 + t, &key);
		if (r >= 0)
			r = loader_watch_put(l, &key, &(struct hive_watch_value){ .watch_id = 40 + t,
										  .access = HIVE_ACCESS_ALL,
										  .tree_access = HIVE_ACCESS_ALL });
		if (r >= 0)
			r = name_filter_set(l, HIVE_NAME_FILTER_TREE(key.ino));
	}
	if (r >= 0 && trees)
		r = loader_set_trees(l, trees);
	if (r < 0)
		l = loader_free(l);
	return l;
}

/*
 * What trees cost an open outside them in fentry mode (which this
 * development host cannot run): open+close of a file six directories
 * deep, with no agent, then with the access hooks and one file watched,
 * TREE_COST_TREES trees watched or not (the control map's count of trees
 * set to 0 spares every walk, as with none), alternating. The added cost of
 * the trees against the bare open+close is the figure (docs/benchmarks.md),
 * not a check.
 */
static void tree_cost(void)
{
	double bare[TREE_COST_ROUNDS], hooks[TREE_COST_ROUNDS], trees[TREE_COST_ROUNDS], b, h, t;
	struct loader *l;

	mkdir(DIR_ "/trees", 0755);
	mkdir(DIR_ "/deep", 0755);
	mkdir(DIR_ "/deep/a", 0755);
	mkdir(DIR_ "/deep/a/b", 0755);
	mkdir(DIR_ "/deep/a/b/c", 0755);
	mkdir(DIR_ "/deep/a/b/c/d", 0755);
	mkdir(DIR_ "/deep/a/b/c/d/e", 0755);
	make_file(TREE_COST_FILE);
	for (int r = 0; r < TREE_COST_ROUNDS; r++)
		bare[r] = open_close_ns(TREE_COST_FILE);
	l = tree_cost_loader(TREE_COST_TREES);
	if (!l) {
		report(false, "tree-cost", "load and watch");
		return;
	}
	for (int r = 0; r < TREE_COST_ROUNDS; r++) {
		loader_set_trees(l, 0);
		hooks[r] = open_close_ns(TREE_COST_FILE);
		loader_set_trees(l, TREE_COST_TREES);
		trees[r] = open_close_ns(TREE_COST_FILE);
	}
	loader_free(l);
	b = fastest(bare, TREE_COST_ROUNDS), h = fastest(hooks, TREE_COST_ROUNDS), t = fastest(trees, TREE_COST_ROUNDS);
	printf("HIVE: figure - open+close of a file six directories deep outside every tree, fentry mode: %.0f ns "
	       "bare, %.0f ns with the hooks, %.0f ns with %d trees too: the trees add %.1f%% of the bare open+close "
	       "(fastest of %d rounds)\n",
	       b, h, t, TREE_COST_TREES, 100 * (t - h) / b, TREE_COST_ROUNDS);
}

static void deny_scenario(void)
{
	struct loader_options o = { .max_watches = 64, .ringbuf_bytes = 1 << 16, .ancestors = HIVE_ANCESTORS_MAX,
				    .with_generation = identity_from_kernel(identity), .deny = true };
	struct hive_watch_key secret, tool, log, by_uid, audit, reader;
	const char *reader_path = DENY_DIR "/reader", *link_path = DENY_DIR "/reader-link",
		   *copy_path = DENY_DIR "/reader-copy";
	char what[128 + LOADER_NOTES_SIZE], notes[LOADER_NOTES_SIZE];
	struct hive_deny_stats st = {};
	struct loader *l = NULL;
	int r, status[12];
	pid_t p[12];

	n_events = 0;
	mkdir(DENY_DIR, 0755);
	unlink(link_path);
	r = loader_new(&o, on_event, NULL, &l, notes);
	snprintf(what, sizeof(what), "load with the deny program (%s%s%s)", r < 0 ? strerror(-r) : "loaded",
		 notes[0] ? ": " : "", notes);
	report(r >= 0 && loader_can_deny(l), "deny", what);
	if (r < 0 || !loader_can_deny(l)) {
		loader_free(l);
		return;
	}
	/* Opens pay for the program only once there is something to refuse. */
	report(!loader_deny_attached(l) && loader_deny_link_fd(l) < 0, "deny", "not attached before its first rule");
	r = copy_file("/proc/self/exe", reader_path);
	if (r >= 0)
		r = link(reader_path, link_path);
	if (r >= 0)
		r = copy_file("/proc/self/exe", copy_path);
	if (r >= 0)
		r = copy_file("/proc/self/exe", DENY_DIR "/tool");
	if (r >= 0)
		r = file_key(reader_path, &reader);
	/* Reads and writes refused, but for the program at reader_path. */
	if (r >= 0)
		r = loader_deny_member_put(l, &(struct hive_deny_member){ .filter = 1, .kind = HIVE_PROC_EXE, .except = 1,
									  .value = reader.ino, .dev = reader.dev,
									  .gen = o.with_generation ? reader.gen : 0 });
	if (r >= 0)
		r = deny_file(l, DENY_DIR "/secret", &secret,
			      &(struct hive_deny_rule){ .access = HIVE_MAY_READ | HIVE_MAY_WRITE | HIVE_MAY_APPEND,
							.action = HIVE_DENY_REFUSE, .watch_id = 30, .filter = 1,
							.except = HIVE_PROC_EXE });
	if (r >= 0)
		r = file_key(DENY_DIR "/tool", &tool);
	if (r >= 0)
		r = loader_deny_put(l, &tool, &(struct hive_deny_value){ .rules = { { .access = HIVE_MAY_EXEC,
										     .action = HIVE_DENY_REFUSE,
										     .watch_id = 31 } } });
	if (r >= 0)
		r = deny_file(l, DENY_DIR "/log", &log,
			      &(struct hive_deny_rule){ .access = HIVE_MAY_APPEND, .action = HIVE_DENY_REFUSE, .watch_id = 32 });
	/* Only root's reads refused. */
	if (r >= 0)
		r = loader_deny_member_put(l, &(struct hive_deny_member){ .filter = 2, .kind = HIVE_PROC_UID, .value = 0 });
	if (r >= 0)
		r = deny_file(l, DENY_DIR "/by-uid", &by_uid,
			      &(struct hive_deny_rule){ .access = HIVE_MAY_READ, .action = HIVE_DENY_REFUSE, .watch_id = 33,
							.filter = 2, .only = HIVE_PROC_UID });
	if (r >= 0)
		r = deny_file(l, DENY_DIR "/audit", &audit,
			      &(struct hive_deny_rule){ .access = HIVE_MAY_READ, .action = HIVE_DENY_AUDIT, .watch_id = 34 });
	report(r >= 0 && loader_deny_attached(l), "deny",
	       "deny rules and filter members written, the program attached at the first");
	if (r < 0) {
		loader_free(l);
		return;
	}

	p[0] = child_open_as(DENY_DIR "/secret", O_RDONLY, 0, &status[0]);
	p[1] = child_run(reader_path, DENY_DIR "/secret", O_RDONLY, &status[1]);
	p[2] = child_run(link_path, DENY_DIR "/secret", O_RDONLY, &status[2]);
	p[3] = child_run(copy_path, DENY_DIR "/secret", O_RDONLY, &status[3]);
	p[4] = child_run(DENY_DIR "/tool", DENY_DIR "/secret", O_RDONLY, &status[4]);
	p[5] = child_open_as(DENY_DIR "/log", O_RDONLY, 0, &status[5]);
	p[6] = child_open_as(DENY_DIR "/log", O_WRONLY, 0, &status[6]);
	p[7] = child_open_as(DENY_DIR "/log", O_WRONLY | O_APPEND, 0, &status[7]);
	p[8] = child_open_as(DENY_DIR "/by-uid", O_RDONLY, 0, &status[8]);
	p[9] = child_open_as(DENY_DIR "/by-uid", O_RDONLY, 1234, &status[9]);
	p[10] = child_open_as(DENY_DIR "/audit", O_RDONLY, 0, &status[10]);
	p[11] = child_open_as(DENY_DIR "/secret", O_WRONLY, 0, &status[11]);
	drain(l, 300);
	report(status[0] == 1 && seen_decision(p[0], &secret, 30, HIVE_MAY_READ,
					      HIVE_EVENT_PERMISSION | HIVE_EVENT_DENIED),
	       "deny", "a refused read fails with EACCES and is an event");
	report(status[11] == 1, "deny", "a refused write fails with EACCES");
	report(status[1] == 0 && seen_decision(p[1], &secret, 30, HIVE_MAY_READ, HIVE_EVENT_PERMISSION), "deny",
	       "the excepted executable reads (and is said to be allowed)");
	report(status[2] == 0, "deny", "a hard link to the excepted executable is that program and reads");
	report(status[3] == 1, "deny", "a copy of the excepted executable is refused");
	snprintf(what, sizeof(what), "an exec refused by an exec rule fails with EACCES and is an event (status %d)",
		 status[4]);
	report(status[4] == 1 && seen_decision(p[4], &tool, 31, HIVE_MAY_EXEC, HIVE_EVENT_PERMISSION | HIVE_EVENT_DENIED),
	       "deny", what);
	report(status[5] == 0 && status[6] == 0 && status[7] == 1, "deny",
	       "a refusal of appends lets reads and plain writes through");
	report(status[8] == 1 && status[9] == 0, "deny", "a uid filter: root refused, uid 1234 reads");
	report(status[10] == 0 && seen_decision(p[10], &audit, 34, HIVE_MAY_READ, HIVE_EVENT_PERMISSION), "deny",
	       "audit-deny refuses nothing and says what it would have refused");
	r = loader_deny_stats(l, &st);
	snprintf(what, sizeof(what), "decisions counted (%llu denied, %llu would-deny, %llu allowed, %llu dropped)",
		 (unsigned long long)st.denied, (unsigned long long)st.would_deny, (unsigned long long)st.allowed,
		 (unsigned long long)st.dropped);
	/* Refused: 0, 3, 4, 7, 8, 11; audit: 10; allowed: 1, 2, 9. */
	report(r >= 0 && st.denied == 6 && st.would_deny == 1 && st.allowed == 3 && st.dropped == 0, "deny", what);

	rewritten_under_readers(l);
	held_across_kill(&o);
	loader_free(l);
	child_open_as(DENY_DIR "/secret", O_RDONLY, 0, &status[0]);
	report(status[0] == 0, "deny", "a loader freed (stopped) refuses nothing");
}

static double getpid_ns(void)
{
	struct timespec a, b;
	const int n = 300000;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		syscall(SYS_getpid);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
}

static int cmp_double(const void *a, const void *b)
{
	return *(const double *)a < *(const double *)b ? -1 : *(const double *)a > *(const double *)b;
}

/*
 * The fastest of the rounds: what the condition costs, without what the
 * emulator or the host added to some rounds (both only add time; medians of
 * a few rounds flipped between a fast and a slow state of the emulator and
 * failed the check now and then).
 */
static double fastest(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[0];
}

#define COST_ROUNDS 11

/*
 * What the rest of the system pays in fentry and kprobe modes: a getpid()
 * loop with the access hooks attached and a file watched, against none, in
 * one alternating run (emulated timings are only good for ratios). The
 * control proves the measurement would see a stray hook: the same loop with
 * the resolver's syscall tracepoint attached, which puts every system call
 * on the tracing path.
 */
static void cost(void)
{
	const enum attach_mode modes[] = { ATTACH_FENTRY, ATTACH_KPROBE };
	double none[COST_ROUNDS], with[ARRAY_SIZE(modes)][COST_ROUNDS], control[COST_ROUNDS], base;
	double ratio[ARRAY_SIZE(modes)], control_ratio;
	struct hive_watch_key key;
	char what[200], notes[LOADER_NOTES_SIZE];

	for (int r = 0; r < COST_ROUNDS; r++) {
		none[r] = getpid_ns();
		for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
			struct loader_options o = { .max_watches = 64, .ringbuf_bytes = 1 << 16, .mode = modes[m],
						    .with_generation = identity_from_kernel(identity) };
			struct loader *l = NULL;

			if (loader_new(&o, on_event, NULL, &l, notes) < 0 || watch(l, DIR_ "/secret", 1, &key) < 0) {
				report(false, "cost", attach_mode_to_string(modes[m]));
				loader_free(l);
				return;
			}
			with[m][r] = getpid_ns();
			loader_free(l);
		}
		identity_begin(identity);
		control[r] = getpid_ns();
		identity_end(identity);
	}
	base = fastest(none, COST_ROUNDS);
	control_ratio = fastest(control, COST_ROUNDS) / base;
	snprintf(what, sizeof(what), "a syscall tracepoint slows getpid() down: %.0f ns -> %.0f ns, ratio %.2f (control)",
		 base, base * control_ratio, control_ratio);
	report(control_ratio > 1.1, "cost", what);
	for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
		ratio[m] = fastest(with[m], COST_ROUNDS) / base;
		/* Not slower: well within half of what one syscall hook costs. */
		snprintf(what, sizeof(what), "getpid() with the %s hooks attached: ratio %.2f (fastest of %d rounds)",
			 attach_mode_to_string(modes[m]), ratio[m], COST_ROUNDS);
		report(ratio[m] < 1 + (control_ratio - 1) / 2, "cost", what);
	}
}


/*
 * Readers for preempt(): copies of this binary, each at a path of its own
 * several long directories deep (a long walk for the exe path), reading the
 * watched file in a loop.
 */
#define READERS 6
#define READS 4000
#define DEEP "/this-directory-name-is-long-to-make-the-exe-walk-long"

static char reader_exe[READERS][HIVE_EXE_LEN];
static pid_t reader_pid[READERS];
static unsigned long preempt_events, preempt_wrong_exe, preempt_no_exe;

static int on_preempt_event(const struct hive_event *ev, void *userdata)
{
	for (int i = 0; i < READERS; i++)
		if ((pid_t)ev->tgid == reader_pid[i]) {
			preempt_events++;
			if (!ev->exe[0])
				preempt_no_exe++; /* unknown, said so: user space completes it */
			else if (strcmp(ev->exe, reader_exe[i]) != 0) {
				if (preempt_wrong_exe++ == 0)
					printf("HIVE: reader %d's event names %s\n", i, ev->exe);
			}
		}
	return 0;
}

static int make_reader(int i)
{
	char dir[HIVE_EXE_LEN - sizeof("/reader")];
	int n = snprintf(dir, sizeof(dir), DIR_ "/r%d", i);

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	for (int depth = 0; depth < 3; depth++) {
		n += snprintf(dir + n, sizeof(dir) - n, DEEP "%d", i);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
	}
	snprintf(reader_exe[i], sizeof(reader_exe[i]), "%s/reader", dir);
	return copy_file("/proc/self/exe", reader_exe[i]);
}

static void reader(void)
{
	for (int i = 0; i < READS; i++)
		close(open(DIR_ "/secret", O_RDONLY | O_CLOEXEC));
}

/* Whether this kernel preempts tasks inside the kernel, as its debugfs
 * says ("none voluntary (full)"); 5.10 has no such file and does not. */
static bool kernel_preempts(void)
{
	char line[128] = "";
	FILE *f = fopen("/sys/kernel/debug/sched/preempt", "re");

	if (f && !fgets(line, sizeof(line), f))
		line[0] = '\0';
	if (f)
		fclose(f);
	return strstr(line, "(full)") || strstr(line, "(lazy)");
}

/*
 * Several processes in the same hook at once on one CPU, with a kernel that
 * preempts them there (booted with preempt=full): every event names its own
 * process's executable, never another reader's (the per-CPU scratch is never
 * shared mid-use: the kernel runs no second program on a CPU where one runs),
 * the counters add up, and what the kernel skipped is counted as missed.
 * fentry programs run preemptible, and the kernel skips the other tasks'
 * runs meanwhile: auto mode then moves to kprobe, whose programs run with
 * preemption off and miss nothing.
 */
static void preempt(enum attach_mode mode)
{
	struct loader_options o = { .max_watches = 64, .ringbuf_bytes = 1 << 20, .mode = mode,
				    .with_generation = identity_from_kernel(identity) };
	struct loader_stats st = {};
	struct hive_watch_key secret;
	struct loader *l = NULL;
	const char *name = attach_mode_to_string(mode);
	char what[300], notes[LOADER_NOTES_SIZE];
	bool preempts = kernel_preempts();
	int running = 0;

	preempt_events = preempt_wrong_exe = preempt_no_exe = 0;
	for (int i = 0; i < READERS; i++)
		if (make_reader(i) < 0) {
			report(false, "preempt", "reader copies");
			return;
		}
	if (loader_new(&o, on_preempt_event, NULL, &l, notes) < 0 || watch(l, DIR_ "/secret", 1, &secret) < 0) {
		report(false, "preempt", "load and watch");
		loader_free(l);
		return;
	}
	for (int i = 0; i < READERS; i++) {
		reader_pid[i] = fork();
		if (reader_pid[i] == 0) {
			execl(reader_exe[i], reader_exe[i], "--read", (char *)NULL);
			_exit(127);
		}
		running += reader_pid[i] > 0;
	}
	while (running > 0) {
		struct pollfd p = { .fd = loader_event_fd(l), .events = POLLIN };

		if (poll(&p, 1, 10) > 0)
			loader_consume(l);
		while (running > 0 && waitpid(-1, NULL, WNOHANG) > 0)
			running--;
	}
	drain(l, 300);
	snprintf(what, sizeof(what), "%s mode, %d processes in the hook at once%s: %lu events, %lu naming another's "
		 "executable", name, READERS, preempts ? ", preempted there" : "", preempt_events, preempt_wrong_exe);
	report(preempt_events > 0 && preempt_wrong_exe == 0 && preempt_no_exe == 0, "preempt", what);
	loader_stats_add(l, &st);
	/* A run the kernel skipped may have been any inode's check, so
	 * missed bounds what was lost from above: every read is matched or
	 * among the runs counted as missed, never gone without a trace. */
	snprintf(what, sizeof(what), "%s mode: every read is matched or counted as missed (%d reads: %llu matched, %llu "
		 "emitted, %llu suppressed, %llu dropped, %lu received; %llu hook runs missed)", name, READERS * READS,
		 (unsigned long long)st.matched, (unsigned long long)st.emitted, (unsigned long long)st.suppressed,
		 (unsigned long long)st.dropped, preempt_events, (unsigned long long)st.missed);
	report(st.matched <= (unsigned long long)READERS * READS &&
		       st.matched + st.missed >= (unsigned long long)READERS * READS &&
		       st.matched == st.emitted + st.suppressed + st.dropped && st.emitted == preempt_events,
	       "preempt", what);
	if (mode == ATTACH_FENTRY) {
		snprintf(what, sizeof(what), "fentry mode is %sseen to lose runs to preemption (auto mode %s)",
			 loader_fentry_preempted(l) ? "" : "not ",
			 loader_fentry_preempted(l) ? "moves to kprobe" : "stays");
		report(loader_fentry_preempted(l) == preempts, "preempt", what);
	} else if (mode == ATTACH_KPROBE) {
		report(st.missed == 0 && st.matched == (unsigned long long)READERS * READS, "preempt",
		       "kprobe mode misses no run to preemption");
	}
	loader_free(l);
}

int main(int argc, char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "--noop") == 0)
		return 0;
	if (argc > 3 && strcmp(argv[1], "--open") == 0)
		return open_status(open(argv[2], atoi(argv[3]) | O_CLOEXEC));
	if (argc > 1 && strcmp(argv[1], "--read") == 0) {
		reader();
		return 0;
	}

	log_setup();
	if (readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1) < 0) {
		printf("HIVE: not ok - setup: readlink /proc/self/exe: %m\n");
		return 1;
	}
	mkdir(DIR_, 0755);
	if (copy_file("/proc/self/exe", DIR_ "/tool") < 0 || close(open(DIR_ "/secret", O_CREAT | O_WRONLY, 0600)) < 0 ||
	    close(open(DIR_ "/other", O_CREAT | O_WRONLY, 0600)) < 0 ||
	    symlink(DIR_ "/secret", DIR_ "/symlink") < 0 || link(DIR_ "/secret", DIR_ "/hardlink") < 0) {
		printf("HIVE: not ok - setup: %m\n");
		return 1;
	}
	if (identity_new(&identity) < 0) {
		printf("HIVE: not ok - setup: out of memory\n");
		return 1;
	}
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "cost") == 0)
			cost();
		else if (strcmp(argv[i], "deny") == 0)
			deny_scenario();
		else if (strcmp(argv[i], "deny-cost") == 0)
			deny_cost();
		else if (strcmp(argv[i], "tree-cost") == 0)
			tree_cost();
		else if (strcmp(argv[i], "preempt") == 0)
			for (enum attach_mode m = ATTACH_FENTRY; m <= ATTACH_TRACEPOINT; m++)
				preempt(m);
		else
			scenario(argv[i]);
	identity_free(identity);
	printf("HIVE: done, %d failures\n", failures);
	return failures ? 1 : 0;
}
