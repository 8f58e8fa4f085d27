/*
 * ctl_check.c — `parleyctl check`: the configuration against its schema
 * (common/conf), then what the schema cannot know and a process would only
 * find at start: files that must be readable, a certificate that must match
 * its key, domains that must survive stringprep, users that must exist
 * (every process's: conf_user.h), directories that must be reachable, sizes
 * that must agree. Every problem is reported with the FILE:LINE of the
 * setting it comes from.
 *
 * It reads files and the user database, as the user running it; it changes
 * nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "conf_user.h"
#include "hash.h"
#include "jid.h"
#include "parleyctl.h"
#include "tls.h"

/* The most a routed frame adds around its stanza: the 12-byte header and
 * the largest attributes a ROUTE or SESSION_START carries besides the
 * stanza (from and to up to 1024 bytes, route-key or jid up to 3072,
 * session-id 65, client-addr 128, each with its 6-byte attribute header,
 * and the stanza's own attribute header): about 5.3K, rounded up. */
#define ROUTING_OVERHEAD (8 * 1024)

/* A certificate that expires sooner than this gets a warning. */
#define EXPIRY_WARNING_DAYS 30

/* Processes with a section (and a log group) of their own. */
static const char *const processes[] = { "router", "c2s", "s2s", "sm", "auth", "parleyd" };

/* --- the configured accounts ------------------------------------------------ */

/* Who a process is once it drops privileges, when that is known. */
struct account {
	bool known;
	const char *process;
	const char *user;
	uid_t uid;
	gid_t gid;
};

/* One per process, in conf_user_processes' order. */
struct accounts {
	struct account of[CONF_USER_NPROCESSES];
};

static const struct account *account_of(const struct accounts *a, const char *process)
{
	for (size_t i = 0; i < CONF_USER_NPROCESSES; i++)
		if (strcmp(a->of[i].process, process) == 0)
			return &a->of[i];
	return NULL;
}

/* Every process's user and group (conf_check_process_users reports what is
 * wrong with them, as parleyd does), then the router's own lists. */
static void check_accounts(const struct conf *c, struct conf_errors *errs, struct accounts *acct)
{
	char err[ERRLEN];

	(void)conf_check_process_users(c, errs);
	for (size_t i = 0; i < CONF_USER_NPROCESSES; i++) {
		struct account *a = &acct->of[i];
		gid_t login_gid;
		a->process = conf_user_processes[i];
		a->user = conf_user_for(c, a->process);
		a->known = conf_lookup_user(a->user, &a->uid, &login_gid, NULL, err,
		    sizeof(err)) == 0 &&
		    a->uid != 0 &&
		    conf_lookup_group(conf_group_for(c, a->process), &a->gid, err, sizeof(err)) == 0;
	}

	if (conf_is_set(c, "router.socket_group")) {
		gid_t sg;
		if (conf_lookup_group(conf_str(c, "router.socket_group"), &sg, err, sizeof(err)) < 0)
			conf_error(errs, c, "router.socket_group", "%s", err);
	}
	size_t n = conf_strlist_count(c, "router.allowed_users");
	for (size_t i = 0; i < n; i++) {
		const char *u = conf_strlist_get(c, "router.allowed_users", i);
		uid_t au;
		gid_t ag;
		if (ctl_lookup_user(u, &au, &ag, err, sizeof(err)) < 0)
			conf_error(errs, c, "router.allowed_users", "%s", err);
	}
}

/* --- domains ------------------------------------------------------------------ */

/* Each served domain and each component's domain must be a valid JID
 * domainpart, and no two may be the same domain once prepared ("Bücher.de"
 * and "xn--bcher-kva.de" are one). */
static void check_domains(const struct conf *c, struct conf_errors *errs)
{
	struct hash *seen = hash_new(16);
	char prepared[JID_PART_BUFSIZE], err[ERRLEN];

	size_t n = conf_strlist_count(c, "hosts");
	for (size_t i = 0; i < n; i++) {
		const char *h = conf_strlist_get(c, "hosts", i);
		if (jid_prep_domainpart(h, strlen(h), prepared, err, sizeof(err)) < 0) {
			conf_error(errs, c, "hosts", "\"%s\" is not a valid domain: %s", h, err);
			continue;
		}
		const char *first = hash_get(seen, prepared, strlen(prepared));
		if (first != NULL)
			conf_error(errs, c, "hosts", "\"%s\" and \"%s\" are the same domain", first, h);
		else
			hash_put(seen, prepared, strlen(prepared), (void *)h);
	}

	size_t ncomp = conf_list_count(c, "router.components");
	struct hash *comps = hash_new(ncomp);
	for (size_t i = 0; i < ncomp; i++) {
		const struct conf *e = conf_list_elem(c, "router.components", i);
		const char *d = conf_str(e, "domain");
		if (jid_prep_domainpart(d, strlen(d), prepared, err, sizeof(err)) < 0) {
			conf_error(errs, e, "domain", "\"%s\" is not a valid domain: %s", d, err);
			continue;
		}
		size_t plen = strlen(prepared);
		if (hash_get(seen, prepared, plen) != NULL)
			conf_error(errs, e, "domain", "\"%s\" is a served domain (in hosts): a "
			    "component needs a domain of its own", d);
		else if (hash_get(comps, prepared, plen) != NULL)
			conf_error(errs, e, "domain", "\"%s\" is already another component's domain",
			    d);
		else
			hash_put(comps, prepared, plen, (void *)d);
	}
	hash_free(&comps, NULL);
	hash_free(&seen, NULL);
}

/* --- the router -------------------------------------------------------------- */

static void check_secret(const struct conf *c, struct conf_errors *errs, struct conf_errors *warns)
{
	char secret[ROUTER_SECRET_MAX + 1], err[ERRLEN];
	size_t len;
	struct stat st;
	const char *file = conf_str(c, "router.secret_file");

	if (conf_str(c, "router.secret") != NULL)
		return; /* the schema checked its length */
	if (file == NULL) {
		conf_error(errs, c, "router", "no shared secret for the processes: set "
		    "router.secret_file (or router.secret)");
		return;
	}
	if (router_secret_read_file(file, secret, &len, &st, err, sizeof(err)) < 0) {
		conf_error(errs, c, "router.secret_file", "%s", err);
		return;
	}
	explicit_bzero(secret, sizeof(secret));
	if (st.st_mode & S_IROTH)
		conf_error(warns, c, "router.secret_file", "warning: %s is readable by every user "
		    "(mode %04o): chmod o-r it", file, (unsigned)(st.st_mode & 07777));
}

static void check_socket(const struct conf *c, struct conf_errors *errs,
    const struct accounts *acct)
{
	const char *sock = conf_str(c, "router.socket");
	const char *run_dir = conf_str(c, "run_dir");
	struct sockaddr_un sun;
	char dir[PATH_MAX], blocker[PATH_MAX];
	struct stat st;

	if (strlen(sock) >= sizeof(sun.sun_path)) {
		conf_error(errs, c, "router.socket", "%s is %zu bytes long: a Unix socket path holds "
		    "at most %zu", sock, strlen(sock), sizeof(sun.sun_path) - 1);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", sock);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	if (dir[0] == '\0')
		snprintf(dir, sizeof(dir), "/");
	if (stat(dir, &st) < 0 && strcmp(dir, run_dir) != 0)
		conf_error(errs, c, "router.socket", "directory %s does not exist", dir);
	/* The processes reconnect to the router after they have dropped to
	 * their users: every directory on the way must let each through. */
	for (size_t i = 0; i < CONF_USER_NPROCESSES; i++) {
		const struct account *a = &acct->of[i];
		bool again = false;
		for (size_t j = 0; j < i; j++)
			again |= acct->of[j].known && acct->of[j].uid == a->uid &&
			    acct->of[j].gid == a->gid;
		if (strcmp(a->process, "router") == 0 || !a->known || again)
			continue;
		if (!ctl_path_reachable(sock, a->uid, a->gid, blocker, sizeof(blocker)))
			conf_error(errs, c, "router.socket", "user %s (%s) cannot reach %s: %s is not "
			    "searchable by it", a->user, a->process, sock, blocker);
	}
}

static void check_frame_size(const struct conf *c, struct conf_errors *errs)
{
	static const char *const stanza_keys[] = { "c2s.max_stanza_size", "s2s.max_stanza_size" };
	uint64_t max_frame = conf_size(c, "router.max_frame"), stanza = 0;
	const char *key = NULL;
	char a[32], b[32], need[32];

	/* The largest stanza any process accepts decides. */
	for (size_t i = 0; i < ARRAY_LEN(stanza_keys); i++) {
		uint64_t v = conf_size(c, stanza_keys[i]);
		if (key == NULL || v > stanza) {
			stanza = v;
			key = stanza_keys[i];
		}
	}
	if (stanza + ROUTING_OVERHEAD <= max_frame)
		return;
	/* Round the advice up to whole kibibytes, as one would write it. */
	uint64_t want = (stanza + ROUTING_OVERHEAD + 1023) / 1024 * 1024;
	ctl_format_size(want, need, sizeof(need));
	ctl_format_size(stanza, a, sizeof(a));
	ctl_format_size(max_frame, b, sizeof(b));
	/* Point at the line the operator changed. */
	if (conf_is_set(c, "router.max_frame") || !conf_is_set(c, key))
		conf_error(errs, c, "router.max_frame", "%s cannot carry a stanza of %s (%s) with "
		    "its routing header: make it at least %s", b, key, a, need);
	else
		conf_error(errs, c, key, "a stanza of %s does not fit in router.max_frame (%s) with "
		    "its routing header: set router.max_frame to at least %s", a, b, need);
}

static void check_component_ports(const struct conf *c, struct conf_errors *errs,
    struct conf_errors *warns)
{
	int64_t port = conf_int(c, "router.component_port");
	if (conf_str(c, "router.tcp.address") != NULL && port != 0 &&
	    port == conf_int(c, "router.tcp.port"))
		conf_error(errs, c, "router.component_port", "%" PRId64 " is also router.tcp.port",
		    port);

	size_t n = conf_list_count(c, "router.components");
	for (size_t i = 0; i < n; i++) {
		const struct conf *e = conf_list_elem(c, "router.components", i);
		if (strlen(conf_str(e, "secret")) < ROUTER_SECRET_MIN)
			conf_error(warns, e, "secret", "warning: shorter than %d characters: anyone "
			    "who can reach the component port may guess it", ROUTER_SECRET_MIN);
	}
	if (n > 0 && port == 0)
		conf_error(warns, c, "router.component_port", "warning: 0 turns the component "
		    "listener off, but router.components lists components");
}

/* --- TLS ------------------------------------------------------------------------ */

static int passphrase_refused(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

/* The key on its own, so that a problem with it is reported at tls.key
 * when the file names one. Returns whether it loaded. */
static bool check_key_file(const struct conf *c, struct conf_errors *errs, const char *key_key,
    const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		conf_error(errs, c, key_key, "cannot read %s: %s", path, strerror(errno));
		return false;
	}
	bool asked = false;
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, passphrase_refused, &asked);
	fclose(f);
	ERR_clear_error();
	if (key == NULL) {
		if (asked)
			conf_error(errs, c, key_key, "the private key in %s is encrypted: store it "
			    "without a passphrase", path);
		else
			conf_error(errs, c, key_key, "%s holds no private key in PEM form", path);
		return false;
	}
	EVP_PKEY_free(key);
	return true;
}

/* Warnings about a certificate that loads: expiry, and hosted domains it
 * does not name (clients refuse such a certificate). */
static void check_certificate_names(const struct conf *c, struct conf_errors *warns,
    const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (cert == NULL)
		return;

	int days = 0, secs = 0;
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
		conf_error(warns, c, "tls.certificate", "warning: %s has expired", path);
	else if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0)
		conf_error(warns, c, "tls.certificate", "warning: %s is not valid yet", path);
	else if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) == 1 &&
	    days < EXPIRY_WARNING_DAYS)
		conf_error(warns, c, "tls.certificate", "warning: %s expires in %d day%s", path,
		    days, days == 1 ? "" : "s");

	size_t n = conf_strlist_count(c, "hosts");
	for (size_t i = 0; i < n; i++) {
		const char *h = conf_strlist_get(c, "hosts", i);
		char ascii[JID_DOMAIN_ASCII_MAX + 1], err[ERRLEN];
		bool own = false; /* a domain with its own certificate in tls.domains */
		for (size_t j = 0; j < conf_list_count(c, "tls.domains"); j++)
			if (strcasecmp(conf_str(conf_list_elem(c, "tls.domains", j), "domain"), h) == 0)
				own = true;
		if (own)
			continue;
		if (jid_domainpart_to_ascii(h, strlen(h), ascii, err, sizeof(err)) < 0)
			continue; /* reported by check_domains */
		int ok = ascii[0] == '[' ? 0 :
		    X509_check_host(cert, ascii, 0, 0, NULL) == 1 ||
		    X509_check_ip_asc(cert, ascii, 0) == 1;
		if (!ok)
			conf_error(warns, c, "tls.certificate", "warning: %s is not valid for \"%s\": "
			    "clients will refuse it for that domain", path, h);
	}
	X509_free(cert);
}

/* One client context with only `s`'s extra setting: a bad cipher list or
 * CA file is reported at its own key, whatever else is wrong. */
static void check_tls_setting(const struct conf *c, struct conf_errors *errs, const char *key,
    struct tls_settings s)
{
	char err[ERRLEN] = "";
	struct tls_context *ctx = tls_context_new_client(&s, err, sizeof(err));
	if (ctx == NULL)
		conf_error(errs, c, key, "%s", err);
	tls_context_free(&ctx);
}

static void check_tls(const struct conf *c, struct conf_errors *errs, struct conf_errors *warns)
{
	char err[ERRLEN] = "";
	const char *cert = conf_str(c, "tls.certificate");
	const char *key = conf_str(c, "tls.key");
	/* tls.key defaults to the certificate file: blame what the file says. */
	const char *key_key = conf_is_set(c, "tls.key") ? "tls.key" : "tls.certificate";

	if (tls_library_init(err, sizeof(err)) < 0) {
		conf_error(errs, c, "tls", "cannot initialise OpenSSL: %s", err);
		return;
	}
	if (conf_is_set(c, "tls.ciphers"))
		check_tls_setting(c, errs, "tls.ciphers",
		    (struct tls_settings){ .ciphers = conf_str(c, "tls.ciphers") });
	if (conf_is_set(c, "tls.ciphersuites"))
		check_tls_setting(c, errs, "tls.ciphersuites",
		    (struct tls_settings){ .ciphersuites = conf_str(c, "tls.ciphersuites") });
	if (conf_is_set(c, "tls.ca_file"))
		check_tls_setting(c, errs, "tls.ca_file",
		    (struct tls_settings){ .ca_file = conf_str(c, "tls.ca_file") });
	if (conf_is_set(c, "tls.ca_path"))
		check_tls_setting(c, errs, "tls.ca_path",
		    (struct tls_settings){ .ca_path = conf_str(c, "tls.ca_path") });

	/* Each per-domain certificate with its key, as c2s loads it. */
	for (size_t i = 0; i < conf_list_count(c, "tls.domains"); i++) {
		const struct conf *e = conf_list_elem(c, "tls.domains", i);
		const char *dcert = conf_str(e, "certificate"), *dkey = conf_str(e, "key");
		const char *dkey_key = dkey != NULL ? "key" : "certificate";
		if (dkey == NULL)
			dkey = dcert;
		if (!check_key_file(e, errs, dkey_key, dkey))
			continue;
		struct tls_cert_settings dcs = { .domain = conf_str(e, "domain"), .cert_file = dcert,
			.key_file = dkey };
		struct tls_settings ds = { .certs = &dcs, .ncerts = 1 };
		struct tls_context *dctx = tls_context_new_server(&ds, err, sizeof(err));
		if (dctx == NULL)
			conf_error(errs, e, "certificate", "%s", err);
		tls_context_free(&dctx);
	}
	if (cert == NULL) {
		if (conf_is_set(c, "tls.key"))
			conf_error(errs, c, "tls.key", "set, but tls.certificate is not");
		return;
	}
	if (!check_key_file(c, errs, key_key, key))
		return;
	/* The certificate with its key, as c2s and s2s will load them: this
	 * is where a key that belongs to another certificate shows. */
	struct tls_cert_settings cs = { .cert_file = cert, .key_file = key };
	struct tls_settings s = { .certs = &cs, .ncerts = 1 };
	struct tls_context *ctx = tls_context_new_server(&s, err, sizeof(err));
	if (ctx == NULL) {
		conf_error(errs, c, "tls.certificate", "%s", err);
		return;
	}
	tls_context_free(&ctx);
	check_certificate_names(c, warns, cert);
}

/* --- directories and files -------------------------------------------------------- */

/* A directory a process creates at start if it is missing: it must be a
 * directory, or be creatable under its nearest existing parent. */
static void check_dir(const struct conf *c, struct conf_errors *errs, const char *key)
{
	const char *path = conf_str(c, key);
	char walk[PATH_MAX];
	struct stat st;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			conf_error(errs, c, key, "%s exists and is not a directory", path);
		return;
	}
	if (errno != ENOENT && errno != ENOTDIR) {
		conf_error(errs, c, key, "%s: %s", path, strerror(errno));
		return;
	}
	snprintf(walk, sizeof(walk), "%s", path);
	for (;;) {
		char *slash = strrchr(walk, '/');
		if (slash == NULL)
			return;
		if (slash == walk)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(walk, &st) == 0)
			break;
		if (slash == walk)
			return;
	}
	if (!S_ISDIR(st.st_mode))
		conf_error(errs, c, key, "%s cannot be created: %s is not a directory", path, walk);
	else if (access(walk, W_OK | X_OK) < 0)
		conf_error(errs, c, key, "%s does not exist and cannot be created: %s is not "
		    "writable", path, walk);
}

static void parent_dir(const char *path, char *out, size_t len)
{
	snprintf(out, len, "%s", path);
	char *slash = strrchr(out, '/');
	if (slash == out)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
}

/* A log file is opened (and created) at start: its directory must exist. */
static void check_log_target(const struct conf *c, struct conf_errors *errs, const char *key)
{
	const char *target = conf_str(c, key);
	char dir[PATH_MAX];
	struct stat st;

	if (target == NULL || target[0] != '/' || !conf_is_set(c, key))
		return;
	if (stat(target, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			conf_error(errs, c, key, "%s is a directory", target);
		return;
	}
	parent_dir(target, dir, sizeof(dir));
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		conf_error(errs, c, key, "cannot create %s: directory %s does not exist", target, dir);
}

static void check_storage(const struct conf *c, struct conf_errors *errs, struct conf_errors *warns,
    const struct accounts *acct)
{
	const struct account *sm = account_of(acct, "sm");
	struct stat data;
	char dir[PATH_MAX];
	struct stat st;

	if (strcmp(conf_str(c, "storage.driver"), "sqlite") != 0)
		return;
	const char *db = conf_str(c, "storage.sqlite.path");
	parent_dir(db, dir, sizeof(dir));
	if (stat(dir, &st) < 0) {
		if (strcmp(dir, conf_str(c, "data_dir")) != 0)
			conf_error(errs, c, "storage.sqlite.path", "directory %s does not exist", dir);
		return;
	}
	/* SQLite keeps its -wal and -shm files next to the database. sm's user
	 * opens it (and auth's, the same one: conf_check_store_user); data_dir
	 * is given to that user when sm starts (storage_prepare). */
	bool is_data_dir = stat(conf_str(c, "data_dir"), &data) == 0 &&
	    data.st_dev == st.st_dev && data.st_ino == st.st_ino;
	if (sm->known && !is_data_dir && !ctl_may_access(&st, sm->uid, sm->gid, W_OK | X_OK))
		conf_error(warns, c, "storage.sqlite.path", "warning: user %s (sm) cannot write in "
		    "%s, where SQLite keeps the database's journal", sm->user, dir);
}

/* parleyd starts BIN_DIR/parley-SERVICE for each service. */
static void check_binaries(const struct conf *c, struct conf_errors *errs)
{
	const char *bin_dir = conf_str(c, "parleyd.bin_dir");
	const char *key = conf_is_set(c, "parleyd.bin_dir") ? "parleyd.bin_dir" : "parleyd";
	const char *services[8];
	size_t n = ctl_services(c, services, ARRAY_LEN(services));
	char path[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/parley-%s", bin_dir, services[i]);
		if (access(path, X_OK) < 0)
			conf_error(errs, c, key, "cannot run %s (service %s): %s", path, services[i],
			    strerror(errno));
	}
}

/* --- the whole check ------------------------------------------------------------ */

/* "FILE:LINE: ..." → file and line, to sort by. Lines without a number
 * sort before the numbered lines of their file. */
struct located {
	const char *msg;
	size_t file_len;
	unsigned long line;
	size_t order;
};

static void locate(const char *msg, size_t order, struct located *l)
{
	l->msg = msg;
	l->order = order;
	l->line = 0;
	l->file_len = strlen(msg);
	for (const char *p = msg; (p = strchr(p, ':')) != NULL; p++) {
		const char *q = p + 1;
		if (!isdigit((unsigned char)*q)) {
			if (q[0] == ' ') {
				l->file_len = (size_t)(p - msg);
				return;
			}
			continue;
		}
		char *end;
		unsigned long line = strtoul(q, &end, 10);
		if (end[0] == ':' && end[1] == ' ') {
			l->file_len = (size_t)(p - msg);
			l->line = line;
			return;
		}
	}
}

static int cmp_located(const void *a, const void *b)
{
	const struct located *x = a, *y = b;
	size_t n = x->file_len < y->file_len ? x->file_len : y->file_len;
	int r = memcmp(x->msg, y->msg, n);
	if (r != 0)
		return r;
	if (x->file_len != y->file_len)
		return x->file_len < y->file_len ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void sort_errors(struct conf_errors *errs)
{
	struct located l[CONF_MAX_ERRORS];
	char *sorted[CONF_MAX_ERRORS];

	for (size_t i = 0; i < errs->count; i++)
		locate(errs->msg[i], i, &l[i]);
	qsort(l, errs->count, sizeof(l[0]), cmp_located);
	for (size_t i = 0; i < errs->count; i++)
		sorted[i] = errs->msg[l[i].order];
	memcpy(errs->msg, sorted, errs->count * sizeof(sorted[0]));
}

void ctl_check_conf(const struct conf *c, struct conf_errors *errs, struct conf_errors *warns)
{
	struct accounts acct = { 0 };
	char key[64];

	check_domains(c, errs);
	check_accounts(c, errs, &acct);
	check_dir(c, errs, "run_dir");
	check_dir(c, errs, "data_dir");
	check_log_target(c, errs, "log.target");
	for (size_t i = 0; i < ARRAY_LEN(processes); i++) {
		snprintf(key, sizeof(key), "%s.log.target", processes[i]);
		check_log_target(c, errs, key);
	}
	check_tls(c, errs, warns);
	check_secret(c, errs, warns);
	check_socket(c, errs, &acct);
	check_frame_size(c, errs);
	check_component_ports(c, errs, warns);
	check_storage(c, errs, warns, &acct);
	check_binaries(c, errs);
	sort_errors(errs);
	sort_errors(warns);
}

static void check_usage(FILE *out, const struct ctl *ctl)
{
	fprintf(out,
	    "usage: %s [-c FILE] check [-c FILE]\n"
	    "Check the configuration: its syntax and settings, and what each process\n"
	    "checks at start (files, certificate and key, users, directories).\n"
	    "Prints every problem as FILE:LINE: setting: what is wrong and exits 1,\n"
	    "or prints \"FILE: OK\" and exits 0.\n", ctl->prog);
}

int ctl_check(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl->config_path = optarg;
			break;
		case 'h':
			check_usage(stdout, ctl);
			return CTL_EXIT_OK;
		default:
			check_usage(stderr, ctl);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ctl_warnx(ctl, "check: unexpected argument '%s'", argv[optind]);
		check_usage(stderr, ctl);
		return CTL_EXIT_USAGE;
	}

	struct conf *c = ctl_load_config(ctl);
	if (c == NULL)
		return CTL_EXIT_FAIL;
	struct conf_errors errs = CONF_ERRORS_INIT, warns = CONF_ERRORS_INIT;
	ctl_check_conf(c, &errs, &warns);
	conf_errors_print(&warns, stderr);
	int rc = CTL_EXIT_OK;
	if (errs.count > 0 || errs.dropped > 0) {
		conf_errors_print(&errs, stderr);
		rc = CTL_EXIT_FAIL;
	} else {
		printf("%s: OK\n", ctl->config_path);
	}
	conf_errors_clear(&errs);
	conf_errors_clear(&warns);
	conf_free(&c);
	return rc;
}
