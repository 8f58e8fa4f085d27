/*
 * scram_secrets.c — derive, check, format and parse stored SCRAM secrets
 * (see scram_secrets.h). The arithmetic is RFC 5802 §3:
 *
 *     SaltedPassword := Hi(SASLprep(password), salt, i)   (PBKDF2-HMAC-H)
 *     ClientKey      := HMAC(SaltedPassword, "Client Key")
 *     StoredKey      := H(ClientKey)
 *     ServerKey      := HMAC(SaltedPassword, "Server Key")
 *
 * done with OpenSSL rather than libgsasl's helpers because OpenSSL hands
 * back raw bytes where gsasl hands back hex strings, and because the test
 * for "is this PLAIN password right" must compare in constant time
 * (CRYPTO_memcmp). SASLprep and base64 come from libgsasl so that this file
 * and the SCRAM exchange agree byte for byte on both.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <gsasl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "scram_secrets.h"

size_t scram_hash_len(enum scram_hash hash)
{
	return hash == SCRAM_HASH_SHA1 ? 20 : 32;
}

const char *scram_hash_mechanism(enum scram_hash hash)
{
	return hash == SCRAM_HASH_SHA1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
}

int scram_hash_from_mechanism(const char *name)
{
	if (strcmp(name, "SCRAM-SHA-1") == 0)
		return SCRAM_HASH_SHA1;
	if (strcmp(name, "SCRAM-SHA-256") == 0)
		return SCRAM_HASH_SHA256;
	return -1;
}

static const EVP_MD *hash_md(enum scram_hash hash)
{
	return hash == SCRAM_HASH_SHA1 ? EVP_sha1() : EVP_sha256();
}

static bool hash_valid(enum scram_hash hash)
{
	return hash == SCRAM_HASH_SHA1 || hash == SCRAM_HASH_SHA256;
}

/* The RFC 5802 derivation on an already prepared password. */
static int derive_keys(enum scram_hash hash, const char *prepared, const uint8_t *salt,
    size_t salt_len, uint32_t iterations, uint8_t *stored_key, uint8_t *server_key)
{
	const EVP_MD *md = hash_md(hash);
	size_t hlen = scram_hash_len(hash);
	uint8_t salted[SCRAM_HASH_MAX_LEN], client_key[SCRAM_HASH_MAX_LEN];
	unsigned int outlen;
	int rc = -1;

	if (PKCS5_PBKDF2_HMAC(prepared, (int)strlen(prepared), salt, (int)salt_len,
	    (int)iterations, md, (int)hlen, salted) != 1)
		goto out;
	if (HMAC(md, salted, (int)hlen, (const unsigned char *)"Client Key", 10,
	    client_key, &outlen) == NULL)
		goto out;
	if (EVP_Digest(client_key, hlen, stored_key, &outlen, md, NULL) != 1)
		goto out;
	if (HMAC(md, salted, (int)hlen, (const unsigned char *)"Server Key", 10,
	    server_key, &outlen) == NULL)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return rc;
}

int scram_secrets_from_password(enum scram_hash hash, const char *password,
    uint32_t iterations, const uint8_t *salt, size_t salt_len,
    struct scram_secrets *out, char *err, size_t errlen)
{
	char *prepared = NULL;
	int rc;

	if (!hash_valid(hash))
		return errf(err, errlen, "unknown SCRAM hash %d", (int)hash);
	if (iterations == 0)
		iterations = SCRAM_DEFAULT_ITERATIONS;
	if (iterations < SCRAM_MIN_ITERATIONS || iterations > SCRAM_MAX_ITERATIONS)
		return errf(err, errlen, "iteration count %u is outside %u..%u", iterations,
		    SCRAM_MIN_ITERATIONS, SCRAM_MAX_ITERATIONS);
	if (salt != NULL && (salt_len == 0 || salt_len > SCRAM_SALT_MAX_LEN))
		return errf(err, errlen, "salt of %zu bytes (want 1..%d)", salt_len,
		    SCRAM_SALT_MAX_LEN);

	/* Stored strings may not contain unassigned code points (RFC 4013 §2.5
	 * via RFC 3454 §7): a later Unicode version could map them differently
	 * and lock the user out. */
	rc = gsasl_saslprep(password, 0, &prepared, NULL);
	if (rc != GSASL_OK)
		return errf(err, errlen, "password is not valid SASLprep input: %s",
		    gsasl_strerror(rc));
	if (prepared[0] == '\0') {
		gsasl_free(prepared);
		return errf(err, errlen, "password is empty");
	}

	memset(out, 0, sizeof(*out));
	out->hash = hash;
	out->iterations = iterations;
	if (salt != NULL) {
		memcpy(out->salt, salt, salt_len);
		out->salt_len = salt_len;
	} else {
		if (RAND_bytes(out->salt, SCRAM_SALT_LEN) != 1) {
			gsasl_free(prepared);
			return errf(err, errlen, "no random bytes for a salt");
		}
		out->salt_len = SCRAM_SALT_LEN;
	}

	rc = derive_keys(hash, prepared, out->salt, out->salt_len, iterations,
	    out->stored_key, out->server_key);
	OPENSSL_cleanse(prepared, strlen(prepared));
	gsasl_free(prepared);
	if (rc < 0) {
		scram_secrets_wipe(out);
		return errf(err, errlen, "key derivation failed");
	}
	return 0;
}

bool scram_secrets_valid(const struct scram_secrets *s)
{
	return hash_valid(s->hash) && s->iterations >= 1 &&
	    s->iterations <= SCRAM_MAX_ITERATIONS && s->salt_len >= 1 &&
	    s->salt_len <= SCRAM_SALT_MAX_LEN;
}

bool scram_secrets_check_password(const struct scram_secrets *secrets, const char *password)
{
	uint8_t stored_key[SCRAM_HASH_MAX_LEN], server_key[SCRAM_HASH_MAX_LEN];
	char *prepared = NULL;
	bool match = false;

	if (!scram_secrets_valid(secrets))
		return false;
	/* A login attempt is a "query" (RFC 3454 §7): unassigned code points
	 * pass SASLprep but cannot match anything stored with the stricter
	 * rules above. */
	if (gsasl_saslprep(password, GSASL_ALLOW_UNASSIGNED, &prepared, NULL) != GSASL_OK)
		return false;
	if (prepared[0] != '\0' && derive_keys(secrets->hash, prepared, secrets->salt,
	    secrets->salt_len, secrets->iterations, stored_key, server_key) == 0)
		match = CRYPTO_memcmp(stored_key, secrets->stored_key,
		    scram_hash_len(secrets->hash)) == 0;
	OPENSSL_cleanse(prepared, strlen(prepared));
	gsasl_free(prepared);
	OPENSSL_cleanse(stored_key, sizeof(stored_key));
	OPENSSL_cleanse(server_key, sizeof(server_key));
	return match;
}

/* --- text form ---------------------------------------------------------- */

/* Append base64 of in[0..len) at out[*pos], keeping room for the NUL. */
static int append_base64(char *out, size_t outlen, size_t *pos, const uint8_t *in, size_t len)
{
	char *b64 = NULL;
	size_t b64len = 0;

	if (gsasl_base64_to((const char *)in, len, &b64, &b64len) != GSASL_OK)
		return -1;
	if (b64len >= outlen - *pos) {
		gsasl_free(b64);
		return -1;
	}
	memcpy(out + *pos, b64, b64len);
	*pos += b64len;
	out[*pos] = '\0';
	gsasl_free(b64);
	return 0;
}

int scram_secrets_format(const struct scram_secrets *secrets, char *out, size_t outlen,
    char *err, size_t errlen)
{
	size_t hlen, pos;
	int n;

	if (!scram_secrets_valid(secrets))
		return errf(err, errlen, "SCRAM secrets are incomplete");
	hlen = scram_hash_len(secrets->hash);
	n = snprintf(out, outlen, "%s$%u:", scram_hash_mechanism(secrets->hash),
	    secrets->iterations);
	if (n < 0 || (size_t)n >= outlen)
		return errf(err, errlen, "buffer too small for SCRAM secrets");
	pos = (size_t)n;
	if (append_base64(out, outlen, &pos, secrets->salt, secrets->salt_len) < 0 ||
	    pos + 1 >= outlen)
		return errf(err, errlen, "buffer too small for SCRAM secrets");
	out[pos++] = '$';
	if (append_base64(out, outlen, &pos, secrets->stored_key, hlen) < 0 ||
	    pos + 1 >= outlen)
		return errf(err, errlen, "buffer too small for SCRAM secrets");
	out[pos++] = ':';
	if (append_base64(out, outlen, &pos, secrets->server_key, hlen) < 0)
		return errf(err, errlen, "buffer too small for SCRAM secrets");
	return 0;
}

/* Decode the base64 in in[0..inlen) into out (at most `max` bytes),
 * insisting on the canonical encoding so that one set of secrets has
 * exactly one text form. Returns the decoded length or -1. */
static ssize_t decode_base64(const char *in, size_t inlen, uint8_t *out, size_t max)
{
	char *bin = NULL, *again = NULL;
	size_t binlen = 0, againlen = 0;
	ssize_t rc = -1;

	if (inlen == 0 || gsasl_base64_from(in, inlen, &bin, &binlen) != GSASL_OK)
		return -1;
	if (binlen == 0 || binlen > max)
		goto out;
	if (gsasl_base64_to(bin, binlen, &again, &againlen) != GSASL_OK)
		goto out;
	if (againlen == inlen && memcmp(again, in, inlen) == 0) {
		memcpy(out, bin, binlen);
		rc = (ssize_t)binlen;
	}
out:
	if (bin != NULL)
		OPENSSL_cleanse(bin, binlen);
	gsasl_free(bin);
	gsasl_free(again);
	return rc;
}

int scram_secrets_parse(const char *text, struct scram_secrets *out, char *err, size_t errlen)
{
	const char *p, *field, *end;
	char name[16];
	uint64_t iterations = 0;
	size_t hlen;
	ssize_t n;
	int hash;

	memset(out, 0, sizeof(*out));

	p = strchr(text, '$');
	if (p == NULL || (size_t)(p - text) >= sizeof(name))
		return errf(err, errlen, "SCRAM secrets: no mechanism name");
	memcpy(name, text, (size_t)(p - text));
	name[p - text] = '\0';
	if ((hash = scram_hash_from_mechanism(name)) < 0)
		return errf(err, errlen, "SCRAM secrets: unknown mechanism \"%s\"", name);
	out->hash = (enum scram_hash)hash;
	hlen = scram_hash_len(out->hash);

	/* Iterations: plain decimal, no sign, no leading zero. */
	field = ++p;
	while (*p >= '0' && *p <= '9') {
		iterations = iterations * 10 + (uint64_t)(*p - '0');
		if (iterations > SCRAM_MAX_ITERATIONS)
			return errf(err, errlen, "SCRAM secrets: iteration count too large");
		p++;
	}
	if (p == field || *p != ':' || (*field == '0'))
		return errf(err, errlen, "SCRAM secrets: bad iteration count");
	out->iterations = (uint32_t)iterations;

	field = ++p;
	if ((end = strchr(field, '$')) == NULL)
		return errf(err, errlen, "SCRAM secrets: no StoredKey");
	if ((n = decode_base64(field, (size_t)(end - field), out->salt, SCRAM_SALT_MAX_LEN)) < 0)
		goto bad;
	out->salt_len = (size_t)n;

	field = end + 1;
	if ((end = strchr(field, ':')) == NULL)
		return errf(err, errlen, "SCRAM secrets: no ServerKey");
	if (decode_base64(field, (size_t)(end - field), out->stored_key, SCRAM_HASH_MAX_LEN) !=
	    (ssize_t)hlen)
		goto bad;

	field = end + 1;
	if (decode_base64(field, strlen(field), out->server_key, SCRAM_HASH_MAX_LEN) !=
	    (ssize_t)hlen)
		goto bad;
	return 0;
bad:
	scram_secrets_wipe(out);
	return errf(err, errlen, "SCRAM secrets: bad salt or key encoding");
}

void scram_secrets_wipe(struct scram_secrets *secrets)
{
	OPENSSL_cleanse(secrets, sizeof(*secrets));
}
