/*
 * sasl.c — the server side of SASL on libgsasl (see sasl.h).
 *
 * libgsasl does the mechanism arithmetic; this file decides policy around
 * it: which mechanisms a connection is offered, what each gsasl property
 * request is answered with, and which RFC 6120 condition a failure becomes.
 * It must not log (the caller logs the reply's reason once) and must not
 * reach the store except through the caller's callbacks.
 *
 * How gsasl is driven. gsasl asks for what it needs through one callback
 * per Gsasl handle, identifying the exchange by its Gsasl_session, whose
 * hook points back at our sasl_session:
 *   SCRAM, client-first: GSASL_SCRAM_ITER / _SALT, after it has set
 *     GSASL_AUTHID from the message — we look the user up there;
 *   SCRAM, client-final: GSASL_SCRAM_SERVERKEY / _STOREDKEY;
 *   PLAIN: GSASL_VALIDATE_SIMPLE, with the SASLprepped AUTHID and PASSWORD;
 *   EXTERNAL: GSASL_VALIDATE_EXTERNAL, with AUTHZID if the client sent one.
 * gsasl ignores what a property callback returns (it only looks at whether
 * the property got set), so every decision we make inside a callback is
 * recorded in the session (`verdict`, `reason`) and applied after
 * gsasl_step() returns.
 *
 * What we check ourselves before gsasl sees a message, because gsasl 2.2
 * does not (or does not say why):
 *   - the GS2 header of client-first: 'p' with a non-PLUS mechanism, 'n' or
 *     'y' with a -PLUS one, 'y' when we offered -PLUS (a downgrade, RFC 5802
 *     §6), a channel-binding type we have no data for;
 *   - the c= attribute of client-final against our own channel-binding
 *     bytes, so a mismatch — the sign of a man in the middle — is reported
 *     as such rather than as a wrong password;
 *   - PLAIN's and EXTERNAL's fields are valid UTF-8, and whether PLAIN
 *     carried an authzid at all (gsasl fills in the authcid when not).
 * gsasl checks the binding and the proof again; we only fail earlier.
 */
#include <stdlib.h>
#include <string.h>

#include <gsasl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "buf.h"
#include "jid.h"
#include "sasl.h"

/* No legitimate message of these mechanisms comes near this. */
#define SASL_MAX_INPUT 16384
/* SCRAM needs three client messages (empty initial response, client-first,
 * client-final); anything beyond four is a client going round in circles. */
#define SASL_MAX_ROUNDS 4
#define FAKE_SECRET_LEN 32

#define PLUS_MECHS \
	(SASL_MECH_BIT(SASL_MECH_SCRAM_SHA_256_PLUS) | SASL_MECH_BIT(SASL_MECH_SCRAM_SHA_1_PLUS))
#define SCRAM_MECHS \
	(PLUS_MECHS | SASL_MECH_BIT(SASL_MECH_SCRAM_SHA_256) | SASL_MECH_BIT(SASL_MECH_SCRAM_SHA_1))
#define ALL_MECHS ((1u << SASL_MECH_COUNT) - 1)

static const char *const mechanism_names[SASL_MECH_COUNT] = {
	[SASL_MECH_SCRAM_SHA_256_PLUS] = "SCRAM-SHA-256-PLUS",
	[SASL_MECH_SCRAM_SHA_1_PLUS] = "SCRAM-SHA-1-PLUS",
	[SASL_MECH_SCRAM_SHA_256] = "SCRAM-SHA-256",
	[SASL_MECH_SCRAM_SHA_1] = "SCRAM-SHA-1",
	[SASL_MECH_PLAIN] = "PLAIN",
	[SASL_MECH_EXTERNAL] = "EXTERNAL",
};

static const char *const condition_names[] = {
	[SASL_COND_NONE] = "",
	[SASL_COND_ABORTED] = "aborted",
	[SASL_COND_ACCOUNT_DISABLED] = "account-disabled",
	[SASL_COND_CREDENTIALS_EXPIRED] = "credentials-expired",
	[SASL_COND_ENCRYPTION_REQUIRED] = "encryption-required",
	[SASL_COND_INCORRECT_ENCODING] = "incorrect-encoding",
	[SASL_COND_INVALID_AUTHZID] = "invalid-authzid",
	[SASL_COND_INVALID_MECHANISM] = "invalid-mechanism",
	[SASL_COND_MALFORMED_REQUEST] = "malformed-request",
	[SASL_COND_MECHANISM_TOO_WEAK] = "mechanism-too-weak",
	[SASL_COND_NOT_AUTHORIZED] = "not-authorized",
	[SASL_COND_TEMPORARY_AUTH_FAILURE] = "temporary-auth-failure",
};

/* The channel-binding types gsasl 2.2 knows, as indexes into our tables. */
enum cb_type { CB_TLS_EXPORTER, CB_TLS_UNIQUE, CB_COUNT };

static const char *const cb_names[CB_COUNT] = { "tls-exporter", "tls-unique" };
static const Gsasl_property cb_properties[CB_COUNT] = {
	GSASL_CB_TLS_EXPORTER, GSASL_CB_TLS_UNIQUE,
};

struct sasl_server {
	Gsasl *gsasl;
	unsigned mechanisms;
	uint32_t iterations;
	uint8_t *secret;
	size_t secret_len;
	sasl_lookup_cb lookup;
	sasl_external_cb external;
	sasl_authorize_cb authorize;
	void *arg;
};

struct sasl_session {
	struct sasl_server *server;
	Gsasl_session *gsasl;
	enum sasl_mechanism mech;
	char *domain;
	char **identities;
	size_t nidentities;

	/* Channel binding: what c2s gave us, and whether -PLUS was offered
	 * (which makes a 'y' flag a downgrade). */
	bool plus_offered;
	uint8_t *cb_data[CB_COUNT];
	size_t cb_len[CB_COUNT];
	int cb_used;               /* SCRAM: the type client-first chose, or -1 */
	char *gs2_header;          /* SCRAM: "p=tls-exporter,," etc. */

	unsigned rounds;
	bool got_first;            /* a non-empty message has been seen */
	bool finished;
	bool explicit_authzid;     /* PLAIN */

	/* The user lookup (once per exchange). */
	bool looked_up;
	enum sasl_lookup_result lookup;
	bool secrets_usable;
	struct sasl_credentials creds;

	/* Decisions taken inside gsasl callbacks; applied after gsasl_step. */
	enum sasl_condition verdict;
	const char *reason;

	char *username;            /* as authenticated (canonical) */
	char *attempted;           /* as sent, for FAILURE replies */
	char *authzid;
	uint8_t *out;
	size_t outlen;
};

const char *sasl_mechanism_name(enum sasl_mechanism mech)
{
	if ((unsigned)mech >= SASL_MECH_COUNT)
		return "";
	return mechanism_names[mech];
}

int sasl_mechanism_from_name(const char *name)
{
	for (int i = 0; i < SASL_MECH_COUNT; i++)
		if (strcmp(name, mechanism_names[i]) == 0)
			return i;
	return -1;
}

const char *sasl_condition_name(enum sasl_condition cond)
{
	if ((size_t)cond >= ARRAY_LEN(condition_names))
		return "";
	return condition_names[cond];
}

int sasl_condition_from_name(const char *name)
{
	for (size_t i = 1; i < ARRAY_LEN(condition_names); i++)
		if (strcmp(name, condition_names[i]) == 0)
			return (int)i;
	return -1;
}

static bool mech_is_plus(enum sasl_mechanism mech)
{
	return (SASL_MECH_BIT(mech) & PLUS_MECHS) != 0;
}

static bool mech_is_scram(enum sasl_mechanism mech)
{
	return (SASL_MECH_BIT(mech) & SCRAM_MECHS) != 0;
}

static enum scram_hash mech_hash(enum sasl_mechanism mech)
{
	return mech == SASL_MECH_SCRAM_SHA_1 || mech == SASL_MECH_SCRAM_SHA_1_PLUS ?
	    SCRAM_HASH_SHA1 : SCRAM_HASH_SHA256;
}

static int cb_type_from_name(const char *name, size_t len)
{
	for (int i = 0; i < CB_COUNT; i++)
		if (strlen(cb_names[i]) == len && memcmp(name, cb_names[i], len) == 0)
			return i;
	return -1;
}

/* Strict UTF-8 (no overlongs, surrogates or NUL; at most U+10FFFF), the
 * UTF8-char of RFC 3629 that PLAIN and EXTERNAL require. */
static bool utf8_valid(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = p[i];
		uint32_t cp;
		size_t n;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static int set_base64_property(Gsasl_session *g, Gsasl_property prop, const uint8_t *in,
    size_t len)
{
	char *b64 = NULL;
	int rc = gsasl_base64_to((const char *)in, len, &b64, NULL);

	if (rc != GSASL_OK)
		return rc;
	rc = gsasl_property_set(g, prop, b64);
	gsasl_free(b64);
	return rc;
}

/* --- the server ------------------------------------------------------- */

static int property_callback(Gsasl *ctx, Gsasl_session *g, Gsasl_property prop);

struct sasl_server *sasl_server_new(const struct sasl_server_config *config,
    char *err, size_t errlen)
{
	unsigned mechanisms = config->mechanisms ? config->mechanisms : SASL_MECHS_DEFAULT;
	struct sasl_server *server;
	Gsasl *gsasl;
	int rc;

	if (mechanisms & ~ALL_MECHS) {
		errf(err, errlen, "unknown SASL mechanism bits 0x%x", mechanisms & ~ALL_MECHS);
		return NULL;
	}
	if (config->lookup == NULL) {
		errf(err, errlen, "SASL server needs a credential lookup");
		return NULL;
	}
	if ((mechanisms & SASL_MECH_BIT(SASL_MECH_EXTERNAL)) && config->external == NULL) {
		errf(err, errlen, "EXTERNAL is enabled but nothing decides who a certificate is");
		return NULL;
	}
	if (config->iterations != 0 && config->iterations > SCRAM_MAX_ITERATIONS) {
		errf(err, errlen, "SCRAM iteration count %u is above %u", config->iterations,
		    SCRAM_MAX_ITERATIONS);
		return NULL;
	}
	if ((rc = gsasl_init(&gsasl)) != GSASL_OK) {
		errf(err, errlen, "gsasl_init: %s", gsasl_strerror(rc));
		return NULL;
	}
	for (int i = 0; i < SASL_MECH_COUNT; i++) {
		if ((mechanisms & SASL_MECH_BIT(i)) &&
		    !gsasl_server_support_p(gsasl, mechanism_names[i])) {
			errf(err, errlen, "libgsasl was built without %s", mechanism_names[i]);
			gsasl_done(gsasl);
			return NULL;
		}
	}

	server = xcalloc(1, sizeof(*server));
	server->gsasl = gsasl;
	server->mechanisms = mechanisms;
	server->iterations = config->iterations ? config->iterations : SCRAM_DEFAULT_ITERATIONS;
	if (config->secret != NULL && config->secret_len > 0) {
		server->secret_len = config->secret_len;
		server->secret = xmalloc(config->secret_len);
		memcpy(server->secret, config->secret, config->secret_len);
	} else {
		server->secret_len = FAKE_SECRET_LEN;
		server->secret = xmalloc(FAKE_SECRET_LEN);
		if (RAND_bytes(server->secret, FAKE_SECRET_LEN) != 1) {
			errf(err, errlen, "no random bytes for the SASL server secret");
			sasl_server_free(&server);
			return NULL;
		}
	}
	server->lookup = config->lookup;
	server->external = config->external;
	server->authorize = config->authorize;
	server->arg = config->arg;
	gsasl_callback_hook_set(gsasl, server);
	gsasl_callback_set(gsasl, property_callback);
	return server;
}

void sasl_server_free(struct sasl_server **sp)
{
	struct sasl_server *server = *sp;

	if (server == NULL)
		return;
	if (server->gsasl != NULL)
		gsasl_done(server->gsasl);
	if (server->secret != NULL) {
		OPENSSL_cleanse(server->secret, server->secret_len);
		free(server->secret);
	}
	free(server);
	*sp = NULL;
}

static bool binding_usable(const struct sasl_channel_binding *b)
{
	return b->type != NULL && b->data != NULL && b->len > 0 &&
	    cb_type_from_name(b->type, strlen(b->type)) >= 0;
}

static bool have_bindings(const struct sasl_connection *conn)
{
	if (!conn->tls)
		return false;
	for (size_t i = 0; i < conn->nbindings; i++)
		if (binding_usable(&conn->bindings[i]))
			return true;
	return false;
}

static unsigned offered_mechanisms(const struct sasl_server *server,
    const struct sasl_connection *conn)
{
	unsigned offered = SASL_MECH_BIT(SASL_MECH_SCRAM_SHA_256) |
	    SASL_MECH_BIT(SASL_MECH_SCRAM_SHA_1);

	if (have_bindings(conn))
		offered |= PLUS_MECHS;
	/* PLAIN sends the password itself: only inside TLS. */
	if (conn->tls)
		offered |= SASL_MECH_BIT(SASL_MECH_PLAIN);
	if (conn->tls && conn->client_certificate)
		offered |= SASL_MECH_BIT(SASL_MECH_EXTERNAL);
	return offered & server->mechanisms;
}

size_t sasl_server_mechanisms(const struct sasl_server *server,
    const struct sasl_connection *conn, const char **names)
{
	unsigned offered = offered_mechanisms(server, conn);
	size_t n = 0;

	for (int i = 0; i < SASL_MECH_COUNT; i++)
		if (offered & SASL_MECH_BIT(i))
			names[n++] = mechanism_names[i];
	return n;
}

/* --- credential lookup ------------------------------------------------ */

/* Ask the caller for `username`'s secrets for `hash`; the answer is kept in
 * the session. */
static void lookup_user(struct sasl_session *s, const char *username, enum scram_hash hash)
{
	struct sasl_server *server = s->server;

	scram_secrets_wipe(&s->creds.secrets);
	memset(&s->creds, 0, sizeof(s->creds));
	s->looked_up = true;
	s->lookup = server->lookup(server->arg, username, s->domain, hash, &s->creds);
	s->creds.username[sizeof(s->creds.username) - 1] = '\0';
	s->secrets_usable = false;
	switch (s->lookup) {
	case SASL_LOOKUP_FOUND:
		if (s->creds.secrets.hash == hash && scram_secrets_valid(&s->creds.secrets)) {
			s->secrets_usable = true;
		} else {
			/* A backend bug, not the client's fault. */
			s->lookup = SASL_LOOKUP_TEMPFAIL;
			s->reason = "credential lookup returned unusable SCRAM secrets";
		}
		break;
	case SASL_LOOKUP_NO_USER:
		break;
	case SASL_LOOKUP_TEMPFAIL:
	default:
		s->lookup = SASL_LOOKUP_TEMPFAIL;
		s->reason = "credential lookup is temporarily unavailable";
		break;
	}
	if (s->attempted == NULL)
		s->attempted = xstrdup(username);
}

/* What a user that does not exist looks like: a salt that is the same
 * every time this name is tried (a fresh random one would give it away),
 * derived from the server secret, and the server's usual iteration count. */
static void fake_secrets(const struct sasl_session *s, const char *username,
    enum scram_hash hash, struct scram_secrets *out)
{
	static const char label[] = "parley SCRAM salt for an unknown user";
	const struct sasl_server *server = s->server;
	const char *mech = scram_hash_mechanism(hash);
	struct buf msg = BUF_INIT;
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	memset(out, 0, sizeof(*out));
	out->hash = hash;
	out->iterations = server->iterations;
	out->salt_len = SCRAM_SALT_LEN;

	/* HMAC(secret, label NUL mechanism NUL domain NUL username), over the
	 * prepared forms: a real account's salt is the same whatever case the
	 * name is typed in ("Alice", "alice"), so a fake one must be too, or
	 * comparing two spellings would tell which names exist. A name that
	 * does not prepare cannot exist; the raw bytes do for it. */
	char local[JID_PART_BUFSIZE], domain[JID_PART_BUFSIZE];
	if (jid_prep_localpart(username, strlen(username), local, NULL, 0) < 0)
		snprintf(local, sizeof(local), "%s", username);
	if (jid_prep_domainpart(s->domain, strlen(s->domain), domain, NULL, 0) < 0)
		snprintf(domain, sizeof(domain), "%s", s->domain);
	buf_append(&msg, label, sizeof(label));
	buf_append(&msg, mech, strlen(mech) + 1);
	buf_append(&msg, domain, strlen(domain) + 1);
	buf_append_str(&msg, local);
	if (HMAC(EVP_sha256(), server->secret, (int)server->secret_len,
	    (const uint8_t *)buf_head(&msg), buf_used(&msg), mac, &maclen) == NULL ||
	    maclen < SCRAM_SALT_LEN)
		RAND_bytes(mac, SCRAM_SALT_LEN);   /* cannot happen; degrade, don't crash */
	buf_free(&msg);
	memcpy(out->salt, mac, SCRAM_SALT_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
}

/* --- gsasl callbacks -------------------------------------------------- */

/* SCRAM client-first: announce the salt and iteration count. */
static int scram_provide_salt(struct sasl_session *s, Gsasl_session *g)
{
	const char *username = gsasl_property_fast(g, GSASL_AUTHID);
	enum scram_hash hash = mech_hash(s->mech);
	struct scram_secrets fake;
	const struct scram_secrets *announce;
	char iter[16];
	int rc;

	if (username == NULL)
		return GSASL_NO_AUTHID;
	if (!s->looked_up)
		lookup_user(s, username, hash);
	if (s->secrets_usable) {
		announce = &s->creds.secrets;
	} else {
		fake_secrets(s, username, hash, &fake);
		announce = &fake;
	}
	snprintf(iter, sizeof(iter), "%u", announce->iterations);
	rc = gsasl_property_set(g, GSASL_SCRAM_ITER, iter);
	if (rc == GSASL_OK)
		rc = set_base64_property(g, GSASL_SCRAM_SALT, announce->salt, announce->salt_len);
	return rc;
}

/* SCRAM client-final: the keys to check the proof with. An unknown user
 * gets random ones, which no proof can match. */
static int scram_provide_keys(struct sasl_session *s, Gsasl_session *g)
{
	size_t hlen = scram_hash_len(mech_hash(s->mech));
	uint8_t stored_key[SCRAM_HASH_MAX_LEN], server_key[SCRAM_HASH_MAX_LEN];
	int rc;

	if (s->secrets_usable) {
		memcpy(stored_key, s->creds.secrets.stored_key, hlen);
		memcpy(server_key, s->creds.secrets.server_key, hlen);
	} else if (RAND_bytes(stored_key, (int)hlen) != 1 || RAND_bytes(server_key, (int)hlen) != 1) {
		return GSASL_CRYPTO_ERROR;
	}
	rc = set_base64_property(g, GSASL_SCRAM_STOREDKEY, stored_key, hlen);
	if (rc == GSASL_OK)
		rc = set_base64_property(g, GSASL_SCRAM_SERVERKEY, server_key, hlen);
	OPENSSL_cleanse(stored_key, sizeof(stored_key));
	OPENSSL_cleanse(server_key, sizeof(server_key));
	return rc;
}

/* After the credentials checked out: may the user act as authzid, and is
 * the account usable? Sets verdict/reason and returns false if not. */
static bool authorize_and_admit(struct sasl_session *s, const char *username,
    const char *authzid)
{
	struct sasl_server *server = s->server;

	if (authzid != NULL && authzid[0] != '\0') {
		bool allowed;

		if (!utf8_valid((const uint8_t *)authzid, strlen(authzid))) {
			allowed = false;
		} else if (server->authorize != NULL) {
			allowed = server->authorize(server->arg, username, s->domain, authzid);
		} else {
			size_t ulen = strlen(username), dlen = strlen(s->domain);
			allowed = dlen > 0 && strlen(authzid) == ulen + 1 + dlen &&
			    memcmp(authzid, username, ulen) == 0 && authzid[ulen] == '@' &&
			    memcmp(authzid + ulen + 1, s->domain, dlen) == 0;
		}
		if (!allowed) {
			s->verdict = SASL_COND_INVALID_AUTHZID;
			s->reason = "authzid is not the user's own bare JID";
			return false;
		}
	}
	switch (s->creds.status) {
	case SASL_ACCOUNT_ACTIVE:
		return true;
	case SASL_ACCOUNT_DISABLED:
		s->verdict = SASL_COND_ACCOUNT_DISABLED;
		s->reason = "account is disabled";
		return false;
	case SASL_ACCOUNT_EXPIRED:
	default:
		s->verdict = SASL_COND_CREDENTIALS_EXPIRED;
		s->reason = "credentials have expired";
		return false;
	}
}

static const char *canonical_username(const struct sasl_session *s, const char *typed)
{
	return s->creds.username[0] != '\0' ? s->creds.username : typed;
}

/* PLAIN: check the password against the stored secrets. */
static int plain_validate(struct sasl_session *s, Gsasl_session *g)
{
	const char *username = gsasl_property_fast(g, GSASL_AUTHID);
	const char *password = gsasl_property_fast(g, GSASL_PASSWORD);
	const char *authzid = s->explicit_authzid ? gsasl_property_fast(g, GSASL_AUTHZID) : NULL;
	const char *canonical;

	if (username == NULL || password == NULL) {
		s->verdict = SASL_COND_MALFORMED_REQUEST;
		s->reason = "PLAIN message without username or password";
		return GSASL_AUTHENTICATION_ERROR;
	}
	/* Prefer the stronger hash; accounts imported with SHA-1 secrets only
	 * can still log in. */
	lookup_user(s, username, SCRAM_HASH_SHA256);
	if (s->lookup == SASL_LOOKUP_NO_USER)
		lookup_user(s, username, SCRAM_HASH_SHA1);

	switch (s->lookup) {
	case SASL_LOOKUP_TEMPFAIL:
		s->verdict = SASL_COND_TEMPORARY_AUTH_FAILURE;
		return GSASL_AUTHENTICATION_ERROR;
	case SASL_LOOKUP_NO_USER: {
		/* Spend the time a real check would, so the answer's delay does
		 * not tell who exists. */
		struct scram_secrets fake;
		fake_secrets(s, username, SCRAM_HASH_SHA256, &fake);
		(void)scram_secrets_check_password(&fake, password);
		s->verdict = SASL_COND_NOT_AUTHORIZED;
		s->reason = "no such user";
		return GSASL_AUTHENTICATION_ERROR;
	}
	case SASL_LOOKUP_FOUND:
	default:
		break;
	}
	if (!scram_secrets_check_password(&s->creds.secrets, password)) {
		s->verdict = SASL_COND_NOT_AUTHORIZED;
		s->reason = "wrong password";
		return GSASL_AUTHENTICATION_ERROR;
	}
	canonical = canonical_username(s, username);
	if (!authorize_and_admit(s, canonical, authzid))
		return GSASL_AUTHENTICATION_ERROR;
	s->username = xstrdup(canonical);
	if (authzid != NULL && authzid[0] != '\0')
		s->authzid = xstrdup(authzid);
	return GSASL_OK;
}

/* EXTERNAL: the caller's policy decides who the certificate is. */
static int external_validate(struct sasl_session *s, Gsasl_session *g)
{
	struct sasl_server *server = s->server;
	const char *authzid = gsasl_property_fast(g, GSASL_AUTHZID);
	char username[SASL_USERNAME_MAX] = "";
	enum sasl_condition cond;

	if (authzid != NULL && authzid[0] == '\0')
		authzid = NULL;
	cond = server->external(server->arg, s->domain, (const char *const *)s->identities,
	    s->nidentities, authzid, username, sizeof(username));
	username[sizeof(username) - 1] = '\0';
	if (cond == SASL_COND_NONE && username[0] == '\0') {
		cond = SASL_COND_TEMPORARY_AUTH_FAILURE;
		s->reason = "EXTERNAL policy accepted the certificate but named no user";
	}
	if (cond != SASL_COND_NONE) {
		s->verdict = cond;
		if (s->reason == NULL)
			s->reason = "EXTERNAL policy refused the certificate";
		return GSASL_AUTHENTICATION_ERROR;
	}
	s->username = xstrdup(username);
	if (authzid != NULL)
		s->authzid = xstrdup(authzid);
	return GSASL_OK;
}

static int property_callback(Gsasl *ctx, Gsasl_session *g, Gsasl_property prop)
{
	struct sasl_session *s = gsasl_session_hook_get(g);

	(void)ctx;
	if (s == NULL)
		return GSASL_NO_CALLBACK;
	switch (prop) {
	case GSASL_SCRAM_ITER:
	case GSASL_SCRAM_SALT:
		return mech_is_scram(s->mech) ? scram_provide_salt(s, g) : GSASL_NO_CALLBACK;
	case GSASL_SCRAM_SERVERKEY:
	case GSASL_SCRAM_STOREDKEY:
		return mech_is_scram(s->mech) && s->looked_up ?
		    scram_provide_keys(s, g) : GSASL_NO_CALLBACK;
	case GSASL_VALIDATE_SIMPLE:
		return s->mech == SASL_MECH_PLAIN ? plain_validate(s, g) : GSASL_NO_CALLBACK;
	case GSASL_VALIDATE_EXTERNAL:
		return s->mech == SASL_MECH_EXTERNAL ? external_validate(s, g) : GSASL_NO_CALLBACK;
	default:
		/* Notably GSASL_PASSWORD: we never have one to give. */
		return GSASL_NO_CALLBACK;
	}
}

/* --- sessions --------------------------------------------------------- */

struct sasl_session *sasl_session_start(struct sasl_server *server, const char *mechanism,
    const struct sasl_connection *conn, enum sasl_condition *refused)
{
	unsigned offered = offered_mechanisms(server, conn);
	struct sasl_session *s;
	Gsasl_session *g;
	int mech = sasl_mechanism_from_name(mechanism);

	if (mech < 0 || !(server->mechanisms & SASL_MECH_BIT(mech))) {
		*refused = SASL_COND_INVALID_MECHANISM;
		return NULL;
	}
	if (!(offered & SASL_MECH_BIT(mech))) {
		*refused = mech == SASL_MECH_PLAIN && !conn->tls ?
		    SASL_COND_ENCRYPTION_REQUIRED : SASL_COND_INVALID_MECHANISM;
		return NULL;
	}
	if (gsasl_server_start(server->gsasl, mechanism_names[mech], &g) != GSASL_OK) {
		*refused = SASL_COND_TEMPORARY_AUTH_FAILURE;
		return NULL;
	}

	s = xcalloc(1, sizeof(*s));
	s->server = server;
	s->gsasl = g;
	s->mech = (enum sasl_mechanism)mech;
	s->domain = xstrdup(conn->domain != NULL ? conn->domain : "");
	s->cb_used = -1;
	gsasl_session_hook_set(g, s);

	if (conn->ncert_identities > 0) {
		s->identities = xcalloc(conn->ncert_identities, sizeof(*s->identities));
		for (size_t i = 0; i < conn->ncert_identities; i++)
			s->identities[i] = xstrdup(conn->cert_identities[i]);
		s->nidentities = conn->ncert_identities;
	}

	/* Give gsasl the binding data whenever -PLUS was offered, not only for
	 * -PLUS exchanges: with it, gsasl also refuses a 'y' flag. */
	s->plus_offered = (offered & PLUS_MECHS) != 0;
	if (s->plus_offered) {
		for (size_t i = 0; i < conn->nbindings; i++) {
			const struct sasl_channel_binding *b = &conn->bindings[i];
			int t;

			if (!binding_usable(b))
				continue;
			t = cb_type_from_name(b->type, strlen(b->type));
			if (s->cb_data[t] != NULL)
				continue;
			s->cb_data[t] = xmalloc(b->len);
			memcpy(s->cb_data[t], b->data, b->len);
			s->cb_len[t] = b->len;
			if (set_base64_property(g, cb_properties[t], b->data, b->len) != GSASL_OK) {
				sasl_session_free(&s);
				*refused = SASL_COND_TEMPORARY_AUTH_FAILURE;
				return NULL;
			}
		}
	}
	*refused = SASL_COND_NONE;
	return s;
}

void sasl_session_free(struct sasl_session **sp)
{
	struct sasl_session *s = *sp;

	if (s == NULL)
		return;
	if (s->gsasl != NULL)
		gsasl_finish(s->gsasl);
	for (size_t i = 0; i < s->nidentities; i++)
		free(s->identities[i]);
	free(s->identities);
	for (int t = 0; t < CB_COUNT; t++)
		free(s->cb_data[t]);
	scram_secrets_wipe(&s->creds.secrets);
	free(s->gs2_header);
	free(s->domain);
	free(s->username);
	free(s->attempted);
	free(s->authzid);
	free(s->out);
	free(s);
	*sp = NULL;
}

enum sasl_mechanism sasl_session_mechanism(const struct sasl_session *s)
{
	return s->mech;
}

/* Check client-first's GS2 header (RFC 5802 §5.1, §6) against what this
 * connection offered, and keep it to check c= later. */
static enum sasl_condition scram_check_client_first(struct sasl_session *s,
    const char *in, size_t len)
{
	const char *end, *name = NULL, *comma;
	size_t namelen = 0;
	char flag;

	if (len < 3)
		goto malformed;
	flag = in[0];
	if (flag == 'p') {
		if (in[1] != '=')
			goto malformed;
		name = in + 2;
		if ((comma = memchr(name, ',', len - 2)) == NULL)
			goto malformed;
		namelen = (size_t)(comma - name);
		if (namelen == 0)
			goto malformed;
		for (size_t i = 0; i < namelen; i++) {
			char c = name[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '-'))
				goto malformed;
		}
		end = comma + 1;
	} else if (flag == 'n' || flag == 'y') {
		if (in[1] != ',')
			goto malformed;
		end = in + 2;
	} else {
		goto malformed;
	}
	/* The authzid field runs to the next comma; the header ends after it. */
	if ((comma = memchr(end, ',', len - (size_t)(end - in))) == NULL)
		goto malformed;
	end = comma + 1;
	s->gs2_header = xstrndup(in, (size_t)(end - in));
	if (strlen(s->gs2_header) != (size_t)(end - in))
		goto malformed;   /* a NUL inside */

	if (mech_is_plus(s->mech)) {
		if (flag != 'p') {
			s->reason = "-PLUS mechanism without channel binding";
			return SASL_COND_NOT_AUTHORIZED;
		}
		int t = cb_type_from_name(name, namelen);
		if (t < 0 || s->cb_data[t] == NULL) {
			s->reason = "client asked for a channel-binding type this connection lacks";
			return SASL_COND_NOT_AUTHORIZED;
		}
		s->cb_used = t;
	} else if (flag == 'p') {
		s->reason = "channel binding requested with a non-PLUS mechanism";
		return SASL_COND_NOT_AUTHORIZED;
	} else if (flag == 'y' && s->plus_offered) {
		/* The client supports channel binding and thinks we do not:
		 * someone removed -PLUS from the list it saw. */
		s->reason = "client says the server lacks channel binding, but -PLUS was offered "
		    "(mechanism list tampered with?)";
		return SASL_COND_NOT_AUTHORIZED;
	}
	return SASL_COND_NONE;
malformed:
	s->reason = "malformed SCRAM client-first message";
	return SASL_COND_MALFORMED_REQUEST;
}

/* Check client-final's c= (base64 of GS2 header + binding data). */
static enum sasl_condition scram_check_client_final(struct sasl_session *s,
    const char *in, size_t len)
{
	const char *comma;
	char *cbind = NULL;
	size_t cbind_len = 0, hlen, dlen;
	const uint8_t *data;
	enum sasl_condition cond = SASL_COND_NONE;

	if (s->gs2_header == NULL || len < 2 || in[0] != 'c' || in[1] != '=' ||
	    (comma = memchr(in, ',', len)) == NULL)
		return SASL_COND_NONE;   /* gsasl reports the syntax error */
	if (gsasl_base64_from(in + 2, (size_t)(comma - in - 2), &cbind, &cbind_len) != GSASL_OK) {
		s->reason = "SCRAM client-final: c= is not base64";
		return SASL_COND_MALFORMED_REQUEST;
	}
	hlen = strlen(s->gs2_header);
	data = s->cb_used >= 0 ? s->cb_data[s->cb_used] : NULL;
	dlen = s->cb_used >= 0 ? s->cb_len[s->cb_used] : 0;
	if (cbind_len != hlen + dlen || memcmp(cbind, s->gs2_header, hlen) != 0) {
		s->reason = "SCRAM client-final: c= does not repeat the GS2 header";
		cond = SASL_COND_NOT_AUTHORIZED;
	} else if (dlen > 0 && CRYPTO_memcmp(cbind + hlen, data, dlen) != 0) {
		s->reason = "channel-binding data does not match this TLS connection "
		    "(man in the middle?)";
		cond = SASL_COND_NOT_AUTHORIZED;
	}
	gsasl_free(cbind);
	return cond;
}

/* PLAIN is authzid NUL authcid NUL passwd, each UTF-8 (RFC 4616 §2). */
static enum sasl_condition plain_check(struct sasl_session *s, const uint8_t *in, size_t len)
{
	const uint8_t *nul1 = memchr(in, 0, len), *nul2;

	if (nul1 == NULL ||
	    (nul2 = memchr(nul1 + 1, 0, len - (size_t)(nul1 + 1 - in))) == NULL ||
	    memchr(nul2 + 1, 0, len - (size_t)(nul2 + 1 - in)) != NULL) {
		s->reason = "PLAIN message is not authzid NUL authcid NUL password";
		return SASL_COND_MALFORMED_REQUEST;
	}
	if (!utf8_valid(in, (size_t)(nul1 - in)) ||
	    !utf8_valid(nul1 + 1, (size_t)(nul2 - nul1 - 1)) ||
	    !utf8_valid(nul2 + 1, len - (size_t)(nul2 + 1 - in))) {
		s->reason = "PLAIN message is not UTF-8";
		return SASL_COND_MALFORMED_REQUEST;
	}
	s->explicit_authzid = nul1 != in;
	return SASL_COND_NONE;
}

/* Look at a message before gsasl does; see the comment at the top. */
static enum sasl_condition precheck(struct sasl_session *s, const uint8_t *in, size_t len)
{
	bool first = !s->got_first;

	if (in == NULL || len == 0)
		return SASL_COND_NONE;
	s->got_first = true;
	if (mech_is_scram(s->mech))
		return first ? scram_check_client_first(s, (const char *)in, len) :
		    scram_check_client_final(s, (const char *)in, len);
	if (s->mech == SASL_MECH_PLAIN)
		return plain_check(s, in, len);
	if (s->mech == SASL_MECH_EXTERNAL && !utf8_valid(in, len)) {
		s->reason = "EXTERNAL authzid is not UTF-8";
		return SASL_COND_MALFORMED_REQUEST;
	}
	return SASL_COND_NONE;
}

static enum sasl_condition condition_for_gsasl(int rc)
{
	switch (rc) {
	case GSASL_MECHANISM_PARSE_ERROR:
	case GSASL_BASE64_ERROR:
	case GSASL_MECHANISM_CALLED_TOO_MANY_TIMES:
	case GSASL_NO_AUTHID:
		return SASL_COND_MALFORMED_REQUEST;
	case GSASL_AUTHENTICATION_ERROR:
	case GSASL_SASLPREP_ERROR:   /* a name or password no account can have */
	case GSASL_NO_CB_TLS_UNIQUE:
	case GSASL_NO_CB_TLS_EXPORTER:
		return SASL_COND_NOT_AUTHORIZED;
	default:
		/* Out of memory, crypto failure, a property we failed to give:
		 * our trouble, not the client's. */
		return SASL_COND_TEMPORARY_AUTH_FAILURE;
	}
}

static void reply_failure(struct sasl_session *s, struct sasl_reply *reply,
    enum sasl_condition cond, const char *reason)
{
	s->finished = true;
	reply->status = SASL_FAILURE;
	reply->condition = cond;
	reply->reason = reason != NULL ? reason : "authentication failed";
	reply->username = s->attempted;
}

void sasl_session_step(struct sasl_session *s, const void *data, size_t len,
    struct sasl_reply *reply)
{
	const uint8_t *in = data;
	char *out = NULL;
	size_t outlen = 0;
	enum sasl_condition cond;
	int rc;

	memset(reply, 0, sizeof(*reply));
	free(s->out);
	s->out = NULL;
	s->outlen = 0;
	if (in == NULL)
		len = 0;

	if (s->finished) {
		reply->status = SASL_FAILURE;
		reply->condition = SASL_COND_MALFORMED_REQUEST;
		reply->reason = "message after the exchange finished";
		return;
	}
	if (len > SASL_MAX_INPUT) {
		reply_failure(s, reply, SASL_COND_MALFORMED_REQUEST, "SASL message too long");
		return;
	}
	if (++s->rounds > SASL_MAX_ROUNDS) {
		reply_failure(s, reply, SASL_COND_MALFORMED_REQUEST, "too many SASL round trips");
		return;
	}
	if ((cond = precheck(s, in, len)) != SASL_COND_NONE) {
		reply_failure(s, reply, cond, s->reason);
		return;
	}

	s->verdict = SASL_COND_NONE;
	rc = gsasl_step(s->gsasl, (const char *)in, len, &out, &outlen);
	if (out != NULL && outlen > 0) {
		s->out = xmalloc(outlen);
		memcpy(s->out, out, outlen);
		s->outlen = outlen;
	}
	gsasl_free(out);

	/* The lookup may have failed inside a callback whose result gsasl
	 * ignored: don't go on with made-up secrets. */
	if (s->looked_up && s->lookup == SASL_LOOKUP_TEMPFAIL) {
		reply_failure(s, reply, SASL_COND_TEMPORARY_AUTH_FAILURE, s->reason);
		return;
	}

	switch (rc) {
	case GSASL_NEEDS_MORE:
		/* An empty challenge is how we ask for a missing initial
		 * response; asking twice means the client sent nothing twice. */
		if (s->outlen == 0 && s->rounds > 1) {
			reply_failure(s, reply, SASL_COND_MALFORMED_REQUEST,
			    "empty response where a message was needed");
			return;
		}
		reply->status = SASL_CONTINUE;
		reply->data = s->out;
		reply->len = s->outlen;
		return;
	case GSASL_OK:
		if (mech_is_scram(s->mech)) {
			const char *typed = gsasl_property_fast(s->gsasl, GSASL_AUTHID);
			const char *authzid = gsasl_property_fast(s->gsasl, GSASL_AUTHZID);
			const char *canonical;

			if (!s->secrets_usable || typed == NULL) {
				/* Cannot happen: random keys match no proof. */
				reply_failure(s, reply, SASL_COND_NOT_AUTHORIZED, "no such user");
				return;
			}
			canonical = canonical_username(s, typed);
			if (!authorize_and_admit(s, canonical, authzid)) {
				reply_failure(s, reply, s->verdict, s->reason);
				return;
			}
			s->username = xstrdup(canonical);
			if (authzid != NULL && authzid[0] != '\0')
				s->authzid = xstrdup(authzid);
		}
		s->finished = true;
		reply->status = SASL_SUCCESS;
		reply->data = s->out;
		reply->len = s->outlen;
		reply->username = s->username;
		reply->authzid = s->authzid;
		return;
	default:
		if (s->verdict != SASL_COND_NONE) {
			reply_failure(s, reply, s->verdict, s->reason);
		} else if (rc == GSASL_AUTHENTICATION_ERROR && s->looked_up &&
		    s->lookup == SASL_LOOKUP_NO_USER) {
			reply_failure(s, reply, SASL_COND_NOT_AUTHORIZED, "no such user");
		} else if (rc == GSASL_AUTHENTICATION_ERROR && mech_is_scram(s->mech) &&
		    s->looked_up) {
			reply_failure(s, reply, SASL_COND_NOT_AUTHORIZED,
			    "SCRAM proof did not verify (wrong password)");
		} else {
			reply_failure(s, reply, condition_for_gsasl(rc), gsasl_strerror(rc));
		}
		return;
	}
}
