/*
 * stanza.c — the compact stanza tree (see stanza.h): storage, reading,
 * building, copying, comparing, and the two replies every server builds
 * (stanza errors and stream errors). Serialization is in stanza_write.c;
 * parsing in xml_stream.c. Nothing here logs or does I/O.
 *
 * Why indices and not pointers: the whole tree is five arrays, so growing
 * one is a realloc, copying is five memcpys, and a parser can clear and
 * refill the same arrays for every stanza of a connection.
 *
 * Strings are NUL-terminated runs in `chars`; offset 0 always holds "" and
 * namespace index 0 is "" (no namespace), so "none" needs no special case.
 * Removing things (stanza_remove, replacing an attribute's value) leaves the
 * old bytes behind: stanzas are short-lived, and clear or copy reclaims it.
 *
 * Why a node is 32 bytes: a parsed stanza is mostly nodes, and the parser
 * budgets entries per byte of its stanza limit (xml_stream.h), so their
 * size is what a connection's tree can cost (it was 48). To get there, an element's
 * prefix is not a field: it is stored in `chars` just before the local name
 * ("p\0local\0") and a bit of `kind` says so; and an element keeps no
 * pointer to its last attribute or declaration: appending finds it through
 * a one-entry cache (the parser and stanza_import append to one element at
 * a time) or, for server code editing a built tree, a walk of that list.
 *
 * Why namespace URIs have a hash index: every element and namespaced
 * attribute looks its URI up, and a linear scan made a stanza with many
 * namespaces quadratic. The hash is the keyed one of hash.h, since URIs
 * come from the network.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "log.h"
#include "stanza.h"

#define NIL UINT32_MAX
/* Offsets and counts are 32-bit; a tree never gets near this (parsed ones
 * are bounded by the stanza size limit), but growing past it is fatal. */
#define MAX_COUNT (UINT32_MAX - 1)

/* node.kind: a text node, or an element with its namespace (an index into
 * nss) and whether its prefix is stored just before its name. */
#define KIND_TEXT 0x80000000u
#define KIND_PREFIXED 0x40000000u
#define KIND_NS 0x3fffffffu

struct node {
	uint32_t parent;
	uint32_t next;		/* next sibling */
	uint32_t str;		/* element: local name; text: the characters */
	uint32_t kind;
	union {
		struct {	/* element */
			uint32_t first_child;
			uint32_t last_child;
			uint32_t first_attr;
			uint32_t first_decl;
		};
		uint32_t len;	/* text: length in bytes */
	};
};

_Static_assert(sizeof(struct node) == 32, "a node must stay 32 bytes");

struct attr {
	uint32_t next;
	uint32_t name;
	uint32_t prefix;	/* NIL when unprefixed */
	uint32_t ns;		/* index into nss; 0 is no namespace */
	uint32_t value;
};

struct decl {
	uint32_t next;
	uint32_t prefix;	/* NIL declares the default namespace */
	uint32_t ns;
};

struct stanza {
	struct node *nodes;
	uint32_t nnodes, capnodes;
	struct attr *attrs;
	uint32_t nattrs, capattrs;
	struct decl *decls;
	uint32_t ndecls, capdecls;
	uint32_t *nss;		/* distinct namespace URIs (offsets into chars) */
	uint32_t nnss, capnss;
	char *chars;
	uint32_t nchars, capchars;

	/* Open addressing over nss[1 .. indexed): a slot holds a namespace
	 * index, 0 when empty; at most half full. NULL until a tree has a
	 * namespace, and after stanza_copy (rebuilt when first needed). */
	uint32_t *nsindex;
	uint32_t capnsindex, indexed;
	uint32_t ns_memo;	/* the namespace looked up last */

	/* The attribute and the declaration appended last, and to which
	 * element (NIL: unknown). */
	uint32_t attr_tail_el, attr_tail;
	uint32_t decl_tail_el, decl_tail;
};

/* --- storage --------------------------------------------------------------- */

static void *grow(void *arr, uint32_t *cap, uint64_t need, size_t size, uint32_t first)
{
	if (need <= *cap)
		return arr;
	if (need > MAX_COUNT)
		log_fatal("stanza tree too large (%llu entries)", (unsigned long long)need);
	uint64_t c = *cap ? *cap : first;
	while (c < need)
		c *= 2;
	if (c > MAX_COUNT)
		c = MAX_COUNT;
	arr = xreallocarray(arr, (size_t)c, size);
	*cap = (uint32_t)c;
	return arr;
}

static void reserve_chars(struct stanza *st, size_t extra)
{
	st->chars = grow(st->chars, &st->capchars, (uint64_t)st->nchars + extra, 1, 256);
}

/* Every tree starts with "" at offset 0 and namespace 0 = "". */
static void ensure_base(struct stanza *st)
{
	if (st->nchars == 0) {
		reserve_chars(st, 1);
		st->chars[0] = '\0';
		st->nchars = 1;
	}
	if (st->nnss == 0) {
		st->nss = grow(st->nss, &st->capnss, 1, sizeof(*st->nss), 4);
		st->nss[0] = 0;
		st->nnss = 1;
	}
}

/* Callers make sure `s` does not point into st->chars (see own()). */
static uint32_t put_str(struct stanza *st, const char *s, size_t len)
{
	ensure_base(st);
	reserve_chars(st, len + 1);
	uint32_t at = st->nchars;
	memcpy(st->chars + at, s, len);
	st->chars[at + len] = '\0';
	st->nchars += (uint32_t)len + 1;
	return at;
}

static bool points_into(const struct stanza *st, const char *s)
{
	uintptr_t p = (uintptr_t)s, lo = (uintptr_t)st->chars;
	return s != NULL && st->chars != NULL && p >= lo && p < lo + st->capchars;
}

/* A string argument may come from this very tree (stanza_set_to(st,
 * stanza_from(st))); growing the buffer would leave it dangling, so such
 * arguments are copied first. Rare, so the copy costs nothing overall. */
static const char *own(const struct stanza *st, const char *s, char **tmp)
{
	if (!points_into(st, s))
		return s;
	*tmp = xstrdup(s);
	return *tmp;
}

static const char *str_at(const struct stanza *st, uint32_t off)
{
	return off == NIL ? NULL : st->chars + off;
}

/* The slot for uri in the index: the one holding it, or the empty slot
 * where it belongs. */
static uint32_t *index_slot(const struct stanza *st, const char *uri, size_t len)
{
	uint32_t mask = st->capnsindex - 1;
	for (uint32_t i = (uint32_t)hash_bytes(uri, len) & mask;; i = (i + 1) & mask) {
		uint32_t v = st->nsindex[i];
		if (v == 0)
			return &st->nsindex[i];
		const char *s = st->chars + st->nss[v];
		if (strncmp(s, uri, len) == 0 && s[len] == '\0')
			return &st->nsindex[i];
	}
}

/* Make the index cover every namespace, with room for one more. */
static void index_catch_up(struct stanza *st)
{
	if ((uint64_t)st->nnss * 2 > st->capnsindex) {
		uint64_t cap = st->capnsindex ? st->capnsindex : 16;
		while ((uint64_t)st->nnss * 2 > cap)
			cap *= 2;
		free(st->nsindex);
		st->nsindex = xreallocarray(NULL, (size_t)cap, sizeof(*st->nsindex));
		memset(st->nsindex, 0, (size_t)cap * sizeof(*st->nsindex));
		st->capnsindex = (uint32_t)cap;
		st->indexed = 1;
	}
	for (; st->indexed < st->nnss; st->indexed++) {
		const char *s = st->chars + st->nss[st->indexed];
		*index_slot(st, s, strlen(s)) = st->indexed;
	}
}

/* The index of namespace uri (len bytes, not pointing into the tree),
 * added if new. */
static uint32_t intern_ns(struct stanza *st, const char *uri, size_t len)
{
	ensure_base(st);
	if (len == 0)
		return 0;
	/* Most names are in the namespace of the name before. */
	const char *memo = st->chars + st->nss[st->ns_memo];
	if (st->ns_memo != 0 && strncmp(memo, uri, len) == 0 && memo[len] == '\0')
		return st->ns_memo;
	index_catch_up(st);
	uint32_t *slot = index_slot(st, uri, len);
	if (*slot == 0) {
		if (st->nnss >= KIND_NS)
			log_fatal("stanza tree has too many namespaces");
		uint32_t off = put_str(st, uri, len);
		st->nss = grow(st->nss, &st->capnss, (uint64_t)st->nnss + 1, sizeof(*st->nss), 4);
		st->nss[st->nnss] = off;
		*slot = st->nnss++;
		st->indexed = st->nnss;
	}
	st->ns_memo = *slot;
	return *slot;
}

static uint32_t intern_ns_str(struct stanza *st, const char *uri)
{
	return intern_ns(st, uri ? uri : "", uri ? strlen(uri) : 0);
}

static bool is_text(const struct node *n)
{
	return (n->kind & KIND_TEXT) != 0;
}

static uint32_t ns_of(const struct node *n)
{
	return n->kind & KIND_NS;
}

/* An element's prefix: chars holds "prefix\0local\0", so walk back from
 * the prefix's NUL to the end of the string before it (there always is
 * one: offset 0 holds ""). */
static const char *prefix_of(const struct stanza *st, const struct node *n)
{
	if (!(n->kind & KIND_PREFIXED))
		return NULL;
	uint32_t start = n->str - 1;
	while (st->chars[start - 1] != '\0')
		start--;
	return st->chars + start;
}

static const struct node *node_at(const struct stanza *st, int n)
{
	if (st == NULL || n < 0 || (uint32_t)n >= st->nnodes)
		return NULL;
	return &st->nodes[n];
}

static const struct node *elem_at(const struct stanza *st, int n)
{
	const struct node *nd = node_at(st, n);
	return nd && !is_text(nd) ? nd : NULL;
}

static uint32_t new_node(struct stanza *st, uint32_t parent, uint32_t kind)
{
	st->nodes = grow(st->nodes, &st->capnodes, (uint64_t)st->nnodes + 1,
	    sizeof(*st->nodes), 8);
	uint32_t i = st->nnodes++;
	struct node *n = &st->nodes[i];
	n->parent = parent;
	n->next = NIL;
	n->str = 0;
	n->kind = kind;
	n->first_child = n->last_child = n->first_attr = n->first_decl = NIL;
	if (kind & KIND_TEXT)
		n->len = 0;
	if (parent != NIL) {
		struct node *p = &st->nodes[parent];
		if (p->last_child == NIL)
			p->first_child = i;
		else
			st->nodes[p->last_child].next = i;
		p->last_child = i;
	}
	return i;
}

/* The last attribute of el, or NIL. */
static uint32_t attr_tail(const struct stanza *st, uint32_t el)
{
	if (st->attr_tail_el == el)
		return st->attr_tail;
	uint32_t last = NIL;
	for (uint32_t i = st->nodes[el].first_attr; i != NIL; i = st->attrs[i].next)
		last = i;
	return last;
}

/* Append an attribute to el, whose last attribute is `last`. */
static uint32_t new_attr(struct stanza *st, uint32_t el, uint32_t last)
{
	st->attrs = grow(st->attrs, &st->capattrs, (uint64_t)st->nattrs + 1,
	    sizeof(*st->attrs), 8);
	uint32_t i = st->nattrs++;
	st->attrs[i] = (struct attr){ .next = NIL, .name = 0, .prefix = NIL, .ns = 0, .value = 0 };
	if (last == NIL)
		st->nodes[el].first_attr = i;
	else
		st->attrs[last].next = i;
	st->attr_tail_el = el;
	st->attr_tail = i;
	return i;
}

static uint32_t decl_tail(const struct stanza *st, uint32_t el)
{
	if (st->decl_tail_el == el)
		return st->decl_tail;
	uint32_t last = NIL;
	for (uint32_t i = st->nodes[el].first_decl; i != NIL; i = st->decls[i].next)
		last = i;
	return last;
}

static void new_decl(struct stanza *st, uint32_t el, uint32_t last, uint32_t prefix,
    uint32_t ns)
{
	st->decls = grow(st->decls, &st->capdecls, (uint64_t)st->ndecls + 1,
	    sizeof(*st->decls), 4);
	uint32_t d = st->ndecls++;
	st->decls[d] = (struct decl){ .next = NIL, .prefix = prefix, .ns = ns };
	if (last == NIL)
		st->nodes[el].first_decl = d;
	else
		st->decls[last].next = d;
	st->decl_tail_el = el;
	st->decl_tail = d;
}

/* --- life cycle ------------------------------------------------------------ */

struct stanza *stanza_new_empty(void)
{
	struct stanza *st = xcalloc(1, sizeof(struct stanza));
	st->indexed = 1;
	st->attr_tail_el = st->decl_tail_el = NIL;
	return st;
}

struct stanza *stanza_new(const char *ns, const char *name)
{
	struct stanza *st = stanza_new_empty();
	stanza_add_child(st, STANZA_NONE, ns, name);
	return st;
}

static void free_arrays(struct stanza *st)
{
	free(st->nodes);
	free(st->attrs);
	free(st->decls);
	free(st->nss);
	free(st->chars);
	free(st->nsindex);
}

void stanza_free(struct stanza **stp)
{
	struct stanza *st = *stp;
	if (st == NULL)
		return;
	free_arrays(st);
	free(st);
	*stp = NULL;
}

void stanza_clear(struct stanza *st)
{
	st->nnodes = st->nattrs = st->ndecls = 0;
	st->nnss = 0;
	st->nchars = 0;
	if (st->nsindex != NULL)
		memset(st->nsindex, 0, (size_t)st->capnsindex * sizeof(*st->nsindex));
	st->indexed = 1;
	st->ns_memo = 0;
	st->attr_tail_el = st->decl_tail_el = NIL;
	if (st->capchars)
		ensure_base(st);
}

size_t stanza_allocated(const struct stanza *st)
{
	return (size_t)st->capnodes * sizeof(*st->nodes) +
	    (size_t)st->capattrs * sizeof(*st->attrs) +
	    (size_t)st->capdecls * sizeof(*st->decls) +
	    (size_t)st->capnss * sizeof(*st->nss) + st->capchars +
	    (size_t)st->capnsindex * sizeof(*st->nsindex);
}

size_t stanza_count_entries(const struct stanza *st)
{
	return (size_t)st->nnodes + st->nattrs + st->ndecls;
}

size_t stanza_count_namespaces(const struct stanza *st)
{
	return st->nnss > 1 ? st->nnss - 1 : 0;
}

void stanza_shrink(struct stanza *st, size_t keep)
{
	if (stanza_allocated(st) <= keep)
		return;
	free_arrays(st);
	memset(st, 0, sizeof(*st));
	st->indexed = 1;
	st->attr_tail_el = st->decl_tail_el = NIL;
}

static void *dup_array(const void *arr, uint32_t n, size_t size, uint32_t *cap)
{
	*cap = n;
	if (n == 0)
		return NULL;
	void *p = xreallocarray(NULL, n, size);
	memcpy(p, arr, (size_t)n * size);
	return p;
}

struct stanza *stanza_copy(const struct stanza *st)
{
	struct stanza *c = stanza_new_empty();
	c->nodes = dup_array(st->nodes, st->nnodes, sizeof(*st->nodes), &c->capnodes);
	c->attrs = dup_array(st->attrs, st->nattrs, sizeof(*st->attrs), &c->capattrs);
	c->decls = dup_array(st->decls, st->ndecls, sizeof(*st->decls), &c->capdecls);
	c->nss = dup_array(st->nss, st->nnss, sizeof(*st->nss), &c->capnss);
	c->chars = dup_array(st->chars, st->nchars, 1, &c->capchars);
	c->nnodes = st->nnodes;
	c->nattrs = st->nattrs;
	c->ndecls = st->ndecls;
	c->nnss = st->nnss;
	c->nchars = st->nchars;
	/* The namespace index is rebuilt if the copy is ever added to. */
	return c;
}

static bool same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool attrs_equal(const struct stanza *a, const struct node *x,
    const struct stanza *b, const struct node *y)
{
	uint32_t i = x->first_attr, j = y->first_attr;
	for (; i != NIL && j != NIL; i = a->attrs[i].next, j = b->attrs[j].next) {
		const struct attr *p = &a->attrs[i], *q = &b->attrs[j];
		if (strcmp(str_at(a, p->name), str_at(b, q->name)) != 0 ||
		    strcmp(str_at(a, a->nss[p->ns]), str_at(b, b->nss[q->ns])) != 0 ||
		    !same_str(str_at(a, p->prefix), str_at(b, q->prefix)) ||
		    strcmp(str_at(a, p->value), str_at(b, q->value)) != 0)
			return false;
	}
	return i == NIL && j == NIL;
}

static bool nodes_equal(const struct stanza *a, uint32_t i, const struct stanza *b, uint32_t j)
{
	const struct node *x = &a->nodes[i], *y = &b->nodes[j];
	if (is_text(x) != is_text(y))
		return false;
	if (is_text(x))
		return x->len == y->len && memcmp(a->chars + x->str, b->chars + y->str, x->len) == 0;
	if (strcmp(str_at(a, x->str), str_at(b, y->str)) != 0 ||
	    strcmp(str_at(a, a->nss[ns_of(x)]), str_at(b, b->nss[ns_of(y)])) != 0 ||
	    !same_str(prefix_of(a, x), prefix_of(b, y)) ||
	    !attrs_equal(a, x, b, y))
		return false;
	uint32_t c = x->first_child, d = y->first_child;
	for (; c != NIL && d != NIL; c = a->nodes[c].next, d = b->nodes[d].next)
		if (!nodes_equal(a, c, b, d))
			return false;
	return c == NIL && d == NIL;
}

bool stanza_equal(const struct stanza *a, const struct stanza *b)
{
	if (a->nnodes == 0 || b->nnodes == 0)
		return a->nnodes == b->nnodes;
	return nodes_equal(a, 0, b, 0);
}

/* --- reading --------------------------------------------------------------- */

int stanza_root(const struct stanza *st)
{
	return st->nnodes ? 0 : STANZA_NONE;
}

bool stanza_is_element(const struct stanza *st, int node)
{
	return elem_at(st, node) != NULL;
}

bool stanza_is_text(const struct stanza *st, int node)
{
	const struct node *n = node_at(st, node);
	return n && is_text(n);
}

const char *stanza_name(const struct stanza *st, int el)
{
	const struct node *n = elem_at(st, el);
	return n ? str_at(st, n->str) : NULL;
}

const char *stanza_ns(const struct stanza *st, int el)
{
	const struct node *n = elem_at(st, el);
	return n ? str_at(st, st->nss[ns_of(n)]) : NULL;
}

const char *stanza_prefix(const struct stanza *st, int el)
{
	const struct node *n = elem_at(st, el);
	return n ? prefix_of(st, n) : NULL;
}

bool stanza_is(const struct stanza *st, int el, const char *ns, const char *name)
{
	const struct node *n = elem_at(st, el);
	if (n == NULL || strcmp(str_at(st, n->str), name) != 0)
		return false;
	return ns == NULL || strcmp(str_at(st, st->nss[ns_of(n)]), ns) == 0;
}

static int to_int(uint32_t i)
{
	return i == NIL ? STANZA_NONE : (int)i;
}

int stanza_parent(const struct stanza *st, int node)
{
	const struct node *n = node_at(st, node);
	return n ? to_int(n->parent) : STANZA_NONE;
}

int stanza_first_child(const struct stanza *st, int node)
{
	const struct node *n = elem_at(st, node);
	return n ? to_int(n->first_child) : STANZA_NONE;
}

int stanza_next_sibling(const struct stanza *st, int node)
{
	const struct node *n = node_at(st, node);
	return n ? to_int(n->next) : STANZA_NONE;
}

static int skip_text(const struct stanza *st, uint32_t i)
{
	while (i != NIL && is_text(&st->nodes[i]))
		i = st->nodes[i].next;
	return to_int(i);
}

int stanza_first_element(const struct stanza *st, int el)
{
	const struct node *n = elem_at(st, el);
	return n ? skip_text(st, n->first_child) : STANZA_NONE;
}

int stanza_next_element(const struct stanza *st, int node)
{
	const struct node *n = node_at(st, node);
	return n ? skip_text(st, n->next) : STANZA_NONE;
}

static int find_from(const struct stanza *st, int c, const char *ns, const char *name)
{
	for (; c != STANZA_NONE; c = stanza_next_element(st, c))
		if (stanza_is(st, c, ns, name))
			return c;
	return STANZA_NONE;
}

int stanza_find_child(const struct stanza *st, int el, const char *ns, const char *name)
{
	return find_from(st, stanza_first_element(st, el), ns, name);
}

int stanza_find_next(const struct stanza *st, int node, const char *ns, const char *name)
{
	return find_from(st, stanza_next_element(st, node), ns, name);
}

static uint32_t find_attr(const struct stanza *st, const struct node *n, const char *ns,
    const char *name)
{
	if (ns == NULL)
		ns = "";
	for (uint32_t i = n->first_attr; i != NIL; i = st->attrs[i].next) {
		const struct attr *a = &st->attrs[i];
		if (strcmp(st->chars + a->name, name) == 0 &&
		    strcmp(st->chars + st->nss[a->ns], ns) == 0)
			return i;
	}
	return NIL;
}

const char *stanza_get_attr_ns(const struct stanza *st, int el, const char *ns,
    const char *name)
{
	const struct node *n = elem_at(st, el);
	if (n == NULL)
		return NULL;
	uint32_t i = find_attr(st, n, ns, name);
	return i == NIL ? NULL : str_at(st, st->attrs[i].value);
}

const char *stanza_get_attr(const struct stanza *st, int el, const char *name)
{
	if (strncmp(name, "xml:", 4) == 0)
		return stanza_get_attr_ns(st, el, NS_XML, name + 4);
	return stanza_get_attr_ns(st, el, NULL, name);
}

static const struct attr *attr_at(const struct stanza *st, int a)
{
	if (st == NULL || a < 0 || (uint32_t)a >= st->nattrs)
		return NULL;
	return &st->attrs[a];
}

int stanza_first_attr(const struct stanza *st, int el)
{
	const struct node *n = elem_at(st, el);
	return n ? to_int(n->first_attr) : STANZA_NONE;
}

int stanza_next_attr(const struct stanza *st, int attr)
{
	const struct attr *a = attr_at(st, attr);
	return a ? to_int(a->next) : STANZA_NONE;
}

const char *stanza_attr_name(const struct stanza *st, int attr)
{
	const struct attr *a = attr_at(st, attr);
	return a ? str_at(st, a->name) : NULL;
}

const char *stanza_attr_ns(const struct stanza *st, int attr)
{
	const struct attr *a = attr_at(st, attr);
	return a ? str_at(st, st->nss[a->ns]) : NULL;
}

const char *stanza_attr_prefix(const struct stanza *st, int attr)
{
	const struct attr *a = attr_at(st, attr);
	return a ? str_at(st, a->prefix) : NULL;
}

const char *stanza_attr_value(const struct stanza *st, int attr)
{
	const struct attr *a = attr_at(st, attr);
	return a ? str_at(st, a->value) : NULL;
}

static const struct node *text_node(const struct stanza *st, int node)
{
	const struct node *n = node_at(st, node);
	if (n == NULL || is_text(n))
		return n;
	for (uint32_t c = n->first_child; c != NIL; c = st->nodes[c].next)
		if (is_text(&st->nodes[c]))
			return &st->nodes[c];
	return NULL;
}

const char *stanza_text(const struct stanza *st, int node)
{
	const struct node *t = text_node(st, node);
	if (t == NULL)
		return node_at(st, node) ? "" : NULL;
	return st->chars + t->str;
}

size_t stanza_text_len(const struct stanza *st, int node)
{
	const struct node *t = text_node(st, node);
	return t ? t->len : 0;
}

void stanza_text_content(const struct stanza *st, int node, struct buf *out)
{
	const struct node *top = node_at(st, node);
	if (top == NULL)
		return;
	if (is_text(top)) {
		buf_append(out, st->chars + top->str, top->len);
		return;
	}
	/* Walk the subtree without recursion, using the parent links. */
	uint32_t i = top->first_child;
	while (i != NIL) {
		const struct node *n = &st->nodes[i];
		if (is_text(n))
			buf_append(out, st->chars + n->str, n->len);
		else if (n->first_child != NIL) {
			i = n->first_child;
			continue;
		}
		while (i != (uint32_t)node && st->nodes[i].next == NIL)
			i = st->nodes[i].parent;
		if (i == (uint32_t)node)
			break;
		i = st->nodes[i].next;
	}
}

static const struct decl *decl_at(const struct stanza *st, int d)
{
	if (st == NULL || d < 0 || (uint32_t)d >= st->ndecls)
		return NULL;
	return &st->decls[d];
}

int stanza_first_decl(const struct stanza *st, int el)
{
	const struct node *n = elem_at(st, el);
	return n ? to_int(n->first_decl) : STANZA_NONE;
}

int stanza_next_decl(const struct stanza *st, int decl)
{
	const struct decl *d = decl_at(st, decl);
	return d ? to_int(d->next) : STANZA_NONE;
}

const char *stanza_decl_prefix(const struct stanza *st, int decl)
{
	const struct decl *d = decl_at(st, decl);
	return d ? str_at(st, d->prefix) : NULL;
}

const char *stanza_decl_uri(const struct stanza *st, int decl)
{
	const struct decl *d = decl_at(st, decl);
	return d ? str_at(st, st->nss[d->ns]) : NULL;
}

const char *stanza_find_decl(const struct stanza *st, int el, const char *prefix)
{
	if (prefix != NULL && *prefix == '\0')
		prefix = NULL;
	for (int d = stanza_first_decl(st, el); d != STANZA_NONE; d = stanza_next_decl(st, d))
		if (same_str(stanza_decl_prefix(st, d), prefix))
			return stanza_decl_uri(st, d);
	return NULL;
}

/* --- building -------------------------------------------------------------- */

/* Create an element under parent (NIL: the root) from parts that do not
 * point into the tree. The prefix goes just before the name (see top). */
static uint32_t add_element(struct stanza *st, uint32_t parent, uint32_t ns,
    const char *prefix, size_t prefixlen, const char *local, size_t locallen)
{
	/* A name with no namespace cannot carry a prefix. */
	uint32_t kind = ns;
	if (prefix != NULL && prefixlen > 0 && ns != 0) {
		put_str(st, prefix, prefixlen);
		kind |= KIND_PREFIXED;
	}
	uint32_t name = put_str(st, local, locallen);
	uint32_t i = new_node(st, parent, kind);
	st->nodes[i].str = name;
	return i;
}

static bool parent_ok(const struct stanza *st, int parent, uint32_t *p)
{
	if (parent == STANZA_NONE) {
		*p = NIL;
		return st->nnodes == 0;
	}
	*p = (uint32_t)parent;
	return elem_at(st, parent) != NULL;
}

int stanza_add_child(struct stanza *st, int parent, const char *ns, const char *name)
{
	uint32_t p;
	if (!parent_ok(st, parent, &p))
		return STANZA_NONE;
	char *tmp1 = NULL, *tmp2 = NULL;
	ns = own(st, ns, &tmp1);
	name = own(st, name, &tmp2);
	uint32_t nsi;
	if (ns == NULL)
		nsi = p == NIL ? intern_ns_str(st, NULL) : ns_of(&st->nodes[p]);
	else
		nsi = intern_ns_str(st, ns);
	const char *colon = strchr(name, ':');
	uint32_t i;
	if (colon != NULL)
		i = add_element(st, p, nsi, name, (size_t)(colon - name), colon + 1, strlen(colon + 1));
	else
		i = add_element(st, p, nsi, NULL, 0, name, strlen(name));
	free(tmp1);
	free(tmp2);
	return (int)i;
}

/* Append text to parent, merging with a text node that ends its content so
 * that a tree never has two text nodes side by side. Returns the node. */
static uint32_t add_text(struct stanza *st, uint32_t parent, const char *s, size_t len)
{
	uint32_t last = st->nodes[parent].last_child;
	if (last != NIL && is_text(&st->nodes[last])) {
		struct node *t = &st->nodes[last];
		if ((uint64_t)t->len + len > MAX_COUNT)
			log_fatal("stanza text too large");
		if ((uint64_t)t->str + t->len + 1 == st->nchars) {
			/* The text is the last thing in the buffer: extend it. */
			reserve_chars(st, len);
			memcpy(st->chars + t->str + t->len, s, len);
			t->len += (uint32_t)len;
			st->chars[t->str + t->len] = '\0';
			st->nchars = t->str + t->len + 1;
		} else {
			/* Something was stored since: move the text to the end. */
			reserve_chars(st, (size_t)t->len + len + 1);
			uint32_t at = st->nchars;
			memcpy(st->chars + at, st->chars + t->str, t->len);
			memcpy(st->chars + at + t->len, s, len);
			t->str = at;
			t->len += (uint32_t)len;
			st->chars[at + t->len] = '\0';
			st->nchars = at + t->len + 1;
		}
		return last;
	}
	if (len > MAX_COUNT)
		log_fatal("stanza text too large");
	uint32_t off = put_str(st, s, len);
	uint32_t i = new_node(st, parent, KIND_TEXT);
	st->nodes[i].str = off;
	st->nodes[i].len = (uint32_t)len;
	return i;
}

void stanza_add_text_len(struct stanza *st, int parent, const char *text, size_t len)
{
	if (elem_at(st, parent) == NULL || len == 0)
		return;
	char *tmp = NULL;
	if (memchr(text, '\0', len) != NULL) {
		/* XML cannot carry NUL: store U+FFFD, what the serializer would
		 * write, so that stanza_text() is always the whole text. */
		tmp = xreallocarray(NULL, len, 3);
		size_t n = 0;
		for (size_t i = 0; i < len; i++) {
			if (text[i] == '\0') {
				memcpy(tmp + n, "\xEF\xBF\xBD", 3);
				n += 3;
			} else {
				tmp[n++] = text[i];
			}
		}
		text = tmp;
		len = n;
	} else if (points_into(st, text)) {
		/* Exactly len bytes: the buffer may move while they are added. */
		tmp = xmalloc(len);
		memcpy(tmp, text, len);
		text = tmp;
	}
	add_text(st, (uint32_t)parent, text, len);
	free(tmp);
}

void stanza_add_text(struct stanza *st, int parent, const char *text)
{
	stanza_add_text_len(st, parent, text, strlen(text));
}

int stanza_add_child_text(struct stanza *st, int parent, const char *ns, const char *name,
    const char *text)
{
	int el = stanza_add_child(st, parent, ns, name);
	if (el != STANZA_NONE && text != NULL)
		stanza_add_text(st, el, text);
	return el;
}

/* Set or remove {ns}local on el; value_off is an offset already in the tree
 * (NIL removes). The prefix is only used when the attribute is new. */
static void set_attr_off(struct stanza *st, uint32_t el, uint32_t ns, const char *prefix,
    size_t prefixlen, const char *local, uint32_t value_off)
{
	struct node *n = &st->nodes[el];
	uint32_t prev = NIL;
	for (uint32_t i = n->first_attr; i != NIL; prev = i, i = st->attrs[i].next) {
		struct attr *a = &st->attrs[i];
		if (a->ns != ns || strcmp(st->chars + a->name, local) != 0)
			continue;
		if (value_off != NIL) {
			a->value = value_off;
			return;
		}
		if (prev == NIL)
			n->first_attr = a->next;
		else
			st->attrs[prev].next = a->next;
		if (st->attr_tail_el == el)
			st->attr_tail_el = NIL;
		return;
	}
	if (value_off == NIL)
		return;
	uint32_t name = put_str(st, local, strlen(local));
	uint32_t pfx = prefix && ns != 0 ? put_str(st, prefix, prefixlen) : NIL;
	uint32_t i = new_attr(st, el, prev);
	st->attrs[i].name = name;
	st->attrs[i].prefix = pfx;
	st->attrs[i].ns = ns;
	st->attrs[i].value = value_off;
}

void stanza_set_attr_ns(struct stanza *st, int el, const char *ns, const char *name,
    const char *value)
{
	if (elem_at(st, el) == NULL)
		return;
	/* Namespaces are not attributes (see stanza.h). */
	if ((ns == NULL || *ns == '\0') &&
	    (strcmp(name, "xmlns") == 0 || strncmp(name, "xmlns:", 6) == 0))
		return;
	char *t1 = NULL, *t2 = NULL, *t3 = NULL;
	ns = own(st, ns, &t1);
	name = own(st, name, &t2);
	value = own(st, value, &t3);
	uint32_t nsi = intern_ns_str(st, ns);
	const char *prefix = NULL, *local = name;
	size_t prefixlen = 0;
	const char *colon = strchr(name, ':');
	if (colon != NULL) {
		prefix = name;
		prefixlen = (size_t)(colon - name);
		local = colon + 1;
	}
	/* The XML namespace has exactly one prefix. */
	if (ns != NULL && strcmp(ns, NS_XML) == 0) {
		prefix = "xml";
		prefixlen = 3;
	}
	uint32_t voff = value ? put_str(st, value, strlen(value)) : NIL;
	set_attr_off(st, (uint32_t)el, nsi, prefix, prefixlen, local, voff);
	free(t1);
	free(t2);
	free(t3);
}

void stanza_set_attr(struct stanza *st, int el, const char *name, const char *value)
{
	if (strncmp(name, "xml:", 4) == 0)
		stanza_set_attr_ns(st, el, NS_XML, name + 4, value);
	else
		stanza_set_attr_ns(st, el, NULL, name, value);
}

void stanza_declare_ns(struct stanza *st, int el, const char *prefix, const char *uri)
{
	if (elem_at(st, el) == NULL)
		return;
	if (prefix != NULL && *prefix == '\0')
		prefix = NULL;
	char *t1 = NULL, *t2 = NULL;
	prefix = own(st, prefix, &t1);
	uri = own(st, uri, &t2);
	uint32_t nsi = intern_ns_str(st, uri);
	uint32_t last = NIL;
	for (uint32_t i = st->nodes[el].first_decl; i != NIL; last = i, i = st->decls[i].next) {
		if (same_str(str_at(st, st->decls[i].prefix), prefix)) {
			st->decls[i].ns = nsi;
			goto out;
		}
	}
	uint32_t pfx = prefix ? put_str(st, prefix, strlen(prefix)) : NIL;
	new_decl(st, (uint32_t)el, last, pfx, nsi);
out:
	free(t1);
	free(t2);
}

/* Append a declaration, no questions asked; the strings are not in st. */
static void add_decl(struct stanza *st, uint32_t el, const char *prefix, const char *uri)
{
	if (prefix != NULL && *prefix == '\0')
		prefix = NULL;
	uint32_t nsi = intern_ns_str(st, uri);
	uint32_t pfx = prefix ? put_str(st, prefix, strlen(prefix)) : NIL;
	new_decl(st, el, decl_tail(st, el), pfx, nsi);
}

void stanza_add_decl(struct stanza *st, int el, const char *prefix, const char *uri)
{
	if (elem_at(st, el) == NULL)
		return;
	char *t1 = NULL, *t2 = NULL;
	prefix = own(st, prefix, &t1);
	uri = own(st, uri, &t2);
	add_decl(st, (uint32_t)el, prefix, uri);
	free(t1);
	free(t2);
}

/* Copy one node of src (not its children) under parent of dst. */
static uint32_t import_one(struct stanza *dst, uint32_t parent, const struct stanza *src,
    uint32_t s)
{
	const struct node *n = &src->nodes[s];
	if (is_text(n))
		return add_text(dst, parent, src->chars + n->str, n->len);
	const char *prefix = prefix_of(src, n);
	const char *uri = src->chars + src->nss[ns_of(n)];
	uint32_t i = add_element(dst, parent, intern_ns(dst, uri, strlen(uri)), prefix,
	    prefix ? strlen(prefix) : 0, src->chars + n->str, strlen(src->chars + n->str));
	for (uint32_t a = n->first_attr; a != NIL; a = src->attrs[a].next) {
		const struct attr *sa = &src->attrs[a];
		const char *auri = src->chars + src->nss[sa->ns];
		const char *aprefix = str_at(src, sa->prefix);
		const char *aname = src->chars + sa->name;
		const char *value = src->chars + sa->value;
		uint32_t ans = intern_ns(dst, auri, strlen(auri));
		uint32_t name = put_str(dst, aname, strlen(aname));
		uint32_t pfx = aprefix ? put_str(dst, aprefix, strlen(aprefix)) : NIL;
		uint32_t voff = put_str(dst, value, strlen(value));
		uint32_t da = new_attr(dst, i, attr_tail(dst, i));
		dst->attrs[da] = (struct attr){ .next = NIL, .name = name, .prefix = pfx,
		    .ns = ans, .value = voff };
	}
	/* A tree never has a prefix declared twice on one element. */
	for (uint32_t d = n->first_decl; d != NIL; d = src->decls[d].next)
		add_decl(dst, i, str_at(src, src->decls[d].prefix),
		    src->chars + src->nss[src->decls[d].ns]);
	return i;
}

int stanza_import(struct stanza *dst, int parent, const struct stanza *src, int node)
{
	uint32_t p;
	if (node_at(src, node) == NULL || !parent_ok(dst, parent, &p))
		return STANZA_NONE;
	if (p == NIL && is_text(&src->nodes[node]))
		return STANZA_NONE;
	if (dst == src) {
		struct stanza *copy = stanza_copy(src);
		int r = stanza_import(dst, parent, copy, node);
		stanza_free(&copy);
		return r;
	}
	uint32_t top = import_one(dst, p, src, (uint32_t)node);
	uint32_t s = is_text(&src->nodes[node]) ? NIL : src->nodes[node].first_child;
	uint32_t d = top;	/* the copy of s's parent */
	while (s != NIL) {
		uint32_t c = import_one(dst, d, src, s);
		if (!is_text(&src->nodes[s]) && src->nodes[s].first_child != NIL) {
			d = c;
			s = src->nodes[s].first_child;
			continue;
		}
		while (s != NIL && src->nodes[s].next == NIL) {
			s = src->nodes[s].parent;
			if (s == (uint32_t)node)
				s = NIL;
			else
				d = dst->nodes[d].parent;
		}
		if (s != NIL)
			s = src->nodes[s].next;
	}
	return (int)top;
}

/* Join text node b into a, the text node just before it. */
static void merge_text(struct stanza *st, uint32_t a, uint32_t b)
{
	uint32_t alen = st->nodes[a].len, blen = st->nodes[b].len;
	if ((uint64_t)alen + blen > MAX_COUNT)
		log_fatal("stanza text too large");
	reserve_chars(st, (size_t)alen + blen + 1);
	uint32_t at = st->nchars;
	memcpy(st->chars + at, st->chars + st->nodes[a].str, alen);
	memcpy(st->chars + at + alen, st->chars + st->nodes[b].str, blen);
	st->chars[at + alen + blen] = '\0';
	st->nchars = at + alen + blen + 1;
	st->nodes[a].str = at;
	st->nodes[a].len = alen + blen;
	st->nodes[a].next = st->nodes[b].next;
	struct node *p = &st->nodes[st->nodes[a].parent];
	if (p->last_child == b)
		p->last_child = a;
	st->nodes[b].parent = NIL;
	st->nodes[b].next = NIL;
}

void stanza_remove(struct stanza *st, int node)
{
	const struct node *n = node_at(st, node);
	if (n == NULL || n->parent == NIL)
		return;
	struct node *p = &st->nodes[n->parent];
	uint32_t prev = NIL, i;
	for (i = p->first_child; i != NIL && i != (uint32_t)node; i = st->nodes[i].next)
		prev = i;
	if (i == NIL)
		return;
	if (prev == NIL)
		p->first_child = n->next;
	else
		st->nodes[prev].next = n->next;
	if (p->last_child == i)
		p->last_child = prev;
	st->nodes[i].parent = NIL;
	st->nodes[i].next = NIL;
	/* Keep "never two text nodes side by side". */
	if (prev != NIL && is_text(&st->nodes[prev])) {
		uint32_t next = st->nodes[prev].next;
		if (next != NIL && is_text(&st->nodes[next]))
			merge_text(st, prev, next);
	}
}

int stanza_add_child_qname(struct stanza *st, int parent, const char *qname, char sep)
{
	uint32_t p;
	if (!parent_ok(st, parent, &p))
		return STANZA_NONE;
	const char *s1 = strchr(qname, sep);
	if (s1 == NULL)
		return (int)add_element(st, p, intern_ns(st, "", 0), NULL, 0, qname, strlen(qname));
	const char *local = s1 + 1;
	const char *s2 = strchr(local, sep);
	uint32_t ns = intern_ns(st, qname, (size_t)(s1 - qname));
	if (s2 == NULL)
		return (int)add_element(st, p, ns, NULL, 0, local, strlen(local));
	return (int)add_element(st, p, ns, s2 + 1, strlen(s2 + 1), local, (size_t)(s2 - local));
}

void stanza_add_attr_qname(struct stanza *st, int el, const char *qname, char sep,
    const char *value)
{
	if (elem_at(st, el) == NULL)
		return;
	const char *s1 = strchr(qname, sep);
	uint32_t ns = 0, name, pfx = NIL;
	if (s1 == NULL) {
		ensure_base(st);
		name = put_str(st, qname, strlen(qname));
	} else {
		const char *local = s1 + 1;
		const char *s2 = strchr(local, sep);
		ns = intern_ns(st, qname, (size_t)(s1 - qname));
		if (s2 == NULL) {
			name = put_str(st, local, strlen(local));
		} else {
			name = put_str(st, local, (size_t)(s2 - local));
			pfx = put_str(st, s2 + 1, strlen(s2 + 1));
		}
	}
	uint32_t voff = put_str(st, value, strlen(value));
	uint32_t a = new_attr(st, (uint32_t)el, attr_tail(st, (uint32_t)el));
	st->attrs[a].name = name;
	st->attrs[a].prefix = pfx;
	st->attrs[a].ns = ns;
	st->attrs[a].value = voff;
}

/* --- the attributes every stanza has --------------------------------------- */

const char *stanza_to(const struct stanza *st)
{
	return stanza_get_attr(st, 0, "to");
}

const char *stanza_from(const struct stanza *st)
{
	return stanza_get_attr(st, 0, "from");
}

const char *stanza_id(const struct stanza *st)
{
	return stanza_get_attr(st, 0, "id");
}

const char *stanza_type(const struct stanza *st)
{
	return stanza_get_attr(st, 0, "type");
}

void stanza_set_to(struct stanza *st, const char *to)
{
	stanza_set_attr(st, 0, "to", to);
}

void stanza_set_from(struct stanza *st, const char *from)
{
	stanza_set_attr(st, 0, "from", from);
}

void stanza_set_id(struct stanza *st, const char *id)
{
	stanza_set_attr(st, 0, "id", id);
}

void stanza_set_type(struct stanza *st, const char *type)
{
	stanza_set_attr(st, 0, "type", type);
}

int stanza_make_error(struct stanza *st, const char *type, const char *condition,
    const char *text)
{
	if (st->nnodes == 0)
		return -1;
	const char *t = stanza_type(st);
	if (t != NULL && strcmp(t, "error") == 0)
		return -1;
	/* Swap the values by offset: no copying, no dangling pointers. */
	uint32_t to = find_attr(st, &st->nodes[0], NULL, "to");
	uint32_t from = find_attr(st, &st->nodes[0], NULL, "from");
	uint32_t to_val = to == NIL ? NIL : st->attrs[to].value;
	uint32_t from_val = from == NIL ? NIL : st->attrs[from].value;
	set_attr_off(st, 0, 0, NULL, 0, "to", from_val);
	set_attr_off(st, 0, 0, NULL, 0, "from", to_val);
	stanza_set_type(st, "error");
	int err = stanza_add_child(st, 0, NULL, "error");
	stanza_set_attr(st, err, "type", type);
	stanza_add_child(st, err, NS_STANZAS, condition);
	if (text != NULL)
		stanza_add_child_text(st, err, NS_STANZAS, "text", text);
	return 0;
}

struct stanza *stanza_new_stream_error(const char *condition, const char *text)
{
	struct stanza *st = stanza_new(NS_STREAMS, "stream:error");
	stanza_add_child(st, 0, NS_STREAM_ERRORS, condition);
	if (text != NULL)
		stanza_add_child_text(st, 0, NS_STREAM_ERRORS, "text", text);
	return st;
}

struct stanza *stanza_new_stream_header(const char *content_ns)
{
	struct stanza *st = stanza_new(NS_STREAMS, "stream:stream");
	if (content_ns != NULL)
		stanza_declare_ns(st, 0, NULL, content_ns);
	stanza_declare_ns(st, 0, "stream", NS_STREAMS);
	return st;
}
