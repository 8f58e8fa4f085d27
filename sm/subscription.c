/*
 * subscription.c — RFC 6121 Appendix A in code. The nine states of the
 * RFC's tables are a subscription (none/to/from/both) plus the two
 * pending flags; every row of A.2 and A.3 reduces to one of four moves:
 * ask for, grant, cancel or lose the "to" or "from" half.
 */
#include <string.h>

#include "subscription.h"

int sub_stanza_parse(const char *type)
{
	static const char *const names[] = { "subscribe", "subscribed", "unsubscribe",
		"unsubscribed" };

	if (type == NULL)
		return -1;
	for (int i = 0; i < 4; i++)
		if (strcmp(type, names[i]) == 0)
			return i;
	return -1;
}

const char *sub_stanza_name(enum sub_stanza t)
{
	static const char *const names[] = { "subscribe", "subscribed", "unsubscribe",
		"unsubscribed" };
	return names[t];
}

const char *sub_name(enum storage_sub sub)
{
	switch (sub) {
	case STORAGE_SUB_TO:
		return "to";
	case STORAGE_SUB_FROM:
		return "from";
	case STORAGE_SUB_BOTH:
		return "both";
	case STORAGE_SUB_NONE:
		break;
	}
	return "none";
}

static enum storage_sub with(bool to, bool from)
{
	if (to && from)
		return STORAGE_SUB_BOTH;
	if (to)
		return STORAGE_SUB_TO;
	return from ? STORAGE_SUB_FROM : STORAGE_SUB_NONE;
}

/* The "from" half ends (the contact no longer sees the user's presence),
 * with any request for it: A.2.4 (user's unsubscribed), A.3.2
 * (contact's unsubscribe). True when something changed. */
static bool lose_from(struct sub_state *st)
{
	if (!st->pending_in && !sub_has_from(st->sub))
		return false;
	st->pending_in = false;
	st->sub = with(sub_has_to(st->sub), false);
	return true;
}

/* The "to" half ends, with any request for it: A.2.2 (user's
 * unsubscribe), A.3.4 (contact's unsubscribed). */
static bool lose_to(struct sub_state *st)
{
	if (!st->pending_out && !sub_has_to(st->sub))
		return false;
	st->pending_out = false;
	st->sub = with(false, sub_has_from(st->sub));
	return true;
}

bool sub_outbound(struct sub_state *st, enum sub_stanza t)
{
	switch (t) {
	case SUB_SUBSCRIBE:
		/* A.2.1: a request for what the user has is no change; the
		 * stanza goes anyway (the contact's server may have lost it). */
		if (!sub_has_to(st->sub))
			st->pending_out = true;
		return true;
	case SUB_UNSUBSCRIBE:
		(void)lose_to(st);
		return true;
	case SUB_SUBSCRIBED:
		/* A.2.3: an approval with no request pending changes nothing
		 * and is not sent (no pre-approval, §3.4). */
		if (!st->pending_in)
			return false;
		st->pending_in = false;
		st->sub = with(sub_has_to(st->sub), true);
		return true;
	case SUB_UNSUBSCRIBED:
		return lose_from(st);
	}
	return false;
}

bool sub_inbound(struct sub_state *st, enum sub_stanza t)
{
	switch (t) {
	case SUB_SUBSCRIBE:
		/* A.3.1: the contact already has the user's presence: no
		 * change (the caller answers "subscribed" for the user). */
		if (sub_has_from(st->sub) || st->pending_in)
			return false;
		st->pending_in = true;
		return true;
	case SUB_UNSUBSCRIBE:
		return lose_from(st);
	case SUB_SUBSCRIBED:
		if (!st->pending_out)
			return false;
		st->pending_out = false;
		st->sub = with(true, sub_has_from(st->sub));
		return true;
	case SUB_UNSUBSCRIBED:
		return lose_to(st);
	}
	return false;
}
