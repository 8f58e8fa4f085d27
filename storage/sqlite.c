/*
 * sqlite.c — the SQLite storage driver, the embedded default: one database
 * file, WAL mode (readers never wait for the writer; auth and parleyctl
 * may use the file at once), a busy timeout for the moments two writers
 * meet, and every statement prepared once at open with its values bound,
 * never built from user data. Multi-step changes run in a transaction.
 * The schema is migrated forward at open (sqlite_schema.c).
 *
 * Must not: log, or keep a statement un-reset between calls (a statement
 * left running would hold a read snapshot open and stop WAL checkpoints).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sqlite_schema.h"
#include "storage_driver.h"

/* Two writers (auth, parleyctl) only ever hold the lock for one short
 * transaction; waiting longer than this means something is wrong. */
#define BUSY_TIMEOUT_MS 2000

enum stmt_id {
	ST_USER_CREATE,
	ST_USER_GET_SHA1,
	ST_USER_GET_SHA256,
	ST_USER_SET,
	ST_USER_DELETE,
	ST_USER_EXISTS,
	ST_USER_LIST,
	ST_COUNT,
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_USER_CREATE] = "INSERT INTO users (domain, localpart, scram_sha1, scram_sha256) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[ST_USER_GET_SHA1] = "SELECT scram_sha1 FROM users WHERE domain = ?1 AND localpart = ?2",
	[ST_USER_GET_SHA256] = "SELECT scram_sha256 FROM users WHERE domain = ?1 AND localpart = ?2",
	[ST_USER_SET] = "UPDATE users SET scram_sha1 = ?3, scram_sha256 = ?4 "
	    "WHERE domain = ?1 AND localpart = ?2",
	[ST_USER_DELETE] = "DELETE FROM users WHERE domain = ?1 AND localpart = ?2",
	[ST_USER_EXISTS] = "SELECT 1 FROM users WHERE domain = ?1 AND localpart = ?2",
	[ST_USER_LIST] = "SELECT localpart FROM users WHERE domain = ?1 ORDER BY localpart",
};

struct sqlite_db {
	sqlite3 *db;
	int version;
	sqlite3_stmt *stmt[ST_COUNT];
};

static int db_error(struct sqlite_db *d, const char *what, char *err, size_t errlen)
{
	return errf(err, errlen, "%s: %s", what, sqlite3_errmsg(d->db));
}

static int exec(struct sqlite_db *d, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(d->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		errf(err, errlen, "%s", msg != NULL ? msg : sqlite3_errmsg(d->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* --- schema ------------------------------------------------------------------ */

static int read_version(struct sqlite_db *d, int *version, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(d->db, "SELECT version FROM schema_version", -1, &st, NULL)
	    != SQLITE_OK)
		return db_error(d, "reading the schema version", err, errlen);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	else if (rc == SQLITE_DONE)
		*version = 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(d, "reading the schema version", err, errlen);
	return 0;
}

/* Bring the schema up to date in one transaction: a failed migration
 * leaves the database as it was. BEGIN IMMEDIATE takes the write lock
 * first, so two processes starting together migrate once. */
static int migrate(struct sqlite_db *d, char *err, size_t errlen)
{
	char why[ERRLEN * 2];
	int version = 0;

	if (exec(d, "BEGIN IMMEDIATE", why, sizeof(why)) < 0)
		return errf(err, errlen, "cannot lock the database to check its schema: %s", why);
	if (exec(d, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
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
		if (exec(d, sqlite_migrations[v], w, sizeof(w)) < 0) {
			snprintf(why, sizeof(why), "migration to schema version %d: %s", v + 1, w);
			goto fail;
		}
	}
	if (version < (int)sqlite_migration_count) {
		char sql[96];
		snprintf(sql, sizeof(sql), "DELETE FROM schema_version; "
		    "INSERT INTO schema_version VALUES (%zu)", sqlite_migration_count);
		if (exec(d, sql, why, sizeof(why)) < 0)
			goto fail;
	}
	if (exec(d, "COMMIT", why, sizeof(why)) < 0)
		goto fail;
	d->version = (int)sqlite_migration_count;
	return 0;
fail:
	(void)exec(d, "ROLLBACK", NULL, 0);
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
	 * usual trade for WAL. Foreign keys for the tables issue 5 adds. */
	if (exec(d, "PRAGMA journal_mode = WAL", why, sizeof(why)) < 0 ||
	    exec(d, "PRAGMA synchronous = NORMAL", why, sizeof(why)) < 0 ||
	    exec(d, "PRAGMA foreign_keys = ON", why, sizeof(why)) < 0) {
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
		if (sqlite3_prepare_v3(d->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		    &d->stmt[i], NULL) != SQLITE_OK) {
			errf(err, errlen, "%s: preparing a statement: %s", path, sqlite3_errmsg(d->db));
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

static sqlite3_stmt *bind_user(struct sqlite_db *d, enum stmt_id id, const char *domain,
    const char *localpart)
{
	sqlite3_stmt *st = d->stmt[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, localpart, -1, SQLITE_STATIC);
	return st;
}

/* Step a statement that returns no rows; the number of rows it changed. */
static int step_done(struct sqlite_db *d, sqlite3_stmt *st, const char *what, char *err,
    size_t errlen)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_error(d, what, err, errlen);
	return sqlite3_changes(d->db);
}

static int sqlite_user_create(void *db, const char *domain, const char *localpart,
    const char *sha1, const char *sha256, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = bind_user(d, ST_USER_CREATE, domain, localpart);

	sqlite3_bind_text(st, 3, sha1, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, sha256, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(d->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		return STORAGE_OK;
	if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
		return STORAGE_EXISTS;
	return db_error(d, "creating a user", err, errlen);
}

static int sqlite_user_get_secret(void *db, const char *domain, const char *localpart,
    enum scram_hash hash, char *out, size_t outlen, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = bind_user(d, hash == SCRAM_HASH_SHA1 ? ST_USER_GET_SHA1 :
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
		result = db_error(d, "reading a user", err, errlen);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return result;
}

static int sqlite_user_set_secrets(void *db, const char *domain, const char *localpart,
    const char *sha1, const char *sha256, char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = bind_user(d, ST_USER_SET, domain, localpart);

	sqlite3_bind_text(st, 3, sha1, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, sha256, -1, SQLITE_STATIC);
	int n = step_done(d, st, "changing a password", err, errlen);
	sqlite3_clear_bindings(st);
	if (n < 0)
		return STORAGE_ERROR;
	return n == 0 ? STORAGE_NOT_FOUND : STORAGE_OK;
}

/* A transaction even for one statement today: issue 5 deletes the user's
 * roster, offline messages and the rest in the same step, all or nothing. */
static int sqlite_user_delete(void *db, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	char why[ERRLEN];

	if (exec(d, "BEGIN IMMEDIATE", why, sizeof(why)) < 0)
		return errf(err, errlen, "deleting a user: %s", why);
	int n = step_done(d, bind_user(d, ST_USER_DELETE, domain, localpart), "deleting a user",
	    err, errlen);
	if (n < 0) {
		(void)exec(d, "ROLLBACK", NULL, 0);
		return STORAGE_ERROR;
	}
	if (exec(d, "COMMIT", why, sizeof(why)) < 0) {
		(void)exec(d, "ROLLBACK", NULL, 0);
		return errf(err, errlen, "deleting a user: %s", why);
	}
	return n == 0 ? STORAGE_NOT_FOUND : STORAGE_OK;
}

static int sqlite_user_exists(void *db, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	struct sqlite_db *d = db;
	sqlite3_stmt *st = bind_user(d, ST_USER_EXISTS, domain, localpart);

	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORAGE_OK;
	if (rc == SQLITE_DONE)
		return STORAGE_NOT_FOUND;
	return db_error(d, "looking up a user", err, errlen);
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
		return db_error(d, "listing users", err, errlen);
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
};
