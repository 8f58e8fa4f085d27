/*
 * mysql_roster.c — the MySQL/MariaDB driver's rosters and subscription
 * requests, with the SQLite driver's semantics (doc/storage.md, "Roster
 * versions").
 *
 * A roster is three tables (storage/schema/mysql.sql, version 2): the
 * owner's version counter with its low-water mark, one row per (owner,
 * contact) — a removed item stays as a tombstone carrying the version of
 * its removal — and the items' groups. Every change is one transaction
 * that first locks the owner's roster_version row (the bump's upsert, or
 * SELECT … FOR UPDATE for a remove), so one owner's changes from several
 * connections queue up in the same order on every path and never
 * deadlock each other; reads of several statements run in one consistent
 * snapshot, so a reader never sees an item without its groups or a
 * version without its change.
 *
 * Must not: keep more than STORAGE_ROSTER_TOMBSTONES_KEPT tombstones per
 * owner without raising the low-water mark first, or answer get_since
 * from below it.
 */
#include <stdlib.h>
#include <string.h>

#include "mysql_db.h"

static const char *const sub_names[] = {
	[STORAGE_SUB_NONE] = "none",
	[STORAGE_SUB_TO] = "to",
	[STORAGE_SUB_FROM] = "from",
	[STORAGE_SUB_BOTH] = "both",
};

static enum storage_sub sub_parse(const char *text)
{
	for (size_t i = 0; i < ARRAY_LEN(sub_names); i++)
		if (text != NULL && strcmp(text, sub_names[i]) == 0)
			return (enum storage_sub)i;
	return STORAGE_SUB_NONE;   /* the column's ENUM allows nothing else */
}

/* What one roster call works on. */
struct roster_call {
	const char *domain, *localpart;
	const char *contact;
	int64_t since;
	const struct storage_roster_item *item;
	struct storage_roster_list *list;
	struct storage_roster_item *one;
	int64_t ver;
};

/* Row `r` of an items query (contact, name, subscription, ask, removed,
 * ver) into item, taking its strings. */
static void take_item(struct msql_rows *rows, size_t r, struct storage_roster_item *item)
{
	memset(item, 0, sizeof(*item));
	item->contact = msql_rows_take(rows, r, 0);
	if (item->contact == NULL)
		item->contact = xstrdup("");
	item->name = msql_rows_take(rows, r, 1);
	item->sub = sub_parse(msql_rows_text(rows, r, 2));
	item->ask = msql_rows_int(rows, r, 3) != 0;
	item->removed = msql_rows_int(rows, r, 4) != 0;
	item->ver = msql_rows_int(rows, r, 5);
}

static void add_group(struct storage_roster_item *item, char *name)
{
	if (name == NULL)
		return;
	item->groups = xreallocarray(item->groups, item->ngroups + 1, sizeof(*item->groups));
	item->groups[item->ngroups++] = name;
}

/* The owner's version and low-water mark; both 0 before the first change. */
static int version_get(struct msql_db *d, const char *domain, const char *localpart,
    int64_t *ver, int64_t *low, char *err, size_t errlen)
{
	const struct msql_param p[] = { MP_OWNER(domain, localpart) };
	struct msql_rows rows;

	*ver = *low = 0;
	if (msql_db_query(d, MST_ROSTER_VERSION_GET, p, ARRAY_LEN(p), &rows,
	    "reading a roster version", err, errlen) < 0)
		return -1;
	if (rows.n > 0) {
		*ver = msql_rows_int(&rows, 0, 0);
		*low = msql_rows_int(&rows, 0, 1);
	}
	msql_rows_free(&rows);
	return 0;
}

/* Inside a write transaction: the owner's next version into *ver. The
 * upsert locks the owner's row until the transaction ends. */
static int version_bump(struct msql_db *d, const char *domain, const char *localpart,
    int64_t *ver, char *err, size_t errlen)
{
	const struct msql_param p[] = { MP_OWNER(domain, localpart) };
	int64_t low;

	if (msql_db_exec(d, MST_ROSTER_VERSION_BUMP, p, ARRAY_LEN(p), NULL,
	    "bumping a roster version", err, errlen) < 0)
		return -1;
	return version_get(d, domain, localpart, ver, &low, err, errlen);
}

/* Give the items of `out` (sorted by contact) their groups: one pass over
 * the owner's groups, sorted the same way (byte order on both sides). */
static int read_groups(struct msql_db *d, const char *domain, const char *localpart,
    struct storage_roster_list *out, char *err, size_t errlen)
{
	const struct msql_param p[] = { MP_OWNER(domain, localpart) };
	struct msql_rows rows;
	size_t i = 0;

	if (out->n == 0)
		return 0;
	if (msql_db_query(d, MST_ROSTER_GROUPS_ALL, p, ARRAY_LEN(p), &rows,
	    "reading roster groups", err, errlen) < 0)
		return -1;
	for (size_t r = 0; r < rows.n && i < out->n; r++) {
		const char *contact = msql_rows_text(&rows, r, 0);
		if (contact == NULL)
			continue;
		while (i < out->n && strcmp(out->items[i].contact, contact) < 0)
			i++;
		if (i < out->n && strcmp(out->items[i].contact, contact) == 0)
			add_group(&out->items[i], msql_rows_take(&rows, r, 1));
	}
	msql_rows_free(&rows);
	return 0;
}

/* The live roster (since < 0) or the changes after `since`, in one snapshot. */
static int op_roster_read(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct roster_call *c = arg;
	struct storage_roster_list *out = c->list;
	const struct msql_param all[] = { MP_OWNER(c->domain, c->localpart) };
	const struct msql_param since[] = { MP_OWNER(c->domain, c->localpart), MP_INT(c->since) };
	struct msql_rows rows;
	int64_t ver, low;

	memset(out, 0, sizeof(*out));
	if (msql_db_snapshot(d, "reading a roster", err, errlen) < 0)
		return STORAGE_ERROR;
	if (version_get(d, c->domain, c->localpart, &ver, &low, err, errlen) < 0)
		goto fail;
	if (c->since >= 0 && (c->since > ver || c->since < low)) {
		msql_db_rollback(d);
		return STORAGE_NOT_FOUND;
	}
	if (c->since < 0 ? msql_db_query(d, MST_ROSTER_ITEMS_ALL, all, ARRAY_LEN(all), &rows,
	    "reading a roster", err, errlen) < 0 : msql_db_query(d, MST_ROSTER_ITEMS_SINCE, since,
	    ARRAY_LEN(since), &rows, "reading a roster", err, errlen) < 0)
		goto fail;
	if (rows.n > 0)
		out->items = xcalloc(rows.n, sizeof(*out->items));
	for (size_t r = 0; r < rows.n; r++)
		take_item(&rows, r, &out->items[out->n++]);
	msql_rows_free(&rows);
	if (read_groups(d, c->domain, c->localpart, out, err, errlen) < 0)
		goto fail;
	if (msql_db_commit(d, "reading a roster", err, errlen) < 0) {
		storage_roster_list_free(out);
		return STORAGE_ERROR;
	}
	out->ver = ver;
	return STORAGE_OK;
fail:
	msql_db_rollback(d);
	storage_roster_list_free(out);
	return STORAGE_ERROR;
}

int msql_roster_get(void *db, const char *domain, const char *localpart,
    struct storage_roster_list *out, char *err, size_t errlen)
{
	struct roster_call c = { .domain = domain, .localpart = localpart, .since = -1,
	    .list = out };

	return msql_db_run(db, "reading a roster", op_roster_read, &c, err, errlen);
}

int msql_roster_get_since(void *db, const char *domain, const char *localpart,
    int64_t since, struct storage_roster_list *out, char *err, size_t errlen)
{
	struct roster_call c = { .domain = domain, .localpart = localpart, .since = since,
	    .list = out };

	if (since < 0) {
		/* Not a version this store ever handed out. */
		memset(out, 0, sizeof(*out));
		return STORAGE_NOT_FOUND;
	}
	return msql_db_run(db, "reading a roster", op_roster_read, &c, err, errlen);
}

static int op_roster_get_item(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct roster_call *c = arg;
	struct storage_roster_item *out = c->one;
	const struct msql_param p[] = { MP_OWNER(c->domain, c->localpart), MP_TEXT(c->contact) };
	struct msql_rows rows;

	memset(out, 0, sizeof(*out));
	if (msql_db_snapshot(d, "reading a roster item", err, errlen) < 0)
		return STORAGE_ERROR;
	if (msql_db_query(d, MST_ROSTER_ITEM_GET, p, ARRAY_LEN(p), &rows,
	    "reading a roster item", err, errlen) < 0)
		goto fail;
	if (rows.n == 0) {
		msql_rows_free(&rows);
		msql_db_rollback(d);
		return STORAGE_NOT_FOUND;
	}
	take_item(&rows, 0, out);
	msql_rows_free(&rows);
	if (msql_db_query(d, MST_ROSTER_GROUPS_ITEM, p, ARRAY_LEN(p), &rows,
	    "reading roster groups", err, errlen) < 0)
		goto fail;
	for (size_t r = 0; r < rows.n; r++)
		add_group(out, msql_rows_take(&rows, r, 0));
	msql_rows_free(&rows);
	if (msql_db_commit(d, "reading a roster item", err, errlen) < 0) {
		storage_roster_item_clear(out);
		memset(out, 0, sizeof(*out));
		return STORAGE_ERROR;
	}
	return STORAGE_OK;
fail:
	msql_db_rollback(d);
	storage_roster_item_clear(out);
	memset(out, 0, sizeof(*out));
	return STORAGE_ERROR;
}

int msql_roster_get_item(void *db, const char *domain, const char *localpart,
    const char *contact, struct storage_roster_item *out, char *err, size_t errlen)
{
	struct roster_call c = { .domain = domain, .localpart = localpart, .contact = contact,
	    .one = out };

	return msql_db_run(db, "reading a roster item", op_roster_get_item, &c, err, errlen);
}

/* Inside a write transaction: drop the contact's groups. */
static int groups_delete(struct msql_db *d, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen)
{
	const struct msql_param p[] = { MP_OWNER(domain, localpart), MP_TEXT(contact) };

	return msql_db_exec(d, MST_ROSTER_GROUPS_DELETE, p, ARRAY_LEN(p), NULL,
	    "replacing roster groups", err, errlen) < 0 ? -1 : 0;
}

/* Whether groups[i] came earlier in the list: the schema has no room for
 * a unique key on the name, so each name is written once here. */
static bool group_seen(const struct storage_roster_item *item, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(item->groups[j], item->groups[i]) == 0)
			return true;
	return false;
}

static int item_write(struct msql_db *d, const char *domain, const char *localpart,
    const struct storage_roster_item *item, int64_t ver, char *err, size_t errlen)
{
	const struct msql_param p[] = {
		MP_OWNER(domain, localpart), MP_TEXT(item->contact), MP_TEXT(item->name),
		MP_TEXT(sub_names[item->sub]), MP_INT(item->ask ? 1 : 0), MP_INT(ver),
	};

	if (msql_db_exec(d, MST_ROSTER_ITEM_PUT, p, ARRAY_LEN(p), NULL, "writing a roster item",
	    err, errlen) < 0 || groups_delete(d, domain, localpart, item->contact, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < item->ngroups; i++) {
		const struct msql_param g[] = {
			MP_OWNER(domain, localpart), MP_TEXT(item->contact),
			MP_TEXT(item->groups[i]),
		};
		if (group_seen(item, i))
			continue;
		if (msql_db_exec(d, MST_ROSTER_GROUP_ADD, g, ARRAY_LEN(g), NULL,
		    "writing a roster group", err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int op_roster_put(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct roster_call *c = arg;

	if (msql_db_begin(d, "writing a roster item", err, errlen) < 0)
		return STORAGE_ERROR;
	if (version_bump(d, c->domain, c->localpart, &c->ver, err, errlen) < 0 ||
	    item_write(d, c->domain, c->localpart, c->item, c->ver, err, errlen) < 0) {
		msql_db_rollback(d);
		return STORAGE_ERROR;
	}
	if (msql_db_commit(d, "writing a roster item", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

int msql_roster_put(void *db, const char *domain, const char *localpart,
    const struct storage_roster_item *item, int64_t *ver, char *err, size_t errlen)
{
	struct roster_call c = { .domain = domain, .localpart = localpart, .item = item };
	int rc = msql_db_run(db, "writing a roster item", op_roster_put, &c, err, errlen);

	if (rc == STORAGE_OK)
		*ver = c.ver;
	return rc;
}

/* Inside a write transaction: keep the newest STORAGE_ROSTER_TOMBSTONES_KEPT
 * tombstones, and raise the low-water mark to the newest one dropped, so
 * that get_since refuses the versions it can no longer answer. */
static int tombstones_prune(struct msql_db *d, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	const struct msql_param nth[] = {
		MP_OWNER(domain, localpart), MP_INT(STORAGE_ROSTER_TOMBSTONES_KEPT),
	};
	struct msql_rows rows;
	int64_t cut;

	if (msql_db_query(d, MST_ROSTER_TOMBSTONE_NTH, nth, ARRAY_LEN(nth), &rows,
	    "pruning roster tombstones", err, errlen) < 0)
		return -1;
	if (rows.n == 0) {
		msql_rows_free(&rows);
		return 0;
	}
	cut = msql_rows_int(&rows, 0, 0);
	msql_rows_free(&rows);
	const struct msql_param prune[] = { MP_OWNER(domain, localpart), MP_INT(cut) };
	const struct msql_param low[] = { MP_INT(cut), MP_OWNER(domain, localpart) };
	if (msql_db_exec(d, MST_ROSTER_TOMBSTONES_PRUNE, prune, ARRAY_LEN(prune), NULL,
	    "pruning roster tombstones", err, errlen) < 0 ||
	    msql_db_exec(d, MST_ROSTER_LOW_WATER_SET, low, ARRAY_LEN(low), NULL,
	    "pruning roster tombstones", err, errlen) < 0)
		return -1;
	return 0;
}

static int op_roster_remove(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct roster_call *c = arg;
	const struct msql_param owner[] = { MP_OWNER(c->domain, c->localpart) };
	const struct msql_param item[] = { MP_OWNER(c->domain, c->localpart), MP_TEXT(c->contact) };
	struct msql_rows rows;
	bool live;

	if (msql_db_begin(d, "removing a roster item", err, errlen) < 0)
		return STORAGE_ERROR;
	/* The owner's lock first, as a put takes it; then the item, read as
	 * it is now (a locking read), not as an older snapshot saw it. */
	if (msql_db_query(d, MST_ROSTER_VERSION_LOCK, owner, ARRAY_LEN(owner), &rows,
	    "removing a roster item", err, errlen) < 0)
		goto fail;
	msql_rows_free(&rows);
	if (msql_db_query(d, MST_ROSTER_ITEM_LOCK, item, ARRAY_LEN(item), &rows,
	    "removing a roster item", err, errlen) < 0)
		goto fail;
	live = rows.n > 0 && msql_rows_int(&rows, 0, 0) == 0;
	msql_rows_free(&rows);
	if (!live) {
		msql_db_rollback(d);
		return STORAGE_NOT_FOUND;
	}
	if (version_bump(d, c->domain, c->localpart, &c->ver, err, errlen) < 0)
		goto fail;
	const struct msql_param tomb[] = {
		MP_INT(c->ver), MP_OWNER(c->domain, c->localpart), MP_TEXT(c->contact),
	};
	if (msql_db_exec(d, MST_ROSTER_ITEM_TOMBSTONE, tomb, ARRAY_LEN(tomb), NULL,
	    "removing a roster item", err, errlen) < 0 ||
	    groups_delete(d, c->domain, c->localpart, c->contact, err, errlen) < 0 ||
	    tombstones_prune(d, c->domain, c->localpart, err, errlen) < 0)
		goto fail;
	if (msql_db_commit(d, "removing a roster item", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
fail:
	msql_db_rollback(d);
	return STORAGE_ERROR;
}

int msql_roster_remove(void *db, const char *domain, const char *localpart,
    const char *contact, int64_t *ver, char *err, size_t errlen)
{
	struct roster_call c = { .domain = domain, .localpart = localpart, .contact = contact };
	int rc = msql_db_run(db, "removing a roster item", op_roster_remove, &c, err, errlen);

	if (rc == STORAGE_OK)
		*ver = c.ver;
	return rc;
}

/* --- subscription requests -------------------------------------------------- */

struct subreq_call {
	const char *domain, *localpart;
	const char *contact, *stanza;
	struct msql_rows rows;
};

static int op_subreq_put(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct subreq_call *c = arg;
	const struct msql_param p[] = {
		MP_OWNER(c->domain, c->localpart), MP_TEXT(c->contact), MP_TEXT(c->stanza),
		MP_TEXT(c->stanza),
	};

	if (msql_db_exec(d, MST_SUBREQ_PUT, p, ARRAY_LEN(p), NULL,
	    "recording a subscription request", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

int msql_subreq_put(void *db, const char *domain, const char *localpart,
    const char *contact, const char *stanza, char *err, size_t errlen)
{
	struct subreq_call c = { .domain = domain, .localpart = localpart, .contact = contact,
	    .stanza = stanza };

	return msql_db_run(db, "recording a subscription request", op_subreq_put, &c, err,
	    errlen);
}

static int op_subreq_exists(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct subreq_call *c = arg;
	const struct msql_param p[] = { MP_OWNER(c->domain, c->localpart), MP_TEXT(c->contact) };
	struct msql_rows rows;

	if (msql_db_query(d, MST_SUBREQ_EXISTS, p, ARRAY_LEN(p), &rows,
	    "looking up a subscription request", err, errlen) < 0)
		return STORAGE_ERROR;
	int result = rows.n > 0 ? STORAGE_OK : STORAGE_NOT_FOUND;
	msql_rows_free(&rows);
	return result;
}

int msql_subreq_exists(void *db, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen)
{
	struct subreq_call c = { .domain = domain, .localpart = localpart, .contact = contact };

	return msql_db_run(db, "looking up a subscription request", op_subreq_exists, &c, err,
	    errlen);
}

static int op_subreq_delete(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct subreq_call *c = arg;
	const struct msql_param p[] = { MP_OWNER(c->domain, c->localpart), MP_TEXT(c->contact) };
	int64_t n = msql_db_exec(d, MST_SUBREQ_DELETE, p, ARRAY_LEN(p), NULL,
	    "deleting a subscription request", err, errlen);

	if (n < 0)
		return STORAGE_ERROR;
	return n == 0 ? STORAGE_NOT_FOUND : STORAGE_OK;
}

int msql_subreq_delete(void *db, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen)
{
	struct subreq_call c = { .domain = domain, .localpart = localpart, .contact = contact };

	return msql_db_run(db, "deleting a subscription request", op_subreq_delete, &c, err,
	    errlen);
}

static int op_subreq_list(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct subreq_call *c = arg;
	const struct msql_param p[] = { MP_OWNER(c->domain, c->localpart) };

	if (msql_db_query(d, MST_SUBREQ_LIST, p, ARRAY_LEN(p), &c->rows,
	    "listing subscription requests", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

int msql_subreq_list(void *db, const char *domain, const char *localpart,
    storage_subreq_cb cb, void *arg, char *err, size_t errlen)
{
	struct subreq_call c = { .domain = domain, .localpart = localpart };

	if (msql_db_run(db, "listing subscription requests", op_subreq_list, &c, err, errlen) !=
	    STORAGE_OK)
		return STORAGE_ERROR;
	for (size_t i = 0; i < c.rows.n; i++) {
		const char *contact = msql_rows_text(&c.rows, i, 0);
		const char *stanza = msql_rows_text(&c.rows, i, 1);
		if (cb(arg, contact != NULL ? contact : "", stanza != NULL ? stanza : "") != 0)
			break;
	}
	msql_rows_free(&c.rows);
	return STORAGE_OK;
}
