/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "shared/diag.h"
#include "shared/log.h"

void diag_add(struct diag *d, const char *fmt, ...)
{
	char **lines;
	char *line;
	va_list ap;
	int r;

	if (d->n >= DIAG_MAX) {
		d->omitted++;
		return;
	}
	va_start(ap, fmt);
	r = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (r < 0) {
		d->omitted++;
		return;
	}
	lines = realloc(d->lines, (d->n + 1) * sizeof(*lines));
	if (!lines) {
		free(line);
		d->omitted++;
		return;
	}
	lines[d->n++] = line;
	d->lines = lines;
}

void diag_clear(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	*d = (struct diag){};
}

void diag_log(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		log_error("%s", d->lines[i]);
	if (d->omitted)
		log_error("... and %zu more problems.", d->omitted);
	diag_clear(d);
}
