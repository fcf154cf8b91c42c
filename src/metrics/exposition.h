/* SPDX-License-Identifier: MIT */
#ifndef HIVE_EXPOSITION_H
#define HIVE_EXPOSITION_H

#include <stddef.h>
#include <stdint.h>

#include "shared/histogram.h"

/*
 * Prometheus' text exposition format (version 0.0.4), written into a
 * buffer that grows: a family's HELP and TYPE lines, then its samples.
 * Label values are escaped as the format wants (\\, \", \n); names are the
 * caller's constants. Out of memory is remembered and reported once, by
 * expo_finish().
 */
struct expo {
	char *buf;
	size_t len, cap;
	int error;
};

void expo_family(struct expo *e, const char *name, const char *type, const char *help);
/* labels: "name", "value", ..., NULL; or NULL for none. */
void expo_u64(struct expo *e, const char *name, const char *const *labels, uint64_t value);
void expo_double(struct expo *e, const char *name, const char *const *labels, double value);
/* A histogram family: cumulative _bucket{le} samples, _sum, _count. */
void expo_histogram(struct expo *e, const char *name, const char *help, const struct histogram *h);
/* The text (the caller frees it), or NULL with -errno in *error. */
char *expo_finish(struct expo *e, int *error);

#endif
