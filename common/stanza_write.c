/*
 * stanza_write.c — the serializer: a stanza tree to XML bytes in a struct
 * buf (see stanza.h for the contract). It reads the tree only through the
 * public API and never fails: whatever a tree holds, the output is
 * namespace-well-formed XML.
 *
 * Namespaces: the writer keeps a stack of the prefix bindings in scope,
 * seeded with what the enclosing stream header declared. Each element
 * writes the declarations recorded on it (so a parsed stanza keeps its own),
 * then whatever its name and attributes still need. All declarations come
 * before the attributes, so writing a tree, parsing it and writing it again
 * gives the same bytes — the fuzz target checks that.
 *
 * Why a first pass over the tree: a prefix bound outside the written
 * element (the stream header's xmlns:db, or an ancestor's when one node is
 * written) is not in the writer's scope, and declaring it on each element
 * that uses it repeats its URI once per use: 256 KiB of <p:x/> under a
 * 15000-byte URI became 640 MB. The first pass finds such prefixes, and the
 * top element declares each once, so output stays within
 * stanza_write_max_size() of the input.
 *
 * Why the scope has a hash table: a stanza can declare thousands of
 * prefixes, and looking one up by scanning every binding in scope, for
 * every element, is quadratic. Small scopes (every real stanza) are
 * scanned; past SCOPE_LINEAR bindings a table keyed by prefix is built.
 *
 * Prefixes are kept as parsed. Only a built tree that asks for something
 * XML cannot say (two namespaces on one prefix in one tag, an attribute in
 * a namespace without a prefix) gets a generated prefix, "ns0", "ns1"...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "stanza.h"

#define SCOPE_LINEAR 16

struct binding {
	const char *prefix;	/* "" for the default namespace; NULL: see gen */
	const char *uri;
	int owner;		/* element that declared it; see OWNER_* */
	long shadowed;		/* with a table: the binding this one hides, or -1 */
	char gen[16];		/* storage for a generated prefix */
};

/* A prefix seen in this scope, and its innermost binding (-1: none now). */
struct slot {
	char *prefix;		/* NULL: never used */
	long top;
};

struct scope {
	struct binding *b;
	size_t n, cap;
	struct slot *slots;	/* NULL while the scope is scanned */
	size_t nslots, used;
	struct binding small[SCOPE_LINEAR];
};

#define OWNER_STREAM (-2)
#define OWNER_NEED (-3)		/* a prefix the top element should declare */

static void scope_init(struct scope *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->b = sc->small;
	sc->cap = ARRAY_LEN(sc->small);
}

static void scope_free(struct scope *sc)
{
	if (sc->b != sc->small)
		free(sc->b);
	for (size_t i = 0; i < sc->nslots; i++)
		free(sc->slots[i].prefix);
	free(sc->slots);
}

static const char *bprefix(const struct binding *b)
{
	return b->prefix ? b->prefix : b->gen;
}

/* The slot holding prefix, or the empty slot where it belongs. */
static struct slot *slot_probe(const struct scope *sc, const char *prefix)
{
	size_t mask = sc->nslots - 1;
	size_t i = (size_t)hash_bytes(prefix, strlen(prefix)) & mask;
	while (sc->slots[i].prefix != NULL && strcmp(sc->slots[i].prefix, prefix) != 0)
		i = (i + 1) & mask;
	return &sc->slots[i];
}

static void table_resize(struct scope *sc, size_t nslots)
{
	struct slot *old = sc->slots;
	size_t nold = sc->nslots;
	sc->slots = xreallocarray(NULL, nslots, sizeof(*sc->slots));
	memset(sc->slots, 0, nslots * sizeof(*sc->slots));
	sc->nslots = nslots;
	for (size_t i = 0; i < nold; i++)
		if (old[i].prefix != NULL)
			*slot_probe(sc, old[i].prefix) = old[i];
	free(old);
}

/* Make binding i the innermost of its prefix in the table. */
static void table_add(struct scope *sc, size_t i)
{
	if ((sc->used + 1) * 2 > sc->nslots)
		table_resize(sc, sc->nslots * 2);
	struct slot *s = slot_probe(sc, bprefix(&sc->b[i]));
	if (s->prefix == NULL) {
		s->prefix = xstrdup(bprefix(&sc->b[i]));
		s->top = -1;
		sc->used++;
	}
	sc->b[i].shadowed = s->top;
	s->top = (long)i;
}

/* Add a binding (its prefix, or gen when prefix is NULL). */
static struct binding *scope_push(struct scope *sc, const char *prefix, const char *gen,
    const char *uri, int owner)
{
	if (sc->n == sc->cap) {
		size_t cap = sc->cap * 2;
		struct binding *nb = xreallocarray(NULL, cap, sizeof(*nb));
		memcpy(nb, sc->b, sc->n * sizeof(*nb));
		if (sc->b != sc->small)
			free(sc->b);
		sc->b = nb;
		sc->cap = cap;
	}
	size_t i = sc->n++;
	struct binding *b = &sc->b[i];
	b->prefix = prefix;
	b->uri = uri;
	b->owner = owner;
	b->shadowed = -1;
	b->gen[0] = '\0';
	if (prefix == NULL)
		snprintf(b->gen, sizeof(b->gen), "%s", gen);
	if (sc->slots != NULL) {
		table_add(sc, i);
	} else if (sc->n > SCOPE_LINEAR) {
		sc->nslots = 64;
		while (sc->nslots < 4 * sc->n)
			sc->nslots *= 2;
		sc->slots = xreallocarray(NULL, sc->nslots, sizeof(*sc->slots));
		memset(sc->slots, 0, sc->nslots * sizeof(*sc->slots));
		for (size_t j = 0; j < sc->n; j++)
			table_add(sc, j);
	}
	return b;
}

static void scope_pop(struct scope *sc, int owner)
{
	while (sc->n > 0 && sc->b[sc->n - 1].owner == owner) {
		const struct binding *b = &sc->b[--sc->n];
		if (sc->slots != NULL)
			slot_probe(sc, bprefix(b))->top = b->shadowed;
	}
}

/* Innermost binding of prefix, as an index, or -1. */
static long scope_find(const struct scope *sc, const char *prefix)
{
	if (sc->slots != NULL) {
		const struct slot *s = slot_probe(sc, prefix);
		return s->prefix != NULL ? s->top : -1;
	}
	for (size_t i = sc->n; i-- > 0;)
		if (strcmp(bprefix(&sc->b[i]), prefix) == 0)
			return (long)i;
	return -1;
}

/* The namespace a prefix means here; unbound default means no namespace. */
static const char *scope_uri(const struct scope *sc, const char *prefix)
{
	long i = scope_find(sc, prefix);
	if (i < 0)
		return *prefix == '\0' ? "" : NULL;
	return sc->b[i].uri;
}

/* A non-default prefix currently meaning uri, or NULL. (Only built trees
 * with contradictory prefixes get here.) */
static const char *scope_prefix_for(const struct scope *sc, const char *uri)
{
	for (size_t i = sc->n; i-- > 0;) {
		const char *p = bprefix(&sc->b[i]);
		if (*p != '\0' && strcmp(sc->b[i].uri, uri) == 0 &&
		    scope_find(sc, p) == (long)i)
			return p;
	}
	return NULL;
}

/* --- escaping -------------------------------------------------------------- */

static const char replacement[] = "\xEF\xBF\xBD";	/* U+FFFD */

/* Length of the well-formed UTF-8 sequence at s that XML may carry, or 0. */
static size_t xml_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp, min;

	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, cp = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, cp = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ||
	    cp == 0xFFFE || cp == 0xFFFF)
		return 0;
	return len;
}

/* Text and attribute values escape the five predefined entities (RFC 6120
 * §11.1 forbids sending any of those characters unescaped) and CR (a raw CR
 * would come back as LF). Attribute values also escape TAB and LF, which a
 * parser would turn into spaces. The longest replacement, 6 bytes for 1, is
 * STANZA_WRITE_MAX_GROWTH. */
static void write_escaped(struct buf *out, const char *s, size_t len, bool attr)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0, i = 0;

	while (i < len) {
		unsigned char c = p[i];
		const char *rep;

		if (c >= 0x80) {
			size_t n = xml_utf8_len(p + i, len - i);
			if (n > 0) {
				i += n;
				continue;
			}
			rep = replacement;
		} else if (c == '&') {
			rep = "&amp;";
		} else if (c == '<') {
			rep = "&lt;";
		} else if (c == '>') {
			rep = "&gt;";
		} else if (c == '\'') {
			rep = "&apos;";
		} else if (c == '"') {
			rep = "&quot;";
		} else if (c == '\r') {
			rep = "&#13;";
		} else if (attr && c == '\t') {
			rep = "&#9;";
		} else if (attr && c == '\n') {
			rep = "&#10;";
		} else if (c < 0x20 && c != '\t' && c != '\n') {
			rep = replacement;	/* not an XML character at all */
		} else {
			i++;
			continue;
		}
		buf_append(out, s + run, i - run);
		buf_append_str(out, rep);
		run = ++i;
	}
	buf_append(out, s + run, len - run);
}

/* --- tags ------------------------------------------------------------------ */

static bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* Prefixes XML reserves: never declared, never redeclared. */
static bool reserved_prefix(const char *p)
{
	return streq(p, "xml") || streq(p, "xmlns");
}

/* The prefix an element is written with ("" for none). */
static const char *element_prefix(const struct stanza *st, int el)
{
	if (streq(stanza_ns(st, el), NS_XML))
		return "xml";
	const char *p = stanza_prefix(st, el);
	return p && !reserved_prefix(p) ? p : "";
}

/* An attribute with no namespace named xmlns or xmlns:p would be read back
 * as a declaration, not as what the tree says; it is not written. (To put
 * an element in a namespace, give stanza_add_child the namespace.) */
static bool looks_like_declaration(const char *name)
{
	return streq(name, "xmlns") || strncmp(name, "xmlns:", 6) == 0;
}

static void write_qname(struct buf *out, const char *prefix, const char *name)
{
	if (*prefix != '\0') {
		buf_append_str(out, prefix);
		buf_append(out, ":", 1);
	}
	buf_append_str(out, name);
}

static void write_decl(struct buf *out, const char *prefix, const char *uri)
{
	buf_append_str(out, *prefix ? " xmlns:" : " xmlns");
	buf_append_str(out, prefix);
	buf_append(out, "=\"", 2);
	write_escaped(out, uri, strlen(uri), true);
	buf_append(out, "\"", 1);
}

/* Bind prefix for owner and its descendants; out NULL only tracks it. */
static void declare(struct buf *out, struct scope *sc, const char *prefix, const char *uri,
    int owner)
{
	if (out != NULL)
		write_decl(out, prefix, uri);
	scope_push(sc, prefix, NULL, uri, owner);
}

/* Step 1 of a start tag: the declarations recorded on el, unless one
 * contradicts el's own name, touches a reserved prefix, undeclares a
 * prefix (XML 1.1 only) or repeats a prefix on the same element. */
static void declare_recorded(const struct stanza *st, int el, struct buf *out,
    struct scope *sc)
{
	const char *ns = stanza_ns(st, el);
	const char *prefix = element_prefix(st, el);
	size_t mark = sc->n;

	for (int d = stanza_first_decl(st, el); d != STANZA_NONE; d = stanza_next_decl(st, d)) {
		const char *dp = stanza_decl_prefix(st, d);
		const char *du = stanza_decl_uri(st, d);
		if (dp == NULL)
			dp = "";
		if (reserved_prefix(dp) || (*dp != '\0' && *du == '\0') ||
		    (streq(dp, prefix) && !streq(du, ns)))
			continue;
		long i = scope_find(sc, dp);
		if (i >= 0 && (size_t)i >= mark)
			continue;
		declare(out, sc, dp, du, el);
	}
}

/* Does another attribute of el rely on prefix p meaning uri? */
static bool prefix_used_by_other(const struct stanza *st, int el, int self, const char *p,
    const char *uri)
{
	for (int a = stanza_first_attr(st, el); a != STANZA_NONE; a = stanza_next_attr(st, a)) {
		const char *ap = stanza_attr_prefix(st, a);
		if (a != self && ap && streq(ap, p) && streq(stanza_attr_ns(st, a), uri))
			return true;
	}
	return false;
}

enum attr_pass { DECLARE, WRITE };

/* The prefix to write a namespaced attribute with. The DECLARE pass may
 * declare the attribute's own prefix on el (mark: el's first binding) or
 * generate one; the WRITE pass finds what DECLARE bound, and generates only
 * if a later declaration took it away (built trees with contradictory
 * prefixes — never a parsed one). */
static const char *attr_prefix(const struct stanza *st, int el, int a, struct scope *sc,
    size_t mark, struct buf *out, enum attr_pass pass, unsigned *ngen)
{
	const char *uri = stanza_attr_ns(st, a);
	const char *p = stanza_attr_prefix(st, a);

	if (streq(uri, NS_XML))
		return "xml";
	if (p != NULL && *p != '\0' && !reserved_prefix(p)) {
		long i = scope_find(sc, p);
		if (i >= 0 && streq(sc->b[i].uri, uri))
			return p;
		/* Unbound, or bound by an ancestor and free to rebind here. */
		if (pass == DECLARE && (i < 0 || ((size_t)i < mark &&
		    !streq(p, element_prefix(st, el)) &&
		    !prefix_used_by_other(st, el, a, p, sc->b[i].uri)))) {
			declare(out, sc, p, uri, el);
			return p;
		}
	}
	const char *q = scope_prefix_for(sc, uri);
	if (q != NULL)
		return q;
	char gen[16];
	do
		snprintf(gen, sizeof(gen), "ns%u", (*ngen)++);
	while (scope_find(sc, gen) >= 0);
	write_decl(out, gen, uri);
	return scope_push(sc, NULL, gen, uri, el)->gen;
}

static void scope_for_stream(struct scope *sc, const char *stream_ns)
{
	scope_init(sc);
	scope_push(sc, "xml", NULL, NS_XML, OWNER_STREAM);
	if (stream_ns != NULL) {
		scope_push(sc, "", NULL, stream_ns, OWNER_STREAM);
		scope_push(sc, "stream", NULL, NS_STREAMS, OWNER_STREAM);
	}
}

/* --- prefixes bound outside the written element ---------------------------- */

/* A descendant of the top uses prefix p for uri. If the tree's own
 * declarations in scope (sc) do not bind it so, it was bound outside the
 * written element: the top is to declare it (`need`) — unless the top uses
 * p itself, in which case its own start tag declares p as its name or
 * attribute needs, and a second declaration would make the tag invalid. */
static void note_use(const struct scope *sc, const struct scope *top_uses,
    struct scope *need, const char *p, const char *uri)
{
	if (*p == '\0' || reserved_prefix(p))
		return;
	const char *bound = scope_uri(sc, p);
	if (bound != NULL && streq(bound, uri))
		return;
	if (scope_find(top_uses, p) >= 0 || scope_find(need, p) >= 0)
		return;
	scope_push(need, p, NULL, uri, OWNER_NEED);
}

/* The first pass (see the top of the file): walk the subtree with only
 * its recorded declarations in scope and collect, in document order, the
 * prefixes its descendants use that are bound elsewhere. */
static void find_needed(const struct stanza *st, int top, const char *stream_ns,
    struct scope *need)
{
	struct scope sc, top_uses;
	scope_for_stream(&sc, stream_ns);
	scope_init(&top_uses);
	scope_push(&top_uses, element_prefix(st, top), NULL, "", OWNER_NEED);
	for (int a = stanza_first_attr(st, top); a != STANZA_NONE; a = stanza_next_attr(st, a)) {
		const char *p = stanza_attr_prefix(st, a);
		if (p != NULL && *stanza_attr_ns(st, a) != '\0')
			scope_push(&top_uses, p, NULL, "", OWNER_NEED);
	}

	int n = top;
	for (;;) {
		if (stanza_is_element(st, n)) {
			declare_recorded(st, n, NULL, &sc);
			if (n != top) {
				note_use(&sc, &top_uses, need, element_prefix(st, n),
				    stanza_ns(st, n));
				for (int a = stanza_first_attr(st, n); a != STANZA_NONE;
				    a = stanza_next_attr(st, a)) {
					const char *uri = stanza_attr_ns(st, a);
					const char *p = stanza_attr_prefix(st, a);
					if (p != NULL && *uri != '\0' && !streq(uri, NS_XML))
						note_use(&sc, &top_uses, need, p, uri);
				}
			}
			int c = stanza_first_child(st, n);
			if (c != STANZA_NONE) {
				n = c;
				continue;
			}
			scope_pop(&sc, n);
		}
		while (n != top && stanza_next_sibling(st, n) == STANZA_NONE) {
			n = stanza_parent(st, n);
			scope_pop(&sc, n);
		}
		if (n == top)
			break;
		n = stanza_next_sibling(st, n);
	}
	scope_free(&top_uses);
	scope_free(&sc);
}

/* need: for the top element, what find_needed() found; else NULL. */
static void write_start_tag(const struct stanza *st, int el, struct buf *out,
    struct scope *sc, const struct scope *need)
{
	const char *ns = stanza_ns(st, el);
	const char *prefix = element_prefix(st, el);
	size_t mark = sc->n;
	unsigned ngen = 0;

	buf_append(out, "<", 1);
	write_qname(out, prefix, stanza_name(st, el));

	/* 1. What the element declared, unless it contradicts its own name. */
	declare_recorded(st, el, out, sc);

	/* 2. The element's own name. */
	if (!streq(prefix, "xml")) {
		const char *bound = scope_uri(sc, prefix);
		if (bound == NULL || !streq(bound, ns))
			declare(out, sc, prefix, ns, el);
	}

	/* 3. Attribute namespaces, then the attributes themselves. */
	for (int a = stanza_first_attr(st, el); a != STANZA_NONE; a = stanza_next_attr(st, a))
		if (*stanza_attr_ns(st, a) != '\0')
			attr_prefix(st, el, a, sc, mark, out, DECLARE, &ngen);

	/* 4. What the descendants need from outside, once, before any
	 * attribute (unless this tag bound the prefix itself: then they
	 * declare it where they use it). */
	for (size_t k = 0; need != NULL && k < need->n; k++) {
		const struct binding *b = &need->b[k];
		long i = scope_find(sc, b->prefix);
		if (i >= 0 && ((size_t)i >= mark || streq(sc->b[i].uri, b->uri)))
			continue;
		declare(out, sc, b->prefix, b->uri, el);
	}

	for (int a = stanza_first_attr(st, el); a != STANZA_NONE; a = stanza_next_attr(st, a)) {
		const char *value = stanza_attr_value(st, a);
		const char *p = "";
		if (*stanza_attr_ns(st, a) != '\0')
			p = attr_prefix(st, el, a, sc, mark, out, WRITE, &ngen);
		else if (looks_like_declaration(stanza_attr_name(st, a)))
			continue;
		buf_append(out, " ", 1);
		write_qname(out, p, stanza_attr_name(st, a));
		buf_append(out, "=\"", 2);
		write_escaped(out, value, strlen(value), true);
		buf_append(out, "\"", 1);
	}
}

static void write_end_tag(const struct stanza *st, int el, struct buf *out)
{
	buf_append(out, "</", 2);
	write_qname(out, element_prefix(st, el), stanza_name(st, el));
	buf_append(out, ">", 1);
}

/* Depth-first without recursion: a tree built by server code has no depth
 * limit, and the parent links make a stack unnecessary. */
static void write_subtree(const struct stanza *st, int top, struct buf *out, struct scope *sc,
    const struct scope *need)
{
	int n = top;

	for (;;) {
		if (stanza_is_text(st, n)) {
			write_escaped(out, stanza_text(st, n), stanza_text_len(st, n), false);
		} else {
			write_start_tag(st, n, out, sc, n == top ? need : NULL);
			int c = stanza_first_child(st, n);
			if (c != STANZA_NONE) {
				buf_append(out, ">", 1);
				n = c;
				continue;
			}
			buf_append(out, "/>", 2);
			scope_pop(sc, n);
		}
		while (n != top && stanza_next_sibling(st, n) == STANZA_NONE) {
			n = stanza_parent(st, n);
			write_end_tag(st, n, out);
			scope_pop(sc, n);
		}
		if (n == top)
			return;
		n = stanza_next_sibling(st, n);
	}
}

void stanza_write_node(const struct stanza *st, int node, struct buf *out,
    const char *stream_ns)
{
	if (!stanza_is_element(st, node) && !stanza_is_text(st, node))
		return;
	struct scope sc, need;
	scope_init(&need);
	if (stanza_is_element(st, node))
		find_needed(st, node, stream_ns, &need);
	scope_for_stream(&sc, stream_ns);
	write_subtree(st, node, out, &sc, &need);
	scope_free(&sc);
	scope_free(&need);
}

void stanza_write(const struct stanza *st, struct buf *out, const char *stream_ns)
{
	stanza_write_node(st, stanza_root(st), out, stream_ns);
}

void stanza_write_stream_header(const struct stanza *header, struct buf *out)
{
	int root = stanza_root(header);
	if (root == STANZA_NONE)
		return;
	struct scope sc;
	scope_for_stream(&sc, NULL);
	buf_append_str(out, "<?xml version=\"1.0\"?>");
	write_start_tag(header, root, out, &sc, NULL);
	buf_append(out, ">", 1);
	scope_free(&sc);
}

void stanza_write_stream_close(const struct stanza *header, struct buf *out)
{
	int root = stanza_root(header);
	if (root != STANZA_NONE)
		write_end_tag(header, root, out);
}
