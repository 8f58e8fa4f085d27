/*
 * mod_offline.c — XEP-0160 offline messages: a chat or normal message no
 * resource takes (the offline chain; route.c has already refused
 * groupchat and dropped headline and error messages) is stored, stamped
 * with an XEP-0203 <delay/> from the user's domain, and delivered in the
 * order it came to the first resource that sends available presence with
 * a non-negative priority (XEP-0160 §2 step 5), then deleted.
 *
 * What is not stored: a chat of chat states only (XEP-0160 §3: "SHOULD
 * NOT be stored") is dropped silently, as a typing notification to
 * nobody; a message carrying the XEP-0334 <no-store/> hint is left to the
 * core, which answers <service-unavailable/> (RFC 6121 §8.5.2.2.1: not
 * stored means an error). Beyond the quota (sm.offline.quota) the sender
 * gets <service-unavailable/> (XEP-0160 §2 step 3): never a silent drop.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"
#include "sm.h"
#include "storage.h"
#include "xml_stream.h"

#define NS_DELAY "urn:xmpp:delay"
#define NS_CHATSTATES "http://jabber.org/protocol/chatstates"
#define NS_HINTS "urn:xmpp:hints"

/* XEP-0160 §3: a chat carrying nothing but a chat state (a <thread/> or a
 * processing hint beside it adds no content) SHOULD NOT be stored: it is
 * about a moment that is over at the next login. Only chats: a normal
 * message with the same content is stored, as is anything else without a
 * body (a receipt, a marker). */
static bool chat_state_only(const struct sm_pkt *p)
{
	const struct stanza *st = p->st;
	int root = stanza_root(st);
	bool state = false;

	if (p->type == NULL || strcmp(p->type, "chat") != 0)
		return false;
	for (int c = stanza_first_element(st, root); c != STANZA_NONE;
	    c = stanza_next_element(st, c)) {
		const char *ns = stanza_ns(st, c);
		if (strcmp(ns, NS_CHATSTATES) == 0)
			state = true;
		else if (strcmp(ns, NS_HINTS) != 0 && !stanza_is(st, c, NS_CLIENT, "thread"))
			return false;
	}
	return state;
}

/* XEP-0082 DateTime in UTC, to the second: 2024-05-01T12:00:00Z. */
static void stamp(char out[32], time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* The <delay/> a server of ours put on a message (XEP-0203), or -1. Only
 * an earlier offline store of ours may have put one there: anyone else's
 * claiming one of our domains is forged, and removed (remove = true) so
 * that a sender cannot choose the stamp the recipient sees. */
static int own_delay(struct sm *sm, struct stanza *st, bool remove)
{
	int root = stanza_root(st), found = -1;

	for (int c = stanza_find_child(st, root, NS_DELAY, "delay"), next; c >= 0; c = next) {
		next = stanza_find_next(st, c, NS_DELAY, "delay");
		const char *from = stanza_get_attr(st, c, "from");
		if (from == NULL || !sm_is_local_domain(sm, from))
			continue;
		if (remove)
			stanza_remove(st, c);
		else if (found < 0)
			found = c;
	}
	return found;
}

static enum sm_verdict store(struct sm *sm, struct sm_pkt *p, void *arg)
{
	const struct jid *owner = p->to;
	char when[32], err[ERRLEN];
	struct buf b;
	int rc;

	(void)arg;
	if (p->kind != SM_MESSAGE || owner == NULL || jid_localpart(owner) == NULL ||
	    sm->storage == NULL)
		return SM_PASS;
	if (stanza_find_child(p->st, stanza_root(p->st), NS_HINTS, "no-store") != STANZA_NONE)
		return SM_PASS;
	if (chat_state_only(p)) {
		log_debug("chat state to %s: not stored", jid_bare_str(owner));
		return SM_DONE;
	}

	struct stanza *st = stanza_copy(p->st);
	/* A message stored before and coming back (its delivery never
	 * reached the client) keeps its first stamp: one <delay/> per
	 * entity (XEP-0203 §4). */
	if (own_delay(sm, st, !p->again) < 0) {
		int d = stanza_add_child(st, stanza_root(st), NS_DELAY, "delay");
		stamp(when, time(NULL));
		stanza_set_attr(st, d, "from", jid_domainpart(owner));
		stanza_set_attr(st, d, "stamp", when);
	}
	buf_init(&b);
	stanza_write(st, &b, NULL);
	buf_append(&b, "", 1); /* the store takes a string */
	rc = storage_offline_store(sm->storage, jid_domainpart(owner), jid_localpart(owner),
	    buf_head(&b), (size_t)conf_int(sm->conf, "sm.offline.quota"), err, sizeof(err));
	buf_free(&b);
	stanza_free(&st);
	switch (rc) {
	case STORAGE_OK:
		log_debug("message to %s stored offline", jid_bare_str(owner));
		return SM_DONE;
	case STORAGE_FULL:
		log_info("offline storage of %s is full: message from %s refused",
		    jid_bare_str(owner), p->from != NULL ? jid_full_str(p->from) : "?");
		sm_bounce(sm, p, "cancel", "service-unavailable");
		return SM_DONE;
	default:
		log_error("storage: offline message for %s: %s", jid_bare_str(owner), err);
		sm_bounce(sm, p, "wait", "internal-server-error");
		return SM_DONE;
	}
}

struct delivery {
	struct sm *sm;
	struct sm_session *to;
	int64_t last;               /* the highest id handled */
	size_t delivered, dropped;
};

static int deliver_one(void *arg, int64_t id, const char *xml)
{
	struct delivery *d = arg;
	struct stanza *st = stanza_new_empty();
	struct jid *from = NULL;
	const char *f;
	char err[ERRLEN];

	d->last = id;
	if (xml_stream_parse_stanza(d->sm->parser, xml, strlen(xml), st, err, sizeof(err)) < 0) {
		log_error("offline message %lld of %s does not parse, dropped: %s", (long long)id,
		    jid_bare_str(d->to->jid), err);
		d->dropped++;
		stanza_free(&st);
		return 0;
	}
	/* Blocked since it was stored: not delivered (XEP-0191 §3.3). */
	if ((f = stanza_from(st)) != NULL && jid_parse(&from, f, strlen(f), err, sizeof(err)) == 0 &&
	    sm_blocked(d->sm, d->to->jid, from)) {
		d->dropped++;
	} else {
		sm_deliver_to_session(d->sm, d->to, st);
		d->delivered++;
	}
	jid_free(&from);
	stanza_free(&st);
	return 0;
}

/* A session became available: a non-negative one takes what waits. */
static void available(struct sm *sm, struct sm_session *s, void *arg)
{
	struct jid *owner;
	struct delivery d = { .sm = sm, .to = s, .last = -1 };
	char err[ERRLEN];

	(void)arg;
	if (s->priority < 0 || sm->storage == NULL)
		return;
	owner = jid_bare_dup(s->jid);
	if (storage_offline_list(sm->storage, jid_domainpart(owner), jid_localpart(owner),
	    deliver_one, &d, err, sizeof(err)) != STORAGE_OK)
		log_error("storage: offline messages of %s: %s", jid_bare_str(owner), err);
	/* Delete what was handled, even after an error part way: those were
	 * delivered already, and the rest keep their place. */
	if (d.last >= 0 && storage_offline_delete_upto(sm->storage, jid_domainpart(owner),
	    jid_localpart(owner), d.last, err, sizeof(err)) != STORAGE_OK)
		log_error("storage: deleting offline messages of %s: %s", jid_bare_str(owner),
		    err);
	if (d.delivered > 0 || d.dropped > 0)
		log_info("%s: %zu offline message%s delivered%s", jid_full_str(s->jid), d.delivered,
		    d.delivered == 1 ? "" : "s", d.dropped > 0 ? ", some dropped" : "");
	jid_free(&owner);
}

void mod_offline_init(struct sm *sm)
{
	sm_hook_stanza(sm, SM_CHAIN_OFFLINE, "offline", store, NULL);
	sm_hook_session(sm, SM_CHAIN_SESSION_AVAILABLE, "offline", available, NULL);
	sm_add_feature(sm, "msgoffline");
}
