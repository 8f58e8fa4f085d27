/*
 * dialback.c — Server Dialback keys (XEP-0220 §2.4, generated as XEP-0185
 * recommends): HMAC-SHA256 keyed with the hex SHA-256 of the secret, over
 * "receiving originating stream-id", in lower-case hex. The secret is
 * s2s.dialback_secret, or derived from the router secret by an HMAC with a
 * fixed label (config.c decides which), so there is no new secret to keep.
 * Only this server ever checks its own keys, so the exact recipe matters
 * for nothing but the unit test that pins XEP-0185's example.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "s2s.h"

#define DERIVE_LABEL "parley s2s dialback secret v1"

static void hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int dialback_key(const char *secret, const char *receiving, const char *originating,
    const char *stream_id, char *key)
{
	unsigned char digest[EVP_MAX_MD_SIZE], mac[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0, mlen = 0;
	char hashed[2 * 32 + 1];
	struct buf msg = BUF_INIT;

	if (EVP_Digest(secret, strlen(secret), digest, &dlen, EVP_sha256(), NULL) != 1 ||
	    dlen != 32)
		return -1;
	hex(digest, dlen, hashed);
	buf_appendf(&msg, "%s %s %s", receiving, originating, stream_id);
	unsigned char *r = HMAC(EVP_sha256(), hashed, (int)strlen(hashed),
	    (const unsigned char *)buf_head(&msg), buf_used(&msg), mac, &mlen);
	buf_free(&msg);
	OPENSSL_cleanse(hashed, sizeof(hashed));
	if (r == NULL || mlen != 32)
		return -1;
	hex(mac, mlen, key);
	return 0;
}

bool dialback_key_ok(const char *secret, const char *receiving, const char *originating,
    const char *stream_id, const char *presented)
{
	char want[DIALBACK_KEY_LEN + 1];

	if (presented == NULL || strlen(presented) != DIALBACK_KEY_LEN ||
	    dialback_key(secret, receiving, originating, stream_id, want) < 0)
		return false;
	return CRYPTO_memcmp(want, presented, DIALBACK_KEY_LEN) == 0;
}

int dialback_secret_derive(const void *router_secret, size_t len, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;

	if (HMAC(EVP_sha256(), router_secret, (int)len, (const unsigned char *)DERIVE_LABEL,
	    strlen(DERIVE_LABEL), mac, &mlen) == NULL || mlen != 32)
		return -1;
	hex(mac, mlen, out);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}
