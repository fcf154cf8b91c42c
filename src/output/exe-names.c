/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/exe-names.h"
#include "shared/hashmap.h"
#include "shared/macro.h"

struct exe_names {
	struct hashmap *map; /* struct hive_watch_key -> struct exe_name */
};

struct exe_name {
	bool truncated;
	char path[HIVE_EXE_LEN];
};

static void clear(struct hashmap *m)
{
	struct hashmap_iter it;
	const void *k;
	size_t len;
	void *v;

	hashmap_iter_init(&it, m);
	while (hashmap_iter_next(&it, &k, &len, &v)) {
		hashmap_remove(m, k, len);
		free(v);
	}
}

struct exe_names *exe_names_new(void)
{
	struct exe_names *n = calloc(1, sizeof(*n));

	if (n && !(n->map = hashmap_new()))
		n = mfree(n);
	return n;
}

struct exe_names *exe_names_free(struct exe_names *n)
{
	if (!n)
		return NULL;
	clear(n->map);
	hashmap_free(n->map);
	free(n);
	return NULL;
}

void exe_names_put(struct exe_names *n, const struct hive_watch_key *key, const char *path, bool truncated)
{
	struct hive_watch_key k = *key;
	struct exe_name *name = hashmap_get(n->map, &k, sizeof(k));

	if (!name) {
		if (hashmap_size(n->map) >= EXE_NAMES_MAX)
			clear(n->map);
		name = malloc(sizeof(*name));
		if (!name)
			return;
		if (hashmap_put(n->map, &k, sizeof(k), name, NULL) < 0) {
			free(name);
			return;
		}
	}
	name->truncated = truncated;
	snprintf(name->path, sizeof(name->path), "%s", path);
}

void exe_names_remember(struct exe_names *n, const struct hive_event *ev)
{
	char path[sizeof(ev->exe) + 1];

	if (!ev->exe_file.ino || !ev->exe[0])
		return; /* a kernel thread */
	memcpy(path, ev->exe, sizeof(ev->exe));
	path[sizeof(ev->exe)] = '\0';
	exe_names_put(n, &ev->exe_file, path, ev->flags & HIVE_EVENT_EXE_TRUNCATED);
}

const char *exe_names_find(const struct exe_names *n, const struct hive_watch_key *k)
{
	const struct exe_name *name = hashmap_get(n->map, k, sizeof(*k));

	return name && !name->truncated ? name->path : NULL;
}

bool exe_names_complete(const struct exe_names *n, struct hive_event *ev)
{
	const struct exe_name *name = hashmap_get(n->map, &ev->exe_file, sizeof(ev->exe_file));

	if (!name)
		return false;
	memcpy(ev->exe, name->path, sizeof(ev->exe));
	if (name->truncated)
		ev->flags |= HIVE_EVENT_EXE_TRUNCATED;
	return true;
}
