/*
 * pgsql_conn.c — the PostgreSQL driver's connection: libpq's settings
 * from struct sql_server (keywords, never a pasted conninfo string),
 * the checks and preparations of a new connection, and the retry loop
 * that makes a lost server a wait (storage.sql.hold) instead of an error:
 * an operation that fails because the connection broke is run again from
 * the start on a new one, a transaction included. Also the statement,
 * transaction and column helpers the concept files share.
 *
 * Must not: log (libpq's notices are swallowed), retry an operation that
 * failed for any reason but the connection, or run SQL built from data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "pgsql_db.h"
#include "sql_retry.h"

static const char *const sslmodes[] = {
	[SQL_TLS_DISABLE] = "disable",
	[SQL_TLS_PREFER] = "prefer",
	[SQL_TLS_REQUIRE] = "require",
	[SQL_TLS_VERIFY_CA] = "verify-ca",
	[SQL_TLS_VERIFY_FULL] = "verify-full",
};

/* libpq prints NOTICEs (CREATE … IF NOT EXISTS and the like) on stderr;
 * a driver does not log. */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* libpq's message on one line, without its trailing newline. */
static void one_line(char *buf, size_t len, const char *msg)
{
	size_t n = 0;

	for (; msg != NULL && *msg != '\0' && n + 1 < len; msg++)
		buf[n++] = *msg == '\n' || *msg == '\r' ? ' ' : *msg;
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	if (n == 0)
		snprintf(buf, len, "no reason given");
}

/* A connection-class failure: the connection is gone, or the server says
 * it is going away or not there yet (SQLSTATE class 08; 57P01 admin
 * shutdown, 57P02 crash shutdown, 57P03 cannot connect now). Anything
 * else is the operation's own failure and is never retried. */
static bool connection_failure(PGconn *c, const PGresult *r)
{
	const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (c == NULL || PQstatus(c) != CONNECTION_OK)
		return true;
	if (state == NULL)
		return r == NULL;
	return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0;
}

/* errf() with the server's reason for r (or the connection's). */
static int fail(struct pgsql_db *d, const PGresult *r, const char *what, char *err,
    size_t errlen)
{
	const char *primary = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char msg[ERRLEN];

	if (connection_failure(d->conn, r))
		d->lost = true;
	one_line(msg, sizeof(msg), primary != NULL ? primary : PQerrorMessage(d->conn));
	return errf(err, errlen, "%s: %s", what, msg);
}

/* --- connecting -------------------------------------------------------------- */

/* "1" for up to one second: libpq's connect_timeout is in whole seconds
 * (and treats 1 as 2); 0 would mean forever. */
static void timeout_text(char *buf, size_t len, unsigned ms)
{
	unsigned s = (ms + 999) / 1000;
	snprintf(buf, len, "%u", s == 0 ? 1 : s);
}

/* tls_ca "" means the system's store (conf_schema.c). libpq before 16
 * knows only a file (~/.postgresql/root.crt by default), so name
 * OpenSSL's default bundle, or $SSL_CERT_FILE as OpenSSL would. */
static const char *system_ca(void)
{
	if (PQlibVersion() >= 160000)
		return "system";
	const char *env = getenv(X509_get_default_cert_file_env());
	return env != NULL && *env != '\0' ? env : X509_get_default_cert_file();
}

/* Open the connection with srv's settings; 0 or -1 with libpq's reason. */
static int open_conn(struct pgsql_db *d, char *err, size_t errlen)
{
	const struct sql_server *srv = &d->srv;
	const char *keys[16], *values[16];
	char port[16], timeout[16], msg[ERRLEN];
	int n = 0;

	/* An empty host: the socket directory when one is set, else libpq's
	 * default socket. A host beginning with '/' is a directory to libpq. */
	if (*srv->host != '\0' || *srv->socket != '\0') {
		keys[n] = "host";
		values[n++] = *srv->host != '\0' ? srv->host : srv->socket;
	}
	if (srv->port != 0) {
		snprintf(port, sizeof(port), "%u", srv->port);
		keys[n] = "port";
		values[n++] = port;
	}
	keys[n] = "dbname";
	values[n++] = srv->database;
	keys[n] = "user";
	values[n++] = srv->user;
	if (*srv->password != '\0') {
		keys[n] = "password";
		values[n++] = srv->password;
	}
	keys[n] = "sslmode";
	values[n++] = sslmodes[srv->tls];
	if (*srv->tls_ca != '\0') {
		keys[n] = "sslrootcert";
		values[n++] = srv->tls_ca;
	} else if (srv->tls == SQL_TLS_VERIFY_CA || srv->tls == SQL_TLS_VERIFY_FULL) {
		/* Only for the verifying modes: with a root certificate,
		 * libpq's "require" would verify too. */
		keys[n] = "sslrootcert";
		values[n++] = system_ca();
	}
	timeout_text(timeout, sizeof(timeout), srv->connect_timeout_ms);
	keys[n] = "connect_timeout";
	values[n++] = timeout;
	/* Text is UTF-8 byte for byte (storage.h). */
	keys[n] = "client_encoding";
	values[n++] = "UTF8";
	keys[n] = "application_name";
	values[n++] = "parley";
	keys[n] = NULL;
	values[n] = NULL;

	/* expand_dbname 0: a database name is a name, never a conninfo. */
	d->conn = PQconnectdbParams(keys, values, 0);
	if (d->conn == NULL)
		return errf(err, errlen, "cannot connect: out of memory");
	if (PQstatus(d->conn) != CONNECTION_OK) {
		one_line(msg, sizeof(msg), PQerrorMessage(d->conn));
		pgsql_disconnect(d);
		return errf(err, errlen, "cannot connect: %s", msg);
	}
	PQsetNoticeProcessor(d->conn, quiet, NULL);
	return 0;
}

/* A database whose encoding would change our bytes is refused: UTF8, or
 * SQL_ASCII, which keeps bytes as they come. */
static int check_encoding(struct pgsql_db *d, char *err, size_t errlen)
{
	const char *enc = PQparameterStatus(d->conn, "server_encoding");

	if (enc == NULL || strcmp(enc, "UTF8") == 0 || strcmp(enc, "SQL_ASCII") == 0)
		return 0;
	return errf(err, errlen, "database \"%s\" has the encoding %s; Parley stores UTF-8 "
	    "(CREATE DATABASE ... ENCODING 'UTF8')", d->srv.database, enc);
}

static int prepare_all(struct pgsql_db *d, char *err, size_t errlen)
{
	char name[16];

	for (int i = 0; i < PG_STMT_COUNT; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		PGresult *r = PQprepare(d->conn, name, pgsql_stmt_sql[i], 0, NULL);
		if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
			fail(d, r, "preparing a statement", err, errlen);
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	return 0;
}

/* -1: the server could not be reached (worth another try); -2: it was,
 * but the database is not usable (an error to report at once). */
int pgsql_connect(struct pgsql_db *d, bool migrate, char *err, size_t errlen)
{
	int rc = -2;

	d->lost = false;
	if (open_conn(d, err, errlen) < 0)
		return -1;
	if (check_encoding(d, err, errlen) < 0 ||
	    (migrate && pgsql_migrate(d, err, errlen) < 0) ||
	    prepare_all(d, err, errlen) < 0) {
		if (d->lost)
			rc = -1;
		pgsql_disconnect(d);
		return rc;
	}
	return 0;
}

void pgsql_disconnect(struct pgsql_db *d)
{
	/* PQfinish also frees what a failed PQconnectdbParams left. */
	PQfinish(d->conn);
	d->conn = NULL;
}

/* --- the retry loop ------------------------------------------------------------ */

int pgsql_retry(struct pgsql_db *d, pgsql_attempt_fn attempt, void *arg, const char *what,
    char *err, size_t errlen)
{
	struct sql_retry r;
	char why[ERRLEN] = "no connection";
	unsigned losses = 0;

	sql_retry_begin(&r, d->srv.hold_ms);
	for (;;) {
		if (d->conn == NULL) {
			int c = pgsql_connect(d, false, why, sizeof(why));
			if (c == -2)
				return errf(err, errlen, "%s: reconnected, but %s", what, why);
			if (c < 0) {
				if (!sql_retry_again(&r))
					break;
				continue;
			}
		}
		d->lost = false;
		int rc = attempt(d, arg, err, errlen);
		if (rc != STORAGE_ERROR || !d->lost)
			return rc;
		snprintf(why, sizeof(why), "%s", err);
		pgsql_disconnect(d);
		/* A connection found broken is replaced at once (the server
		 * may have restarted long ago); after that, the backoff. */
		if (losses++ > 0 && !sql_retry_again(&r))
			break;
	}
	return errf(err, errlen, "%s: the PostgreSQL server is unreachable (waited %u ms, "
	    "storage.sql.hold): %s", what, d->srv.hold_ms, why);
}

/* --- statements -------------------------------------------------------------------- */

void pg_params_owner(struct pg_params *p, const char *domain, const char *localpart)
{
	p->n = 0;
	pg_params_text(p, domain);
	pg_params_text(p, localpart);
}

void pg_params_text(struct pg_params *p, const char *text)
{
	if (p->n < PG_MAX_PARAMS)
		p->v[p->n++] = text;
}

void pg_params_int(struct pg_params *p, int64_t v)
{
	if (p->n >= PG_MAX_PARAMS)
		return;
	snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)v);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

PGresult *pgsql_exec(struct pgsql_db *d, enum pg_stmt id, const struct pg_params *p,
    const char *what, char *err, size_t errlen)
{
	char name[16];

	snprintf(name, sizeof(name), "p%d", (int)id);
	PGresult *r = PQexecPrepared(d->conn, name, p->n, p->v, NULL, NULL, 0);
	ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	fail(d, r, what, err, errlen);
	PQclear(r);
	return NULL;
}

int pgsql_done(struct pgsql_db *d, enum pg_stmt id, const struct pg_params *p,
    const char *what, char *err, size_t errlen)
{
	PGresult *r = pgsql_exec(d, id, p, what, err, errlen);

	if (r == NULL)
		return -1;
	int n = atoi(PQcmdTuples(r));
	PQclear(r);
	return n;
}

PGresult *pgsql_query(struct pgsql_db *d, const char *sql, const char *what, char *err,
    size_t errlen)
{
	PGresult *r = PQexec(d->conn, sql);
	ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	fail(d, r, what, err, errlen);
	PQclear(r);
	return NULL;
}

int pgsql_command(struct pgsql_db *d, const char *sql, const char *what, char *err,
    size_t errlen)
{
	PGresult *r = pgsql_query(d, sql, what, err, errlen);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* --- transactions ---------------------------------------------------------------- */

/* The owner's advisory-lock key: 64-bit FNV-1a of domain NUL localpart,
 * the same in every Parley process. Two owners that collide only wait for
 * each other. */
static int64_t owner_key(const char *domain, const char *localpart)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[2] = { domain, localpart };

	for (int i = 0; i < 2; i++) {
		for (const unsigned char *c = (const unsigned char *)parts[i]; ; c++) {
			h ^= *c;
			h *= 0x100000001b3ULL;
			if (*c == '\0')
				break;
		}
	}
	return (int64_t)h;
}

int pgsql_begin_write(struct pgsql_db *d, const char *domain, const char *localpart,
    const char *what, char *err, size_t errlen)
{
	struct pg_params p = { .n = 0 };

	if (pgsql_command(d, "BEGIN", what, err, errlen) < 0)
		return -1;
	if (domain == NULL)
		return 0;
	pg_params_int(&p, owner_key(domain, localpart));
	PGresult *r = pgsql_exec(d, PG_OWNER_LOCK, &p, what, err, errlen);
	if (r == NULL) {
		pgsql_rollback(d);
		return -1;
	}
	PQclear(r);
	return 0;
}

int pgsql_begin_read(struct pgsql_db *d, const char *what, char *err, size_t errlen)
{
	return pgsql_command(d, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", what, err,
	    errlen);
}

int pgsql_commit(struct pgsql_db *d, const char *what, char *err, size_t errlen)
{
	PGresult *r = PQexec(d->conn, "COMMIT");
	ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (st != PGRES_COMMAND_OK) {
		fail(d, r, what, err, errlen);
		PQclear(r);
		pgsql_rollback(d);
		return -1;
	}
	/* COMMIT of a transaction that failed half-way answers ROLLBACK. */
	bool rolled_back = strcmp(PQcmdStatus(r), "ROLLBACK") == 0;
	PQclear(r);
	if (rolled_back)
		return errf(err, errlen, "%s: the transaction was rolled back", what);
	return 0;
}

void pgsql_rollback(struct pgsql_db *d)
{
	if (d->conn == NULL || PQstatus(d->conn) != CONNECTION_OK ||
	    PQtransactionStatus(d->conn) == PQTRANS_IDLE)
		return;
	PQclear(PQexec(d->conn, "ROLLBACK"));
}

/* --- columns and listings --------------------------------------------------------- */

char *pg_dup(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return xstrndup(PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

int64_t pg_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

bool pg_bool(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

void pg_rows_free(struct pg_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++) {
		free(rows->v[i].text[0]);
		free(rows->v[i].text[1]);
	}
	free(rows->v);
	rows->v = NULL;
	rows->n = 0;
}

static int list_attempt(struct pgsql_db *d, void *arg, char *err, size_t errlen)
{
	struct pg_listing *l = arg;
	PGresult *r = pgsql_exec(d, l->id, &l->p, l->what, err, errlen);

	if (r == NULL)
		return STORAGE_ERROR;
	int n = PQntuples(r);
	l->rows.v = n > 0 ? xreallocarray(NULL, (size_t)n, sizeof(*l->rows.v)) : NULL;
	l->rows.n = (size_t)n;
	for (int i = 0; i < n; i++) {
		struct pg_row *row = &l->rows.v[i];
		int col = 0;
		row->id = l->with_id ? pg_int(r, i, col++) : 0;
		for (int t = 0; t < 2; t++) {
			row->text[t] = NULL;
			if (t < l->ntext) {
				row->text[t] = pg_dup(r, i, col++);
				if (row->text[t] == NULL)
					row->text[t] = xstrdup("");
			}
		}
	}
	PQclear(r);
	return STORAGE_OK;
}

int pgsql_list(struct pgsql_db *d, struct pg_listing *l, const char *what, char *err,
    size_t errlen)
{
	l->what = what;
	l->rows.v = NULL;
	l->rows.n = 0;
	if (pgsql_retry(d, list_attempt, l, what, err, errlen) != STORAGE_OK) {
		pg_rows_free(&l->rows);
		return STORAGE_ERROR;
	}
	return STORAGE_OK;
}

struct one_statement {
	enum pg_stmt id;
	const struct pg_params *p;
	const char *what;
	PGresult *result;
};

static int one_attempt(struct pgsql_db *d, void *arg, char *err, size_t errlen)
{
	struct one_statement *o = arg;

	o->result = pgsql_exec(d, o->id, o->p, o->what, err, errlen);
	return o->result != NULL ? STORAGE_OK : STORAGE_ERROR;
}

int pgsql_exec_retry(struct pgsql_db *d, enum pg_stmt id, const struct pg_params *p,
    PGresult **out, const char *what, char *err, size_t errlen)
{
	struct one_statement o = { .id = id, .p = p, .what = what, .result = NULL };
	int rc = pgsql_retry(d, one_attempt, &o, what, err, errlen);

	*out = o.result;
	return rc;
}

int pgsql_done_retry(struct pgsql_db *d, enum pg_stmt id, const struct pg_params *p,
    const char *what, char *err, size_t errlen)
{
	PGresult *r = NULL;

	if (pgsql_exec_retry(d, id, p, &r, what, err, errlen) != STORAGE_OK)
		return -1;
	int n = atoi(PQcmdTuples(r));
	PQclear(r);
	return n;
}
