/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "kube/client.h"
#include "kube/lease.h"
#include "shared/log.h"
#include "shared/message-id.h"
#include "shared/macro.h"

void lease_elector_init(struct lease_elector *e, const char *identity, const struct lease_timing *timing)
{
	*e = (struct lease_elector){ .timing = *timing };
	snprintf(e->identity, sizeof(e->identity), "%s", identity);
}

static bool same_record(const struct lease_record *a, const struct lease_record *b)
{
	return a->exists == b->exists && strcmp(a->holder, b->holder) == 0 &&
	       strcmp(a->renew_time, b->renew_time) == 0 && strcmp(a->resource_version, b->resource_version) == 0;
}

enum lease_action lease_observe(struct lease_elector *e, const struct lease_record *rec, enum lease_trust trust,
				uint64_t now)
{
	bool other_live, was_attached = lease_elector_attached(e);

	/* Time in which we could not have seen a renewal is no evidence that
	 * the holder stopped renewing: after an outage (or refusals, as from an
	 * API server still warming up), the holder gets a whole lease duration
	 * again, measured from now. */
	if (!same_record(rec, &e->observed) || e->blind) {
		e->observed = *rec;
		e->observed_at = now;
	}
	/* The same for a holder's renew deadline after it could not reach the
	 * server, so that it does not step down before the others would take
	 * over. */
	if (e->unreachable && e->leader)
		e->renewed_at = now;
	e->unreachable = false;
	e->blind = false;
	e->untrusted_holder = false;
	e->holder_unverified = false;
	if (!rec->exists)
		return LEASE_CREATE;
	/* Another holder, seen renewing less than its lease duration ago, by
	 * our own clock: theirs. A released lease has no holder. */
	other_live = rec->holder[0] && strcmp(rec->holder, e->identity) != 0 &&
		     e->observed_at + (uint64_t)MAX(rec->duration_s, 0) * USEC_PER_SEC > now;
	if (!other_live)
		return LEASE_UPDATE;
	/* Not fought over: whoever wrote it can write it again. Attaching
	 * ourselves costs duplicates at most; while we do not know yet, a
	 * leader stays attached rather than leave a gap. */
	e->untrusted_holder = trust == LEASE_HOLDER_UNTRUSTED || (trust == LEASE_HOLDER_UNKNOWN && was_attached);
	e->holder_unverified = e->untrusted_holder && trust == LEASE_HOLDER_UNKNOWN;
	return LEASE_WAIT;
}

void lease_desired(const struct lease_elector *e, enum lease_action action, const char *stamp,
		   struct lease_record *out)
{
	*out = e->observed;
	out->exists = true;
	snprintf(out->holder, sizeof(out->holder), "%s", e->identity);
	out->duration_s = (int64_t)(e->timing.duration_usec / USEC_PER_SEC);
	snprintf(out->renew_time, sizeof(out->renew_time), "%s", stamp);
	if (action == LEASE_CREATE) {
		out->transitions = 0;
		out->resource_version[0] = '\0';
		snprintf(out->acquire_time, sizeof(out->acquire_time), "%s", stamp);
	} else if (strcmp(e->observed.holder, e->identity) != 0) {
		/* A takeover (or taking a released lease) is a transition. */
		out->transitions = e->observed.transitions + 1;
		snprintf(out->acquire_time, sizeof(out->acquire_time), "%s", stamp);
	} else if (!out->acquire_time[0])
		snprintf(out->acquire_time, sizeof(out->acquire_time), "%s", stamp);
}

void lease_written(struct lease_elector *e, const struct lease_record *written, uint64_t now)
{
	e->observed = *written;
	e->observed_at = now;
	e->leader = strcmp(written->holder, e->identity) == 0;
	if (e->leader)
		e->renewed_at = now;
	e->unreachable = false;
	e->blind = false;
}

void lease_rejected(struct lease_elector *e, uint64_t now)
{
	if (e->unreachable && e->leader)
		e->renewed_at = now;
	e->unreachable = false;
	e->blind = true;
}

void lease_unreachable(struct lease_elector *e)
{
	e->unreachable = true;
	e->blind = true;
}

bool lease_must_step_down(const struct lease_elector *e, uint64_t now)
{
	if (!e->leader)
		return false;
	if (e->observed.exists && strcmp(e->observed.holder, e->identity) != 0)
		return true;
	return !e->unreachable && now - e->renewed_at > e->timing.renew_deadline_usec;
}

void lease_microtime_now(char out[40])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + strlen(out), 40 - strlen(out), ".%06ldZ", ts.tv_nsec / 1000);
}

static int copy_string(const cJSON *o, const char *name, char *out, size_t size, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	out[0] = '\0';
	if (!v || cJSON_IsNull(v))
		return required ? -EBADMSG : 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= size)
		return -EBADMSG;
	strcpy(out, v->valuestring);
	return 0;
}

int lease_record_from_json(const cJSON *lease, struct lease_record *out)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(lease, "spec");
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(lease, "metadata");
	const cJSON *v;

	*out = (struct lease_record){ .exists = true };
	if (!cJSON_IsObject(meta) || (spec && !cJSON_IsObject(spec)))
		return -EBADMSG;
	/* An empty resourceVersion would make our next write unconditional. */
	if (copy_string(meta, "resourceVersion", out->resource_version, sizeof(out->resource_version), true) < 0 ||
	    !out->resource_version[0] ||
	    copy_string(spec, "holderIdentity", out->holder, sizeof(out->holder), false) < 0 ||
	    copy_string(spec, "acquireTime", out->acquire_time, sizeof(out->acquire_time), false) < 0 ||
	    copy_string(spec, "renewTime", out->renew_time, sizeof(out->renew_time), false) < 0)
		return -EBADMSG;
	v = cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 86400 * 365))
		return -EBADMSG;
	out->duration_s = v ? (int64_t)v->valuedouble : 0;
	v = cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15))
		return -EBADMSG;
	out->transitions = v ? (int64_t)v->valuedouble : 0;
	return 0;
}

cJSON *lease_to_json(const struct lease_record *rec, const char *name, const char *namespace, const char *kernel_id)
{
	cJSON *lease = cJSON_CreateObject(), *meta, *spec, *labels;

	if (!lease)
		return NULL;
	cJSON_AddStringToObject(lease, "apiVersion", "coordination.k8s.io/v1");
	cJSON_AddStringToObject(lease, "kind", "Lease");
	meta = cJSON_AddObjectToObject(lease, "metadata");
	spec = cJSON_AddObjectToObject(lease, "spec");
	if (!meta || !spec)
		goto oom;
	cJSON_AddStringToObject(meta, "name", name);
	cJSON_AddStringToObject(meta, "namespace", namespace);
	if (rec->resource_version[0])
		cJSON_AddStringToObject(meta, "resourceVersion", rec->resource_version);
	labels = cJSON_AddObjectToObject(meta, "labels");
	if (!labels || !cJSON_AddStringToObject(labels, "hive.io/kernel-id", kernel_id))
		goto oom;
	cJSON_AddStringToObject(spec, "holderIdentity", rec->holder);
	cJSON_AddNumberToObject(spec, "leaseDurationSeconds", (double)rec->duration_s);
	if (rec->acquire_time[0])
		cJSON_AddStringToObject(spec, "acquireTime", rec->acquire_time);
	if (rec->renew_time[0])
		cJSON_AddStringToObject(spec, "renewTime", rec->renew_time);
	if (!cJSON_AddNumberToObject(spec, "leaseTransitions", (double)rec->transitions))
		goto oom;
	return lease;
oom:
	cJSON_Delete(lease);
	return NULL;
}

/* Why another node's lease leaves this agent attached, if it does. */
enum holder_state {
	HOLDER_NONE,     /* ours, free, or a holder known to run here */
	HOLDER_CHECKING, /* not known yet: the leader before stays attached */
	HOLDER_FOREIGN,  /* found not to run on this kernel */
};

static enum holder_state holder_state(const struct lease_elector *e)
{
	if (!e->untrusted_holder)
		return HOLDER_NONE;
	return e->holder_unverified ? HOLDER_CHECKING : HOLDER_FOREIGN;
}

struct lease_driver {
	struct kube_client *client;
	sd_event *event;
	char *name, *namespace, *kernel_id;
	char *collection; /* .../leases */
	char *path;       /* .../leases/NAME */
	struct lease_elector e;
	sd_event_source *timer;
	struct kube_call *call;
	lease_change_fn on_change;
	enum lease_trust (*holder_trust)(const char *holder, void *userdata);
	void *userdata;
	bool reported_leader;
	bool reported_attached;
	enum holder_state reported_holder;
	struct lease_episodes episodes;
	bool complained; /* a failure is logged once per series */
	bool kept_while_unreachable;
	void (*release_done)(void *userdata);
	void *release_userdata;
};

static uint64_t now_usec(struct lease_driver *d)
{
	uint64_t now;

	sd_event_now(d->event, CLOCK_MONOTONIC, &now);
	return now;
}

static void schedule(struct lease_driver *d)
{
	uint32_t rnd = 0;

	/* Followers retry with client-go's jitter (x1.0 to x1.2), leaders renew on time. */
	(void)!getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
	sd_event_source_set_time_relative(d->timer, d->e.timing.retry_usec +
							    (d->e.leader ? 0 : d->e.timing.retry_usec / 5 * (rnd % 1000) / 1000));
	sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
}

static void settle(struct lease_driver *d)
{
	if (lease_must_step_down(&d->e, now_usec(d))) {
		log_warning("Stepping down as loader of this kernel: %s.",
			    strcmp(d->e.observed.holder, d->e.identity) != 0 ? "another agent holds the lease"
									   : "the lease could not be renewed in time");
		d->e.leader = false;
	}
	if (d->e.unreachable && d->e.leader && !d->kept_while_unreachable)
		log_id(LOG_WARNING, HIVE_MESSAGE_API_UNREACHABLE,
		       "API server %s unreachable: keeping the programs attached, since no other agent can be "
		       "granted the lease meanwhile.",
		       kube_client_server(d->client));
	d->kept_while_unreachable = d->e.unreachable && d->e.leader;
	if (d->e.leader != d->reported_leader) {
		d->reported_leader = d->e.leader;
		d->episodes.lost += !d->e.leader;
		log_info("%s the lease %s/%s as %s.", d->e.leader ? "Acquired" : "Lost", d->namespace, d->name,
			 d->e.identity);
	}
	if (holder_state(&d->e) != d->reported_holder) {
		enum holder_state was = d->reported_holder;

		d->reported_holder = holder_state(&d->e);
		d->episodes.foreign += d->reported_holder == HOLDER_FOREIGN;
		if (d->reported_holder == HOLDER_FOREIGN)
			log_id(LOG_WARNING, HIVE_MESSAGE_SELF_ATTACHED,
			       "Lease %s/%s is held by %s, which is not known to run on this kernel (no Node of "
			       "that name reports this boot id, or no loader here answers as it): attaching "
			       "anyway, so that this kernel is not left unwatched.",
			       d->namespace, d->name, d->e.observed.holder);
		else if (d->reported_holder == HOLDER_CHECKING)
			log_info("Lease %s/%s is held by %s: keeping the programs attached until it is known whether "
				 "that node runs on this kernel.",
				 d->namespace, d->name, d->e.observed.holder);
		else if (was == HOLDER_FOREIGN)
			log_info("Lease %s/%s no longer held by a node foreign to this kernel.", d->namespace, d->name);
	}
	if (lease_elector_attached(&d->e) != d->reported_attached) {
		d->reported_attached = lease_elector_attached(&d->e);
		d->on_change(d->reported_attached, d->userdata);
	}
	schedule(d);
}

static void complain(struct lease_driver *d, const char *what, const struct kube_response *resp)
{
	log_full(d->complained ? LOG_DEBUG : LOG_WARNING, "Cannot %s lease %s/%s: %s%s%s", what, d->namespace, d->name,
		 resp->error ? resp->error : "", resp->error ? "" : "HTTP error: ",
		 resp->reason ? resp->reason : (resp->error ? "" : "no message"));
	d->complained = true;
}

static void on_write(const struct kube_response *resp, void *userdata)
{
	struct lease_driver *d = userdata;
	struct lease_record written;

	d->call = NULL;
	if ((resp->status == 200 || resp->status == 201) && !resp->error &&
	    lease_record_from_json(resp->json, &written) == 0) {
		lease_written(&d->e, &written, now_usec(d));
		d->complained = false;
	} else if (resp->status == 409) {
		/* Someone wrote first; the next read tells who. */
		log_info("Lease %s/%s: conflict (409) on write, reading it again.", d->namespace, d->name);
		lease_rejected(&d->e, now_usec(d));
	} else if (kube_response_transient(resp)) {
		complain(d, "write", resp);
		lease_unreachable(&d->e);
	} else {
		complain(d, "write", resp);
		lease_rejected(&d->e, now_usec(d));
	}
	settle(d);
}

static void write_lease(struct lease_driver *d, enum lease_action action)
{
	struct lease_record desired;
	char stamp[40];
	cJSON *body;
	struct kube_response oom = { .error = "out of memory" };

	lease_microtime_now(stamp);
	lease_desired(&d->e, action, stamp, &desired);
	body = lease_to_json(&desired, d->name, d->namespace, d->kernel_id);
	if (!body || kube_request(d->client, action == LEASE_CREATE ? "POST" : "PUT",
				  action == LEASE_CREATE ? d->collection : d->path, body, on_write, d, &d->call) < 0) {
		complain(d, "write", &oom);
		settle(d);
	}
	cJSON_Delete(body);
}

static void on_read(const struct kube_response *resp, void *userdata)
{
	struct lease_driver *d = userdata;
	struct lease_record rec = {};
	enum lease_action action;

	d->call = NULL;
	if (resp->status == 404 && !resp->error)
		rec.exists = false;
	else if (resp->status == 200 && !resp->error) {
		if (lease_record_from_json(resp->json, &rec) < 0) {
			struct kube_response bad = { .status = 200, .error = "malformed Lease in the reply" };

			complain(d, "read", &bad);
			lease_rejected(&d->e, now_usec(d));
			settle(d);
			return;
		}
	} else {
		complain(d, "read", resp);
		if (kube_response_transient(resp))
			lease_unreachable(&d->e);
		else
			lease_rejected(&d->e, now_usec(d));
		settle(d);
		return;
	}
	action = lease_observe(&d->e, &rec,
			       rec.holder[0] && strcmp(rec.holder, d->e.identity) != 0 && d->holder_trust
				       ? d->holder_trust(rec.holder, d->userdata)
				       : LEASE_HOLDER_TRUSTED,
			       now_usec(d));
	if (action == LEASE_WAIT) {
		d->complained = false;
		settle(d);
		return;
	}
	write_lease(d, action);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct lease_driver *d = userdata;
	struct kube_response oom = { .error = "out of memory" };

	if (d->call) {
		/* Still waiting for the last attempt: the server hangs. */
		kube_call_cancel(d->call);
		d->call = NULL;
		lease_unreachable(&d->e);
	}
	if (kube_request(d->client, "GET", d->path, NULL, on_read, d, &d->call) < 0) {
		complain(d, "read", &oom);
		settle(d);
	}
	return 0;
}

int lease_driver_new(struct kube_client *client, sd_event *event, const char *namespace, const char *name,
		     const char *kernel_id, const char *identity, const struct lease_timing *timing,
		     lease_change_fn on_change, enum lease_trust (*holder_trust)(const char *holder, void *userdata),
		     void *userdata, struct lease_driver **ret)
{
	struct lease_driver *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	d->client = client;
	d->event = sd_event_ref(event);
	d->on_change = on_change;
	d->holder_trust = holder_trust;
	d->userdata = userdata;
	lease_elector_init(&d->e, identity, timing);
	d->name = strdup(name);
	d->namespace = strdup(namespace);
	d->kernel_id = strdup(kernel_id);
	if (!d->name || !d->namespace || !d->kernel_id ||
	    asprintf(&d->collection, "/apis/coordination.k8s.io/v1/namespaces/%s/leases", namespace) < 0 ||
	    asprintf(&d->path, "%s/%s", d->collection, name) < 0) {
		lease_driver_free(d);
		return -ENOMEM;
	}
	r = sd_event_add_time_relative(event, &d->timer, CLOCK_MONOTONIC, 0, 0, on_tick, d);
	if (r < 0) {
		lease_driver_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

struct lease_driver *lease_driver_free(struct lease_driver *d)
{
	if (!d)
		return NULL;
	kube_call_cancel(d->call);
	sd_event_source_disable_unref(d->timer);
	sd_event_unref(d->event);
	free(d->name);
	free(d->namespace);
	free(d->kernel_id);
	free(d->collection);
	free(d->path);
	free(d);
	return NULL;
}

bool lease_driver_leader(const struct lease_driver *d)
{
	return d->e.leader;
}

struct lease_episodes lease_driver_episodes(const struct lease_driver *d)
{
	return d->episodes;
}

bool lease_driver_attached(const struct lease_driver *d)
{
	return lease_elector_attached(&d->e);
}

void lease_driver_recheck(struct lease_driver *d)
{
	/* A call in flight will be judged with the new answer anyway; a
	 * release under way stopped the timer for good. */
	if (d->call || d->release_done)
		return;
	sd_event_source_set_time_relative(d->timer, 0);
	sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
}

static void on_released(const struct kube_response *resp, void *userdata)
{
	struct lease_driver *d = userdata;

	d->call = NULL;
	if (resp->status == 200 && !resp->error)
		log_info("Released the lease %s/%s.", d->namespace, d->name);
	else
		complain(d, "release", resp);
	d->release_done(d->release_userdata);
}

void lease_driver_release(struct lease_driver *d, void (*done)(void *userdata), void *userdata)
{
	struct lease_record rec;
	cJSON *body;

	sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
	kube_call_cancel(d->call);
	d->call = NULL;
	d->release_done = done;
	d->release_userdata = userdata;
	if (!d->e.leader) {
		done(userdata);
		return;
	}
	/* client-go's release: no holder, a 1 s duration, transitions kept. */
	rec = d->e.observed;
	rec.holder[0] = '\0';
	rec.duration_s = 1;
	lease_microtime_now(rec.renew_time);
	strcpy(rec.acquire_time, rec.renew_time);
	d->e.leader = false;
	body = lease_to_json(&rec, d->name, d->namespace, d->kernel_id);
	if (!body || kube_request(d->client, "PUT", d->path, body, on_released, d, &d->call) < 0)
		done(userdata);
	cJSON_Delete(body);
}
