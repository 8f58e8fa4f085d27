/*
 * xml_stream.h — the XMPP XML stream parser (RFC 6120 §4, §11): bytes in,
 * events out — the stream header, one complete stanza at a time, the
 * stream close — or an error naming the stream error condition to send.
 * It owns the XML rules (restricted XML, limits, namespaces of the stream
 * element); what a stanza means is the caller's business. It does no I/O,
 * never logs, and allocates nothing per stanza once warmed up.
 *
 * Feeding: any split of the input works, down to a byte at a time; a stanza
 * is delivered as soon as its last byte is fed. Whitespace between stanzas
 * (keepalives) is accepted silently and produces no event.
 *
 * Events are callbacks run from inside xml_stream_feed(). What they are
 * given is BORROWED: valid until the callback returns. A stanza callback may
 * keep the stanza with xml_stream_take_stanza() (no copy) or stanza_copy().
 * A callback must not reset or free the parser; to stop (STARTTLS, SASL
 * success, closing), it calls xml_stream_pause(): feed then returns how many
 * bytes it consumed, up to the end of that event, and the parser must be
 * reset before it is fed again.
 *
 * Limits. Each is policy-violation when exceeded (RFC 6120 §4.9.3.14: the
 * input is well-formed XML, but over a limit of this server), and the
 * stream header is held to each as if it were a stanza:
 * - max_stanza_bytes counts the bytes of input from the first byte of a
 *   stanza's start tag to the last byte of its end tag; any run of bytes
 *   not yet forming a complete token is held to it too.
 * - max_depth counts nested elements with the stanza itself at depth 1.
 * - One tag — a start tag with its attributes, an end tag, the XML
 *   declaration; strictly, any run of input that has not yet produced an
 *   event — may be at most XML_STREAM_MAX_TAG bytes, whatever the stanza
 *   limit (a 60 KiB attribute value is fine, a 70 KiB one is not).
 *   xml_stream_parse_stanza() has its input whole, so nothing is re-read,
 *   and it reads what stanza_write() made of a stanza, whose tags escaping
 *   may have grown: it applies neither this limit nor the next.
 * - Expat reads an unfinished tag again from its start each time more of
 *   it is fed, so a tag fed a byte at a time costs its length squared. That
 *   re-reading is capped at XML_STREAM_TAG_RESCAN_BUDGET bytes per tag: a
 *   2 KiB tag may still come a byte per feed, a 64 KiB tag needs pieces of
 *   1 KiB on average (a TLS record or a TCP segment is larger).
 * - A stanza's tree holds at most max_stanza_bytes / XML_STREAM_BYTES_PER_ENTRY
 *   entries (never fewer than XML_STREAM_MIN_ENTRIES): elements, text
 *   runs, attributes and namespace declarations together, 32768 for the
 *   default 256 KiB. Real stanzas use one entry per 12 to 40 bytes; only
 *   <a/><a/>… gets near one per 4. With 32-byte entries (stanza.h), the tree
 *   of an accepted stanza stays under 5 times max_stanza_bytes.
 * - A stanza uses at most XML_STREAM_MAX_NAMESPACES distinct namespace URIs
 *   (its content namespace and xml: included), and no namespace URI may be
 *   longer than XML_STREAM_MAX_NAMESPACE_URI bytes.
 *
 * Encoding (RFC 6120 §11.6): only UTF-8. A stream that starts with a UTF-16
 * or UTF-32 byte order mark (FE FF, FF FE), or has NUL as its first or
 * second byte (UTF-16 without one: "<\0", "\0<"), is refused at once with
 * unsupported-encoding, as is an XML declaration naming another encoding.
 * A UTF-8 byte order mark (EF BB BF) is accepted and skipped: XML 1.0
 * §4.3.3 allows it, and the stream is UTF-8. The same holds for the new
 * stream after xml_stream_reset() and for xml_stream_parse_stanza().
 *
 * What a parsed stanza becomes when written out again is bounded by
 * stanza_write_max_size() (stanza.h).
 */
#ifndef PARLEY_XML_STREAM_H
#define PARLEY_XML_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "stanza.h"

#define XML_STREAM_DEFAULT_MAX_STANZA (256 * 1024)
#define XML_STREAM_DEFAULT_MAX_DEPTH 32

/* The fixed limits described above. */
#define XML_STREAM_MAX_TAG (64 * 1024)
#define XML_STREAM_TAG_RESCAN_BUDGET (4 * 1024 * 1024)
#define XML_STREAM_BYTES_PER_ENTRY 8
#define XML_STREAM_MIN_ENTRIES 64
#define XML_STREAM_MAX_NAMESPACES 256
#define XML_STREAM_MAX_NAMESPACE_URI 1024

/* Each error names one RFC 6120 §4.9.3 stream error condition. */
enum xml_stream_error {
	XML_STREAM_OK = 0,
	XML_STREAM_NOT_WELL_FORMED,	/* bad XML, bad UTF-8, bytes after the close */
	XML_STREAM_RESTRICTED_XML,	/* DTD, entity, PI, comment (§11.1) */
	XML_STREAM_POLICY_VIOLATION,	/* over one of the limits above */
	XML_STREAM_INVALID_NAMESPACE,	/* root is not {streams}stream */
	XML_STREAM_BAD_NAMESPACE_PREFIX, /* stream namespace not on a prefix (§4.8.5) */
	XML_STREAM_UNSUPPORTED_ENCODING, /* not UTF-8: BOM, NULs, declaration (§11.6) */
	XML_STREAM_BAD_FORMAT,		/* well-formed but not a stream: text between stanzas */
	XML_STREAM_INTERNAL_SERVER_ERROR, /* parser out of memory, or misuse */
};

/* The condition element's name: "not-well-formed", "restricted-xml"… */
const char *xml_stream_condition(enum xml_stream_error e);

/* The stream header, as the stream_open callback sees it. Strings are NULL
 * when absent and point into `element`. */
struct xml_stream_header {
	const char *to, *from, *id, *version, *lang;
	/* The default namespace declared on the stream element (jabber:client,
	 * jabber:server, jabber:component:accept…), NULL if none. */
	const char *content_ns;
	/* The prefix of the stream element (normally "stream"). */
	const char *prefix;
	/* The whole element (root only): other attributes and declarations,
	 * e.g. stanza_find_decl(element, 0, "db") for dialback. */
	const struct stanza *element;
};

struct xml_stream_callbacks {
	void (*stream_open)(void *arg, const struct xml_stream_header *header);
	/* One complete child of the stream root; node 0 is the stanza. */
	void (*stanza)(void *arg, struct stanza *stanza);
	void (*stream_close)(void *arg);
};

struct xml_stream;

/* Limits of 0 take the defaults above. cb may be NULL for a parser used
 * only with xml_stream_parse_stanza(). NULL on failure, with a reason. */
struct xml_stream *xml_stream_new(const struct xml_stream_callbacks *cb, void *arg,
    size_t max_stanza_bytes, unsigned max_depth, char *err, size_t errlen);
void xml_stream_free(struct xml_stream **xsp);

/* Start over for a new stream (after STARTTLS or SASL success), keeping the
 * expat parser and the tree's memory. Clears errors and pauses. */
void xml_stream_reset(struct xml_stream *xs);

/* Parse len bytes. Returns the number consumed (len, unless a callback
 * paused), or -1 with the reason in err and the condition in
 * xml_stream_error(); errors are sticky until reset. */
ssize_t xml_stream_feed(struct xml_stream *xs, const void *data, size_t len,
    char *err, size_t errlen);

enum xml_stream_error xml_stream_error(const struct xml_stream *xs);

/* From a callback: stop after this event (see above). */
void xml_stream_pause(struct xml_stream *xs);

/* From the stanza callback: take ownership of the stanza being delivered;
 * the caller frees it with stanza_free(). The parser starts a new tree. */
struct stanza *xml_stream_take_stanza(struct xml_stream *xs);

/* Give back the tree's memory if it holds more than `keep` bytes (when the
 * connection goes idle). */
void xml_stream_shrink(struct xml_stream *xs, size_t keep);

/* Parse one standalone element — what stanza_write(..., NULL) produces, e.g.
 * the stanza inside an internal-protocol frame — into `into` (cleared
 * first; its memory is reused). Same rules and limits as a stream; no
 * callbacks run. The parser is reset before and must be reset again before
 * it is fed a stream. Returns 0, or -1 with err and xml_stream_error(). */
int xml_stream_parse_stanza(struct xml_stream *xs, const void *data, size_t len,
    struct stanza *into, char *err, size_t errlen);

#endif
