/*
 * test_certgen.c — self-signed certificates (common/certgen.c): what they
 * carry, that the files load where Parley loads them (common/tls.c), and
 * that a peer that trusts the certificate accepts it for its domain.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certgen.h"
#include "tls.h"
#include "unit.h"

static char dir[PATH_MAX];

static void path_in_dir(char *out, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	ck_assert(n > 0 && n < PATH_MAX);
}

static void setup(void)
{
	char err[ERRLEN];
	signal(SIGPIPE, SIG_IGN);
	ck_assert_msg(tls_library_init(err, sizeof(err)) == 0, "%s", err);
	snprintf(dir, sizeof(dir), "%s/parley-certgen-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void make(const char *const *domains, size_t n, enum certgen_key_type type, X509 **cert,
    EVP_PKEY **key)
{
	char err[ERRLEN] = "";
	struct certgen_request req = { .domains = domains, .ndomains = n, .key_type = type };
	ck_assert_msg(certgen_make(&req, cert, key, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_nonnull(*cert);
	ck_assert_ptr_nonnull(*key);
}

/* The dNSName entries of the certificate's subjectAltName, comma-joined. */
static void dns_names(X509 *cert, char *out, size_t len)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	out[0] = '\0';
	ck_assert_ptr_nonnull(names);
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type != GEN_DNS)
			continue;
		const ASN1_IA5STRING *s = gn->d.dNSName;
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%s%.*s", used ? "," : "", ASN1_STRING_length(s),
		    (const char *)ASN1_STRING_get0_data(s));
	}
	GENERAL_NAMES_free(names);
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_msg(cert != NULL, "%s holds no certificate", path);
	return cert;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_msg(key != NULL, "%s holds no key", path);
	return key;
}

static void write_files(const char *domain, const char *cert_path, const char *key_path,
    mode_t mode)
{
	char err[ERRLEN] = "";
	const char *domains[] = { domain };
	struct certgen_request req = { .domains = domains, .ndomains = 1 };
	ck_assert_msg(certgen_write(&req, cert_path, key_path, mode, err, sizeof(err)) == 0, "%s",
	    err);
}

START_TEST(test_certgen_key_matches_certificate_and_signs_it)
{
	static const char *const domains[] = { "example.org" };
	X509 *cert;
	EVP_PKEY *key;
	make(domains, 1, CERTGEN_KEY_EC_P256, &cert, &key);

	ck_assert_int_eq(X509_check_private_key(cert, key), 1);
	/* Self-signed: issued by its own subject, and its own key verifies it. */
	ck_assert_int_eq(X509_check_issued(cert, cert), X509_V_OK);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)), 0);
	ck_assert_int_eq(X509_verify(cert, key), 1);
	ck_assert_int_eq(X509_self_signed(cert, 1), 1);
	ck_assert_int_eq(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
	ck_assert_int_eq(EVP_PKEY_get_bits(key), 256);
	/* An end-entity certificate, v3. */
	ck_assert_int_eq(X509_get_version(cert), X509_VERSION_3);
	ck_assert_int_eq(X509_check_ca(cert), 0);
	X509_free(cert);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_certgen_certificate_is_valid_now_for_a_year)
{
	static const char *const domains[] = { "example.org" };
	X509 *cert;
	EVP_PKEY *key;
	make(domains, 1, CERTGEN_KEY_EC_P256, &cert, &key);

	ck_assert_int_lt(X509_cmp_current_time(X509_get0_notBefore(cert)), 0);
	ck_assert_int_gt(X509_cmp_current_time(X509_get0_notAfter(cert)), 0);
	int days = -1, secs = -1;
	ck_assert_int_eq(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)), 1);
	ck_assert_msg(days == CERTGEN_DAYS_DEFAULT - 1 || days == CERTGEN_DAYS_DEFAULT,
	    "expires in %d days", days);
	X509_free(cert);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_certgen_carries_the_domain_as_dns_san)
{
	static const char *const domains[] = { "Example.ORG" };
	X509 *cert;
	EVP_PKEY *key;
	char names[512];
	make(domains, 1, CERTGEN_KEY_EC_P256, &cert, &key);

	dns_names(cert, names, sizeof(names));
	ck_assert_str_eq(names, "example.org");
	ck_assert_int_eq(X509_check_host(cert, "example.org", 0, 0, NULL), 1);
	ck_assert_int_ne(X509_check_host(cert, "other.example.org", 0, 0, NULL), 1);
	char cn[128];
	ck_assert_int_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
	    cn, sizeof(cn)), 0);
	ck_assert_str_eq(cn, "example.org");
	X509_free(cert);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_certgen_stores_an_idn_domain_as_a_labels)
{
	static const char *const domains[] = { "bücher.example", "müller.example" };
	X509 *cert;
	EVP_PKEY *key;
	char names[512];
	make(domains, 2, CERTGEN_KEY_EC_P256, &cert, &key);

	dns_names(cert, names, sizeof(names));
	ck_assert_str_eq(names, "xn--bcher-kva.example,xn--mller-kva.example");
	ck_assert_int_eq(X509_check_host(cert, "xn--bcher-kva.example", 0, 0, NULL), 1);
	X509_free(cert);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_certgen_makes_rsa_2048_on_request)
{
	static const char *const domains[] = { "example.org" };
	X509 *cert;
	EVP_PKEY *key;
	make(domains, 1, CERTGEN_KEY_RSA_2048, &cert, &key);
	ck_assert_int_eq(EVP_PKEY_get_base_id(key), EVP_PKEY_RSA);
	ck_assert_int_eq(EVP_PKEY_get_bits(key), 2048);
	ck_assert_int_eq(X509_check_private_key(cert, key), 1);
	ck_assert_int_eq(X509_verify(cert, key), 1);
	X509_free(cert);
	EVP_PKEY_free(key);
}
END_TEST

START_TEST(test_certgen_serial_numbers_are_random_and_positive)
{
	static const char *const domains[] = { "example.org" };
	X509 *a, *b;
	EVP_PKEY *ka, *kb;
	make(domains, 1, CERTGEN_KEY_EC_P256, &a, &ka);
	make(domains, 1, CERTGEN_KEY_EC_P256, &b, &kb);
	const ASN1_INTEGER *sa = X509_get0_serialNumber(a), *sb = X509_get0_serialNumber(b);
	ck_assert_int_ne(ASN1_INTEGER_cmp(sa, sb), 0);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sa, NULL);
	ck_assert(!BN_is_negative(bn));
	ck_assert_int_gt(BN_num_bits(bn), 64);
	BN_free(bn);
	X509_free(a);
	X509_free(b);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
}
END_TEST

START_TEST(test_certgen_refuses_what_is_not_a_domain)
{
	static const char *const bad[] = { "juliet@example.org" };
	struct certgen_request req = { .domains = bad, .ndomains = 1 };
	X509 *cert = (X509 *)1;
	EVP_PKEY *key = (EVP_PKEY *)1;
	char err[ERRLEN] = "";

	ck_assert_int_eq(certgen_make(&req, &cert, &key, err, sizeof(err)), -1);
	ck_assert_ptr_null(cert);
	ck_assert_ptr_null(key);
	ck_assert_msg(strstr(err, "juliet@example.org") != NULL, "%s", err);

	req.ndomains = 0;
	ck_assert_int_eq(certgen_make(&req, &cert, &key, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "at least one domain") != NULL, "%s", err);
}
END_TEST

START_TEST(test_certgen_writes_files_that_tls_loads_with_a_private_key_mode)
{
	char cert_path[PATH_MAX], key_path[PATH_MAX], err[ERRLEN] = "";
	struct stat st;
	path_in_dir(cert_path, "example.org.crt");
	path_in_dir(key_path, "example.org.key");
	mode_t old = umask(0); /* the mode must not depend on the caller's umask */
	write_files("example.org", cert_path, key_path, 0600);
	umask(old);

	ck_assert_int_eq(stat(key_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(cert_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);

	X509 *cert = read_cert(cert_path);
	EVP_PKEY *key = read_key(key_path);
	ck_assert_int_eq(X509_check_private_key(cert, key), 1);
	X509_free(cert);
	EVP_PKEY_free(key);

	struct tls_cert_settings cs = { .cert_file = cert_path, .key_file = key_path };
	struct tls_settings s = { .certs = &cs, .ncerts = 1 };
	struct tls_context *ctx = tls_context_new_server(&s, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	tls_context_free(&ctx);

	/* Written again: replaced, no temporary file left behind. */
	write_files("example.org", cert_path, key_path, 0640);
	ck_assert_int_eq(stat(key_path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	int n = 0;
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (strncmp(e->d_name, "example.org.", 12) == 0)
			n++;
	closedir(d);
	ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(test_certgen_one_file_holds_certificate_then_key)
{
	char both[PATH_MAX], err[ERRLEN] = "";
	struct stat st;
	path_in_dir(both, "both.pem");
	write_files("example.org", both, both, 0600);
	ck_assert_int_eq(stat(both, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);

	X509 *cert = read_cert(both);
	EVP_PKEY *key = read_key(both);
	ck_assert_int_eq(X509_check_private_key(cert, key), 1);
	X509_free(cert);
	EVP_PKEY_free(key);

	/* tls.key defaults to tls.certificate: the same file serves both. */
	struct tls_cert_settings cs = { .cert_file = both, .key_file = both };
	struct tls_settings s = { .certs = &cs, .ncerts = 1 };
	struct tls_context *ctx = tls_context_new_server(&s, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "%s", err);
	tls_context_free(&ctx);
}
END_TEST

START_TEST(test_certgen_write_fails_cleanly_in_a_missing_directory)
{
	char cert_path[PATH_MAX], key_path[PATH_MAX], err[ERRLEN] = "";
	const char *domains[] = { "example.org" };
	struct certgen_request req = { .domains = domains, .ndomains = 1 };
	path_in_dir(cert_path, "nowhere/example.crt");
	path_in_dir(key_path, "nowhere/example.key");
	ck_assert_int_eq(certgen_write(&req, cert_path, key_path, 0600, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "nowhere") != NULL, "%s", err);
}
END_TEST

/* Drive both ends of a handshake over a socketpair until both are done. */
static bool handshake(struct tls_conn *server, struct tls_conn *client, int sfd, int cfd,
    char *err, size_t errlen)
{
	bool sdone = false, cdone = false;
	for (int round = 0; round < 200 && !(sdone && cdone); round++) {
		if (!sdone) {
			int r = tls_handshake(server, err, errlen);
			if (r == TLS_OK)
				sdone = true;
			else if (r != TLS_WANT_READ && r != TLS_WANT_WRITE)
				return false;
		}
		if (!cdone) {
			int r = tls_handshake(client, err, errlen);
			if (r == TLS_OK)
				cdone = true;
			else if (r != TLS_WANT_READ && r != TLS_WANT_WRITE)
				return false;
		}
		struct pollfd p[2] = { { sfd, POLLIN, 0 }, { cfd, POLLIN, 0 } };
		poll(p, 2, 10);
	}
	return sdone && cdone;
}

START_TEST(test_certgen_peer_that_trusts_the_certificate_accepts_it_for_its_domain)
{
	char cert_path[PATH_MAX], key_path[PATH_MAX], err[ERRLEN] = "";
	path_in_dir(cert_path, "pinned.crt");
	path_in_dir(key_path, "pinned.key");
	write_files("bücher.example", cert_path, key_path, 0600);

	struct tls_cert_settings cs = { .cert_file = cert_path, .key_file = key_path };
	struct tls_settings ss = { .certs = &cs, .ncerts = 1 };
	struct tls_context *sctx = tls_context_new_server(&ss, err, sizeof(err));
	ck_assert_msg(sctx != NULL, "%s", err);
	/* A remote server that pinned this certificate as its only trust anchor. */
	struct tls_settings cls = { .ca_file = cert_path, .verify_peer = TLS_VERIFY_REQUIRE };
	struct tls_context *cctx = tls_context_new_client(&cls, err, sizeof(err));
	ck_assert_msg(cctx != NULL, "%s", err);

	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct tls_conn *server = tls_conn_new_server(sctx, sv[0], err, sizeof(err));
	ck_assert_msg(server != NULL, "%s", err);
	struct tls_conn *client = tls_conn_new_client(cctx, sv[1], "xn--bcher-kva.example",
	    "xn--bcher-kva.example", err, sizeof(err));
	ck_assert_msg(client != NULL, "%s", err);
	ck_assert_msg(handshake(server, client, sv[0], sv[1], err, sizeof(err)), "handshake: %s",
	    err);
	ck_assert_msg(tls_peer_verified(client, err, sizeof(err)), "%s", err);

	tls_conn_free(&client);
	tls_conn_free(&server);
	close(sv[0]);
	close(sv[1]);

	/* The same trust does not stretch to another name. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	server = tls_conn_new_server(sctx, sv[0], err, sizeof(err));
	client = tls_conn_new_client(cctx, sv[1], "other.example", "other.example", err,
	    sizeof(err));
	ck_assert_ptr_nonnull(server);
	ck_assert_ptr_nonnull(client);
	ck_assert(!handshake(server, client, sv[0], sv[1], err, sizeof(err)));
	tls_conn_free(&client);
	tls_conn_free(&server);
	close(sv[0]);
	close(sv[1]);
	tls_context_free(&cctx);
	tls_context_free(&sctx);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("certgen");
	TCase *tc = tcase_create("certgen");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_certgen_key_matches_certificate_and_signs_it);
	tcase_add_test(tc, test_certgen_certificate_is_valid_now_for_a_year);
	tcase_add_test(tc, test_certgen_carries_the_domain_as_dns_san);
	tcase_add_test(tc, test_certgen_stores_an_idn_domain_as_a_labels);
	tcase_add_test(tc, test_certgen_makes_rsa_2048_on_request);
	tcase_add_test(tc, test_certgen_serial_numbers_are_random_and_positive);
	tcase_add_test(tc, test_certgen_refuses_what_is_not_a_domain);
	tcase_add_test(tc, test_certgen_writes_files_that_tls_loads_with_a_private_key_mode);
	tcase_add_test(tc, test_certgen_one_file_holds_certificate_then_key);
	tcase_add_test(tc, test_certgen_write_fails_cleanly_in_a_missing_directory);
	tcase_add_test(tc, test_certgen_peer_that_trusts_the_certificate_accepts_it_for_its_domain);
	suite_add_tcase(s, tc);
	return s;
}
