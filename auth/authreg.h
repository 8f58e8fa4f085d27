/*
 * authreg.h — the one narrow interface between parley-auth and the user
 * databases it can use (after Dovecot's passdb/userdb): check a password,
 * hand out SCRAM secrets, tell whether a user exists, create, change the
 * password of, delete and list users. Each backend fills in a table of
 * functions (struct authreg_backend); the rest of auth never knows which
 * one is behind it.
 *
 * Backends now: `internal` (the storage driver, authreg_internal.c) and
 * `pipe` (an external program speaking ejabberd's extauth protocol,
 * authreg_pipe.c). Issue 7's `sql`, `ldap` and `pam` slot in the same way.
 *
 * Two kinds of call:
 *   - get_secrets is synchronous, because libgsasl asks for secrets from
 *     inside a step. Only backends that keep SCRAM secrets have it
 *     (internal; sql with SCRAM-formatted columns); with the others auth
 *     offers only PLAIN.
 *   - everything else may be slow (a program, a directory on the network),
 *     so it answers through a callback. A backend may call it before the
 *     function returns (internal does) or later from the loop (pipe does);
 *     callers must be ready for both. A call that will answer later returns
 *     a request handle the caller can cancel (its callback then never
 *     runs); a call answered at once returns NULL.
 *
 * Usernames reach a backend already nodeprepped (jid_prep_localpart), and
 * domains are hosted domains in canonical form. Passwords arrive
 * SASLprepped where the protocol says so; backends never log them.
 */
#ifndef PARLEY_AUTHREG_H
#define PARLEY_AUTHREG_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "scram_secrets.h"
#include "util.h"

enum authreg_result {
	AUTHREG_OK = 0,        /* done; the password is right; the user exists */
	AUTHREG_NO,            /* wrong password; no such user */
	AUTHREG_EXISTS,        /* create: the user exists already */
	AUTHREG_TEMPFAIL,      /* the backend cannot answer now (down, timed out) */
	AUTHREG_UNSUPPORTED,   /* this backend cannot do that */
};

const char *authreg_result_name(enum authreg_result r);

typedef void (*authreg_cb)(void *arg, enum authreg_result result);
/* list: one call per user, then done. */
typedef int (*authreg_list_cb)(void *arg, const char *localpart);

struct authreg;
struct authreg_request;

struct authreg_backend {
	const char *name;
	/* NULL: this backend keeps no SCRAM secrets (only PLAIN works). */
	enum authreg_result (*get_secrets)(struct authreg *ar, const char *user,
	    const char *domain, enum scram_hash hash, struct scram_secrets *out);
	struct authreg_request *(*check_password)(struct authreg *ar, const char *user,
	    const char *domain, const char *password, authreg_cb cb, void *arg);
	struct authreg_request *(*exists)(struct authreg *ar, const char *user,
	    const char *domain, authreg_cb cb, void *arg);
	struct authreg_request *(*create)(struct authreg *ar, const char *user,
	    const char *domain, const char *password, authreg_cb cb, void *arg);
	struct authreg_request *(*set_password)(struct authreg *ar, const char *user,
	    const char *domain, const char *password, authreg_cb cb, void *arg);
	struct authreg_request *(*remove)(struct authreg *ar, const char *user,
	    const char *domain, authreg_cb cb, void *arg);
	/* Synchronous, for administration; NULL if the backend cannot list. */
	enum authreg_result (*list)(struct authreg *ar, const char *domain,
	    authreg_list_cb cb, void *arg);
	void (*cancel)(struct authreg *ar, struct authreg_request *req);
	void (*free)(struct authreg *ar);
	/* Optional, for a backend whose get_secrets answers from a cache
	 * because its database is slow (sql): load user@domain's stored form
	 * before a SCRAM exchange looks the user up. The callback's OK (found)
	 * and NO (no such user) leave an entry that get_secrets answers from
	 * until prefetch_forget, which must then be called once for each;
	 * anything else leaves none. With a prefetch, PLAIN goes through
	 * check_password, never get_secrets. */
	struct authreg_request *(*prefetch)(struct authreg *ar, const char *user,
	    const char *domain, authreg_cb cb, void *arg);
	void (*prefetch_forget)(struct authreg *ar, const char *user, const char *domain);
};

/* The handle every backend embeds first in its own state. */
struct authreg {
	const struct authreg_backend *backend;
	unsigned iterations;   /* SCRAM rounds for new secrets */
};

bool authreg_has_secrets(const struct authreg *ar);

static inline enum authreg_result authreg_get_secrets(struct authreg *ar, const char *user,
    const char *domain, enum scram_hash hash, struct scram_secrets *out)
{
	if (ar->backend->get_secrets == NULL)
		return AUTHREG_UNSUPPORTED;
	return ar->backend->get_secrets(ar, user, domain, hash, out);
}

struct authreg_request *authreg_check_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg);
struct authreg_request *authreg_exists(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg);
struct authreg_request *authreg_create(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg);
struct authreg_request *authreg_set_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg);
struct authreg_request *authreg_remove(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg);
enum authreg_result authreg_list(struct authreg *ar, const char *domain, authreg_list_cb cb,
    void *arg);
bool authreg_has_prefetch(const struct authreg *ar);
struct authreg_request *authreg_prefetch(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg);
void authreg_prefetch_forget(struct authreg *ar, const char *user, const char *domain);
/* Forget a pending request: its callback will not run. NULLs *req. */
void authreg_cancel(struct authreg *ar, struct authreg_request **req);
void authreg_free(struct authreg **ar);

/* --- the backends ------------------------------------------------------------ */

struct storage;

/* internal: the storage driver's users. Takes ownership of `storage`. */
struct authreg *authreg_internal_new(struct storage *storage, unsigned iterations);
/* internal on a MySQL/PostgreSQL store (authreg_internal_remote.c): every
 * call on a worker thread, at most timeout_ms. Takes ownership of
 * `storage` on success. */
struct authreg *authreg_internal_remote_new(struct loop *loop, struct storage *storage,
    unsigned iterations, unsigned timeout_ms, char *err, size_t errlen);

/* pipe: see authreg_pipe.c. `argv` is the program and its arguments. It is
 * started now, before the sandbox, by a small launcher process that keeps
 * restarting it (auth itself can no longer execute anything once
 * sandboxed); `timeout_ms` bounds each request. */
struct authreg *authreg_pipe_new(struct loop *loop, const char *const *argv, size_t argc,
    const char *user, const char *group, unsigned timeout_ms, char *err, size_t errlen);

/* sql: the operator's own user table (authreg_sql.c, doc/auth.md). Reads
 * auth.sql, resolves the server's name and loads the client library now,
 * before the sandbox; `threads` workers (auth.threads) run the queries. */
struct conf;
struct conf_errors;
struct landlock_path;
struct authreg *authreg_sql_new(struct loop *loop, const struct conf *c, unsigned threads,
    unsigned iterations, char *err, size_t errlen);
/* The auth.sql settings only the backend can judge (the queries'
 * placeholders), reported with conf_error at their lines. */
int authreg_sql_check_conf(const struct conf *c, struct conf_errors *errs);
/* The files the sql backend reads once sandboxed (tls_ca, the CA store, the
 * resolver's files when the client library must resolve): up to `max`
 * into `out`; returns how many. */
size_t authreg_sql_sandbox_paths(const struct conf *c, struct landlock_path *out, size_t max);

#endif
