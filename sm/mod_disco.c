/*
 * mod_disco.c — XEP-0030 service discovery of the server (identity
 * server/im, the features the modules announced) and of an account,
 * answered by the server on the account's behalf (§8). An account shows
 * itself only to those allowed to see its presence (its own resources, or
 * a contact with a subscription from or both in its roster): to others
 * disco#info is <service-unavailable/> and disco#items empty; to those
 * allowed, disco#info is identity account/registered and disco#items the
 * account's available resources. No node is known (item-not-found), and
 * the server lists no items yet (no components are announced). The
 * server's features include jabber:iq:register, which c2s and auth answer.
 */
#include <string.h>

#include "log.h"
#include "sm.h"
#include "storage.h"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

static void identity(struct stanza *r, int q, const char *category, const char *type)
{
	int id = stanza_add_child(r, q, NULL, "identity");

	stanza_set_attr(r, id, "category", category);
	stanza_set_attr(r, id, "type", type);
}

static void feature(struct stanza *r, int q, const char *ns)
{
	stanza_set_attr(r, stanza_add_child(r, q, NULL, "feature"), "var", ns);
}

/* Whether the sender may see the account's presence (XEP-0030 §8). */
static bool authorized(struct sm *sm, const struct sm_pkt *p, const struct jid *account)
{
	const struct jid *who = p->session != NULL ? p->session->jid : p->from;
	struct storage_roster_item item = { 0 };
	char err[ERRLEN];
	bool yes;
	int rc;

	if (who == NULL)
		return false;
	if (jid_equal_bare(who, account))
		return true;
	if (sm->storage == NULL)
		return false;
	rc = storage_roster_get_item(sm->storage, jid_domainpart(account), jid_localpart(account),
	    jid_bare_str(who), &item, err, sizeof(err));
	if (rc == STORAGE_ERROR)
		log_error("storage: roster of %s: %s", jid_bare_str(account), err);
	yes = rc == STORAGE_OK && (item.sub == STORAGE_SUB_FROM || item.sub == STORAGE_SUB_BOTH);
	storage_roster_item_clear(&item);
	return yes;
}

static enum sm_verdict iq(struct sm *sm, struct sm_pkt *p, void *arg)
{
	int root = stanza_root(p->st);
	int info = stanza_find_child(p->st, root, NS_DISCO_INFO, "query");
	int items = stanza_find_child(p->st, root, NS_DISCO_ITEMS, "query");
	const char *ns = info != STANZA_NONE ? NS_DISCO_INFO : NS_DISCO_ITEMS;
	int q = info != STANZA_NONE ? info : items;

	(void)arg;
	if (q == STANZA_NONE || strcmp(p->type, "get") != 0)
		return SM_PASS;
	if (stanza_get_attr(p->st, q, "node") != NULL) {
		sm_bounce(sm, p, "cancel", "item-not-found");
		return SM_DONE;
	}
	const struct jid *account = p->to != NULL ? p->to :
	    p->session != NULL ? p->session->jid : NULL;
	bool server = sm_pkt_to_server(p);
	bool allowed = !server && account != NULL && authorized(sm, p, account);
	if (!server && !allowed && info != STANZA_NONE) {
		sm_bounce(sm, p, "cancel", "service-unavailable");
		return SM_DONE;
	}
	struct stanza *r = sm_iq_result(p);
	int rq = stanza_add_child(r, stanza_root(r), ns, "query");
	if (info != STANZA_NONE) {
		identity(r, rq, server ? "server" : "account", server ? "im" : "registered");
		feature(r, rq, NS_DISCO_INFO);
		feature(r, rq, NS_DISCO_ITEMS);
		for (size_t i = 0; server && i < sm->nfeatures; i++)
			feature(r, rq, sm->features[i]);
	} else if (allowed) {
		for (struct sm_session *s = session_first(sm->sessions, jid_bare_str(account));
		    s != NULL; s = s->next)
			if (s->available)
				stanza_set_attr(r, stanza_add_child(r, rq, NULL, "item"), "jid",
				    jid_full_str(s->jid));
	}
	sm_send(sm, r);
	stanza_free(&r);
	return SM_DONE;
}

void mod_disco_init(struct sm *sm)
{
	sm_hook_stanza(sm, SM_CHAIN_IQ, "disco", iq, NULL);
	/* XEP-0077, answered by c2s and auth rather than a module of ours:
	 * the form, a password change and cancellation always (a backend
	 * that cannot do one says not-allowed), account creation when
	 * auth.registration is on. */
	sm_add_feature(sm, "jabber:iq:register");
}
