/*
 * test_im.c — the IM service modules of sm (blocking, offline, vCard,
 * private XML, last activity, time, disco of an account) on the real
 * storage library over a temporary SQLite file, with the router link
 * replaced by a stub that records what sm sends. Each case logs sessions
 * in, routes stanzas as clients would send them and looks at what went
 * where, and what the store kept.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sm.h"
#include "storage.h"
#include "unit.h"
#include "xml_stream.h"

#define NS_BLOCKING "urn:xmpp:blocking"

/* --- the router stub ---------------------------------------------------------------- */

#define MAX_SENT 64
static struct {
	char sid[64];
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
	(void)to;
	(void)route_key;
	(void)seq;
	ck_assert_uint_lt(nsent, MAX_SENT);
	snprintf(sent[nsent].sid, sizeof(sent[nsent].sid), "%s", session_id ? session_id : "");
	sent[nsent].st = stanza_new_empty();
	ck_assert_int_eq(xml_stream_parse_stanza(parser, stanza, len, sent[nsent].st, err, errlen),
	    0);
	nsent++;
	return 0;
}

/* --- fixture ------------------------------------------------------------------------ */

static struct sm sm;
static struct conf *conf;
static char dbpath[64];
static struct sm_session *romeo, *juliet;

static void clear_sent(void)
{
	for (size_t i = 0; i < nsent; i++)
		stanza_free(&sent[i].st);
	nsent = 0;
}

static struct sm_session *online(const char *sid, const char *full)
{
	struct jid *j = NULL;
	char err[ERRLEN];

	ck_assert_int_eq(jid_parse(&j, full, strlen(full), err, sizeof(err)), 0);
	struct sm_session *s = session_add(sm.sessions, "c2s.1", sid, j);
	jid_free(&j);
	sm_run_session(&sm, SM_CHAIN_SESSION_START, s);
	return s;
}

static void offline(struct sm_session **s)
{
	sm_run_session(&sm, SM_CHAIN_SESSION_END, *s);
	session_remove(sm.sessions, s);
}

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
}

/* The i-th stanza sent to session sid named `name`, or NULL. */
static const struct stanza *nth_to(const char *sid, const char *name, size_t i)
{
	for (size_t k = 0; k < nsent; k++)
		if (strcmp(sent[k].sid, sid) == 0 && strcmp(stanza_name(sent[k].st, 0), name) == 0 &&
		    i-- == 0)
			return sent[k].st;
	return NULL;
}

static size_t count_to(const char *sid, const char *name)
{
	size_t n = 0;

	while (nth_to(sid, name, n) != NULL)
		n++;
	return n;
}

/* The stanza error condition of the first error sent to sid, or NULL. */
static const char *error_to(const char *sid)
{
	for (size_t i = 0; i < nsent; i++) {
		const struct stanza *st = sent[i].st;
		int e = stanza_find_child(st, 0, NS_CLIENT, "error");
		if (strcmp(sent[i].sid, sid) == 0 && e != STANZA_NONE)
			return stanza_name(st, stanza_first_element(st, e));
	}
	return NULL;
}

/* The iq answer with this id sent to sid, or NULL. */
static const struct stanza *answer(const char *sid, const char *id)
{
	for (size_t i = 0; i < nsent; i++)
		if (strcmp(sent[i].sid, sid) == 0 && stanza_is(sent[i].st, 0, NS_CLIENT, "iq") &&
		    stanza_id(sent[i].st) != NULL && strcmp(stanza_id(sent[i].st), id) == 0)
			return sent[i].st;
	return NULL;
}

static const char *type_of(const struct stanza *st)
{
	return st == NULL ? "(none)" : stanza_type(st) != NULL ? stanza_type(st) : "(no type)";
}

static const char *condition(const struct stanza *st)
{
	int e = st == NULL ? STANZA_NONE : stanza_find_child(st, 0, NS_CLIENT, "error");

	return e == STANZA_NONE ? "(none)" : stanza_name(st, stanza_first_element(st, e));
}

static void setup(void)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	char err[ERRLEN];

	ck_assert_int_eq(conf_load_string(&conf, "hosts = [ \"example.test\" ];\n"
	    "sm = { offline = { quota = 2; }; vcard = { max_size = \"1K\"; };\n"
	    "  private = { max_size = \"1K\"; }; };\n", "test.conf", &errs), 0);
	snprintf(dbpath, sizeof(dbpath), "/tmp/test_im.%ld.db", (long)getpid());
	unlink(dbpath);
	parser = xml_stream_new(NULL, NULL, 0, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(parser);
	sm = (struct sm){ .conf = conf, .users_in_storage = false, .parser = parser };
	ck_assert_msg(storage_open_sqlite(&sm.storage, dbpath, err, sizeof(err)) == 0, "%s", err);
	sm.sessions = session_table_new();
	sm_modules_init(&sm);
	romeo = online("r", "romeo@example.test/orchard");
	juliet = online("j", "juliet@example.test/balcony");
	presence(romeo, 0);
	presence(juliet, 0);
	clear_sent();
}

static void teardown(void)
{
	struct sm_session *s;

	clear_sent();
	/* Sessions end through the chain so the modules forget them. */
	while (session_count(sm.sessions) > 0) {
		s = session_first(sm.sessions, "romeo@example.test");
		if (s == NULL)
			s = session_first(sm.sessions, "juliet@example.test");
		if (s == NULL)
			s = session_first(sm.sessions, "mercutio@example.test");
		ck_assert_ptr_nonnull(s);
		offline(&s);
	}
	clear_sent();
	session_table_free(&sm.sessions);
	sm_chains_free(&sm);
	storage_close(&sm.storage);
	xml_stream_free(&parser);
	conf_free(&conf);
	char wal[80];
	unlink(dbpath);
	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", dbpath);
	unlink(wal);
}

static struct jid *J(const char *s)
{
	struct jid *j = NULL;
	char err[ERRLEN];

	ck_assert_msg(jid_parse(&j, s, strlen(s), err, sizeof(err)) == 0, "%s: %s", s, err);
	return j;
}

/* Whether juliet blocks `who`. */
static bool juliet_blocks(const char *who)
{
	struct jid *owner = J("juliet@example.test"), *w = J(who);
	bool b = sm_blocked(&sm, owner, w);

	jid_free(&owner);
	jid_free(&w);
	return b;
}

static void block(struct sm_session *s, const char *id, const char *jid)
{
	char xml[512];

	snprintf(xml, sizeof(xml), "<iq xmlns='jabber:client' type='set' id='%s'>"
	    "<block xmlns='urn:xmpp:blocking'><item jid='%s'/></block></iq>", id, jid);
	from_session(s, xml);
}

#define CHAT(to, body) "<message xmlns='jabber:client' to='" to "' type='chat'><body>" body \
	"</body></message>"

/* --- blocking (XEP-0191) ---------------------------------------------------------- */

START_TEST(test_block_list_has_a_bound)
{
	struct buf b;

	/* 1000 items in ten iqs of a hundred, then one more is refused. */
	for (int k = 0; k < 10; k++) {
		buf_init(&b);
		buf_append_str(&b, "<iq xmlns='jabber:client' type='set' id='many'>"
		    "<block xmlns='urn:xmpp:blocking'>");
		for (int i = 0; i < 100; i++)
			buf_appendf(&b, "<item jid='u%d@spam.example'/>", k * 100 + i);
		buf_append_str(&b, "</block></iq>");
		buf_append(&b, "", 1);
		from_session(juliet, buf_head(&b));
		buf_free(&b);
		ck_assert_str_eq(type_of(answer("j", "many")), "result");
		clear_sent();
	}
	block(juliet, "one-more", "x@spam.example");
	ck_assert_str_eq(error_to("j"), "policy-violation");
	ck_assert(!juliet_blocks("x@spam.example"));
	ck_assert(juliet_blocks("u999@spam.example"));
}
END_TEST

START_TEST(test_blocked_bare_jid_covers_every_resource_of_it_and_nothing_else)
{
	block(juliet, "b1", "romeo@example.test");
	ck_assert_str_eq(type_of(answer("j", "b1")), "result");
	ck_assert(juliet_blocks("romeo@example.test"));
	ck_assert(juliet_blocks("romeo@example.test/orchard"));
	ck_assert(!juliet_blocks("mercutio@example.test"));
	ck_assert(!juliet_blocks("example.test"));
	ck_assert(!juliet_blocks("romeo@example.test.evil"));
}
END_TEST

START_TEST(test_blocked_full_jid_covers_only_that_resource)
{
	block(juliet, "b1", "romeo@example.test/orchard");
	ck_assert(juliet_blocks("romeo@example.test/orchard"));
	ck_assert(!juliet_blocks("romeo@example.test/garden"));
	ck_assert(!juliet_blocks("romeo@example.test"));
}
END_TEST

START_TEST(test_blocked_domain_covers_its_users_and_resources_not_subdomains)
{
	block(juliet, "b1", "montague.lit");
	ck_assert(juliet_blocks("montague.lit"));
	ck_assert(juliet_blocks("tybalt@montague.lit"));
	ck_assert(juliet_blocks("tybalt@montague.lit/sword"));
	ck_assert(juliet_blocks("montague.lit/service"));
	/* XEP-0016 §2.1: the domain and addresses at it, not subdomains. */
	ck_assert(!juliet_blocks("chat.montague.lit"));
	ck_assert(!juliet_blocks("x@chat.montague.lit"));
	ck_assert(!juliet_blocks("xmontague.lit"));
	ck_assert(!juliet_blocks("capulet.lit"));
}
END_TEST

START_TEST(test_blocked_domain_resource_covers_only_that_address)
{
	block(juliet, "b1", "montague.lit/service");
	ck_assert(juliet_blocks("montague.lit/service"));
	ck_assert(!juliet_blocks("montague.lit"));
	ck_assert(!juliet_blocks("x@montague.lit/service"));
}
END_TEST

START_TEST(test_block_list_survives_the_session_and_is_read_from_the_store)
{
	block(juliet, "b1", "romeo@example.test");
	offline(&juliet);
	/* No session: the cache is gone, the store answers. */
	ck_assert(juliet_blocks("romeo@example.test/x"));
	juliet = online("j2", "juliet@example.test/again");
	from_session(juliet, "<iq xmlns='jabber:client' type='get' id='g'>"
	    "<blocklist xmlns='urn:xmpp:blocking'/></iq>");
	const struct stanza *r = answer("j2", "g");
	ck_assert_str_eq(type_of(r), "result");
	int bl = stanza_find_child(r, 0, NS_BLOCKING, "blocklist");
	int item = stanza_find_child(r, bl, NS_BLOCKING, "item");
	ck_assert_str_eq(stanza_get_attr(r, item, "jid"), "romeo@example.test");
	ck_assert_int_eq(stanza_find_next(r, item, NS_BLOCKING, "item"), STANZA_NONE);
}
END_TEST

START_TEST(test_block_without_items_is_bad_request_and_bad_jid_is_jid_malformed)
{
	from_session(juliet, "<iq xmlns='jabber:client' type='set' id='b'>"
	    "<block xmlns='urn:xmpp:blocking'/></iq>");
	ck_assert_str_eq(condition(answer("j", "b")), "bad-request");
	block(juliet, "c", "@@bad");
	ck_assert_str_eq(condition(answer("j", "c")), "jid-malformed");
	/* Not someone else's list. */
	from_session(romeo, "<iq xmlns='jabber:client' type='get' id='g' to='juliet@example.test'>"
	    "<blocklist xmlns='urn:xmpp:blocking'/></iq>");
	ck_assert_str_eq(condition(answer("r", "g")), "forbidden");
}
END_TEST

START_TEST(test_block_and_unblock_are_pushed_to_interested_resources_only)
{
	struct sm_session *j2 = online("j2", "juliet@example.test/chamber");
	struct sm_session *j3 = online("j3", "juliet@example.test/garden");

	from_session(j2, "<iq xmlns='jabber:client' type='get' id='g'>"
	    "<blocklist xmlns='urn:xmpp:blocking'/></iq>");
	clear_sent();
	block(juliet, "b1", "romeo@example.test");
	const struct stanza *push = nth_to("j2", "iq", 0);
	ck_assert_ptr_nonnull(push);
	ck_assert_str_eq(type_of(push), "set");
	int b = stanza_find_child(push, 0, NS_BLOCKING, "block");
	ck_assert_str_eq(stanza_get_attr(push, stanza_find_child(push, b, NS_BLOCKING, "item"),
	    "jid"), "romeo@example.test");
	ck_assert_uint_eq(count_to("j3", "iq"), 0);
	/* The setter did not ask for the list: its answer only. */
	ck_assert_uint_eq(count_to("j", "iq"), 1);
	clear_sent();
	from_session(juliet, "<iq xmlns='jabber:client' type='set' id='u'>"
	    "<unblock xmlns='urn:xmpp:blocking'/></iq>");
	ck_assert_str_eq(type_of(answer("j", "u")), "result");
	push = nth_to("j2", "iq", 0);
	ck_assert_ptr_nonnull(push);
	ck_assert_int_ne(stanza_find_child(push, 0, NS_BLOCKING, "unblock"), STANZA_NONE);
	ck_assert(!juliet_blocks("romeo@example.test"));
	(void)j3;
}
END_TEST

START_TEST(test_blocked_contact_appears_offline)
{
	block(juliet, "b1", "romeo@example.test");
	clear_sent();
	from_session(romeo, CHAT("juliet@example.test", "hi"));
	ck_assert_uint_eq(count_to("j", "message"), 0);
	ck_assert_str_eq(error_to("r"), "service-unavailable");
	clear_sent();
	from_session(romeo, "<presence xmlns='jabber:client' to='juliet@example.test'/>");
	ck_assert_uint_eq(nsent, 0);
	from_session(romeo, "<iq xmlns='jabber:client' type='get' id='v' "
	    "to='juliet@example.test/balcony'><query xmlns='jabber:iq:version'/></iq>");
	ck_assert_str_eq(condition(answer("r", "v")), "service-unavailable");
	ck_assert_uint_eq(count_to("j", "iq"), 0);
	clear_sent();
	/* Not stored offline either. */
	offline(&juliet);
	from_session(romeo, CHAT("juliet@example.test", "later"));
	ck_assert_str_eq(error_to("r"), "service-unavailable");
	size_t n = 99;
	ck_assert_int_eq(storage_offline_count(sm.storage, "example.test", "juliet", &n, NULL, 0),
	    STORAGE_OK);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_user_writing_to_blocked_contact_gets_not_acceptable_blocked)
{
	block(juliet, "b1", "romeo@example.test");
	clear_sent();
	from_session(juliet, CHAT("romeo@example.test", "hi"));
	ck_assert_uint_eq(count_to("r", "message"), 0);
	const struct stanza *e = nth_to("j", "message", 0);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(condition(e), "not-acceptable");
	int err = stanza_find_child(e, 0, NS_CLIENT, "error");
	ck_assert_str_eq(stanza_get_attr(e, err, "type"), "cancel");
	ck_assert_int_ne(stanza_find_child(e, err, "urn:xmpp:blocking:errors", "blocked"),
	    STANZA_NONE);
	/* Unblocked: delivered again. */
	from_session(juliet, "<iq xmlns='jabber:client' type='set' id='u'>"
	    "<unblock xmlns='urn:xmpp:blocking'><item jid='romeo@example.test'/></unblock></iq>");
	clear_sent();
	from_session(juliet, CHAT("romeo@example.test", "again"));
	ck_assert_uint_eq(count_to("r", "message"), 1);
	from_session(romeo, CHAT("juliet@example.test", "back"));
	ck_assert_uint_eq(count_to("j", "message"), 1);
}
END_TEST

/* --- offline messages (XEP-0160, XEP-0203) -------------------------------------------- */

START_TEST(test_offline_messages_are_stored_with_delay_and_delivered_in_order)
{
	regex_t re;

	offline(&juliet);
	from_session(romeo, CHAT("juliet@example.test", "one"));
	/* A chat to a resource that is gone is the bare JID's (RFC 6121
	 * §8.5.3.2.1). */
	from_session(romeo, "<message xmlns='jabber:client' type='chat' "
	    "to='juliet@example.test/gone'><body>two</body></message>");
	ck_assert_uint_eq(nsent, 0);
	/* A negative priority takes nothing (XEP-0160 §2). */
	juliet = online("j2", "juliet@example.test/shy");
	presence(juliet, -1);
	ck_assert_uint_eq(count_to("j2", "message"), 0);
	struct sm_session *j3 = online("j3", "juliet@example.test/back");
	presence(j3, 1);
	ck_assert_uint_eq(count_to("j3", "message"), 2);
	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
	    REG_EXTENDED | REG_NOSUB), 0);
	for (size_t i = 0; i < 2; i++) {
		const struct stanza *m = nth_to("j3", "message", i);
		int body = stanza_find_child(m, 0, NS_CLIENT, "body");
		ck_assert_str_eq(stanza_text(m, body), i == 0 ? "one" : "two");
		ck_assert_str_eq(stanza_from(m), "romeo@example.test/orchard");
		int d = stanza_find_child(m, 0, "urn:xmpp:delay", "delay");
		ck_assert_int_ne(d, STANZA_NONE);
		ck_assert_str_eq(stanza_get_attr(m, d, "from"), "example.test");
		ck_assert_int_eq(regexec(&re, stanza_get_attr(m, d, "stamp"), 0, NULL, 0), 0);
	}
	regfree(&re);
	/* Delivered once: deleted. */
	size_t n = 99;
	ck_assert_int_eq(storage_offline_count(sm.storage, "example.test", "juliet", &n, NULL, 0),
	    STORAGE_OK);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* A sender cannot choose the stamp: a <delay/> claiming our domain on a
 * message from a client is not ours, and goes; another entity's stays. */
START_TEST(test_offline_forged_delay_from_our_domain_is_replaced)
{
	offline(&juliet);
	from_session(romeo, "<message xmlns='jabber:client' type='chat' to='juliet@example.test'>"
	    "<body>old?</body><delay xmlns='urn:xmpp:delay' from='example.test' "
	    "stamp='2001-01-01T00:00:00Z'/><delay xmlns='urn:xmpp:delay' from='elsewhere.test' "
	    "stamp='2002-02-02T00:00:00Z'/></message>");
	ck_assert_uint_eq(nsent, 0);
	struct sm_session *j = online("j3", "juliet@example.test/back");
	presence(j, 1);
	const struct stanza *m = nth_to("j3", "message", 0);
	ck_assert_ptr_nonnull(m);
	size_t ours = 0, theirs = 0;
	for (int d = stanza_find_child(m, 0, "urn:xmpp:delay", "delay"); d >= 0;
	    d = stanza_find_next(m, d, "urn:xmpp:delay", "delay")) {
		if (strcmp(stanza_get_attr(m, d, "from"), "example.test") == 0) {
			ours++;
			ck_assert_str_ne(stanza_get_attr(m, d, "stamp"), "2001-01-01T00:00:00Z");
		} else {
			theirs++;
			ck_assert_str_eq(stanza_get_attr(m, d, "stamp"), "2002-02-02T00:00:00Z");
		}
	}
	ck_assert_uint_eq(ours, 1);
	ck_assert_uint_eq(theirs, 1);
}
END_TEST

START_TEST(test_offline_quota_full_answers_service_unavailable)
{
	offline(&juliet);
	from_session(romeo, CHAT("juliet@example.test", "1"));
	from_session(romeo, CHAT("juliet@example.test", "2"));
	ck_assert_uint_eq(nsent, 0);
	from_session(romeo, CHAT("juliet@example.test", "3"));
	ck_assert_str_eq(error_to("r"), "service-unavailable");
	size_t n = 0;
	ck_assert_int_eq(storage_offline_count(sm.storage, "example.test", "juliet", &n, NULL, 0),
	    STORAGE_OK);
	ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_chat_states_alone_are_not_stored_and_no_store_is_refused)
{
	offline(&juliet);
	from_session(romeo, "<message xmlns='jabber:client' to='juliet@example.test' type='chat'>"
	    "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
	ck_assert_uint_eq(nsent, 0);
	from_session(romeo, "<message xmlns='jabber:client' to='juliet@example.test' type='chat'>"
	    "<body>x</body><no-store xmlns='urn:xmpp:hints'/></message>");
	ck_assert_str_eq(error_to("r"), "service-unavailable");
	size_t n = 99;
	ck_assert_int_eq(storage_offline_count(sm.storage, "example.test", "juliet", &n, NULL, 0),
	    STORAGE_OK);
	ck_assert_uint_eq(n, 0);
	/* A chat state with a thread is still only a chat state; a normal
	 * message with one, or a receipt without a body, is kept. */
	from_session(romeo, "<message xmlns='jabber:client' to='juliet@example.test' type='chat'>"
	    "<composing xmlns='http://jabber.org/protocol/chatstates'/><thread>t</thread>"
	    "</message>");
	from_session(romeo, "<message xmlns='jabber:client' to='juliet@example.test' type='normal'>"
	    "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
	from_session(romeo, "<message xmlns='jabber:client' to='juliet@example.test' type='chat'>"
	    "<received xmlns='urn:xmpp:receipts' id='m1'/></message>");
	ck_assert_int_eq(storage_offline_count(sm.storage, "example.test", "juliet", &n, NULL, 0),
	    STORAGE_OK);
	ck_assert_uint_eq(n, 2);
}
END_TEST

/* --- vCard (XEP-0054) ---------------------------------------------------------------- */

START_TEST(test_vcard_own_empty_then_set_then_read_by_another)
{
	from_session(juliet, "<iq xmlns='jabber:client' type='get' id='g'>"
	    "<vCard xmlns='vcard-temp'/></iq>");
	const struct stanza *r = answer("j", "g");
	ck_assert_str_eq(type_of(r), "result");
	int v = stanza_find_child(r, 0, "vcard-temp", "vCard");
	ck_assert_int_ne(v, STANZA_NONE);
	ck_assert_int_eq(stanza_first_element(r, v), STANZA_NONE);
	/* Another user's, none stored: what no such user gets (§3.3). */
	from_session(romeo, "<iq xmlns='jabber:client' type='get' id='o' to='juliet@example.test'>"
	    "<vCard xmlns='vcard-temp'/></iq>");
	ck_assert_str_eq(condition(answer("r", "o")), "service-unavailable");
	from_session(romeo, "<iq xmlns='jabber:client' type='get' id='o2' to='nobody@example.test'>"
	    "<vCard xmlns='vcard-temp'/></iq>");
	ck_assert_str_eq(condition(answer("r", "o2")), "service-unavailable");

	from_session(juliet, "<iq xmlns='jabber:client' type='set' id='s'>"
	    "<vCard xmlns='vcard-temp'><FN>Juliet Capulet</FN></vCard></iq>");
	ck_assert_str_eq(type_of(answer("j", "s")), "result");
	clear_sent();
	from_session(romeo, "<iq xmlns='jabber:client' type='get' id='o2' to='juliet@example.test'>"
	    "<vCard xmlns='vcard-temp'/></iq>");
	r = answer("r", "o2");
	ck_assert_str_eq(type_of(r), "result");
	ck_assert_str_eq(stanza_from(r), "juliet@example.test");
	v = stanza_find_child(r, 0, "vcard-temp", "vCard");
	ck_assert_str_eq(stanza_text(r, stanza_find_child(r, v, "vcard-temp", "FN")),
	    "Juliet Capulet");
}
END_TEST

START_TEST(test_vcard_set_of_another_is_forbidden_and_too_large_is_refused)
{
	from_session(romeo, "<iq xmlns='jabber:client' type='set' id='s' to='juliet@example.test'>"
	    "<vCard xmlns='vcard-temp'><FN>Romeo</FN></vCard></iq>");
	ck_assert_str_eq(condition(answer("r", "s")), "forbidden");
	char xml[2048];
	char big[1200];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(xml, sizeof(xml), "<iq xmlns='jabber:client' type='set' id='b'>"
	    "<vCard xmlns='vcard-temp'><FN>%s</FN></vCard></iq>", big);
	from_session(juliet, xml);
	ck_assert_str_eq(condition(answer("j", "b")), "policy-violation");
}
END_TEST

/* --- private XML (XEP-0049) -------------------------------------------------------- */

START_TEST(test_private_set_get_and_missing_returns_what_was_asked)
{
	from_session(juliet, "<iq xmlns='jabber:client' type='set' id='s'>"
	    "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'><nick>J</nick>"
	    "</prefs></query></iq>");
	ck_assert_str_eq(type_of(answer("j", "s")), "result");
	from_session(juliet, "<iq xmlns='jabber:client' type='get' id='g'>"
	    "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query></iq>");
	const struct stanza *r = answer("j", "g");
	ck_assert_str_eq(type_of(r), "result");
	int q = stanza_find_child(r, 0, "jabber:iq:private", "query");
	int p = stanza_find_child(r, q, "urn:example:prefs", "prefs");
	ck_assert_str_eq(stanza_text(r, stanza_find_child(r, p, "urn:example:prefs", "nick")), "J");
	from_session(juliet, "<iq xmlns='jabber:client' type='get' id='m'>"
	    "<query xmlns='jabber:iq:private'><other xmlns='urn:example:none'/></query></iq>");
	r = answer("j", "m");
	ck_assert_str_eq(type_of(r), "result");
	q = stanza_find_child(r, 0, "jabber:iq:private", "query");
	ck_assert_int_ne(stanza_find_child(r, q, "urn:example:none", "other"), STANZA_NONE);
}
END_TEST

START_TEST(test_private_refuses_reserved_namespaces_others_and_empty_queries)
{
	from_session(juliet, "<iq xmlns='jabber:client' type='set' id='v'>"
	    "<query xmlns='jabber:iq:private'><vCard xmlns='vcard-temp'/></query></iq>");
	ck_assert_str_eq(condition(answer("j", "v")), "not-acceptable");
	from_session(juliet, "<iq xmlns='jabber:client' type='get' id='r'>"
	    "<query xmlns='jabber:iq:private'><query xmlns='jabber:iq:roster'/></query></iq>");
	ck_assert_str_eq(condition(answer("j", "r")), "not-acceptable");
	from_session(juliet, "<iq xmlns='jabber:client' type='get' id='e'>"
	    "<query xmlns='jabber:iq:private'/></iq>");
	ck_assert_str_eq(condition(answer("j", "e")), "not-acceptable");
	from_session(romeo, "<iq xmlns='jabber:client' type='get' id='o' to='juliet@example.test'>"
	    "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query></iq>");
	ck_assert_str_eq(condition(answer("r", "o")), "forbidden");
}
END_TEST

/* --- last activity (XEP-0012), time (XEP-0202), account disco (XEP-0030) ------------- */

START_TEST(test_last_activity_of_server_user_and_stranger)
{
	from_session(romeo, "<iq xmlns='jabber:client' type='get' id='s' to='example.test'>"
	    "<query xmlns='jabber:iq:last'/></iq>");
	const struct stanza *r = answer("r", "s");
	ck_assert_str_eq(type_of(r), "result");
	ck_assert_ptr_nonnull(stanza_get_attr(r, stanza_find_child(r, 0, "jabber:iq:last",
	    "query"), "seconds"));
	/* romeo is not subscribed to juliet's presence. */
	from_session(romeo, "<iq xmlns='jabber:client' type='get' id='j' to='juliet@example.test'>"
	    "<query xmlns='jabber:iq:last'/></iq>");
	ck_assert_str_eq(condition(answer("r", "j")), "forbidden");
	/* juliet about herself while online: 0. */
	from_session(juliet, "<iq xmlns='jabber:client' type='get' id='o' to='juliet@example.test'>"
	    "<query xmlns='jabber:iq:last'/></iq>");
	r = answer("j", "o");
	ck_assert_str_eq(stanza_get_attr(r, stanza_find_child(r, 0, "jabber:iq:last", "query"),
	    "seconds"), "0");
	/* romeo never logged out, and asks about himself from a second session
	 * that is not available: nothing recorded yet. */
	struct sm_session *r2 = online("r2", "romeo@example.test/two");
	presence(romeo, 0);
	from_session(romeo, "<presence xmlns='jabber:client' type='unavailable'/>");
	clear_sent();
	from_session(r2, "<iq xmlns='jabber:client' type='get' id='n'>"
	    "<query xmlns='jabber:iq:last'/></iq>");
	ck_assert_str_eq(condition(answer("r2", "n")), "item-not-found");
	/* After the last session of juliet ends, the time is recorded. */
	offline(&juliet);
	int64_t when = 0;
	char *status = NULL;
	ck_assert_int_eq(storage_last_get(sm.storage, "example.test", "juliet", &when, &status,
	    NULL, 0), STORAGE_OK);
	ck_assert_int_gt(when, 0);
	free(status);
}
END_TEST

START_TEST(test_time_is_utc_with_zero_offset)
{
	regex_t re;

	from_session(romeo, "<iq xmlns='jabber:client' type='get' id='t' to='example.test'>"
	    "<time xmlns='urn:xmpp:time'/></iq>");
	const struct stanza *r = answer("r", "t");
	ck_assert_str_eq(type_of(r), "result");
	int t = stanza_find_child(r, 0, "urn:xmpp:time", "time");
	ck_assert_str_eq(stanza_text(r, stanza_find_child(r, t, "urn:xmpp:time", "tzo")), "+00:00");
	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
	    "\\.[0-9]{3}Z$", REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_int_eq(regexec(&re, stanza_text(r, stanza_find_child(r, t, "urn:xmpp:time",
	    "utc")), 0, NULL, 0), 0);
	regfree(&re);
}
END_TEST

START_TEST(test_account_disco_to_self_and_to_a_stranger)
{
	from_session(juliet, "<iq xmlns='jabber:client' type='get' id='i' to='juliet@example.test'>"
	    "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	const struct stanza *r = answer("j", "i");
	ck_assert_str_eq(type_of(r), "result");
	int q = stanza_find_child(r, 0, "http://jabber.org/protocol/disco#info", "query");
	int id = stanza_find_child(r, q, NULL, "identity");
	ck_assert_str_eq(stanza_get_attr(r, id, "category"), "account");
	ck_assert_str_eq(stanza_get_attr(r, id, "type"), "registered");
	from_session(romeo, "<iq xmlns='jabber:client' type='get' id='i' to='juliet@example.test'>"
	    "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	ck_assert_str_eq(condition(answer("r", "i")), "service-unavailable");
	from_session(romeo, "<iq xmlns='jabber:client' type='get' id='t' to='juliet@example.test'>"
	    "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
	r = answer("r", "t");
	ck_assert_str_eq(type_of(r), "result");
	q = stanza_find_child(r, 0, "http://jabber.org/protocol/disco#items", "query");
	ck_assert_int_eq(stanza_first_element(r, q), STANZA_NONE);
	/* The server lists the modules' features. */
	from_session(romeo, "<iq xmlns='jabber:client' type='get' id='s' to='example.test'>"
	    "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	r = answer("r", "s");
	q = stanza_find_child(r, 0, "http://jabber.org/protocol/disco#info", "query");
	const char *want[] = { "urn:xmpp:blocking", "jabber:iq:last", "urn:xmpp:time",
	    "vcard-temp", "jabber:iq:private", "msgoffline" };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;
		for (int f = stanza_find_child(r, q, NULL, "feature"); f != STANZA_NONE;
		    f = stanza_find_next(r, f, NULL, "feature"))
			found = found || strcmp(stanza_get_attr(r, f, "var"), want[i]) == 0;
		ck_assert_msg(found, "feature %s", want[i]);
	}
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("sm_im");
	TCase *tc = tcase_create("im");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_blocked_bare_jid_covers_every_resource_of_it_and_nothing_else);
	tcase_add_test(tc, test_block_list_has_a_bound);
	tcase_add_test(tc, test_blocked_full_jid_covers_only_that_resource);
	tcase_add_test(tc, test_blocked_domain_covers_its_users_and_resources_not_subdomains);
	tcase_add_test(tc, test_blocked_domain_resource_covers_only_that_address);
	tcase_add_test(tc, test_block_list_survives_the_session_and_is_read_from_the_store);
	tcase_add_test(tc, test_block_without_items_is_bad_request_and_bad_jid_is_jid_malformed);
	tcase_add_test(tc, test_block_and_unblock_are_pushed_to_interested_resources_only);
	tcase_add_test(tc, test_blocked_contact_appears_offline);
	tcase_add_test(tc, test_user_writing_to_blocked_contact_gets_not_acceptable_blocked);
	tcase_add_test(tc, test_offline_messages_are_stored_with_delay_and_delivered_in_order);
	tcase_add_test(tc, test_offline_forged_delay_from_our_domain_is_replaced);
	tcase_add_test(tc, test_offline_quota_full_answers_service_unavailable);
	tcase_add_test(tc, test_chat_states_alone_are_not_stored_and_no_store_is_refused);
	tcase_add_test(tc, test_vcard_own_empty_then_set_then_read_by_another);
	tcase_add_test(tc, test_vcard_set_of_another_is_forbidden_and_too_large_is_refused);
	tcase_add_test(tc, test_private_set_get_and_missing_returns_what_was_asked);
	tcase_add_test(tc, test_private_refuses_reserved_namespaces_others_and_empty_queries);
	tcase_add_test(tc, test_last_activity_of_server_user_and_stranger);
	tcase_add_test(tc, test_time_is_utc_with_zero_offset);
	tcase_add_test(tc, test_account_disco_to_self_and_to_a_stranger);
	suite_add_tcase(s, tc);
	return s;
}
