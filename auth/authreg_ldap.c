/*
 * authreg_ldap.c — the `ldap` authreg backend: a user is an entry in the
 * operator's directory, found by a search and proved by a simple bind as
 * that entry with the password (the directory checks the password; auth
 * never reads userPassword). It keeps no SCRAM secrets, so with it auth
 * offers only PLAIN. doc/auth.md ("ldap") is the operator's description.
 *
 *   check_password  search base/scope/filter (%u, %d escaped, see
 *                   authreg_ldap_filter.c) as bind_dn or anonymously;
 *                   exactly one entry must match; then bind as its DN with
 *                   the password. An empty password is refused before the
 *                   directory is asked: a simple bind with a DN and no
 *                   password is an unauthenticated bind (RFC 4513 §5.1.2),
 *                   which many directories answer "success".
 *   exists          the same search: exactly one entry.
 *   create, set_password, remove, list: not here (AUTHREG_UNSUPPORTED):
 *                   the directory is the operator's, managed with its tools.
 *
 * Every libldap call blocks, so each request runs on a worker thread
 * (workq.h) and answers on the loop. The loop also arms auth.ldap.timeout
 * per request: past it the request is abandoned and answered
 * AUTHREG_TEMPFAIL, whatever the worker is still waiting for; libldap's own
 * timeouts (LDAP_OPT_NETWORK_TIMEOUT for connecting, LDAP_OPT_TIMEOUT for
 * each operation) then free the worker soon after. A directory that is down,
 * refuses bind_dn or answers an error is a temporary failure, never "no".
 *
 * Connections: a worker takes a slot from a small pool (at most one per
 * thread in use) holding two connections, kept open between requests:
 *   - `search`, bound once as bind_dn (or never bound: anonymous), used
 *     only for searches;
 *   - `bind`, used only for the users' binds. A bind replaces the
 *     connection's identity, so binding users on the search connection would
 *     leave the next search running as the last user (with that user's
 *     rights, or none after a failed bind) unless it were rebound as bind_dn
 *     each time: one more round trip per login, and a window where a failed
 *     rebind leaves the connection in the wrong identity. A second
 *     connection costs one socket per thread and never needs rebinding.
 * A connection that fails (the directory restarted, a timeout) is dropped;
 * a request that met a dropped connection it had reused tries once more on
 * a fresh one, so a directory restart costs no login.
 *
 * Threads: worker functions touch only their request and the pool (under
 * its mutex); nothing is logged off the loop: workers write a reason into
 * the request, and the completion logs it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ldap.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authreg_ldap.h"
#include "log.h"
#include "workq.h"

/* Names resolved through NSS at every connection: the resolver reads
 * these (those that exist are opened to it in the sandbox). */
static const char *const resolver_files[] = {
	"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
};

struct ldap_settings {
	char *uri;
	char *base;
	int scope;
	char *filter;            /* the template */
	char *bind_dn;           /* NULL: anonymous searches */
	char *bind_password;
	bool starttls;
	bool host_names;         /* some URI names a host rather than an address */
	unsigned timeout_ms;
	struct timeval tv;
};

/* Two connections for one worker at a time (see the top of the file). */
struct ldap_slot {
	struct ldap_slot *next;
	LDAP *search;
	LDAP *bind;
};

/* Shared by the backend and the requests on the workers: the settings and
 * the idle slots. `refs` changes on the loop's thread only (at submit and
 * in release); the mutex guards `idle`. */
struct ldap_pool {
	struct ldap_settings set;
	pthread_mutex_t mu;
	struct ldap_slot *idle;
	unsigned refs;
};

enum ldap_op { OP_CHECK, OP_EXISTS };

struct authreg_request {
	/* Loop side: in the owner's list until answered. */
	struct authreg_request *prev, *next;
	struct authreg_ldap *owner;
	struct loop *loop;
	struct ldap_pool *pool;
	struct workq_job *job;
	struct timer *timer;
	authreg_cb cb;
	void *arg;
	enum ldap_op op;
	char *user, *domain;     /* for the log */
	char *filter;
	char *password;          /* OP_CHECK; wiped in release */
	/* Written by the worker, read by the completion. */
	enum authreg_result result;
	char why[ERRLEN];
	char *dn;                /* the entry found, for the log */
};

struct authreg_ldap {
	struct authreg base;
	struct loop *loop;
	struct workq *workq;
	struct ldap_pool *pool;
	struct authreg_request *pending;   /* not answered yet */
};

/* --- settings ------------------------------------------------------------------ */

static int scope_of(const char *name)
{
	if (strcmp(name, "base") == 0)
		return LDAP_SCOPE_BASE;
	if (strcmp(name, "one") == 0)
		return LDAP_SCOPE_ONELEVEL;
	return LDAP_SCOPE_SUBTREE;
}

/* The first line of `path`, without its line end. */
static char *read_first_line(const char *path, char *err, size_t errlen)
{
	char buf[1024];
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return errf(err, errlen, "cannot read %s: %s", path, strerror(errno)), NULL;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	char *out = xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return out;
}

static bool is_address(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

/* Call fn on each URI of the list (libldap takes several, separated by
 * spaces or commas, and tries them in order). Stops at the first that
 * returns non-zero, or that does not parse (-1 with err). */
static int each_uri(const char *uris, int (*fn)(LDAPURLDesc *u, void *arg, char *err,
    size_t errlen), void *arg, char *err, size_t errlen)
{
	char *copy = xstrdup(uris), *save = NULL;
	int rc = 0, count = 0;

	for (char *tok = strtok_r(copy, " \t,", &save); tok != NULL && rc == 0;
	    tok = strtok_r(NULL, " \t,", &save)) {
		LDAPURLDesc *u = NULL;
		count++;
		if (ldap_url_parse(tok, &u) != LDAP_URL_SUCCESS || u == NULL) {
			rc = errf(err, errlen, "\"%s\" is not an LDAP URI (ldap://HOST:PORT/)", tok);
			break;
		}
		rc = fn(u, arg, err, errlen);
		ldap_free_urldesc(u);
	}
	free(copy);
	if (rc == 0 && count == 0)
		rc = errf(err, errlen, "no URI given");
	return rc;
}

struct uri_facts {
	bool tls;       /* some URI is ldaps:// */
	bool names;     /* some URI names a host rather than an address */
};

static int check_uri(LDAPURLDesc *u, void *arg, char *err, size_t errlen)
{
	struct uri_facts *f = arg;

	if (strcmp(u->lud_scheme, "ldap") != 0 && strcmp(u->lud_scheme, "ldaps") != 0)
		return errf(err, errlen, "%s:// is not supported: use ldap:// or ldaps://",
		    u->lud_scheme);
	if (u->lud_host == NULL || u->lud_host[0] == '\0')
		return errf(err, errlen, "a URI names no host");
	if (strcmp(u->lud_scheme, "ldaps") == 0)
		f->tls = true;
	if (!is_address(u->lud_host))
		f->names = true;
	return 0;
}

static int check_uris(const char *uri, bool *tls, bool *names, char *err, size_t errlen)
{
	struct uri_facts f = { false, false };
	int rc = each_uri(uri, check_uri, &f, err, errlen);

	*tls = f.tls;
	*names = f.names;
	return rc;
}

void authreg_ldap_check(const struct conf *c, struct conf_errors *errs)
{
	char why[ERRLEN];
	bool ldaps, names;

	if (check_uris(conf_str(c, "auth.ldap.uri"), &ldaps, &names, why, sizeof(why)) < 0)
		conf_error(errs, c, "auth.ldap.uri", "%s", why);
	else if (ldaps && conf_bool(c, "auth.ldap.starttls"))
		conf_error(errs, c, "auth.ldap.starttls",
		    "StartTLS on an ldaps:// URI: the connection is TLS already");
	if (conf_str(c, "auth.ldap.base")[0] == '\0')
		conf_error(errs, c, "auth.ldap.base",
		    "auth.backend is \"ldap\": name the search base (\"ou=people,dc=example,dc=org\")");
	if (ldap_filter_template_check(conf_str(c, "auth.ldap.filter"), why, sizeof(why)) < 0)
		conf_error(errs, c, "auth.ldap.filter", "%s", why);
	const char *pwfile = conf_str(c, "auth.ldap.bind_password_file");
	if (pwfile[0] != '\0' && access(pwfile, R_OK) < 0)
		conf_error(errs, c, "auth.ldap.bind_password_file", "%s: %s", pwfile,
		    strerror(errno));
	if (conf_str(c, "auth.ldap.bind_dn")[0] == '\0' &&
	    (pwfile[0] != '\0' || conf_str(c, "auth.ldap.bind_password")[0] != '\0'))
		conf_error(errs, c, "auth.ldap.bind_dn",
		    "a bind password is set but no bind_dn to use it with");
	const char *ca = conf_str(c, "auth.ldap.tls_ca");
	if (ca[0] != '\0' && access(ca, R_OK) < 0)
		conf_error(errs, c, "auth.ldap.tls_ca", "%s: %s", ca, strerror(errno));
}

static void settings_clear(struct ldap_settings *s)
{
	free(s->uri);
	free(s->base);
	free(s->filter);
	free(s->bind_dn);
	if (s->bind_password != NULL)
		explicit_bzero(s->bind_password, strlen(s->bind_password));
	free(s->bind_password);
	memset(s, 0, sizeof(*s));
}

/* --- the pool (workers and loop) -------------------------------------------------- */

static void drop(LDAP **ld)
{
	if (*ld != NULL)
		(void)ldap_unbind_ext_s(*ld, NULL, NULL);
	*ld = NULL;
}

static struct ldap_slot *slot_take(struct ldap_pool *p)
{
	pthread_mutex_lock(&p->mu);
	struct ldap_slot *s = p->idle;
	if (s != NULL)
		p->idle = s->next;
	pthread_mutex_unlock(&p->mu);
	if (s == NULL)
		s = xcalloc(1, sizeof(*s));
	s->next = NULL;
	return s;
}

static void slot_put(struct ldap_pool *p, struct ldap_slot *s)
{
	pthread_mutex_lock(&p->mu);
	s->next = p->idle;
	p->idle = s;
	pthread_mutex_unlock(&p->mu);
}

static void pool_unref(struct ldap_pool **pp)
{
	struct ldap_pool *p = *pp;

	*pp = NULL;
	if (p == NULL || --p->refs > 0)
		return;
	while (p->idle != NULL) {
		struct ldap_slot *s = p->idle;
		p->idle = s->next;
		drop(&s->search);
		drop(&s->bind);
		free(s);
	}
	pthread_mutex_destroy(&p->mu);
	settings_clear(&p->set);
	free(p);
}

/* --- the directory (workers only) ------------------------------------------------- */

/* libldap's message and the server's diagnostic, if any. */
static void describe(LDAP *ld, int rc, const char *what, char *why, size_t whylen)
{
	char *diag = NULL;

	if (ld != NULL)
		(void)ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	errf(why, whylen, "%s: %s%s%s%s", what, ldap_err2string(rc),
	    diag != NULL && diag[0] != '\0' ? " (" : "", diag != NULL ? diag : "",
	    diag != NULL && diag[0] != '\0' ? ")" : "");
	ldap_memfree(diag);
}

/* The connection is gone, or never was: worth one more try on a new one
 * when it had been reused. */
static bool connection_lost(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_UNAVAILABLE ||
	    rc == LDAP_BUSY;
}

/* A new connection with our options, StartTLS done if configured. The TCP
 * connection itself is made by the first operation (or StartTLS). */
static LDAP *connect_dir(const struct ldap_settings *s, int *rc_out, char *why, size_t whylen)
{
	LDAP *ld = NULL;
	int v3 = LDAP_VERSION3, rc;

	rc = ldap_initialize(&ld, s->uri);
	if (rc != LDAP_SUCCESS) {
		*rc_out = rc;
		describe(NULL, rc, "ldap_initialize", why, whylen);
		return NULL;
	}
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &s->tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &s->tv) != LDAP_OPT_SUCCESS) {
		*rc_out = LDAP_LOCAL_ERROR;
		errf(why, whylen, "cannot set the connection's options");
		drop(&ld);
		return NULL;
	}
	if (s->starttls) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			*rc_out = rc;
			describe(ld, rc, "StartTLS", why, whylen);
			drop(&ld);
			return NULL;
		}
	}
	*rc_out = LDAP_SUCCESS;
	return ld;
}

static int simple_bind(LDAP *ld, const char *dn, const char *password)
{
	struct berval cred = { strlen(password), (char *)password };
	return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

/* The search connection, bound as bind_dn: reused, or made now (*fresh). */
static int search_connection(const struct ldap_settings *s, struct ldap_slot *slot, bool *fresh,
    char *why, size_t whylen)
{
	int rc;

	*fresh = slot->search == NULL;
	if (!*fresh)
		return 0;
	slot->search = connect_dir(s, &rc, why, whylen);
	if (slot->search == NULL)
		return -1;
	if (s->bind_dn != NULL) {
		rc = simple_bind(slot->search, s->bind_dn, s->bind_password);
		if (rc != LDAP_SUCCESS) {
			char what[ERRLEN];
			snprintf(what, sizeof(what), "binding as %s (auth.ldap.bind_dn)", s->bind_dn);
			describe(slot->search, rc, what, why, whylen);
			drop(&slot->search);
			return -1;
		}
	}
	return 0;
}

/* Search for the user's entry: OK with its DN in *dn (ldap_memfree), NO
 * when no entry or more than one matches, TEMPFAIL when the directory
 * cannot answer. */
static enum authreg_result find_entry(const struct ldap_settings *s, struct ldap_slot *slot,
    const char *filter, char **dn, char *why, size_t whylen)
{
	char *attrs[] = { LDAP_NO_ATTRS, NULL };

	*dn = NULL;
	for (int attempt = 0;; attempt++) {
		LDAPMessage *res = NULL;
		struct timeval tv = s->tv;
		bool fresh;

		if (search_connection(s, slot, &fresh, why, whylen) < 0)
			return AUTHREG_TEMPFAIL;
		/* Size limit 2: one entry is the answer, a second one is all we
		 * need to know that the filter is ambiguous. */
		int rc = ldap_search_ext_s(slot->search, s->base, s->scope, filter, attrs, 1, NULL,
		    NULL, &tv, 2, &res);
		if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
			describe(slot->search, rc, "search", why, whylen);
			ldap_msgfree(res);
			bool lost = connection_lost(rc);
			if (lost || rc == LDAP_TIMEOUT)
				drop(&slot->search);
			if (lost && !fresh && attempt == 0)
				continue;
			if (rc == LDAP_NO_SUCH_OBJECT)
				errf(why, whylen, "the search base %s does not exist", s->base);
			return AUTHREG_TEMPFAIL;
		}
		int n = ldap_count_entries(slot->search, res);
		enum authreg_result r = AUTHREG_NO;
		if (rc == LDAP_SIZELIMIT_EXCEEDED || n > 1) {
			errf(why, whylen, "the filter %s matches more than one entry", filter);
		} else if (n <= 0) {
			errf(why, whylen, "no entry matches %s", filter);
		} else {
			*dn = ldap_get_dn(slot->search, ldap_first_entry(slot->search, res));
			if (*dn == NULL) {
				describe(slot->search, LDAP_DECODING_ERROR, "search", why, whylen);
				r = AUTHREG_TEMPFAIL;
			} else {
				r = AUTHREG_OK;
			}
		}
		ldap_msgfree(res);
		return r;
	}
}

/* Bind as `dn` with the password on the bind connection. */
static enum authreg_result bind_as_user(const struct ldap_settings *s, struct ldap_slot *slot,
    const char *dn, const char *password, char *why, size_t whylen)
{
	for (int attempt = 0;; attempt++) {
		bool fresh = slot->bind == NULL;
		int rc;

		if (fresh && (slot->bind = connect_dir(s, &rc, why, whylen)) == NULL)
			return AUTHREG_TEMPFAIL;
		rc = simple_bind(slot->bind, dn, password);
		switch (rc) {
		case LDAP_SUCCESS:
			return AUTHREG_OK;
		case LDAP_INVALID_CREDENTIALS:
		case LDAP_INAPPROPRIATE_AUTH:
		case LDAP_UNWILLING_TO_PERFORM:
		case LDAP_CONSTRAINT_VIOLATION:
		case LDAP_INSUFFICIENT_ACCESS:
		case LDAP_NO_SUCH_OBJECT:
		case LDAP_INVALID_DN_SYNTAX:
			/* The directory refused this user (wrong password, a
			 * locked or expired account, an entry just removed). */
			describe(slot->bind, rc, "bind", why, whylen);
			return AUTHREG_NO;
		default:
			describe(slot->bind, rc, "bind", why, whylen);
			drop(&slot->bind);
			if (connection_lost(rc) && !fresh && attempt == 0)
				continue;
			return AUTHREG_TEMPFAIL;
		}
	}
}

static void ldapb_work(void *arg)
{
	struct authreg_request *req = arg;
	const struct ldap_settings *s = &req->pool->set;
	struct ldap_slot *slot = slot_take(req->pool);
	char *dn = NULL;

	req->result = find_entry(s, slot, req->filter, &dn, req->why, sizeof(req->why));
	if (req->result == AUTHREG_OK && req->op == OP_CHECK)
		req->result = bind_as_user(s, slot, dn, req->password, req->why, sizeof(req->why));
	if (dn != NULL) {
		req->dn = xstrdup(dn);
		ldap_memfree(dn);
	}
	slot_put(req->pool, slot);
}

/* --- requests (the loop) ------------------------------------------------------------- */

static const char *op_name(enum ldap_op op)
{
	return op == OP_CHECK ? "login" : "lookup";
}

/* The request is answered (or cancelled): out of the pending list, no
 * timer. Its memory stays until workq releases it. */
static void unlink_pending(struct authreg_request *req)
{
	struct authreg_ldap *l = req->owner;

	if (l == NULL)
		return;
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		l->pending = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
	req->owner = NULL;
	loop_timer_cancel(req->loop, &req->timer);
}

static void ldapb_done(void *arg)
{
	struct authreg_request *req = arg;
	authreg_cb cb = req->cb;

	req->job = NULL;   /* finished: workq releases it after this */
	unlink_pending(req);
	switch (req->result) {
	case AUTHREG_OK:
		log_debug("ldap: %s of %s@%s: %s %s", op_name(req->op), req->user, req->domain,
		    req->op == OP_CHECK ? "bound as" : "found", req->dn);
		break;
	case AUTHREG_TEMPFAIL:
		log_warn("ldap: %s of %s@%s: %s", op_name(req->op), req->user, req->domain,
		    req->why);
		break;
	default:
		/* A miss or a wrong password is the client's business (exchange.c
		 * logs the failure); an ambiguous filter is the operator's. */
		if (strstr(req->why, "more than one entry") != NULL)
			log_warn("ldap: %s of %s@%s: %s", op_name(req->op), req->user, req->domain,
			    req->why);
		else
			log_debug("ldap: %s of %s@%s: %s", op_name(req->op), req->user, req->domain,
			    req->why);
		break;
	}
	cb(req->arg, req->result);
}

static void ldapb_release(void *arg)
{
	struct authreg_request *req = arg;

	loop_timer_cancel(req->loop, &req->timer);
	if (req->password != NULL)
		explicit_bzero(req->password, strlen(req->password));
	free(req->password);
	free(req->filter);
	free(req->dn);
	free(req->user);
	free(req->domain);
	pool_unref(&req->pool);
	free(req);
}


/* auth.ldap.timeout passed: answer now; the worker's result, if it ever
 * comes, is dropped. */
static void ldapb_timeout(struct loop *loop, void *arg)
{
	struct authreg_request *req = arg;
	struct authreg_ldap *l = req->owner;
	authreg_cb cb = req->cb;
	void *cb_arg = req->arg;

	(void)loop;
	req->timer = NULL;
	log_warn("ldap: %s of %s@%s: no answer from the directory within %u ms", op_name(req->op),
	    req->user, req->domain, req->pool->set.timeout_ms);
	unlink_pending(req);
	workq_abandon(l->workq, &req->job); /* may release req at once */
	cb(cb_arg, AUTHREG_TEMPFAIL);
}

static struct authreg_request *submit(struct authreg_ldap *l, enum ldap_op op, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	struct authreg_request *req = xcalloc(1, sizeof(*req));
	char err[ERRLEN];

	req->owner = l;
	req->loop = l->loop;
	req->pool = l->pool;
	l->pool->refs++;
	req->cb = cb;
	req->arg = arg;
	req->op = op;
	req->user = xstrdup(user);
	req->domain = xstrdup(domain);
	req->filter = ldap_filter_build(l->pool->set.filter, user, domain);
	if (password != NULL)
		req->password = xstrdup(password);
	req->job = workq_submit(l->workq, ldapb_work, ldapb_done, ldapb_release, req, err,
	    sizeof(err));
	if (req->job == NULL) {
		log_error("ldap: %s of %s@%s: %s", op_name(op), user, domain, err);
		req->owner = NULL;
		ldapb_release(req);
		cb(arg, AUTHREG_TEMPFAIL);
		return NULL;
	}
	req->next = l->pending;
	if (l->pending != NULL)
		l->pending->prev = req;
	l->pending = req;
	req->timer = loop_timer_add(l->loop, l->pool->set.timeout_ms, ldapb_timeout, req);
	return req;
}

/* --- the backend's table ---------------------------------------------------------------- */

static struct authreg_request *ldapb_check_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	/* An empty password would make the bind "unauthenticated", which
	 * directories may answer with success: never ask. */
	if (password == NULL || password[0] == '\0') {
		log_debug("ldap: login of %s@%s: empty password refused", user, domain);
		cb(arg, AUTHREG_NO);
		return NULL;
	}
	return submit((struct authreg_ldap *)ar, OP_CHECK, user, domain, password, cb, arg);
}

static struct authreg_request *ldapb_exists(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	return submit((struct authreg_ldap *)ar, OP_EXISTS, user, domain, NULL, cb, arg);
}

static void ldapb_cancel(struct authreg *ar, struct authreg_request *req)
{
	struct authreg_ldap *l = (struct authreg_ldap *)ar;

	unlink_pending(req);
	workq_abandon(l->workq, &req->job); /* release frees req */
}

static void ldapb_free(struct authreg *ar)
{
	struct authreg_ldap *l = (struct authreg_ldap *)ar;

	/* Whoever still waits is not answered (auth is exiting; the
	 * exchanges were failed already). */
	while (l->pending != NULL) {
		struct authreg_request *req = l->pending;
		unlink_pending(req);
		workq_abandon(l->workq, &req->job);
	}
	workq_free(&l->workq);
	pool_unref(&l->pool);
	free(l);
}

static const struct authreg_backend ldapb_backend = {
	.name = "ldap",
	.check_password = ldapb_check_password,
	.exists = ldapb_exists,
	/* create, set_password, remove, list: the directory is managed with
	 * its own tools; authreg.c answers AUTHREG_UNSUPPORTED. */
	.cancel = ldapb_cancel,
	.free = ldapb_free,
};

/* --- start ------------------------------------------------------------------------------- */

/* libldap's process-wide state, made now while files can be read: the
 * first call reads ldap.conf, and the TLS context reads the CA file; the
 * connections made later on the workers share that context. */
static int global_init(const struct conf *c, bool tls, char *err, size_t errlen)
{
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND;
	int min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, zero = 0;
	const char *ca = conf_str(c, "auth.ldap.tls_ca");

	if (ldap_set_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS)
		return errf(err, errlen, "libldap: cannot set the protocol version");
	if (!tls)
		return 0;
	if (ldap_set_option(NULL, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(NULL, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min) != LDAP_OPT_SUCCESS)
		return errf(err, errlen, "libldap: cannot set the TLS options");
	if (ca[0] != '\0' &&
	    ldap_set_option(NULL, LDAP_OPT_X_TLS_CACERTFILE, ca) != LDAP_OPT_SUCCESS)
		return errf(err, errlen, "libldap: cannot use %s as auth.ldap.tls_ca", ca);
	int rc = ldap_set_option(NULL, LDAP_OPT_X_TLS_NEWCTX, &zero);
	if (rc != LDAP_OPT_SUCCESS)
		return errf(err, errlen, "libldap: cannot set up TLS%s%s: %s",
		    ca[0] != '\0' ? " with " : "", ca, ldap_err2string(rc));
	return 0;
}

/* Load the resolver's modules (NSS) while they can be loaded: a lookup of
 * each host the URIs name. A failure here is only a warning: the name may
 * resolve later. */
static int preload_host(LDAPURLDesc *u, void *arg, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;

	(void)arg;
	(void)err;
	(void)errlen;
	if (u->lud_host == NULL || is_address(u->lud_host))
		return 0;
	int rc = getaddrinfo(u->lud_host, NULL, &hints, &res);
	if (rc != 0)
		log_warn("ldap: cannot resolve %s now: %s", u->lud_host, gai_strerror(rc));
	else
		freeaddrinfo(res);
	return 0;
}

struct authreg *authreg_ldap_new(struct loop *loop, const struct conf *c, char *err,
    size_t errlen)
{
	struct authreg_ldap *l;
	struct ldap_pool *p = xcalloc(1, sizeof(*p));
	struct ldap_settings *s = &p->set;
	bool ldaps;

	pthread_mutex_init(&p->mu, NULL);
	p->refs = 1;
	s->uri = xstrdup(conf_str(c, "auth.ldap.uri"));
	s->base = xstrdup(conf_str(c, "auth.ldap.base"));
	s->scope = scope_of(conf_str(c, "auth.ldap.scope"));
	s->filter = xstrdup(conf_str(c, "auth.ldap.filter"));
	s->starttls = conf_bool(c, "auth.ldap.starttls");
	s->timeout_ms = (unsigned)conf_duration_ms(c, "auth.ldap.timeout");
	s->tv.tv_sec = s->timeout_ms / 1000;
	s->tv.tv_usec = (s->timeout_ms % 1000) * 1000;
	if (conf_str(c, "auth.ldap.bind_dn")[0] != '\0') {
		const char *pwfile = conf_str(c, "auth.ldap.bind_password_file");
		s->bind_dn = xstrdup(conf_str(c, "auth.ldap.bind_dn"));
		s->bind_password = pwfile[0] != '\0' ? read_first_line(pwfile, err, errlen) :
		    xstrdup(conf_str(c, "auth.ldap.bind_password"));
		if (s->bind_password == NULL)
			goto fail;
	}
	if (check_uris(s->uri, &ldaps, &s->host_names, err, errlen) < 0 ||
	    ldap_filter_template_check(s->filter, err, errlen) < 0 ||
	    global_init(c, ldaps || s->starttls, err, errlen) < 0)
		goto fail;
	if (s->host_names)
		(void)each_uri(s->uri, preload_host, NULL, err, errlen);

	l = xcalloc(1, sizeof(*l));
	l->base.backend = &ldapb_backend;
	l->loop = loop;
	l->pool = p;
	l->workq = workq_new(loop, (unsigned)conf_int(c, "auth.threads"), err, errlen);
	if (l->workq == NULL) {
		free(l);
		goto fail;
	}
	log_info("ldap: directory %s%s, base %s, filter %s, searching %s%s", s->uri,
	    s->starttls ? " (StartTLS)" : "", s->base, s->filter,
	    s->bind_dn != NULL ? "as " : "anonymously", s->bind_dn != NULL ? s->bind_dn : "");
	return &l->base;
fail:
	pool_unref(&p);
	return NULL;
}

void authreg_ldap_sandbox(const struct authreg *ar, char *policy, size_t policylen,
    struct landlock_path *paths, size_t *npaths, size_t max)
{
	const struct authreg_ldap *l = (const struct authreg_ldap *)ar;
	size_t used = strlen(policy);

	snprintf(policy + used, policylen - used, " thread inet%s",
	    l->pool->set.host_names ? " rpath dns" : "");
	if (!l->pool->set.host_names)
		return;
	for (size_t i = 0; i < ARRAY_LEN(resolver_files) && *npaths < max; i++)
		if (access(resolver_files[i], F_OK) == 0)
			paths[(*npaths)++] = (struct landlock_path){ resolver_files[i], FS_READ };
}
