/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "enforce/enforce.h"
#include "shared/abi.h"
#include "shared/hashmap.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "watch/policy.h"
#include "watch/proc-who.h"
#include "watch/watch.h"

#define PERMISSION_MASK (FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM)
/* Events read per turn of the loop: others' sources get theirs between. */
#define READS_PER_TURN 16

/* An enforced file, by what fstat() tells of an event's descriptor (the
 * number and device; the key has the generation the watch set knows). */
struct marked {
	struct hive_watch_key key;
	unsigned refs;
};

struct enforcer {
	struct enforcer_options o;
	struct watch_file_follower follower;
	sd_event_source *source; /* of queue[0] */
	int group;
	/* The reader thread hands every event but this agent's own to the
	 * loop through this pipe; stop tells it to end. */
	int queue[2];
	int stop;
	pthread_t reader;
	bool reader_started;
	atomic_uint_fast64_t refused_unasked; /* by the reader, the queue full */
	struct hashmap *marked; /* (ino, dev) -> struct marked */
	char cgroup2[PATH_MAX];
	struct enforcer_stats stats;
	int last_error; /* of marking, said once */
};

/* No padding: hashed as bytes. */
struct marked_id {
	uint64_t ino;
	uint64_t dev;
};

static void mark(struct enforcer *e, int fd, bool add, const struct hive_watch_key *key)
{
	char proc[64];
	int r;

	/* The descriptor's file itself, whatever path it has now. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	r = fanotify_mark(e->group, add ? FAN_MARK_ADD : FAN_MARK_REMOVE, PERMISSION_MASK, AT_FDCWD, proc) < 0
		    ? negative_errno()
		    : 0;
	if (r < 0 && r != e->last_error)
		log_error_errno(r, "Cannot %s refusals of inode %" PRIu64 " on %u:%u: %m", add ? "place" : "remove",
				(uint64_t)key->ino, kernel_dev_major(key->dev), kernel_dev_minor(key->dev));
	e->last_error = r;
}

static void follow(void *userdata, int fd, const struct hive_watch_key *file)
{
	struct enforcer *e = userdata;
	struct marked_id id = { .ino = file->ino, .dev = file->dev };
	struct marked *m = hashmap_get(e->marked, &id, sizeof(id));

	if (m) {
		m->refs++;
		m->key = *file;
		return;
	}
	m = calloc(1, sizeof(*m));
	if (!m || hashmap_put(e->marked, &id, sizeof(id), m, NULL) < 0) {
		free(m);
		log_error("Out of memory: inode %" PRIu64 " is not refused.", (uint64_t)file->ino);
		return;
	}
	*m = (struct marked){ .key = *file, .refs = 1 };
	mark(e, fd, true, file);
}

static void unfollow(void *userdata, const struct hive_watch_key *file)
{
	struct enforcer *e = userdata;
	struct marked_id id = { .ino = file->ino, .dev = file->dev };
	struct marked *m = hashmap_get(e->marked, &id, sizeof(id));

	if (!m || --m->refs > 0)
		return;
	/* The mark goes with the inode when it is gone. While the file lives,
	 * its next event removes it (no descriptor is kept here: one would
	 * keep a container's root busy); until then it is allowed. */
	hashmap_remove(e->marked, &id, sizeof(id));
	free(m);
}

uint32_t enforce_open_access(unsigned long flags)
{
	uint32_t access;

	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		access = HIVE_MAY_READ;
		break;
	case O_WRONLY:
		access = HIVE_MAY_WRITE;
		break;
	default:
		access = HIVE_MAY_READ | HIVE_MAY_WRITE;
		break;
	}
	if (flags & O_APPEND)
		access |= HIVE_MAY_WRITE | HIVE_MAY_APPEND;
	if (flags & O_TRUNC)
		access |= HIVE_MAY_WRITE;
	return access;
}

/*
 * What an open asked for: fanotify does not say, but the thread is held in
 * its system call, whose arguments /proc/TID/syscall shows. Where that
 * tells nothing (openat2(), an io_uring worker), every kind is assumed: a
 * deny of reads or of writes refuses it.
 */
static uint32_t open_access(int dir)
{
	unsigned long long args[6] = {};
	char line[256];
	long nr;

	if (proc_read_at(dir, "syscall", line, sizeof(line)) < 0 ||
	    sscanf(line, "%ld %llx %llx %llx %llx %llx %llx", &nr, &args[0], &args[1], &args[2], &args[3], &args[4],
		   &args[5]) != 7)
		return HIVE_MAY_READ | HIVE_MAY_WRITE | HIVE_MAY_APPEND;
	switch (nr) {
#ifdef SYS_open
	case SYS_open:
		return enforce_open_access(args[1]);
#endif
#ifdef SYS_creat
	case SYS_creat:
		return HIVE_MAY_WRITE;
#endif
	case SYS_openat:
		return enforce_open_access(args[2]);
	case SYS_execve:
	case SYS_execveat:
		/* The open that follows FAN_OPEN_EXEC_PERM in an exec: told once. */
		return 0;
	default:
		return HIVE_MAY_READ | HIVE_MAY_WRITE | HIVE_MAY_APPEND;
	}
}

static void answer(int group, int fd, uint32_t response)
{
	struct fanotify_response a = { .fd = fd, .response = response };

	if (write(group, &a, sizeof(a)) != sizeof(a))
		log_error_errno(negative_errno(), "Cannot answer a permission event: %m");
}

/* Whether entries of the file refuse ev's access, and whether any enforced
 * one wants to hear of it. */
static bool refused(struct enforcer *e, const struct watch_inode *inode, const struct hive_event *ev, bool *wanted)
{
	const char *container = e->o.container ? e->o.container(e->o.userdata, ev->cgroup_id) : NULL;
	bool deny = false;

	*wanted = false;
	for (size_t i = 0; inode && i < inode->n_entries; i++) {
		const struct watch_entry *en = inode->entries[i];

		if (!en->action || !(en->access & ev->mask))
			continue;
		*wanted = true;
		if (en->action == POLICY_ACTION_DENY && !deny)
			deny = watch_entry_admits(e->o.watches, en, ev, container);
	}
	return deny;
}

static bool denies_anyone(struct enforcer *e, const struct hive_watch_key *file)
{
	const struct watch_inode *inode = watch_set_find(e->o.watches, 0, file);

	for (size_t i = 0; inode && i < inode->n_entries; i++)
		if (inode->entries[i]->action == POLICY_ACTION_DENY)
			return true;
	return false;
}

static void decide(struct enforcer *e, const struct fanotify_event_metadata *m)
{
	_cleanup_(closep) int dir = m->pid > 0 ? proc_dir_open((uint32_t)m->pid) : -1;
	uint32_t response = FAN_ALLOW;
	struct hive_event ev = {};
	struct marked_id id;
	struct marked *marked;
	struct stat st;
	bool wanted = false;

	if (fstat(m->fd, &st) == 0) {
		id = (struct marked_id){ .ino = st.st_ino, .dev = kernel_dev_from_user(st.st_dev) };
		marked = hashmap_get(e->marked, &id, sizeof(id));
		if (!marked)
			mark(e, m->fd, false, &(struct hive_watch_key){ .ino = id.ino, .dev = id.dev });
		/* A process of no pid in this agent's namespace (hived in a
		 * container of its own, the opener outside it) cannot be
		 * told apart from one a filter would refuse: refused wherever
		 * a deny policy refuses anyone, unrecorded (no one to name). */
		if (marked && m->pid == 0 && denies_anyone(e, &marked->key))
			response = FAN_DENY;
		/* A thread gone meanwhile asks no more. */
		else if (marked && dir >= 0 && proc_who_at(e->cgroup2, dir, &ev)) {
			ev.tid = (uint32_t)m->pid;
			ev.ino = marked->key.ino;
			ev.dev = marked->key.dev;
			ev.gen = marked->key.gen;
			ev.mask = m->mask & FAN_OPEN_EXEC_PERM ? HIVE_MAY_EXEC : open_access(dir);
			ev.boot_ns = clock_nsec(CLOCK_BOOTTIME);
			ev.flags = HIVE_EVENT_PERMISSION;
			if (refused(e, watch_set_find(e->o.watches, 0, &marked->key), &ev, &wanted)) {
				response = FAN_DENY;
				ev.flags |= HIVE_EVENT_DENIED;
			}
		}
	}
	answer(e->group, m->fd, response);
	if (response == FAN_DENY)
		e->stats.denied++;
	else
		e->stats.allowed++;
	if (wanted && e->o.decided)
		e->o.decided(e->o.userdata, &ev);
}

/* Whether tid is a thread of this agent: asked by its own open, which the
 * loop, blocked in that open, could never answer. */
static bool own_thread(int32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%" PRId32, tid);
	return access(path, F_OK) == 0;
}


/*
 * The reader thread: it only reads the group, answers this agent's own
 * opens (allowed: hived reads its policies, its configuration, the passwd
 * file, which a deny policy may name), and queues every other event for the
 * loop, which decides. It touches nothing else of the agent's, so that
 * whatever file the loop opens, someone answers.
 */
static void *reader(void *userdata)
{
	struct enforcer *e = userdata;
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	struct pollfd fds[] = { { .fd = e->group, .events = POLLIN }, { .fd = e->stop, .events = POLLIN } };

	for (;;) {
		const struct fanotify_event_metadata *m = (const void *)buf;
		ssize_t n;

		if (poll(fds, ARRAY_SIZE(fds), -1) < 0 && errno != EINTR)
			return NULL;
		if (fds[1].revents)
			return NULL;
		n = read(e->group, buf, sizeof(buf));
		if (n < 0)
			continue; /* EAGAIN, EINTR */
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->fd < 0)
				continue; /* FAN_Q_OVERFLOW: permission events are never lost */
			if (own_thread(m->pid))
				answer(e->group, m->fd, FAN_ALLOW);
			else if (write(e->queue[1], m, sizeof(*m)) == sizeof(*m))
				continue; /* the loop closes it */
			else {
				/* The loop is that far behind: refused unasked, or
				 * a flood of opens would be a way through. */
				answer(e->group, m->fd, FAN_DENY);
				atomic_fetch_add(&e->refused_unasked, 1);
			}
			close(m->fd);
		}
	}
}

static int on_queued(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct enforcer *e = userdata;

	for (int turn = 0; turn < READS_PER_TURN; turn++) {
		struct fanotify_event_metadata m;

		if (read(e->queue[0], &m, sizeof(m)) != sizeof(m))
			return 0; /* EAGAIN: all decided */
		decide(e, &m);
		close(m.fd);
	}
	return 0;
}

int enforcer_new(sd_event *event, const struct enforcer_options *o, struct enforcer **ret)
{
	struct enforcer *e = calloc(1, sizeof(*e));
	int r;

	if (!e)
		return -ENOMEM;
	e->o = *o;
	e->follower = (struct watch_file_follower){ .follow = follow, .unfollow = unfollow, .userdata = e };
	e->queue[0] = e->queue[1] = e->stop = -1;
	/* The thread's id, so that /proc/TID/syscall is the blocked thread's.
	 * Blocking reads: only the reader thread reads it. */
	e->group = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_REPORT_TID, O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	if (e->group < 0) {
		r = negative_errno();
		enforcer_free(e);
		return r;
	}
	e->marked = hashmap_new();
	e->stop = eventfd(0, EFD_CLOEXEC);
	if (!e->marked || e->stop < 0 || pipe2(e->queue, O_CLOEXEC | O_NONBLOCK) < 0) {
		enforcer_free(e);
		return -ENOMEM;
	}
	/* Room for many waiting decisions before the reader allows unasked. */
	(void)fcntl(e->queue[1], F_SETPIPE_SZ, 1 << 20);
	proc_who_cgroup2(e->cgroup2);
	r = sd_event_add_io(event, &e->source, e->queue[0], EPOLLIN, on_queued, e);
	if (r >= 0)
		/* Before everything else: an asking process waits for it. */
		r = sd_event_source_set_priority(e->source, SD_EVENT_PRIORITY_IMPORTANT);
	if (r >= 0) {
		r = -pthread_create(&e->reader, NULL, reader, e);
		e->reader_started = r == 0;
	}
	if (r < 0) {
		enforcer_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

struct enforcer *enforcer_free(struct enforcer *e)
{
	if (!e)
		return NULL;
	if (e->reader_started) {
		/* An eventfd write fails only past 2^64 - 1 counts. */
		if (write(e->stop, &(uint64_t){ 1 }, sizeof(uint64_t)) == sizeof(uint64_t))
			pthread_join(e->reader, NULL);
		else
			pthread_detach(e->reader);
	}
	sd_event_source_disable_unref(e->source);
	/* Closing the group allows every held access and drops every mark
	 * (the queued ones too: their descriptors are the group's answers). */
	closep(&e->group);
	closep(&e->queue[0]);
	closep(&e->queue[1]);
	closep(&e->stop);
	hashmap_free_with(e->marked, free);
	free(e);
	return NULL;
}

const struct watch_file_follower *enforcer_follower(struct enforcer *e)
{
	return &e->follower;
}

void enforcer_stats_get(const struct enforcer *e, struct enforcer_stats *ret)
{
	*ret = e ? e->stats : (struct enforcer_stats){};
	if (e)
		ret->denied += atomic_load(&e->refused_unasked);
}
