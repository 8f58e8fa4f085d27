/*
 * config.c — what parley-s2s takes from parley.conf, checked once at start
 * (listeners, hosted domains, limits, timeouts), its two TLS contexts,
 * built while keys and CA files are still readable, and the dialback
 * secret. It must not open sockets; it does not log.
 *
 * Server side: the hosted domains' certificates, exactly as c2s loads them
 * (tls.certificate as the default, tls.domains per domain, chosen by SNI),
 * and a request for the peer's certificate (SASL EXTERNAL, XEP-0178).
 * Client side: one context per distinct certificate of our domains, since
 * an outgoing stream offers its local domain's certificate as the client
 * certificate (so that the other server can accept SASL EXTERNAL from us).
 * Both sides trust tls.ca_file / tls.ca_path when set, else the system's
 * CA bundle, read now (the sandbox closes the filesystem later, so no
 * lazily read CA directory). What a certificate is worth is decided in
 * in.c and out.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "jid.h"
#include "router_secret.h"
#include "s2s.h"

/* Debian's (and most distributions') bundle of the system's trusted CAs,
 * when OpenSSL's own default file is not there. */
#define SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

static void listeners(struct s2s_config *cfg, const struct conf *c)
{
	size_t n = conf_list_count(c, "s2s.listeners");

	if (!conf_is_set(c, "s2s.listeners")) {
		cfg->nlisteners = 1;
		cfg->listeners = xcalloc(1, sizeof(*cfg->listeners));
		cfg->listeners[0] = (struct s2s_listener_config){ xstrdup("::"), S2S_PORT, false };
		return;
	}
	cfg->listeners = xcalloc(n > 0 ? n : 1, sizeof(*cfg->listeners));
	cfg->nlisteners = n;
	for (size_t i = 0; i < n; i++) {
		const struct conf *e = conf_list_elem(c, "s2s.listeners", i);
		cfg->listeners[i].address = xstrdup(conf_str(e, "address"));
		cfg->listeners[i].direct_tls = conf_bool(e, "direct_tls");
		cfg->listeners[i].port = (int)conf_int(e, "port");
		if (cfg->listeners[i].port == 0)
			cfg->listeners[i].port = cfg->listeners[i].direct_tls ? S2S_DIRECT_TLS_PORT :
			    S2S_PORT;
	}
}

static int hosts(struct s2s_config *cfg, const struct conf *c, struct conf_errors *errs)
{
	size_t n = conf_strlist_count(c, "hosts");
	char out[JID_PART_BUFSIZE], why[ERRLEN];

	cfg->hosts = xcalloc(n, sizeof(*cfg->hosts));
	for (size_t i = 0; i < n; i++) {
		const char *h = conf_strlist_get(c, "hosts", i);
		if (jid_prep_domainpart(h, strlen(h), out, why, sizeof(why)) < 0) {
			conf_error(errs, c, "hosts", "\"%s\": %s", h, why);
			return -1;
		}
		cfg->hosts[cfg->nhosts++] = xstrdup(out);
	}
	return 0;
}

int s2s_configure(struct s2s *s2s, const struct conf *c, struct conf_errors *errs)
{
	struct s2s_config *cfg = &s2s->cfg;
	int rc = 0;

	s2s->conf = c;
	listeners(cfg, c);
	if (hosts(cfg, c, errs) < 0)
		rc = -1;
	if (conf_str(c, "tls.certificate") == NULL && conf_list_count(c, "tls.domains") == 0) {
		conf_error(errs, c, "tls", "s2s needs TLS: set tls.certificate or tls.domains");
		rc = -1;
	}
	cfg->require_tls = conf_bool(c, "s2s.require_tls");
	cfg->require_valid_certs = conf_bool(c, "s2s.require_valid_certificates");
	cfg->max_queue = (size_t)conf_int(c, "s2s.max_queue");
	cfg->connect_timeout_ms = (uint64_t)conf_duration_ms(c, "s2s.connect_timeout");
	cfg->connect_attempt_timeout_ms =
	    (uint64_t)conf_duration_ms(c, "s2s.connect_attempt_timeout");
	cfg->negotiation_timeout_ms = (uint64_t)conf_duration_ms(c, "s2s.negotiation_timeout");
	cfg->idle_timeout_ms = (uint64_t)conf_duration_ms(c, "s2s.idle_timeout");
	cfg->keepalive_ms = (uint64_t)conf_duration_ms(c, "s2s.keepalive");
	cfg->max_stanza = (size_t)conf_size(c, "s2s.max_stanza_size");
	cfg->max_depth = (unsigned)conf_int(c, "s2s.max_depth");
	cfg->rate_limit = (size_t)conf_size(c, "s2s.rate_limit");
	cfg->max_per_address = (unsigned)conf_int(c, "s2s.max_connections_per_address");
	cfg->max_pending_dialback = (unsigned)conf_int(c, "s2s.max_pending_dialback");
	cfg->max_write_queue = (size_t)conf_size(c, "s2s.max_write_queue");
	cfg->max_frame = (size_t)conf_size(c, "router.max_frame");
	return rc;
}

bool s2s_hosts(const struct s2s *s2s, const char *domain)
{
	for (size_t i = 0; i < s2s->cfg.nhosts; i++)
		if (strcmp(s2s->cfg.hosts[i], domain) == 0)
			return true;
	return false;
}

struct tls_context *s2s_tls_client(const struct s2s *s2s, const char *local)
{
	for (size_t i = 0; i < s2s->cfg.nhosts; i++)
		if (strcmp(s2s->cfg.hosts[i], local) == 0)
			return s2s->tls_client_of[i];
	return s2s->tls_client_of[0];
}

/* The certificate our domain `host` shows: its tls.domains entry, else
 * tls.certificate (NULL cert_file: none). */
static struct tls_cert_settings host_certificate(const struct conf *c, const char *host)
{
	size_t ndomains = conf_list_count(c, "tls.domains");
	char prepped[JID_PART_BUFSIZE], why[ERRLEN];

	for (size_t i = 0; i < ndomains; i++) {
		const struct conf *e = conf_list_elem(c, "tls.domains", i);
		const char *d = conf_str(e, "domain");
		if (jid_prep_domainpart(d, strlen(d), prepped, why, sizeof(why)) < 0 ||
		    strcmp(prepped, host) != 0)
			continue;
		const char *cert_file = conf_str(e, "certificate"), *key_file = conf_str(e, "key");
		return (struct tls_cert_settings){ .domain = NULL, .cert_file = cert_file,
			.key_file = key_file != NULL ? key_file : cert_file };
	}
	return (struct tls_cert_settings){ .domain = NULL,
		.cert_file = conf_str(c, "tls.certificate"), .key_file = conf_str(c, "tls.key") };
}

static bool same_file(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* One client context per distinct certificate among our domains. */
static int client_contexts(struct s2s *s2s, struct tls_settings *client, char *err,
    size_t errlen)
{
	const struct conf *c = s2s->conf;
	size_t n = s2s->cfg.nhosts;
	struct tls_cert_settings *certs = xcalloc(n > 0 ? n : 1, sizeof(*certs));
	char why[ERRLEN];
	int rc = 0;

	s2s->tls_clients = xcalloc(n > 0 ? n : 1, sizeof(*s2s->tls_clients));
	s2s->tls_client_of = xcalloc(n > 0 ? n : 1, sizeof(*s2s->tls_client_of));
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct tls_cert_settings cs = host_certificate(c, s2s->cfg.hosts[i]);
		size_t j;
		for (j = 0; j < s2s->ntls_clients; j++)
			if (same_file(certs[j].cert_file, cs.cert_file) &&
			    same_file(certs[j].key_file, cs.key_file))
				break;
		if (j == s2s->ntls_clients) {
			certs[j] = cs;
			client->certs = cs.cert_file != NULL ? &certs[j] : NULL;
			client->ncerts = cs.cert_file != NULL ? 1 : 0;
			s2s->tls_clients[j] = tls_context_new_client(client, why, sizeof(why));
			if (s2s->tls_clients[j] == NULL) {
				rc = errf(err, errlen, "TLS (client side, for %s): %s",
				    s2s->cfg.hosts[i], why);
				break;
			}
			s2s->ntls_clients++;
		}
		s2s->tls_client_of[i] = s2s->tls_clients[j];
	}
	free(certs);
	return rc;
}

int s2s_tls_setup(struct s2s *s2s, char *err, size_t errlen)
{
	const struct conf *c = s2s->conf;
	static const char *const alpn[] = { "xmpp-server" };
	size_t ndomains = conf_list_count(c, "tls.domains"), ncerts = 0;
	struct tls_cert_settings *certs = xcalloc(ndomains + 1, sizeof(*certs));
	const char *ca_file = conf_str(c, "tls.ca_file"), *ca_path = conf_str(c, "tls.ca_path");
	char why[ERRLEN];
	int rc = 0;

	if (conf_str(c, "tls.certificate") != NULL)
		certs[ncerts++] = (struct tls_cert_settings){ .domain = NULL,
			.cert_file = conf_str(c, "tls.certificate"), .key_file = conf_str(c, "tls.key") };
	for (size_t i = 0; i < ndomains; i++) {
		const struct conf *e = conf_list_elem(c, "tls.domains", i);
		const char *cert_file = conf_str(e, "certificate"), *key_file = conf_str(e, "key");
		certs[ncerts++] = (struct tls_cert_settings){ .domain = conf_str(e, "domain"),
			.cert_file = cert_file, .key_file = key_file != NULL ? key_file : cert_file };
	}
	if (ca_file == NULL && ca_path == NULL) {
		if (access(X509_get_default_cert_file(), R_OK) == 0)
			ca_file = X509_get_default_cert_file();
		else if (access(SYSTEM_CA_FILE, R_OK) == 0)
			ca_file = SYSTEM_CA_FILE;
	}
	struct tls_settings server = {
		.certs = certs, .ncerts = ncerts,
		.ciphers = conf_str(c, "tls.ciphers"), .ciphersuites = conf_str(c, "tls.ciphersuites"),
		.ca_file = ca_file, .ca_path = ca_path,
		/* Ask for the peer's certificate; in.c decides what it is worth. */
		.verify_peer = TLS_VERIFY_REQUEST,
		.alpn = alpn, .nalpn = ARRAY_LEN(alpn),
	};
	struct tls_settings client = {
		.ciphers = conf_str(c, "tls.ciphers"), .ciphersuites = conf_str(c, "tls.ciphersuites"),
		.ca_file = ca_file, .ca_path = ca_path,
		/* The verdict is recorded; out.c decides what it is worth. */
		.verify_peer = TLS_VERIFY_REQUEST,
		/* XEP-0368 asks for it on direct TLS; harmless on STARTTLS. */
		.alpn = alpn, .nalpn = ARRAY_LEN(alpn),
	};

	if (tls_library_init(why, sizeof(why)) < 0)
		rc = errf(err, errlen, "TLS: %s", why);
	else if ((s2s->tls_server = tls_context_new_server(&server, why, sizeof(why))) == NULL)
		rc = errf(err, errlen, "TLS (server side): %s", why);
	else
		rc = client_contexts(s2s, &client, err, errlen);
	free(certs);
	return rc;
}

int s2s_secret_setup(struct s2s *s2s, char *err, size_t errlen)
{
	const struct conf *c = s2s->conf;
	const char *configured = conf_str(c, "s2s.dialback_secret");
	char secret[ROUTER_SECRET_MAX + 1], why[ERRLEN];
	size_t len;
	int rc;

	if (configured != NULL) {
		rc = dialback_secret_derive(configured, strlen(configured), s2s->dialback_secret);
	} else {
		if (router_secret_get(c, secret, &len, why, sizeof(why)) < 0)
			return errf(err, errlen, "%s: %s: %s", conf_where(c, router_secret_setting(c)),
			    router_secret_setting(c), why);
		rc = dialback_secret_derive(secret, len, s2s->dialback_secret);
		OPENSSL_cleanse(secret, sizeof(secret));
	}
	if (rc < 0)
		return errf(err, errlen, "cannot derive the dialback secret (HMAC failed)");
	return 0;
}

void s2s_unconfigure(struct s2s *s2s)
{
	struct s2s_config *cfg = &s2s->cfg;

	for (size_t i = 0; i < cfg->nlisteners; i++)
		free(cfg->listeners[i].address);
	free(cfg->listeners);
	for (size_t i = 0; i < cfg->nhosts; i++)
		free(cfg->hosts[i]);
	free(cfg->hosts);
	tls_context_free(&s2s->tls_server);
	for (size_t i = 0; i < s2s->ntls_clients; i++)
		tls_context_free(&s2s->tls_clients[i]);
	free(s2s->tls_clients);
	free(s2s->tls_client_of);
	s2s->tls_clients = s2s->tls_client_of = NULL;
	s2s->ntls_clients = 0;
	OPENSSL_cleanse(s2s->dialback_secret, sizeof(s2s->dialback_secret));
	memset(cfg, 0, sizeof(*cfg));
}
