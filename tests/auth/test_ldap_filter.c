/*
 * test_ldap_filter.c — the ldap backend's search filter: values are
 * escaped as RFC 4515 says ('*', '(', ')', '\', NUL, controls and non-ASCII
 * become \XX), so injection attempts stay values; templates are checked
 * before use; %% is a percent sign; a short buffer never ends in half an
 * escape.
 */
#include <stdlib.h>
#include <string.h>

#include "authreg_ldap.h"
#include "util.h"
#include "unit.h"

static void check_build(const char *tmpl, const char *user, const char *domain,
    const char *want)
{
	char *got = ldap_filter_build(tmpl, user, domain);
	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_plain_values_are_pasted_as_they_are)
{
	check_build("(uid=%u)", "alice", "example.org", "(uid=alice)");
	check_build("(mail=%u@%d)", "alice", "example.org", "(mail=alice@example.org)");
	check_build("(&(objectClass=person)(uid=%u)(o=%d))", "bob", "d.test",
	    "(&(objectClass=person)(uid=bob)(o=d.test))");
}
END_TEST

START_TEST(test_filter_syntax_in_a_username_is_escaped)
{
	check_build("(uid=%u)", "*", "d", "(uid=\\2a)");
	check_build("(uid=%u)", "al*", "d", "(uid=al\\2a)");
	check_build("(uid=%u)", ")(uid=*", "d", "(uid=\\29\\28uid=\\2a)");
	check_build("(uid=%u)", "bob)(|(uid=*", "d", "(uid=bob\\29\\28|\\28uid=\\2a)");
	check_build("(uid=%u)", "a\\2a", "d", "(uid=a\\5c2a)");
}
END_TEST

START_TEST(test_non_ascii_and_controls_are_escaped_byte_by_byte)
{
	check_build("(uid=%u)", "jos\xc3\xa9", "d", "(uid=jos\\c3\\a9)");
	check_build("(uid=%u)", "a\x01\x7f", "d", "(uid=a\\01\\7f)");
}
END_TEST

START_TEST(test_nul_inside_a_value_is_escaped)
{
	char out[32];
	size_t n = ldap_filter_escape("a\0b", 3, out, sizeof(out));
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(out, "a\\00b");
}
END_TEST

START_TEST(test_percent_percent_is_a_percent_sign)
{
	check_build("(description=100%%)(uid=%u)", "x", "d", "(description=100%)(uid=x)");
}
END_TEST

START_TEST(test_a_short_buffer_never_ends_in_half_an_escape)
{
	char out[5];
	size_t n = ldap_filter_escape("ab*c", 4, out, sizeof(out));
	ck_assert_uint_eq(n, 6);
	ck_assert_str_eq(out, "ab");
	n = ldap_filter_escape("a*", 2, out, sizeof(out));
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(out, "a\\2a");
}
END_TEST

START_TEST(test_templates_are_checked)
{
	char err[ERRLEN];

	ck_assert_int_eq(ldap_filter_template_check("(uid=%u)", err, sizeof(err)), 0);
	ck_assert_int_eq(ldap_filter_template_check("(&(uid=%u)(o=%d)(x=\\2a%%))", err,
	    sizeof(err)), 0);
	ck_assert_int_lt(ldap_filter_template_check("uid=%u", err, sizeof(err)), 0);
	ck_assert_int_lt(ldap_filter_template_check("(uid=%s)", err, sizeof(err)), 0);
	ck_assert_int_lt(ldap_filter_template_check("(uid=alice)", err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "%u"));
	ck_assert_int_lt(ldap_filter_template_check("(uid=%u))(", err, sizeof(err)), 0);
	ck_assert_int_lt(ldap_filter_template_check("(uid=%u)(o=%d)", err, sizeof(err)), 0);
	ck_assert_int_lt(ldap_filter_template_check("((uid=%u)", err, sizeof(err)), 0);
	ck_assert_int_lt(ldap_filter_template_check("(uid=\\zz%u)", err, sizeof(err)), 0);
	ck_assert_int_lt(ldap_filter_template_check("(uid=%u%)", err, sizeof(err)), 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("ldap_filter");
	TCase *tc = tcase_create("filter");

	tcase_add_test(tc, test_plain_values_are_pasted_as_they_are);
	tcase_add_test(tc, test_filter_syntax_in_a_username_is_escaped);
	tcase_add_test(tc, test_non_ascii_and_controls_are_escaped_byte_by_byte);
	tcase_add_test(tc, test_nul_inside_a_value_is_escaped);
	tcase_add_test(tc, test_percent_percent_is_a_percent_sign);
	tcase_add_test(tc, test_a_short_buffer_never_ends_in_half_an_escape);
	tcase_add_test(tc, test_templates_are_checked);
	suite_add_tcase(s, tc);
	return s;
}
