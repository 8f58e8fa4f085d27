/*
 * mysql_conn.c — the MySQL/MariaDB driver's connection: the client
 * library's options from struct sql_server (TLS, timeouts, utf8mb4, a
 * strict session), telling a lost server from other errors, and the
 * runner every driver call goes through, which reconnects with
 * sql_retry's backoff and runs the call again from its start.
 *
 * Must not: let the client library reconnect on its own
 * (MYSQL_OPT_RECONNECT: it would drop our prepared statements and the
 * transaction under us), read my.cnf files (no MYSQL_READ_DEFAULT_FILE or
 * _GROUP: the configuration is Parley's), or retry an error that is not a
 * lost connection or a deadlock.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "mysql_db.h"
#include "sql_retry.h"

/* How long one read or write on the connection may wait before the
 * server counts as lost. Our statements touch one owner's rows; a server
 * that does not answer in this time is hung or cut off. */
#define IO_TIMEOUT_S 30

/* A deadlock victim's transaction is rolled back by the server; running
 * it again succeeds once the other transaction is through. Under heavy
 * contention (several sm or auth processes on one user's rows) a victim
 * may lose several times in a row, so it waits a little longer each time
 * (1, 2, … ms) before it runs again. */
#define DEADLOCK_RETRIES 50

/* The session every connection gets, whatever the server's defaults:
 * strict (a value too long for its column is an error, never cut),
 * REPEATABLE READ (snapshots for reads of several statements). */
#define SESSION_MODE "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION," \
	"NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO'"
#define SESSION_ISOLATION "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"

/* --- errors ------------------------------------------------------------------ */

/* The errors that mean the connection (or the server) is gone, so that
 * the same call may succeed on a new connection. Everything else — a
 * refused login, an unknown database, a constraint — is an answer. */
static bool is_lost(unsigned code)
{
	switch (code) {
	case CR_CONNECTION_ERROR:         /* 2002: the Unix socket refused */
	case CR_CONN_HOST_ERROR:          /* 2003: the TCP port refused */
	case CR_SERVER_GONE_ERROR:        /* 2006 */
	case CR_SERVER_LOST:              /* 2013 */
#ifdef CR_SERVER_LOST_EXTENDED
	case CR_SERVER_LOST_EXTENDED:     /* 2055 */
#endif
	case ER_SERVER_SHUTDOWN:          /* 1053 */
	case ER_NORMAL_SHUTDOWN:          /* 1077 */
	case ER_SHUTDOWN_COMPLETE:        /* 1079 */
	case ER_ABORTING_CONNECTION:      /* 1152 */
	case ER_NET_READ_ERROR:           /* 1158 */
	case ER_NET_READ_INTERRUPTED:     /* 1159 */
	case ER_NET_ERROR_ON_WRITE:       /* 1160 */
	case ER_NET_WRITE_INTERRUPTED:    /* 1161 */
	case 1927:                        /* ER_CONNECTION_KILLED (MariaDB) */
		return true;
	default:
		return false;
	}
}

int msql_db_fail(struct msql_db *d, MYSQL_STMT *st, const char *what, char *err,
    size_t errlen)
{
	unsigned code = st != NULL ? mysql_stmt_errno(st) : d->conn != NULL ?
	    mysql_errno(d->conn) : CR_SERVER_GONE_ERROR;
	const char *msg = st != NULL ? mysql_stmt_error(st) : d->conn != NULL ?
	    mysql_error(d->conn) : "not connected";

	if (is_lost(code))
		d->lost = true;
	else if (code == ER_LOCK_DEADLOCK)
		d->deadlock = true;
	return errf(err, errlen, "%s: %s (%u)", what, msg, code);
}

/* --- connecting ------------------------------------------------------------- */

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_rc;

/* Not thread-safe in the client library, so once per process. */
static void library_init(void)
{
	library_rc = mysql_library_init(0, NULL, NULL);
}

static unsigned seconds_up(unsigned ms)
{
	return ms == 0 ? 1 : (ms + 999) / 1000;
}

/* TLS as storage.sql.tls says; without `tls`, none (prefer's second try). */
static int set_tls(struct msql_db *d, MYSQL *m, bool tls)
{
	const struct sql_server *srv = &d->srv;
	int rc = 0;

#ifdef MARIADB_PACKAGE_VERSION_ID
	msql_flag on = 1, off = 0;
	/* libmariadb: ENFORCE asks for TLS; the library still goes on in the
	 * clear with a server that offers none unless it must verify, which
	 * connect_once checks. */
	rc |= mysql_options(m, MYSQL_OPT_SSL_ENFORCE, tls ? &on : &off);
	rc |= mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT,
	    tls && srv->tls >= SQL_TLS_VERIFY_CA ? &on : &off);
#else
	/* Oracle's libmysqlclient 8 has one mode instead (not built here:
	 * Debian's client is libmariadb). */
	unsigned mode = SSL_MODE_DISABLED;
	if (tls)
		mode = srv->tls == SQL_TLS_PREFER ? SSL_MODE_PREFERRED :
		    srv->tls == SQL_TLS_REQUIRE ? SSL_MODE_REQUIRED :
		    srv->tls == SQL_TLS_VERIFY_CA ? SSL_MODE_VERIFY_CA : SSL_MODE_VERIFY_IDENTITY;
	rc |= mysql_options(m, MYSQL_OPT_SSL_MODE, &mode);
#endif
	if (tls && srv->tls >= SQL_TLS_VERIFY_CA && *srv->tls_ca != '\0')
		rc |= mysql_options(m, MYSQL_OPT_SSL_CA, srv->tls_ca);
	return rc;
}

static int set_options(struct msql_db *d, MYSQL *m, bool tls, char *err, size_t errlen)
{
	const struct sql_server *srv = &d->srv;
	unsigned connect_s = seconds_up(srv->connect_timeout_ms), io_s = IO_TIMEOUT_S;
	/* TCP when a host is named ("localhost" would mean the Unix socket
	 * to the library), else the socket. */
	unsigned proto = *srv->host != '\0' ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
	unsigned no_local_infile = 0;
	int rc = 0;

	rc |= mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
	rc |= mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &io_s);
	rc |= mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &io_s);
	rc |= mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
	rc |= mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* Init commands add up; both run at each connect. */
	rc |= mysql_options(m, MYSQL_INIT_COMMAND, SESSION_MODE);
	rc |= mysql_options(m, MYSQL_INIT_COMMAND, SESSION_ISOLATION);
	/* LOAD DATA LOCAL would let a server read our files. */
	rc |= mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &no_local_infile);
#ifdef MARIADB_PACKAGE_VERSION_ID
	/* Off by default; said again because it matters. (libmysqlclient 8
	 * warns on stderr when it is set at all, so there we keep its
	 * default, off too.) */
	msql_flag no_reconnect = 0;
	rc |= mysql_options(m, MYSQL_OPT_RECONNECT, &no_reconnect);
#endif
	rc |= set_tls(d, m, tls);
	if (rc != 0)
		return errf(err, errlen, "the client library refused an option: %s",
		    mysql_error(m));
	return 0;
}

/* One attempt, with or without TLS. */
static MYSQL *connect_once(struct msql_db *d, bool tls, unsigned *code, char *err,
    size_t errlen)
{
	const struct sql_server *srv = &d->srv;
	MYSQL *m = mysql_init(NULL);

	*code = 0;
	if (m == NULL) {
		errf(err, errlen, "out of memory for a connection");
		return NULL;
	}
	if (set_options(d, m, tls, err, errlen) < 0) {
		mysql_close(m);
		return NULL;
	}
	/* CLIENT_FOUND_ROWS: an UPDATE reports the rows it matched, not only
	 * those it changed (a password set to itself is not "no such user"). */
	if (mysql_real_connect(m, *srv->host != '\0' ? srv->host : NULL, srv->user, srv->password,
	    srv->database, srv->port, *srv->host == '\0' && *srv->socket != '\0' ? srv->socket :
	    NULL, CLIENT_FOUND_ROWS) == NULL) {
		*code = mysql_errno(m);
		errf(err, errlen, "%s (%u)", mysql_error(m), *code);
		mysql_close(m);
		return NULL;
	}
	/* The library goes on in the clear when a server offers no TLS,
	 * unless it was asked to verify the certificate: check it here. */
	if (tls && srv->tls >= SQL_TLS_REQUIRE && mysql_get_ssl_cipher(m) == NULL) {
		*code = CR_SSL_CONNECTION_ERROR;
		errf(err, errlen, "the server offers no TLS, which storage.sql.tls requires");
		mysql_close(m);
		return NULL;
	}
	return m;
}

int msql_db_connect(struct msql_db *d, char *err, size_t errlen)
{
	unsigned code;

	pthread_once(&library_once, library_init);
	if (library_rc != 0)
		return errf(err, errlen, "the MySQL client library failed to initialise");
	bool tls = d->srv.tls != SQL_TLS_DISABLE;
	d->conn = connect_once(d, tls, &code, err, errlen);
	/* prefer: TLS when the server offers it, else in the clear. libmariadb
	 * 3.3 falls back by itself; 3.4 and libmysqlclient with a verifying
	 * mode refuse with CR_SSL_CONNECTION_ERROR, so try once more without. */
	if (d->conn == NULL && d->srv.tls == SQL_TLS_PREFER && code == CR_SSL_CONNECTION_ERROR)
		d->conn = connect_once(d, false, &code, err, errlen);
	if (d->conn == NULL) {
		if (is_lost(code))
			d->lost = true;
		return -1;
	}
	return 0;
}

void msql_db_disconnect(struct msql_db *d)
{
	for (int i = 0; i < MST_COUNT; i++) {
		if (d->stmt[i] != NULL)
			mysql_stmt_close(d->stmt[i]);
		d->stmt[i] = NULL;
	}
	if (d->conn != NULL)
		mysql_close(d->conn);
	d->conn = NULL;
}

/* --- the runner ------------------------------------------------------------- */

int msql_db_run(struct msql_db *d, const char *what, msql_op op, void *arg, char *err,
    size_t errlen)
{
	struct sql_retry retry;
	char why[ERRLEN] = "";
	int deadlocks = 0;
	/* A connection found dead is tried again at once: the server may
	 * have restarted between two calls and be back already. */
	bool at_once = d->conn != NULL;

	mysql_thread_init();
	sql_retry_begin(&retry, d->srv.hold_ms);
	for (;;) {
		d->lost = false;
		d->deadlock = false;
		if (d->conn != NULL || msql_db_connect(d, why, sizeof(why)) == 0) {
			int rc = op(d, arg, why, sizeof(why));
			if (rc != STORAGE_ERROR)
				return rc;
			if (d->deadlock && deadlocks++ < DEADLOCK_RETRIES) {
				struct timespec ts = { 0, (long)deadlocks * 1000000L };
				nanosleep(&ts, NULL);
				continue;
			}
		}
		if (!d->lost)
			return errf(err, errlen, "%s", why);
		msql_db_disconnect(d);
		if (at_once) {
			at_once = false;
			continue;
		}
		if (!sql_retry_again(&retry))
			return errf(err, errlen, "%s: the database server is unreachable (gave up "
			    "after %u ms): %s", what, d->srv.hold_ms, why);
	}
}
