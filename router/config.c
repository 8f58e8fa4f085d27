/*
 * config.c — what the router takes from parley.conf, checked once at
 * start: limits, the shared secret (reduced to its digest), the uids
 * allowed on the Unix socket (by default every process's user), the
 * shared names and the XEP-0114 components. It reads the secret file and
 * the user database, so it runs before the sandbox; it must not open
 * sockets.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "conf_user.h"
#include "router.h"
#include "router_secret.h"

/* The secret's digest is what the router keeps: comparing digests takes the
 * same time whatever the length of the secret a peer tries. */
static int set_secret(struct router *r, const void *secret, size_t len)
{
	unsigned int mdlen = 0;

	if (EVP_Digest(secret, len, r->secret_digest, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(r->secret_digest))
		return -1;
	return 0;
}

static int secret(struct router *r, const struct conf *c, struct conf_errors *errs)
{
	char buf[ROUTER_SECRET_MAX + 1], err[ERRLEN];
	size_t len = 0;
	int rc = 0;

	if (router_secret_get(c, buf, &len, err, sizeof(err)) < 0) {
		conf_error(errs, c, router_secret_setting(c), "%s", err);
		rc = -1;
	} else if (set_secret(r, buf, len) < 0) {
		conf_error(errs, c, router_secret_setting(c), "cannot hash the secret");
		rc = -1;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

static void add_uid(struct router *r, uid_t uid)
{
	for (size_t i = 0; i < r->nallowed_uids; i++)
		if (r->allowed_uids[i] == uid)
			return;
	r->allowed_uids = xreallocarray(r->allowed_uids, r->nallowed_uids + 1,
	    sizeof(*r->allowed_uids));
	r->allowed_uids[r->nallowed_uids++] = uid;
}

/* A user name or a numeric uid; -1 with why in err. */
static int resolve_user(const char *name, uid_t *uid, char *err, size_t errlen)
{
	char *end;
	gid_t gid;

	if (*name != '\0' && strspn(name, "0123456789") == strlen(name)) {
		errno = 0;
		unsigned long v = strtoul(name, &end, 10);
		if (errno != 0 || *end != '\0' || v > (unsigned long)(uid_t)-2)
			return errf(err, errlen, "%s is not a valid uid", name);
		*uid = (uid_t)v;
		return 0;
	}
	return conf_lookup_user(name, uid, &gid, NULL, err, errlen);
}

static int allowed_users(struct router *r, const struct conf *c, struct conf_errors *errs)
{
	int rc = 0;
	uid_t uid;
	char err[ERRLEN];

	/* By default: whoever the processes run as, each as its own user or
	 * the top-level one (conf_user.h), and root. */
	if (!conf_is_set(c, "router.allowed_users")) {
		for (size_t i = 0; i < CONF_USER_NPROCESSES; i++) {
			const char *key = conf_user_key(c, conf_user_processes[i]);
			const char *user = conf_str(c, key);
			bool again = false; /* several processes may share "user" */
			for (size_t j = 0; j < i; j++)
				again |= strcmp(conf_user_key(c, conf_user_processes[j]), key) == 0;
			if (again)
				continue;
			if (resolve_user(user, &uid, err, sizeof(err)) < 0) {
				conf_error(errs, c, key, "%s", err);
				rc = -1;
				continue;
			}
			add_uid(r, uid);
		}
		add_uid(r, 0);
		return rc;
	}
	for (size_t i = 0; i < conf_strlist_count(c, "router.allowed_users"); i++) {
		const char *name = conf_strlist_get(c, "router.allowed_users", i);
		if (resolve_user(name, &uid, err, sizeof(err)) < 0) {
			conf_error(errs, c, "router.allowed_users", "%s", err);
			rc = -1;
			continue;
		}
		add_uid(r, uid);
	}
	return rc;
}

static void shared_names(struct router *r, const struct conf *c)
{
	static const char *const defaults[] = { "auth" };

	if (!conf_is_set(c, "router.shared_names")) {
		r->shared_names = xcalloc(1, sizeof(*r->shared_names));
		r->shared_names[0] = defaults[0];
		r->nshared_names = 1;
		return;
	}
	r->nshared_names = conf_strlist_count(c, "router.shared_names");
	r->shared_names = xcalloc(r->nshared_names ? r->nshared_names : 1,
	    sizeof(*r->shared_names));
	for (size_t i = 0; i < r->nshared_names; i++)
		r->shared_names[i] = conf_strlist_get(c, "router.shared_names", i);
}

static int components(struct router *r, const struct conf *c, struct conf_errors *errs)
{
	size_t n = conf_list_count(c, "router.components");
	int rc = 0;

	r->components = xcalloc(n ? n : 1, sizeof(*r->components));
	for (size_t i = 0; i < n; i++) {
		const struct conf *e = conf_list_elem(c, "router.components", i);
		const char *domain = conf_str(e, "domain");
		for (size_t j = 0; j < r->ncomponents; j++) {
			if (strcasecmp(r->components[j].domain, domain) == 0) {
				conf_error(errs, e, "domain", "component %s is listed twice", domain);
				rc = -1;
			}
		}
		r->components[r->ncomponents].domain = domain;
		r->components[r->ncomponents].secret = conf_str(e, "secret");
		r->ncomponents++;
	}
	return rc;
}

int router_configure(struct router *r, const struct conf *c, struct conf_errors *errs)
{
	int rc = 0;

	r->conf = c;
	r->max_frame = (size_t)conf_size(c, "router.max_frame");
	r->max_queue = (size_t)conf_size(c, "router.max_queue");
	r->max_peers = (size_t)conf_int(c, "router.max_peers");
	r->hello_timeout_ms = (uint64_t)conf_duration_ms(c, "router.hello_timeout");
	r->ping_interval_ms = (uint64_t)conf_duration_ms(c, "router.ping_interval");
	r->socket_path = conf_str(c, "router.socket");

	/* A queue must hold at least one whole frame, or a peer that reads
	 * perfectly well would be cut off by the first large stanza. */
	if (r->max_queue < r->max_frame) {
		conf_error(errs, c, "router.max_queue", "must be at least router.max_frame (%zu bytes)",
		    r->max_frame);
		rc = -1;
	}
	if (secret(r, c, errs) < 0)
		rc = -1;
	if (allowed_users(r, c, errs) < 0)
		rc = -1;
	shared_names(r, c);
	if (components(r, c, errs) < 0)
		rc = -1;
	if (conf_str(c, "router.tcp.address") != NULL && conf_str(c, "tls.certificate") == NULL) {
		conf_error(errs, c, "router.tcp.address", "the TCP listener needs TLS: "
		    "set tls.certificate");
		rc = -1;
	}
	return rc;
}

void router_unconfigure(struct router *r)
{
	OPENSSL_cleanse(r->secret_digest, sizeof(r->secret_digest));
	free(r->allowed_uids);
	r->allowed_uids = NULL;
	r->nallowed_uids = 0;
	free(r->shared_names);
	r->shared_names = NULL;
	r->nshared_names = 0;
	free(r->components);
	r->components = NULL;
	r->ncomponents = 0;
}

bool router_uid_allowed(const struct router *r, uid_t uid)
{
	for (size_t i = 0; i < r->nallowed_uids; i++)
		if (r->allowed_uids[i] == uid)
			return true;
	return false;
}

bool router_secret_ok(const struct router *r, const void *secret, size_t len)
{
	unsigned char digest[32];
	unsigned int mdlen = 0;

	if (EVP_Digest(secret, len, digest, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(digest))
		return false;
	return CRYPTO_memcmp(digest, r->secret_digest, sizeof(digest)) == 0;
}

const struct component_conf *router_component_conf(const struct router *r, const char *domain)
{
	for (size_t i = 0; i < r->ncomponents; i++)
		if (strcasecmp(r->components[i].domain, domain) == 0)
			return &r->components[i];
	return NULL;
}
