/*
 * stanza.h — the compact stanza tree: one XML element with everything
 * inside it, as the servers read, build, copy and write it. Parsing lives in
 * xml_stream.h; this file owns the tree and its serializer (stanza_write.c)
 * and must not know about sockets, streams' state or expat.
 *
 * Layout: flat arrays of nodes (elements and text), attributes, namespace
 * declarations and distinct namespace URIs, all pointing by index into one
 * character buffer. Nothing is allocated per element or attribute, the
 * arrays start small and grow by doubling, and clearing a tree keeps its
 * memory, so a parser reuses one tree for every stanza of a connection.
 *
 * Nodes are named by small integers (int). Node 0 is the root element; a
 * missing node is STANZA_NONE. Every read function accepts STANZA_NONE (or
 * any invalid index) and answers NULL / STANZA_NONE, so lookups chain:
 *	stanza_get_attr(st, stanza_find_child(st, root, NS_BIND, "bind"), "x")
 * Strings returned point into the tree: valid until the tree is changed
 * (any add or set may move the buffer), cleared or freed.
 *
 * Namespaces are URIs; "" is "no namespace". Each element keeps the prefix
 * it was written with (NULL when unprefixed) so prefixed names round-trip;
 * namespace declarations seen on an element are kept too, but equality
 * ignores them and the serializer adds whatever declarations it needs.
 * Names given to the build functions are trusted (server code), not checked:
 * pass valid XML names. A name written "prefix:local" sets that prefix.
 */
#ifndef PARLEY_STANZA_H
#define PARLEY_STANZA_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Namespaces the core protocol uses everywhere. */
#define NS_XML "http://www.w3.org/XML/1998/namespace"
#define NS_STREAMS "http://etherx.jabber.org/streams"
#define NS_CLIENT "jabber:client"
#define NS_SERVER "jabber:server"
#define NS_COMPONENT_ACCEPT "jabber:component:accept"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"

#define STANZA_NONE (-1)

struct stanza;

/* --- life cycle ---------------------------------------------------------- */

/* A tree whose root element is `name` (may be "prefix:local") in namespace
 * `ns` (NULL or "" for none). */
struct stanza *stanza_new(const char *ns, const char *name);
/* A tree with no root yet, for a parser or stanza_add_child(STANZA_NONE). */
struct stanza *stanza_new_empty(void);
void stanza_free(struct stanza **stp);
/* Forget the contents, keep the memory. */
void stanza_clear(struct stanza *st);
/* Give the memory back if the tree is holding more than `keep` bytes (a
 * connection that once received a big stanza should not keep its arrays). */
void stanza_shrink(struct stanza *st, size_t keep);
/* Bytes allocated for the arrays (capacity, not use): memory accounting.
 * An element or text node costs 32 bytes, an attribute 20, a namespace
 * declaration 12, plus their strings. */
size_t stanza_allocated(const struct stanza *st);
/* Elements, text nodes, attributes and namespace declarations stored
 * (removed ones included until a clear): what a parser's budget counts. */
size_t stanza_count_entries(const struct stanza *st);
/* Distinct namespace URIs in the tree, "no namespace" not counted. */
size_t stanza_count_namespaces(const struct stanza *st);
/* An exact copy (same node numbers), sized to what is used. */
struct stanza *stanza_copy(const struct stanza *st);
/* Same names, namespaces, prefixes, attributes (in order) and text, node
 * for node; namespace declarations are syntax and are not compared. */
bool stanza_equal(const struct stanza *a, const struct stanza *b);

/* --- reading ------------------------------------------------------------- */

/* 0, or STANZA_NONE if the tree is empty. */
int stanza_root(const struct stanza *st);
bool stanza_is_element(const struct stanza *st, int node);
bool stanza_is_text(const struct stanza *st, int node);
/* Local name, namespace URI ("" for none) and prefix (NULL when none). */
const char *stanza_name(const struct stanza *st, int el);
const char *stanza_ns(const struct stanza *st, int el);
const char *stanza_prefix(const struct stanza *st, int el);
/* True if `el` is the element {ns}name (ns NULL: any namespace). */
bool stanza_is(const struct stanza *st, int el, const char *ns, const char *name);

int stanza_parent(const struct stanza *st, int node);
/* Children in document order, text nodes included. */
int stanza_first_child(const struct stanza *st, int node);
int stanza_next_sibling(const struct stanza *st, int node);
/* The same, skipping text nodes. */
int stanza_first_element(const struct stanza *st, int el);
int stanza_next_element(const struct stanza *st, int node);
/* First child element {ns}name of `el` (ns NULL: any namespace), and the
 * next sibling after `node` that matches, for repeated children:
 *	for (c = stanza_find_child(st, q, NS_ROSTER, "item"); c >= 0;
 *	    c = stanza_find_next(st, c, NS_ROSTER, "item"))  */
int stanza_find_child(const struct stanza *st, int el, const char *ns, const char *name);
int stanza_find_next(const struct stanza *st, int node, const char *ns, const char *name);

/* Attribute with no namespace, or NULL. "xml:lang" (any "xml:" name) looks
 * in the XML namespace. */
const char *stanza_get_attr(const struct stanza *st, int el, const char *name);
/* Attribute {ns}name (ns NULL or "": no namespace). */
const char *stanza_get_attr_ns(const struct stanza *st, int el, const char *ns,
    const char *name);
/* Walking the attributes, in document order. */
int stanza_first_attr(const struct stanza *st, int el);
int stanza_next_attr(const struct stanza *st, int attr);
const char *stanza_attr_name(const struct stanza *st, int attr);
const char *stanza_attr_ns(const struct stanza *st, int attr);
const char *stanza_attr_prefix(const struct stanza *st, int attr);
const char *stanza_attr_value(const struct stanza *st, int attr);

/* Text: for a text node, its characters; for an element, the characters of
 * its first text child ("" if none) — what <body/>, <status/>, <jid/> hold.
 * Text never contains NUL (XML cannot carry it; the builder stores U+FFFD
 * instead), so the string is complete and stanza_text_len() is strlen(). */
const char *stanza_text(const struct stanza *st, int node);
size_t stanza_text_len(const struct stanza *st, int node);
/* Every character below `node`, concatenated in document order. */
void stanza_text_content(const struct stanza *st, int node, struct buf *out);

/* Namespace declarations written on `el` (xmlns / xmlns:p attributes). */
int stanza_first_decl(const struct stanza *st, int el);
int stanza_next_decl(const struct stanza *st, int decl);
/* Prefix (NULL for the default namespace) and URI ("" undeclares). */
const char *stanza_decl_prefix(const struct stanza *st, int decl);
const char *stanza_decl_uri(const struct stanza *st, int decl);
/* The URI `el` itself declares for prefix (NULL: default), or NULL. */
const char *stanza_find_decl(const struct stanza *st, int el, const char *prefix);

/* --- building ------------------------------------------------------------ */

/* Append a child element to `parent` and return it. ns NULL means the
 * parent's namespace (<body/> in a message); with parent STANZA_NONE this
 * creates the root of an empty tree. */
int stanza_add_child(struct stanza *st, int parent, const char *ns, const char *name);
/* <name>text</name> in one call (ns as above). */
int stanza_add_child_text(struct stanza *st, int parent, const char *ns, const char *name,
    const char *text);
/* Append character data; adjacent text merges into one node. A NUL in
 * text (only stanza_add_text_len can pass one) is stored as U+FFFD, which is
 * what the serializer writes for it. text may point into this tree. */
void stanza_add_text(struct stanza *st, int parent, const char *text);
void stanza_add_text_len(struct stanza *st, int parent, const char *text, size_t len);
/* Set (replace in place) or, with value NULL, remove an attribute. An
 * element's namespace is not an attribute: give it to stanza_add_child, or
 * use stanza_declare_ns; "xmlns" and "xmlns:p" are refused here. */
void stanza_set_attr(struct stanza *st, int el, const char *name, const char *value);
void stanza_set_attr_ns(struct stanza *st, int el, const char *ns, const char *name,
    const char *value);
/* Declare a namespace on `el` (prefix NULL: the default) even if no name
 * uses it, e.g. xmlns:db on an s2s stream header. */
void stanza_declare_ns(struct stanza *st, int el, const char *prefix, const char *uri);
/* Copy node `node` of `src` (with everything below it) under `parent` of
 * `dst` (STANZA_NONE: as the root of an empty dst). src may be dst. */
int stanza_import(struct stanza *dst, int parent, const struct stanza *src, int node);
/* Detach a node from its parent (the space is reclaimed at clear/copy). */
void stanza_remove(struct stanza *st, int node);

/* For parsers: append an element or attribute named the way namespace-
 * aware parsers report names — "uri<sep>local<sep>prefix", "uri<sep>local"
 * or just "local". Attributes are appended as given, not de-duplicated. */
int stanza_add_child_qname(struct stanza *st, int parent, const char *qname, char sep);
void stanza_add_attr_qname(struct stanza *st, int el, const char *qname, char sep,
    const char *value);
/* For parsers: append a namespace declaration to el as given (prefix NULL
 * or "": the default), not de-duplicated: the parser has refused a prefix
 * declared twice in one tag. stanza_declare_ns checks; this does not, so a
 * tag with thousands of declarations costs linear time. */
void stanza_add_decl(struct stanza *st, int el, const char *prefix, const char *uri);

/* --- the attributes every stanza has ------------------------------------- */

const char *stanza_to(const struct stanza *st);
const char *stanza_from(const struct stanza *st);
const char *stanza_id(const struct stanza *st);
const char *stanza_type(const struct stanza *st);
void stanza_set_to(struct stanza *st, const char *to);
void stanza_set_from(struct stanza *st, const char *from);
void stanza_set_id(struct stanza *st, const char *id);
void stanza_set_type(struct stanza *st, const char *type);

/* Turn a received stanza into its error reply, in place (RFC 6120 §8.3):
 * swap to and from, set type='error' and append
 *	<error type='TYPE'><CONDITION xmlns='urn:...:xmpp-stanzas'/>
 *	[<text xmlns='urn:...:xmpp-stanzas'>TEXT</text>]</error>
 * in the stanza's own namespace. type is auth|cancel|continue|modify|wait;
 * text may be NULL. The original payload is kept. Returns -1 (and changes
 * nothing) if the stanza is itself an error, which must never be answered
 * with another (§8.3.1), or has no root. */
int stanza_make_error(struct stanza *st, const char *type, const char *condition,
    const char *text);
/* <stream:error><CONDITION xmlns='urn:...:xmpp-streams'/>[<text/>]</stream:error>
 * (RFC 6120 §4.9.2); text may be NULL. */
struct stanza *stanza_new_stream_error(const char *condition, const char *text);

/* --- stream namespaces (stanza_ns.c) -------------------------------------- */

/* Copy `node` of src under `parent` of dst (STANZA_NONE: as the root of an
 * empty dst), with the stanza namespaces (jabber:client, jabber:server,
 * jabber:component:accept) turned into `edge_ns` wherever they appear and
 * everything else kept. Inside the suite stanzas travel as jabber:client;
 * each edge translates to and from its own stream's namespace. `qname` is
 * scratch space the caller reuses. */
void stanza_translate_ns(struct stanza *dst, int parent, const struct stanza *src, int node,
    const char *edge_ns, struct buf *qname);

/* --- writing (stanza_write.c) -------------------------------------------- */

/* Serialize the tree (or one node and what is below it) as XML appended to
 * out. stream_ns is the content namespace of the stream the bytes go into
 * (e.g. NS_CLIENT), whose header declared it as the default and bound the
 * prefix "stream" to NS_STREAMS (stanza_write_stream_header does); elements
 * in that namespace then carry no xmlns. With stream_ns NULL the output
 * stands alone: every namespace used is declared in it (the form for the
 * internal protocol and storage; xml_stream_parse_stanza reads it back).
 *
 * A prefix that the written element's descendants use but that is bound
 * outside it (on the stream header, or on an ancestor when writing one
 * node) is declared once, on the written element, not on every use.
 *
 * Text and attribute values escape all five predefined entities, & < > ' "
 * (RFC 6120 §11.1), and CR; attribute values (in double quotes) also
 * escape TAB and LF, so values survive attribute-value normalization.
 * Characters XML cannot carry (controls, bad UTF-8) become U+FFFD. */
void stanza_write(const struct stanza *st, struct buf *out, const char *stream_ns);
void stanza_write_node(const struct stanza *st, int node, struct buf *out,
    const char *stream_ns);

/* The largest output for a given input. Each byte of character data or of
 * an attribute value becomes at most 6 bytes ("'" is "&apos;", "\"" is
 * "&quot;"; a byte XML cannot carry becomes U+FFFD, 3); markup never grows
 * (whitespace in tags and <a></a> shrink, end tags are copied). On top of
 * that, the written element gets the declarations it inherits — its content
 * namespace and the prefixes bound outside it that it uses, each written
 * once, each no larger than 6 times the declaration it copies — plus at
 * most ` xmlns=""` when it inherited no default namespace at all.
 *
 * So a stanza parsed from N bytes of a stream whose header took H bytes is
 * written, into a stream or standalone, in at most
 * stanza_write_max_size(N, H) bytes: a sender that must fit a frame limit
 * checks the serialized size against it, and a receiver re-parsing what a
 * peer serialized (internal protocol) must allow that much. */
#define STANZA_WRITE_MAX_GROWTH 6
#define STANZA_WRITE_SLACK 16

static inline size_t stanza_write_max_size(size_t stanza_bytes, size_t header_bytes)
{
	return STANZA_WRITE_MAX_GROWTH * (stanza_bytes + header_bytes) + STANZA_WRITE_SLACK;
}

/* A stream header to fill in: <stream:stream xmlns='content_ns'
 * xmlns:stream='http://etherx.jabber.org/streams'>; set to/from/id/version/
 * xml:lang with the setters above. */
struct stanza *stanza_new_stream_header(const char *content_ns);
/* The XML declaration and the header's open tag (never closed). */
void stanza_write_stream_header(const struct stanza *header, struct buf *out);
/* The matching close tag, </stream:stream>. */
void stanza_write_stream_close(const struct stanza *header, struct buf *out);

#endif
