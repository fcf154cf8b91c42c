/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "shared/hashmap.h"

struct node {
	struct node *next;
	uint64_t hash;
	void *value;
	size_t key_len;
	unsigned char key[];
};

struct hashmap {
	struct node **buckets;
	size_t n_buckets; /* power of two */
	size_t size;
	uint64_t seed[2];
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13) ^ v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17) ^ v[2];
	v[2] = ROTL(v[2], 32);
}

/* SipHash-1-3: keyed, so colliding keys cannot be chosen from outside. */
static uint64_t siphash13(const uint64_t k[2], const unsigned char *p, size_t len)
{
	uint64_t v[4] = {
		k[0] ^ 0x736f6d6570736575ULL,
		k[1] ^ 0x646f72616e646f6dULL,
		k[0] ^ 0x6c7967656e657261ULL,
		k[1] ^ 0x7465646279746573ULL,
	};
	uint64_t m, b = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, p + i, 8);
		v[3] ^= m;
		sip_round(v);
		v[0] ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v[3] ^= b;
	sip_round(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	sip_round(v);
	sip_round(v);
	sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

struct hashmap *hashmap_new(void)
{
	struct hashmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->n_buckets = 16;
	m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		return NULL;
	}
	if (getrandom(m->seed, sizeof(m->seed), GRND_NONBLOCK) != sizeof(m->seed)) {
		/* Early boot without entropy: still a working map, just a guessable seed. */
		m->seed[0] = (uint64_t)(uintptr_t)m;
		m->seed[1] = (uint64_t)(uintptr_t)&m;
	}
	return m;
}

void hashmap_free(struct hashmap *m)
{
	hashmap_free_with(m, NULL);
}

void hashmap_free_with(struct hashmap *m, void (*free_value)(void *))
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct node *n = m->buckets[i];

		while (n) {
			struct node *next = n->next;

			if (free_value)
				free_value(n->value);
			free(n);
			n = next;
		}
	}
	free(m->buckets);
	free(m);
}

static struct node **find(const struct hashmap *m, const void *key, size_t key_len, uint64_t hash)
{
	struct node **pn = &m->buckets[hash & (m->n_buckets - 1)];

	for (; *pn; pn = &(*pn)->next)
		if ((*pn)->hash == hash && (*pn)->key_len == key_len && memcmp((*pn)->key, key, key_len) == 0)
			return pn;
	return pn;
}

static void grow(struct hashmap *m)
{
	size_t n = m->n_buckets * 2;
	struct node **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* keep working with longer chains */
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct node *node = m->buckets[i];

		while (node) {
			struct node *next = node->next;
			size_t j = node->hash & (n - 1);

			node->next = b[j];
			b[j] = node;
			node = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

int hashmap_put(struct hashmap *m, const void *key, size_t key_len, void *value, void **old)
{
	uint64_t hash = siphash13(m->seed, key, key_len);
	struct node **pn = find(m, key, key_len, hash), *n;

	if (*pn) {
		if (old)
			*old = (*pn)->value;
		(*pn)->value = value;
		return 1;
	}
	n = malloc(sizeof(*n) + key_len);
	if (!n)
		return -ENOMEM;
	n->next = NULL;
	n->hash = hash;
	n->value = value;
	n->key_len = key_len;
	memcpy(n->key, key, key_len);
	*pn = n;
	if (old)
		*old = NULL;
	if (++m->size > m->n_buckets)
		grow(m);
	return 0;
}

void *hashmap_get(const struct hashmap *m, const void *key, size_t key_len)
{
	struct node **pn = find(m, key, key_len, siphash13(m->seed, key, key_len));

	return *pn ? (*pn)->value : NULL;
}

void *hashmap_remove(struct hashmap *m, const void *key, size_t key_len)
{
	struct node **pn = find(m, key, key_len, siphash13(m->seed, key, key_len)), *n = *pn;
	void *value;

	if (!n)
		return NULL;
	value = n->value;
	*pn = n->next;
	free(n);
	m->size--;
	return value;
}

size_t hashmap_size(const struct hashmap *m)
{
	return m->size;
}

void hashmap_iter_init(struct hashmap_iter *it, const struct hashmap *m)
{
	it->map = m;
	it->bucket = 0;
	it->node = NULL;
	it->next = m->n_buckets ? m->buckets[0] : NULL;
}

bool hashmap_iter_next(struct hashmap_iter *it, const void **key, size_t *key_len, void **value)
{
	struct node *n = it->next;

	while (!n) {
		if (++it->bucket >= it->map->n_buckets)
			return false;
		n = it->map->buckets[it->bucket];
	}
	it->node = n;
	it->next = n->next; /* read before the caller may free n */
	if (key)
		*key = n->key;
	if (key_len)
		*key_len = n->key_len;
	if (value)
		*value = n->value;
	return true;
}
