/*
 * mod_private.c — XEP-0049 private XML storage: each child of
 * <query xmlns='jabber:iq:private'/> is kept under its qualified name,
 * for the user's own account only (to another user: forbidden, which the
 * XEP prefers to service-unavailable). A get returns what is stored for
 * each child asked for, or the child itself, empty, when nothing is; a
 * get asks for one namespace only (bad-request otherwise). A query
 * without a child, or a child in a reserved namespace ("jabber:…",
 * "http://jabber.org/…", "vcard-temp"), is not-acceptable (XEP-0049
 * §2.3). A child larger than sm.private.max_size, as stored, is refused
 * with policy-violation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "sm.h"
#include "storage.h"
#include "xml_stream.h"

#define NS_PRIVATE "jabber:iq:private"

static bool reserved(const char *ns)
{
	return ns[0] == '\0' || strncmp(ns, "jabber:", 7) == 0 ||
	    strncmp(ns, "http://jabber.org/", 18) == 0 || strcmp(ns, "vcard-temp") == 0;
}

/* "{namespace}name", the key the store keeps an element under. */
static void key_of(const struct stanza *st, int el, struct buf *key)
{
	buf_reset(key);
	buf_appendf(key, "{%s}%s", stanza_ns(st, el), stanza_name(st, el));
	buf_append(key, "", 1);
}

static int get(struct sm *sm, const struct jid *owner, const struct stanza *st, int q,
    struct stanza *r, int rq)
{
	struct buf key;
	char err[ERRLEN];
	int rc = STORAGE_OK;

	buf_init(&key);
	for (int c = stanza_first_element(st, q); c != STANZA_NONE && rc != STORAGE_ERROR;
	    c = stanza_next_element(st, c)) {
		char *xml = NULL;
		struct stanza *el = NULL;
		key_of(st, c, &key);
		rc = storage_private_get(sm->storage, jid_domainpart(owner), jid_localpart(owner),
		    buf_head(&key), &xml, err, sizeof(err));
		if (rc == STORAGE_ERROR) {
			log_error("storage: private XML of %s: %s", jid_bare_str(owner), err);
			break;
		}
		if (rc == STORAGE_OK) {
			el = stanza_new_empty();
			if (xml_stream_parse_stanza(sm->parser, xml, strlen(xml), el, err,
			    sizeof(err)) < 0) {
				log_error("stored private XML %s of %s does not parse: %s",
				    buf_head(&key), jid_bare_str(owner), err);
				stanza_free(&el);
			}
		}
		if (el != NULL)
			stanza_import(r, rq, el, stanza_root(el));
		else
			stanza_import(r, rq, st, c); /* nothing stored: what was asked */
		stanza_free(&el);
		free(xml);
	}
	buf_free(&key);
	return rc == STORAGE_ERROR ? -1 : 0;
}

static int set(struct sm *sm, struct sm_pkt *p, const struct jid *owner, int q)
{
	size_t max = (size_t)conf_size(sm->conf, "sm.private.max_size");
	struct buf key, xml;
	char err[ERRLEN];
	int c;

	/* Every child is checked before any is stored: all or nothing. */
	buf_init(&xml);
	for (c = stanza_first_element(p->st, q); c != STANZA_NONE; c = stanza_next_element(p->st, c)) {
		buf_reset(&xml);
		stanza_write_node(p->st, c, &xml, NULL);
		if (buf_used(&xml) > max) {
			buf_free(&xml);
			sm_bounce(sm, p, "modify", "policy-violation");
			return -1;
		}
	}
	buf_init(&key);
	for (c = stanza_first_element(p->st, q); c != STANZA_NONE; c = stanza_next_element(p->st, c)) {
		key_of(p->st, c, &key);
		buf_reset(&xml);
		stanza_write_node(p->st, c, &xml, NULL);
		buf_append(&xml, "", 1);
		if (storage_private_set(sm->storage, jid_domainpart(owner), jid_localpart(owner),
		    buf_head(&key), buf_head(&xml), err, sizeof(err)) != STORAGE_OK) {
			log_error("storage: private XML of %s: %s", jid_bare_str(owner), err);
			sm_bounce(sm, p, "wait", "internal-server-error");
			break;
		}
	}
	buf_free(&key);
	buf_free(&xml);
	return c == STANZA_NONE ? 0 : -1;
}

static enum sm_verdict iq(struct sm *sm, struct sm_pkt *p, void *arg)
{
	int q = stanza_find_child(p->st, stanza_root(p->st), NS_PRIVATE, "query");
	const struct jid *who = p->session != NULL ? p->session->jid : p->from;
	const struct jid *addr = p->to != NULL ? p->to : who;
	bool is_get = strcmp(p->type, "get") == 0;

	(void)arg;
	if (q == STANZA_NONE || addr == NULL || sm->storage == NULL)
		return SM_PASS;
	if (jid_localpart(addr) == NULL || who == NULL || !jid_equal_bare(addr, who)) {
		sm_bounce(sm, p, "auth", "forbidden");
		return SM_DONE;
	}
	int first = stanza_first_element(p->st, q);
	if (first == STANZA_NONE) {
		sm_bounce(sm, p, "modify", "not-acceptable");
		return SM_DONE;
	}
	for (int c = first; c != STANZA_NONE; c = stanza_next_element(p->st, c)) {
		if (reserved(stanza_ns(p->st, c))) {
			sm_bounce(sm, p, "modify", "not-acceptable");
			return SM_DONE;
		}
		if (is_get && strcmp(stanza_ns(p->st, c), stanza_ns(p->st, first)) != 0) {
			sm_bounce(sm, p, "modify", "bad-request");
			return SM_DONE;
		}
	}
	struct jid *owner = jid_bare_dup(addr);
	struct stanza *r = sm_iq_result(p);
	if (is_get) {
		int rq = stanza_add_child(r, stanza_root(r), NS_PRIVATE, "query");
		if (get(sm, owner, p->st, q, r, rq) == 0)
			sm_send(sm, r);
		else
			sm_bounce(sm, p, "wait", "internal-server-error");
	} else if (set(sm, p, owner, q) == 0) {
		sm_send(sm, r);
	}
	stanza_free(&r);
	jid_free(&owner);
	return SM_DONE;
}

void mod_private_init(struct sm *sm)
{
	sm_hook_stanza(sm, SM_CHAIN_IQ, "private", iq, NULL);
	sm_add_feature(sm, NS_PRIVATE);
}
