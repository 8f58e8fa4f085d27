/*
 * test_stanza.c — the compact stanza tree and its serializer: reading,
 * building, copying, error replies, exact serialized bytes, and round trips
 * of realistic stanzas (parse → write → parse gives the same tree, and
 * writing again gives the same bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stanza.h"
#include "unit.h"
#include "xml_stream.h"

#define C2S_HEADER "<?xml version='1.0'?><stream:stream to='example.com' " \
	"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"

/* --- helpers --------------------------------------------------------------- */

static void keep_copy(void *arg, struct stanza *st)
{
	struct stanza **out = arg;
	ck_assert_ptr_null(*out);	/* one stanza per call */
	*out = stanza_copy(st);
}

/* The one stanza in `body`, parsed inside a stream opened by `header`. */
static struct stanza *parse_in_stream(const char *header, const char *body)
{
	struct xml_stream_callbacks cb = { NULL, keep_copy, NULL };
	struct stanza *st = NULL;
	char err[ERRLEN];
	struct xml_stream *xs = xml_stream_new(&cb, &st, 0, 0, err, sizeof(err));
	ck_assert_ptr_nonnull(xs);
	ssize_t n = xml_stream_feed(xs, header, strlen(header), err, sizeof(err));
	ck_assert_msg(n == (ssize_t)strlen(header), "header: %s", err);
	n = xml_stream_feed(xs, body, strlen(body), err, sizeof(err));
	ck_assert_msg(n == (ssize_t)strlen(body), "%s in: %s", err, body);
	xml_stream_free(&xs);
	ck_assert_msg(st != NULL, "no stanza in: %s", body);
	return st;
}

static char *written(const struct stanza *st, const char *stream_ns)
{
	struct buf b = BUF_INIT;
	stanza_write(st, &b, stream_ns);
	buf_append(&b, "", 1);
	char *s = xstrdup(buf_head(&b));
	buf_free(&b);
	return s;
}

/* Parse xml in a c2s stream, write it for that stream, parse it back inside
 * a header of our own making, and check trees and bytes agree; the same
 * through the standalone form. Returns the first serialization. */
static char *round_trip(const char *header, const char *xml, const char *stream_ns)
{
	struct stanza *a = parse_in_stream(header, xml);

	struct stanza *hdr = stanza_new_stream_header(stream_ns);
	struct buf our_header = BUF_INIT;
	stanza_write_stream_header(hdr, &our_header);
	buf_append(&our_header, "", 1);
	stanza_free(&hdr);

	char *out1 = written(a, stream_ns);
	struct stanza *b = parse_in_stream(buf_head(&our_header), out1);
	ck_assert_msg(stanza_equal(a, b), "tree changed through: %s", out1);
	char *out2 = written(b, stream_ns);
	ck_assert_str_eq(out1, out2);

	char err[ERRLEN];
	char *alone1 = written(a, NULL);
	struct xml_stream *xs = xml_stream_new(NULL, NULL, 0, 0, err, sizeof(err));
	struct stanza *c = stanza_new_empty();
	ck_assert_msg(xml_stream_parse_stanza(xs, alone1, strlen(alone1), c, err,
	    sizeof(err)) == 0, "%s: %s", err, alone1);
	ck_assert_msg(stanza_equal(a, c), "tree changed through: %s", alone1);
	char *alone2 = written(c, NULL);
	ck_assert_str_eq(alone1, alone2);

	xml_stream_free(&xs);
	free(alone1);
	free(alone2);
	free(out2);
	buf_free(&our_header);
	stanza_free(&a);
	stanza_free(&b);
	stanza_free(&c);
	return out1;
}

static void assert_round_trip(const char *xml, const char *expect)
{
	char *out = round_trip(C2S_HEADER, xml, NS_CLIENT);
	if (expect != NULL)
		ck_assert_str_eq(out, expect);
	free(out);
}

/* --- reading and building -------------------------------------------------- */

START_TEST(test_stanza_built_tree_reads_back)
{
	struct stanza *st = stanza_new(NS_CLIENT, "message");
	stanza_set_to(st, "juliet@example.com");
	stanza_set_type(st, "chat");
	int body = stanza_add_child_text(st, 0, NULL, "body", "hello");
	int active = stanza_add_child(st, 0, "http://jabber.org/protocol/chatstates", "active");

	ck_assert_int_eq(stanza_root(st), 0);
	ck_assert_str_eq(stanza_name(st, 0), "message");
	ck_assert_str_eq(stanza_ns(st, 0), NS_CLIENT);
	ck_assert_ptr_null(stanza_prefix(st, 0));
	ck_assert_str_eq(stanza_to(st), "juliet@example.com");
	ck_assert_str_eq(stanza_type(st), "chat");
	ck_assert_ptr_null(stanza_from(st));
	ck_assert_str_eq(stanza_ns(st, body), NS_CLIENT);	/* inherited */
	ck_assert_str_eq(stanza_text(st, body), "hello");
	ck_assert_uint_eq(stanza_text_len(st, body), 5);
	ck_assert_int_eq(stanza_first_child(st, 0), body);
	ck_assert_int_eq(stanza_next_sibling(st, body), active);
	ck_assert_int_eq(stanza_next_sibling(st, active), STANZA_NONE);
	ck_assert_int_eq(stanza_parent(st, active), 0);
	ck_assert(stanza_is_text(st, stanza_first_child(st, body)));
	ck_assert(stanza_is(st, active, "http://jabber.org/protocol/chatstates", "active"));
	ck_assert(!stanza_is(st, active, NS_CLIENT, "active"));
	stanza_free(&st);
	ck_assert_ptr_null(st);
}
END_TEST

START_TEST(test_stanza_find_child_matches_namespace)
{
	struct stanza *st = stanza_new(NS_CLIENT, "iq");
	int a = stanza_add_child(st, 0, "urn:a", "query");
	int b = stanza_add_child(st, 0, "jabber:iq:roster", "query");
	ck_assert_int_eq(stanza_find_child(st, 0, "jabber:iq:roster", "query"), b);
	ck_assert_int_eq(stanza_find_child(st, 0, "urn:a", "query"), a);
	ck_assert_int_eq(stanza_find_child(st, 0, NULL, "query"), a);
	ck_assert_int_eq(stanza_find_next(st, a, NULL, "query"), b);
	ck_assert_int_eq(stanza_find_child(st, 0, "urn:none", "query"), STANZA_NONE);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_repeated_children_are_walked_in_order)
{
	struct stanza *st = parse_in_stream(C2S_HEADER, "<iq type='set'><query "
	    "xmlns='jabber:iq:roster'><item jid='a@x'/> <item jid='b@x'/><other/>"
	    "<item jid='c@x'/></query></iq>");
	int q = stanza_find_child(st, 0, "jabber:iq:roster", "query");
	char seen[32] = "";
	for (int c = stanza_find_child(st, q, "jabber:iq:roster", "item"); c != STANZA_NONE;
	    c = stanza_find_next(st, c, "jabber:iq:roster", "item"))
		strcat(seen, stanza_get_attr(st, c, "jid"));
	ck_assert_str_eq(seen, "a@xb@xc@x");
	int n = 0;
	for (int c = stanza_first_element(st, q); c != STANZA_NONE; c = stanza_next_element(st, c))
		n++;
	ck_assert_int_eq(n, 4);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_missing_nodes_chain_to_none)
{
	struct stanza *st = stanza_new(NS_CLIENT, "iq");
	int missing = stanza_find_child(st, 0, "urn:x", "query");
	ck_assert_int_eq(missing, STANZA_NONE);
	ck_assert_ptr_null(stanza_get_attr(st, missing, "node"));
	ck_assert_ptr_null(stanza_name(st, missing));
	ck_assert_ptr_null(stanza_text(st, missing));
	ck_assert_int_eq(stanza_first_child(st, missing), STANZA_NONE);
	ck_assert_int_eq(stanza_find_child(st, missing, NULL, "x"), STANZA_NONE);
	ck_assert_int_eq(stanza_add_child(st, missing, NULL, "x"), STANZA_NONE);
	ck_assert_int_eq(stanza_add_child(st, 12345, NULL, "x"), STANZA_NONE);
	/* Only an empty tree takes a new root. */
	ck_assert_int_eq(stanza_add_child(st, STANZA_NONE, NULL, "x"), STANZA_NONE);
	stanza_set_attr(st, missing, "a", "b");
	ck_assert_int_eq(stanza_first_attr(st, 0), STANZA_NONE);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_attributes_by_namespace)
{
	struct stanza *st = parse_in_stream(C2S_HEADER, "<presence xml:lang='de' "
	    "xmlns:e='urn:example' lang='plain' e:lang='ext'/>");
	ck_assert_str_eq(stanza_get_attr(st, 0, "xml:lang"), "de");
	ck_assert_str_eq(stanza_get_attr_ns(st, 0, NS_XML, "lang"), "de");
	ck_assert_str_eq(stanza_get_attr(st, 0, "lang"), "plain");
	ck_assert_str_eq(stanza_get_attr_ns(st, 0, "urn:example", "lang"), "ext");
	ck_assert_ptr_null(stanza_get_attr_ns(st, 0, "urn:other", "lang"));

	const char *expect[][4] = {
		{ "lang", NS_XML, "xml", "de" },
		{ "lang", "", NULL, "plain" },
		{ "lang", "urn:example", "e", "ext" },
	};
	int i = 0;
	for (int a = stanza_first_attr(st, 0); a != STANZA_NONE; a = stanza_next_attr(st, a), i++) {
		ck_assert_int_lt(i, 3);
		ck_assert_str_eq(stanza_attr_name(st, a), expect[i][0]);
		ck_assert_str_eq(stanza_attr_ns(st, a), expect[i][1]);
		if (expect[i][2] == NULL)
			ck_assert_ptr_null(stanza_attr_prefix(st, a));
		else
			ck_assert_str_eq(stanza_attr_prefix(st, a), expect[i][2]);
		ck_assert_str_eq(stanza_attr_value(st, a), expect[i][3]);
	}
	ck_assert_int_eq(i, 3);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_set_attr_replaces_in_place_and_removes)
{
	struct stanza *st = stanza_new(NS_CLIENT, "iq");
	stanza_set_attr(st, 0, "type", "get");
	stanza_set_attr(st, 0, "id", "1");
	stanza_set_attr(st, 0, "to", "a@b");
	stanza_set_attr(st, 0, "type", "result");
	stanza_set_attr(st, 0, "id", NULL);
	stanza_set_attr(st, 0, "xml:lang", "en");
	stanza_set_attr(st, 0, "absent", NULL);
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<iq type=\"result\" to=\"a@b\" xml:lang=\"en\"/>");
	free(out);
	stanza_set_attr(st, 0, "xml:lang", NULL);
	stanza_set_attr(st, 0, "to", NULL);
	stanza_set_attr(st, 0, "new", "v");
	out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<iq type=\"result\" new=\"v\"/>");
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_setters_accept_values_from_the_same_tree)
{
	/* The buffer may move while the value is copied. */
	struct stanza *st = stanza_new(NS_CLIENT, "message");
	stanza_set_from(st, "romeo@example.net/orchard");
	for (int i = 0; i < 50; i++) {
		stanza_set_to(st, stanza_from(st));
		stanza_set_from(st, stanza_to(st));
		stanza_add_child_text(st, 0, NULL, stanza_name(st, 0), stanza_from(st));
	}
	ck_assert_str_eq(stanza_to(st), "romeo@example.net/orchard");
	ck_assert_str_eq(stanza_text(st, stanza_find_child(st, 0, NULL, "message")),
	    "romeo@example.net/orchard");
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_adjacent_text_merges_into_one_node)
{
	struct stanza *st = stanza_new(NS_CLIENT, "message");
	int body = stanza_add_child(st, 0, NULL, "body");
	stanza_add_text(st, body, "Hello");
	stanza_set_attr(st, 0, "id", "x");	/* store something in between */
	stanza_add_text(st, body, ", ");
	stanza_add_text_len(st, body, "world!!!", 6);
	stanza_add_text(st, body, "");
	ck_assert_str_eq(stanza_text(st, body), "Hello, world!");
	int t = stanza_first_child(st, body);
	ck_assert(stanza_is_text(st, t));
	ck_assert_int_eq(stanza_next_sibling(st, t), STANZA_NONE);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_mixed_content_keeps_its_order)
{
	struct stanza *st = parse_in_stream(C2S_HEADER, "<message><html xmlns="
	    "'http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>"
	    "a <em>b</em> c<br/>d</body></html></message>");
	int html = stanza_first_element(st, 0);
	int body = stanza_first_element(st, html);
	struct buf b = BUF_INIT;
	stanza_text_content(st, body, &b);
	buf_append(&b, "", 1);
	ck_assert_str_eq(buf_head(&b), "a b cd");
	ck_assert_str_eq(stanza_text(st, body), "a ");
	buf_free(&b);
	int kinds = 0;
	for (int c = stanza_first_child(st, body); c != STANZA_NONE; c = stanza_next_sibling(st, c))
		kinds = kinds * 10 + (stanza_is_text(st, c) ? 1 : 2);
	ck_assert_int_eq(kinds, 12121);	/* text, em, text, br, text */
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_remove_detaches_and_merges_text)
{
	struct stanza *st = parse_in_stream(C2S_HEADER,
	    "<message><body>one<b/>two</body><delay xmlns='urn:xmpp:delay'/></message>");
	stanza_remove(st, stanza_find_child(st, 0, "urn:xmpp:delay", "delay"));
	int body = stanza_find_child(st, 0, NULL, "body");
	stanza_remove(st, stanza_find_child(st, body, NULL, "b"));
	ck_assert_str_eq(stanza_text(st, body), "onetwo");
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<message><body>onetwo</body></message>");
	free(out);
	stanza_remove(st, 0);	/* the root stays */
	ck_assert_str_eq(stanza_name(st, 0), "message");
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_copy_is_equal_and_independent)
{
	struct stanza *st = parse_in_stream(C2S_HEADER,
	    "<message to='a@b' xml:lang='en'><body>hi</body><x xmlns='urn:x' y='z'/></message>");
	struct stanza *c = stanza_copy(st);
	ck_assert(stanza_equal(st, c));
	stanza_set_to(c, "c@d");
	ck_assert(!stanza_equal(st, c));
	ck_assert_str_eq(stanza_to(st), "a@b");
	stanza_set_to(c, "a@b");
	ck_assert(stanza_equal(st, c));
	stanza_add_text(c, stanza_find_child(c, 0, NULL, "body"), "!");
	ck_assert(!stanza_equal(st, c));
	stanza_free(&c);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_import_copies_a_subtree)
{
	/* A carbon: the received message wrapped in <forwarded/>. */
	struct stanza *msg = parse_in_stream(C2S_HEADER,
	    "<message from='a@b/c' xml:lang='en'><body>x &amp; y</body>"
	    "<r xmlns:p='urn:p' p:q='1'/></message>");
	struct stanza *carbon = stanza_new(NS_CLIENT, "message");
	int received = stanza_add_child(carbon, 0, "urn:xmpp:carbons:2", "received");
	int fwd = stanza_add_child(carbon, received, "urn:xmpp:forward:0", "forwarded");
	int copy = stanza_import(carbon, fwd, msg, 0);
	ck_assert_int_ne(copy, STANZA_NONE);
	char *out = written(carbon, NS_CLIENT);
	ck_assert_str_eq(out, "<message><received xmlns=\"urn:xmpp:carbons:2\">"
	    "<forwarded xmlns=\"urn:xmpp:forward:0\"><message xmlns=\"jabber:client\" "
	    "from=\"a@b/c\" xml:lang=\"en\"><body>x &amp; y</body>"
	    "<r xmlns:p=\"urn:p\" p:q=\"1\"/></message></forwarded></received></message>");
	free(out);
	/* Importing a tree into itself works too. */
	ck_assert_int_ne(stanza_import(msg, 0, msg, 0), STANZA_NONE);
	ck_assert_int_eq(stanza_find_next(msg, stanza_find_child(msg, 0, NULL, "message"),
	    NULL, "message"), STANZA_NONE);
	ck_assert_str_eq(stanza_get_attr(msg, stanza_find_child(msg, 0, NULL, "message"),
	    "from"), "a@b/c");
	stanza_free(&carbon);
	stanza_free(&msg);
}
END_TEST

START_TEST(test_stanza_clear_keeps_memory)
{
	struct stanza *st = stanza_new(NS_CLIENT, "message");
	for (int i = 0; i < 100; i++)
		stanza_add_child_text(st, 0, NULL, "body", "some text to grow the buffer");
	size_t before = stanza_allocated(st);
	stanza_clear(st);
	ck_assert_int_eq(stanza_root(st), STANZA_NONE);
	ck_assert_uint_eq(stanza_allocated(st), before);
	ck_assert_int_eq(stanza_add_child(st, STANZA_NONE, NS_CLIENT, "presence"), 0);
	ck_assert_str_eq(stanza_name(st, 0), "presence");
	ck_assert_uint_eq(stanza_allocated(st), before);
	stanza_shrink(st, before);
	ck_assert_uint_eq(stanza_allocated(st), before);
	stanza_shrink(st, 0);
	ck_assert_uint_eq(stanza_allocated(st), 0);
	stanza_free(&st);
}
END_TEST

/* --- error replies --------------------------------------------------------- */

START_TEST(test_stanza_error_reply_swaps_addresses_and_appends_condition)
{
	struct stanza *st = parse_in_stream(C2S_HEADER, "<iq from='romeo@example.net/orchard' "
	    "to='example.com' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>");
	ck_assert_int_eq(stanza_make_error(st, "cancel", "service-unavailable", NULL), 0);
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<iq from=\"example.com\" to=\"romeo@example.net/orchard\" "
	    "type=\"error\" id=\"v1\"><query xmlns=\"jabber:iq:version\"/>"
	    "<error type=\"cancel\"><service-unavailable "
	    "xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></error></iq>");
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_error_reply_with_text_and_missing_to)
{
	struct stanza *st = parse_in_stream("<stream:stream xmlns='jabber:server' "
	    "xmlns:stream='http://etherx.jabber.org/streams'>",
	    "<message from='a@example.net' id='m'><body>x</body></message>");
	ck_assert_int_eq(stanza_make_error(st, "modify", "bad-request", "no <to>"), 0);
	ck_assert_str_eq(stanza_to(st), "a@example.net");
	ck_assert_ptr_null(stanza_from(st));
	char *out = written(st, NS_SERVER);
	ck_assert_str_eq(out, "<message id=\"m\" to=\"a@example.net\" type=\"error\"><body>x</body>"
	    "<error type=\"modify\"><bad-request xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>"
	    "<text xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\">no &lt;to&gt;</text>"
	    "</error></message>");
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_error_reply_refuses_an_error)
{
	struct stanza *st = parse_in_stream(C2S_HEADER,
	    "<message type='error' to='a@b'><error type='cancel'/></message>");
	char *before = written(st, NS_CLIENT);
	ck_assert_int_eq(stanza_make_error(st, "cancel", "item-not-found", NULL), -1);
	char *after = written(st, NS_CLIENT);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	stanza_free(&st);
	st = stanza_new_empty();
	ck_assert_int_eq(stanza_make_error(st, "cancel", "item-not-found", NULL), -1);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_stream_error_is_written_with_stream_prefix)
{
	struct stanza *st = stanza_new_stream_error("not-well-formed", NULL);
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<stream:error><not-well-formed "
	    "xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"/></stream:error>");
	free(out);
	stanza_free(&st);
	st = stanza_new_stream_error("policy-violation", "stanza too big");
	out = written(st, NULL);
	ck_assert_str_eq(out, "<stream:error xmlns:stream=\"http://etherx.jabber.org/streams\">"
	    "<policy-violation xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"/>"
	    "<text xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\">stanza too big</text>"
	    "</stream:error>");
	free(out);
	stanza_free(&st);
}
END_TEST

/* --- serializer ------------------------------------------------------------ */

START_TEST(test_write_omits_the_stream_content_namespace)
{
	struct stanza *st = stanza_new(NS_CLIENT, "presence");
	stanza_add_child_text(st, 0, NULL, "show", "away");
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<presence><show>away</show></presence>");
	free(out);
	out = written(st, NS_SERVER);
	ck_assert_str_eq(out, "<presence xmlns=\"jabber:client\"><show>away</show></presence>");
	free(out);
	out = written(st, NULL);
	ck_assert_str_eq(out, "<presence xmlns=\"jabber:client\"><show>away</show></presence>");
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_write_declares_other_namespaces_once)
{
	struct stanza *st = stanza_new(NS_CLIENT, "iq");
	int q = stanza_add_child(st, 0, "jabber:iq:roster", "query");
	int item = stanza_add_child(st, q, NULL, "item");
	stanza_set_attr(st, item, "jid", "a@b");
	stanza_add_child_text(st, item, NULL, "group", "Friends");
	stanza_add_child(st, q, NS_CLIENT, "back");
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<iq><query xmlns=\"jabber:iq:roster\"><item jid=\"a@b\">"
	    "<group>Friends</group></item><back xmlns=\"jabber:client\"/></query></iq>");
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_write_undeclares_default_for_no_namespace)
{
	struct stanza *st = stanza_new(NS_CLIENT, "message");
	stanza_add_child(st, 0, "", "plain");
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<message><plain xmlns=\"\"/></message>");
	free(out);
	stanza_free(&st);
	st = stanza_new(NULL, "plain");
	out = written(st, NULL);
	ck_assert_str_eq(out, "<plain/>");
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_write_escapes_text_and_attribute_values)
{
	struct stanza *st = stanza_new(NS_CLIENT, "message");
	stanza_set_attr(st, 0, "id", "a&b<c>d\"e'f\tg\nh\ri");
	stanza_add_child_text(st, 0, NULL, "body", "1 < 2 && 3 > 2 ]]> \"q\" 'a'\tt\nn\rr");
	char *out = written(st, NS_CLIENT);
	/* RFC 6120 §11.1: nothing that maps to a predefined entity goes out
	 * unescaped, in text or in attribute values. */
	ck_assert_str_eq(out, "<message id=\"a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i\">"
	    "<body>1 &lt; 2 &amp;&amp; 3 &gt; 2 ]]&gt; &quot;q&quot; &apos;a&apos;\tt\nn&#13;r"
	    "</body></message>");
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_write_replaces_characters_xml_cannot_carry)
{
	struct stanza *st = stanza_new(NS_CLIENT, "message");
	stanza_add_child_text(st, 0, NULL, "body", "a\x01" "b\xc0\xaf" "c\xed\xa0\x80" "d\xef\xbf\xbf"
	    "e\xe2\x98\xba" "f\xf0\x9f\x98\x80" "g\xe2\x98");
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<message><body>a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
	    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "e\xe2\x98\xba" "f\xf0\x9f\x98\x80" "g\xef\xbf\xbd\xef\xbf\xbd</body></message>");
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_write_keeps_prefixes_and_declares_them_where_needed)
{
	struct stanza *st = stanza_new(NS_STREAMS, "stream:features");
	stanza_add_child(st, 0, "urn:ietf:params:xml:ns:xmpp-tls", "starttls");
	int mechs = stanza_add_child(st, 0, "urn:ietf:params:xml:ns:xmpp-sasl", "mechanisms");
	stanza_add_child_text(st, mechs, NULL, "mechanism", "SCRAM-SHA-256");
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<stream:features>"
	    "<starttls xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"/>"
	    "<mechanisms xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\">"
	    "<mechanism>SCRAM-SHA-256</mechanism></mechanisms></stream:features>");
	free(out);
	out = written(st, NULL);
	ck_assert_str_eq(out, "<stream:features xmlns:stream=\"http://etherx.jabber.org/streams\">"
	    "<starttls xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"/>"
	    "<mechanisms xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\">"
	    "<mechanism>SCRAM-SHA-256</mechanism></mechanisms></stream:features>");
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_write_never_declares_the_xml_prefix)
{
	struct stanza *st = stanza_new(NS_CLIENT, "presence");
	stanza_set_attr_ns(st, 0, NS_XML, "lang", "fr");
	int status = stanza_add_child_text(st, 0, NULL, "status", "parti");
	stanza_set_attr(st, status, "xml:lang", "fr-CA");
	char *out = written(st, NULL);
	ck_assert_str_eq(out, "<presence xmlns=\"jabber:client\" xml:lang=\"fr\">"
	    "<status xml:lang=\"fr-CA\">parti</status></presence>");
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_write_gives_namespaced_attributes_a_prefix)
{
	struct stanza *st = stanza_new(NS_CLIENT, "message");
	stanza_set_attr_ns(st, 0, "urn:a", "x", "1");
	stanza_set_attr_ns(st, 0, "urn:b", "pb:y", "2");
	stanza_set_attr_ns(st, 0, "urn:a", "z", "3");
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<message xmlns:ns0=\"urn:a\" xmlns:pb=\"urn:b\" "
	    "ns0:x=\"1\" pb:y=\"2\" ns0:z=\"3\"/>");
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_write_resolves_contradictory_prefixes)
{
	/* Built trees may ask for the impossible; the output stays correct. */
	struct stanza *st = stanza_new("urn:el", "p:el");
	stanza_set_attr_ns(st, 0, "urn:attr", "p:a", "1");	/* p is urn:el here */
	int child = stanza_add_child(st, 0, "urn:child", "p:c");
	stanza_set_attr_ns(st, child, "urn:el", "p:b", "2");
	char *out = written(st, NULL);
	ck_assert_str_eq(out, "<p:el xmlns:p=\"urn:el\" xmlns:ns0=\"urn:attr\" ns0:a=\"1\">"
	    "<p:c xmlns:p=\"urn:child\" xmlns:ns1=\"urn:el\" ns1:b=\"2\"/></p:el>");
	free(out);
	char err[ERRLEN];
	struct xml_stream *xs = xml_stream_new(NULL, NULL, 0, 0, err, sizeof(err));
	struct stanza *back = stanza_new_empty();
	out = written(st, NULL);
	ck_assert_int_eq(xml_stream_parse_stanza(xs, out, strlen(out), back, err, sizeof(err)), 0);
	free(out);
	ck_assert_str_eq(stanza_get_attr_ns(back, 0, "urn:attr", "a"), "1");
	ck_assert_str_eq(stanza_ns(back, 1), "urn:child");
	ck_assert_str_eq(stanza_get_attr_ns(back, 1, "urn:el", "b"), "2");
	stanza_free(&back);
	xml_stream_free(&xs);
	stanza_free(&st);
}
END_TEST

START_TEST(test_write_never_lets_an_attribute_change_a_namespace)
{
	struct stanza *st = stanza_new(NS_CLIENT, "iq");
	int q = stanza_add_child(st, 0, NULL, "query");
	stanza_set_attr(st, q, "xmlns", "jabber:iq:version");	/* a common mistake */
	stanza_set_attr(st, q, "xmlns:x", "urn:x");
	stanza_add_child(st, q, "urn:y", "xml:bad");		/* reserved prefix */
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<iq><query><bad xmlns=\"urn:y\"/></query></iq>");
	ck_assert_ptr_null(stanza_get_attr(st, q, "xmlns"));
	ck_assert_int_eq(stanza_first_attr(st, q), STANZA_NONE);
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_write_stream_header_and_close)
{
	struct stanza *h = stanza_new_stream_header(NS_CLIENT);
	stanza_set_from(h, "example.com");
	stanza_set_id(h, "abc123");
	stanza_set_attr(h, 0, "version", "1.0");
	stanza_set_attr(h, 0, "xml:lang", "en");
	struct buf b = BUF_INIT;
	stanza_write_stream_header(h, &b);
	stanza_write_stream_close(h, &b);
	buf_append(&b, "", 1);
	ck_assert_str_eq(buf_head(&b), "<?xml version=\"1.0\"?><stream:stream "
	    "xmlns=\"jabber:client\" xmlns:stream=\"http://etherx.jabber.org/streams\" "
	    "from=\"example.com\" id=\"abc123\" version=\"1.0\" xml:lang=\"en\">"
	    "</stream:stream>");
	buf_free(&b);
	stanza_free(&h);

	h = stanza_new_stream_header(NS_SERVER);
	stanza_declare_ns(h, 0, "db", "jabber:server:dialback");
	stanza_write_stream_header(h, &b);
	buf_append(&b, "", 1);
	ck_assert_str_eq(buf_head(&b), "<?xml version=\"1.0\"?><stream:stream "
	    "xmlns=\"jabber:server\" xmlns:stream=\"http://etherx.jabber.org/streams\" "
	    "xmlns:db=\"jabber:server:dialback\">");
	buf_free(&b);
	stanza_free(&h);
}
END_TEST

START_TEST(test_write_stream_header_parses_back)
{
	struct stanza *h = stanza_new_stream_header(NS_COMPONENT_ACCEPT);
	stanza_set_to(h, "muc.example.com");
	struct buf b = BUF_INIT;
	stanza_write_stream_header(h, &b);
	buf_append_str(&b, "<handshake>aaee83c26aeeafcbabeabfcbcd50df997e0a2a1a</handshake>");
	stanza_write_stream_close(h, &b);
	char err[ERRLEN];
	struct stanza *st = NULL;
	struct xml_stream_callbacks cb = { NULL, keep_copy, NULL };
	struct xml_stream *xs = xml_stream_new(&cb, &st, 0, 0, err, sizeof(err));
	ck_assert_int_eq(xml_stream_feed(xs, buf_head(&b), buf_used(&b), err, sizeof(err)),
	    (ssize_t)buf_used(&b));
	ck_assert_str_eq(stanza_ns(st, 0), NS_COMPONENT_ACCEPT);
	xml_stream_free(&xs);
	stanza_free(&st);
	buf_free(&b);
	stanza_free(&h);
}
END_TEST

/* --- round trips ----------------------------------------------------------- */

START_TEST(test_round_trip_message_with_extensions)
{
	assert_round_trip("<message from='juliet@example.com/balcony' "
	    "to='romeo@example.net' type='chat' id='ktx72v49' xml:lang='en'>"
	    "<body>Art thou not Romeo, and a Montague?</body>"
	    "<thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread>"
	    "<active xmlns='http://jabber.org/protocol/chatstates'/>"
	    "<request xmlns='urn:xmpp:receipts'/>"
	    "<x xmlns='jabber:x:oob'><url>http://example.com/a?b=1&amp;c=2</url></x>"
	    "</message>",
	    "<message from=\"juliet@example.com/balcony\" to=\"romeo@example.net\" "
	    "type=\"chat\" id=\"ktx72v49\" xml:lang=\"en\">"
	    "<body>Art thou not Romeo, and a Montague?</body>"
	    "<thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread>"
	    "<active xmlns=\"http://jabber.org/protocol/chatstates\"/>"
	    "<request xmlns=\"urn:xmpp:receipts\"/>"
	    "<x xmlns=\"jabber:x:oob\"><url>http://example.com/a?b=1&amp;c=2</url></x>"
	    "</message>");
}
END_TEST

START_TEST(test_round_trip_presence_with_xml_lang)
{
	assert_round_trip("<presence xml:lang='en'>\n  <show>dnd</show>\n"
	    "  <status>Wooing Juliet</status>\n  <status xml:lang='cs'>Dvo&#x0159;&#xED;m se "
	    "Julii</status>\n  <priority>1</priority>\n  <c xmlns='http://jabber.org/protocol/caps' "
	    "hash='sha-1' node='http://psi-im.org' ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/>\n"
	    "</presence>",
	    "<presence xml:lang=\"en\">\n  <show>dnd</show>\n"
	    "  <status>Wooing Juliet</status>\n  <status xml:lang=\"cs\">Dvo\xc5\x99\xc3\xadm se "
	    "Julii</status>\n  <priority>1</priority>\n  <c xmlns=\"http://jabber.org/protocol/caps\" "
	    "hash=\"sha-1\" node=\"http://psi-im.org\" ver=\"q07IKJEyjvHSyhy//CH0CxmKi8w=\"/>\n"
	    "</presence>");
}
END_TEST

START_TEST(test_round_trip_iq_with_nested_query)
{
	assert_round_trip("<iq type='set' id='push1'><query xmlns='jabber:iq:roster' ver='v2'>"
	    "<item jid='nurse@example.com' name='Nurse' subscription='both'>"
	    "<group>Servants</group><group>Capulets</group></item>"
	    "<item jid='benvolio@example.net' subscription='remove'/></query></iq>",
	    "<iq type=\"set\" id=\"push1\"><query xmlns=\"jabber:iq:roster\" ver=\"v2\">"
	    "<item jid=\"nurse@example.com\" name=\"Nurse\" subscription=\"both\">"
	    "<group>Servants</group><group>Capulets</group></item>"
	    "<item jid=\"benvolio@example.net\" subscription=\"remove\"/></query></iq>");
	assert_round_trip("<iq type='set' id='pub1'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
	    "<publish node='urn:xmpp:avatar:metadata'><item id='111f4b3c'>"
	    "<metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='12345' height='64' "
	    "id='111f4b3c' type='image/png' width='64'/></metadata></item></publish>"
	    "</pubsub></iq>", NULL);
}
END_TEST

START_TEST(test_round_trip_prefixed_elements)
{
	/* Stream-level prefixes from the header, and prefixes declared inside. */
	assert_round_trip("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
	    "</stream:error>",
	    "<stream:error><conflict xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"/>"
	    "</stream:error>");
	assert_round_trip("<message xmlns:ev='http://jabber.org/protocol/pubsub#event'>"
	    "<ev:event><ev:items node='n'><ev:item id='1'><entry xmlns='http://www.w3.org/2005/Atom'>"
	    "<title>t</title></entry></ev:item></ev:items></ev:event></message>",
	    "<message xmlns:ev=\"http://jabber.org/protocol/pubsub#event\">"
	    "<ev:event><ev:items node=\"n\"><ev:item id=\"1\"><entry xmlns=\"http://www.w3.org/2005/Atom\">"
	    "<title>t</title></entry></ev:item></ev:items></ev:event></message>");
	/* s2s: db: is declared on the peer's header only. */
	char *out = round_trip("<stream:stream xmlns='jabber:server' "
	    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback'>",
	    "<db:result from='example.org' to='example.com'>b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3</db:result>",
	    NS_SERVER);
	ck_assert_str_eq(out, "<db:result xmlns:db=\"jabber:server:dialback\" from=\"example.org\" "
	    "to=\"example.com\">b4835385f37fe2895af6c196b59097b16862406db80559900d96bf6fa7d23df3"
	    "</db:result>");
	free(out);
}
END_TEST

START_TEST(test_round_trip_escaped_text)
{
	assert_round_trip("<message id='&lt;&amp;&gt;&quot;&apos;&#9;&#10;&#13;'>"
	    "<body>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;amp; ]]&gt; &#13;\n"
	    "<![CDATA[<b>not bold</b>]]></body></message>",
	    "<message id=\"&lt;&amp;&gt;&quot;&apos;&#9;&#10;&#13;\">"
	    "<body>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;amp; ]]&gt; &#13;\n"
	    "&lt;b&gt;not bold&lt;/b&gt;</body></message>");
	/* Literal whitespace in attributes is normalized to spaces by XML. */
	struct stanza *st = parse_in_stream(C2S_HEADER, "<message id='a\tb\nc'/>");
	ck_assert_str_eq(stanza_id(st), "a b c");
	stanza_free(&st);
}
END_TEST

START_TEST(test_round_trip_non_ascii_utf8)
{
	assert_round_trip("<message to='\xe5\x8f\xb2\xe5\x8a\xaa\xe6\xaf\x94@example.com'>"
	    "<body xml:lang='ja'>\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf "
	    "\xf0\x9f\x91\x8b \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2"
	    "\xd0\xb5\xd1\x82</body>"
	    "<nick xmlns='http://jabber.org/protocol/nick'>Z\xc3\xbc" "rich</nick></message>",
	    "<message to=\"\xe5\x8f\xb2\xe5\x8a\xaa\xe6\xaf\x94@example.com\">"
	    "<body xml:lang=\"ja\">\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf "
	    "\xf0\x9f\x91\x8b \xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2"
	    "\xd0\xb5\xd1\x82</body>"
	    "<nick xmlns=\"http://jabber.org/protocol/nick\">Z\xc3\xbc" "rich</nick></message>");
}
END_TEST

START_TEST(test_round_trip_other_content_namespace_and_no_namespace)
{
	/* A stanza in jabber:server written into a c2s stream, and a stream
	 * without a content namespace at all. */
	char *out = round_trip("<stream:stream xmlns='jabber:server' "
	    "xmlns:stream='http://etherx.jabber.org/streams'>",
	    "<message><body>x</body></message>", NS_CLIENT);
	ck_assert_str_eq(out, "<message xmlns=\"jabber:server\"><body>x</body></message>");
	free(out);
	out = round_trip("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
	    "<message><body>x</body></message>", NS_CLIENT);
	ck_assert_str_eq(out, "<message xmlns=\"\"><body>x</body></message>");
	free(out);
}
END_TEST

START_TEST(test_write_grows_each_byte_at_most_max_growth)
{
	/* Every byte value, 64 times, as text and as an attribute value. */
	for (int c = 1; c < 256; c++) {
		char run[65];
		memset(run, c, 64);
		run[64] = '\0';
		struct stanza *st = stanza_new(NS_CLIENT, "a");
		stanza_set_attr(st, 0, "b", run);
		stanza_add_text(st, 0, run);
		char *out = written(st, NS_CLIENT);
		/* <a b="">…</a> is 12 bytes of markup around 128 bytes of content. */
		ck_assert_msg(strlen(out) <= 12 + STANZA_WRITE_MAX_GROWTH * 128, "byte %d: %zu",
		    c, strlen(out));
		free(out);
		stanza_free(&st);
	}
}
END_TEST

START_TEST(test_write_declares_inherited_prefix_once_on_the_top_element)
{
	/* p: is bound on the stream header only; each use must not carry its
	 * own declaration (a long URI made that a 2500-fold blow-up). */
	char *out = round_trip("<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:p='urn:p'>",
	    "<message><p:x/><p:x p:a='1'/><y><p:z/></y></message>", NS_CLIENT);
	ck_assert_str_eq(out, "<message xmlns:p=\"urn:p\"><p:x/><p:x p:a=\"1\"/><y><p:z/></y>"
	    "</message>");
	free(out);
	/* The same from an s2s header with two prefixes, one used by the
	 * stanza itself (declared there as before), one inside it. */
	out = round_trip("<stream:stream xmlns='jabber:server' "
	    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
	    "xmlns:q='urn:q'>", "<db:result from='a' to='b'><q:x/><q:x/></db:result>", NS_SERVER);
	ck_assert_str_eq(out, "<db:result xmlns:db=\"jabber:server:dialback\" xmlns:q=\"urn:q\" "
	    "from=\"a\" to=\"b\"><q:x/><q:x/></db:result>");
	free(out);
}
END_TEST

START_TEST(test_write_node_declares_ancestor_prefixes_once)
{
	struct stanza *st = parse_in_stream(C2S_HEADER,
	    "<message xmlns:p='urn:p'><q><p:x/><p:x/></q></message>");
	int q = stanza_find_child(st, 0, NULL, "q");
	struct buf b = BUF_INIT;
	stanza_write_node(st, q, &b, NULL);
	buf_append(&b, "", 1);
	ck_assert_str_eq(buf_head(&b), "<q xmlns=\"jabber:client\" xmlns:p=\"urn:p\"><p:x/><p:x/></q>");
	buf_free(&b);
	/* Imported elsewhere, the subtree has lost its ancestors' bindings too. */
	struct stanza *fwd = stanza_new("urn:xmpp:forward:0", "forwarded");
	stanza_import(fwd, 0, st, q);
	char *out = written(fwd, NULL);
	ck_assert_str_eq(out, "<forwarded xmlns=\"urn:xmpp:forward:0\" xmlns:p=\"urn:p\">"
	    "<q xmlns=\"jabber:client\"><p:x/><p:x/></q></forwarded>");
	free(out);
	stanza_free(&fwd);
	stanza_free(&st);
}
END_TEST

START_TEST(test_write_does_not_hoist_a_prefix_the_top_element_uses)
{
	/* stream: means the streams namespace on the top element and something
	 * else below it: the inner binding stays inner, the tag stays valid. */
	struct stanza *st = stanza_new(NS_STREAMS, "stream:features");
	stanza_add_child(st, 0, "urn:other", "stream:x");
	stanza_add_child(st, 0, "urn:other", "stream:x");
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<stream:features><stream:x xmlns:stream=\"urn:other\"/>"
	    "<stream:x xmlns:stream=\"urn:other\"/></stream:features>");
	free(out);
	out = written(st, NULL);
	char err[ERRLEN];
	struct xml_stream *xs = xml_stream_new(NULL, NULL, 0, 0, err, sizeof(err));
	struct stanza *back = stanza_new_empty();
	ck_assert_msg(xml_stream_parse_stanza(xs, out, strlen(out), back, err, sizeof(err)) == 0,
	    "%s: %s", err, out);
	ck_assert(stanza_equal(st, back));
	free(out);
	stanza_free(&back);
	xml_stream_free(&xs);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_interns_many_namespaces_in_linear_time)
{
	/* Server code may build a tree with any number of namespaces; looking
	 * each up must not scan all the others (20000² compares took seconds). */
	enum { N = 20000 };
	struct stanza *st = stanza_new(NS_CLIENT, "iq");
	char ns[32];
	clock_t t0 = clock();
	for (int i = 0; i < N; i++) {
		snprintf(ns, sizeof(ns), "urn:%d", i);
		stanza_add_child(st, 0, ns, "q");
	}
	for (int i = 0; i < N; i++) {
		snprintf(ns, sizeof(ns), "urn:%d", i);
		stanza_add_child(st, 0, ns, "r");
	}
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	int i = 0;
	for (int c = stanza_first_element(st, 0); c != STANZA_NONE; c = stanza_next_element(st, c)) {
		snprintf(ns, sizeof(ns), "urn:%d", i++ % N);
		ck_assert_str_eq(stanza_ns(st, c), ns);
	}
	ck_assert_int_eq(i, 2 * N);
	ck_assert_msg(secs < 0.5, "%.3f s", secs);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_text_with_nul_stores_replacement_character)
{
	/* XML cannot carry NUL; the tree stores U+FFFD, as the serializer
	 * would write it, so stanza_text() is always the whole text. */
	struct stanza *st = stanza_new(NS_CLIENT, "message");
	int body = stanza_add_child(st, 0, NULL, "body");
	stanza_add_text_len(st, body, "x\0y", 3);
	ck_assert_uint_eq(stanza_text_len(st, body), 5);
	ck_assert_mem_eq(stanza_text(st, body), "x\xef\xbf\xbdy", 6);
	char *out = written(st, NS_CLIENT);
	ck_assert_str_eq(out, "<message><body>x\xef\xbf\xbdy</body></message>");
	free(out);
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_add_text_copies_from_its_own_tree_exactly)
{
	struct stanza *st = stanza_new(NS_CLIENT, "message");
	int a = stanza_add_child(st, 0, NULL, "a"), b = stanza_add_child(st, 0, NULL, "b");
	int c = stanza_add_child(st, 0, NULL, "c");
	stanza_add_text_len(st, a, "x\0yyyyyyyyyyyyyyyy", 18);
	stanza_add_text_len(st, b, stanza_text(st, a), stanza_text_len(st, a));
	ck_assert_uint_eq(stanza_text_len(st, b), stanza_text_len(st, a));
	ck_assert_mem_eq(stanza_text(st, b), stanza_text(st, a), stanza_text_len(st, a) + 1);
	/* Part of a text, from the same tree. */
	stanza_add_text_len(st, c, stanza_text(st, a) + 4, 3);
	ck_assert_str_eq(stanza_text(st, c), "yyy");
	stanza_free(&st);
}
END_TEST

START_TEST(test_stanza_element_costs_at_most_32_bytes)
{
	struct stanza *st = stanza_new(NS_CLIENT, "a");
	for (int i = 1; i < 1024; i++)
		stanza_add_child(st, 0, NULL, "a");
	/* 1024 nodes; names "a\0" in a 4 KiB character buffer. */
	ck_assert_uint_le(stanza_allocated(st), 1024 * 32 + 4096 + 256);
	stanza_free(&st);
}
END_TEST

static int count_str(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

START_TEST(test_write_many_prefixes_are_each_declared_once)
{
	/* More bindings than the writer scans linearly: 40 prefixes on the
	 * stanza, one of them rebound in a child and in force again after it. */
	struct buf in = BUF_INIT;
	buf_append_str(&in, "<message");
	for (int i = 0; i < 40; i++)
		buf_appendf(&in, " xmlns:p%d='urn:u%d'", i, i);
	buf_append_str(&in, "><a xmlns:p5='urn:v5'><p5:x p0:y='1'/></a>");
	for (int i = 0; i < 40; i++)
		buf_appendf(&in, "<p%d:x/><p%d:x/>", i, i);
	buf_append_str(&in, "</message>");
	buf_append(&in, "", 1);
	char *out = round_trip(C2S_HEADER, buf_head(&in), NS_CLIENT);
	ck_assert_int_eq(count_str(out, "xmlns:"), 41);
	struct stanza *st = parse_in_stream(C2S_HEADER, out);
	int a = stanza_find_child(st, 0, NULL, "a");
	ck_assert_str_eq(stanza_ns(st, stanza_first_element(st, a)), "urn:v5");
	ck_assert_int_eq(stanza_find_child(st, 0, "urn:u5", "x"), stanza_next_element(st, a) + 10);
	stanza_free(&st);
	free(out);

	/* 40 prefixes bound on the stream header only, each used twice. */
	buf_reset(&in);
	buf_append_str(&in, "<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams'");
	for (int i = 0; i < 40; i++)
		buf_appendf(&in, " xmlns:p%d='urn:u%d'", i, i);
	buf_append_str(&in, ">");
	buf_append(&in, "", 1);
	char *header = xstrdup(buf_head(&in));
	buf_reset(&in);
	buf_append_str(&in, "<message>");
	for (int i = 0; i < 40; i++)
		buf_appendf(&in, "<p%d:x p%d:y='1'/><q><p%d:x/></q>", i, (i + 1) % 40, i);
	buf_append_str(&in, "</message>");
	buf_append(&in, "", 1);
	out = round_trip(header, buf_head(&in), NS_CLIENT);
	ck_assert_int_eq(count_str(out, "xmlns:"), 40);
	const char *start = "<message xmlns:p0=\"urn:u0\" xmlns:p1=\"urn:u1\" ";
	ck_assert_int_eq(strncmp(out, start, strlen(start)), 0);
	free(out);
	free(header);
	buf_free(&in);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("stanza");
	TCase *tc = tcase_create("tree");
	tcase_add_test(tc, test_stanza_built_tree_reads_back);
	tcase_add_test(tc, test_stanza_find_child_matches_namespace);
	tcase_add_test(tc, test_stanza_repeated_children_are_walked_in_order);
	tcase_add_test(tc, test_stanza_missing_nodes_chain_to_none);
	tcase_add_test(tc, test_stanza_attributes_by_namespace);
	tcase_add_test(tc, test_stanza_set_attr_replaces_in_place_and_removes);
	tcase_add_test(tc, test_stanza_setters_accept_values_from_the_same_tree);
	tcase_add_test(tc, test_stanza_adjacent_text_merges_into_one_node);
	tcase_add_test(tc, test_stanza_mixed_content_keeps_its_order);
	tcase_add_test(tc, test_stanza_remove_detaches_and_merges_text);
	tcase_add_test(tc, test_stanza_copy_is_equal_and_independent);
	tcase_add_test(tc, test_stanza_import_copies_a_subtree);
	tcase_add_test(tc, test_stanza_clear_keeps_memory);
	tcase_add_test(tc, test_stanza_interns_many_namespaces_in_linear_time);
	tcase_add_test(tc, test_stanza_text_with_nul_stores_replacement_character);
	tcase_add_test(tc, test_stanza_add_text_copies_from_its_own_tree_exactly);
	tcase_add_test(tc, test_stanza_element_costs_at_most_32_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_stanza_error_reply_swaps_addresses_and_appends_condition);
	tcase_add_test(tc, test_stanza_error_reply_with_text_and_missing_to);
	tcase_add_test(tc, test_stanza_error_reply_refuses_an_error);
	tcase_add_test(tc, test_stanza_stream_error_is_written_with_stream_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_add_test(tc, test_write_omits_the_stream_content_namespace);
	tcase_add_test(tc, test_write_declares_other_namespaces_once);
	tcase_add_test(tc, test_write_undeclares_default_for_no_namespace);
	tcase_add_test(tc, test_write_escapes_text_and_attribute_values);
	tcase_add_test(tc, test_write_grows_each_byte_at_most_max_growth);
	tcase_add_test(tc, test_write_declares_inherited_prefix_once_on_the_top_element);
	tcase_add_test(tc, test_write_node_declares_ancestor_prefixes_once);
	tcase_add_test(tc, test_write_does_not_hoist_a_prefix_the_top_element_uses);
	tcase_add_test(tc, test_write_many_prefixes_are_each_declared_once);
	tcase_add_test(tc, test_write_replaces_characters_xml_cannot_carry);
	tcase_add_test(tc, test_write_keeps_prefixes_and_declares_them_where_needed);
	tcase_add_test(tc, test_write_never_declares_the_xml_prefix);
	tcase_add_test(tc, test_write_gives_namespaced_attributes_a_prefix);
	tcase_add_test(tc, test_write_resolves_contradictory_prefixes);
	tcase_add_test(tc, test_write_never_lets_an_attribute_change_a_namespace);
	tcase_add_test(tc, test_write_stream_header_and_close);
	tcase_add_test(tc, test_write_stream_header_parses_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("round trip");
	tcase_add_test(tc, test_round_trip_message_with_extensions);
	tcase_add_test(tc, test_round_trip_presence_with_xml_lang);
	tcase_add_test(tc, test_round_trip_iq_with_nested_query);
	tcase_add_test(tc, test_round_trip_prefixed_elements);
	tcase_add_test(tc, test_round_trip_escaped_text);
	tcase_add_test(tc, test_round_trip_non_ascii_utf8);
	tcase_add_test(tc, test_round_trip_other_content_namespace_and_no_namespace);
	suite_add_tcase(s, tc);
	return s;
}
