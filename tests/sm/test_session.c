/*
 * test_session.c — sm's session table (sm/session.c) and the rules that
 * choose which resources a message to a bare JID reaches (RFC 6121
 * §8.5.2.1.1): the highest non-negative priority among available
 * resources, all of them on a tie, nobody when every priority is negative
 * or no resource sent initial presence.
 */
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "unit.h"
#include "util.h"

static struct session_table *t;

static void setup(void)
{
	t = session_table_new();
}

static void teardown(void)
{
	session_table_free(&t);
	ck_assert_ptr_null(t);
}

static struct sm_session *add(const char *c2s, const char *id, const char *full)
{
	struct jid *j = NULL;
	char err[ERRLEN];

	ck_assert_int_eq(jid_parse(&j, full, strlen(full), err, sizeof(err)), 0);
	struct sm_session *s = session_add(t, c2s, id, j);
	jid_free(&j);
	ck_assert_ptr_nonnull(s);
	return s;
}

START_TEST(test_session_found_by_c2s_and_id_and_by_full_jid)
{
	struct sm_session *a = add("c2s.1", "s1", "juliet@example.test/balcony");
	struct sm_session *b = add("c2s.2", "s1", "juliet@example.test/chamber");
	struct jid *j = NULL;
	char err[ERRLEN];

	ck_assert_ptr_eq(session_find(t, "c2s.1", "s1"), a);
	ck_assert_ptr_eq(session_find(t, "c2s.2", "s1"), b);
	ck_assert_ptr_null(session_find(t, "c2s.3", "s1"));
	ck_assert_ptr_null(session_find(t, "c2s.1", "s2"));
	ck_assert_int_eq(jid_parse(&j, "Juliet@Example.test/chamber", 27, err, sizeof(err)), 0);
	ck_assert_ptr_eq(session_find_full(t, j), b);
	jid_free(&j);
	ck_assert_uint_eq(session_count(t), 2);
	ck_assert_uint_eq(session_count_of(t, "juliet@example.test"), 2);
}
END_TEST

START_TEST(test_session_remove_forgets_the_user_with_the_last_resource)
{
	struct sm_session *a = add("c2s.1", "s1", "juliet@example.test/balcony");
	struct sm_session *b = add("c2s.1", "s2", "juliet@example.test/chamber");

	session_remove(t, &a);
	ck_assert_ptr_null(a);
	ck_assert_ptr_null(session_find(t, "c2s.1", "s1"));
	ck_assert_ptr_eq(session_first(t, "juliet@example.test"), b);
	ck_assert_ptr_null(b->next);
	session_remove(t, &b);
	ck_assert_ptr_null(session_first(t, "juliet@example.test"));
	ck_assert_uint_eq(session_count(t), 0);
	ck_assert_uint_eq(session_count_of(t, "juliet@example.test"), 0);
}
END_TEST

START_TEST(test_session_list_of_c2s_gives_only_that_instance)
{
	add("c2s.1", "s1", "juliet@example.test/a");
	add("c2s.2", "s2", "juliet@example.test/b");
	add("c2s.1", "s3", "romeo@example.test/c");
	size_t n;
	struct sm_session **l = session_list_of_c2s(t, "c2s.1", &n);

	ck_assert_uint_eq(n, 2);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(l[i]->c2s, "c2s.1");
	free(l);
	l = session_list_of_c2s(t, "c2s.9", &n);
	ck_assert_uint_eq(n, 0);
	free(l);
}
END_TEST

START_TEST(test_bare_jid_goes_to_the_highest_priority)
{
	struct sm_session *a = add("c2s.1", "s1", "juliet@example.test/a");
	struct sm_session *b = add("c2s.1", "s2", "juliet@example.test/b");
	struct sm_session *c = add("c2s.2", "s3", "juliet@example.test/c");
	struct sm_session *out[4];

	session_set_available(a, 1, NULL);
	session_set_available(b, 5, NULL);
	session_set_available(c, 3, NULL);
	ck_assert_uint_eq(session_best(t, "juliet@example.test", out, 4), 1);
	ck_assert_ptr_eq(out[0], b);
	/* b leaves: c is next. */
	session_set_unavailable(b);
	ck_assert_uint_eq(session_best(t, "juliet@example.test", out, 4), 1);
	ck_assert_ptr_eq(out[0], c);
}
END_TEST

START_TEST(test_bare_jid_reaches_every_resource_on_a_tie)
{
	struct sm_session *a = add("c2s.1", "s1", "juliet@example.test/a");
	struct sm_session *b = add("c2s.2", "s2", "juliet@example.test/b");
	struct sm_session *c = add("c2s.2", "s3", "juliet@example.test/c");
	struct sm_session *out[4];

	session_set_available(a, 2, NULL);
	session_set_available(b, 2, NULL);
	session_set_available(c, 0, NULL);
	ck_assert_uint_eq(session_best(t, "juliet@example.test", out, 4), 2);
	ck_assert(out[0] != c && out[1] != c && out[0] != out[1]);
	/* headline: every non-negative available resource. */
	ck_assert_uint_eq(session_nonnegative(t, "juliet@example.test", out, 4), 3);
}
END_TEST

START_TEST(test_bare_jid_skips_negative_priority)
{
	struct sm_session *a = add("c2s.1", "s1", "juliet@example.test/a");
	struct sm_session *b = add("c2s.1", "s2", "juliet@example.test/b");
	struct sm_session *out[4];

	session_set_available(a, -1, NULL);
	session_set_available(b, -5, NULL);
	ck_assert_uint_eq(session_best(t, "juliet@example.test", out, 4), 0);
	ck_assert_uint_eq(session_nonnegative(t, "juliet@example.test", out, 4), 0);
	session_set_available(b, 0, NULL);
	ck_assert_uint_eq(session_best(t, "juliet@example.test", out, 4), 1);
	ck_assert_ptr_eq(out[0], b);
}
END_TEST

START_TEST(test_bare_jid_skips_resources_without_initial_presence)
{
	struct sm_session *out[4];

	add("c2s.1", "s1", "juliet@example.test/a");
	ck_assert_uint_eq(session_best(t, "juliet@example.test", out, 4), 0);
	ck_assert_uint_eq(session_best(t, "nobody@example.test", out, 4), 0);
}
END_TEST

START_TEST(test_best_counts_past_max)
{
	struct sm_session *out[1];

	session_set_available(add("c2s.1", "s1", "juliet@example.test/a"), 1, NULL);
	session_set_available(add("c2s.1", "s2", "juliet@example.test/b"), 1, NULL);
	ck_assert_uint_eq(session_best(t, "juliet@example.test", out, 1), 2);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("sm_session");
	TCase *tc = tcase_create("session");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_session_found_by_c2s_and_id_and_by_full_jid);
	tcase_add_test(tc, test_session_remove_forgets_the_user_with_the_last_resource);
	tcase_add_test(tc, test_session_list_of_c2s_gives_only_that_instance);
	tcase_add_test(tc, test_bare_jid_goes_to_the_highest_priority);
	tcase_add_test(tc, test_bare_jid_reaches_every_resource_on_a_tie);
	tcase_add_test(tc, test_bare_jid_skips_negative_priority);
	tcase_add_test(tc, test_bare_jid_skips_resources_without_initial_presence);
	tcase_add_test(tc, test_best_counts_past_max);
	suite_add_tcase(s, tc);
	return s;
}
