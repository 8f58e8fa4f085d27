/*
 * test_roster.c — the roster (RFC 6121 §2), subscriptions (§3) and
 * presence (§4) as sm applies them between two local users, juliet and
 * romeo, on the fixture of tests/sm/fixture.h: what each session is sent
 * after one stanza.
 */
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "xml_stream.h"

#define NS_ROSTER "jabber:iq:roster"

static int query_of(const struct stanza *st)
{
	return stanza_find_child(st, stanza_root(st), NS_ROSTER, "query");
}

/* The attribute of the first item of a roster result or push. */
static const char *item_attr(const struct stanza *st, const char *name)
{
	int q = query_of(st);
	ck_assert_int_ne(q, STANZA_NONE);
	int it = stanza_find_child(st, q, NS_ROSTER, "item");
	ck_assert_int_ne(it, STANZA_NONE);
	return stanza_get_attr(st, it, name);
}

static size_t items(const struct stanza *st)
{
	size_t n = 0;
	int q = query_of(st);

	if (q == STANZA_NONE)
		return 0;
	for (int it = stanza_find_child(st, q, NS_ROSTER, "item"); it != STANZA_NONE;
	    it = stanza_find_next(st, it, NS_ROSTER, "item"))
		n++;
	return n;
}

/* The iq of type `type` sent to sid (the n-th). */
static const struct stanza *iq_to(const char *sid, const char *type, size_t n)
{
	for (size_t i = 0; i < nsent; i++) {
		const struct stanza *st = sent[i].st;
		if (strcmp(sent[i].sid, sid) == 0 && strcmp(stanza_name(st, 0), "iq") == 0 &&
		    strcmp(stanza_type(st), type) == 0 && n-- == 0)
			return st;
	}
	return NULL;
}

/* Whether sid was pushed an item with that subscription. */
static bool pushed_sub(const char *sid, const char *sub)
{
	for (size_t i = 0; iq_to(sid, "set", i) != NULL; i++)
		if (strcmp(item_attr(iq_to(sid, "set", i), "subscription"), sub) == 0)
			return true;
	return false;
}

/* Whether sid got presence of that type from `from` (NULL: anyone). */
static bool got_presence(const char *sid, const char *type, const char *from)
{
	for (size_t i = 0; nth_to(sid, "presence", i) != NULL; i++) {
		const struct stanza *p = nth_to(sid, "presence", i);
		if (stanza_type(p) != NULL && strcmp(stanza_type(p), type) == 0 &&
		    (from == NULL || strcmp(stanza_from(p), from) == 0))
			return true;
	}
	return false;
}

static void roster_get(struct sm_session *s, const char *ver)
{
	char xml[160];

	if (ver != NULL)
		snprintf(xml, sizeof(xml), "<iq xmlns='jabber:client' type='get' id='g'>"
		    "<query xmlns='jabber:iq:roster' ver='%s'/></iq>", ver);
	else
		snprintf(xml, sizeof(xml), "<iq xmlns='jabber:client' type='get' id='g'>"
		    "<query xmlns='jabber:iq:roster'/></iq>");
	from_session(s, xml);
}

static void roster_set(struct sm_session *s, const char *item_xml)
{
	char xml[512];

	snprintf(xml, sizeof(xml), "<iq xmlns='jabber:client' type='set' id='s'>"
	    "<query xmlns='jabber:iq:roster'>%s</query></iq>", item_xml);
	from_session(s, xml);
}

static void sub(struct sm_session *s, const char *type, const char *to)
{
	char xml[160];

	snprintf(xml, sizeof(xml), "<presence xmlns='jabber:client' type='%s' to='%s'/>", type, to);
	from_session(s, xml);
}

START_TEST(test_empty_roster_then_set_pushes_to_interested_resources_only)
{
	struct sm_session *a = online("c2s.1", "a", "juliet@example.test/a");
	struct sm_session *b = online("c2s.1", "b", "juliet@example.test/b");
	(void)online("c2s.1", "c", "juliet@example.test/c");

	roster_get(a, NULL);
	const struct stanza *r = iq_to("a", "result", 0);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(items(r), 0);
	ck_assert_ptr_nonnull(stanza_get_attr(r, query_of(r), "ver"));
	roster_get(b, NULL);
	clear_sent();

	roster_set(a, "<item jid='nurse@example.test' name='Nurse'><group>Servants</group>"
	    "<group>Friends</group></item>");
	ck_assert_ptr_nonnull(iq_to("a", "result", 0));
	const struct stanza *pa = iq_to("a", "set", 0), *pb = iq_to("b", "set", 0);
	ck_assert_ptr_nonnull(pa);
	ck_assert_ptr_nonnull(pb);
	ck_assert_ptr_null(iq_to("c", "set", 0));
	ck_assert_str_eq(item_attr(pb, "jid"), "nurse@example.test");
	ck_assert_str_eq(item_attr(pb, "name"), "Nurse");
	ck_assert_str_eq(item_attr(pb, "subscription"), "none");
	ck_assert_ptr_null(item_attr(pb, "ask"));
	ck_assert_ptr_nonnull(stanza_get_attr(pb, query_of(pb), "ver"));
	clear_sent();

	roster_get(a, NULL);
	r = iq_to("a", "result", 0);
	ck_assert_uint_eq(items(r), 1);
	/* Groups are a set: any order. */
	int it = stanza_find_child(r, query_of(r), NS_ROSTER, "item");
	int g1 = stanza_find_child(r, it, NS_ROSTER, "group");
	int g2 = stanza_find_next(r, g1, NS_ROSTER, "group");
	ck_assert_int_ne(g2, STANZA_NONE);
	ck_assert_int_eq(stanza_find_next(r, g2, NS_ROSTER, "group"), STANZA_NONE);
	bool servants_first = strcmp(stanza_text(r, g1), "Servants") == 0;
	ck_assert_str_eq(stanza_text(r, servants_first ? g1 : g2), "Servants");
	ck_assert_str_eq(stanza_text(r, servants_first ? g2 : g1), "Friends");
}
END_TEST

START_TEST(test_set_errors)
{
	struct sm_session *a = online("c2s.1", "a", "juliet@example.test/a");

	roster_set(a, "<item jid='x@example.test'/><item jid='y@example.test'/>");
	ck_assert_str_eq(error_to("a"), "bad-request");
	clear_sent();
	roster_set(a, "<item jid='x@example.test'><group>G</group><group>G</group></item>");
	ck_assert_str_eq(error_to("a"), "bad-request");
	clear_sent();
	roster_set(a, "<item jid='x@example.test'><group></group></item>");
	ck_assert_str_eq(error_to("a"), "not-acceptable");
	clear_sent();
	roster_set(a, "<item jid='x@example.test' subscription='remove'/>");
	ck_assert_str_eq(error_to("a"), "item-not-found");
	clear_sent();
	roster_set(a, "<item jid='@@'/>");
	ck_assert_str_eq(error_to("a"), "jid-malformed");
	clear_sent();
	from_session(a, "<iq xmlns='jabber:client' type='get' id='g' to='romeo@example.test'>"
	    "<query xmlns='jabber:iq:roster'/></iq>");
	ck_assert_str_eq(error_to("a"), "forbidden");
}
END_TEST

START_TEST(test_versioned_get_sends_only_changes_as_pushes)
{
	struct sm_session *a = online("c2s.1", "a", "juliet@example.test/a");

	roster_set(a, "<item jid='one@example.test'/>");
	roster_set(a, "<item jid='two@example.test'/>");
	clear_sent();
	roster_get(a, "");
	const struct stanza *r = iq_to("a", "result", 0);
	ck_assert_uint_eq(items(r), 2);
	char ver[32];
	snprintf(ver, sizeof(ver), "%s", stanza_get_attr(r, query_of(r), "ver"));
	clear_sent();

	/* The current version: an empty result and nothing else. */
	roster_get(a, ver);
	r = iq_to("a", "result", 0);
	ck_assert_int_eq(query_of(r), STANZA_NONE);
	ck_assert_uint_eq(nsent, 1);
	clear_sent();

	roster_set(a, "<item jid='three@example.test'/>");
	roster_set(a, "<item jid='one@example.test' subscription='remove'/>");
	clear_sent();
	roster_get(a, ver);
	r = iq_to("a", "result", 0);
	ck_assert_int_eq(query_of(r), STANZA_NONE);
	ck_assert_uint_eq(got("a", "iq"), 3);
	const struct stanza *p1 = iq_to("a", "set", 0), *p2 = iq_to("a", "set", 1);
	ck_assert_str_eq(item_attr(p1, "jid"), "three@example.test");
	ck_assert_str_eq(item_attr(p2, "jid"), "one@example.test");
	ck_assert_str_eq(item_attr(p2, "subscription"), "remove");
	clear_sent();

	/* A version from the future is answered with the whole roster. */
	roster_get(a, "999999");
	ck_assert_uint_eq(items(iq_to("a", "result", 0)), 2);
}
END_TEST

/* The handshake of RFC 6121 §3.1 between two online users. */
static void handshake(struct sm_session *j)
{
	roster_get(j, NULL);
	roster_get(romeo, NULL);
	presence(j, 0);
	presence(romeo, 0);
	sub(romeo, "subscribe", "juliet@example.test");
	sub(j, "subscribed", "romeo@example.test");
	sub(j, "subscribe", "romeo@example.test");
	sub(romeo, "subscribed", "juliet@example.test");
}

START_TEST(test_subscription_handshake_ends_in_both)
{
	struct sm_session *j = online("c2s.2", "j", "juliet@example.test/balcony");

	roster_get(j, NULL);
	roster_get(romeo, NULL);
	presence(j, 0);
	presence(romeo, 0);

	sub(romeo, "subscribe", "juliet@example.test");
	/* Romeo's push: none + ask; juliet is asked, from romeo's bare JID. */
	const struct stanza *push = iq_to("r", "set", 0);
	ck_assert_ptr_nonnull(push);
	ck_assert_str_eq(item_attr(push, "subscription"), "none");
	ck_assert_str_eq(item_attr(push, "ask"), "subscribe");
	const struct stanza *req = nth_to("j", "presence", 0);
	ck_assert_ptr_nonnull(req);
	ck_assert_str_eq(stanza_type(req), "subscribe");
	ck_assert_str_eq(stanza_from(req), "romeo@example.test");
	ck_assert_ptr_null(iq_to("j", "set", 0)); /* no item for a pending-in request */
	clear_sent();

	sub(j, "subscribed", "romeo@example.test");
	push = iq_to("j", "set", 0);
	ck_assert_str_eq(item_attr(push, "subscription"), "from");
	push = iq_to("r", "set", 0);
	ck_assert_str_eq(item_attr(push, "subscription"), "to");
	ck_assert_ptr_null(item_attr(push, "ask"));
	/* Romeo hears that it was approved, and juliet's presence. */
	bool subscribed = false, avail = false;
	for (size_t i = 0; nth_to("r", "presence", i) != NULL; i++) {
		const struct stanza *pr = nth_to("r", "presence", i);
		if (stanza_type(pr) != NULL && strcmp(stanza_type(pr), "subscribed") == 0)
			subscribed = true;
		if (stanza_type(pr) == NULL &&
		    strcmp(stanza_from(pr), "juliet@example.test/balcony") == 0)
			avail = true;
	}
	ck_assert(subscribed);
	ck_assert(avail);
	clear_sent();

	sub(j, "subscribe", "romeo@example.test");
	sub(romeo, "subscribed", "juliet@example.test");
	clear_sent();
	roster_get(j, NULL);
	ck_assert_str_eq(item_attr(iq_to("j", "result", 0), "subscription"), "both");
	roster_get(romeo, NULL);
	ck_assert_str_eq(item_attr(iq_to("r", "result", 0), "subscription"), "both");
}
END_TEST

START_TEST(test_presence_broadcast_probe_and_unavailable_at_end)
{
	struct sm_session *j = online("c2s.2", "j", "juliet@example.test/balcony");

	handshake(j);
	clear_sent();
	from_session(j, "<presence xmlns='jabber:client'><show>away</show></presence>");
	const struct stanza *pr = nth_to("r", "presence", 0);
	ck_assert_ptr_nonnull(pr);
	ck_assert_str_eq(stanza_from(pr), "juliet@example.test/balcony");
	clear_sent();

	/* A second resource of romeo: its initial presence brings juliet's. */
	struct sm_session *r2 = online("c2s.1", "r2", "romeo@example.test/garden");
	presence(r2, 0);
	/* presence() cleared: do it by hand to look. */
	from_session(r2, "<presence xmlns='jabber:client'/>");
	clear_sent();
	struct sm_session *r3 = online("c2s.1", "r3", "romeo@example.test/street");
	from_session(r3, "<presence xmlns='jabber:client'/>");
	bool juliet_seen = false;
	for (size_t i = 0; nth_to("r3", "presence", i) != NULL; i++)
		if (strcmp(stanza_from(nth_to("r3", "presence", i)),
		    "juliet@example.test/balcony") == 0)
			juliet_seen = true;
	ck_assert(juliet_seen);
	clear_sent();

	/* Juliet's session ends without a word: romeo's resources hear it. */
	end_session(&j);
	pr = nth_to("r", "presence", 0);
	ck_assert_ptr_nonnull(pr);
	ck_assert_str_eq(stanza_type(pr), "unavailable");
	ck_assert_str_eq(stanza_from(pr), "juliet@example.test/balcony");
	clear_sent();

	/* Now a new resource of romeo probes an offline juliet. */
	struct sm_session *r4 = online("c2s.1", "r4", "romeo@example.test/bed");
	from_session(r4, "<presence xmlns='jabber:client'/>");
	bool unavail = false;
	for (size_t i = 0; nth_to("r4", "presence", i) != NULL; i++) {
		const struct stanza *p = nth_to("r4", "presence", i);
		if (strcmp(stanza_from(p), "juliet@example.test") == 0 && stanza_type(p) != NULL &&
		    strcmp(stanza_type(p), "unavailable") == 0)
			unavail = true;
	}
	ck_assert(unavail);
}
END_TEST

START_TEST(test_no_broadcast_without_subscription_but_directed_presence_ends_unavailable)
{
	struct sm_session *j = online("c2s.2", "j", "juliet@example.test/balcony");

	presence(romeo, 0);
	presence(j, 0);
	from_session(j, "<presence xmlns='jabber:client'><show>dnd</show></presence>");
	ck_assert_uint_eq(got("r", "presence"), 0);
	from_session(j, "<presence xmlns='jabber:client' to='romeo@example.test'/>");
	ck_assert_uint_eq(got("r", "presence"), 1);
	clear_sent();
	from_session(j, "<presence xmlns='jabber:client' type='unavailable'/>");
	const struct stanza *pr = nth_to("r", "presence", 0);
	ck_assert_ptr_nonnull(pr);
	ck_assert_str_eq(stanza_type(pr), "unavailable");
}
END_TEST

START_TEST(test_subscribe_to_offline_user_is_delivered_at_login)
{
	presence(romeo, 0);
	sub(romeo, "subscribe", "juliet@example.test");
	clear_sent();
	struct sm_session *j = online("c2s.2", "j", "juliet@example.test/balcony");
	from_session(j, "<presence xmlns='jabber:client'/>");
	ck_assert(got_presence("j", "subscribe", "romeo@example.test"));
}
END_TEST

START_TEST(test_probe_and_subscribe_to_nonexistent_user_change_nothing)
{
	presence(romeo, 0);
	/* The probe's answer, unsubscribed, changes nothing for romeo
	 * (A.3.4, None): nothing reaches his resource. */
	sub(romeo, "probe", "nobody@example.test");
	ck_assert_uint_eq(got("r", "presence"), 0);
	/* A subscribe to nobody is ignored (§8.5.1): romeo's item stays
	 * pending, nothing comes back. */
	roster_get(romeo, NULL);
	clear_sent();
	sub(romeo, "subscribe", "nobody@example.test");
	ck_assert_uint_eq(got("r", "presence"), 0);
	ck_assert_str_eq(item_attr(iq_to("r", "set", 0), "ask"), "subscribe");
	ck_assert_ptr_null(iq_to("r", "set", 1));
}
END_TEST

START_TEST(test_removing_an_item_cancels_both_subscriptions)
{
	struct sm_session *j = online("c2s.2", "j", "juliet@example.test/balcony");

	handshake(j);
	clear_sent();
	roster_set(j, "<item jid='romeo@example.test' subscription='remove'/>");
	ck_assert_str_eq(item_attr(iq_to("j", "set", 0), "subscription"), "remove");
	/* Romeo's item went to none (both halves cancelled), and romeo saw
	 * juliet go unavailable. */
	ck_assert(pushed_sub("r", "none"));
	ck_assert(got_presence("r", "unavailable", NULL));
}
END_TEST

/* An account deleted: its contacts see it go unavailable and lose both
 * halves of their subscription (as for §2.5.2), and its roster goes. */
START_TEST(test_deleted_account_cancels_its_contacts_subscriptions)
{
	struct sm_session *j = online("c2s.2", "j", "juliet@example.test/balcony");
	char err[ERRLEN];

	handshake(j);
	clear_sent();
	ck_assert_int_eq(storage_user_delete(sm.storage, "example.test", "juliet", err,
	    sizeof(err)), STORAGE_OK);
	struct jid *bare = NULL;
	ck_assert_int_eq(jid_parse(&bare, "juliet@example.test", 19, err, sizeof(err)), 0);
	end_session(&j);
	sm_run_user(&sm, SM_CHAIN_USER_DELETED, bare);
	ck_assert(pushed_sub("r", "none"));
	ck_assert(got_presence("r", "unavailable", "juliet@example.test/balcony"));
	struct storage_roster_list l;
	ck_assert_int_eq(storage_roster_get(sm.storage, "example.test", "juliet", &l, err,
	    sizeof(err)), STORAGE_OK);
	ck_assert_uint_eq(l.n, 0);
	ck_assert(l.ver == 0);
	storage_roster_list_free(&l);
	jid_free(&bare);
}
END_TEST

/* F1: RFC 6121 §4.6.3 — a roster contact without 'from' that got directed
 * presence still hears the session's unavailable, even after a broadcast. */
START_TEST(test_directed_presence_to_a_roster_contact_without_from_ends_unavailable)
{
	struct sm_session *j = online("c2s.2", "j", "juliet@example.test/balcony");

	presence(romeo, 0);
	presence(j, 0);
	roster_set(j, "<item jid='romeo@example.test'/>");
	from_session(j, "<presence xmlns='jabber:client' to='romeo@example.test'/>");
	from_session(j, "<presence xmlns='jabber:client'><show>away</show></presence>");
	clear_sent();
	from_session(j, "<presence xmlns='jabber:client' type='unavailable'/>");
	const struct stanza *pr = nth_to("r", "presence", 0);
	ck_assert_ptr_nonnull(pr);
	ck_assert_str_eq(stanza_type(pr), "unavailable");
}
END_TEST

/* F2: XEP-0191 §3.3 / RFC 6121 §4.3.2 — the answer sm gives itself for a
 * local contact is the one the contact's side would give: nothing when
 * the contact blocks the user. */
START_TEST(test_initial_presence_brings_nothing_from_a_contact_who_blocks_the_user)
{
	struct sm_session *j = online("c2s.2", "j", "juliet@example.test/balcony");

	handshake(j);
	from_session(j, "<iq xmlns='jabber:client' type='set' id='b'>"
	    "<block xmlns='urn:xmpp:blocking'><item jid='romeo@example.test'/></block></iq>");
	struct sm_session *r2 = online("c2s.1", "r2", "romeo@example.test/garden");
	clear_sent();
	from_session(r2, "<presence xmlns='jabber:client'/>");
	for (size_t i = 0; nth_to("r2", "presence", i) != NULL; i++)
		ck_assert_str_ne(stanza_from(nth_to("r2", "presence", i)),
		    "juliet@example.test/balcony");
}
END_TEST

/* F4: RFC 6121 §8.5.2.1.1 and §8.5.3.2.1 — a message of type error to the
 * bare JID, or to a resource that is not there, is silently ignored. */
START_TEST(test_error_messages_to_bare_or_absent_full_jid_are_ignored)
{
	struct sm_session *j = online("c2s.2", "j", "juliet@example.test/balcony");

	presence(j, 0);
	from_session(romeo, "<message xmlns='jabber:client' type='error' to='juliet@example.test'>"
	    "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
	    "</error></message>");
	from_session(romeo, "<message xmlns='jabber:client' type='error' "
	    "to='juliet@example.test/gone'><error type='cancel'><item-not-found "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
	ck_assert_uint_eq(got("j", "message"), 0);
	ck_assert_uint_eq(got("r", "message"), 0);
}
END_TEST

/* F5: XEP-0191 §3.5 — unblocking everything sends the user's presence to
 * the subscribed contacts that were blocked. */
START_TEST(test_unblock_all_sends_presence_to_subscribed_contacts_that_were_blocked)
{
	struct sm_session *j = online("c2s.2", "j", "juliet@example.test/balcony");

	handshake(j);
	from_session(j, "<iq xmlns='jabber:client' type='set' id='b'>"
	    "<block xmlns='urn:xmpp:blocking'><item jid='romeo@example.test'/></block></iq>");
	clear_sent();
	from_session(j, "<iq xmlns='jabber:client' type='set' id='u'>"
	    "<unblock xmlns='urn:xmpp:blocking'/></iq>");
	const struct stanza *pr = nth_to("r", "presence", 0);
	ck_assert_ptr_nonnull(pr);
	ck_assert_ptr_null(stanza_type(pr));
	ck_assert_str_eq(stanza_from(pr), "juliet@example.test/balcony");
}
END_TEST

/* F6: RFC 6121 §2.6.3 — the changes since a version go to the resource that
 * asked, not to the user's other interested resources. */
START_TEST(test_versioned_get_pushes_changes_to_the_asking_resource_only)
{
	struct sm_session *a = online("c2s.1", "a", "juliet@example.test/a");
	struct sm_session *b = online("c2s.1", "b", "juliet@example.test/b");

	roster_get(a, NULL);
	roster_set(a, "<item jid='one@example.test'/>");
	clear_sent();
	roster_get(b, "0");
	ck_assert_ptr_nonnull(iq_to("b", "set", 0));
	ck_assert_ptr_null(iq_to("a", "set", 0));
}
END_TEST

/* F8: XEP-0160 §2 — stored messages go to a resource whose priority turns
 * non-negative, not only at initial presence. */
START_TEST(test_offline_messages_follow_a_priority_raised_to_non_negative)
{
	struct sm_session *j = online("c2s.2", "j", "juliet@example.test/balcony");

	presence(romeo, 0);
	presence(j, -1);
	from_session(romeo, "<message xmlns='jabber:client' to='juliet@example.test' type='chat'>"
	    "<body>stored</body></message>");
	ck_assert_uint_eq(got("j", "message"), 0);
	clear_sent();
	from_session(j, "<presence xmlns='jabber:client'><priority>1</priority></presence>");
	ck_assert_uint_eq(got("j", "message"), 1);
}
END_TEST

/* A user holds at most 1000 unanswered requests; the next stranger's
 * subscribe is answered with an error, not stored. */
START_TEST(test_subscription_requests_have_a_bound)
{
	char xml[200];
	struct stanza *st;

	for (int i = 0; i <= 1000; i++) {
		snprintf(xml, sizeof(xml), "<presence xmlns='jabber:client' type='subscribe' "
		    "from='u%d@remote.example' to='juliet@example.test'/>", i);
		st = stanza_new_empty();
		char err[ERRLEN];
		ck_assert_int_eq(xml_stream_parse_stanza(sm.parser, xml, strlen(xml), st, err,
		    sizeof(err)), 0);
		sm_send(&sm, st);
		stanza_free(&st);
	}
	ck_assert_uint_eq(nsent, 1);
	ck_assert_str_eq(sent[0].to, "remote.example");
	ck_assert_str_eq(stanza_to(sent[0].st), "u1000@remote.example");
	ck_assert_str_eq(stanza_type(sent[0].st), "error");
	ck_assert_int_eq(storage_subreq_exists(sm.storage, "example.test", "juliet",
	    "u1000@remote.example", NULL, 0), STORAGE_NOT_FOUND);
	ck_assert_int_eq(storage_subreq_exists(sm.storage, "example.test", "juliet",
	    "u999@remote.example", NULL, 0), STORAGE_OK);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("roster");
	TCase *tc = tcase_create("roster");

	tcase_add_checked_fixture(tc, sm_fixture_setup, sm_fixture_teardown);
	tcase_add_test(tc, test_empty_roster_then_set_pushes_to_interested_resources_only);
	tcase_add_test(tc, test_set_errors);
	tcase_add_test(tc, test_versioned_get_sends_only_changes_as_pushes);
	tcase_add_test(tc, test_subscription_handshake_ends_in_both);
	tcase_add_test(tc, test_presence_broadcast_probe_and_unavailable_at_end);
	tcase_add_test(tc, test_no_broadcast_without_subscription_but_directed_presence_ends_unavailable);
	tcase_add_test(tc, test_subscribe_to_offline_user_is_delivered_at_login);
	tcase_add_test(tc, test_probe_and_subscribe_to_nonexistent_user_change_nothing);
	tcase_add_test(tc, test_removing_an_item_cancels_both_subscriptions);
	tcase_add_test(tc, test_deleted_account_cancels_its_contacts_subscriptions);
	tcase_add_test(tc, test_directed_presence_to_a_roster_contact_without_from_ends_unavailable);
	tcase_add_test(tc, test_initial_presence_brings_nothing_from_a_contact_who_blocks_the_user);
	tcase_add_test(tc, test_error_messages_to_bare_or_absent_full_jid_are_ignored);
	tcase_add_test(tc, test_unblock_all_sends_presence_to_subscribed_contacts_that_were_blocked);
	tcase_add_test(tc, test_versioned_get_pushes_changes_to_the_asking_resource_only);
	tcase_add_test(tc, test_offline_messages_follow_a_priority_raised_to_non_negative);
	tcase_add_test(tc, test_subscription_requests_have_a_bound);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
