/* SPDX-License-Identifier: MIT */
#include "shared/histogram.h"

const double histogram_seconds_bounds[] = { 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
const size_t histogram_seconds_n_bounds = sizeof(histogram_seconds_bounds) / sizeof(histogram_seconds_bounds[0]);

void histogram_init(struct histogram *h, const double *bounds, size_t n_bounds)
{
	*h = (struct histogram){ .bounds = bounds, .n_bounds = n_bounds < HISTOGRAM_BUCKETS_MAX ? n_bounds
												 : HISTOGRAM_BUCKETS_MAX };
}

void histogram_observe(struct histogram *h, double seconds)
{
	size_t i = 0;

	while (i < h->n_bounds && seconds > h->bounds[i])
		i++;
	if (i < h->n_bounds)
		h->counts[i]++;
	h->count++;
	h->sum += seconds;
}
