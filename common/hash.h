/*
 * hash.h — a string-keyed hash table (keys are byte strings, copied in).
 * Keys often come from the network (JIDs, stream ids), so the hash is keyed
 * SipHash with a per-process random key: nobody can choose keys that collide.
 */
#ifndef PARLEY_HASH_H
#define PARLEY_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hash;

struct hash_iter {
	const struct hash *hash;
	size_t bucket;
	void *entry;
};

struct hash *hash_new(size_t expected);
/* Free the table; `free_value` (may be NULL) is called on every value. */
void hash_free(struct hash **hash, void (*free_value)(void *));

/* Insert or replace; returns the previous value or NULL. */
void *hash_put(struct hash *hash, const char *key, size_t klen, void *value);
void *hash_get(const struct hash *hash, const char *key, size_t klen);
/* Remove; returns the removed value or NULL. */
void *hash_del(struct hash *hash, const char *key, size_t klen);
size_t hash_count(const struct hash *hash);

/* Iterate in no particular order; the table must not change meanwhile. */
void hash_iter_init(const struct hash *hash, struct hash_iter *it);
bool hash_iter_next(struct hash_iter *it, const char **key, size_t *klen, void **value);

/* The keyed hash itself, for other tables that need one. */
uint64_t hash_bytes(const void *p, size_t len);

#endif
