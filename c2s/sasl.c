/*
 * sasl.c — SASL for a client, relayed to parley-auth (RFC 6120 §6): the
 * mechanisms offered on this connection, <auth/>, <response/> and <abort/>
 * turned into SASL_START / SASL_STEP frames (with every channel binding
 * the TLS connection has, and the client's certificate when EXTERNAL is
 * on), and auth's SASL_STEP / SASL_RESULT turned into <challenge/>,
 * <success/> and <failure/>. No credential ever passes through here in a
 * form c2s could check: c2s only decodes base64 and carries bytes.
 *
 * When auth is not bound, or does not answer within c2s.sasl_timeout, or
 * the router cannot reach it, the client gets temporary-auth-failure.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "c2s.h"
#include "log.h"

#define SASL_DATA_MAX (16 * 1024)

static unsigned bindings(const struct client *c)
{
	if (c->tls == NULL || !c->tls_on)
		return 0;
	return tls_channel_bindings_available(c->tls) &
	    ((1u << TLS_CB_UNIQUE) | (1u << TLS_CB_EXPORTER));
}

static bool offered(const struct client *c, const char *mech);

/* XEP-0440 is advertised only when a -PLUS mechanism is offered. auth
 * gets every binding whatever is offered (it tells TLS from their presence;
 * judging a client's "y" flag against what c2s offered is its business). */
static bool plus_offered(const struct client *c)
{
	const struct c2s_config *cfg = &c->c2s->cfg;

	for (size_t i = 0; i < cfg->nmechs; i++) {
		size_t n = strlen(cfg->mechs[i]);
		if (n > 5 && strcmp(cfg->mechs[i] + n - 5, "-PLUS") == 0 && offered(c, cfg->mechs[i]))
			return true;
	}
	return false;
}

/* EXTERNAL only for a certificate that chains to tls.ca_file/ca_path: auth
 * then decides whose it is from its xmppAddr (RFC 6120 §13.7.1.4). */
static bool external_ok(const struct client *c)
{
	return c->c2s->cfg.sasl_external && c->tls_on && tls_peer_has_certificate(c->tls) &&
	    tls_peer_verified(c->tls, NULL, 0);
}

static bool offered(const struct client *c, const char *mech)
{
	size_t n = strlen(mech);
	bool plus = n > 5 && strcmp(mech + n - 5, "-PLUS") == 0;

	if (strcmp(mech, "EXTERNAL") == 0)
		return external_ok(c);
	if (plus && bindings(c) == 0)
		return false;
	if (strcmp(mech, "PLAIN") == 0 && !c->tls_on)
		return false;
	return true;
}

void sasl_mechanisms_feature(struct client *c, struct buf *out)
{
	const struct c2s_config *cfg = &c->c2s->cfg;
	unsigned cb = bindings(c);

	buf_appendf(out, "<mechanisms xmlns='%s'>", NS_SASL);
	for (size_t i = 0; i < cfg->nmechs; i++)
		if (offered(c, cfg->mechs[i]))
			buf_appendf(out, "<mechanism>%s</mechanism>", cfg->mechs[i]);
	if (external_ok(c))
		buf_append_str(out, "<mechanism>EXTERNAL</mechanism>");
	buf_append_str(out, "</mechanisms>");
	if (cb == 0 || !plus_offered(c))
		return;
	/* XEP-0440: which bindings a -PLUS client may pick. */
	buf_appendf(out, "<sasl-channel-binding xmlns='%s'>", NS_SASL_CB);
	for (int t = 0; t < TLS_CB_COUNT; t++)
		if (cb & (1u << t))
			buf_appendf(out, "<channel-binding type='%s'/>",
			    tls_channel_binding_name((enum tls_channel_binding)t));
	buf_append_str(out, "</sasl-channel-binding>");
}

static void failure(struct client *c, const char *condition, const char *text)
{
	struct stanza *st = stanza_new(NS_SASL, "failure");

	stanza_add_child(st, 0, NS_SASL, condition);
	if (text != NULL && *text != '\0')
		stanza_add_child_text(st, 0, NS_SASL, "text", text);
	client_write_stanza(c, st);
	stanza_free(&st);
	log_info("%s: SASL failure %s%s%s", c->addr, condition, c->host ? " for " : "",
	    c->host ? c->host : "");
	if (strcmp(condition, "aborted") != 0 && strcmp(condition, "temporary-auth-failure") != 0 &&
	    ++c->auth_failures >= c->c2s->cfg.max_auth_failures)
		stream_error(c, "policy-violation", "too many failed authentication attempts");
}

static void end_exchange(struct client *c)
{
	c->sasl_active = false;
	loop_timer_cancel(c->c2s->loop, &c->wait_timer);
	client_release(c, HOLD_AUTH);
}

static void wait_cb(struct loop *loop, void *arg)
{
	struct client *c = arg;

	(void)loop;
	c->wait_timer = NULL;
	if (c->sasl_active)
		sasl_wait_expired(c);
	else if (c->bind_id != NULL)
		session_bind_expired(c);
}

static void start_wait(struct client *c, uint64_t ms)
{
	loop_timer_cancel(c->c2s->loop, &c->wait_timer);
	c->wait_timer = loop_timer_add(c->c2s->loop, ms, wait_cb, c);
}

void c2s_wait(struct client *c, uint64_t ms)
{
	start_wait(c, ms);
}

/* The element's text as SASL data: absent (no text), empty ("=") or bytes.
 * Returns -1 on bad base64. */
static int decode(const struct stanza *st, unsigned char **data, size_t *len, bool *present)
{
	const char *text = stanza_text(st, 0);
	size_t n = stanza_text_len(st, 0);

	*data = NULL;
	*len = 0;
	*present = n > 0;
	if (n == 0 || (n == 1 && text[0] == '='))
		return 0;
	if (n > SASL_DATA_MAX)
		return -1;
	*data = xmalloc(n / 4 * 3 + 1);
	ssize_t r = base64_decode(text, n, *data);
	if (r < 0) {
		free(*data);
		*data = NULL;
		return -1;
	}
	*len = (size_t)r;
	return 0;
}

static void put_bindings(struct client *c, struct buf *b)
{
	unsigned cb = bindings(c);
	unsigned char data[TLS_CB_MAX];
	char err[ERRLEN];
	size_t len;

	for (int t = 0; t < TLS_CB_COUNT; t++) {
		if (!(cb & (1u << t)) ||
		    tls_channel_binding(c->tls, (enum tls_channel_binding)t, data, sizeof(data), &len,
		    err, sizeof(err)) < 0)
			continue;
		frame_put_str(b, FRAME_TAG_CB_TYPE, tls_channel_binding_name((enum tls_channel_binding)t));
		frame_put(b, FRAME_TAG_CB_DATA, data, len);
	}
	/* Not advertised, but honoured: see c2s.sasl_tls13_unique_compat. */
	if (c->tls != NULL && c->tls_on && c->c2s->cfg.tls13_unique_compat && !(cb & (1u << TLS_CB_UNIQUE)) &&
	    tls_legacy_unique_tls13(c->tls, data, sizeof(data), &len, err, sizeof(err)) == 0) {
		frame_put_str(b, FRAME_TAG_CB_TYPE, tls_channel_binding_name(TLS_CB_UNIQUE));
		frame_put(b, FRAME_TAG_CB_DATA, data, len);
	}
}

static void put_peer_cert(struct client *c, struct buf *b)
{
	X509 *x = SSL_get1_peer_certificate(tls_conn_ssl(c->tls));
	unsigned char *der = NULL;
	int n;

	if (x == NULL)
		return;
	n = i2d_X509(x, &der);
	if (n > 0 && n <= 65536)
		frame_put(b, FRAME_TAG_PEER_CERT, der, (size_t)n);
	OPENSSL_free(der);
	X509_free(x);
}

static void auth_start(struct client *c, const struct stanza *st)
{
	struct c2s *c2s = c->c2s;
	const char *mech = stanza_get_attr(st, 0, "mechanism");
	unsigned char *data;
	size_t len, start;
	bool present;
	char err[ERRLEN];

	if (!c->tls_on && c2s->cfg.require_tls) {
		failure(c, "encryption-required", NULL);
		return;
	}
	if (mech == NULL || !offered(c, mech) || !(strcmp(mech, "EXTERNAL") == 0 ||
	    strlen(mech) <= 20)) {
		failure(c, "invalid-mechanism", NULL);
		return;
	}
	bool listed = strcmp(mech, "EXTERNAL") == 0;
	for (size_t i = 0; i < c2s->cfg.nmechs && !listed; i++)
		listed = strcmp(c2s->cfg.mechs[i], mech) == 0;
	if (!listed) {
		failure(c, "invalid-mechanism", NULL);
		return;
	}
	if (decode(st, &data, &len, &present) < 0) {
		failure(c, "incorrect-encoding", NULL);
		return;
	}
	if (!c2s->auth_up) {
		free(data);
		failure(c, "temporary-auth-failure", NULL);
		return;
	}
	struct buf *b = router_link_begin(c2s->link, FRAME_SASL_START, 0, &start);
	frame_put_str(b, FRAME_TAG_FROM, c2s->name);
	frame_put_str(b, FRAME_TAG_TO, "auth");
	frame_put_str(b, FRAME_TAG_SESSION_ID, c->sid);
	frame_put_str(b, FRAME_TAG_HOST, c->host);
	frame_put_str(b, FRAME_TAG_MECHANISM, mech);
	if (present)
		frame_put(b, FRAME_TAG_SASL_DATA, data, len);
	put_bindings(c, b);
	frame_put_str(b, FRAME_TAG_CLIENT_ADDR, c->addr);
	if (strcmp(mech, "EXTERNAL") == 0)
		put_peer_cert(c, b);
	free(data);
	if (router_link_end(c2s->link, start, NULL, err, sizeof(err)) < 0) {
		log_warn("%s: SASL_START not sent: %s", c->addr, err);
		failure(c, "temporary-auth-failure", NULL);
		return;
	}
	c->sasl_active = true;
	client_hold(c, HOLD_AUTH);
	start_wait(c, c2s->cfg.sasl_timeout_ms);
}

static int step(struct client *c, const unsigned char *data, size_t len, bool abort)
{
	struct c2s *c2s = c->c2s;
	size_t start;
	char err[ERRLEN];
	struct buf *b = router_link_begin(c2s->link, FRAME_SASL_STEP, abort ? FRAME_F_ABORT : 0,
	    &start);

	frame_put_str(b, FRAME_TAG_FROM, c2s->name);
	frame_put_str(b, FRAME_TAG_TO, "auth");
	frame_put_str(b, FRAME_TAG_SESSION_ID, c->sid);
	if (!abort)
		frame_put(b, FRAME_TAG_SASL_DATA, data, len);
	if (router_link_end(c2s->link, start, NULL, err, sizeof(err)) < 0) {
		log_warn("%s: SASL_STEP not sent: %s", c->addr, err);
		return -1;
	}
	return 0;
}

void sasl_handle(struct client *c, struct stanza *st)
{
	unsigned char *data;
	size_t len;
	bool present;

	if (stanza_is(st, 0, NS_SASL, "auth")) {
		if (c->sasl_active) {
			(void)step(c, NULL, 0, true);
			end_exchange(c);
			failure(c, "malformed-request", "an exchange is already going on");
			return;
		}
		auth_start(c, st);
		return;
	}
	if (stanza_is(st, 0, NS_SASL, "response")) {
		if (!c->sasl_active) {
			failure(c, "malformed-request", NULL);
			return;
		}
		if (decode(st, &data, &len, &present) < 0) {
			(void)step(c, NULL, 0, true);
			end_exchange(c);
			failure(c, "incorrect-encoding", NULL);
			return;
		}
		int rc = step(c, data, len, false);
		free(data);
		if (rc < 0 || !c->c2s->auth_up) {
			sasl_fail_temporary(c);
			return;
		}
		client_hold(c, HOLD_AUTH);
		start_wait(c, c->c2s->cfg.sasl_timeout_ms);
		return;
	}
	if (stanza_is(st, 0, NS_SASL, "abort")) {
		if (!c->sasl_active) {
			failure(c, "aborted", NULL);
			return;
		}
		if (step(c, NULL, 0, true) < 0) {
			end_exchange(c);
			failure(c, "aborted", NULL);
			return;
		}
		client_hold(c, HOLD_AUTH);
		start_wait(c, c->c2s->cfg.sasl_timeout_ms);
		return;
	}
	stream_error(c, "unsupported-stanza-type", NULL);
}

void sasl_fail_temporary(struct client *c)
{
	if (!c->sasl_active)
		return;
	end_exchange(c);
	failure(c, "temporary-auth-failure", NULL);
}

void sasl_wait_expired(struct client *c)
{
	log_warn("%s: auth did not answer within c2s.sasl_timeout", c->addr);
	if (c->c2s->auth_up)
		(void)step(c, NULL, 0, true);
	sasl_fail_temporary(c);
}

static void success(struct client *c, const struct frame *f)
{
	const char *jidstr = frame_get_str(f, FRAME_TAG_JID, NULL);
	const void *data = NULL;
	size_t len = 0;
	struct jid *jid = NULL;
	char err[ERRLEN];

	if (jidstr == NULL || jid_parse(&jid, jidstr, strlen(jidstr), err, sizeof(err)) < 0 ||
	    !jid_is_bare(jid) || jid_localpart(jid) == NULL ||
	    strcmp(jid_domainpart(jid), c->host) != 0) {
		log_error("%s: auth's success names no usable JID (%s): refused", c->addr,
		    jidstr != NULL ? jidstr : "none");
		jid_free(&jid);
		sasl_fail_temporary(c);
		return;
	}
	(void)frame_get(f, FRAME_TAG_SASL_DATA, &data, &len);
	struct buf b = BUF_INIT;
	buf_appendf(&b, "<success xmlns='%s'>", NS_SASL);
	if (len > 0)
		base64_encode(data, len, &b);
	buf_append_str(&b, "</success>");
	client_write(c, buf_head(&b), buf_used(&b));
	buf_free(&b);
	jid_free(&c->jid);
	c->jid = jid;
	c->stage = STAGE_AUTHED;
	log_info("%s: authenticated as %s", c->addr, jid_bare_str(jid));
	stream_restart(c);
	end_exchange(c);
}

void sasl_frame(struct client *c, const struct frame *f)
{
	const void *data = NULL;
	size_t len = 0;
	uint32_t status = 0;

	if (!c->sasl_active || c->phase != PHASE_STREAM)
		return;
	if (f->type == FRAME_SASL_STEP) {
		(void)frame_get(f, FRAME_TAG_SASL_DATA, &data, &len);
		struct buf b = BUF_INIT;
		buf_appendf(&b, "<challenge xmlns='%s'>", NS_SASL);
		if (len > 0)
			base64_encode(data, len, &b);
		else
			buf_append_str(&b, "=");
		buf_append_str(&b, "</challenge>");
		client_write(c, buf_head(&b), buf_used(&b));
		buf_free(&b);
		loop_timer_cancel(c->c2s->loop, &c->wait_timer);
		client_release(c, HOLD_AUTH);
		return;
	}
	(void)frame_get_u32(f, FRAME_TAG_STATUS, &status);
	if (status == FRAME_SASL_SUCCESS) {
		success(c, f);
		return;
	}
	const char *cond = frame_sasl_status_name(status);
	if (status > FRAME_SASL_TEMPORARY_AUTH_FAILURE)
		cond = "not-authorized";
	end_exchange(c);
	failure(c, cond, frame_get_str(f, FRAME_TAG_TEXT, NULL));
}
