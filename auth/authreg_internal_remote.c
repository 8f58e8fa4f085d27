/*
 * authreg_internal_remote.c — the `internal` backend when Parley's store is
 * a MySQL/MariaDB or PostgreSQL server (storage_is_remote). Each call takes
 * a network round trip, and while the server is away the driver waits for
 * it up to storage.sql.hold: on auth's loop that would stall every login.
 * So here every call is a job on one worker thread (the store has one
 * connection, used by one thread at a time), answered on the loop, with a
 * timer past which the login fails with temporary-auth-failure.
 *
 * SCRAM asks for secrets synchronously from inside a libgsasl step; as with
 * the sql backend, exchange.c prefetches the user's two secrets first
 * (authreg.h, prefetch) and get_secrets answers from that cache. PLAIN goes
 * through check_password, whose PBKDF2 runs on the worker too.
 *
 * authreg_internal.c keeps the synchronous variant for SQLite.
 */
#include <stdlib.h>
#include <string.h>

#include "authreg.h"
#include "log.h"
#include "secrets_cache.h"
#include "storage.h"
#include "workq.h"

enum op { OP_FETCH, OP_CHECK, OP_EXISTS, OP_CREATE, OP_SET, OP_REMOVE };

struct remote {
	struct authreg base;       /* first: the handle callers hold */
	struct loop *loop;
	struct storage *storage;   /* used by the worker only, once started */
	struct workq *workq;
	unsigned timeout_ms;
	struct secrets_cache *cache;  /* the secrets prefetched for SCRAM */
};

struct authreg_request {
	struct remote *owner;
	enum op op;
	char *user, *domain, *password;
	unsigned iterations;
	authreg_cb cb;
	void *arg;
	struct workq_job *job;
	struct timer *timer;
	/* Filled by the worker. */
	int rc;
	struct storage_user_secrets sec;
	char err[ERRLEN];
};

static const char *const op_names[] = {
	[OP_FETCH] = "reading secrets", [OP_CHECK] = "checking a password",
	[OP_EXISTS] = "looking up a user", [OP_CREATE] = "creating a user",
	[OP_SET] = "changing a password", [OP_REMOVE] = "deleting a user",
};

static struct remote *remote_of(struct authreg *ar)
{
	return (struct remote *)ar;
}

/* --- the worker's side: the store, and nothing else -------------------------- */

static int derive(struct authreg_request *req)
{
	if (storage_secrets_from_password(req->password, req->iterations, &req->sec, req->err,
	    sizeof(req->err)) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

static void work(void *arg)
{
	struct authreg_request *req = arg;
	struct storage *s = req->owner->storage;
	const char *u = req->user, *d = req->domain;
	char *e = req->err;
	size_t el = sizeof(req->err);

	switch (req->op) {
	case OP_FETCH:
		req->rc = storage_user_get_secrets(s, d, u, SCRAM_HASH_SHA1, &req->sec.sha1, e, el);
		if (req->rc == STORAGE_OK)
			req->rc = storage_user_get_secrets(s, d, u, SCRAM_HASH_SHA256, &req->sec.sha256,
			    e, el);
		break;
	case OP_CHECK:
		req->rc = storage_user_get_secrets(s, d, u, SCRAM_HASH_SHA256, &req->sec.sha256, e,
		    el);
		if (req->rc == STORAGE_OK && !scram_secrets_check_password(&req->sec.sha256,
		    req->password))
			req->rc = STORAGE_NOT_FOUND;
		break;
	case OP_EXISTS:
		req->rc = storage_user_exists(s, d, u, e, el);
		break;
	case OP_CREATE:
		if ((req->rc = derive(req)) == STORAGE_OK)
			req->rc = storage_user_create(s, d, u, &req->sec, e, el);
		break;
	case OP_SET:
		if ((req->rc = derive(req)) == STORAGE_OK)
			req->rc = storage_user_set_secrets(s, d, u, &req->sec, e, el);
		break;
	case OP_REMOVE:
		req->rc = storage_user_delete(s, d, u, e, el);
		break;
	}
}

/* --- the loop's side ------------------------------------------------------------ */

static enum authreg_result result_of(const struct authreg_request *req)
{
	switch (req->rc) {
	case STORAGE_OK: return AUTHREG_OK;
	case STORAGE_NOT_FOUND: return AUTHREG_NO;
	case STORAGE_EXISTS: return AUTHREG_EXISTS;
	default:
		log_error("storage: %s: %s", op_names[req->op], req->err);
		return AUTHREG_TEMPFAIL;
	}
}

static void job_done(void *arg)
{
	struct authreg_request *req = arg;
	authreg_cb cb = req->cb;
	enum authreg_result result;

	req->job = NULL;
	loop_timer_cancel(req->owner->loop, &req->timer);
	result = result_of(req);
	if (req->op == OP_FETCH && (result == AUTHREG_OK || result == AUTHREG_NO))
		secrets_cache_hold(req->owner->cache, req->user, req->domain, result == AUTHREG_OK,
		    true, &req->sec.sha1, &req->sec.sha256);
	req->cb = NULL;
	cb(req->arg, result);
}

static void wipe_free(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

/* Once no worker holds the request (after job_done, or instead of it). */
static void job_release(void *arg)
{
	struct authreg_request *req = arg;

	wipe_free(&req->password);
	free(req->user);
	free(req->domain);
	explicit_bzero(req, sizeof(*req));
	free(req);
}

static void job_timeout(struct loop *loop, void *arg)
{
	struct authreg_request *req = arg;
	struct remote *r = req->owner;
	authreg_cb cb = req->cb;
	void *cb_arg = req->arg;

	(void)loop;
	req->timer = NULL;
	log_warn("storage: no answer within %u ms %s for %s@%s: temporary failure", r->timeout_ms,
	    op_names[req->op], req->user, req->domain);
	req->cb = NULL;
	/* May free req (a job still queued is released at once). */
	workq_abandon(r->workq, &req->job);
	cb(cb_arg, AUTHREG_TEMPFAIL);
}

static struct authreg_request *submit(struct authreg *ar, enum op op, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	struct remote *r = remote_of(ar);
	struct authreg_request *req = xcalloc(1, sizeof(*req));
	char err[ERRLEN];

	req->owner = r;
	req->op = op;
	req->user = xstrdup(user);
	req->domain = xstrdup(domain);
	req->password = password != NULL ? xstrdup(password) : NULL;
	req->iterations = ar->iterations;
	req->cb = cb;
	req->arg = arg;
	req->job = workq_submit(r->workq, work, job_done, job_release, req, err, sizeof(err));
	if (req->job == NULL) {
		log_error("storage: %s", err);
		job_release(req);
		cb(arg, AUTHREG_TEMPFAIL);
		return NULL;
	}
	req->timer = loop_timer_add(r->loop, r->timeout_ms, job_timeout, req);
	return req;
}

static struct authreg_request *remote_check_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	return submit(ar, OP_CHECK, user, domain, password, cb, arg);
}

static struct authreg_request *remote_exists(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	return submit(ar, OP_EXISTS, user, domain, NULL, cb, arg);
}

static struct authreg_request *remote_create(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	return submit(ar, OP_CREATE, user, domain, password, cb, arg);
}

static struct authreg_request *remote_set_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	return submit(ar, OP_SET, user, domain, password, cb, arg);
}

static struct authreg_request *remote_remove(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	return submit(ar, OP_REMOVE, user, domain, NULL, cb, arg);
}

static struct authreg_request *remote_prefetch(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	return submit(ar, OP_FETCH, user, domain, NULL, cb, arg);
}

static void remote_prefetch_forget(struct authreg *ar, const char *user, const char *domain)
{
	secrets_cache_release(remote_of(ar)->cache, user, domain);
}

static enum authreg_result remote_get_secrets(struct authreg *ar, const char *user,
    const char *domain, enum scram_hash hash, struct scram_secrets *out)
{
	return secrets_cache_get(remote_of(ar)->cache, user, domain, hash, out);
}

static void remote_cancel(struct authreg *ar, struct authreg_request *req)
{
	struct remote *r = remote_of(ar);

	loop_timer_cancel(r->loop, &req->timer);
	req->cb = NULL;
	workq_abandon(r->workq, &req->job);
}

/* Administration only (never called on auth's loop while jobs run). */
static enum authreg_result remote_list(struct authreg *ar, const char *domain,
    authreg_list_cb cb, void *arg)
{
	char err[ERRLEN];
	int rc = storage_user_list(remote_of(ar)->storage, domain, cb, arg, err, sizeof(err));

	if (rc == STORAGE_OK)
		return AUTHREG_OK;
	log_error("storage: listing users: %s", err);
	return AUTHREG_TEMPFAIL;
}

static void remote_free(struct authreg *ar)
{
	struct remote *r = remote_of(ar);

	workq_free(&r->workq);
	secrets_cache_free(&r->cache);
	storage_close(&r->storage);
	free(r);
}

static const struct authreg_backend remote_backend = {
	.name = "internal",
	.get_secrets = remote_get_secrets,
	.check_password = remote_check_password,
	.exists = remote_exists,
	.create = remote_create,
	.set_password = remote_set_password,
	.remove = remote_remove,
	.list = remote_list,
	.cancel = remote_cancel,
	.free = remote_free,
	.prefetch = remote_prefetch,
	.prefetch_forget = remote_prefetch_forget,
};

struct authreg *authreg_internal_remote_new(struct loop *loop, struct storage *storage,
    unsigned iterations, unsigned timeout_ms, char *err, size_t errlen)
{
	struct remote *r = xcalloc(1, sizeof(*r));

	r->base.backend = &remote_backend;
	r->base.iterations = iterations;
	r->loop = loop;
	r->timeout_ms = timeout_ms;
	r->workq = workq_new(loop, 1, err, errlen);
	if (r->workq == NULL) {
		free(r);
		return NULL;
	}
	r->cache = secrets_cache_new();
	r->storage = storage;
	return &r->base;
}
