/*
 * config.c — what parley-c2s takes from parley.conf, checked once at start
 * (listeners, hosted domains, SASL mechanisms, limits), and its TLS
 * context, built from the tls section while the key is still readable.
 * It must not open sockets; it does not log.
 */
#include <stdlib.h>
#include <string.h>

#include "c2s.h"
#include "sasl.h"

/* What c2s offers when c2s.sasl_mechanisms is left out (a string list has
 * no schema default): every mechanism but EXTERNAL, best first. */
static const char *const default_mechs[] = {
	"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN",
};

static void default_listeners(struct c2s_config *cfg)
{
	cfg->nlisteners = 2;
	cfg->listeners = xcalloc(2, sizeof(*cfg->listeners));
	cfg->listeners[0] = (struct c2s_listener_config){ xstrdup("::"), 5222, false };
	cfg->listeners[1] = (struct c2s_listener_config){ xstrdup("::"), 5223, true };
}

static int listeners(struct c2s_config *cfg, const struct conf *c, struct conf_errors *errs)
{
	size_t n = conf_list_count(c, "c2s.listeners");

	if (!conf_is_set(c, "c2s.listeners")) {
		default_listeners(cfg);
		return 0;
	}
	if (n == 0) {
		conf_error(errs, c, "c2s.listeners", "c2s needs at least one listener");
		return -1;
	}
	cfg->listeners = xcalloc(n, sizeof(*cfg->listeners));
	cfg->nlisteners = n;
	for (size_t i = 0; i < n; i++) {
		const struct conf *e = conf_list_elem(c, "c2s.listeners", i);
		cfg->listeners[i].address = xstrdup(conf_str(e, "address"));
		cfg->listeners[i].port = (int)conf_int(e, "port");
		cfg->listeners[i].direct_tls = strcmp(conf_str(e, "tls"), "direct") == 0;
	}
	return 0;
}

static int mechanisms(struct c2s_config *cfg, const struct conf *c, struct conf_errors *errs)
{
	size_t n = conf_strlist_count(c, "c2s.sasl_mechanisms");
	int rc = 0;

	if (!conf_is_set(c, "c2s.sasl_mechanisms")) {
		for (size_t i = 0; i < ARRAY_LEN(default_mechs); i++)
			cfg->mechs[cfg->nmechs++] = default_mechs[i];
		return 0;
	}
	for (size_t i = 0; i < n && cfg->nmechs < C2S_MAX_MECHS; i++) {
		const char *m = conf_strlist_get(c, "c2s.sasl_mechanisms", i);
		if (sasl_mechanism_from_name(m) < 0) {
			conf_error(errs, c, "c2s.sasl_mechanisms", "unknown SASL mechanism \"%s\"", m);
			rc = -1;
			continue;
		}
		if (strcmp(m, "EXTERNAL") == 0)
			continue; /* offered by c2s.sasl_external alone */
		cfg->mechs[cfg->nmechs++] = m;
	}
	return rc;
}

static int hosts(struct c2s_config *cfg, const struct conf *c, struct conf_errors *errs)
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

int c2s_configure(struct c2s *c2s, const struct conf *c, struct conf_errors *errs)
{
	struct c2s_config *cfg = &c2s->cfg;
	int rc = 0;

	c2s->conf = c;
	if (listeners(cfg, c, errs) < 0)
		rc = -1;
	if (mechanisms(cfg, c, errs) < 0)
		rc = -1;
	if (hosts(cfg, c, errs) < 0)
		rc = -1;
	if (conf_str(c, "tls.certificate") == NULL) {
		conf_error(errs, c, "tls", "c2s needs TLS: set tls.certificate");
		rc = -1;
	}
	cfg->require_tls = conf_bool(c, "c2s.require_tls");
	cfg->sasl_external = conf_bool(c, "c2s.sasl_external");
	cfg->tls13_unique_compat = conf_bool(c, "c2s.sasl_tls13_unique_compat");
	cfg->registration = conf_bool(c, "auth.registration");
	cfg->sasl_timeout_ms = (uint64_t)conf_duration_ms(c, "c2s.sasl_timeout");
	cfg->max_auth_failures = (unsigned)conf_int(c, "c2s.max_auth_failures");
	cfg->bind_timeout_ms = (uint64_t)conf_duration_ms(c, "c2s.bind_timeout");
	cfg->max_stanza = (size_t)conf_size(c, "c2s.max_stanza_size");
	cfg->max_depth = (unsigned)conf_int(c, "c2s.max_depth");
	cfg->rate_limit = (size_t)conf_size(c, "c2s.rate_limit");
	cfg->max_per_address = (unsigned)conf_int(c, "c2s.max_connections_per_address");
	cfg->max_connections = (size_t)conf_int(c, "c2s.max_connections");
	cfg->preauth_timeout_ms = (uint64_t)conf_duration_ms(c, "c2s.preauth_timeout");
	cfg->idle_timeout_ms = (uint64_t)conf_duration_ms(c, "c2s.idle_timeout");
	cfg->max_write_queue = (size_t)conf_size(c, "c2s.max_write_queue");
	cfg->max_frame = (size_t)conf_size(c, "router.max_frame");
	return rc;
}

const char *c2s_host_find(const struct c2s *c2s, const char *domain)
{
	for (size_t i = 0; i < c2s->cfg.nhosts; i++)
		if (strcmp(c2s->cfg.hosts[i], domain) == 0)
			return c2s->cfg.hosts[i];
	return NULL;
}

bool c2s_hosts(const struct c2s *c2s, const char *domain)
{
	return c2s_host_find(c2s, domain) != NULL;
}

int c2s_tls_setup(struct c2s *c2s, char *err, size_t errlen)
{
	const struct conf *c = c2s->conf;
	static const char *const alpn[] = { "xmpp-client" };
	size_t ndomains = conf_list_count(c, "tls.domains"), ncerts = 0;
	struct tls_cert_settings *certs = xcalloc(ndomains + 1, sizeof(*certs));

	/* The first is the default, for clients without SNI or with another
	 * name: tls.certificate when set, else the first per-domain one. */
	if (conf_str(c, "tls.certificate") != NULL)
		certs[ncerts++] = (struct tls_cert_settings){ .domain = NULL,
			.cert_file = conf_str(c, "tls.certificate"), .key_file = conf_str(c, "tls.key") };
	for (size_t i = 0; i < ndomains; i++) {
		const struct conf *e = conf_list_elem(c, "tls.domains", i);
		const char *cert_file = conf_str(e, "certificate"), *key_file = conf_str(e, "key");
		certs[ncerts++] = (struct tls_cert_settings){ .domain = conf_str(e, "domain"),
			.cert_file = cert_file, .key_file = key_file != NULL ? key_file : cert_file };
	}
	struct tls_settings settings = {
		.certs = certs,
		.ncerts = ncerts,
		.ciphers = conf_str(c, "tls.ciphers"),
		.ciphersuites = conf_str(c, "tls.ciphersuites"),
		.ca_file = conf_str(c, "tls.ca_file"),
		.ca_path = conf_str(c, "tls.ca_path"),
		/* A client certificate only matters to SASL EXTERNAL. */
		.verify_peer = c2s->cfg.sasl_external ? TLS_VERIFY_REQUEST : TLS_VERIFY_NONE,
		.alpn = alpn,
		.nalpn = ARRAY_LEN(alpn),
	};
	char why[ERRLEN];

	int rc = 0;
	if (ncerts == 0)
		rc = errf(err, errlen, "TLS: set tls.certificate or tls.domains: clients need a "
		    "certificate");
	else if (tls_library_init(why, sizeof(why)) < 0)
		rc = errf(err, errlen, "TLS: %s", why);
	else if ((c2s->tls = tls_context_new_server(&settings, why, sizeof(why))) == NULL)
		rc = errf(err, errlen, "TLS: %s", why);
	free(certs);
	return rc;
}

void c2s_unconfigure(struct c2s *c2s)
{
	struct c2s_config *cfg = &c2s->cfg;

	for (size_t i = 0; i < cfg->nlisteners; i++)
		free(cfg->listeners[i].address);
	free(cfg->listeners);
	for (size_t i = 0; i < cfg->nhosts; i++)
		free(cfg->hosts[i]);
	free(cfg->hosts);
	tls_context_free(&c2s->tls);
	memset(cfg, 0, sizeof(*cfg));
}
