/* SPDX-License-Identifier: MIT */
#include <stdint.h>

#include "shared/hashmap.h"
#include "tap.h"

static void test_put_get_remove_grow(void)
{
	struct hashmap *m = hashmap_new();
	static int values[5000];
	void *old;

	for (int i = 0; i < 5000; i++)
		CHECK(hashmap_put(m, &i, sizeof(i), &values[i], NULL) == 0);
	CHECK(hashmap_size(m) == 5000);
	for (int i = 0; i < 5000; i++)
		CHECK(hashmap_get(m, &i, sizeof(i)) == &values[i]);
	int k = 7;
	CHECK(hashmap_put(m, &k, sizeof(k), &values[0], &old) == 1);
	CHECK(old == &values[7]);
	CHECK(hashmap_remove(m, &k, sizeof(k)) == &values[0]);
	CHECK(hashmap_get(m, &k, sizeof(k)) == NULL);
	CHECK(hashmap_remove(m, &k, sizeof(k)) == NULL);
	CHECK(hashmap_size(m) == 4999);
	hashmap_free(m);
}

static void test_iteration_with_removal(void)
{
	struct hashmap *m = hashmap_new();
	struct hashmap_iter it;
	const void *key;
	size_t n = 0;

	hashmap_put_str(m, "a", (void *)1, NULL);
	hashmap_put_str(m, "b", (void *)2, NULL);
	hashmap_put_str(m, "c", (void *)3, NULL);
	hashmap_iter_init(&it, m);
	while (hashmap_iter_next(&it, &key, NULL, NULL)) {
		hashmap_remove_str(m, key);
		n++;
	}
	CHECK(n == 3);
	CHECK(hashmap_size(m) == 0);
	hashmap_free(m);
}

static void test_string_keys_distinguish_prefixes(void)
{
	struct hashmap *m = hashmap_new();

	hashmap_put_str(m, "host/a", (void *)1, NULL);
	hashmap_put_str(m, "host/ab", (void *)2, NULL);
	CHECK(hashmap_get_str(m, "host/a") == (void *)1);
	CHECK(hashmap_get_str(m, "host/ab") == (void *)2);
	CHECK(hashmap_get_str(m, "host/") == NULL);
	hashmap_free(m);
}

int main(void)
{
	RUN(test_put_get_remove_grow);
	RUN(test_iteration_with_removal);
	RUN(test_string_keys_distinguish_prefixes);
	return TAP_END();
}
