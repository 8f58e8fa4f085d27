/*
 * test_hash.c — the hash table: put/get/replace/delete, binary keys with
 * NULs, growth keeps every entry, iteration visits each entry once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "unit.h"

START_TEST(test_put_get_replace_delete)
{
	struct hash *h = hash_new(0);
	int a = 1, b = 2;

	ck_assert_ptr_null(hash_put(h, "juliet@capulet.example", 22, &a));
	ck_assert_ptr_eq(hash_get(h, "juliet@capulet.example", 22), &a);
	ck_assert_ptr_null(hash_get(h, "juliet@capulet.exampl", 21));
	ck_assert_ptr_eq(hash_put(h, "juliet@capulet.example", 22, &b), &a);
	ck_assert_ptr_eq(hash_get(h, "juliet@capulet.example", 22), &b);
	ck_assert_uint_eq(hash_count(h), 1);
	ck_assert_ptr_eq(hash_del(h, "juliet@capulet.example", 22), &b);
	ck_assert_ptr_null(hash_del(h, "juliet@capulet.example", 22));
	ck_assert_uint_eq(hash_count(h), 0);
	hash_free(&h, NULL);
	ck_assert_ptr_null(h);
}
END_TEST

START_TEST(test_binary_keys_with_nul_are_distinct)
{
	struct hash *h = hash_new(4);
	int a, b;

	hash_put(h, "a\0b", 3, &a);
	hash_put(h, "a\0c", 3, &b);
	ck_assert_ptr_eq(hash_get(h, "a\0b", 3), &a);
	ck_assert_ptr_eq(hash_get(h, "a\0c", 3), &b);
	ck_assert_ptr_null(hash_get(h, "a", 1));
	hash_free(&h, NULL);
}
END_TEST

START_TEST(test_growth_keeps_every_entry_and_iteration_sees_each_once)
{
	struct hash *h = hash_new(0);
	enum { N = 5000 };
	char key[32];
	static char seen[N];

	for (int i = 0; i < N; i++) {
		int len = snprintf(key, sizeof(key), "user%d@example.org", i);
		int *v = malloc(sizeof(*v));
		*v = i;
		ck_assert_ptr_null(hash_put(h, key, (size_t)len, v));
	}
	ck_assert_uint_eq(hash_count(h), N);
	for (int i = 0; i < N; i++) {
		int len = snprintf(key, sizeof(key), "user%d@example.org", i);
		int *v = hash_get(h, key, (size_t)len);
		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(*v, i);
	}
	struct hash_iter it;
	const char *k;
	size_t klen;
	void *val;
	int count = 0;
	memset(seen, 0, sizeof(seen));
	hash_iter_init(h, &it);
	while (hash_iter_next(&it, &k, &klen, &val)) {
		int i = *(int *)val;
		ck_assert_int_eq(seen[i], 0);
		seen[i] = 1;
		ck_assert_uint_eq(klen, strlen(k));
		count++;
	}
	ck_assert_int_eq(count, N);
	hash_free(&h, free);
}
END_TEST

START_TEST(test_hash_is_keyed_and_stable_within_process)
{
	ck_assert_uint_eq(hash_bytes("abc", 3), hash_bytes("abc", 3));
	ck_assert_uint_ne(hash_bytes("abc", 3), hash_bytes("abd", 3));
	ck_assert_uint_ne(hash_bytes("", 0), hash_bytes("\0", 1));
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("hash");
	TCase *tc = tcase_create("hash");
	tcase_add_test(tc, test_put_get_replace_delete);
	tcase_add_test(tc, test_binary_keys_with_nul_are_distinct);
	tcase_add_test(tc, test_growth_keeps_every_entry_and_iteration_sees_each_once);
	tcase_add_test(tc, test_hash_is_keyed_and_stable_within_process);
	suite_add_tcase(s, tc);
	return s;
}
