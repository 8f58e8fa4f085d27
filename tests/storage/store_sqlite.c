/*
 * store_sqlite.c — the storage test suite's driver choice: SQLite, on a
 * file in a fresh temporary directory per case; the raw hooks of store.h
 * with a sqlite3 handle of their own on that file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

static char dir[64];
static char path[128];

void store_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/parley-storage-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/parley.db", dir);
}

void store_teardown(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

int store_try_open(struct storage **s, char *err, size_t errlen)
{
	return storage_open_sqlite(s, path, err, errlen);
}

struct storage *store_open(void)
{
	struct storage *s = NULL;
	char err[ERRLEN];
	int rc = store_try_open(&s, err, sizeof(err));
	ck_assert_msg(rc == STORAGE_OK, "open: %s", err);
	return s;
}

struct storage *store_open_hold(unsigned hold_ms)
{
	(void)hold_ms;
	return store_open();
}

const char *store_driver(void)
{
	return "sqlite";
}

const char *store_sqlite_path(void)
{
	return path;
}

bool store_server_control(void)
{
	return false;
}

bool store_server_stop(void)
{
	return false;
}

bool store_server_start(void)
{
	return false;
}

/* --- under the driver ---------------------------------------------------------- */

static sqlite3 *raw_open(void)
{
	sqlite3 *db = NULL;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

void store_raw_exec(const char *sql)
{
	sqlite3 *db = raw_open();
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg != NULL ? msg : "?");
	sqlite3_close(db);
}

static int64_t raw_int_on(sqlite3 *db, sqlite3_stmt *st)
{
	ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "%s", sqlite3_errmsg(db));
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int64_t store_raw_int(const char *sql)
{
	sqlite3 *db = raw_open();
	sqlite3_stmt *st;
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
	    sqlite3_errmsg(db));
	int64_t v = raw_int_on(db, st);
	sqlite3_close(db);
	return v;
}

size_t store_raw_tables(char names[][64], size_t max)
{
	sqlite3 *db = raw_open();
	sqlite3_stmt *st;
	size_t n = 0;

	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = "
	    "'table' AND name NOT IN ('schema_version', 'sqlite_sequence') ORDER BY name", -1, &st,
	    NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < max)
		snprintf(names[n++], 64, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

int64_t store_raw_count_owned(const char *table, const char *domain, const char *localpart)
{
	sqlite3 *db = raw_open();
	sqlite3_stmt *st;
	char sql[256];

	/* The table's name comes from the schema (store_raw_tables), not data. */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\" WHERE domain = ?1 AND "
	    "localpart = ?2", table);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, localpart, -1, SQLITE_STATIC);
	int64_t v = raw_int_on(db, st);
	sqlite3_close(db);
	return v;
}

int64_t store_raw_schema_objects(void)
{
	return store_raw_int("SELECT count(*) FROM sqlite_master");
}

/* Test-only SQL with the case's constant names and messages pasted in:
 * they hold no quote (checked). */
static void no_quote(const char *s)
{
	ck_assert_msg(strpbrk(s, "'\"") == NULL, "a hook argument with a quote: %s", s);
}

void store_refuse_insert(const char *table, const char *column, const char *value,
    const char *message)
{
	char sql[512];

	no_quote(table);
	no_quote(column);
	no_quote(value);
	no_quote(message);
	snprintf(sql, sizeof(sql), "CREATE TRIGGER \"refuse_insert_%s\" BEFORE INSERT ON \"%s\" "
	    "WHEN NEW.\"%s\" = '%s' BEGIN SELECT RAISE(ABORT, '%s'); END", table, table, column,
	    value, message);
	store_raw_exec(sql);
}

void store_refuse_delete(const char *table, const char *message)
{
	char sql[512];

	no_quote(table);
	no_quote(message);
	snprintf(sql, sizeof(sql), "CREATE TRIGGER \"refuse_delete_%s\" BEFORE DELETE ON \"%s\" "
	    "BEGIN SELECT RAISE(ABORT, '%s'); END", table, table, message);
	store_raw_exec(sql);
}

/* The version-1 schema as issue 4 shipped it, written here by hand so
 * that the migration case keeps testing the step from 1 whatever comes
 * later. */
static const char v1_ddl[] =
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"INSERT INTO schema_version VALUES (1);"
	"CREATE TABLE users ("
	"  domain TEXT NOT NULL,"
	"  localpart TEXT NOT NULL,"
	"  scram_sha1 TEXT NOT NULL,"
	"  scram_sha256 TEXT NOT NULL,"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
	"  PRIMARY KEY (domain, localpart)"
	") WITHOUT ROWID;";

void store_make_v1(const char *domain, const char *localpart, const char *sha1,
    const char *sha256)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	store_raw_exec(v1_ddl);
	db = raw_open();
	ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO users (domain, localpart, "
	    "scram_sha1, scram_sha256) VALUES (?1, ?2, ?3, ?4)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, localpart, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sha1, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, sha256, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}
