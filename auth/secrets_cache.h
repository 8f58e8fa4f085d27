/*
 * secrets_cache.h — the SCRAM secrets a prefetching backend loaded for the
 * exchanges under way (authreg.h, prefetch): libgsasl asks for secrets
 * synchronously from inside a step, so a backend whose store is slow (sql,
 * internal on a database server) loads them first, off the loop, and
 * get_secrets answers from here. An entry is counted per exchange that
 * holds it and goes (wiped) with the last release.
 */
#ifndef PARLEY_SECRETS_CACHE_H
#define PARLEY_SECRETS_CACHE_H

#include <stdbool.h>

#include "authreg.h"
#include "scram_secrets.h"

struct secrets_cache;

struct secrets_cache *secrets_cache_new(void);
void secrets_cache_free(struct secrets_cache **c);

/* One more hold on user@domain's entry, which now says: no such user
 * (exists false), a user whose stored form is not SCRAM (scram false), or
 * these secrets (either may be NULL: that hash then answers "no"). The
 * newest answer wins for every holder. */
void secrets_cache_hold(struct secrets_cache *c, const char *user, const char *domain,
    bool exists, bool scram, const struct scram_secrets *sha1,
    const struct scram_secrets *sha256);
/* Drop one hold. */
void secrets_cache_release(struct secrets_cache *c, const char *user, const char *domain);
/* get_secrets from the entry: AUTHREG_OK with *out, AUTHREG_NO (no such
 * user, or no secret of that hash), AUTHREG_UNSUPPORTED (not SCRAM), or
 * AUTHREG_TEMPFAIL when nothing was prefetched (a bug: logged here). */
enum authreg_result secrets_cache_get(const struct secrets_cache *c, const char *user,
    const char *domain, enum scram_hash hash, struct scram_secrets *out);

#endif
