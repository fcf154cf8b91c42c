/* SPDX-License-Identifier: MIT */
/* Minimal TAP for the unit tests: one "ok"/"not ok" line per test function. */
#ifndef HIVE_TAP_H
#define HIVE_TAP_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed_total;
static bool tap_failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
			tap_failed = true;                                                         \
		}                                                                                  \
	} while (0)

#define CHECK_STREQ(a, b)                                                                          \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
			printf("# %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, _a ? _a : "(null)", \
			       _b ? _b : "(null)");                                                \
			tap_failed = true;                                                         \
		}                                                                                  \
	} while (0)

#define RUN(fn)                                                                                    \
	do {                                                                                       \
		tap_failed = false;                                                                \
		fn();                                                                              \
		printf("%s %d - %s\n", tap_failed ? "not ok" : "ok", ++tap_count, #fn);           \
		tap_failed_total += tap_failed;                                                    \
	} while (0)

#define TAP_END() (printf("1..%d\n", tap_count), tap_failed_total ? 1 : 0)

#endif
