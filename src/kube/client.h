/* SPDX-License-Identifier: MIT */
#ifndef HIVE_KUBE_CLIENT_H
#define HIVE_KUBE_CLIENT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct kube_credentials;

/*
 * A small Kubernetes API client: HTTPS requests with JSON bodies through
 * libcurl's multi interface, driven entirely by the sd-event loop. Requests
 * complete through callbacks; nothing here blocks or retries by itself
 * (reflector.c, lease.c and their users decide what to retry, and when).
 */

struct kube_client;
struct kube_call;

struct kube_response {
	long status;            /* HTTP status; 0 when no response came */
	const char *error;      /* transport or TLS problem, or a cut-off body; NULL otherwise */
	const cJSON *json;      /* the body parsed, or NULL when it is not JSON */
	const char *reason;     /* a Status object's message, or NULL */
};

/* True for answers that say "try again later", not "you are wrong". */
static inline bool kube_response_transient(const struct kube_response *r)
{
	return r->error || r->status == 0 || r->status == 429 || r->status >= 500;
}

typedef void (*kube_done_fn)(const struct kube_response *response, void *userdata);
/* One object of a watch stream; return < 0 to cancel the stream. */
typedef int (*kube_object_fn)(const cJSON *object, void *userdata);

int kube_client_new(sd_event *event, const struct kube_credentials *credentials, struct kube_client **ret);
struct kube_client *kube_client_free(struct kube_client *c);

/* Requests finished so far, by verb (GET, POST, PUT, PATCH, DELETE, WATCH
 * for a stream, OTHER) and HTTP status (0: no answer came). */
struct kube_request_count {
	const char *verb;
	long code;
	uint64_t n;
};
#define KUBE_REQUEST_COUNTS_MAX 64
const struct kube_request_count *kube_client_requests(const struct kube_client *c, size_t *n);
/* When the server last answered with success (a stream: when it was
 * opened), CLOCK_REALTIME microseconds; 0: never. */
uint64_t kube_client_last_success_usec(const struct kube_client *c);

/* What the reflectors (reflector.h) of this client did: full lists (each
 * resource's first one, and every relist after a watch expired or failed),
 * and watch streams that ended and were started again. */
struct kube_watch_stats {
	uint64_t lists, watch_restarts;
};
const struct kube_watch_stats *kube_client_watch_stats(const struct kube_client *c);
/* Counted by the reflectors. */
void kube_client_count_list(struct kube_client *c);
void kube_client_count_watch_restart(struct kube_client *c);

/* The server URL, for messages. */
const char *kube_client_server(const struct kube_client *c);

/*
 * method GET/POST/PUT/PATCH/DELETE on path (starting with "/"), with an
 * optional JSON body (PATCH sends it as a merge patch). done runs exactly
 * once, unless the call is cancelled first. *ret (optional) identifies the
 * call until done runs.
 */
int kube_request(struct kube_client *c, const char *method, const char *path, const cJSON *body, kube_done_fn done,
		 void *userdata, struct kube_call **ret);

/*
 * A streaming GET (?watch=1): on_open once the server accepted it (2xx), even
 * if no object ever follows; on_object for every JSON object in the body;
 * done when the stream ends for any reason.
 */
int kube_stream(struct kube_client *c, const char *path, void (*on_open)(void *userdata), kube_object_fn on_object,
		kube_done_fn done, void *userdata, struct kube_call **ret);

/* Stop a call; its done callback will not run. */
void kube_call_cancel(struct kube_call *call);

/*
 * Split a watch body into JSON objects: feed chunks as they come, complete
 * newline-terminated objects are passed to fn. Exposed for unit tests.
 */
struct json_lines {
	char *buf;
	size_t len, cap, max;
};
int json_lines_feed(struct json_lines *jl, const char *data, size_t len, kube_object_fn fn, void *userdata);
void json_lines_done(struct json_lines *jl);

/* Now as the API's Time fields want it: RFC 3339, UTC, whole seconds. */
#define KUBE_TIME_SIZE 32
const char *kube_time_now(char buf[static KUBE_TIME_SIZE]);

/* "a=b&c=d" with values percent-encoded, appended to path. */
char *kube_path(const char *base, const char *const *query /* key, value, ..., NULL */);

#endif
