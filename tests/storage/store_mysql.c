/*
 * store_mysql.c — the storage test suite's driver choice: MySQL/MariaDB.
 * One private MariaDB server per test program's run, started before main
 * (Check forks every case from that process) by
 * tests/integration/lib/dbserver.py in a temporary directory and stopped
 * at exit by the process that started it; or, with PARLEY_TEST_MYSQL_PORT
 * set, a server already running on 127.0.0.1 at that port, which this
 * file never stops (the driver logs in as parley/parley-test; the cases'
 * databases are made as root, over PARLEY_TEST_MYSQL_SOCKET when set,
 * else over TCP without a password). Each case gets a database of its
 * own, created empty by store_setup and dropped by store_teardown. The
 * raw hooks of store.h run on a root connection of their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>

#include "store.h"
#include "unit.h"

#define HOST "127.0.0.1"
#define USER "parley"
#define PASSWORD "parley-test"
/* The hold of store_open: long enough for nothing, short enough that a
 * case that breaks the server fails quickly. */
#define DEFAULT_HOLD_MS 2000

static unsigned port;
static char root_socket[256];   /* "" : root over TCP */
static char server_dir[64];     /* "" : a server we did not start */
static pid_t server_owner;
static char server_error[512];
static char case_db[64];

/* --- the server ------------------------------------------------------------------- */

/* Run dbserver.py `cmd` on our directory; for "start", parse its line
 * "port P socket S pid N" into *started_port and root_socket. */
static bool dbserver(const char *cmd, unsigned *started_port)
{
	char line[512], sock[256];
	unsigned p = 0;
	bool ok;

	snprintf(line, sizeof(line), "/usr/bin/python3 '%s/tests/integration/lib/dbserver.py' "
	    "%s mysql '%s'", unit_srcdir(), cmd, server_dir);
	FILE *f = popen(line, "r");
	if (f == NULL)
		return false;
	ok = fgets(line, sizeof(line), f) != NULL || started_port == NULL;
	if (started_port != NULL && ok) {
		ok = sscanf(line, "port %u socket %255s", &p, sock) == 2 && p > 0;
		if (ok)
			snprintf(root_socket, sizeof(root_socket), "%s", sock);
	}
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
		fprintf(stderr, "store_mysql: cannot remove %s\n", server_dir);
}

/* Every process (the cases' children too) hands the client library's
 * memory back at exit, for LeakSanitizer. */
static void library_down(void)
{
	mysql_library_end();
}

__attribute__((constructor))
static void server_up(void)
{
	const char *env = getenv("PARLEY_TEST_MYSQL_PORT");

	atexit(library_down);
	if (env != NULL && *env != '\0') {
		const char *sock = getenv("PARLEY_TEST_MYSQL_SOCKET");
		port = (unsigned)atoi(env);
		snprintf(root_socket, sizeof(root_socket), "%s", sock != NULL ? sock : "");
		return;
	}
	snprintf(server_dir, sizeof(server_dir), "/tmp/parley-mysql-XXXXXX");
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
		    "MariaDB in %s (see its mariadb.log)", server_dir);
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

/* --- a root connection ----------------------------------------------------------- */

static MYSQL *raw_connect(const char *db)
{
	MYSQL *m = mysql_init(NULL);
	unsigned proto = root_socket[0] != '\0' ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;

	ck_assert_msg(server_error[0] == '\0', "%s", server_error);
	ck_assert_ptr_nonnull(m);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
	ck_assert_msg(mysql_real_connect(m, root_socket[0] != '\0' ? NULL : HOST, "root", NULL,
	    db, port, root_socket[0] != '\0' ? root_socket : NULL, CLIENT_MULTI_STATEMENTS) != NULL,
	    "connecting as root to %s: %s", db != NULL ? db : "the server", mysql_error(m));
	return m;
}

/* Run constant SQL (one statement or several) that returns no rows. */
static void raw_exec_on(MYSQL *m, const char *sql)
{
	ck_assert_msg(mysql_real_query(m, sql, strlen(sql)) == 0, "%s: %s", sql, mysql_error(m));
	do {
		MYSQL_RES *res = mysql_store_result(m);
		if (res != NULL)
			mysql_free_result(res);
		ck_assert_msg(mysql_errno(m) == 0, "%s: %s", sql, mysql_error(m));
	} while (mysql_next_result(m) == 0);
	ck_assert_msg(mysql_errno(m) == 0, "%s: %s", sql, mysql_error(m));
}

/* --- the case's database ------------------------------------------------------ */

void store_setup(void)
{
	static unsigned cases;
	char sql[512];

	/* Check runs each case in a child of its own: the pid names it. */
	snprintf(case_db, sizeof(case_db), "parley_case_%ld_%u", (long)getpid(), cases++);
	MYSQL *m = raw_connect(NULL);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`; "
	    "CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; "
	    "GRANT ALL ON `%s`.* TO '" USER "'@'127.0.0.1'; "
	    "GRANT ALL ON `%s`.* TO '" USER "'@'localhost'", case_db, case_db, case_db, case_db);
	raw_exec_on(m, sql);
	mysql_close(m);
}

void store_teardown(void)
{
	char sql[160];

	MYSQL *m = raw_connect(NULL);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`", case_db);
	raw_exec_on(m, sql);
	mysql_close(m);
}

static int try_open_hold(struct storage **s, unsigned hold_ms, char *err, size_t errlen)
{
	struct conf *c = NULL;
	struct conf_errors errs = CONF_ERRORS_INIT;
	char text[512];

	/* Through the configuration, as the daemons open it: storage.sql.
	 * The test server has no certificate: "prefer" falls back to the
	 * clear, as it would in production. */
	snprintf(text, sizeof(text), "hosts = [ \"example.org\" ];\n"
	    "storage = { driver = \"mysql\"; sql = { host = \"%s\"; port = %u; database = \"%s\";"
	    " user = \"%s\"; password = \"%s\"; tls = \"prefer\"; connect_timeout = \"2s\";"
	    " hold = \"%ums\"; }; };\n", HOST, port, case_db, USER, PASSWORD, hold_ms);
	ck_assert_msg(server_error[0] == '\0', "%s", server_error);
	ck_assert_msg(conf_load_string(&c, text, "store_mysql.conf", &errs) == 0,
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
	return "mysql";
}

const char *store_sqlite_path(void)
{
	return NULL;
}

/* --- under the driver ---------------------------------------------------------- */

void store_raw_exec(const char *sql)
{
	MYSQL *m = raw_connect(case_db);
	raw_exec_on(m, sql);
	mysql_close(m);
}

static int64_t one_int(MYSQL *m, const char *sql)
{
	ck_assert_msg(mysql_real_query(m, sql, strlen(sql)) == 0, "%s: %s", sql, mysql_error(m));
	MYSQL_RES *res = mysql_store_result(m);
	ck_assert_msg(res != NULL && mysql_num_rows(res) == 1, "%s: %s", sql, mysql_error(m));
	MYSQL_ROW row = mysql_fetch_row(res);
	ck_assert_msg(row != NULL && row[0] != NULL, "%s: no value", sql);
	int64_t v = strtoll(row[0], NULL, 10);
	mysql_free_result(res);
	return v;
}

int64_t store_raw_int(const char *sql)
{
	MYSQL *m = raw_connect(case_db);
	int64_t v = one_int(m, sql);
	mysql_close(m);
	return v;
}

size_t store_raw_tables(char names[][64], size_t max)
{
	const char *sql = "SELECT TABLE_NAME FROM information_schema.TABLES "
	    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' "
	    "AND TABLE_NAME <> 'schema_version' ORDER BY BINARY TABLE_NAME";
	MYSQL *m = raw_connect(case_db);
	size_t n = 0;

	ck_assert_msg(mysql_real_query(m, sql, strlen(sql)) == 0, "%s: %s", sql, mysql_error(m));
	MYSQL_RES *res = mysql_store_result(m);
	ck_assert_msg(res != NULL, "%s: %s", sql, mysql_error(m));
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)) != NULL && n < max)
		snprintf(names[n++], 64, "%s", row[0]);
	mysql_free_result(res);
	mysql_close(m);
	return n;
}

/* Run `sql` with the texts values[0..n) bound to its `?`s; the integer of
 * its one row into *out when out is not NULL. */
static void raw_params(MYSQL *m, const char *sql, const char *const *values, size_t n,
    int64_t *out)
{
	MYSQL_STMT *st = mysql_stmt_init(m);
	MYSQL_BIND in[4], res[1];
	unsigned long len[4];
	long long v = -1;

	ck_assert(st != NULL && n <= 4);
	ck_assert_msg(mysql_stmt_prepare(st, sql, strlen(sql)) == 0, "%s: %s", sql,
	    mysql_stmt_error(st));
	memset(in, 0, sizeof(in));
	memset(res, 0, sizeof(res));
	for (size_t i = 0; i < n; i++) {
		len[i] = strlen(values[i]);
		in[i].buffer_type = MYSQL_TYPE_STRING;
		in[i].buffer = (void *)values[i];
		in[i].buffer_length = len[i];
		in[i].length = &len[i];
	}
	ck_assert_msg(mysql_stmt_bind_param(st, in) == 0 && mysql_stmt_execute(st) == 0, "%s: %s",
	    sql, mysql_stmt_error(st));
	if (out != NULL) {
		res[0].buffer_type = MYSQL_TYPE_LONGLONG;
		res[0].buffer = &v;
		ck_assert_msg(mysql_stmt_bind_result(st, res) == 0 && mysql_stmt_fetch(st) == 0,
		    "%s: %s", sql, mysql_stmt_error(st));
		*out = v;
	}
	mysql_stmt_close(st);
}

int64_t store_raw_count_owned(const char *table, const char *domain, const char *localpart)
{
	MYSQL *m = raw_connect(case_db);
	const char *owner[] = { domain, localpart };
	int64_t v = -1;
	char sql[256];

	/* The table's name comes from the schema itself (store_raw_tables). */
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM `%s` WHERE domain = ? AND localpart = ?",
	    table);
	raw_params(m, sql, owner, 2, &v);
	mysql_close(m);
	return v;
}

int64_t store_raw_schema_objects(void)
{
	return store_raw_int("SELECT (SELECT COUNT(*) FROM information_schema.TABLES "
	    "WHERE TABLE_SCHEMA = DATABASE()) + (SELECT COUNT(*) FROM (SELECT DISTINCT "
	    "TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS "
	    "WHERE TABLE_SCHEMA = DATABASE()) AS i) + (SELECT COUNT(*) FROM "
	    "information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE())");
}

/* `text` as a quoted SQL string literal into out. */
static void literal(MYSQL *m, const char *text, char *out, size_t outlen)
{
	size_t n = strlen(text);

	ck_assert_uint_lt(2 * n + 3, outlen);
	out[0] = '\'';
	unsigned long k = mysql_real_escape_string(m, out + 1, text, (unsigned long)n);
	out[1 + k] = '\'';
	out[2 + k] = '\0';
}

/* A trigger raising `message` before each row's `event` on `table` when
 * `condition` holds. */
static void refuse(MYSQL *m, const char *event, const char *table, const char *condition,
    const char *message)
{
	char msg[256], sql[1024];

	literal(m, message, msg, sizeof(msg));
	snprintf(sql, sizeof(sql), "CREATE TRIGGER `refuse_%s_%s` BEFORE %s ON `%s` FOR EACH ROW "
	    "BEGIN IF %s THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = %s; END IF; END",
	    event, table, event, table, condition, msg);
	raw_exec_on(m, sql);
}

void store_refuse_insert(const char *table, const char *column, const char *value,
    const char *message)
{
	MYSQL *m = raw_connect(case_db);
	char val[256], condition[384];

	literal(m, value, val, sizeof(val));
	snprintf(condition, sizeof(condition), "NEW.`%s` = %s", column, val);
	refuse(m, "INSERT", table, condition, message);
	mysql_close(m);
}

void store_refuse_delete(const char *table, const char *message)
{
	MYSQL *m = raw_connect(case_db);
	refuse(m, "DELETE", table, "TRUE", message);
	mysql_close(m);
}

/* The version-1 schema as the driver's first release wrote it (section 1
 * of storage/schema/mysql.sql), by hand, so that the migration case keeps
 * testing the step from 1 whatever comes later. */
static const char v1_ddl[] =
	"CREATE TABLE schema_version ("
	"  id TINYINT NOT NULL DEFAULT 1,"
	"  version INT NOT NULL,"
	"  PRIMARY KEY (id)"
	") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;"
	"CREATE TABLE users ("
	"  domain VARBINARY(255) NOT NULL,"
	"  localpart VARBINARY(1023) NOT NULL,"
	"  scram_sha1 VARCHAR(255) NOT NULL,"
	"  scram_sha256 VARCHAR(255) NOT NULL,"
	"  created BIGINT NOT NULL DEFAULT (UNIX_TIMESTAMP()),"
	"  PRIMARY KEY (domain, localpart)"
	") ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;"
	"REPLACE INTO schema_version (id, version) VALUES (1, 1);";

void store_make_v1(const char *domain, const char *localpart, const char *sha1,
    const char *sha256)
{
	MYSQL *m = raw_connect(case_db);
	const char *user[] = { domain, localpart, sha1, sha256 };

	raw_exec_on(m, v1_ddl);
	raw_params(m, "INSERT INTO users (domain, localpart, scram_sha1, scram_sha256) "
	    "VALUES (?, ?, ?, ?)", user, 4, NULL);
	mysql_close(m);
}
