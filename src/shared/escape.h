/* SPDX-License-Identifier: MIT */
#ifndef HIVE_ESCAPE_H
#define HIVE_ESCAPE_H

#include <stddef.h>

/*
 * Make bytes that a container or process controls (comm, paths, names) safe to
 * put in a log line or a journal field: printable ASCII and well-formed UTF-8
 * pass; control characters, C1 controls, bidirectional overrides, invalid
 * UTF-8 and the backslash itself become \xNN / \\. The result is unambiguous:
 * distinct inputs give distinct outputs.
 *
 * Writes at most out_size bytes including the NUL; returns the length the full
 * escaped string has (like snprintf), so a caller can detect truncation.
 */
size_t escape_untrusted(const char *in, size_t in_len, char *out, size_t out_size);

/* Worst case growth: every byte becomes four. */
#define ESCAPED_SIZE(n) ((n) * 4 + 1)

/* Allocating variant; NULL on allocation failure. */
char *escape_untrusted_dup(const char *in, size_t in_len);

#endif
