/*
 * authreg_sql_pgsql.c — the sql backend's PostgreSQL driver, a thin layer
 * over libpq: connect with the auth.sql settings, run one query with
 * PQexecParams (the values travel as parameters of the extended protocol,
 * never inside the text). Runs on worker threads only; never logs.
 *
 * Settings that keep a worker from hanging on a slow or dead server:
 * connect_timeout for the start-up, statement_timeout (server side) and
 * tcp_user_timeout (client side, for a peer that stopped answering) for
 * queries. gssencmode=disable: no Kerberos lookups (files and plugins the
 * sandbox does not allow).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "authreg_sql.h"
#include "util.h"

struct sql_conn {
	PGconn *pg;
};

static int pg_init(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return 0;
}

static void copy_error(const char *msg, char *err, size_t errlen)
{
	size_t n;

	snprintf(err, errlen, "%s", msg != NULL && *msg != '\0' ? msg : "unknown error");
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
	for (char *p = err; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
}

static const char *sslmode(enum sql_tls tls)
{
	switch (tls) {
	case SQL_TLS_DISABLE: return "disable";
	case SQL_TLS_PREFER: return "prefer";
	case SQL_TLS_REQUIRE: return "require";
	case SQL_TLS_VERIFY_CA: return "verify-ca";
	case SQL_TLS_VERIFY_FULL: return "verify-full";
	}
	return "prefer";
}

static struct sql_conn *pg_connect(const struct sql_target *t, char *err, size_t errlen)
{
	const struct sql_server *s = t->server;
	const char *keys[24], *vals[24];
	char port[16], ctimeout[16], utimeout[16], options[64];
	size_t n = 0;

#define KV(k, v) do { keys[n] = (k); vals[n] = (v); n++; } while (0)
	if (*s->host != '\0') {
		KV("host", s->host);
		if (t->addr[0] != '\0')
			KV("hostaddr", t->addr);
	} else if (*s->socket != '\0') {
		KV("host", s->socket);
	}
	if (s->port != 0) {
		snprintf(port, sizeof(port), "%u", s->port);
		KV("port", port);
	}
	KV("dbname", s->database);
	KV("user", s->user);
	if (*s->password != '\0')
		KV("password", s->password);
	KV("sslmode", sslmode(s->tls));
	if (*s->tls_ca != '\0')
		KV("sslrootcert", s->tls_ca);
	/* libpq counts whole seconds and takes less than 2 as 2. */
	snprintf(ctimeout, sizeof(ctimeout), "%u", (s->connect_timeout_ms + 999) / 1000);
	KV("connect_timeout", ctimeout);
	snprintf(utimeout, sizeof(utimeout), "%u", t->query_timeout_ms + SQL_TIMEOUT_GRACE_MS);
	KV("tcp_user_timeout", utimeout);
	KV("keepalives", "1");
	snprintf(options, sizeof(options), "-c statement_timeout=%u",
	    t->query_timeout_ms + SQL_TIMEOUT_GRACE_MS);
	KV("options", options);
	KV("gssencmode", "disable");
	KV("application_name", "parley-auth");
	KV("client_encoding", "UTF8");
#undef KV
	keys[n] = NULL;
	vals[n] = NULL;

	PGconn *pg = PQconnectdbParams(keys, vals, 0);
	if (pg == NULL) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		copy_error(PQerrorMessage(pg), err, errlen);
		PQfinish(pg);
		return NULL;
	}
	struct sql_conn *c = xcalloc(1, sizeof(*c));
	c->pg = pg;
	return c;
}

static enum sql_status pg_run(struct sql_conn *c, const struct sql_query *q,
    const char *const *values, size_t max_rows, struct sql_rows *rows, char *err,
    size_t errlen)
{
	PGresult *r;
	enum sql_status st = SQL_DONE;

	memset(rows, 0, sizeof(*rows));
	r = PQexecParams(c->pg, q->text, (int)q->nparams, NULL, values, NULL, NULL, 0);
	switch (r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR) {
	case PGRES_TUPLES_OK:
		rows->n = (size_t)PQntuples(r);
		rows->kept = rows->n < max_rows ? rows->n : max_rows;
		rows->first = xcalloc(rows->kept + 1, sizeof(*rows->first));
		for (size_t i = 0; i < rows->kept; i++)
			if (PQnfields(r) > 0 && !PQgetisnull(r, (int)i, 0))
				rows->first[i] = xstrdup(PQgetvalue(r, (int)i, 0));
		break;
	case PGRES_COMMAND_OK:
		rows->affected = strtoull(PQcmdTuples(r), NULL, 10);
		break;
	default:
		copy_error(r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c->pg), err, errlen);
		st = PQstatus(c->pg) == CONNECTION_OK ? SQL_FAILED : SQL_LOST;
		break;
	}
	PQclear(r);
	return st;
}

static void pg_close(struct sql_conn *c)
{
	if (c == NULL)
		return;
	PQfinish(c->pg);
	free(c);
}

static void pg_thread_end(void)
{
}

const struct sql_driver sql_driver_pgsql = {
	.name = "pgsql",
	.kind = SQL_KIND_PGSQL,
	.init = pg_init,
	.connect = pg_connect,
	.run = pg_run,
	.close = pg_close,
	.thread_end = pg_thread_end,
};
