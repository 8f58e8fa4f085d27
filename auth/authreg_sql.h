/*
 * authreg_sql.h — what the files of auth's `sql` backend share (not part of
 * the authreg interface; authreg.h declares authreg_sql_new):
 *
 *   authreg_sql.c         the backend: requests, worker jobs, the SCRAM
 *                         prefetch cache, timeouts
 *   authreg_sql_query.c   the operator's query text → the driver's text with
 *                         bound parameters (%u %d %p %%)
 *   authreg_sql_mysql.c   the thin wrapper over libmysqlclient (MariaDB
 *                         Connector/C): connect, run one prepared statement
 *   authreg_sql_pgsql.c   the same over libpq (PQexecParams)
 *
 * The drivers' functions run on workq worker threads only (they block), one
 * connection per thread; they never log: what went wrong comes back in
 * `err` for the loop's thread to log.
 */
#ifndef PARLEY_AUTHREG_SQL_H
#define PARLEY_AUTHREG_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "sql_server.h"

/* --- queries ---------------------------------------------------------------------- */

enum sql_kind {
	SQL_KIND_MYSQL,     /* '?' parameters */
	SQL_KIND_PGSQL,     /* $1, $2… parameters */
};

/* What a placeholder stands for. */
enum sql_param {
	SQL_PARAM_USER,        /* %u: the localpart */
	SQL_PARAM_DOMAIN,      /* %d: the domain */
	SQL_PARAM_PASSWORD,    /* %p: the new password's stored form */
};

#define SQL_PARAM_BIT(p) (1u << (p))
#define SQL_QUERY_MAX_PARAMS 16

struct sql_query {
	char *text;                                   /* in the driver's syntax */
	size_t nparams;
	enum sql_param params[SQL_QUERY_MAX_PARAMS];  /* in order of appearance */
};

/* Translate the operator's `in`: %u %d %p become the driver's parameter
 * markers, %% a '%'. A placeholder outside `allowed` (SQL_PARAM_BITs), any
 * other %x, a lone % at the end or more than SQL_QUERY_MAX_PARAMS
 * placeholders is an error explaining which. Nothing is ever pasted. */
int sql_query_translate(const char *in, enum sql_kind kind, unsigned allowed,
    struct sql_query *out, char *err, size_t errlen);
void sql_query_clear(struct sql_query *q);

/* --- drivers ---------------------------------------------------------------------- */

/* Where and how to connect: the auth.sql settings, with the host already
 * resolved before the sandbox. */
struct sql_target {
	const struct sql_server *server;
	/* The numeric address to connect to ("" for the Unix socket); the
	 * name stays in server->host for TLS name checks. */
	char addr[64];
	unsigned query_timeout_ms;
};

/* The drivers' own timeouts (server-side statement time, client reads) run
 * this much past auth.sql.timeout: the loop has answered by then, and the
 * worker is freed for the next job. */
#define SQL_TIMEOUT_GRACE_MS 1000

struct sql_rows {
	size_t n;              /* rows returned (SELECT) */
	size_t kept;           /* entries in first: min(n, max_rows) */
	char **first;          /* each row's first column; NULL for SQL NULL */
	unsigned long long affected;   /* rows changed (UPDATE and the like) */
};

void sql_rows_clear(struct sql_rows *rows);

enum sql_status {
	SQL_DONE,        /* ran; rows filled */
	SQL_FAILED,      /* the server refused the query (syntax, rights…) */
	SQL_LOST,        /* the connection is unusable: close it, connect again */
};

struct sql_conn;

struct sql_driver {
	const char *name;
	enum sql_kind kind;
	/* Once, on the loop's thread, before any worker starts. */
	int (*init)(char *err, size_t errlen);
	struct sql_conn *(*connect)(const struct sql_target *t, char *err, size_t errlen);
	/* Run `q` with `values` (q->nparams of them); keep at most `max_rows`
	 * first columns (the rest are counted in rows->n all the same). */
	enum sql_status (*run)(struct sql_conn *c, const struct sql_query *q,
	    const char *const *values, size_t max_rows, struct sql_rows *rows,
	    char *err, size_t errlen);
	void (*close)(struct sql_conn *c);
	/* When a worker thread ends (the driver's per-thread state). */
	void (*thread_end)(void);
};

extern const struct sql_driver sql_driver_mysql;
extern const struct sql_driver sql_driver_pgsql;

#endif
