/*
 * pgsql_db.h — what the PostgreSQL driver's files share: the connection
 * with its prepared statements (one enum for all of them; their SQL is in
 * pgsql_stmts.c), the retry loop that survives a lost server and the
 * statement and transaction helpers (pgsql_conn.c), the migrations
 * (pgsql_schema.c), and the operations each concept file implements for
 * the driver table in pgsql.c. Internal to storage/: callers see
 * storage.h only.
 */
#ifndef PARLEY_PGSQL_DB_H
#define PARLEY_PGSQL_DB_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "sql_server.h"
#include "storage_driver.h"

/* Every statement the driver runs, prepared once per connection. */
enum pg_stmt {
	/* users (pgsql.c) */
	PG_USER_CREATE,
	PG_USER_GET_SHA1,
	PG_USER_GET_SHA256,
	PG_USER_SET,
	PG_USER_DELETE,
	PG_USER_EXISTS,
	PG_USER_LIST,
	/* what storage_user_delete removes with the users row (pgsql.c) */
	PG_DEL_ROSTER_VERSION,
	PG_DEL_ROSTER_ITEMS,
	PG_DEL_ROSTER_GROUPS,
	PG_DEL_SUBREQ,
	PG_DEL_OFFLINE,
	PG_DEL_PRIVATE,
	PG_DEL_VCARD,
	PG_DEL_BLOCK,
	PG_DEL_LAST,
	/* one owner's writes, one at a time across every process */
	PG_OWNER_LOCK,
	/* roster (pgsql_roster.c) */
	PG_ROSTER_VERSION_GET,
	PG_ROSTER_VERSION_BUMP,
	PG_ROSTER_ITEMS_ALL,
	PG_ROSTER_ITEMS_SINCE,
	PG_ROSTER_ITEM_GET,
	PG_ROSTER_ITEM_PUT,
	PG_ROSTER_ITEM_TOMBSTONE,
	PG_ROSTER_GROUPS_ALL,
	PG_ROSTER_GROUPS_ITEM,
	PG_ROSTER_GROUPS_DELETE,
	PG_ROSTER_GROUP_ADD,
	PG_ROSTER_TOMBSTONE_NTH,
	PG_ROSTER_TOMBSTONES_PRUNE,
	PG_ROSTER_LOW_WATER_SET,
	/* subscription requests (pgsql_roster.c) */
	PG_SUBREQ_PUT,
	PG_SUBREQ_EXISTS,
	PG_SUBREQ_DELETE,
	PG_SUBREQ_LIST,
	/* offline, private, vCard, block list, last (pgsql_im.c) */
	PG_OFFLINE_COUNT,
	PG_OFFLINE_FIND,
	PG_OFFLINE_STORE,
	PG_OFFLINE_LIST,
	PG_OFFLINE_DELETE_UPTO,
	PG_PRIVATE_GET,
	PG_PRIVATE_SET,
	PG_PRIVATE_DELETE,
	PG_VCARD_GET,
	PG_VCARD_SET,
	PG_BLOCK_LIST,
	PG_BLOCK_ADD,
	PG_BLOCK_REMOVE,
	PG_LAST_SET,
	PG_LAST_GET,
	PG_STMT_COUNT,
};

extern const char *const pgsql_stmt_sql[PG_STMT_COUNT];

struct pgsql_db {
	PGconn *conn;               /* NULL while the server is lost */
	struct sql_server srv;      /* our copy: reconnects need it */
	int version;
	/* Set by a statement that failed because the connection is gone (or
	 * going): the retry loop then reconnects and starts over. */
	bool lost;
};

/* The embedded storage/schema/pgsql.sql (pgsql_schema_sql.c, generated). */
extern const char pgsql_schema_sql[];

/* pgsql_conn.c: connect with srv's settings, check the server, and
 * prepare every statement: 0 or -1 with a reason. `migrate` runs the
 * migrations first (at open; a reconnect finds them done). */
int pgsql_connect(struct pgsql_db *d, bool migrate, char *err, size_t errlen);
void pgsql_disconnect(struct pgsql_db *d);

/* One attempt of an operation: its whole work, a transaction included.
 * The retry loop runs it again from the start, on a new connection, when
 * it failed with d->lost set. */
typedef int (*pgsql_attempt_fn)(struct pgsql_db *d, void *arg, char *err, size_t errlen);
/* Run `attempt` until it succeeds, fails for a reason other than a lost
 * server, or the hold time (storage.sql.hold) is spent: then
 * STORAGE_ERROR saying the server is unreachable. */
int pgsql_retry(struct pgsql_db *d, pgsql_attempt_fn attempt, void *arg, const char *what,
    char *err, size_t errlen);

/* A statement's parameters: text values (NULL is SQL NULL) and room for
 * the decimal form of integers. p[0] and p[1] are always the owner. */
#define PG_MAX_PARAMS 8
struct pg_params {
	const char *v[PG_MAX_PARAMS];
	int n;
	char num[PG_MAX_PARAMS][24];
};
void pg_params_owner(struct pg_params *p, const char *domain, const char *localpart);
void pg_params_text(struct pg_params *p, const char *text);
void pg_params_int(struct pg_params *p, int64_t v);

/* Run prepared statement `id`: its result (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK; the caller PQclear()s it), or NULL with a reason naming
 * `what` (and d->lost set when the connection is the cause). */
PGresult *pgsql_exec(struct pgsql_db *d, enum pg_stmt id, const struct pg_params *p,
    const char *what, char *err, size_t errlen);
/* pgsql_exec for a statement that returns no rows: the rows it changed,
 * or -1. */
int pgsql_done(struct pgsql_db *d, enum pg_stmt id, const struct pg_params *p,
    const char *what, char *err, size_t errlen);
/* Constant SQL, never data (BEGIN, migrations): its result (the caller
 * PQclear()s it) or NULL with a reason; pgsql_command() for no rows: 0 or
 * -1 with a reason. */
PGresult *pgsql_query(struct pgsql_db *d, const char *sql, const char *what, char *err,
    size_t errlen);
int pgsql_command(struct pgsql_db *d, const char *sql, const char *what, char *err,
    size_t errlen);

/* Transactions. pgsql_begin_write() also takes the owner's lock when
 * `domain` is not NULL: the advisory lock every multi-step write of one
 * owner holds (quota check and insert, version bump and item), so two
 * processes (several sm, auth, parleyctl) never interleave them.
 * pgsql_begin_read() is one snapshot (REPEATABLE READ, READ ONLY).
 * pgsql_rollback() is for error paths and reports nothing. */
int pgsql_begin_write(struct pgsql_db *d, const char *domain, const char *localpart,
    const char *what, char *err, size_t errlen);
int pgsql_begin_read(struct pgsql_db *d, const char *what, char *err, size_t errlen);
int pgsql_commit(struct pgsql_db *d, const char *what, char *err, size_t errlen);
void pgsql_rollback(struct pgsql_db *d);

/* Column helpers: a malloc'd copy (NULL for SQL NULL), an int64, a bool. */
char *pg_dup(const PGresult *r, int row, int col);
int64_t pg_int(const PGresult *r, int row, int col);
bool pg_bool(const PGresult *r, int row, int col);

/* The rows of a listing, copied out before any callback runs, so a
 * callback may call the storage again. */
struct pg_row {
	int64_t id;
	char *text[2];
};
struct pg_rows {
	struct pg_row *v;
	size_t n;
};
/* One attempt's reading of a listing: the statement `id` with params p;
 * column 0 into id when `with_id`, then `ntext` (at most 2) text columns. */
struct pg_listing {
	enum pg_stmt id;
	struct pg_params p;
	bool with_id;
	int ntext;
	const char *what;           /* set by pgsql_list */
	struct pg_rows rows;
};
/* Read a listing, with retries: STORAGE_OK (rows in l->rows, free with
 * pg_rows_free) or STORAGE_ERROR. */
int pgsql_list(struct pgsql_db *d, struct pg_listing *l, const char *what, char *err,
    size_t errlen);
void pg_rows_free(struct pg_rows *rows);

/* A single statement with retries, for operations that are one statement:
 * its result into *out (the caller PQclear()s it). */
int pgsql_exec_retry(struct pgsql_db *d, enum pg_stmt id, const struct pg_params *p,
    PGresult **out, const char *what, char *err, size_t errlen);
/* The same for a statement returning no rows: the rows it changed, or -1. */
int pgsql_done_retry(struct pgsql_db *d, enum pg_stmt id, const struct pg_params *p,
    const char *what, char *err, size_t errlen);

/* pgsql_schema.c: bring the schema up to date on d's connection (one
 * transaction); the version into d->version. */
int pgsql_migrate(struct pgsql_db *d, char *err, size_t errlen);
/* The newest version pgsql.sql knows. */
int pgsql_schema_latest(void);

/* pgsql_roster.c */
int pgsql_roster_get(void *db, const char *domain, const char *localpart,
    struct storage_roster_list *out, char *err, size_t errlen);
int pgsql_roster_get_since(void *db, const char *domain, const char *localpart,
    int64_t since, struct storage_roster_list *out, char *err, size_t errlen);
int pgsql_roster_get_item(void *db, const char *domain, const char *localpart,
    const char *contact, struct storage_roster_item *out, char *err, size_t errlen);
int pgsql_roster_put(void *db, const char *domain, const char *localpart,
    const struct storage_roster_item *item, int64_t *ver, char *err, size_t errlen);
int pgsql_roster_remove(void *db, const char *domain, const char *localpart,
    const char *contact, int64_t *ver, char *err, size_t errlen);
int pgsql_subreq_put(void *db, const char *domain, const char *localpart,
    const char *contact, const char *stanza, char *err, size_t errlen);
int pgsql_subreq_exists(void *db, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen);
int pgsql_subreq_delete(void *db, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen);
int pgsql_subreq_list(void *db, const char *domain, const char *localpart,
    storage_subreq_cb cb, void *arg, char *err, size_t errlen);

/* pgsql_im.c */
int pgsql_offline_store(void *db, const char *domain, const char *localpart,
    const char *stanza, size_t quota, char *err, size_t errlen);
int pgsql_offline_count(void *db, const char *domain, const char *localpart,
    size_t *count, char *err, size_t errlen);
int pgsql_offline_list(void *db, const char *domain, const char *localpart,
    storage_offline_cb cb, void *arg, char *err, size_t errlen);
int pgsql_offline_delete_upto(void *db, const char *domain, const char *localpart,
    int64_t upto, char *err, size_t errlen);
int pgsql_private_get(void *db, const char *domain, const char *localpart,
    const char *key, char **out, char *err, size_t errlen);
int pgsql_private_set(void *db, const char *domain, const char *localpart,
    const char *key, const char *xml, char *err, size_t errlen);
int pgsql_vcard_get(void *db, const char *domain, const char *localpart,
    char **out, char *err, size_t errlen);
int pgsql_vcard_set(void *db, const char *domain, const char *localpart,
    const char *xml, char *err, size_t errlen);
int pgsql_block_list(void *db, const char *domain, const char *localpart,
    storage_block_cb cb, void *arg, char *err, size_t errlen);
int pgsql_block_add(void *db, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen);
int pgsql_block_remove(void *db, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen);
int pgsql_last_set(void *db, const char *domain, const char *localpart,
    int64_t when, const char *status, char *err, size_t errlen);
int pgsql_last_get(void *db, const char *domain, const char *localpart,
    int64_t *when, char **status, char *err, size_t errlen);

#endif
