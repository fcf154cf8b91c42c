/* SPDX-License-Identifier: MIT */
/* Bytes from the API server: watch stream framing and NodeWatch entries. */
#include <stdlib.h>

#include "cluster/colocation.h"
#include "kube/client.h"
#include "cluster/nodewatch.h"
#include "shared/macro.h"
#include "tap.h"
#include "watch/watch.h"

struct seen {
	int n;
	char types[16][16];
};

static int collect(const cJSON *o, void *userdata)
{
	struct seen *s = userdata;
	const cJSON *t = cJSON_GetObjectItem(o, "type");

	if (s->n < 16)
		snprintf(s->types[s->n], sizeof(s->types[0]), "%s", cJSON_IsString(t) ? t->valuestring : "?");
	s->n++;
	return 0;
}

static void test_objects_split_at_newlines_whatever_the_chunks(void)
{
	const char *stream = "{\"type\":\"ADDED\",\"object\":{}}\n{\"type\":\"MODIFIED\",\"object\":{\"a\":\"x\\ny\"}}\n"
			     "\n{\"type\":\"BOOKMARK\",\"object\":{}}\n";
	size_t len = strlen(stream);

	for (size_t chunk = 1; chunk <= len; chunk++) {
		struct json_lines jl = { .max = 1 << 20 };
		struct seen s = {};

		for (size_t o = 0; o < len; o += chunk)
			CHECK(json_lines_feed(&jl, stream + o, MIN(chunk, len - o), collect, &s) == 0);
		CHECK(s.n == 3);
		CHECK_STREQ(s.types[1], "MODIFIED");
		CHECK_STREQ(s.types[2], "BOOKMARK");
		CHECK(jl.len == 0);
		json_lines_done(&jl);
	}
}

static void test_malformed_and_oversized_streams_stop(void)
{
	struct json_lines jl = { .max = 64 };
	struct seen s = {};
	char big[100];

	CHECK(json_lines_feed(&jl, "{\"type\": \n", 10, collect, &s) == -EBADMSG);
	json_lines_done(&jl);
	jl = (struct json_lines){ .max = 64 };
	CHECK(json_lines_feed(&jl, "[1,2]\n", 6, collect, &s) == -EBADMSG); /* not an object */
	json_lines_done(&jl);
	jl = (struct json_lines){ .max = 64 };
	memset(big, 'x', sizeof(big));
	CHECK(json_lines_feed(&jl, big, sizeof(big), collect, &s) == -E2BIG);
	json_lines_done(&jl);
	CHECK(s.n == 0);
}

static void test_query_strings_are_encoded(void)
{
	const char *q[] = { "labelSelector", "hive.io/kernel-id=a b&c", "watch", "1", NULL };
	char *p = kube_path("/apis/x", q);

	CHECK_STREQ(p, "/apis/x?labelSelector=hive.io%2Fkernel-id%3Da%20b%26c&watch=1");
	free(p);
}

/* A NodeWatch entry parsed for node-b, or NULL. */
static struct watch_entry *entry_of(const char *json)
{
	cJSON *j = cJSON_Parse(json);
	struct watch_entry *e = NULL;
	const char *why = NULL;

	CHECK(nodewatch_entry_parse(j, "node-b", &e, &why) == 0);
	cJSON_Delete(j);
	return e;
}

static void test_node_watch_entries(void)
{
	const char *good = "{\"key\": \"host/p//etc/shadow\", \"path\": \"/etc/shadow\", \"policy\": \"p\","
			   " \"inode\": \"18446744073709551615\", \"dev\": \"259:3\", \"generation\": \"4294967295\","
			   " \"access\": [\"read\", \"exec\"],"
			   " \"namespace\": \"security\", \"pod\": \"web-0\", \"container\": \"app\"}";
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "[]", "entry is not an object" },
		{ "{\"key\": \"k\", \"path\": \"/p\", \"policy\": \"p\", \"inode\": \"1\"}", "missing or malformed" },
		{ "{\"key\": \"k\", \"path\": \"p\", \"policy\": \"p\", \"inode\": \"1\", \"dev\": \"1:2\"}", "not an absolute path" },
		{ "{\"key\": \"k\", \"path\": \"/a/../etc/shadow\", \"policy\": \"p\", \"inode\": \"1\", \"dev\": \"1:2\"}",
		  "not an absolute path" },
		{ "{\"key\": \"k\", \"path\": \"/p\", \"policy\": \"Planted Policy\", \"inode\": \"1\", \"dev\": \"1:2\"}",
		  "not a valid policy name" },
		{ "{\"key\": \"k\", \"path\": \"/p\", \"policy\": \"p\", \"inode\": \"-1\", \"dev\": \"1:2\"}", "inode" },
		{ "{\"key\": \"k\", \"path\": \"/p\", \"policy\": \"p\", \"inode\": \"99999999999999999999\", \"dev\": \"1:2\"}",
		  "inode" },
		{ "{\"key\": \"k\", \"path\": \"/p\", \"policy\": \"p\", \"inode\": \"1\", \"dev\": \"4096:0\"}", "dev" },
		{ "{\"key\": \"k\", \"path\": \"/p\", \"policy\": \"p\", \"inode\": \"1\", \"dev\": \"1:2x\"}", "dev" },
		{ "{\"key\": \"k\", \"path\": \"/p\", \"policy\": \"p\", \"inode\": \"1\", \"dev\": \"1:2\", \"access\": [\"fly\"]}",
		  "unknown access" },
		{ "{\"key\": 5, \"path\": \"/p\", \"policy\": \"p\", \"inode\": \"1\", \"dev\": \"1:2\"}", "malformed" },
		{ "{\"key\": \"k\", \"path\": \"/p\", \"policy\": \"p\", \"inode\": \"1\", \"dev\": \"1:2\", \"generation\": \"4294967296\"}",
		  "generation" },
		{ "{\"key\": \"k\", \"path\": \"/p\", \"policy\": \"p\", \"inode\": \"1\", \"dev\": \"1:2\", \"generation\": \"-1\"}",
		  "generation" },
		{ "{\"key\": \"k\", \"path\": \"/p\", \"policy\": \"p\", \"inode\": \"1\", \"dev\": \"1:2\", \"presenceFor\": \"Node B\"}",
		  "presenceFor" },
		{ "{\"key\": \"k\", \"path\": \"/p\", \"policy\": \"p\", \"inode\": \"1\", \"dev\": \"1:2\", \"layers\": {}}",
		  "layers is not an array" },
		{ "{\"key\": \"k\", \"path\": \"/p\", \"policy\": \"p\", \"inode\": \"1\", \"dev\": \"1:2\", \"layers\": [{\"inode\": \"1\"}]}",
		  "layers: an item" },
	};
	struct watch_entry *e = NULL;
	const char *why = NULL;
	cJSON *j = cJSON_Parse(good);

	CHECK(nodewatch_entry_parse(j, "node-b", &e, &why) == 0);
	cJSON_Delete(j);
	if (e) {
		CHECK_STREQ(e->key, "node/node-b/host/p//etc/shadow");
		CHECK(e->file.ino == 18446744073709551615ULL);
		CHECK(e->file.dev == ((259u << 20) | 3));
		CHECK(e->file.gen == 4294967295u);
		CHECK(e->access == (HIVE_MAY_READ | HIVE_MAY_EXEC));
		CHECK_STREQ(e->node, "node-b");
		CHECK_STREQ(e->pod, "web-0");
		CHECK(e->shared);
		CHECK(e->presence_for == NULL);
	}
	watch_entry_free(e);
	/* A presence probe names the one agent that is to answer it. */
	e = entry_of("{\"key\": \"presence/node-a\", \"path\": \"/run/hive/presence-node-b\", \"policy\": "
		     "\"hive-presence\", \"inode\": \"7\", \"dev\": \"0:25\", \"presenceFor\": \"node-a\"}");
	CHECK(e && e->presence_for && strcmp(e->presence_for, "node-a") == 0);
	watch_entry_free(e);
	/* A tree of a directory's own entries; "shallow" alone is no tree. */
	e = entry_of("{\"key\": \"host/p//etc/cron.d/*\", \"path\": \"/etc/cron.d\", \"policy\": \"p\", "
		     "\"inode\": \"7\", \"dev\": \"0:25\", \"tree\": true, \"shallow\": true}");
	CHECK(e && e->tree && e->shallow);
	watch_entry_free(e);
	e = entry_of("{\"key\": \"host/p//etc/x\", \"path\": \"/etc/x\", \"policy\": \"p\", \"inode\": \"7\", "
		     "\"dev\": \"0:25\", \"shallow\": true}");
	CHECK(e && !e->tree && !e->shallow && !e->layers);
	watch_entry_free(e);
	/* A container's file, and the file below it in its overlay's layers. */
	e = entry_of("{\"key\": \"pod/u/app/p//etc/x\", \"path\": \"/etc/x\", \"policy\": \"p\", \"inode\": \"7\", "
		     "\"dev\": \"0:25\", \"layers\": [{\"inode\": \"9\", \"dev\": \"8:1\", \"generation\": \"3\"}]}");
	CHECK(e && e->layers && e->layers->n == 1 && e->layers->at[0].key.ino == 9 &&
	      e->layers->at[0].key.dev == ((8u << 20) | 1) && e->layers->at[0].key.gen == 3);
	watch_entry_free(e);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		e = NULL;
		why = NULL;
		j = cJSON_Parse(bad[i].json);
		CHECK(nodewatch_entry_parse(j, "n", &e, &why) == -EBADMSG);
		CHECK(e == NULL);
		if (!why || !strstr(why, bad[i].why)) {
			printf("# case %zu: \"%s\"\n", i, why ? why : "(none)");
			tap_failed = true;
		}
		cJSON_Delete(j);
	}
}

/* A Node from the API server: only a short string counts as a boot id. */
static void test_node_boot_id(void)
{
	static const char *const bad[] = {
		"{}",
		"{\"status\": []}",
		"{\"status\": {\"nodeInfo\": {\"bootID\": 5}}}",
		/* 70 characters: longer than any boot id. */
		"{\"status\": {\"nodeInfo\": {\"bootID\": \"0123456789012345678901234567890123456789012345678901234567890123456789\"}}}",
	};
	cJSON *node = cJSON_Parse("{\"status\": {\"nodeInfo\": {\"bootID\": \"5fbf2cc9-a67c-4aaf-a7c8-6c827d36bacd\"}}}");

	CHECK(colocation_node_boot_id(node) && strcmp(colocation_node_boot_id(node), "5fbf2cc9-a67c-4aaf-a7c8-6c827d36bacd") == 0);
	cJSON_Delete(node);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		node = cJSON_Parse(bad[i]);
		CHECK(colocation_node_boot_id(node) == NULL);
		cJSON_Delete(node);
	}
	CHECK(colocation_node_boot_id(NULL) == NULL);
}

int main(void)
{
	RUN(test_objects_split_at_newlines_whatever_the_chunks);
	RUN(test_malformed_and_oversized_streams_stop);
	RUN(test_query_strings_are_encoded);
	RUN(test_node_watch_entries);
	RUN(test_node_boot_id);
	return TAP_END();
}
