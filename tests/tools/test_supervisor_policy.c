/*
 * test_supervisor_policy.c — parleyd's restart rule: the delay doubles from
 * restart_delay up to restart_delay_max, a process that ran a minute is
 * forgiven, and past max_restarts restarts in one minute parleyd gives up.
 */
#include "supervisor_policy.h"
#include "unit.h"

static const struct restart_policy policy = {
	.delay_ms = 1000, .delay_max_ms = 30000, .max_restarts = 5,
};

START_TEST(test_delay_doubles_up_to_the_maximum)
{
	struct restart_policy p = { .delay_ms = 1000, .delay_max_ms = 5000, .max_restarts = 100 };
	struct restart_history h;
	restart_history_init(&h, &p);
	const int64_t want[] = { 1000, 2000, 4000, 5000, 5000 };
	uint64_t now = 0;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		/* Each run dies at once after its restart. */
		int64_t d = restart_next(&p, &h, now, now + 10);
		ck_assert_int_eq(d, want[i]);
		now += 10 + (uint64_t)d;
	}
	ck_assert_uint_eq(h.total, 5);
	restart_history_free(&h);
}
END_TEST

START_TEST(test_gives_up_after_max_restarts_within_a_minute)
{
	struct restart_history h;
	restart_history_init(&h, &policy);
	uint64_t now = 0;
	for (int i = 0; i < 5; i++) {
		int64_t d = restart_next(&policy, &h, now, now + 1);
		ck_assert_int_gt(d, 0);
		now += 1 + (uint64_t)d;
	}
	/* Restarted at 1, 1002, 3003, 7004, 15005: the sixth death within the
	 * same minute is one too many. */
	ck_assert_uint_eq(restart_recent(&h, now), 5);
	ck_assert_int_eq(restart_next(&policy, &h, now, now + 1), -1);
	ck_assert_uint_eq(h.total, 5);
	restart_history_free(&h);
}
END_TEST

START_TEST(test_restarts_older_than_a_minute_do_not_count)
{
	struct restart_policy p = { .delay_ms = 100, .delay_max_ms = 100, .max_restarts = 2 };
	struct restart_history h;
	restart_history_init(&h, &p);
	ck_assert_int_eq(restart_next(&p, &h, 0, 1000), 100);
	ck_assert_int_eq(restart_next(&p, &h, 1100, 2000), 100);
	/* Two restarts in the last minute: a third is refused... */
	ck_assert_int_eq(restart_next(&p, &h, 2100, 3000), -1);
	/* ...but a minute after the first one, there is room again. */
	ck_assert_int_eq(restart_next(&p, &h, 2100, 1000 + RESTART_WINDOW_MS), 100);
	restart_history_free(&h);
}
END_TEST

START_TEST(test_a_process_that_ran_a_minute_starts_again_from_the_first_delay)
{
	struct restart_history h;
	restart_history_init(&h, &policy);
	uint64_t now = 0;
	for (int i = 0; i < 4; i++) {
		int64_t d = restart_next(&policy, &h, now, now + 1);
		now += 1 + (uint64_t)d;
	}
	ck_assert_uint_eq(h.next_delay_ms, 16000);
	/* Up for just under a minute: still backing off. */
	ck_assert_int_eq(restart_next(&policy, &h, now, now + RESTART_STABLE_MS - 1), 16000);
	now += RESTART_STABLE_MS - 1 + 16000;
	/* Up for a full minute: forgiven. */
	ck_assert_int_eq(restart_next(&policy, &h, now, now + RESTART_STABLE_MS), 1000);
	ck_assert_int_eq(restart_next(&policy, &h, now + RESTART_STABLE_MS + 1000,
	    now + RESTART_STABLE_MS + 1001), 2000);
	restart_history_free(&h);
}
END_TEST

START_TEST(test_first_delay_above_the_maximum_is_capped)
{
	struct restart_policy p = { .delay_ms = 60000, .delay_max_ms = 2000, .max_restarts = 3 };
	struct restart_history h;
	restart_history_init(&h, &p);
	ck_assert_int_eq(restart_next(&p, &h, 0, 1), 2000);
	ck_assert_int_eq(restart_next(&p, &h, 2001, 2002), 2000);
	restart_history_free(&h);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("supervisor_policy");
	TCase *tc = tcase_create("policy");
	tcase_add_test(tc, test_delay_doubles_up_to_the_maximum);
	tcase_add_test(tc, test_gives_up_after_max_restarts_within_a_minute);
	tcase_add_test(tc, test_restarts_older_than_a_minute_do_not_count);
	tcase_add_test(tc, test_a_process_that_ran_a_minute_starts_again_from_the_first_delay);
	tcase_add_test(tc, test_first_delay_above_the_maximum_is_capped);
	suite_add_tcase(s, tc);
	return s;
}
