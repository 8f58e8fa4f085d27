/*
 * test_sasl.c — the SASL server (common/sasl.c) and the stored SCRAM
 * secrets (common/scram_secrets.c).
 *
 * Whole exchanges run in-process against libgsasl's own client, so what is
 * tested is what a real XMPP client would see: the bytes of <auth/>,
 * <challenge/>, <response/>, <success/> and the condition in <failure/>.
 * Where a client misbehaves in a way libgsasl's client never would (a 'y'
 * GS2 flag, a garbled message), the messages are written by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gsasl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sasl.h"
#include "scram_secrets.h"
#include "unit.h"

#define DOMAIN "example.com"

/* --- a small user database ------------------------------------------------ */

struct account {
	const char *username;     /* canonical (what nodeprep would give) */
	const char *password;
	enum sasl_account_status status;
	bool sha1_only;
	bool derived[SCRAM_HASH_COUNT];
	struct scram_secrets secrets[SCRAM_HASH_COUNT];
};

/* "pässwörd" precomposed (NFC); clients below type it decomposed. */
#define PASSWORD_NFC "p\xc3\xa4ssw\xc3\xb6rd"
#define PASSWORD_NFD "pa\xcc\x88sswo\xcc\x88rd"

static struct account accounts[] = {
	{ .username = "juliet", .password = "r0m30myr0m30" },
	{ .username = "romeo", .password = "cap&mon" },
	{ .username = "a,b=c", .password = "commas and equals" },
	{ .username = "umlaut", .password = PASSWORD_NFC },
	{ .username = "banned", .password = "secret", .status = SASL_ACCOUNT_DISABLED },
	{ .username = "stale", .password = "secret", .status = SASL_ACCOUNT_EXPIRED },
	{ .username = "oldtimer", .password = "from 2009", .sha1_only = true },
};

/* What the callbacks saw; each test runs in its own process. */
static struct {
	int lookups;
	bool tempfail;
	char last_username[256];
	char last_domain[256];
	int external_calls;
	char external_authzid[256];
	size_t external_nidentities;
} seen;

/* Runs before every test, so tests stay independent under CK_FORK=no too. */
static void reset_seen(void)
{
	memset(&seen, 0, sizeof(seen));
}

static enum sasl_lookup_result test_lookup(void *arg, const char *username, const char *domain,
    enum scram_hash hash, struct sasl_credentials *out)
{
	(void)arg;
	seen.lookups++;
	snprintf(seen.last_username, sizeof(seen.last_username), "%s", username);
	snprintf(seen.last_domain, sizeof(seen.last_domain), "%s", domain);
	if (seen.tempfail)
		return SASL_LOOKUP_TEMPFAIL;
	if (strcmp(domain, DOMAIN) != 0)
		return SASL_LOOKUP_NO_USER;
	for (size_t i = 0; i < ARRAY_LEN(accounts); i++) {
		struct account *a = &accounts[i];
		char err[ERRLEN];

		/* Case folding stands in for nodeprep. */
		if (strcasecmp(a->username, username) != 0)
			continue;
		if (a->sha1_only && hash != SCRAM_HASH_SHA1)
			return SASL_LOOKUP_NO_USER;
		if (!a->derived[hash]) {
			ck_assert_int_eq(scram_secrets_from_password(hash, a->password, 0, NULL, 0,
			    &a->secrets[hash], err, sizeof(err)), 0);
			a->derived[hash] = true;
		}
		out->secrets = a->secrets[hash];
		out->status = a->status;
		if (strcmp(a->username, username) != 0)
			snprintf(out->username, sizeof(out->username), "%s", a->username);
		return SASL_LOOKUP_FOUND;
	}
	return SASL_LOOKUP_NO_USER;
}

/* EXTERNAL policy: a certificate naming juliet@example.com is juliet; she
 * may only ask to be herself. */
static enum sasl_condition test_external(void *arg, const char *domain,
    const char *const *identities, size_t nidentities, const char *authzid,
    char *username, size_t usernamelen)
{
	(void)arg;
	seen.external_calls++;
	seen.external_nidentities = nidentities;
	snprintf(seen.external_authzid, sizeof(seen.external_authzid), "%s",
	    authzid ? authzid : "(none)");
	for (size_t i = 0; i < nidentities; i++) {
		if (strcmp(identities[i], "juliet@" DOMAIN) != 0 || strcmp(domain, DOMAIN) != 0)
			continue;
		if (authzid != NULL && strcmp(authzid, "juliet@" DOMAIN) != 0)
			return SASL_COND_INVALID_AUTHZID;
		snprintf(username, usernamelen, "juliet");
		return SASL_COND_NONE;
	}
	return SASL_COND_NOT_AUTHORIZED;
}

static const uint8_t test_secret[] = "a server secret shared by every auth process";

static struct sasl_server *make_server(unsigned mechanisms, sasl_authorize_cb authorize)
{
	struct sasl_server_config cfg = {
		.mechanisms = mechanisms,
		.secret = test_secret,
		.secret_len = sizeof(test_secret) - 1,
		.lookup = test_lookup,
		.external = test_external,
		.authorize = authorize,
	};
	char err[ERRLEN] = "";
	struct sasl_server *server = sasl_server_new(&cfg, err, sizeof(err));

	ck_assert_msg(server != NULL, "sasl_server_new: %s", err);
	return server;
}

#define ALL_MECHS (SASL_MECHS_DEFAULT | SASL_MECH_BIT(SASL_MECH_EXTERNAL))

/* --- connections --------------------------------------------------------- */

static const uint8_t exporter_bytes[32] = "tls-exporter: 32 bytes of keyin";
static const uint8_t unique_bytes[12] = "finishedmsg";
static const uint8_t other_bytes[32] = "a different TLS connection's km";

static const struct sasl_channel_binding exporter_binding[] = {
	{ "tls-exporter", exporter_bytes, sizeof(exporter_bytes) },
};
static const struct sasl_channel_binding unique_binding[] = {
	{ "tls-unique", unique_bytes, sizeof(unique_bytes) },
};
static const char *const juliet_cert[] = { "juliet@" DOMAIN };
static const char *const stranger_cert[] = { "mallory@evil.example" };

static const struct sasl_connection conn_plaintext = { .domain = DOMAIN };
static const struct sasl_connection conn_tls = { .domain = DOMAIN, .tls = true };
static const struct sasl_connection conn_exporter = {
	.domain = DOMAIN, .tls = true, .bindings = exporter_binding, .nbindings = 1,
};
static const struct sasl_connection conn_unique = {
	.domain = DOMAIN, .tls = true, .bindings = unique_binding, .nbindings = 1,
};
static const struct sasl_connection conn_juliet_cert = {
	.domain = DOMAIN, .tls = true, .bindings = exporter_binding, .nbindings = 1,
	.client_certificate = true, .cert_identities = juliet_cert, .ncert_identities = 1,
};
static const struct sasl_connection conn_stranger_cert = {
	.domain = DOMAIN, .tls = true, .client_certificate = true,
	.cert_identities = stranger_cert, .ncert_identities = 1,
};

/* --- running an exchange with libgsasl's client -------------------------- */

struct client {
	const char *mechanism;
	const char *authid;
	const char *password;
	const char *authzid;
	const uint8_t *cb_exporter;   /* channel-binding bytes the client computed */
	size_t cb_exporter_len;
	const uint8_t *cb_unique;
	size_t cb_unique_len;
};

struct outcome {
	enum sasl_status status;
	enum sasl_condition condition;
	char username[256];
	char authzid[256];
	char client_first[512];
	char server_first[512];
	char reason[256];
	int client_verdict;           /* gsasl client on the server's final data */
	int challenges;
};

static void set_cb(Gsasl_session *c, Gsasl_property prop, const uint8_t *data, size_t len)
{
	char *b64 = NULL;

	if (data == NULL)
		return;
	ck_assert_int_eq(gsasl_base64_to((const char *)data, len, &b64, NULL), GSASL_OK);
	ck_assert_int_eq(gsasl_property_set(c, prop, b64), GSASL_OK);
	gsasl_free(b64);
}

static void copy_text(char *dst, size_t dstlen, const void *src, size_t len)
{
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static struct outcome run(struct sasl_server *server, const struct sasl_connection *conn,
    const struct client *cl)
{
	struct outcome o = { .client_verdict = -1 };
	struct sasl_session *s;
	struct sasl_reply r;
	enum sasl_condition refused;
	Gsasl *ctx;
	Gsasl_session *c;
	char *out = NULL;
	size_t outlen = 0;
	int rc;

	ck_assert_int_eq(gsasl_init(&ctx), GSASL_OK);
	ck_assert_int_eq(gsasl_client_start(ctx, cl->mechanism, &c), GSASL_OK);
	if (cl->authid)
		gsasl_property_set(c, GSASL_AUTHID, cl->authid);
	if (cl->password)
		gsasl_property_set(c, GSASL_PASSWORD, cl->password);
	if (cl->authzid)
		gsasl_property_set(c, GSASL_AUTHZID, cl->authzid);
	set_cb(c, GSASL_CB_TLS_EXPORTER, cl->cb_exporter, cl->cb_exporter_len);
	set_cb(c, GSASL_CB_TLS_UNIQUE, cl->cb_unique, cl->cb_unique_len);

	s = sasl_session_start(server, cl->mechanism, conn, &refused);
	if (s == NULL) {
		o.status = SASL_FAILURE;
		o.condition = refused;
		goto done;
	}

	/* <auth mechanism='...'>initial response</auth> */
	rc = gsasl_step(c, NULL, 0, &out, &outlen);
	ck_assert_msg(rc == GSASL_OK || rc == GSASL_NEEDS_MORE, "client start: %s",
	    gsasl_strerror(rc));
	copy_text(o.client_first, sizeof(o.client_first), out ? out : "", outlen);
	sasl_session_step(s, out ? out : "", outlen, &r);
	gsasl_free(out);

	while (r.status == SASL_CONTINUE) {
		if (o.challenges++ == 0)
			copy_text(o.server_first, sizeof(o.server_first), r.data, r.len);
		out = NULL;
		rc = gsasl_step(c, (const char *)r.data, r.len, &out, &outlen);
		ck_assert_msg(rc == GSASL_OK || rc == GSASL_NEEDS_MORE, "client step: %s",
		    gsasl_strerror(rc));
		sasl_session_step(s, out ? out : "", outlen, &r);
		gsasl_free(out);
	}

	o.status = r.status;
	o.condition = r.condition;
	if (r.reason)
		copy_text(o.reason, sizeof(o.reason), r.reason, strlen(r.reason));
	if (r.username)
		copy_text(o.username, sizeof(o.username), r.username, strlen(r.username));
	if (r.status == SASL_SUCCESS) {
		ck_assert_ptr_nonnull(r.username);
		if (r.authzid)
			copy_text(o.authzid, sizeof(o.authzid), r.authzid, strlen(r.authzid));
		/* The client checks <success/>'s data: SCRAM's server signature. */
		out = NULL;
		if (r.len > 0)
			o.client_verdict = gsasl_step(c, (const char *)r.data, r.len, &out, &outlen);
		else
			o.client_verdict = GSASL_OK;
		gsasl_free(out);
	}
	sasl_session_free(&s);
	ck_assert_ptr_null(s);
done:
	gsasl_finish(c);
	gsasl_done(ctx);
	return o;
}

/* Macros (so a failure names the test's line) that evaluate `o` once. */
#define ck_assert_success(o, user) do { \
	struct outcome o_ = (o); \
	ck_assert_msg(o_.status == SASL_SUCCESS, "expected success, got %s (%s)", \
	    sasl_condition_name(o_.condition), o_.reason); \
	ck_assert_str_eq(o_.username, (user)); \
	ck_assert_int_eq(o_.client_verdict, GSASL_OK); \
} while (0)

#define ck_assert_failure(o, cond) do { \
	struct outcome o_ = (o); \
	ck_assert_msg(o_.status == SASL_FAILURE, "expected failure %s, got status %d", \
	    sasl_condition_name(cond), (int)o_.status); \
	ck_assert_str_eq(sasl_condition_name(o_.condition), sasl_condition_name(cond)); \
} while (0)

/* One message from a hand-written client. */
static void step_text(struct sasl_session *s, const char *text, struct sasl_reply *r)
{
	sasl_session_step(s, text, strlen(text), r);
}

/* --- SCRAM ---------------------------------------------------------------- */

static void scram_succeeds(const char *mech, const struct sasl_connection *conn,
    const struct client *extra)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = mech, .authid = "juliet", .password = "r0m30myr0m30" };
	struct outcome o;

	if (extra != NULL) {
		cl.cb_exporter = extra->cb_exporter;
		cl.cb_exporter_len = extra->cb_exporter_len;
		cl.cb_unique = extra->cb_unique;
		cl.cb_unique_len = extra->cb_unique_len;
	}
	o = run(server, conn, &cl);
	ck_assert_success(o, "juliet");
	ck_assert_int_eq(o.challenges, 1);
	ck_assert_str_eq(o.authzid, "");
	ck_assert_str_eq(seen.last_username, "juliet");
	ck_assert_str_eq(seen.last_domain, DOMAIN);
	sasl_server_free(&server);
	ck_assert_ptr_null(server);
}

START_TEST(test_scram_sha1_logs_in_with_right_password)
{
	scram_succeeds("SCRAM-SHA-1", &conn_tls, NULL);
}
END_TEST

START_TEST(test_scram_sha256_logs_in_with_right_password)
{
	scram_succeeds("SCRAM-SHA-256", &conn_tls, NULL);
}
END_TEST

START_TEST(test_scram_sha256_works_without_tls)
{
	scram_succeeds("SCRAM-SHA-256", &conn_plaintext, NULL);
}
END_TEST

static const struct client exporter_client = {
	.cb_exporter = exporter_bytes, .cb_exporter_len = sizeof(exporter_bytes),
};
static const struct client unique_client = {
	.cb_unique = unique_bytes, .cb_unique_len = sizeof(unique_bytes),
};

START_TEST(test_scram_sha1_plus_binds_to_tls_exporter)
{
	scram_succeeds("SCRAM-SHA-1-PLUS", &conn_exporter, &exporter_client);
}
END_TEST

START_TEST(test_scram_sha256_plus_binds_to_tls_exporter)
{
	scram_succeeds("SCRAM-SHA-256-PLUS", &conn_exporter, &exporter_client);
}
END_TEST

START_TEST(test_scram_sha1_plus_binds_to_tls_unique)
{
	scram_succeeds("SCRAM-SHA-1-PLUS", &conn_unique, &unique_client);
}
END_TEST

START_TEST(test_scram_sha256_plus_binds_to_tls_unique)
{
	scram_succeeds("SCRAM-SHA-256-PLUS", &conn_unique, &unique_client);
}
END_TEST

START_TEST(test_scram_plus_client_first_names_the_binding_type)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "SCRAM-SHA-256-PLUS", .authid = "juliet",
	    .password = "r0m30myr0m30", .cb_unique = unique_bytes,
	    .cb_unique_len = sizeof(unique_bytes) };
	struct outcome o = run(server, &conn_unique, &cl);

	ck_assert_success(o, "juliet");
	ck_assert_msg(strncmp(o.client_first, "p=tls-unique,,n=juliet,r=", 25) == 0,
	    "client-first: %s", o.client_first);
	sasl_server_free(&server);
}
END_TEST

static const char *const scram_mechs[] = {
	"SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS",
};

START_TEST(test_scram_wrong_password_is_not_authorized)
{
	/* Looped over the four SCRAM mechanisms. */
	struct sasl_server *server = make_server(0, NULL);
	bool plus = strstr(scram_mechs[_i], "PLUS") != NULL;
	struct client cl = { .mechanism = scram_mechs[_i], .authid = "juliet",
	    .password = "r0m30myr0m31", .cb_exporter = plus ? exporter_bytes : NULL,
	    .cb_exporter_len = sizeof(exporter_bytes) };
	struct outcome o = run(server, plus ? &conn_exporter : &conn_tls, &cl);

	ck_assert_failure(o, SASL_COND_NOT_AUTHORIZED);
	ck_assert_int_eq(o.challenges, 1);   /* failed after the full exchange */
	ck_assert_msg(strstr(o.reason, "wrong password") != NULL, "reason: %s", o.reason);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_plus_with_other_connections_binding_is_not_authorized)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "SCRAM-SHA-256-PLUS", .authid = "juliet",
	    .password = "r0m30myr0m30", .cb_exporter = other_bytes,
	    .cb_exporter_len = sizeof(other_bytes) };
	struct outcome o = run(server, &conn_exporter, &cl);

	ck_assert_failure(o, SASL_COND_NOT_AUTHORIZED);
	ck_assert_msg(strstr(o.reason, "channel-binding data does not match") != NULL,
	    "reason: %s", o.reason);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_plus_with_binding_type_the_connection_lacks_is_not_authorized)
{
	/* The client binds to tls-unique; c2s only computed tls-exporter (TLS 1.3). */
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "SCRAM-SHA-256-PLUS", .authid = "juliet",
	    .password = "r0m30myr0m30", .cb_unique = unique_bytes,
	    .cb_unique_len = sizeof(unique_bytes) };
	struct outcome o = run(server, &conn_exporter, &cl);

	ck_assert_failure(o, SASL_COND_NOT_AUTHORIZED);
	ck_assert_int_eq(o.challenges, 0);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_y_flag_when_plus_was_offered_is_a_downgrade)
{
	struct sasl_server *server = make_server(0, NULL);
	enum sasl_condition refused;
	struct sasl_session *s = sasl_session_start(server, "SCRAM-SHA-256", &conn_exporter,
	    &refused);
	struct sasl_reply r;

	ck_assert_ptr_nonnull(s);
	step_text(s, "y,,n=juliet,r=fyko+d2lbbFgONRv9qkxdawL", &r);
	ck_assert_int_eq(r.status, SASL_FAILURE);
	ck_assert_str_eq(sasl_condition_name(r.condition), "not-authorized");
	ck_assert_ptr_nonnull(strstr(r.reason, "-PLUS was offered"));
	sasl_session_free(&s);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_y_flag_without_plus_offered_is_fine)
{
	struct sasl_server *server = make_server(0, NULL);
	enum sasl_condition refused;
	struct sasl_session *s = sasl_session_start(server, "SCRAM-SHA-256", &conn_tls, &refused);
	struct sasl_reply r;

	ck_assert_ptr_nonnull(s);
	step_text(s, "y,,n=juliet,r=fyko+d2lbbFgONRv9qkxdawL", &r);
	ck_assert_int_eq(r.status, SASL_CONTINUE);
	ck_assert_int_eq(strncmp((const char *)r.data, "r=fyko+d2lbbFgONRv9qkxdawL", 26), 0);
	sasl_session_free(&s);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_p_flag_with_non_plus_mechanism_is_not_authorized)
{
	struct sasl_server *server = make_server(0, NULL);
	enum sasl_condition refused;
	struct sasl_session *s = sasl_session_start(server, "SCRAM-SHA-1", &conn_exporter,
	    &refused);
	struct sasl_reply r;

	step_text(s, "p=tls-exporter,,n=juliet,r=fyko+d2lbbFgONRv9qkxdawL", &r);
	ck_assert_int_eq(r.status, SASL_FAILURE);
	ck_assert_str_eq(sasl_condition_name(r.condition), "not-authorized");
	sasl_session_free(&s);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_plus_without_channel_binding_flag_is_not_authorized)
{
	struct sasl_server *server = make_server(0, NULL);
	enum sasl_condition refused;
	struct sasl_session *s = sasl_session_start(server, "SCRAM-SHA-1-PLUS", &conn_exporter,
	    &refused);
	struct sasl_reply r;

	step_text(s, "n,,n=juliet,r=fyko+d2lbbFgONRv9qkxdawL", &r);
	ck_assert_int_eq(r.status, SASL_FAILURE);
	ck_assert_str_eq(sasl_condition_name(r.condition), "not-authorized");
	sasl_session_free(&s);
	sasl_server_free(&server);
}
END_TEST

/* Pull "s=...,i=..." out of a server-first message. */
static void parse_server_first(const char *sf, char *salt, size_t saltlen, unsigned *iter)
{
	const char *s = strstr(sf, ",s="), *i = strstr(sf, ",i=");

	ck_assert_msg(strncmp(sf, "r=", 2) == 0 && s != NULL && i != NULL && i > s,
	    "server-first: %s", sf);
	copy_text(salt, saltlen, s + 3, (size_t)(i - s - 3));
	*iter = (unsigned)strtoul(i + 3, NULL, 10);
}

static size_t base64_len(const char *b64)
{
	char *bin = NULL;
	size_t len = 0;

	ck_assert_int_eq(gsasl_base64_from(b64, strlen(b64), &bin, &len), GSASL_OK);
	gsasl_free(bin);
	return len;
}

START_TEST(test_scram_unknown_user_goes_through_the_motions)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "SCRAM-SHA-256", .authid = "nobody",
	    .password = "whatever" };
	struct client real = { .mechanism = "SCRAM-SHA-256", .authid = "juliet",
	    .password = "r0m30myr0m30" };
	struct outcome o1 = run(server, &conn_tls, &cl);
	struct outcome o2 = run(server, &conn_tls, &cl);
	struct outcome oreal = run(server, &conn_tls, &real);
	char salt1[128], salt2[128], salt_real[128];
	unsigned iter1, iter2, iter_real;

	/* Fails only at the end, as a wrong password would. */
	ck_assert_failure(o1, SASL_COND_NOT_AUTHORIZED);
	ck_assert_int_eq(o1.challenges, 1);
	ck_assert_str_eq(o1.reason, "no such user");
	ck_assert_str_eq(o1.username, "nobody");

	/* The server-first message looks like a real user's: a salt of the
	 * same size, the usual iteration count, and the same salt each time. */
	parse_server_first(o1.server_first, salt1, sizeof(salt1), &iter1);
	parse_server_first(o2.server_first, salt2, sizeof(salt2), &iter2);
	parse_server_first(oreal.server_first, salt_real, sizeof(salt_real), &iter_real);
	ck_assert_uint_eq(iter1, 4096);
	ck_assert_uint_eq(iter_real, 4096);
	ck_assert_str_eq(salt1, salt2);
	ck_assert_uint_eq(base64_len(salt1), base64_len(salt_real));
	ck_assert_uint_eq(base64_len(salt1), SCRAM_SALT_LEN);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_fake_salts_differ_per_user_and_per_secret)
{
	struct sasl_server *a = make_server(0, NULL);
	struct sasl_server_config cfg = { .lookup = test_lookup, .secret = (const uint8_t *)"other",
	    .secret_len = 5 };
	char err[ERRLEN];
	struct sasl_server *b = sasl_server_new(&cfg, err, sizeof(err));
	struct client nobody = { .mechanism = "SCRAM-SHA-1", .authid = "nobody", .password = "x" };
	struct client noone = { .mechanism = "SCRAM-SHA-1", .authid = "noone", .password = "x" };
	char s1[128], s2[128], s3[128];
	unsigned i;

	ck_assert_ptr_nonnull(b);
	parse_server_first(run(a, &conn_tls, &nobody).server_first, s1, sizeof(s1), &i);
	parse_server_first(run(a, &conn_tls, &noone).server_first, s2, sizeof(s2), &i);
	parse_server_first(run(b, &conn_tls, &nobody).server_first, s3, sizeof(s3), &i);
	ck_assert_str_ne(s1, s2);
	ck_assert_str_ne(s1, s3);
	sasl_server_free(&a);
	sasl_server_free(&b);
}
END_TEST

/* A real account answers "Alice" and "alice" with one salt (the lookup
 * prepares the name), so an unknown name must too: otherwise comparing two
 * spellings would tell which accounts exist. */
START_TEST(test_scram_fake_salt_ignores_the_case_of_the_name)
{
	struct sasl_server *a = make_server(0, NULL);
	struct client lower = { .mechanism = "SCRAM-SHA-1", .authid = "nobody", .password = "x" };
	struct client upper = { .mechanism = "SCRAM-SHA-1", .authid = "NoBody", .password = "x" };
	char s1[128], s2[128];
	unsigned i;

	parse_server_first(run(a, &conn_tls, &lower).server_first, s1, sizeof(s1), &i);
	parse_server_first(run(a, &conn_tls, &upper).server_first, s2, sizeof(s2), &i);
	ck_assert_str_eq(s1, s2);
	sasl_server_free(&a);
}
END_TEST

START_TEST(test_scram_user_without_secrets_for_the_hash_fails_like_unknown)
{
	/* oldtimer only has SHA-1 secrets. */
	struct sasl_server *server = make_server(0, NULL);
	struct client c256 = { .mechanism = "SCRAM-SHA-256", .authid = "oldtimer",
	    .password = "from 2009" };
	struct client c1 = { .mechanism = "SCRAM-SHA-1", .authid = "oldtimer",
	    .password = "from 2009" };
	struct outcome o = run(server, &conn_tls, &c256);

	ck_assert_failure(o, SASL_COND_NOT_AUTHORIZED);
	ck_assert_int_eq(o.challenges, 1);
	o = run(server, &conn_tls, &c1);
	ck_assert_success(o, "oldtimer");
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_lookup_tempfail_is_temporary_auth_failure)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "SCRAM-SHA-256", .authid = "juliet",
	    .password = "r0m30myr0m30" };
	struct outcome o;

	seen.tempfail = true;
	o = run(server, &conn_tls, &cl);
	ck_assert_failure(o, SASL_COND_TEMPORARY_AUTH_FAILURE);
	ck_assert_int_eq(o.challenges, 0);   /* no made-up salt was sent */
	ck_assert_int_eq(seen.lookups, 1);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_username_escapes_are_decoded_for_lookup)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "SCRAM-SHA-1", .authid = "a,b=c",
	    .password = "commas and equals" };
	struct outcome o = run(server, &conn_tls, &cl);

	ck_assert_success(o, "a,b=c");
	ck_assert_ptr_nonnull(strstr(o.client_first, "n=a=2Cb=3Dc,"));
	ck_assert_str_eq(seen.last_username, "a,b=c");
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_reports_canonical_username_from_lookup)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "SCRAM-SHA-256", .authid = "Juliet",
	    .password = "r0m30myr0m30" };
	struct outcome o = run(server, &conn_tls, &cl);

	ck_assert_str_eq(seen.last_username, "Juliet");
	ck_assert_success(o, "juliet");
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_authzid_own_bare_jid_is_accepted)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "SCRAM-SHA-256", .authid = "juliet",
	    .password = "r0m30myr0m30", .authzid = "juliet@" DOMAIN };
	struct outcome o = run(server, &conn_tls, &cl);

	ck_assert_success(o, "juliet");
	ck_assert_str_eq(o.authzid, "juliet@" DOMAIN);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_authzid_of_another_user_is_invalid_authzid)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "SCRAM-SHA-256", .authid = "juliet",
	    .password = "r0m30myr0m30", .authzid = "romeo@" DOMAIN };
	struct outcome o = run(server, &conn_tls, &cl);

	ck_assert_failure(o, SASL_COND_INVALID_AUTHZID);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_garbled_client_first_is_malformed_request)
{
	static const char *const garbage[] = {
		"hello", "n,,", "x,,n=juliet,r=abc", "p=,,n=juliet,r=abc", "p=tls exporter,,n=j,r=a",
		"n,,r=abcdefgh,n=juliet",
	};
	struct sasl_server *server = make_server(0, NULL);

	for (size_t i = 0; i < ARRAY_LEN(garbage); i++) {
		enum sasl_condition refused;
		struct sasl_session *s = sasl_session_start(server, "SCRAM-SHA-1", &conn_tls,
		    &refused);
		struct sasl_reply r;

		step_text(s, garbage[i], &r);
		ck_assert_msg(r.status == SASL_FAILURE &&
		    r.condition == SASL_COND_MALFORMED_REQUEST, "\"%s\" gave %d/%s",
		    garbage[i], (int)r.status, sasl_condition_name(r.condition));
		sasl_session_free(&s);
	}
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_garbled_client_final_is_malformed_request)
{
	struct sasl_server *server = make_server(0, NULL);
	enum sasl_condition refused;
	struct sasl_session *s = sasl_session_start(server, "SCRAM-SHA-1", &conn_tls, &refused);
	struct sasl_reply r;

	step_text(s, "n,,n=juliet,r=fyko+d2lbbFgONRv9qkxdawL", &r);
	ck_assert_int_eq(r.status, SASL_CONTINUE);
	step_text(s, "this is not a client-final message", &r);
	ck_assert_int_eq(r.status, SASL_FAILURE);
	ck_assert_str_eq(sasl_condition_name(r.condition), "malformed-request");
	sasl_session_free(&s);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_scram_without_initial_response_asks_with_empty_challenge)
{
	struct sasl_server *server = make_server(0, NULL);
	enum sasl_condition refused;
	struct sasl_session *s = sasl_session_start(server, "SCRAM-SHA-1", &conn_tls, &refused);
	struct sasl_reply r;

	sasl_session_step(s, NULL, 0, &r);
	ck_assert_int_eq(r.status, SASL_CONTINUE);
	ck_assert_uint_eq(r.len, 0);
	/* An empty answer to the empty challenge goes nowhere. */
	sasl_session_step(s, "", 0, &r);
	ck_assert_int_eq(r.status, SASL_FAILURE);
	ck_assert_str_eq(sasl_condition_name(r.condition), "malformed-request");
	sasl_session_free(&s);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_account_status_is_reported_only_with_right_password)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client banned = { .mechanism = "SCRAM-SHA-256", .authid = "banned",
	    .password = "secret" };
	struct client banned_wrong = { .mechanism = "SCRAM-SHA-256", .authid = "banned",
	    .password = "guess" };
	struct client stale = { .mechanism = "PLAIN", .authid = "stale", .password = "secret" };
	struct client stale_wrong = { .mechanism = "PLAIN", .authid = "stale", .password = "guess" };

	ck_assert_failure(run(server, &conn_tls, &banned), SASL_COND_ACCOUNT_DISABLED);
	ck_assert_failure(run(server, &conn_tls, &banned_wrong), SASL_COND_NOT_AUTHORIZED);
	ck_assert_failure(run(server, &conn_tls, &stale), SASL_COND_CREDENTIALS_EXPIRED);
	ck_assert_failure(run(server, &conn_tls, &stale_wrong), SASL_COND_NOT_AUTHORIZED);
	sasl_server_free(&server);
}
END_TEST

/* --- PLAIN ---------------------------------------------------------------- */

START_TEST(test_plain_right_password_logs_in)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "PLAIN", .authid = "juliet", .password = "r0m30myr0m30" };
	struct outcome o = run(server, &conn_tls, &cl);

	ck_assert_success(o, "juliet");
	ck_assert_int_eq(o.challenges, 0);
	ck_assert_str_eq(o.authzid, "");
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_plain_wrong_password_is_not_authorized)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "PLAIN", .authid = "juliet", .password = "r0m30myr0m3" };
	struct outcome o = run(server, &conn_tls, &cl);

	ck_assert_failure(o, SASL_COND_NOT_AUTHORIZED);
	ck_assert_str_eq(o.reason, "wrong password");
	ck_assert_str_eq(o.username, "juliet");    /* for per-user failure counts */
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_plain_unknown_user_is_not_authorized)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "PLAIN", .authid = "nobody", .password = "x" };
	struct outcome o = run(server, &conn_tls, &cl);

	ck_assert_failure(o, SASL_COND_NOT_AUTHORIZED);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_plain_falls_back_to_sha1_secrets)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "PLAIN", .authid = "oldtimer", .password = "from 2009" };

	ck_assert_success(run(server, &conn_tls, &cl), "oldtimer");
	ck_assert_int_eq(seen.lookups, 2);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_plain_authzid_of_another_user_is_invalid_authzid)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "PLAIN", .authid = "juliet", .password = "r0m30myr0m30",
	    .authzid = "romeo@" DOMAIN };
	struct outcome o = run(server, &conn_tls, &cl);

	ck_assert_failure(o, SASL_COND_INVALID_AUTHZID);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_plain_authzid_full_jid_is_invalid_authzid)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "PLAIN", .authid = "juliet", .password = "r0m30myr0m30",
	    .authzid = "juliet@" DOMAIN "/balcony" };

	ck_assert_failure(run(server, &conn_tls, &cl), SASL_COND_INVALID_AUTHZID);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_plain_authzid_own_bare_jid_is_accepted)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "PLAIN", .authid = "juliet", .password = "r0m30myr0m30",
	    .authzid = "juliet@" DOMAIN };
	struct outcome o = run(server, &conn_tls, &cl);

	ck_assert_success(o, "juliet");
	ck_assert_str_eq(o.authzid, "juliet@" DOMAIN);
	sasl_server_free(&server);
}
END_TEST

static bool case_blind_authorize(void *arg, const char *username, const char *domain,
    const char *authzid)
{
	char want[512];

	(void)arg;
	snprintf(want, sizeof(want), "%s@%s", username, domain);
	return strcasecmp(want, authzid) == 0;
}

START_TEST(test_plain_authzid_goes_through_authorize_callback)
{
	struct sasl_server *server = make_server(0, case_blind_authorize);
	struct client ok = { .mechanism = "PLAIN", .authid = "juliet",
	    .password = "r0m30myr0m30", .authzid = "Juliet@Example.COM" };
	struct client bad = { .mechanism = "PLAIN", .authid = "juliet",
	    .password = "r0m30myr0m30", .authzid = "romeo@example.com" };

	ck_assert_success(run(server, &conn_tls, &ok), "juliet");
	ck_assert_failure(run(server, &conn_tls, &bad), SASL_COND_INVALID_AUTHZID);
	sasl_server_free(&server);
}
END_TEST

static struct sasl_reply plain_raw(struct sasl_server *server, const void *msg, size_t len)
{
	enum sasl_condition refused;
	struct sasl_session *s = sasl_session_start(server, "PLAIN", &conn_tls, &refused);
	struct sasl_reply r;
	static char reason[256];

	ck_assert_ptr_nonnull(s);
	sasl_session_step(s, msg, len, &r);
	if (r.reason) {
		copy_text(reason, sizeof(reason), r.reason, strlen(r.reason));
		r.reason = reason;
	}
	r.data = NULL;
	r.username = r.authzid = NULL;
	sasl_session_free(&s);
	return r;
}

START_TEST(test_plain_garbage_is_malformed_request)
{
	struct sasl_server *server = make_server(0, NULL);
	struct sasl_reply r;

	r = plain_raw(server, "juliet r0m30myr0m30", 19);   /* no NULs */
	ck_assert_int_eq(r.status, SASL_FAILURE);
	ck_assert_str_eq(sasl_condition_name(r.condition), "malformed-request");
	r = plain_raw(server, "\0juliet", 7);               /* one NUL */
	ck_assert_str_eq(sasl_condition_name(r.condition), "malformed-request");
	r = plain_raw(server, "\0juliet\0pw\0x", 12);       /* three NULs */
	ck_assert_str_eq(sasl_condition_name(r.condition), "malformed-request");
	r = plain_raw(server, "\0juliet\0\xff\xfe", 10);     /* not UTF-8 */
	ck_assert_str_eq(sasl_condition_name(r.condition), "malformed-request");
	ck_assert_int_eq(seen.lookups, 0);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_plain_lookup_tempfail_is_temporary_auth_failure)
{
	struct sasl_server *server = make_server(0, NULL);
	struct client cl = { .mechanism = "PLAIN", .authid = "juliet", .password = "r0m30myr0m30" };

	seen.tempfail = true;
	ck_assert_failure(run(server, &conn_tls, &cl), SASL_COND_TEMPORARY_AUTH_FAILURE);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_non_ascii_password_works_through_plain_and_scram)
{
	/* Stored from the precomposed form, typed in the decomposed one:
	 * SASLprep (NFKC) makes them the same password on both paths. */
	struct sasl_server *server = make_server(0, NULL);
	struct client plain = { .mechanism = "PLAIN", .authid = "umlaut", .password = PASSWORD_NFD };
	struct client plain_nfc = { .mechanism = "PLAIN", .authid = "umlaut",
	    .password = PASSWORD_NFC };
	struct client scram1 = { .mechanism = "SCRAM-SHA-1", .authid = "umlaut",
	    .password = PASSWORD_NFD };
	struct client scram256 = { .mechanism = "SCRAM-SHA-256", .authid = "umlaut",
	    .password = PASSWORD_NFC };
	struct client wrong = { .mechanism = "PLAIN", .authid = "umlaut", .password = "passwort" };

	ck_assert_success(run(server, &conn_tls, &plain), "umlaut");
	ck_assert_success(run(server, &conn_tls, &plain_nfc), "umlaut");
	ck_assert_success(run(server, &conn_tls, &scram1), "umlaut");
	ck_assert_success(run(server, &conn_tls, &scram256), "umlaut");
	ck_assert_failure(run(server, &conn_tls, &wrong), SASL_COND_NOT_AUTHORIZED);
	sasl_server_free(&server);
}
END_TEST

/* --- EXTERNAL -------------------------------------------------------------- */

START_TEST(test_external_accepted_by_policy_callback)
{
	struct sasl_server *server = make_server(ALL_MECHS, NULL);
	struct client cl = { .mechanism = "EXTERNAL" };
	struct outcome o = run(server, &conn_juliet_cert, &cl);

	ck_assert_success(o, "juliet");
	ck_assert_int_eq(seen.external_calls, 1);
	ck_assert_uint_eq(seen.external_nidentities, 1);
	ck_assert_str_eq(seen.external_authzid, "(none)");
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_external_passes_authzid_to_policy_callback)
{
	struct sasl_server *server = make_server(ALL_MECHS, NULL);
	struct client ok = { .mechanism = "EXTERNAL", .authzid = "juliet@" DOMAIN };
	struct client bad = { .mechanism = "EXTERNAL", .authzid = "romeo@" DOMAIN };
	struct outcome o = run(server, &conn_juliet_cert, &ok);

	ck_assert_success(o, "juliet");
	ck_assert_str_eq(o.authzid, "juliet@" DOMAIN);
	ck_assert_str_eq(seen.external_authzid, "juliet@" DOMAIN);
	ck_assert_failure(run(server, &conn_juliet_cert, &bad), SASL_COND_INVALID_AUTHZID);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_external_refused_by_policy_callback)
{
	struct sasl_server *server = make_server(ALL_MECHS, NULL);
	struct client cl = { .mechanism = "EXTERNAL" };
	struct outcome o = run(server, &conn_stranger_cert, &cl);

	ck_assert_failure(o, SASL_COND_NOT_AUTHORIZED);
	ck_assert_int_eq(seen.external_calls, 1);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_external_without_initial_response_asks_for_one)
{
	struct sasl_server *server = make_server(ALL_MECHS, NULL);
	enum sasl_condition refused;
	struct sasl_session *s = sasl_session_start(server, "EXTERNAL", &conn_juliet_cert,
	    &refused);
	struct sasl_reply r;

	sasl_session_step(s, NULL, 0, &r);       /* <auth mechanism='EXTERNAL'/> */
	ck_assert_int_eq(r.status, SASL_CONTINUE);
	ck_assert_uint_eq(r.len, 0);
	sasl_session_step(s, "", 0, &r);         /* <response>=</response> */
	ck_assert_int_eq(r.status, SASL_SUCCESS);
	ck_assert_str_eq(r.username, "juliet");
	ck_assert_ptr_null(r.authzid);
	sasl_session_free(&s);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_external_authzid_not_utf8_is_malformed_request)
{
	struct sasl_server *server = make_server(ALL_MECHS, NULL);
	enum sasl_condition refused;
	struct sasl_session *s = sasl_session_start(server, "EXTERNAL", &conn_juliet_cert,
	    &refused);
	struct sasl_reply r;

	step_text(s, "juliet\xc0\xaf@example.com", &r);   /* overlong '/' */
	ck_assert_int_eq(r.status, SASL_FAILURE);
	ck_assert_str_eq(sasl_condition_name(r.condition), "malformed-request");
	ck_assert_int_eq(seen.external_calls, 0);
	sasl_session_free(&s);
	sasl_server_free(&server);
}
END_TEST

/* --- offering and starting mechanisms ------------------------------------- */

static void assert_offered(const struct sasl_server *server, const struct sasl_connection *conn,
    const char *want)
{
	const char *names[SASL_MECH_COUNT];
	size_t n = sasl_server_mechanisms(server, conn, names);
	char got[256] = "";

	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(got, " ");
		strcat(got, names[i]);
	}
	ck_assert_str_eq(got, want);
}

START_TEST(test_mechanisms_offered_depend_on_connection)
{
	struct sasl_server *server = make_server(ALL_MECHS, NULL);
	struct sasl_server *no_external = make_server(0, NULL);
	const struct sasl_channel_binding odd[] = { { "tls-server-end-point", exporter_bytes, 32 } };
	struct sasl_connection cb_without_tls = conn_exporter;
	struct sasl_connection odd_binding = conn_tls;
	struct sasl_connection cert_no_cb = conn_stranger_cert;

	cb_without_tls.tls = false;
	odd_binding.bindings = odd;
	odd_binding.nbindings = 1;

	assert_offered(server, &conn_plaintext, "SCRAM-SHA-256 SCRAM-SHA-1");
	assert_offered(server, &conn_tls, "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN");
	assert_offered(server, &conn_exporter,
	    "SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS SCRAM-SHA-256 SCRAM-SHA-1 PLAIN");
	assert_offered(server, &conn_unique,
	    "SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS SCRAM-SHA-256 SCRAM-SHA-1 PLAIN");
	assert_offered(server, &conn_juliet_cert,
	    "SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS SCRAM-SHA-256 SCRAM-SHA-1 PLAIN EXTERNAL");
	assert_offered(server, &cert_no_cb, "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN EXTERNAL");
	assert_offered(no_external, &conn_juliet_cert,
	    "SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS SCRAM-SHA-256 SCRAM-SHA-1 PLAIN");
	assert_offered(server, &cb_without_tls, "SCRAM-SHA-256 SCRAM-SHA-1");
	assert_offered(server, &odd_binding, "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN");
	sasl_server_free(&server);
	sasl_server_free(&no_external);
}
END_TEST

START_TEST(test_mechanisms_offered_follow_configuration)
{
	struct sasl_server *server = make_server(SASL_MECH_BIT(SASL_MECH_SCRAM_SHA_256_PLUS) |
	    SASL_MECH_BIT(SASL_MECH_SCRAM_SHA_256), NULL);
	struct client cl = { .mechanism = "SCRAM-SHA-1", .authid = "juliet",
	    .password = "r0m30myr0m30" };

	assert_offered(server, &conn_exporter, "SCRAM-SHA-256-PLUS SCRAM-SHA-256");
	ck_assert_failure(run(server, &conn_exporter, &cl), SASL_COND_INVALID_MECHANISM);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_start_refuses_mechanisms_not_offered)
{
	struct sasl_server *server = make_server(ALL_MECHS, NULL);
	enum sasl_condition refused = SASL_COND_NONE;

	ck_assert_ptr_null(sasl_session_start(server, "PLAIN", &conn_plaintext, &refused));
	ck_assert_str_eq(sasl_condition_name(refused), "encryption-required");
	ck_assert_ptr_null(sasl_session_start(server, "SCRAM-SHA-256-PLUS", &conn_tls, &refused));
	ck_assert_str_eq(sasl_condition_name(refused), "invalid-mechanism");
	ck_assert_ptr_null(sasl_session_start(server, "EXTERNAL", &conn_exporter, &refused));
	ck_assert_str_eq(sasl_condition_name(refused), "invalid-mechanism");
	ck_assert_ptr_null(sasl_session_start(server, "DIGEST-MD5", &conn_tls, &refused));
	ck_assert_str_eq(sasl_condition_name(refused), "invalid-mechanism");
	ck_assert_ptr_null(sasl_session_start(server, "scram-sha-1", &conn_tls, &refused));
	ck_assert_str_eq(sasl_condition_name(refused), "invalid-mechanism");
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_server_config_is_checked)
{
	struct sasl_server_config cfg = { .lookup = test_lookup,
	    .mechanisms = ALL_MECHS };
	char err[ERRLEN] = "";

	ck_assert_ptr_null(sasl_server_new(&cfg, err, sizeof(err)));   /* EXTERNAL, no policy */
	ck_assert_ptr_nonnull(strstr(err, "EXTERNAL"));
	cfg.mechanisms = 0;
	cfg.lookup = NULL;
	ck_assert_ptr_null(sasl_server_new(&cfg, err, sizeof(err)));
	cfg.lookup = test_lookup;
	cfg.mechanisms = 1u << 20;
	ck_assert_ptr_null(sasl_server_new(&cfg, err, sizeof(err)));
}
END_TEST

START_TEST(test_step_after_finish_is_malformed_request)
{
	struct sasl_server *server = make_server(0, NULL);
	enum sasl_condition refused;
	struct sasl_session *s = sasl_session_start(server, "PLAIN", &conn_tls, &refused);
	struct sasl_reply r;

	sasl_session_step(s, "\0juliet\0r0m30myr0m30", 20, &r);
	ck_assert_int_eq(r.status, SASL_SUCCESS);
	ck_assert_uint_eq(r.len, 0);
	sasl_session_step(s, "\0juliet\0r0m30myr0m30", 20, &r);
	ck_assert_int_eq(r.status, SASL_FAILURE);
	ck_assert_str_eq(sasl_condition_name(r.condition), "malformed-request");
	sasl_session_free(&s);
	sasl_session_free(&s);    /* NULL-safe */
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_oversized_message_is_malformed_request)
{
	struct sasl_server *server = make_server(0, NULL);
	size_t len = 20000;
	char *big = malloc(len);
	struct sasl_reply r;

	memset(big, 'a', len);
	big[0] = '\0';
	big[10] = '\0';
	r = plain_raw(server, big, len);
	ck_assert_str_eq(sasl_condition_name(r.condition), "malformed-request");
	free(big);
	sasl_server_free(&server);
}
END_TEST

START_TEST(test_condition_names_round_trip)
{
	static const char *const names[] = {
		"aborted", "account-disabled", "credentials-expired", "encryption-required",
		"incorrect-encoding", "invalid-authzid", "invalid-mechanism", "malformed-request",
		"mechanism-too-weak", "not-authorized", "temporary-auth-failure",
	};

	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		int c = sasl_condition_from_name(names[i]);
		ck_assert_int_gt(c, 0);
		ck_assert_str_eq(sasl_condition_name((enum sasl_condition)c), names[i]);
	}
	ck_assert_int_eq(sasl_condition_from_name("bad-request"), -1);
	ck_assert_int_eq(sasl_condition_from_name(""), -1);
	ck_assert_int_eq(sasl_mechanism_from_name("SCRAM-SHA-1-PLUS"), SASL_MECH_SCRAM_SHA_1_PLUS);
	ck_assert_str_eq(sasl_mechanism_name(SASL_MECH_EXTERNAL), "EXTERNAL");
}
END_TEST

/* --- stored secrets ------------------------------------------------------- */

struct kat {
	enum scram_hash hash;
	const char *salt_b64;
	const char *stored_key_b64;
	const char *server_key_b64;
	const char *auth_message;     /* from the RFC's example exchange */
	const char *client_proof_b64;
	const char *server_signature_b64;
	const char *text;
};

/* RFC 5802 §5 (SHA-1) and RFC 7677 §3 (SHA-256): user "user", password
 * "pencil", i=4096. StoredKey/ServerKey are not printed in the RFCs; they
 * are checked below against the RFCs' ClientProof and ServerSignature. */
static const struct kat kats[] = {
	{
		SCRAM_HASH_SHA1, "QSXCR+Q6sek8bf92",
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=", "D+CSWLOshSulAsxiupA+qs2/fTE=",
		"n=user,r=fyko+d2lbbFgONRv9qkxdawL,"
		"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096,"
		"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
		"v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:"
		"D+CSWLOshSulAsxiupA+qs2/fTE=",
	},
	{
		SCRAM_HASH_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==",
		"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=",
		"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		"n=user,r=rOprNGfwEbeRWgbNEkqO,"
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
		"i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
		"dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
		"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
		"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	},
};

static size_t decode(const char *b64, uint8_t *out, size_t max)
{
	char *bin = NULL;
	size_t len = 0;

	ck_assert_int_eq(gsasl_base64_from(b64, strlen(b64), &bin, &len), GSASL_OK);
	ck_assert_uint_le(len, max);
	memcpy(out, bin, len);
	gsasl_free(bin);
	return len;
}

START_TEST(test_secrets_match_rfc_known_answers)
{
	const struct kat *k = &kats[_i];
	const EVP_MD *md = k->hash == SCRAM_HASH_SHA1 ? EVP_sha1() : EVP_sha256();
	size_t hlen = scram_hash_len(k->hash);
	uint8_t salt[64], want[SCRAM_HASH_MAX_LEN], proof[SCRAM_HASH_MAX_LEN];
	uint8_t sig[EVP_MAX_MD_SIZE], client_key[SCRAM_HASH_MAX_LEN], stored[EVP_MAX_MD_SIZE];
	size_t salt_len = decode(k->salt_b64, salt, sizeof(salt));
	struct scram_secrets s;
	char err[ERRLEN], text[SCRAM_SECRETS_TEXT_MAX];
	unsigned int n;

	ck_assert_int_eq(scram_secrets_from_password(k->hash, "pencil", 4096, salt, salt_len,
	    &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.iterations, 4096);
	ck_assert_uint_eq(s.salt_len, salt_len);
	decode(k->stored_key_b64, want, sizeof(want));
	ck_assert_mem_eq(s.stored_key, want, hlen);
	decode(k->server_key_b64, want, sizeof(want));
	ck_assert_mem_eq(s.server_key, want, hlen);

	/* ServerSignature := HMAC(ServerKey, AuthMessage) is the RFC's v=. */
	HMAC(md, s.server_key, (int)hlen, (const uint8_t *)k->auth_message,
	    strlen(k->auth_message), sig, &n);
	decode(k->server_signature_b64, want, sizeof(want));
	ck_assert_mem_eq(sig, want, hlen);

	/* The RFC's ClientProof verifies against StoredKey:
	 * H(ClientProof XOR HMAC(StoredKey, AuthMessage)) == StoredKey. */
	HMAC(md, s.stored_key, (int)hlen, (const uint8_t *)k->auth_message,
	    strlen(k->auth_message), sig, &n);
	decode(k->client_proof_b64, proof, sizeof(proof));
	for (size_t i = 0; i < hlen; i++)
		client_key[i] = proof[i] ^ sig[i];
	EVP_Digest(client_key, hlen, stored, &n, md, NULL);
	ck_assert_mem_eq(stored, s.stored_key, hlen);

	ck_assert_int_eq(scram_secrets_format(&s, text, sizeof(text), err, sizeof(err)), 0);
	ck_assert_str_eq(text, k->text);
	ck_assert(scram_secrets_check_password(&s, "pencil"));
	ck_assert(!scram_secrets_check_password(&s, "pencil "));
	ck_assert(!scram_secrets_check_password(&s, ""));
}
END_TEST

START_TEST(test_secrets_text_form_round_trips)
{
	for (int h = 0; h < SCRAM_HASH_COUNT; h++) {
		struct scram_secrets s, back;
		char err[ERRLEN], text[SCRAM_SECRETS_TEXT_MAX], again[SCRAM_SECRETS_TEXT_MAX];

		ck_assert_int_eq(scram_secrets_from_password((enum scram_hash)h, PASSWORD_NFC,
		    0, NULL, 0, &s, err, sizeof(err)), 0);
		ck_assert_uint_eq(s.iterations, SCRAM_DEFAULT_ITERATIONS);
		ck_assert_uint_eq(s.salt_len, SCRAM_SALT_LEN);
		ck_assert_int_eq(scram_secrets_format(&s, text, sizeof(text), err, sizeof(err)), 0);
		ck_assert_msg(scram_secrets_parse(text, &back, err, sizeof(err)) == 0, "%s: %s",
		    text, err);
		ck_assert_int_eq(back.hash, s.hash);
		ck_assert_uint_eq(back.iterations, s.iterations);
		ck_assert_uint_eq(back.salt_len, s.salt_len);
		ck_assert_mem_eq(back.salt, s.salt, s.salt_len);
		ck_assert_mem_eq(back.stored_key, s.stored_key, scram_hash_len(s.hash));
		ck_assert_mem_eq(back.server_key, s.server_key, scram_hash_len(s.hash));
		ck_assert_int_eq(scram_secrets_format(&back, again, sizeof(again), err,
		    sizeof(err)), 0);
		ck_assert_str_eq(again, text);
		ck_assert(scram_secrets_check_password(&back, PASSWORD_NFD));
	}
}
END_TEST

START_TEST(test_secrets_parse_rejects_bad_text)
{
	static const char *const bad[] = {
		"",
		"SCRAM-SHA-1",
		"SCRAM-SHA-512$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$0:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$04096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$-4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$99999999999:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$4096:$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf9$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		/* a SHA-256-sized key under SHA-1 */
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE= ",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=:",
		/* non-canonical base64 (trailing bits set) */
		"SCRAM-SHA-1$4096:QR==$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
		"scram-sha-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
	};

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct scram_secrets s;
		char err[ERRLEN] = "";

		ck_assert_msg(scram_secrets_parse(bad[i], &s, err, sizeof(err)) == -1,
		    "accepted: %s", bad[i]);
		ck_assert_msg(err[0] != '\0', "no reason for: %s", bad[i]);
	}
}
END_TEST

START_TEST(test_secrets_derivation_refuses_bad_input)
{
	struct scram_secrets s;
	char err[ERRLEN];
	uint8_t salt[SCRAM_SALT_MAX_LEN + 1] = { 0 };

	ck_assert_int_eq(scram_secrets_from_password(SCRAM_HASH_SHA256, "", 0, NULL, 0, &s,
	    err, sizeof(err)), -1);
	ck_assert_int_eq(scram_secrets_from_password(SCRAM_HASH_SHA256, "pw\x07", 0, NULL, 0, &s,
	    err, sizeof(err)), -1);                              /* control character */
	ck_assert_int_eq(scram_secrets_from_password(SCRAM_HASH_SHA256, "pw\xff", 0, NULL, 0, &s,
	    err, sizeof(err)), -1);                              /* not UTF-8 */
	ck_assert_int_eq(scram_secrets_from_password(SCRAM_HASH_SHA256, "pencil", 1000, NULL, 0,
	    &s, err, sizeof(err)), -1);                          /* too few rounds */
	ck_assert_int_eq(scram_secrets_from_password(SCRAM_HASH_SHA256, "pencil", 0, salt,
	    sizeof(salt), &s, err, sizeof(err)), -1);            /* salt too long */
	ck_assert_int_eq(scram_secrets_from_password((enum scram_hash)7, "pencil", 0, NULL, 0,
	    &s, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_secrets_random_salts_differ)
{
	struct scram_secrets a, b;
	char err[ERRLEN];

	ck_assert_int_eq(scram_secrets_from_password(SCRAM_HASH_SHA1, "pencil", 0, NULL, 0, &a,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(scram_secrets_from_password(SCRAM_HASH_SHA1, "pencil", 0, NULL, 0, &b,
	    err, sizeof(err)), 0);
	ck_assert_mem_ne(a.salt, b.salt, SCRAM_SALT_LEN);
	ck_assert_mem_ne(a.stored_key, b.stored_key, 20);
	ck_assert(scram_secrets_check_password(&a, "pencil"));
	ck_assert(scram_secrets_check_password(&b, "pencil"));
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("sasl");
	TCase *scram = tcase_create("scram");
	TCase *plain = tcase_create("plain");
	TCase *external = tcase_create("external");
	TCase *offer = tcase_create("offer");
	TCase *secrets = tcase_create("secrets");

	tcase_add_test(scram, test_scram_sha1_logs_in_with_right_password);
	tcase_add_test(scram, test_scram_sha256_logs_in_with_right_password);
	tcase_add_test(scram, test_scram_sha256_works_without_tls);
	tcase_add_test(scram, test_scram_sha1_plus_binds_to_tls_exporter);
	tcase_add_test(scram, test_scram_sha256_plus_binds_to_tls_exporter);
	tcase_add_test(scram, test_scram_sha1_plus_binds_to_tls_unique);
	tcase_add_test(scram, test_scram_sha256_plus_binds_to_tls_unique);
	tcase_add_test(scram, test_scram_plus_client_first_names_the_binding_type);
	tcase_add_loop_test(scram, test_scram_wrong_password_is_not_authorized, 0,
	    (int)ARRAY_LEN(scram_mechs));
	tcase_add_test(scram, test_scram_plus_with_other_connections_binding_is_not_authorized);
	tcase_add_test(scram,
	    test_scram_plus_with_binding_type_the_connection_lacks_is_not_authorized);
	tcase_add_test(scram, test_scram_y_flag_when_plus_was_offered_is_a_downgrade);
	tcase_add_test(scram, test_scram_y_flag_without_plus_offered_is_fine);
	tcase_add_test(scram, test_scram_p_flag_with_non_plus_mechanism_is_not_authorized);
	tcase_add_test(scram, test_scram_plus_without_channel_binding_flag_is_not_authorized);
	tcase_add_test(scram, test_scram_unknown_user_goes_through_the_motions);
	tcase_add_test(scram, test_scram_fake_salts_differ_per_user_and_per_secret);
	tcase_add_test(scram, test_scram_fake_salt_ignores_the_case_of_the_name);
	tcase_add_test(scram, test_scram_user_without_secrets_for_the_hash_fails_like_unknown);
	tcase_add_test(scram, test_scram_lookup_tempfail_is_temporary_auth_failure);
	tcase_add_test(scram, test_scram_username_escapes_are_decoded_for_lookup);
	tcase_add_test(scram, test_scram_reports_canonical_username_from_lookup);
	tcase_add_test(scram, test_scram_authzid_own_bare_jid_is_accepted);
	tcase_add_test(scram, test_scram_authzid_of_another_user_is_invalid_authzid);
	tcase_add_test(scram, test_scram_garbled_client_first_is_malformed_request);
	tcase_add_test(scram, test_scram_garbled_client_final_is_malformed_request);
	tcase_add_test(scram, test_scram_without_initial_response_asks_with_empty_challenge);
	tcase_add_test(scram, test_account_status_is_reported_only_with_right_password);
	tcase_add_checked_fixture(scram, reset_seen, NULL);
	suite_add_tcase(s, scram);

	tcase_add_test(plain, test_plain_right_password_logs_in);
	tcase_add_test(plain, test_plain_wrong_password_is_not_authorized);
	tcase_add_test(plain, test_plain_unknown_user_is_not_authorized);
	tcase_add_test(plain, test_plain_falls_back_to_sha1_secrets);
	tcase_add_test(plain, test_plain_authzid_of_another_user_is_invalid_authzid);
	tcase_add_test(plain, test_plain_authzid_full_jid_is_invalid_authzid);
	tcase_add_test(plain, test_plain_authzid_own_bare_jid_is_accepted);
	tcase_add_test(plain, test_plain_authzid_goes_through_authorize_callback);
	tcase_add_test(plain, test_plain_garbage_is_malformed_request);
	tcase_add_test(plain, test_plain_lookup_tempfail_is_temporary_auth_failure);
	tcase_add_test(plain, test_non_ascii_password_works_through_plain_and_scram);
	tcase_add_checked_fixture(plain, reset_seen, NULL);
	suite_add_tcase(s, plain);

	tcase_add_test(external, test_external_accepted_by_policy_callback);
	tcase_add_test(external, test_external_passes_authzid_to_policy_callback);
	tcase_add_test(external, test_external_refused_by_policy_callback);
	tcase_add_test(external, test_external_without_initial_response_asks_for_one);
	tcase_add_test(external, test_external_authzid_not_utf8_is_malformed_request);
	tcase_add_checked_fixture(external, reset_seen, NULL);
	suite_add_tcase(s, external);

	tcase_add_test(offer, test_mechanisms_offered_depend_on_connection);
	tcase_add_test(offer, test_mechanisms_offered_follow_configuration);
	tcase_add_test(offer, test_start_refuses_mechanisms_not_offered);
	tcase_add_test(offer, test_server_config_is_checked);
	tcase_add_test(offer, test_step_after_finish_is_malformed_request);
	tcase_add_test(offer, test_oversized_message_is_malformed_request);
	tcase_add_test(offer, test_condition_names_round_trip);
	tcase_add_checked_fixture(offer, reset_seen, NULL);
	suite_add_tcase(s, offer);

	tcase_add_loop_test(secrets, test_secrets_match_rfc_known_answers, 0,
	    (int)ARRAY_LEN(kats));
	tcase_add_test(secrets, test_secrets_text_form_round_trips);
	tcase_add_test(secrets, test_secrets_parse_rejects_bad_text);
	tcase_add_test(secrets, test_secrets_derivation_refuses_bad_input);
	tcase_add_test(secrets, test_secrets_random_salts_differ);
	tcase_add_checked_fixture(secrets, reset_seen, NULL);
	suite_add_tcase(s, secrets);
	return s;
}
