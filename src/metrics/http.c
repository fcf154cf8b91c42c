/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/http.h"
#include "shared/log.h"
#include "shared/macro.h"

/* A client connection, and since when it owes us its next request. */
struct client {
	struct MHD_Connection *connection;
	uint64_t since_usec;
	bool cut; /* shut down: the deadline passed */
	struct client *prev, *next;
};

struct metrics_server {
	struct MHD_Daemon *daemon;
	sd_event *event;
	sd_event_source *io, *timer, *deadlines;
	metrics_render_fn render;
	void *userdata;
	struct client *clients;
	struct metrics_server_stats stats;
};

static uint64_t now_usec(const struct metrics_server *s)
{
	uint64_t now = 0;

	(void)sd_event_now(s->event, CLOCK_MONOTONIC, &now);
	return now;
}

int metrics_parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	const char *colon = strrchr(s, ':');
	char host[64], *end;
	unsigned long port;
	bool bracketed;
	size_t n;

	if (!colon || colon == s)
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || !colon[1] || colon[1] < '0' || colon[1] > '9' || port == 0 || port > 65535)
		return -EINVAL;
	n = colon - s;
	bracketed = s[0] == '[';
	if (bracketed) {
		if (n < 3 || s[n - 1] != ']')
			return -EINVAL;
		s++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(ret, 0, sizeof(*ret));
	if (!bracketed && inet_pton(AF_INET, host, &((struct sockaddr_in *)ret)->sin_addr) == 1) {
		((struct sockaddr_in *)ret)->sin_family = AF_INET;
		((struct sockaddr_in *)ret)->sin_port = htons(port);
		*ret_len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (bracketed && inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ret)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ret)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ret)->sin6_port = htons(port);
		*ret_len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EINVAL;
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, char *body, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		(void)MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct metrics_server *s = cls;
	char *body;
	int error;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
		s->stats.refused++;
		return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, strdup("only GET\n"), "text/plain");
	}
	if (strcmp(url, "/metrics") != 0) {
		s->stats.refused++;
		return answer(c, MHD_HTTP_NOT_FOUND, strdup("only /metrics\n"), "text/plain");
	}
	body = s->render(s->userdata, &error);
	if (!body) {
		log_warning_errno(error, "Cannot make the metrics page: %m");
		return answer(c, MHD_HTTP_INTERNAL_SERVER_ERROR, strdup("cannot make the page\n"), "text/plain");
	}
	s->stats.scrapes++;
	return answer(c, MHD_HTTP_OK, body, "text/plain; version=0.0.4; charset=utf-8");
}

/* libmicrohttpd's timeout is for a silent client; one that sends a byte a
 * second (slowloris) is not silent, so each request also has a deadline,
 * counted from the connection's start or its last answer. */
static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct metrics_server *s = cls;
	struct client *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return; /* then only libmicrohttpd's own timeout applies */
		*c = (struct client){ .connection = connection, .since_usec = now_usec(s), .next = s->clients };
		if (s->clients)
			s->clients->prev = c;
		s->clients = c;
		*socket_context = c;
		(void)sd_event_source_set_enabled(s->deadlines, SD_EVENT_ON);
		return;
	}
	if (!c)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	*socket_context = NULL;
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct client *c = info ? info->socket_context : NULL;

	if (c)
		c->since_usec = now_usec(cls);
}

static void run(struct metrics_server *s);

/* Once a second while clients are connected: cut off those past the
 * deadline; libmicrohttpd sees the shut socket and closes it. */
static int on_deadlines(sd_event_source *es, uint64_t usec, void *userdata)
{
	struct metrics_server *s = userdata;
	uint64_t now = now_usec(s);
	bool cut = false;

	for (struct client *c = s->clients; c; c = c->next) {
		const union MHD_ConnectionInfo *info;

		if (c->cut || now - c->since_usec < METRICS_REQUEST_DEADLINE_S * USEC_PER_SEC)
			continue;
		info = MHD_get_connection_info(c->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (info && shutdown(info->connect_fd, SHUT_RDWR) == 0) {
			c->cut = cut = true;
			s->stats.cut_off++;
		}
	}
	if (cut)
		run(s);
	if (!s->clients)
		return sd_event_source_set_enabled(es, SD_EVENT_OFF);
	return sd_event_source_set_time_relative(es, USEC_PER_SEC);
}

static void run(struct metrics_server *s)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;

	/* Twice: at its connection limit libmicrohttpd takes the listening
	 * socket out of its epoll set, and puts it back only at the start of a
	 * run, once connections closed in the run before; without that second
	 * run no event would ever come for it again. */
	(void)MHD_run(s->daemon);
	(void)MHD_run(s->daemon);
	/* The next connection deadline, if any connection has one. */
	if (MHD_get_timeout(s->daemon, &ms) == MHD_YES) {
		(void)sd_event_source_set_time_relative(s->timer, (uint64_t)ms * USEC_PER_MSEC);
		(void)sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
	} else
		(void)sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
}

static int on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	run(userdata);
	return 0;
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
	run(userdata);
	return 0;
}

int metrics_server_new(sd_event *event, const char *listen, metrics_render_fn render, void *userdata,
		       struct metrics_server **ret)
{
	struct metrics_server *s;
	struct sockaddr_storage addr;
	const union MHD_DaemonInfo *info;
	socklen_t len;
	int r;

	r = metrics_parse_listen(listen, &addr, &len);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->render = render;
	s->userdata = userdata;
	s->event = event;
	/* No thread of its own: the loop below drives it through its epoll set. */
	s->daemon = MHD_start_daemon(MHD_USE_EPOLL | (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL,
				     on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONNECTION_TIMEOUT_S,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_REQUEST_MAX_BYTES,
				     MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_NOTIFY_CONNECTION,
				     on_connection, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->daemon) {
		r = errno > 0 ? -errno : -EADDRNOTAVAIL;
		free(s);
		return r;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	r = info ? sd_event_add_io(event, &s->io, info->epoll_fd, EPOLLIN, on_io, s) : -EINVAL;
	if (r >= 0)
		r = sd_event_add_time_relative(event, &s->timer, CLOCK_MONOTONIC, UINT64_MAX / 2, 0, on_timer, s);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
	if (r >= 0)
		r = sd_event_add_time_relative(event, &s->deadlines, CLOCK_MONOTONIC, USEC_PER_SEC, USEC_PER_SEC / 10,
					       on_deadlines, s);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->deadlines, SD_EVENT_OFF);
	if (r < 0) {
		metrics_server_free(s);
		return r;
	}
	run(s); /* the listening socket joins the epoll set in a run */
	*ret = s;
	return 0;
}

struct metrics_server *metrics_server_free(struct metrics_server *s)
{
	if (!s)
		return NULL;
	sd_event_source_disable_unref(s->io);
	sd_event_source_disable_unref(s->timer);
	sd_event_source_disable_unref(s->deadlines);
	/* Closes every connection: on_connection() frees the clients. */
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	free(s);
	return NULL;
}

const struct metrics_server_stats *metrics_server_stats(const struct metrics_server *s)
{
	return &s->stats;
}
