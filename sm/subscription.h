/*
 * subscription.h — the presence subscription state machine of RFC 6121
 * Appendix A, as pure functions: given the state of one roster item (its
 * subscription, Pending Out, Pending In) and one subscription stanza, the
 * new state and whether the stanza goes on. mod_subscription.c applies it
 * to storage and the network; tests/sm/test_subscription.c checks every
 * cell of the RFC's tables.
 */
#ifndef PARLEY_SM_SUBSCRIPTION_H
#define PARLEY_SM_SUBSCRIPTION_H

#include <stdbool.h>

#include "storage.h"

struct sub_state {
	enum storage_sub sub;
	bool pending_out;           /* ask='subscribe' */
	bool pending_in;            /* an unanswered subscribe from the contact */
};

enum sub_stanza { SUB_SUBSCRIBE, SUB_SUBSCRIBED, SUB_UNSUBSCRIBE, SUB_UNSUBSCRIBED };

/* "subscribe"… → the enum; -1 for any other type. */
int sub_stanza_parse(const char *type);
const char *sub_stanza_name(enum sub_stanza t);
const char *sub_name(enum storage_sub sub);

/* The user sends `t` to the contact (Appendix A.2). *st changes to the
 * new state; returns true when the stanza is to be routed to the contact
 * (A.2: subscribe and unsubscribe always are; subscribed and unsubscribed
 * only when they changed the state). */
bool sub_outbound(struct sub_state *st, enum sub_stanza t);

/* The contact's `t` arrives for the user (Appendix A.3). *st changes;
 * returns true when the stanza is delivered to the user (when it changed
 * the state; a subscribe also when it is still pending, so that the user
 * is asked again). */
bool sub_inbound(struct sub_state *st, enum sub_stanza t);

/* Whether the contact receives the user's presence (From or Both), and
 * whether the user receives the contact's (To or Both). */
static inline bool sub_has_from(enum storage_sub s)
{
	return s == STORAGE_SUB_FROM || s == STORAGE_SUB_BOTH;
}

static inline bool sub_has_to(enum storage_sub s)
{
	return s == STORAGE_SUB_TO || s == STORAGE_SUB_BOTH;
}

#endif
