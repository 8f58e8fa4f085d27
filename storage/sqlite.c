/*
 * sqlite.c — the SQLite storage driver, the embedded default: one database
 * file, WAL mode (readers never wait for the writer; auth, parleyctl
 * and sm may use the file at once), a busy timeout for the moments two writers
 * meet, and every statement prepared once at open with its values bound,
 * never built from user data. Multi-step changes run in a transaction.
 * The schema is migrated forward at open (sqlite_schema.c). This file
 * opens, migrates and keeps accounts; sqlite_roster.c and sqlite_im.c
 * hold the rest of a user's data, sqlite_stmts.c all the SQL.
 *
 * Must not: log, or keep a statement un-reset between calls (a statement
 * left running would hold a read snapshot open and stop WAL checkpoints).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sqlite_db.h"
#include "sqlite_schema.h"

/* Two writers (auth, parleyctl, sm) only ever hold the lock for one short
 * transaction; waiting longer than this means something is wrong. */
#define BUSY_TIMEOUT_MS 2000

/* --- schema ------------------------------------------------------------------ */

static int read_version(struct sqlite_db *d, int *version, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(d->db, "SELECT version FROM schema_version", -1, &st, NULL)
	    != SQLITE_OK)
		return sqlite_db_error(d, "reading the schema version", err, errlen);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	else if (rc == SQLITE_DONE)
		*version = 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sqlite_db_error(d, "reading the schema version", err, errlen);
	return 0;
}

/* Bring the schema up to date in one transaction: a failed migration
 * leaves the database as it was. BEGIN IMMEDIATE takes the write lock
 * first, so two processes starting together migrate once. */
static int migrate(struct sqlite_db *d, char *err, size_t errlen)
{
	char why[ERRLEN * 2];
	int version = 0;

	if (sqlite_db_exec(d, "BEGIN IMMEDIATE", why, sizeof(why)) < 0)
		return errf(err, errlen, "cannot lock the database to check its schema: %s", why);
	if (sqlite_db_exec(d,
	    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
	    why, sizeof(why)) < 0 || read_version(d, &version, why, sizeof(why)) < 0)
		goto fail;
	if (version > (int)sqlite_migration_count) {
		snprintf(why, sizeof(why), "the database's schema version %d is newer than this "
		    "program knows (%zu): was it written by a later Parley?", version,
		    sqlite_migration_count);
		goto fail;
	}
	for (int v = version; v < (int)sqlite_migration_count; v++) {
		char w[ERRLEN];
		if (sqlite_db_exec(d, sqlite_migrations[v], w, sizeof(w)) < 0) {
			snprintf(why, sizeof(why), "migration to schema version %d: %s", v + 1, w);
			goto fail;
		}
	}
	if (version < (int)sqlite_migration_count) {
		char sql[96];
		snprintf(sql, sizeof(sql), "DELETE FROM schema_version; "
		    "INSERT INTO schema_version VALUES (%zu)", sqlite_migration_count);
		if (sqlite_db_exec(d, sql, why, sizeof(why)) < 0)
			goto fail;
	}
	if (sqlite_db_exec(d, "COMMIT", why, sizeof(why)) < 0)
		goto fail;
	d->version = (int)sqlite_migration_count;
	return 0;
fail:
	sqlite_db_rollback(d);
	return errf(err, errlen, "%s", why);
}

/* --- open and close ------------------------------------------------------------ */

static void sqlite_close(void *db)
{
	struct sqlite_db *d = db;

	if (d == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(d->stmt[i]);
	sqlite3_close(d->db);
	free(d);
}

int storage_sqlite_open(void **out, const char *path, char *err, size_t errlen)
{
	struct sqlite_db *d = xcalloc(1, sizeof(*d));
	char why[ERRLEN];

	*out = NULL;
	/* NOMUTEX: one thread per process. No URI names: a path is a path. */
	int rc = sqlite3_open_v2(path, &d->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		errf(err, errlen, "cannot open %s: %s", path,
		    d->db != NULL ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
		sqlite_close(d);
		return -1;
	}
	sqlite3_extended_result_codes(d->db, 1);
	sqlite3_busy_timeout(d->db, BUSY_TIMEOUT_MS);
	/* WAL for concurrent readers; NORMAL sync is durable across a process
	 * crash and loses at most the last transactions on power loss, the
	 * usual trade for WAL. */
	if (sqlite_db_exec(d, "PRAGMA journal_mode = WAL", why, sizeof(why)) < 0 ||
	    sqlite_db_exec(d, "PRAGMA synchronous = NORMAL", why, sizeof(why)) < 0 ||
	    sqlite_db_exec(d, "PRAGMA foreign_keys = ON", why, sizeof(why)) < 0) {
		errf(err, errlen, "%s: %s", path, why);
		sqlite_close(d);
		return -1;
	}
	if (migrate(d, why, sizeof(why)) < 0) {
		errf(err, errlen, "%s: %s", path, why);
		sqlite_close(d);
		return -1;
	}
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(d->db, sqlite_stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		    &d->stmt[i], NULL) != SQLITE_OK) {
			errf(err, errlen, "%s: preparing a statement: %s", path,
			    sqlite3_errmsg(d->db));
			sqlite_close(d);
			return -1;
		}
	}
	*out = d;
	return 0;
}

static int sqlite_schema_version(void *db)
{
	return ((struct sqlite_db *)db)->version;
}

/* --- users ------------------------------------------------------------------ */

/* The roster rows a deleted user may have left (sm clears them once it
 * has told the contacts, and may never have heard of the deletion). */
static const enum stmt_id roster_data[] = {
	ST_DEL_ROSTER_VERSION, ST_DEL_ROSTER_ITEMS, ST_DEL_ROSTER_GROUPS, ST_DEL_SUBREQ,
};

static int delete_owned(struct sqlite_db *d, const enum stmt_id *ids, size_t n,
    const char *domain, const char *localpart, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (sqlite_db_done(d, sqlite_db_owner(d, ids[i], domain, localpart),
		    "deleting a user's data", err, errlen) < 0)
			return -1;
	return 0;
}

/* A new account starts with an empty roster, whatever a deleted one of
 * the same name left. */
static int sqlite_user_create(void *db, const char *domain, const char *localpart,
    const char *sha1, const char *sha256, char *err, size_t errlen)
{
	struct sqlite_db *d = db;

	if (sqlite_db_write(d, "creating a user", err, errlen) < 0)
		return STORAGE_ERROR;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_USER_CREATE, domain, localpart);
	sqlite3_bind_text(st, 3, sha1, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, sha256, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(d->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		int result = ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE ?
		    STORAGE_EXISTS : sqlite_db_error(d, "creating a user", err, errlen);
		sqlite_db_rollback(d);
		return result;
	}
	if (delete_owned(d, roster_data, ARRAY_LEN(roster_data), domain, localpart, err,
	    errlen) < 0) {
		sqlite_db_rollback(d);
		return STORAGE_ERROR;
	}
	if (sqlite_db_commit(d, "creating a user", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

static int sqlite_user_get_secret(void *db, const char *domain, const char *localpart,
    enum scram_hash hash, char *out, size_t outlen, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = sqlite_db_owner(d, hash == SCRAM_HASH_SHA1 ? ST_USER_GET_SHA1 :
	    ST_USER_GET_SHA256, domain, localpart);
	int result;

	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *text = sqlite3_column_text(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (text == NULL || n <= 0 || (size_t)n >= outlen) {
			result = errf(err, errlen, "the stored secret of %s@%s is malformed",
			    localpart, domain);
		} else {
			memcpy(out, text, (size_t)n);
			out[n] = '\0';
			result = STORAGE_OK;
		}
	} else if (rc == SQLITE_DONE) {
		result = STORAGE_NOT_FOUND;
	} else {
		result = sqlite_db_error(d, "reading a user", err, errlen);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return result;
}

static int sqlite_user_set_secrets(void *db, const char *domain, const char *localpart,
    const char *sha1, const char *sha256, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_USER_SET, domain, localpart);

	sqlite3_bind_text(st, 3, sha1, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, sha256, -1, SQLITE_STATIC);
	int n = sqlite_db_done(d, st, "changing a password", err, errlen);
	sqlite3_clear_bindings(st);
	if (n < 0)
		return STORAGE_ERROR;
	return n == 0 ? STORAGE_NOT_FOUND : STORAGE_OK;
}

/* Everything a user owns besides the users row and the roster (which sm
 * clears with storage_roster_clear once the contacts know). A table added
 * for a user's data (archive, PEP…) adds its delete here, and the driver
 * test suite's cascade case checks it. */
static const enum stmt_id user_data[] = {
	ST_DEL_OFFLINE, ST_DEL_PRIVATE, ST_DEL_VCARD, ST_DEL_BLOCK, ST_DEL_LAST,
};

/* All or nothing, in one transaction. The user's data goes even when
 * there is no users row (STORAGE_NOT_FOUND): with an external
 * authentication backend sm keeps data for users this table never held,
 * and deleting them must not leave it behind. */
static int sqlite_user_delete(void *db, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	struct sqlite_db *d = db;

	if (sqlite_db_write(d, "deleting a user", err, errlen) < 0)
		return STORAGE_ERROR;
	if (delete_owned(d, user_data, ARRAY_LEN(user_data), domain, localpart, err,
	    errlen) < 0) {
		sqlite_db_rollback(d);
		return STORAGE_ERROR;
	}
	int n = sqlite_db_done(d, sqlite_db_owner(d, ST_USER_DELETE, domain, localpart),
	    "deleting a user", err, errlen);
	if (n < 0) {
		sqlite_db_rollback(d);
		return STORAGE_ERROR;
	}
	if (sqlite_db_commit(d, "deleting a user", err, errlen) < 0)
		return STORAGE_ERROR;
	return n == 0 ? STORAGE_NOT_FOUND : STORAGE_OK;
}

static int sqlite_roster_clear(void *db, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	struct sqlite_db *d = db;

	if (sqlite_db_write(d, "clearing a roster", err, errlen) < 0)
		return STORAGE_ERROR;
	if (delete_owned(d, roster_data, ARRAY_LEN(roster_data), domain, localpart, err,
	    errlen) < 0) {
		sqlite_db_rollback(d);
		return STORAGE_ERROR;
	}
	return sqlite_db_commit(d, "clearing a roster", err, errlen) < 0 ? STORAGE_ERROR :
	    STORAGE_OK;
}

static int sqlite_user_exists(void *db, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = sqlite_db_owner(d, ST_USER_EXISTS, domain, localpart);

	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORAGE_OK;
	if (rc == SQLITE_DONE)
		return STORAGE_NOT_FOUND;
	return sqlite_db_error(d, "looking up a user", err, errlen);
}

static int sqlite_user_list(void *db, const char *domain, storage_user_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = d->stmt[ST_USER_LIST];
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *localpart = (const char *)sqlite3_column_text(st, 0);
		if (localpart != NULL && cb(arg, localpart) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sqlite_db_error(d, "listing users", err, errlen);
	return STORAGE_OK;
}

const struct storage_driver storage_sqlite_driver = {
	.name = "sqlite",
	.close = sqlite_close,
	.schema_version = sqlite_schema_version,
	.user_create = sqlite_user_create,
	.user_get_secret = sqlite_user_get_secret,
	.user_set_secrets = sqlite_user_set_secrets,
	.user_delete = sqlite_user_delete,
	.user_exists = sqlite_user_exists,
	.user_list = sqlite_user_list,
	.roster_get = sqlite_roster_get,
	.roster_get_since = sqlite_roster_get_since,
	.roster_get_item = sqlite_roster_get_item,
	.roster_put = sqlite_roster_put,
	.roster_remove = sqlite_roster_remove,
	.roster_clear = sqlite_roster_clear,
	.subreq_put = sqlite_subreq_put,
	.subreq_exists = sqlite_subreq_exists,
	.subreq_delete = sqlite_subreq_delete,
	.subreq_list = sqlite_subreq_list,
	.offline_store = sqlite_offline_store,
	.offline_count = sqlite_offline_count,
	.offline_list = sqlite_offline_list,
	.offline_delete_upto = sqlite_offline_delete_upto,
	.private_get = sqlite_private_get,
	.private_set = sqlite_private_set,
	.vcard_get = sqlite_vcard_get,
	.vcard_set = sqlite_vcard_set,
	.block_list = sqlite_block_list,
	.block_add = sqlite_block_add,
	.block_remove = sqlite_block_remove,
	.last_set = sqlite_last_set,
	.last_get = sqlite_last_get,
};
