/*
 * pgsql_roster.c — the PostgreSQL driver's rosters and subscription
 * requests, with the SQLite driver's semantics (doc/storage.md, "Roster
 * versions"): a version counter per owner with a low-water mark, one row
 * per (owner, contact) with removed items kept as tombstones, and the
 * items' groups. Every change is one transaction under the owner's
 * advisory lock (pgsql_begin_write), so changes of one roster from
 * several processes take versions one after the other; reads of several
 * statements run in one REPEATABLE READ snapshot. Each operation is one
 * attempt for the retry loop (pgsql_retry), which may run it again from
 * the start after a lost connection.
 *
 * Must not: keep more than STORAGE_ROSTER_TOMBSTONES_KEPT tombstones per
 * owner without raising the low-water mark first, or answer get_since
 * from below it.
 */
#include <stdlib.h>
#include <string.h>

#include "pgsql_db.h"

static const char *const sub_names[] = {
	[STORAGE_SUB_NONE] = "none",
	[STORAGE_SUB_TO] = "to",
	[STORAGE_SUB_FROM] = "from",
	[STORAGE_SUB_BOTH] = "both",
};

static enum storage_sub sub_parse(const char *text)
{
	for (size_t i = 0; i < ARRAY_LEN(sub_names); i++)
		if (strcmp(text, sub_names[i]) == 0)
			return (enum storage_sub)i;
	return STORAGE_SUB_NONE;   /* the schema's CHECK allows nothing else */
}

/* Row `row` of r (columns: contact, name, subscription, ask, removed, ver). */
static void read_item(const PGresult *r, int row, struct storage_roster_item *item)
{
	memset(item, 0, sizeof(*item));
	item->contact = pg_dup(r, row, 0);
	if (item->contact == NULL)
		item->contact = xstrdup("");
	item->name = pg_dup(r, row, 1);
	item->sub = sub_parse(PQgetvalue(r, row, 2));
	item->ask = pg_bool(r, row, 3);
	item->removed = pg_bool(r, row, 4);
	item->ver = pg_int(r, row, 5);
}

static void add_group(struct storage_roster_item *item, char *name)
{
	item->groups = xreallocarray(item->groups, item->ngroups + 1, sizeof(*item->groups));
	item->groups[item->ngroups++] = name;
}

/* The owner's version and low-water mark; both 0 before the first change. */
static int version_get(struct pgsql_db *d, const struct pg_params *owner, int64_t *ver,
    int64_t *low, char *err, size_t errlen)
{
	PGresult *r = pgsql_exec(d, PG_ROSTER_VERSION_GET, owner, "reading a roster version",
	    err, errlen);

	*ver = *low = 0;
	if (r == NULL)
		return -1;
	if (PQntuples(r) > 0) {
		*ver = pg_int(r, 0, 0);
		*low = pg_int(r, 0, 1);
	}
	PQclear(r);
	return 0;
}

/* Inside a write transaction: the owner's next version into *ver. */
static int version_bump(struct pgsql_db *d, const struct pg_params *owner, int64_t *ver,
    char *err, size_t errlen)
{
	PGresult *r = pgsql_exec(d, PG_ROSTER_VERSION_BUMP, owner, "bumping a roster version",
	    err, errlen);

	if (r == NULL)
		return -1;
	*ver = PQntuples(r) > 0 ? pg_int(r, 0, 0) : 0;
	PQclear(r);
	if (*ver <= 0)
		return errf(err, errlen, "bumping a roster version: no version came back");
	return 0;
}

/* Give the items of `out` (sorted by contact) their groups: one pass over
 * the owner's groups, sorted the same way (COLLATE "C": strcmp's order). */
static int read_groups(struct pgsql_db *d, const struct pg_params *owner,
    struct storage_roster_list *out, char *err, size_t errlen)
{
	PGresult *r = pgsql_exec(d, PG_ROSTER_GROUPS_ALL, owner, "reading roster groups", err,
	    errlen);
	size_t i = 0;

	if (r == NULL)
		return -1;
	for (int row = 0; row < PQntuples(r) && i < out->n; row++) {
		const char *contact = PQgetvalue(r, row, 0);
		while (i < out->n && strcmp(out->items[i].contact, contact) < 0)
			i++;
		if (i < out->n && strcmp(out->items[i].contact, contact) == 0)
			add_group(&out->items[i], pg_dup(r, row, 1));
	}
	PQclear(r);
	return 0;
}

struct roster_read {
	const char *domain, *localpart;
	int64_t since;              /* < 0: the live roster */
	struct storage_roster_list *out;
};

static int roster_read_attempt(struct pgsql_db *d, void *arg, char *err, size_t errlen)
{
	struct roster_read *a = arg;
	struct storage_roster_list *out = a->out;
	struct pg_params p;
	int64_t ver, low;
	int result = STORAGE_OK;
	PGresult *r = NULL;

	memset(out, 0, sizeof(*out));
	pg_params_owner(&p, a->domain, a->localpart);
	if (pgsql_begin_read(d, "reading a roster", err, errlen) < 0)
		return STORAGE_ERROR;
	if (version_get(d, &p, &ver, &low, err, errlen) < 0) {
		result = STORAGE_ERROR;
	} else if (a->since >= 0 && (a->since > ver || a->since < low)) {
		result = STORAGE_NOT_FOUND;
	} else {
		if (a->since >= 0)
			pg_params_int(&p, a->since);
		r = pgsql_exec(d, a->since < 0 ? PG_ROSTER_ITEMS_ALL : PG_ROSTER_ITEMS_SINCE, &p,
		    "reading a roster", err, errlen);
		if (r == NULL) {
			result = STORAGE_ERROR;
		} else {
			out->n = (size_t)PQntuples(r);
			out->items = out->n > 0 ? xcalloc(out->n, sizeof(*out->items)) : NULL;
			for (size_t i = 0; i < out->n; i++)
				read_item(r, (int)i, &out->items[i]);
			PQclear(r);
			pg_params_owner(&p, a->domain, a->localpart);
			if (read_groups(d, &p, out, err, errlen) < 0)
				result = STORAGE_ERROR;
		}
	}
	if (result != STORAGE_OK) {
		pgsql_rollback(d);
		storage_roster_list_free(out);
		return result;
	}
	if (pgsql_commit(d, "reading a roster", err, errlen) < 0) {
		storage_roster_list_free(out);
		return STORAGE_ERROR;
	}
	out->ver = ver;
	return STORAGE_OK;
}

int pgsql_roster_get(void *db, const char *domain, const char *localpart,
    struct storage_roster_list *out, char *err, size_t errlen)
{
	struct roster_read a = { domain, localpart, -1, out };

	return pgsql_retry(db, roster_read_attempt, &a, "reading a roster", err, errlen);
}

int pgsql_roster_get_since(void *db, const char *domain, const char *localpart,
    int64_t since, struct storage_roster_list *out, char *err, size_t errlen)
{
	struct roster_read a = { domain, localpart, since, out };

	if (since < 0) {
		/* Not a version this store ever handed out. */
		memset(out, 0, sizeof(*out));
		return STORAGE_NOT_FOUND;
	}
	return pgsql_retry(db, roster_read_attempt, &a, "reading a roster", err, errlen);
}

struct item_op {
	const char *domain, *localpart, *contact;
	const struct storage_roster_item *item;     /* put */
	struct storage_roster_item *out;            /* get_item */
	int64_t ver;                                /* put, remove */
};

static int get_item_attempt(struct pgsql_db *d, void *arg, char *err, size_t errlen)
{
	struct item_op *a = arg;
	struct pg_params p;
	int result = STORAGE_OK;

	memset(a->out, 0, sizeof(*a->out));
	pg_params_owner(&p, a->domain, a->localpart);
	pg_params_text(&p, a->contact);
	if (pgsql_begin_read(d, "reading a roster item", err, errlen) < 0)
		return STORAGE_ERROR;
	PGresult *r = pgsql_exec(d, PG_ROSTER_ITEM_GET, &p, "reading a roster item", err,
	    errlen);
	if (r == NULL)
		result = STORAGE_ERROR;
	else if (PQntuples(r) == 0)
		result = STORAGE_NOT_FOUND;
	else
		read_item(r, 0, a->out);
	PQclear(r);
	if (result == STORAGE_OK) {
		r = pgsql_exec(d, PG_ROSTER_GROUPS_ITEM, &p, "reading roster groups", err, errlen);
		if (r == NULL)
			result = STORAGE_ERROR;
		for (int i = 0; r != NULL && i < PQntuples(r); i++)
			add_group(a->out, pg_dup(r, i, 0));
		PQclear(r);
	}
	if (result != STORAGE_OK) {
		pgsql_rollback(d);
		storage_roster_item_clear(a->out);
		return result;
	}
	if (pgsql_commit(d, "reading a roster item", err, errlen) < 0) {
		storage_roster_item_clear(a->out);
		return STORAGE_ERROR;
	}
	return STORAGE_OK;
}

int pgsql_roster_get_item(void *db, const char *domain, const char *localpart,
    const char *contact, struct storage_roster_item *out, char *err, size_t errlen)
{
	struct item_op a = { .domain = domain, .localpart = localpart, .contact = contact,
	    .out = out };

	return pgsql_retry(db, get_item_attempt, &a, "reading a roster item", err, errlen);
}

/* Inside a write transaction: drop the contact's groups. */
static int groups_delete(struct pgsql_db *d, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen)
{
	struct pg_params p;

	pg_params_owner(&p, domain, localpart);
	pg_params_text(&p, contact);
	return pgsql_done(d, PG_ROSTER_GROUPS_DELETE, &p, "replacing roster groups", err,
	    errlen) < 0 ? -1 : 0;
}

static int item_write(struct pgsql_db *d, const char *domain, const char *localpart,
    const struct storage_roster_item *item, int64_t ver, char *err, size_t errlen)
{
	struct pg_params p;

	pg_params_owner(&p, domain, localpart);
	pg_params_text(&p, item->contact);
	pg_params_text(&p, item->name);
	pg_params_text(&p, sub_names[item->sub]);
	pg_params_text(&p, item->ask ? "true" : "false");
	pg_params_int(&p, ver);
	if (pgsql_done(d, PG_ROSTER_ITEM_PUT, &p, "writing a roster item", err, errlen) < 0 ||
	    groups_delete(d, domain, localpart, item->contact, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < item->ngroups; i++) {
		pg_params_owner(&p, domain, localpart);
		pg_params_text(&p, item->contact);
		pg_params_text(&p, item->groups[i]);
		if (pgsql_done(d, PG_ROSTER_GROUP_ADD, &p, "writing a roster group", err,
		    errlen) < 0)
			return -1;
	}
	return 0;
}

static int put_attempt(struct pgsql_db *d, void *arg, char *err, size_t errlen)
{
	struct item_op *a = arg;
	struct pg_params owner;
	const char *what = "writing a roster item";

	pg_params_owner(&owner, a->domain, a->localpart);
	if (pgsql_begin_write(d, a->domain, a->localpart, what, err, errlen) < 0)
		return STORAGE_ERROR;
	if (version_bump(d, &owner, &a->ver, err, errlen) < 0 ||
	    item_write(d, a->domain, a->localpart, a->item, a->ver, err, errlen) < 0) {
		pgsql_rollback(d);
		return STORAGE_ERROR;
	}
	if (pgsql_commit(d, what, err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

int pgsql_roster_put(void *db, const char *domain, const char *localpart,
    const struct storage_roster_item *item, int64_t *ver, char *err, size_t errlen)
{
	struct item_op a = { .domain = domain, .localpart = localpart, .item = item };

	int rc = pgsql_retry(db, put_attempt, &a, "writing a roster item", err, errlen);
	if (rc == STORAGE_OK)
		*ver = a.ver;
	return rc;
}

/* Inside a write transaction: keep the newest STORAGE_ROSTER_TOMBSTONES_KEPT
 * tombstones, and raise the low-water mark to the newest one dropped, so
 * that get_since refuses the versions it can no longer answer. */
static int tombstones_prune(struct pgsql_db *d, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	const char *what = "pruning roster tombstones";
	struct pg_params p;
	int64_t cut;

	pg_params_owner(&p, domain, localpart);
	pg_params_int(&p, STORAGE_ROSTER_TOMBSTONES_KEPT);
	PGresult *r = pgsql_exec(d, PG_ROSTER_TOMBSTONE_NTH, &p, what, err, errlen);
	if (r == NULL)
		return -1;
	bool none = PQntuples(r) == 0;
	cut = none ? 0 : pg_int(r, 0, 0);
	PQclear(r);
	if (none)
		return 0;
	pg_params_owner(&p, domain, localpart);
	pg_params_int(&p, cut);
	if (pgsql_done(d, PG_ROSTER_TOMBSTONES_PRUNE, &p, what, err, errlen) < 0 ||
	    pgsql_done(d, PG_ROSTER_LOW_WATER_SET, &p, what, err, errlen) < 0)
		return -1;
	return 0;
}

static int remove_attempt(struct pgsql_db *d, void *arg, char *err, size_t errlen)
{
	struct item_op *a = arg;
	struct pg_params p;
	const char *what = "removing a roster item";

	if (pgsql_begin_write(d, a->domain, a->localpart, what, err, errlen) < 0)
		return STORAGE_ERROR;
	pg_params_owner(&p, a->domain, a->localpart);
	pg_params_text(&p, a->contact);
	PGresult *r = pgsql_exec(d, PG_ROSTER_ITEM_GET, &p, what, err, errlen);
	if (r == NULL)
		goto fail;
	bool live = PQntuples(r) > 0;
	PQclear(r);
	if (!live) {
		pgsql_rollback(d);
		return STORAGE_NOT_FOUND;
	}
	pg_params_owner(&p, a->domain, a->localpart);
	if (version_bump(d, &p, &a->ver, err, errlen) < 0)
		goto fail;
	pg_params_text(&p, a->contact);
	pg_params_int(&p, a->ver);
	if (pgsql_done(d, PG_ROSTER_ITEM_TOMBSTONE, &p, what, err, errlen) < 0 ||
	    groups_delete(d, a->domain, a->localpart, a->contact, err, errlen) < 0 ||
	    tombstones_prune(d, a->domain, a->localpart, err, errlen) < 0)
		goto fail;
	if (pgsql_commit(d, what, err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
fail:
	pgsql_rollback(d);
	return STORAGE_ERROR;
}

int pgsql_roster_remove(void *db, const char *domain, const char *localpart,
    const char *contact, int64_t *ver, char *err, size_t errlen)
{
	struct item_op a = { .domain = domain, .localpart = localpart, .contact = contact };

	int rc = pgsql_retry(db, remove_attempt, &a, "removing a roster item", err, errlen);
	if (rc == STORAGE_OK)
		*ver = a.ver;
	return rc;
}

/* --- subscription requests -------------------------------------------------- */

int pgsql_subreq_put(void *db, const char *domain, const char *localpart,
    const char *contact, const char *stanza, char *err, size_t errlen)
{
	struct pg_params p;

	pg_params_owner(&p, domain, localpart);
	pg_params_text(&p, contact);
	pg_params_text(&p, stanza);
	if (pgsql_done_retry(db, PG_SUBREQ_PUT, &p, "recording a subscription request", err,
	    errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

int pgsql_subreq_exists(void *db, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen)
{
	struct pg_params p;
	PGresult *r;

	pg_params_owner(&p, domain, localpart);
	pg_params_text(&p, contact);
	if (pgsql_exec_retry(db, PG_SUBREQ_EXISTS, &p, &r, "looking up a subscription request",
	    err, errlen) != STORAGE_OK)
		return STORAGE_ERROR;
	int n = PQntuples(r);
	PQclear(r);
	return n > 0 ? STORAGE_OK : STORAGE_NOT_FOUND;
}

int pgsql_subreq_delete(void *db, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen)
{
	struct pg_params p;

	pg_params_owner(&p, domain, localpart);
	pg_params_text(&p, contact);
	int n = pgsql_done_retry(db, PG_SUBREQ_DELETE, &p, "deleting a subscription request",
	    err, errlen);
	if (n < 0)
		return STORAGE_ERROR;
	return n == 0 ? STORAGE_NOT_FOUND : STORAGE_OK;
}

int pgsql_subreq_list(void *db, const char *domain, const char *localpart,
    storage_subreq_cb cb, void *arg, char *err, size_t errlen)
{
	struct pg_listing l = { .id = PG_SUBREQ_LIST, .ntext = 2 };

	pg_params_owner(&l.p, domain, localpart);
	if (pgsql_list(db, &l, "listing subscription requests", err, errlen) != STORAGE_OK)
		return STORAGE_ERROR;
	for (size_t i = 0; i < l.rows.n; i++)
		if (cb(arg, l.rows.v[i].text[0], l.rows.v[i].text[1]) != 0)
			break;
	pg_rows_free(&l.rows);
	return STORAGE_OK;
}
