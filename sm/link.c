/*
 * link.c — sm's side of the internal protocol (doc/component-protocol.md):
 * the router link (name "sm", role sm, every hosted domain bound), the
 * session frames from c2s (SESSION_START / SESSION_END and their answers),
 * ROUTE frames (acknowledged, parsed, handed to route.c), PEER_DOWN of a
 * c2s instance (its sessions end) and the router's ERRORs. It decides
 * which session a frame is about; what a stanza means is route.c's.
 *
 * Reliable hand-off (doc/component-protocol.md, "Kept frames"): sm keeps
 * what it sends until acknowledged, and acknowledges what it is sent only
 * once handled — delivered, stored, bounced — so that a frame in hand when
 * sm dies comes again to the next sm. What comes back untaken (a c2s gone
 * or without the session, a destination away too long) comes back from
 * the link as an ERROR, like the router's.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "log.h"
#include "router_secret.h"
#include "sm.h"
#include "storage.h"
#include "xml_stream.h"

#define SM_NAME "sm"

/* SESSION_STARTED / SESSION_END / SESSION_ENDED to a c2s instance. */
static void session_frame(struct sm *sm, enum frame_type type, const char *from, const char *c2s,
    const char *sid, const char *jid, int code)
{
	char err[ERRLEN];
	size_t start;
	struct buf *b = router_link_begin(sm->link, type, 0, &start);

	frame_put_str(b, FRAME_TAG_FROM, from);
	frame_put_str(b, FRAME_TAG_TO, c2s);
	if (sid != NULL)
		frame_put_str(b, FRAME_TAG_SESSION_ID, sid);
	frame_put_str(b, FRAME_TAG_JID, jid);
	if (code >= 0)
		frame_put_u32(b, FRAME_TAG_CODE, (uint32_t)code);
	if (router_link_end(sm->link, start, NULL, err, sizeof(err)) < 0)
		log_warn("cannot send %s to %s: %s", frame_type_name(type), c2s, err);
}

void sm_session_end(struct sm *sm, struct sm_session **sp)
{
	struct sm_session *s = *sp;

	if (s == NULL)
		return;
	/* As if the client had sent unavailable presence: the presence module
	 * hooks the end chain. */
	sm_run_session(sm, SM_CHAIN_SESSION_END, s);
	log_info("session ended: %s (%s %s)", jid_full_str(s->jid), s->c2s, s->id);
	session_remove(sm->sessions, sp);
}

/* A stanza inside a frame, parsed into a packet. */
static int parse_pkt(struct sm *sm, const void *data, size_t len, struct sm_session *s,
    struct sm_pkt *p, char *err, size_t errlen)
{
	struct stanza *st = stanza_new_empty();

	if (xml_stream_parse_stanza(sm->parser, data, len, st, err, errlen) < 0) {
		stanza_free(&st);
		*p = (struct sm_pkt){ 0 };
		return -1;
	}
	return sm_pkt_init(p, st, s, err, errlen);
}

static void session_start(struct sm *sm, const struct frame *f)
{
	const char *c2s = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const char *to = frame_get_str(f, FRAME_TAG_TO, NULL);
	const char *sid = frame_get_str(f, FRAME_TAG_SESSION_ID, NULL);
	const char *jid_s = frame_get_str(f, FRAME_TAG_JID, NULL);
	struct jid *jid = NULL;
	struct sm_session *s, *old;
	char err[ERRLEN];
	int rc;

	if (jid_parse(&jid, jid_s, strlen(jid_s), err, sizeof(err)) < 0 ||
	    jid_localpart(jid) == NULL || jid_is_bare(jid) ||
	    !sm_is_local_domain(sm, jid_domainpart(jid))) {
		log_warn("%s: SESSION_START %s for %s refused: %s", c2s, sid, jid_s,
		    jid == NULL ? err : "not a full JID of a hosted domain");
		session_frame(sm, FRAME_SESSION_ENDED, to, c2s, sid, jid_s, FRAME_SESSION_REFUSED);
		jid_free(&jid);
		return;
	}
	/* Sent again (RESENT, or REANNOUNCE of a session we still hold): the
	 * same answer, no conflict with itself. */
	if ((s = session_find(sm->sessions, c2s, sid)) != NULL && jid_equal_full(s->jid, jid)) {
		session_frame(sm, FRAME_SESSION_STARTED, to, c2s, sid, jid_s, -1);
		jid_free(&jid);
		return;
	}
	if (s != NULL)
		sm_session_end(sm, &s); /* the same id for another JID: the old is gone */
	if ((rc = sm_user_exists(sm, jid)) != STORAGE_OK) {
		log_info("%s: session for %s refused: %s", c2s, jid_s,
		    rc == STORAGE_ERROR ? "storage error" : "no such user");
		session_frame(sm, FRAME_SESSION_ENDED, to, c2s, sid, jid_s, FRAME_SESSION_REFUSED);
		jid_free(&jid);
		return;
	}
	/* RFC 6120 §7.7.2.2: the newer session takes the resource. */
	if ((old = session_find_full(sm->sessions, jid)) != NULL) {
		log_info("%s: %s replaces the session on %s %s", c2s, jid_s, old->c2s, old->id);
		session_frame(sm, FRAME_SESSION_END, jid_domainpart(jid), old->c2s, old->id,
		    jid_full_str(old->jid), FRAME_SESSION_REPLACED);
		sm_session_end(sm, &old);
	}
	s = session_add(sm->sessions, c2s, sid, jid);
	jid_free(&jid);
	if (s == NULL) {
		session_frame(sm, FRAME_SESSION_ENDED, to, c2s, sid, jid_s, FRAME_SESSION_REFUSED);
		return;
	}
	log_info("session started: %s (%s %s)%s", jid_full_str(s->jid), c2s, sid,
	    (f->flags & FRAME_F_REANNOUNCE) ? ", re-announced" : "");
	sm_run_session(sm, SM_CHAIN_SESSION_START, s);
	session_frame(sm, FRAME_SESSION_STARTED, to, c2s, sid, jid_full_str(s->jid), -1);

	/* A re-announced session brings its last available presence: replay
	 * it as if the client had just sent it. */
	const void *data;
	size_t len;
	if ((f->flags & FRAME_F_REANNOUNCE) && frame_get(f, FRAME_TAG_STANZA, &data, &len)) {
		struct sm_pkt p;
		if (parse_pkt(sm, data, len, s, &p, err, sizeof(err)) == 0 &&
		    p.kind == SM_PRESENCE && p.to == NULL)
			sm_from_session(sm, &p);
		else
			log_warn("%s: re-announced presence of %s ignored: %s", c2s,
			    jid_full_str(s->jid), p.st == NULL ? err : "not a broadcast presence");
		sm_pkt_fini(&p);
	}
}

/* USER_DELETED: an account was deleted outside a session (parleyctl user
 * del). Its sessions end as for XEP-0077 cancel, the user-deleted chain
 * runs, and the sender hears an ACK of the frame once sm is done. */
static void user_deleted(struct sm *sm, const struct frame *f)
{
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const char *jid_s = frame_get_str(f, FRAME_TAG_JID, NULL);
	struct jid *jid = NULL;
	char err[ERRLEN];
	size_t n = 0;

	if (jid_parse(&jid, jid_s, strlen(jid_s), err, sizeof(err)) < 0 ||
	    jid_localpart(jid) == NULL || !sm_is_local_domain(sm, jid_domainpart(jid))) {
		log_warn("%s: account removal for %s ignored: %s", from, jid_s,
		    jid == NULL ? err : "not a user of a hosted domain");
		jid_free(&jid);
		return;
	}
	struct jid *bare = jid_bare_dup(jid);
	jid_free(&jid);
	for (struct sm_session *o = session_first(sm->sessions, jid_bare_str(bare)), *next;
	    o != NULL; o = next) {
		next = o->next;
		session_frame(sm, FRAME_SESSION_END, jid_domainpart(bare), o->c2s, o->id,
		    jid_full_str(o->jid), FRAME_SESSION_ACCOUNT_REMOVED);
		sm_session_end(sm, &o);
		n++;
	}
	sm_run_user(sm, SM_CHAIN_USER_DELETED, bare);
	log_info("%s: account %s removed, %zu session%s ended", from, jid_bare_str(bare), n,
	    n == 1 ? "" : "s");
	jid_free(&bare);
}

static void session_end(struct sm *sm, const struct frame *f)
{
	const char *c2s = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const char *to = frame_get_str(f, FRAME_TAG_TO, NULL);
	const char *sid = frame_get_str(f, FRAME_TAG_SESSION_ID, NULL);
	const char *jid_s = frame_get_str(f, FRAME_TAG_JID, NULL);
	uint32_t code = FRAME_SESSION_CLOSED;
	struct sm_session *s = c2s != NULL && sid != NULL ? session_find(sm->sessions, c2s, sid) :
	    NULL;

	(void)frame_get_u32(f, FRAME_TAG_CODE, &code);
	if (s != NULL && code == FRAME_SESSION_ACCOUNT_REMOVED) {
		/* The account is gone: its other sessions end too, and the
		 * modules forget the user's data. */
		struct jid *bare = jid_bare_dup(s->jid);
		for (struct sm_session *o = session_first(sm->sessions, jid_bare_str(bare)), *next;
		    o != NULL; o = next) {
			next = o->next;
			if (o == s)
				continue;
			session_frame(sm, FRAME_SESSION_END, jid_domainpart(bare), o->c2s, o->id,
			    jid_full_str(o->jid), FRAME_SESSION_ACCOUNT_REMOVED);
			sm_session_end(sm, &o);
		}
		sm_session_end(sm, &s);
		sm_run_user(sm, SM_CHAIN_USER_DELETED, bare);
		jid_free(&bare);
	} else if (s != NULL) {
		sm_session_end(sm, &s);
	}
	session_frame(sm, FRAME_SESSION_ENDED, to, c2s, sid, jid_s, (int)code);
}

/* A stanza from a session sm does not know (c2s has not re-announced it
 * yet after an sm restart, or sm ended it meanwhile): the client hears
 * that it was not delivered, straight back through its c2s. */
static void unknown_session(struct sm *sm, const struct frame *f, const void *data, size_t len)
{
	const char *c2s = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const char *sid = frame_get_str(f, FRAME_TAG_SESSION_ID, NULL);
	struct stanza *st = stanza_new_empty();
	char err[ERRLEN];
	struct buf b;

	log_info("%s: stanza from unknown session %s bounced", c2s, sid);
	if (xml_stream_parse_stanza(sm->parser, data, len, st, err, sizeof(err)) == 0 &&
	    !stanza_is(st, stanza_root(st), NS_CLIENT, "presence") &&
	    stanza_make_error(st, "wait", "service-unavailable", NULL) == 0) {
		buf_init(&b);
		stanza_write(st, &b, NULL);
		if (router_link_route(sm->link, frame_get_str(f, FRAME_TAG_TO, NULL), c2s, NULL,
		    sid, buf_head(&b), buf_used(&b), NULL, err, sizeof(err)) < 0)
			log_warn("cannot bounce to %s %s: %s", c2s, sid, err);
		buf_free(&b);
	}
	stanza_free(&st);
}

static void route(struct sm *sm, const struct frame *f)
{
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const char *sid = frame_get_str(f, FRAME_TAG_SESSION_ID, NULL);
	struct sm_session *s = NULL;
	const void *data;
	size_t len;
	struct sm_pkt p;
	char err[ERRLEN];

	(void)frame_get(f, FRAME_TAG_STANZA, &data, &len);
	if (sid != NULL && (s = session_find(sm->sessions, from, sid)) == NULL) {
		unknown_session(sm, f, data, len);
		return;
	}
	int rc = parse_pkt(sm, data, len, s, &p, err, sizeof(err));
	if (rc == -2 && (s != NULL || p.from != NULL)) {
		/* RFC 6120 §8.3.3.8, answered from the domain it came to. */
		log_info("%s: stanza to a malformed JID answered: %s", from, err);
		struct stanza *e = stanza_copy(p.st);
		if (stanza_make_error(e, "modify", "jid-malformed", err) == 0) {
			stanza_set_from(e, frame_get_str(f, FRAME_TAG_TO, NULL));
			stanza_set_to(e, jid_full_str(s != NULL ? s->jid : p.from));
			sm_send(sm, e);
		}
		stanza_free(&e);
		sm_pkt_fini(&p);
		return;
	}
	if (rc < 0) {
		log_warn("%s: bad stanza dropped: %s", from, err);
		sm_pkt_fini(&p);
		return;
	}
	if (s != NULL) {
		/* c2s stamped `from` with the full JID; trust nothing else. */
		if (p.from == NULL || !jid_equal_full(p.from, s->jid)) {
			jid_free(&p.from);
			p.from = jid_dup(s->jid);
			stanza_set_from(p.st, jid_full_str(s->jid));
		}
		sm_from_session(sm, &p);
	} else if (p.from != NULL) {
		sm_route(sm, &p);
	} else {
		log_info("%s: stanza without from dropped", from);
	}
	sm_pkt_fini(&p);
}

static void peer_down(struct sm *sm, const char *name)
{
	struct sm_session **list;
	size_t n;

	if (strncmp(name, "c2s.", 4) != 0)
		return;
	list = session_list_of_c2s(sm->sessions, name, &n);
	if (n > 0)
		log_info("%s went away: ending its %zu sessions", name, n);
	for (size_t i = 0; i < n; i++)
		sm_session_end(sm, &list[i]);
	free(list);
	/* What we sent it and it never acknowledged died with it: back it
	 * comes (as ERRORs, below), to be delivered again now that its
	 * sessions are gone — to the user's other resources or offline. */
	router_link_reclaim(sm->link, name);
}

/* Whether a stanza that could not reach one session should be routed
 * again: the frame never reached its client (its c2s is gone or no longer
 * has the session), so RFC 6121 §8.5.3 decides again, now that the session
 * is gone. An overloaded or refusing destination would only refuse again. */
static bool route_again(uint32_t code)
{
	return code == FRAME_ERR_REJECTED || code == FRAME_ERR_PEER_GONE ||
	    code == FRAME_ERR_AWAY;
}

/* Something of ours came back untaken: the router's ERROR, or a kept frame
 * the link gives back in the same shape. */
static void router_error(struct sm *sm, const struct frame *f)
{
	uint32_t code = 0;
	const char *ref_to = frame_get_str(f, FRAME_TAG_REF_TO, NULL);
	const char *sid = frame_get_str(f, FRAME_TAG_SESSION_ID, NULL);
	const char *text = frame_get_str(f, FRAME_TAG_TEXT, NULL);
	const void *data;
	size_t len;
	struct sm_pkt p;
	char err[ERRLEN];

	(void)frame_get_u32(f, FRAME_TAG_CODE, &code);
	/* A c2s that died with frames in hand gives back many at once, and
	 * says so itself (router link: N kept frames given back). */
	if (route_again(code) && code != FRAME_ERR_AWAY)
		log_debug("a frame for %s came back: %s%s%s", ref_to != NULL ? ref_to : "?",
		    frame_error_code_name(code), text != NULL ? ": " : "", text != NULL ? text : "");
	else
		log_info("a frame for %s came back: %s%s%s", ref_to != NULL ? ref_to : "?",
		    frame_error_code_name(code), text != NULL ? ": " : "", text != NULL ? text : "");
	if (!frame_get(f, FRAME_TAG_STANZA, &data, &len))
		return;
	/* The c2s does not have that session (or is gone): neither do we. */
	struct sm_session *s;
	if (ref_to != NULL && sid != NULL && route_again(code) &&
	    (s = session_find(sm->sessions, ref_to, sid)) != NULL) {
		log_info("%s has no session %s: %s's session ends", ref_to, sid,
		    jid_full_str(s->jid));
		sm_session_end(sm, &s);
	}
	if (parse_pkt(sm, data, len, NULL, &p, err, sizeof(err)) < 0 || p.kind == SM_PRESENCE) {
		sm_pkt_fini(&p);
		return;
	}
	bool remote = p.to != NULL && !sm_is_local_domain(sm, jid_domainpart(p.to));
	if (!remote && sid != NULL && route_again(code) && p.from != NULL) {
		/* A copy of a message to a bare JID: the other resources had
		 * theirs; only with none left does it go (offline). */
		if (p.kind == SM_MESSAGE && jid_is_bare(p.to) &&
		    session_best(sm->sessions, jid_bare_str(p.to), NULL, 0) > 0)
			log_debug("a copy for a gone session of %s dropped: others got it",
			    jid_bare_str(p.to));
		else {
			p.again = true;
			sm_route(sm, &p);
		}
		sm_pkt_fini(&p);
		return;
	}
	/* A frame for another server's domain found no s2s: that server
	 * is out of reach (RFC 6120 §8.3.3.16); anything else leaves the
	 * stanza without a taker. */
	if (remote)
		sm_bounce(sm, &p, code == FRAME_ERR_AWAY ? "wait" : "cancel",
		    code == FRAME_ERR_AWAY ? "remote-server-timeout" : "remote-server-not-found");
	else
		sm_bounce(sm, &p, "cancel", "service-unavailable");
	sm_pkt_fini(&p);
}

static void link_frame(struct router_link *link, const struct frame *f, void *arg)
{
	struct sm *sm = arg;

	(void)link;
	if (sm_core_running(sm))
		sm_core_submit(sm, f);
	else
		sm_link_dispatch(sm, f);
}

/* Kept frames are acknowledged once handled; ROUTE and USER_DELETED
 * always (parleyctl waits for its ACK). */
static void acknowledge(struct sm *sm, const struct frame *f)
{
	char err[ERRLEN];
	bool ack = (f->flags & FRAME_F_KEPT) || f->type == FRAME_ROUTE ||
	    f->type == FRAME_USER_DELETED;

	if (!ack)
		return;
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);
	if (router_link_ack(sm->link, frame_get_str(f, FRAME_TAG_TO, NULL), from, &f->seq, 1, err,
	    sizeof(err)) < 0)
		log_warn("cannot acknowledge %s's frame %u: %s", from, f->seq, err);
}

void sm_link_dispatch(struct sm *sm, const struct frame *f)
{
	switch (f->type) {
	case FRAME_USER_DELETED:
		user_deleted(sm, f);
		break;
	case FRAME_SESSION_START:
		session_start(sm, f);
		break;
	case FRAME_SESSION_END:
		session_end(sm, f);
		break;
	case FRAME_ROUTE:
		route(sm, f);
		break;
	case FRAME_PEER_DOWN:
		peer_down(sm, frame_get_str(f, FRAME_TAG_NAME, NULL));
		break;
	case FRAME_ERROR:
		router_error(sm, f);
		break;
	default:
		/* SESSION_ENDED (c2s confirming an end we asked for), ACKs of
		 * our ROUTEs, PEER_UP: nothing to do. */
		return;
	}
	acknowledge(sm, f);
}

int sm_link_open(struct sm *sm, int instance, char *err, size_t errlen)
{
	const struct conf *c = sm->conf;
	char secret[ROUTER_SECRET_MAX + 1], why[ERRLEN];
	size_t secret_len;

	(void)instance; /* one sm for now: its name is "sm" */
	if (router_secret_get(c, secret, &secret_len, why, sizeof(why)) < 0)
		return errf(err, errlen, "%s: %s: %s", conf_where(c, router_secret_setting(c)),
		    router_secret_setting(c), why);
	const struct router_link_settings settings = {
		.socket_path = conf_str(c, "router.socket"),
		.name = SM_NAME, .role = "sm",
		.secret = secret, .secret_len = secret_len,
		.max_frame = (size_t)conf_size(c, "router.max_frame"),
		.keep = true,
		.hold_ms = (uint64_t)conf_duration_ms(c, "router.hold"),
	};
	const struct router_link_callbacks cbs = {
		/* router_link logs up, down and refused binds itself. */
		.frame = link_frame,
	};
	sm->link = router_link_new(sm->loop, &settings, &cbs, sm, err, errlen);
	explicit_bzero(secret, sizeof(secret));
	if (sm->link == NULL)
		return -1;
	for (size_t i = 0; i < conf_strlist_count(c, "hosts"); i++)
		router_link_bind(sm->link, conf_strlist_get(c, "hosts", i), 0);
	return 0;
}

void sm_link_close(struct sm *sm)
{
	router_link_free(&sm->link);
}
