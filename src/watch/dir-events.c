/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "shared/macro.h"
#include "shared/strv.h"
#include "watch/dir-events.h"

struct dir_events {
	sd_event_source *source;
	char **names;
	size_t n_names;
	dir_events_fn fn;
	void *userdata;
};

/* What can put another file at a name, or take the directory away. */
#define DIR_EVENTS_MASK \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

static int on_event(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
	struct dir_events *d = userdata;
	bool named = ev->len == 0; /* the directory itself, or an overflow */

	for (size_t i = 0; i < d->n_names && !named; i++)
		named = strcmp(ev->name, d->names[i]) == 0;
	if (named)
		d->fn(d->userdata);
	return 0;
}

int dir_events_new(sd_event *event, int dir_fd, const char *const *names, size_t n, dir_events_fn fn,
		   void *userdata, struct dir_events **ret)
{
	struct dir_events *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	*d = (struct dir_events){ .n_names = n, .fn = fn, .userdata = userdata };
	r = strv_copy((char *const *)names, n, &d->names);
	if (r >= 0)
		r = sd_event_add_inotify_fd(event, &d->source, dir_fd, DIR_EVENTS_MASK, on_event, d);
	if (r < 0) {
		dir_events_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

void dir_events_set_userdata(struct dir_events *d, void *userdata)
{
	if (d)
		d->userdata = userdata;
}

struct dir_events *dir_events_free(struct dir_events *d)
{
	if (!d)
		return NULL;
	sd_event_source_disable_unref(d->source);
	strv_free(d->names, d->n_names);
	free(d);
	return NULL;
}
