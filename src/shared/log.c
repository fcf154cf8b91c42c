/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "shared/log.h"

static int max_level = LOG_INFO;
static bool journal_stream;
static bool json_lines;
static log_writer_fn writer;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit",
	[LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

/* $JOURNAL_STREAM is "dev:ino" of the stream systemd connected; it stays set
 * in children whose stderr was redirected elsewhere, hence the comparison. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_setup(void)
{
	const char *e = getenv("HIVE_LOG_LEVEL"), *format = getenv("HIVE_LOG_FORMAT");
	int level;

	journal_stream = stderr_is_journal();
	json_lines = !journal_stream && format && strcmp(format, "json") == 0;
	if (e && (level = log_level_from_string(e)) >= 0)
		max_level = level;
}

bool log_stderr_is_journal(void)
{
	return journal_stream;
}

void log_set_writer(log_writer_fn fn)
{
	writer = fn;
}

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

int log_level_from_string(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "error") == 0)
		return LOG_ERR;
	return -EINVAL;
}

/* A JSON string's body: the message may hold anything a path held. */
static void put_json_string(const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(stderr, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(stderr, "\\u%04x", c);
		else
			fputc(c, stderr);
	}
}

static void write_stderr(int level, int error, const char *message_id, const char *message)
{
	if (json_lines) {
		fprintf(stderr, "{\"priority\":%d,\"message\":\"", level);
		put_json_string(message);
		fputc('"', stderr);
		if (message_id)
			fprintf(stderr, ",\"message_id\":\"%s\"", message_id);
		if (error)
			fprintf(stderr, ",\"errno\":%d", error);
		fputs("}\n", stderr);
		return;
	}
	if (journal_stream)
		fprintf(stderr, "<%d>", level);
	fprintf(stderr, "%s\n", message);
}

int log_internal(int level, int error, const char *message_id, const char *fmt, ...)
{
	int saved = errno, n;
	char *message = NULL;
	va_list ap;

	if (error < 0)
		error = -error;
	if (level > max_level)
		return -error;

	/* %m in fmt prints the error we were given, not a stale errno. */
	errno = error;
	va_start(ap, fmt);
	n = vasprintf(&message, fmt, ap);
	va_end(ap);
	if (n >= 0 && (!writer || writer(level, error, message_id, message) < 0))
		write_stderr(level, error, message_id, message);
	free(message);
	errno = saved;
	return -error;
}
