/*
 * mod_presence.c — a session's own presence (RFC 6121 §4): initial and
 * later available presence (no `to`) make the session available with its
 * priority; unavailable presence, or the session's end, make it
 * unavailable. The delivery rules read this to pick the resources a
 * message to the bare JID goes to. Each broadcast also reaches the user's
 * own available resources (§4.2.2, §4.4.2, §4.5.2).
 *
 * Not yet (the roster slice): broadcast to subscribers, probes, the
 * contacts' presence sent back on initial presence, unavailable to those
 * the session sent directed presence to.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sm.h"

/* <priority/>: an integer -128..127 (RFC 6121 §4.7.2.3); anything else
 * counts as 0. */
int sm_presence_priority(const struct stanza *st)
{
	int el = stanza_find_child(st, stanza_root(st), NS_CLIENT, "priority");
	const char *text;
	char *end;
	long v;

	if (el == STANZA_NONE)
		return 0;
	text = stanza_text(st, el);
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < -128 || v > 127)
		return 0;
	return (int)v;
}

/* The same presence to every available resource of the user. */
static void to_own_resources(struct sm *sm, struct sm_session *from, const struct stanza *st)
{
	struct stanza *copy = stanza_copy(st);

	stanza_set_from(copy, jid_full_str(from->jid));
	for (struct sm_session *s = session_first(sm->sessions, jid_bare_str(from->jid));
	    s != NULL; s = s->next) {
		if (!s->available)
			continue;
		stanza_set_to(copy, jid_full_str(s->jid));
		sm_deliver_to_session(sm, s, copy);
	}
	stanza_free(&copy);
}

/* A resource that just became available hears the presence of the
 * user's other available resources (what a probe of its own bare JID
 * would bring, RFC 6121 §4.3.2). */
static void others_to_new(struct sm *sm, struct sm_session *to)
{
	for (struct sm_session *s = session_first(sm->sessions, jid_bare_str(to->jid));
	    s != NULL; s = s->next) {
		if (s == to || !s->available || s->presence == NULL)
			continue;
		struct stanza *copy = stanza_copy(s->presence);
		stanza_set_from(copy, jid_full_str(s->jid));
		stanza_set_to(copy, jid_full_str(to->jid));
		sm_deliver_to_session(sm, to, copy);
		stanza_free(&copy);
	}
}

static enum sm_verdict session_out(struct sm *sm, struct sm_pkt *p, void *arg)
{
	(void)arg;
	if (p->kind != SM_PRESENCE || p->to != NULL || p->session == NULL)
		return SM_PASS;
	if (p->type == NULL) {
		bool initial = !p->session->available;
		session_set_available(p->session, sm_presence_priority(p->st), stanza_copy(p->st));
		log_debug("%s available, priority %d", jid_full_str(p->session->jid),
		    p->session->priority);
		to_own_resources(sm, p->session, p->st);
		if (initial)
			others_to_new(sm, p->session);
		/* TODO(roster): broadcast to subscribers, probe contacts. */
	} else if (strcmp(p->type, "unavailable") == 0) {
		bool was = p->session->available;
		session_set_unavailable(p->session);
		if (was)
			to_own_resources(sm, p->session, p->st);
	}
	/* Other types without `to` (subscribe…) mean nothing: dropped. */
	return SM_DONE;
}

static void session_end(struct sm *sm, struct sm_session *s, void *arg)
{
	(void)arg;
	if (!s->available)
		return;
	session_set_unavailable(s);
	struct stanza *st = stanza_new(NS_CLIENT, "presence");
	stanza_set_type(st, "unavailable");
	to_own_resources(sm, s, st);
	stanza_free(&st);
}

void mod_presence_init(struct sm *sm)
{
	sm_hook_stanza(sm, SM_CHAIN_SESSION_OUT, "presence", session_out, NULL);
	sm_hook_session(sm, SM_CHAIN_SESSION_END, "presence", session_end, NULL);
}
