/*
 * test_dns_order.c — SRV records in RFC 2782 order, the "." target, and
 * the XEP-0368 merge of the direct-TLS and STARTTLS lists.
 */
#include <stdlib.h>
#include <string.h>

#include "s2s/dns_order.h"
#include "unit.h"

#define SRV(h, pri, w) { .host = (char *)(h), .port = 5269, .priority = (pri), .weight = (w) }

START_TEST(test_lower_priority_comes_first)
{
	struct s2s_srv v[] = { SRV("c", 30, 5), SRV("a", 10, 5), SRV("b", 20, 5), SRV("a2", 10, 5) };
	struct s2s_rng rng;
	s2s_rng_seed(&rng, 1);
	ck_assert_uint_eq(s2s_srv_order(v, 4, &rng), 4);
	ck_assert_uint_eq(v[0].priority, 10);
	ck_assert_uint_eq(v[1].priority, 10);
	ck_assert_str_eq(v[2].host, "b");
	ck_assert_str_eq(v[3].host, "c");
}
END_TEST

/* Over many orderings, the first record of a priority is each record with
 * probability weight / sum; a weight-0 record is almost never first. */
START_TEST(test_weights_spread_the_first_choice_in_proportion)
{
	enum { RUNS = 100000 };
	static const char order[] = "abcz";
	unsigned first[4] = { 0 }, second_c = 0;
	struct s2s_rng rng;
	s2s_rng_seed(&rng, 20240601);
	for (unsigned run = 0; run < RUNS; run++) {
		struct s2s_srv v[] = { SRV("a", 10, 60), SRV("b", 10, 30), SRV("c", 10, 10),
			SRV("z", 10, 0), SRV("later", 20, 100) };
		ck_assert_uint_eq(s2s_srv_order(v, 5, &rng), 5);
		first[strchr(order, v[0].host[0]) - order]++;
		if (strcmp(v[1].host, "c") == 0)
			second_c++;
		ck_assert_str_eq(v[4].host, "later");
	}
	/* Expected 60000, 30000, 10000 and about 1 in 101 for weight 0:
	 * a tolerance of 1.5% of the runs is more than ten standard
	 * deviations, so a fixed seed never makes this flaky. */
	ck_assert_msg(abs((int)first[0] - 60000 * 100 / 101) < 1500, "a first %u times", first[0]);
	ck_assert_msg(abs((int)first[1] - 30000 * 100 / 101) < 1500, "b first %u times", first[1]);
	ck_assert_msg(abs((int)first[2] - 10000 * 100 / 101) < 1500, "c first %u times", first[2]);
	ck_assert_msg(first[3] < 2000, "z (weight 0) first %u times", first[3]);
	/* Second place: c follows after a or b was taken (P ≈ .6*.1/.4 + .3*.1/.7). */
	ck_assert_msg(second_c > 15000 && second_c < 22000, "c second %u times", second_c);
}
END_TEST

START_TEST(test_all_zero_weights_keep_the_order_given)
{
	struct s2s_srv v[] = { SRV("a", 5, 0), SRV("b", 5, 0), SRV("c", 5, 0) };
	struct s2s_rng rng;
	s2s_rng_seed(&rng, 7);
	ck_assert_uint_eq(s2s_srv_order(v, 3, &rng), 3);
	ck_assert_str_eq(v[0].host, "a");
	ck_assert_str_eq(v[1].host, "b");
	ck_assert_str_eq(v[2].host, "c");
}
END_TEST

START_TEST(test_the_same_seed_gives_the_same_order)
{
	struct s2s_srv v1[] = { SRV("a", 1, 10), SRV("b", 1, 10), SRV("c", 1, 10), SRV("d", 1, 10) };
	struct s2s_srv v2[] = { SRV("a", 1, 10), SRV("b", 1, 10), SRV("c", 1, 10), SRV("d", 1, 10) };
	struct s2s_rng r1, r2;
	s2s_rng_seed(&r1, 99);
	s2s_rng_seed(&r2, 99);
	s2s_srv_order(v1, 4, &r1);
	s2s_srv_order(v2, 4, &r2);
	for (int i = 0; i < 4; i++)
		ck_assert_str_eq(v1[i].host, v2[i].host);
}
END_TEST

START_TEST(test_a_lone_dot_target_means_not_available)
{
	struct s2s_srv dot[] = { SRV(".", 0, 0) };
	struct s2s_srv two[] = { SRV(".", 0, 0), SRV("xmpp.example.net", 0, 0) };
	ck_assert(s2s_srv_unavailable(dot, 1));
	ck_assert(!s2s_srv_unavailable(two, 2));
	ck_assert(!s2s_srv_unavailable(NULL, 0));
	ck_assert(!s2s_srv_unavailable(&two[1], 1));
}
END_TEST

START_TEST(test_dot_among_others_is_dropped_and_kept_behind)
{
	struct s2s_srv v[] = { SRV("b", 20, 1), SRV(".", 0, 0), SRV("a", 10, 1) };
	struct s2s_rng rng;
	s2s_rng_seed(&rng, 3);
	ck_assert_uint_eq(s2s_srv_order(v, 3, &rng), 2);
	ck_assert_str_eq(v[0].host, "a");
	ck_assert_str_eq(v[1].host, "b");
	ck_assert_str_eq(v[2].host, "."); /* still there for its owner to free */
}
END_TEST

START_TEST(test_merge_orders_by_priority_and_puts_direct_tls_first_on_a_tie)
{
	struct s2s_srv tls[] = { SRV("t1", 5, 0), SRV("t2", 10, 0), SRV("t3", 30, 0) };
	struct s2s_srv plain[] = { SRV("p1", 0, 0), SRV("p2", 10, 0), SRV("p3", 10, 0), SRV("p4", 20, 0) };
	for (int i = 0; i < 3; i++)
		tls[i].direct_tls = true;
	struct s2s_srv out[7];
	ck_assert_uint_eq(s2s_srv_merge(tls, 3, plain, 4, out), 7);
	const char *want[] = { "p1", "t1", "t2", "p2", "p3", "p4", "t3" };
	for (int i = 0; i < 7; i++)
		ck_assert_str_eq(out[i].host, want[i]);
	ck_assert(out[2].direct_tls);
	ck_assert(!out[3].direct_tls);
}
END_TEST

START_TEST(test_merge_with_one_list_empty_is_the_other)
{
	struct s2s_srv plain[] = { SRV("p1", 0, 0), SRV("p2", 10, 0) };
	struct s2s_srv out[2];
	ck_assert_uint_eq(s2s_srv_merge(NULL, 0, plain, 2, out), 2);
	ck_assert_str_eq(out[0].host, "p1");
	ck_assert_str_eq(out[1].host, "p2");
	ck_assert_uint_eq(s2s_srv_merge(plain, 2, NULL, 0, out), 2);
	ck_assert_str_eq(out[1].host, "p2");
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("dns_order");
	TCase *tc = tcase_create("dns_order");
	tcase_add_test(tc, test_lower_priority_comes_first);
	tcase_add_test(tc, test_weights_spread_the_first_choice_in_proportion);
	tcase_add_test(tc, test_all_zero_weights_keep_the_order_given);
	tcase_add_test(tc, test_the_same_seed_gives_the_same_order);
	tcase_add_test(tc, test_a_lone_dot_target_means_not_available);
	tcase_add_test(tc, test_dot_among_others_is_dropped_and_kept_behind);
	tcase_add_test(tc, test_merge_orders_by_priority_and_puts_direct_tls_first_on_a_tie);
	tcase_add_test(tc, test_merge_with_one_list_empty_is_the_other);
	suite_add_tcase(s, tc);
	return s;
}
