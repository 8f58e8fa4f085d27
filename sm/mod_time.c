/*
 * mod_time.c — XEP-0202 entity time of the server: an iq get
 * <time xmlns='urn:xmpp:time'/> to a hosted domain is answered with the
 * UTC time and a zero offset (the server keeps UTC; its local zone is
 * nobody's business).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sm.h"

#define NS_TIME "urn:xmpp:time"

static enum sm_verdict iq(struct sm *sm, struct sm_pkt *p, void *arg)
{
	int q = stanza_find_child(p->st, stanza_root(p->st), NS_TIME, "time");
	struct timespec now;
	struct tm tm;
	char utc[64], stamp[32];

	(void)arg;
	if (q == STANZA_NONE || !sm_pkt_to_server(p))
		return SM_PASS;
	if (strcmp(p->type, "get") != 0) {
		sm_bounce(sm, p, "modify", "bad-request");
		return SM_DONE;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (gmtime_r(&now.tv_sec, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		sm_bounce(sm, p, "wait", "internal-server-error");
		return SM_DONE;
	}
	/* XEP-0082 DateTime with milliseconds, in UTC. */
	snprintf(utc, sizeof(utc), "%s.%03dZ", stamp, (int)(now.tv_nsec / 1000000) % 1000);
	struct stanza *r = sm_iq_result(p);
	int t = stanza_add_child(r, stanza_root(r), NS_TIME, "time");
	stanza_add_child_text(r, t, NULL, "tzo", "+00:00");
	stanza_add_child_text(r, t, NULL, "utc", utc);
	sm_send(sm, r);
	stanza_free(&r);
	return SM_DONE;
}

void mod_time_init(struct sm *sm)
{
	sm_hook_stanza(sm, SM_CHAIN_IQ, "time", iq, NULL);
	sm_add_feature(sm, NS_TIME);
}
