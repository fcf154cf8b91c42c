/* SPDX-License-Identifier: MIT */
#ifndef HIVE_METRICS_PAGE_H
#define HIVE_METRICS_PAGE_H

#include <stdint.h>

#include "daemon/manager.h"

struct histogram;
struct kube_client;
struct recorder;
struct watch_set;

/* What the /metrics page is made of: the figures hivectl status shows
 * (status), and the labelled families beside them. */
struct metrics_sources {
	const struct manager_status *status;
	const struct recorder *recorder;
	const struct kube_client *client; /* NULL: standalone */
	const struct watch_set *watches;
	const struct histogram *discovery; /* NULL: no pods followed */
	uint32_t max_watches;
	uint64_t ringbuf_bytes;
	const char *output; /* "journal", "json" */
};

/* The page in Prometheus' text format (free()), or NULL with -errno. */
char *metrics_page(const struct metrics_sources *s, int *error);

#endif
