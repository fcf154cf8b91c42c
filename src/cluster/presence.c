/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/presence.h"
#include "hive.h"
#include "kernel/identity.h"
#include "kernel/resolve.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "watch/watch.h"

#define PRESENCE_POLICY "hive-presence"

struct presence {
	sd_event *event;
	struct watch_set *set;
	struct identity *identity;
	struct presence_options o;
	char *node, *dir, *path;
	char *holder; /* asked about; NULL: none */
	char *key;    /* of the probe's entry, while it is in the set */
	enum presence_verdict verdict;
	uint64_t asked_at;
	sd_event_source *timer;
	bool failure_said;
};

static uint64_t now_usec(struct presence *p)
{
	uint64_t now = 0;

	sd_event_now(p->event, CLOCK_MONOTONIC, &now);
	return now;
}

void presence_stop(struct presence *p)
{
	if (!p)
		return;
	if (p->key)
		watch_set_remove(p->set, p->key);
	p->key = mfree(p->key);
	p->holder = mfree(p->holder);
	(void)unlink(p->path);
	sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
}

/* A new file for each holder asked (a new inode), in the set for it alone. */
static int make_probe(struct presence *p)
{
	_cleanup_(closep) int fd = -1;
	struct hive_watch_key file;
	struct watch_entry *e;
	int r;

	if (mkdir(p->dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	(void)unlink(p->path);
	fd = open(p->path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	closep(&fd);
	identity_begin(p->identity);
	fd = resolve_open(-1, p->path, false);
	r = fd < 0 ? fd : identity_of_fd(p->identity, fd, &file, NULL, NULL);
	identity_end(p->identity);
	if (r < 0)
		return r;
	p->key = watch_key("presence", p->holder, NULL);
	e = p->key ? watch_entry_new(p->key, &file, HIVE_MAY_READ, PRESENCE_POLICY, p->path, p->node) : NULL;
	if (!e || !(e->presence_for = strdup(p->holder))) {
		watch_entry_free(e);
		return -ENOMEM;
	}
	return watch_set_put(p->set, e);
}

/*
 * Open the probe and see whether that open was answered. The signal is
 * blocked (hived's main) and ignored by default: it stays pending until
 * taken here, and one left from an earlier open is taken first.
 */
static bool answered(const char *path)
{
	const struct timespec now = {};
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, HIVE_PRESENCE_SIGNAL);
	while (sigtimedwait(&mask, NULL, &now) > 0)
		;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	close(fd);
	return sigtimedwait(&mask, NULL, &now) == HIVE_PRESENCE_SIGNAL;
}

static void judge(struct presence *p, enum presence_verdict verdict)
{
	if (verdict == p->verdict)
		return;
	p->verdict = verdict;
	if (verdict == PRESENCE_PROVEN)
		log_info("Lease holder %s answered this agent's presence probe: it runs a loader on this kernel.",
			 p->holder);
	else if (verdict == PRESENCE_FAILED)
		log_warning("Lease holder %s has not answered this agent's presence probe for %llu s: its Node says "
			    "it runs on this kernel, but no loader here answers as it.",
			    p->holder, (unsigned long long)(p->o.deadline_usec / USEC_PER_SEC));
	p->o.on_change(p->o.userdata);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct presence *p = userdata;

	if (!p->holder)
		return 0;
	if (p->key && answered(p->path)) {
		/* Proven: the probe is no longer needed; a new holder is asked
		 * again. */
		char *holder = TAKE_PTR(p->holder);

		presence_stop(p);
		p->holder = holder;
		judge(p, PRESENCE_PROVEN);
		return 0;
	}
	if (p->verdict == PRESENCE_PENDING && now_usec(p) - p->asked_at >= p->o.deadline_usec)
		judge(p, PRESENCE_FAILED);
	sd_event_source_set_time_relative(s, p->o.interval_usec);
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

enum presence_verdict presence_of(struct presence *p, const char *holder)
{
	int r;

	if (p->holder && strcmp(p->holder, holder) == 0)
		return p->verdict;
	presence_stop(p);
	p->holder = strdup(holder);
	if (!p->holder)
		return PRESENCE_FAILED;
	p->verdict = PRESENCE_PENDING;
	p->asked_at = now_usec(p);
	r = make_probe(p);
	if (r < 0) {
		/* Then nothing shows it runs here: duplicates, never a gap. */
		if (!p->failure_said)
			log_error_errno(r, "Cannot make the presence probe %s for lease holder %s: %m", p->path,
					holder);
		p->failure_said = true;
		p->key = mfree(p->key);
		p->verdict = PRESENCE_FAILED;
		return p->verdict;
	}
	sd_event_source_set_time_relative(p->timer, p->o.interval_usec);
	sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
	return p->verdict;
}

int presence_new(sd_event *event, struct watch_set *set, struct identity *identity, const struct presence_options *o,
		 struct presence **ret)
{
	struct presence *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	*p = (struct presence){ .event = sd_event_ref(event), .set = set, .identity = identity, .o = *o };
	p->node = strdup(o->node);
	p->dir = strdup(o->dir);
	if (!p->node || !p->dir || asprintf(&p->path, "%s/presence-%s", o->dir, o->node) < 0) {
		p->path = NULL;
		presence_free(p);
		return -ENOMEM;
	}
	p->o.node = p->node;
	p->o.dir = p->dir;
	r = sd_event_add_time_relative(event, &p->timer, CLOCK_MONOTONIC, o->interval_usec, 0, on_timer, p);
	if (r >= 0)
		r = sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
	if (r < 0) {
		presence_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

struct presence *presence_free(struct presence *p)
{
	if (!p)
		return NULL;
	if (p->path)
		presence_stop(p);
	sd_event_source_disable_unref(p->timer);
	sd_event_unref(p->event);
	free(p->node);
	free(p->dir);
	free(p->path);
	free(p);
	return NULL;
}
