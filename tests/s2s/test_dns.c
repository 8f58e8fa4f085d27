/*
 * test_dns.c — the resolver without a network: settings read from the
 * config (and refused with FILE:LINE), s2s.routes answering without DNS,
 * IP-literal domains, bad names, callbacks only from the loop, and
 * cancellation, including of a query whose lookups are still out.
 * tests/integration/test_s2s_dns.py covers real DNS answers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "loop.h"
#include "s2s/dns.h"
#include "s2s/dns_conf.h"
#include "unit.h"

/* A name server nobody answers at: nothing here may need one. */
#define BASE "hosts = [ \"example.org\" ];\n"
#define NO_DNS "s2s = { dns = { nameservers = [ \"127.0.0.1:9\" ]; timeout = 1; attempts = 1; };\n"

struct result {
	int calls;
	struct s2s_targets *targets;
	char error[ERRLEN];
};

static void on_result(struct s2s_targets *targets, const char *error, void *arg)
{
	struct result *r = arg;
	r->calls++;
	r->targets = targets;
	if (error != NULL)
		snprintf(r->error, sizeof(r->error), "%s", error);
}

static struct conf *load(const char *text)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	int r = conf_load_string(&c, text, "parley.conf", &errs);
	ck_assert_msg(r == 0, "%s", errs.count ? errs.msg[0] : "?");
	return c;
}

static struct s2s_dns *new_dns(struct loop *loop, const char *text)
{
	char err[ERRLEN] = "";
	struct conf *c = load(text);
	struct s2s_dns *dns = s2s_dns_new(loop, c, err, sizeof(err));
	ck_assert_msg(dns != NULL, "%s", err);
	conf_free(&c);
	return dns;
}

static void run_until_called(struct loop *loop, const struct result *r)
{
	for (int i = 0; i < 50 && r->calls == 0; i++)
		loop_run_once(loop, 100);
}

static const char *addr_text(const struct sockaddr_storage *a, char *buf, size_t len)
{
	const void *p = a->ss_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
						  : (const void *)&((const struct sockaddr_in *)a)->sin_addr;
	return inet_ntop(a->ss_family, p, buf, (socklen_t)len);
}

START_TEST(test_nameservers_take_an_optional_port)
{
	struct sockaddr_storage ss;
	char err[ERRLEN];
	ck_assert_int_eq(s2s_dns_parse_nameserver("192.0.2.53", &ss, err, sizeof(err)), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 53);
	ck_assert_int_eq(s2s_dns_parse_nameserver("127.0.0.1:5353", &ss, err, sizeof(err)), 0);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5353);
	ck_assert_int_eq(s2s_dns_parse_nameserver("2001:db8::53", &ss, err, sizeof(err)), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 53);
	ck_assert_int_eq(s2s_dns_parse_nameserver("[::1]:5300", &ss, err, sizeof(err)), 0);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 5300);
	ck_assert_int_eq(s2s_dns_parse_nameserver("ns.example.org", &ss, err, sizeof(err)), -1);
	ck_assert_int_eq(s2s_dns_parse_nameserver("127.0.0.1:0", &ss, err, sizeof(err)), -1);
	ck_assert_int_eq(s2s_dns_parse_nameserver("[::1", &ss, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_a_bad_nameserver_is_refused_at_load_with_its_line)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	ck_assert_int_eq(conf_load_string(&c, BASE "s2s = {\n dns = {\n  nameservers = [ \"ns1.example.org\" ];\n };\n};\n",
			     "parley.conf", &errs),
	    -1);
	ck_assert_uint_eq(errs.count, 1);
	ck_assert_str_eq(errs.msg[0], "parley.conf:4: s2s.dns.nameservers[0]: \"ns1.example.org\" is not an IP "
				      "address (name servers are given by address)");
	conf_errors_clear(&errs);
	ck_assert_int_eq(conf_load_string(&c, BASE "s2s = { dns = { nameservers = [ \"127.0.0.1:99999\" ]; }; };\n",
			     "parley.conf", &errs),
	    -1);
	ck_assert_str_eq(errs.msg[0], "parley.conf:2: s2s.dns.nameservers[0]: bad port in \"127.0.0.1:99999\": "
				      "expected 1 to 65535");
	conf_errors_clear(&errs);
}
END_TEST

START_TEST(test_settings_are_read_and_a_route_given_twice_is_refused)
{
	struct s2s_dns_settings s;
	char err[ERRLEN];
	struct conf *c = load(BASE "s2s = { dns = { nameservers = [ \"127.0.0.1:5300\", \"::1\" ]; timeout = \"1500ms\"; "
				   "attempts = 3; };\n"
				   " routes = ( { domain = \"Example.NET\"; host = \"192.0.2.7\"; },\n"
				   "  { domain = \"other.example\"; host = \"xmpp.other.example\"; port = 5270; direct_tls = true; } );\n};\n");
	ck_assert_int_eq(s2s_dns_settings_read(c, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.nnameservers, 2);
	ck_assert_uint_eq(s.timeout_s, 2);
	ck_assert_uint_eq(s.attempts, 3);
	ck_assert_uint_eq(s.cache.max_ttl_ms, 3600000);
	ck_assert_uint_eq(s.nroutes, 2);
	const struct s2s_route *r = s2s_dns_route_find(&s, "example.net");
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->host, "192.0.2.7");
	ck_assert_uint_eq(r->port, 5269);
	ck_assert(!r->direct_tls);
	r = s2s_dns_route_find(&s, "OTHER.example");
	ck_assert_uint_eq(r->port, 5270);
	ck_assert(r->direct_tls);
	s2s_dns_settings_clear(&s);
	conf_free(&c);

	c = load(BASE "s2s = {\n routes = (\n  { domain = \"a.example\"; host = \"192.0.2.1\"; },\n"
		      "  { domain = \"A.example\"; host = \"192.0.2.2\"; }\n );\n};\n");
	ck_assert_int_eq(s2s_dns_settings_read(c, &s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "parley.conf:5: s2s.routes[1].domain: \"a.example\" has a route already");
	s2s_dns_settings_clear(&s);
	conf_free(&c);
}
END_TEST

START_TEST(test_a_route_to_an_address_answers_without_dns_and_from_the_loop)
{
	char err[ERRLEN], buf[64];
	struct loop *loop = loop_new(err, sizeof(err));
	struct s2s_dns *dns = new_dns(loop, BASE NO_DNS
	    " routes = ( { domain = \"peer.test\"; host = \"::1\"; port = 5299; direct_tls = true; } ); };\n");
	struct result r = { 0 };

	struct s2s_dns_query *q = s2s_dns_resolve(dns, "Peer.Test", on_result, &r);
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(r.calls, 0); /* never from inside resolve */
	ck_assert_uint_eq(s2s_dns_pending(dns), 1);
	loop_run_once(loop, 0);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_ptr_nonnull(r.targets);
	ck_assert_str_eq(r.targets->domain, "peer.test");
	ck_assert_uint_eq(r.targets->count, 1);
	const struct s2s_target *t = &r.targets->target[0];
	ck_assert_str_eq(t->host, "::1");
	ck_assert_uint_eq(t->port, 5299);
	ck_assert(t->direct_tls);
	ck_assert_uint_eq(t->naddr, 1);
	ck_assert_str_eq(addr_text(&t->addr[0], buf, sizeof(buf)), "::1");
	ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)&t->addr[0])->sin6_port), 5299);
	ck_assert_uint_eq(s2s_dns_pending(dns), 0);
	s2s_targets_free(&r.targets);
	s2s_dns_free(&dns);
	loop_free(&loop);
}
END_TEST

START_TEST(test_an_address_literal_domain_is_its_own_target)
{
	char err[ERRLEN], buf[64];
	struct loop *loop = loop_new(err, sizeof(err));
	struct s2s_dns *dns = new_dns(loop, BASE NO_DNS "};\n");
	struct result r = { 0 };

	s2s_dns_resolve(dns, "192.0.2.9", on_result, &r);
	run_until_called(loop, &r);
	ck_assert_ptr_nonnull(r.targets);
	ck_assert_uint_eq(r.targets->target[0].port, 5269);
	ck_assert(!r.targets->target[0].direct_tls);
	ck_assert_str_eq(addr_text(&r.targets->target[0].addr[0], buf, sizeof(buf)), "192.0.2.9");
	s2s_targets_free(&r.targets);
	s2s_dns_free(&dns);
	loop_free(&loop);
}
END_TEST

START_TEST(test_a_bad_domain_is_an_error)
{
	char err[ERRLEN];
	struct loop *loop = loop_new(err, sizeof(err));
	struct s2s_dns *dns = new_dns(loop, BASE NO_DNS "};\n");
	struct result r = { 0 };

	s2s_dns_resolve(dns, "", on_result, &r);
	run_until_called(loop, &r);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_ptr_null(r.targets);
	ck_assert_str_eq(r.error, "\"\" is not a domain name");
	s2s_dns_free(&dns);
	loop_free(&loop);
}
END_TEST

START_TEST(test_a_cancelled_query_never_calls_back)
{
	char err[ERRLEN];
	struct loop *loop = loop_new(err, sizeof(err));
	struct s2s_dns *dns = new_dns(loop, BASE NO_DNS
	    " routes = ( { domain = \"peer.test\"; host = \"127.0.0.1\"; } ); };\n");
	struct result r = { 0 };

	struct s2s_dns_query *q = s2s_dns_resolve(dns, "peer.test", on_result, &r);
	s2s_dns_cancel(&q);
	ck_assert_ptr_null(q);
	s2s_dns_cancel(&q); /* NULL is fine */
	for (int i = 0; i < 3; i++)
		loop_run_once(loop, 10);
	ck_assert_int_eq(r.calls, 0);
	ck_assert_uint_eq(s2s_dns_pending(dns), 0);
	s2s_dns_free(&dns);
	loop_free(&loop);
}
END_TEST

/* Lookups already handed to udns outlive the query; freeing the resolver
 * then frees them (ASan would see a leak or a use after free). */
START_TEST(test_cancel_and_free_with_lookups_in_flight)
{
	char err[ERRLEN];
	struct loop *loop = loop_new(err, sizeof(err));
	struct s2s_dns *dns = new_dns(loop, BASE NO_DNS "};\n");
	struct result r = { 0 }, r2 = { 0 };

	struct s2s_dns_query *q = s2s_dns_resolve(dns, "nowhere.example", on_result, &r);
	s2s_dns_resolve(dns, "elsewhere.example", on_result, &r2);
	loop_run_once(loop, 10); /* the queries go out */
	s2s_dns_cancel(&q);
	loop_run_once(loop, 10);
	ck_assert_int_eq(r.calls, 0);
	ck_assert_uint_eq(s2s_dns_pending(dns), 1);
	s2s_dns_free(&dns); /* drops the other query without calling back */
	ck_assert_int_eq(r2.calls, 0);
	loop_free(&loop);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("dns");
	tcase_add_test(tc, test_nameservers_take_an_optional_port);
	tcase_add_test(tc, test_a_bad_nameserver_is_refused_at_load_with_its_line);
	tcase_add_test(tc, test_settings_are_read_and_a_route_given_twice_is_refused);
	tcase_add_test(tc, test_a_route_to_an_address_answers_without_dns_and_from_the_loop);
	tcase_add_test(tc, test_an_address_literal_domain_is_its_own_target);
	tcase_add_test(tc, test_a_bad_domain_is_an_error);
	tcase_add_test(tc, test_a_cancelled_query_never_calls_back);
	tcase_add_test(tc, test_cancel_and_free_with_lookups_in_flight);
	suite_add_tcase(s, tc);
	return s;
}
