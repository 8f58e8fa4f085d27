/*
 * test_sql_query.c — the sql backend's query placeholders: %u %d %p become
 * '?' for MySQL and $1, $2… for PostgreSQL in order of appearance, %% a
 * '%', and an unknown or misplaced placeholder is an error that says which.
 */
#include <string.h>

#include "authreg_sql.h"
#include "util.h"
#include "unit.h"

#define ALL (SQL_PARAM_BIT(SQL_PARAM_USER) | SQL_PARAM_BIT(SQL_PARAM_DOMAIN) | \
	SQL_PARAM_BIT(SQL_PARAM_PASSWORD))

START_TEST(test_placeholders_become_bound_parameters)
{
	struct sql_query q;
	char err[ERRLEN];
	const char *text = "UPDATE t SET pw = %p WHERE login = %u AND realm = %d AND note LIKE "
	    "'50%%' AND login <> %u";

	ck_assert_int_eq(sql_query_translate(text, SQL_KIND_MYSQL, ALL, &q, err, sizeof(err)), 0);
	ck_assert_str_eq(q.text, "UPDATE t SET pw = ? WHERE login = ? AND realm = ? AND note LIKE "
	    "'50%' AND login <> ?");
	ck_assert_uint_eq(q.nparams, 4);
	ck_assert_int_eq(q.params[0], SQL_PARAM_PASSWORD);
	ck_assert_int_eq(q.params[1], SQL_PARAM_USER);
	ck_assert_int_eq(q.params[2], SQL_PARAM_DOMAIN);
	ck_assert_int_eq(q.params[3], SQL_PARAM_USER);
	sql_query_clear(&q);

	ck_assert_int_eq(sql_query_translate(text, SQL_KIND_PGSQL, ALL, &q, err, sizeof(err)), 0);
	ck_assert_str_eq(q.text, "UPDATE t SET pw = $1 WHERE login = $2 AND realm = $3 AND note "
	    "LIKE '50%' AND login <> $4");
	ck_assert_uint_eq(q.nparams, 4);
	sql_query_clear(&q);
	ck_assert_ptr_null(q.text);
}
END_TEST

START_TEST(test_unknown_or_misplaced_placeholders_are_errors)
{
	struct sql_query q;
	char err[ERRLEN];
	unsigned ud = SQL_PARAM_BIT(SQL_PARAM_USER) | SQL_PARAM_BIT(SQL_PARAM_DOMAIN);

	ck_assert_int_eq(sql_query_translate("SELECT pw FROM t WHERE login = %x", SQL_KIND_MYSQL,
	    ud, &q, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "%x"));
	ck_assert_int_eq(sql_query_translate("SELECT pw FROM t WHERE login = '%s'",
	    SQL_KIND_PGSQL, ud, &q, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "%s"));
	ck_assert_int_eq(sql_query_translate("SELECT pw FROM t WHERE pw = %p", SQL_KIND_MYSQL, ud,
	    &q, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "%p"));
	ck_assert_int_eq(sql_query_translate("SELECT 100%", SQL_KIND_MYSQL, ud, &q, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(sql_query_translate("  ", SQL_KIND_MYSQL, ud, &q, err, sizeof(err)), -1);
	ck_assert_int_eq(sql_query_translate("SELECT %u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u%u",
	    SQL_KIND_MYSQL, ud, &q, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than"));
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("sql_query");
	TCase *tc = tcase_create("translate");

	tcase_add_test(tc, test_placeholders_become_bound_parameters);
	tcase_add_test(tc, test_unknown_or_misplaced_placeholders_are_errors);
	suite_add_tcase(s, tc);
	return s;
}
