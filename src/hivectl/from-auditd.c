/* SPDX-License-Identifier: MIT */
/* hivectl from-auditd: auditd's file watches as one Hive policy file. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hive.h"
#include "hivectl/auditd.h"
#include "hivectl/from-auditd.h"
#include "shared/abi.h"
#include "shared/macro.h"

/* A policy holds at most this many paths (policy(5)). */
#define POLICY_PATHS_MAX 256

struct converted {
	cJSON *policies;
	unsigned skipped, malformed, watches;
};

/* The policy of name and access that has room for one more path: found,
 * or made ("identity", then "identity-2" ... when the name is taken by
 * another access or full). */
static cJSON *policy_for(struct converted *c, const char *name, uint32_t access)
{
	char unique[80];
	cJSON *p, *list;

	for (unsigned k = 1;; k++) {
		bool taken = false;

		if (k == 1)
			snprintf(unique, sizeof(unique), "%s", name);
		else
			snprintf(unique, sizeof(unique), "%.58s-%u", name, k);
		cJSON_ArrayForEach(p, c->policies)
		{
			if (strcmp(cJSON_GetObjectItem(p, "name")->valuestring, unique) != 0)
				continue;
			taken = true;
			if ((uint32_t)cJSON_GetObjectItem(p, "hiveAccess")->valuedouble == access &&
			    cJSON_GetArraySize(cJSON_GetObjectItem(p, "paths")) < POLICY_PATHS_MAX)
				return p;
		}
		if (!taken)
			break;
	}
	p = cJSON_CreateObject();
	if (!p || !cJSON_AddStringToObject(p, "name", unique) || !cJSON_AddTrueToObject(p, "host") ||
	    !cJSON_AddArrayToObject(p, "paths") || !cJSON_AddNumberToObject(p, "hiveAccess", access)) {
		cJSON_Delete(p);
		return NULL;
	}
	if (access != HIVE_ACCESS_ALL) {
		list = cJSON_AddArrayToObject(p, "access");
		for (size_t i = 0; list && i < ACCESS_N; i++)
			if (access & access_bit(i))
				cJSON_AddItemToArray(list, cJSON_CreateString(access_name(access_bit(i))));
	}
	cJSON_AddItemToArray(c->policies, p);
	return p;
}

static int add_watch(struct converted *c, const struct auditd_watch *w)
{
	char name[64], path[sizeof(w->path) + 4];
	cJSON *p, *paths, *existing;

	auditd_key_to_name(w->key, name);
	snprintf(path, sizeof(path), "%s%s", strcmp(w->path, "/") == 0 && w->tree ? "" : w->path,
		 w->tree ? "/**" : "");
	p = policy_for(c, name, w->access);
	if (!p)
		return -ENOMEM;
	paths = cJSON_GetObjectItem(p, "paths");
	cJSON_ArrayForEach(existing, paths)
	{
		if (strcmp(existing->valuestring, path) == 0)
			return 0;
	}
	return cJSON_AddItemToArray(paths, cJSON_CreateString(path)) ? 0 : -ENOMEM;
}

static int convert_file(struct converted *c, const char *name, FILE *f)
{
	_cleanup_(freep) char *line = NULL;
	size_t size = 0;
	unsigned n = 0;
	int r;

	while (getline(&line, &size, f) >= 0) {
		struct auditd_watch w;
		const char *why;

		n++;
		r = auditd_parse_line(line, &w, &why);
		if (r < 0) {
			fprintf(stderr, "%s:%u: not converted: %s\n", name, n, why);
			c->malformed++;
			continue;
		}
		if (r == 0) {
			c->skipped += why && strcmp(why, "a control line") != 0;
			continue;
		}
		if (w.dropped[0])
			fprintf(stderr, "%s:%u: %s: converted without %s (Hive records every process and call)\n",
				name, n, w.path, w.dropped);
		if (add_watch(c, &w) < 0)
			return -ENOMEM;
		c->watches++;
	}
	return ferror(f) ? -EIO : 0;
}

int from_auditd(char *const *files, size_t n_files)
{
	struct converted c = { .policies = cJSON_CreateArray() };
	cJSON *p;
	char *text;
	int r = 0, n_policies;

	if (!c.policies)
		return -ENOMEM;
	for (size_t i = 0; i < n_files || (i == 0 && n_files == 0); i++) {
		const char *name = n_files ? files[i] : "-";
		FILE *f = n_files ? fopen(name, "re") : stdin;

		if (!f) {
			fprintf(stderr, "hivectl: cannot open %s: %m\n", name);
			r = -errno;
			break;
		}
		r = convert_file(&c, name, f);
		if (f != stdin)
			fclose(f);
		if (r < 0) {
			fprintf(stderr, "hivectl: cannot read %s: %s\n", name, strerror(-r));
			break;
		}
	}
	/* The bits were for grouping; a policy file names its kinds. */
	cJSON_ArrayForEach(p, c.policies)
	{
		cJSON_DeleteItemFromObject(p, "hiveAccess");
	}
	n_policies = cJSON_GetArraySize(c.policies);
	text = r < 0 ? NULL : cJSON_Print(c.policies);
	if (text)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(c.policies);
	if (r < 0)
		return r;
	fprintf(stderr, "hivectl: %u file watches converted into %d policies; %u syscall rules skipped (not file "
			"watches), %u lines malformed.\n",
		c.watches, n_policies, c.skipped, c.malformed);
	return c.malformed ? -EINVAL : 0;
}
