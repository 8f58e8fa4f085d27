/*
 * sqlite_db.h — what the SQLite driver's files share: the open database
 * with its prepared statements (one enum for all of them; their SQL is in
 * sqlite_stmts.c), the transaction and binding helpers (sqlite_db.c), and
 * the operations each concept file implements for the driver table in
 * sqlite.c. Internal to storage/: callers see storage.h only.
 */
#ifndef PARLEY_SQLITE_DB_H
#define PARLEY_SQLITE_DB_H

#include <sqlite3.h>

#include "storage_driver.h"

/* Every statement the driver runs, prepared once at open. */
enum stmt_id {
	/* users (sqlite.c) */
	ST_USER_CREATE,
	ST_USER_GET_SHA1,
	ST_USER_GET_SHA256,
	ST_USER_SET,
	ST_USER_DELETE,
	ST_USER_EXISTS,
	ST_USER_LIST,
	/* what storage_user_delete removes with the users row (sqlite.c) */
	ST_DEL_ROSTER_VERSION,
	ST_DEL_ROSTER_ITEMS,
	ST_DEL_ROSTER_GROUPS,
	ST_DEL_SUBREQ,
	ST_DEL_OFFLINE,
	ST_DEL_PRIVATE,
	ST_DEL_VCARD,
	ST_DEL_BLOCK,
	ST_DEL_LAST,
	/* roster (sqlite_roster.c) */
	ST_ROSTER_VERSION_GET,
	ST_ROSTER_VERSION_BUMP,
	ST_ROSTER_ITEMS_ALL,
	ST_ROSTER_ITEMS_SINCE,
	ST_ROSTER_ITEM_GET,
	ST_ROSTER_ITEM_PUT,
	ST_ROSTER_ITEM_TOMBSTONE,
	ST_ROSTER_GROUPS_ALL,
	ST_ROSTER_GROUPS_ITEM,
	ST_ROSTER_GROUPS_DELETE,
	ST_ROSTER_GROUP_ADD,
	ST_ROSTER_TOMBSTONE_NTH,
	ST_ROSTER_TOMBSTONES_PRUNE,
	ST_ROSTER_LOW_WATER_SET,
	/* subscription requests (sqlite_roster.c) */
	ST_SUBREQ_PUT,
	ST_SUBREQ_EXISTS,
	ST_SUBREQ_DELETE,
	ST_SUBREQ_LIST,
	/* offline, private, vCard, block list, last (sqlite_im.c) */
	ST_OFFLINE_COUNT,
	ST_OFFLINE_STORE,
	ST_OFFLINE_LIST,
	ST_OFFLINE_DELETE_UPTO,
	ST_PRIVATE_GET,
	ST_PRIVATE_SET,
	ST_PRIVATE_DELETE,
	ST_VCARD_GET,
	ST_VCARD_SET,
	ST_BLOCK_LIST,
	ST_BLOCK_ADD,
	ST_BLOCK_REMOVE,
	ST_LAST_SET,
	ST_LAST_GET,
	ST_COUNT,
};

extern const char *const sqlite_stmt_sql[ST_COUNT];

struct sqlite_db {
	sqlite3 *db;
	int version;
	sqlite3_stmt *stmt[ST_COUNT];
};

/* errf() with SQLite's message for the last failure: returns -1. */
int sqlite_db_error(struct sqlite_db *d, const char *what, char *err, size_t errlen);
/* Run constant SQL (never user data): 0 or -1 with the reason. */
int sqlite_db_exec(struct sqlite_db *d, const char *sql, char *err, size_t errlen);

/* Transactions: sqlite_db_write() takes the write lock at once (BEGIN
 * IMMEDIATE), so a read-then-write never fails half-way on a lock;
 * sqlite_db_read() is a snapshot for reads of several statements.
 * Both 0 or -1 with a reason naming `what`. sqlite_db_rollback() is
 * for error paths and reports nothing. */
int sqlite_db_write(struct sqlite_db *d, const char *what, char *err, size_t errlen);
int sqlite_db_read(struct sqlite_db *d, const char *what, char *err, size_t errlen);
int sqlite_db_commit(struct sqlite_db *d, const char *what, char *err, size_t errlen);
void sqlite_db_rollback(struct sqlite_db *d);

/* The statement `id`, reset and cleared, with ?1 = domain and
 * ?2 = localpart bound (the owner every table is keyed by). */
sqlite3_stmt *sqlite_db_owner(struct sqlite_db *d, enum stmt_id id, const char *domain,
    const char *localpart);
/* Bind text (NULL binds NULL); the caller's string must outlive the step. */
void sqlite_db_text(sqlite3_stmt *st, int i, const char *text);
/* Step a statement that returns no rows and reset it: the number of rows
 * it changed, or -1 with a reason. */
int sqlite_db_done(struct sqlite_db *d, sqlite3_stmt *st, const char *what, char *err,
    size_t errlen);
/* Column i of the current row as a malloc'd string (NULL for SQL NULL),
 * byte for byte. */
char *sqlite_db_column_dup(sqlite3_stmt *st, int i);
/* Reset and clear a statement after reading rows. */
void sqlite_db_finish(sqlite3_stmt *st);

/* The rows of a listing, read to the end before any callback runs, so a
 * callback may call the storage again (and no statement stays open while
 * the caller works). */
struct sqlite_row {
	int64_t id;
	char *text[2];
};
struct sqlite_rows {
	struct sqlite_row *v;
	size_t n;
};
/* Step `st` to its end: each row's column 0 into id when `with_id`, then
 * the next `ntext` (at most 2) columns as text. 0, or -1 with a reason
 * (and nothing kept). The statement is reset. */
int sqlite_db_rows(struct sqlite_db *d, sqlite3_stmt *st, bool with_id, int ntext,
    struct sqlite_rows *out, const char *what, char *err, size_t errlen);
void sqlite_db_rows_free(struct sqlite_rows *rows);

/* sqlite_roster.c */
int sqlite_roster_get(void *db, const char *domain, const char *localpart,
    struct storage_roster_list *out, char *err, size_t errlen);
int sqlite_roster_get_since(void *db, const char *domain, const char *localpart,
    int64_t since, struct storage_roster_list *out, char *err, size_t errlen);
int sqlite_roster_get_item(void *db, const char *domain, const char *localpart,
    const char *contact, struct storage_roster_item *out, char *err, size_t errlen);
int sqlite_roster_put(void *db, const char *domain, const char *localpart,
    const struct storage_roster_item *item, int64_t *ver, char *err, size_t errlen);
int sqlite_roster_remove(void *db, const char *domain, const char *localpart,
    const char *contact, int64_t *ver, char *err, size_t errlen);
int sqlite_subreq_put(void *db, const char *domain, const char *localpart,
    const char *contact, const char *stanza, char *err, size_t errlen);
int sqlite_subreq_exists(void *db, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen);
int sqlite_subreq_delete(void *db, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen);
int sqlite_subreq_list(void *db, const char *domain, const char *localpart,
    storage_subreq_cb cb, void *arg, char *err, size_t errlen);

/* sqlite_im.c */
int sqlite_offline_store(void *db, const char *domain, const char *localpart,
    const char *stanza, size_t quota, char *err, size_t errlen);
int sqlite_offline_count(void *db, const char *domain, const char *localpart,
    size_t *count, char *err, size_t errlen);
int sqlite_offline_list(void *db, const char *domain, const char *localpart,
    storage_offline_cb cb, void *arg, char *err, size_t errlen);
int sqlite_offline_delete_upto(void *db, const char *domain, const char *localpart,
    int64_t upto, char *err, size_t errlen);
int sqlite_private_get(void *db, const char *domain, const char *localpart,
    const char *key, char **out, char *err, size_t errlen);
int sqlite_private_set(void *db, const char *domain, const char *localpart,
    const char *key, const char *xml, char *err, size_t errlen);
int sqlite_vcard_get(void *db, const char *domain, const char *localpart,
    char **out, char *err, size_t errlen);
int sqlite_vcard_set(void *db, const char *domain, const char *localpart,
    const char *xml, char *err, size_t errlen);
int sqlite_block_list(void *db, const char *domain, const char *localpart,
    storage_block_cb cb, void *arg, char *err, size_t errlen);
int sqlite_block_add(void *db, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen);
int sqlite_block_remove(void *db, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen);
int sqlite_last_set(void *db, const char *domain, const char *localpart,
    int64_t when, const char *status, char *err, size_t errlen);
int sqlite_last_get(void *db, const char *domain, const char *localpart,
    int64_t *when, char **status, char *err, size_t errlen);

#endif
