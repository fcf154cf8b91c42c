/* SPDX-License-Identifier: MIT */
#ifndef HIVE_HISTOGRAM_H
#define HIVE_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Durations counted into fixed buckets, as Prometheus histograms want them:
 * counts[i] is the number of observations <= bounds[i] (cumulative is the
 * exposition's business), plus their count and sum.
 */
#define HISTOGRAM_BUCKETS_MAX 16

struct histogram {
	const double *bounds; /* seconds, ascending */
	size_t n_bounds;
	uint64_t counts[HISTOGRAM_BUCKETS_MAX]; /* per bucket, not cumulative */
	uint64_t count;
	double sum;
};

/* From 10 ms to a minute: how long a thing the agent follows took. */
extern const double histogram_seconds_bounds[];
extern const size_t histogram_seconds_n_bounds;

void histogram_init(struct histogram *h, const double *bounds, size_t n_bounds);
void histogram_observe(struct histogram *h, double seconds);

#endif
