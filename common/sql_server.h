/*
 * sql_server.h — how to reach a MySQL/MariaDB or PostgreSQL server, as the
 * configuration says it (the groups storage.sql and auth.sql share the same
 * keys, conf_schema.c SQL_SERVER). Read once, before the sandbox, because
 * the password may live in a file the sandbox will not let us open again.
 *
 * The MySQL and PostgreSQL storage drivers (storage/mysql*.c,
 * storage/pgsql*.c) and auth's sql backend each turn it into their client
 * library's connection options.
 */
#ifndef PARLEY_SQL_SERVER_H
#define PARLEY_SQL_SERVER_H

#include <stddef.h>

#include "conf.h"

enum sql_tls {
	SQL_TLS_DISABLE,
	SQL_TLS_PREFER,
	SQL_TLS_REQUIRE,
	SQL_TLS_VERIFY_CA,
	SQL_TLS_VERIFY_FULL,
};

struct sql_server {
	char *host;             /* "" : the local Unix socket */
	unsigned port;          /* 0: the driver's default */
	char *socket;           /* "" : the client library's default */
	char *database;
	char *user;
	char *password;         /* from password_file if set; wiped by _clear */
	enum sql_tls tls;
	char *tls_ca;           /* "" : the system's store */
	unsigned connect_timeout_ms;
	/* storage.sql.hold; 0 for groups without it (auth.sql). */
	unsigned hold_ms;
};

/* Read the group `group` ("storage.sql", "auth.sql"). A password file that
 * cannot be read is an error naming the file, line and setting. */
int sql_server_from_conf(struct sql_server *out, const struct conf *c, const char *group,
    char *err, size_t errlen);
/* Free what it owns, wiping the password. */
void sql_server_clear(struct sql_server *s);
/* "host:port", "socket PATH" or "the default socket", for messages. */
const char *sql_server_describe(const struct sql_server *s, char *buf, size_t len);

#endif
