/*
 * test_tls.c — TLS contexts and connections (common/tls.c), end to end over
 * socketpairs. The fixture builds a throwaway CA and certificates with the
 * OpenSSL API in a mkdtemp() directory (no openssl command needed), once for
 * the suite since key generation is the slow part; each test runs server and
 * client in one process, non-blocking, driving each side's WANT_READ /
 * WANT_WRITE with poll() as the event loop would.
 */
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
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "unit.h"

#define XMPP_ADDR_OID "1.3.6.1.5.5.7.8.5"
#define SRV_NAME_OID "1.3.6.1.5.5.7.8.7"

/* --- throwaway PKI ----------------------------------------------------------- */

static char dir[PATH_MAX];
static long next_serial = 1;

/* Files the fixture writes; each test picks what it needs. */
static char ca_pem[PATH_MAX];          /* the test CA */
static char other_ca_pem[PATH_MAX];    /* a CA that signed nothing here */
static char example_pem[PATH_MAX];     /* CN=example.org, DNS:example.org */
static char example_key[PATH_MAX];
static char default_pem[PATH_MAX];     /* CN=default.test, DNS:default.test */
static char default_key[PATH_MAX];
static char wild_pem[PATH_MAX];        /* CN=wild.test, DNS:*.wild.test */
static char wild_key[PATH_MAX];
static char client_pem[PATH_MAX];      /* CN=juliet, xmppAddr + DNS + SRVName SANs */
static char client_key[PATH_MAX];
static char stray_key[PATH_MAX];       /* matches no certificate */
static char encrypted_key[PATH_MAX];   /* example.org's key under a passphrase */

static void path_in_dir(char *out, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	ck_assert(n > 0 && n < PATH_MAX);
}

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(key);
	return key;
}

static void add_ext(X509 *cert, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	ck_assert_msg(ext != NULL, "extension %s = %s", OBJ_nid2sn(nid), value);
	ck_assert_int_eq(X509_add_ext(cert, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* The client certificate's last xmppAddr hides a NUL ("evil\0@example.org"),
 * which must never be reported; the config syntax cannot say that. */
static bool add_nul_xmpp_addr;

static void add_san(X509 *cert, X509V3_CTX *v3, const char *san)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, NID_subject_alt_name, san);
	ck_assert_msg(ext != NULL, "subjectAltName = %s", san);
	GENERAL_NAMES *names = X509V3_EXT_d2i(ext);
	X509_EXTENSION_free(ext);
	ck_assert_ptr_nonnull(names);
	if (add_nul_xmpp_addr) {
		static const char evil[] = "evil\0@example.org";
		ASN1_UTF8STRING *str = ASN1_UTF8STRING_new();
		ck_assert_int_eq(ASN1_STRING_set(str, evil, sizeof(evil) - 1), 1);
		ASN1_TYPE *value = ASN1_TYPE_new();
		ASN1_TYPE_set(value, V_ASN1_UTF8STRING, str);
		GENERAL_NAME *name = GENERAL_NAME_new();
		ck_assert_int_eq(GENERAL_NAME_set0_othername(name, OBJ_txt2obj(XMPP_ADDR_OID, 1),
		    value), 1);
		ck_assert_int_gt(sk_GENERAL_NAME_push(names, name), 0);
	}
	ck_assert_int_eq(X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT), 1);
	GENERAL_NAMES_free(names);
}

/* A certificate for `key`, signed by issuer/signer (self-signed if NULL). */
static X509 *make_cert(const char *cn, const char *san, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *signer, bool is_ca)
{
	X509 *cert = X509_new();
	ck_assert_ptr_nonnull(cert);
	ck_assert_int_eq(X509_set_version(cert, X509_VERSION_3), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), next_serial++);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	ck_assert_int_eq(X509_set_pubkey(cert, key), 1);
	X509_NAME *name = X509_get_subject_name(cert);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);

	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer ? issuer : cert, cert, NULL, NULL, 0);
	add_ext(cert, &v3, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
	add_ext(cert, &v3, NID_subject_key_identifier, "hash");
	if (is_ca)
		add_ext(cert, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
	else
		add_ext(cert, &v3, NID_authority_key_identifier, "keyid");
	if (san != NULL)
		add_san(cert, &v3, san);
	ck_assert_int_gt(X509_sign(cert, signer ? signer : key, EVP_sha256()), 0);
	return cert;
}

static void write_cert(const char *path, X509 *cert)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_X509(f, cert), 1);
	fclose(f);
}

static void write_key(const char *path, EVP_PKEY *key, const char *passphrase)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	const EVP_CIPHER *cipher = passphrase ? EVP_aes_256_cbc() : NULL;
	ck_assert_int_eq(PEM_write_PrivateKey(f, key, cipher, (const unsigned char *)passphrase,
	    passphrase ? (int)strlen(passphrase) : 0, NULL, NULL), 1);
	fclose(f);
}

/* Issue a leaf from the CA and write it, with its key, under `name`. */
static void issue(const char *name, const char *cn, const char *san, X509 *ca, EVP_PKEY *ca_key,
    char *cert_path, char *key_path)
{
	char file[64];
	EVP_PKEY *key = new_key();
	X509 *cert = make_cert(cn, san, key, ca, ca_key, false);
	snprintf(file, sizeof(file), "%s.pem", name);
	path_in_dir(cert_path, file);
	write_cert(cert_path, cert);
	snprintf(file, sizeof(file), "%s.key", name);
	path_in_dir(key_path, file);
	write_key(key_path, key, NULL);
	if (strcmp(name, "example") == 0) {
		path_in_dir(encrypted_key, "encrypted.key");
		write_key(encrypted_key, key, "secret");
	}
	X509_free(cert);
	EVP_PKEY_free(key);
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN); /* as every daemon does at start */
	char err[ERRLEN];
	ck_assert_msg(tls_library_init(err, sizeof(err)) == 0, "%s", err);

	snprintf(dir, sizeof(dir), "%s/parley-tls-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));

	EVP_PKEY *ca_key = new_key();
	X509 *ca = make_cert("Parley Test CA", NULL, ca_key, NULL, NULL, true);
	path_in_dir(ca_pem, "ca.pem");
	write_cert(ca_pem, ca);

	EVP_PKEY *other_key = new_key();
	X509 *other = make_cert("Some Other CA", NULL, other_key, NULL, NULL, true);
	path_in_dir(other_ca_pem, "other-ca.pem");
	write_cert(other_ca_pem, other);
	X509_free(other);
	EVP_PKEY_free(other_key);

	issue("example", "example.org", "DNS:example.org", ca, ca_key, example_pem, example_key);
	issue("default", "default.test", "DNS:default.test", ca, ca_key, default_pem, default_key);
	issue("wild", "wild.test", "DNS:*.wild.test", ca, ca_key, wild_pem, wild_key);
	add_nul_xmpp_addr = true;
	issue("client", "juliet",
	    "otherName:" XMPP_ADDR_OID ";UTF8:juliet@example.org, "
	    "DNS:client.example.org, "
	    "otherName:" SRV_NAME_OID ";IA5STRING:_xmpp-client.example.org",
	    ca, ca_key, client_pem, client_key);
	add_nul_xmpp_addr = false;

	EVP_PKEY *stray = new_key();
	path_in_dir(stray_key, "stray.key");
	write_key(stray_key, stray, NULL);
	EVP_PKEY_free(stray);

	X509_free(ca);
	EVP_PKEY_free(ca_key);
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

/* --- contexts ------------------------------------------------------------------- */

static struct tls_cert_settings cert_of(const char *domain, const char *cert, const char *key)
{
	return (struct tls_cert_settings){ .domain = domain, .cert_file = cert, .key_file = key };
}

static struct tls_context *server_ctx(const struct tls_settings *s)
{
	char err[ERRLEN] = "";
	struct tls_context *ctx = tls_context_new_server(s, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "server context: %s", err);
	return ctx;
}

static struct tls_context *client_ctx(const struct tls_settings *s)
{
	char err[ERRLEN] = "";
	struct tls_context *ctx = tls_context_new_client(s, err, sizeof(err));
	ck_assert_msg(ctx != NULL, "client context: %s", err);
	return ctx;
}

/* A server on example.org's certificate, and a client that checks nothing. */
static struct tls_context *plain_server(void)
{
	struct tls_cert_settings cert = cert_of(NULL, example_pem, example_key);
	struct tls_settings s = { .certs = &cert, .ncerts = 1 };
	return server_ctx(&s);
}

static struct tls_context *plain_client(enum tls_version max)
{
	struct tls_settings s = { .max_version = max };
	return client_ctx(&s);
}

/* --- driving both ends ------------------------------------------------------------- */

/* One end of a connection: ours (conn) or a bare OpenSSL one (raw), for
 * peers our API refuses to build, like a TLS 1.1 client. */
struct side {
	int fd;
	struct tls_conn *conn;
	SSL *raw;
	int res;
	char err[ERRLEN];
};

struct pair {
	struct side server, client;
};

static bool finished(int res)
{
	return res == TLS_OK || res == TLS_ERROR || res == TLS_CLOSED;
}

static int side_handshake(struct side *s)
{
	if (s->conn != NULL)
		return tls_handshake(s->conn, s->err, sizeof(s->err));
	ERR_clear_error();
	int ret = SSL_do_handshake(s->raw);
	if (ret == 1)
		return TLS_OK;
	switch (SSL_get_error(s->raw, ret)) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	default:
		ERR_error_string_n(ERR_get_error(), s->err, sizeof(s->err));
		return TLS_ERROR;
	}
}

static void make_socketpair(struct pair *p)
{
	int fds[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
	memset(p, 0, sizeof(*p));
	p->server.fd = fds[0];
	p->client.fd = fds[1];
	p->server.res = p->client.res = TLS_WANT_READ;
}

static void pair_open(struct pair *p, struct tls_context *sctx, struct tls_context *cctx,
    const char *server_name, const char *verify_name)
{
	char err[ERRLEN] = "";
	make_socketpair(p);
	p->server.conn = tls_conn_new_server(sctx, p->server.fd, err, sizeof(err));
	ck_assert_msg(p->server.conn != NULL, "%s", err);
	p->client.conn = tls_conn_new_client(cctx, p->client.fd, server_name, verify_name,
	    err, sizeof(err));
	ck_assert_msg(p->client.conn != NULL, "%s", err);
}

static void pair_close(struct pair *p)
{
	tls_conn_free(&p->server.conn);
	tls_conn_free(&p->client.conn);
	SSL_free(p->server.raw);
	SSL_free(p->client.raw);
	close(p->server.fd);
	close(p->client.fd);
}

/* Run both handshakes as an event loop would: call each side again only
 * when poll() says its fd is ready for what it last asked for. Stops when
 * both have finished, or when nothing moves for a while (a side waiting
 * for a peer that gave up). A side that asks for the wrong direction
 * stalls here, so this checks the WANT_* results too. */
static void pair_handshake(struct pair *p)
{
	struct side *sides[2] = { &p->server, &p->client };
	bool ready[2] = { true, true };
	for (int round = 0; round < 1000; round++) {
		for (int i = 0; i < 2; i++)
			if (ready[i] && !finished(sides[i]->res))
				sides[i]->res = side_handshake(sides[i]);
		if (finished(p->server.res) && finished(p->client.res))
			return;
		struct pollfd pfd[2];
		for (int i = 0; i < 2; i++) {
			pfd[i].fd = finished(sides[i]->res) ? -1 : sides[i]->fd;
			pfd[i].events = sides[i]->res == TLS_WANT_WRITE ? POLLOUT : POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, 2, 300) <= 0)
			return;
		for (int i = 0; i < 2; i++)
			ready[i] = pfd[i].revents != 0;
	}
}

static void pair_connect(struct pair *p, struct tls_context *sctx, struct tls_context *cctx,
    const char *server_name, const char *verify_name)
{
	pair_open(p, sctx, cctx, server_name, verify_name);
	pair_handshake(p);
	ck_assert_msg(p->server.res == TLS_OK, "server handshake: %d %s", p->server.res, p->server.err);
	ck_assert_msg(p->client.res == TLS_OK, "client handshake: %d %s", p->client.res, p->client.err);
}

/* Move `len` bytes from one end to the other. The writer writes until the
 * socket is full before the reader drains it, so WANT_WRITE and partial
 * writes happen; returns whether the writer saw WANT_WRITE. */
static bool transfer(struct side *from, struct side *to, const unsigned char *data,
    unsigned char *out, size_t len)
{
	char err[ERRLEN] = "";
	size_t sent = 0, got = 0;
	bool saw_want_write = false;
	ssize_t wres = 0;
	while (got < len) {
		while (sent < len) {
			wres = tls_write(from->conn, data + sent, len - sent, err, sizeof(err));
			if (wres <= 0)
				break;
			sent += (size_t)wres;
		}
		ck_assert_msg(sent == len || wres == TLS_WANT_WRITE || wres == TLS_WANT_READ,
		    "write: %zd %s", wres, err);
		if (wres == TLS_WANT_WRITE)
			saw_want_write = true;
		ssize_t rres;
		while (got < len && (rres = tls_read(to->conn, out + got, len - got, err, sizeof(err))) > 0)
			got += (size_t)rres;
		if (got == len)
			break;
		ck_assert_msg(rres == TLS_WANT_READ, "read: %zd %s", rres, err);
		struct pollfd pfd[2] = {
			{ .fd = sent < len ? from->fd : -1,
			  .events = wres == TLS_WANT_READ ? POLLIN : POLLOUT },
			{ .fd = to->fd, .events = POLLIN },
		};
		ck_assert_msg(poll(pfd, 2, 2000) > 0, "transfer stalled at %zu/%zu sent, %zu received",
		    sent, len, got);
	}
	return saw_want_write;
}

static void check_channel_bindings_match(struct pair *p, enum tls_channel_binding type,
    size_t expect_len, unsigned char *copy)
{
	unsigned char s[TLS_CB_MAX], c[TLS_CB_MAX];
	size_t slen = 0, clen = 0;
	char err[ERRLEN] = "";
	ck_assert_msg(tls_channel_binding(p->server.conn, type, s, sizeof(s), &slen, err,
	    sizeof(err)) == 0, "server %s: %s", tls_channel_binding_name(type), err);
	ck_assert_msg(tls_channel_binding(p->client.conn, type, c, sizeof(c), &clen, err,
	    sizeof(err)) == 0, "client %s: %s", tls_channel_binding_name(type), err);
	ck_assert_uint_eq(slen, expect_len);
	ck_assert_uint_eq(clen, expect_len);
	ck_assert_mem_eq(s, c, slen);
	static const unsigned char zeros[TLS_CB_MAX];
	ck_assert(memcmp(s, zeros, slen) != 0);
	if (copy != NULL)
		memcpy(copy, s, slen);
}

/* --- data and versions ---------------------------------------------------------------- */

START_TEST(test_tls_carries_data_both_ways_over_tls13_by_default)
{
	struct tls_context *sctx = plain_server();
	struct tls_context *cctx = plain_client(TLS_VERSION_DEFAULT);
	struct pair p;
	pair_connect(&p, sctx, cctx, "example.org", NULL);

	ck_assert_int_eq(tls_version(p.server.conn), TLS_VERSION_1_3);
	ck_assert_str_eq(tls_version_name(p.client.conn), "TLSv1.3");
	ck_assert_str_eq(tls_cipher_name(p.server.conn), tls_cipher_name(p.client.conn));
	ck_assert_str_ne(tls_cipher_name(p.server.conn), "none");
	ck_assert(tls_handshake_done(p.server.conn) && tls_handshake_done(p.client.conn));
	ck_assert(!tls_session_resumed(p.server.conn));

	size_t len = 1 << 20; /* more than the socket buffers hold */
	unsigned char *data = malloc(len), *out = malloc(len);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	memset(out, 0, len);
	ck_assert(transfer(&p.client, &p.server, data, out, len));
	ck_assert_mem_eq(out, data, len);
	memset(out, 0, len);
	ck_assert(transfer(&p.server, &p.client, data, out, len));
	ck_assert_mem_eq(out, data, len);

	free(data);
	free(out);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
	ck_assert_ptr_null(sctx);
}
END_TEST

START_TEST(test_tls_negotiates_tls12_when_client_caps_its_version)
{
	struct tls_context *sctx = plain_server();
	struct tls_context *cctx = plain_client(TLS_VERSION_1_2);
	struct pair p;
	pair_connect(&p, sctx, cctx, NULL, NULL);
	ck_assert_int_eq(tls_version(p.server.conn), TLS_VERSION_1_2);
	ck_assert_str_eq(tls_version_name(p.client.conn), "TLSv1.2");

	unsigned char out[5] = { 0 };
	ck_assert(!transfer(&p.client, &p.server, (const unsigned char *)"hello", out, 5));
	ck_assert_mem_eq(out, "hello", 5);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_refuses_client_capped_at_tls11)
{
	struct tls_context *sctx = plain_server();
	char err[ERRLEN] = "";
	struct pair p;
	make_socketpair(&p);
	p.server.conn = tls_conn_new_server(sctx, p.server.fd, err, sizeof(err));
	ck_assert_msg(p.server.conn != NULL, "%s", err);

	/* An old client, built by hand: our own contexts cannot go below 1.2. */
	SSL_CTX *old = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(old);
	SSL_CTX_set_security_level(old, 0);
	ck_assert_int_eq(SSL_CTX_set_cipher_list(old, "DEFAULT:@SECLEVEL=0"), 1);
	ck_assert_int_eq(SSL_CTX_set_min_proto_version(old, TLS1_VERSION), 1);
	ck_assert_int_eq(SSL_CTX_set_max_proto_version(old, TLS1_1_VERSION), 1);
	p.client.raw = SSL_new(old);
	SSL_CTX_free(old);
	SSL_set_fd(p.client.raw, p.client.fd);
	SSL_set_connect_state(p.client.raw);

	pair_handshake(&p);
	ck_assert_int_eq(p.server.res, TLS_ERROR);
	ck_assert_msg(strstr(p.server.err, "unsupported protocol") != NULL, "%s", p.server.err);
	ck_assert_int_eq(p.client.res, TLS_ERROR); /* it got the protocol_version alert */
	pair_close(&p);
	tls_context_free(&sctx);
}
END_TEST

START_TEST(test_tls_server_with_tls13_minimum_refuses_tls12_client)
{
	struct tls_cert_settings cert = cert_of(NULL, example_pem, example_key);
	struct tls_settings s = { .certs = &cert, .ncerts = 1, .min_version = TLS_VERSION_1_3 };
	struct tls_context *sctx = server_ctx(&s);
	struct tls_context *cctx = plain_client(TLS_VERSION_1_2);
	struct pair p;
	pair_open(&p, sctx, cctx, NULL, NULL);
	pair_handshake(&p);
	ck_assert_int_eq(p.server.res, TLS_ERROR);
	ck_assert_int_eq(p.client.res, TLS_ERROR);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_settings_refuse_versions_below_tls12)
{
	char err[ERRLEN] = "";
	struct tls_settings s = { .max_version = (enum tls_version)0x0302 /* TLS 1.1 */ };
	ck_assert_ptr_null(tls_context_new_client(&s, err, sizeof(err)));
	ck_assert_msg(strstr(err, "only 1.2 and 1.3") != NULL, "%s", err);

	s.min_version = TLS_VERSION_1_3;
	s.max_version = TLS_VERSION_1_2;
	ck_assert_ptr_null(tls_context_new_client(&s, err, sizeof(err)));
	ck_assert_msg(strstr(err, "below the minimum") != NULL, "%s", err);
}
END_TEST

/* --- channel binding ---------------------------------------------------------------------- */

START_TEST(test_tls_exporter_matches_on_both_ends_over_tls13)
{
	struct tls_context *sctx = plain_server();
	struct tls_context *cctx = plain_client(TLS_VERSION_DEFAULT);
	struct pair p;
	pair_connect(&p, sctx, cctx, NULL, NULL);

	check_channel_bindings_match(&p, TLS_CB_EXPORTER, 32, NULL);
	/* ecdsa-with-SHA256 certificate: SHA-256 of it. */
	check_channel_bindings_match(&p, TLS_CB_SERVER_END_POINT, 32, NULL);

	unsigned char cb[TLS_CB_MAX];
	size_t len = 0;
	char err[ERRLEN] = "";
	ck_assert_int_eq(tls_channel_binding(p.server.conn, TLS_CB_UNIQUE, cb, sizeof(cb), &len,
	    err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "TLS 1.3") != NULL, "%s", err);
	ck_assert_int_eq(tls_channel_binding(p.client.conn, TLS_CB_UNIQUE, cb, sizeof(cb), &len,
	    NULL, 0), -1);

	unsigned expect = 1u << TLS_CB_EXPORTER | 1u << TLS_CB_SERVER_END_POINT;
	ck_assert_uint_eq(tls_channel_bindings_available(p.server.conn), expect);
	ck_assert_uint_eq(tls_channel_bindings_available(p.client.conn), expect);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_unique_is_the_client_finished_over_tls12)
{
	struct tls_context *sctx = plain_server();
	struct tls_context *cctx = plain_client(TLS_VERSION_1_2);
	struct pair p;
	pair_connect(&p, sctx, cctx, NULL, NULL);

	unsigned char unique[TLS_CB_MAX];
	check_channel_bindings_match(&p, TLS_CB_UNIQUE, 12, unique);
	/* RFC 5929: on a full handshake, the client's Finished. */
	unsigned char finished[TLS_CB_MAX];
	ck_assert_uint_eq(SSL_get_finished(tls_conn_ssl(p.client.conn), finished, sizeof(finished)), 12);
	ck_assert_mem_eq(unique, finished, 12);

	/* OpenSSL negotiates extended master secret, so tls-exporter is
	 * defined on TLS 1.2 too. */
	check_channel_bindings_match(&p, TLS_CB_EXPORTER, 32, NULL);
	ck_assert_uint_eq(tls_channel_bindings_available(p.server.conn),
	    1u << TLS_CB_UNIQUE | 1u << TLS_CB_EXPORTER | 1u << TLS_CB_SERVER_END_POINT);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_exporter_unavailable_over_tls12_without_extended_master_secret)
{
	struct tls_context *sctx = plain_server();
	struct tls_context *cctx = plain_client(TLS_VERSION_1_2);
	struct pair p;
	pair_open(&p, sctx, cctx, NULL, NULL);
	SSL_set_options(tls_conn_ssl(p.client.conn), SSL_OP_NO_EXTENDED_MASTER_SECRET);
	pair_handshake(&p);
	ck_assert_int_eq(p.server.res, TLS_OK);
	ck_assert_int_eq(p.client.res, TLS_OK);

	unsigned char cb[TLS_CB_MAX];
	size_t len = 0;
	char err[ERRLEN] = "";
	ck_assert_int_eq(tls_channel_binding(p.server.conn, TLS_CB_EXPORTER, cb, sizeof(cb), &len,
	    err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "extended master secret") != NULL, "%s", err);
	/* A full handshake without EMS still has a sound tls-unique. */
	check_channel_bindings_match(&p, TLS_CB_UNIQUE, 12, NULL);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_channel_binding_waits_for_the_handshake)
{
	struct tls_context *sctx = plain_server();
	struct tls_context *cctx = plain_client(TLS_VERSION_DEFAULT);
	struct pair p;
	pair_open(&p, sctx, cctx, NULL, NULL);
	unsigned char cb[TLS_CB_MAX];
	size_t len = 0;
	char err[ERRLEN] = "";
	ck_assert_int_eq(tls_channel_binding(p.client.conn, TLS_CB_EXPORTER, cb, sizeof(cb), &len,
	    err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "handshake not complete") != NULL, "%s", err);
	ck_assert_uint_eq(tls_channel_bindings_available(p.server.conn), 0);
	ck_assert_str_eq(tls_version_name(p.server.conn), "none");
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_channel_binding_names_round_trip)
{
	for (int i = 0; i < TLS_CB_COUNT; i++)
		ck_assert_int_eq(tls_channel_binding_parse(
		    tls_channel_binding_name((enum tls_channel_binding)i)), i);
	ck_assert_str_eq(tls_channel_binding_name(TLS_CB_EXPORTER), "tls-exporter");
	ck_assert_int_eq(tls_channel_binding_parse("tls-unique"), TLS_CB_UNIQUE);
	ck_assert_int_eq(tls_channel_binding_parse("tls-foo"), -1);
}
END_TEST

/* --- sessions ------------------------------------------------------------------------------ */

START_TEST(test_tls_issues_no_session_tickets_by_default)
{
	struct tls_context *sctx = plain_server();
	struct tls_context *cctx = plain_client(TLS_VERSION_DEFAULT);
	for (int version = 0; version < 2; version++) {
		struct tls_context *c = version == 0 ? cctx : plain_client(TLS_VERSION_1_2);
		struct pair p;
		pair_connect(&p, sctx, c, NULL, NULL);
		/* A TLS 1.3 ticket would arrive after the handshake, with data. */
		unsigned char out[2];
		transfer(&p.server, &p.client, (const unsigned char *)"hi", out, 2);
		SSL_SESSION *session = SSL_get1_session(tls_conn_ssl(p.client.conn));
		ck_assert_ptr_nonnull(session);
		ck_assert_int_eq(SSL_SESSION_is_resumable(session), 0);
		SSL_SESSION_free(session);
		pair_close(&p);
		if (c != cctx)
			tls_context_free(&c);
	}
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_unique_of_resumed_tls12_session_is_the_server_finished)
{
	struct tls_cert_settings cert = cert_of(NULL, example_pem, example_key);
	struct tls_settings ss = { .certs = &cert, .ncerts = 1, .session_tickets = true };
	struct tls_settings cs = { .max_version = TLS_VERSION_1_2, .session_tickets = true };
	struct tls_context *sctx = server_ctx(&ss);
	struct tls_context *cctx = client_ctx(&cs);

	struct pair first;
	pair_connect(&first, sctx, cctx, NULL, NULL);
	unsigned char first_unique[TLS_CB_MAX];
	check_channel_bindings_match(&first, TLS_CB_UNIQUE, 12, first_unique);
	SSL_SESSION *session = SSL_get1_session(tls_conn_ssl(first.client.conn));
	ck_assert_int_eq(SSL_SESSION_is_resumable(session), 1);
	/* OpenSSL forgets a session whose connection ended without close_notify. */
	char err[ERRLEN] = "";
	ck_assert_int_eq(tls_shutdown(first.client.conn, err, sizeof(err)), TLS_OK);
	pair_close(&first);

	struct pair again;
	pair_open(&again, sctx, cctx, NULL, NULL);
	ck_assert_int_eq(SSL_set_session(tls_conn_ssl(again.client.conn), session), 1);
	SSL_SESSION_free(session);
	pair_handshake(&again);
	ck_assert_msg(again.server.res == TLS_OK, "%s", again.server.err);
	ck_assert_msg(again.client.res == TLS_OK, "%s", again.client.err);
	ck_assert(tls_session_resumed(again.server.conn));
	ck_assert(tls_session_resumed(again.client.conn));

	unsigned char unique[TLS_CB_MAX], finished[TLS_CB_MAX];
	check_channel_bindings_match(&again, TLS_CB_UNIQUE, 12, unique);
	/* RFC 5929: on a resumption the server's Finished comes first. */
	ck_assert_uint_eq(SSL_get_finished(tls_conn_ssl(again.server.conn), finished,
	    sizeof(finished)), 12);
	ck_assert_mem_eq(unique, finished, 12);
	ck_assert(memcmp(unique, first_unique, 12) != 0);
	pair_close(&again);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

/* --- SNI ------------------------------------------------------------------------------------ */

/* Connect with `sni` and return the subject the client saw. */
static void subject_for(struct tls_context *sctx, const char *sni, char *subject, size_t len,
    const char *expect_server_name)
{
	struct tls_context *cctx = plain_client(TLS_VERSION_DEFAULT);
	struct pair p;
	pair_connect(&p, sctx, cctx, sni, NULL);
	ck_assert(tls_peer_subject(p.client.conn, subject, len));
	const char *seen = tls_server_name(p.server.conn);
	if (expect_server_name == NULL)
		ck_assert_ptr_null(seen);
	else
		ck_assert_str_eq(seen, expect_server_name);
	pair_close(&p);
	tls_context_free(&cctx);
}

START_TEST(test_tls_sni_picks_the_certificate_of_the_requested_domain)
{
	struct tls_cert_settings certs[] = {
		cert_of(NULL, default_pem, default_key),        /* the default */
		cert_of("Example.ORG.", example_pem, example_key), /* named explicitly */
		cert_of(NULL, wild_pem, wild_key),              /* by its *.wild.test */
	};
	struct tls_settings s = { .certs = certs, .ncerts = 3 };
	struct tls_context *sctx = server_ctx(&s);
	char subject[256];

	subject_for(sctx, "example.org", subject, sizeof(subject), "example.org");
	ck_assert_str_eq(subject, "CN=example.org");
	subject_for(sctx, "EXAMPLE.org", subject, sizeof(subject), "EXAMPLE.org");
	ck_assert_str_eq(subject, "CN=example.org");
	subject_for(sctx, "chat.wild.test", subject, sizeof(subject), "chat.wild.test");
	ck_assert_str_eq(subject, "CN=wild.test");
	subject_for(sctx, "default.test", subject, sizeof(subject), "default.test");
	ck_assert_str_eq(subject, "CN=default.test");
	tls_context_free(&sctx);
}
END_TEST

/* Hosts are configured in Unicode; SNI carries A-labels. A client given a
 * Unicode name sends its A-label form. */
START_TEST(test_tls_sni_matches_an_idn_domain_in_either_form)
{
	struct tls_cert_settings certs[] = {
		cert_of(NULL, default_pem, default_key),
		cert_of("b\xc3\xbc" "cher.example", example_pem, example_key),
	};
	struct tls_settings s = { .certs = certs, .ncerts = 2 };
	struct tls_context *sctx = server_ctx(&s);
	char subject[256];

	subject_for(sctx, "xn--bcher-kva.example", subject, sizeof(subject), "xn--bcher-kva.example");
	ck_assert_str_eq(subject, "CN=example.org");
	subject_for(sctx, "b\xc3\xbc" "cher.example", subject, sizeof(subject), "xn--bcher-kva.example");
	ck_assert_str_eq(subject, "CN=example.org");
	tls_context_free(&sctx);
}
END_TEST

START_TEST(test_tls_sni_falls_back_to_the_default_certificate)
{
	struct tls_cert_settings certs[] = {
		cert_of(NULL, default_pem, default_key),
		cert_of("example.org", example_pem, example_key),
		cert_of(NULL, wild_pem, wild_key),
	};
	struct tls_settings s = { .certs = certs, .ncerts = 3 };
	struct tls_context *sctx = server_ctx(&s);
	char subject[256];

	subject_for(sctx, "unknown.test", subject, sizeof(subject), "unknown.test");
	ck_assert_str_eq(subject, "CN=default.test");
	subject_for(sctx, "a.b.wild.test", subject, sizeof(subject), "a.b.wild.test");
	ck_assert_str_eq(subject, "CN=default.test"); /* a wildcard covers one label */
	subject_for(sctx, NULL, subject, sizeof(subject), NULL);
	ck_assert_str_eq(subject, "CN=default.test");
	tls_context_free(&sctx);
}
END_TEST

START_TEST(test_tls_refuses_two_certificates_for_one_domain)
{
	struct tls_cert_settings certs[] = {
		cert_of("example.org", example_pem, example_key),
		cert_of("EXAMPLE.org", default_pem, default_key),
	};
	struct tls_settings s = { .certs = certs, .ncerts = 2 };
	char err[ERRLEN] = "";
	ck_assert_ptr_null(tls_context_new_server(&s, err, sizeof(err)));
	ck_assert_msg(strstr(err, "EXAMPLE.org has more than one certificate") != NULL, "%s", err);
}
END_TEST

/* --- configuration errors ------------------------------------------------------------------ */

START_TEST(test_tls_refuses_key_that_does_not_match_its_certificate)
{
	struct tls_cert_settings cert = cert_of(NULL, example_pem, stray_key);
	struct tls_settings s = { .certs = &cert, .ncerts = 1 };
	char err[ERRLEN] = "";
	ck_assert_ptr_null(tls_context_new_server(&s, err, sizeof(err)));
	char expect[2 * PATH_MAX + 64];
	snprintf(expect, sizeof(expect), "private key %s does not match certificate %s",
	    stray_key, example_pem);
	ck_assert_str_eq(err, expect);
}
END_TEST

START_TEST(test_tls_names_a_missing_file)
{
	char missing[PATH_MAX], expect[PATH_MAX + 64], err[ERRLEN] = "";
	path_in_dir(missing, "missing.pem");

	struct tls_cert_settings cert = cert_of(NULL, missing, example_key);
	struct tls_settings s = { .certs = &cert, .ncerts = 1 };
	ck_assert_ptr_null(tls_context_new_server(&s, err, sizeof(err)));
	snprintf(expect, sizeof(expect), "certificate file %s: No such file or directory", missing);
	ck_assert_str_eq(err, expect);

	cert = cert_of(NULL, example_pem, missing);
	ck_assert_ptr_null(tls_context_new_server(&s, err, sizeof(err)));
	snprintf(expect, sizeof(expect), "private key file %s: No such file or directory", missing);
	ck_assert_str_eq(err, expect);

	struct tls_settings c = { .ca_file = missing, .verify_peer = TLS_VERIFY_REQUIRE };
	ck_assert_ptr_null(tls_context_new_client(&c, err, sizeof(err)));
	snprintf(expect, sizeof(expect), "CA file %s: No such file or directory", missing);
	ck_assert_str_eq(err, expect);
}
END_TEST

START_TEST(test_tls_refuses_a_file_that_is_not_a_certificate)
{
	struct tls_cert_settings cert = cert_of(NULL, example_key, example_key);
	struct tls_settings s = { .certs = &cert, .ncerts = 1 };
	char err[ERRLEN] = "";
	ck_assert_ptr_null(tls_context_new_server(&s, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "certificate file ", 17) == 0 && strstr(err, example_key) &&
	    strstr(err, "no start line"), "%s", err);
}
END_TEST

START_TEST(test_tls_refuses_an_encrypted_key)
{
	struct tls_cert_settings cert = cert_of(NULL, example_pem, encrypted_key);
	struct tls_settings s = { .certs = &cert, .ncerts = 1 };
	char err[ERRLEN] = "";
	ck_assert_ptr_null(tls_context_new_server(&s, err, sizeof(err)));
	ck_assert_msg(strstr(err, encrypted_key) && strstr(err, "is encrypted"), "%s", err);
}
END_TEST

START_TEST(test_tls_refuses_bad_cipher_settings)
{
	struct tls_cert_settings cert = cert_of(NULL, example_pem, example_key);
	struct tls_settings s = { .certs = &cert, .ncerts = 1, .ciphers = "NO-SUCH-CIPHER" };
	char err[ERRLEN] = "";
	ck_assert_ptr_null(tls_context_new_server(&s, err, sizeof(err)));
	ck_assert_str_eq(err, "TLS 1.2 cipher list \"NO-SUCH-CIPHER\": no cipher match");

	s.ciphers = "ECDHE+AESGCM:!aNULL";
	s.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_512_OOPS";
	ck_assert_ptr_null(tls_context_new_server(&s, err, sizeof(err)));
	ck_assert_str_eq(err, "TLS 1.3 ciphersuites \"TLS_AES_128_GCM_SHA256:TLS_AES_512_OOPS\": "
	    "unknown ciphersuite \"TLS_AES_512_OOPS\"");

	/* And good settings are used: only the suite named is negotiated. */
	s.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
	struct tls_context *sctx = server_ctx(&s);
	struct tls_context *cctx = plain_client(TLS_VERSION_DEFAULT);
	struct pair p;
	pair_connect(&p, sctx, cctx, NULL, NULL);
	ck_assert_str_eq(tls_cipher_name(p.client.conn), "TLS_CHACHA20_POLY1305_SHA256");
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_requires_a_certificate_on_a_server)
{
	struct tls_settings s = { 0 };
	char err[ERRLEN] = "";
	ck_assert_ptr_null(tls_context_new_server(&s, err, sizeof(err)));
	ck_assert_str_eq(err, "a TLS server needs at least one certificate");
}
END_TEST

/* --- verifying the peer ---------------------------------------------------------------------- */

START_TEST(test_tls_client_accepts_server_with_the_right_name)
{
	struct tls_context *sctx = plain_server();
	struct tls_settings cs = { .ca_file = ca_pem, .verify_peer = TLS_VERIFY_REQUIRE };
	struct tls_context *cctx = client_ctx(&cs);
	struct pair p;
	pair_connect(&p, sctx, cctx, "example.org", "example.org");
	char err[ERRLEN] = "";
	ck_assert_msg(tls_peer_verified(p.client.conn, err, sizeof(err)), "%s", err);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_client_refuses_server_with_a_wrong_name)
{
	struct tls_context *sctx = plain_server();
	struct tls_settings cs = { .ca_file = ca_pem, .verify_peer = TLS_VERIFY_REQUIRE };
	struct tls_context *cctx = client_ctx(&cs);
	struct pair p;
	pair_open(&p, sctx, cctx, "example.net", "example.net");
	pair_handshake(&p);
	ck_assert_int_eq(p.client.res, TLS_ERROR);
	ck_assert_str_eq(p.client.err, "TLS handshake: certificate verify failed: hostname mismatch");
	ck_assert_int_eq(p.server.res, TLS_ERROR); /* told by the client's alert */
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_client_refuses_server_from_an_unknown_ca)
{
	struct tls_context *sctx = plain_server();
	struct tls_settings cs = { .ca_file = other_ca_pem, .verify_peer = TLS_VERIFY_REQUIRE };
	struct tls_context *cctx = client_ctx(&cs);
	struct pair p;
	pair_open(&p, sctx, cctx, "example.org", "example.org");
	pair_handshake(&p);
	ck_assert_int_eq(p.client.res, TLS_ERROR);
	ck_assert_msg(strstr(p.client.err, "unable to get local issuer certificate"), "%s",
	    p.client.err);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_request_mode_records_a_wrong_name_without_failing)
{
	/* What s2s needs: finish the handshake, then decide (dialback). */
	struct tls_context *sctx = plain_server();
	struct tls_settings cs = { .ca_file = ca_pem, .verify_peer = TLS_VERIFY_REQUEST };
	struct tls_context *cctx = client_ctx(&cs);
	char err[ERRLEN] = "";

	struct pair p;
	pair_connect(&p, sctx, cctx, "example.net", "example.net");
	ck_assert(!tls_peer_verified(p.client.conn, err, sizeof(err)));
	ck_assert_str_eq(err, "hostname mismatch");
	pair_close(&p);

	pair_connect(&p, sctx, cctx, "example.org", "example.org");
	ck_assert_msg(tls_peer_verified(p.client.conn, err, sizeof(err)), "%s", err);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_loads_a_hashed_ca_directory)
{
	char cas[PATH_MAX], hashed[PATH_MAX + 32], err[ERRLEN] = "";
	path_in_dir(cas, "cas");
	ck_assert_int_eq(mkdir(cas, 0700), 0);
	struct tls_settings cs = { .ca_path = cas, .verify_peer = TLS_VERIFY_REQUIRE };
	ck_assert_ptr_null(tls_context_new_client(&cs, err, sizeof(err)));
	ck_assert_msg(strstr(err, cas) && strstr(err, "no hashed certificates"), "%s", err);

	FILE *f = fopen(ca_pem, "r");
	X509 *ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(ca);
	snprintf(hashed, sizeof(hashed), "%s/%08lx.0", cas, X509_subject_name_hash(ca));
	write_cert(hashed, ca);
	X509_free(ca);

	struct tls_context *cctx = client_ctx(&cs);
	struct tls_context *sctx = plain_server();
	struct pair p;
	pair_connect(&p, sctx, cctx, "example.org", "example.org");
	ck_assert_msg(tls_peer_verified(p.client.conn, err, sizeof(err)), "%s", err);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_reads_client_certificate_identities)
{
	struct tls_cert_settings scert = cert_of(NULL, example_pem, example_key);
	struct tls_settings ss = { .certs = &scert, .ncerts = 1, .ca_file = ca_pem,
	    .verify_peer = TLS_VERIFY_REQUEST };
	struct tls_cert_settings ccert = cert_of(NULL, client_pem, client_key);
	struct tls_settings cs = { .certs = &ccert, .ncerts = 1 };
	struct tls_context *sctx = server_ctx(&ss);
	struct tls_context *cctx = client_ctx(&cs);
	struct pair p;
	pair_connect(&p, sctx, cctx, "example.org", NULL);

	char err[ERRLEN] = "";
	ck_assert(tls_peer_has_certificate(p.server.conn));
	ck_assert_msg(tls_peer_verified(p.server.conn, err, sizeof(err)), "%s", err);
	char subject[128];
	ck_assert(tls_peer_subject(p.server.conn, subject, sizeof(subject)));
	ck_assert_str_eq(subject, "CN=juliet");

	struct tls_identities ids;
	tls_peer_identities(p.server.conn, &ids);
	ck_assert_uint_eq(ids.count, 3); /* the xmppAddr with a NUL is left out */
	ck_assert_int_eq(ids.ids[0].type, TLS_ID_XMPP_ADDR);
	ck_assert_str_eq(ids.ids[0].value, "juliet@example.org");
	ck_assert_int_eq(ids.ids[1].type, TLS_ID_DNS_NAME);
	ck_assert_str_eq(ids.ids[1].value, "client.example.org");
	ck_assert_int_eq(ids.ids[2].type, TLS_ID_SRV_NAME);
	ck_assert_str_eq(ids.ids[2].value, "_xmpp-client.example.org");
	tls_identities_free(&ids);
	ck_assert_uint_eq(ids.count, 0);

	/* The other way: the client reads the server's DNS name. */
	tls_peer_identities(p.client.conn, &ids);
	ck_assert_uint_eq(ids.count, 1);
	ck_assert_int_eq(ids.ids[0].type, TLS_ID_DNS_NAME);
	ck_assert_str_eq(ids.ids[0].value, "example.org");
	tls_identities_free(&ids);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_request_mode_accepts_client_without_certificate)
{
	struct tls_cert_settings scert = cert_of(NULL, example_pem, example_key);
	struct tls_settings ss = { .certs = &scert, .ncerts = 1, .ca_file = ca_pem,
	    .verify_peer = TLS_VERIFY_REQUEST };
	struct tls_context *sctx = server_ctx(&ss);
	struct tls_context *cctx = plain_client(TLS_VERSION_DEFAULT);
	struct pair p;
	pair_connect(&p, sctx, cctx, NULL, NULL);
	char err[ERRLEN] = "";
	ck_assert(!tls_peer_has_certificate(p.server.conn));
	ck_assert(!tls_peer_verified(p.server.conn, err, sizeof(err)));
	ck_assert_str_eq(err, "peer sent no certificate");
	struct tls_identities ids;
	tls_peer_identities(p.server.conn, &ids);
	ck_assert_uint_eq(ids.count, 0);
	tls_identities_free(&ids);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_request_mode_accepts_untrusted_client_certificate)
{
	/* SASL EXTERNAL and s2s decide later; the handshake must not fail. */
	struct tls_cert_settings scert = cert_of(NULL, example_pem, example_key);
	struct tls_settings ss = { .certs = &scert, .ncerts = 1, .ca_file = other_ca_pem,
	    .verify_peer = TLS_VERIFY_REQUEST };
	struct tls_cert_settings ccert = cert_of(NULL, client_pem, client_key);
	struct tls_settings cs = { .certs = &ccert, .ncerts = 1 };
	struct tls_context *sctx = server_ctx(&ss);
	struct tls_context *cctx = client_ctx(&cs);
	struct pair p;
	pair_connect(&p, sctx, cctx, NULL, NULL);
	char err[ERRLEN] = "";
	ck_assert(tls_peer_has_certificate(p.server.conn));
	ck_assert(!tls_peer_verified(p.server.conn, err, sizeof(err)));
	ck_assert_str_eq(err, "unable to verify the first certificate");
	struct tls_identities ids;
	tls_peer_identities(p.server.conn, &ids);
	ck_assert_uint_eq(ids.count, 3);
	ck_assert_str_eq(ids.ids[0].value, "juliet@example.org");
	tls_identities_free(&ids);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_require_mode_refuses_client_without_certificate)
{
	struct tls_cert_settings scert = cert_of(NULL, example_pem, example_key);
	struct tls_settings ss = { .certs = &scert, .ncerts = 1, .ca_file = ca_pem,
	    .verify_peer = TLS_VERIFY_REQUIRE };
	struct tls_context *sctx = server_ctx(&ss);
	struct tls_context *cctx = plain_client(TLS_VERSION_DEFAULT);
	struct pair p;
	pair_open(&p, sctx, cctx, NULL, NULL);
	pair_handshake(&p);
	ck_assert_int_eq(p.server.res, TLS_ERROR);
	ck_assert_msg(strstr(p.server.err, "peer did not return a certificate"), "%s", p.server.err);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

/* --- ALPN --------------------------------------------------------------------------------------- */

START_TEST(test_tls_alpn_agrees_on_xmpp_client)
{
	static const char *const server_alpn[] = { "xmpp-server", "xmpp-client" };
	static const char *const client_alpn[] = { "h2", "xmpp-client" };
	static const char *const both_alpn[] = { "xmpp-client", "xmpp-server" };
	static const char *const other_alpn[] = { "h2" };
	struct tls_cert_settings cert = cert_of(NULL, example_pem, example_key);
	struct tls_settings ss = { .certs = &cert, .ncerts = 1, .alpn = server_alpn, .nalpn = 2 };
	struct tls_settings cs = { .alpn = client_alpn, .nalpn = 2 };
	struct tls_settings os = { .alpn = other_alpn, .nalpn = 1 };
	struct tls_context *sctx = server_ctx(&ss);
	struct tls_context *cctx = client_ctx(&cs);
	struct tls_context *octx = client_ctx(&os);
	char proto[32];

	struct pair p;
	pair_connect(&p, sctx, cctx, NULL, NULL);
	ck_assert(tls_alpn(p.server.conn, proto, sizeof(proto)));
	ck_assert_str_eq(proto, "xmpp-client");
	ck_assert(tls_alpn(p.client.conn, proto, sizeof(proto)));
	ck_assert_str_eq(proto, "xmpp-client");
	pair_close(&p);

	/* Several in common: the server's preference wins. */
	struct tls_settings bs = { .alpn = both_alpn, .nalpn = 2 };
	struct tls_context *bctx = client_ctx(&bs);
	pair_connect(&p, sctx, bctx, NULL, NULL);
	ck_assert(tls_alpn(p.client.conn, proto, sizeof(proto)));
	ck_assert_str_eq(proto, "xmpp-server");
	pair_close(&p);
	tls_context_free(&bctx);

	/* Nothing in common: the handshake goes on without ALPN. */
	pair_connect(&p, sctx, octx, NULL, NULL);
	ck_assert(!tls_alpn(p.server.conn, proto, sizeof(proto)));
	ck_assert(!tls_alpn(p.client.conn, proto, sizeof(proto)));
	pair_close(&p);

	char err[ERRLEN] = "";
	static const char *const empty_alpn[] = { "" };
	struct tls_settings bad = { .alpn = empty_alpn, .nalpn = 1 };
	ck_assert_ptr_null(tls_context_new_client(&bad, err, sizeof(err)));
	ck_assert_str_eq(err, "ALPN protocol 1: length must be 1 to 255 bytes");
	tls_context_free(&sctx);
	tls_context_free(&cctx);
	tls_context_free(&octx);
}
END_TEST

/* --- closing ------------------------------------------------------------------------------------- */

START_TEST(test_tls_close_notify_is_seen_as_closed)
{
	struct tls_context *sctx = plain_server();
	struct tls_context *cctx = plain_client(TLS_VERSION_DEFAULT);
	struct pair p;
	pair_connect(&p, sctx, cctx, NULL, NULL);
	char err[ERRLEN] = "";
	unsigned char buf[16];

	ck_assert_int_eq(tls_read(p.server.conn, buf, sizeof(buf), err, sizeof(err)), TLS_WANT_READ);
	ck_assert_int_eq(tls_shutdown(p.client.conn, err, sizeof(err)), TLS_OK);
	ck_assert_int_eq(tls_shutdown(p.client.conn, err, sizeof(err)), TLS_OK); /* idempotent */
	ck_assert_int_eq(tls_read(p.server.conn, buf, sizeof(buf), err, sizeof(err)), TLS_CLOSED);
	ck_assert_int_eq(tls_read(p.server.conn, buf, sizeof(buf), err, sizeof(err)), TLS_CLOSED);

	/* The server answers with its own; the client, still reading, sees it. */
	ck_assert_int_eq(tls_shutdown(p.server.conn, err, sizeof(err)), TLS_OK);
	ck_assert_int_eq(tls_read(p.client.conn, buf, sizeof(buf), err, sizeof(err)), TLS_CLOSED);
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_eof_without_close_notify_is_an_error)
{
	struct tls_context *sctx = plain_server();
	struct tls_context *cctx = plain_client(TLS_VERSION_DEFAULT);
	struct pair p;
	pair_connect(&p, sctx, cctx, NULL, NULL);
	char err[ERRLEN] = "";
	unsigned char buf[16];

	close(p.client.fd);
	p.client.fd = -1;
	ck_assert_int_eq(tls_read(p.server.conn, buf, sizeof(buf), err, sizeof(err)), TLS_ERROR);
	ck_assert_str_eq(err, "TLS read: peer closed the connection without close_notify");
	/* Once failed, nothing more is tried, and nothing is sent. */
	ck_assert_int_eq(tls_write(p.server.conn, "x", 1, err, sizeof(err)), TLS_ERROR);
	ck_assert_int_eq(tls_shutdown(p.server.conn, err, sizeof(err)), TLS_ERROR);
	ck_assert_str_eq(err, "TLS connection has already failed");
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_write_to_a_closed_socket_is_an_error_with_reason)
{
	struct tls_context *sctx = plain_server();
	struct tls_context *cctx = plain_client(TLS_VERSION_DEFAULT);
	struct pair p;
	pair_connect(&p, sctx, cctx, NULL, NULL);
	char err[ERRLEN] = "";

	close(p.client.fd);
	p.client.fd = -1;
	ck_assert_int_eq(tls_write(p.server.conn, "hello", 5, err, sizeof(err)), TLS_ERROR);
	ck_assert_str_eq(err, "TLS write: Broken pipe");
	pair_close(&p);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
}
END_TEST

START_TEST(test_tls_connections_outlive_their_context)
{
	struct tls_context *sctx = plain_server();
	struct tls_context *cctx = plain_client(TLS_VERSION_DEFAULT);
	struct pair p;
	pair_open(&p, sctx, cctx, NULL, NULL);
	tls_context_free(&sctx);
	tls_context_free(&cctx);
	ck_assert_ptr_null(sctx);
	pair_handshake(&p);
	ck_assert_msg(p.server.res == TLS_OK, "%s", p.server.err);
	ck_assert_msg(p.client.res == TLS_OK, "%s", p.client.err);
	pair_close(&p);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_tls_carries_data_both_ways_over_tls13_by_default);
	tcase_add_test(tc, test_tls_negotiates_tls12_when_client_caps_its_version);
	tcase_add_test(tc, test_tls_refuses_client_capped_at_tls11);
	tcase_add_test(tc, test_tls_server_with_tls13_minimum_refuses_tls12_client);
	tcase_add_test(tc, test_tls_settings_refuse_versions_below_tls12);
	tcase_add_test(tc, test_tls_exporter_matches_on_both_ends_over_tls13);
	tcase_add_test(tc, test_tls_unique_is_the_client_finished_over_tls12);
	tcase_add_test(tc, test_tls_exporter_unavailable_over_tls12_without_extended_master_secret);
	tcase_add_test(tc, test_tls_channel_binding_waits_for_the_handshake);
	tcase_add_test(tc, test_tls_channel_binding_names_round_trip);
	tcase_add_test(tc, test_tls_issues_no_session_tickets_by_default);
	tcase_add_test(tc, test_tls_unique_of_resumed_tls12_session_is_the_server_finished);
	tcase_add_test(tc, test_tls_sni_picks_the_certificate_of_the_requested_domain);
	tcase_add_test(tc, test_tls_sni_falls_back_to_the_default_certificate);
	tcase_add_test(tc, test_tls_sni_matches_an_idn_domain_in_either_form);
	tcase_add_test(tc, test_tls_refuses_two_certificates_for_one_domain);
	tcase_add_test(tc, test_tls_refuses_key_that_does_not_match_its_certificate);
	tcase_add_test(tc, test_tls_names_a_missing_file);
	tcase_add_test(tc, test_tls_refuses_a_file_that_is_not_a_certificate);
	tcase_add_test(tc, test_tls_refuses_an_encrypted_key);
	tcase_add_test(tc, test_tls_refuses_bad_cipher_settings);
	tcase_add_test(tc, test_tls_requires_a_certificate_on_a_server);
	tcase_add_test(tc, test_tls_client_accepts_server_with_the_right_name);
	tcase_add_test(tc, test_tls_client_refuses_server_with_a_wrong_name);
	tcase_add_test(tc, test_tls_client_refuses_server_from_an_unknown_ca);
	tcase_add_test(tc, test_tls_request_mode_records_a_wrong_name_without_failing);
	tcase_add_test(tc, test_tls_loads_a_hashed_ca_directory);
	tcase_add_test(tc, test_tls_reads_client_certificate_identities);
	tcase_add_test(tc, test_tls_request_mode_accepts_client_without_certificate);
	tcase_add_test(tc, test_tls_request_mode_accepts_untrusted_client_certificate);
	tcase_add_test(tc, test_tls_require_mode_refuses_client_without_certificate);
	tcase_add_test(tc, test_tls_alpn_agrees_on_xmpp_client);
	tcase_add_test(tc, test_tls_close_notify_is_seen_as_closed);
	tcase_add_test(tc, test_tls_eof_without_close_notify_is_an_error);
	tcase_add_test(tc, test_tls_write_to_a_closed_socket_is_an_error_with_reason);
	tcase_add_test(tc, test_tls_connections_outlive_their_context);
	suite_add_tcase(s, tc);
	return s;
}
