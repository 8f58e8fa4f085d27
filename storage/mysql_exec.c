/*
 * mysql_exec.c — the MySQL/MariaDB driver's plumbing, shared by its
 * concept files: preparing a statement on first use per connection,
 * binding values, running it, reading every row of a result into memory,
 * and transactions. Holds no SQL of its own but transaction control.
 *
 * Values travel through the binary protocol as bound parameters and come
 * back as bytes with their lengths, so nothing is quoted or escaped
 * anywhere and text comes back byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include "mysql_db.h"

/* No statement of the driver takes more. */
#define MAX_PARAMS 8
/* A cell's first buffer; longer values are fetched again at their size. */
#define CELL_BUF 256

/* The statement `id` on this connection, prepared now if it is not yet. */
static MYSQL_STMT *stmt_get(struct msql_db *d, enum mst_id id, const char *what, char *err,
    size_t errlen)
{
	const char *sql = msql_stmt_sql[id];
	MYSQL_STMT *st = d->stmt[id];

	if (st != NULL)
		return st;
	st = mysql_stmt_init(d->conn);
	if (st == NULL) {
		msql_db_fail(d, NULL, what, err, errlen);
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		msql_db_fail(d, st, what, err, errlen);
		mysql_stmt_close(st);
		return NULL;
	}
	d->stmt[id] = st;
	return st;
}

/* Prepare (if need be), bind and execute. */
static MYSQL_STMT *run(struct msql_db *d, enum mst_id id, const struct msql_param *p,
    size_t np, const char *what, char *err, size_t errlen)
{
	MYSQL_BIND bind[MAX_PARAMS];
	unsigned long len[MAX_PARAMS];
	long long num[MAX_PARAMS];
	MYSQL_STMT *st = stmt_get(d, id, what, err, errlen);

	if (st == NULL)
		return NULL;
	if (np > MAX_PARAMS || mysql_stmt_param_count(st) != np) {
		errf(err, errlen, "%s: statement %d takes %lu values, not %zu", what, (int)id,
		    mysql_stmt_param_count(st), np);
		return NULL;
	}
	memset(bind, 0, sizeof(bind));
	for (size_t i = 0; i < np; i++) {
		if (p[i].is_num) {
			num[i] = p[i].num;
			bind[i].buffer_type = MYSQL_TYPE_LONGLONG;
			bind[i].buffer = &num[i];
		} else if (p[i].text == NULL) {
			bind[i].buffer_type = MYSQL_TYPE_NULL;
		} else {
			len[i] = strlen(p[i].text);
			bind[i].buffer_type = MYSQL_TYPE_STRING;
			bind[i].buffer = (void *)p[i].text;
			bind[i].buffer_length = len[i];
			bind[i].length = &len[i];
		}
	}
	if ((np > 0 && mysql_stmt_bind_param(st, bind) != 0) || mysql_stmt_execute(st) != 0) {
		msql_db_fail(d, st, what, err, errlen);
		return NULL;
	}
	return st;
}

int64_t msql_db_exec(struct msql_db *d, enum mst_id id, const struct msql_param *p,
    size_t np, unsigned *code, const char *what, char *err, size_t errlen)
{
	MYSQL_STMT *st = run(d, id, p, np, what, err, errlen);

	if (code != NULL)
		*code = 0;
	if (st == NULL) {
		if (code != NULL && d->stmt[id] != NULL)
			*code = mysql_stmt_errno(d->stmt[id]);
		return -1;
	}
	unsigned long long n = mysql_stmt_affected_rows(st);
	return n == (unsigned long long)-1 ? 0 : (int64_t)n;
}

/* --- rows ------------------------------------------------------------------- */

static char **cell_at(struct msql_rows *r, size_t row, size_t col)
{
	return &r->cell[row * r->ncols + col];
}

/* The current row's column `col`, whose full length is `len`, fetched
 * again into a buffer of its size. */
static char *fetch_long(MYSQL_STMT *st, unsigned col, unsigned long len)
{
	MYSQL_BIND b;
	unsigned long got = 0;
	char *text = xmalloc((size_t)len + 1);

	memset(&b, 0, sizeof(b));
	b.buffer_type = MYSQL_TYPE_STRING;
	b.buffer = text;
	b.buffer_length = len + 1;
	b.length = &got;
	if (mysql_stmt_fetch_column(st, &b, col, 0) != 0) {
		free(text);
		return NULL;
	}
	text[got < len ? got : len] = '\0';
	return text;
}

/* Read every row of the executed statement `st` into out. */
static int read_rows(struct msql_db *d, MYSQL_STMT *st, struct msql_rows *out,
    const char *what, char *err, size_t errlen)
{
	unsigned ncols = mysql_stmt_field_count(st);
	MYSQL_BIND *bind = NULL;
	char *buf = NULL;
	unsigned long *len = NULL;
	msql_flag *is_null = NULL;
	size_t cap = 0;
	int rc, result = 0;

	if (mysql_stmt_store_result(st) != 0)
		return msql_db_fail(d, st, what, err, errlen);
	out->ncols = ncols;
	if (ncols == 0)
		goto done;
	bind = xcalloc(ncols, sizeof(*bind));
	buf = xmalloc((size_t)ncols * (CELL_BUF + 1));
	len = xcalloc(ncols, sizeof(*len));
	is_null = xcalloc(ncols, sizeof(*is_null));
	for (unsigned c = 0; c < ncols; c++) {
		/* Everything as text: integers come back in decimal. */
		bind[c].buffer_type = MYSQL_TYPE_STRING;
		bind[c].buffer = buf + (size_t)c * (CELL_BUF + 1);
		bind[c].buffer_length = CELL_BUF;
		bind[c].length = &len[c];
		bind[c].is_null = &is_null[c];
	}
	if (mysql_stmt_bind_result(st, bind) != 0) {
		result = msql_db_fail(d, st, what, err, errlen);
		goto done;
	}
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		if (out->n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			out->cell = xreallocarray(out->cell, cap * ncols, sizeof(*out->cell));
		}
		size_t row = out->n++;
		for (unsigned c = 0; c < ncols; c++) {
			char **cell = cell_at(out, row, c);
			if (is_null[c]) {
				*cell = NULL;
			} else if (len[c] > CELL_BUF) {
				*cell = fetch_long(st, c, len[c]);
				if (*cell == NULL) {
					out->n = row + 1;
					for (unsigned k = c + 1; k < ncols; k++)
						*cell_at(out, row, k) = NULL;
					result = msql_db_fail(d, st, what, err, errlen);
					goto done;
				}
			} else {
				*cell = xmalloc(len[c] + 1);
				memcpy(*cell, bind[c].buffer, len[c]);
				(*cell)[len[c]] = '\0';
			}
		}
	}
	if (rc != MYSQL_NO_DATA)
		result = msql_db_fail(d, st, what, err, errlen);
done:
	mysql_stmt_free_result(st);
	free(bind);
	free(buf);
	free(len);
	free(is_null);
	if (result < 0)
		msql_rows_free(out);
	return result;
}

int msql_db_query(struct msql_db *d, enum mst_id id, const struct msql_param *p, size_t np,
    struct msql_rows *out, const char *what, char *err, size_t errlen)
{
	MYSQL_STMT *st;

	memset(out, 0, sizeof(*out));
	st = run(d, id, p, np, what, err, errlen);
	if (st == NULL)
		return -1;
	return read_rows(d, st, out, what, err, errlen);
}

const char *msql_rows_text(const struct msql_rows *r, size_t row, size_t col)
{
	return r->cell[row * r->ncols + col];
}

int64_t msql_rows_int(const struct msql_rows *r, size_t row, size_t col)
{
	const char *text = msql_rows_text(r, row, col);

	return text != NULL ? strtoll(text, NULL, 10) : 0;
}

char *msql_rows_take(struct msql_rows *r, size_t row, size_t col)
{
	char **cell = cell_at(r, row, col);
	char *text = *cell;

	*cell = NULL;
	return text;
}

void msql_rows_free(struct msql_rows *r)
{
	for (size_t i = 0; i < r->n * r->ncols; i++)
		free(r->cell[i]);
	free(r->cell);
	memset(r, 0, sizeof(*r));
}

/* --- transactions ------------------------------------------------------------ */

int msql_db_command(struct msql_db *d, const char *sql, const char *what, char *err,
    size_t errlen)
{
	if (mysql_real_query(d->conn, sql, strlen(sql)) != 0)
		return msql_db_fail(d, NULL, what, err, errlen);
	/* Commands return no rows; drain one if a statement did. */
	MYSQL_RES *res = mysql_store_result(d->conn);
	if (res != NULL)
		mysql_free_result(res);
	else if (mysql_errno(d->conn) != 0)
		return msql_db_fail(d, NULL, what, err, errlen);
	return 0;
}

int msql_db_begin(struct msql_db *d, const char *what, char *err, size_t errlen)
{
	return msql_db_command(d, "START TRANSACTION", what, err, errlen);
}

int msql_db_snapshot(struct msql_db *d, const char *what, char *err, size_t errlen)
{
	return msql_db_command(d, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", what,
	    err, errlen);
}

int msql_db_commit(struct msql_db *d, const char *what, char *err, size_t errlen)
{
	if (mysql_commit(d->conn) != 0) {
		msql_db_fail(d, NULL, what, err, errlen);
		msql_db_rollback(d);
		return -1;
	}
	return 0;
}

void msql_db_rollback(struct msql_db *d)
{
	/* On a lost connection there is nothing to end: the server rolled
	 * the transaction back when the connection went. */
	if (d->conn != NULL && !d->lost)
		(void)mysql_rollback(d->conn);
}
