/*
 * mysql_schema.c — the MySQL/MariaDB driver's schema and its forward
 * migrations. The schema is storage/schema/mysql.sql, compiled in (the
 * build writes it into mysql_schema_sql.c as msql_schema_text): its
 * "-- @version N" sections each take a database from version N - 1 to N
 * and end by recording N. At open the driver takes an advisory lock
 * (GET_LOCK, per database), reads the version, refuses a database newer
 * than the file, and runs the statements of the sections it lacks, one by
 * one: MySQL commits each CREATE TABLE on its own, so the file's
 * statements are written to be run again, and a migration cut short (a
 * lost server) is finished by the next attempt.
 *
 * Must not: run anything but the file's own text here (no values).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mysql_db.h"

/* mysql_schema_sql.c, generated from storage/schema/mysql.sql. */
extern const char msql_schema_text[];

#define VERSION_MARK "-- @version "
/* How long open waits for another process's migration. */
#define LOCK_WAIT_S 30

/* One statement of the text, and the section it belongs to. */
struct schema_stmt {
	int version;
	char *sql;
};

/* The statement after *pos into out (sql malloc'd), or false at the end.
 * Lines that are blank or comments are skipped; a statement ends with the
 * line that ends with ';' (dropped). */
static bool next_stmt(const char **pos, int *section, struct schema_stmt *out)
{
	const char *p = *pos;
	size_t cap = 0, n = 0;
	char *sql = NULL;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		const char *next = eol != NULL ? eol + 1 : p + len;
		const char *s = p;
		while (s < p + len && (*s == ' ' || *s == '\t'))
			s++;
		size_t slen = (size_t)(p + len - s);
		while (slen > 0 && strchr(" \t\r", s[slen - 1]) != NULL)
			slen--;
		p = next;
		if (slen >= strlen(VERSION_MARK) && strncmp(s, VERSION_MARK,
		    strlen(VERSION_MARK)) == 0) {
			*section = atoi(s + strlen(VERSION_MARK));
			continue;
		}
		if (slen == 0 || (slen >= 2 && s[0] == '-' && s[1] == '-'))
			continue;
		bool last = s[slen - 1] == ';';
		if (last)
			slen--;
		if (n + slen + 2 > cap) {
			cap = (n + slen + 2) * 2;
			sql = xrealloc(sql, cap);
		}
		memcpy(sql + n, s, slen);
		n += slen;
		sql[n++] = last ? '\0' : '\n';
		if (last) {
			*pos = p;
			out->version = *section;
			out->sql = sql;
			return true;
		}
	}
	*pos = p;
	free(sql);     /* a statement without its ';' is not run */
	return false;
}

/* The newest version the text knows. */
static int schema_latest(void)
{
	const char *pos = msql_schema_text;
	int section = 0, latest = 0;
	struct schema_stmt st;

	while (next_stmt(&pos, &section, &st)) {
		if (st.version > latest)
			latest = st.version;
		free(st.sql);
	}
	return latest;
}

/* One integer a query returns in its first row, or `none` without one. */
static int query_int(struct msql_db *d, enum mst_id id, const struct msql_param *p, size_t np,
    int64_t none, int64_t *out, const char *what, char *err, size_t errlen)
{
	struct msql_rows rows;

	if (msql_db_query(d, id, p, np, &rows, what, err, errlen) < 0)
		return -1;
	*out = none;
	if (rows.n > 0 && msql_rows_text(&rows, 0, 0) != NULL)
		*out = msql_rows_int(&rows, 0, 0);
	msql_rows_free(&rows);
	return 0;
}

static int read_version(struct msql_db *d, int *version, char *err, size_t errlen)
{
	struct msql_rows rows;
	bool have_table;
	int64_t v = 0;

	/* Asked of the catalogue first: a statement on a missing table would
	 * not even prepare. */
	if (msql_db_query(d, MST_SCHEMA_HAS_VERSION, NULL, 0, &rows, "reading the schema version",
	    err, errlen) < 0)
		return -1;
	have_table = rows.n > 0 && msql_rows_int(&rows, 0, 0) > 0;
	msql_rows_free(&rows);
	if (have_table && query_int(d, MST_SCHEMA_VERSION, NULL, 0, 0, &v,
	    "reading the schema version", err, errlen) < 0)
		return -1;
	*version = (int)v;
	return 0;
}

static void unlock(struct msql_db *d)
{
	struct msql_rows rows;
	char why[ERRLEN];

	if (d->lost)
		return;     /* the lock went with the connection */
	if (msql_db_query(d, MST_SCHEMA_UNLOCK, NULL, 0, &rows, "unlocking the schema", why,
	    sizeof(why)) == 0)
		msql_rows_free(&rows);
}

static int run_missing(struct msql_db *d, int version, char *err, size_t errlen)
{
	const char *pos = msql_schema_text;
	int section = 0;
	struct schema_stmt st;

	while (next_stmt(&pos, &section, &st)) {
		char what[64];
		int rc = 0;
		if (st.version > version) {
			snprintf(what, sizeof(what), "migration to schema version %d", st.version);
			rc = msql_db_command(d, st.sql, what, err, errlen);
		}
		free(st.sql);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int msql_schema_migrate(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	const struct msql_param wait[] = { MP_INT(LOCK_WAIT_S) };
	int latest = schema_latest(), version = 0;
	int64_t locked = 0;

	(void)arg;
	if (query_int(d, MST_SCHEMA_LOCK, wait, ARRAY_LEN(wait), -1, &locked,
	    "locking the schema", err, errlen) < 0)
		return STORAGE_ERROR;
	if (locked != 1)
		return errf(err, errlen, "another process kept the schema locked for %d s",
		    LOCK_WAIT_S);
	if (read_version(d, &version, err, errlen) < 0)
		goto fail;
	if (version > latest) {
		errf(err, errlen, "the database's schema version %d is newer than this program "
		    "knows (%d): was it written by a later Parley?", version, latest);
		goto fail;
	}
	if (version < latest && (run_missing(d, version, err, errlen) < 0 ||
	    read_version(d, &version, err, errlen) < 0))
		goto fail;
	if (version != latest) {
		errf(err, errlen, "the schema is at version %d after migrating to %d", version,
		    latest);
		goto fail;
	}
	unlock(d);
	d->version = version;
	return STORAGE_OK;
fail:
	unlock(d);
	return STORAGE_ERROR;
}
