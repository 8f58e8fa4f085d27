/*
 * authreg_sql_mysql.c — the sql backend's MySQL/MariaDB driver, a thin
 * layer over libmysqlclient (MariaDB Connector/C): connect with the
 * auth.sql settings, run one prepared statement with its values bound as
 * strings (never inside the text). Runs on worker threads only; never
 * logs.
 *
 * Read and write timeouts (whole seconds, the library's unit) keep a worker
 * from hanging on a server that stopped answering; MariaDB's
 * max_statement_time makes the server give up a slow query too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>

/* From <mysql/client_plugin.h>, which Debian's headers cannot include on
 * their own (it wants an internal header). */
#ifndef MYSQL_CLIENT_AUTHENTICATION_PLUGIN
#define MYSQL_CLIENT_AUTHENTICATION_PLUGIN 2
#endif

#include "authreg_sql.h"
#include "util.h"

struct sql_conn {
	MYSQL *my;
};

static int my_init(char *err, size_t errlen)
{
	/* The authentication plugins a server may ask for that are not built
	 * into the library: loaded now, because once sandboxed nothing can be
	 * mapped executable (a missing one is simply not offered). */
	static const char *const plugins[] = { "caching_sha2_password", "sha256_password",
		"client_ed25519" };
	MYSQL *my;

	/* Not thread-safe: once, before any worker starts. */
	if (mysql_library_init(0, NULL, NULL) != 0)
		return errf(err, errlen, "cannot initialise the MySQL client library");
	my = mysql_init(NULL);
	if (my == NULL)
		return errf(err, errlen, "out of memory");
	for (size_t i = 0; i < ARRAY_LEN(plugins); i++)
		(void)mysql_load_plugin(my, plugins[i], MYSQL_CLIENT_AUTHENTICATION_PLUGIN, 0);
	mysql_close(my);
	return 0;
}

static unsigned seconds(unsigned ms)
{
	unsigned s = (ms + 999) / 1000;
	return s == 0 ? 1 : s;
}

static struct sql_conn *my_connect(const struct sql_target *t, char *err, size_t errlen)
{
	const struct sql_server *s = t->server;
	unsigned ct = seconds(s->connect_timeout_ms);
	unsigned qt = seconds(t->query_timeout_ms + SQL_TIMEOUT_GRACE_MS);
	my_bool yes = 1;
	const char *host = NULL, *sock = NULL;
	MYSQL *my;

	mysql_thread_init();
	my = mysql_init(NULL);
	if (my == NULL) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &qt);
	mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &qt);
	mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (s->tls != SQL_TLS_DISABLE) {
		/* TLS if the server offers it; the stricter modes insist. */
		mysql_ssl_set(my, NULL, NULL, *s->tls_ca != '\0' ? s->tls_ca : NULL, NULL, NULL);
		if (s->tls >= SQL_TLS_REQUIRE)
			mysql_options(my, MYSQL_OPT_SSL_ENFORCE, &yes);
		if (s->tls == SQL_TLS_VERIFY_FULL)
			mysql_options(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
	}
	if (*s->host != '\0') {
		/* The address resolved before the sandbox, except where TLS must
		 * check the name (verify-full): the library checks the host it
		 * was given. */
		host = t->addr[0] != '\0' && s->tls != SQL_TLS_VERIFY_FULL ? t->addr : s->host;
	} else if (*s->socket != '\0') {
		sock = s->socket;
	}
	if (mysql_real_connect(my, host, s->user, s->password, s->database, s->port, sock,
	    CLIENT_FOUND_ROWS) == NULL) {
		errf(err, errlen, "%s", mysql_error(my));
		mysql_close(my);
		return NULL;
	}
	/* MariaDB: the server stops a query that runs past the timeout
	 * (MySQL has no such variable: the error is of no consequence). */
	char set[80];
	snprintf(set, sizeof(set), "SET SESSION max_statement_time=%.3f",
	    (t->query_timeout_ms + SQL_TIMEOUT_GRACE_MS) / 1000.0);
	(void)mysql_query(my, set);
	struct sql_conn *c = xcalloc(1, sizeof(*c));
	c->my = my;
	return c;
}

static enum sql_status stmt_failed(MYSQL_STMT *st, char *err, size_t errlen)
{
	unsigned code = mysql_stmt_errno(st);

	errf(err, errlen, "%s", mysql_stmt_error(st));
	/* Client-side errors (CR_*, 2000-2999) mean the connection itself is
	 * in doubt: lost, timed out, out of sync. */
	return code >= CR_MIN_ERROR && code <= CR_MAX_ERROR ? SQL_LOST : SQL_FAILED;
}

static enum sql_status fetch_rows(MYSQL_STMT *st, unsigned nfields, size_t max_rows,
    struct sql_rows *rows, char *err, size_t errlen)
{
	MYSQL_BIND *rb = xcalloc(nfields, sizeof(*rb));
	unsigned long *lens = xcalloc(nfields, sizeof(*lens));
	my_bool *nulls = xcalloc(nfields, sizeof(*nulls));
	size_t cap = 0;
	enum sql_status status = SQL_DONE;

	for (unsigned i = 0; i < nfields; i++) {
		/* No buffers: fetching reports truncation and the lengths; the
		 * first column is then fetched into a buffer of its size. */
		rb[i].buffer_type = MYSQL_TYPE_STRING;
		rb[i].length = &lens[i];
		rb[i].is_null = &nulls[i];
	}
	if (mysql_stmt_bind_result(st, rb) != 0) {
		status = stmt_failed(st, err, errlen);
		goto out;
	}
	for (;;) {
		int rc = mysql_stmt_fetch(st);
		if (rc == MYSQL_NO_DATA)
			break;
		if (rc == 1) {
			status = stmt_failed(st, err, errlen);
			goto out;
		}
		if (rows->n < max_rows) {
			if (rows->kept == cap) {
				cap = cap == 0 ? 4 : cap * 2;
				rows->first = realloc(rows->first, (cap + 1) * sizeof(*rows->first));
				if (rows->first == NULL)
					abort();
			}
			char *value = NULL;
			if (!nulls[0]) {
				MYSQL_BIND one;
				memset(&one, 0, sizeof(one));
				value = xcalloc(1, lens[0] + 1);
				one.buffer_type = MYSQL_TYPE_STRING;
				one.buffer = value;
				one.buffer_length = lens[0] + 1;
				if (mysql_stmt_fetch_column(st, &one, 0, 0) != 0) {
					free(value);
					status = stmt_failed(st, err, errlen);
					goto out;
				}
				value[lens[0]] = '\0';
			}
			rows->first[rows->kept++] = value;
		}
		rows->n++;
	}
out:
	free(rb);
	free(lens);
	free(nulls);
	return status;
}

static enum sql_status my_run(struct sql_conn *c, const struct sql_query *q,
    const char *const *values, size_t max_rows, struct sql_rows *rows, char *err,
    size_t errlen)
{
	MYSQL_BIND pb[SQL_QUERY_MAX_PARAMS];
	unsigned long plen[SQL_QUERY_MAX_PARAMS];
	enum sql_status status = SQL_DONE;
	MYSQL_STMT *st;

	memset(rows, 0, sizeof(*rows));
	st = mysql_stmt_init(c->my);
	if (st == NULL) {
		errf(err, errlen, "%s", mysql_error(c->my));
		return SQL_LOST;
	}
	if (mysql_stmt_prepare(st, q->text, strlen(q->text)) != 0) {
		status = stmt_failed(st, err, errlen);
		goto out;
	}
	if (mysql_stmt_param_count(st) != q->nparams) {
		/* A '?' of the operator's own in the text. */
		errf(err, errlen, "the server counts %lu parameter markers, the query has %zu "
		    "placeholders (is there a '?' in it?)", mysql_stmt_param_count(st), q->nparams);
		status = SQL_FAILED;
		goto out;
	}
	memset(pb, 0, sizeof(pb));
	for (size_t i = 0; i < q->nparams; i++) {
		plen[i] = strlen(values[i]);
		pb[i].buffer_type = MYSQL_TYPE_STRING;
		pb[i].buffer = (void *)values[i];
		pb[i].buffer_length = plen[i];
		pb[i].length = &plen[i];
	}
	if ((q->nparams > 0 && mysql_stmt_bind_param(st, pb) != 0) ||
	    mysql_stmt_execute(st) != 0) {
		status = stmt_failed(st, err, errlen);
		goto out;
	}
	unsigned nfields = mysql_stmt_field_count(st);
	if (nfields == 0) {
		rows->affected = (unsigned long long)mysql_stmt_affected_rows(st);
		goto out;
	}
	status = fetch_rows(st, nfields, max_rows, rows, err, errlen);
	if (status != SQL_DONE)
		sql_rows_clear(rows);
out:
	mysql_stmt_close(st);
	return status;
}

static void my_close(struct sql_conn *c)
{
	if (c == NULL)
		return;
	mysql_close(c->my);
	free(c);
}

static void my_thread_end(void)
{
	mysql_thread_end();
}

const struct sql_driver sql_driver_mysql = {
	.name = "mysql",
	.kind = SQL_KIND_MYSQL,
	.init = my_init,
	.connect = my_connect,
	.run = my_run,
	.close = my_close,
	.thread_end = my_thread_end,
};
