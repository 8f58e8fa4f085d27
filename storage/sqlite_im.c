/*
 * sqlite_im.c — the SQLite driver's per-user IM data besides the roster:
 * offline messages (with the quota checked and the message stored in one
 * transaction, so two writers cannot both take the last place), private
 * XML, vCards, the block list (each change of several JIDs one
 * transaction) and last activity. One row per thing, keyed by the owner.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_db.h"

/* A statement with the owner bound and ?3 the text `a`, stepped to its end:
 * the rows it changed, or -1. */
static int owner_done(struct sqlite_db *d, enum stmt_id id, const char *domain,
    const char *localpart, const char *a, const char *what, char *err, size_t errlen)
{
	sqlite3_stmt *st = sqlite_db_owner(d, id, domain, localpart);

	if (a != NULL)
		sqlite_db_text(st, 3, a);
	return sqlite_db_done(d, st, what, err, errlen);
}

/* One text column of at most one row into *out: STORAGE_OK,
 * STORAGE_NOT_FOUND, STORAGE_ERROR. */
static int get_text(struct sqlite_db *d, sqlite3_stmt *st, int col, char **out,
    const char *what, char *err, size_t errlen)
{
	int rc = sqlite3_step(st);
	int result = STORAGE_OK;

	*out = NULL;
	if (rc == SQLITE_ROW) {
		*out = sqlite_db_column_dup(st, col);
		if (*out == NULL)
			*out = xstrdup("");
	} else if (rc == SQLITE_DONE) {
		result = STORAGE_NOT_FOUND;
	} else {
		result = sqlite_db_error(d, what, err, errlen);
	}
	sqlite_db_finish(st);
	return result;
}

/* --- offline messages ---------------------------------------------------------- */

static int count(struct sqlite_db *d, const char *domain, const char *localpart,
    size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt *st = sqlite_db_owner(d, ST_OFFLINE_COUNT, domain, localpart);
	int rc = sqlite3_step(st);

	*n = 0;
	if (rc == SQLITE_ROW)
		*n = (size_t)sqlite3_column_int64(st, 0);
	else
		sqlite_db_error(d, "counting offline messages", err, errlen);
	sqlite_db_finish(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int sqlite_offline_store(void *db, const char *domain, const char *localpart,
    const char *stanza, size_t quota, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	size_t n = 0;

	if (sqlite_db_write(d, "storing an offline message", err, errlen) < 0)
		return STORAGE_ERROR;
	if (quota > 0) {
		if (count(d, domain, localpart, &n, err, errlen) < 0)
			goto fail;
		if (n >= quota) {
			sqlite_db_rollback(d);
			return STORAGE_FULL;
		}
	}
	sqlite3_stmt *st = sqlite_db_owner(d, ST_OFFLINE_STORE, domain, localpart);
	sqlite_db_text(st, 3, stanza);
	if (sqlite_db_done(d, st, "storing an offline message", err, errlen) < 0)
		goto fail;
	if (sqlite_db_commit(d, "storing an offline message", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
fail:
	sqlite_db_rollback(d);
	return STORAGE_ERROR;
}

int sqlite_offline_count(void *db, const char *domain, const char *localpart,
    size_t *n, char *err, size_t errlen)
{
	return count(db, domain, localpart, n, err, errlen) < 0 ? STORAGE_ERROR : STORAGE_OK;
}

int sqlite_offline_list(void *db, const char *domain, const char *localpart,
    storage_offline_cb cb, void *arg, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	struct sqlite_rows rows;

	if (sqlite_db_rows(d, sqlite_db_owner(d, ST_OFFLINE_LIST, domain, localpart), true, 1,
	    &rows, "listing offline messages", err, errlen) < 0)
		return STORAGE_ERROR;
	for (size_t i = 0; i < rows.n; i++)
		if (cb(arg, rows.v[i].id, rows.v[i].text[0]) != 0)
			break;
	sqlite_db_rows_free(&rows);
	return STORAGE_OK;
}

int sqlite_offline_delete_upto(void *db, const char *domain, const char *localpart,
    int64_t upto, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_OFFLINE_DELETE_UPTO, domain, localpart);

	sqlite3_bind_int64(st, 3, upto);
	if (sqlite_db_done(d, st, "deleting offline messages", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

/* --- private XML and vCards --------------------------------------------------- */

int sqlite_private_get(void *db, const char *domain, const char *localpart,
    const char *key, char **out, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_PRIVATE_GET, domain, localpart);

	sqlite_db_text(st, 3, key);
	return get_text(d, st, 0, out, "reading private XML", err, errlen);
}

int sqlite_private_set(void *db, const char *domain, const char *localpart,
    const char *key, const char *xml, char *err, size_t errlen)
{
	struct sqlite_db *d = db;

	if (xml == NULL)
		return owner_done(d, ST_PRIVATE_DELETE, domain, localpart, key,
		    "deleting private XML", err, errlen) < 0 ? STORAGE_ERROR : STORAGE_OK;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_PRIVATE_SET, domain, localpart);
	sqlite_db_text(st, 3, key);
	sqlite_db_text(st, 4, xml);
	if (sqlite_db_done(d, st, "storing private XML", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

int sqlite_vcard_get(void *db, const char *domain, const char *localpart,
    char **out, char *err, size_t errlen)
{
	struct sqlite_db *d = db;

	return get_text(d, sqlite_db_owner(d, ST_VCARD_GET, domain, localpart), 0, out,
	    "reading a vCard", err, errlen);
}

int sqlite_vcard_set(void *db, const char *domain, const char *localpart,
    const char *xml, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	enum stmt_id id = xml != NULL ? ST_VCARD_SET : ST_DEL_VCARD;

	if (owner_done(d, id, domain, localpart, xml, "storing a vCard", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

/* --- block list ------------------------------------------------------------------ */

int sqlite_block_list(void *db, const char *domain, const char *localpart,
    storage_block_cb cb, void *arg, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	struct sqlite_rows rows;

	if (sqlite_db_rows(d, sqlite_db_owner(d, ST_BLOCK_LIST, domain, localpart), false, 1,
	    &rows, "listing blocked JIDs", err, errlen) < 0)
		return STORAGE_ERROR;
	for (size_t i = 0; i < rows.n; i++)
		if (cb(arg, rows.v[i].text[0]) != 0)
			break;
	sqlite_db_rows_free(&rows);
	return STORAGE_OK;
}

/* Run `id` once per JID (or ST_DEL_BLOCK once when n is 0), all or nothing. */
static int block_change(struct sqlite_db *d, enum stmt_id id, const char *domain,
    const char *localpart, const char *const *jids, size_t n, const char *what, char *err,
    size_t errlen)
{
	if (sqlite_db_write(d, what, err, errlen) < 0)
		return STORAGE_ERROR;
	if (n == 0 && owner_done(d, id, domain, localpart, NULL, what, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (owner_done(d, id, domain, localpart, jids[i], what, err, errlen) < 0)
			goto fail;
	if (sqlite_db_commit(d, what, err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
fail:
	sqlite_db_rollback(d);
	return STORAGE_ERROR;
}

int sqlite_block_add(void *db, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen)
{
	if (n == 0)
		return STORAGE_OK;
	return block_change(db, ST_BLOCK_ADD, domain, localpart, jids, n, "blocking JIDs",
	    err, errlen);
}

int sqlite_block_remove(void *db, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen)
{
	return block_change(db, n == 0 ? ST_DEL_BLOCK : ST_BLOCK_REMOVE, domain, localpart,
	    jids, n, "unblocking JIDs", err, errlen);
}

/* --- last activity ---------------------------------------------------------------- */

int sqlite_last_set(void *db, const char *domain, const char *localpart,
    int64_t when, const char *status, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_LAST_SET, domain, localpart);

	sqlite3_bind_int64(st, 3, when);
	sqlite_db_text(st, 4, status != NULL ? status : "");
	if (sqlite_db_done(d, st, "recording last activity", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

int sqlite_last_get(void *db, const char *domain, const char *localpart,
    int64_t *when, char **status, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_LAST_GET, domain, localpart);
	int rc = sqlite3_step(st);
	int result = STORAGE_OK;

	*when = 0;
	*status = NULL;
	if (rc == SQLITE_ROW) {
		*when = sqlite3_column_int64(st, 0);
		*status = sqlite_db_column_dup(st, 1);
		if (*status == NULL)
			*status = xstrdup("");
	} else if (rc == SQLITE_DONE) {
		result = STORAGE_NOT_FOUND;
	} else {
		result = sqlite_db_error(d, "reading last activity", err, errlen);
	}
	sqlite_db_finish(st);
	return result;
}
