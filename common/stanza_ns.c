/*
 * stanza_ns.c — a stanza copied from one stream's content namespace into
 * another's. Inside the suite stanzas travel as standalone jabber:client
 * (doc/component-protocol.md); each edge that speaks another namespace on
 * the wire (jabber:component:accept for XEP-0114 components in the router,
 * jabber:server for s2s) translates at its border, both ways, with this.
 * It knows nothing of streams or of what a stanza means.
 */
#include <string.h>

#include "stanza.h"

static bool is_content_ns(const char *ns)
{
	return strcmp(ns, NS_CLIENT) == 0 || strcmp(ns, NS_SERVER) == 0 ||
	    strcmp(ns, NS_COMPONENT_ACCEPT) == 0;
}

/* Attributes are appended, not looked up (the source's are unique
 * already), so a tag with thousands of attributes costs linear time. */
void stanza_translate_ns(struct stanza *dst, int parent, const struct stanza *src, int node,
    const char *edge_ns, struct buf *qname)
{
	const char *ns = stanza_ns(src, node);
	const char *name = stanza_name(src, node);
	const char *prefix = stanza_prefix(src, node);
	char el_qname[256];

	if (is_content_ns(ns)) {
		ns = edge_ns;
	} else if (prefix != NULL) {
		size_t pl = strlen(prefix), nl = strlen(name);
		if (pl + nl + 2 <= sizeof(el_qname)) {
			memcpy(el_qname, prefix, pl);
			el_qname[pl] = ':';
			memcpy(el_qname + pl + 1, name, nl + 1);
			name = el_qname;
		}
	}
	int el = stanza_add_child(dst, parent, ns, name);
	for (int a = stanza_first_attr(src, node); a != STANZA_NONE; a = stanza_next_attr(src, a)) {
		const char *ans = stanza_attr_ns(src, a), *aprefix = stanza_attr_prefix(src, a);
		buf_reset(qname);
		if (ans != NULL && *ans != '\0')
			buf_appendf(qname, "%s\x01", ans);
		buf_append_str(qname, stanza_attr_name(src, a));
		if (ans != NULL && *ans != '\0' && aprefix != NULL && *aprefix != '\0')
			buf_appendf(qname, "\x01%s", aprefix);
		stanza_add_attr_qname(dst, el, buf_head(qname), '\x01', stanza_attr_value(src, a));
	}
	for (int n = stanza_first_child(src, node); n != STANZA_NONE;
	    n = stanza_next_sibling(src, n)) {
		if (stanza_is_text(src, n))
			stanza_add_text_len(dst, el, stanza_text(src, n), stanza_text_len(src, n));
		else
			stanza_translate_ns(dst, el, src, n, edge_ns, qname);
	}
}
