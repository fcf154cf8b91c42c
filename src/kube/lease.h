/* SPDX-License-Identifier: MIT */
#ifndef HIVE_KUBE_LEASE_H
#define HIVE_KUBE_LEASE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct kube_client;

/*
 * One loader per kernel: the agents on a kernel compete for the Lease
 * hive-<boot_id> in the API server, with client-go's leader election rules.
 * Only local observation times are compared, so clock offsets between nodes
 * do not matter.
 */

struct lease_timing {
	uint64_t duration_usec;       /* how long a holder's record stays valid */
	uint64_t renew_deadline_usec; /* a leader that has not renewed for this long steps down */
	uint64_t retry_usec;          /* between attempts */
};

/* The Lease's spec, and its resourceVersion for optimistic concurrency. */
struct lease_record {
	bool exists;
	char holder[254];
	int64_t duration_s;
	char acquire_time[40]; /* MicroTime: RFC 3339, 6 fractional digits */
	char renew_time[40];
	int64_t transitions;
	char resource_version[129];
};

/* The state machine, free of I/O: now is a monotonic clock, in usec. */
struct lease_elector {
	char identity[254];
	struct lease_timing timing;
	struct lease_record observed; /* last record seen */
	uint64_t observed_at;         /* when it last changed, locally */
	bool leader;
	uint64_t renewed_at;          /* last successful create/update */
	bool unreachable;             /* the last attempt got no answer */
	bool blind;                   /* not seen the record since an attempt failed */
	/* Another node holds a live lease, but nothing shows that it runs on
	 * this kernel: attach anyway (duplicates, never gaps). */
	bool untrusted_holder;
	/* ... only because it is not known yet (the leader before stays
	 * attached while that is looked up), not found foreign. */
	bool holder_unverified;
};

enum lease_action {
	LEASE_WAIT,   /* someone else holds a live lease */
	LEASE_CREATE, /* there is no lease: POST one */
	LEASE_UPDATE, /* ours to renew, or expired/released: PUT with its resourceVersion */
};

void lease_elector_init(struct lease_elector *e, const char *identity, const struct lease_timing *timing);

/* Whether a lease's holder is known to run on this kernel. A lease held by
 * any other node is no reason not to attach: its holder's programs, if any,
 * run on another kernel. */
enum lease_trust {
	LEASE_HOLDER_TRUSTED,
	LEASE_HOLDER_UNTRUSTED,
	LEASE_HOLDER_UNKNOWN, /* not known yet: attach or not, as before */
};

/* A GET returned rec (exists = false for 404): what to do now. */
enum lease_action lease_observe(struct lease_elector *e, const struct lease_record *rec, enum lease_trust trust,
				uint64_t now);

/* Whether this agent should have its access hooks attached. */
static inline bool lease_elector_attached(const struct lease_elector *e)
{
	return e->leader || e->untrusted_holder;
}

/* The record to write for CREATE/UPDATE; stamp is the current MicroTime. */
void lease_desired(const struct lease_elector *e, enum lease_action action, const char *stamp,
		   struct lease_record *out);

/* The write succeeded / was refused (409 and the like) / got no answer. */
void lease_written(struct lease_elector *e, const struct lease_record *written, uint64_t now);
void lease_rejected(struct lease_elector *e, uint64_t now);
void lease_unreachable(struct lease_elector *e);

/*
 * Whether a leader must stop now. It does once another holder is seen, and
 * when its renewals are refused for longer than the renew deadline. While the
 * API server cannot be reached at all it stays: no one else can be granted the
 * lease meanwhile, and a security log should not go blind because its control
 * plane is down (see README).
 */
bool lease_must_step_down(const struct lease_elector *e, uint64_t now);

/* MicroTime of the wall clock. */
void lease_microtime_now(char out[40]);

/* JSON <-> record, for the driver and the tests. */
int lease_record_from_json(const cJSON *lease, struct lease_record *out);
cJSON *lease_to_json(const struct lease_record *rec, const char *name, const char *namespace, const char *kernel_id);

/* The driver: runs the machine against the API server from the event loop. */
struct lease_driver;
typedef void (*lease_change_fn)(bool leader, void *userdata);

/* on_change(attached) runs whenever lease_elector_attached() changes.
 * holder_trust answers for lease_observe(); NULL trusts every holder. */
int lease_driver_new(struct kube_client *client, sd_event *event, const char *namespace, const char *name,
		     const char *kernel_id, const char *identity, const struct lease_timing *timing,
		     lease_change_fn on_change, enum lease_trust (*holder_trust)(const char *holder, void *userdata),
		     void *userdata, struct lease_driver **ret);
struct lease_driver *lease_driver_free(struct lease_driver *d);
bool lease_driver_leader(const struct lease_driver *d);
bool lease_driver_attached(const struct lease_driver *d);
/* How often, since start, this agent lost the lease it held (stepped down:
 * another holder, or no renewal in time; a release is no loss) and found
 * the holder not to run on this kernel (and attached anyway). Counted where
 * they happen, so that one shorter than any polling interval still counts. */
struct lease_episodes {
	unsigned lost;
	unsigned foreign;
};
struct lease_episodes lease_driver_episodes(const struct lease_driver *d);
/* What decides trust changed: look at the lease again now. */
void lease_driver_recheck(struct lease_driver *d);
/* Give the lease up (holder "", duration 1 s) if held; done runs when settled. */
void lease_driver_release(struct lease_driver *d, void (*done)(void *userdata), void *userdata);

#endif
