/*
 * conf_schema.c — every key of parley.conf: its path, type, default, limits
 * and a one-line description. Adding a setting is one line here plus a row
 * in doc/config.md (test_conf checks that the two agree).
 *
 * This file holds data and the small value checks the data names; the
 * loader that applies it is conf.c, and what a process does with a value
 * belongs to that process.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define KIB ((int64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

/* --- checks named by the table ----------------------------------------- */

/* A light syntax check on a served domain: stringprep and the length of
 * each label are the JID code's business; here we catch the mistakes an
 * operator makes ("user@example.org", "https://example.org", "a b"). */
static int check_domain(const char *value, char *err, size_t errlen)
{
	if (*value == '\0')
		return errf(err, errlen, "a domain may not be empty");
	if (strlen(value) > 1023)
		return errf(err, errlen, "\"%.40s...\" is longer than 1023 bytes", value);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '@' || *p == '/')
			return errf(err, errlen, "\"%s\" is not a domain: it contains '%c'", value, *p);
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return errf(err, errlen, "\"%s\" is not a domain: it contains a space or control character",
			    value);
	}
	return 0;
}

static int check_account(const char *value, char *err, size_t errlen)
{
	if (*value == '\0')
		return errf(err, errlen, "may not be empty");
	for (const char *p = value; *p != '\0'; p++)
		if (*p == ':' || *p == '/' || isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return errf(err, errlen, "\"%s\" is not a user or group name", value);
	return 0;
}

/* A process's own user or group: empty (its default) means the top-level one. */
static int check_account_or_empty(const char *value, char *err, size_t errlen)
{
	return *value == '\0' ? 0 : check_account(value, err, errlen);
}

static int check_log_target(const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "stderr") == 0 || strcmp(value, "syslog") == 0 || value[0] == '/')
		return 0;
	return errf(err, errlen, "must be \"stderr\", \"syslog\" or an absolute file path, got \"%s\"",
	    value);
}

static int check_nonempty(const char *value, char *err, size_t errlen)
{
	if (*value == '\0')
		return errf(err, errlen, "may not be empty");
	return 0;
}

/* Every internal peer proves itself with this secret; a short one can be
 * guessed by anything that can reach the router's TCP port. */
static int check_secret(const char *value, char *err, size_t errlen)
{
	if (strlen(value) < 16)
		return errf(err, errlen, "is too short (%zu characters): use at least 16 random characters",
		    strlen(value));
	return 0;
}

static int check_service(const char *value, char *err, size_t errlen)
{
	static const char *const services[] = { "router", "sm", "auth", "c2s", "s2s" };
	for (size_t i = 0; i < ARRAY_LEN(services); i++)
		if (strcmp(value, services[i]) == 0)
			return 0;
	return errf(err, errlen, "unknown service \"%s\": one of router, sm, auth, c2s, s2s", value);
}

/* A name server is given by address ("192.0.2.53", "2001:db8::53",
 * "192.0.2.53:5353", "[2001:db8::53]:5353"): s2s must not need DNS to find
 * its DNS. s2s/dns_conf.c reads the same syntax into a socket address. */
static int check_nameserver(const char *value, char *err, size_t errlen)
{
	char addr[64];
	const char *port = NULL, *start = value;
	size_t len;
	unsigned char buf[sizeof(struct in6_addr)];

	if (value[0] == '[') {
		const char *close = strchr(value, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return errf(err, errlen, "\"%s\" is not an address: write \"[IPv6]:PORT\"", value);
		start = value + 1;
		len = (size_t)(close - start);
		port = close[1] == ':' ? close + 2 : NULL;
	} else {
		const char *colon = strchr(value, ':');
		bool v4_with_port = colon != NULL && strchr(colon + 1, ':') == NULL;
		len = v4_with_port ? (size_t)(colon - value) : strlen(value);
		port = v4_with_port ? colon + 1 : NULL;
	}
	if (len == 0 || len >= sizeof(addr))
		return errf(err, errlen, "\"%s\" is not an IP address", value);
	memcpy(addr, start, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1)
		return errf(err, errlen, "\"%s\" is not an IP address (name servers are given by address)",
		    value);
	if (port != NULL) {
		char *end;
		unsigned long p = isdigit((unsigned char)*port) ? strtoul(port, &end, 10) : 0;
		if (p == 0 || p > 65535 || *end != '\0')
			return errf(err, errlen, "bad port in \"%s\": expected 1 to 65535", value);
	}
	return 0;
}

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const c2s_tls_modes[] = { "starttls", "direct", NULL };
static const char *const storage_drivers[] = { "sqlite", "mysql", "pgsql", NULL };
static const char *const auth_backends[] = { "internal", "pipe", "sql", "ldap", "pam", NULL };
static const char *const sql_drivers[] = { "mysql", "pgsql", NULL };
static const char *const sql_tls_modes[] = { "disable", "prefer", "require", "verify-ca",
	"verify-full", NULL };
static const char *const sql_hashes[] = { "bcrypt", "sha512-crypt", "yescrypt", "argon2id",
	"scram-sha-1", "scram-sha-256", "plain", NULL };
static const char *const sm_core_modes[] = { "auto", "on", "off", NULL };
static const char *const ldap_scopes[] = { "base", "one", "sub", NULL };

/* --- the table ------------------------------------------------------------ */

/* One macro per type, so that a key is one line: path, default (as written
 * in the file), limits, description. Limits of a duration are in ms. Keys
 * with flags or an `excludes` are written out in full. Keep doc/config.md
 * in step: test_conf fails when a key has no row there. */

#define GROUP(p, d) { .path = (p), .type = CONF_GROUP, .doc = (d) }
#define BOOL(p, dflt, d) { .path = (p), .type = CONF_BOOL, .def = (dflt), .doc = (d) }
#define INT(p, dflt, lo, hi, d) \
	{ .path = (p), .type = CONF_INT, .def = (dflt), .min = (lo), .max = (hi), .doc = (d) }
#define SIZE(p, dflt, lo, hi, d) \
	{ .path = (p), .type = CONF_SIZE, .def = (dflt), .min = (lo), .max = (hi), .doc = (d) }
#define DURATION(p, dflt, lo, hi, d) \
	{ .path = (p), .type = CONF_DURATION, .def = (dflt), .min = (lo), .max = (hi), .doc = (d) }
#define MODE(p, dflt, hi, d) \
	{ .path = (p), .type = CONF_MODE, .def = (dflt), .min = 0, .max = (hi), .doc = (d) }
#define STRING(p, dflt, chk, d) \
	{ .path = (p), .type = CONF_STRING, .def = (dflt), .check = (chk), .doc = (d) }
/* How to reach a MySQL/MariaDB or PostgreSQL server: storage.sql and
 * auth.sql share these. */
#define SQL_SERVER(g) \
	STRING(g ".host", "", NULL, "server host name or address; empty: the local Unix socket"), \
	INT(g ".port", "0", 0, 65535, "server port; 0: the driver's default (3306, 5432)"), \
	STRING(g ".socket", "", NULL, "the server's Unix socket (PostgreSQL: its directory)"), \
	STRING(g ".database", "parley", NULL, "database name"), \
	STRING(g ".user", "parley", NULL, "database user"), \
	STRING(g ".password", "", NULL, "database password"), \
	STRING(g ".password_file", "", NULL, "file whose first line is the password"), \
	ENUM(g ".tls", "prefer", sql_tls_modes, "TLS to the server"), \
	STRING(g ".tls_ca", "", NULL, "PEM file of CAs trusted for the server's certificate"), \
	DURATION(g ".connect_timeout", "5s", 100, 600000, "time a connection attempt may take")
#define PATH(p, dflt, d) { .path = (p), .type = CONF_PATH, .def = (dflt), .doc = (d) }
#define ENUM(p, dflt, ch, d) { .path = (p), .type = CONF_ENUM, .def = (dflt), .choices = (ch), .doc = (d) }

/* Each process section may name a user and group of its own (conf_user.h). */
#define PROCESS_USER(s) \
	STRING(s ".user", "", check_account_or_empty, "user " s " runs as; empty: the top-level user"), \
	STRING(s ".group", "", check_account_or_empty, "group " s " runs as; empty: the top-level group")

/* Each process section may override the top-level log settings. */
#define PROCESS_LOG(s) \
	GROUP(s ".log", "where " s " logs; each key overrides the top-level log group's"), \
	STRING(s ".log.target", NULL, check_log_target, "log target of " s), \
	ENUM(s ".log.level", NULL, log_levels, "log level of " s)

static const struct conf_key parley_keys[] = {
	/* Shared by every process. */
	{ .path = "hosts", .type = CONF_STRLIST, .flags = CONF_REQUIRED | CONF_UNIQUE,
	  .min = 1, .max = 10000, .check = check_domain,
	  .doc = "the domains this server serves" },
	STRING("user", "parley", check_account, "the unprivileged user every process runs as"),
	STRING("group", "parley", check_account, "the group every process runs as"),
	PATH("run_dir", LOCALSTATEDIR "/run/parley", "directory of sockets and pid files"),
	PATH("data_dir", LOCALSTATEDIR "/lib/parley", "directory of persistent data"),

	GROUP("log", "where and how much every process logs"),
	STRING("log.target", "syslog", check_log_target, "\"stderr\", \"syslog\" or a file path"),
	ENUM("log.level", "info", log_levels, "least severe level that is logged"),

	GROUP("tls", "TLS certificate and settings shared by c2s and s2s"),
	PATH("tls.certificate", NULL, "PEM file: the certificate, then its chain"),
	PATH("tls.key", "${tls.certificate}", "PEM file holding the private key"),
	STRING("tls.ciphers", "ECDHE+AESGCM:ECDHE+CHACHA20", check_nonempty,
	    "OpenSSL cipher list for TLS 1.2"),
	STRING("tls.ciphersuites", NULL, check_nonempty, "OpenSSL ciphersuites for TLS 1.3"),
	PATH("tls.ca_file", NULL, "PEM bundle of CAs trusted to verify peers"),
	PATH("tls.ca_path", NULL, "directory of hashed CA certificates trusted to verify peers"),
	{ .path = "tls.domains", .type = CONF_GROUP_LIST, .min = 0, .max = 10000,
	  .doc = "a certificate per hosted domain, chosen by SNI" },
	{ .path = "tls.domains.domain", .type = CONF_STRING, .flags = CONF_REQUIRED,
	  .check = check_domain, .doc = "the domain this certificate is for" },
	{ .path = "tls.domains.certificate", .type = CONF_PATH, .flags = CONF_REQUIRED,
	  .doc = "PEM file: the certificate, then its chain" },
	PATH("tls.domains.key", NULL, "PEM file holding the private key (default: the certificate file)"),

	GROUP("router", "the hub every other process connects to"),
	PATH("router.socket", "${run_dir}/router.sock", "Unix socket the router listens on"),
	MODE("router.socket_mode", "0660", 0777, "permissions of the router socket"),
	STRING("router.socket_group", "${group}", check_account, "group owning the router socket"),
	{ .path = "router.secret", .type = CONF_STRING, .check = check_secret,
	  .excludes = "router.secret_file",
	  .doc = "shared secret internal peers present to the router" },
	PATH("router.secret_file", NULL, "file holding the shared secret"),
	/* 1M + 64K: the largest stanza we would ever allow, and room for its header. */
	SIZE("router.max_frame", "1088K", 64 * KIB, 256 * MIB, "largest internal frame, in bytes"),
	INT("router.max_peers", "1024", 1, 65536, "most peers connected at once"),
	SIZE("router.max_queue", "16M", 64 * KIB, 64 * GIB, "most bytes queued for one slow peer"),
	{ .path = "router.allowed_users", .type = CONF_STRLIST, .min = 1, .max = 64,
	  .check = check_account,
	  .doc = "users (names or numeric uids) whose processes may connect to the socket" },
	{ .path = "router.shared_names", .type = CONF_STRLIST, .flags = CONF_UNIQUE, .min = 0, .max = 256,
	  .check = check_domain, .doc = "names several peers may bind at once (default: auth)" },
	DURATION("router.hello_timeout", "10s", 100, 600000, "time a new peer has to say HELLO"),
	DURATION("router.ping_interval", "30s", 1000, 3600000, "idle time before the router pings a peer"),
	DURATION("router.hold", "60s", 1000, 86400000,
	    "how long a process keeps a stanza for a restarting peer before bouncing it"),
	GROUP("router.tcp", "TCP+TLS listener for peers on other hosts"),
	STRING("router.tcp.address", NULL, check_nonempty, "address to listen on; unset: no TCP listener"),
	INT("router.tcp.port", "5348", 1, 65535, "port of the TCP+TLS listener"),
	STRING("router.component_address", "127.0.0.1", check_nonempty,
	    "address of the XEP-0114 component listener"),
	INT("router.component_port", "5347", 0, 65535, "port of the XEP-0114 component listener; 0: none"),
	{ .path = "router.components", .type = CONF_GROUP_LIST, .min = 0, .max = 1000,
	  .doc = "the XEP-0114 components allowed to connect" },
	{ .path = "router.components.domain", .type = CONF_STRING, .flags = CONF_REQUIRED,
	  .check = check_domain, .doc = "the domain the component serves" },
	{ .path = "router.components.secret", .type = CONF_STRING, .flags = CONF_REQUIRED,
	  .check = check_nonempty, .doc = "the component's handshake secret" },
	PROCESS_USER("router"),
	PROCESS_LOG("router"),

	GROUP("c2s", "client connections"),
	INT("c2s.instances", "1", 1, 64, "number of c2s processes"),
	/* RFC 6120 §13.12: a server must accept stanzas of at least 10000 bytes. */
	SIZE("c2s.max_stanza_size", "256K", 10000, 16 * MIB, "largest stanza a client may send"),
	INT("c2s.max_depth", "32", 8, 256, "deepest XML nesting a client may send"),
	{ .path = "c2s.listeners", .type = CONF_GROUP_LIST, .min = 1, .max = 64,
	  .doc = "where clients connect (default: \"::\" 5222 starttls and 5223 direct)" },
	STRING("c2s.listeners.address", "::", check_nonempty, "address to listen on (\"::\": IPv6 and IPv4)"),
	{ .path = "c2s.listeners.port", .type = CONF_INT, .flags = CONF_REQUIRED, .min = 1, .max = 65535,
	  .doc = "TCP port" },
	ENUM("c2s.listeners.tls", "starttls", c2s_tls_modes, "\"starttls\" (5222) or \"direct\" (XEP-0368, 5223)"),
	BOOL("c2s.require_tls", "true", "offer SASL only once the stream is encrypted"),
	{ .path = "c2s.sasl_mechanisms", .type = CONF_STRLIST, .flags = CONF_UNIQUE, .min = 1, .max = 8,
	  .check = check_nonempty,
	  .doc = "SASL mechanisms offered, best first (default: SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS, "
	      "SCRAM-SHA-256, SCRAM-SHA-1, PLAIN)" },
	BOOL("c2s.sasl_external", "false", "offer SASL EXTERNAL to clients that show a certificate"),
	BOOL("c2s.sasl_tls13_unique_compat", "true",
	    "accept tls-unique from TLS 1.2-era clients on TLS 1.3 connections"),
	DURATION("c2s.sasl_timeout", "45s", 100, 600000,
	    "time auth has to answer a SASL step (more than auth.failures.delay_max)"),
	INT("c2s.max_auth_failures", "3", 1, 100, "failed SASL attempts before the stream is closed"),
	DURATION("c2s.bind_timeout", "10s", 100, 600000, "time sm has to start a session"),
	SIZE("c2s.rate_limit", "64K", 0, 1 * GIB, "bytes per second a client may send (0: no limit)"),
	INT("c2s.max_connections_per_address", "32", 0, 1000000,
	    "connections from one address at once (0: no limit)"),
	INT("c2s.max_connections", "10000", 1, 1000000, "client connections one c2s process holds"),
	DURATION("c2s.preauth_timeout", "30s", 100, 3600000,
	    "time from connecting to a started session"),
	DURATION("c2s.idle_timeout", "5m", 1000, 86400000,
	    "silence after which a session is pinged, and cut if it stays silent as long again"),
	SIZE("c2s.max_write_queue", "1M", 64 * KIB, 1 * GIB, "bytes waiting to be written to one client"),
	PROCESS_USER("c2s"),
	PROCESS_LOG("c2s"),

	GROUP("s2s", "server-to-server federation"),
	SIZE("s2s.max_stanza_size", "512K", 10000, 16 * MIB, "largest stanza a remote server may send"),
	INT("s2s.max_depth", "32", 8, 256, "deepest XML nesting a remote server may send"),
	{ .path = "s2s.listeners", .type = CONF_GROUP_LIST, .min = 0, .max = 64,
	  .doc = "where remote servers connect (default: \"::\" port 5269)" },
	STRING("s2s.listeners.address", "::", check_nonempty, "address to listen on (\"::\": IPv6 and IPv4)"),
	INT("s2s.listeners.port", "0", 0, 65535, "TCP port (0: 5269, or 5270 with direct_tls)"),
	BOOL("s2s.listeners.direct_tls", "false", "TLS from the first byte (XEP-0368) rather than STARTTLS"),
	BOOL("s2s.require_tls", "true", "streams in both directions must use STARTTLS"),
	BOOL("s2s.require_valid_certificates", "false",
	    "remote servers must present a certificate that authenticates their domain"),
	{ .path = "s2s.dialback_secret", .type = CONF_STRING, .check = check_secret,
	  .doc = "secret of the dialback keys (default: derived from the router secret)" },
	INT("s2s.max_queue", "1000", 1, 1000000, "stanzas waiting per remote domain while its stream is set up"),
	DURATION("s2s.connect_timeout", "30s", 1000, 600000,
	    "time to find, connect to and authenticate with a remote server"),
	DURATION("s2s.connect_attempt_timeout", "5s", 1000, 600000,
	    "time one address has to accept and open its stream before the next is tried"),
	DURATION("s2s.negotiation_timeout", "1m", 1000, 3600000,
	    "time an incoming connection has to authenticate a domain"),
	DURATION("s2s.idle_timeout", "10m", 1000, 86400000, "a stream silent this long is closed"),
	DURATION("s2s.keepalive", "1m", 0, 3600000, "a space is sent on a stream quiet this long (\"0s\": never)"),
	SIZE("s2s.rate_limit", "1M", 0, GIB, "bytes per second one remote connection may send (0: no limit)"),
	INT("s2s.max_connections_per_address", "16", 0, 100000,
	    "incoming connections from one IP address (0: no limit)"),
	INT("s2s.max_pending_dialback", "32", 1, 10000,
	    "dialback requests waiting for verification on one incoming stream"),
	SIZE("s2s.max_write_queue", "4M", 64 * KIB, GIB, "bytes waiting to be written to one remote server"),
	GROUP("s2s.dns", "how s2s finds remote servers in DNS"),
	{ .path = "s2s.dns.nameservers", .type = CONF_STRLIST, .flags = CONF_UNIQUE, .min = 0, .max = 6,
	  .check = check_nameserver,
	  .doc = "name servers (\"IP\" or \"IP:PORT\"); empty: the system's resolv.conf" },
	DURATION("s2s.dns.timeout", "4s", 1000, 300000, "time to wait for one answer, in whole seconds"),
	INT("s2s.dns.attempts", "2", 1, 10, "rounds over the name servers before a lookup fails"),
	DURATION("s2s.dns.min_ttl", "1m", 0, 86400000, "shortest time an answer is cached"),
	DURATION("s2s.dns.max_ttl", "1h", 1000, 7 * 86400000LL, "longest time an answer is cached"),
	DURATION("s2s.dns.negative_ttl", "1m", 0, 3600000,
	    "time \"no such domain\" and \"no such record\" are cached"),
	INT("s2s.dns.cache_entries", "4096", 0, 1000000, "answers kept in the cache (0: no cache)"),
	{ .path = "s2s.routes", .type = CONF_GROUP_LIST, .min = 0, .max = 10000,
	  .doc = "remote domains reached at a fixed host and port, without DNS" },
	{ .path = "s2s.routes.domain", .type = CONF_STRING, .flags = CONF_REQUIRED,
	  .check = check_domain, .doc = "the remote domain" },
	{ .path = "s2s.routes.host", .type = CONF_STRING, .flags = CONF_REQUIRED,
	  .check = check_domain, .doc = "its server: an IP address, or a host name looked up in DNS" },
	INT("s2s.routes.port", "5269", 1, 65535, "the server's port"),
	BOOL("s2s.routes.direct_tls", "false", "TLS at once (XEP-0368) rather than STARTTLS"),
	PROCESS_USER("s2s"),
	PROCESS_LOG("s2s"),

	GROUP("sm", "the session manager"),
	PROCESS_USER("sm"),
	PROCESS_LOG("sm"),
	ENUM("sm.core_thread", "auto", sm_core_modes,
	    "whether frames are handled off the loop: auto (with mysql, pgsql), on, off"),
	GROUP("sm.offline", "offline messages (XEP-0160)"),
	INT("sm.offline.quota", "1000", 0, 1000000,
	    "messages kept for one offline user; beyond, the sender gets an error (0: no limit)"),
	GROUP("sm.vcard", "vCards (XEP-0054)"),
	SIZE("sm.vcard.max_size", "64K", 1024, 16 * MIB, "largest vCard a user may store, in bytes"),
	GROUP("sm.private", "private XML storage (XEP-0049)"),
	SIZE("sm.private.max_size", "64K", 1024, 16 * MIB,
	    "largest element a user may store in private XML storage, in bytes"),

	GROUP("auth", "the authentication process"),
	ENUM("auth.backend", "internal", auth_backends,
	    "where accounts live: the internal store or an external program"),
	GROUP("auth.pipe", "the pipe backend: a program speaking ejabberd's extauth protocol"),
	{ .path = "auth.pipe.program", .type = CONF_STRLIST, .min = 1, .max = 64,
	  .check = check_nonempty, .doc = "the program (absolute path) and its arguments" },
	DURATION("auth.pipe.timeout", "5s", 100, 600000, "time the program has to answer a request"),
	GROUP("auth.sql", "the sql backend: the operator's own user table"),
	ENUM("auth.sql.driver", "mysql", sql_drivers, "the database's kind"),
	SQL_SERVER("auth.sql"),
	STRING("auth.sql.query_password", "", NULL,
	    "query giving a user's stored password (%u localpart, %d domain)"),
	STRING("auth.sql.query_set_password", "", NULL,
	    "query storing a new password (%u, %d, %p the stored form); empty: not allowed"),
	STRING("auth.sql.query_list", "", NULL, "query listing a domain's users (%d); empty: not allowed"),
	ENUM("auth.sql.hash", "bcrypt", sql_hashes, "the form new passwords are stored in"),
	DURATION("auth.sql.timeout", "5s", 100, 600000, "time a query may take"),
	GROUP("auth.ldap", "the ldap backend: bind as the user"),
	STRING("auth.ldap.uri", "ldap://127.0.0.1/", NULL, "the directory's URI (ldap:// or ldaps://)"),
	STRING("auth.ldap.base", "", NULL, "the search base for users"),
	ENUM("auth.ldap.scope", "sub", ldap_scopes, "the search scope"),
	STRING("auth.ldap.filter", "(uid=%u)", NULL,
	    "search filter finding a user's entry (%u localpart, %d domain; escaped)"),
	STRING("auth.ldap.bind_dn", "", NULL, "DN to search as; empty: anonymous"),
	STRING("auth.ldap.bind_password", "", NULL, "password of bind_dn"),
	STRING("auth.ldap.bind_password_file", "", NULL, "file whose first line is bind_dn's password"),
	BOOL("auth.ldap.starttls", "false", "whether to run StartTLS on an ldap:// URI"),
	STRING("auth.ldap.tls_ca", "", NULL, "PEM file of CAs trusted for the directory's certificate"),
	DURATION("auth.ldap.timeout", "5s", 100, 600000, "time an operation may take"),
	GROUP("auth.pam", "the pam backend"),
	STRING("auth.pam.service", "parley", check_nonempty, "the PAM service name (/etc/pam.d/NAME)"),
	STRING("auth.pam.username", "%u", check_nonempty,
	    "the user name given to PAM (%u localpart, %d domain)"),
	DURATION("auth.pam.timeout", "10s", 100, 600000, "time one PAM conversation may take"),
	INT("auth.threads", "4", 1, 64,
	    "threads that run the sql, ldap and pam backends' calls off the loop"),
	INT("auth.scram_iterations", "4096", 4096, 1000000, "SCRAM rounds for new passwords"),
	PATH("auth.salt_secret_file", "${data_dir}/auth-salt.secret",
	    "the key of the fake salts of unknown users, created if missing"),
	BOOL("auth.registration", "false", "whether clients may create accounts (XEP-0077)"),
	DURATION("auth.sasl_timeout", "60s", 1000, 3600000,
	    "time a SASL exchange may wait for the client's next message"),
	GROUP("auth.failures", "the growing delay after repeated failures from one address"),
	INT("auth.failures.free", "3", 0, 1000, "failures within the window that cost no delay"),
	DURATION("auth.failures.window", "10m", 1000, 86400000, "the window failures are counted in"),
	DURATION("auth.failures.delay", "1s", 10, 3600000, "the first delay, doubled at each failure"),
	DURATION("auth.failures.delay_max", "30s", 10, 3600000, "the longest delay"),
	PROCESS_USER("auth"),
	PROCESS_LOG("auth"),

	GROUP("parleyd", "the supervisor"),
	{ .path = "parleyd.services", .type = CONF_STRLIST, .flags = CONF_UNIQUE, .min = 1, .max = 5,
	  .check = check_service, .doc = "the processes parleyd starts" },
	PATH("parleyd.pid_file", "${run_dir}/parleyd.pid", "pid file written in daemon mode"),
	PATH("parleyd.bin_dir", SBINDIR, "directory holding the process binaries"),
	DURATION("parleyd.restart_delay", "1s", 10, 3600000, "first delay before restarting a process"),
	DURATION("parleyd.restart_delay_max", "30s", 10, 3600000, "longest delay between restarts"),
	INT("parleyd.max_restarts", "5", 1, 1000, "restarts of one process per minute before giving up"),
	DURATION("parleyd.stop_timeout", "10s", 100, 600000, "time a process has to stop before SIGKILL"),
	DURATION("parleyd.start_timeout", "10s", 100, 600000,
	    "time the other processes wait for the router to accept connections"),
	PROCESS_LOG("parleyd"),

	GROUP("storage", "where user data is kept"),
	ENUM("storage.driver", "sqlite", storage_drivers, "storage driver"),
	GROUP("storage.sqlite", "settings of the SQLite driver"),
	PATH("storage.sqlite.path", "${data_dir}/parley.db", "the SQLite database file"),
	GROUP("storage.sql", "settings of the mysql and pgsql drivers"),
	SQL_SERVER("storage.sql"),
	DURATION("storage.sql.hold", "10s", 0, 3600000,
	    "how long a call waits for a lost server before it fails"),
};

const struct conf_schema conf_parley_schema = { parley_keys, ARRAY_LEN(parley_keys) };

/* parleyd.services when the file leaves it out: every process, federation
 * included (doc/config.md says so; parleyctl init --no-federation writes a
 * list without s2s). */
static const char *const default_services[] = { "router", "auth", "sm", "c2s", "s2s" };

bool conf_service_enabled(const struct conf *c, const char *service)
{
	if (!conf_is_set(c, "parleyd.services")) {
		for (size_t i = 0; i < ARRAY_LEN(default_services); i++)
			if (strcmp(default_services[i], service) == 0)
				return true;
		return false;
	}
	size_t n = conf_strlist_count(c, "parleyd.services");
	for (size_t i = 0; i < n; i++)
		if (strcmp(conf_strlist_get(c, "parleyd.services", i), service) == 0)
			return true;
	return false;
}
