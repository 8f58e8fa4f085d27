/*
 * in.c — incoming federation streams, as the receiving server: the reply
 * to the stream header (a fresh unpredictable id), the features (STARTTLS,
 * required when s2s.require_tls; then SASL EXTERNAL when the peer's
 * certificate authenticates the stream's `from`, and dialback), and what
 * each top-level element means:
 *
 *   <auth mechanism='EXTERNAL'/>  the certificate speaks for `from`: the
 *       pair (from, to) is verified on this connection, a new stream follows; *
 *   <db:result from to>KEY</db:result>  a server claims to be `from`: we
 *       ask `from`'s authoritative server (out_verify) and answer valid or
 *       invalid; only then are stanzas from that domain to that one of
 *       ours accepted on this stream;
 *   <db:verify from to id>KEY</db:verify>  another server asks us, the
 *       authoritative server of `to`, whether KEY is ours: we recompute it;
 *   message, presence, iq  accepted only for a verified pair, translated
 *       to jabber:client and handed to the router (link.c). A `to` or
 *       `from` missing, empty or not a JID is <improper-addressing/>, a
 *       `to` we do not host <host-unknown/>, a `from` not verified on
 *       this stream <invalid-from/> (RFC 6120 §4.9.3).
 *
 * A connection has s2s.negotiation_timeout to get a domain pair verified
 * (by either method); one that has not by then is <connection-timeout/>,
 * so that a peer cannot hold a connection (and a slot of
 * s2s.max_connections_per_address) until s2s.idle_timeout by saying
 * nothing, or nothing useful.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "jid.h"
#include "log.h"
#include "s2s.h"

static void negotiation_cb(struct loop *loop, void *arg)
{
	struct conn *c = arg;

	(void)loop;
	c->negotiation_timer = NULL;
	if (c->phase == PHASE_CLOSING)
		return;
	log_info("%s: no domain authenticated within %llu s (s2s.negotiation_timeout): closing",
	    c->addr, (unsigned long long)(c->s2s->cfg.negotiation_timeout_ms / 1000));
	if (c->phase == PHASE_STREAM && !c->starttls_pending) {
		conn_stream_error(c, "connection-timeout", NULL);
	} else {
		/* Mid-TLS handshake: there is no stream to say it on. */
		conn_close(c, "s2s.negotiation_timeout");
		c->broken = true;
	}
}

void in_started(struct conn *c)
{
	c->negotiation_timer = loop_timer_add(c->s2s->loop, c->s2s->cfg.negotiation_timeout_ms,
	    negotiation_cb, c);
}

/* A pair is verified on c: it has negotiated, the deadline is off. */
static void negotiated(struct conn *c)
{
	loop_timer_cancel(c->s2s->loop, &c->negotiation_timer);
}

static void send_features(struct conn *c)
{
	struct buf b = BUF_INIT;
	bool tls_needed = !c->tls_on && c->s2s->cfg.require_tls;

	buf_append_str(&b, "<stream:features>");
	if (!c->tls_on)
		buf_appendf(&b, "<starttls xmlns='%s'>%s</starttls>", NS_TLS,
		    tls_needed ? "<required/>" : "");
	/* XEP-0178: EXTERNAL only when the certificate already proves the
	 * stream's `from`, so that offering it promises success. */
	if (c->tls_on && !c->sasl_done && c->cert_ok)
		buf_appendf(&b, "<mechanisms xmlns='%s'><mechanism>EXTERNAL</mechanism>"
		    "</mechanisms>", NS_SASL);
	if (!tls_needed)
		buf_appendf(&b, "<dialback xmlns='%s'><errors/></dialback>", NS_DIALBACK_FEATURE);
	buf_append_str(&b, "</stream:features>");
	conn_write(c, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

static bool prep_domain(const char *in, char out[JID_PART_BUFSIZE])
{
	char why[ERRLEN];

	return in != NULL && jid_prep_domainpart(in, strlen(in), out, why, sizeof(why)) == 0;
}

/* Once per connection, at the first stream header under TLS: does the
 * peer's certificate authenticate the domain in its `from`? false when the
 * stream was refused for it (s2s.require_valid_certificates). */
static bool check_certificate(struct conn *c)
{
	char why[ERRLEN];

	c->cert_checked = true;
	c->cert_ok = tls_peer_authenticates_domain(c->tls, c->remote, why, sizeof(why));
	log_info("%s: certificate %s %s%s%s", c->addr, c->cert_ok ? "authenticates" :
	    "does not authenticate", c->remote, c->cert_ok ? "" : ": ", c->cert_ok ? "" : why);
	if (!c->cert_ok && c->s2s->cfg.require_valid_certs) {
		char text[ERRLEN + 96];
		snprintf(text, sizeof(text), "the certificate does not authenticate %s (%s); "
		    "this server requires one that does", c->remote, why);
		conn_stream_error(c, "policy-violation", text);
		return false;
	}
	return true;
}

static void open_cb(void *arg, const struct xml_stream_header *h)
{
	struct conn *c = arg;
	struct s2s *s2s = c->s2s;
	char to[JID_PART_BUFSIZE], from[JID_PART_BUFSIZE];
	bool known = prep_domain(h->to, to) && s2s_hosts(s2s, to);

	if (known && c->local == NULL)
		c->local = xstrdup(to);
	free(c->remote);
	c->remote = prep_domain(h->from, from) ? xstrdup(from) : NULL;
	c->version1 = h->version != NULL && atoi(h->version) >= 1;
	conn_send_header(c, c->local != NULL ? c->local : s2s->cfg.hosts[0], c->remote, true);
	if (h->content_ns == NULL || strcmp(h->content_ns, NS_SERVER) != 0) {
		conn_stream_error(c, "invalid-namespace", NULL);
		return;
	}
	if (h->to != NULL && !known) {
		conn_stream_error(c, "host-unknown", NULL);
		return;
	}
	if (c->tls_on && c->remote != NULL && !c->cert_checked && !check_certificate(c))
		return;
	if (c->version1)
		send_features(c);
}

static struct in_pair *find_pair(struct conn *c, const char *from, const char *to)
{
	for (size_t i = 0; i < c->npairs; i++)
		if (strcmp(c->pairs[i].from, from) == 0 && strcmp(c->pairs[i].to, to) == 0)
			return &c->pairs[i];
	return NULL;
}

static size_t pending_pairs(const struct conn *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->npairs; i++)
		n += !c->pairs[i].valid;
	return n;
}

static void answer_result(struct conn *c, const char *from, const char *to, const char *type,
    const char *error)
{
	struct stanza *st = stanza_new(NS_DIALBACK, "db:result");

	stanza_set_from(st, from);
	stanza_set_to(st, to);
	stanza_set_type(st, type);
	if (error != NULL) {
		/* XEP-0220 §2.4: <error/> in the stream's namespace. */
		int e = stanza_add_child(st, 0, NS_SERVER, "error");
		stanza_set_attr(st, e, "type", "cancel");
		stanza_add_child(st, e, NS_STANZAS, error);
	}
	conn_write_stanza(c, st);
	stanza_free(&st);
}

/* <db:result/>: the peer claims `from`; ask its authoritative server. */
static void result(struct conn *c, const struct stanza *st)
{
	struct s2s *s2s = c->s2s;
	char from[JID_PART_BUFSIZE], to[JID_PART_BUFSIZE];
	const char *key = stanza_text(st, 0);

	if (!c->tls_on && s2s->cfg.require_tls) {
		conn_stream_error(c, "policy-violation", "STARTTLS first");
		return;
	}
	if (!prep_domain(stanza_from(st), from)) {
		conn_stream_error(c, "invalid-from", NULL);
		return;
	}
	if (stanza_to(st) == NULL) {
		conn_stream_error(c, "invalid-xml", "a <db:result/> needs from and to");
		return;
	}
	if (!prep_domain(stanza_to(st), to) || !s2s_hosts(s2s, to)) {
		/* XEP-0220 §2.4: a dialback error, which ends nothing else
		 * on the stream (we announced <errors/>). */
		log_info("%s: dialback from %s for %s refused: not a domain of ours", c->addr, from,
		    stanza_to(st));
		answer_result(c, stanza_to(st), from, "error", "item-not-found");
		return;
	}
	if (s2s_hosts(s2s, from)) {
		/* Nobody but us speaks for our own domains: invalid, and an
		 * invalid answer ends the stream (§2.2.1). */
		answer_result(c, to, from, "invalid", NULL);
		conn_stream_end(c);
		return;
	}
	char why[ERRLEN];
	if (s2s->cfg.require_valid_certs &&
	    (!c->tls_on || !tls_peer_authenticates_domain(c->tls, from, why, sizeof(why)))) {
		/* Dialback proves DNS control only; we want the certificate. */
		log_info("%s: dialback for %s refused: s2s.require_valid_certificates and %s",
		    c->addr, from, c->tls_on ? why : "no TLS");
		answer_result(c, to, from, "error", "policy-violation");
		return;
	}
	struct in_pair *p = find_pair(c, from, to);
	if (p != NULL && p->valid) {
		answer_result(c, to, from, "valid", NULL);
		return;
	}
	if (p != NULL)
		return; /* already being verified */
	if (pending_pairs(c) >= s2s->cfg.max_pending_dialback) {
		conn_stream_error(c, "policy-violation", "too many dialback requests at once");
		return;
	}
	if (key == NULL || strlen(key) == 0 || strlen(key) > 1024) {
		conn_stream_error(c, "not-authorized", "a dialback key is 1 to 1024 characters");
		return;
	}
	c->pairs = xreallocarray(c->pairs, c->npairs + 1, sizeof(*c->pairs));
	c->pairs[c->npairs++] = (struct in_pair){ xstrdup(from), xstrdup(to), false };
	log_debug("%s: claims to be %s (to %s): asking its authoritative server", c->addr, from,
	    to);
	out_verify(s2s, to, from, c, key);
}

void in_verify_answer(struct s2s *s2s, uint64_t serial, const char *from, const char *to,
    bool valid, const char *failure)
{
	struct conn *c = conn_find(s2s, serial);
	struct in_pair *p = c != NULL ? find_pair(c, from, to) : NULL;

	if (p == NULL || p->valid || c->phase != PHASE_STREAM)
		return;
	if (valid) {
		p->valid = true;
		negotiated(c);
		log_info("%s: verified as %s (to %s) by dialback", c->addr, from, to);
		answer_result(c, to, from, "valid", NULL);
		return;
	}
	log_info("%s: dialback for %s (to %s) failed: %s", c->addr, from, to,
	    failure != NULL ? failure : "the key is not valid");
	answer_result(c, to, from, failure != NULL ? "error" : "invalid",
	    failure != NULL ? "remote-connection-failed" : NULL);
	/* XEP-0220 §2.4: an invalid key ends the stream; an error need not. */
	size_t i = (size_t)(p - c->pairs);
	free(p->from);
	free(p->to);
	c->pairs[i] = c->pairs[--c->npairs];
	if (failure == NULL)
		conn_stream_end(c);
}

/* <db:verify/>: are we the authors of this key? */
static void verify(struct conn *c, const struct stanza *st)
{
	struct s2s *s2s = c->s2s;
	char from[JID_PART_BUFSIZE], to[JID_PART_BUFSIZE];
	const char *id = stanza_id(st);

	if (!prep_domain(stanza_from(st), from) || id == NULL) {
		conn_stream_error(c, "invalid-xml", "a <db:verify/> needs from and id");
		return;
	}
	if (stanza_to(st) == NULL) {
		conn_stream_error(c, "invalid-xml", "a <db:verify/> needs from, to and id");
		return;
	}
	if (!prep_domain(stanza_to(st), to) || !s2s_hosts(s2s, to)) {
		/* XEP-0220 §2.4: a dialback error; the stream goes on. */
		struct stanza *r = stanza_new(NS_DIALBACK, "db:verify");
		stanza_set_from(r, stanza_to(st));
		stanza_set_to(r, from);
		stanza_set_id(r, id);
		stanza_set_type(r, "error");
		int e = stanza_add_child(r, 0, NS_SERVER, "error");
		stanza_set_attr(r, e, "type", "cancel");
		stanza_add_child(r, e, NS_STANZAS, "item-not-found");
		conn_write_stanza(c, r);
		stanza_free(&r);
		log_info("%s: asked by %s about a key of %s: not a domain of ours", c->addr, from,
		    stanza_to(st));
		return;
	}
	bool ok = dialback_key_ok(s2s->dialback_secret, from, to, id, stanza_text(st, 0));
	struct stanza *r = stanza_new(NS_DIALBACK, "db:verify");
	stanza_set_from(r, to);
	stanza_set_to(r, from);
	stanza_set_id(r, id);
	stanza_set_type(r, ok ? "valid" : "invalid");
	conn_write_stanza(c, r);
	stanza_free(&r);
	log_info("%s: asked by %s whether a key of %s is ours: %s", c->addr, from, to,
	    ok ? "valid" : "invalid");
}

static void sasl_reply(struct conn *c, const char *element, const char *condition)
{
	struct buf b = BUF_INIT;

	if (condition != NULL)
		buf_appendf(&b, "<%s xmlns='%s'><%s/></%s>", element, NS_SASL, condition, element);
	else
		buf_appendf(&b, "<%s xmlns='%s'/>", element, NS_SASL);
	conn_write(c, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

/* The authorization identity of <auth/>: empty ("=" or nothing) means the
 * stream's `from`; else base64 of a domain, which must be that `from`. */
static bool authzid_ok(const struct conn *c, const char *text)
{
	unsigned char decoded[1024 + 3];
	char prepped[JID_PART_BUFSIZE];
	size_t len = text != NULL ? strlen(text) : 0;

	if (len == 0 || strcmp(text, "=") == 0)
		return true;
	if (len > 1024 || len % 4 != 0)
		return false;
	int n = EVP_DecodeBlock(decoded, (const unsigned char *)text, (int)len);
	if (n < 0)
		return false;
	/* EVP_DecodeBlock counts the padding as bytes of zeros. */
	for (size_t i = len; i > 0 && text[i - 1] == '='; i--)
		n--;
	decoded[n] = '\0';
	return (size_t)n == strlen((char *)decoded) && prep_domain((char *)decoded, prepped) &&
	    strcmp(prepped, c->remote) == 0;
}

/* <auth mechanism='EXTERNAL'/> (RFC 6120 §6.4, XEP-0178): the certificate
 * authenticated the stream's `from` when the header came; now the pair
 * (from, to) is verified for this connection, and a new stream follows. */
static void sasl_auth(struct conn *c, const struct stanza *st)
{
	const char *mech = stanza_get_attr(st, 0, "mechanism");

	if (!c->tls_on || c->sasl_done || c->local == NULL || c->remote == NULL || !c->cert_ok) {
		log_info("%s: SASL EXTERNAL refused: %s", c->addr, c->sasl_done ?
		    "already authenticated" : "not offered on this stream");
		sasl_reply(c, "failure", "not-authorized");
		return;
	}
	if (mech == NULL || strcmp(mech, "EXTERNAL") != 0) {
		sasl_reply(c, "failure", "invalid-mechanism");
		return;
	}
	if (!authzid_ok(c, stanza_text(st, 0))) {
		log_info("%s: SASL EXTERNAL refused: an authorization identity other than %s",
		    c->addr, c->remote);
		sasl_reply(c, "failure", "invalid-authzid");
		return;
	}
	struct in_pair *p = find_pair(c, c->remote, c->local);
	if (p == NULL) {
		c->pairs = xreallocarray(c->pairs, c->npairs + 1, sizeof(*c->pairs));
		p = &c->pairs[c->npairs++];
		*p = (struct in_pair){ xstrdup(c->remote), xstrdup(c->local), false };
	}
	p->valid = true;
	c->sasl_done = true;
	negotiated(c);
	log_info("%s: verified as %s (to %s) by SASL EXTERNAL", c->addr, c->remote, c->local);
	sasl_reply(c, "success", NULL);
	conn_restart_stream(c);
}

static bool is_stanza(const struct stanza *st)
{
	return stanza_is(st, 0, NS_SERVER, "message") || stanza_is(st, 0, NS_SERVER, "presence") ||
	    stanza_is(st, 0, NS_SERVER, "iq");
}

/* A stanza from the peer: only for a verified pair, then into the suite. */
static void deliver(struct conn *c, const struct stanza *st)
{
	struct s2s *s2s = c->s2s;
	const char *from_s = stanza_from(st), *to_s = stanza_to(st);
	struct jid *from = NULL, *to = NULL;
	char why[ERRLEN];

	/* RFC 6120 §4.9.3.7, §8.1.1.2, §8.1.2.2: between servers both
	 * addresses are required, and must be JIDs. */
	if (to_s == NULL || from_s == NULL || *to_s == '\0' || *from_s == '\0') {
		conn_stream_error(c, "improper-addressing", "a stanza between servers needs to "
		    "and from");
		goto out;
	}
	if (jid_parse(&to, to_s, strlen(to_s), why, sizeof(why)) < 0 ||
	    jid_parse(&from, from_s, strlen(from_s), why, sizeof(why)) < 0) {
		conn_stream_error(c, "improper-addressing", why);
		goto out;
	}
	if (!s2s_hosts(s2s, jid_domainpart(to))) {
		conn_stream_error(c, "host-unknown", NULL);
		goto out;
	}
	struct in_pair *p = find_pair(c, jid_domainpart(from), jid_domainpart(to));
	if (p == NULL || !p->valid) {
		log_info("%s: a stanza from %s to %s, a pair not verified on this stream", c->addr,
		    jid_domainpart(from), jid_domainpart(to));
		conn_stream_error(c, "invalid-from", NULL);
		goto out;
	}
	struct stanza *suite = stanza_new_empty();
	stanza_translate_ns(suite, STANZA_NONE, st, 0, NS_CLIENT, &s2s->scratch);
	s2s_deliver(s2s, suite);
	stanza_free(&suite);
out:
	jid_free(&from);
	jid_free(&to);
}

static void stanza_cb(void *arg, struct stanza *st)
{
	struct conn *c = arg;

	if (c->phase != PHASE_STREAM || c->starttls_pending)
		return;
	if (stanza_is(st, 0, NS_TLS, "starttls")) {
		if (c->tls_on) {
			conn_write(c, "<failure xmlns='" NS_TLS "'/>", strlen("<failure xmlns='" NS_TLS "'/>"));
			conn_stream_end(c);
			return;
		}
		conn_write(c, "<proceed xmlns='" NS_TLS "'/>", strlen("<proceed xmlns='" NS_TLS "'/>"));
		conn_start_tls(c);
	} else if (stanza_is(st, 0, NS_SASL, "auth")) {
		sasl_auth(c, st);
	} else if (stanza_is(st, 0, NS_DIALBACK, "result")) {
		result(c, st);
	} else if (stanza_is(st, 0, NS_DIALBACK, "verify")) {
		verify(c, st);
	} else if (is_stanza(st)) {
		if (!c->tls_on && c->s2s->cfg.require_tls)
			conn_stream_error(c, "policy-violation", "STARTTLS first");
		else
			deliver(c, st);
	} else if (stanza_is(st, 0, NS_STREAMS, "error")) {
		int cond = stanza_first_element(st, 0);
		log_info("%s: stream error <%s/> from the peer", c->addr,
		    cond != STANZA_NONE ? stanza_name(st, cond) : "?");
	} else {
		conn_stream_error(c, "unsupported-stanza-type", NULL);
	}
}

static void close_cb(void *arg)
{
	conn_stream_end(arg);
}

const struct xml_stream_callbacks in_xml_callbacks = { open_cb, stanza_cb, close_cb };
