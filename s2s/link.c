/*
 * link.c — s2s's side of the internal protocol (doc/component-protocol.md):
 * the router link (name "s2s", role s2s, bound as the default route, so
 * every frame for a domain nobody in the suite hosts comes here), ROUTE
 * frames turned into stanzas for out.c, and stanzas from other servers
 * (or bounces) sent into the suite addressed to the domain of their `to`.
 * Frames from s2s carry `from` = "s2s", the only name it binds.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "jid.h"
#include "log.h"
#include "router_secret.h"
#include "s2s.h"

void s2s_deliver(struct s2s *s2s, const struct stanza *st)
{
	const char *to_s = stanza_to(st);
	struct jid *to = NULL;
	struct buf b = BUF_INIT;
	char err[ERRLEN];

	if (to_s == NULL || jid_parse(&to, to_s, strlen(to_s), err, sizeof(err)) < 0) {
		log_info("a stanza without a usable 'to' dropped");
		return;
	}
	stanza_write(st, &b, NULL);
	if (router_link_route(s2s->link, S2S_NAME, jid_domainpart(to), jid_bare_str(to), NULL,
	    buf_head(&b), buf_used(&b), NULL, err, sizeof(err)) < 0)
		log_warn("cannot pass a stanza for %s to the router: %s", jid_bare_str(to), err);
	buf_free(&b);
	jid_free(&to);
}

void s2s_bounce(struct s2s *s2s, struct stanza *st, const char *type, const char *condition,
    const char *text)
{
	/* RFC 6120 §8.3.1: never an error for an error. */
	if (stanza_make_error(st, type, condition, text) < 0)
		return;
	s2s_deliver(s2s, st);
}

/* A ROUTE for another server: a stanza from one of our users. */
static void route(struct s2s *s2s, const struct frame *f)
{
	const char *from_name = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const void *data;
	size_t len;
	struct stanza *st = stanza_new_empty();
	struct jid *from = NULL, *to = NULL;
	char err[ERRLEN] = "no stanza in the frame";
	uint32_t seq = f->seq;

	/* Taken care of from here on: sent, or bounced to its sender. */
	if (router_link_ack(s2s->link, S2S_NAME, from_name, &seq, 1, err, sizeof(err)) < 0)
		log_warn("cannot acknowledge %s's frame %u: %s", from_name, seq, err);
	if (!frame_get(f, FRAME_TAG_STANZA, &data, &len) ||
	    xml_stream_parse_stanza(s2s->frame_xs, data, len, st, err, sizeof(err)) < 0) {
		log_warn("%s: unreadable stanza dropped: %s", from_name, err);
		goto out;
	}
	const char *from_s = stanza_from(st), *to_s = stanza_to(st);
	if (from_s == NULL || to_s == NULL ||
	    jid_parse(&from, from_s, strlen(from_s), err, sizeof(err)) < 0 ||
	    jid_parse(&to, to_s, strlen(to_s), err, sizeof(err)) < 0) {
		log_warn("%s: a stanza without usable from and to dropped", from_name);
		goto out;
	}
	if (!s2s_hosts(s2s, jid_domainpart(from))) {
		log_warn("%s: a stanza from %s, not a hosted domain, dropped", from_name,
		    jid_domainpart(from));
		goto out;
	}
	if (s2s_hosts(s2s, jid_domainpart(to))) {
		/* sm is not up for that domain: not ours to send out. */
		s2s_bounce(s2s, st, "cancel", "service-unavailable", NULL);
		goto out;
	}
	out_send(s2s, jid_domainpart(from), jid_domainpart(to), st);
	st = NULL;
out:
	stanza_free(&st);
	jid_free(&from);
	jid_free(&to);
}

static void link_frame(struct router_link *link, const struct frame *f, void *arg)
{
	struct s2s *s2s = arg;
	uint32_t code = 0;

	(void)link;
	switch (f->type) {
	case FRAME_ROUTE:
		route(s2s, f);
		break;
	case FRAME_ERROR:
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
	};
	const struct router_link_callbacks cbs = { .frame = link_frame };
	s2s->link = router_link_new(s2s->loop, &settings, &cbs, s2s, err, errlen);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (s2s->link == NULL)
		return -1;
	router_link_bind(s2s->link, S2S_NAME, FRAME_F_DEFAULT_ROUTE);
	return 0;
}
