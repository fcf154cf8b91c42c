/* SPDX-License-Identifier: MIT */
#ifndef HIVE_FIGURES_H
#define HIVE_FIGURES_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/manager.h"

/*
 * The agent's figures, one table for every place that shows them: hivectl
 * status (the D-Bus Status method's keys, the labels it prints) and the
 * /metrics page (name, type, help, one optional label). Read from struct
 * manager_status. Rows of one metric family follow each other.
 */
enum figure_type {
	FIGURE_COUNTER,
	FIGURE_GAUGE,
};

struct figure {
	const char *key;   /* in Status and hivectl status --json; NULL: a metric only */
	const char *label; /* what hivectl status prints */
	const char *metric;
	enum figure_type type;
	const char *help; /* the family's, on its first row */
	const char *label_name, *label_value; /* or NULL; value "$output": the output's kind */
	size_t offset;                        /* in struct manager_status */
	char kind;                            /* 't' uint64_t, 'z' size_t, 'b' bool */
};

extern const struct figure figures[];
extern const size_t n_figures;

uint64_t figure_value(const struct figure *f, const struct manager_status *st);

#endif
