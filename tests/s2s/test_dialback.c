/*
 * test_dialback.c — the XEP-0185 dialback key: the XEP's own example, what
 * changes the key, the constant-time check, and the secret derived from
 * the router secret.
 */
#include <string.h>

#include "s2s/s2s.h"
#include "unit.h"

/* XEP-0185 §2's example (secret "s3cr3tf0rd14lb4ck", domain1.tld sending
 * to domain2.tld on stream D60000229F), computed as the script the XEP's
 * example came from does: HMAC keyed with the hex SHA-256 of the secret. */
#define EXAMPLE_KEY "5e598fae34b90be084fb6a4a8a543ceb33549140bac9d829ef8d734d900616e4"

START_TEST(test_key_matches_the_xep_0185_example)
{
	char key[DIALBACK_KEY_LEN + 1];

	ck_assert_int_eq(dialback_key("s3cr3tf0rd14lb4ck", "domain2.tld", "domain1.tld",
	    "D60000229F", key), 0);
	ck_assert_str_eq(key, EXAMPLE_KEY);
	ck_assert(dialback_key_ok("s3cr3tf0rd14lb4ck", "domain2.tld", "domain1.tld", "D60000229F",
	    EXAMPLE_KEY));
}
END_TEST

START_TEST(test_key_depends_on_each_input)
{
	char base[DIALBACK_KEY_LEN + 1], other[DIALBACK_KEY_LEN + 1];

	ck_assert_int_eq(dialback_key("secret", "b.test", "a.test", "id1", base), 0);
	ck_assert_int_eq(dialback_key("secret", "a.test", "b.test", "id1", other), 0);
	ck_assert_str_ne(base, other);
	ck_assert_int_eq(dialback_key("secret", "b.test", "a.test", "id2", other), 0);
	ck_assert_str_ne(base, other);
	ck_assert_int_eq(dialback_key("secreT", "b.test", "a.test", "id1", other), 0);
	ck_assert_str_ne(base, other);
	/* The separator keeps "b.test a" + ".test" from meaning the same. */
	ck_assert_int_eq(dialback_key("secret", "b.test a", ".test", "id1", other), 0);
	ck_assert_str_ne(base, other);
}
END_TEST

START_TEST(test_wrong_or_malformed_keys_are_refused)
{
	char key[DIALBACK_KEY_LEN + 1];

	ck_assert_int_eq(dialback_key("secret", "b.test", "a.test", "id1", key), 0);
	ck_assert(dialback_key_ok("secret", "b.test", "a.test", "id1", key));
	key[10] = key[10] == 'a' ? 'b' : 'a';
	ck_assert(!dialback_key_ok("secret", "b.test", "a.test", "id1", key));
	ck_assert(!dialback_key_ok("secret", "b.test", "a.test", "id1", NULL));
	ck_assert(!dialback_key_ok("secret", "b.test", "a.test", "id1", ""));
	ck_assert(!dialback_key_ok("secret", "b.test", "a.test", "id1", "abc"));
}
END_TEST

START_TEST(test_secret_is_derived_from_the_router_secret)
{
	char a[65], b[65], c[65];

	ck_assert_int_eq(dialback_secret_derive("router-secret-0123456789", 24, a), 0);
	ck_assert_int_eq(dialback_secret_derive("router-secret-0123456789", 24, b), 0);
	ck_assert_int_eq(dialback_secret_derive("router-secret-0123456788", 24, c), 0);
	ck_assert_uint_eq(strlen(a), 64);
	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);
	/* Not the router secret, nor its plain hash: a key never shows it. */
	ck_assert(strstr(a, "router") == NULL);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("dialback");
	TCase *tc = tcase_create("key");

	tcase_add_test(tc, test_key_matches_the_xep_0185_example);
	tcase_add_test(tc, test_key_depends_on_each_input);
	tcase_add_test(tc, test_wrong_or_malformed_keys_are_refused);
	tcase_add_test(tc, test_secret_is_derived_from_the_router_secret);
	suite_add_tcase(s, tc);
	return s;
}
