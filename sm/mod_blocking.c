/*
 * mod_blocking.c — XEP-0191 blocking command: the user's block list (get,
 * block, unblock, pushes to the resources that asked for the list), the
 * matching rules (§JID Matching) behind sm_blocked(), and their
 * enforcement: what a blocked entity sends the user is refused so that the
 * user appears offline (§3.3: presence dropped, a message or an iq get/set
 * answered <service-unavailable/>, other iqs dropped), and what the user
 * sends a blocked entity is answered <not-acceptable/> with
 * <blocked xmlns='urn:xmpp:blocking:errors'/> and not routed.
 *
 * The list of a user who has sessions is kept in memory (parsed JIDs),
 * loaded on first use and forgotten when the user's last session ends:
 * every stanza to or from an online user asks it. For a user without
 * sessions (a message to store offline) the store is read each time.
 *
 * Must not: decide presence broadcast itself (the presence and roster
 * modules ask sm_blocked before they send the user's presence out).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sm.h"
#include "storage.h"

#define NS_BLOCKING "urn:xmpp:blocking"
#define NS_BLOCKING_ERRORS "urn:xmpp:blocking:errors"

/* Items one user may block. */
#define BLOCK_ITEMS_MAX 1000

struct blocklist {
	struct jid **items;
	size_t n;
	/* The user's sessions that asked for the list (§3.3: pushes go to
	 * them only). */
	struct sm_session **interested;
	size_t ninterested;
};

/* bare JID → struct blocklist, for users with sessions. One sm per
 * process, so the module's state is the file's. */
static struct hash *lists;
static unsigned push_counter;

static void blocklist_free(void *v)
{
	struct blocklist *l = v;

	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		jid_free(&l->items[i]);
	free(l->items);
	free(l->interested);
	free(l);
}

/* --- matching (XEP-0191 §JID Matching, as XEP-0016) ------------------------------- */

/* Whether the block item covers `who`: a full JID only itself, a bare
 * JID every resource of it, domain/resource only that, a domain itself
 * and every address at it (XEP-0016 §2.1: not its subdomains). */
static bool item_matches(const struct jid *item, const struct jid *who)
{
	const char *il = jid_localpart(item), *ir = jid_resourcepart(item);
	const char *wl = jid_localpart(who), *wr = jid_resourcepart(who);

	if (il != NULL) {
		if (wl == NULL || !jid_equal_bare(item, who))
			return false;
		return ir == NULL || (wr != NULL && strcmp(ir, wr) == 0);
	}
	if (ir != NULL)
		return wl == NULL && wr != NULL && strcmp(ir, wr) == 0 &&
		    strcmp(jid_domainpart(item), jid_domainpart(who)) == 0;
	return strcmp(jid_domainpart(item), jid_domainpart(who)) == 0;
}

static bool list_matches(const struct blocklist *l, const struct jid *who)
{
	for (size_t i = 0; i < l->n; i++)
		if (item_matches(l->items[i], who))
			return true;
	return false;
}

/* --- the lists ------------------------------------------------------------------ */

static void list_add(struct blocklist *l, const struct jid *j)
{
	for (size_t i = 0; i < l->n; i++)
		if (jid_equal_full(l->items[i], j))
			return;
	l->items = xreallocarray(l->items, l->n + 1, sizeof(*l->items));
	l->items[l->n++] = jid_dup(j);
}

static void list_remove(struct blocklist *l, const struct jid *j)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!jid_equal_full(l->items[i], j))
			continue;
		jid_free(&l->items[i]);
		l->items[i] = l->items[--l->n];
		return;
	}
}

static int load_item(void *arg, const char *s)
{
	struct blocklist *l = arg;
	struct jid *j = NULL;
	char err[ERRLEN];

	if (jid_parse(&j, s, strlen(s), err, sizeof(err)) < 0) {
		log_warn("block list: stored item \"%s\" ignored: %s", s, err);
		return 0;
	}
	list_add(l, j);
	jid_free(&j);
	return 0;
}

/* The owner's list from the store into a new blocklist, or NULL (logged).
 * Without a store (the core's unit tests) nobody is blocked. */
static struct blocklist *load(struct sm *sm, const struct jid *owner)
{
	struct blocklist *l = xcalloc(1, sizeof(*l));
	char err[ERRLEN];

	if (sm->storage == NULL)
		return l;
	if (storage_block_list(sm->storage, jid_domainpart(owner), jid_localpart(owner),
	    load_item, l, err, sizeof(err)) != STORAGE_OK) {
		log_error("storage: block list of %s: %s", jid_bare_str(owner), err);
		blocklist_free(l);
		return NULL;
	}
	return l;
}

/* The cached list of an online owner (loaded if needed), or NULL when the
 * owner has no session. */
static struct blocklist *cached(struct sm *sm, const struct jid *owner)
{
	const char *bare = jid_bare_str(owner);
	struct blocklist *l;

	if (session_first(sm->sessions, bare) == NULL)
		return NULL;
	if (lists == NULL)
		lists = hash_new(64);
	if ((l = hash_get(lists, bare, strlen(bare))) == NULL &&
	    (l = load(sm, owner)) != NULL)
		hash_put(lists, bare, strlen(bare), l);
	return l;
}

bool sm_blocked(struct sm *sm, const struct jid *owner, const struct jid *who)
{
	struct blocklist *l;
	bool blocked;

	if (owner == NULL || who == NULL || jid_localpart(owner) == NULL)
		return false;
	if ((l = cached(sm, owner)) != NULL)
		return list_matches(l, who);
	/* Offline: read the store; on a storage error nobody is blocked
	 * (logged in load()), rather than everybody. */
	if ((l = load(sm, owner)) == NULL)
		return false;
	blocked = list_matches(l, who);
	blocklist_free(l);
	return blocked;
}

/* --- the iq (§3.2–3.5) ------------------------------------------------------------ */

/* The account an iq is about: its `to`, or the sender's own when it has
 * none. */
static const struct jid *addressed(const struct sm_pkt *p)
{
	if (p->to != NULL)
		return p->to;
	return p->session != NULL ? p->session->jid : p->from;
}

static bool from_owner(const struct sm_pkt *p)
{
	const struct jid *sender = p->session != NULL ? p->session->jid : p->from;

	if (sender == NULL)
		return false;
	return p->to == NULL || (jid_localpart(p->to) != NULL && jid_is_bare(p->to) &&
	    jid_equal_bare(sender, p->to));
}

static void reply_result(struct sm *sm, struct sm_pkt *p, const char *child,
    const struct blocklist *l)
{
	struct stanza *r = sm_iq_result(p);

	if (child != NULL) {
		int el = stanza_add_child(r, stanza_root(r), NS_BLOCKING, child);
		for (size_t i = 0; l != NULL && i < l->n; i++)
			stanza_set_attr(r, stanza_add_child(r, el, NULL, "item"), "jid",
			    jid_full_str(l->items[i]));
	}
	sm_send(sm, r);
	stanza_free(&r);
}

static void remember_interested(struct blocklist *l, struct sm_session *s)
{
	for (size_t i = 0; i < l->ninterested; i++)
		if (l->interested[i] == s)
			return;
	l->interested = xreallocarray(l->interested, l->ninterested + 1, sizeof(*l->interested));
	l->interested[l->ninterested++] = s;
}

static void get_list(struct sm *sm, struct sm_pkt *p, const struct jid *owner)
{
	struct blocklist *l = cached(sm, owner), *tmp = NULL;

	if (l == NULL && (l = tmp = load(sm, owner)) == NULL) {
		sm_bounce(sm, p, "wait", "internal-server-error");
		return;
	}
	if (p->session != NULL && tmp == NULL)
		remember_interested(l, p->session);
	reply_result(sm, p, "blocklist", l);
	blocklist_free(tmp);
}

/* The <item jid=''/> children of el, parsed; -1 if one is malformed. */
static int parse_items(const struct stanza *st, int el, struct jid ***out, size_t *n)
{
	char err[ERRLEN];

	*out = NULL;
	*n = 0;
	for (int c = stanza_find_child(st, el, NS_BLOCKING, "item"); c != STANZA_NONE;
	    c = stanza_find_next(st, c, NS_BLOCKING, "item")) {
		const char *s = stanza_get_attr(st, c, "jid");
		struct jid *j = NULL;
		if (s == NULL || jid_parse(&j, s, strlen(s), err, sizeof(err)) < 0) {
			for (size_t i = 0; i < *n; i++)
				jid_free(&(*out)[i]);
			free(*out);
			*out = NULL;
			*n = 0;
			return -1;
		}
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = j;
	}
	return 0;
}

static void free_items(struct jid **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jid_free(&items[i]);
	free(items);
}

/* §3.3/§3.4: the same block or unblock to every interested resource. */
static void push(struct sm *sm, const struct jid *owner, const char *what, struct jid **items,
    size_t n)
{
	const char *bare = jid_bare_str(owner);
	struct blocklist *l = lists != NULL ? hash_get(lists, bare, strlen(bare)) : NULL;
	char id[32];

	if (l == NULL)
		return;
	for (size_t i = 0; i < l->ninterested; i++) {
		struct stanza *st = stanza_new(NS_CLIENT, "iq");
		int el = stanza_add_child(st, stanza_root(st), NS_BLOCKING, what);
		for (size_t k = 0; k < n; k++)
			stanza_set_attr(st, stanza_add_child(st, el, NULL, "item"), "jid",
			    jid_full_str(items[k]));
		snprintf(id, sizeof(id), "block-push-%u", ++push_counter);
		stanza_set_type(st, "set");
		stanza_set_id(st, id);
		stanza_set_from(st, bare);
		stanza_set_to(st, jid_full_str(l->interested[i]->jid));
		sm_deliver_to_session(sm, l->interested[i], st);
		stanza_free(&st);
	}
}

/* Whether `contact` may see the owner's presence (a roster item with
 * subscription from or both, RFC 6121 §3). */
static bool contact_subscribed(struct sm *sm, const struct jid *owner, const struct jid *contact)
{
	struct storage_roster_item item = { 0 };
	char err[ERRLEN];
	bool yes;
	int rc;

	if (jid_localpart(contact) == NULL || sm->storage == NULL)
		return false;
	rc = storage_roster_get_item(sm->storage, jid_domainpart(owner), jid_localpart(owner),
	    jid_bare_str(contact), &item, err, sizeof(err));
	if (rc == STORAGE_ERROR)
		log_error("storage: roster of %s: %s", jid_bare_str(owner), err);
	yes = rc == STORAGE_OK && (item.sub == STORAGE_SUB_FROM || item.sub == STORAGE_SUB_BOTH);
	storage_roster_item_clear(&item);
	return yes;
}

/* §3.3: on block, a subscribed contact sees each available resource go
 * unavailable; §3.4: on unblock, it gets their current presence. Items
 * naming a whole domain are not expanded over the roster. */
static void presence_to_contacts(struct sm *sm, const struct jid *owner, struct jid **items,
    size_t n, bool blocking)
{
	for (size_t i = 0; i < n; i++) {
		if (!contact_subscribed(sm, owner, items[i]))
			continue;
		/* Unblocked here, but maybe still covered by another item
		 * (its domain): then it stays without presence. */
		if (!blocking && sm_blocked(sm, owner, items[i]))
			continue;
		for (struct sm_session *s = session_first(sm->sessions, jid_bare_str(owner));
		    s != NULL; s = s->next) {
			if (!s->available || (!blocking && s->presence == NULL))
				continue;
			struct stanza *st = blocking ? stanza_new(NS_CLIENT, "presence") :
			    stanza_copy(s->presence);
			if (blocking)
				stanza_set_type(st, "unavailable");
			stanza_set_from(st, jid_full_str(s->jid));
			stanza_set_to(st, jid_full_str(items[i]));
			sm_send(sm, st);
			stanza_free(&st);
		}
	}
}

static void change(struct sm *sm, struct sm_pkt *p, const struct jid *owner, int el,
    bool blocking)
{
	const char *what = blocking ? "block" : "unblock";
	struct jid **items;
	const char **strs;
	size_t n;
	char err[ERRLEN];
	int rc;

	if (parse_items(p->st, el, &items, &n) < 0) {
		sm_bounce(sm, p, "modify", "jid-malformed");
		return;
	}
	if (blocking && n == 0) {
		sm_bounce(sm, p, "modify", "bad-request");
		free_items(items, n);
		return;
	}
	const struct blocklist *now = blocking ? cached(sm, owner) : NULL;
	if (now != NULL && now->n + n > BLOCK_ITEMS_MAX) {
		/* A list without bound would be storage and a match per
		 * stanza without bound: a local policy (RFC 6120 §8.3.3.12). */
		sm_bounce(sm, p, "cancel", "policy-violation");
		free_items(items, n);
		return;
	}
	/* §3.5: unblocking everything lifts what the list holds now; those
	 * contacts get the user's presence back below. */
	struct blocklist *lifted = !blocking && n == 0 ? load(sm, owner) : NULL;
	strs = xcalloc(n + 1, sizeof(*strs));
	for (size_t i = 0; i < n; i++)
		strs[i] = jid_full_str(items[i]);
	if (sm->storage == NULL)
		rc = STORAGE_ERROR, snprintf(err, sizeof(err), "no store");
	else if (blocking)
		rc = storage_block_add(sm->storage, jid_domainpart(owner), jid_localpart(owner),
		    strs, n, err, sizeof(err));
	else
		rc = storage_block_remove(sm->storage, jid_domainpart(owner), jid_localpart(owner),
		    strs, n, err, sizeof(err));
	free(strs);
	if (rc != STORAGE_OK) {
		log_error("storage: %s for %s: %s", what, jid_bare_str(owner), err);
		sm_bounce(sm, p, "wait", "internal-server-error");
		free_items(items, n);
		blocklist_free(lifted);
		return;
	}

	struct blocklist *l = cached(sm, owner);
	if (l != NULL) {
		if (!blocking && n == 0) {
			for (size_t i = 0; i < l->n; i++)
				jid_free(&l->items[i]);
			l->n = 0;
		}
		for (size_t i = 0; i < n; i++)
			blocking ? list_add(l, items[i]) : list_remove(l, items[i]);
	}
	log_info("%s: %s %zu item%s", jid_bare_str(owner), what, n, n == 1 ? "" : "s");
	reply_result(sm, p, NULL, NULL);
	push(sm, owner, what, items, n);
	presence_to_contacts(sm, owner, items, n, blocking);
	if (blocking)
		sm_presence_blocked(sm, owner);
	if (lifted != NULL)
		presence_to_contacts(sm, owner, lifted->items, lifted->n, false);
	blocklist_free(lifted);
	free_items(items, n);
}

static enum sm_verdict iq(struct sm *sm, struct sm_pkt *p, void *arg)
{
	int root = stanza_root(p->st);
	int el = stanza_first_element(p->st, root);
	bool get = strcmp(p->type, "get") == 0;

	(void)arg;
	if (el == STANZA_NONE || strcmp(stanza_ns(p->st, el), NS_BLOCKING) != 0)
		return SM_PASS;
	if (!from_owner(p)) {
		sm_bounce(sm, p, "auth", "forbidden");
		return SM_DONE;
	}
	const struct jid *owner = addressed(p);
	if (get && stanza_is(p->st, el, NS_BLOCKING, "blocklist"))
		get_list(sm, p, owner);
	else if (!get && stanza_is(p->st, el, NS_BLOCKING, "block"))
		change(sm, p, owner, el, true);
	else if (!get && stanza_is(p->st, el, NS_BLOCKING, "unblock"))
		change(sm, p, owner, el, false);
	else
		sm_bounce(sm, p, "modify", "bad-request");
	return SM_DONE;
}

/* --- enforcement ------------------------------------------------------------------ */

/* A stanza for a local user from someone the user blocks (§3.3). */
static enum sm_verdict local_in(struct sm *sm, struct sm_pkt *p, void *arg)
{
	(void)arg;
	/* The hosted domains' own answers pass, as they do outbound. */
	if (p->from == NULL || p->to == NULL || jid_equal_bare(p->from, p->to) ||
	    (jid_localpart(p->from) == NULL && jid_resourcepart(p->from) == NULL &&
	    sm_is_local_domain(sm, jid_domainpart(p->from))))
		return SM_PASS;
	struct jid *owner = jid_bare_dup(p->to);
	bool blocked = sm_blocked(sm, owner, p->from);
	jid_free(&owner);
	if (!blocked)
		return SM_PASS;
	/* As if the user were offline: presence dropped, messages and
	 * requests answered as for an unavailable user, answers dropped
	 * (sm_bounce never answers an error or a result). */
	if (p->kind != SM_PRESENCE)
		sm_bounce(sm, p, "cancel", "service-unavailable");
	log_debug("%s from %s to %s: blocked", p->kind == SM_MESSAGE ? "message" :
	    p->kind == SM_IQ ? "iq" : "presence", jid_full_str(p->from), jid_full_str(p->to));
	return SM_DONE;
}

/* A stanza the user sends to someone the user blocks (§3.3): not routed,
 * the sending session gets <not-acceptable/><blocked/>. */
static enum sm_verdict session_out(struct sm *sm, struct sm_pkt *p, void *arg)
{
	(void)arg;
	/* The user's own account and the server stay reachable whatever the
	 * list says. */
	if (p->session == NULL || p->to == NULL || jid_equal_bare(p->to, p->session->jid) ||
	    (jid_localpart(p->to) == NULL && sm_is_local_domain(sm, jid_domainpart(p->to))))
		return SM_PASS;
	struct jid *owner = jid_bare_dup(p->session->jid);
	bool blocked = sm_blocked(sm, owner, p->to);
	jid_free(&owner);
	if (!blocked)
		return SM_PASS;
	if (p->type != NULL && (strcmp(p->type, "error") == 0 ||
	    (p->kind == SM_IQ && strcmp(p->type, "result") == 0)))
		return SM_DONE; /* never answered; not routed either */
	struct stanza *st = stanza_copy(p->st);
	if (stanza_make_error(st, "cancel", "not-acceptable", NULL) == 0) {
		int e = stanza_find_child(st, stanza_root(st), NULL, "error");
		stanza_add_child(st, e, NS_BLOCKING_ERRORS, "blocked");
		stanza_set_to(st, jid_full_str(p->session->jid));
		/* Straight to the session: routed, the error would come "from"
		 * the blocked contact and be refused on the way in. */
		sm_deliver_to_session(sm, p->session, st);
	}
	stanza_free(&st);
	return SM_DONE;
}

/* --- the life of the cache -------------------------------------------------------- */

static void forget(const char *bare)
{
	if (lists != NULL)
		blocklist_free(hash_del(lists, bare, strlen(bare)));
}

static void session_end(struct sm *sm, struct sm_session *s, void *arg)
{
	const char *bare = jid_bare_str(s->jid);
	struct blocklist *l;

	(void)arg;
	if (lists == NULL || (l = hash_get(lists, bare, strlen(bare))) == NULL)
		return;
	if (session_count_of(sm->sessions, bare) <= 1) {
		forget(bare);
		return;
	}
	for (size_t i = 0; i < l->ninterested; i++)
		if (l->interested[i] == s) {
			l->interested[i] = l->interested[--l->ninterested];
			break;
		}
}

static void user_deleted(struct sm *sm, const struct jid *bare, void *arg)
{
	(void)sm;
	(void)arg;
	forget(jid_bare_str(bare));
}

void mod_blocking_init(struct sm *sm)
{
	/* A new sm (the unit tests make one per case) starts with no lists. */
	hash_free(&lists, blocklist_free);
	sm_hook_stanza(sm, SM_CHAIN_IQ, "blocking", iq, NULL);
	sm_hook_stanza(sm, SM_CHAIN_LOCAL_IN, "blocking", local_in, NULL);
	sm_hook_stanza(sm, SM_CHAIN_SESSION_OUT, "blocking", session_out, NULL);
	sm_hook_session(sm, SM_CHAIN_SESSION_END, "blocking", session_end, NULL);
	sm_hook_user(sm, SM_CHAIN_USER_DELETED, "blocking", user_deleted, NULL);
	sm_add_feature(sm, NS_BLOCKING);
}
