/*
 * pgsql_schema.c — the PostgreSQL driver's migrations. The schema is
 * storage/schema/pgsql.sql, compiled in (pgsql_schema_sql.c is generated
 * from it by mk/storage_pgsql.am): sections headed "-- @version N", each
 * taking the schema from N - 1 to N and recording N itself. At open the
 * driver runs the sections the database lacks, all in one transaction
 * under an advisory lock, so two processes starting together migrate
 * once and a failed migration leaves the database as it was.
 *
 * Never edit a section that has shipped: add one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgsql_db.h"

#define MARK "-- @version "

/* Held by the migrating transaction: "parley" in ASCII. */
#define MIGRATION_LOCK "SELECT pg_advisory_xact_lock(112568778352761)"

/* The section for version `v`: its text (from after its marker line to
 * the next marker or the end) in [*start, *end), or false. */
static bool section(int v, const char **start, const char **end)
{
	const char *line = pgsql_schema_sql;

	*start = NULL;
	while (*line != '\0') {
		const char *next = strchr(line, '\n');
		next = next != NULL ? next + 1 : line + strlen(line);
		if (strncmp(line, MARK, strlen(MARK)) == 0) {
			if (*start != NULL)
				break;
			if (atoi(line + strlen(MARK)) == v)
				*start = next;
		}
		line = next;
	}
	*end = line;
	return *start != NULL;
}

int pgsql_schema_latest(void)
{
	const char *s, *e;
	int v = 0;

	while (section(v + 1, &s, &e))
		v++;
	return v;
}

/* One integer a constant query returns (0 for no row): 0 or -1. */
static int query_int(struct pgsql_db *d, const char *sql, int64_t *out, const char *what,
    char *err, size_t errlen)
{
	PGresult *r = pgsql_query(d, sql, what, err, errlen);

	*out = 0;
	if (r == NULL)
		return -1;
	if (PQntuples(r) > 0)
		*out = pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

static int read_version(struct pgsql_db *d, int64_t *version, char *err, size_t errlen)
{
	int64_t exists;

	if (query_int(d, "SELECT count(*) FROM pg_catalog.pg_class "
	    "WHERE oid = to_regclass('schema_version')", &exists,
	    "looking for the schema version", err, errlen) < 0)
		return -1;
	if (exists == 0) {
		*version = 0;
		return 0;
	}
	return query_int(d, "SELECT max(version) FROM schema_version", version,
	    "reading the schema version", err, errlen);
}

int pgsql_migrate(struct pgsql_db *d, char *err, size_t errlen)
{
	char why[ERRLEN * 2];
	int latest = pgsql_schema_latest();
	int64_t version = 0;

	if (pgsql_command(d, "BEGIN", "migrating", why, sizeof(why)) < 0 ||
	    pgsql_command(d, MIGRATION_LOCK, "locking the schema", why, sizeof(why)) < 0 ||
	    read_version(d, &version, why, sizeof(why)) < 0)
		goto fail;
	if (version > latest) {
		snprintf(why, sizeof(why), "the database's schema version %lld is newer than this "
		    "program knows (%d): was it written by a later Parley?", (long long)version,
		    latest);
		goto fail;
	}
	for (int v = (int)version + 1; v <= latest; v++) {
		const char *s, *e;
		char w[ERRLEN], what[64];
		section(v, &s, &e);
		char *sql = xstrndup(s, (size_t)(e - s));
		snprintf(what, sizeof(what), "migration to schema version %d", v);
		int rc = pgsql_command(d, sql, what, w, sizeof(w));
		free(sql);
		if (rc < 0) {
			snprintf(why, sizeof(why), "%s", w);
			goto fail;
		}
	}
	/* Each section records its version; check that it did. */
	if (read_version(d, &version, why, sizeof(why)) < 0)
		goto fail;
	if (version != latest) {
		snprintf(why, sizeof(why), "after migrating, the schema version is %lld, not %d",
		    (long long)version, latest);
		goto fail;
	}
	if (pgsql_commit(d, "migrating", why, sizeof(why)) < 0)
		goto fail;
	d->version = latest;
	return 0;
fail:
	pgsql_rollback(d);
	return errf(err, errlen, "%s", why);
}
