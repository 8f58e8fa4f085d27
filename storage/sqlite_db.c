/*
 * sqlite_db.c — the SQLite driver's plumbing, shared by its concept files:
 * error text, transactions, binding the owner, stepping and copying
 * columns. Holds no SQL of its own but BEGIN/COMMIT/ROLLBACK.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_db.h"

int sqlite_db_error(struct sqlite_db *d, const char *what, char *err, size_t errlen)
{
	return errf(err, errlen, "%s: %s", what, sqlite3_errmsg(d->db));
}

int sqlite_db_exec(struct sqlite_db *d, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(d->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		errf(err, errlen, "%s", msg != NULL ? msg : sqlite3_errmsg(d->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int begin(struct sqlite_db *d, const char *sql, const char *what, char *err,
    size_t errlen)
{
	char why[ERRLEN];

	if (sqlite_db_exec(d, sql, why, sizeof(why)) < 0)
		return errf(err, errlen, "%s: cannot begin a transaction: %s", what, why);
	return 0;
}

int sqlite_db_write(struct sqlite_db *d, const char *what, char *err, size_t errlen)
{
	return begin(d, "BEGIN IMMEDIATE", what, err, errlen);
}

int sqlite_db_read(struct sqlite_db *d, const char *what, char *err, size_t errlen)
{
	return begin(d, "BEGIN", what, err, errlen);
}

int sqlite_db_commit(struct sqlite_db *d, const char *what, char *err, size_t errlen)
{
	char why[ERRLEN];

	if (sqlite_db_exec(d, "COMMIT", why, sizeof(why)) < 0) {
		sqlite_db_rollback(d);
		return errf(err, errlen, "%s: %s", what, why);
	}
	return 0;
}

void sqlite_db_rollback(struct sqlite_db *d)
{
	/* After some errors SQLite has rolled back already; then there is
	 * no transaction left to end, and that is fine. */
	if (!sqlite3_get_autocommit(d->db))
		(void)sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

sqlite3_stmt *sqlite_db_owner(struct sqlite_db *d, enum stmt_id id, const char *domain,
    const char *localpart)
{
	sqlite3_stmt *st = d->stmt[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, localpart, -1, SQLITE_STATIC);
	return st;
}

void sqlite_db_text(sqlite3_stmt *st, int i, const char *text)
{
	if (text == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

int sqlite_db_done(struct sqlite_db *d, sqlite3_stmt *st, const char *what, char *err,
    size_t errlen)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE) {
		/* The message before reset, which may replace it. */
		sqlite_db_error(d, what, err, errlen);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return sqlite3_changes(d->db);
}

char *sqlite_db_column_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *text = sqlite3_column_text(st, i);

	if (text == NULL)
		return NULL;
	return xstrndup((const char *)text, (size_t)sqlite3_column_bytes(st, i));
}

void sqlite_db_finish(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int sqlite_db_rows(struct sqlite_db *d, sqlite3_stmt *st, bool with_id, int ntext,
    struct sqlite_rows *out, const char *what, char *err, size_t errlen)
{
	size_t cap = 0;
	int rc;

	out->v = NULL;
	out->n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			out->v = xreallocarray(out->v, cap, sizeof(*out->v));
		}
		struct sqlite_row *row = &out->v[out->n++];
		int col = 0;
		row->id = with_id ? sqlite3_column_int64(st, col++) : 0;
		for (int i = 0; i < 2; i++) {
			row->text[i] = NULL;
			if (i < ntext) {
				row->text[i] = sqlite_db_column_dup(st, col++);
				if (row->text[i] == NULL)
					row->text[i] = xstrdup("");
			}
		}
	}
	if (rc != SQLITE_DONE) {
		sqlite_db_error(d, what, err, errlen);
		sqlite_db_finish(st);
		sqlite_db_rows_free(out);
		return -1;
	}
	sqlite_db_finish(st);
	return 0;
}

void sqlite_db_rows_free(struct sqlite_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++) {
		free(rows->v[i].text[0]);
		free(rows->v[i].text[1]);
	}
	free(rows->v);
	rows->v = NULL;
	rows->n = 0;
}
