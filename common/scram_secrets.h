/*
 * scram_secrets.h — the stored form of a password (RFC 5802 §3): per hash,
 * a salt, an iteration count, StoredKey and ServerKey. Parley never stores a
 * password in plain text; it keeps these, which let the server check SCRAM
 * proofs and PLAIN passwords but cannot be replayed as a password.
 *
 * This file derives the secrets from a password (account creation, password
 * change), checks a password against them (PLAIN) and converts them to and
 * from one line of text so every storage backend can keep them in a string
 * column. It knows nothing of SASL exchanges (common/sasl.c does those) and
 * never logs.
 *
 * Text form (the layout PostgreSQL uses for its SCRAM verifiers, so operators
 * recognise it and can import from it):
 *
 *     SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
 *
 * Passwords are prepared with SASLprep (RFC 4013) through libgsasl, the same
 * code libgsasl's SCRAM client uses, so a password typed in any Unicode
 * normalisation form derives the same secrets here as over the wire.
 */
#ifndef PARLEY_SCRAM_SECRETS_H
#define PARLEY_SCRAM_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum scram_hash {
	SCRAM_HASH_SHA1,
	SCRAM_HASH_SHA256,
};

#define SCRAM_HASH_COUNT 2
#define SCRAM_HASH_MAX_LEN 32          /* SHA-256 output */
#define SCRAM_SALT_LEN 16              /* what we generate */
#define SCRAM_SALT_MAX_LEN 64          /* what we accept from storage */
#define SCRAM_DEFAULT_ITERATIONS 4096  /* RFC 7677 §4 minimum */
/* New secrets are never derived with fewer rounds than this; parsed ones
 * may have fewer (imported from older systems). */
#define SCRAM_MIN_ITERATIONS 4096
/* Caps the CPU one PLAIN attempt can cost, whatever the store holds. */
#define SCRAM_MAX_ITERATIONS 10000000u
/* Longest text form: name, 8 digits, base64 of the largest fields, separators. */
#define SCRAM_SECRETS_TEXT_MAX 256

struct scram_secrets {
	enum scram_hash hash;
	uint32_t iterations;
	size_t salt_len;
	uint8_t salt[SCRAM_SALT_MAX_LEN];
	uint8_t stored_key[SCRAM_HASH_MAX_LEN];  /* scram_hash_len(hash) bytes used */
	uint8_t server_key[SCRAM_HASH_MAX_LEN];
};

/* Output size of the hash: 20 or 32. */
size_t scram_hash_len(enum scram_hash hash);
/* "SCRAM-SHA-1" / "SCRAM-SHA-256": the (non-PLUS) mechanism name, also the
 * prefix of the text form. */
const char *scram_hash_mechanism(enum scram_hash hash);
/* Inverse of scram_hash_mechanism (exact, case-sensitive); -1 if unknown. */
int scram_hash_from_mechanism(const char *name);

/* Derive the secrets for `password` (UTF-8, SASLprepped here with the
 * stored-string rules, so unassigned code points are refused). `iterations`
 * 0 means SCRAM_DEFAULT_ITERATIONS; fewer than SCRAM_MIN_ITERATIONS is
 * refused. `salt` NULL means SCRAM_SALT_LEN fresh random bytes. */
int scram_secrets_from_password(enum scram_hash hash, const char *password,
    uint32_t iterations, const uint8_t *salt, size_t salt_len,
    struct scram_secrets *out, char *err, size_t errlen);

/* Does `password` (UTF-8, SASLprepped here with the query rules) derive the
 * same StoredKey? Compared in constant time. False also when the password
 * cannot be prepared or the secrets are unusable. */
bool scram_secrets_check_password(const struct scram_secrets *secrets, const char *password);

/* The text form, NUL-terminated, in `out` (SCRAM_SECRETS_TEXT_MAX bytes is
 * always enough); -1 if `outlen` is too small or the secrets are invalid. */
int scram_secrets_format(const struct scram_secrets *secrets, char *out, size_t outlen,
    char *err, size_t errlen);
/* Parse the text form strictly (canonical base64, keys of the hash's
 * length, 1..SCRAM_MAX_ITERATIONS rounds, nothing trailing). */
int scram_secrets_parse(const char *text, struct scram_secrets *out, char *err, size_t errlen);

/* Known hash, 1..SCRAM_MAX_ITERATIONS rounds, a salt of 1..SCRAM_SALT_MAX_LEN
 * bytes: what a backend hands back must pass this to be used. */
bool scram_secrets_valid(const struct scram_secrets *secrets);

/* Overwrite the secrets so they do not linger in freed memory. */
void scram_secrets_wipe(struct scram_secrets *secrets);

#endif
