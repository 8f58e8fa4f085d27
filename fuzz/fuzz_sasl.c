/*
 * fuzz_sasl.c — libFuzzer target for the SASL server (common/sasl.c): what
 * a client can send to parley-auth through c2s, fed to every mechanism
 * under every kind of connection.
 *
 * Input: byte 0 picks the mechanism, byte 1 the connection and backend
 * (bit 0 TLS, bit 1 tls-exporter data, bit 2 tls-unique data, bit 3 client
 * certificate, bit 4 lookup fails, bit 5 no initial response); the rest is
 * the client's messages separated by 0xFF bytes. "%%" in a message is
 * replaced by the nonce of the last server-first message, so SCRAM
 * exchanges can reach the proof check.
 *
 * Besides "no crash, no leak", one invariant: the only account is "user"
 * (password "pencil"), so a success must name it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"
#include "scram_secrets.h"

#define DOMAIN "example.com"

/* One round of PBKDF2, so that each run stays fast. */
static const char *const user_secrets[SCRAM_HASH_COUNT] = {
	[SCRAM_HASH_SHA1] = "SCRAM-SHA-1$1:QSXCR+Q6sek8bf92$EaKdzl0pA+Runsv2ge8dUvuSF8c=:"
	    "AKd1frZjMmDCGt2G2l3emKV6sHw=",
	[SCRAM_HASH_SHA256] = "SCRAM-SHA-256$1:QSXCR+Q6sek8bf92$"
	    "4gVcHflKzQZPJimnpcQVkvUVkKs9KuVveFw5Ats/7Qg=:"
	    "3onLTN4IZbcDr7PZUzTfwMIXUun8J9vFyDnjSpnmtGA=",
};

static bool lookup_fails;

static enum sasl_lookup_result fuzz_lookup(void *arg, const char *username, const char *domain,
    enum scram_hash hash, struct sasl_credentials *out)
{
	(void)arg;
	if (lookup_fails)
		return SASL_LOOKUP_TEMPFAIL;
	if (strcmp(username, "user") != 0 || strcmp(domain, DOMAIN) != 0)
		return SASL_LOOKUP_NO_USER;
	if (scram_secrets_parse(user_secrets[hash], &out->secrets, NULL, 0) < 0)
		abort();
	return SASL_LOOKUP_FOUND;
}

static enum sasl_condition fuzz_external(void *arg, const char *domain,
    const char *const *identities, size_t nidentities, const char *authzid,
    char *username, size_t usernamelen)
{
	(void)arg;
	(void)domain;
	if (nidentities != 1 || strcmp(identities[0], "user@" DOMAIN) != 0)
		return SASL_COND_NOT_AUTHORIZED;
	if (authzid != NULL && strcmp(authzid, "user@" DOMAIN) != 0)
		return SASL_COND_INVALID_AUTHZID;
	strncpy(username, "user", usernamelen);
	return SASL_COND_NONE;
}

static struct sasl_server *server_once(void)
{
	static struct sasl_server *server;
	static const uint8_t secret[] = "fuzz";

	if (server == NULL) {
		struct sasl_server_config cfg = {
			.mechanisms = SASL_MECHS_DEFAULT | SASL_MECH_BIT(SASL_MECH_EXTERNAL),
			.iterations = 1,
			.secret = secret,
			.secret_len = sizeof(secret) - 1,
			.lookup = fuzz_lookup,
			.external = fuzz_external,
		};
		server = sasl_server_new(&cfg, NULL, 0);
		if (server == NULL)
			abort();
	}
	return server;
}

/* Copy msg into out, replacing each "%%" with nonce. */
static size_t substitute(const uint8_t *msg, size_t len, const char *nonce, uint8_t *out,
    size_t outmax)
{
	size_t nlen = strlen(nonce), o = 0;

	for (size_t i = 0; i < len && o < outmax; i++) {
		if (i + 1 < len && msg[i] == '%' && msg[i + 1] == '%' && o + nlen <= outmax) {
			memcpy(out + o, nonce, nlen);
			o += nlen;
			i++;
		} else {
			out[o++] = msg[i];
		}
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t exporter[32] = "exporter exporter exporter expo";
	static const uint8_t unique[12] = "unique uniq";
	static const char *const identities[] = { "user@" DOMAIN };
	struct sasl_channel_binding bindings[2];
	struct sasl_connection conn = { .domain = DOMAIN };
	struct sasl_session *s;
	struct sasl_reply r;
	enum sasl_condition refused;
	char nonce[256] = "";
	uint8_t msg[4096];
	const uint8_t *p, *end;

	if (size < 2)
		return 0;
	conn.tls = data[1] & 1;
	if (data[1] & 2)
		bindings[conn.nbindings++] = (struct sasl_channel_binding){
			"tls-exporter", exporter, sizeof(exporter) };
	if (data[1] & 4)
		bindings[conn.nbindings++] = (struct sasl_channel_binding){
			"tls-unique", unique, sizeof(unique) };
	conn.bindings = bindings;
	if (data[1] & 8) {
		conn.client_certificate = true;
		conn.cert_identities = identities;
		conn.ncert_identities = 1;
	}
	lookup_fails = data[1] & 16;

	s = sasl_session_start(server_once(), sasl_mechanism_name(data[0] % SASL_MECH_COUNT),
	    &conn, &refused);
	if (s == NULL)
		return 0;

	if (data[1] & 32) {
		sasl_session_step(s, NULL, 0, &r);
		if (r.status != SASL_CONTINUE)
			goto done;
	}
	p = data + 2;
	end = data + size;
	for (;;) {
		const uint8_t *sep = memchr(p, 0xff, (size_t)(end - p));
		size_t len = (size_t)((sep ? sep : end) - p);

		len = substitute(p, len, nonce, msg, sizeof(msg));
		sasl_session_step(s, msg, len, &r);
		if (r.status != SASL_CONTINUE)
			break;
		if (r.len > 2 && memcmp(r.data, "r=", 2) == 0) {
			const uint8_t *comma = memchr(r.data, ',', r.len);
			size_t nlen = comma ? (size_t)(comma - r.data) - 2 : r.len - 2;
			if (nlen < sizeof(nonce)) {
				memcpy(nonce, r.data + 2, nlen);
				nonce[nlen] = '\0';
			}
		}
		if (sep == NULL)
			break;
		p = sep + 1;
	}
done:
	if (r.status == SASL_SUCCESS && (r.username == NULL || strcmp(r.username, "user") != 0))
		abort();
	if (r.status == SASL_FAILURE && sasl_condition_name(r.condition)[0] == '\0')
		abort();
	sasl_session_free(&s);
	return 0;
}
