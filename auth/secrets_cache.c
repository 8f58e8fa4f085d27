/*
 * secrets_cache.c — the prefetched secrets of secrets_cache.h, in a hash
 * keyed by "user\0domain".
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "log.h"
#include "secrets_cache.h"

struct entry {
	unsigned holders;
	bool exists, scram;
	struct scram_secrets sha1, sha256;   /* valid where has_* says */
	bool has_sha1, has_sha256;
};

struct secrets_cache {
	struct hash *h;
};

static char *key_of(const char *user, const char *domain, size_t *klen)
{
	size_t ul = strlen(user), dl = strlen(domain);
	char *k = xmalloc(ul + 1 + dl);

	memcpy(k, user, ul);
	k[ul] = '\0';
	memcpy(k + ul + 1, domain, dl);
	*klen = ul + 1 + dl;
	return k;
}

static void wipe_entry(void *p)
{
	explicit_bzero(p, sizeof(struct entry));
	free(p);
}

struct secrets_cache *secrets_cache_new(void)
{
	struct secrets_cache *c = xcalloc(1, sizeof(*c));
	c->h = hash_new(16);
	return c;
}

void secrets_cache_free(struct secrets_cache **c)
{
	if (*c == NULL)
		return;
	hash_free(&(*c)->h, wipe_entry);
	free(*c);
	*c = NULL;
}

void secrets_cache_hold(struct secrets_cache *c, const char *user, const char *domain,
    bool exists, bool scram, const struct scram_secrets *sha1,
    const struct scram_secrets *sha256)
{
	size_t klen;
	char *key = key_of(user, domain, &klen);
	struct entry *e = hash_get(c->h, key, klen);
	unsigned holders = e != NULL ? e->holders : 0;

	if (e == NULL) {
		e = xmalloc(sizeof(*e));
		hash_put(c->h, key, klen, e);
	}
	explicit_bzero(e, sizeof(*e));
	e->holders = holders + 1;
	e->exists = exists;
	e->scram = exists && scram;
	if (e->scram && sha1 != NULL) {
		e->sha1 = *sha1;
		e->has_sha1 = true;
	}
	if (e->scram && sha256 != NULL) {
		e->sha256 = *sha256;
		e->has_sha256 = true;
	}
	free(key);
}

void secrets_cache_release(struct secrets_cache *c, const char *user, const char *domain)
{
	size_t klen;
	char *key = key_of(user, domain, &klen);
	struct entry *e = hash_get(c->h, key, klen);

	if (e != NULL && --e->holders == 0)
		wipe_entry(hash_del(c->h, key, klen));
	free(key);
}

enum authreg_result secrets_cache_get(const struct secrets_cache *c, const char *user,
    const char *domain, enum scram_hash hash, struct scram_secrets *out)
{
	size_t klen;
	char *key = key_of(user, domain, &klen);
	const struct entry *e = hash_get(c->h, key, klen);

	free(key);
	if (e == NULL) {
		/* exchange.c prefetches before every SCRAM step that looks a
		 * user up; a miss is a bug, not a reason to block. */
		log_error("secrets of %s@%s asked for without a prefetch", user, domain);
		return AUTHREG_TEMPFAIL;
	}
	if (!e->exists)
		return AUTHREG_NO;
	if (!e->scram)
		return AUTHREG_UNSUPPORTED;
	if (hash == SCRAM_HASH_SHA1 && e->has_sha1 && e->sha1.hash == hash)
		*out = e->sha1;
	else if (hash == SCRAM_HASH_SHA256 && e->has_sha256 && e->sha256.hash == hash)
		*out = e->sha256;
	else
		return AUTHREG_NO;
	return AUTHREG_OK;
}
