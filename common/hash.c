/*
 * hash.c — string-keyed hash table with separate chaining (see hash.h).
 *
 * Chaining keeps entries where they were allocated, so a value's key pointer
 * stays valid while the table grows; the table doubles when the load factor
 * passes 1. The hash is SipHash-1-3 under a random key drawn once per
 * process, so keys chosen by a remote peer cannot all land in one bucket.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hash.h"
#include "log.h"
#include "util.h"

struct entry {
	struct entry *next;
	uint64_t hv;
	void *value;
	size_t klen;
	char key[];
};

struct hash {
	struct entry **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
};

static uint64_t sip_key[2];
static int sip_key_ready;

static void sip_key_init(void)
{
	if (sip_key_ready)
		return;
	if (getrandom(sip_key, sizeof(sip_key), 0) != sizeof(sip_key))
		log_fatal("getrandom failed: cannot seed the hash key");
	sip_key_ready = 1;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                        \
	do {                                                            \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                  \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                  \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

/* SipHash-1-3: one compression round, three finalisation rounds. */
uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *in = p;
	uint64_t v0 = 0x736f6d6570736575ULL, v1 = 0x646f72616e646f6dULL;
	uint64_t v2 = 0x6c7967656e657261ULL, v3 = 0x7465646279746573ULL;
	uint64_t b = (uint64_t)len << 56;
	size_t i;

	sip_key_init();
	v3 ^= sip_key[1];
	v2 ^= sip_key[0];
	v1 ^= sip_key[1];
	v0 ^= sip_key[0];
	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t m;
		memcpy(&m, in + i, 8); /* little-endian hosts only: x86_64, aarch64 */
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct hash *hash_new(size_t expected)
{
	struct hash *h = xcalloc(1, sizeof(*h));
	size_t n = 8;
	while (n < expected)
		n *= 2;
	h->buckets = xcalloc(n, sizeof(*h->buckets));
	h->nbuckets = n;
	return h;
}

void hash_free(struct hash **hp, void (*free_value)(void *))
{
	struct hash *h = *hp;
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct entry *e = h->buckets[i];
		while (e != NULL) {
			struct entry *next = e->next;
			if (free_value != NULL)
				free_value(e->value);
			free(e);
			e = next;
		}
	}
	free(h->buckets);
	free(h);
	*hp = NULL;
}

static struct entry **find(const struct hash *h, const char *key, size_t klen, uint64_t hv)
{
	struct entry **pp = &h->buckets[hv & (h->nbuckets - 1)];
	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hv == hv && (*pp)->klen == klen && memcmp((*pp)->key, key, klen) == 0)
			return pp;
	return pp;
}

static void grow(struct hash *h)
{
	size_t n = h->nbuckets * 2;
	struct entry **nb = xcalloc(n, sizeof(*nb));
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct entry *e = h->buckets[i];
		while (e != NULL) {
			struct entry *next = e->next;
			size_t j = e->hv & (n - 1);
			e->next = nb[j];
			nb[j] = e;
			e = next;
		}
	}
	free(h->buckets);
	h->buckets = nb;
	h->nbuckets = n;
}

void *hash_put(struct hash *h, const char *key, size_t klen, void *value)
{
	uint64_t hv = hash_bytes(key, klen);
	struct entry **pp = find(h, key, klen, hv);

	if (*pp != NULL) {
		void *old = (*pp)->value;
		(*pp)->value = value;
		return old;
	}
	struct entry *e = xmalloc(sizeof(*e) + klen + 1);
	e->next = NULL;
	e->hv = hv;
	e->value = value;
	e->klen = klen;
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	*pp = e;
	if (++h->count > h->nbuckets)
		grow(h);
	return NULL;
}

void *hash_get(const struct hash *h, const char *key, size_t klen)
{
	struct entry **pp = find(h, key, klen, hash_bytes(key, klen));
	return *pp != NULL ? (*pp)->value : NULL;
}

void *hash_del(struct hash *h, const char *key, size_t klen)
{
	struct entry **pp = find(h, key, klen, hash_bytes(key, klen));
	struct entry *e = *pp;
	if (e == NULL)
		return NULL;
	void *value = e->value;
	*pp = e->next;
	free(e);
	h->count--;
	return value;
}

size_t hash_count(const struct hash *h)
{
	return h->count;
}

void hash_iter_init(const struct hash *h, struct hash_iter *it)
{
	it->hash = h;
	it->bucket = 0;
	it->entry = NULL;
}

bool hash_iter_next(struct hash_iter *it, const char **key, size_t *klen, void **value)
{
	struct entry *e = it->entry;

	if (e != NULL)
		e = e->next;
	while (e == NULL && it->bucket < it->hash->nbuckets)
		e = it->hash->buckets[it->bucket++];
	it->entry = e;
	if (e == NULL)
		return false;
	if (key)
		*key = e->key;
	if (klen)
		*klen = e->klen;
	if (value)
		*value = e->value;
	return true;
}
