/*
 * session.c — a client's session: resource binding (client-chosen or
 * generated), the session with sm (SESSION_START → SESSION_STARTED, and
 * SESSION_END either way), every client stanza stamped with the full JID
 * and routed to the user's domain, stanzas from sm written to the client,
 * and bounces for what cannot be delivered. In-band registration
 * (XEP-0077) is routed to auth: before authentication by session id, after
 * it (password change, cancel) stamped like any stanza.
 *
 * A stanza that is routed on must fit a frame: too big is a stanza error
 * (policy-violation), a full router queue is resource-constraint — never
 * silence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "c2s.h"
#include "log.h"

static const char *user_domain(const struct client *c)
{
	return jid_domainpart(c->jid);
}

static void session_frame(struct client *c, enum frame_type type, uint32_t code,
    const char *to)
{
	struct c2s *c2s = c->c2s;
	size_t start;
	char err[ERRLEN];
	struct buf *b = router_link_begin(c2s->link, type, 0, &start);

	frame_put_str(b, FRAME_TAG_FROM, c2s->name);
	frame_put_str(b, FRAME_TAG_TO, to != NULL ? to : user_domain(c));
	frame_put_str(b, FRAME_TAG_SESSION_ID, c->sid);
	frame_put_str(b, FRAME_TAG_JID, jid_full_str(c->jid));
	if (type == FRAME_SESSION_START)
		frame_put_str(b, FRAME_TAG_CLIENT_ADDR, c->addr);
	else
		frame_put_u32(b, FRAME_TAG_CODE, code);
	if (router_link_end(c2s->link, start, NULL, err, sizeof(err)) < 0)
		log_warn("%s: %s not sent: %s", c->addr, frame_type_name(type), err);
}

static void bind_fail(struct client *c, const char *type, const char *cond)
{
	struct stanza *st = stanza_new(NS_CLIENT, "iq");

	stanza_set_type(st, "error");
	stanza_set_id(st, c->bind_id);
	int e = stanza_add_child(st, 0, NS_CLIENT, "error");
	stanza_set_attr(st, e, "type", type);
	stanza_add_child(st, e, NS_STANZAS, cond);
	client_write_stanza(c, st);
	stanza_free(&st);
	free(c->bind_id);
	c->bind_id = NULL;
	struct jid *bare = jid_bare_dup(c->jid);
	jid_free(&c->jid);
	c->jid = bare;
	loop_timer_cancel(c->c2s->loop, &c->wait_timer);
	client_release(c, HOLD_BIND);
}

static void iq_error(struct client *c, struct stanza *st, const char *type, const char *cond)
{
	stanza_error_reply(c, st, type, cond);
}

void session_bind(struct client *c, struct stanza *st)
{
	struct c2s *c2s = c->c2s;
	const char *type = stanza_type(st);
	const char *id = stanza_id(st);
	int bind = stanza_find_child(st, 0, NS_BIND, "bind");
	int res = stanza_find_child(st, bind, NS_BIND, "resource");
	struct jid *full = NULL;
	char err[ERRLEN], gen[40];

	if (type == NULL || strcmp(type, "set") != 0 || id == NULL || c->bind_id != NULL) {
		iq_error(c, st, "modify", "bad-request");
		return;
	}
	const char *want = res >= 0 ? stanza_text(st, res) : "";
	if (*want == '\0') {
		unsigned char r[8];
		if (RAND_bytes(r, sizeof(r)) != 1)
			log_fatal("RAND_bytes failed");
		snprintf(gen, sizeof(gen), "parley-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
		    r[2], r[3], r[4], r[5], r[6], r[7]);
		want = gen;
	}
	if (jid_with_resource(&full, c->jid, want, err, sizeof(err)) < 0) {
		log_debug("%s: bind: %s", c->addr, err);
		iq_error(c, st, "modify", "bad-request");
		return;
	}
	/* The same full JID twice here: the newer session wins (RFC 6120
	 * §7.7.2.2), the older one hears <conflict/>. */
	struct client *old = hash_get(c2s->by_jid, jid_full_str(full), jid_full_len(full));
	if (old != NULL && old != c) {
		log_info("%s: %s replaces the session of %s", c->addr, jid_full_str(full), old->addr);
		hash_del(c2s->by_jid, jid_full_str(full), jid_full_len(full));
		session_gone(old, FRAME_SESSION_REPLACED);
		stream_error(old, "conflict", "replaced by a new session");
	}
	jid_free(&c->jid);
	c->jid = full;
	c->bind_id = xstrdup(id);
	session_frame(c, FRAME_SESSION_START, 0, NULL);
	client_hold(c, HOLD_BIND);
	c2s_wait(c, c2s->cfg.bind_timeout_ms);
}

void session_bind_expired(struct client *c)
{
	log_warn("%s: sm did not start the session of %s in time", c->addr, jid_full_str(c->jid));
	/* sm may still start it: tell it not to bother. */
	session_frame(c, FRAME_SESSION_END, FRAME_SESSION_CONNECTION_LOST, NULL);
	bind_fail(c, "wait", "internal-server-error");
}

void session_started(struct client *c, const struct frame *f)
{
	struct c2s *c2s = c->c2s;

	if (c->bind_id == NULL) {
		if (!c->session_started)
			/* Too late: we gave up on it. Tell sm it is over. */
			session_frame(c, FRAME_SESSION_END, FRAME_SESSION_CONNECTION_LOST,
			    frame_get_str(f, FRAME_TAG_FROM, NULL));
		return;
	}
	struct buf b = BUF_INIT;
	struct stanza *st = stanza_new(NS_CLIENT, "iq");
	stanza_set_type(st, "result");
	stanza_set_id(st, c->bind_id);
	int bind = stanza_add_child(st, 0, NS_BIND, "bind");
	stanza_add_child_text(st, bind, NS_BIND, "jid", jid_full_str(c->jid));
	client_write_stanza(c, st);
	stanza_free(&st);
	buf_free(&b);
	free(c->bind_id);
	c->bind_id = NULL;
	c->stage = STAGE_SESSION;
	c->session_started = true;
	hash_put(c2s->by_jid, jid_full_str(c->jid), jid_full_len(c->jid), c);
	loop_timer_cancel(c2s->loop, &c->wait_timer);
	client_set_deadline(c);
	client_release(c, HOLD_BIND);
	log_info("%s: session %s started (%s)", c->addr, jid_full_str(c->jid), c->sid);
}

void session_refused(struct client *c, const struct frame *f)
{
	(void)f;
	if (c->bind_id == NULL)
		return;
	log_info("%s: sm refused the session of %s", c->addr, jid_full_str(c->jid));
	bind_fail(c, "cancel", "not-allowed");
}

void session_end_from_sm(struct client *c, const struct frame *f)
{
	uint32_t code = FRAME_SESSION_KICKED;
	const char *cond;
	size_t start;
	char err[ERRLEN];

	(void)frame_get_u32(f, FRAME_TAG_CODE, &code);
	switch (code) {
	case FRAME_SESSION_REPLACED: cond = "conflict"; break;
	case FRAME_SESSION_ACCOUNT_REMOVED: cond = "not-authorized"; break;
	case FRAME_SESSION_SHUTDOWN: cond = "system-shutdown"; break;
	case FRAME_SESSION_REFUSED: cond = "not-authorized"; break;
	default: cond = "policy-violation"; break;
	}
	struct buf *b = router_link_begin(c->c2s->link, FRAME_SESSION_ENDED, 0, &start);
	frame_put_str(b, FRAME_TAG_FROM, c->c2s->name);
	frame_put_str(b, FRAME_TAG_TO, frame_get_str(f, FRAME_TAG_FROM, NULL));
	frame_put_str(b, FRAME_TAG_SESSION_ID, c->sid);
	frame_put_str(b, FRAME_TAG_JID, jid_full_str(c->jid));
	frame_put_u32(b, FRAME_TAG_CODE, code);
	if (router_link_end(c->c2s->link, start, NULL, err, sizeof(err)) < 0)
		log_warn("%s: SESSION_ENDED not sent: %s", c->addr, err);
	c->session_end_sent = true;
	if (c->session_started && hash_get(c->c2s->by_jid, jid_full_str(c->jid),
	    jid_full_len(c->jid)) == c)
		hash_del(c->c2s->by_jid, jid_full_str(c->jid), jid_full_len(c->jid));
	log_info("%s: sm ended the session of %s (%s)", c->addr, jid_full_str(c->jid),
	    frame_session_reason_name(code));
	stream_error(c, cond, NULL);
}

void session_gone(struct client *c, uint32_t reason)
{
	/* A bind still waiting for sm counts: sm may be starting it. */
	if ((!c->session_started && c->bind_id == NULL) || c->session_end_sent)
		return;
	c->session_end_sent = true;
	session_frame(c, FRAME_SESSION_END, reason, NULL);
}

/* The frame ROUTE would be: 12 bytes of header, 6 per attribute. */
static size_t route_size(const struct c2s *c2s, const char *to, const char *key, const char *sid,
    size_t len)
{
	return FRAME_HEADER_SIZE + 5 * FRAME_ATTR_HEADER_SIZE + strlen(c2s->name) + 1 + strlen(to) +
	    1 + (key ? strlen(key) + 1 : 0) + (sid ? strlen(sid) + 1 : 0) + len;
}

int session_route(struct client *c, const char *to, const char *key, struct stanza *st,
    char *err, size_t errlen)
{
	struct c2s *c2s = c->c2s;
	struct buf b = BUF_INIT;
	int rc;

	stanza_write(st, &b, NULL);
	if (route_size(c2s, to, key, c->sid, buf_used(&b)) > c2s->cfg.max_frame) {
		buf_free(&b);
		return errf(err, errlen, "too large for a frame");
	}
	rc = router_link_route(c2s->link, c2s->name, to, key, c->sid, buf_head(&b), buf_used(&b),
	    NULL, err, errlen);
	buf_free(&b);
	return rc;
}

static void route_or_refuse(struct client *c, const char *to, const char *key, struct stanza *st)
{
	char err[ERRLEN];

	if (session_route(c, to, key, st, err, sizeof(err)) == 0)
		return;
	log_info("%s: stanza not routed to %s: %s", c->addr, to, err);
	if (strcmp(err, "too large for a frame") == 0)
		stanza_error_reply(c, st, "modify", "policy-violation");
	else
		stanza_error_reply(c, st, "wait", "resource-constraint");
}

static bool to_server(const struct client *c, const struct stanza *st)
{
	const char *to = stanza_to(st);

	return to == NULL || strcmp(to, c->host) == 0;
}

static void keep_presence(struct client *c, struct stanza *st, const char *type);

/* An error c2s itself answers (from the server: the stanza's own `to` may
 * be what is wrong with it). */
static void refuse(struct client *c, struct stanza *st, const char *cond, const char *text)
{
	if (stanza_make_error(st, "modify", cond, text) < 0)
		return;
	stanza_set_from(st, c->host);
	stanza_set_to(st, jid_full_str(c->jid));
	client_write_stanza(c, st);
}

/* What RFC 6120 asks of every stanza, checked before it goes anywhere: a
 * `to` that is a JID (§8.1.1; jid-malformed, §8.3.3.8), and an iq with an
 * id and one of the four types, a get or set with exactly one payload
 * (§8.2.3; bad-request, §8.3.3.1). false when the stanza was answered (or
 * dropped: an iq result or error no one can match without its id). */
static bool well_formed(struct client *c, struct stanza *st)
{
	const char *to = stanza_to(st);
	const char *type = stanza_type(st);
	char err[ERRLEN];

	if (to != NULL) {
		struct jid *j = NULL;
		int rc = jid_parse(&j, to, strlen(to), err, sizeof(err));
		jid_free(&j);
		if (rc < 0) {
			log_debug("%s: stanza to a malformed JID: %s", jid_full_str(c->jid), err);
			refuse(c, st, "jid-malformed", err);
			return false;
		}
	}
	if (!stanza_is(st, 0, NS_CLIENT, "iq"))
		return true;
	bool getset = type != NULL && (strcmp(type, "get") == 0 || strcmp(type, "set") == 0);
	if (!getset && (type == NULL || (strcmp(type, "result") != 0 &&
	    strcmp(type, "error") != 0))) {
		refuse(c, st, "bad-request", "an iq's type is get, set, result or error");
		return false;
	}
	if (stanza_id(st) == NULL) {
		if (getset)
			refuse(c, st, "bad-request", "an iq needs an id");
		return false;
	}
	size_t n = 0;
	for (int e = stanza_first_element(st, 0); e >= 0; e = stanza_next_element(st, e))
		n++;
	if (getset && n != 1) {
		refuse(c, st, "bad-request", "an iq get or set carries exactly one payload");
		return false;
	}
	return true;
}

void session_client_stanza(struct client *c, struct stanza *st)
{
	const char *from = stanza_from(st);
	const char *type = stanza_type(st);
	bool iq = stanza_is(st, 0, NS_CLIENT, "iq");

	if (from != NULL) {
		struct jid *j = NULL;
		char err[ERRLEN];
		bool ok = jid_parse(&j, from, strlen(from), err, sizeof(err)) == 0 &&
		    (jid_equal_full(j, c->jid) || (jid_is_bare(j) && jid_equal_bare(j, c->jid)));
		jid_free(&j);
		if (!ok) {
			stream_error(c, "invalid-from", NULL);
			return;
		}
	}
	if (!well_formed(c, st))
		return;
	stanza_set_from(st, jid_full_str(c->jid));
	if (iq && type != NULL && to_server(c, st)) {
		const char *id = stanza_id(st);
		bool getset = strcmp(type, "get") == 0 || strcmp(type, "set") == 0;
		/* The answer to our own ping. */
		if (!getset && id != NULL && strcmp(id, "c2s-ping") == 0)
			return;
		if (strcmp(type, "set") == 0 &&
		    stanza_find_child(st, 0, NS_SESSION, "session") != STANZA_NONE) {
			/* RFC 3921 session establishment: nothing left to do. */
			struct stanza *r = stanza_new(NS_CLIENT, "iq");
			stanza_set_type(r, "result");
			if (id != NULL)
				stanza_set_id(r, id);
			stanza_set_to(r, jid_full_str(c->jid));
			client_write_stanza(c, r);
			stanza_free(&r);
			return;
		}
		if (stanza_find_child(st, 0, NS_BIND, "bind") != STANZA_NONE) {
			stanza_error_reply(c, st, "cancel", "not-allowed");
			return;
		}
		int q = stanza_find_child(st, 0, NS_REGISTER, "query");
		if (getset && q != STANZA_NONE) {
			if (strcmp(type, "set") == 0 &&
			    stanza_find_child(st, q, NS_REGISTER, "remove") != STANZA_NONE && id != NULL) {
				free(c->cancel_id);
				c->cancel_id = xstrdup(id);
			}
			route_or_refuse(c, "auth", c->sid, st);
			return;
		}
	}
	if (stanza_is(st, 0, NS_CLIENT, "presence") && stanza_to(st) == NULL)
		keep_presence(c, st, type);
	route_or_refuse(c, user_domain(c), jid_bare_str(c->jid), st);
}

/* A broadcast presence (no `to`): the session's availability, which a
 * re-announce brings back to an sm that lost it. */
static void keep_presence(struct client *c, struct stanza *st, const char *type)
{
	struct buf b = BUF_INIT;

	free(c->last_presence);
	c->last_presence = NULL;
	if (type != NULL)
		return;   /* unavailable (or an odd type sm refuses): nothing to bring back */
	stanza_write(st, &b, NULL);
	buf_append(&b, "", 1);
	c->last_presence = xstrdup(buf_head(&b));
	buf_free(&b);
}

void session_reannounce(struct client *c)
{
	struct c2s *c2s = c->c2s;
	size_t start;
	char err[ERRLEN];
	struct buf *b;

	if (!c->session_started || c->session_end_sent || c->jid == NULL)
		return;
	b = router_link_begin(c2s->link, FRAME_SESSION_START, FRAME_F_REANNOUNCE, &start);
	frame_put_str(b, FRAME_TAG_FROM, c2s->name);
	frame_put_str(b, FRAME_TAG_TO, user_domain(c));
	frame_put_str(b, FRAME_TAG_SESSION_ID, c->sid);
	frame_put_str(b, FRAME_TAG_JID, jid_full_str(c->jid));
	frame_put_str(b, FRAME_TAG_CLIENT_ADDR, c->addr);
	if (c->last_presence != NULL)
		frame_put(b, FRAME_TAG_STANZA, c->last_presence, strlen(c->last_presence));
	if (router_link_end(c2s->link, start, NULL, err, sizeof(err)) < 0)
		log_warn("%s: re-announce of %s not sent: %s", c->addr, jid_full_str(c->jid), err);
}

void session_register_preauth(struct client *c, struct stanza *st)
{
	const char *type = stanza_type(st);
	char err[ERRLEN];

	if (type == NULL || (strcmp(type, "get") != 0 && strcmp(type, "set") != 0))
		return; /* results and errors to nothing we asked: ignored (RFC 6120 §8.2.3) */
	if (!c->c2s->cfg.registration || (!c->tls_on && c->c2s->cfg.require_tls)) {
		stanza_error_reply(c, st, "cancel", "service-unavailable");
		return;
	}
	if (!c->c2s->auth_up) {
		stanza_error_reply(c, st, "wait", "service-unavailable");
		return;
	}
	stanza_set_from(st, NULL);
	/* Addressed to the server: say which of its domains. */
	if (stanza_to(st) == NULL)
		stanza_set_to(st, c->host);
	if (session_route(c, "auth", c->sid, st, err, sizeof(err)) < 0) {
		log_info("%s: registration not routed: %s", c->addr, err);
		stanza_error_reply(c, st, "wait", "resource-constraint");
	}
}

/* Send a stanza (an error we made of one) back where it came from. */
static void bounce(struct c2s *c2s, struct stanza *st, const char *type, const char *cond)
{
	struct jid *to = NULL;
	struct buf b = BUF_INIT;
	char err[ERRLEN];

	if (stanza_is(st, 0, NS_CLIENT, "presence"))
		return; /* RFC 6121 §8.5.3.2.1: presence to a gone resource is ignored */
	if (stanza_make_error(st, type, cond, NULL) < 0)
		return; /* an error is never answered with another */
	const char *tostr = stanza_to(st);
	if (tostr == NULL || jid_parse(&to, tostr, strlen(tostr), err, sizeof(err)) < 0) {
		log_info("bounce: the stanza has no usable sender: dropped");
		return;
	}
	stanza_write(st, &b, NULL);
	if (router_link_route(c2s->link, c2s->name, jid_domainpart(to), jid_bare_str(to), NULL,
	    buf_head(&b), buf_used(&b), NULL, err, sizeof(err)) < 0)
		log_warn("bounce to %s not sent: %s", jid_domainpart(to), err);
	buf_free(&b);
	jid_free(&to);
}

/* The frame is taken care of (its stanza written, bounced or unusable). */
static void ack(struct c2s *c2s, const struct frame *f)
{
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);
	char err[ERRLEN];

	if (router_link_ack(c2s->link, c2s->name, from, &f->seq, 1, err, sizeof(err)) < 0)
		log_warn("ACK to %s not sent: %s", from, err);
}

void session_deliver(struct c2s *c2s, const struct frame *f)
{
	const char *sid = frame_get_str(f, FRAME_TAG_SESSION_ID, NULL);
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);
	bool kept = (f->flags & FRAME_F_KEPT) != 0;
	const void *data;
	size_t len;
	char err[ERRLEN];

	(void)frame_get(f, FRAME_TAG_STANZA, &data, &len);
	if (xml_stream_parse_stanza(c2s->frame_xs, data, len, c2s->frame_st, err, sizeof(err)) < 0) {
		log_error("ROUTE from %s: unreadable stanza: %s", from, err);
		ack(c2s, f);
		return;
	}
	struct stanza *st = c2s->frame_st;
	struct client *c = sid != NULL ? hash_get(c2s->by_sid, sid, strlen(sid)) : NULL;
	bool preauth_reply = c != NULL && strcmp(from, "auth") == 0 &&
	    (c->stage == STAGE_PRE_AUTH || c->stage == STAGE_PRE_TLS);
	if (c == NULL || c->phase != PHASE_STREAM || (c->stage != STAGE_SESSION && !preauth_reply)) {
		if (kept) {
			/* Its sender keeps it and decides again (sm: another
			 * resource, offline storage). */
			if (router_link_reject(c2s->link, c2s->name, from, f->seq, err,
			    sizeof(err)) < 0)
				log_warn("REJECTED to %s not sent: %s", from, err);
			return;
		}
		bounce(c2s, st, "cancel", "service-unavailable");
		ack(c2s, f);
		return;
	}
	if (buf_used(&c->out) > c2s->cfg.max_write_queue) {
		log_info("%s: write queue full: stanza bounced", c->addr);
		bounce(c2s, st, "wait", "resource-constraint");
		ack(c2s, f);
		return;
	}
	client_write_stanza(c, st);
	/* Acknowledged once the bytes have reached the kernel (client_flush):
	 * until then a crash must leave the frame with its sender. */
	write_acks_add(&c->acks, c2s->name, from, f->seq, c->out_total);
	write_acks_due(&c->acks, c->out_total - buf_used(&c->out), c2s->link);
	const char *type = stanza_type(st);
	if (c->cancel_id != NULL && strcmp(from, "auth") == 0 && type != NULL &&
	    strcmp(type, "result") == 0 && stanza_id(st) != NULL &&
	    strcmp(stanza_id(st), c->cancel_id) == 0) {
		/* XEP-0077 §3.2: the account is gone, and so is the stream. */
		log_info("%s: %s cancelled its registration", c->addr, jid_bare_str(c->jid));
		session_gone(c, FRAME_SESSION_ACCOUNT_REMOVED);
		stream_end(c);
	}
}

/* The router could not deliver something we sent (ERROR with our frame's
 * session id). */
void session_bounce_error(struct c2s *c2s, const struct frame *f)
{
	const char *sid = frame_get_str(f, FRAME_TAG_SESSION_ID, NULL);
	struct client *c = sid != NULL ? hash_get(c2s->by_sid, sid, strlen(sid)) : NULL;
	const void *data;
	size_t len;
	char err[ERRLEN];

	if (c == NULL || c->phase != PHASE_STREAM)
		return;
	if (c->sasl_active) {
		sasl_fail_temporary(c);
		return;
	}
	if (!frame_get(f, FRAME_TAG_STANZA, &data, &len)) {
		if (c->bind_id != NULL)
			bind_fail(c, "wait", "internal-server-error");
		return;
	}
	if (xml_stream_parse_stanza(c2s->frame_xs, data, len, c2s->frame_st, err, sizeof(err)) < 0)
		return;
	uint32_t code = 0;
	(void)frame_get_u32(f, FRAME_TAG_CODE, &code);
	/* Kept for router.hold while sm was away: it may come back later. */
	if (stanza_make_error(c2s->frame_st, code == FRAME_ERR_AWAY ? "wait" : "cancel",
	    "service-unavailable", NULL) == 0)
		client_write_stanza(c, c2s->frame_st);
}
