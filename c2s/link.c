/*
 * link.c — parley-c2s on the router: its instance name (c2s.N, bound on
 * every connection), which peers are up (auth, the hosted domains sm
 * binds), and the frames the router brings, each handed to the client it
 * names by session id.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "c2s.h"
#include "log.h"
#include "router_secret.h"

static void on_up(struct router_link *link, const char *router, void *arg)
{
	(void)link;
	(void)arg;
	log_info("router link up (%s)", router);
}

/* Auth's state went with the link: every exchange in flight fails now. */
static void fail_sasl_all(struct c2s *c2s)
{
	for (struct client *c = c2s->clients; c != NULL; c = c->next)
		if (c->sasl_active)
			sasl_fail_temporary(c);
}

static void on_down(struct router_link *link, const char *reason, void *arg)
{
	struct c2s *c2s = arg;

	(void)link;
	log_warn("router link down: %s", reason);
	c2s->auth_up = false;
	fail_sasl_all(c2s);
}

static void on_bind_error(struct router_link *link, const char *name, uint32_t code,
    const char *text, void *arg)
{
	(void)link;
	(void)arg;
	log_error("the router refused to bind %s: %s%s%s", name, frame_error_code_name(code),
	    text ? ": " : "", text ? text : "");
}

static struct client *by_sid(struct c2s *c2s, const struct frame *f)
{
	size_t len;
	const char *sid = frame_get_str(f, FRAME_TAG_SESSION_ID, &len);

	return sid != NULL ? hash_get(c2s->by_sid, sid, len) : NULL;
}

/* sm asks to end a session we no longer have: say it is over anyway. */
static void ended_unknown(struct c2s *c2s, const struct frame *f)
{
	size_t start;
	uint32_t code = FRAME_SESSION_CLOSED;
	char err[ERRLEN];

	(void)frame_get_u32(f, FRAME_TAG_CODE, &code);
	struct buf *b = router_link_begin(c2s->link, FRAME_SESSION_ENDED, 0, &start);
	frame_put_str(b, FRAME_TAG_FROM, c2s->name);
	frame_put_str(b, FRAME_TAG_TO, frame_get_str(f, FRAME_TAG_FROM, NULL));
	frame_put_str(b, FRAME_TAG_SESSION_ID, frame_get_str(f, FRAME_TAG_SESSION_ID, NULL));
	frame_put_str(b, FRAME_TAG_JID, frame_get_str(f, FRAME_TAG_JID, NULL));
	frame_put_u32(b, FRAME_TAG_CODE, code);
	if (router_link_end(c2s->link, start, NULL, err, sizeof(err)) < 0)
		log_warn("SESSION_ENDED not sent: %s", err);
}

/* sm is (back) on the router, bound to `domain`: it may have lost every
 * session (a restart) or hold them all (the router restarted); a
 * re-announce is right for both, since sm answers one it holds as it did
 * the first time. */
static void reannounce_domain(struct c2s *c2s, const char *domain)
{
	struct hash_iter it;
	const char *key;
	size_t klen;
	void *value;
	size_t n = 0;

	hash_iter_init(c2s->by_jid, &it);
	while (hash_iter_next(&it, &key, &klen, &value)) {
		struct client *c = value;
		if (c->jid != NULL && strcmp(jid_domainpart(c->jid), domain) == 0) {
			session_reannounce(c);
			n++;
		}
	}
	if (n > 0)
		log_info("%s is up: %zu session%s re-announced", domain, n, n == 1 ? "" : "s");
}

static void on_frame(struct router_link *link, const struct frame *f, void *arg)
{
	struct c2s *c2s = arg;
	const char *name = frame_get_str(f, FRAME_TAG_NAME, NULL);
	struct client *c;
	uint32_t code = 0;

	(void)link;
	switch (f->type) {
	case FRAME_PEER_UP:
		if (strcmp(name, "auth") == 0) {
			c2s->auth_up = true;
			log_info("auth is up");
		} else {
			/* sm binds the hosted domains; anything else bound has
			 * no session of ours. */
			reannounce_domain(c2s, name);
		}
		break;
	case FRAME_PEER_DOWN:
		if (strcmp(name, "auth") == 0) {
			c2s->auth_up = false;
			log_warn("auth is down: logins fail with temporary-auth-failure");
			fail_sasl_all(c2s);
		}
		break;
	case FRAME_ROUTE:
		session_deliver(c2s, f);
		break;
	case FRAME_ACK:
		break;
	case FRAME_ERROR:
		(void)frame_get_u32(f, FRAME_TAG_CODE, &code);
		log_debug("router: %s for %s", frame_error_code_name(code),
		    frame_has(f, FRAME_TAG_REF_TO) ? frame_get_str(f, FRAME_TAG_REF_TO, NULL) : "?");
		session_bounce_error(c2s, f);
		break;
	case FRAME_SASL_STEP:
	case FRAME_SASL_RESULT:
		if ((c = by_sid(c2s, f)) != NULL)
			sasl_frame(c, f);
		break;
	case FRAME_SESSION_STARTED:
		if ((c = by_sid(c2s, f)) != NULL && c->jid != NULL)
			session_started(c, f);
		break;
	case FRAME_SESSION_ENDED:
		(void)frame_get_u32(f, FRAME_TAG_CODE, &code);
		if ((c = by_sid(c2s, f)) != NULL && c->bind_id != NULL)
			session_refused(c, f);
		break;
	case FRAME_SESSION_END:
		c = by_sid(c2s, f);
		if (c != NULL && c->jid != NULL && c->phase == PHASE_STREAM)
			session_end_from_sm(c, f);
		else
			ended_unknown(c2s, f);
		if (f->flags & FRAME_F_KEPT) {
			char err[ERRLEN];
			if (router_link_ack(c2s->link, c2s->name, frame_get_str(f, FRAME_TAG_FROM, NULL),
			    &f->seq, 1, err, sizeof(err)) < 0)
				log_warn("ACK of SESSION_END not sent: %s", err);
		}
		break;
	default:
		log_warn("unexpected %s frame from the router", frame_type_name(f->type));
		break;
	}
}

int c2s_link_setup(struct c2s *c2s, char *err, size_t errlen)
{
	static const struct router_link_callbacks cbs = {
		.up = on_up, .down = on_down, .bind_error = on_bind_error, .frame = on_frame,
	};
	char secret[ROUTER_SECRET_MAX + 1], why[ERRLEN];
	size_t len = 0;

	if (router_secret_get(c2s->conf, secret, &len, why, sizeof(why)) < 0)
		return errf(err, errlen, "%s: %s", conf_where(c2s->conf,
		    router_secret_setting(c2s->conf)), why);
	struct router_link_settings s = {
		.socket_path = conf_str(c2s->conf, "router.socket"),
		.name = c2s->name,
		.role = "c2s",
		.secret = secret,
		.secret_len = len,
		.max_frame = c2s->cfg.max_frame,
		.keep = true,
		.hold_ms = (uint64_t)conf_duration_ms(c2s->conf, "router.hold"),
	};
	c2s->link = router_link_new(c2s->loop, &s, &cbs, c2s, err, errlen);
	OPENSSL_cleanse(secret, sizeof(secret));
	if (c2s->link == NULL)
		return -1;
	router_link_bind(c2s->link, c2s->name, 0);
	return 0;
}
