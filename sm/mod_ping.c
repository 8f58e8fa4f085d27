/*
 * mod_ping.c — XEP-0199: an iq get <ping xmlns='urn:xmpp:ping'/> to the
 * server, or to a user's bare JID (answered on the user's behalf), gets an
 * empty result.
 */
#include "sm.h"

#define NS_PING "urn:xmpp:ping"

static enum sm_verdict iq(struct sm *sm, struct sm_pkt *p, void *arg)
{
	(void)arg;
	if (stanza_find_child(p->st, stanza_root(p->st), NS_PING, "ping") == STANZA_NONE)
		return SM_PASS;
	if (p->type == NULL || p->type[0] != 'g') /* a set of ping is no ping */
		return SM_PASS;
	struct stanza *r = sm_iq_result(p);
	sm_send(sm, r);
	stanza_free(&r);
	return SM_DONE;
}

void mod_ping_init(struct sm *sm)
{
	sm_hook_stanza(sm, SM_CHAIN_IQ, "ping", iq, NULL);
	sm_add_feature(sm, NS_PING);
}
