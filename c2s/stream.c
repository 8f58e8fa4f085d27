/*
 * stream.c — RFC 6120 stream negotiation on one client connection: the
 * reply to each stream header (a fresh unpredictable id, our domain,
 * version 1.0, xml:lang), the checks on the client's header, the features
 * of each stage, STARTTLS, stream errors (always inside a stream: a header
 * first if none was sent), and what each top-level element means at each
 * stage. SASL and sessions are handed to sasl.c and session.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "c2s.h"
#include "log.h"

/* A fresh id per stream header; nothing refers to it afterwards. */
static void new_stream_id(char id[33])
{
	unsigned char r[16];
	static const char hex[] = "0123456789abcdef";

	if (RAND_bytes(r, sizeof(r)) != 1)
		log_fatal("RAND_bytes failed");
	for (size_t i = 0; i < sizeof(r); i++) {
		id[2 * i] = hex[r[i] >> 4];
		id[2 * i + 1] = hex[r[i] & 15];
	}
	id[32] = '\0';
}

/* A language tag we repeat: letters, digits and '-', as BCP 47 has them. */
static bool lang_ok(const char *lang)
{
	size_t n = strlen(lang);

	if (n == 0 || n > 35)
		return false;
	return strspn(lang, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

static void send_header(struct client *c, const char *from, const char *to)
{
	struct stanza *h = stanza_new_stream_header(NS_CLIENT);
	struct buf b = BUF_INIT;
	char id[33];

	new_stream_id(id);
	if (to != NULL)
		stanza_set_to(h, to);
	stanza_set_from(h, from);
	stanza_set_id(h, id);
	stanza_set_attr(h, 0, "version", "1.0");
	stanza_set_attr_ns(h, 0, NS_XML, "lang", c->lang != NULL ? c->lang : "en");
	stanza_write_stream_header(h, &b);
	client_write(c, buf_head(&b), buf_used(&b));
	buf_free(&b);
	stanza_free(&h);
	c->header_sent = true;
}

void stream_reset(struct client *c)
{
	depth_reset(&c->track);
	xml_stream_reset(c->xs);
	c->header_sent = false;
	c->stream_open = false;
}

void stream_error(struct client *c, const char *condition, const char *text)
{
	if (c->phase == PHASE_CLOSING)
		return;
	if (!c->header_sent)
		send_header(c, c->host != NULL ? c->host : c->c2s->cfg.hosts[0], NULL);
	struct stanza *e = stanza_new_stream_error(condition, text);
	client_write_stanza(c, e);
	stanza_free(&e);
	log_info("%s: stream error %s%s%s", c->addr, condition, text != NULL ? ": " : "",
	    text != NULL ? text : "");
	stream_end(c);
}

void stream_end(struct client *c)
{
	if (c->phase == PHASE_CLOSING)
		return;
	client_write_str(c, "</stream:stream>");
	client_close(c, NULL);
}

void stream_send_features(struct client *c)
{
	struct buf b = BUF_INIT;

	buf_append_str(&b, "<stream:features>");
	switch (c->stage) {
	case STAGE_PRE_TLS:
		buf_appendf(&b, "<starttls xmlns='%s'>%s</starttls>", NS_TLS,
		    c->c2s->cfg.require_tls ? "<required/>" : "");
		if (!c->c2s->cfg.require_tls)
			sasl_mechanisms_feature(c, &b);
		break;
	case STAGE_PRE_AUTH:
		sasl_mechanisms_feature(c, &b);
		if (c->c2s->cfg.registration)
			buf_appendf(&b, "<register xmlns='%s'/>", NS_REGISTER_FEATURE);
		break;
	case STAGE_AUTHED:
		/* RFC 6121 appendix E: the session feature, optional;
		 * §2.6.1: sm answers roster gets by version. */
		buf_appendf(&b, "<bind xmlns='%s'/><session xmlns='%s'><optional/></session>"
		    "<ver xmlns='urn:xmpp:features:rosterver'/>", NS_BIND, NS_SESSION);
		break;
	case STAGE_SESSION:
		break;
	}
	buf_append_str(&b, "</stream:features>");
	client_write(c, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

void stream_open_cb(void *arg, const struct xml_stream_header *h)
{
	struct client *c = arg;
	struct c2s *c2s = c->c2s;
	char host[JID_PART_BUFSIZE], why[ERRLEN];
	const char *known_host = NULL;
	bool known;
	const char *reply_to = NULL;
	struct jid *from = NULL;

	if (c->resuming)
		return; /* our own header for a rebuilt parser (idle.c) */
	c->releasable = h->prefix != NULL && strcmp(h->prefix, "stream") == 0;
	for (int d = stanza_first_decl(h->element, 0); d >= 0; d = stanza_next_decl(h->element, d)) {
		const char *p = stanza_decl_prefix(h->element, d);
		if (p != NULL && strcmp(p, "stream") != 0)
			c->releasable = false;
	}
	free(c->lang);
	c->lang = h->lang != NULL && lang_ok(h->lang) ? xstrdup(h->lang) : NULL;
	if (h->to != NULL && jid_prep_domainpart(h->to, strlen(h->to), host, why, sizeof(why)) == 0)
		known_host = c2s_host_find(c2s, host);
	/* After a restart the stream stays with the domain it started with. */
	known = known_host != NULL && (c->host == NULL || c->host == known_host);
	if (known && c->host == NULL)
		c->host = known_host; /* the config outlives every client */
	if (h->from != NULL && jid_parse(&from, h->from, strlen(h->from), why, sizeof(why)) == 0)
		reply_to = jid_full_str(from);
	send_header(c, known ? host : (c->host != NULL ? c->host : c2s->cfg.hosts[0]), reply_to);
	jid_free(&from);
	c->stream_open = true;

	if (h->content_ns == NULL || strcmp(h->content_ns, NS_CLIENT) != 0) {
		stream_error(c, "invalid-namespace", NULL);
		return;
	}
	if (h->version == NULL || atoi(h->version) != 1) {
		stream_error(c, "unsupported-version", NULL);
		return;
	}
	if (!known) {
		stream_error(c, "host-unknown", NULL);
		return;
	}
	stream_send_features(c);
}

void stream_close_cb(void *arg)
{
	struct client *c = arg;

	c->client_closed = true;
	stream_end(c);
}

void stanza_error_reply(struct client *c, struct stanza *st, const char *type, const char *cond)
{
	if (stanza_make_error(st, type, cond, NULL) < 0)
		return;
	if (c->jid != NULL && c->stage == STAGE_SESSION)
		stanza_set_to(st, jid_full_str(c->jid));
	client_write_stanza(c, st);
}

static bool is_client_stanza(const struct stanza *st)
{
	return stanza_is(st, 0, NS_CLIENT, "message") || stanza_is(st, 0, NS_CLIENT, "presence") ||
	    stanza_is(st, 0, NS_CLIENT, "iq");
}

static bool is_register_iq(const struct stanza *st)
{
	return stanza_is(st, 0, NS_CLIENT, "iq") &&
	    stanza_find_child(st, 0, NS_REGISTER, "query") != STANZA_NONE;
}

static void starttls(struct client *c)
{
	client_write_str(c, "<proceed xmlns='" NS_TLS "'/>");
	client_start_tls(c);
}

/* What a top-level element means at this stage. */
static void dispatch(struct client *c, struct stanza *st)
{
	if (c->phase != PHASE_STREAM || c->starttls_pending)
		return;
	if (stanza_is(st, 0, NS_TLS, "starttls")) {
		if (c->stage == STAGE_PRE_TLS) {
			starttls(c);
		} else {
			/* RFC 6120 §5.4.2.2: a failure, and the stream ends. */
			client_write_str(c, "<failure xmlns='" NS_TLS "'/>");
			stream_end(c);
		}
		return;
	}
	switch (c->stage) {
	case STAGE_PRE_TLS:
	case STAGE_PRE_AUTH:
		if (strcmp(stanza_ns(st, 0), NS_SASL) == 0)
			sasl_handle(c, st);
		else if (is_register_iq(st))
			session_register_preauth(c, st);
		else if (is_client_stanza(st))
			stream_error(c, "not-authorized", NULL);
		else
			stream_error(c, "unsupported-stanza-type", NULL);
		return;
	case STAGE_AUTHED:
		if (stanza_is(st, 0, NS_CLIENT, "iq") &&
		    stanza_find_child(st, 0, NS_BIND, "bind") != STANZA_NONE)
			session_bind(c, st);
		else if (is_client_stanza(st))
			stream_error(c, "not-authorized", NULL);
		else
			stream_error(c, "unsupported-stanza-type", NULL);
		return;
	case STAGE_SESSION:
		if (is_client_stanza(st))
			session_client_stanza(c, st);
		else
			stream_error(c, "unsupported-stanza-type", NULL);
		return;
	}
}

void stream_stanza_cb(void *arg, struct stanza *st)
{
	struct client *c = arg;

	/* While auth or sm has not answered, what the client sends next waits
	 * its turn (reading stops after the current chunk, so this is short). */
	if (c->hold & (HOLD_AUTH | HOLD_BIND)) {
		c->pending = xreallocarray(c->pending, c->npending + 1, sizeof(*c->pending));
		c->pending[c->npending++] = xml_stream_take_stanza(c->xs);
		return;
	}
	dispatch(c, st);
}

void stream_run_pending(struct client *c)
{
	size_t i = 0;

	while (i < c->npending && c->hold == 0 && c->phase == PHASE_STREAM) {
		struct stanza *st = c->pending[i++];
		dispatch(c, st);
		stanza_free(&st);
	}
	stream_drop_pending(c, i);
}

void stream_drop_pending(struct client *c, size_t from)
{
	size_t n = c->npending;

	if (from < n && c->hold != 0 && c->phase == PHASE_STREAM) {
		/* Still held: keep the rest, in order. */
		memmove(c->pending, c->pending + from, (n - from) * sizeof(*c->pending));
		c->npending = n - from;
		return;
	}
	for (size_t i = from; i < n; i++)
		stanza_free(&c->pending[i]);
	free(c->pending);
	c->pending = NULL;
	c->npending = 0;
}

/* After SASL success: the client opens a new stream over the same bytes.
 * Anything it sent after <auth/> belonged to the old stream, which it had
 * to wait for the outcome of: dropped. */
void stream_restart(struct client *c)
{
	for (size_t i = 0; i < c->npending; i++)
		stanza_free(&c->pending[i]);
	free(c->pending);
	c->pending = NULL;
	c->npending = 0;
	stream_reset(c);
}
