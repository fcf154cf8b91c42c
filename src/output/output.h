/* SPDX-License-Identifier: MIT */
#ifndef HIVE_OUTPUT_H
#define HIVE_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

struct access_record;

enum output_kind {
	OUTPUT_JOURNAL,
	OUTPUT_JSON,
	_OUTPUT_KIND_MAX,
};

const char *output_kind_to_string(enum output_kind k);
int output_kind_from_string(const char *s);

/*
 * Write one access record: to the journal as structured HIVE_* fields, or as
 * one JSON object per line on f. Returns -errno when it could not be written.
 */
int output_write(enum output_kind kind, FILE *f, const struct access_record *r);

/* What output_write() writes: the journal's "FIELD=value" lines (a NULL
 * ended list, for output_journal_lines_free()), or the JSON line without
 * its newline (free()). NULL when out of memory. */
char **output_journal_lines(const struct access_record *r);
void output_journal_lines_free(char **lines);
char *output_json_line(const struct access_record *r);

/*
 * The journal field of a pod label named in record_labels: "HIVE_LABEL_"
 * (the process's pod: "HIVE_PROC_LABEL_") and the key with letters
 * upper-cased and every other character but digits made '_':
 * app.kubernetes.io/name is HIVE_LABEL_APP_KUBERNETES_IO_NAME. -ENAMETOOLONG
 * when the name passes the journal's 64 characters.
 */
#define OUTPUT_RECORD_LABELS_MAX 32
#define OUTPUT_FIELD_NAME_MAX 64
int output_label_field(const char *key, bool proc, char buf[static OUTPUT_FIELD_NAME_MAX + 1]);

#endif
