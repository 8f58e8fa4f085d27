/*
 * sqlite_roster.c — the SQLite driver's rosters and subscription requests.
 *
 * A roster is three tables (sqlite_schema.c, migration 1 → 2): the
 * owner's version counter with its low-water mark, one row per (owner,
 * contact) — a removed item stays as a tombstone carrying the version of
 * its removal — and the items' groups. Every change is one BEGIN IMMEDIATE
 * transaction that bumps the version, so a reader never sees an item
 * without its groups or a version without its change. Reads of several
 * statements run in one snapshot (BEGIN).
 *
 * Must not: keep more than STORAGE_ROSTER_TOMBSTONES_KEPT tombstones per
 * owner without raising the low-water mark first, or answer get_since
 * from below it.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_db.h"

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
	return STORAGE_SUB_NONE;   /* the schema's CHECK allows nothing else */
}

/* Columns: contact, name, subscription, ask, removed, ver. */
static void read_item(sqlite3_stmt *st, struct storage_roster_item *item)
{
	memset(item, 0, sizeof(*item));
	item->contact = sqlite_db_column_dup(st, 0);
	if (item->contact == NULL)
		item->contact = xstrdup("");
	item->name = sqlite_db_column_dup(st, 1);
	item->sub = sub_parse((const char *)sqlite3_column_text(st, 2));
	item->ask = sqlite3_column_int(st, 3) != 0;
	item->removed = sqlite3_column_int(st, 4) != 0;
	item->ver = sqlite3_column_int64(st, 5);
}

/* The owner's version and low-water mark; both 0 before the first change. */
static int version_get(struct sqlite_db *d, const char *domain, const char *localpart,
    int64_t *ver, int64_t *low, char *err, size_t errlen)
{
	sqlite3_stmt *st = sqlite_db_owner(d, ST_ROSTER_VERSION_GET, domain, localpart);
	int rc = sqlite3_step(st);

	*ver = *low = 0;
	if (rc == SQLITE_ROW) {
		*ver = sqlite3_column_int64(st, 0);
		*low = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE) {
		sqlite_db_error(d, "reading a roster version", err, errlen);
	}
	sqlite_db_finish(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Inside a write transaction: the owner's next version into *ver. */
static int version_bump(struct sqlite_db *d, const char *domain, const char *localpart,
    int64_t *ver, char *err, size_t errlen)
{
	int64_t low;

	if (sqlite_db_done(d, sqlite_db_owner(d, ST_ROSTER_VERSION_BUMP, domain, localpart),
	    "bumping a roster version", err, errlen) < 0)
		return -1;
	return version_get(d, domain, localpart, ver, &low, err, errlen);
}

/* Append every row of `st` (items) to out. */
static int read_items(struct sqlite_db *d, sqlite3_stmt *st, struct storage_roster_list *out,
    char *err, size_t errlen)
{
	size_t cap = out->n;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			out->items = xreallocarray(out->items, cap, sizeof(*out->items));
		}
		read_item(st, &out->items[out->n++]);
	}
	if (rc != SQLITE_DONE)
		sqlite_db_error(d, "reading a roster", err, errlen);
	sqlite_db_finish(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void add_group(struct storage_roster_item *item, sqlite3_stmt *st, int col)
{
	char *name = sqlite_db_column_dup(st, col);

	if (name == NULL)
		return;
	item->groups = xreallocarray(item->groups, item->ngroups + 1, sizeof(*item->groups));
	item->groups[item->ngroups++] = name;
}

/* Give the items of `out` (sorted by contact) their groups: one pass over
 * the owner's groups, sorted the same way (both in SQLite's BINARY order,
 * which is strcmp's for strings without NUL). */
static int read_groups(struct sqlite_db *d, const char *domain, const char *localpart,
    struct storage_roster_list *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = sqlite_db_owner(d, ST_ROSTER_GROUPS_ALL, domain, localpart);
	size_t i = 0;
	int rc = SQLITE_DONE;

	while (i < out->n && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *contact = (const char *)sqlite3_column_text(st, 0);
		if (contact == NULL)
			continue;
		while (i < out->n && strcmp(out->items[i].contact, contact) < 0)
			i++;
		if (i < out->n && strcmp(out->items[i].contact, contact) == 0)
			add_group(&out->items[i], st, 1);
	}
	if (i >= out->n)
		rc = SQLITE_DONE;   /* the groups of no item of ours are left */
	if (rc != SQLITE_DONE)
		sqlite_db_error(d, "reading roster groups", err, errlen);
	sqlite_db_finish(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The live roster (since < 0) or the changes after `since`, in one snapshot. */
static int roster_read(struct sqlite_db *d, const char *domain, const char *localpart,
    int64_t since, struct storage_roster_list *out, char *err, size_t errlen)
{
	int64_t ver, low;
	int result = STORAGE_OK;

	memset(out, 0, sizeof(*out));
	if (sqlite_db_read(d, "reading a roster", err, errlen) < 0)
		return STORAGE_ERROR;
	if (version_get(d, domain, localpart, &ver, &low, err, errlen) < 0) {
		result = STORAGE_ERROR;
	} else if (since >= 0 && (since > ver || since < low)) {
		result = STORAGE_NOT_FOUND;
	} else {
		sqlite3_stmt *st;
		if (since < 0) {
			st = sqlite_db_owner(d, ST_ROSTER_ITEMS_ALL, domain, localpart);
		} else {
			st = sqlite_db_owner(d, ST_ROSTER_ITEMS_SINCE, domain, localpart);
			sqlite3_bind_int64(st, 3, since);
		}
		if (read_items(d, st, out, err, errlen) < 0 ||
		    read_groups(d, domain, localpart, out, err, errlen) < 0)
			result = STORAGE_ERROR;
	}
	if (result != STORAGE_OK) {
		sqlite_db_rollback(d);
		storage_roster_list_free(out);
		return result;
	}
	if (sqlite_db_commit(d, "reading a roster", err, errlen) < 0) {
		storage_roster_list_free(out);
		return STORAGE_ERROR;
	}
	out->ver = ver;
	return STORAGE_OK;
}

int sqlite_roster_get(void *db, const char *domain, const char *localpart,
    struct storage_roster_list *out, char *err, size_t errlen)
{
	return roster_read(db, domain, localpart, -1, out, err, errlen);
}

int sqlite_roster_get_since(void *db, const char *domain, const char *localpart,
    int64_t since, struct storage_roster_list *out, char *err, size_t errlen)
{
	if (since < 0) {
		/* Not a version this store ever handed out. */
		memset(out, 0, sizeof(*out));
		return STORAGE_NOT_FOUND;
	}
	return roster_read(db, domain, localpart, since, out, err, errlen);
}

int sqlite_roster_get_item(void *db, const char *domain, const char *localpart,
    const char *contact, struct storage_roster_item *out, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	int result = STORAGE_OK;

	memset(out, 0, sizeof(*out));
	if (sqlite_db_read(d, "reading a roster item", err, errlen) < 0)
		return STORAGE_ERROR;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_ROSTER_ITEM_GET, domain, localpart);
	sqlite_db_text(st, 3, contact);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_item(st, out);
	else if (rc == SQLITE_DONE)
		result = STORAGE_NOT_FOUND;
	else
		result = sqlite_db_error(d, "reading a roster item", err, errlen);
	sqlite_db_finish(st);
	if (result == STORAGE_OK) {
		st = sqlite_db_owner(d, ST_ROSTER_GROUPS_ITEM, domain, localpart);
		sqlite_db_text(st, 3, contact);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			add_group(out, st, 0);
		if (rc != SQLITE_DONE)
			result = sqlite_db_error(d, "reading roster groups", err, errlen);
		sqlite_db_finish(st);
	}
	if (result != STORAGE_OK) {
		sqlite_db_rollback(d);
		storage_roster_item_clear(out);
		return result;
	}
	if (sqlite_db_commit(d, "reading a roster item", err, errlen) < 0) {
		storage_roster_item_clear(out);
		return STORAGE_ERROR;
	}
	return STORAGE_OK;
}

/* Inside a write transaction: drop the contact's groups. */
static int groups_delete(struct sqlite_db *d, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen)
{
	sqlite3_stmt *st = sqlite_db_owner(d, ST_ROSTER_GROUPS_DELETE, domain, localpart);

	sqlite_db_text(st, 3, contact);
	return sqlite_db_done(d, st, "replacing roster groups", err, errlen) < 0 ? -1 : 0;
}

static int item_write(struct sqlite_db *d, const char *domain, const char *localpart,
    const struct storage_roster_item *item, int64_t ver, char *err, size_t errlen)
{
	sqlite3_stmt *st = sqlite_db_owner(d, ST_ROSTER_ITEM_PUT, domain, localpart);

	sqlite_db_text(st, 3, item->contact);
	sqlite_db_text(st, 4, item->name);
	sqlite_db_text(st, 5, sub_names[item->sub]);
	sqlite3_bind_int(st, 6, item->ask ? 1 : 0);
	sqlite3_bind_int64(st, 7, ver);
	if (sqlite_db_done(d, st, "writing a roster item", err, errlen) < 0 ||
	    groups_delete(d, domain, localpart, item->contact, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < item->ngroups; i++) {
		st = sqlite_db_owner(d, ST_ROSTER_GROUP_ADD, domain, localpart);
		sqlite_db_text(st, 3, item->contact);
		sqlite_db_text(st, 4, item->groups[i]);
		if (sqlite_db_done(d, st, "writing a roster group", err, errlen) < 0)
			return -1;
	}
	return 0;
}

int sqlite_roster_put(void *db, const char *domain, const char *localpart,
    const struct storage_roster_item *item, int64_t *ver, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	int64_t v;

	if (sqlite_db_write(d, "writing a roster item", err, errlen) < 0)
		return STORAGE_ERROR;
	if (version_bump(d, domain, localpart, &v, err, errlen) < 0 ||
	    item_write(d, domain, localpart, item, v, err, errlen) < 0) {
		sqlite_db_rollback(d);
		return STORAGE_ERROR;
	}
	if (sqlite_db_commit(d, "writing a roster item", err, errlen) < 0)
		return STORAGE_ERROR;
	*ver = v;
	return STORAGE_OK;
}

/* Inside a write transaction: keep the newest STORAGE_ROSTER_TOMBSTONES_KEPT
 * tombstones, and raise the low-water mark to the newest one dropped, so
 * that get_since refuses the versions it can no longer answer. */
static int tombstones_prune(struct sqlite_db *d, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	sqlite3_stmt *st = sqlite_db_owner(d, ST_ROSTER_TOMBSTONE_NTH, domain, localpart);
	int64_t cut = 0;

	sqlite3_bind_int64(st, 3, STORAGE_ROSTER_TOMBSTONES_KEPT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		cut = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		sqlite_db_error(d, "pruning roster tombstones", err, errlen);
	sqlite_db_finish(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : -1;
	st = sqlite_db_owner(d, ST_ROSTER_TOMBSTONES_PRUNE, domain, localpart);
	sqlite3_bind_int64(st, 3, cut);
	if (sqlite_db_done(d, st, "pruning roster tombstones", err, errlen) < 0)
		return -1;
	st = sqlite_db_owner(d, ST_ROSTER_LOW_WATER_SET, domain, localpart);
	sqlite3_bind_int64(st, 3, cut);
	return sqlite_db_done(d, st, "pruning roster tombstones", err, errlen) < 0 ? -1 : 0;
}

int sqlite_roster_remove(void *db, const char *domain, const char *localpart,
    const char *contact, int64_t *ver, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	int64_t v;

	if (sqlite_db_write(d, "removing a roster item", err, errlen) < 0)
		return STORAGE_ERROR;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_ROSTER_ITEM_GET, domain, localpart);
	sqlite_db_text(st, 3, contact);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		sqlite_db_error(d, "removing a roster item", err, errlen);
	sqlite_db_finish(st);
	if (rc != SQLITE_ROW) {
		sqlite_db_rollback(d);
		return rc == SQLITE_DONE ? STORAGE_NOT_FOUND : STORAGE_ERROR;
	}
	if (version_bump(d, domain, localpart, &v, err, errlen) < 0)
		goto fail;
	st = sqlite_db_owner(d, ST_ROSTER_ITEM_TOMBSTONE, domain, localpart);
	sqlite_db_text(st, 3, contact);
	sqlite3_bind_int64(st, 4, v);
	if (sqlite_db_done(d, st, "removing a roster item", err, errlen) < 0 ||
	    groups_delete(d, domain, localpart, contact, err, errlen) < 0 ||
	    tombstones_prune(d, domain, localpart, err, errlen) < 0)
		goto fail;
	if (sqlite_db_commit(d, "removing a roster item", err, errlen) < 0)
		return STORAGE_ERROR;
	*ver = v;
	return STORAGE_OK;
fail:
	sqlite_db_rollback(d);
	return STORAGE_ERROR;
}

/* --- subscription requests -------------------------------------------------- */

int sqlite_subreq_put(void *db, const char *domain, const char *localpart,
    const char *contact, const char *stanza, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_SUBREQ_PUT, domain, localpart);

	sqlite_db_text(st, 3, contact);
	sqlite_db_text(st, 4, stanza);
	if (sqlite_db_done(d, st, "recording a subscription request", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

int sqlite_subreq_exists(void *db, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_SUBREQ_EXISTS, domain, localpart);

	sqlite_db_text(st, 3, contact);
	int rc = sqlite3_step(st);
	int result = rc == SQLITE_ROW ? STORAGE_OK : rc == SQLITE_DONE ? STORAGE_NOT_FOUND :
	    sqlite_db_error(d, "looking up a subscription request", err, errlen);
	sqlite_db_finish(st);
	return result;
}

int sqlite_subreq_delete(void *db, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_SUBREQ_DELETE, domain, localpart);

	sqlite_db_text(st, 3, contact);
	int n = sqlite_db_done(d, st, "deleting a subscription request", err, errlen);
	if (n < 0)
		return STORAGE_ERROR;
	return n == 0 ? STORAGE_NOT_FOUND : STORAGE_OK;
}

int sqlite_subreq_list(void *db, const char *domain, const char *localpart,
    storage_subreq_cb cb, void *arg, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	struct sqlite_rows rows;

	if (sqlite_db_rows(d, sqlite_db_owner(d, ST_SUBREQ_LIST, domain, localpart), false, 2,
	    &rows, "listing subscription requests", err, errlen) < 0)
		return STORAGE_ERROR;
	for (size_t i = 0; i < rows.n; i++)
		if (cb(arg, rows.v[i].text[0], rows.v[i].text[1]) != 0)
			break;
	sqlite_db_rows_free(&rows);
	return STORAGE_OK;
}
