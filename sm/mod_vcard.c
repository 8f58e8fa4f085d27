/*
 * mod_vcard.c — XEP-0054 vcard-temp: the user's own vCard (get and set
 * with no `to` or the own bare JID; an empty <vCard/> when none is
 * stored, §3.1), another user's vCard (get to that bare JID; when there
 * is none, service-unavailable: §3.3 wants the answer a nonexistent user
 * gets, which is the core's), and nobody sets another's
 * (forbidden). A vCard larger than sm.vcard.max_size, as stored, is
 * refused with policy-violation (RFC 6120 §8.3.3.12: a local limit).
 * Setting an empty vCard deletes the stored one.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "sm.h"
#include "storage.h"
#include "xml_stream.h"

#define NS_VCARD "vcard-temp"

static bool own(const struct sm_pkt *p, const struct jid *owner)
{
	const struct jid *who = p->session != NULL ? p->session->jid : p->from;

	return who != NULL && jid_equal_bare(owner, who);
}

static void get(struct sm *sm, struct sm_pkt *p, const struct jid *owner)
{
	char *xml = NULL;
	char err[ERRLEN];
	struct stanza *card = NULL;
	int rc = storage_vcard_get(sm->storage, jid_domainpart(owner), jid_localpart(owner), &xml,
	    err, sizeof(err));

	if (rc == STORAGE_ERROR) {
		log_error("storage: vCard of %s: %s", jid_bare_str(owner), err);
		sm_bounce(sm, p, "wait", "internal-server-error");
		return;
	}
	if (rc == STORAGE_OK) {
		card = stanza_new_empty();
		if (xml_stream_parse_stanza(sm->parser, xml, strlen(xml), card, err,
		    sizeof(err)) < 0 || !stanza_is(card, stanza_root(card), NS_VCARD, "vCard")) {
			log_error("stored vCard of %s does not parse: %s", jid_bare_str(owner), err);
			stanza_free(&card);
		}
	}
	free(xml);
	if (card == NULL && !own(p, owner)) {
		sm_bounce(sm, p, "cancel", "service-unavailable");
		return;
	}
	struct stanza *r = sm_iq_result(p);
	if (card != NULL)
		stanza_import(r, stanza_root(r), card, stanza_root(card));
	else
		stanza_add_child(r, stanza_root(r), NS_VCARD, "vCard");
	sm_send(sm, r);
	stanza_free(&r);
	stanza_free(&card);
}

static void set(struct sm *sm, struct sm_pkt *p, const struct jid *owner, int card)
{
	size_t max = (size_t)conf_size(sm->conf, "sm.vcard.max_size");
	char err[ERRLEN];
	struct buf b;
	int rc;

	if (!own(p, owner)) {
		sm_bounce(sm, p, "auth", "forbidden");
		return;
	}
	buf_init(&b);
	stanza_write_node(p->st, card, &b, NULL);
	if (buf_used(&b) > max) {
		buf_free(&b);
		sm_bounce(sm, p, "modify", "policy-violation");
		return;
	}
	buf_append(&b, "", 1);
	rc = storage_vcard_set(sm->storage, jid_domainpart(owner), jid_localpart(owner),
	    stanza_first_element(p->st, card) == STANZA_NONE ? NULL : buf_head(&b), err,
	    sizeof(err));
	buf_free(&b);
	if (rc != STORAGE_OK) {
		log_error("storage: vCard of %s: %s", jid_bare_str(owner), err);
		sm_bounce(sm, p, "wait", "internal-server-error");
		return;
	}
	struct stanza *r = sm_iq_result(p);
	sm_send(sm, r);
	stanza_free(&r);
}

static enum sm_verdict iq(struct sm *sm, struct sm_pkt *p, void *arg)
{
	int card = stanza_find_child(p->st, stanza_root(p->st), NS_VCARD, "vCard");
	const struct jid *addr = p->to != NULL ? p->to :
	    p->session != NULL ? p->session->jid : NULL;

	(void)arg;
	if (card == STANZA_NONE || addr == NULL || jid_localpart(addr) == NULL ||
	    sm->storage == NULL)
		return SM_PASS;
	struct jid *owner = jid_bare_dup(addr);
	if (strcmp(p->type, "get") == 0)
		get(sm, p, owner);
	else
		set(sm, p, owner, card);
	jid_free(&owner);
	return SM_DONE;
}

void mod_vcard_init(struct sm *sm)
{
	sm_hook_stanza(sm, SM_CHAIN_IQ, "vcard", iq, NULL);
	sm_add_feature(sm, NS_VCARD);
}
