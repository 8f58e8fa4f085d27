/*
 * link.c — s2s's side of the internal protocol (doc/component-protocol.md):
 * the router link (name "s2s", role s2s, bound as the default route, so
 * every frame for a domain nobody in the suite hosts comes here), ROUTE
 * frames turned into stanzas for out.c, and stanzas from other servers
 * (or bounces) sent into the suite addressed to the domain of their `to`.
 * Frames from s2s carry `from` = "s2s", the only name it binds.
 *
 * A ROUTE is acknowledged only once it is taken care of: its stanza
 * written to the remote stream's socket (out.c hands it to conn.c, whose
 * write_acks send the ACK when the bytes reach the kernel), bounced to its
 * sender, or dropped as unusable. What s2s passes into the suite is kept
 * by the link until taken; what comes back untaken (an ERROR with the
 * stanza) is bounced to the remote sender (returned()).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "jid.h"
#include "log.h"
#include "router_secret.h"
#include "s2s.h"

int s2s_deliver(struct s2s *s2s, const struct stanza *st)
{
	const char *to_s = stanza_to(st);
	struct jid *to = NULL;
	struct buf b = BUF_INIT;
	char err[ERRLEN];
	int rc = 0;

	if (to_s == NULL || jid_parse(&to, to_s, strlen(to_s), err, sizeof(err)) < 0) {
		log_info("a stanza without a usable 'to' dropped");
		return 0;
	}
	stanza_write(st, &b, NULL);
	if (router_link_route(s2s->link, S2S_NAME, jid_domainpart(to), jid_bare_str(to), NULL,
	    buf_head(&b), buf_used(&b), NULL, err, sizeof(err)) < 0) {
		log_warn("cannot pass a stanza for %s to the router: %s", jid_bare_str(to), err);
		rc = -1;
	}
	buf_free(&b);
	jid_free(&to);
	return rc;
}

int s2s_bounce(struct s2s *s2s, struct stanza *st, const char *type, const char *condition,
    const char *text)
{
	/* RFC 6120 §8.3.1: never an error for an error. */
	if (stanza_make_error(st, type, condition, text) < 0)
		return 0;
	return s2s_deliver(s2s, st);
}

/* --- acknowledging what the suite hands us ------------------------------------ */

void outgoing_free(struct outgoing **op)
{
	struct outgoing *og = *op;

	if (og == NULL)
		return;
	*op = NULL;
	stanza_free(&og->st);
	free(og->sender);
	free(og);
}

void outgoing_free_item(void *item)
{
	struct outgoing *og = item;

	outgoing_free(&og);
}

/* ACK (or, rejected, ACK with REJECTED) from s2s to the frame's sender. */
static void answer(struct s2s *s2s, const char *sender, uint32_t seq, bool rejected,
    const char *why)
{
	char err[ERRLEN];

	if (sender == NULL)
		return;
	int rc = rejected ? router_link_reject(s2s->link, S2S_NAME, sender, seq, err, sizeof(err)) :
	    router_link_ack(s2s->link, S2S_NAME, sender, &seq, 1, err, sizeof(err));
	if (rc < 0)
		log_warn("cannot %s %s's frame %u: %s", rejected ? "reject" : "acknowledge", sender,
		    seq, err);
	else
		log_debug("%s %s's frame %u: %s", rejected ? "rejected" : "acknowledged", sender, seq,
		    why);
}

void outgoing_bounce(struct s2s *s2s, struct outgoing **op, const char *type,
    const char *condition, const char *text)
{
	struct outgoing *og = *op;

	if (s2s_bounce(s2s, og->st, type, condition, text) == 0)
		answer(s2s, og->sender, og->seq, false, condition);
	else
		/* Neither sent nor bounced: its sender has it back, if it kept it. */
		answer(s2s, og->sender, og->seq, true, "its bounce could not be passed on");
	outgoing_free(op);
}

void outgoing_stopping(struct s2s *s2s, struct outgoing **op)
{
	struct outgoing *og = *op;

	if (og->kept && og->sender != NULL) {
		/* Unanswered, its sender sends it again when s2s is back. */
		log_debug("%s's frame %u left unanswered: s2s is stopping", og->sender, og->seq);
		outgoing_free(op);
		return;
	}
	outgoing_bounce(s2s, op, "wait", "remote-server-timeout", "s2s is stopping");
}

/* A ROUTE for another server: a stanza from one of our users. Its sender
 * gets the ACK once the stanza is written to the remote stream's socket
 * (out.c, conn.c) or bounced; one we cannot use at all is acknowledged at
 * once (nothing else will ever happen to it). */
static void route(struct s2s *s2s, const struct frame *f)
{
	const char *from_name = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const void *data;
	size_t len;
	struct stanza *st = stanza_new_empty();
	struct jid *from = NULL, *to = NULL;
	char err[ERRLEN] = "no stanza in the frame";

	if (from_name == NULL) {
		log_warn("a ROUTE frame without a sender dropped");
		goto out;
	}
	if (!frame_get(f, FRAME_TAG_STANZA, &data, &len) ||
	    xml_stream_parse_stanza(s2s->frame_xs, data, len, st, err, sizeof(err)) < 0) {
		log_warn("%s: unreadable stanza dropped: %s", from_name, err);
		answer(s2s, from_name, f->seq, false, "dropped");
		goto out;
	}
	const char *from_s = stanza_from(st), *to_s = stanza_to(st);
	if (from_s == NULL || to_s == NULL ||
	    jid_parse(&from, from_s, strlen(from_s), err, sizeof(err)) < 0 ||
	    jid_parse(&to, to_s, strlen(to_s), err, sizeof(err)) < 0) {
		log_warn("%s: a stanza without usable from and to dropped", from_name);
		answer(s2s, from_name, f->seq, false, "dropped");
		goto out;
	}
	if (!s2s_hosts(s2s, jid_domainpart(from))) {
		log_warn("%s: a stanza from %s, not a hosted domain, dropped", from_name,
		    jid_domainpart(from));
		answer(s2s, from_name, f->seq, false, "dropped");
		goto out;
	}
	if (s2s_hosts(s2s, jid_domainpart(to))) {
		/* sm is not up for that domain: not ours to send out. A sender
		 * that keeps the frame gets it back and routes it again once
		 * the domain's sm is there; any other gets a bounce. */
		if (f->flags & FRAME_F_KEPT) {
			answer(s2s, from_name, f->seq, true, "for a hosted domain");
			goto out;
		}
		bool bounced = s2s_bounce(s2s, st, "cancel", "service-unavailable", NULL) == 0;
		answer(s2s, from_name, f->seq, !bounced, bounced ? "bounced" :
		    "its bounce could not be passed on");
		goto out;
	}
	struct outgoing *og = xcalloc(1, sizeof(*og));
	*og = (struct outgoing){ .st = st, .sender = xstrdup(from_name), .seq = f->seq,
		.kept = (f->flags & FRAME_F_KEPT) != 0 };
	st = NULL;
	out_send(s2s, jid_domainpart(from), jid_domainpart(to), og);
out:
	stanza_free(&st);
	jid_free(&from);
	jid_free(&to);
}

/*
 * A stanza we passed into the suite comes back untaken, as an ERROR with
 * the stanza: the router could not deliver it, or (settings.keep) its
 * receiver rejected it or its destination stayed away too long. One from
 * another server goes back to its sender as service-unavailable. Never
 * for an error (RFC 6120 §8.3.1), which is also what keeps this from
 * looping: our own bounces are errors, and what goes out is one too.
 */
static void returned(struct s2s *s2s, const struct frame *f, const void *data, size_t len)
{
	struct stanza *st = stanza_new_empty();
	struct jid *from = NULL, *to = NULL;
	char err[ERRLEN];
	uint32_t code = 0;
	const char *why = frame_get_str(f, FRAME_TAG_TEXT, NULL);

	(void)frame_get_u32(f, FRAME_TAG_CODE, &code);
	if (xml_stream_parse_stanza(s2s->frame_xs, data, len, st, err, sizeof(err)) < 0) {
		log_warn("a frame of ours came back unreadable: %s", err);
		goto out;
	}
	const char *from_s = stanza_from(st), *to_s = stanza_to(st);
	if (from_s == NULL || to_s == NULL ||
	    jid_parse(&from, from_s, strlen(from_s), err, sizeof(err)) < 0 ||
	    jid_parse(&to, to_s, strlen(to_s), err, sizeof(err)) < 0 ||
	    s2s_hosts(s2s, jid_domainpart(from)) || !s2s_hosts(s2s, jid_domainpart(to))) {
		log_info("a stanza for %s came back undelivered (%s%s%s): dropped",
		    to_s != NULL ? to_s : "?", frame_error_code_name(code), why != NULL ? ": " : "",
		    why != NULL ? why : "");
		goto out;
	}
	/* The reply goes from our domain (the `to`) to theirs. */
	bool error = stanza_make_error(st, "cancel", "service-unavailable", NULL) < 0;
	log_info("a stanza from %s for %s came back undelivered (%s%s%s)%s",
	    jid_full_str(from), jid_full_str(to), frame_error_code_name(code),
	    why != NULL ? ": " : "", why != NULL ? why : "",
	    error ? ": an error, dropped" : ": service-unavailable to its sender");
	if (!error) {
		struct outgoing *og = xcalloc(1, sizeof(*og));
		og->st = st;
		st = NULL;
		out_send(s2s, jid_domainpart(to), jid_domainpart(from), og);
	}
out:
	stanza_free(&st);
	jid_free(&from);
	jid_free(&to);
}

static void link_frame(struct router_link *link, const struct frame *f, void *arg)
{
	struct s2s *s2s = arg;
	uint32_t code = 0;
	const void *data;
	size_t len;

	(void)link;
	switch (f->type) {
	case FRAME_ROUTE:
		route(s2s, f);
		break;
	case FRAME_ERROR:
		if (frame_get(f, FRAME_TAG_STANZA, &data, &len)) {
			returned(s2s, f, data, len);
			break;
		}
		(void)frame_get_u32(f, FRAME_TAG_CODE, &code);
		log_info("the router could not deliver a frame to %s: %s",
		    frame_get_str(f, FRAME_TAG_REF_TO, NULL) != NULL ?
		    frame_get_str(f, FRAME_TAG_REF_TO, NULL) : "?", frame_error_code_name(code));
		break;
	default:
		/* ACKs of our ROUTEs, PEER_UP / PEER_DOWN: nothing to do. */
		break;
	}
}

int s2s_link_setup(struct s2s *s2s, char *err, size_t errlen)
{
	const struct conf *c = s2s->conf;
	char secret[ROUTER_SECRET_MAX + 1], why[ERRLEN];
	size_t secret_len;

	if (router_secret_get(c, secret, &secret_len, why, sizeof(why)) < 0)
		return errf(err, errlen, "%s: %s: %s", conf_where(c, router_secret_setting(c)),
		    router_secret_setting(c), why);
	const struct router_link_settings settings = {
		.socket_path = conf_str(c, "router.socket"),
		.name = S2S_NAME, .role = "s2s",
		.secret = secret, .secret_len = secret_len,
		.max_frame = s2s->cfg.max_frame,
		/* What we pass into the suite is kept until taken (returned()). */
		.keep = true,
	};
	const struct router_link_callbacks cbs = { .frame = link_frame };
	s2s->link = router_link_new(s2s->loop, &settings, &cbs, s2s, err, errlen);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (s2s->link == NULL)
		return -1;
	router_link_bind(s2s->link, S2S_NAME, FRAME_F_DEFAULT_ROUTE);
	return 0;
}
