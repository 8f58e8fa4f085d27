/*
 * msql_db.h — what the MySQL/MariaDB driver's files share: the
 * connection with its statements (one enum for all; their SQL is in
 * mysql_stmts.c), the call runner that reconnects and retries
 * (mysql_conn.c), the statement, row and transaction helpers
 * (mysql_exec.c), and the operations each concept file implements for
 * the driver table in mysql.c. Internal to storage/: callers see
 * storage.h only.
 *
 * Threads: a struct msql_db is one connection and must be used by one
 * thread at a time (any thread: sm opens it on its loop and calls it from
 * a worker). The client library is initialised once per process
 * (mysql_library_init under pthread_once at the first open), and each
 * call runs mysql_thread_init() first, which Oracle's libmysqlclient needs
 * in a thread that did not open the connection (libmariadb does not).
 * A thread that used the driver under libmysqlclient should call
 * mysql_thread_end() before it exits; a process may call
 * mysql_library_end() once every connection is closed.
 *
 * The driver's own names begin msql_, so that they never meet the client
 * library's mysql_ and my_ ones.
 */
#ifndef PARLEY_MYSQL_DB_H
#define PARLEY_MYSQL_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <mysql.h>

#include "sql_server.h"
#include "storage_driver.h"

/* The flag type of MYSQL_BIND's is_null and error: my_bool in libmariadb
 * and libmysqlclient before 8.0, bool after. */
#if !defined(MARIADB_PACKAGE_VERSION_ID) && defined(LIBMYSQL_VERSION_ID) && \
    LIBMYSQL_VERSION_ID >= 80001
typedef bool msql_flag;
#else
typedef my_bool msql_flag;
#endif

/* Every statement the driver runs with values, prepared on first use on
 * each connection (again after a reconnect). */
enum mst_id {
	/* schema (mysql_schema.c) */
	MST_SCHEMA_LOCK,
	MST_SCHEMA_UNLOCK,
	MST_SCHEMA_HAS_VERSION,
	MST_SCHEMA_VERSION,
	/* users (mysql.c) */
	MST_USER_CREATE,
	MST_USER_GET_SHA1,
	MST_USER_GET_SHA256,
	MST_USER_SET,
	MST_USER_DELETE,
	MST_USER_EXISTS,
	MST_USER_LIST,
	/* what storage_user_delete removes with the users row (mysql.c) */
	MST_DEL_ROSTER_VERSION,
	MST_DEL_ROSTER_ITEMS,
	MST_DEL_ROSTER_GROUPS,
	MST_DEL_SUBREQ,
	MST_DEL_OFFLINE,
	MST_DEL_PRIVATE,
	MST_DEL_VCARD,
	MST_DEL_BLOCK,
	MST_DEL_LAST,
	/* roster (mysql_roster.c) */
	MST_ROSTER_VERSION_GET,
	MST_ROSTER_VERSION_LOCK,
	MST_ROSTER_VERSION_BUMP,
	MST_ROSTER_ITEMS_ALL,
	MST_ROSTER_ITEMS_SINCE,
	MST_ROSTER_ITEM_GET,
	MST_ROSTER_ITEM_LOCK,
	MST_ROSTER_ITEM_PUT,
	MST_ROSTER_ITEM_TOMBSTONE,
	MST_ROSTER_GROUPS_ALL,
	MST_ROSTER_GROUPS_ITEM,
	MST_ROSTER_GROUPS_DELETE,
	MST_ROSTER_GROUP_ADD,
	MST_ROSTER_TOMBSTONE_NTH,
	MST_ROSTER_TOMBSTONES_PRUNE,
	MST_ROSTER_LOW_WATER_SET,
	/* subscription requests (mysql_roster.c) */
	MST_SUBREQ_PUT,
	MST_SUBREQ_EXISTS,
	MST_SUBREQ_DELETE,
	MST_SUBREQ_LIST,
	/* offline, private, vCard, block list, last (mysql_im.c) */
	MST_OFFLINE_COUNT_LOCK,
	MST_OFFLINE_COUNT,
	MST_OFFLINE_FIND,
	MST_OFFLINE_STORE,
	MST_OFFLINE_LIST,
	MST_OFFLINE_DELETE_UPTO,
	MST_PRIVATE_GET,
	MST_PRIVATE_SET,
	MST_PRIVATE_DELETE,
	MST_VCARD_GET,
	MST_VCARD_SET,
	MST_BLOCK_LIST,
	MST_BLOCK_ADD,
	MST_BLOCK_REMOVE,
	MST_LAST_SET,
	MST_LAST_GET,
	MST_COUNT,
};

extern const char *const msql_stmt_sql[MST_COUNT];

struct msql_db {
	struct sql_server srv;      /* our copy; the password is wiped at close */
	MYSQL *conn;                /* NULL while disconnected */
	MYSQL_STMT *stmt[MST_COUNT];
	int version;
	/* Set by the helpers when a call failed: the connection is gone (try
	 * again on a new one), or the transaction was chosen as a deadlock
	 * victim (try it again). */
	bool lost;
	bool deadlock;
};

/* --- the connection and the runner (mysql_conn.c) --------------------------- */

/* Connect (d->conn NULL before): 0, or -1 with a reason and d->lost set
 * when trying again later may help. */
int msql_db_connect(struct msql_db *d, char *err, size_t errlen);
/* Close the connection and its statements (a reconnect prepares anew). */
void msql_db_disconnect(struct msql_db *d);

/* One driver call: `op` runs on a live connection and returns a
 * storage_result. When it fails because the connection was lost, the
 * runner reconnects with sql_retry's backoff and runs `op` again from the
 * start, until storage.sql.hold is spent; a deadlock victim is run again
 * a few times. So `op` must be safe to run twice: a transaction it began
 * is gone with the connection, and it must free what it filled on every
 * failure. Other failures are returned as they are. */
typedef int (*msql_op)(struct msql_db *d, void *arg, char *err, size_t errlen);
int msql_db_run(struct msql_db *d, const char *what, msql_op op, void *arg, char *err,
    size_t errlen);

/* Record the failure of the last call on the connection (or on `st` when
 * not NULL): errf() "what: message", and d->lost or d->deadlock as the
 * error number says. Returns -1. */
int msql_db_fail(struct msql_db *d, MYSQL_STMT *st, const char *what, char *err,
    size_t errlen);

/* --- statements, rows, transactions (mysql_exec.c) ---------------------------- */

/* A value bound to a `?`: text (NULL binds SQL NULL) or an integer. */
struct msql_param {
	const char *text;
	int64_t num;
	bool is_num;
};
#define MP_TEXT(s) ((struct msql_param){ .text = (s) })
#define MP_INT(n) ((struct msql_param){ .num = (n), .is_num = true })
/* The owner every table is keyed by: the first two parameters of most
 * statements. */
#define MP_OWNER(domain, localpart) MP_TEXT(domain), MP_TEXT(localpart)

/* Run statement `id` with `np` parameters, no rows expected: the rows it
 * matched (CLIENT_FOUND_ROWS), or -1 with a reason. The server's error
 * number of the failure into *code when code is not NULL (0 otherwise). */
int64_t msql_db_exec(struct msql_db *d, enum mst_id id, const struct msql_param *p,
    size_t np, unsigned *code, const char *what, char *err, size_t errlen);

/* Every row of a query, read before anything else happens (so a walk's
 * callback may call the storage): cells row by row, each a malloc'd
 * string byte for byte (integers in decimal), NULL for SQL NULL. */
struct msql_rows {
	char **cell;
	size_t n;
	size_t ncols;
};
int msql_db_query(struct msql_db *d, enum mst_id id, const struct msql_param *p, size_t np,
    struct msql_rows *out, const char *what, char *err, size_t errlen);
/* Cell (row, col): the text (NULL for SQL NULL), or as an integer. */
const char *msql_rows_text(const struct msql_rows *r, size_t row, size_t col);
int64_t msql_rows_int(const struct msql_rows *r, size_t row, size_t col);
/* The cell as a malloc'd string the caller owns (NULL stays NULL). */
char *msql_rows_take(struct msql_rows *r, size_t row, size_t col);
void msql_rows_free(struct msql_rows *r);

/* Constant SQL with no values (transaction control, the schema's DDL):
 * 0 or -1 with a reason. */
int msql_db_command(struct msql_db *d, const char *sql, const char *what, char *err,
    size_t errlen);
/* Transactions. Writes: msql_db_begin (autocommit stays on between
 * calls). Reads of several statements: msql_db_snapshot, one consistent
 * snapshot (InnoDB's REPEATABLE READ). msql_db_rollback is for error
 * paths and reports nothing. */
int msql_db_begin(struct msql_db *d, const char *what, char *err, size_t errlen);
int msql_db_snapshot(struct msql_db *d, const char *what, char *err, size_t errlen);
int msql_db_commit(struct msql_db *d, const char *what, char *err, size_t errlen);
void msql_db_rollback(struct msql_db *d);

/* --- the schema (mysql_schema.c) ---------------------------------------------- */

/* Bring the schema up to date (an op for msql_db_run); d->version. */
int msql_schema_migrate(struct msql_db *d, void *arg, char *err, size_t errlen);

/* --- mysql_roster.c ------------------------------------------------------------ */
int msql_roster_get(void *db, const char *domain, const char *localpart,
    struct storage_roster_list *out, char *err, size_t errlen);
int msql_roster_get_since(void *db, const char *domain, const char *localpart,
    int64_t since, struct storage_roster_list *out, char *err, size_t errlen);
int msql_roster_get_item(void *db, const char *domain, const char *localpart,
    const char *contact, struct storage_roster_item *out, char *err, size_t errlen);
int msql_roster_put(void *db, const char *domain, const char *localpart,
    const struct storage_roster_item *item, int64_t *ver, char *err, size_t errlen);
int msql_roster_remove(void *db, const char *domain, const char *localpart,
    const char *contact, int64_t *ver, char *err, size_t errlen);
int msql_subreq_put(void *db, const char *domain, const char *localpart,
    const char *contact, const char *stanza, char *err, size_t errlen);
int msql_subreq_exists(void *db, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen);
int msql_subreq_delete(void *db, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen);
int msql_subreq_list(void *db, const char *domain, const char *localpart,
    storage_subreq_cb cb, void *arg, char *err, size_t errlen);

/* --- mysql_im.c ------------------------------------------------------------------ */
int msql_offline_store(void *db, const char *domain, const char *localpart,
    const char *stanza, size_t quota, char *err, size_t errlen);
int msql_offline_count(void *db, const char *domain, const char *localpart,
    size_t *count, char *err, size_t errlen);
int msql_offline_list(void *db, const char *domain, const char *localpart,
    storage_offline_cb cb, void *arg, char *err, size_t errlen);
int msql_offline_delete_upto(void *db, const char *domain, const char *localpart,
    int64_t upto, char *err, size_t errlen);
int msql_private_get(void *db, const char *domain, const char *localpart,
    const char *key, char **out, char *err, size_t errlen);
int msql_private_set(void *db, const char *domain, const char *localpart,
    const char *key, const char *xml, char *err, size_t errlen);
int msql_vcard_get(void *db, const char *domain, const char *localpart,
    char **out, char *err, size_t errlen);
int msql_vcard_set(void *db, const char *domain, const char *localpart,
    const char *xml, char *err, size_t errlen);
int msql_block_list(void *db, const char *domain, const char *localpart,
    storage_block_cb cb, void *arg, char *err, size_t errlen);
int msql_block_add(void *db, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen);
int msql_block_remove(void *db, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen);
int msql_last_set(void *db, const char *domain, const char *localpart,
    int64_t when, const char *status, char *err, size_t errlen);
int msql_last_get(void *db, const char *domain, const char *localpart,
    int64_t *when, char **status, char *err, size_t errlen);

#endif
