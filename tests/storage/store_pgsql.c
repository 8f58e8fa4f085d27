/*
 * store_pgsql.c — the storage test suite's driver choice: PostgreSQL.
 * One private server per test program's run, started before main (Check
 * forks every case from that process) by tests/integration/lib/dbserver.py
 * in a temporary directory and stopped at exit by the process that
 * started it; or, with PARLEY_TEST_PGSQL_PORT set, a server already
 * running on 127.0.0.1 at that port (user parley, password parley-test),
 * which this file never stops. Each case gets a database of its own,
 * created empty by store_setup and dropped by store_teardown. The raw
 * hooks of store.h run on a libpq connection of their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "sql_server.h"
#include "store.h"
#include "unit.h"

#define HOST "127.0.0.1"
#define USER "parley"
#define PASSWORD "parley-test"
/* The hold of store_open: long enough for nothing, short enough that a
 * case that breaks the server fails quickly. */
#define DEFAULT_HOLD_MS 2000

static unsigned port;
static char server_dir[64];     /* "" : a server we did not start */
static pid_t server_owner;
static char server_error[512];
static char case_db[64];

/* --- the server ------------------------------------------------------------------- */

/* Run dbserver.py `cmd` on our directory; for "start", parse its line
 * "port P socket S pid N" into *started_port. */
static bool dbserver(const char *cmd, unsigned *started_port)
{
	char line[512];
	unsigned p = 0;
	bool ok;

	snprintf(line, sizeof(line), "/usr/bin/python3 '%s/tests/integration/lib/dbserver.py' "
	    "%s pgsql '%s'", unit_srcdir(), cmd, server_dir);
	FILE *f = popen(line, "r");
	if (f == NULL)
		return false;
	ok = fgets(line, sizeof(line), f) != NULL || started_port == NULL;
	if (started_port != NULL && ok)
		ok = sscanf(line, "port %u", &p) == 1 && p > 0;
	if (pclose(f) != 0)
		ok = false;
	if (started_port != NULL)
		*started_port = p;
	return ok;
}

static void server_down(void)
{
	char cmd[160];

	if (server_dir[0] == '\0' || getpid() != server_owner)
		return;
	dbserver("stop", NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", server_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "store_pgsql: cannot remove %s\n", server_dir);
}

__attribute__((constructor))
static void server_up(void)
{
	const char *env = getenv("PARLEY_TEST_PGSQL_PORT");

	if (env != NULL && *env != '\0') {
		port = (unsigned)atoi(env);
		return;
	}
	snprintf(server_dir, sizeof(server_dir), "/tmp/parley-pgsql-XXXXXX");
	if (mkdtemp(server_dir) == NULL) {
		snprintf(server_error, sizeof(server_error), "cannot make a directory for the "
		    "server");
		server_dir[0] = '\0';
		return;
	}
	server_owner = getpid();
	atexit(server_down);
	if (!dbserver("start", &port))
		snprintf(server_error, sizeof(server_error), "dbserver.py could not start "
		    "PostgreSQL in %s (see its pg.log)", server_dir);
}

bool store_server_control(void)
{
	return server_dir[0] != '\0' && server_error[0] == '\0';
}

bool store_server_stop(void)
{
	return store_server_control() && dbserver("stop", NULL);
}

/* The same port, or the driver's settings would not reach it. */
bool store_server_start(void)
{
	unsigned p = 0;

	return store_server_control() && dbserver("start", &p) && p == port;
}

/* --- the case's database ------------------------------------------------------ */

static PGconn *raw_connect(const char *db)
{
	char portbuf[16];
	const char *keys[] = { "host", "port", "dbname", "user", "password", "sslmode",
	    "client_encoding", NULL };
	const char *values[] = { HOST, portbuf, db, USER, PASSWORD, "disable", "UTF8", NULL };

	ck_assert_msg(server_error[0] == '\0', "%s", server_error);
	snprintf(portbuf, sizeof(portbuf), "%u", port);
	PGconn *c = PQconnectdbParams(keys, values, 0);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connecting to %s on port %u: %s", db, port,
	    PQerrorMessage(c));
	return c;
}

static void raw_exec_on(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	PQclear(r);
}

void store_setup(void)
{
	static unsigned cases;
	char sql[160];

	/* Check runs each case in a child of its own: the pid names it. */
	snprintf(case_db, sizeof(case_db), "parley_case_%ld_%u", (long)getpid(), cases++);
	PGconn *c = raw_connect("postgres");
	snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", case_db);
	raw_exec_on(c, sql);
	PQfinish(c);
}

void store_teardown(void)
{
	char sql[160];

	PGconn *c = raw_connect("postgres");
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", case_db);
	raw_exec_on(c, sql);
	PQfinish(c);
}

static int try_open_hold(struct storage **s, unsigned hold_ms, char *err, size_t errlen)
{
	struct conf *c = NULL;
	struct conf_errors errs = CONF_ERRORS_INIT;
	char text[512];

	/* Through the configuration, as the daemons open it: storage.sql. */
	snprintf(text, sizeof(text), "hosts = [ \"example.org\" ];\n"
	    "storage = { driver = \"pgsql\"; sql = { host = \"%s\"; port = %u; database = \"%s\";"
	    " user = \"%s\"; password = \"%s\"; tls = \"prefer\"; connect_timeout = \"2s\";"
	    " hold = \"%ums\"; }; };\n", HOST, port, case_db, USER, PASSWORD, hold_ms);
	ck_assert_msg(server_error[0] == '\0', "%s", server_error);
	ck_assert_msg(conf_load_string(&c, text, "store_pgsql.conf", &errs) == 0,
	    "the store's configuration is refused");
	int rc = storage_open(s, c, err, errlen);
	conf_free(&c);
	return rc;
}

int store_try_open(struct storage **s, char *err, size_t errlen)
{
	return try_open_hold(s, DEFAULT_HOLD_MS, err, errlen);
}

struct storage *store_open_hold(unsigned hold_ms)
{
	struct storage *s = NULL;
	char err[ERRLEN];
	int rc = try_open_hold(&s, hold_ms, err, sizeof(err));
	ck_assert_msg(rc == STORAGE_OK, "open: %s", err);
	return s;
}

struct storage *store_open(void)
{
	return store_open_hold(DEFAULT_HOLD_MS);
}

const char *store_driver(void)
{
	return "pgsql";
}

const char *store_sqlite_path(void)
{
	return NULL;
}

/* --- under the driver ---------------------------------------------------------- */

void store_raw_exec(const char *sql)
{
	PGconn *c = raw_connect(case_db);
	raw_exec_on(c, sql);
	PQfinish(c);
}

static int64_t one_int(PGconn *c, PGresult *r, const char *sql)
{
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
	    PQerrorMessage(c));
	int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

int64_t store_raw_int(const char *sql)
{
	PGconn *c = raw_connect(case_db);
	int64_t v = one_int(c, PQexec(c, sql), sql);
	PQfinish(c);
	return v;
}

size_t store_raw_tables(char names[][64], size_t max)
{
	const char *sql = "SELECT table_name FROM information_schema.tables "
	    "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' "
	    "AND table_name <> 'schema_version' ORDER BY table_name COLLATE \"C\"";
	PGconn *c = raw_connect(case_db);
	PGresult *r = PQexec(c, sql);
	size_t n = 0;

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
	for (int i = 0; i < PQntuples(r) && n < max; i++)
		snprintf(names[n++], 64, "%s", PQgetvalue(r, i, 0));
	PQclear(r);
	PQfinish(c);
	return n;
}

int64_t store_raw_count_owned(const char *table, const char *domain, const char *localpart)
{
	PGconn *c = raw_connect(case_db);
	char *ident = PQescapeIdentifier(c, table, strlen(table));
	char sql[256];
	const char *params[2] = { domain, localpart };

	ck_assert_ptr_nonnull(ident);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE domain = $1 AND localpart = $2",
	    ident);
	PQfreemem(ident);
	int64_t v = one_int(c, PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 0), sql);
	PQfinish(c);
	return v;
}

int64_t store_raw_schema_objects(void)
{
	return store_raw_int("SELECT count(*) FROM pg_catalog.pg_class c "
	    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	    "WHERE n.nspname = current_schema()");
}

/* A trigger function raising `message` when `condition` holds, and the
 * trigger running it before each row's `event` on `table`. */
static void refuse(const char *event, const char *table, const char *condition,
    const char *message)
{
	PGconn *c = raw_connect(case_db);
	char *tab = PQescapeIdentifier(c, table, strlen(table));
	char *msg = PQescapeLiteral(c, message, strlen(message));
	char fn[96], sql[1024];

	ck_assert(tab != NULL && msg != NULL);
	snprintf(fn, sizeof(fn), "refuse_%s_%s", event, table);
	snprintf(sql, sizeof(sql), "CREATE FUNCTION \"%s\"() RETURNS trigger LANGUAGE plpgsql AS "
	    "$fn$ BEGIN IF %s THEN RAISE EXCEPTION '%%', %s; END IF; "
	    "RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END; END $fn$; "
	    "CREATE TRIGGER \"%s\" BEFORE %s ON %s FOR EACH ROW EXECUTE FUNCTION \"%s\"()",
	    fn, condition, msg, fn, event, tab, fn);
	raw_exec_on(c, sql);
	PQfreemem(tab);
	PQfreemem(msg);
	PQfinish(c);
}

void store_refuse_insert(const char *table, const char *column, const char *value,
    const char *message)
{
	PGconn *c = raw_connect(case_db);
	char *col = PQescapeIdentifier(c, column, strlen(column));
	char *val = PQescapeLiteral(c, value, strlen(value));
	char condition[256];

	ck_assert(col != NULL && val != NULL);
	snprintf(condition, sizeof(condition), "NEW.%s = %s", col, val);
	PQfreemem(col);
	PQfreemem(val);
	PQfinish(c);
	refuse("INSERT", table, condition, message);
}

void store_refuse_delete(const char *table, const char *message)
{
	refuse("DELETE", table, "true", message);
}

/* The version-1 schema as the driver's first release wrote it (section 1
 * of storage/schema/pgsql.sql), by hand, so that the migration case keeps
 * testing the step from 1 whatever comes later. */
static const char v1_ddl[] =
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"INSERT INTO schema_version VALUES (1);"
	"CREATE TABLE users ("
	"  domain TEXT COLLATE \"C\" NOT NULL,"
	"  localpart TEXT COLLATE \"C\" NOT NULL,"
	"  scram_sha1 TEXT NOT NULL,"
	"  scram_sha256 TEXT NOT NULL,"
	"  created BIGINT NOT NULL DEFAULT (extract(epoch FROM now())::bigint),"
	"  PRIMARY KEY (domain, localpart)"
	");";

void store_make_v1(const char *domain, const char *localpart, const char *sha1,
    const char *sha256)
{
	const char *params[4] = { domain, localpart, sha1, sha256 };
	PGconn *c = raw_connect(case_db);

	raw_exec_on(c, v1_ddl);
	PGresult *r = PQexecParams(c, "INSERT INTO users (domain, localpart, scram_sha1, "
	    "scram_sha256) VALUES ($1, $2, $3, $4)", 4, NULL, params, NULL, NULL, 0);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}
