/*
 * mod_version.c — XEP-0092: the server's software name and version, to an
 * iq get addressed to the server. The operating system is not told
 * (XEP-0092 §4 leaves it optional; it helps only an attacker).
 */
#include "config.h"

#include <string.h>

#include "sm.h"

#define NS_VERSION "jabber:iq:version"

static enum sm_verdict iq(struct sm *sm, struct sm_pkt *p, void *arg)
{
	(void)arg;
	int q = stanza_find_child(p->st, stanza_root(p->st), NS_VERSION, "query");
	if (q == STANZA_NONE || !sm_pkt_to_server(p) || strcmp(p->type, "get") != 0)
		return SM_PASS;
	struct stanza *r = sm_iq_result(p);
	int rq = stanza_add_child(r, stanza_root(r), NS_VERSION, "query");
	stanza_add_child_text(r, rq, NULL, "name", "Parley");
	stanza_add_child_text(r, rq, NULL, "version", PACKAGE_VERSION);
	sm_send(sm, r);
	stanza_free(&r);
	return SM_DONE;
}

void mod_version_init(struct sm *sm)
{
	sm_hook_stanza(sm, SM_CHAIN_IQ, "version", iq, NULL);
	sm_add_feature(sm, NS_VERSION);
}
