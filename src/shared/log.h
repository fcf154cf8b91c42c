/* SPDX-License-Identifier: MIT */
#ifndef HIVE_LOG_H
#define HIVE_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "shared/macro.h"

/*
 * Diagnostics go to stderr: under systemd a journal stream, where a "<N>"
 * prefix carries the priority (sd-daemon(3)); elsewhere plain lines, or JSON
 * lines with HIVE_LOG_FORMAT=json ({"priority", "message", "message_id",
 * "errno"}), for whoever reads them by machine. A daemon may send them
 * elsewhere (log_set_writer(): hived writes to the journal itself, so that
 * MESSAGE_ID reaches it). Access records never go through here: they are
 * data, see output/.
 */
void log_setup(void);
void log_set_max_level(int level);
int log_get_max_level(void);
int log_level_from_string(const char *s);

/* Whether stderr is the journal's stream (systemd's JOURNAL_STREAM). */
bool log_stderr_is_journal(void);

/* Where formatted lines go; returns < 0 when it could not write (the line
 * then goes to stderr). message_id and error may be NULL and 0. */
typedef int (*log_writer_fn)(int level, int error, const char *message_id, const char *message);
void log_set_writer(log_writer_fn fn);

/* Returns -abs(error) so that callers can write: return log_error_errno(r, ...);
 * message_id: one of shared/message-id.h, or NULL. */
int log_internal(int level, int error, const char *message_id, const char *fmt, ...) _printf_(4, 5);

#define log_full_errno(level, error, ...) log_internal((level), (error), NULL, __VA_ARGS__)
#define log_full(level, ...) (void)log_internal((level), 0, NULL, __VA_ARGS__)
/* A line with a MESSAGE_ID. */
#define log_id(level, id, ...) (void)log_internal((level), 0, (id), __VA_ARGS__)
#define log_id_errno(level, error, id, ...) log_internal((level), (error), (id), __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)

#endif
