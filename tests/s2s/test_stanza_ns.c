/*
 * test_stanza_ns.c — a stanza between stream namespaces: jabber:server on
 * the wire of s2s becomes jabber:client inside the suite and back, with
 * payload namespaces, prefixes, attributes and text kept.
 */
#include <stdlib.h>
#include <string.h>

#include "stanza.h"
#include "unit.h"
#include "xml_stream.h"

static struct stanza *parse(const char *xml)
{
	char err[ERRLEN];
	struct xml_stream *xs = xml_stream_new(NULL, NULL, 0, 0, err, sizeof(err));
	struct stanza *st = stanza_new_empty();

	ck_assert_ptr_nonnull(xs);
	ck_assert_int_eq(xml_stream_parse_stanza(xs, xml, strlen(xml), st, err, sizeof(err)), 0);
	xml_stream_free(&xs);
	return st;
}

static char *write_standalone(const struct stanza *st)
{
	struct buf b = BUF_INIT;
	stanza_write(st, &b, NULL);
	char *s = xstrdup(buf_head(&b));
	buf_free(&b);
	return s;
}

static struct stanza *translate(const struct stanza *src, const char *ns)
{
	struct stanza *dst = stanza_new_empty();
	struct buf q = BUF_INIT;

	stanza_translate_ns(dst, STANZA_NONE, src, stanza_root(src), ns, &q);
	buf_free(&q);
	return dst;
}

START_TEST(test_server_message_becomes_client_message_and_back)
{
	const char *wire = "<message xmlns='jabber:server' from='bob@b.test/r' to='alice@a.test' "
	    "type='chat' id='m1' xml:lang='en'><body>hi &amp; bye</body>"
	    "<x:data xmlns:x='urn:example:x' x:a='1'>t</x:data></message>";
	struct stanza *srv = parse(wire);
	struct stanza *cli = translate(srv, NS_CLIENT);

	ck_assert(stanza_is(cli, 0, NS_CLIENT, "message"));
	ck_assert(stanza_find_child(cli, 0, NS_CLIENT, "body") != STANZA_NONE);
	ck_assert_str_eq(stanza_text(cli, stanza_find_child(cli, 0, NS_CLIENT, "body")),
	    "hi & bye");
	ck_assert_str_eq(stanza_from(cli), "bob@b.test/r");
	ck_assert_str_eq(stanza_get_attr(cli, 0, "xml:lang"), "en");
	int x = stanza_find_child(cli, 0, "urn:example:x", "data");
	ck_assert(x != STANZA_NONE);
	ck_assert_str_eq(stanza_get_attr_ns(cli, x, "urn:example:x", "a"), "1");

	struct stanza *back = translate(cli, NS_SERVER);
	ck_assert(stanza_equal(back, srv));
	char *s = write_standalone(cli);
	ck_assert(strstr(s, "jabber:server") == NULL);
	free(s);
	stanza_free(&back);
	stanza_free(&cli);
	stanza_free(&srv);
}
END_TEST

START_TEST(test_nested_content_namespace_is_translated_too)
{
	/* A forwarded stanza (XEP-0297) carries a jabber:client message. */
	struct stanza *cli = parse("<message xmlns='jabber:client' to='bob@b.test'>"
	    "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' "
	    "from='c@a.test'><body>x</body></message></forwarded></message>");
	struct stanza *srv = translate(cli, NS_SERVER);
	int fwd = stanza_find_child(srv, 0, "urn:xmpp:forward:0", "forwarded");

	ck_assert(fwd != STANZA_NONE);
	ck_assert(stanza_find_child(srv, fwd, NS_SERVER, "message") != STANZA_NONE);
	stanza_free(&srv);
	stanza_free(&cli);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("stanza_ns");
	TCase *tc = tcase_create("translate");

	tcase_add_test(tc, test_server_message_becomes_client_message_and_back);
	tcase_add_test(tc, test_nested_content_namespace_is_translated_too);
	suite_add_tcase(s, tc);
	return s;
}
