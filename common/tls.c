/*
 * tls.c — TLS contexts and connections on OpenSSL 3 (see tls.h). This file
 * owns every OpenSSL setting the suite uses; it does not log, read the
 * config file or close fds.
 *
 * Settings on every context, and why:
 * - TLS 1.2 at least, whatever the operator writes: 1.0 and 1.1 are
 *   deprecated (RFC 8996) and XMPP clients from the last decade speak 1.2.
 * - No compression (CRIME), no renegotiation (a client could make the server
 *   do expensive handshakes at will, and it breaks tls-unique's meaning).
 * - Server cipher preference, with ChaCha20 first for clients that put it
 *   first themselves (phones without AES instructions).
 * - SSL_MODE_RELEASE_BUFFERS: an idle XMPP session would otherwise keep
 *   ~33 KiB of read and write buffers; with it, they are freed whenever
 *   empty. Measured on OpenSSL 3.0 (TLS 1.3, P-256 certificate): ~15 KiB of
 *   heap per idle server connection with it, ~48 KiB without. Memory per
 *   idle session is a number this project is judged on.
 * - Partial writes and a moving write buffer: our buffers (buf.h) compact by
 *   moving their contents, and a write of a large queue should return after
 *   what the socket took instead of holding the caller.
 * - AUTO_RETRY stays on (the default): without it a non-blocking SSL_read
 *   that handled a non-data record (a TLS 1.3 ticket or KeyUpdate) reports
 *   WANT_READ even when more data waits in the socket, and an edge-triggered
 *   loop would then never hear of that data.
 *
 * Session resumption is off unless `session_tickets` is set: no server-side
 * session cache at all (memory), and no tickets, because (1) OpenSSL's
 * ticket key is random per SSL_CTX and never rotated, so a c2s that runs
 * for months keeps one key that decrypts every ticket it issued — bad for
 * forward secrecy — and several c2s behind SO_REUSEPORT do not share it, so
 * most resumptions would miss anyway; (2) XMPP connections are long-lived,
 * so a full handshake is paid once per session, and reconnecting clients
 * resume at the XMPP layer (XEP-0198) after a new handshake; (3) tls-unique
 * over a resumed TLS 1.2 session is only sound with extended master secret.
 * An operator who wants the saved handshakes can turn tickets on; then one
 * TLS 1.3 ticket is issued per connection (OpenSSL's default is two).
 *
 * SNI: one SSL_CTX per certificate, all built by the same function with the
 * same settings and sharing one X509_STORE; the servername callback swaps
 * the connection onto the matching one. Explicitly named domains are found
 * in a hash (a hosting server may carry thousands), the others by matching
 * the certificate's DNS-IDs.
 *
 * Everything is read from disk when the context is built, including a CA
 * directory: OpenSSL would read hashed CA files lazily during handshakes,
 * after the sandbox has closed the filesystem, so we load the same files
 * (HASH.N) up front instead.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hash.h"
#include "jid.h"
#include "tls.h"

/* RFC 9266 §2. */
#define EXPORTER_LABEL "EXPORTER-Channel-Binding"
#define EXPORTER_LEN 32

/* Any value: it only has to be set for resumption to work with client
 * certificates (OpenSSL refuses otherwise). */
static const unsigned char session_id_context[] = "parley";

struct tls_cert {
	SSL_CTX *ssl_ctx;
	X509 *leaf;   /* owned by ssl_ctx */
	char *domain; /* lowercased; NULL: match on the certificate's names */
};

struct tls_context {
	unsigned refs; /* the owner, plus one per connection */
	bool server;
	enum tls_verify verify;
	SSL_CTX *ssl_ctx;         /* connections start here: certs[0] on a server */
	struct tls_cert *certs;   /* server only */
	size_t ncerts;
	struct hash *by_domain;   /* lowercased domain -> struct tls_cert */
	X509_STORE *store;        /* shared by every SSL_CTX; NULL without CAs */
	unsigned char *alpn;      /* wire format: length-prefixed names */
	size_t alpn_len;
};

struct tls_conn {
	SSL *ssl;
	struct tls_context *ctx;
	bool failed;     /* fatal error: SSL_shutdown must not be called now */
	bool close_sent; /* our close_notify has been handed to the socket */
};

static const char *const channel_binding_names[TLS_CB_COUNT] = {
	[TLS_CB_UNIQUE] = "tls-unique",
	[TLS_CB_EXPORTER] = "tls-exporter",
	[TLS_CB_SERVER_END_POINT] = "tls-server-end-point",
};

/* --- errors ------------------------------------------------------------- */

/* Append OpenSSL's error queue (oldest first, which is usually the cause)
 * to a formatted prefix, and empty the queue. Always returns -1. */
static int PRINTF_LIKE(3, 4) ssl_errf(char *err, size_t errlen, const char *fmt, ...)
{
	char msg[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	size_t used = strlen(msg);
	const char *sep = ": ";
	const char *data;
	int flags;
	unsigned long e;
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (used >= sizeof(msg) - 1)
			continue; /* drain the rest */
		const char *reason = ERR_reason_error_string(e);
		int n;
		if (reason == NULL)
			n = snprintf(msg + used, sizeof(msg) - used, "%serror %lx", sep, e);
		else
			n = snprintf(msg + used, sizeof(msg) - used, "%s%s", sep, reason);
		if (n > 0)
			used += (size_t)n;
		if ((flags & ERR_TXT_STRING) && data != NULL && *data != '\0' &&
		    used < sizeof(msg) - 1) {
			n = snprintf(msg + used, sizeof(msg) - used, " (%s)", data);
			if (n > 0)
				used += (size_t)n;
		}
		if (used > sizeof(msg) - 1)
			used = sizeof(msg) - 1;
		sep = "; ";
	}
	return errf(err, errlen, "%s", msg);
}

/* Check a file can be opened before handing its name to OpenSSL, whose
 * report of a missing file is hard to read. */
static int check_readable(const char *what, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	close(fd);
	return 0;
}

/* Nobody is at a terminal to type a passphrase: refuse, and note it. */
static int refuse_passphrase(char *buf, int size, int rwflag, void *asked)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	if (asked != NULL)
		*(bool *)asked = true;
	return -1;
}

/* --- library ------------------------------------------------------------ */

int tls_library_init(char *err, size_t errlen)
{
	ERR_clear_error();
	uint64_t opts = OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS |
	    OPENSSL_INIT_LOAD_CONFIG;
	if (OPENSSL_init_ssl(opts, NULL) != 1)
		return ssl_errf(err, errlen, "OpenSSL initialisation failed");
	/* Instantiates and seeds the primary DRBG from the kernel now. */
	if (RAND_status() != 1)
		return ssl_errf(err, errlen, "OpenSSL's random generator cannot be seeded");
	return 0;
}

/* --- building contexts ---------------------------------------------------- */

static int version_number(enum tls_version v)
{
	switch (v) {
	case TLS_VERSION_DEFAULT:
		return 0;
	case TLS_VERSION_1_2:
		return TLS1_2_VERSION;
	case TLS_VERSION_1_3:
		return TLS1_3_VERSION;
	}
	return -1;
}

static int encode_alpn(struct tls_context *ctx, const struct tls_settings *s,
    char *err, size_t errlen)
{
	size_t total = 0;
	for (size_t i = 0; i < s->nalpn; i++) {
		size_t n = s->alpn[i] ? strlen(s->alpn[i]) : 0;
		if (n == 0 || n > 255)
			return errf(err, errlen, "ALPN protocol %zu: length must be 1 to 255 bytes", i + 1);
		total += 1 + n;
	}
	if (total > 65535)
		return errf(err, errlen, "ALPN list is longer than 65535 bytes");
	if (total == 0)
		return 0;
	ctx->alpn = xmalloc(total);
	ctx->alpn_len = total;
	unsigned char *p = ctx->alpn;
	for (size_t i = 0; i < s->nalpn; i++) {
		size_t n = strlen(s->alpn[i]);
		*p++ = (unsigned char)n;
		memcpy(p, s->alpn[i], n);
		p += n;
	}
	return 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	struct tls_context *ctx = arg;
	unsigned char *chosen;
	unsigned char chosen_len;
	(void)ssl;
	/* Our list comes first: the server's preference decides. */
	if (SSL_select_next_proto(&chosen, &chosen_len, ctx->alpn, (unsigned)ctx->alpn_len,
	    in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK; /* go on without ALPN; tls_alpn() tells */
	*out = chosen;
	*outlen = chosen_len;
	return SSL_TLSEXT_ERR_OK;
}

static bool is_hashed_ca_name(const char *name)
{
	/* What c_rehash writes and OpenSSL's CApath lookup reads: 8 hex
	 * digits, a dot, a sequence number. */
	for (int i = 0; i < 8; i++)
		if (!isxdigit((unsigned char)name[i]))
			return false;
	if (name[8] != '.' || name[9] == '\0')
		return false;
	for (const char *p = name + 9; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

static int load_ca_dir(X509_STORE *store, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return errf(err, errlen, "CA directory %s: %s", dir, strerror(errno));
	size_t loaded = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!is_hashed_ca_name(de->d_name))
			continue;
		char path[4096];
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path)) {
			rc = errf(err, errlen, "CA directory %s: path too long", dir);
			break;
		}
		ERR_clear_error();
		if (X509_STORE_load_file(store, path) != 1) {
			rc = ssl_errf(err, errlen, "CA file %s", path);
			break;
		}
		loaded++;
	}
	closedir(d);
	if (rc == 0 && loaded == 0)
		rc = errf(err, errlen, "CA directory %s holds no hashed certificates "
		    "(HASH.N files, as c_rehash makes)", dir);
	return rc;
}

static int load_cas(struct tls_context *ctx, const struct tls_settings *s,
    char *err, size_t errlen)
{
	if (s->ca_file == NULL && s->ca_path == NULL) {
		if (s->verify_peer == TLS_VERIFY_REQUIRE)
			return errf(err, errlen, "verifying peers requires a CA file or CA directory");
		return 0;
	}
	ctx->store = X509_STORE_new();
	if (ctx->store == NULL)
		return ssl_errf(err, errlen, "X509_STORE_new");
	if (s->ca_file != NULL) {
		if (check_readable("CA file", s->ca_file, err, errlen) < 0)
			return -1;
		ERR_clear_error();
		if (X509_STORE_load_file(ctx->store, s->ca_file) != 1)
			return ssl_errf(err, errlen, "CA file %s", s->ca_file);
	}
	if (s->ca_path != NULL && load_ca_dir(ctx->store, s->ca_path, err, errlen) < 0)
		return -1;
	return 0;
}

static int load_certificate(SSL_CTX *sc, const struct tls_cert_settings *cs,
    char *err, size_t errlen)
{
	if (cs->cert_file == NULL)
		return errf(err, errlen, "certificate file not set");
	if (cs->key_file == NULL)
		return errf(err, errlen, "no private key file for certificate %s", cs->cert_file);
	if (check_readable("certificate file", cs->cert_file, err, errlen) < 0)
		return -1;
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(sc, cs->cert_file) != 1)
		return ssl_errf(err, errlen, "certificate file %s", cs->cert_file);

	BIO *bio = BIO_new_file(cs->key_file, "r");
	if (bio == NULL) {
		ERR_clear_error();
		return errf(err, errlen, "private key file %s: %s", cs->key_file, strerror(errno));
	}
	bool asked = false;
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, refuse_passphrase, &asked);
	BIO_free(bio);
	if (key == NULL) {
		if (asked) {
			ERR_clear_error();
			return errf(err, errlen, "private key file %s is encrypted; "
			    "the key must be stored without a passphrase", cs->key_file);
		}
		return ssl_errf(err, errlen, "private key file %s", cs->key_file);
	}
	/* Checked here, not left to SSL_CTX_use_PrivateKey: a key of another
	 * type than the certificate's would be accepted there silently. */
	X509 *leaf = SSL_CTX_get0_certificate(sc);
	if (X509_check_private_key(leaf, key) != 1) {
		EVP_PKEY_free(key);
		ERR_clear_error();
		return errf(err, errlen, "private key %s does not match certificate %s",
		    cs->key_file, cs->cert_file);
	}
	int ok = SSL_CTX_use_PrivateKey(sc, key);
	EVP_PKEY_free(key);
	if (ok != 1)
		return ssl_errf(err, errlen, "private key file %s", cs->key_file);
	return 0;
}

static int verify_accept_any(int preverify_ok, X509_STORE_CTX *store_ctx)
{
	/* REQUEST mode: let the handshake finish; the verdict stays in
	 * SSL_get_verify_result() for tls_peer_verified(). */
	(void)preverify_ok;
	(void)store_ctx;
	return 1;
}

/* OpenSSL skips names it does not know as long as one is left, so a typo
 * would quietly drop a suite. TLS 1.3 suites are a short list of plain
 * names (no aliases or operators, unlike the 1.2 cipher list), so each can
 * be checked on its own. */
static int set_ciphersuites(SSL_CTX *sc, const char *list, char *err, size_t errlen)
{
	char *copy = xstrdup(list);
	char *save = NULL;
	for (char *name = strtok_r(copy, ":", &save); name != NULL;
	    name = strtok_r(NULL, ":", &save)) {
		if (SSL_CTX_set_ciphersuites(sc, name) != 1) {
			ERR_clear_error();
			errf(err, errlen, "TLS 1.3 ciphersuites \"%s\": unknown ciphersuite \"%s\"",
			    list, name);
			free(copy);
			return -1;
		}
	}
	free(copy);
	if (SSL_CTX_set_ciphersuites(sc, list) != 1)
		return ssl_errf(err, errlen, "TLS 1.3 ciphersuites \"%s\"", list);
	return 0;
}

static int servername_select(SSL *ssl, int *alert, void *arg);

/* Every SSL_CTX of a context is built here, so the ones SNI switches
 * between cannot differ in anything but their certificate. */
static SSL_CTX *ssl_ctx_build(struct tls_context *ctx, const struct tls_settings *s,
    char *err, size_t errlen)
{
	ERR_clear_error();
	SSL_CTX *sc = SSL_CTX_new(ctx->server ? TLS_server_method() : TLS_client_method());
	if (sc == NULL) {
		ssl_errf(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	int min = version_number(s->min_version);
	int max = version_number(s->max_version);
	if (min < 0 || max < 0) {
		errf(err, errlen, "TLS version out of range: only 1.2 and 1.3 are supported");
		goto fail;
	}
	if (min == 0)
		min = TLS1_2_VERSION;
	if (max != 0 && max < min) {
		errf(err, errlen, "maximum TLS version is below the minimum");
		goto fail;
	}
	if (SSL_CTX_set_min_proto_version(sc, min) != 1 ||
	    SSL_CTX_set_max_proto_version(sc, max) != 1) {
		ssl_errf(err, errlen, "setting TLS versions");
		goto fail;
	}

	uint64_t opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
	if (ctx->server)
		opts |= SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA;
	if (!s->session_tickets)
		opts |= SSL_OP_NO_TICKET;
	SSL_CTX_set_options(sc, opts);
	SSL_CTX_set_mode(sc, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_AUTO_RETRY);
	SSL_CTX_set_default_passwd_cb(sc, refuse_passphrase);

	if (s->ciphers != NULL && SSL_CTX_set_cipher_list(sc, s->ciphers) != 1) {
		ssl_errf(err, errlen, "TLS 1.2 cipher list \"%s\"", s->ciphers);
		goto fail;
	}
	if (s->ciphersuites != NULL && set_ciphersuites(sc, s->ciphersuites, err, errlen) < 0)
		goto fail;

	if (ctx->store != NULL)
		SSL_CTX_set1_cert_store(sc, ctx->store);

	if (ctx->server) {
		SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_num_tickets(sc, s->session_tickets ? 1 : 0);
		if (SSL_CTX_set_session_id_context(sc, session_id_context,
		    sizeof(session_id_context) - 1) != 1) {
			ssl_errf(err, errlen, "SSL_CTX_set_session_id_context");
			goto fail;
		}
		SSL_CTX_set_dh_auto(sc, 1);
		/* No list of acceptable CA names goes to the client: with a
		 * system bundle it would add kilobytes to every handshake, and
		 * clients with self-issued certificates would hold them back. */
		switch (ctx->verify) {
		case TLS_VERIFY_NONE:
			SSL_CTX_set_verify(sc, SSL_VERIFY_NONE, NULL);
			break;
		case TLS_VERIFY_REQUEST:
			SSL_CTX_set_verify(sc, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE,
			    verify_accept_any);
			break;
		case TLS_VERIFY_REQUIRE:
			SSL_CTX_set_verify(sc, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE |
			    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
			break;
		}
		SSL_CTX_set_tlsext_servername_callback(sc, servername_select);
		SSL_CTX_set_tlsext_servername_arg(sc, ctx);
		if (ctx->alpn != NULL)
			SSL_CTX_set_alpn_select_cb(sc, alpn_select, ctx);
	} else {
		/* A client with SSL_VERIFY_NONE still verifies the chain and
		 * the name and records the verdict; only REQUIRE aborts. */
		SSL_CTX_set_verify(sc, ctx->verify == TLS_VERIFY_REQUIRE ?
		    SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
		if (ctx->alpn != NULL &&
		    SSL_CTX_set_alpn_protos(sc, ctx->alpn, (unsigned)ctx->alpn_len) != 0) {
			ssl_errf(err, errlen, "setting ALPN protocols");
			goto fail;
		}
	}
	return sc;
fail:
	SSL_CTX_free(sc);
	return NULL;
}

static void context_release(struct tls_context *ctx)
{
	if (ctx == NULL || --ctx->refs > 0)
		return;
	for (size_t i = 0; i < ctx->ncerts; i++) {
		SSL_CTX_free(ctx->certs[i].ssl_ctx);
		free(ctx->certs[i].domain);
	}
	free(ctx->certs);
	if (ctx->ssl_ctx != NULL && ctx->ncerts == 0)
		SSL_CTX_free(ctx->ssl_ctx); /* a client's; a server's is certs[0] */
	hash_free(&ctx->by_domain, NULL);
	X509_STORE_free(ctx->store);
	free(ctx->alpn);
	free(ctx);
}

void tls_context_free(struct tls_context **ctxp)
{
	context_release(*ctxp);
	*ctxp = NULL;
}

static struct tls_context *context_new(const struct tls_settings *s, bool server,
    char *err, size_t errlen)
{
	struct tls_context *ctx = xcalloc(1, sizeof(*ctx));
	ctx->refs = 1;
	ctx->server = server;
	ctx->verify = s->verify_peer;
	if (s->verify_peer != TLS_VERIFY_NONE && s->verify_peer != TLS_VERIFY_REQUEST &&
	    s->verify_peer != TLS_VERIFY_REQUIRE) {
		errf(err, errlen, "peer verification mode %d is not one of none, request, require",
		    (int)s->verify_peer);
		goto fail;
	}
	if (encode_alpn(ctx, s, err, errlen) < 0 || load_cas(ctx, s, err, errlen) < 0)
		goto fail;
	return ctx;
fail:
	context_release(ctx);
	return NULL;
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* The form names are compared in: ASCII lowercase, no final dot
 * ("Example.ORG." is example.org). Returns the length, or 0 if the name is
 * empty or does not fit. */
static size_t domain_key(const char *name, char *key, size_t keylen)
{
	char ascii[JID_DOMAIN_ASCII_MAX + 1];
	/* Hosts are configured (and JIDs kept) in Unicode form, while SNI and
	 * certificates carry A-labels: compare in the A-label form. */
	if (!is_ascii(name)) {
		if (jid_domainpart_to_ascii(name, strlen(name), ascii, NULL, 0) < 0)
			return 0;
		name = ascii;
	}
	size_t len = strlen(name);
	if (len == 0 || len >= keylen)
		return 0;
	for (size_t i = 0; i <= len; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	if (len > 1 && key[len - 1] == '.')
		key[--len] = '\0';
	return len;
}

struct tls_context *tls_context_new_server(const struct tls_settings *s, char *err, size_t errlen)
{
	if (s->ncerts == 0 || s->certs == NULL) {
		errf(err, errlen, "a TLS server needs at least one certificate");
		return NULL;
	}
	struct tls_context *ctx = context_new(s, true, err, errlen);
	if (ctx == NULL)
		return NULL;
	ctx->certs = xcalloc(s->ncerts, sizeof(*ctx->certs));
	ctx->by_domain = hash_new(s->ncerts);
	for (size_t i = 0; i < s->ncerts; i++) {
		const struct tls_cert_settings *cs = &s->certs[i];
		struct tls_cert *cert = &ctx->certs[i];
		cert->ssl_ctx = ssl_ctx_build(ctx, s, err, errlen);
		if (cert->ssl_ctx == NULL)
			goto fail;
		ctx->ncerts = i + 1; /* so that a failure frees this one too */
		if (load_certificate(cert->ssl_ctx, cs, err, errlen) < 0)
			goto fail;
		cert->leaf = SSL_CTX_get0_certificate(cert->ssl_ctx);
		if (cs->domain != NULL) {
			char key[256];
			size_t len = domain_key(cs->domain, key, sizeof(key));
			if (len == 0) {
				errf(err, errlen, "certificate %s: domain \"%s\" is not a DNS name",
				    cs->cert_file, cs->domain);
				goto fail;
			}
			cert->domain = xstrndup(key, len);
			if (hash_get(ctx->by_domain, cert->domain, len) != NULL) {
				errf(err, errlen, "domain %s has more than one certificate", cs->domain);
				goto fail;
			}
			hash_put(ctx->by_domain, cert->domain, len, cert);
		}
	}
	ctx->ssl_ctx = ctx->certs[0].ssl_ctx;
	return ctx;
fail:
	context_release(ctx);
	return NULL;
}

struct tls_context *tls_context_new_client(const struct tls_settings *s, char *err, size_t errlen)
{
	if (s->ncerts > 1) {
		errf(err, errlen, "a TLS client takes at most one certificate");
		return NULL;
	}
	struct tls_context *ctx = context_new(s, false, err, errlen);
	if (ctx == NULL)
		return NULL;
	ctx->ssl_ctx = ssl_ctx_build(ctx, s, err, errlen);
	if (ctx->ssl_ctx == NULL)
		goto fail;
	if (s->ncerts == 1 && load_certificate(ctx->ssl_ctx, &s->certs[0], err, errlen) < 0)
		goto fail;
	return ctx;
fail:
	context_release(ctx);
	return NULL;
}

/* --- SNI ------------------------------------------------------------------- */

static const struct tls_cert *find_certificate(const struct tls_context *ctx, const char *name)
{
	char key[256];
	size_t len = domain_key(name, key, sizeof(key));
	if (len == 0)
		return NULL;
	const struct tls_cert *cert = hash_get(ctx->by_domain, key, len);
	if (cert != NULL)
		return cert;
	for (size_t i = 0; i < ctx->ncerts; i++) {
		cert = &ctx->certs[i];
		if (cert->domain == NULL && X509_check_host(cert->leaf, key, len,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1)
			return cert;
	}
	return NULL;
}

static int servername_select(SSL *ssl, int *alert, void *arg)
{
	struct tls_context *ctx = arg;
	(void)alert;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL || ctx->ncerts < 2)
		return SSL_TLSEXT_ERR_OK;
	const struct tls_cert *cert = find_certificate(ctx, name);
	/* No match: stay on the default certificate; the stream's `to` will
	 * tell the client what it reached. */
	if (cert != NULL && cert->ssl_ctx != SSL_get_SSL_CTX(ssl))
		SSL_set_SSL_CTX(ssl, cert->ssl_ctx);
	return SSL_TLSEXT_ERR_OK;
}

bool tls_conn_prefer_domain(struct tls_conn *conn, const char *domain)
{
	if (!conn->ctx->server || conn->ctx->ncerts < 2 || domain == NULL)
		return false;
	const struct tls_cert *cert = find_certificate(conn->ctx, domain);
	if (cert == NULL)
		return false;
	if (cert->ssl_ctx != SSL_get_SSL_CTX(conn->ssl))
		SSL_set_SSL_CTX(conn->ssl, cert->ssl_ctx);
	return true;
}

/* --- connections ------------------------------------------------------------- */

static struct tls_conn *conn_new(struct tls_context *ctx, int fd, char *err, size_t errlen)
{
	ERR_clear_error();
	SSL *ssl = SSL_new(ctx->ssl_ctx);
	if (ssl == NULL) {
		ssl_errf(err, errlen, "SSL_new");
		return NULL;
	}
	if (SSL_set_fd(ssl, fd) != 1) {
		ssl_errf(err, errlen, "SSL_set_fd(%d)", fd);
		SSL_free(ssl);
		return NULL;
	}
	struct tls_conn *conn = xcalloc(1, sizeof(*conn));
	conn->ssl = ssl;
	conn->ctx = ctx;
	ctx->refs++;
	return conn;
}

struct tls_conn *tls_conn_new_server(struct tls_context *ctx, int fd, char *err, size_t errlen)
{
	if (!ctx->server) {
		errf(err, errlen, "tls_conn_new_server: not a server context");
		return NULL;
	}
	struct tls_conn *conn = conn_new(ctx, fd, err, errlen);
	if (conn != NULL)
		SSL_set_accept_state(conn->ssl);
	return conn;
}

static bool is_ip_literal(const char *name)
{
	unsigned char addr[16];
	return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

struct tls_conn *tls_conn_new_client(struct tls_context *ctx, int fd, const char *server_name,
    const char *verify_name, char *err, size_t errlen)
{
	if (ctx->server) {
		errf(err, errlen, "tls_conn_new_client: not a client context");
		return NULL;
	}
	struct tls_conn *conn = conn_new(ctx, fd, err, errlen);
	if (conn == NULL)
		return NULL;
	/* SNI and certificate names are A-labels; our domains may be Unicode. */
	char sni_ascii[JID_DOMAIN_ASCII_MAX + 1], verify_ascii[JID_DOMAIN_ASCII_MAX + 1];
	if (server_name != NULL && !is_ascii(server_name)) {
		if (jid_domainpart_to_ascii(server_name, strlen(server_name), sni_ascii, err, errlen) < 0)
			goto fail;
		server_name = sni_ascii;
	}
	if (verify_name != NULL && !is_ascii(verify_name)) {
		if (jid_domainpart_to_ascii(verify_name, strlen(verify_name), verify_ascii, err, errlen) < 0)
			goto fail;
		verify_name = verify_ascii;
	}
	/* RFC 6066 §3: SNI carries host names, never address literals. */
	if (server_name != NULL && !is_ip_literal(server_name) &&
	    SSL_set_tlsext_host_name(conn->ssl, server_name) != 1) {
		ssl_errf(err, errlen, "server name \"%s\"", server_name);
		goto fail;
	}
	if (verify_name != NULL) {
		SSL_set_hostflags(conn->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(conn->ssl, verify_name) != 1) {
			ssl_errf(err, errlen, "name to verify \"%s\"", verify_name);
			goto fail;
		}
	}
	SSL_set_connect_state(conn->ssl);
	return conn;
fail:
	tls_conn_free(&conn);
	return NULL;
}

void tls_conn_free(struct tls_conn **connp)
{
	struct tls_conn *conn = *connp;
	if (conn == NULL)
		return;
	SSL_free(conn->ssl);
	context_release(conn->ctx);
	free(conn);
	*connp = NULL;
}

/* Turn a failed SSL_* call into a tls_result; `saved_errno` is errno right
 * after the call. */
static int ssl_result(struct tls_conn *conn, int ret, int saved_errno, const char *op,
    char *err, size_t errlen)
{
	switch (SSL_get_error(conn->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_CLOSED;
	case SSL_ERROR_SYSCALL:
		conn->failed = true;
		if (ERR_peek_error() != 0)
			ssl_errf(err, errlen, "TLS %s", op);
		else if (saved_errno != 0)
			errf(err, errlen, "TLS %s: %s", op, strerror(saved_errno));
		else
			errf(err, errlen, "TLS %s: peer closed the connection without close_notify", op);
		return TLS_ERROR;
	case SSL_ERROR_SSL: {
		conn->failed = true;
		unsigned long e = ERR_peek_last_error();
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			errf(err, errlen, "TLS %s: peer closed the connection without close_notify", op);
			return TLS_ERROR;
		}
		long verify = SSL_get_verify_result(conn->ssl);
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED && verify != X509_V_OK) {
			ERR_clear_error();
			errf(err, errlen, "TLS %s: certificate verify failed: %s", op,
			    X509_verify_cert_error_string(verify));
			return TLS_ERROR;
		}
		ssl_errf(err, errlen, "TLS %s", op);
		return TLS_ERROR;
	}
	default:
		conn->failed = true;
		ERR_clear_error();
		errf(err, errlen, "TLS %s: unexpected OpenSSL state %d", op,
		    SSL_get_error(conn->ssl, ret));
		return TLS_ERROR;
	}
}

static int already_failed(char *err, size_t errlen)
{
	errf(err, errlen, "TLS connection has already failed");
	return TLS_ERROR;
}

int tls_handshake(struct tls_conn *conn, char *err, size_t errlen)
{
	if (conn->failed)
		return already_failed(err, errlen);
	if (SSL_is_init_finished(conn->ssl))
		return TLS_OK;
	ERR_clear_error();
	errno = 0;
	int ret = SSL_do_handshake(conn->ssl);
	if (ret == 1)
		return TLS_OK;
	int saved_errno = errno;
	return ssl_result(conn, ret, saved_errno, "handshake", err, errlen);
}

bool tls_handshake_done(const struct tls_conn *conn)
{
	return SSL_is_init_finished(conn->ssl) != 0;
}

ssize_t tls_read(struct tls_conn *conn, void *data, size_t len, char *err, size_t errlen)
{
	if (conn->failed)
		return already_failed(err, errlen);
	if (len == 0)
		return 0;
	size_t n = 0;
	ERR_clear_error();
	errno = 0;
	int ret = SSL_read_ex(conn->ssl, data, len, &n);
	if (ret == 1)
		return (ssize_t)n;
	int saved_errno = errno;
	return ssl_result(conn, ret, saved_errno, "read", err, errlen);
}

ssize_t tls_write(struct tls_conn *conn, const void *data, size_t len, char *err, size_t errlen)
{
	if (conn->failed)
		return already_failed(err, errlen);
	if (len == 0)
		return 0;
	size_t n = 0;
	ERR_clear_error();
	errno = 0;
	int ret = SSL_write_ex(conn->ssl, data, len, &n);
	if (ret == 1)
		return (ssize_t)n;
	int saved_errno = errno;
	return ssl_result(conn, ret, saved_errno, "write", err, errlen);
}

int tls_shutdown(struct tls_conn *conn, char *err, size_t errlen)
{
	if (conn->failed)
		return already_failed(err, errlen);
	/* Calling SSL_shutdown again after it has sent close_notify would make
	 * it wait for the peer's; that is tls_read's job. */
	if (conn->close_sent)
		return TLS_OK;
	/* Mid-handshake there is no session to close; OpenSSL refuses too. */
	if (!SSL_is_init_finished(conn->ssl))
		return TLS_OK;
	ERR_clear_error();
	errno = 0;
	int ret = SSL_shutdown(conn->ssl);
	if (ret >= 0) {
		conn->close_sent = true;
		return TLS_OK;
	}
	int saved_errno = errno;
	return ssl_result(conn, ret, saved_errno, "shutdown", err, errlen);
}

/* --- what was negotiated ----------------------------------------------------- */

const char *tls_version_name(const struct tls_conn *conn)
{
	if (!SSL_is_init_finished(conn->ssl))
		return "none";
	return SSL_get_version(conn->ssl);
}

const char *tls_cipher_name(const struct tls_conn *conn)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(conn->ssl);
	if (!SSL_is_init_finished(conn->ssl) || cipher == NULL)
		return "none";
	return SSL_CIPHER_get_name(cipher);
}

enum tls_version tls_version(const struct tls_conn *conn)
{
	if (!SSL_is_init_finished(conn->ssl))
		return TLS_VERSION_DEFAULT;
	switch (SSL_version(conn->ssl)) {
	case TLS1_2_VERSION:
		return TLS_VERSION_1_2;
	case TLS1_3_VERSION:
		return TLS_VERSION_1_3;
	default:
		return TLS_VERSION_DEFAULT;
	}
}

bool tls_alpn(const struct tls_conn *conn, char *out, size_t outlen)
{
	const unsigned char *proto = NULL;
	unsigned len = 0;
	SSL_get0_alpn_selected(conn->ssl, &proto, &len);
	if (proto == NULL || len == 0 || len >= outlen)
		return false;
	memcpy(out, proto, len);
	out[len] = '\0';
	return true;
}

const char *tls_server_name(const struct tls_conn *conn)
{
	if (!conn->ctx->server)
		return NULL;
	return SSL_get_servername(conn->ssl, TLSEXT_NAMETYPE_host_name);
}

bool tls_session_resumed(const struct tls_conn *conn)
{
	return SSL_session_reused(conn->ssl) == 1;
}

struct ssl_st *tls_conn_ssl(struct tls_conn *conn)
{
	return conn->ssl;
}

/* --- the peer's certificate ---------------------------------------------------- */

bool tls_peer_has_certificate(const struct tls_conn *conn)
{
	return SSL_get0_peer_certificate(conn->ssl) != NULL;
}

bool tls_peer_verified(const struct tls_conn *conn, char *err, size_t errlen)
{
	if (!SSL_is_init_finished(conn->ssl)) {
		errf(err, errlen, "handshake not complete");
		return false;
	}
	if (SSL_get0_peer_certificate(conn->ssl) == NULL) {
		errf(err, errlen, "peer sent no certificate");
		return false;
	}
	if (conn->ctx->store == NULL) {
		errf(err, errlen, "no CA configured to verify the peer's certificate");
		return false;
	}
	long result = SSL_get_verify_result(conn->ssl);
	if (result != X509_V_OK) {
		errf(err, errlen, "%s", X509_verify_cert_error_string(result));
		return false;
	}
	return true;
}

bool tls_peer_subject(const struct tls_conn *conn, char *out, size_t outlen)
{
	X509 *peer = SSL_get0_peer_certificate(conn->ssl);
	if (peer == NULL || outlen == 0)
		return false;
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio == NULL) {
		ERR_clear_error();
		return false;
	}
	bool ok = false;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) >= 0) {
		char *text;
		long len = BIO_get_mem_data(bio, &text);
		size_t n = len > 0 ? (size_t)len : 0;
		if (n >= outlen)
			n = outlen - 1;
		memcpy(out, text, n);
		out[n] = '\0';
		ok = true;
	}
	BIO_free(bio);
	ERR_clear_error();
	return ok;
}

static void add_identity(struct tls_identities *ids, enum tls_identity_type type,
    const ASN1_STRING *value)
{
	const unsigned char *data = ASN1_STRING_get0_data(value);
	int len = ASN1_STRING_length(value);
	/* "a\0.evil.example" must not pass for "a". */
	if (data == NULL || len <= 0 || memchr(data, '\0', (size_t)len) != NULL)
		return;
	ids->ids = xreallocarray(ids->ids, ids->count + 1, sizeof(*ids->ids));
	ids->ids[ids->count].type = type;
	ids->ids[ids->count].value = xstrndup((const char *)data, (size_t)len);
	ids->count++;
}

static void certificate_identities(X509 *peer, struct tls_identities *ids)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
	if (names == NULL) {
		ERR_clear_error();
		return;
	}
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
		if (name->type == GEN_DNS) {
			add_identity(ids, TLS_ID_DNS_NAME, name->d.dNSName);
		} else if (name->type == GEN_OTHERNAME) {
			const OTHERNAME *other = name->d.otherName;
			const ASN1_TYPE *value = other->value;
			int nid = OBJ_obj2nid(other->type_id);
			/* RFC 6120 §13.7.1.4: xmppAddr is a UTF8String;
			 * RFC 4985: SRVName is an IA5String. */
			if (nid == NID_XmppAddr && value->type == V_ASN1_UTF8STRING)
				add_identity(ids, TLS_ID_XMPP_ADDR, value->value.utf8string);
			else if (nid == NID_SRVName && value->type == V_ASN1_IA5STRING)
				add_identity(ids, TLS_ID_SRV_NAME, value->value.ia5string);
		}
	}
	GENERAL_NAMES_free(names);
}

void tls_peer_identities(const struct tls_conn *conn, struct tls_identities *ids)
{
	ids->ids = NULL;
	ids->count = 0;
	X509 *peer = SSL_get0_peer_certificate(conn->ssl);
	if (peer != NULL)
		certificate_identities(peer, ids);
}

int tls_der_identities(const void *der, size_t len, struct tls_identities *ids)
{
	const unsigned char *p = der;

	ids->ids = NULL;
	ids->count = 0;
	if (len > LONG_MAX)
		return -1;
	X509 *cert = d2i_X509(NULL, &p, (long)len);
	if (cert == NULL) {
		ERR_clear_error();
		return -1;
	}
	certificate_identities(cert, ids);
	X509_free(cert);
	return 0;
}

void tls_identities_free(struct tls_identities *ids)
{
	for (size_t i = 0; i < ids->count; i++)
		free(ids->ids[i].value);
	free(ids->ids);
	ids->ids = NULL;
	ids->count = 0;
}

/* --- channel binding ------------------------------------------------------------- */

const char *tls_channel_binding_name(enum tls_channel_binding type)
{
	if ((unsigned)type >= TLS_CB_COUNT)
		return "unknown";
	return channel_binding_names[type];
}

int tls_channel_binding_parse(const char *name)
{
	for (int i = 0; i < TLS_CB_COUNT; i++)
		if (strcmp(channel_binding_names[i], name) == 0)
			return i;
	return -1;
}

static int tls_unique(const struct tls_conn *conn, unsigned char *out, size_t outlen,
    size_t *len, char *err, size_t errlen)
{
	SSL *ssl = conn->ssl;
	if (SSL_version(ssl) >= TLS1_3_VERSION)
		return errf(err, errlen, "tls-unique is not defined for TLS 1.3 (RFC 8446 §C.5)");
	bool resumed = SSL_session_reused(ssl) == 1;
	/* The triple handshake attack (RFC 7627) makes tls-unique of a session
	 * resumed without extended master secret mean nothing. */
	if (resumed && SSL_get_extms_support(ssl) != 1)
		return errf(err, errlen, "tls-unique is unsafe on a session resumed "
		    "without extended master secret");
	/* RFC 5929 §3.1: the first Finished message of the latest handshake —
	 * the client's on a full handshake, the server's on a resumption. */
	bool first_is_ours = conn->ctx->server == resumed;
	unsigned char finished[TLS_CB_MAX];
	size_t n = first_is_ours ? SSL_get_finished(ssl, finished, sizeof(finished)) :
	    SSL_get_peer_finished(ssl, finished, sizeof(finished));
	if (n == 0 || n > sizeof(finished))
		return errf(err, errlen, "tls-unique: no Finished message available");
	if (n > outlen)
		return errf(err, errlen, "tls-unique: output buffer too small");
	memcpy(out, finished, n);
	*len = n;
	return 0;
}

int tls_legacy_unique_tls13(const struct tls_conn *conn, unsigned char *out, size_t outlen,
    size_t *len, char *err, size_t errlen)
{
	SSL *ssl = conn->ssl;
	if (SSL_version(ssl) < TLS1_3_VERSION)
		return errf(err, errlen, "not a TLS 1.3 connection");
	if (SSL_session_reused(ssl) == 1)
		return errf(err, errlen, "a resumed TLS 1.3 session has no unique Finished");
	unsigned char finished[TLS_CB_MAX];
	size_t n = conn->ctx->server ? SSL_get_peer_finished(ssl, finished, sizeof(finished)) :
	    SSL_get_finished(ssl, finished, sizeof(finished));
	if (n == 0 || n > sizeof(finished) || n > outlen)
		return errf(err, errlen, "no client Finished message available");
	memcpy(out, finished, n);
	*len = n;
	return 0;
}

static int tls_exporter(const struct tls_conn *conn, unsigned char *out, size_t outlen,
    size_t *len, char *err, size_t errlen)
{
	SSL *ssl = conn->ssl;
	/* RFC 9266 §3: without EMS, TLS 1.2 exporters are not unique to the
	 * connection. */
	if (SSL_version(ssl) < TLS1_3_VERSION && SSL_get_extms_support(ssl) != 1)
		return errf(err, errlen, "tls-exporter needs TLS 1.3, or TLS 1.2 with "
		    "extended master secret, which this connection lacks");
	if (outlen < EXPORTER_LEN)
		return errf(err, errlen, "tls-exporter: output buffer too small");
	ERR_clear_error();
	if (SSL_export_keying_material(ssl, out, EXPORTER_LEN, EXPORTER_LABEL,
	    strlen(EXPORTER_LABEL), NULL, 0, 0) != 1)
		return ssl_errf(err, errlen, "tls-exporter");
	*len = EXPORTER_LEN;
	return 0;
}

static int tls_server_end_point(const struct tls_conn *conn, unsigned char *out, size_t outlen,
    size_t *len, char *err, size_t errlen)
{
	X509 *cert = conn->ctx->server ? SSL_get_certificate(conn->ssl) :
	    SSL_get0_peer_certificate(conn->ssl);
	if (cert == NULL)
		return errf(err, errlen, "tls-server-end-point: no server certificate");
	/* RFC 5929 §4.1: the certificate's signature hash, with MD5 and SHA-1
	 * replaced by SHA-256; undefined when there is no single hash. */
	int md_nid = NID_undef;
	ERR_clear_error();
	if (X509_get_signature_info(cert, &md_nid, NULL, NULL, NULL) != 1 || md_nid == NID_undef) {
		ERR_clear_error();
		return errf(err, errlen, "tls-server-end-point is not defined for this "
		    "certificate's signature algorithm");
	}
	if (md_nid == NID_md5 || md_nid == NID_sha1)
		md_nid = NID_sha256;
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	if (md == NULL || (size_t)EVP_MD_get_size(md) > outlen)
		return errf(err, errlen, "tls-server-end-point: unusable digest %s", OBJ_nid2sn(md_nid));
	unsigned n = 0;
	if (X509_digest(cert, md, out, &n) != 1)
		return ssl_errf(err, errlen, "tls-server-end-point");
	*len = n;
	return 0;
}

int tls_channel_binding(const struct tls_conn *conn, enum tls_channel_binding type,
    unsigned char *out, size_t outlen, size_t *len, char *err, size_t errlen)
{
	if (conn->failed)
		return errf(err, errlen, "TLS connection has failed");
	if (!SSL_is_init_finished(conn->ssl))
		return errf(err, errlen, "%s: handshake not complete", tls_channel_binding_name(type));
	switch (type) {
	case TLS_CB_UNIQUE:
		return tls_unique(conn, out, outlen, len, err, errlen);
	case TLS_CB_EXPORTER:
		return tls_exporter(conn, out, outlen, len, err, errlen);
	case TLS_CB_SERVER_END_POINT:
		return tls_server_end_point(conn, out, outlen, len, err, errlen);
	case TLS_CB_COUNT:
		break;
	}
	return errf(err, errlen, "unknown channel binding type %d", (int)type);
}

/* The same conditions as the functions above, without computing anything:
 * c2s asks this several times per login (for the features, then for the
 * SASL start), and the exporter and the certificate digest are not free. */
static bool server_end_point_available(const struct tls_conn *conn)
{
	X509 *cert = conn->ctx->server ? SSL_get_certificate(conn->ssl) :
	    SSL_get0_peer_certificate(conn->ssl);
	int md_nid = NID_undef;
	if (cert == NULL)
		return false;
	ERR_clear_error();
	if (X509_get_signature_info(cert, &md_nid, NULL, NULL, NULL) != 1 || md_nid == NID_undef) {
		ERR_clear_error();
		return false;
	}
	if (md_nid == NID_md5 || md_nid == NID_sha1)
		md_nid = NID_sha256;
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	return md != NULL && EVP_MD_get_size(md) > 0 && EVP_MD_get_size(md) <= TLS_CB_MAX;
}

unsigned tls_channel_bindings_available(const struct tls_conn *conn)
{
	SSL *ssl = conn->ssl;
	unsigned mask = 0;

	if (conn->failed || !SSL_is_init_finished(ssl))
		return 0;
	bool tls13 = SSL_version(ssl) >= TLS1_3_VERSION;
	bool ems = SSL_get_extms_support(ssl) == 1;
	if (!tls13 && (SSL_session_reused(ssl) != 1 || ems)) {
		bool resumed = SSL_session_reused(ssl) == 1;
		unsigned char finished[TLS_CB_MAX];
		size_t n = conn->ctx->server == resumed ? SSL_get_finished(ssl, finished, sizeof(finished)) :
		    SSL_get_peer_finished(ssl, finished, sizeof(finished));
		if (n > 0 && n <= sizeof(finished))
			mask |= 1u << TLS_CB_UNIQUE;
	}
	if (tls13 || ems)
		mask |= 1u << TLS_CB_EXPORTER;
	if (server_end_point_available(conn))
		mask |= 1u << TLS_CB_SERVER_END_POINT;
	return mask;
}
