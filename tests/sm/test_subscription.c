/*
 * test_subscription.c — every cell of RFC 6121 Appendix A's state tables
 * (A.2 outbound, A.3 inbound: nine states × four stanzas each), written
 * out from the RFC rather than derived, against sm/subscription.c.
 */
#include "subscription.h"
#include "unit.h"

/* The RFC's nine states, by their names in Appendix A. */
enum { NONE, NONE_PO, NONE_PI, NONE_PO_PI, TO, TO_PI, FROM, FROM_PO, BOTH, NSTATES };

static const struct sub_state states[NSTATES] = {
	[NONE] = { STORAGE_SUB_NONE, false, false },
	[NONE_PO] = { STORAGE_SUB_NONE, true, false },
	[NONE_PI] = { STORAGE_SUB_NONE, false, true },
	[NONE_PO_PI] = { STORAGE_SUB_NONE, true, true },
	[TO] = { STORAGE_SUB_TO, false, false },
	[TO_PI] = { STORAGE_SUB_TO, false, true },
	[FROM] = { STORAGE_SUB_FROM, false, false },
	[FROM_PO] = { STORAGE_SUB_FROM, true, false },
	[BOTH] = { STORAGE_SUB_BOTH, false, false },
};

static const char *const names[NSTATES] = { "None", "None + Pending Out", "None + Pending In",
	"None + Pending Out + Pending In", "To", "To + Pending In", "From",
	"From + Pending Out", "Both" };

/* One row: the new state for each old state, and whether the stanza goes
 * on (routed / delivered). */
struct row {
	int next[NSTATES];
	bool on[NSTATES];
};

static int find(const struct sub_state *st)
{
	for (int i = 0; i < NSTATES; i++)
		if (states[i].sub == st->sub && states[i].pending_out == st->pending_out &&
		    states[i].pending_in == st->pending_in)
			return i;
	return -1;
}

static void check(const char *table, const struct row *r, enum sub_stanza t, bool outbound)
{
	for (int i = 0; i < NSTATES; i++) {
		struct sub_state st = states[i];
		bool on = outbound ? sub_outbound(&st, t) : sub_inbound(&st, t);
		int got = find(&st);
		ck_assert_msg(got == r->next[i], "%s %s in %s: went to %s, the RFC says %s", table,
		    sub_stanza_name(t), names[i], got < 0 ? "an impossible state" : names[got],
		    names[r->next[i]]);
		ck_assert_msg(on == r->on[i], "%s %s in %s: %s, the RFC says %s", table,
		    sub_stanza_name(t), names[i], on ? "passed on" : "kept", r->on[i] ?
		    "passed on" : "kept");
	}
}

#define T true
#define F false

/* A.2.1: the user's subscribe is always routed. */
START_TEST(test_outbound_subscribe)
{
	const struct row r = {
		{ NONE_PO, NONE_PO, NONE_PO_PI, NONE_PO_PI, TO, TO_PI, FROM_PO, FROM_PO, BOTH },
		{ T, T, T, T, T, T, T, T, T } };
	check("A.2.1", &r, SUB_SUBSCRIBE, true);
}
END_TEST

/* A.2.2: unsubscribe, always routed. */
START_TEST(test_outbound_unsubscribe)
{
	const struct row r = {
		{ NONE, NONE, NONE_PI, NONE_PI, NONE, NONE_PI, FROM, FROM, FROM },
		{ T, T, T, T, T, T, T, T, T } };
	check("A.2.2", &r, SUB_UNSUBSCRIBE, true);
}
END_TEST

/* A.2.3: subscribed, routed only when it approves a pending request. */
START_TEST(test_outbound_subscribed)
{
	const struct row r = {
		{ NONE, NONE_PO, FROM, FROM_PO, TO, BOTH, FROM, FROM_PO, BOTH },
		{ F, F, T, T, F, T, F, F, F } };
	check("A.2.3", &r, SUB_SUBSCRIBED, true);
}
END_TEST

/* A.2.4: unsubscribed, routed only when it denies or cancels something. */
START_TEST(test_outbound_unsubscribed)
{
	const struct row r = {
		{ NONE, NONE_PO, NONE, NONE_PO, TO, TO, NONE, NONE_PO, TO },
		{ F, F, T, T, F, T, T, T, T } };
	check("A.2.4", &r, SUB_UNSUBSCRIBED, true);
}
END_TEST

/* A.3.1: an inbound subscribe; From/Both are answered for the user; a
 * request already pending is not shown again (it is at the next login). */
START_TEST(test_inbound_subscribe)
{
	const struct row r = {
		{ NONE_PI, NONE_PO_PI, NONE_PI, NONE_PO_PI, TO_PI, TO_PI, FROM, FROM_PO, BOTH },
		{ T, T, F, F, T, F, F, F, F } };
	check("A.3.1", &r, SUB_SUBSCRIBE, false);
}
END_TEST

/* A.3.2: the contact cancels its subscription to the user. */
START_TEST(test_inbound_unsubscribe)
{
	const struct row r = {
		{ NONE, NONE_PO, NONE, NONE_PO, TO, TO, NONE, NONE_PO, TO },
		{ F, F, T, T, F, T, T, T, T } };
	check("A.3.2", &r, SUB_UNSUBSCRIBE, false);
}
END_TEST

/* A.3.3: the contact approves the user's request. */
START_TEST(test_inbound_subscribed)
{
	const struct row r = {
		{ NONE, TO, NONE_PI, TO_PI, TO, TO_PI, FROM, BOTH, BOTH },
		{ F, T, F, T, F, F, F, T, F } };
	check("A.3.3", &r, SUB_SUBSCRIBED, false);
}
END_TEST

/* A.3.4: the contact denies or cancels the user's subscription. */
START_TEST(test_inbound_unsubscribed)
{
	const struct row r = {
		{ NONE, NONE, NONE_PI, NONE_PI, NONE, NONE_PI, FROM, FROM, FROM },
		{ F, T, F, T, T, T, F, T, T } };
	check("A.3.4", &r, SUB_UNSUBSCRIBED, false);
}
END_TEST

START_TEST(test_stanza_names)
{
	ck_assert_int_eq(sub_stanza_parse("subscribe"), SUB_SUBSCRIBE);
	ck_assert_int_eq(sub_stanza_parse("unsubscribed"), SUB_UNSUBSCRIBED);
	ck_assert_int_eq(sub_stanza_parse("probe"), -1);
	ck_assert_int_eq(sub_stanza_parse(NULL), -1);
	ck_assert_str_eq(sub_name(STORAGE_SUB_BOTH), "both");
	ck_assert_str_eq(sub_name(STORAGE_SUB_NONE), "none");
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("subscription");
	TCase *tc = tcase_create("appendix-a");

	tcase_add_test(tc, test_outbound_subscribe);
	tcase_add_test(tc, test_outbound_unsubscribe);
	tcase_add_test(tc, test_outbound_subscribed);
	tcase_add_test(tc, test_outbound_unsubscribed);
	tcase_add_test(tc, test_inbound_subscribe);
	tcase_add_test(tc, test_inbound_unsubscribe);
	tcase_add_test(tc, test_inbound_subscribed);
	tcase_add_test(tc, test_inbound_unsubscribed);
	tcase_add_test(tc, test_stanza_names);
	suite_add_tcase(s, tc);
	return s;
}
