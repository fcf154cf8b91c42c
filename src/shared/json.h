/* SPDX-License-Identifier: MIT */
#ifndef HIVE_JSON_H
#define HIVE_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "shared/macro.h"

/*
 * JSON objects checked and converted by a table of their fields, in the
 * spirit of systemd's sd_json_dispatch(): each row names a field, the
 * function that checks its value and stores it at an offset of the target
 * struct, and what that function needs (a check of each string, a bound, a
 * nested table). Unknown fields and fields given twice are refused; rows are
 * dispatched in table order, and the first problem stops the object.
 *
 * Problems are reported through the context with the field's full name
 * ("podSelector.matchExpressions[0].key") and a sentence; every dispatcher
 * returns -EINVAL after reporting, -ENOMEM without.
 */

struct json_context {
	void (*report)(void *userdata, const char *field, const char *message);
	void *userdata;
};

/* Report a problem with field (NULL: the object itself); returns -EINVAL. */
int json_fail(const struct json_context *c, const char *field, const char *fmt, ...) _printf_(3, 4);

/* o's member name when it is a string, else NULL (also for o NULL). */
const char *json_string(const cJSON *o, const char *name);

/* "a string", "an array", ... for messages. */
const char *json_type_name(const cJSON *v);

/* A string from the input as messages show it: escaped, at most 95 bytes. */
const char *json_shown(const char *s, char buf[static 96]);

struct json_field;
typedef int (*json_dispatch_fn)(const struct json_field *f, const cJSON *v, void *target, const char *field,
				const struct json_context *c);

enum {
	JSON_REQUIRED = 1 << 0,
	JSON_EMPTY_OK = 1 << 1, /* lists: [] is a value */
};

struct json_field {
	const char *name;
	json_dispatch_fn dispatch;
	size_t offset; /* of the value in the target */
	unsigned flags;
	/* What the stock dispatchers use: */
	size_t count_offset;              /* lists: where the number of items goes (size_t) */
	size_t max;                       /* lists: at most this many items */
	const char *(*check)(const char *s); /* strings: why s is refused, or NULL */
	const void *data;                 /* nested tables: struct json_object_spec */
};

/* A nested object, or each object of a list of them. */
struct json_object_spec {
	const struct json_field *fields; /* ends with an empty row */
	size_t size;                     /* of one target (lists) */
	/* Checks across fields, once they are all in (may be NULL). */
	int (*verify)(void *target, const char *field, const struct json_context *c);
};

/* Dispatch the fields of obj (an object) into target; prefix goes before
 * every field name in messages ("" at the top). */
int json_dispatch(const cJSON *obj, const struct json_field fields[], void *target, const char *prefix,
		  const struct json_context *c);

/* Stock dispatchers. */
int json_dispatch_bool(const struct json_field *f, const cJSON *v, void *target, const char *field,
		       const struct json_context *c); /* bool */
int json_dispatch_string(const struct json_field *f, const cJSON *v, void *target, const char *field,
			 const struct json_context *c); /* char *, checked by f->check */
int json_dispatch_strv(const struct json_field *f, const cJSON *v, void *target, const char *field,
		       const struct json_context *c); /* char ** and its count: up to f->max distinct strings */
int json_dispatch_u32v(const struct json_field *f, const cJSON *v, void *target, const char *field,
		       const struct json_context *c); /* uint32_t * and its count: up to f->max distinct numbers */
int json_dispatch_object(const struct json_field *f, const cJSON *v, void *target, const char *field,
			 const struct json_context *c); /* a struct, by the spec in f->data */
int json_dispatch_object_array(const struct json_field *f, const cJSON *v, void *target, const char *field,
			       const struct json_context *c); /* an array of structs and its count */

#endif
