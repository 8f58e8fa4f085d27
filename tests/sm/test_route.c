/*
 * test_route.c — sm's delivery rules (sm/route.c, RFC 6121 §8) and the
 * small modules on its chains, without a process (tests/sm/fixture.h).
 * Each case sets up sessions and presence, routes one stanza and looks
 * at where it went.
 */
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static size_t offline_count(const char *localpart)
{
	size_t n = 0;
	char err[ERRLEN];

	ck_assert_int_eq(storage_offline_count(sm.storage, "example.test", localpart, &n, err,
	    sizeof(err)), STORAGE_OK);
	return n;
}

#define CHAT_TO(to) "<message xmlns='jabber:client' to='" to "' type='chat'><body>hi</body></message>"

START_TEST(test_message_to_bare_jid_reaches_highest_priority_only)
{
	struct sm_session *a = online("c2s.1", "a", "juliet@example.test/a");
	struct sm_session *b = online("c2s.2", "b", "juliet@example.test/b");

	presence(a, 1);
	presence(b, 7);
	from_session(romeo, CHAT_TO("juliet@example.test"));
	ck_assert_uint_eq(got("b", "message"), 1);
	ck_assert_uint_eq(got("a", "message"), 0);
	ck_assert_str_eq(sent[0].to, "c2s.2");
}
END_TEST

START_TEST(test_message_to_bare_jid_with_only_negative_priority_goes_offline)
{
	struct sm_session *a = online("c2s.1", "a", "juliet@example.test/a");

	presence(a, -1);
	from_session(romeo, CHAT_TO("juliet@example.test"));
	ck_assert_uint_eq(got("a", "message"), 0);
	ck_assert_ptr_null(error_to("r"));
	ck_assert_uint_eq(offline_count("juliet"), 1);
}
END_TEST

START_TEST(test_message_to_bare_jid_without_initial_presence_goes_offline)
{
	online("c2s.1", "a", "juliet@example.test/a");
	from_session(romeo, CHAT_TO("juliet@example.test"));
	ck_assert_uint_eq(got("a", "message"), 0);
	ck_assert_ptr_null(error_to("r"));
	ck_assert_uint_eq(offline_count("juliet"), 1);
}
END_TEST

START_TEST(test_offline_chain_takes_what_nobody_takes)
{
	from_session(romeo, CHAT_TO("juliet@example.test"));
	ck_assert_uint_eq(offline_count("juliet"), 1);
	ck_assert_uint_eq(nsent, 0);
	/* A headline is not stored: dropped without a word. */
	from_session(romeo, "<message xmlns='jabber:client' to='juliet@example.test' "
	    "type='headline'><body>x</body></message>");
	ck_assert_uint_eq(offline_count("juliet"), 1);
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

START_TEST(test_nonexistent_user_gets_service_unavailable_but_errors_are_not_answered)
{
	from_session(romeo, CHAT_TO("mercutio@example.test"));
	ck_assert_str_eq(error_to("r"), "service-unavailable");
	clear_sent();
	from_session(romeo, "<message xmlns='jabber:client' to='mercutio@example.test' "
	    "type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
	    "</error></message>");
	ck_assert_uint_eq(nsent, 0);
	from_session(romeo, "<presence xmlns='jabber:client' to='mercutio@example.test'/>");
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

START_TEST(test_remote_domain_goes_to_the_router_by_its_domain)
{
	from_session(romeo, CHAT_TO("x@remote.example"));
	ck_assert_uint_eq(nsent, 1);
	ck_assert_str_eq(sent[0].to, "remote.example");
	ck_assert_str_eq(sent[0].sid, "");
	ck_assert_str_eq(stanza_to(sent[0].st), "x@remote.example");
	ck_assert_str_eq(stanza_from(sent[0].st), "romeo@example.test/orchard");
}
END_TEST

START_TEST(test_iq_to_offline_full_jid_is_service_unavailable)
{
	from_session(romeo, "<iq xmlns='jabber:client' to='juliet@example.test/x' type='get' "
	    "id='1'><query xmlns='urn:example'/></iq>");
	ck_assert_str_eq(error_to("r"), "service-unavailable");
}
END_TEST

START_TEST(test_ping_and_unknown_namespace_to_the_server)
{
	from_session(romeo, "<iq xmlns='jabber:client' to='example.test' type='get' id='p'>"
	    "<ping xmlns='urn:xmpp:ping'/></iq>");
	ck_assert_uint_eq(got("r", "iq"), 1);
	ck_assert_str_eq(stanza_type(sent[0].st), "result");
	ck_assert_str_eq(stanza_id(sent[0].st), "p");
	clear_sent();
	from_session(romeo, "<iq xmlns='jabber:client' to='example.test' type='get' id='u'>"
	    "<query xmlns='urn:example:nothing'/></iq>");
	ck_assert_str_eq(error_to("r"), "service-unavailable");
}
END_TEST

START_TEST(test_groupchat_to_bare_jid_is_refused)
{
	struct sm_session *a = online("c2s.1", "a", "juliet@example.test/a");

	presence(a, 0);
	from_session(romeo, "<message xmlns='jabber:client' to='juliet@example.test' "
	    "type='groupchat'><body>x</body></message>");
	ck_assert_uint_eq(got("a", "message"), 0);
	ck_assert_str_eq(error_to("r"), "service-unavailable");
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("sm_route");
	TCase *tc = tcase_create("route");

	tcase_add_checked_fixture(tc, sm_fixture_setup, sm_fixture_teardown);
	tcase_add_test(tc, test_message_to_bare_jid_reaches_highest_priority_only);
	tcase_add_test(tc, test_message_to_bare_jid_with_only_negative_priority_goes_offline);
	tcase_add_test(tc, test_message_to_bare_jid_without_initial_presence_goes_offline);
	tcase_add_test(tc, test_offline_chain_takes_what_nobody_takes);
	tcase_add_test(tc, test_nonexistent_user_gets_service_unavailable_but_errors_are_not_answered);
	tcase_add_test(tc, test_remote_domain_goes_to_the_router_by_its_domain);
	tcase_add_test(tc, test_iq_to_offline_full_jid_is_service_unavailable);
	tcase_add_test(tc, test_ping_and_unknown_namespace_to_the_server);
	tcase_add_test(tc, test_groupchat_to_bare_jid_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
