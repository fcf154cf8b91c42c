/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/exposition.h"

static void append(struct expo *e, const char *s, size_t n)
{
	if (e->error)
		return;
	if (e->len + n + 1 > e->cap) {
		size_t cap = e->cap ? e->cap : 4096;
		char *grown;

		while (e->len + n + 1 > cap)
			cap *= 2;
		grown = realloc(e->buf, cap);
		if (!grown) {
			e->error = -ENOMEM;
			return;
		}
		e->buf = grown;
		e->cap = cap;
	}
	memcpy(e->buf + e->len, s, n);
	e->len += n;
	e->buf[e->len] = '\0';
}

static void appendf(struct expo *e, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void appendf(struct expo *e, const char *format, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(small, sizeof(small), format, ap);
	va_end(ap);
	if (n < 0)
		e->error = e->error ?: -EINVAL;
	else if ((size_t)n < sizeof(small))
		append(e, small, n);
	else {
		char *big = NULL;

		va_start(ap, format);
		n = vasprintf(&big, format, ap);
		va_end(ap);
		if (n < 0)
			e->error = e->error ?: -ENOMEM;
		else
			append(e, big, n);
		free(big);
	}
}

void expo_family(struct expo *e, const char *name, const char *type, const char *help)
{
	appendf(e, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void labels_out(struct expo *e, const char *const *labels)
{
	if (!labels || !labels[0])
		return;
	append(e, "{", 1);
	for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
		appendf(e, "%s%s=\"", i ? "," : "", labels[i]);
		for (const char *v = labels[i + 1]; *v; v++) {
			size_t plain = strcspn(v, "\\\"\n");

			append(e, v, plain);
			v += plain;
			if (!*v)
				break;
			append(e, *v == '\n' ? "\\n" : *v == '"' ? "\\\"" : "\\\\", 2);
		}
		append(e, "\"", 1);
	}
	append(e, "}", 1);
}

void expo_u64(struct expo *e, const char *name, const char *const *labels, uint64_t value)
{
	append(e, name, strlen(name));
	labels_out(e, labels);
	appendf(e, " %" PRIu64 "\n", value);
}

/* The shortest decimal that reads back as the same double, as Prometheus's
 * own clients write it: a fixed precision either loses digits (a start time
 * in seconds since 1970 has ten before the point) or prints 0.1 as
 * 0.10000000000000001. */
static void format_double(char buf[static 32], double value)
{
	for (int precision = 1; precision <= 17; precision++) {
		snprintf(buf, 32, "%.*g", precision, value);
		if (strtod(buf, NULL) == value)
			return;
	}
}

void expo_double(struct expo *e, const char *name, const char *const *labels, double value)
{
	char text[32];

	append(e, name, strlen(name));
	labels_out(e, labels);
	format_double(text, value);
	appendf(e, " %s\n", text);
}

void expo_histogram(struct expo *e, const char *name, const char *help, const struct histogram *h)
{
	uint64_t cumulative = 0;
	char sample[128], le[32];

	expo_family(e, name, "histogram", help);
	snprintf(sample, sizeof(sample), "%s_bucket", name);
	for (size_t i = 0; i < h->n_bounds; i++) {
		cumulative += h->counts[i];
		format_double(le, h->bounds[i]);
		expo_u64(e, sample, (const char *const[]){ "le", le, NULL }, cumulative);
	}
	expo_u64(e, sample, (const char *const[]){ "le", "+Inf", NULL }, h->count);
	snprintf(sample, sizeof(sample), "%s_sum", name);
	expo_double(e, sample, NULL, h->sum);
	snprintf(sample, sizeof(sample), "%s_count", name);
	expo_u64(e, sample, NULL, h->count);
}

char *expo_finish(struct expo *e, int *error)
{
	if (e->error || !e->buf) {
		*error = e->error ?: -ENOMEM;
		free(e->buf);
		*e = (struct expo){};
		return NULL;
	}
	*error = 0;
	return e->buf;
}
