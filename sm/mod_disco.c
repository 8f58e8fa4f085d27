/*
 * mod_disco.c — XEP-0030 service discovery of the server (identity
 * server/im, the features the modules announced) and of an account
 * (identity account/registered), answered by the server on the account's
 * behalf. Items are empty: no components are announced yet.
 */
#include <string.h>

#include "sm.h"

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
	struct stanza *r = sm_iq_result(p);
	int rq = stanza_add_child(r, stanza_root(r), ns, "query");
	if (info != STANZA_NONE) {
		if (sm_pkt_to_server(p)) {
			identity(r, rq, "server", "im");
			feature(r, rq, NS_DISCO_INFO);
			feature(r, rq, NS_DISCO_ITEMS);
			for (size_t i = 0; i < sm->nfeatures; i++)
				feature(r, rq, sm->features[i]);
		} else {
			identity(r, rq, "account", "registered");
			feature(r, rq, NS_DISCO_INFO);
			feature(r, rq, NS_DISCO_ITEMS);
		}
	}
	sm_send(sm, r);
	stanza_free(&r);
	return SM_DONE;
}

void mod_disco_init(struct sm *sm)
{
	sm_hook_stanza(sm, SM_CHAIN_IQ, "disco", iq, NULL);
}
