/* SPDX-License-Identifier: MIT */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "shared/fileio.h"
#include "shared/log.h"
#include "shared/macro.h"

#define RESPONSE_MAX (16 * 1024 * 1024)
#define WATCH_OBJECT_MAX (8 * 1024 * 1024)
#define REQUEST_TIMEOUT_MS 15000
#define CONNECT_TIMEOUT_MS 5000

struct kube_client {
	sd_event *event;
	CURLM *multi;
	sd_event_source *timer;
	struct kube_credentials *cred;
	struct kube_call *calls; /* every call in flight, to free them all */
	/* Inside curl (its callbacks call ours): a call cancelled now is only
	 * marked, and freed once curl has returned. libcurl forbids removing
	 * a handle from within its callbacks. */
	unsigned in_curl;
	bool cancelled;
	/* Finished requests by verb and status, for metrics. */
	struct kube_request_count counts[KUBE_REQUEST_COUNTS_MAX];
	size_t n_counts;
	uint64_t last_success_usec;
	struct kube_watch_stats watch_stats;
};

struct kube_call {
	struct kube_client *client;
	struct kube_call *prev, *next;
	CURL *easy;
	struct curl_slist *headers;
	char *request_body;
	char *body; /* response body, unless streamed */
	size_t len, cap;
	bool stream;
	const char *verb; /* static: of verbs[] */
	struct json_lines lines;
	int stream_error; /* why the stream was cut short, or 0 */
	bool cancelled;   /* by its owner, from inside curl: see in_curl */
	kube_done_fn done;
	kube_object_fn on_object;
	void (*on_open)(void *userdata);
	void *userdata;
	char error[CURL_ERROR_SIZE];
};

const char *kube_client_server(const struct kube_client *c)
{
	return c->cred->server;
}

const char *kube_time_now(char buf[static KUBE_TIME_SIZE])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, KUBE_TIME_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

char *kube_path(const char *base, const char *const *query)
{
	size_t size = strlen(base) + 2;
	char *out, *o;

	for (size_t i = 0; query && query[i]; i += 2)
		size += strlen(query[i]) + 3 * strlen(query[i + 1]) + 2;
	out = malloc(size);
	if (!out)
		return NULL;
	o = stpcpy(out, base);
	for (size_t i = 0; query && query[i]; i += 2) {
		*o++ = i == 0 ? '?' : '&';
		o = stpcpy(o, query[i]);
		*o++ = '=';
		for (const unsigned char *v = (const unsigned char *)query[i + 1]; *v; v++)
			if ((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
			    strchr("-._~", *v))
				*o++ = *v;
			else
				o += sprintf(o, "%%%02X", *v);
	}
	*o = '\0';
	return out;
}

int json_lines_feed(struct json_lines *jl, const char *data, size_t len, kube_object_fn fn, void *userdata)
{
	size_t start = 0;

	if (jl->len + len + 1 > jl->cap) {
		size_t cap = MAX(jl->cap * 2, jl->len + len + 1);
		char *grown;

		if (jl->len + len > jl->max)
			return -E2BIG;
		grown = realloc(jl->buf, cap);
		if (!grown)
			return -ENOMEM;
		jl->buf = grown;
		jl->cap = cap;
	}
	memcpy(jl->buf + jl->len, data, len);
	jl->len += len;

	/* Objects end at a newline; chunk boundaries are arbitrary. */
	for (size_t i = 0; i < jl->len; i++) {
		cJSON *object;
		int r;

		if (jl->buf[i] != '\n')
			continue;
		jl->buf[i] = '\0';
		if (strspn(jl->buf + start, " \t\r") != i - start) {
			object = cJSON_ParseWithLength(jl->buf + start, i - start);
			if (!object || !cJSON_IsObject(object)) {
				cJSON_Delete(object);
				return -EBADMSG;
			}
			r = fn(object, userdata);
			cJSON_Delete(object);
			if (r < 0)
				return r;
		}
		start = i + 1;
	}
	memmove(jl->buf, jl->buf + start, jl->len - start);
	jl->len -= start;
	return 0;
}

void json_lines_done(struct json_lines *jl)
{
	free(jl->buf);
	*jl = (struct json_lines){};
}

static void call_free(struct kube_call *call)
{
	struct kube_client *c = call->client;

	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	curl_multi_remove_handle(c->multi, call->easy);
	curl_easy_cleanup(call->easy);
	curl_slist_free_all(call->headers);
	free(call->request_body);
	free(call->body);
	json_lines_done(&call->lines);
	free(call);
}

void kube_call_cancel(struct kube_call *call)
{
	if (!call)
		return;
	if (!call->client->in_curl) {
		call_free(call);
		return;
	}
	/* Its owner is done with it: nothing of it reaches the owner again. */
	call->cancelled = true;
	call->client->cancelled = true;
}

/* One object of a stream to its owner, unless the owner cancelled the call
 * while an earlier object of the same chunk was delivered. */
static int deliver(const cJSON *object, void *userdata)
{
	struct kube_call *call = userdata;

	if (call->cancelled)
		return -ECANCELED;
	return call->on_object(object, call->userdata);
}

static size_t on_write(char *data, size_t size, size_t n, void *userdata)
{
	struct kube_call *call = userdata;
	long status = 0;
	int r;

	size *= n;
	if (call->cancelled)
		return 0; /* aborts the transfer; freed once curl returns */
	curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
	/* A watch that failed answers with one Status object: keep it whole. */
	if (call->stream && status >= 200 && status < 300) {
		r = json_lines_feed(&call->lines, data, size, deliver, call);
		if (r < 0) {
			call->stream_error = r;
			return 0; /* aborts the transfer */
		}
		return size;
	}
	if (call->len + size > RESPONSE_MAX) {
		call->stream_error = -E2BIG;
		return 0;
	}
	if (call->len + size + 1 > call->cap) {
		size_t cap = MAX(call->cap * 2, call->len + size + 1);
		char *grown = realloc(call->body, cap);

		if (!grown)
			return 0;
		call->body = grown;
		call->cap = cap;
	}
	memcpy(call->body + call->len, data, size);
	call->len += size;
	call->body[call->len] = '\0';
	return size;
}

static void now_succeeded(struct kube_client *c)
{
	c->last_success_usec = clock_usec(CLOCK_REALTIME);
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	struct kube_call *call = userdata;
	long status = 0;

	size *= n;
	/* The blank line ends a header block (there may be several: 100 Continue). */
	if (call->on_open && !call->cancelled && size <= 2 && (size == 0 || data[0] == '\r' || data[0] == '\n')) {
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300) {
			void (*on_open)(void *) = call->on_open;

			now_succeeded(call->client);
			call->on_open = NULL;
			on_open(call->userdata);
		}
	}
	return size;
}

/* The verbs requests are counted by; a stream is a WATCH. */
static const char *const verbs[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "WATCH", "OTHER" };

static const char *verb_of(const char *method, bool stream)
{
	if (stream)
		return "WATCH";
	for (size_t i = 0; i < ARRAY_SIZE(verbs) - 1; i++)
		if (strcmp(method, verbs[i]) == 0)
			return verbs[i];
	return "OTHER";
}

static void count(struct kube_client *c, const char *verb, long status)
{
	size_t i;

	if (status >= 200 && status < 300)
		now_succeeded(c);
	for (i = 0; i < c->n_counts; i++)
		if (c->counts[i].verb == verb && c->counts[i].code == status)
			break;
	if (i == c->n_counts) {
		/* Codes the server chose: bounded, the rest counted as one. */
		if (c->n_counts == ARRAY_SIZE(c->counts))
			return;
		c->counts[c->n_counts++] = (struct kube_request_count){ .verb = verb, .code = status };
	}
	c->counts[i].n++;
}

const struct kube_request_count *kube_client_requests(const struct kube_client *c, size_t *n)
{
	*n = c->n_counts;
	return c->counts;
}

const struct kube_watch_stats *kube_client_watch_stats(const struct kube_client *c)
{
	return &c->watch_stats;
}

void kube_client_count_list(struct kube_client *c)
{
	c->watch_stats.lists++;
}

void kube_client_count_watch_restart(struct kube_client *c)
{
	c->watch_stats.watch_restarts++;
}

uint64_t kube_client_last_success_usec(const struct kube_client *c)
{
	return c->last_success_usec;
}

static void finish(struct kube_call *call, CURLcode result)
{
	struct kube_response response = {};
	cJSON *json = NULL;
	char error[CURL_ERROR_SIZE + 64];

	curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &response.status);
	count(call->client, call->verb, response.status);
	if (call->len > 0) {
		json = cJSON_ParseWithLength(call->body, call->len);
		response.json = json;
		if (cJSON_IsObject(json) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(json, "message")))
			response.reason = cJSON_GetObjectItemCaseSensitive(json, "message")->valuestring;
	}
	if (call->stream_error == -EBADMSG)
		response.error = "malformed object in the watch stream";
	else if (call->stream_error == -E2BIG)
		response.error = "response larger than the limit";
	else if (call->stream_error < 0)
		response.error = "stopped by the consumer";
	else if (result != CURLE_OK) {
		snprintf(error, sizeof(error), "%s", call->error[0] ? call->error : curl_easy_strerror(result));
		response.error = error;
	}
	call->done(&response, call->userdata);
	cJSON_Delete(json);
}

static void process_done(struct kube_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		struct kube_call *call = NULL;
		CURLcode result = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
		/* Out of the multi handle before done() runs: it may start new
		 * calls, which curl would otherwise report here too. */
		curl_multi_remove_handle(c->multi, call->easy);
		if (!call->cancelled)
			finish(call, result);
		call_free(call);
	}
}

/* Free what was cancelled while curl ran. */
static void reap_cancelled(struct kube_client *c)
{
	struct kube_call *call, *next;

	if (c->in_curl || !c->cancelled)
		return;
	c->cancelled = false;
	for (call = c->calls; call; call = next) {
		next = call->next;
		if (call->cancelled)
			call_free(call);
	}
}

/* Let curl work on fd (or its timeouts), then report what is done. */
static void drive(struct kube_client *c, curl_socket_t fd, int flags)
{
	int running;

	c->in_curl++;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	c->in_curl--;
	process_done(c);
	reap_cancelled(c);
}

static int on_socket_ready(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct kube_client *c = userdata;
	int flags = 0;

	if (revents & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	drive(c, fd, flags);
	return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct kube_client *c = userp;
	sd_event_source *s = socketp;
	uint32_t events = 0;

	if (what == CURL_POLL_REMOVE) {
		sd_event_source_disable_unref(s);
		curl_multi_assign(c->multi, fd, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (s)
		return sd_event_source_set_io_events(s, events) < 0 ? -1 : 0;
	if (sd_event_add_io(c->event, &s, fd, events, on_socket_ready, c) < 0)
		return -1;
	curl_multi_assign(c->multi, fd, s);
	return 0;
}

static int on_curl_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	drive(userdata, CURL_SOCKET_TIMEOUT, 0);
	return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct kube_client *c = userp;

	if (timeout_ms < 0)
		return sd_event_source_set_enabled(c->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
	/* Fired from the loop, never from within curl's own call. */
	if (sd_event_source_set_time_relative(c->timer, (uint64_t)timeout_ms * USEC_PER_MSEC) < 0)
		return -1;
	return sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
}

int kube_client_new(sd_event *event, const struct kube_credentials *cred, struct kube_client **ret)
{
	static bool curl_ready;
	struct kube_client *c;
	int r;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -EIO;
		curl_ready = true;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->event = sd_event_ref(event);
	c->cred = kube_credentials_dup(cred);
	c->multi = curl_multi_init();
	if (!c->cred || !c->multi) {
		kube_client_free(c);
		return -ENOMEM;
	}
	r = sd_event_add_time_relative(event, &c->timer, CLOCK_MONOTONIC, 0, 0, on_curl_timeout, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
	if (r < 0) {
		kube_client_free(c);
		return r;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	*ret = c;
	return 0;
}

struct kube_client *kube_client_free(struct kube_client *c)
{
	if (!c)
		return NULL;
	while (c->calls)
		call_free(c->calls);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	sd_event_source_disable_unref(c->timer);
	sd_event_unref(c->event);
	kube_credentials_free(c->cred);
	free(c);
	return NULL;
}

/* The bearer token: static, or read now from a file kubelet may rotate. */
static int auth_header(struct kube_client *c, struct curl_slist **headers)
{
	_cleanup_(freep) char *token = NULL, *header = NULL;
	struct curl_slist *l;
	int r;

	if (c->cred->token_file) {
		r = read_small_file(c->cred->token_file, 64 * 1024, &token, NULL);
		if (r < 0)
			return log_warning_errno(r, "Cannot read the API token from %s: %m", c->cred->token_file);
		token[strcspn(token, " \t\r\n")] = '\0';
	} else if (c->cred->token)
		token = strdup(c->cred->token);
	else
		return 0;
	if (!token || asprintf(&header, "Authorization: Bearer %s", token) < 0)
		return -ENOMEM;
	l = curl_slist_append(*headers, header);
	explicit_bzero(header, strlen(header));
	explicit_bzero(token, strlen(token));
	if (!l)
		return -ENOMEM;
	*headers = l;
	return 0;
}

/* The request's headers: JSON both ways, who we are. */
static int set_headers(struct kube_client *c, struct kube_call *call, const char *method, bool body)
{
	const char *content_type = strcmp(method, "PATCH") == 0 ? "Content-Type: application/merge-patch+json"
								 : "Content-Type: application/json";
	struct curl_slist *l = curl_slist_append(NULL, "Accept: application/json");

	if (l)
		call->headers = l;
	if (l && body)
		l = curl_slist_append(call->headers, content_type);
	if (l)
		l = curl_slist_append(call->headers, "User-Agent: hived/" HIVE_VERSION);
	if (!l)
		return -ENOMEM;
	return auth_header(c, &call->headers);
}

/* How to reach the server and be sure it is ours: TLS with the kubeconfig's
 * CA (unless it says not to), our client certificate, HTTPS only. */
static void set_transport(struct kube_client *c, struct kube_call *call, bool stream)
{
	const struct kube_credentials *cred = c->cred;
	struct curl_blob blob;

	curl_easy_setopt(call->easy, CURLOPT_ERRORBUFFER, call->error);
	curl_easy_setopt(call->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(call->easy, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(call->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(call->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(call->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(call->easy, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(call->easy, CURLOPT_TCP_KEEPINTVL, 10L);
	if (!stream)
		curl_easy_setopt(call->easy, CURLOPT_TIMEOUT_MS, (long)REQUEST_TIMEOUT_MS);
	/* CURL_BLOB_NOCOPY: curl points at the PEM data, which cred keeps for
	 * as long as the client lives. */
	if (cred->ca_pem) {
		blob = (struct curl_blob){ .data = cred->ca_pem, .len = cred->ca_len, .flags = CURL_BLOB_NOCOPY };
		curl_easy_setopt(call->easy, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (cred->cert_pem) {
		blob = (struct curl_blob){ .data = cred->cert_pem, .len = cred->cert_len, .flags = CURL_BLOB_NOCOPY };
		curl_easy_setopt(call->easy, CURLOPT_SSLCERT_BLOB, &blob);
		curl_easy_setopt(call->easy, CURLOPT_SSLCERTTYPE, "PEM");
		blob = (struct curl_blob){ .data = cred->key_pem, .len = cred->key_len, .flags = CURL_BLOB_NOCOPY };
		curl_easy_setopt(call->easy, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(call->easy, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (cred->insecure) {
		curl_easy_setopt(call->easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(call->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

static int start(struct kube_client *c, const char *method, const char *path, const cJSON *body, bool stream,
		 void (*on_open)(void *userdata), kube_object_fn on_object, kube_done_fn done, void *userdata,
		 struct kube_call **ret)
{
	_cleanup_(freep) char *url = NULL;
	struct kube_call *call;
	int r;

	if (asprintf(&url, "%s%s", c->cred->server, path) < 0)
		return -ENOMEM;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	*call = (struct kube_call){
		.client = c,
		.stream = stream,
		.verb = verb_of(method, stream),
		.on_object = on_object,
		.on_open = on_open,
		.done = done,
		.userdata = userdata,
		.lines.max = WATCH_OBJECT_MAX,
		.easy = curl_easy_init(),
		.next = c->calls,
	};
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	r = call->easy ? set_headers(c, call, method, body) : -ENOMEM;
	if (r >= 0 && body && !(call->request_body = cJSON_PrintUnformatted(body)))
		r = -ENOMEM;
	if (r < 0) {
		call_free(call);
		return r;
	}
	if (body)
		curl_easy_setopt(call->easy, CURLOPT_POSTFIELDS, call->request_body);
	curl_easy_setopt(call->easy, CURLOPT_URL, url);
	curl_easy_setopt(call->easy, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(call->easy, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(call->easy, CURLOPT_HTTPHEADER, call->headers);
	curl_easy_setopt(call->easy, CURLOPT_PRIVATE, call);
	curl_easy_setopt(call->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(call->easy, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(call->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(call->easy, CURLOPT_HEADERDATA, call);
	set_transport(c, call, stream);
	if (curl_multi_add_handle(c->multi, call->easy) != CURLM_OK) {
		call_free(call);
		return -EIO;
	}
	if (ret)
		*ret = call;
	return 0;
}

int kube_request(struct kube_client *c, const char *method, const char *path, const cJSON *body, kube_done_fn done,
		 void *userdata, struct kube_call **ret)
{
	return start(c, method, path, body, false, NULL, NULL, done, userdata, ret);
}

int kube_stream(struct kube_client *c, const char *path, void (*on_open)(void *userdata), kube_object_fn on_object,
		kube_done_fn done, void *userdata, struct kube_call **ret)
{
	return start(c, "GET", path, NULL, true, on_open, on_object, done, userdata, ret);
}
