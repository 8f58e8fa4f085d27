/*
 * mod_subscription.c — presence subscriptions (RFC 6121 §3): what a
 * user's subscribe, subscribed, unsubscribe and unsubscribed do on the way
 * out, what a contact's do on the way in, and the requests waiting for an
 * answer ("Pending In"), delivered again whenever the user comes online
 * until answered. The state machine itself is subscription.c; this file
 * applies it to the store, the roster pushes and the network.
 */
#include <string.h>

#include "buf.h"
#include "log.h"
#include "roster.h"
#include "xml_stream.h"

static const char *domain_of(const struct jid *j)
{
	return jid_domainpart(j);
}

static const char *local_of(const struct jid *j)
{
	return jid_localpart(j);
}

static void send_presence(struct sm *sm, const char *type, const char *from, const char *to)
{
	struct stanza *st = stanza_new(NS_CLIENT, "presence");

	stanza_set_type(st, type);
	stanza_set_from(st, from);
	stanza_set_to(st, to);
	sm_send(sm, st);
	stanza_free(&st);
}

static void deliver_to_available(struct sm *sm, const struct jid *owner, struct stanza *st)
{
	for (struct sm_session *s = session_first(sm->sessions, jid_bare_str(owner)); s != NULL;
	    s = s->next) {
		if (!s->available)
			continue;
		stanza_set_to(st, jid_full_str(s->jid));
		sm_deliver_to_session(sm, s, st);
	}
}

static void set_pending_in(struct sm *sm, const struct jid *owner, const char *contact,
    bool on, const struct stanza *request)
{
	char err[ERRLEN];
	int rc;

	if (on) {
		struct buf b;
		buf_init(&b);
		stanza_write(request, &b, NULL);
		buf_append(&b, "", 1);
		rc = storage_subreq_put(sm->storage, domain_of(owner), local_of(owner), contact,
		    buf_head(&b), err, sizeof(err));
		buf_free(&b);
	} else {
		rc = storage_subreq_delete(sm->storage, domain_of(owner), local_of(owner), contact,
		    err, sizeof(err));
	}
	if (rc == STORAGE_ERROR)
		log_error("storage: subscription requests of %s: %s", jid_bare_str(owner), err);
}

/* --- the user's stanzas (A.2) --------------------------------------------------------- */

static enum sm_verdict outbound(struct sm *sm, struct sm_pkt *p, void *arg)
{
	(void)arg;
	if (p->kind != SM_PRESENCE || p->to == NULL || p->session == NULL)
		return SM_PASS;
	int t = sub_stanza_parse(p->type);
	if (t < 0)
		return SM_PASS;

	const struct jid *owner = p->session->jid;
	struct jid *contact = jid_bare_dup(p->to);
	struct storage_roster_item item;
	struct sub_state before, st;
	bool exists;

	if (jid_equal_bare(contact, owner) ||
	    sm_roster_load(sm, owner, jid_bare_str(contact), &item, &exists, &before) < 0) {
		/* A subscription to oneself means nothing (the user always
		 * has their own presence); a storage error is logged. */
		jid_free(&contact);
		return SM_DONE;
	}
	st = before;
	bool route = sub_outbound(&st, (enum sub_stanza)t);
	(void)sm_roster_save(sm, owner, &item, exists, &st);
	if (before.pending_in != st.pending_in)
		set_pending_in(sm, owner, jid_bare_str(contact), false, NULL);
	storage_roster_item_clear(&item);

	if (route) {
		/* §3.1.2 and the others: stamped with the user's bare JID, to
		 * the contact's bare JID, whatever the client wrote. */
		struct stanza *out = stanza_copy(p->st);
		stanza_set_from(out, jid_bare_str(owner));
		stanza_set_to(out, jid_bare_str(contact));
		sm_send(sm, out);
		stanza_free(&out);
	}
	/* §3.1.5: a new subscriber hears the user's current presence;
	 * §3.2.2: a cancelled one hears that the user is gone. */
	if (!sub_has_from(before.sub) && sub_has_from(st.sub))
		sm_presence_current_to(sm, owner, jid_bare_str(contact));
	else if (sub_has_from(before.sub) && !sub_has_from(st.sub))
		sm_presence_unavailable_to(sm, owner, jid_bare_str(contact));
	jid_free(&contact);
	return SM_DONE;
}

/* --- a contact's stanzas (A.3) -------------------------------------------------------- */

/* Unanswered requests one user may hold. */
#define SUBREQ_MAX 1000

static int count_one(void *arg, const char *contact, const char *stanza)
{
	(void)contact;
	(void)stanza;
	return ++*(size_t *)arg >= SUBREQ_MAX;
}

static bool requests_full(struct sm *sm, const struct jid *owner)
{
	size_t n = 0;
	char err[ERRLEN];

	if (storage_subreq_list(sm->storage, jid_domainpart(owner), jid_localpart(owner),
	    count_one, &n, err, sizeof(err)) == STORAGE_ERROR)
		log_error("storage: subscription requests of %s: %s", jid_bare_str(owner), err);
	return n >= SUBREQ_MAX;
}

static enum sm_verdict inbound(struct sm *sm, struct sm_pkt *p, void *arg)
{
	(void)arg;
	if (p->kind != SM_PRESENCE || p->from == NULL)
		return SM_PASS;
	int t = sub_stanza_parse(p->type);
	if (t < 0)
		return SM_PASS;

	struct jid *owner = jid_bare_dup(p->to);
	struct jid *contact = jid_bare_dup(p->from);
	struct storage_roster_item item;
	struct sub_state before, st;
	bool exists;

	if (jid_equal_bare(owner, contact) ||
	    sm_roster_load(sm, owner, jid_bare_str(contact), &item, &exists, &before) < 0)
		goto done;
	st = before;
	bool deliver = sub_inbound(&st, (enum sub_stanza)t);
	if (t == SUB_SUBSCRIBE && sub_has_from(st.sub)) {
		/* §3.1.3: already approved: answered for the user. */
		send_presence(sm, "subscribed", jid_bare_str(owner), jid_bare_str(contact));
		storage_roster_item_clear(&item);
		goto done;
	}
	if (t == SUB_SUBSCRIBE && !before.pending_in && requests_full(sm, owner)) {
		/* Requests from strangers cost the user storage: a bound,
		 * and the sender hears it was not taken. */
		sm_bounce(sm, p, "wait", "resource-constraint");
		storage_roster_item_clear(&item);
		goto done;
	}
	struct stanza *copy = stanza_copy(p->st);
	stanza_set_from(copy, jid_bare_str(contact));
	if (t == SUB_SUBSCRIBE) {
		/* Kept until answered, with what the contact wrote in it. */
		set_pending_in(sm, owner, jid_bare_str(contact), true, copy);
	} else {
		if (before.pending_in && !st.pending_in)
			set_pending_in(sm, owner, jid_bare_str(contact), false, NULL);
		(void)sm_roster_save(sm, owner, &item, exists, &st);
	}
	storage_roster_item_clear(&item);
	if (deliver)
		deliver_to_available(sm, owner, copy);
	stanza_free(&copy);
	if (t == SUB_UNSUBSCRIBE && sub_has_from(before.sub) && !sub_has_from(st.sub)) {
		/* §3.3.3: the contact no longer has the user's presence:
		 * it sees each of the user's resources go. */
		sm_presence_unavailable_to(sm, owner, jid_bare_str(contact));
	}
	if (t == SUB_UNSUBSCRIBED && sub_has_to(before.sub) && !sub_has_to(st.sub)) {
		/* §3.2.3: the user no longer hears the contact: its
		 * resources see the contact go unavailable. */
		struct stanza *u = stanza_new(NS_CLIENT, "presence");
		stanza_set_type(u, "unavailable");
		stanza_set_from(u, jid_bare_str(contact));
		deliver_to_available(sm, owner, u);
		stanza_free(&u);
	}
done:
	jid_free(&owner);
	jid_free(&contact);
	return SM_DONE;
}

/* --- requests waiting for an answer --------------------------------------------------- */

struct redeliver {
	struct sm *sm;
	struct sm_session *s;
};

static int redeliver_one(void *arg, const char *contact, const char *xml)
{
	struct redeliver *r = arg;
	struct stanza *st = stanza_new_empty();
	char err[ERRLEN];

	struct jid *from = NULL;
	if (jid_parse(&from, contact, strlen(contact), err, sizeof(err)) == 0 &&
	    sm_blocked(r->sm, r->s->jid, from)) {
		/* XEP-0191 §3.3: nothing from a blocked entity, even a request
		 * stored before the block. */
		jid_free(&from);
		stanza_free(&st);
		return 0;
	}
	jid_free(&from);
	if (xml_stream_parse_stanza(r->sm->parser, xml, strlen(xml), st, err, sizeof(err)) < 0) {
		log_warn("a stored subscription request from %s to %s does not parse: %s",
		    contact, jid_bare_str(r->s->jid), err);
	} else {
		stanza_set_from(st, contact);
		stanza_set_to(st, jid_full_str(r->s->jid));
		sm_deliver_to_session(r->sm, r->s, st);
	}
	stanza_free(&st);
	return 0;
}

static void available(struct sm *sm, struct sm_session *s, void *arg)
{
	struct redeliver r = { sm, s };
	char err[ERRLEN];

	(void)arg;
	if (storage_subreq_list(sm->storage, jid_domainpart(s->jid), jid_localpart(s->jid),
	    redeliver_one, &r, err, sizeof(err)) == STORAGE_ERROR)
		log_error("storage: subscription requests of %s: %s", jid_bare_str(s->jid), err);
}

void mod_subscription_init(struct sm *sm)
{
	sm_hook_stanza(sm, SM_CHAIN_SESSION_OUT, "subscription", outbound, NULL);
	sm_hook_stanza(sm, SM_CHAIN_LOCAL_IN, "subscription", inbound, NULL);
	sm_hook_session(sm, SM_CHAIN_SESSION_AVAILABLE, "subscription", available, NULL);
}
