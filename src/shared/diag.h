/* SPDX-License-Identifier: MIT */
#ifndef HIVE_DIAG_H
#define HIVE_DIAG_H

#include <stddef.h>

#include "shared/macro.h"

/*
 * Problems found while validating input, collected so that one run reports all
 * of them (hived --check) and the caller decides where they are logged.
 */
struct diag {
	char **lines;
	size_t n;
	size_t omitted; /* past DIAG_MAX */
};

#define DIAG_MAX 200

void diag_add(struct diag *d, const char *fmt, ...) _printf_(2, 3);
void diag_clear(struct diag *d);
/* Log every problem as an error (and how many were left out), then clear. */
void diag_log(struct diag *d);

#endif
