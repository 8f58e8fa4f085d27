/*
 * sql_server.c — reads a storage.sql / auth.sql group into struct
 * sql_server (sql_server.h), the password file included.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_server.h"
#include "util.h"

static const char *const tls_names[] = { "disable", "prefer", "require", "verify-ca",
	"verify-full" };

static char *key(char *buf, size_t len, const char *group, const char *name)
{
	snprintf(buf, len, "%s.%s", group, name);
	return buf;
}

/* The first line of `path`, without its newline. */
static int read_password_file(const char *path, char **out, char *why, size_t whylen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		return errf(why, whylen, "cannot open %s: %s", path, strerror(errno));
	n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		return errf(why, whylen, "%s is empty", path);
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	*out = line;
	return 0;
}

int sql_server_from_conf(struct sql_server *out, const struct conf *c, const char *group,
    char *err, size_t errlen)
{
	char k[128], why[ERRLEN];
	const char *tls, *pwfile;

	memset(out, 0, sizeof(*out));
	out->host = xstrdup(conf_str(c, key(k, sizeof(k), group, "host")));
	out->port = (unsigned)conf_int(c, key(k, sizeof(k), group, "port"));
	out->socket = xstrdup(conf_str(c, key(k, sizeof(k), group, "socket")));
	out->database = xstrdup(conf_str(c, key(k, sizeof(k), group, "database")));
	out->user = xstrdup(conf_str(c, key(k, sizeof(k), group, "user")));
	out->tls_ca = xstrdup(conf_str(c, key(k, sizeof(k), group, "tls_ca")));
	out->connect_timeout_ms = (unsigned)conf_duration_ms(c,
	    key(k, sizeof(k), group, "connect_timeout"));
	tls = conf_str(c, key(k, sizeof(k), group, "tls"));
	for (size_t i = 0; i < ARRAY_LEN(tls_names); i++)
		if (strcmp(tls, tls_names[i]) == 0)
			out->tls = (enum sql_tls)i;
	if (strcmp(group, "storage.sql") == 0)
		out->hold_ms = (unsigned)conf_duration_ms(c, "storage.sql.hold");
	pwfile = conf_str(c, key(k, sizeof(k), group, "password_file"));
	if (*pwfile != '\0') {
		if (read_password_file(pwfile, &out->password, why, sizeof(why)) < 0) {
			int rc = errf(err, errlen, "%s: %s: %s", conf_where(c, k), k, why);
			sql_server_clear(out);
			return rc;
		}
	} else {
		out->password = xstrdup(conf_str(c, key(k, sizeof(k), group, "password")));
	}
	return 0;
}

void sql_server_clear(struct sql_server *s)
{
	if (s->password != NULL) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s->host);
	free(s->socket);
	free(s->database);
	free(s->user);
	free(s->tls_ca);
	memset(s, 0, sizeof(*s));
}

const char *sql_server_describe(const struct sql_server *s, char *buf, size_t len)
{
	if (*s->host != '\0')
		snprintf(buf, len, "%s:%u", s->host, s->port);
	else if (*s->socket != '\0')
		snprintf(buf, len, "socket %s", s->socket);
	else
		snprintf(buf, len, "the default socket");
	return buf;
}
