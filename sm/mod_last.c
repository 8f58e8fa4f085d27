/*
 * mod_last.c — XEP-0012 last activity. To the server (§4): how long sm
 * has been up. To a user's bare JID (§2, answered by the server on the
 * user's behalf): 0 while the user has an available resource, else the
 * seconds since the user's last session ended with the status of its last
 * unavailable presence; "forbidden" to anyone not allowed to see the
 * user's presence (a roster item of the user's with subscription from or
 * both; the user may always ask about itself); item-not-found when the
 * user never logged out (the XEP names no error for it). Queries to a
 * full JID are the client's to answer, not the server's.
 *
 * The time is recorded when the user's last session ends, with the status
 * the presence module kept from its unavailable presence ("" when it
 * ended without one).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sm.h"
#include "storage.h"

#define NS_LAST "jabber:iq:last"

static struct timespec started;     /* monotonic: uptime must not jump with the clock */

static void answer(struct sm *sm, struct sm_pkt *p, int64_t seconds, const char *status)
{
	char s[32];
	struct stanza *r = sm_iq_result(p);
	int q = stanza_add_child(r, stanza_root(r), NS_LAST, "query");

	snprintf(s, sizeof(s), "%" PRId64, seconds < 0 ? 0 : seconds);
	stanza_set_attr(r, q, "seconds", s);
	if (status != NULL && status[0] != '\0')
		stanza_add_text(r, q, status);
	sm_send(sm, r);
	stanza_free(&r);
}

static bool may_see_presence(struct sm *sm, const struct jid *owner, const struct jid *who)
{
	struct storage_roster_item item = { 0 };
	char err[ERRLEN];
	bool yes;
	int rc;

	if (jid_equal_bare(owner, who))
		return true;
	if (sm->storage == NULL)
		return false;
	rc = storage_roster_get_item(sm->storage, jid_domainpart(owner), jid_localpart(owner),
	    jid_bare_str(who), &item, err, sizeof(err));
	if (rc == STORAGE_ERROR)
		log_error("storage: roster of %s: %s", jid_bare_str(owner), err);
	yes = rc == STORAGE_OK && (item.sub == STORAGE_SUB_FROM || item.sub == STORAGE_SUB_BOTH);
	storage_roster_item_clear(&item);
	return yes;
}

static void user_query(struct sm *sm, struct sm_pkt *p, const struct jid *owner)
{
	const struct jid *who = p->session != NULL ? p->session->jid : p->from;
	char err[ERRLEN];
	char *status = NULL;
	int64_t when;
	int rc;

	if (who == NULL || !may_see_presence(sm, owner, who)) {
		sm_bounce(sm, p, "auth", "forbidden");
		return;
	}
	for (struct sm_session *s = session_first(sm->sessions, jid_bare_str(owner)); s != NULL;
	    s = s->next)
		if (s->available) {
			answer(sm, p, 0, NULL);
			return;
		}
	rc = sm->storage == NULL ? STORAGE_NOT_FOUND :
	    storage_last_get(sm->storage, jid_domainpart(owner), jid_localpart(owner), &when,
	    &status, err, sizeof(err));
	if (rc == STORAGE_OK)
		answer(sm, p, (int64_t)time(NULL) - when, status);
	else if (rc == STORAGE_NOT_FOUND)
		sm_bounce(sm, p, "cancel", "item-not-found");
	else {
		log_error("storage: last activity of %s: %s", jid_bare_str(owner), err);
		sm_bounce(sm, p, "wait", "internal-server-error");
	}
	free(status);
}

static enum sm_verdict iq(struct sm *sm, struct sm_pkt *p, void *arg)
{
	int q = stanza_find_child(p->st, stanza_root(p->st), NS_LAST, "query");

	(void)arg;
	if (q == STANZA_NONE)
		return SM_PASS;
	if (strcmp(p->type, "get") != 0) {
		sm_bounce(sm, p, "modify", "bad-request");
		return SM_DONE;
	}
	if (sm_pkt_to_server(p)) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		answer(sm, p, (int64_t)(now.tv_sec - started.tv_sec), NULL);
		return SM_DONE;
	}
	const struct jid *owner = p->to != NULL ? p->to :
	    p->session != NULL ? p->session->jid : NULL;
	if (owner == NULL || jid_localpart(owner) == NULL)
		return SM_PASS;
	struct jid *bare = jid_bare_dup(owner);
	user_query(sm, p, bare);
	jid_free(&bare);
	return SM_DONE;
}

/* The user's last session is ending (it is still in the table). */
static void session_end(struct sm *sm, struct sm_session *s, void *arg)
{
	char err[ERRLEN];

	(void)arg;
	if (sm->storage == NULL || session_count_of(sm->sessions, jid_bare_str(s->jid)) > 1)
		return;
	if (storage_last_set(sm->storage, jid_domainpart(s->jid), jid_localpart(s->jid),
	    (int64_t)time(NULL), s->last_status != NULL ? s->last_status : "", err,
	    sizeof(err)) != STORAGE_OK)
		log_error("storage: last activity of %s: %s", jid_bare_str(s->jid), err);
}

void mod_last_init(struct sm *sm)
{
	clock_gettime(CLOCK_MONOTONIC, &started);
	sm_hook_stanza(sm, SM_CHAIN_IQ, "last", iq, NULL);
	sm_hook_session(sm, SM_CHAIN_SESSION_END, "last", session_end, NULL);
	sm_add_feature(sm, NS_LAST);
}
