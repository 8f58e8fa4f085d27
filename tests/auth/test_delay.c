/*
 * test_delay.c — the failure delay per source address: free failures,
 * then a delay that doubles up to its cap; the count starts over after the
 * window; addresses are counted without their port and apart from each
 * other; unknown addresses are never delayed; the table stays bounded.
 */
#include <stdio.h>

#include "delay.h"
#include "util.h"
#include "unit.h"

static const struct delay_policy policy = {
	.free = 3, .window_ms = 600000, .base_ms = 1000, .max_ms = 30000,
};

START_TEST(test_first_failures_are_free_then_the_delay_doubles_to_its_cap)
{
	struct delay_table *t = delay_table_new(&policy);
	const uint64_t want[] = { 0, 0, 0, 1000, 2000, 4000, 8000, 16000, 30000, 30000 };

	for (size_t i = 0; i < ARRAY_LEN(want); i++)
		ck_assert_uint_eq(delay_record_failure(t, "192.0.2.7:40000", 1000 + i), want[i]);
	ck_assert_uint_eq(delay_failures(t, "192.0.2.7:1", 2000), 10);
	delay_table_free(&t);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_the_count_starts_over_after_the_window)
{
	struct delay_table *t = delay_table_new(&policy);

	for (int i = 0; i < 5; i++)
		delay_record_failure(t, "192.0.2.7:1", 0);
	ck_assert_uint_eq(delay_record_failure(t, "192.0.2.7:1", 599999), 4000);
	ck_assert_uint_eq(delay_failures(t, "192.0.2.7:1", 600000), 0);
	ck_assert_uint_eq(delay_record_failure(t, "192.0.2.7:1", 600000), 0);
	delay_table_free(&t);
}
END_TEST

START_TEST(test_addresses_are_counted_apart_and_without_their_port)
{
	struct delay_table *t = delay_table_new(&policy);

	for (int i = 0; i < 4; i++)
		delay_record_failure(t, "[2001:db8::1]:5000", 10);
	/* Another port of the same address shares its count. */
	ck_assert_uint_eq(delay_record_failure(t, "[2001:db8::1]:6000", 10), 2000);
	/* Another address starts from nothing. */
	ck_assert_uint_eq(delay_record_failure(t, "[2001:db8::2]:5000", 10), 0);
	ck_assert_uint_eq(delay_record_failure(t, "192.0.2.1:5000", 10), 0);
	/* No address: never delayed, never counted. */
	for (int i = 0; i < 10; i++) {
		ck_assert_uint_eq(delay_record_failure(t, NULL, 10), 0);
		ck_assert_uint_eq(delay_record_failure(t, "", 10), 0);
	}
	ck_assert_uint_eq(delay_table_count(t), 3);
	delay_table_free(&t);
}
END_TEST

START_TEST(test_address_keys)
{
	char out[64];

	delay_address_key("192.0.2.7:40000", out, sizeof(out));
	ck_assert_str_eq(out, "192.0.2.7");
	delay_address_key("[2001:db8::1]:50012", out, sizeof(out));
	ck_assert_str_eq(out, "2001:db8::1");
	delay_address_key("2001:db8::1", out, sizeof(out));
	ck_assert_str_eq(out, "2001:db8::1");
	delay_address_key("192.0.2.7", out, sizeof(out));
	ck_assert_str_eq(out, "192.0.2.7");
}
END_TEST

START_TEST(test_the_table_stays_bounded)
{
	struct delay_table *t = delay_table_new(&policy);
	char addr[64];

	for (int i = 0; i < DELAY_MAX_ADDRESSES + 10; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d:1", i >> 16 & 255, i >> 8 & 255, i & 255);
		delay_record_failure(t, addr, (uint64_t)i);
	}
	ck_assert_uint_le(delay_table_count(t), DELAY_MAX_ADDRESSES);
	delay_table_free(&t);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("delay");
	TCase *tc = tcase_create("delay");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_first_failures_are_free_then_the_delay_doubles_to_its_cap);
	tcase_add_test(tc, test_the_count_starts_over_after_the_window);
	tcase_add_test(tc, test_addresses_are_counted_apart_and_without_their_port);
	tcase_add_test(tc, test_address_keys);
	tcase_add_test(tc, test_the_table_stays_bounded);
	suite_add_tcase(s, tc);
	return s;
}
