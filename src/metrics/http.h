/* SPDX-License-Identifier: MIT */
#ifndef HIVE_METRICS_HTTP_H
#define HIVE_METRICS_HTTP_H

#include <stdbool.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

/*
 * The /metrics endpoint: libmicrohttpd without threads of its own, its
 * epoll set one source of the agent's sd-event loop, so that a scrape is
 * served between batches of records and never holds one up. Bounded: a
 * few connections at once (more are closed as they come), a small request
 * (a longer line or header is refused), a deadline for each connection (a
 * client that sends slowly is cut off). GET /metrics only: any other path
 * is 404, any other method 405.
 */
struct metrics_server;

/* The page: Prometheus text, malloc()ed, or NULL with -errno. */
typedef char *(*metrics_render_fn)(void *userdata, int *error);

#define METRICS_MAX_CONNECTIONS 16
#define METRICS_REQUEST_MAX_BYTES (16 * 1024)
#define METRICS_CONNECTION_TIMEOUT_S 10 /* silent */
#define METRICS_REQUEST_DEADLINE_S 5     /* from connecting, or the last answer, to the next answer */

/* "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464": -EINVAL when not one. */
int metrics_parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);

int metrics_server_new(sd_event *event, const char *listen, metrics_render_fn render, void *userdata,
		       struct metrics_server **ret);
struct metrics_server *metrics_server_free(struct metrics_server *s);

struct metrics_server_stats {
	uint64_t scrapes;  /* pages served */
	uint64_t refused;  /* other paths and methods */
	uint64_t cut_off;  /* clients past the deadline */
};
const struct metrics_server_stats *metrics_server_stats(const struct metrics_server *s);

#endif
