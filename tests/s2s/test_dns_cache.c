/*
 * test_dns_cache.c — answers kept for their TTL within the configured
 * bounds, negative answers for a short time, failures never, and the
 * oldest dropped first when the cache is full. The clock is the test's.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/dns_cache.h"
#include "unit.h"

static const struct dns_cache_limits limits = {
	.min_ttl_ms = 10000, .max_ttl_ms = 3600000, .negative_ttl_ms = 60000, .max_entries = 100,
};

static struct dns_answer a_answer(uint32_t ttl, uint8_t last_octet)
{
	struct dns_answer a = { .status = DNS_STATUS_OK, .ttl = ttl, .count = 1 };
	a.addr = calloc(1, sizeof(*a.addr));
	struct sockaddr_in *sin = (struct sockaddr_in *)a.addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(0xC0000200u | last_octet);
	return a;
}

START_TEST(test_an_answer_is_kept_for_its_ttl)
{
	struct dns_cache *c = dns_cache_new(&limits);
	struct dns_answer a = a_answer(300, 7);
	dns_cache_put(c, DNS_KIND_A, "xmpp.example.net", &a, 1000);
	dns_answer_clear(&a);

	const struct dns_answer *got = dns_cache_get(c, DNS_KIND_A, "XMPP.Example.NET", 1000 + 299999);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->count, 1);
	ck_assert_uint_eq(ntohl(((const struct sockaddr_in *)got->addr)->sin_addr.s_addr), 0xC0000207u);
	ck_assert_ptr_null(dns_cache_get(c, DNS_KIND_AAAA, "xmpp.example.net", 1000));
	ck_assert_ptr_null(dns_cache_get(c, DNS_KIND_A, "xmpp.example.net", 1000 + 300000));
	ck_assert_uint_eq(dns_cache_count(c), 0); /* the expired entry is gone */
	dns_cache_free(&c);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_ttls_are_held_within_min_and_max)
{
	struct dns_cache *c = dns_cache_new(&limits);
	struct dns_answer short_ttl = a_answer(1, 1), long_ttl = a_answer(86400 * 7, 2);
	dns_cache_put(c, DNS_KIND_A, "short.example", &short_ttl, 0);
	dns_cache_put(c, DNS_KIND_A, "long.example", &long_ttl, 0);
	dns_answer_clear(&short_ttl);
	dns_answer_clear(&long_ttl);

	ck_assert_ptr_nonnull(dns_cache_get(c, DNS_KIND_A, "short.example", 9999));
	ck_assert_ptr_null(dns_cache_get(c, DNS_KIND_A, "short.example", 10000));
	ck_assert_ptr_nonnull(dns_cache_get(c, DNS_KIND_A, "long.example", 3599999));
	ck_assert_ptr_null(dns_cache_get(c, DNS_KIND_A, "long.example", 3600000));
	dns_cache_free(&c);
}
END_TEST

START_TEST(test_negative_answers_are_kept_briefly_and_failures_not_at_all)
{
	struct dns_cache *c = dns_cache_new(&limits);
	struct dns_answer nx = { .status = DNS_STATUS_NXDOMAIN, .ttl = 86400 };
	struct dns_answer nodata = { .status = DNS_STATUS_NODATA };
	struct dns_answer failed = { .status = DNS_STATUS_FAILED };
	dns_cache_put(c, DNS_KIND_SRV_XMPP, "gone.example", &nx, 0);
	dns_cache_put(c, DNS_KIND_SRV_XMPPS, "gone.example", &nodata, 0);
	dns_cache_put(c, DNS_KIND_A, "slow.example", &failed, 0);

	const struct dns_answer *got = dns_cache_get(c, DNS_KIND_SRV_XMPP, "gone.example", 59999);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(got->status, DNS_STATUS_NXDOMAIN);
	got = dns_cache_get(c, DNS_KIND_SRV_XMPPS, "gone.example", 1);
	ck_assert_int_eq(got->status, DNS_STATUS_NODATA);
	ck_assert_ptr_null(dns_cache_get(c, DNS_KIND_SRV_XMPP, "gone.example", 60000));
	ck_assert_ptr_null(dns_cache_get(c, DNS_KIND_A, "slow.example", 0));
	dns_cache_free(&c);
}
END_TEST

START_TEST(test_srv_answers_are_deep_copies)
{
	struct dns_cache *c = dns_cache_new(&limits);
	struct s2s_srv recs[] = {
		{ .host = strdup("a.example"), .port = 5269, .priority = 1, .weight = 2 },
		{ .host = strdup("b.example"), .port = 5270, .priority = 3, .weight = 4, .direct_tls = true },
	};
	struct dns_answer a = { .status = DNS_STATUS_OK, .ttl = 600, .count = 2, .srv = recs };
	dns_cache_put(c, DNS_KIND_SRV_XMPP, "example", &a, 0);
	free(recs[0].host);
	free(recs[1].host);

	const struct dns_answer *got = dns_cache_get(c, DNS_KIND_SRV_XMPP, "example", 1);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->count, 2);
	ck_assert_str_eq(got->srv[1].host, "b.example");
	ck_assert_uint_eq(got->srv[1].port, 5270);
	ck_assert(got->srv[1].direct_tls);
	/* A second put replaces the first. */
	struct dns_answer nx = { .status = DNS_STATUS_NXDOMAIN };
	dns_cache_put(c, DNS_KIND_SRV_XMPP, "EXAMPLE", &nx, 2);
	ck_assert_uint_eq(dns_cache_count(c), 1);
	ck_assert_int_eq(dns_cache_get(c, DNS_KIND_SRV_XMPP, "example", 3)->status, DNS_STATUS_NXDOMAIN);
	dns_cache_free(&c);
}
END_TEST

START_TEST(test_a_full_cache_drops_expired_then_soonest_to_expire)
{
	struct dns_cache_limits small = limits;
	small.max_entries = 3;
	struct dns_cache *c = dns_cache_new(&small);
	struct dns_answer a;
	a = a_answer(100, 1); dns_cache_put(c, DNS_KIND_A, "one", &a, 0); dns_answer_clear(&a);
	a = a_answer(50, 2); dns_cache_put(c, DNS_KIND_A, "two", &a, 0); dns_answer_clear(&a);
	a = a_answer(200, 3); dns_cache_put(c, DNS_KIND_A, "three", &a, 0); dns_answer_clear(&a);
	a = a_answer(300, 4); dns_cache_put(c, DNS_KIND_A, "four", &a, 1000); dns_answer_clear(&a);
	ck_assert_uint_eq(dns_cache_count(c), 3);
	ck_assert_ptr_null(dns_cache_get(c, DNS_KIND_A, "two", 1000)); /* closest to expiry */
	ck_assert_ptr_nonnull(dns_cache_get(c, DNS_KIND_A, "one", 1000));
	ck_assert_ptr_nonnull(dns_cache_get(c, DNS_KIND_A, "four", 1000));

	/* At 150s "one" has expired: it goes, and nothing fresh is lost. */
	a = a_answer(300, 5); dns_cache_put(c, DNS_KIND_A, "five", &a, 150000); dns_answer_clear(&a);
	ck_assert_ptr_nonnull(dns_cache_get(c, DNS_KIND_A, "three", 150000));
	ck_assert_ptr_nonnull(dns_cache_get(c, DNS_KIND_A, "four", 150000));
	ck_assert_ptr_nonnull(dns_cache_get(c, DNS_KIND_A, "five", 150000));
	dns_cache_free(&c);
}
END_TEST

START_TEST(test_a_cache_of_size_zero_keeps_nothing)
{
	struct dns_cache_limits none = limits;
	none.max_entries = 0;
	struct dns_cache *c = dns_cache_new(&none);
	struct dns_answer a = a_answer(300, 1);
	dns_cache_put(c, DNS_KIND_A, "x", &a, 0);
	dns_answer_clear(&a);
	ck_assert_ptr_null(dns_cache_get(c, DNS_KIND_A, "x", 0));
	dns_cache_free(&c);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("dns_cache");
	TCase *tc = tcase_create("dns_cache");
	tcase_add_test(tc, test_an_answer_is_kept_for_its_ttl);
	tcase_add_test(tc, test_ttls_are_held_within_min_and_max);
	tcase_add_test(tc, test_negative_answers_are_kept_briefly_and_failures_not_at_all);
	tcase_add_test(tc, test_srv_answers_are_deep_copies);
	tcase_add_test(tc, test_a_full_cache_drops_expired_then_soonest_to_expire);
	tcase_add_test(tc, test_a_cache_of_size_zero_keeps_nothing);
	suite_add_tcase(s, tc);
	return s;
}
