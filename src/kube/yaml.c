/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/yaml.h"
#include "shared/macro.h"

#define MAX_DEPTH 64

struct line {
	size_t number; /* 1-based, for messages */
	size_t indent;
	char *text; /* content after the indentation, comment stripped */
};

struct parser {
	struct line *lines;
	size_t n, pos;
	char *err;
	size_t err_size;
	bool failed;
};

_printf_(3, 4) static cJSON *fail(struct parser *p, size_t line, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	if (p->failed)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->err_size, "line %zu: %s", line, msg);
	p->failed = true;
	return NULL;
}

/* Cut a comment: '#' at the start or after a blank, outside quotes. */
static void strip_comment(char *s)
{
	char quote = 0;

	for (char *c = s; *c; c++) {
		if (quote) {
			if (*c == quote && (quote == '\'' || c[-1] != '\\'))
				quote = 0;
		} else if (*c == '"' || *c == '\'') {
			if (c == s || c[-1] == ' ' || c[-1] == ':' || c[-1] == '-' || c[-1] == '[' || c[-1] == '{')
				quote = *c;
		} else if (*c == '#' && (c == s || c[-1] == ' ')) {
			*c = '\0';
			break;
		}
	}
	for (size_t n = strlen(s); n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r'); n--)
		s[n - 1] = '\0';
}

/* A quoted scalar starting at s; *end is set past the closing quote. */
static char *quoted(struct parser *p, size_t line, const char *s, const char **end)
{
	char q = s[0], *out = malloc(strlen(s) + 1);
	size_t o = 0;
	const char *c;

	if (!out)
		return NULL;
	for (c = s + 1; *c; c++) {
		if (*c == q) {
			if (q == '\'' && c[1] == '\'') { /* '' is a quote */
				out[o++] = '\'';
				c++;
				continue;
			}
			out[o] = '\0';
			*end = c + 1;
			return out;
		}
		if (q == '"' && *c == '\\') {
			static const char from[] = "\"\\/nrtb0", to[] = "\"\\/\n\r\t\b";

			const char *k = c[1] ? strchr(from, c[1]) : NULL;
			if (!k || c[1] == '0') {
				free(out);
				fail(p, line, "unsupported escape in a double-quoted string");
				return NULL;
			}
			out[o++] = to[k - from];
			c++;
			continue;
		}
		out[o++] = *c;
	}
	free(out);
	fail(p, line, "unterminated quoted string (multi-line scalars are not supported)");
	return NULL;
}

static cJSON *scalar(struct parser *p, size_t line, const char *s)
{
	const char *end;
	char *v;
	cJSON *item;

	if (strcmp(s, "{}") == 0)
		return cJSON_CreateObject();
	if (strcmp(s, "[]") == 0)
		return cJSON_CreateArray();
	if (strchr("&*!|>%@`{[", s[0]))
		return fail(p, line, "unsupported YAML (anchor, alias, tag, block scalar or flow collection): %.20s", s);
	if (s[0] == '"' || s[0] == '\'') {
		v = quoted(p, line, s, &end);
		if (!v)
			return NULL;
		while (*end == ' ')
			end++;
		if (*end) {
			free(v);
			return fail(p, line, "text after a quoted string");
		}
		item = cJSON_CreateString(v);
		free(v);
		return item;
	}
	if (strcmp(s, "null") == 0 || strcmp(s, "~") == 0)
		return cJSON_CreateNull();
	return cJSON_CreateString(s);
}

/*
 * Split "key: value" (or "key:") at the mapping colon, outside quotes.
 * Returns the key (allocated) and points *value at the rest; NULL if the
 * line is not a mapping entry.
 */
static char *split_key(struct parser *p, struct line *l, char **value)
{
	char *s = l->text, *colon = NULL;
	const char *end;

	if (s[0] == '"' || s[0] == '\'') {
		char *key = quoted(p, l->number, s, &end);

		if (!key)
			return NULL;
		if (*end != ':' || (end[1] && end[1] != ' ')) {
			free(key);
			return NULL;
		}
		*value = (char *)end + 1;
		while (**value == ' ')
			(*value)++;
		return key;
	}
	for (char *c = s; *c; c++)
		if (*c == ':' && (c[1] == ' ' || c[1] == '\0')) {
			colon = c;
			break;
		}
	if (!colon || colon == s)
		return NULL;
	*value = colon + 1;
	while (**value == ' ')
		(*value)++;
	return strndup(s, colon - s);
}

static bool is_item(const struct line *l)
{
	return l->text[0] == '-' && (l->text[1] == ' ' || l->text[1] == '\0');
}

static cJSON *block(struct parser *p, size_t indent, int depth);

/* The value of "key:" with nothing after the colon: a nested block, or null. */
static cJSON *nested(struct parser *p, size_t indent, int depth)
{
	if (p->pos < p->n && (p->lines[p->pos].indent > indent ||
			      (p->lines[p->pos].indent == indent && is_item(&p->lines[p->pos]))))
		return block(p, p->lines[p->pos].indent, depth + 1);
	return cJSON_CreateNull();
}

static cJSON *mapping(struct parser *p, size_t indent, int depth)
{
	cJSON *map = cJSON_CreateObject();

	while (map && !p->failed && p->pos < p->n && p->lines[p->pos].indent == indent && !is_item(&p->lines[p->pos])) {
		struct line *l = &p->lines[p->pos];
		char *value, *key = split_key(p, l, &value);
		cJSON *child;

		if (!key) {
			if (!p->failed)
				fail(p, l->number, "expected \"key: value\"");
			break;
		}
		if (cJSON_GetObjectItemCaseSensitive(map, key)) {
			fail(p, l->number, "key \"%.40s\" given twice", key);
			free(key);
			break;
		}
		p->pos++;
		child = *value ? scalar(p, l->number, value) : nested(p, indent, depth);
		if (!child || !cJSON_AddItemToObject(map, key, child)) {
			cJSON_Delete(child);
			free(key);
			if (!p->failed)
				fail(p, l->number, "out of memory");
			break;
		}
		free(key);
	}
	if (p->failed) {
		cJSON_Delete(map);
		return NULL;
	}
	if (p->pos < p->n && p->lines[p->pos].indent > indent)
		return cJSON_Delete(map), fail(p, p->lines[p->pos].number, "unexpected indentation");
	return map;
}

static cJSON *sequence(struct parser *p, size_t indent, int depth)
{
	cJSON *seq = cJSON_CreateArray();

	while (seq && !p->failed && p->pos < p->n && p->lines[p->pos].indent == indent && is_item(&p->lines[p->pos])) {
		struct line *l = &p->lines[p->pos];
		char *rest = l->text + 1, *value;
		cJSON *child;

		while (*rest == ' ')
			rest++;
		if (!*rest) {
			p->pos++;
			child = nested(p, indent, depth);
		} else {
			char *key;

			/* "- key: value": a mapping whose column is that of key. */
			l->indent += rest - l->text;
			l->text = rest;
			key = split_key(p, l, &value);
			if (key) {
				free(key);
				child = block(p, l->indent, depth + 1);
			} else {
				p->pos++;
				child = p->failed ? NULL : scalar(p, l->number, rest);
			}
		}
		if (!child || !cJSON_AddItemToArray(seq, child)) {
			cJSON_Delete(child);
			break;
		}
	}
	if (p->failed) {
		cJSON_Delete(seq);
		return NULL;
	}
	return seq;
}

static cJSON *block(struct parser *p, size_t indent, int depth)
{
	if (depth > MAX_DEPTH)
		return fail(p, p->lines[p->pos].number, "nested more than %d levels", MAX_DEPTH);
	return is_item(&p->lines[p->pos]) ? sequence(p, indent, depth) : mapping(p, indent, depth);
}

cJSON *yaml_parse(const char *text, size_t len, char *err, size_t err_size)
{
	_cleanup_(freep) char *copy = NULL;
	struct parser p = { .err = err, .err_size = err_size };
	size_t number = 0;
	cJSON *root = NULL;

	err[0] = '\0';
	while (len > 0 && (*text == ' ' || *text == '\n' || *text == '\r' || *text == '\t'))
		text++, len--;
	if (len > 0 && text[0] == '{') {
		root = cJSON_ParseWithLength(text, len);
		if (!root)
			snprintf(err, err_size, "invalid JSON");
		return root;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, err_size, "NUL byte in the file");
		return NULL;
	}
	copy = strndup(text, len);
	if (!copy)
		return NULL;
	/* Count lines ourselves: strtok_r would skip empty ones. */
	for (char *s = copy, *nl; s; s = nl ? nl + 1 : NULL) {
		struct line *grown;
		size_t indent = 0;

		nl = strchr(s, '\n');
		if (nl)
			*nl = '\0';
		number++;
		while (s[indent] == ' ')
			indent++;
		if (s[indent] == '\t') {
			fail(&p, number, "tab in indentation");
			goto finish;
		}
		strip_comment(s + indent);
		if (!s[indent])
			continue;
		if (strcmp(s + indent, "---") == 0 && p.n == 0 && indent == 0)
			continue;
		if ((strcmp(s + indent, "---") == 0 || strcmp(s + indent, "...") == 0) && indent == 0) {
			fail(&p, number, "more than one document");
			goto finish;
		}
		grown = realloc(p.lines, (p.n + 1) * sizeof(*grown));
		if (!grown)
			goto finish;
		p.lines = grown;
		p.lines[p.n++] = (struct line){ .number = number, .indent = indent, .text = s + indent };
	}
	if (p.n == 0) {
		snprintf(err, err_size, "empty document");
		goto finish;
	}
	root = block(&p, p.lines[0].indent, 0);
	if (root && p.pos < p.n) {
		fail(&p, p.lines[p.pos].number, "unexpected indentation");
		cJSON_Delete(root);
		root = NULL;
	}
finish:
	free(p.lines);
	return p.failed ? (cJSON_Delete(root), NULL) : root;
}
