/*
 * route.c — where a stanza goes (RFC 6120 §10, RFC 6121 §8): to another
 * server (no s2s yet: remote-server-not-found), to the server itself (the
 * iq chain), to a local user (the local chain, then the delivery rules:
 * a full JID's session, the bare JID's best resources, the offline chain),
 * and the errors sent back on the way (RFC 6120 §8.3; an error is never
 * answered with another). Every stanza sm makes goes through here too, so
 * an answer reaches a session by the same rules as a message.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "sm.h"
#include "storage.h"

#define MAX_TARGETS 64

bool sm_is_local_domain(const struct sm *sm, const char *domain)
{
	for (size_t i = 0; i < conf_strlist_count(sm->conf, "hosts"); i++)
		if (strcmp(conf_strlist_get(sm->conf, "hosts", i), domain) == 0)
			return true;
	return false;
}

static int parse_addr(struct jid **out, const char *s, char *err, size_t errlen)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	return jid_parse(out, s, strlen(s), err, errlen);
}

int sm_pkt_init(struct sm_pkt *p, struct stanza *st, struct sm_session *session, char *err,
    size_t errlen)
{
	int root = stanza_root(st);

	*p = (struct sm_pkt){ .st = st, .session = session };
	if (stanza_is(st, root, NS_CLIENT, "message"))
		p->kind = SM_MESSAGE;
	else if (stanza_is(st, root, NS_CLIENT, "presence"))
		p->kind = SM_PRESENCE;
	else if (stanza_is(st, root, NS_CLIENT, "iq"))
		p->kind = SM_IQ;
	else
		return errf(err, errlen, "not a stanza: {%s}%s", stanza_ns(st, root),
		    stanza_name(st, root) != NULL ? stanza_name(st, root) : "");
	p->type = stanza_type(st);
	if (parse_addr(&p->from, stanza_from(st), err, errlen) < 0)
		return -1;
	if (parse_addr(&p->to, stanza_to(st), err, errlen) < 0)
		return -2;
	return 0;
}

void sm_pkt_fini(struct sm_pkt *p)
{
	stanza_free(&p->st);
	jid_free(&p->to);
	jid_free(&p->from);
}

static bool type_is(const struct sm_pkt *p, const char *type)
{
	return p->type != NULL && strcmp(p->type, type) == 0;
}

static bool is_error(const struct sm_pkt *p)
{
	return type_is(p, "error");
}

bool sm_pkt_to_server(const struct sm_pkt *p)
{
	return p->to != NULL && jid_localpart(p->to) == NULL;
}

/* --- sending ---------------------------------------------------------------------- */

void sm_deliver_to_session(struct sm *sm, struct sm_session *s, const struct stanza *st)
{
	struct buf b;
	char err[ERRLEN];

	buf_init(&b);
	stanza_write(st, &b, NULL);
	if (router_link_route(sm->link, jid_domainpart(s->jid), s->c2s, NULL, s->id, buf_head(&b),
	    buf_used(&b), NULL, err, sizeof(err)) < 0)
		log_warn("cannot deliver to %s (%s %s): %s", jid_full_str(s->jid), s->c2s, s->id,
		    err);
	buf_free(&b);
}

void sm_send(struct sm *sm, const struct stanza *st)
{
	struct sm_pkt p;
	char err[ERRLEN];

	if (sm_pkt_init(&p, stanza_copy(st), NULL, err, sizeof(err)) < 0) {
		log_error("a stanza sm made does not route: %s", err);
		sm_pkt_fini(&p);
		return;
	}
	sm_route(sm, &p);
	sm_pkt_fini(&p);
}

void sm_bounce(struct sm *sm, struct sm_pkt *p, const char *type, const char *condition)
{
	if (is_error(p) || (p->kind == SM_IQ && type_is(p, "result")))
		return;
	if (p->from == NULL && p->session == NULL)
		return;
	/* The error goes where the stanza came from: make a copy so the
	 * packet stays what the hooks saw. */
	struct stanza *st = stanza_copy(p->st);
	if (stanza_make_error(st, type, condition, NULL) == 0) {
		/* A session's stanza without `from` (c2s stamps it, but an
		 * error must still find its way back). */
		if (stanza_to(st) == NULL && p->session != NULL)
			stanza_set_to(st, jid_full_str(p->session->jid));
		sm_send(sm, st);
	}
	stanza_free(&st);
}

struct stanza *sm_iq_result(const struct sm_pkt *p)
{
	struct stanza *st = stanza_new(NS_CLIENT, "iq");

	stanza_set_type(st, "result");
	if (stanza_id(p->st) != NULL)
		stanza_set_id(st, stanza_id(p->st));
	if (p->to != NULL)
		stanza_set_from(st, jid_full_str(p->to));
	if (p->from != NULL)
		stanza_set_to(st, jid_full_str(p->from));
	else if (p->session != NULL)
		stanza_set_to(st, jid_full_str(p->session->jid));
	return st;
}

/* --- the delivery rules (RFC 6121 §8.5) ---------------------------------------------- */

static void deliver_many(struct sm *sm, struct sm_pkt *p, struct sm_session **targets, size_t n)
{
	for (size_t i = 0; i < n && i < MAX_TARGETS; i++)
		sm_deliver_to_session(sm, targets[i], p->st);
}

/* An iq get/set the server answers: to the server, or to a user's bare JID
 * on the user's behalf (§8.5.1 / §8.5.2.1.3 / RFC 6120 §10.3.3). */
static void server_iq(struct sm *sm, struct sm_pkt *p)
{
	if (!type_is(p, "get") && !type_is(p, "set"))
		return; /* results and errors to the server end here */
	if (sm_run_stanza(sm, SM_CHAIN_IQ, p) == SM_DONE)
		return;
	sm_bounce(sm, p, "cancel", "service-unavailable");
}

/* A chat/normal message, or an error, to the bare JID (§8.5.2.1.1, §8.5.2.2.1). */
static void message_to_bare(struct sm *sm, struct sm_pkt *p)
{
	struct sm_session *targets[MAX_TARGETS];
	const char *bare = jid_bare_str(p->to);
	size_t n;

	if (type_is(p, "groupchat")) {
		sm_bounce(sm, p, "cancel", "service-unavailable");
		return;
	}
	if (is_error(p))
		return; /* §8.5.2.1.1, §8.5.2.2.1: silently ignored */
	if (type_is(p, "headline")) {
		/* Every available non-negative resource, or nobody. */
		deliver_many(sm, p, targets, session_nonnegative(sm->sessions, bare, targets,
		    MAX_TARGETS));
		return;
	}
	if ((n = session_best(sm->sessions, bare, targets, MAX_TARGETS)) > 0) {
		deliver_many(sm, p, targets, n);
		return;
	}
	if (sm_run_stanza(sm, SM_CHAIN_OFFLINE, p) == SM_DONE)
		return;
	/* TODO(offline module): store it. Until then the sender hears it was
	 * not delivered rather than nothing. */
	sm_bounce(sm, p, "cancel", "service-unavailable");
}

static bool is_subscription(const struct sm_pkt *p)
{
	return type_is(p, "subscribe") || type_is(p, "subscribed") ||
	    type_is(p, "unsubscribe") || type_is(p, "unsubscribed") || type_is(p, "probe");
}

static void to_local_user(struct sm *sm, struct sm_pkt *p)
{
	struct sm_session *targets[MAX_TARGETS];
	struct sm_session *s;
	size_t n = 0;

	if (sm_run_stanza(sm, SM_CHAIN_LOCAL_IN, p) == SM_DONE)
		return;
	if (!jid_is_bare(p->to)) {
		if ((s = session_find_full(sm->sessions, p->to)) != NULL) {
			sm_deliver_to_session(sm, s, p->st);
			return;
		}
		/* No such resource (§8.5.3.2). */
		switch (p->kind) {
		case SM_MESSAGE:
			/* §8.5.3.2.1: a chat is handled as if sent to the
			 * bare JID; normal and groupchat get an error (the
			 * RFC's other choice, silence, would hide the loss);
			 * a headline is ephemeral: dropped. */
			if (type_is(p, "chat") || is_error(p))
				message_to_bare(sm, p);
			else if (!type_is(p, "headline"))
				sm_bounce(sm, p, "cancel", "service-unavailable");
			return;
		case SM_IQ:
			sm_bounce(sm, p, "cancel", "service-unavailable");
			return;
		case SM_PRESENCE:
			/* Subscription stanzas and probes were the local
			 * chain's (as for the bare JID); other presence to a
			 * resource that is not there is dropped (§8.5.3.2.3). */
			return;
		}
		return;
	}
	switch (p->kind) {
	case SM_MESSAGE:
		message_to_bare(sm, p);
		return;
	case SM_IQ:
		server_iq(sm, p);
		return;
	case SM_PRESENCE:
		if (is_subscription(p) || is_error(p))
			return; /* the local chain had them, or nobody wants them */
		/* Directed presence to the bare JID: every available resource. */
		for (s = session_first(sm->sessions, jid_bare_str(p->to)); s != NULL; s = s->next)
			if (s->available && n < MAX_TARGETS)
				targets[n++] = s;
		deliver_many(sm, p, targets, n);
		return;
	}
}

/* Another server's JID: to the router by its domain, which s2s serves as
 * the default route. Without s2s the router answers with an ERROR that
 * carries the stanza back, and link.c bounces it
 * (remote-server-not-found). The frame leaves from the sender's domain,
 * a name sm has bound. */
static void route_remote(struct sm *sm, struct sm_pkt *p)
{
	const char *from = p->from != NULL && sm_is_local_domain(sm, jid_domainpart(p->from)) ?
	    jid_domainpart(p->from) : conf_strlist_get(sm->conf, "hosts", 0);
	struct buf b;
	char err[ERRLEN];

	buf_init(&b);
	stanza_write(p->st, &b, NULL);
	if (router_link_route(sm->link, from, jid_domainpart(p->to), NULL, NULL, buf_head(&b),
	    buf_used(&b), NULL, err, sizeof(err)) < 0) {
		log_warn("cannot route to %s: %s", jid_domainpart(p->to), err);
		if (p->kind != SM_PRESENCE)
			sm_bounce(sm, p, "wait", "remote-server-timeout");
	}
	buf_free(&b);
}

/* "unsubscribed" from the addressed bare JID to the sender's. */
static void unsubscribed_for(struct sm *sm, const struct sm_pkt *p)
{
	struct stanza *st = stanza_new(NS_CLIENT, "presence");
	struct jid *from = jid_bare_dup(p->to), *to = jid_bare_dup(p->from);

	stanza_set_type(st, "unsubscribed");
	stanza_set_from(st, jid_bare_str(from));
	stanza_set_to(st, jid_bare_str(to));
	sm_send(sm, st);
	stanza_free(&st);
	jid_free(&from);
	jid_free(&to);
}

int sm_user_exists(struct sm *sm, const struct jid *jid)
{
	char err[ERRLEN];
	int rc;

	if (!sm->users_in_storage || session_first(sm->sessions, jid_bare_str(jid)) != NULL)
		return STORAGE_OK;
	rc = storage_user_exists(sm->storage, jid_domainpart(jid), jid_localpart(jid), err,
	    sizeof(err));
	if (rc == STORAGE_ERROR)
		log_error("storage: %s", err);
	return rc;
}

void sm_route(struct sm *sm, struct sm_pkt *p)
{
	if (p->to == NULL) {
		/* RFC 6120 §10.3: no `to` means the sender's own account. */
		if (p->kind == SM_IQ) {
			server_iq(sm, p);
			return;
		}
		if (p->kind == SM_PRESENCE || p->session == NULL)
			return; /* broadcast presence: the presence module's */
		p->to = jid_bare_dup(p->session->jid);
		stanza_set_to(p->st, jid_bare_str(p->to));
	}
	if (!sm_is_local_domain(sm, jid_domainpart(p->to))) {
		route_remote(sm, p);
		return;
	}
	if (jid_localpart(p->to) == NULL) {
		if (jid_resourcepart(p->to) != NULL) {
			sm_bounce(sm, p, "cancel", "service-unavailable");
			return;
		}
		if (p->kind == SM_IQ)
			server_iq(sm, p);
		else if (p->kind == SM_MESSAGE && !type_is(p, "headline"))
			sm_bounce(sm, p, "cancel", "service-unavailable");
		return;
	}
	int exists = sm_user_exists(sm, p->to);
	if (exists == STORAGE_ERROR) {
		/* The store cannot say now: not "no such user", which the
		 * sender would take as final (RFC 6120 §8.3.3.6). Presence
		 * has no answer to give. */
		if (p->kind != SM_PRESENCE)
			sm_bounce(sm, p, "wait", "internal-server-error");
		return;
	}
	if (exists != STORAGE_OK) {
		/* §8.5.1: no such user. A probe learns there is no
		 * subscription; other presence, subscription requests
		 * included, is ignored. */
		if (p->kind != SM_PRESENCE)
			sm_bounce(sm, p, "cancel", "service-unavailable");
		else if (type_is(p, "probe") && p->from != NULL)
			unsubscribed_for(sm, p);
		return;
	}
	to_local_user(sm, p);
}

void sm_from_session(struct sm *sm, struct sm_pkt *p)
{
	if (sm_run_stanza(sm, SM_CHAIN_SESSION_OUT, p) == SM_DONE)
		return;
	sm_route(sm, p);
}
