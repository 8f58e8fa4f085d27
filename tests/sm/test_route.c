/*
 * test_route.c — sm's delivery rules (sm/route.c, RFC 6121 §8) and the
 * modules on its chains, without a process: the router link and the store
 * are replaced by stubs that record what sm sends and say which accounts
 * exist. Each case sets up sessions and presence, routes one stanza and
 * looks at where it went.
 */
#include <stdlib.h>
#include <string.h>

#include "sm.h"
#include "storage.h"
#include "unit.h"
#include "xml_stream.h"

/* --- stubs ------------------------------------------------------------------------- */

#define MAX_SENT 16
static struct {
	char to[64], sid[64];
	struct stanza *st;
} sent[MAX_SENT];
static size_t nsent;
static struct xml_stream *parser;

int router_link_route(struct router_link *link, const char *from, const char *to,
    const char *route_key, const char *session_id, const void *stanza, size_t len,
    uint32_t *seq, char *err, size_t errlen)
{
	(void)link;
	(void)from;
	(void)route_key;
	(void)seq;
	ck_assert_uint_lt(nsent, MAX_SENT);
	snprintf(sent[nsent].to, sizeof(sent[nsent].to), "%s", to);
	snprintf(sent[nsent].sid, sizeof(sent[nsent].sid), "%s", session_id ? session_id : "");
	sent[nsent].st = stanza_new_empty();
	ck_assert_int_eq(xml_stream_parse_stanza(parser, stanza, len, sent[nsent].st, err, errlen),
	    0);
	nsent++;
	return 0;
}

/* Accounts: juliet and romeo exist. */
int storage_user_exists(struct storage *s, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	(void)s;
	(void)err;
	(void)errlen;
	if (strcmp(domain, "example.test") != 0)
		return STORAGE_NOT_FOUND;
	return strcmp(localpart, "juliet") == 0 || strcmp(localpart, "romeo") == 0 ?
	    STORAGE_OK : STORAGE_NOT_FOUND;
}

/* --- fixture ----------------------------------------------------------------------- */

static struct sm sm;
static struct conf *conf;
static struct sm_session *romeo;

static void clear_sent(void)
{
	for (size_t i = 0; i < nsent; i++)
		stanza_free(&sent[i].st);
	nsent = 0;
}

static struct sm_session *online(const char *c2s, const char *sid, const char *full)
{
	struct jid *j = NULL;
	char err[ERRLEN];

	ck_assert_int_eq(jid_parse(&j, full, strlen(full), err, sizeof(err)), 0);
	struct sm_session *s = session_add(sm.sessions, c2s, sid, j);
	jid_free(&j);
	return s;
}

/* A stanza from a session, through the session chain and the rules. */
static void from_session(struct sm_session *s, const char *xml)
{
	struct stanza *st = stanza_new_empty();
	struct sm_pkt p;
	char err[ERRLEN];

	ck_assert_int_eq(xml_stream_parse_stanza(parser, xml, strlen(xml), st, err, sizeof(err)), 0);
	stanza_set_from(st, jid_full_str(s->jid));
	ck_assert_int_eq(sm_pkt_init(&p, st, s, err, sizeof(err)), 0);
	sm_from_session(&sm, &p);
	sm_pkt_fini(&p);
}

static void presence(struct sm_session *s, int priority)
{
	char xml[128];

	snprintf(xml, sizeof(xml), "<presence xmlns='jabber:client'><priority>%d</priority>"
	    "</presence>", priority);
	from_session(s, xml);
	clear_sent();
}

/* How many stanzas named `name` went to session sid. */
static size_t got(const char *sid, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < nsent; i++)
		if (strcmp(sent[i].sid, sid) == 0 &&
		    strcmp(stanza_name(sent[i].st, 0), name) == 0)
			n++;
	return n;
}

/* The stanza error condition of what went to sid, or NULL. */
static const char *error_to(const char *sid)
{
	for (size_t i = 0; i < nsent; i++) {
		if (strcmp(sent[i].sid, sid) != 0)
			continue;
		const struct stanza *st = sent[i].st;
		int e = stanza_find_child(st, 0, NS_CLIENT, "error");
		if (e != STANZA_NONE)
			return stanza_name(st, stanza_first_element(st, e));
	}
	return NULL;
}

static void setup(void)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	char err[ERRLEN];

	ck_assert_int_eq(conf_load_string(&conf, "hosts = [ \"example.test\" ];\n", "test.conf",
	    &errs), 0);
	parser = xml_stream_new(NULL, NULL, 0, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(parser);
	sm = (struct sm){ .conf = conf, .users_in_storage = true };
	sm.sessions = session_table_new();
	sm_modules_init(&sm);
	romeo = online("c2s.1", "r", "romeo@example.test/orchard");
}

static void teardown(void)
{
	clear_sent();
	session_table_free(&sm.sessions);
	sm_chains_free(&sm);
	xml_stream_free(&parser);
	conf_free(&conf);
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

START_TEST(test_message_to_bare_jid_with_only_negative_priority_is_bounced)
{
	struct sm_session *a = online("c2s.1", "a", "juliet@example.test/a");

	presence(a, -1);
	from_session(romeo, CHAT_TO("juliet@example.test"));
	ck_assert_uint_eq(got("a", "message"), 0);
	ck_assert_str_eq(error_to("r"), "service-unavailable");
}
END_TEST

START_TEST(test_message_to_bare_jid_without_initial_presence_is_bounced)
{
	online("c2s.1", "a", "juliet@example.test/a");
	from_session(romeo, CHAT_TO("juliet@example.test"));
	ck_assert_uint_eq(got("a", "message"), 0);
	ck_assert_str_eq(error_to("r"), "service-unavailable");
}
END_TEST

static enum sm_verdict take_offline(struct sm *s, struct sm_pkt *p, void *arg)
{
	(void)s;
	(void)p;
	(*(int *)arg)++;
	return SM_DONE;
}

START_TEST(test_offline_chain_takes_what_nobody_takes)
{
	int taken = 0;

	sm_hook_stanza(&sm, SM_CHAIN_OFFLINE, "test", take_offline, &taken);
	from_session(romeo, CHAT_TO("juliet@example.test"));
	ck_assert_int_eq(taken, 1);
	ck_assert_uint_eq(nsent, 0);
	/* A headline is not stored: dropped without a word. */
	from_session(romeo, "<message xmlns='jabber:client' to='juliet@example.test' "
	    "type='headline'><body>x</body></message>");
	ck_assert_int_eq(taken, 1);
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

START_TEST(test_remote_domain_is_remote_server_not_found)
{
	from_session(romeo, CHAT_TO("x@remote.example"));
	ck_assert_str_eq(error_to("r"), "remote-server-not-found");
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

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_message_to_bare_jid_reaches_highest_priority_only);
	tcase_add_test(tc, test_message_to_bare_jid_with_only_negative_priority_is_bounced);
	tcase_add_test(tc, test_message_to_bare_jid_without_initial_presence_is_bounced);
	tcase_add_test(tc, test_offline_chain_takes_what_nobody_takes);
	tcase_add_test(tc, test_nonexistent_user_gets_service_unavailable_but_errors_are_not_answered);
	tcase_add_test(tc, test_remote_domain_is_remote_server_not_found);
	tcase_add_test(tc, test_iq_to_offline_full_jid_is_service_unavailable);
	tcase_add_test(tc, test_ping_and_unknown_namespace_to_the_server);
	tcase_add_test(tc, test_groupchat_to_bare_jid_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
