/*
 * mod_presence.c — presence (RFC 6121 §4): a session's own availability
 * and priority (what the delivery rules read), the broadcast of its
 * presence to the user's other resources and to every contact subscribed
 * to it ("from" or "both"), the probes an initial presence sends to the
 * contacts the user is subscribed to, the answers to probes that reach a
 * user, directed presence and the unavailable presence its recipients get
 * when the session goes, and unavailable for everyone when a session ends
 * without saying so.
 *
 * Probes between two local users are answered at once from the session
 * table rather than sent round: the answer is the same and costs no
 * stanza. Remote contacts get real probes (s2s routes them).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "roster.h"

/* Recipients of directed presence remembered per session. */
#define DIRECTED_MAX 1000

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

static struct stanza *unavailable(void)
{
	struct stanza *st = stanza_new(NS_CLIENT, "presence");

	stanza_set_type(st, "unavailable");
	return st;
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

/* One session's presence to one address, routed like any stanza (the
 * receiving side applies its own blocking and delivery rules). */
static void send_from(struct sm *sm, const struct sm_session *s, const struct stanza *st,
    const char *to)
{
	struct stanza *copy = stanza_copy(st);

	stanza_set_from(copy, jid_full_str(s->jid));
	stanza_set_to(copy, to);
	sm_send(sm, copy);
	stanza_free(&copy);
}

/* --- directed presence (§4.6) ------------------------------------------------------- */

static bool directed_has(const struct sm_session *s, const char *to, size_t *at)
{
	for (size_t i = 0; i < s->ndirected; i++) {
		if (strcmp(s->directed[i], to) == 0) {
			if (at != NULL)
				*at = i;
			return true;
		}
	}
	return false;
}

static void directed_add(struct sm_session *s, const char *to)
{
	/* A bound, so that one session cannot make its unavailable fan out
	 * without end; beyond it, the oldest recipients are not told. */
	if (directed_has(s, to, NULL) || s->ndirected >= DIRECTED_MAX)
		return;
	s->directed = xreallocarray(s->directed, s->ndirected + 1, sizeof(*s->directed));
	s->directed[s->ndirected++] = xstrdup(to);
}

static void directed_remove(struct sm_session *s, const char *to)
{
	size_t i;

	if (!directed_has(s, to, &i))
		return;
	free(s->directed[i]);
	s->directed[i] = s->directed[--s->ndirected];
}

static void directed_unavailable(struct sm *sm, struct sm_session *s, const struct stanza *st)
{
	for (size_t i = 0; i < s->ndirected; i++) {
		send_from(sm, s, st, s->directed[i]);
		free(s->directed[i]);
	}
	free(s->directed);
	s->directed = NULL;
	s->ndirected = 0;
}

/* --- broadcast to subscribers -------------------------------------------------------- */

struct bcast {
	struct sm_session *s;
	const struct stanza *st;
	bool probe;                 /* initial presence: also learn the contacts' presence */
};

/* What a probe of a local contact would answer, given at once: each of
 * the contact's available resources' last presence, or unavailable. */
static void local_probe(struct sm *sm, struct sm_session *to, const struct jid *contact)
{
	struct storage_roster_item item;
	struct sub_state st;
	bool exists, any = false;

	/* The answer the contact's side gives a real probe (probe_in): none
	 * to a user the contact blocks (XEP-0191 §3.3), "unsubscribed" to one
	 * the contact's own roster does not let see (§4.3.2). */
	if (sm_blocked(sm, contact, to->jid))
		return;
	struct jid *user = jid_bare_dup(to->jid);
	int rc = sm_roster_load(sm, contact, jid_bare_str(user), &item, &exists, &st);
	if (rc == 0)
		storage_roster_item_clear(&item);
	if (rc == 0 && !sub_has_from(st.sub)) {
		struct stanza *r = stanza_new(NS_CLIENT, "presence");
		stanza_set_type(r, "unsubscribed");
		stanza_set_from(r, jid_bare_str(contact));
		stanza_set_to(r, jid_bare_str(user));
		sm_send(sm, r);
		stanza_free(&r);
	}
	jid_free(&user);
	if (rc < 0 || !sub_has_from(st.sub))
		return;
	for (struct sm_session *c = session_first(sm->sessions, jid_bare_str(contact)); c != NULL;
	    c = c->next) {
		if (!c->available || c->presence == NULL)
			continue;
		struct stanza *copy = stanza_copy(c->presence);
		stanza_set_from(copy, jid_full_str(c->jid));
		stanza_set_to(copy, jid_full_str(to->jid));
		sm_deliver_to_session(sm, to, copy);
		stanza_free(&copy);
		any = true;
	}
	if (!any) {
		struct stanza *u = unavailable();
		stanza_set_from(u, jid_bare_str(contact));
		stanza_set_to(u, jid_full_str(to->jid));
		sm_deliver_to_session(sm, to, u);
		stanza_free(&u);
	}
}

static void bcast_item(struct sm *sm, const struct storage_roster_item *it, void *arg)
{
	struct bcast *b = arg;
	struct jid *contact = NULL;
	char err[ERRLEN];

	if (jid_parse(&contact, it->contact, strlen(it->contact), err, sizeof(err)) < 0)
		return;
	if (sm_blocked(sm, b->s->jid, contact)) {
		jid_free(&contact);
		return;
	}
	if (sub_has_from(it->sub)) {
		send_from(sm, b->s, b->st, it->contact);
		/* A subscriber that had directed presence gets the broadcast
		 * now; anyone else keeps its entry (§4.6.3). */
		directed_remove(b->s, it->contact);
	}
	if (b->probe && sub_has_to(it->sub)) {
		if (sm_is_local_domain(sm, jid_domainpart(contact))) {
			local_probe(sm, b->s, contact);
		} else {
			struct stanza *probe = stanza_new(NS_CLIENT, "presence");
			stanza_set_type(probe, "probe");
			stanza_set_from(probe, jid_bare_str(b->s->jid));
			stanza_set_to(probe, it->contact);
			sm_send(sm, probe);
			stanza_free(&probe);
		}
	}
	jid_free(&contact);
}

static void broadcast(struct sm *sm, struct sm_session *s, const struct stanza *st, bool probe)
{
	struct bcast b = { s, st, probe };

	to_own_resources(sm, s, st);
	(void)sm_roster_each(sm, s->jid, bcast_item, &b);
}

/* --- for the other modules --------------------------------------------------------- */

void sm_presence_current_to(struct sm *sm, const struct jid *owner, const char *to)
{
	for (struct sm_session *s = session_first(sm->sessions, jid_bare_str(owner)); s != NULL;
	    s = s->next)
		if (s->available && s->presence != NULL)
			send_from(sm, s, s->presence, to);
}

void sm_presence_unavailable_to(struct sm *sm, const struct jid *owner, const char *to)
{
	struct stanza *u = unavailable();

	for (struct sm_session *s = session_first(sm->sessions, jid_bare_str(owner)); s != NULL;
	    s = s->next) {
		if (!s->available)
			continue;
		send_from(sm, s, u, to);
		directed_remove(s, to);
	}
	stanza_free(&u);
}

/* XEP-0191 §3.3: the recipients of directed presence the owner now
 * blocks see the owner's resources go, and are forgotten. */
void sm_presence_blocked(struct sm *sm, const struct jid *owner)
{
	struct stanza *u = unavailable();
	char err[ERRLEN];

	for (struct sm_session *s = session_first(sm->sessions, jid_bare_str(owner)); s != NULL;
	    s = s->next) {
		for (size_t i = 0; i < s->ndirected;) {
			struct jid *j = NULL;
			if (jid_parse(&j, s->directed[i], strlen(s->directed[i]), err,
			    sizeof(err)) == 0 && sm_blocked(sm, owner, j)) {
				send_from(sm, s, u, s->directed[i]);
				free(s->directed[i]);
				s->directed[i] = s->directed[--s->ndirected];
			} else {
				i++;
			}
			jid_free(&j);
		}
	}
	stanza_free(&u);
}

/* --- the session's own presence ------------------------------------------------------ */

static void go_unavailable(struct sm *sm, struct sm_session *s, const struct stanza *st)
{
	int status = stanza_find_child(st, stanza_root(st), NS_CLIENT, "status");

	session_set_unavailable(s);
	free(s->last_status);
	s->last_status = status != STANZA_NONE ? xstrdup(stanza_text(st, status)) : NULL;
	broadcast(sm, s, st, false);
	directed_unavailable(sm, s, st);
}

static enum sm_verdict session_out(struct sm *sm, struct sm_pkt *p, void *arg)
{
	(void)arg;
	if (p->kind != SM_PRESENCE || p->session == NULL)
		return SM_PASS;
	struct sm_session *s = p->session;
	bool avail = p->type == NULL;
	bool unavail = p->type != NULL && strcmp(p->type, "unavailable") == 0;

	if (p->to != NULL) {
		/* Directed presence (§4.6): routed by the core; remember who
		 * must hear the unavailable at the end. */
		if (avail && s->available && !jid_equal_bare(s->jid, p->to) &&
		    !sm_blocked(sm, s->jid, p->to))
			directed_add(s, jid_full_str(p->to));
		else if (unavail)
			directed_remove(s, jid_full_str(p->to));
		return SM_PASS;
	}
	if (avail) {
		bool initial = !s->available;
		bool was_negative = s->available && s->priority < 0;
		session_set_available(s, sm_presence_priority(p->st), stanza_copy(p->st));
		log_debug("%s available, priority %d", jid_full_str(s->jid), s->priority);
		broadcast(sm, s, p->st, initial);
		if (initial)
			others_to_new(sm, s);
		/* XEP-0160 §2: what waits goes to the first non-negative
		 * resource, also one that raised its priority. */
		if (initial || (was_negative && s->priority >= 0))
			sm_run_session(sm, SM_CHAIN_SESSION_AVAILABLE, s);
	} else if (unavail && s->available) {
		go_unavailable(sm, s, p->st);
	}
	/* Other types without `to` (subscribe, probe…) mean nothing: dropped. */
	return SM_DONE;
}

/* A probe for a local user (§4.3.2), never shown to the user. */
static enum sm_verdict probe_in(struct sm *sm, struct sm_pkt *p, void *arg)
{
	(void)arg;
	if (p->kind != SM_PRESENCE || p->type == NULL || strcmp(p->type, "probe") != 0)
		return SM_PASS;
	if (p->from == NULL || sm_blocked(sm, p->to, p->from))
		return SM_DONE;

	struct jid *owner = jid_bare_dup(p->to);
	struct jid *prober = jid_bare_dup(p->from);
	struct storage_roster_item item;
	struct sub_state st;
	bool exists;

	if (jid_equal_bare(owner, prober)) {
		st = (struct sub_state){ .sub = STORAGE_SUB_BOTH };
	} else if (sm_roster_load(sm, owner, jid_bare_str(prober), &item, &exists, &st) < 0) {
		goto done;
	} else {
		storage_roster_item_clear(&item);
	}
	if (!sub_has_from(st.sub)) {
		/* Not a subscriber: nothing about the user's presence, and
		 * its server learns its subscription is gone. */
		struct stanza *r = stanza_new(NS_CLIENT, "presence");
		stanza_set_type(r, "unsubscribed");
		stanza_set_from(r, jid_bare_str(owner));
		stanza_set_to(r, jid_bare_str(prober));
		sm_send(sm, r);
		stanza_free(&r);
		goto done;
	}
	bool any = false;
	for (struct sm_session *s = session_first(sm->sessions, jid_bare_str(owner)); s != NULL;
	    s = s->next) {
		if (s->available && s->presence != NULL) {
			send_from(sm, s, s->presence, jid_full_str(p->from));
			any = true;
		}
	}
	if (!any) {
		struct stanza *u = unavailable();
		stanza_set_from(u, jid_bare_str(owner));
		stanza_set_to(u, jid_full_str(p->from));
		sm_send(sm, u);
		stanza_free(&u);
	}
done:
	jid_free(&owner);
	jid_free(&prober);
	return SM_DONE;
}

static void session_end(struct sm *sm, struct sm_session *s, void *arg)
{
	(void)arg;
	if (!s->available)
		return;
	session_set_unavailable(s);
	struct stanza *st = unavailable();
	broadcast(sm, s, st, false);
	directed_unavailable(sm, s, st);
	stanza_free(&st);
}

void mod_presence_init(struct sm *sm)
{
	sm_hook_stanza(sm, SM_CHAIN_SESSION_OUT, "presence", session_out, NULL);
	sm_hook_stanza(sm, SM_CHAIN_LOCAL_IN, "presence", probe_in, NULL);
	sm_hook_session(sm, SM_CHAIN_SESSION_END, "presence", session_end, NULL);
}
