/*
 * mod_roster.c — the roster (RFC 6121 §2): get, set and remove from the
 * user's own sessions, pushes to every interested resource, and roster
 * versioning (§2.6) with pushes as diffs, and a deleted account's roster
 * (its contacts told, then cleared). It owns the XML form of an item
 * and the "interested resource" flag of a session; the subscription state
 * the items carry is changed by mod_subscription.c through roster.h.
 *
 * Versions are the store's per-user counter, written as decimal strings;
 * a client holding one the store can still answer from gets an empty
 * result and then one push per item changed since (removals included).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "roster.h"

#define NS_ROSTER "jabber:iq:roster"
/* Lengths beyond which a name or group is refused with not-acceptable
 * (RFC 6121 §2.3.3 lets the server set them). */
#define ROSTER_NAME_MAX 1024
#define ROSTER_GROUP_MAX 1024
#define ROSTER_GROUPS_MAX 64
/* Items per roster: more is a resource-constraint error (§2.3.3). */
#define ROSTER_ITEMS_MAX 2000

static unsigned long push_counter;

static const char *owner_domain(const struct jid *owner)
{
	return jid_domainpart(owner);
}

static const char *owner_local(const struct jid *owner)
{
	return jid_localpart(owner);
}

/* --- the XML form ---------------------------------------------------------------------- */

static void add_item(struct stanza *r, int q, const struct storage_roster_item *it)
{
	int el = stanza_add_child(r, q, NULL, "item");

	stanza_set_attr(r, el, "jid", it->contact);
	if (it->name != NULL)
		stanza_set_attr(r, el, "name", it->name);
	if (it->removed) {
		stanza_set_attr(r, el, "subscription", "remove");
		return;
	}
	stanza_set_attr(r, el, "subscription", sub_name(it->sub));
	if (it->ask)
		stanza_set_attr(r, el, "ask", "subscribe");
	for (size_t i = 0; i < it->ngroups; i++)
		stanza_add_child_text(r, el, NULL, "group", it->groups[i]);
}

static void set_ver(struct stanza *r, int q, int64_t ver)
{
	char v[24];

	snprintf(v, sizeof(v), "%" PRId64, ver);
	stanza_set_attr(r, q, "ver", v);
}

static void push_to(struct sm *sm, const struct jid *owner, struct sm_session *s,
    const struct storage_roster_item *item, int64_t ver)
{
	struct stanza *st = stanza_new(NS_CLIENT, "iq");
	char id[32];

	stanza_set_type(st, "set");
	snprintf(id, sizeof(id), "push%lu", ++push_counter);
	stanza_set_id(st, id);
	stanza_set_from(st, jid_bare_str(owner));
	stanza_set_to(st, jid_full_str(s->jid));
	int q = stanza_add_child(st, stanza_root(st), NS_ROSTER, "query");
	set_ver(st, q, ver);
	add_item(st, q, item);
	sm_deliver_to_session(sm, s, st);
	stanza_free(&st);
}

void sm_roster_push(struct sm *sm, const struct jid *owner,
    const struct storage_roster_item *item, int64_t ver)
{
	for (struct sm_session *s = session_first(sm->sessions, jid_bare_str(owner)); s != NULL;
	    s = s->next)
		if (s->roster_requested)
			push_to(sm, owner, s, item, ver);
}

/* --- shared with the other modules --------------------------------------------------- */

int sm_roster_load(struct sm *sm, const struct jid *owner, const char *contact,
    struct storage_roster_item *item, bool *exists, struct sub_state *st)
{
	char err[ERRLEN];
	int rc = storage_roster_get_item(sm->storage, owner_domain(owner), owner_local(owner),
	    contact, item, err, sizeof(err));

	*st = (struct sub_state){ 0 };
	*exists = rc == STORAGE_OK;
	if (rc == STORAGE_NOT_FOUND) {
		*item = (struct storage_roster_item){ .contact = xstrdup(contact) };
	} else if (rc != STORAGE_OK) {
		log_error("storage: roster of %s: %s", jid_bare_str(owner), err);
		return -1;
	}
	st->sub = item->sub;
	st->pending_out = item->ask;
	rc = storage_subreq_exists(sm->storage, owner_domain(owner), owner_local(owner), contact,
	    err, sizeof(err));
	if (rc == STORAGE_ERROR) {
		log_error("storage: subscription requests of %s: %s", jid_bare_str(owner), err);
		storage_roster_item_clear(item);
		return -1;
	}
	st->pending_in = rc == STORAGE_OK;
	return 0;
}

int sm_roster_save(struct sm *sm, const struct jid *owner, struct storage_roster_item *item,
    bool exists, const struct sub_state *st)
{
	char err[ERRLEN];
	int64_t ver;

	if (exists && item->sub == st->sub && item->ask == st->pending_out)
		return 0;
	if (!exists && st->sub == STORAGE_SUB_NONE && !st->pending_out)
		return 0;
	item->sub = st->sub;
	item->ask = st->pending_out;
	if (storage_roster_put(sm->storage, owner_domain(owner), owner_local(owner), item, &ver,
	    err, sizeof(err)) != STORAGE_OK) {
		log_error("storage: roster of %s: %s", jid_bare_str(owner), err);
		return -1;
	}
	sm_roster_push(sm, owner, item, ver);
	return 0;
}

int sm_roster_each(struct sm *sm, const struct jid *owner, sm_roster_each_fn fn, void *arg)
{
	struct storage_roster_list l = { 0 };
	char err[ERRLEN];

	if (storage_roster_get(sm->storage, owner_domain(owner), owner_local(owner), &l, err,
	    sizeof(err)) != STORAGE_OK) {
		log_error("storage: roster of %s: %s", jid_bare_str(owner), err);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++)
		fn(sm, &l.items[i], arg);
	storage_roster_list_free(&l);
	return 0;
}

/* --- get ---------------------------------------------------------------------------- */

/* The client's version: -1 when it has none we can use (absent, empty,
 * or not one of ours): then the whole roster. */
static int64_t client_ver(const char *v)
{
	char *end;

	if (v == NULL || *v == '\0')
		return -1;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0)
		return -1;
	return (int64_t)n;
}

/* Pushes go oldest change first, so the client's last version is the
 * newest. */
static int by_ver(const void *a, const void *b)
{
	int64_t va = ((const struct storage_roster_item *)a)->ver;
	int64_t vb = ((const struct storage_roster_item *)b)->ver;

	return (va > vb) - (va < vb);
}

static void roster_get(struct sm *sm, struct sm_pkt *p, int q)
{
	const struct jid *owner = p->session->jid;
	struct storage_roster_list l = { 0 };
	int64_t since = client_ver(stanza_get_attr(p->st, q, "ver"));
	char err[ERRLEN];
	int rc;

	p->session->roster_requested = true;
	if (since >= 0) {
		rc = storage_roster_get_since(sm->storage, owner_domain(owner), owner_local(owner),
		    since, &l, err, sizeof(err));
		if (rc == STORAGE_OK) {
			/* §2.6.3: an empty result, then the changes as pushes,
			 * oldest first (the store returns them by version). */
			struct stanza *r = sm_iq_result(p);
			sm_send(sm, r);
			stanza_free(&r);
			if (l.n > 1)
				qsort(l.items, l.n, sizeof(*l.items), by_ver);
			for (size_t i = 0; i < l.n; i++)
				push_to(sm, owner, p->session, &l.items[i], l.items[i].ver);
			storage_roster_list_free(&l);
			return;
		}
		if (rc == STORAGE_ERROR)
			goto fail;
	}
	if (storage_roster_get(sm->storage, owner_domain(owner), owner_local(owner), &l, err,
	    sizeof(err)) != STORAGE_OK)
		goto fail;
	struct stanza *r = sm_iq_result(p);
	int rq = stanza_add_child(r, stanza_root(r), NS_ROSTER, "query");
	set_ver(r, rq, l.ver);
	for (size_t i = 0; i < l.n; i++)
		add_item(r, rq, &l.items[i]);
	sm_send(sm, r);
	stanza_free(&r);
	storage_roster_list_free(&l);
	return;
fail:
	log_error("storage: roster of %s: %s", jid_bare_str(owner), err);
	storage_roster_list_free(&l);
	sm_bounce(sm, p, "wait", "internal-server-error");
}

/* --- set ------------------------------------------------------------------------------ */

/* Read the groups of an item into it, refusing what §2.3.3 refuses. */
static const char *read_groups(const struct stanza *st, int el, struct storage_roster_item *it,
    const char **etype)
{
	*etype = "modify";
	for (int g = stanza_find_child(st, el, NS_ROSTER, "group"); g != STANZA_NONE;
	    g = stanza_find_next(st, g, NS_ROSTER, "group")) {
		struct buf b;
		buf_init(&b);
		stanza_text_content(st, g, &b);
		buf_append(&b, "", 1);
		const char *name = buf_head(&b);
		if (*name == '\0' || strlen(name) > ROSTER_GROUP_MAX) {
			buf_free(&b);
			return "not-acceptable";
		}
		for (size_t i = 0; i < it->ngroups; i++) {
			if (strcmp(it->groups[i], name) == 0) {
				buf_free(&b);
				return "bad-request";
			}
		}
		if (it->ngroups == ROSTER_GROUPS_MAX) {
			buf_free(&b);
			*etype = "cancel";
			return "resource-constraint";
		}
		it->groups = xreallocarray(it->groups, it->ngroups + 1, sizeof(*it->groups));
		it->groups[it->ngroups++] = xstrdup(name);
		buf_free(&b);
	}
	return NULL;
}

/* Send a subscription stanza from the owner to the contact, as if the
 * owner's client had: the contact's side processes it (A.3). */
static void send_sub(struct sm *sm, const struct jid *owner, const char *contact,
    const char *type)
{
	struct stanza *st = stanza_new(NS_CLIENT, "presence");

	stanza_set_type(st, type);
	stanza_set_from(st, jid_bare_str(owner));
	stanza_set_to(st, contact);
	sm_send(sm, st);
	stanza_free(&st);
}

/* §2.5.2: removing an item cancels both subscriptions first. */
static void roster_remove(struct sm *sm, struct sm_pkt *p, const char *contact)
{
	const struct jid *owner = p->session->jid;
	struct storage_roster_item item;
	struct sub_state st;
	bool exists;
	char err[ERRLEN];
	int64_t ver;

	if (sm_roster_load(sm, owner, contact, &item, &exists, &st) < 0) {
		sm_bounce(sm, p, "wait", "internal-server-error");
		return;
	}
	if (!exists) {
		storage_roster_item_clear(&item);
		sm_bounce(sm, p, "cancel", "item-not-found");
		return;
	}
	if (sub_has_to(st.sub) || st.pending_out)
		send_sub(sm, owner, contact, "unsubscribe");
	if (sub_has_from(st.sub) || st.pending_in) {
		sm_presence_unavailable_to(sm, owner, contact);
		send_sub(sm, owner, contact, "unsubscribed");
	}
	if (st.pending_in && storage_subreq_delete(sm->storage, owner_domain(owner),
	    owner_local(owner), contact, err, sizeof(err)) == STORAGE_ERROR)
		log_error("storage: subscription requests of %s: %s", jid_bare_str(owner), err);
	int rc = storage_roster_remove(sm->storage, owner_domain(owner), owner_local(owner),
	    contact, &ver, err, sizeof(err));
	if (rc == STORAGE_ERROR) {
		log_error("storage: roster of %s: %s", jid_bare_str(owner), err);
		storage_roster_item_clear(&item);
		sm_bounce(sm, p, "wait", "internal-server-error");
		return;
	}
	struct stanza *r = sm_iq_result(p);
	sm_send(sm, r);
	stanza_free(&r);
	if (rc == STORAGE_OK) {
		item.removed = true;
		sm_roster_push(sm, owner, &item, ver);
	}
	storage_roster_item_clear(&item);
}

/* --- a deleted account ---------------------------------------------------------- */

/* The contacts of a deleted account hear it as if the user had removed
 * every item (§2.5.2) and refused every pending request; then the roster
 * goes (storage_user_delete leaves it for this). The sessions ended
 * before, their unavailable presence broadcast from this same roster. */
struct deleted {
	struct sm *sm;
	const struct jid *owner;
};

static void cancel_item(struct sm *sm, const struct storage_roster_item *item, void *arg)
{
	const struct jid *owner = arg;

	if (sub_has_to(item->sub) || item->ask)
		send_sub(sm, owner, item->contact, "unsubscribe");
	if (sub_has_from(item->sub))
		send_sub(sm, owner, item->contact, "unsubscribed");
}

static int refuse_request(void *arg, const char *contact, const char *stanza)
{
	struct deleted *d = arg;

	(void)stanza;
	send_sub(d->sm, d->owner, contact, "unsubscribed");
	return 0;
}

static void user_deleted(struct sm *sm, const struct jid *bare, void *arg)
{
	struct deleted d = { sm, bare };
	char err[ERRLEN];

	(void)arg;
	if (sm->storage == NULL)
		return;
	/* Read errors are logged where they happen; the roster is cleared
	 * anyway, so that no account of the same name finds it. */
	(void)sm_roster_each(sm, bare, cancel_item, (void *)bare);
	if (storage_subreq_list(sm->storage, owner_domain(bare), owner_local(bare),
	    refuse_request, &d, err, sizeof(err)) == STORAGE_ERROR)
		log_error("storage: subscription requests of %s: %s", jid_bare_str(bare), err);
	if (storage_roster_clear(sm->storage, owner_domain(bare), owner_local(bare), err,
	    sizeof(err)) == STORAGE_ERROR)
		log_error("storage: roster of deleted %s: %s", jid_bare_str(bare), err);
}

static bool roster_full(struct sm *sm, const struct jid *owner)
{
	struct storage_roster_list l = { 0 };
	char err[ERRLEN];
	bool full = false;

	if (storage_roster_get(sm->storage, owner_domain(owner), owner_local(owner), &l, err,
	    sizeof(err)) == STORAGE_OK)
		full = l.n >= ROSTER_ITEMS_MAX;
	else
		log_error("storage: roster of %s: %s", jid_bare_str(owner), err);
	storage_roster_list_free(&l);
	return full;
}

static void roster_set(struct sm *sm, struct sm_pkt *p, int q)
{
	const struct jid *owner = p->session->jid;
	int el = stanza_find_child(p->st, q, NS_ROSTER, "item");
	const char *etype, *cond;
	struct jid *contact = NULL;
	char err[ERRLEN];

	/* §2.3.3: exactly one item, with a jid. */
	if (el == STANZA_NONE || stanza_find_next(p->st, el, NS_ROSTER, "item") != STANZA_NONE ||
	    stanza_get_attr(p->st, el, "jid") == NULL) {
		sm_bounce(sm, p, "modify", "bad-request");
		return;
	}
	const char *jid_s = stanza_get_attr(p->st, el, "jid");
	if (jid_parse(&contact, jid_s, strlen(jid_s), err, sizeof(err)) < 0) {
		sm_bounce(sm, p, "modify", "jid-malformed");
		return;
	}
	const char *sub = stanza_get_attr(p->st, el, "subscription");
	if (sub != NULL && strcmp(sub, "remove") == 0) {
		roster_remove(sm, p, jid_full_str(contact));
		jid_free(&contact);
		return;
	}
	/* Any other 'subscription' or 'ask' a client sends is ignored
	 * (§2.1.2.5, §2.1.2.2): only the server changes them. */
	const char *name = stanza_get_attr(p->st, el, "name");
	if (name != NULL && strlen(name) > ROSTER_NAME_MAX) {
		jid_free(&contact);
		sm_bounce(sm, p, "modify", "not-acceptable");
		return;
	}
	struct storage_roster_item item;
	struct sub_state st;
	bool exists;
	if (sm_roster_load(sm, owner, jid_full_str(contact), &item, &exists, &st) < 0) {
		jid_free(&contact);
		sm_bounce(sm, p, "wait", "internal-server-error");
		return;
	}
	jid_free(&contact);
	if (!exists && roster_full(sm, owner)) {
		storage_roster_item_clear(&item);
		sm_bounce(sm, p, "cancel", "resource-constraint");
		return;
	}
	free(item.name);
	item.name = name != NULL && *name != '\0' ? xstrdup(name) : NULL;
	for (size_t i = 0; i < item.ngroups; i++)
		free(item.groups[i]);
	free(item.groups);
	item.groups = NULL;
	item.ngroups = 0;
	if ((cond = read_groups(p->st, el, &item, &etype)) != NULL) {
		storage_roster_item_clear(&item);
		sm_bounce(sm, p, etype, cond);
		return;
	}
	int64_t ver;
	if (storage_roster_put(sm->storage, owner_domain(owner), owner_local(owner), &item, &ver,
	    err, sizeof(err)) != STORAGE_OK) {
		log_error("storage: roster of %s: %s", jid_bare_str(owner), err);
		storage_roster_item_clear(&item);
		sm_bounce(sm, p, "wait", "internal-server-error");
		return;
	}
	struct stanza *r = sm_iq_result(p);
	sm_send(sm, r);
	stanza_free(&r);
	sm_roster_push(sm, owner, &item, ver);
	storage_roster_item_clear(&item);
}

static enum sm_verdict iq(struct sm *sm, struct sm_pkt *p, void *arg)
{
	int q = stanza_find_child(p->st, stanza_root(p->st), NS_ROSTER, "query");

	(void)arg;
	if (q == STANZA_NONE)
		return SM_PASS;
	/* Only the user, about the user's own roster (§2.1.3, §2.3.3). */
	if (p->session == NULL || (p->to != NULL && !jid_equal_bare(p->to, p->session->jid)) ||
	    (p->to != NULL && !jid_is_bare(p->to))) {
		sm_bounce(sm, p, "auth", "forbidden");
		return SM_DONE;
	}
	if (strcmp(p->type, "get") == 0)
		roster_get(sm, p, q);
	else
		roster_set(sm, p, q);
	return SM_DONE;
}

void mod_roster_init(struct sm *sm)
{
	sm_hook_stanza(sm, SM_CHAIN_IQ, "roster", iq, NULL);
	sm_hook_user(sm, SM_CHAIN_USER_DELETED, "roster", user_deleted, NULL);
	sm_add_feature(sm, NS_ROSTER);
}
