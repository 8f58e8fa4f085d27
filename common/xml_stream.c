/*
 * xml_stream.c — the XMPP stream parser on expat (see xml_stream.h). It
 * owns the stream-level XML rules: what RFC 6120 §11.1 forbids, the size
 * and depth limits, the namespace of the stream element, and how each
 * failure maps onto a stream error condition. It builds stanzas straight
 * into one reused stanza tree and hands them out; it never interprets one.
 *
 * Why expat in namespace mode with triplets: expat resolves every prefix,
 * so the tree gets {namespace}name plus the prefix that was written, and
 * the separator (\x01, which XML 1.0 cannot contain even as a character
 * reference) cannot collide with anything in a name or URI.
 *
 * Why DTDs are refused at the first sight of <!DOCTYPE: nothing that needs
 * a DTD is allowed in XMPP, and refusing early means entity expansion
 * (billion laughs), external entities and parameter entities never start.
 * Parameter entity parsing is off and expat's amplification limits are
 * tightened anyway, as a second fence.
 *
 * Why expat's reparse deferral is turned off: expat >= 2.6 (and Debian's
 * 2.5 with the CVE-2023-52425 fix) waits for "enough" new bytes before
 * re-trying an unfinished token, which would hold back a stanza whose last
 * bytes arrive in a small packet until the client sends something else.
 * The cost it guards against — re-scanning a long unfinished token on every
 * small read — is bounded here instead, by two documented limits: a run of
 * bytes that has not yet produced an event may not exceed XML_STREAM_MAX_TAG,
 * and the bytes expat re-scans while it stays unfinished are counted
 * against XML_STREAM_TAG_RESCAN_BUDGET. The first alone would not do: a
 * 64 KiB tag fed a byte at a time is 2 GB of re-scanning, 3.5 s of CPU
 * (measured), where the budget stops any tag after 4 MiB, about 7 ms. A
 * length cap alone had to be 16 KiB to keep that near a quarter second,
 * and refused legitimate 30 KB attributes.
 *
 * Why the budgets on entries and namespaces: the tree costs 32 bytes per
 * element, attribute or text run, and <a/> is 4 bytes of input; without a
 * budget a stanza's tree was 12.5 times its size. Namespaces are capped
 * because nothing real uses hundreds, and each costs a hash lookup and a
 * declaration when the stanza is written.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <strings.h>

/* The amplification-limit setters are only declared under XML_DTD, which
 * Debian's expat is built with. */
#define XML_DTD 1
#include <expat.h>

#include "buf.h"
#include "xml_stream.h"

/* Declared weak so an expat without it (before 2.6, no backport) still
 * links; then there is no deferral to turn off. */
XMLPARSEAPI(XML_Bool) XML_SetReparseDeferralEnabled(XML_Parser parser, XML_Bool enabled)
    __attribute__((weak));

#define NS_SEP '\x01'
/* Input goes to expat in slices so the pending-bytes limits are checked
 * between them, whatever the caller's read size. */
#define FEED_SLICE 8192

struct xml_stream {
	XML_Parser parser;
	struct xml_stream_callbacks cb;
	void *arg;
	size_t max_stanza;
	unsigned max_depth;
	size_t max_entries;	/* elements, attributes… per stanza */

	struct stanza *tree;	/* the stanza (or stream header) being built */
	int cur;		/* innermost open element in tree */
	unsigned level;		/* open elements, the stream root included */
	bool fragment;		/* parsing one standalone element */
	bool stream_closed;

	/* Byte offsets since the last reset. */
	uint64_t fed;		/* given to expat */
	uint64_t mark;		/* start of what max_stanza measures */
	uint64_t last_event;	/* end of the last thing expat reported */
	uint64_t pause_at;
	/* Bytes expat has re-scanned since last_event last moved (and where
	 * that was). */
	uint64_t rescan, rescan_from;

	bool in_callback;
	bool delivering;	/* inside the stanza callback */
	bool pause_requested;
	bool needs_reset;	/* paused, or used by parse_stanza */

	/* Namespace declarations of the start tag being read: expat reports
	 * them before the element, as "prefix\0uri\0" pairs. */
	struct buf pending;

	enum xml_stream_error error;
	char errtext[ERRLEN];
};

const char *xml_stream_condition(enum xml_stream_error e)
{
	switch (e) {
	case XML_STREAM_NOT_WELL_FORMED:
		return "not-well-formed";
	case XML_STREAM_RESTRICTED_XML:
		return "restricted-xml";
	case XML_STREAM_POLICY_VIOLATION:
		return "policy-violation";
	case XML_STREAM_INVALID_NAMESPACE:
		return "invalid-namespace";
	case XML_STREAM_BAD_NAMESPACE_PREFIX:
		return "bad-namespace-prefix";
	case XML_STREAM_UNSUPPORTED_ENCODING:
		return "unsupported-encoding";
	case XML_STREAM_BAD_FORMAT:
		return "bad-format";
	case XML_STREAM_INTERNAL_SERVER_ERROR:
		return "internal-server-error";
	case XML_STREAM_OK:
		break;
	}
	return "undefined-condition";
}

/* --- errors ---------------------------------------------------------------- */

static void vfail_at(struct xml_stream *xs, enum xml_stream_error e, uint64_t offset,
    const char *fmt, va_list ap) PRINTF_LIKE(4, 0);

static void vfail_at(struct xml_stream *xs, enum xml_stream_error e, uint64_t offset,
    const char *fmt, va_list ap)
{
	if (xs->error != XML_STREAM_OK)
		return;
	char detail[192];
	vsnprintf(detail, sizeof(detail), fmt, ap);
	xs->error = e;
	snprintf(xs->errtext, sizeof(xs->errtext), "%.24s: %.191s at byte %llu",
	    xml_stream_condition(e), detail, (unsigned long long)offset);
	/* Harmless when expat is not parsing (the check between slices). */
	XML_StopParser(xs->parser, XML_FALSE);
}

static void fail_at(struct xml_stream *xs, enum xml_stream_error e, uint64_t offset,
    const char *fmt, ...) PRINTF_LIKE(4, 5);

static void fail_at(struct xml_stream *xs, enum xml_stream_error e, uint64_t offset,
    const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail_at(xs, e, offset, fmt, ap);
	va_end(ap);
}

static uint64_t event_start(const struct xml_stream *xs)
{
	XML_Index i = XML_GetCurrentByteIndex(xs->parser);
	return i < 0 ? xs->fed : (uint64_t)i;
}

static uint64_t event_end(const struct xml_stream *xs)
{
	return event_start(xs) + (uint64_t)XML_GetCurrentByteCount(xs->parser);
}

/* Inside a handler: fail at the current event. */
static void fail(struct xml_stream *xs, enum xml_stream_error e, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

static void fail(struct xml_stream *xs, enum xml_stream_error e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail_at(xs, e, event_start(xs), fmt, ap);
	va_end(ap);
}

/* Expat stopped on its own: say which stream error that is. */
static void expat_failed(struct xml_stream *xs)
{
	enum XML_Error code = XML_GetErrorCode(xs->parser);
	enum xml_stream_error e;

	switch (code) {
	case XML_ERROR_UNDEFINED_ENTITY:
	case XML_ERROR_RECURSIVE_ENTITY_REF:
	case XML_ERROR_BINARY_ENTITY_REF:
	case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
	case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
	case XML_ERROR_PARAM_ENTITY_REF:
	case XML_ERROR_ENTITY_DECLARED_IN_PE:
	case XML_ERROR_AMPLIFICATION_LIMIT_BREACH:
		/* Entity references other than the predefined five. */
		e = XML_STREAM_RESTRICTED_XML;
		break;
	case XML_ERROR_UNKNOWN_ENCODING:
	case XML_ERROR_INCORRECT_ENCODING:
		e = XML_STREAM_UNSUPPORTED_ENCODING;
		break;
	case XML_ERROR_NO_MEMORY:
		e = XML_STREAM_INTERNAL_SERVER_ERROR;
		break;
	default:
		e = XML_STREAM_NOT_WELL_FORMED;
		break;
	}
	fail_at(xs, e, event_start(xs), "%s (line %lu, column %lu)", XML_ErrorString(code),
	    (unsigned long)XML_GetCurrentLineNumber(xs->parser),
	    (unsigned long)XML_GetCurrentColumnNumber(xs->parser));
}

/* --- building the tree ----------------------------------------------------- */

static bool stopped(const struct xml_stream *xs)
{
	return xs->error != XML_STREAM_OK || xs->pause_requested;
}

/* Depth of the current element counted from the stanza (1). */
static unsigned stanza_base(const struct xml_stream *xs)
{
	return xs->fragment ? 0 : 1;
}

static bool within_limit(struct xml_stream *xs, uint64_t end)
{
	xs->last_event = end;
	if (end - xs->mark <= xs->max_stanza)
		return true;
	fail(xs, XML_STREAM_POLICY_VIOLATION, "stanza larger than %zu bytes", xs->max_stanza);
	return false;
}

/* After the tree grew: the budgets of xml_stream.h. */
static bool within_budget(struct xml_stream *xs)
{
	if (stanza_count_entries(xs->tree) > xs->max_entries) {
		fail(xs, XML_STREAM_POLICY_VIOLATION,
		    "stanza has more than %zu elements, attributes, declarations and text runs",
		    xs->max_entries);
		return false;
	}
	if (stanza_count_namespaces(xs->tree) > XML_STREAM_MAX_NAMESPACES) {
		fail(xs, XML_STREAM_POLICY_VIOLATION, "stanza uses more than %d namespaces",
		    XML_STREAM_MAX_NAMESPACES);
		return false;
	}
	return true;
}

/* A tag just ended at `end`: the run of input since the last event is
 * bounded (xml_stream_feed checks a run still unfinished between slices).
 * Not for a standalone element: it comes whole, so nothing is re-read, and
 * it is what stanza_write made of a stanza whose tags escaping may have
 * grown past the limit. */
static bool tag_within_limit(struct xml_stream *xs, uint64_t end)
{
	if (xs->fragment || end - xs->last_event <= XML_STREAM_MAX_TAG)
		return true;
	fail(xs, XML_STREAM_POLICY_VIOLATION, "tag longer than %d bytes", XML_STREAM_MAX_TAG);
	return false;
}

static void XMLCALL on_ns_start(void *u, const XML_Char *prefix, const XML_Char *uri)
{
	struct xml_stream *xs = u;
	if (stopped(xs))
		return;
	if (uri != NULL && strlen(uri) > XML_STREAM_MAX_NAMESPACE_URI) {
		fail(xs, XML_STREAM_POLICY_VIOLATION, "namespace URI longer than %d bytes",
		    XML_STREAM_MAX_NAMESPACE_URI);
		return;
	}
	buf_append(&xs->pending, prefix ? prefix : "", prefix ? strlen(prefix) + 1 : 1);
	buf_append(&xs->pending, uri ? uri : "", uri ? strlen(uri) + 1 : 1);
}

/* Element `el` was just created: give it its declarations and attributes. */
static void fill_element(struct xml_stream *xs, int el, const XML_Char **atts)
{
	/* (Not buf_head: it may be "" or NULL + 0 when nothing is pending.) */
	size_t used = buf_used(&xs->pending);
	const char *p = used ? xs->pending.data + xs->pending.off : NULL;
	const char *end = p ? p + used : NULL;
	while (p != NULL && p < end) {
		const char *prefix = p;
		const char *uri = prefix + strlen(prefix) + 1;
		stanza_add_decl(xs->tree, el, prefix, uri);
		p = uri + strlen(uri) + 1;
	}
	buf_reset(&xs->pending);
	for (size_t i = 0; atts[i] != NULL; i += 2)
		stanza_add_attr_qname(xs->tree, el, atts[i], NS_SEP, atts[i + 1]);
}

/* After an event has been delivered: honour a pause asked for in it. */
static void after_event(struct xml_stream *xs, uint64_t end)
{
	if (xs->pause_requested && xs->error == XML_STREAM_OK) {
		xs->pause_at = end;
		XML_StopParser(xs->parser, XML_TRUE);
	}
}

static void open_stream(struct xml_stream *xs, const XML_Char *name, const XML_Char **atts)
{
	uint64_t end = event_end(xs);
	stanza_clear(xs->tree);
	int root = stanza_add_child_qname(xs->tree, STANZA_NONE, name, NS_SEP);
	fill_element(xs, root, atts);
	xs->level = 1;
	xs->cur = STANZA_NONE;
	if (!within_budget(xs))
		return;
	if (!stanza_is(xs->tree, root, NS_STREAMS, "stream")) {
		fail(xs, XML_STREAM_INVALID_NAMESPACE, "stream element is {%s}%s, not {%s}stream",
		    stanza_ns(xs->tree, root), stanza_name(xs->tree, root), NS_STREAMS);
		return;
	}
	if (stanza_prefix(xs->tree, root) == NULL) {
		fail(xs, XML_STREAM_BAD_NAMESPACE_PREFIX,
		    "the stream namespace must be declared with a prefix");
		return;
	}
	if (end > xs->max_stanza) {
		fail(xs, XML_STREAM_POLICY_VIOLATION, "stream header larger than %zu bytes",
		    xs->max_stanza);
		return;
	}
	xs->mark = xs->last_event = end;

	struct xml_stream_header h = {
		.to = stanza_get_attr(xs->tree, root, "to"),
		.from = stanza_get_attr(xs->tree, root, "from"),
		.id = stanza_get_attr(xs->tree, root, "id"),
		.version = stanza_get_attr(xs->tree, root, "version"),
		.lang = stanza_get_attr_ns(xs->tree, root, NS_XML, "lang"),
		.content_ns = stanza_find_decl(xs->tree, root, NULL),
		.prefix = stanza_prefix(xs->tree, root),
		.element = xs->tree,
	};
	if (xs->cb.stream_open != NULL) {
		xs->in_callback = true;
		xs->cb.stream_open(xs->arg, &h);
		xs->in_callback = false;
	}
	after_event(xs, end);
}

static void XMLCALL on_start(void *u, const XML_Char *name, const XML_Char **atts)
{
	struct xml_stream *xs = u;
	if (stopped(xs) || !tag_within_limit(xs, event_end(xs)))
		return;
	if (!xs->fragment && xs->level == 0) {
		open_stream(xs, name, atts);
		return;
	}
	unsigned base = stanza_base(xs);
	if (xs->level == base) {
		/* A new stanza: reuse the tree's memory. */
		stanza_clear(xs->tree);
		xs->cur = STANZA_NONE;
		xs->mark = event_start(xs);
	}
	if (!within_limit(xs, event_end(xs)))
		return;
	xs->level++;
	if (xs->level - base > xs->max_depth) {
		fail(xs, XML_STREAM_POLICY_VIOLATION, "stanza nested deeper than %u elements",
		    xs->max_depth);
		return;
	}
	int el = stanza_add_child_qname(xs->tree, xs->cur, name, NS_SEP);
	fill_element(xs, el, atts);
	xs->cur = el;
	within_budget(xs);
}

static void XMLCALL on_end(void *u, const XML_Char *name)
{
	struct xml_stream *xs = u;
	(void)name;
	if (stopped(xs) || !tag_within_limit(xs, event_end(xs)))
		return;
	uint64_t end = event_end(xs);
	unsigned base = stanza_base(xs);

	if (!xs->fragment && xs->level == 1) {
		xs->level = 0;
		xs->stream_closed = true;
		xs->mark = xs->last_event = end;
		if (xs->cb.stream_close != NULL) {
			xs->in_callback = true;
			xs->cb.stream_close(xs->arg);
			xs->in_callback = false;
		}
		after_event(xs, end);
		return;
	}
	if (!within_limit(xs, end))
		return;
	xs->level--;
	if (xs->level > base) {
		xs->cur = stanza_parent(xs->tree, xs->cur);
		return;
	}
	/* A complete stanza. */
	xs->cur = STANZA_NONE;
	xs->mark = end;
	if (!xs->fragment && xs->cb.stanza != NULL) {
		xs->in_callback = xs->delivering = true;
		xs->cb.stanza(xs->arg, xs->tree);
		xs->in_callback = xs->delivering = false;
	}
	after_event(xs, end);
}

static void XMLCALL on_text(void *u, const XML_Char *s, int len)
{
	struct xml_stream *xs = u;
	if (stopped(xs))
		return;
	uint64_t end = event_end(xs);
	if (xs->level == stanza_base(xs)) {
		/* Between stanzas only whitespace (keepalives) may appear. */
		for (int i = 0; i < len; i++) {
			if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
				fail(xs, XML_STREAM_BAD_FORMAT, "text between stanzas");
				return;
			}
		}
		xs->mark = xs->last_event = end;
		return;
	}
	if (within_limit(xs, end)) {
		stanza_add_text_len(xs->tree, xs->cur, s, (size_t)len);
		within_budget(xs);
	}
}

static void XMLCALL on_xml_decl(void *u, const XML_Char *version, const XML_Char *encoding,
    int standalone)
{
	struct xml_stream *xs = u;
	(void)version;
	(void)standalone;
	if (stopped(xs) || !tag_within_limit(xs, event_end(xs)))
		return;
	xs->last_event = event_end(xs);
	if (encoding != NULL && strcasecmp(encoding, "UTF-8") != 0)
		fail(xs, XML_STREAM_UNSUPPORTED_ENCODING, "encoding '%s' (only UTF-8 is allowed)",
		    encoding);
}

/* What RFC 6120 §11.1 forbids: each refused where expat first reports it. */
static void XMLCALL on_doctype(void *u, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	if (!stopped(u))
		fail(u, XML_STREAM_RESTRICTED_XML, "document type declaration");
}

static void XMLCALL on_entity_decl(void *u, const XML_Char *name, int is_param,
    const XML_Char *value, int value_len, const XML_Char *base, const XML_Char *sysid,
    const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	if (!stopped(u))
		fail(u, XML_STREAM_RESTRICTED_XML, "entity declaration");
}

static void XMLCALL on_comment(void *u, const XML_Char *data)
{
	(void)data;
	if (!stopped(u))
		fail(u, XML_STREAM_RESTRICTED_XML, "comment");
}

static void XMLCALL on_pi(void *u, const XML_Char *target, const XML_Char *data)
{
	(void)data;
	if (!stopped(u))
		fail(u, XML_STREAM_RESTRICTED_XML, "processing instruction <?%.32s", target);
}

/* --- life cycle ------------------------------------------------------------ */

/* A fresh random hash salt for each document, as expat would draw itself
 * (it keeps hash flooding from being planned), but taken from a pool
 * filled by one getrandom() per 256 documents instead of one system call
 * (and a getenv) per stanza: sm and c2s start a document per stanza. */
static unsigned long next_salt(void)
{
	static unsigned long pool[256];
	static size_t left;

	if (left == 0) {
		size_t got = 0;
		while (got < sizeof(pool)) {
			ssize_t n = getrandom((char *)pool + got, sizeof(pool) - got, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return 0; /* 0: expat draws the salt itself */
			got += (size_t)n;
		}
		left = sizeof(pool) / sizeof(pool[0]);
	}
	unsigned long salt = pool[--left];
	pool[left] = 0;
	return salt;
}

/* XML_ParserReset clears handlers and settings: set them all again. */
static void configure(struct xml_stream *xs)
{
	XML_Parser p = xs->parser;
	unsigned long salt = next_salt();

	if (salt != 0)
		XML_SetHashSalt(p, salt);

	XML_SetUserData(p, xs);
	XML_SetReturnNSTriplet(p, 1);
	XML_SetElementHandler(p, on_start, on_end);
	XML_SetCharacterDataHandler(p, on_text);
	XML_SetStartNamespaceDeclHandler(p, on_ns_start);
	XML_SetXmlDeclHandler(p, on_xml_decl);
	XML_SetStartDoctypeDeclHandler(p, on_doctype);
	XML_SetEntityDeclHandler(p, on_entity_decl);
	XML_SetCommentHandler(p, on_comment);
	XML_SetProcessingInstructionHandler(p, on_pi);
	XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
	XML_SetBillionLaughsAttackProtectionMaximumAmplification(p, 2.0f);
	XML_SetBillionLaughsAttackProtectionActivationThreshold(p, 64 * 1024);
	if (XML_SetReparseDeferralEnabled != NULL)
		XML_SetReparseDeferralEnabled(p, XML_FALSE);
}

static void clear_state(struct xml_stream *xs)
{
	stanza_clear(xs->tree);
	buf_reset(&xs->pending);
	xs->cur = STANZA_NONE;
	xs->level = 0;
	xs->fragment = false;
	xs->stream_closed = false;
	xs->fed = xs->mark = xs->last_event = xs->pause_at = 0;
	xs->rescan = xs->rescan_from = 0;
	xs->in_callback = xs->delivering = false;
	xs->pause_requested = false;
	xs->needs_reset = false;
	xs->error = XML_STREAM_OK;
	xs->errtext[0] = '\0';
}

struct xml_stream *xml_stream_new(const struct xml_stream_callbacks *cb, void *arg,
    size_t max_stanza_bytes, unsigned max_depth, char *err, size_t errlen)
{
	XML_Parser p = XML_ParserCreateNS("UTF-8", NS_SEP);
	if (p == NULL) {
		errf(err, errlen, "cannot create an XML parser (out of memory)");
		return NULL;
	}
	struct xml_stream *xs = xcalloc(1, sizeof(*xs));
	xs->parser = p;
	if (cb != NULL)
		xs->cb = *cb;
	xs->arg = arg;
	xs->max_stanza = max_stanza_bytes ? max_stanza_bytes : XML_STREAM_DEFAULT_MAX_STANZA;
	xs->max_depth = max_depth ? max_depth : XML_STREAM_DEFAULT_MAX_DEPTH;
	xs->max_entries = xs->max_stanza / XML_STREAM_BYTES_PER_ENTRY;
	if (xs->max_entries < XML_STREAM_MIN_ENTRIES)
		xs->max_entries = XML_STREAM_MIN_ENTRIES;
	xs->tree = stanza_new_empty();
	buf_init(&xs->pending);
	clear_state(xs);
	configure(xs);
	return xs;
}

void xml_stream_free(struct xml_stream **xsp)
{
	struct xml_stream *xs = *xsp;
	if (xs == NULL)
		return;
	XML_ParserFree(xs->parser);
	stanza_free(&xs->tree);
	buf_free(&xs->pending);
	free(xs);
	*xsp = NULL;
}

void xml_stream_reset(struct xml_stream *xs)
{
	XML_ParserReset(xs->parser, "UTF-8");
	configure(xs);
	clear_state(xs);
}

enum xml_stream_error xml_stream_error(const struct xml_stream *xs)
{
	return xs->error;
}

void xml_stream_pause(struct xml_stream *xs)
{
	if (xs->in_callback)
		xs->pause_requested = true;
}

struct stanza *xml_stream_take_stanza(struct xml_stream *xs)
{
	if (!xs->delivering)
		return NULL;
	struct stanza *st = xs->tree;
	xs->tree = stanza_new_empty();
	xs->delivering = false;
	return st;
}

void xml_stream_shrink(struct xml_stream *xs, size_t keep)
{
	/* Only between stanzas: mid-stanza the tree is in use. */
	if (xs->level > stanza_base(xs) || xs->in_callback)
		return;
	stanza_shrink(xs->tree, keep);
	buf_shrink(&xs->pending, keep);
}

static ssize_t failed(struct xml_stream *xs, char *err, size_t errlen)
{
	errf(err, errlen, "%s", xs->errtext);
	return -1;
}

/* RFC 6120 §11.6 (see xml_stream.h): the first two bytes of a document
 * say whether it is UTF-16 or UTF-32, which expat would otherwise accept.
 * They may arrive one at a time, so this looks at whichever of them p
 * holds (xs->fed is where p starts). */
static bool utf8_document(struct xml_stream *xs, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (uint64_t at = xs->fed; at < 2 && at - xs->fed < n; at++) {
		unsigned char c = p[at - xs->fed];
		if (c == 0x00) {
			fail_at(xs, XML_STREAM_UNSUPPORTED_ENCODING, at,
			    "NUL byte: UTF-16 or UTF-32, only UTF-8 is allowed");
			return false;
		}
		if (at == 0 && (c == 0xFE || c == 0xFF)) {
			fail_at(xs, XML_STREAM_UNSUPPORTED_ENCODING, at,
			    "UTF-16 or UTF-32 byte order mark, only UTF-8 is allowed");
			return false;
		}
	}
	return true;
}

ssize_t xml_stream_feed(struct xml_stream *xs, const void *data, size_t len,
    char *err, size_t errlen)
{
	const char *bytes = data;
	uint64_t start = xs->fed;

	if (xs->error != XML_STREAM_OK)
		return failed(xs, err, errlen);
	if (xs->needs_reset) {
		fail_at(xs, XML_STREAM_INTERNAL_SERVER_ERROR, xs->fed,
		    "parser fed after a pause without a reset");
		return failed(xs, err, errlen);
	}
	if (xs->fed < 2 && !utf8_document(xs, data, len))
		return failed(xs, err, errlen);
	for (size_t done = 0; done < len;) {
		size_t n = len - done < FEED_SLICE ? len - done : FEED_SLICE;
		xs->fed += n;
		enum XML_Status r = XML_Parse(xs->parser, bytes + done, (int)n, XML_FALSE);
		if (r == XML_STATUS_ERROR && xs->error == XML_STREAM_OK)
			expat_failed(xs);
		if (xs->error != XML_STREAM_OK)
			return failed(xs, err, errlen);
		if (r == XML_STATUS_SUSPENDED) {
			xs->needs_reset = true;
			return (ssize_t)(xs->pause_at - start);
		}
		done += n;
		if (xs->stream_closed)
			continue;
		/* What expat holds but has not reported is bounded too. */
		if (xs->fed - xs->mark > xs->max_stanza) {
			fail_at(xs, XML_STREAM_POLICY_VIOLATION, xs->mark,
			    "stanza larger than %zu bytes", xs->max_stanza);
			return failed(xs, err, errlen);
		}
		/* So are one tag, and expat's re-reading of it (see top). */
		uint64_t pending = xs->fed - xs->last_event;
		if (pending > XML_STREAM_MAX_TAG) {
			fail_at(xs, XML_STREAM_POLICY_VIOLATION, xs->last_event,
			    "tag longer than %d bytes", XML_STREAM_MAX_TAG);
			return failed(xs, err, errlen);
		}
		if (xs->rescan_from != xs->last_event) {
			xs->rescan_from = xs->last_event;
			xs->rescan = 0;
		}
		xs->rescan += pending;
		if (xs->rescan > XML_STREAM_TAG_RESCAN_BUDGET) {
			fail_at(xs, XML_STREAM_POLICY_VIOLATION, xs->last_event,
			    "a tag of %llu bytes so far arrived in too many small pieces",
			    (unsigned long long)pending);
			return failed(xs, err, errlen);
		}
	}
	return (ssize_t)len;
}

int xml_stream_parse_stanza(struct xml_stream *xs, const void *data, size_t len,
    struct stanza *into, char *err, size_t errlen)
{
	xml_stream_reset(xs);
	xs->fragment = true;
	xs->needs_reset = true;
	stanza_clear(into);
	if (len > xs->max_stanza || len > INT_MAX) {
		fail_at(xs, XML_STREAM_POLICY_VIOLATION, 0, "stanza larger than %zu bytes",
		    xs->max_stanza);
		return (int)failed(xs, err, errlen);
	}
	if (!utf8_document(xs, data, len))
		return (int)failed(xs, err, errlen);
	struct stanza *own = xs->tree;
	xs->tree = into;
	xs->fed = len;
	enum XML_Status r = XML_Parse(xs->parser, data, (int)len, XML_TRUE);
	if (r == XML_STATUS_ERROR && xs->error == XML_STREAM_OK)
		expat_failed(xs);
	xs->tree = own;
	if (xs->error != XML_STREAM_OK) {
		stanza_clear(into);
		return (int)failed(xs, err, errlen);
	}
	return 0;
}
