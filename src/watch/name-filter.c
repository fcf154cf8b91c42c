/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "watch/name-filter.h"

#define WORDS (HIVE_NAME_FILTER_BITS / 64)

struct name_filter {
	uint64_t words[WORDS];
	bool dirty[WORDS];       /* the map does not have it */
	uint32_t to_write[WORDS]; /* the dirty ones, each once */
	size_t n_to_write;
	/* Names per bit; one that reaches the maximum stays set for good (a
	 * bit set wrongly only costs a lookup). */
	uint16_t counts[HIVE_NAME_FILTER_BITS];
};

int name_filter_new(struct name_filter **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

struct name_filter *name_filter_free(struct name_filter *f)
{
	free(f);
	return NULL;
}

static void count_bit(struct name_filter *f, uint32_t pos, int delta)
{
	uint16_t *count = &f->counts[pos];
	uint64_t bit = 1ULL << (pos % 64), before = f->words[pos / 64];

	if (*count == UINT16_MAX)
		return;
	*count += delta;
	if (*count)
		f->words[pos / 64] |= bit;
	else
		f->words[pos / 64] &= ~bit;
	if (f->words[pos / 64] != before && !f->dirty[pos / 64]) {
		f->dirty[pos / 64] = true;
		f->to_write[f->n_to_write++] = pos / 64;
	}
}

void name_filter_count(struct name_filter *f, const struct hive_name_key *key, int delta)
{
	const char *name = key->name;
	size_t len;

	/* A volume's name is checked as the dentry has it: after the prefix. */
	if (strncmp(name, HIVE_NAME_ANY_DATA_DIR, strlen(HIVE_NAME_ANY_DATA_DIR)) == 0)
		name += strlen(HIVE_NAME_ANY_DATA_DIR);
	len = strlen(name);
	count_bit(f, HIVE_NAME_FILTER_DIR(key->dir.ino), delta);
	count_bit(f, HIVE_NAME_FILTER_NAME(key->dir.ino, len, (unsigned char)name[0],
					   len ? (unsigned char)name[len - 1] : 0),
		  delta);
}

void name_filter_count_tree(struct name_filter *f, const struct hive_watch_key *root, int delta)
{
	count_bit(f, HIVE_NAME_FILTER_TREE(root->ino), delta);
}

int name_filter_sync(struct name_filter *f, int (*put)(void *map, uint32_t word, uint64_t bits), void *map)
{
	size_t kept = 0;
	int r = 0, k;

	for (size_t i = 0; i < f->n_to_write; i++) {
		uint32_t w = f->to_write[i];

		k = put(map, w, f->words[w]);
		if (k >= 0)
			f->dirty[w] = false;
		else {
			f->to_write[kept++] = w;
			if (r >= 0)
				r = k;
		}
	}
	f->n_to_write = kept;
	return r;
}

void name_filter_unsynced(struct name_filter *f)
{
	for (uint32_t w = 0; w < WORDS; w++)
		if (!f->dirty[w]) {
			f->dirty[w] = true;
			f->to_write[f->n_to_write++] = w;
		}
}
