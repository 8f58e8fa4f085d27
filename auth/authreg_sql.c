/*
 * authreg_sql.c — the `sql` authreg backend: logins against the operator's
 * OWN user table in MySQL/MariaDB or PostgreSQL, through the queries the
 * configuration gives (auth.sql.query_password, query_set_password,
 * query_list). doc/auth.md ("sql") is the operator's side of this.
 *
 * Every database call blocks, so each request becomes a workq job (the
 * workers are auth.threads threads, each with its own connection, made on
 * first use and made again when lost); the loop only starts jobs and
 * takes their answers. A request that takes longer than auth.sql.timeout
 * is answered temporary-failure at once and its job abandoned: the worker
 * finishes (or gives up, the drivers' own timeouts) on its own.
 *
 * Password checks (PLAIN) run on the worker too, with the form of the
 * stored string deciding how (passwd_check.h). SCRAM needs the stored
 * secrets synchronously (get_secrets is called from inside libgsasl), so
 * exchange.c first asks for a prefetch: a job loads the user's stored
 * string into a small cache, counted per exchange that holds it, from
 * which get_secrets then answers; a stored form that is not SCRAM answers
 * UNSUPPORTED and the exchange fails like a wrong password.
 *
 * Must not: paste anything into SQL (authreg_sql_query.c binds every
 * value), log a password or a stored hash, touch the loop or the log from
 * a worker.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authreg.h"
#include "authreg_sql.h"
#include "hash.h"
#include "landlock.h"
#include "log.h"
#include "passwd_check.h"
#include "secrets_cache.h"
#include "workq.h"

/* --- what every job shares (read-only once started) ------------------------------ */

struct sql_shared {
	atomic_uint refs;
	const struct sql_driver *drv;
	struct sql_server server;
	struct sql_target target;
	struct sql_query q_password, q_set_password, q_list;
	enum passwd_scheme scheme;
	unsigned scram_iterations;
};

static struct sql_shared *shared_ref(struct sql_shared *sh)
{
	atomic_fetch_add(&sh->refs, 1);
	return sh;
}

static void shared_unref(struct sql_shared **shp)
{
	struct sql_shared *sh = *shp;

	*shp = NULL;
	if (sh == NULL || atomic_fetch_sub(&sh->refs, 1) != 1)
		return;
	sql_query_clear(&sh->q_password);
	sql_query_clear(&sh->q_set_password);
	sql_query_clear(&sh->q_list);
	sql_server_clear(&sh->server);
	free(sh);
}

/* --- the backend ------------------------------------------------------------------- */

struct authreg_sql {
	struct authreg base;              /* first: the handle callers hold */
	struct loop *loop;
	struct workq *workq;
	struct sql_shared *sh;
	unsigned timeout_ms;
	struct secrets_cache *cache;      /* the stored forms prefetched (see the top) */
	bool warned_plain;
	char where[160];                  /* the server, for messages */
};

enum job_op { OP_CHECK, OP_FETCH, OP_EXISTS, OP_SET };

/* One request: the loop's side (callback, timer) and the worker's (inputs,
 * outputs). The worker touches only the inputs and outputs. */
struct authreg_request {
	struct authreg_sql *owner;        /* loop side only */
	struct sql_shared *sh;
	enum job_op op;
	char *user, *domain, *password;
	authreg_cb cb;
	void *arg;
	struct workq_job *job;
	struct timer *timer;
	/* Filled by the worker. */
	enum authreg_result result;
	char *stored;                     /* OP_FETCH: the stored string */
	enum passwd_form form;
	bool connected;                   /* a new connection was made */
	bool noted;                       /* note holds a line to log */
	enum log_level note_level;
	char note[ERRLEN * 2];
};

static struct authreg_sql *sqlb(struct authreg *ar)
{
	return (struct authreg_sql *)ar;
}

static void wipe_free(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

/* --- the worker's side ------------------------------------------------------------- */

/* One connection per worker thread, closed when the thread ends. */
struct thread_conn {
	const struct sql_driver *drv;
	const struct sql_shared *sh;      /* whose settings made it (compared only) */
	struct sql_conn *conn;
};

static pthread_key_t conn_key;
static pthread_once_t conn_key_once = PTHREAD_ONCE_INIT;

static void thread_conn_end(void *p)
{
	struct thread_conn *tc = p;

	if (tc->conn != NULL)
		tc->drv->close(tc->conn);
	tc->drv->thread_end();
	free(tc);
}

static void conn_key_make(void)
{
	if (pthread_key_create(&conn_key, thread_conn_end) != 0)
		abort();
}

static struct thread_conn *thread_conn(const struct sql_shared *sh)
{
	struct thread_conn *tc;

	pthread_once(&conn_key_once, conn_key_make);
	tc = pthread_getspecific(conn_key);
	if (tc == NULL) {
		tc = xcalloc(1, sizeof(*tc));
		tc->drv = sh->drv;
		if (pthread_setspecific(conn_key, tc) != 0)
			abort();
	}
	if (tc->conn != NULL && tc->sh != sh) {
		tc->drv->close(tc->conn);
		tc->conn = NULL;
	}
	tc->drv = sh->drv;
	tc->sh = sh;
	return tc;
}

static void note(struct authreg_request *req, enum log_level level, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

static void note(struct authreg_request *req, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req->note, sizeof(req->note), fmt, ap);
	va_end(ap);
	req->note_level = level;
	req->noted = true;
}

static const char *query_name(const struct sql_shared *sh, const struct sql_query *q)
{
	if (q == &sh->q_password)
		return "query_password";
	if (q == &sh->q_set_password)
		return "query_set_password";
	return "query_list";
}

/* Run `q` for req's user and domain (and `stored` for %p), once more on a
 * fresh connection if the thread's old one turns out to be gone. */
static bool run_query(struct authreg_request *req, const struct sql_query *q,
    const char *stored, size_t max_rows, struct sql_rows *rows)
{
	const struct sql_shared *sh = req->sh;
	struct thread_conn *tc = thread_conn(sh);
	const char *values[SQL_QUERY_MAX_PARAMS];
	char err[ERRLEN];

	for (size_t i = 0; i < q->nparams; i++) {
		switch (q->params[i]) {
		case SQL_PARAM_USER: values[i] = req->user; break;
		case SQL_PARAM_DOMAIN: values[i] = req->domain; break;
		case SQL_PARAM_PASSWORD: values[i] = stored != NULL ? stored : ""; break;
		}
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		bool fresh = tc->conn == NULL;
		if (fresh) {
			tc->conn = sh->drv->connect(&sh->target, err, sizeof(err));
			if (tc->conn == NULL) {
				note(req, LOG_LEVEL_ERROR, "cannot connect: %s", err);
				return false;
			}
			req->connected = true;
		}
		enum sql_status st = sh->drv->run(tc->conn, q, values, max_rows, rows, err,
		    sizeof(err));
		if (st == SQL_DONE)
			return true;
		if (st == SQL_LOST) {
			sh->drv->close(tc->conn);
			tc->conn = NULL;
			if (!fresh)
				continue;   /* the server went away while we were idle */
		}
		note(req, LOG_LEVEL_ERROR, "%s for %s@%s: %s", query_name(sh, q), req->user, req->domain,
		    err);
		return false;
	}
	return false;
}

/* The one row query_password must give: its first column in *stored (the
 * row's memory, owned by `rows`), or the answer if there is none. */
static enum authreg_result one_row(struct authreg_request *req, struct sql_rows *rows,
    const char **stored)
{
	*stored = NULL;
	if (!run_query(req, &req->sh->q_password, NULL, 2, rows))
		return AUTHREG_TEMPFAIL;
	if (rows->n == 0)
		return AUTHREG_NO;
	if (rows->n > 1) {
		note(req, LOG_LEVEL_ERROR, "query_password returned %zu rows for %s@%s: it must return "
		    "one", rows->n, req->user, req->domain);
		return AUTHREG_TEMPFAIL;
	}
	if (rows->first[0] == NULL) {
		note(req, LOG_LEVEL_WARN, "query_password gave NULL as the password of %s@%s: no "
		    "password can match", req->user, req->domain);
		return AUTHREG_NO;
	}
	*stored = rows->first[0];
	return AUTHREG_OK;
}

static void work(void *arg)
{
	struct authreg_request *req = arg;
	struct sql_rows rows = { 0 };
	const char *stored = NULL;
	char err[ERRLEN];

	switch (req->op) {
	case OP_CHECK:
		req->result = one_row(req, &rows, &stored);
		if (req->result != AUTHREG_OK)
			break;
		switch (passwd_verify(stored, req->password, &req->form)) {
		case PASSWD_MATCH:
			req->result = AUTHREG_OK;
			break;
		case PASSWD_MISMATCH:
			req->result = AUTHREG_NO;
			break;
		case PASSWD_UNUSABLE:
			note(req, LOG_LEVEL_ERROR, "the stored password of %s@%s is in no form auth knows "
			    "(malformed %s): no password can match", req->user, req->domain,
			    stored[0] == '$' ? "or unknown $-scheme" : "SCRAM or argon2 string");
			req->result = AUTHREG_NO;
			break;
		}
		break;
	case OP_FETCH:
		req->result = one_row(req, &rows, &stored);
		if (req->result == AUTHREG_OK)
			req->stored = xstrdup(stored);
		break;
	case OP_EXISTS:
		req->result = one_row(req, &rows, &stored);
		break;
	case OP_SET: {
		char *fresh = passwd_make(req->sh->scheme, req->password, req->sh->scram_iterations,
		    err, sizeof(err));
		if (fresh == NULL) {
			note(req, LOG_LEVEL_ERROR, "cannot make the new password of %s@%s: %s", req->user,
			    req->domain, err);
			req->result = AUTHREG_TEMPFAIL;
			break;
		}
		if (!run_query(req, &req->sh->q_set_password, fresh, 1, &rows))
			req->result = AUTHREG_TEMPFAIL;
		else
			req->result = rows.affected > 0 || rows.n > 0 ? AUTHREG_OK : AUTHREG_NO;
		wipe_free(&fresh);
		break;
	}
	}
	sql_rows_clear(&rows);
}

/* --- the loop's side --------------------------------------------------------------- */

static void cache_fill(struct authreg_sql *s, struct authreg_request *req)
{
	bool exists = req->result == AUTHREG_OK;
	enum passwd_form form = exists ? passwd_form_of(req->stored) : PASSWD_MALFORMED;
	struct scram_secrets sec;

	memset(&sec, 0, sizeof(sec));
	if (form == PASSWD_SCRAM && scram_secrets_parse(req->stored, &sec, NULL, 0) < 0)
		form = PASSWD_MALFORMED;
	if (exists && form == PASSWD_MALFORMED)
		log_error("the stored password of %s@%s is in no form auth knows: no password can "
		    "match", req->user, req->domain);
	if (exists && form == PASSWD_PLAIN)
		req->form = PASSWD_PLAIN;
	/* The newest answer wins for every holder. */
	secrets_cache_hold(s->cache, req->user, req->domain, exists, form == PASSWD_SCRAM,
	    sec.hash == SCRAM_HASH_SHA1 ? &sec : NULL, sec.hash == SCRAM_HASH_SHA256 ? &sec : NULL);
	scram_secrets_wipe(&sec);
}

static void job_done(void *arg)
{
	struct authreg_request *req = arg;
	struct authreg_sql *s = req->owner;
	authreg_cb cb = req->cb;

	req->job = NULL;
	loop_timer_cancel(s->loop, &req->timer);
	if (req->connected)
		log_info("sql: connected to %s (%s)", s->where, s->sh->drv->name);
	if (req->noted)
		log_msg(req->note_level, "sql: %s", req->note);
	if (req->op == OP_FETCH && (req->result == AUTHREG_OK || req->result == AUTHREG_NO))
		cache_fill(s, req);
	if (req->form == PASSWD_PLAIN && !s->warned_plain) {
		s->warned_plain = true;
		log_warn("sql: the user table holds passwords in plain text (%s@%s is one): "
		    "store them hashed (auth.md)", req->user, req->domain);
	}
	req->cb = NULL;
	cb(req->arg, req->result);
}

/* Runs once no worker holds the request (after job_done, or instead of it
 * when abandoned). */
static void job_release(void *arg)
{
	struct authreg_request *req = arg;

	wipe_free(&req->password);
	wipe_free(&req->stored);
	free(req->user);
	free(req->domain);
	shared_unref(&req->sh);
	explicit_bzero(req, sizeof(*req));
	free(req);
}

static void job_timeout(struct loop *loop, void *arg)
{
	struct authreg_request *req = arg;
	struct authreg_sql *s = req->owner;
	authreg_cb cb = req->cb;
	void *cb_arg = req->arg;

	(void)loop;
	req->timer = NULL;
	log_warn("sql: no answer from %s within %u ms for %s@%s: temporary failure", s->where,
	    s->timeout_ms, req->user, req->domain);
	req->cb = NULL;
	/* May free req (a job still queued is released at once). */
	workq_abandon(s->workq, &req->job);
	cb(cb_arg, AUTHREG_TEMPFAIL);
}

static struct authreg_request *submit(struct authreg *ar, enum job_op op, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	struct authreg_sql *s = sqlb(ar);
	struct authreg_request *req = xcalloc(1, sizeof(*req));
	char err[ERRLEN];

	req->owner = s;
	req->sh = shared_ref(s->sh);
	req->op = op;
	req->user = xstrdup(user);
	req->domain = xstrdup(domain);
	req->password = password != NULL ? xstrdup(password) : NULL;
	req->cb = cb;
	req->arg = arg;
	req->job = workq_submit(s->workq, work, job_done, job_release, req, err, sizeof(err));
	if (req->job == NULL) {
		log_error("sql: %s", err);
		job_release(req);
		cb(arg, AUTHREG_TEMPFAIL);
		return NULL;
	}
	req->timer = loop_timer_add(s->loop, s->timeout_ms, job_timeout, req);
	return req;
}

static struct authreg_request *sql_check_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	return submit(ar, OP_CHECK, user, domain, password, cb, arg);
}

static struct authreg_request *sql_exists(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	return submit(ar, OP_EXISTS, user, domain, NULL, cb, arg);
}

static struct authreg_request *sql_set_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	if (sqlb(ar)->sh->q_set_password.text == NULL) {
		cb(arg, AUTHREG_UNSUPPORTED);
		return NULL;
	}
	return submit(ar, OP_SET, user, domain, password, cb, arg);
}

static struct authreg_request *sql_prefetch(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	return submit(ar, OP_FETCH, user, domain, NULL, cb, arg);
}

static void sql_prefetch_forget(struct authreg *ar, const char *user, const char *domain)
{
	secrets_cache_release(sqlb(ar)->cache, user, domain);
}

static enum authreg_result sql_get_secrets(struct authreg *ar, const char *user,
    const char *domain, enum scram_hash hash, struct scram_secrets *out)
{
	return secrets_cache_get(sqlb(ar)->cache, user, domain, hash, out);
}

/* Administration only (parleyctl): blocks the caller, on a connection of
 * its own. */
static enum authreg_result sql_list(struct authreg *ar, const char *domain,
    authreg_list_cb cb, void *arg)
{
	struct authreg_sql *s = sqlb(ar);
	struct sql_shared *sh = s->sh;
	const char *values[SQL_QUERY_MAX_PARAMS];
	struct sql_rows rows = { 0 };
	char err[ERRLEN];
	enum authreg_result r = AUTHREG_OK;

	if (sh->q_list.text == NULL)
		return AUTHREG_UNSUPPORTED;
	struct sql_conn *c = sh->drv->connect(&sh->target, err, sizeof(err));
	if (c == NULL) {
		log_error("sql: cannot connect to %s: %s", s->where, err);
		return AUTHREG_TEMPFAIL;
	}
	for (size_t i = 0; i < sh->q_list.nparams; i++)
		values[i] = domain;
	if (sh->drv->run(c, &sh->q_list, values, (size_t)-1, &rows, err, sizeof(err)) !=
	    SQL_DONE) {
		log_error("sql: query_list for %s: %s", domain, err);
		r = AUTHREG_TEMPFAIL;
	}
	for (size_t i = 0; r == AUTHREG_OK && i < rows.kept; i++)
		if (rows.first[i] != NULL && cb(arg, rows.first[i]) < 0)
			break;
	sql_rows_clear(&rows);
	sh->drv->close(c);
	return r;
}

static void sql_cancel(struct authreg *ar, struct authreg_request *req)
{
	struct authreg_sql *s = sqlb(ar);

	loop_timer_cancel(s->loop, &req->timer);
	req->cb = NULL;
	workq_abandon(s->workq, &req->job);   /* may free req */
}

static void sql_free(struct authreg *ar)
{
	struct authreg_sql *s = sqlb(ar);

	/* Joins the workers (closing their connections); abandoned jobs are
	 * released, and a worker stuck in a call keeps its own reference to
	 * the shared settings. */
	workq_free(&s->workq);
	secrets_cache_free(&s->cache);
	shared_unref(&s->sh);
	free(s);
}

static const struct authreg_backend sql_backend = {
	.name = "sql",
	.get_secrets = sql_get_secrets,
	.check_password = sql_check_password,
	.exists = sql_exists,
	.set_password = sql_set_password,
	.list = sql_list,
	.prefetch = sql_prefetch,
	.prefetch_forget = sql_prefetch_forget,
	.cancel = sql_cancel,
	.free = sql_free,
};

/* --- configuration ------------------------------------------------------------------ */

static int translate(const struct conf *c, const char *key, enum sql_kind kind,
    unsigned allowed, bool required, struct sql_query *out, char *err, size_t errlen)
{
	const char *text = conf_str(c, key);
	char why[ERRLEN];

	memset(out, 0, sizeof(*out));
	if (*text == '\0') {
		if (required)
			return errf(err, errlen, "%s: %s: auth.backend is \"sql\": give the query",
			    conf_where(c, key), key);
		return 0;
	}
	if (sql_query_translate(text, kind, allowed, out, why, sizeof(why)) < 0)
		return errf(err, errlen, "%s: %s: %s", conf_where(c, key), key, why);
	return 0;
}

int authreg_sql_check_conf(const struct conf *c, struct conf_errors *errs)
{
	enum sql_kind kind = strcmp(conf_str(c, "auth.sql.driver"), "pgsql") == 0 ?
	    SQL_KIND_PGSQL : SQL_KIND_MYSQL;
	static const struct {
		const char *key;
		unsigned allowed;
		bool required;
	} queries[] = {
		{ "auth.sql.query_password", SQL_PARAM_BIT(SQL_PARAM_USER) |
		    SQL_PARAM_BIT(SQL_PARAM_DOMAIN), true },
		{ "auth.sql.query_set_password", SQL_PARAM_BIT(SQL_PARAM_USER) |
		    SQL_PARAM_BIT(SQL_PARAM_DOMAIN) | SQL_PARAM_BIT(SQL_PARAM_PASSWORD), false },
		{ "auth.sql.query_list", SQL_PARAM_BIT(SQL_PARAM_DOMAIN), false },
	};
	size_t before = errs->count;

	for (size_t i = 0; i < ARRAY_LEN(queries); i++) {
		const char *text = conf_str(c, queries[i].key);
		struct sql_query q;
		char why[ERRLEN];
		if (*text == '\0') {
			if (queries[i].required)
				conf_error(errs, c, queries[i].key,
				    "auth.backend is \"sql\": give the query");
			continue;
		}
		if (sql_query_translate(text, kind, queries[i].allowed, &q, why, sizeof(why)) < 0)
			conf_error(errs, c, queries[i].key, "%s", why);
		else
			sql_query_clear(&q);
	}
	return errs->count > before ? -1 : 0;
}

/* The server's address, looked up now: once sandboxed, auth reads no
 * resolver files. Doing it here also loads whatever NSS modules the
 * lookup needs while they can still be loaded. */
static int resolve(struct sql_shared *sh, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc;

	if (*sh->server.host == '\0')
		return 0;
	rc = getaddrinfo(sh->server.host, NULL, &hints, &res);
	if (rc != 0)
		return errf(err, errlen, "cannot resolve %s: %s", sh->server.host, gai_strerror(rc));
	const void *a = res->ai_family == AF_INET6 ?
	    (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr :
	    (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
	if (inet_ntop(res->ai_family, a, sh->target.addr, sizeof(sh->target.addr)) == NULL)
		sh->target.addr[0] = '\0';
	freeaddrinfo(res);
	return 0;
}

struct authreg *authreg_sql_new(struct loop *loop, const struct conf *c, unsigned threads,
    unsigned iterations, char *err, size_t errlen)
{
	struct sql_shared *sh = xcalloc(1, sizeof(*sh));
	struct authreg_sql *s;
	const char *driver = conf_str(c, "auth.sql.driver");
	int scheme = passwd_scheme_from_name(conf_str(c, "auth.sql.hash"));
	char why[ERRLEN];

	atomic_init(&sh->refs, 1);
#ifdef HAVE_PGSQL
	if (strcmp(driver, "pgsql") == 0)
		sh->drv = &sql_driver_pgsql;
#endif
#ifdef HAVE_MYSQL
	if (strcmp(driver, "mysql") == 0)
		sh->drv = &sql_driver_mysql;
#endif
	if (sh->drv == NULL) {
		errf(err, errlen, "%s: auth.sql.driver: this build has no %s driver",
		    conf_where(c, "auth.sql.driver"), driver);
		free(sh);
		return NULL;
	}
	sh->scheme = scheme < 0 ? PASSWD_SCHEME_BCRYPT : (enum passwd_scheme)scheme;
	sh->scram_iterations = iterations;
	if (sql_server_from_conf(&sh->server, c, "auth.sql", err, errlen) < 0) {
		free(sh);
		return NULL;
	}
	sh->target.server = &sh->server;
	sh->target.query_timeout_ms = (unsigned)conf_duration_ms(c, "auth.sql.timeout");
	if (translate(c, "auth.sql.query_password", sh->drv->kind, SQL_PARAM_BIT(SQL_PARAM_USER) |
	    SQL_PARAM_BIT(SQL_PARAM_DOMAIN), true, &sh->q_password, err, errlen) < 0 ||
	    translate(c, "auth.sql.query_set_password", sh->drv->kind,
	    SQL_PARAM_BIT(SQL_PARAM_USER) | SQL_PARAM_BIT(SQL_PARAM_DOMAIN) |
	    SQL_PARAM_BIT(SQL_PARAM_PASSWORD), false, &sh->q_set_password, err, errlen) < 0 ||
	    translate(c, "auth.sql.query_list", sh->drv->kind, SQL_PARAM_BIT(SQL_PARAM_DOMAIN),
	    false, &sh->q_list, err, errlen) < 0)
		goto fail;
	if (resolve(sh, why, sizeof(why)) < 0) {
		errf(err, errlen, "%s: auth.sql.host: %s", conf_where(c, "auth.sql.host"), why);
		goto fail;
	}
	if (sh->drv->init(why, sizeof(why)) < 0) {
		errf(err, errlen, "sql: %s", why);
		goto fail;
	}
	s = xcalloc(1, sizeof(*s));
	s->base.backend = &sql_backend;
	s->base.iterations = iterations;
	s->loop = loop;
	s->sh = sh;
	s->timeout_ms = sh->target.query_timeout_ms;
	s->cache = secrets_cache_new();
	sql_server_describe(&sh->server, s->where, sizeof(s->where));
	/* Threads start at the first request, after the sandbox (workq.h). */
	s->workq = workq_new(loop, threads, err, errlen);
	if (s->workq == NULL) {
		secrets_cache_free(&s->cache);
		free(s);
		goto fail;
	}
	return &s->base;
fail:
	shared_unref(&sh);
	return NULL;
}

size_t authreg_sql_sandbox_paths(const struct conf *c, struct landlock_path *out, size_t max)
{
	/* The system's CA store (OpenSSL's default paths on Debian, and where
	 * its links point), resolver files (MariaDB checks the host name under
	 * verify-full, so it resolves the name itself). Only those that
	 * exist: Landlock refuses a missing path. */
	static const char *const store[] = { "/etc/ssl", "/usr/share/ca-certificates",
		"/usr/lib/ssl" };
	static const char *const resolver[] = { "/etc/hosts", "/etc/resolv.conf",
		"/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf" };
	const char *tls = conf_str(c, "auth.sql.tls");
	const char *ca = conf_str(c, "auth.sql.tls_ca");
	bool verify = strncmp(tls, "verify-", 7) == 0;
	size_t n = 0;

	if (*ca != '\0' && n < max)
		out[n++] = (struct landlock_path){ ca, FS_READ };
	if (verify && *ca == '\0')
		for (size_t i = 0; i < ARRAY_LEN(store) && n < max; i++)
			if (access(store[i], F_OK) == 0)
				out[n++] = (struct landlock_path){ store[i], FS_READ };
	if (strcmp(tls, "verify-full") == 0 &&
	    strcmp(conf_str(c, "auth.sql.driver"), "mysql") == 0 &&
	    *conf_str(c, "auth.sql.host") != '\0')
		for (size_t i = 0; i < ARRAY_LEN(resolver) && n < max; i++)
			if (access(resolver[i], F_OK) == 0)
				out[n++] = (struct landlock_path){ resolver[i], FS_READ };
	return n;
}
