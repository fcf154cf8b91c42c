/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "shared/escape.h"
#include "shared/json.h"
#include "shared/strv.h"

/* Room for a field's full name in messages. */
#define FIELD_MAX 256

int json_fail(const struct json_context *c, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->report(c->userdata, field, msg);
	return -EINVAL;
}

const char *json_string(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *json_type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "invalid";
}

const char *json_shown(const char *s, char buf[static 96])
{
	size_t n = escape_untrusted(s, strlen(s), buf, 96);

	if (n >= 96)
		strcpy(buf + 96 - 4, "...");
	return buf;
}

/* Refuse fields the table does not have, and fields given twice (cJSON
 * keeps both). */
static int check_names(const cJSON *obj, const struct json_field fields[], const char *prefix,
		       const struct json_context *c)
{
	char buf[96], field[FIELD_MAX];

	for (const cJSON *v = obj->child; v; v = v->next) {
		const struct json_field *f = fields;

		while (f->name && strcmp(f->name, v->string) != 0)
			f++;
		snprintf(field, sizeof(field), "%s%s", prefix, json_shown(v->string, buf));
		if (!f->name) {
			char list[256] = "";
			size_t used = 0;

			for (f = fields; f->name && used < sizeof(list); f++)
				used += snprintf(list + used, sizeof(list) - used, "%s%s", f == fields ? "" : ", ",
						 f->name);
			return json_fail(c, field, "unknown field (known fields: %s)", list);
		}
		for (const cJSON *w = v->next; w; w = w->next)
			if (strcmp(v->string, w->string) == 0)
				return json_fail(c, field, "field given more than once");
	}
	return 0;
}

int json_dispatch(const cJSON *obj, const struct json_field fields[], void *target, const char *prefix,
		  const struct json_context *c)
{
	char field[FIELD_MAX];
	int r;

	r = check_names(obj, fields, prefix, c);
	if (r < 0)
		return r;
	for (const struct json_field *f = fields; f->name; f++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->name);

		snprintf(field, sizeof(field), "%s%s", prefix, f->name);
		if (!v) {
			if (f->flags & JSON_REQUIRED)
				return json_fail(c, field, "is required");
			continue;
		}
		r = f->dispatch(f, v, target, field, c);
		if (r < 0)
			return r;
	}
	return 0;
}

int json_dispatch_bool(const struct json_field *f, const cJSON *v, void *target, const char *field,
		       const struct json_context *c)
{
	if (!cJSON_IsBool(v))
		return json_fail(c, field, "must be true or false, got %s", json_type_name(v));
	*(bool *)((char *)target + f->offset) = cJSON_IsTrue(v);
	return 0;
}

int json_dispatch_string(const struct json_field *f, const cJSON *v, void *target, const char *field,
			 const struct json_context *c)
{
	char **s = (char **)((char *)target + f->offset), buf[96];
	const char *why;

	if (!cJSON_IsString(v))
		return json_fail(c, field, "must be a string, got %s", json_type_name(v));
	if (f->check && (why = f->check(v->valuestring)))
		return json_fail(c, field, "\"%s\" %s", json_shown(v->valuestring, buf), why);
	free(*s);
	*s = strdup(v->valuestring);
	return *s ? 0 : -ENOMEM;
}

int json_dispatch_strv(const struct json_field *f, const cJSON *v, void *target, const char *field,
		       const struct json_context *c)
{
	char buf[96], item[FIELD_MAX];
	char **list;
	size_t n = 0;
	int size, r;

	if (!cJSON_IsArray(v))
		return json_fail(c, field, "must be an array of strings, got %s", json_type_name(v));
	size = cJSON_GetArraySize(v);
	if (size == 0 && !(f->flags & JSON_EMPTY_OK))
		return json_fail(c, field, "must not be empty");
	if ((size_t)size > f->max)
		return json_fail(c, field, "has %d entries, at most %zu are allowed", size, f->max);
	list = calloc(size + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (const cJSON *e = v->child; e; e = e->next, n++) {
		const char *why;

		snprintf(item, sizeof(item), "%s[%zu]", field, n);
		r = -EINVAL;
		if (!cJSON_IsString(e))
			json_fail(c, item, "must be a string, got %s", json_type_name(e));
		else if (f->check && (why = f->check(e->valuestring)))
			json_fail(c, item, "\"%s\" %s", json_shown(e->valuestring, buf), why);
		else
			r = 0;
		for (size_t i = 0; r >= 0 && i < n; i++)
			if (strcmp(list[i], e->valuestring) == 0)
				r = json_fail(c, item, "\"%s\" is listed twice", json_shown(e->valuestring, buf));
		if (r >= 0 && !(list[n] = strdup(e->valuestring)))
			r = -ENOMEM;
		if (r < 0) {
			strv_free(list, n);
			return r;
		}
	}
	*(char ***)((char *)target + f->offset) = list;
	*(size_t *)((char *)target + f->count_offset) = n;
	return 0;
}

int json_dispatch_u32v(const struct json_field *f, const cJSON *v, void *target, const char *field,
		       const struct json_context *c)
{
	char item[FIELD_MAX];
	uint32_t *list;
	size_t n = 0;
	int size;

	if (!cJSON_IsArray(v))
		return json_fail(c, field, "must be an array of numbers, got %s", json_type_name(v));
	size = cJSON_GetArraySize(v);
	if (size == 0)
		return json_fail(c, field, "must not be empty");
	if ((size_t)size > f->max)
		return json_fail(c, field, "has %d entries, at most %zu are allowed", size, f->max);
	list = calloc(size, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (const cJSON *e = v->child; e; e = e->next, n++) {
		double d = cJSON_IsNumber(e) ? e->valuedouble : -1;
		int r = 0;

		snprintf(item, sizeof(item), "%s[%zu]", field, n);
		/* (uint32_t)-1 is the kernel's "none" (an unset loginuid). */
		if (!cJSON_IsNumber(e))
			r = json_fail(c, item, "must be a number, got %s", json_type_name(e));
		else if (d < 0 || d >= (double)UINT32_MAX || d != (double)(uint32_t)d)
			r = json_fail(c, item, "must be a whole number from 0 to %u, got %g", UINT32_MAX - 1, d);
		for (size_t i = 0; r >= 0 && i < n; i++)
			if (list[i] == (uint32_t)d)
				r = json_fail(c, item, "%u is listed twice", (uint32_t)d);
		if (r < 0) {
			free(list);
			return r;
		}
		list[n] = (uint32_t)d;
	}
	*(uint32_t **)((char *)target + f->offset) = list;
	*(size_t *)((char *)target + f->count_offset) = n;
	return 0;
}

int json_dispatch_object(const struct json_field *f, const cJSON *v, void *target, const char *field,
			 const struct json_context *c)
{
	const struct json_object_spec *spec = f->data;
	char prefix[FIELD_MAX];
	void *sub = (char *)target + f->offset;
	int r;

	if (!cJSON_IsObject(v))
		return json_fail(c, field, "must be an object, got %s", json_type_name(v));
	snprintf(prefix, sizeof(prefix), "%s.", field);
	r = json_dispatch(v, spec->fields, sub, prefix, c);
	if (r >= 0 && spec->verify)
		r = spec->verify(sub, field, c);
	return r;
}

int json_dispatch_object_array(const struct json_field *f, const cJSON *v, void *target, const char *field,
			       const struct json_context *c)
{
	const struct json_object_spec *spec = f->data;
	char item[FIELD_MAX], prefix[FIELD_MAX + 1];
	size_t *count = (size_t *)((char *)target + f->count_offset);
	char **items = (char **)((char *)target + f->offset);
	int size, r = 0;

	if (!cJSON_IsArray(v))
		return json_fail(c, field, "must be an array, got %s", json_type_name(v));
	size = cJSON_GetArraySize(v);
	if ((size_t)size > f->max)
		return json_fail(c, field, "has %d entries, at most %zu are allowed", size, f->max);
	*items = calloc(size + 1, spec->size);
	if (!*items)
		return -ENOMEM;
	/* Counted as they are dispatched: the owner frees what is in. */
	for (const cJSON *e = v->child; e && r >= 0; e = e->next) {
		void *one = *items + *count * spec->size;

		snprintf(item, sizeof(item), "%s[%zu]", field, *count);
		snprintf(prefix, sizeof(prefix), "%s.", item);
		(*count)++;
		if (!cJSON_IsObject(e))
			return json_fail(c, item, "must be an object, got %s", json_type_name(e));
		r = json_dispatch(e, spec->fields, one, prefix, c);
		if (r >= 0 && spec->verify)
			r = spec->verify(one, item, c);
	}
	return r;
}
