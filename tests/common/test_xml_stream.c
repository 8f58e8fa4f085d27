/*
 * test_xml_stream.c — the XMPP stream parser: events for good input, and
 * for each kind of bad input the exact stream error condition (RFC 6120
 * §4.9.3, §11). Each rejection rule has its own test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stanza.h"
#include "unit.h"
#include "xml_stream.h"

#define HEADER "<?xml version='1.0'?><stream:stream to='example.com' " \
	"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' " \
	"version='1.0' xml:lang='en'>"
/* For tight limits: the stream header is held to the stanza limit too. */
#define SHORT_HEADER "<stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams'>"
#define MESSAGE "<message to='juliet@example.com' id='m1' type='chat'>" \
	"<body>Art thou not Romeo?</body></message>"

/* What the callbacks saw. */
struct events {
	struct xml_stream *xs;
	int opens, stanzas, closes;
	char to[64], version[16], lang[16], content_ns[64], prefix[16];
	bool has_from;
	struct buf written;		/* each stanza, standalone, one per line */
	struct stanza *last;		/* copy of the last stanza */
	const struct stanza *tree;	/* the parser's tree, by address */
	size_t tree_allocated;
	bool pause_on_stanza;
	bool take;
	struct stanza *taken;
};

static void copy_str(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "(null)");
}

static void ev_open(void *arg, const struct xml_stream_header *h)
{
	struct events *ev = arg;
	ev->opens++;
	copy_str(ev->to, sizeof(ev->to), h->to);
	copy_str(ev->version, sizeof(ev->version), h->version);
	copy_str(ev->lang, sizeof(ev->lang), h->lang);
	copy_str(ev->content_ns, sizeof(ev->content_ns), h->content_ns);
	copy_str(ev->prefix, sizeof(ev->prefix), h->prefix);
	ev->has_from = h->from != NULL;
}

static void ev_stanza(void *arg, struct stanza *st)
{
	struct events *ev = arg;
	ev->stanzas++;
	stanza_write(st, &ev->written, NULL);
	buf_append(&ev->written, "\n", 1);
	stanza_free(&ev->last);
	ev->last = stanza_copy(st);
	ev->tree = st;
	ev->tree_allocated = stanza_allocated(st);
	if (ev->take) {
		stanza_free(&ev->taken);
		ev->taken = xml_stream_take_stanza(ev->xs);
		ev->take = false;
	}
	if (ev->pause_on_stanza)
		xml_stream_pause(ev->xs);
}

static void ev_close(void *arg)
{
	struct events *ev = arg;
	ev->closes++;
}

static const struct xml_stream_callbacks callbacks = { ev_open, ev_stanza, ev_close };

static void events_init(struct events *ev, size_t max_stanza, unsigned max_depth)
{
	char err[ERRLEN];
	memset(ev, 0, sizeof(*ev));
	buf_init(&ev->written);
	ev->xs = xml_stream_new(&callbacks, ev, max_stanza, max_depth, err, sizeof(err));
	ck_assert_msg(ev->xs != NULL, "%s", err);
}

static void events_free(struct events *ev)
{
	xml_stream_free(&ev->xs);
	ck_assert_ptr_null(ev->xs);
	stanza_free(&ev->last);
	stanza_free(&ev->taken);
	buf_free(&ev->written);
}

/* Feed s in pieces of `chunk` bytes (0: all at once); the stream error. */
static enum xml_stream_error feed(struct events *ev, const char *s, size_t len, size_t chunk)
{
	char err[ERRLEN];
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t r = xml_stream_feed(ev->xs, s + off, n, err, sizeof(err));
		if (r < 0) {
			ck_assert_int_ne(xml_stream_error(ev->xs), XML_STREAM_OK);
			ck_assert_ptr_nonnull(strstr(err,
			    xml_stream_condition(xml_stream_error(ev->xs))));
			return xml_stream_error(ev->xs);
		}
		ck_assert_int_eq((size_t)r, n);
	}
	return XML_STREAM_OK;
}

static enum xml_stream_error feed_str(struct events *ev, const char *s)
{
	return feed(ev, s, strlen(s), 0);
}

/* Run a whole input through a fresh parser with default limits. */
static enum xml_stream_error parse_input(const char *s, size_t len)
{
	struct events ev;
	events_init(&ev, 0, 0);
	enum xml_stream_error e = feed(&ev, s, len, 0);
	events_free(&ev);
	return e;
}

static enum xml_stream_error parse_str(const char *s)
{
	return parse_input(s, strlen(s));
}

/* --- good input ------------------------------------------------------------ */

START_TEST(test_parser_reports_stream_open_attributes)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER), XML_STREAM_OK);
	ck_assert_int_eq(ev.opens, 1);
	ck_assert_str_eq(ev.to, "example.com");
	ck_assert_str_eq(ev.version, "1.0");
	ck_assert_str_eq(ev.lang, "en");
	ck_assert_str_eq(ev.content_ns, "jabber:client");
	ck_assert_str_eq(ev.prefix, "stream");
	ck_assert(!ev.has_from);
	ck_assert_int_eq(ev.stanzas, 0);
	events_free(&ev);
}
END_TEST

static const char *seen_db_uri;

static void open_checks_dialback(void *arg, const struct xml_stream_header *h)
{
	(void)arg;
	seen_db_uri = stanza_find_decl(h->element, 0, "db");
	seen_db_uri = seen_db_uri ? strdup(seen_db_uri) : NULL;
}

START_TEST(test_parser_header_exposes_other_namespace_declarations)
{
	struct xml_stream_callbacks cb = { open_checks_dialback, NULL, NULL };
	char err[ERRLEN];
	struct xml_stream *xs = xml_stream_new(&cb, NULL, 0, 0, err, sizeof(err));
	const char *s = "<stream:stream xmlns='jabber:server' "
	    "xmlns:stream='http://etherx.jabber.org/streams' "
	    "xmlns:db='jabber:server:dialback' to='example.net'>";
	ck_assert_int_eq(xml_stream_feed(xs, s, strlen(s), err, sizeof(err)), (ssize_t)strlen(s));
	ck_assert_str_eq(seen_db_uri, "jabber:server:dialback");
	free((char *)seen_db_uri);
	xml_stream_free(&xs);
}
END_TEST

START_TEST(test_parser_delivers_stanza_in_content_namespace)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER MESSAGE), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 1);
	struct stanza *st = ev.last;
	ck_assert_str_eq(stanza_name(st, 0), "message");
	ck_assert_str_eq(stanza_ns(st, 0), NS_CLIENT);
	ck_assert_str_eq(stanza_to(st), "juliet@example.com");
	ck_assert_str_eq(stanza_type(st), "chat");
	int body = stanza_find_child(st, 0, NS_CLIENT, "body");
	ck_assert_int_ne(body, STANZA_NONE);
	ck_assert_str_eq(stanza_text(st, body), "Art thou not Romeo?");
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_delivers_several_stanzas_in_one_feed)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER "<presence/>" MESSAGE
	    "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>"), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 3);
	ck_assert_str_eq(buf_head(&ev.written),
	    "<presence xmlns=\"jabber:client\"/>\n"
	    "<message xmlns=\"jabber:client\" to=\"juliet@example.com\" id=\"m1\" type=\"chat\">"
	    "<body>Art thou not Romeo?</body></message>\n"
	    "<iq xmlns=\"jabber:client\" type=\"get\" id=\"p1\"><ping xmlns=\"urn:xmpp:ping\"/></iq>\n");
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_byte_by_byte_gives_same_tree)
{
	const char *in = HEADER "<message xmlns:x='urn:x' id='a&amp;b'>"
	    "<body>caf\xc3\xa9 &lt;&#x263A;&gt;</body><x:y x:z='1'>t<![CDATA[<raw>]]></x:y>"
	    "</message>  <presence/>";
	struct events whole, bytes;
	events_init(&whole, 0, 0);
	events_init(&bytes, 0, 0);
	ck_assert_int_eq(feed(&whole, in, strlen(in), 0), XML_STREAM_OK);
	ck_assert_int_eq(feed(&bytes, in, strlen(in), 1), XML_STREAM_OK);
	ck_assert_int_eq(whole.stanzas, 2);
	ck_assert_int_eq(bytes.stanzas, 2);
	ck_assert_str_eq(buf_head(&whole.written), buf_head(&bytes.written));
	/* The message's own declaration first, then the one it inherited. */
	ck_assert_str_eq(buf_head(&whole.written),
	    "<message xmlns:x=\"urn:x\" xmlns=\"jabber:client\" id=\"a&amp;b\">"
	    "<body>caf\xc3\xa9 &lt;\xe2\x98\xba&gt;</body><x:y x:z=\"1\">t&lt;raw&gt;</x:y>"
	    "</message>\n<presence xmlns=\"jabber:client\"/>\n");
	events_free(&whole);
	events_free(&bytes);
}
END_TEST

START_TEST(test_parser_delivers_stanza_when_its_last_bytes_arrive_alone)
{
	/* A long start tag split so the second part is small: expat's reparse
	 * deferral would hold the stanza back until more bytes came. */
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER), XML_STREAM_OK);
	char tag[2100];
	memcpy(tag, "<message id='", 13);
	memset(tag + 13, 'x', 2000);
	strcpy(tag + 2013, "'/>");
	ck_assert_int_eq(feed(&ev, tag, 2010, 0), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 0);
	ck_assert_int_eq(feed(&ev, tag + 2010, strlen(tag) - 2010, 0), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 1);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_reports_stream_close)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER MESSAGE "</stream:stream>"), XML_STREAM_OK);
	ck_assert_int_eq(ev.opens, 1);
	ck_assert_int_eq(ev.stanzas, 1);
	ck_assert_int_eq(ev.closes, 1);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_accepts_whitespace_keepalives)
{
	struct events ev;
	events_init(&ev, 100, 0);
	/* Far more whitespace than the stanza limit, across feeds. */
	ck_assert_int_eq(feed_str(&ev, SHORT_HEADER), XML_STREAM_OK);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(feed_str(&ev, " \n\t \r\n "), XML_STREAM_OK);
	ck_assert_int_eq(feed_str(&ev, "<presence/> "), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 1);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_accepts_predefined_and_character_references)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER "<message id='&quot;&apos;'><body>"
	    "&amp;&lt;&gt;&apos;&quot;&#65;&#x42;&#x1F600;</body></message>"), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 1);
	ck_assert_str_eq(stanza_id(ev.last), "\"'");
	ck_assert_str_eq(stanza_text(ev.last, stanza_find_child(ev.last, 0, NULL, "body")),
	    "&<>'\"AB\xf0\x9f\x98\x80");
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_accepts_xml_declaration_with_utf8_encoding)
{
	ck_assert_int_eq(parse_str("<?xml version='1.0' encoding='utf-8'?>"
	    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"), XML_STREAM_OK);
}
END_TEST

START_TEST(test_parser_accepts_cdata_as_text)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER "<message><body>a<![CDATA[<&>]]>b</body></message>"),
	    XML_STREAM_OK);
	ck_assert_str_eq(stanza_text(ev.last, stanza_find_child(ev.last, 0, NULL, "body")),
	    "a<&>b");
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_accepts_stanza_of_exactly_the_limit)
{
	const char *st = "<message><body>0123456789012345678901234567890123456789"
	    "01234567890123456789012345678901234567890123456789</body></message>";
	struct events ev;
	events_init(&ev, strlen(st), 0);
	ck_assert_int_eq(feed_str(&ev, SHORT_HEADER), XML_STREAM_OK);
	ck_assert_int_eq(feed(&ev, st, strlen(st), 1), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 1);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_accepts_stanza_of_exactly_max_depth)
{
	struct events ev;
	events_init(&ev, 0, 3);
	ck_assert_int_eq(feed_str(&ev, HEADER "<iq><a><b/></a></iq>"), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 1);
	events_free(&ev);
}
END_TEST

/* --- restricted XML (RFC 6120 §11.1) --------------------------------------- */

START_TEST(test_parser_rejects_doctype)
{
	ck_assert_int_eq(parse_str("<?xml version='1.0'?><!DOCTYPE stream:stream>"
	    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"),
	    XML_STREAM_RESTRICTED_XML);
}
END_TEST

START_TEST(test_parser_rejects_internal_subset)
{
	ck_assert_int_eq(parse_str("<!DOCTYPE stream [ <!ELEMENT stream ANY> ]>"
	    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"),
	    XML_STREAM_RESTRICTED_XML);
}
END_TEST

START_TEST(test_parser_rejects_entity_declaration)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed(&ev, "<!DOCTYPE s [<!ENTITY x 'y'>]>", 30, 1),
	    XML_STREAM_RESTRICTED_XML);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_rejects_billion_laughs)
{
	ck_assert_int_eq(parse_str("<?xml version='1.0'?><!DOCTYPE lolz ["
	    "<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;'>"
	    "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>]>"
	    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"
	    "<message>&lol3;</message>"), XML_STREAM_RESTRICTED_XML);
}
END_TEST

START_TEST(test_parser_rejects_undefined_entity_reference)
{
	ck_assert_int_eq(parse_str(HEADER "<message><body>&foo;</body></message>"),
	    XML_STREAM_RESTRICTED_XML);
}
END_TEST

START_TEST(test_parser_rejects_entity_reference_in_attribute)
{
	ck_assert_int_eq(parse_str(HEADER "<message id='&nbsp;'/>"), XML_STREAM_RESTRICTED_XML);
}
END_TEST

START_TEST(test_parser_rejects_processing_instruction_mid_stream)
{
	ck_assert_int_eq(parse_str(HEADER "<message><?php echo 1; ?></message>"),
	    XML_STREAM_RESTRICTED_XML);
	ck_assert_int_eq(parse_str(HEADER "<?pi?>"), XML_STREAM_RESTRICTED_XML);
}
END_TEST

START_TEST(test_parser_rejects_processing_instruction_before_stream)
{
	ck_assert_int_eq(parse_str("<?xml version='1.0'?><?xml-stylesheet href='a'?>"
	    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"),
	    XML_STREAM_RESTRICTED_XML);
}
END_TEST

START_TEST(test_parser_rejects_comment)
{
	ck_assert_int_eq(parse_str(HEADER "<message><!-- hi --></message>"),
	    XML_STREAM_RESTRICTED_XML);
	ck_assert_int_eq(parse_str("<!-- before -->" HEADER), XML_STREAM_RESTRICTED_XML);
}
END_TEST

/* --- not well-formed ------------------------------------------------------- */

START_TEST(test_parser_rejects_overlong_utf8)
{
	/* '/' as the two-byte overlong form C0 AF. */
	ck_assert_int_eq(parse_str(HEADER "<message><body>\xc0\xaf</body></message>"),
	    XML_STREAM_NOT_WELL_FORMED);
	/* NUL as E0 80 80. */
	ck_assert_int_eq(parse_str(HEADER "<message><body>\xe0\x80\x80</body></message>"),
	    XML_STREAM_NOT_WELL_FORMED);
}
END_TEST

START_TEST(test_parser_rejects_lone_continuation_byte)
{
	ck_assert_int_eq(parse_str(HEADER "<message><body>a\x80z</body></message>"),
	    XML_STREAM_NOT_WELL_FORMED);
}
END_TEST

START_TEST(test_parser_rejects_utf8_encoded_surrogate)
{
	ck_assert_int_eq(parse_str(HEADER "<message><body>\xed\xa0\x80</body></message>"),
	    XML_STREAM_NOT_WELL_FORMED);
}
END_TEST

START_TEST(test_parser_rejects_truncated_utf8_sequence)
{
	ck_assert_int_eq(parse_str(HEADER "<message><body>\xe2\x98</body></message>"),
	    XML_STREAM_NOT_WELL_FORMED);
}
END_TEST

START_TEST(test_parser_rejects_nul_byte)
{
	static const char in[] = HEADER "<message><body>a\0b</body></message>";
	ck_assert_int_eq(parse_input(in, sizeof(in) - 1), XML_STREAM_NOT_WELL_FORMED);
}
END_TEST

START_TEST(test_parser_rejects_control_character)
{
	ck_assert_int_eq(parse_str(HEADER "<message><body>a\x01z</body></message>"),
	    XML_STREAM_NOT_WELL_FORMED);
	ck_assert_int_eq(parse_str(HEADER "<message><body>&#1;</body></message>"),
	    XML_STREAM_NOT_WELL_FORMED);
	ck_assert_int_eq(parse_str(HEADER "<message id='&#0;'/>"), XML_STREAM_NOT_WELL_FORMED);
}
END_TEST

START_TEST(test_parser_rejects_mismatched_end_tag)
{
	ck_assert_int_eq(parse_str(HEADER "<message><body>x</bod></message>"),
	    XML_STREAM_NOT_WELL_FORMED);
}
END_TEST

START_TEST(test_parser_rejects_stanza_after_stream_close)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER "</stream:stream>"), XML_STREAM_OK);
	ck_assert_int_eq(ev.closes, 1);
	ck_assert_int_eq(feed_str(&ev, MESSAGE), XML_STREAM_NOT_WELL_FORMED);
	ck_assert_int_eq(ev.stanzas, 0);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_rejects_text_after_stream_close)
{
	ck_assert_int_eq(parse_str(HEADER "</stream:stream>junk"), XML_STREAM_NOT_WELL_FORMED);
}
END_TEST

START_TEST(test_parser_rejects_unbound_prefix)
{
	ck_assert_int_eq(parse_str(HEADER "<foo:message/>"), XML_STREAM_NOT_WELL_FORMED);
}
END_TEST

START_TEST(test_parser_rejects_duplicate_attribute)
{
	ck_assert_int_eq(parse_str(HEADER "<message xmlns:a='urn:x' xmlns:b='urn:x' "
	    "a:id='1' b:id='2'/>"), XML_STREAM_NOT_WELL_FORMED);
}
END_TEST

/* --- limits ---------------------------------------------------------------- */

START_TEST(test_parser_rejects_oversize_stanza)
{
	const char *st = "<message><body>0123456789012345678901234567890123456789"
	    "01234567890123456789012345678901234567890123456789</body></message>";
	struct events ev;
	events_init(&ev, strlen(st) - 1, 0);
	ck_assert_int_eq(feed_str(&ev, SHORT_HEADER), XML_STREAM_OK);
	ck_assert_int_eq(feed_str(&ev, st), XML_STREAM_POLICY_VIOLATION);
	ck_assert_int_eq(ev.stanzas, 0);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_rejects_oversize_stanza_before_it_ends)
{
	/* A stanza that never ends is stopped once it passes the limit. */
	struct events ev;
	events_init(&ev, 1000, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER "<message><body>"), XML_STREAM_OK);
	enum xml_stream_error e = XML_STREAM_OK;
	for (int i = 0; i < 200 && e == XML_STREAM_OK; i++)
		e = feed_str(&ev, "0123456789");
	ck_assert_int_eq(e, XML_STREAM_POLICY_VIOLATION);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_rejects_endless_start_tag)
{
	/* Within the stanza limit, but one tag may not grow without end. */
	struct events ev;
	events_init(&ev, 1024 * 1024, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER "<message id='"), XML_STREAM_OK);
	char chunk[1000];
	memset(chunk, 'x', sizeof(chunk));
	enum xml_stream_error e = XML_STREAM_OK;
	for (int i = 0; i < 100 && e == XML_STREAM_OK; i++)
		e = feed(&ev, chunk, sizeof(chunk), 0);
	ck_assert_int_eq(e, XML_STREAM_POLICY_VIOLATION);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_rejects_oversize_stream_header)
{
	struct events ev;
	events_init(&ev, 100, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER), XML_STREAM_POLICY_VIOLATION);
	ck_assert_int_eq(ev.opens, 0);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_rejects_too_deep_stanza)
{
	struct events ev;
	events_init(&ev, 0, 3);
	ck_assert_int_eq(feed_str(&ev, HEADER "<iq><a><b><c/></b></a></iq>"),
	    XML_STREAM_POLICY_VIOLATION);
	ck_assert_int_eq(ev.stanzas, 0);
	events_free(&ev);
}
END_TEST

/* --- the stream element ---------------------------------------------------- */

START_TEST(test_parser_rejects_wrong_stream_namespace)
{
	ck_assert_int_eq(parse_str("<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streamz'>"), XML_STREAM_INVALID_NAMESPACE);
	ck_assert_int_eq(parse_str("<stream xmlns='jabber:client'>"),
	    XML_STREAM_INVALID_NAMESPACE);
}
END_TEST

START_TEST(test_parser_rejects_wrong_stream_element_name)
{
	ck_assert_int_eq(parse_str("<stream:strem xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams'>"), XML_STREAM_INVALID_NAMESPACE);
}
END_TEST

START_TEST(test_parser_rejects_unprefixed_stream_namespace)
{
	ck_assert_int_eq(parse_str("<stream xmlns='http://etherx.jabber.org/streams'>"),
	    XML_STREAM_BAD_NAMESPACE_PREFIX);
}
END_TEST

START_TEST(test_parser_accepts_other_stream_prefix)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, "<s:stream xmlns='jabber:client' "
	    "xmlns:s='http://etherx.jabber.org/streams'><presence/></s:stream>"), XML_STREAM_OK);
	ck_assert_str_eq(ev.prefix, "s");
	ck_assert_int_eq(ev.stanzas, 1);
	ck_assert_int_eq(ev.closes, 1);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_rejects_non_utf8_encoding)
{
	ck_assert_int_eq(parse_str("<?xml version='1.0' encoding='ISO-8859-1'?>"
	    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"),
	    XML_STREAM_UNSUPPORTED_ENCODING);
}
END_TEST

START_TEST(test_parser_rejects_text_between_stanzas)
{
	ck_assert_int_eq(parse_str(HEADER "<presence/>hello<presence/>"), XML_STREAM_BAD_FORMAT);
	ck_assert_int_eq(parse_str(HEADER "&amp;"), XML_STREAM_BAD_FORMAT);
}
END_TEST

/* --- errors, reset, pause, ownership --------------------------------------- */

START_TEST(test_parser_error_text_names_condition_and_offset)
{
	struct events ev;
	char err[ERRLEN];
	events_init(&ev, 0, 0);
	const char *in = HEADER "<message><!-- x --></message>";
	ck_assert_int_eq(xml_stream_feed(ev.xs, in, strlen(in), err, sizeof(err)), -1);
	char expect[64];
	snprintf(expect, sizeof(expect), "at byte %zu", strlen(HEADER) + 9);
	ck_assert_msg(strncmp(err, "restricted-xml: comment", 23) == 0, "%s", err);
	ck_assert_msg(strstr(err, expect) != NULL, "%s", err);
	/* Sticky: the next feed fails the same way without parsing. */
	ck_assert_int_eq(xml_stream_feed(ev.xs, "<presence/>", 11, err, sizeof(err)), -1);
	ck_assert_int_eq(xml_stream_error(ev.xs), XML_STREAM_RESTRICTED_XML);
	ck_assert_int_eq(ev.stanzas, 0);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_condition_names_match_rfc6120)
{
	ck_assert_str_eq(xml_stream_condition(XML_STREAM_NOT_WELL_FORMED), "not-well-formed");
	ck_assert_str_eq(xml_stream_condition(XML_STREAM_RESTRICTED_XML), "restricted-xml");
	ck_assert_str_eq(xml_stream_condition(XML_STREAM_POLICY_VIOLATION), "policy-violation");
	ck_assert_str_eq(xml_stream_condition(XML_STREAM_INVALID_NAMESPACE),
	    "invalid-namespace");
	ck_assert_str_eq(xml_stream_condition(XML_STREAM_BAD_NAMESPACE_PREFIX),
	    "bad-namespace-prefix");
	ck_assert_str_eq(xml_stream_condition(XML_STREAM_UNSUPPORTED_ENCODING),
	    "unsupported-encoding");
	ck_assert_str_eq(xml_stream_condition(XML_STREAM_BAD_FORMAT), "bad-format");
	ck_assert_str_eq(xml_stream_condition(XML_STREAM_INTERNAL_SERVER_ERROR),
	    "internal-server-error");
}
END_TEST

START_TEST(test_parser_reset_reuses_tree_memory)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER MESSAGE), XML_STREAM_OK);
	const struct stanza *tree = ev.tree;
	size_t allocated = ev.tree_allocated;
	ck_assert_uint_gt(allocated, 0);

	xml_stream_reset(ev.xs);
	ck_assert_int_eq(feed_str(&ev, HEADER MESSAGE "<presence/>"), XML_STREAM_OK);
	ck_assert_int_eq(ev.opens, 2);
	ck_assert_int_eq(ev.stanzas, 3);
	ck_assert_ptr_eq(ev.tree, tree);
	ck_assert_uint_eq(ev.tree_allocated, allocated);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_reset_clears_an_error)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER "<a></b>"), XML_STREAM_NOT_WELL_FORMED);
	xml_stream_reset(ev.xs);
	ck_assert_int_eq(xml_stream_error(ev.xs), XML_STREAM_OK);
	ck_assert_int_eq(feed_str(&ev, HEADER MESSAGE), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 1);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_pause_stops_after_the_stanza)
{
	/* STARTTLS: nothing after <starttls/> may be parsed as XML. */
	struct events ev;
	char err[ERRLEN];
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER), XML_STREAM_OK);
	ev.pause_on_stanza = true;
	const char *in = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\x16\x03\x01garbage";
	ssize_t n = xml_stream_feed(ev.xs, in, strlen(in), err, sizeof(err));
	ck_assert_int_eq(n, (ssize_t)strlen("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
	ck_assert_int_eq(ev.stanzas, 1);
	ck_assert_int_eq(xml_stream_error(ev.xs), XML_STREAM_OK);
	/* Feeding again without a reset is a caller bug, reported as such. */
	ck_assert_int_eq(xml_stream_feed(ev.xs, "<a/>", 4, err, sizeof(err)), -1);
	ck_assert_int_eq(xml_stream_error(ev.xs), XML_STREAM_INTERNAL_SERVER_ERROR);
	/* A new stream after the reset parses normally. */
	ev.pause_on_stanza = false;
	xml_stream_reset(ev.xs);
	ck_assert_int_eq(feed_str(&ev, HEADER MESSAGE), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 2);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_pause_mid_feed_lets_caller_restart_stream)
{
	/* SASL success: the rest of the same read is the new stream. */
	struct events ev;
	char err[ERRLEN];
	events_init(&ev, 0, 0);
	ev.pause_on_stanza = true;
	const char *in = HEADER "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>" HEADER MESSAGE;
	ssize_t n = xml_stream_feed(ev.xs, in, strlen(in), err, sizeof(err));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(ev.stanzas, 1);
	ev.pause_on_stanza = false;
	xml_stream_reset(ev.xs);
	ck_assert_int_eq(feed_str(&ev, in + n), XML_STREAM_OK);
	ck_assert_int_eq(ev.opens, 2);
	ck_assert_int_eq(ev.stanzas, 2);
	ck_assert_str_eq(stanza_name(ev.last, 0), "message");
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_take_stanza_gives_ownership)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ev.take = true;
	ck_assert_int_eq(feed_str(&ev, HEADER MESSAGE), XML_STREAM_OK);
	ck_assert_ptr_nonnull(ev.taken);
	ck_assert_ptr_eq(ev.taken, ev.tree);
	/* The parser goes on with a tree of its own; ours is untouched. */
	ck_assert_int_eq(feed_str(&ev, "<presence/>"), XML_STREAM_OK);
	ck_assert_ptr_ne(ev.tree, ev.taken);
	ck_assert_str_eq(stanza_name(ev.last, 0), "presence");
	ck_assert_str_eq(stanza_name(ev.taken, 0), "message");
	ck_assert_str_eq(stanza_to(ev.taken), "juliet@example.com");
	ck_assert_ptr_null(xml_stream_take_stanza(ev.xs));	/* outside a callback */
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_taken_stanza_outlives_the_parser)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ev.take = true;
	ck_assert_int_eq(feed_str(&ev, HEADER MESSAGE), XML_STREAM_OK);
	struct stanza *st = ev.taken;
	ev.taken = NULL;
	events_free(&ev);
	ck_assert_str_eq(stanza_to(st), "juliet@example.com");
	stanza_free(&st);
}
END_TEST

START_TEST(test_parse_stanza_reads_standalone_element)
{
	char err[ERRLEN];
	struct xml_stream *xs = xml_stream_new(NULL, NULL, 0, 0, err, sizeof(err));
	struct stanza *st = stanza_new_empty();
	const char *in = "<message xmlns=\"jabber:client\" to=\"a@b\"><body>hi</body></message>";
	ck_assert_int_eq(xml_stream_parse_stanza(xs, in, strlen(in), st, err, sizeof(err)), 0);
	ck_assert_str_eq(stanza_ns(st, 0), NS_CLIENT);
	ck_assert_str_eq(stanza_to(st), "a@b");
	/* Reused for the next one; rules apply as on a stream. */
	ck_assert_int_eq(xml_stream_parse_stanza(xs, "<a><!--x--></a>", 15, st, err, sizeof(err)), -1);
	ck_assert_int_eq(xml_stream_error(xs), XML_STREAM_RESTRICTED_XML);
	ck_assert_int_eq(xml_stream_parse_stanza(xs, "<a/><b/>", 8, st, err, sizeof(err)), -1);
	ck_assert_int_eq(xml_stream_error(xs), XML_STREAM_NOT_WELL_FORMED);
	ck_assert_int_eq(xml_stream_parse_stanza(xs, "<a>", 3, st, err, sizeof(err)), -1);
	ck_assert_int_eq(xml_stream_error(xs), XML_STREAM_NOT_WELL_FORMED);
	ck_assert_int_eq(xml_stream_parse_stanza(xs, in, strlen(in), st, err, sizeof(err)), 0);
	ck_assert_str_eq(stanza_text(st, stanza_find_child(st, 0, NS_CLIENT, "body")), "hi");
	stanza_free(&st);
	xml_stream_free(&xs);
}
END_TEST

/* --- encodings (RFC 6120 §11.6: UTF-8 only) -------------------------------- */

/* s (ASCII) as UTF-16: little-endian unless big, with or without a BOM. */
static size_t utf16(const char *s, bool big, bool bom, char *out)
{
	size_t n = 0;
	if (bom) {
		out[n++] = big ? (char)0xfe : (char)0xff;
		out[n++] = big ? (char)0xff : (char)0xfe;
	}
	for (; *s; s++) {
		out[n++] = big ? 0 : *s;
		out[n++] = big ? *s : 0;
	}
	return n;
}

START_TEST(test_parser_rejects_utf16_stream)
{
	static const char *in = HEADER MESSAGE;
	char u16[2 * 512];
	ck_assert_uint_lt(2 * strlen(in) + 2, sizeof(u16));
	for (int variant = 0; variant < 4; variant++) {
		bool big = variant & 1, bom = variant & 2;
		size_t n = utf16(in, big, bom, u16);
		for (size_t chunk = 0; chunk <= 1; chunk++) {
			struct events ev;
			events_init(&ev, 0, 0);
			ck_assert_msg(feed(&ev, u16, n, chunk) == XML_STREAM_UNSUPPORTED_ENCODING,
			    "variant %d chunk %zu", variant, chunk);
			ck_assert_int_eq(ev.opens, 0);
			ck_assert_int_eq(ev.stanzas, 0);
			events_free(&ev);
		}
	}
}
END_TEST

START_TEST(test_parser_rejects_utf16_stream_after_reset)
{
	/* The restarted stream after STARTTLS or SASL is a new document. */
	struct events ev;
	char u16[2 * 512];
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER), XML_STREAM_OK);
	xml_stream_reset(ev.xs);
	size_t n = utf16(HEADER MESSAGE, false, true, u16);
	ck_assert_int_eq(feed(&ev, u16, n, 1), XML_STREAM_UNSUPPORTED_ENCODING);
	ck_assert_int_eq(ev.opens, 1);
	ck_assert_int_eq(ev.stanzas, 0);
	events_free(&ev);
}
END_TEST

START_TEST(test_parse_stanza_rejects_utf16)
{
	char err[ERRLEN], u16[256];
	struct xml_stream *xs = xml_stream_new(NULL, NULL, 0, 0, err, sizeof(err));
	struct stanza *st = stanza_new_empty();
	size_t n = utf16("<message xmlns='jabber:client'/>", false, true, u16);
	ck_assert_int_eq(xml_stream_parse_stanza(xs, u16, n, st, err, sizeof(err)), -1);
	ck_assert_int_eq(xml_stream_error(xs), XML_STREAM_UNSUPPORTED_ENCODING);
	stanza_free(&st);
	xml_stream_free(&xs);
}
END_TEST

START_TEST(test_parser_accepts_utf8_byte_order_mark)
{
	/* XML 1.0 §4.3.3 allows UTF-8 to begin with a BOM; it is still UTF-8. */
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed(&ev, "\xef\xbb\xbf" HEADER MESSAGE, 3 + strlen(HEADER MESSAGE), 1),
	    XML_STREAM_OK);
	ck_assert_int_eq(ev.opens, 1);
	ck_assert_int_eq(ev.stanzas, 1);
	events_free(&ev);
}
END_TEST

/* --- namespaces ------------------------------------------------------------ */

START_TEST(test_parser_stanza_using_header_prefix_writes_in_bounded_size)
{
	/* A prefix bound on the stream header with a long URI, used by many
	 * elements of one stanza: the URI must be written once, not once per
	 * element (that turned 256 KiB into 640 MB). */
	struct buf in = BUF_INIT;
	buf_append_str(&in, "<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams' xmlns:p='urn:");
	for (int i = 0; i < 1000; i++)
		buf_append(&in, "u", 1);
	buf_append_str(&in, "'>");
	size_t header = buf_used(&in);
	buf_append_str(&in, "<message>");
	for (int i = 0; i < 2000; i++)
		buf_append_str(&in, "<p:x/>");
	buf_append_str(&in, "</message>");
	size_t stanza = buf_used(&in) - header;

	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed(&ev, buf_head(&in), buf_used(&in), 0), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 1);
	struct buf out = BUF_INIT;
	stanza_write(ev.last, &out, NS_CLIENT);
	ck_assert_uint_le(buf_used(&out), stanza + 1100);
	buf_reset(&out);
	stanza_write(ev.last, &out, NULL);
	ck_assert_uint_le(buf_used(&out), stanza + 1100);
	ck_assert_uint_le(buf_used(&out), STANZA_WRITE_MAX_GROWTH * (stanza + header) +
	    STANZA_WRITE_SLACK);
	buf_free(&out);
	buf_free(&in);
	events_free(&ev);
}
END_TEST

/* A stanza with one namespace declaration whose URI is `len` bytes. */
static enum xml_stream_error parse_with_uri_of(size_t len, bool on_header)
{
	struct buf in = BUF_INIT;
	buf_append_str(&in, "<stream:stream xmlns='jabber:client' "
	    "xmlns:stream='http://etherx.jabber.org/streams'");
	if (on_header)
		buf_append_str(&in, " xmlns:p='");
	else
		buf_append_str(&in, "><message xmlns:p='");
	for (size_t i = 0; i < len; i++)
		buf_append(&in, "u", 1);
	buf_append_str(&in, on_header ? "'><message/>" : "'/>");
	enum xml_stream_error e = parse_input(buf_head(&in), buf_used(&in));
	buf_free(&in);
	return e;
}

START_TEST(test_parser_rejects_overlong_namespace_uri)
{
	ck_assert_int_eq(parse_with_uri_of(XML_STREAM_MAX_NAMESPACE_URI, false), XML_STREAM_OK);
	ck_assert_int_eq(parse_with_uri_of(XML_STREAM_MAX_NAMESPACE_URI, true), XML_STREAM_OK);
	ck_assert_int_eq(parse_with_uri_of(XML_STREAM_MAX_NAMESPACE_URI + 1, false),
	    XML_STREAM_POLICY_VIOLATION);
	ck_assert_int_eq(parse_with_uri_of(XML_STREAM_MAX_NAMESPACE_URI + 1, true),
	    XML_STREAM_POLICY_VIOLATION);
}
END_TEST

/* A message holding children in `n` namespaces of its own (plus
 * jabber:client): <a xmlns='urn:0'/><a xmlns='urn:1'/>… */
static enum xml_stream_error parse_with_namespaces(int n, struct events *ev)
{
	struct buf in = BUF_INIT;
	buf_append_str(&in, HEADER "<message>");
	for (int i = 0; i < n; i++)
		buf_appendf(&in, "<a xmlns='urn:%d'/>", i);
	buf_append_str(&in, "</message>");
	enum xml_stream_error e = feed(ev, buf_head(&in), buf_used(&in), 0);
	buf_free(&in);
	return e;
}

START_TEST(test_parser_limits_distinct_namespaces_per_stanza)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(parse_with_namespaces(XML_STREAM_MAX_NAMESPACES - 1, &ev), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 1);
	ck_assert_str_eq(stanza_ns(ev.last, stanza_first_element(ev.last, 0)), "urn:0");
	events_free(&ev);

	events_init(&ev, 0, 0);
	ck_assert_int_eq(parse_with_namespaces(XML_STREAM_MAX_NAMESPACES, &ev),
	    XML_STREAM_POLICY_VIOLATION);
	ck_assert_int_eq(ev.stanzas, 0);
	events_free(&ev);
}
END_TEST

START_TEST(test_parser_namespace_limit_is_per_stanza)
{
	/* Many stanzas, each with a few new namespaces, are fine. */
	struct events ev;
	struct buf in = BUF_INIT;
	events_init(&ev, 0, 0);
	buf_append_str(&in, HEADER);
	for (int i = 0; i < 2 * XML_STREAM_MAX_NAMESPACES; i++)
		buf_appendf(&in, "<iq><q xmlns='urn:%d'/></iq>", i);
	ck_assert_int_eq(feed(&ev, buf_head(&in), buf_used(&in), 0), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 2 * XML_STREAM_MAX_NAMESPACES);
	buf_free(&in);
	events_free(&ev);
}
END_TEST

/* --- memory budget --------------------------------------------------------- */

/* <message> with `children` <a/> inside, in a stream limited to max_stanza. */
static enum xml_stream_error parse_with_children(size_t max_stanza, int children,
    const char *child)
{
	struct events ev;
	struct buf in = BUF_INIT;
	events_init(&ev, max_stanza, 0);
	ck_assert_int_eq(feed_str(&ev, SHORT_HEADER), XML_STREAM_OK);
	buf_append_str(&in, "<message>");
	for (int i = 0; i < children; i++)
		buf_append_str(&in, child);
	buf_append_str(&in, "</message>");
	ck_assert_uint_le(buf_used(&in), max_stanza);
	enum xml_stream_error e = feed(&ev, buf_head(&in), buf_used(&in), 0);
	ck_assert_int_eq(ev.stanzas, e == XML_STREAM_OK ? 1 : 0);
	buf_free(&in);
	events_free(&ev);
	return e;
}

START_TEST(test_parser_limits_elements_and_attributes_per_stanza)
{
	/* The budget is max_stanza / XML_STREAM_BYTES_PER_ENTRY entries:
	 * elements, text runs, attributes and namespace declarations. */
	size_t max = 8192;
	int budget = (int)(max / XML_STREAM_BYTES_PER_ENTRY);
	ck_assert_int_eq(parse_with_children(max, budget - 1, "<a/>"), XML_STREAM_OK);
	ck_assert_int_eq(parse_with_children(max, budget, "<a/>"), XML_STREAM_POLICY_VIOLATION);
	/* Each <a b=''/> is two entries. */
	ck_assert_int_eq(parse_with_children(max, (budget - 1) / 2, "<a b=''/>"), XML_STREAM_OK);
	ck_assert_int_eq(parse_with_children(max, budget / 2, "<a b=''/>"),
	    XML_STREAM_POLICY_VIOLATION);
	/* Text runs between elements count too. */
	ck_assert_int_eq(parse_with_children(max, (budget - 1) / 2, "<a/>x"), XML_STREAM_OK);
	ck_assert_int_eq(parse_with_children(max, budget / 2 + 1, "<a/>x"),
	    XML_STREAM_POLICY_VIOLATION);
}
END_TEST

START_TEST(test_parser_tree_memory_is_bounded_by_stanza_limit)
{
	/* The densest input there is, <a/> over and over, up to the default
	 * limit: refused before the tree grows past a few times the input. */
	struct events ev;
	struct buf in = BUF_INIT;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, SHORT_HEADER), XML_STREAM_OK);
	buf_append_str(&in, "<message>");
	while (buf_used(&in) < XML_STREAM_DEFAULT_MAX_STANZA - 20)
		buf_append_str(&in, "<a/>");
	buf_append_str(&in, "</message>");
	ck_assert_int_eq(feed(&ev, buf_head(&in), buf_used(&in), 0), XML_STREAM_POLICY_VIOLATION);
	buf_free(&in);
	events_free(&ev);

	/* Just under the budget: what the tree costs, measured. */
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, SHORT_HEADER), XML_STREAM_OK);
	buf_init(&in);
	buf_append_str(&in, "<message>");
	for (size_t i = 1; i < XML_STREAM_DEFAULT_MAX_STANZA / XML_STREAM_BYTES_PER_ENTRY; i++)
		buf_append_str(&in, "<a/>");
	buf_append_str(&in, "</message>");
	ck_assert_int_eq(feed(&ev, buf_head(&in), buf_used(&in), 0), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 1);
	/* 32 bytes per entry at most 1/8 of the limit, plus the names: under 5
	 * times the stanza limit (it was 12.5 times, and unbounded). */
	ck_assert_uint_le(ev.tree_allocated, 5 * XML_STREAM_DEFAULT_MAX_STANZA);
	buf_free(&in);
	events_free(&ev);
}
END_TEST

/* --- the tag limit ---------------------------------------------------------- */

/* <message id='xxx…'/> with an id of `len` bytes, fed in `chunk` pieces. */
static enum xml_stream_error parse_long_attribute(size_t len, size_t chunk, char *err)
{
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed_str(&ev, HEADER), XML_STREAM_OK);
	struct buf in = BUF_INIT;
	buf_append_str(&in, "<message id='");
	for (size_t i = 0; i < len; i++)
		buf_append(&in, "x", 1);
	buf_append_str(&in, "'/>");
	enum xml_stream_error e = XML_STREAM_OK;
	for (size_t off = 0; off < buf_used(&in) && e == XML_STREAM_OK; off += chunk) {
		size_t n = buf_used(&in) - off < chunk ? buf_used(&in) - off : chunk;
		if (xml_stream_feed(ev.xs, buf_head(&in) + off, n, err, ERRLEN) < 0)
			e = xml_stream_error(ev.xs);
	}
	if (e == XML_STREAM_OK) {
		ck_assert_int_eq(ev.stanzas, 1);
		ck_assert_uint_eq(strlen(stanza_id(ev.last)), len);
	}
	buf_free(&in);
	events_free(&ev);
	return e;
}

START_TEST(test_parser_accepts_30k_attribute)
{
	char err[ERRLEN];
	ck_assert_msg(parse_long_attribute(30000, 1 << 20, err) == XML_STREAM_OK, "%s", err);
	ck_assert_msg(parse_long_attribute(30000, 1400, err) == XML_STREAM_OK, "%s", err);
	ck_assert_msg(parse_long_attribute(XML_STREAM_MAX_TAG - 100, 4096, err) == XML_STREAM_OK,
	    "%s", err);
}
END_TEST

START_TEST(test_parser_rejects_tag_longer_than_max_tag)
{
	char err[ERRLEN], expect[64];
	ck_assert_int_eq(parse_long_attribute(XML_STREAM_MAX_TAG, 1 << 20, err),
	    XML_STREAM_POLICY_VIOLATION);
	snprintf(expect, sizeof(expect), "longer than %d bytes", XML_STREAM_MAX_TAG);
	ck_assert_msg(strstr(err, expect) != NULL, "%s", err);
	ck_assert_int_eq(parse_long_attribute(XML_STREAM_MAX_TAG, 1000, err),
	    XML_STREAM_POLICY_VIOLATION);
	ck_assert_msg(strstr(err, expect) != NULL, "%s", err);
}
END_TEST

START_TEST(test_parser_rejects_long_tag_dribbled_in_tiny_pieces)
{
	/* Each piece makes expat re-read the whole unfinished tag; that work
	 * is capped per tag. A short tag may still come a byte at a time. */
	char err[ERRLEN];
	ck_assert_msg(parse_long_attribute(2000, 1, err) == XML_STREAM_OK, "%s", err);
	ck_assert_int_eq(parse_long_attribute(20000, 1, err), XML_STREAM_POLICY_VIOLATION);
	ck_assert_msg(strstr(err, "small pieces") != NULL, "%s", err);
}
END_TEST

START_TEST(test_parse_stanza_reads_back_what_escaping_grew)
{
	/* The worst case of stanza_write_max_size(): an attribute of quotes
	 * nearly as long as a tag may be, text of quotes up to 200 KB. Written
	 * standalone it is six times larger, its start tag far past
	 * XML_STREAM_MAX_TAG; a receiver that allows stanza_write_max_size()
	 * bytes reads it back. */
	struct buf in = BUF_INIT;
	buf_append_str(&in, SHORT_HEADER);
	size_t header = buf_used(&in);
	buf_append_str(&in, "<message id='");
	for (int i = 0; i < 60000; i++)
		buf_append(&in, "\"", 1);
	buf_append_str(&in, "'><body>");
	while (buf_used(&in) - header < 200000)
		buf_append(&in, "'", 1);
	buf_append_str(&in, "</body></message>");
	size_t stanza = buf_used(&in) - header;
	struct events ev;
	events_init(&ev, 0, 0);
	ck_assert_int_eq(feed(&ev, buf_head(&in), buf_used(&in), 0), XML_STREAM_OK);
	ck_assert_int_eq(ev.stanzas, 1);

	struct buf out = BUF_INIT;
	stanza_write(ev.last, &out, NULL);
	ck_assert_uint_gt(buf_used(&out), 5 * stanza);
	ck_assert_uint_le(buf_used(&out), stanza_write_max_size(stanza, header));
	char err[ERRLEN];
	struct xml_stream *xs = xml_stream_new(NULL, NULL, stanza_write_max_size(stanza, header),
	    0, err, sizeof(err));
	struct stanza *back = stanza_new_empty();
	ck_assert_msg(xml_stream_parse_stanza(xs, buf_head(&out), buf_used(&out), back, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert(stanza_equal(ev.last, back));
	stanza_free(&back);
	xml_stream_free(&xs);
	buf_free(&out);
	buf_free(&in);
	events_free(&ev);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("xml_stream");
	TCase *tc = tcase_create("good");
	tcase_add_test(tc, test_parser_reports_stream_open_attributes);
	tcase_add_test(tc, test_parser_header_exposes_other_namespace_declarations);
	tcase_add_test(tc, test_parser_delivers_stanza_in_content_namespace);
	tcase_add_test(tc, test_parser_delivers_several_stanzas_in_one_feed);
	tcase_add_test(tc, test_parser_byte_by_byte_gives_same_tree);
	tcase_add_test(tc, test_parser_delivers_stanza_when_its_last_bytes_arrive_alone);
	tcase_add_test(tc, test_parser_reports_stream_close);
	tcase_add_test(tc, test_parser_accepts_whitespace_keepalives);
	tcase_add_test(tc, test_parser_accepts_predefined_and_character_references);
	tcase_add_test(tc, test_parser_accepts_xml_declaration_with_utf8_encoding);
	tcase_add_test(tc, test_parser_accepts_cdata_as_text);
	tcase_add_test(tc, test_parser_accepts_stanza_of_exactly_the_limit);
	tcase_add_test(tc, test_parser_accepts_stanza_of_exactly_max_depth);
	tcase_add_test(tc, test_parser_accepts_other_stream_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("restricted");
	tcase_add_test(tc, test_parser_rejects_doctype);
	tcase_add_test(tc, test_parser_rejects_internal_subset);
	tcase_add_test(tc, test_parser_rejects_entity_declaration);
	tcase_add_test(tc, test_parser_rejects_billion_laughs);
	tcase_add_test(tc, test_parser_rejects_undefined_entity_reference);
	tcase_add_test(tc, test_parser_rejects_entity_reference_in_attribute);
	tcase_add_test(tc, test_parser_rejects_processing_instruction_mid_stream);
	tcase_add_test(tc, test_parser_rejects_processing_instruction_before_stream);
	tcase_add_test(tc, test_parser_rejects_comment);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_test(tc, test_parser_rejects_overlong_utf8);
	tcase_add_test(tc, test_parser_rejects_lone_continuation_byte);
	tcase_add_test(tc, test_parser_rejects_utf8_encoded_surrogate);
	tcase_add_test(tc, test_parser_rejects_truncated_utf8_sequence);
	tcase_add_test(tc, test_parser_rejects_nul_byte);
	tcase_add_test(tc, test_parser_rejects_control_character);
	tcase_add_test(tc, test_parser_rejects_mismatched_end_tag);
	tcase_add_test(tc, test_parser_rejects_stanza_after_stream_close);
	tcase_add_test(tc, test_parser_rejects_text_after_stream_close);
	tcase_add_test(tc, test_parser_rejects_unbound_prefix);
	tcase_add_test(tc, test_parser_rejects_duplicate_attribute);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, test_parser_rejects_oversize_stanza);
	tcase_add_test(tc, test_parser_rejects_oversize_stanza_before_it_ends);
	tcase_add_test(tc, test_parser_rejects_endless_start_tag);
	tcase_add_test(tc, test_parser_rejects_oversize_stream_header);
	tcase_add_test(tc, test_parser_rejects_too_deep_stanza);
	tcase_add_test(tc, test_parser_limits_elements_and_attributes_per_stanza);
	tcase_add_test(tc, test_parser_tree_memory_is_bounded_by_stanza_limit);
	tcase_add_test(tc, test_parser_accepts_30k_attribute);
	tcase_add_test(tc, test_parser_rejects_tag_longer_than_max_tag);
	tcase_add_test(tc, test_parser_rejects_long_tag_dribbled_in_tiny_pieces);
	suite_add_tcase(s, tc);

	tc = tcase_create("namespaces");
	tcase_add_test(tc, test_parser_stanza_using_header_prefix_writes_in_bounded_size);
	tcase_add_test(tc, test_parser_rejects_overlong_namespace_uri);
	tcase_add_test(tc, test_parser_limits_distinct_namespaces_per_stanza);
	tcase_add_test(tc, test_parser_namespace_limit_is_per_stanza);
	suite_add_tcase(s, tc);

	tc = tcase_create("encoding");
	tcase_add_test(tc, test_parser_rejects_utf16_stream);
	tcase_add_test(tc, test_parser_rejects_utf16_stream_after_reset);
	tcase_add_test(tc, test_parse_stanza_rejects_utf16);
	tcase_add_test(tc, test_parser_accepts_utf8_byte_order_mark);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream element");
	tcase_add_test(tc, test_parser_rejects_wrong_stream_namespace);
	tcase_add_test(tc, test_parser_rejects_wrong_stream_element_name);
	tcase_add_test(tc, test_parser_rejects_unprefixed_stream_namespace);
	tcase_add_test(tc, test_parser_rejects_non_utf8_encoding);
	tcase_add_test(tc, test_parser_rejects_text_between_stanzas);
	suite_add_tcase(s, tc);

	tc = tcase_create("control");
	tcase_add_test(tc, test_parser_error_text_names_condition_and_offset);
	tcase_add_test(tc, test_parser_condition_names_match_rfc6120);
	tcase_add_test(tc, test_parser_reset_reuses_tree_memory);
	tcase_add_test(tc, test_parser_reset_clears_an_error);
	tcase_add_test(tc, test_parser_pause_stops_after_the_stanza);
	tcase_add_test(tc, test_parser_pause_mid_feed_lets_caller_restart_stream);
	tcase_add_test(tc, test_parser_take_stanza_gives_ownership);
	tcase_add_test(tc, test_parser_taken_stanza_outlives_the_parser);
	tcase_add_test(tc, test_parse_stanza_reads_standalone_element);
	tcase_add_test(tc, test_parse_stanza_reads_back_what_escaping_grew);
	suite_add_tcase(s, tc);
	return s;
}
