/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon/fdstore.h"
#include "daemon/refusals.h"
#include "enforce/enforce.h"
#include "enforce/kernel-deny.h"
#include "shared/log.h"
#include "shared/macro.h"
#include "watch/watch.h"

/* Events handled per dispatch of the ring buffer of a loader of the deny
 * program alone: a loop refused again and again must not starve the rest. */
#define ALONE_BATCH 2048

struct refusals {
	struct refusals_options o;
	sd_event *event;
	struct kernel_denier *denier; /* in the kernel, */
	struct enforcer *enforcer;    /* or through fanotify */
	struct loader *hooks;         /* the access hooks' loader, or NULL */
	/* The loader of the deny program alone, while the hooks' cannot
	 * refuse, and its ring buffer's source. */
	struct loader *alone;
	sd_event_source *alone_source;
	unsigned budget; /* events left in this dispatch of it */
	/* What the previous agent's loader of the program alone left. */
	struct kept_refusals kept;
	/* Counted by the programs that refused before the one now. */
	struct refusals_stats base;
};

/* The loader whose deny program refuses, or NULL. */
static struct loader *refusing(const struct refusals *r)
{
	if (!r->denier)
		return NULL;
	return r->alone ? r->alone : r->hooks;
}

/* What l's program counted (zero where it has none). */
static struct refusals_stats kernel_stats(const struct loader *l)
{
	struct hive_deny_stats ds;

	if (!l || loader_deny_stats(l, &ds) < 0)
		return (struct refusals_stats){};
	return (struct refusals_stats){ .denied = ds.denied, .allowed = ds.allowed + ds.would_deny, .dropped = ds.dropped };
}

static void stats_add(struct refusals_stats *to, struct refusals_stats s)
{
	to->denied += s.denied;
	to->allowed += s.allowed;
	to->dropped += s.dropped;
}

/* The link and ring buffer of the program alone to the service manager, or
 * none there any more. */
static void store_alone(struct refusals *r)
{
	int k;

	if (r->alone && loader_deny_attached(r->alone))
		k = fdstore_put_refusals(loader_deny_link_fd(r->alone), loader_events_map_fd(r->alone));
	else
		k = fdstore_put_refusals(-1, -1);
	if (k < 0)
		log_warning_errno(k, "Cannot hand the BPF LSM program to the service manager (%m): a restart lets "
				  "through what deny policies refuse until the next agent is up.");
}

/* The program refuses from its first rule on: its link is new. */
static void on_attach_changed(void *userdata)
{
	struct refusals *r = userdata;

	if (r->alone)
		store_alone(r);
	else if (r->o.hooks_side_changed)
		r->o.hooks_side_changed(r->o.userdata);
}

static int alone_event(const struct hive_event *ev, void *userdata)
{
	struct refusals *r = userdata;
	int k = r->o.on_event(ev, r->o.userdata);

	if (k >= 0 && r->budget && --r->budget == 0)
		return -EAGAIN; /* this event is consumed; the next wait for the next dispatch */
	return k;
}

static int on_alone_ring(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct refusals *r = userdata;
	int k;

	r->budget = ALONE_BATCH;
	k = loader_consume(r->alone);
	r->budget = 0;
	if (k < 0 && k != -EAGAIN)
		log_warning_errno(k, "Cannot read refusals from the ring buffer: %m");
	return 0;
}

/* A loader of the deny program alone. -EOPNOTSUPP: this kernel runs no BPF
 * LSM program. */
static int alone_start(struct refusals *r)
{
	struct loader_options o = r->o.loader;
	char notes[LOADER_NOTES_SIZE];
	int k;

	if (r->alone)
		return 0;
	o.mode = ATTACH_NONE;
	o.deny = true;
	o.kept = NULL;
	k = loader_new(&o, alone_event, r, &r->alone, notes);
	if (k < 0) {
		log_debug_errno(k, "No BPF LSM program of its own (%m; %s).", notes);
		return k;
	}
	k = sd_event_add_io(r->event, &r->alone_source, loader_event_fd(r->alone), EPOLLIN, on_alone_ring, r);
	if (k < 0)
		r->alone = loader_free(r->alone);
	return k;
}

/* Its rules are written elsewhere: it goes, what it queued read first. */
static void alone_stop(struct refusals *r)
{
	if (!r->alone)
		return;
	loader_deny_detach(r->alone);
	(void)loader_consume(r->alone);
	r->alone_source = sd_event_source_disable_unref(r->alone_source);
	r->alone = loader_free(r->alone);
	store_alone(r);
}

static int start_in_kernel(struct refusals *r, struct loader *hooks)
{
	struct loader *l = hooks && loader_can_deny(hooks) ? hooks : NULL;
	int k;

	if (!l && alone_start(r) >= 0)
		l = r->alone;
	if (!l)
		return -EOPNOTSUPP;
	k = kernel_denier_new(r->event, l,
			      &(struct kernel_denier_options){ .watches = r->o.watches,
							       .containers = r->o.containers,
							       .attach_changed = on_attach_changed,
							       .userdata = r },
			      &r->denier);
	if (k < 0) {
		log_warning_errno(k, "Cannot refuse in the kernel (%m): deny policies go through fanotify.");
		alone_stop(r);
	}
	return k;
}

int refusals_new(sd_event *event, const struct refusals_options *o, struct loader *hooks,
		 struct kept_refusals *kept, struct refusals **ret)
{
	struct refusals *r = calloc(1, sizeof(*r));
	int k;

	if (!r)
		return -ENOMEM;
	*r = (struct refusals){ .o = *o, .event = sd_event_ref(event), .hooks = hooks, .kept = *kept };
	*kept = KEPT_REFUSALS_NONE;
	*ret = r;
	if (start_in_kernel(r, hooks) >= 0)
		return 0;
	k = enforcer_new(event,
			 &(struct enforcer_options){ .watches = o->watches,
						     .container = o->container,
						     .decided = o->decided,
						     .userdata = o->userdata },
			 &r->enforcer);
	if (k >= 0)
		watch_set_set_enforcer(o->watches, enforcer_follower(r->enforcer));
	return k;
}

struct refusals *refusals_free(struct refusals *r)
{
	if (!r)
		return NULL;
	enforcer_free(r->enforcer);
	kernel_denier_free(r->denier);
	/* The service manager's copies keep it attached for the next agent
	 * (a stop detached it first). */
	if (r->alone)
		loader_disconnect(r->alone);
	sd_event_source_disable_unref(r->alone_source);
	loader_free(r->alone);
	kept_refusals_close(&r->kept);
	sd_event_unref(r->event);
	free(r);
	return NULL;
}

void refusals_follow(struct refusals *r, struct loader *hooks)
{
	struct loader *from, *to;
	int k = 0;

	if (!r)
		return;
	from = refusing(r);
	r->hooks = hooks;
	if (!r->denier)
		return;
	/* The hooks' program where there is one, else the one alone. */
	to = hooks && loader_can_deny(hooks) ? hooks : r->alone;
	if (!to) {
		k = alone_start(r);
		to = r->alone;
	}
	if (to == from)
		return;
	stats_add(&r->base, kernel_stats(from));
	if (k >= 0)
		k = kernel_denier_set_loader(r->denier, to);
	if (k < 0) {
		log_error_errno(k, "Cannot move the refusals to another BPF LSM program (%m): deny policies refuse "
			        "nothing until hived restarts.");
		(void)kernel_denier_set_loader(r->denier, NULL);
		return;
	}
	/* Written into the hooks' program: the one alone can go. */
	if (to == hooks)
		alone_stop(r);
}

const char *refusals_mechanism(const struct refusals *r)
{
	return !r ? NULL : r->denier ? "kernel" : r->enforcer ? "fanotify" : NULL;
}

void refusals_sync(struct refusals *r)
{
	if (r)
		kernel_denier_sync(r->denier);
}

void refusals_settled(struct refusals *r)
{
	if (!r)
		return;
	/* Once per loader it writes into (kernel-deny.h). */
	kernel_denier_prune(r->denier);
	if (r->kept.link < 0 && r->kept.events < 0)
		return;
	/* Ours refuse now: the previous agent's program goes, and then what
	 * it refused while no agent ran is read. */
	if (r->kept.link >= 0)
		close(TAKE_FD(r->kept.link));
	if (r->kept.events >= 0)
		(void)loader_drain_ring(r->kept.events, r->o.on_event, r->o.userdata);
	kept_refusals_close(&r->kept);
	store_alone(r);
}

void refusals_stop(struct refusals *r)
{
	struct loader *l = r ? refusing(r) : NULL;

	if (l)
		loader_deny_detach(l);
}

void refusals_consume(struct refusals *r)
{
	if (r && r->alone)
		(void)loader_consume(r->alone);
}

void refusals_stats_get(const struct refusals *r, struct refusals_stats *ret)
{
	struct enforcer_stats es;

	*ret = (struct refusals_stats){};
	if (!r)
		return;
	if (r->enforcer) {
		enforcer_stats_get(r->enforcer, &es);
		*ret = (struct refusals_stats){ .denied = es.denied, .allowed = es.allowed };
		return;
	}
	*ret = r->base;
	stats_add(ret, kernel_stats(refusing(r)));
}
