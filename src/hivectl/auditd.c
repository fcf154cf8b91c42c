/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hive.h"
#include "hivectl/auditd.h"
#include "shared/macro.h"

#define TOKENS_MAX 64

/* auditd's permission letters and what each is in Hive. */
static const struct {
	char letter;
	uint32_t access;
} perms[] = {
	{ 'r', HIVE_MAY_READ },
	{ 'w', HIVE_MAY_WRITE | HIVE_MAY_APPEND | HIVE_ACCESS_TRUNCATE | HIVE_ACCESS_CREATE | HIVE_ACCESS_DELETE |
		       HIVE_ACCESS_RENAME | HIVE_ACCESS_LINK },
	{ 'x', HIVE_MAY_EXEC },
	{ 'a', HIVE_ACCESS_ATTRIB },
};

uint32_t auditd_perms_to_access(const char *letters)
{
	uint32_t access = 0;

	for (const char *c = letters; *c; c++) {
		uint32_t bit = 0;

		for (size_t i = 0; i < ARRAY_SIZE(perms); i++)
			if (perms[i].letter == *c)
				bit = perms[i].access;
		if (!bit)
			return 0;
		access |= bit;
	}
	return access;
}

void auditd_key_to_name(const char *key, char name[static 64])
{
	size_t n = 0;

	for (const char *c = key; *c && n < 63; c++) {
		char l = (char)tolower((unsigned char)*c);
		bool alnum = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');

		if (alnum || (n > 0 && name[n - 1] != '-'))
			name[n++] = alnum ? l : '-';
	}
	while (n > 0 && name[n - 1] == '-')
		n--;
	name[n] = '\0';
	if (!n)
		snprintf(name, 64, "auditd");
}

/* One "-F field=value": the ones a watch has, the rest said dropped. */
static void rule_field(const char *f, const char **path, const char **dir, const char **perm, const char **key,
		       char *dropped, size_t size)
{
	static const struct {
		const char *prefix;
		size_t offset;
	} known[] = { { "path=", 0 }, { "dir=", 1 }, { "perm=", 2 }, { "key=", 3 } };
	const char **slots[] = { path, dir, perm, key };
	size_t used = strlen(dropped);

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (strncmp(f, known[i].prefix, strlen(known[i].prefix)) == 0) {
			*slots[known[i].offset] = f + strlen(known[i].prefix);
			return;
		}
	if (used < size)
		snprintf(dropped + used, size - used, "%s-F %s", used ? " " : "", f);
}

static int fail(const char **why, const char *what)
{
	*why = what;
	return -EINVAL;
}

int auditd_parse_line(const char *line, struct auditd_watch *w, const char **why)
{
	const char *tok[TOKENS_MAX] = {}, *perm = NULL, *key = NULL, *path = NULL, *dir = NULL;
	char buf[8192];
	bool watch;
	size_t n = 0, len;
	struct stat st;

	*why = NULL;
	*w = (struct auditd_watch){};
	line += strspn(line, " \t");
	if (!*line || *line == '#' || *line == '\n')
		return 0;
	if (strlen(line) >= sizeof(buf))
		return fail(why, "the line is longer than 8 KiB");
	strcpy(buf, line);
	for (char *save = NULL, *t = strtok_r(buf, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == TOKENS_MAX)
			return fail(why, "more than 64 words");
		tok[n++] = t;
	}
	if (n == 0)
		return 0;
	/* A rule is options with a value each; -D, -b 8192, -e 2 ... control
	 * auditd itself. */
	watch = strcmp(tok[0], "-w") == 0;
	if (!watch && strcmp(tok[0], "-a") != 0 && strcmp(tok[0], "-A") != 0) {
		*why = "a control line";
		return 0;
	}
	if (n % 2)
		return fail(why, "an option without its value");
	if (!watch && (!strstr(tok[1], "always") || !strstr(tok[1], "exit"))) {
		*why = "not an always,exit rule";
		return 0;
	}
	if (watch)
		path = tok[1];
	for (size_t i = 2; i < n; i += 2) {
		const char *opt = tok[i], *arg = tok[i + 1];
		size_t used = strlen(w->dropped);

		if (watch && strcmp(opt, "-p") == 0)
			perm = arg;
		else if (strcmp(opt, "-k") == 0)
			key = arg;
		else if (!watch && strcmp(opt, "-F") == 0)
			rule_field(arg, &path, &dir, &perm, &key, w->dropped, sizeof(w->dropped));
		else if (!watch && used < sizeof(w->dropped)) /* -S, -C */
			snprintf(w->dropped + used, sizeof(w->dropped) - used, "%s%s %s", used ? " " : "", opt, arg);
		else if (watch)
			return fail(why, "an option -w takes no part in (only -p and -k)");
	}
	if (watch)
		/* auditd watches a directory's whole tree. */
		w->tree = path[strlen(path) - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	else if (path || dir) {
		w->tree = !path;
		path = path ? path : dir;
	} else {
		*why = "a syscall rule on no path";
		return 0;
	}
	if (path[0] != '/')
		return fail(why, "the path is not absolute");
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= sizeof(w->path))
		return fail(why, "the path is longer than PATH_MAX");
	memcpy(w->path, path, len);
	w->path[len] = '\0';
	w->access = perm ? auditd_perms_to_access(perm) : HIVE_ACCESS_ALL;
	if (!w->access)
		return fail(why, "a permission other than r, w, x or a");
	if (key && strlen(key) >= sizeof(w->key))
		return fail(why, "the key is longer than 255 bytes");
	snprintf(w->key, sizeof(w->key), "%s", key ? key : "");
	return 1;
}
