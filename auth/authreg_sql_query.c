/*
 * authreg_sql_query.c — the operator's queries (auth.sql.query_*) turned
 * into the driver's syntax: %u, %d and %p become bound parameters ('?' for
 * MySQL prepared statements, $1, $2… for libpq), %% a single '%'. User data
 * only ever travels as a parameter value, never inside the text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authreg_sql.h"
#include "buf.h"
#include "util.h"

static const char *param_name(enum sql_param p)
{
	switch (p) {
	case SQL_PARAM_USER: return "%u (the localpart)";
	case SQL_PARAM_DOMAIN: return "%d (the domain)";
	case SQL_PARAM_PASSWORD: return "%p (the new password)";
	}
	return "?";
}

int sql_query_translate(const char *in, enum sql_kind kind, unsigned allowed,
    struct sql_query *out, char *err, size_t errlen)
{
	struct buf b;
	enum sql_param p;

	memset(out, 0, sizeof(*out));
	buf_init(&b);
	for (const char *s = in; *s != '\0'; s++) {
		if (*s != '%') {
			buf_append(&b, s, 1);
			continue;
		}
		switch (s[1]) {
		case '%':
			buf_append(&b, "%", 1);
			s++;
			continue;
		case 'u': p = SQL_PARAM_USER; break;
		case 'd': p = SQL_PARAM_DOMAIN; break;
		case 'p': p = SQL_PARAM_PASSWORD; break;
		case '\0':
			buf_free(&b);
			return errf(err, errlen, "a lone %% at the end (write %%%% for a %% sign)");
		default:
			buf_free(&b);
			return errf(err, errlen, "unknown placeholder %%%c (known: %%u, %%d, %%p, %%%%)",
			    s[1]);
		}
		s++;
		if (!(allowed & SQL_PARAM_BIT(p))) {
			buf_free(&b);
			return errf(err, errlen, "%s has no meaning in this query", param_name(p));
		}
		if (out->nparams == SQL_QUERY_MAX_PARAMS) {
			buf_free(&b);
			return errf(err, errlen, "more than %d placeholders", SQL_QUERY_MAX_PARAMS);
		}
		out->params[out->nparams++] = p;
		if (kind == SQL_KIND_MYSQL) {
			buf_append(&b, "?", 1);
		} else {
			char num[16];
			int n = snprintf(num, sizeof(num), "$%zu", out->nparams);
			buf_append(&b, num, (size_t)n);
		}
	}
	buf_append(&b, "", 1);
	out->text = xstrdup(buf_head(&b));
	buf_free(&b);
	if (strspn(out->text, " \t\r\n") == strlen(out->text)) {
		sql_query_clear(out);
		return errf(err, errlen, "the query is empty");
	}
	return 0;
}

void sql_query_clear(struct sql_query *q)
{
	free(q->text);
	memset(q, 0, sizeof(*q));
}

void sql_rows_clear(struct sql_rows *rows)
{
	for (size_t i = 0; i < rows->kept; i++) {
		if (rows->first[i] != NULL) {
			explicit_bzero(rows->first[i], strlen(rows->first[i]));
			free(rows->first[i]);
		}
	}
	free(rows->first);
	memset(rows, 0, sizeof(*rows));
}
