/*
 * test_tls_names.c — which domains a certificate names for s2s
 * (common/tls_names.c, RFC 6125). Certificates are made in the test with
 * the OpenSSL API: most tests look at DER bytes alone; the last ones run a
 * real handshake over a socketpair to check the connection functions and
 * the "chain verified and names the domain" verdict together.
 */
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "unit.h"

#define XMPP_ADDR "otherName:1.3.6.1.5.5.7.8.5;UTF8:"
#define SRV_NAME "otherName:1.3.6.1.5.5.7.8.7;IA5STRING:"

/* One key for every certificate: key generation is the slow part and the
 * names are all these tests look at. */
static EVP_PKEY *key;
static X509 *ca;
static long next_serial = 1;

static X509 *make_cert(const char *cn, const char *san, X509 *issuer, bool is_ca)
{
	X509 *cert = X509_new();
	ck_assert_ptr_nonnull(cert);
	ck_assert_int_eq(X509_set_version(cert, X509_VERSION_3), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), next_serial++);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	ck_assert_int_eq(X509_set_pubkey(cert, key), 1);
	X509_NAME *name = X509_get_subject_name(cert);
	if (cn != NULL)
		ck_assert_int_eq(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
		    (const unsigned char *)cn, -1, -1, 0), 1);
	else
		ck_assert_int_eq(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
		    (const unsigned char *)"Parley tests", -1, -1, 0), 1);
	X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);

	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer ? issuer : cert, cert, NULL, NULL, 0);
	const char *exts[][2] = {
		{ "basicConstraints", is_ca ? "critical,CA:TRUE" : "CA:FALSE" },
		{ "keyUsage", is_ca ? "critical,keyCertSign,cRLSign" : "digitalSignature" },
		{ "subjectAltName", san },
	};
	for (size_t i = 0; i < ARRAY_LEN(exts); i++) {
		if (exts[i][1] == NULL)
			continue;
		X509_EXTENSION *ext = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
		ck_assert_msg(ext != NULL, "%s = %s", exts[i][0], exts[i][1]);
		ck_assert_int_eq(X509_add_ext(cert, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	ck_assert_int_gt(X509_sign(cert, key, EVP_sha256()), 0);
	return cert;
}

/* Does a CA-issued certificate with this CN and subjectAltName name
 * `domain`? The reason goes to why. */
static bool names(const char *cn, const char *san, const char *domain, char *why, size_t whylen)
{
	X509 *cert = make_cert(cn, san, ca, false);
	unsigned char *der = NULL;
	int len = i2d_X509(cert, &der);
	ck_assert_int_gt(len, 0);
	why[0] = '\0';
	bool match = tls_der_matches_domain(der, (size_t)len, domain, why, whylen);
	ck_assert_msg(why[0] != '\0', "no reason given for %s", domain);
	OPENSSL_free(der);
	X509_free(cert);
	return match;
}

#define NAMES(cn, san, domain) names((cn), (san), (domain), why, sizeof(why))

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	char err[ERRLEN];
	ck_assert_msg(tls_library_init(err, sizeof(err)) == 0, "%s", err);
	key = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(key);
	ca = make_cert("Parley Names Test CA", NULL, NULL, true);
}

static void teardown(void)
{
	X509_free(ca);
	EVP_PKEY_free(key);
}

/* --- DNS-ID ------------------------------------------------------------------ */

START_TEST(test_names_exact_dns_id_matches)
{
	char why[ERRLEN];
	ck_assert_msg(NAMES(NULL, "DNS:example.com", "example.com"), "%s", why);
	ck_assert_str_eq(why, "DNS-ID example.com");
	ck_assert_msg(NAMES(NULL, "DNS:other.net, DNS:example.com", "example.com"), "%s", why);
}
END_TEST

START_TEST(test_names_compare_case_insensitively_without_final_dot)
{
	char why[ERRLEN];
	ck_assert_msg(NAMES(NULL, "DNS:Example.COM", "example.com"), "%s", why);
	ck_assert_msg(NAMES(NULL, "DNS:example.com.", "EXAMPLE.com"), "%s", why);
	ck_assert_msg(NAMES(NULL, "DNS:example.com", "example.com."), "%s", why);
}
END_TEST

START_TEST(test_names_wildcard_matches_one_leftmost_label)
{
	char why[ERRLEN];
	ck_assert_msg(NAMES(NULL, "DNS:*.example.com", "a.example.com"), "%s", why);
	ck_assert_str_eq(why, "DNS-ID *.example.com");
	ck_assert_msg(NAMES(NULL, "DNS:*.Example.com", "XMPP.example.COM"), "%s", why);
}
END_TEST

START_TEST(test_names_wildcard_does_not_match_two_labels)
{
	char why[ERRLEN];
	ck_assert(!NAMES(NULL, "DNS:*.example.com", "a.b.example.com"));
	ck_assert_str_eq(why, "certificate names DNS-ID *.example.com, not a.b.example.com");
}
END_TEST

START_TEST(test_names_wildcard_does_not_match_the_parent_domain)
{
	char why[ERRLEN];
	ck_assert(!NAMES(NULL, "DNS:*.example.com", "example.com"));
	ck_assert(!NAMES(NULL, "DNS:*.example.com", ".example.com"));
}
END_TEST

START_TEST(test_names_partial_and_broad_wildcards_match_nothing)
{
	char why[ERRLEN];
	ck_assert(!NAMES(NULL, "DNS:f*.example.com", "foo.example.com"));
	ck_assert(!NAMES(NULL, "DNS:*oo.example.com", "foo.example.com"));
	ck_assert(!NAMES(NULL, "DNS:a.*.example.com", "a.b.example.com"));
	ck_assert(!NAMES(NULL, "DNS:*.com", "example.com"));
	ck_assert(!NAMES(NULL, "DNS:*", "example"));
	ck_assert(!NAMES(NULL, "DNS:**.example.com", "a.example.com"));
}
END_TEST

START_TEST(test_names_reference_with_a_wildcard_is_refused)
{
	char why[ERRLEN];
	ck_assert(!NAMES(NULL, "DNS:*.example.com", "*.example.com"));
	ck_assert_str_eq(why, "\"*.example.com\" is not a domain name");
}
END_TEST

/* --- SRV-ID and XmppAddr ------------------------------------------------------ */

START_TEST(test_names_srv_id_for_xmpp_server_matches)
{
	char why[ERRLEN];
	ck_assert_msg(NAMES(NULL, SRV_NAME "_xmpp-server.example.com", "example.com"), "%s", why);
	ck_assert_str_eq(why, "SRV-ID _xmpp-server.example.com");
	ck_assert_msg(NAMES(NULL, SRV_NAME "_XMPP-Server.Example.com", "example.com"), "%s", why);
}
END_TEST

START_TEST(test_names_srv_id_of_other_service_or_domain_does_not_match)
{
	char why[ERRLEN];
	ck_assert(!NAMES(NULL, SRV_NAME "_xmpp-client.example.com", "example.com"));
	ck_assert(!NAMES(NULL, SRV_NAME "_xmpp-server.other.com", "example.com"));
	ck_assert(!NAMES(NULL, SRV_NAME "_xmpp-server.*.com", "example.com"));
	ck_assert(!NAMES(NULL, SRV_NAME "example.com", "example.com"));
	ck_assert(!NAMES(NULL, SRV_NAME "_xmpp-server.", "example.com"));
}
END_TEST

START_TEST(test_names_xmpp_addr_of_the_domain_matches)
{
	char why[ERRLEN];
	ck_assert_msg(NAMES(NULL, XMPP_ADDR "example.com", "example.com"), "%s", why);
	ck_assert_str_eq(why, "XmppAddr example.com");
	ck_assert_msg(NAMES(NULL, XMPP_ADDR "Example.Com", "example.com"), "%s", why);
}
END_TEST

START_TEST(test_names_xmpp_addr_of_a_user_or_resource_does_not_match)
{
	char why[ERRLEN];
	ck_assert(!NAMES(NULL, XMPP_ADDR "juliet@example.com", "example.com"));
	ck_assert(!NAMES(NULL, XMPP_ADDR "example.com/res", "example.com"));
	ck_assert(!NAMES(NULL, XMPP_ADDR "*.example.com", "a.example.com"));
}
END_TEST

START_TEST(test_names_xmpp_addr_of_wrong_string_type_does_not_match)
{
	char why[ERRLEN];
	/* RFC 6120 §13.7.1.4 says UTF8String; an IA5String is not an xmppAddr. */
	ck_assert(!NAMES(NULL, "otherName:1.3.6.1.5.5.7.8.5;IA5STRING:example.com", "example.com"));
}
END_TEST

/* --- CN-ID ------------------------------------------------------------------------ */

START_TEST(test_names_cn_is_used_when_there_is_no_subject_alt_name)
{
	char why[ERRLEN];
	ck_assert_msg(NAMES("example.com", NULL, "example.com"), "%s", why);
	ck_assert_str_eq(why, "CN-ID example.com (no subjectAltName identifiers)");
	ck_assert_msg(NAMES("*.example.com", NULL, "a.example.com"), "%s", why);
	ck_assert(!NAMES("*.example.com", NULL, "a.b.example.com"));
	ck_assert_str_eq(why, "certificate names CN *.example.com, not a.b.example.com");
}
END_TEST

START_TEST(test_names_cn_is_used_when_the_alt_names_are_of_other_types)
{
	char why[ERRLEN];
	ck_assert_msg(NAMES("example.com", "IP:127.0.0.1, email:admin@example.com",
	    "example.com"), "%s", why);
}
END_TEST

START_TEST(test_names_cn_is_ignored_when_a_dns_id_is_present)
{
	char why[ERRLEN];
	ck_assert(!NAMES("example.com", "DNS:other.com", "example.com"));
	ck_assert_str_eq(why, "certificate names DNS-ID other.com, not example.com");
	ck_assert(!NAMES("example.com", SRV_NAME "_xmpp-server.other.com", "example.com"));
	ck_assert(!NAMES("example.com", XMPP_ADDR "juliet@example.com", "example.com"));
}
END_TEST

/* --- no match ------------------------------------------------------------------------ */

START_TEST(test_names_no_match_lists_what_the_certificate_names)
{
	char why[ERRLEN];
	ck_assert(!NAMES("ignored.com", "DNS:a.org, " SRV_NAME "_xmpp-server.b.org, "
	    XMPP_ADDR "c.org", "example.com"));
	ck_assert_str_eq(why, "certificate names DNS-ID a.org, SRV-ID _xmpp-server.b.org, "
	    "XmppAddr c.org, not example.com");
	ck_assert(!NAMES(NULL, NULL, "example.com"));
	ck_assert_str_eq(why, "certificate names no domain (example.com)");
	ck_assert(!NAMES(NULL, "DNS:example.com.evil.org", "example.com"));
	ck_assert(!NAMES(NULL, "DNS:xexample.com", "example.com"));
}
END_TEST

START_TEST(test_names_long_lists_of_names_are_cut_in_the_reason)
{
	char why[ERRLEN];
	char san[4096] = "";
	for (int i = 0; i < 60; i++) {
		char one[64];
		snprintf(one, sizeof(one), "%sDNS:host%d.example.org", i ? ", " : "", i);
		strcat(san, one);
	}
	ck_assert(!NAMES(NULL, san, "example.com"));
	ck_assert_ptr_nonnull(strstr(why, ", ..., not example.com"));
	ck_assert_msg(NAMES(NULL, san, "host59.example.org"), "%s", why);
}
END_TEST

START_TEST(test_names_names_with_nul_bytes_are_ignored)
{
	char why[ERRLEN];
	/* "example.com\0.evil.org" as a dNSName, built by hand since the
	 * config syntax cannot carry a NUL. */
	static const char evil[] = "example.com\0.evil.org";
	X509 *cert = make_cert("example.com", "DNS:placeholder.org", ca, false);
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gen = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	ck_assert_int_eq(ASN1_STRING_set(s, evil, sizeof(evil) - 1), 1);
	GENERAL_NAME_set0_value(gen, GEN_DNS, s);
	ck_assert_int_gt(sk_GENERAL_NAME_push(gens, gen), 0);
	ck_assert_int_eq(X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_REPLACE), 1);
	GENERAL_NAMES_free(gens);
	unsigned char *der = NULL;
	int len = i2d_X509(cert, &der);
	ck_assert_int_gt(len, 0);
	/* Neither the DNS-ID nor, since a DNS-ID is present, the CN. */
	ck_assert(!tls_der_matches_domain(der, (size_t)len, "example.com", why, sizeof(why)));
	ck_assert_str_eq(why, "certificate names no domain (example.com)");
	OPENSSL_free(der);
	X509_free(cert);
}
END_TEST

START_TEST(test_names_bytes_that_are_not_a_certificate_match_nothing)
{
	char why[ERRLEN];
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	ck_assert(!tls_der_matches_domain(junk, sizeof(junk), "example.com", why, sizeof(why)));
	ck_assert_str_eq(why, "not a certificate");
}
END_TEST

/* --- internationalized domains ---------------------------------------------------- */

/* münchen.example is xn--mnchen-3ya.example in A-labels. */
START_TEST(test_names_idn_domain_matches_its_a_label_dns_id)
{
	char why[ERRLEN];
	ck_assert_msg(NAMES(NULL, "DNS:xn--mnchen-3ya.example", "münchen.example"), "%s", why);
	ck_assert_msg(NAMES(NULL, "DNS:XN--MNCHEN-3YA.example", "xn--mnchen-3ya.example"), "%s", why);
	ck_assert_msg(NAMES(NULL, "DNS:*.xn--mnchen-3ya.example", "xmpp.münchen.example"), "%s", why);
	ck_assert_msg(NAMES(NULL, SRV_NAME "_xmpp-server.xn--mnchen-3ya.example",
	    "MÜNCHEN.example"), "%s", why);
	ck_assert(!NAMES(NULL, "DNS:xn--mnchen-3ya.example", "munchen.example"));
}
END_TEST

/* A certificate whose only subjectAltName is an xmppAddr with these UTF-8
 * bytes, built by hand: the config syntax's "UTF8:" reads its argument as
 * Latin-1 and would encode "ü" twice. */
static bool names_xmpp_addr_utf8(const char *addr, const char *domain, char *why, size_t whylen)
{
	X509 *cert = make_cert(NULL, "DNS:placeholder.org", ca, false);
	ASN1_UTF8STRING *str = ASN1_UTF8STRING_new();
	ck_assert_int_eq(ASN1_STRING_set(str, addr, (int)strlen(addr)), 1);
	ASN1_TYPE *value = ASN1_TYPE_new();
	ASN1_TYPE_set(value, V_ASN1_UTF8STRING, str);
	GENERAL_NAME *gen = GENERAL_NAME_new();
	ck_assert_int_eq(GENERAL_NAME_set0_othername(gen, OBJ_nid2obj(NID_XmppAddr), value), 1);
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	ck_assert_int_gt(sk_GENERAL_NAME_push(gens, gen), 0);
	ck_assert_int_eq(X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_REPLACE), 1);
	GENERAL_NAMES_free(gens);
	unsigned char *der = NULL;
	int len = i2d_X509(cert, &der);
	ck_assert_int_gt(len, 0);
	bool match = tls_der_matches_domain(der, (size_t)len, domain, why, whylen);
	OPENSSL_free(der);
	X509_free(cert);
	return match;
}

START_TEST(test_names_idn_xmpp_addr_and_cn_in_u_labels_match)
{
	char why[ERRLEN];
	ck_assert_msg(names_xmpp_addr_utf8("münchen.example", "xn--mnchen-3ya.example", why,
	    sizeof(why)), "%s", why);
	ck_assert_str_eq(why, "XmppAddr münchen.example");
	ck_assert_msg(names_xmpp_addr_utf8("MÜNCHEN.example", "münchen.example", why,
	    sizeof(why)), "%s", why);
	ck_assert(!names_xmpp_addr_utf8("münchen.example", "munchen.example", why, sizeof(why)));
	ck_assert_msg(NAMES("münchen.example", NULL, "xn--mnchen-3ya.example"), "%s", why);
	ck_assert_str_eq(why, "CN-ID münchen.example (no subjectAltName identifiers)");
}
END_TEST

/* --- over a connection ------------------------------------------------------------- */

static char dir[PATH_MAX];

static void write_pem(const char *name, X509 *cert, EVP_PKEY *pkey, char *path)
{
	int n = snprintf(path, PATH_MAX, "%s/%s", dir, name);
	ck_assert(n > 0 && n < PATH_MAX);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	if (cert != NULL)
		ck_assert_int_eq(PEM_write_X509(f, cert), 1);
	else
		ck_assert_int_eq(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The receiving server of s2s asks for a certificate (REQUEST) and trusts
 * `ca`; the initiating server presents `cert`. Returns the server side's
 * connection after the handshake; everything else is freed or closed. */
struct link {
	struct tls_context *sctx, *cctx;
	struct tls_conn *server, *client;
	int fds[2];
};

static void link_open(struct link *l, X509 *cert)
{
	char err[ERRLEN] = "", ca_pem[PATH_MAX], cert_pem[PATH_MAX], key_pem[PATH_MAX];
	write_pem("ca.pem", ca, NULL, ca_pem);
	write_pem("peer.pem", cert, NULL, cert_pem);
	write_pem("peer.key", NULL, key, key_pem);

	struct tls_cert_settings certs = { .cert_file = cert_pem, .key_file = key_pem };
	struct tls_settings ss = { .certs = &certs, .ncerts = 1, .ca_file = ca_pem,
	    .verify_peer = TLS_VERIFY_REQUEST };
	struct tls_settings cs = { .certs = &certs, .ncerts = 1, .ca_file = ca_pem };
	l->sctx = tls_context_new_server(&ss, err, sizeof(err));
	ck_assert_msg(l->sctx != NULL, "%s", err);
	l->cctx = tls_context_new_client(&cs, err, sizeof(err));
	ck_assert_msg(l->cctx != NULL, "%s", err);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, l->fds), 0);
	l->server = tls_conn_new_server(l->sctx, l->fds[0], err, sizeof(err));
	ck_assert_msg(l->server != NULL, "%s", err);
	l->client = tls_conn_new_client(l->cctx, l->fds[1], "a.test", NULL, err, sizeof(err));
	ck_assert_msg(l->client != NULL, "%s", err);

	int sres = TLS_WANT_READ, cres = TLS_WANT_READ;
	for (int round = 0; round < 200 && (sres != TLS_OK || cres != TLS_OK); round++) {
		if (sres != TLS_OK)
			sres = tls_handshake(l->server, err, sizeof(err));
		ck_assert_msg(sres != TLS_ERROR, "server: %s", err);
		if (cres != TLS_OK)
			cres = tls_handshake(l->client, err, sizeof(err));
		ck_assert_msg(cres != TLS_ERROR, "client: %s", err);
		struct pollfd pfd[2] = { { .fd = l->fds[0], .events = POLLIN },
		    { .fd = l->fds[1], .events = POLLIN } };
		(void)poll(pfd, 2, 20);
	}
	ck_assert_int_eq(sres, TLS_OK);
	ck_assert_int_eq(cres, TLS_OK);
}

static void link_close(struct link *l)
{
	tls_conn_free(&l->server);
	tls_conn_free(&l->client);
	tls_context_free(&l->sctx);
	tls_context_free(&l->cctx);
	close(l->fds[0]);
	close(l->fds[1]);
}

static void conn_setup(void)
{
	snprintf(dir, sizeof(dir), "%s/parley-names-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void conn_teardown(void)
{
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

START_TEST(test_names_peer_from_the_ca_authenticates_its_domains)
{
	char why[ERRLEN];
	struct link l;
	X509 *cert = make_cert("a.test", "DNS:a.test, " SRV_NAME "_xmpp-server.b.test", ca, false);
	link_open(&l, cert);
	/* Both ways: the server checks the initiator, the initiator the server. */
	ck_assert_msg(tls_peer_authenticates_domain(l.server, "a.test", why, sizeof(why)), "%s", why);
	ck_assert_msg(tls_peer_authenticates_domain(l.server, "b.test", why, sizeof(why)), "%s", why);
	ck_assert_str_eq(why, "SRV-ID _xmpp-server.b.test");
	ck_assert_msg(tls_peer_authenticates_domain(l.client, "b.test", why, sizeof(why)), "%s", why);
	ck_assert(!tls_peer_authenticates_domain(l.server, "c.test", why, sizeof(why)));
	ck_assert_str_eq(why, "certificate names DNS-ID a.test, SRV-ID _xmpp-server.b.test, not c.test");
	link_close(&l);
	X509_free(cert);
}
END_TEST

START_TEST(test_names_self_signed_peer_names_its_domain_but_does_not_authenticate)
{
	char why[ERRLEN];
	struct link l;
	X509 *cert = make_cert("a.test", "DNS:a.test", NULL, false);
	link_open(&l, cert);
	ck_assert_msg(tls_peer_matches_domain(l.server, "a.test", why, sizeof(why)), "%s", why);
	ck_assert(!tls_peer_authenticates_domain(l.server, "a.test", why, sizeof(why)));
	ck_assert_msg(strncmp(why, "certificate not trusted: ", 25) == 0, "%s", why);
	link_close(&l);
	X509_free(cert);
}
END_TEST

START_TEST(test_names_peer_without_certificate_matches_nothing)
{
	char why[ERRLEN], err[ERRLEN] = "";
	struct link l;
	X509 *cert = make_cert("a.test", "DNS:a.test", ca, false);
	link_open(&l, cert);
	/* The client presented one; a fresh server conn has none. */
	struct tls_conn *fresh = tls_conn_new_server(l.sctx, l.fds[0], err, sizeof(err));
	ck_assert_msg(fresh != NULL, "%s", err);
	ck_assert(!tls_peer_matches_domain(fresh, "a.test", why, sizeof(why)));
	ck_assert_str_eq(why, "peer sent no certificate");
	ck_assert(!tls_peer_authenticates_domain(fresh, "a.test", why, sizeof(why)));
	tls_conn_free(&fresh);
	link_close(&l);
	X509_free(cert);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("tls_names");
	TCase *tc = tcase_create("der");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_names_exact_dns_id_matches);
	tcase_add_test(tc, test_names_compare_case_insensitively_without_final_dot);
	tcase_add_test(tc, test_names_wildcard_matches_one_leftmost_label);
	tcase_add_test(tc, test_names_wildcard_does_not_match_two_labels);
	tcase_add_test(tc, test_names_wildcard_does_not_match_the_parent_domain);
	tcase_add_test(tc, test_names_partial_and_broad_wildcards_match_nothing);
	tcase_add_test(tc, test_names_reference_with_a_wildcard_is_refused);
	tcase_add_test(tc, test_names_srv_id_for_xmpp_server_matches);
	tcase_add_test(tc, test_names_srv_id_of_other_service_or_domain_does_not_match);
	tcase_add_test(tc, test_names_xmpp_addr_of_the_domain_matches);
	tcase_add_test(tc, test_names_xmpp_addr_of_a_user_or_resource_does_not_match);
	tcase_add_test(tc, test_names_xmpp_addr_of_wrong_string_type_does_not_match);
	tcase_add_test(tc, test_names_cn_is_used_when_there_is_no_subject_alt_name);
	tcase_add_test(tc, test_names_cn_is_used_when_the_alt_names_are_of_other_types);
	tcase_add_test(tc, test_names_cn_is_ignored_when_a_dns_id_is_present);
	tcase_add_test(tc, test_names_no_match_lists_what_the_certificate_names);
	tcase_add_test(tc, test_names_long_lists_of_names_are_cut_in_the_reason);
	tcase_add_test(tc, test_names_names_with_nul_bytes_are_ignored);
	tcase_add_test(tc, test_names_bytes_that_are_not_a_certificate_match_nothing);
	tcase_add_test(tc, test_names_idn_domain_matches_its_a_label_dns_id);
	tcase_add_test(tc, test_names_idn_xmpp_addr_and_cn_in_u_labels_match);
	suite_add_tcase(s, tc);

	TCase *conn = tcase_create("conn");
	tcase_add_unchecked_fixture(conn, setup, teardown);
	tcase_add_checked_fixture(conn, conn_setup, conn_teardown);
	tcase_add_test(conn, test_names_peer_from_the_ca_authenticates_its_domains);
	tcase_add_test(conn, test_names_self_signed_peer_names_its_domain_but_does_not_authenticate);
	tcase_add_test(conn, test_names_peer_without_certificate_matches_nothing);
	suite_add_tcase(s, conn);
	return s;
}
