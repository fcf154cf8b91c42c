/* SPDX-License-Identifier: MIT */
#ifndef HIVE_PRESENCE_H
#define HIVE_PRESENCE_H

#include <stdint.h>
#include <systemd/sd-event.h>

struct identity;
struct watch_set;

/*
 * Whether the holder of this kernel's lease really runs a loader on this
 * kernel. Its Node may say it runs here (status.nodeInfo.bootID), but any
 * node's kubelet credential can write any boot id into its own Node, and an
 * agent that took its word would leave its kernel unwatched.
 *
 * The probe asks the kernel: this agent makes a file of its own, publishes it
 * in its NodeWatch for the holder alone (presenceFor), and opens it now and
 * then. The holder's hooks answer such an open with a signal to the opening
 * process (HIVE_WATCH_PRESENCE), which nothing on another kernel can send.
 * The signal is pending by the time open() returns, so each open is judged
 * on its own, without waiting.
 */
struct presence;

enum presence_verdict {
	PRESENCE_PENDING, /* asked, not answered yet, deadline not reached */
	PRESENCE_PROVEN,  /* the holder answered: it runs here */
	PRESENCE_FAILED,  /* no answer by the deadline: the probe goes on */
};

struct presence_options {
	const char *node;       /* this agent's */
	const char *dir;        /* where the probe file is made */
	uint64_t interval_usec; /* between opens */
	uint64_t deadline_usec; /* for an answer */
	/* The verdict on the holder asked about changed. */
	void (*on_change)(void *userdata);
	void *userdata;
};

int presence_new(sd_event *event, struct watch_set *set, struct identity *identity, const struct presence_options *o,
		 struct presence **ret);
struct presence *presence_free(struct presence *p);

/* The verdict on holder; asks it when it is not the holder asked already. */
enum presence_verdict presence_of(struct presence *p, const char *holder);

/* No holder to ask (this agent holds the lease): the probe goes. */
void presence_stop(struct presence *p);

#endif
