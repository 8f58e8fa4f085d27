/*
 * pgsql.c — the PostgreSQL storage driver (libpq), for deployments that
 * outgrow one machine or already run a database cluster. One connection
 * per struct storage; every statement prepared once per connection
 * (pgsql_stmts.c) with its values bound, never built from user data;
 * multi-step changes in one transaction; a lost server waited for up to
 * storage.sql.hold (pgsql_conn.c). The schema is migrated forward at open
 * (pgsql_schema.c, storage/schema/pgsql.sql). This file opens, closes and
 * keeps accounts; pgsql_roster.c and pgsql_im.c hold the rest of a
 * user's data.
 *
 * Must not: log, or call a listing's callback before every row is read.
 */
#include <stdlib.h>
#include <string.h>

#include "pgsql_db.h"

/* --- open and close ------------------------------------------------------------ */

static void copy_server(struct sql_server *to, const struct sql_server *from)
{
	*to = *from;
	to->host = xstrdup(from->host != NULL ? from->host : "");
	to->socket = xstrdup(from->socket != NULL ? from->socket : "");
	to->database = xstrdup(from->database != NULL ? from->database : "");
	to->user = xstrdup(from->user != NULL ? from->user : "");
	to->password = xstrdup(from->password != NULL ? from->password : "");
	to->tls_ca = xstrdup(from->tls_ca != NULL ? from->tls_ca : "");
}

static void pgsql_close(void *db)
{
	struct pgsql_db *d = db;

	if (d == NULL)
		return;
	pgsql_disconnect(d);
	sql_server_clear(&d->srv);
	free(d);
}

/* One attempt, no waiting: a server that is not there when a process
 * starts is a configuration or deployment error to report now (the
 * supervisor restarts the process); the hold time is for a server lost
 * while running. */
int storage_pgsql_open(void **out, const struct sql_server *srv, char *err, size_t errlen)
{
	struct pgsql_db *d = xcalloc(1, sizeof(*d));

	*out = NULL;
	copy_server(&d->srv, srv);
	if ((unsigned)d->srv.tls > SQL_TLS_VERIFY_FULL)
		d->srv.tls = SQL_TLS_PREFER;
	if (pgsql_connect(d, true, err, errlen) < 0) {
		pgsql_close(d);
		return -1;
	}
	*out = d;
	return 0;
}

static int pgsql_schema_version(void *db)
{
	return ((struct pgsql_db *)db)->version;
}

/* --- users ------------------------------------------------------------------ */

/* The roster rows a deleted user may have left (sm clears them once it
 * has told the contacts, and may never have heard of the deletion). */
static const enum pg_stmt roster_data[] = {
	PG_DEL_ROSTER_VERSION, PG_DEL_ROSTER_ITEMS, PG_DEL_ROSTER_GROUPS, PG_DEL_SUBREQ,
};

struct owner_op {
	const char *domain, *localpart;
	const char *sha1, *sha256;
};

static int delete_owned(struct pgsql_db *d, const enum pg_stmt *ids, size_t n,
    const struct owner_op *o, char *err, size_t errlen)
{
	struct pg_params p;

	pg_params_owner(&p, o->domain, o->localpart);
	for (size_t i = 0; i < n; i++)
		if (pgsql_done(d, ids[i], &p, "deleting a user's data", err, errlen) < 0)
			return -1;
	return 0;
}

/* A new account starts with an empty roster, whatever a deleted one of
 * the same name left; all under the owner's lock. */
static int user_create_attempt(struct pgsql_db *d, void *arg, char *err, size_t errlen)
{
	struct owner_op *o = arg;
	struct pg_params p;
	const char *what = "creating a user";

	pg_params_owner(&p, o->domain, o->localpart);
	pg_params_text(&p, o->sha1);
	pg_params_text(&p, o->sha256);
	if (pgsql_begin_write(d, o->domain, o->localpart, what, err, errlen) < 0)
		return STORAGE_ERROR;
	int n = pgsql_done(d, PG_USER_CREATE, &p, what, err, errlen);
	if (n < 0 || (n > 0 && delete_owned(d, roster_data, ARRAY_LEN(roster_data), o, err,
	    errlen) < 0)) {
		pgsql_rollback(d);
		return STORAGE_ERROR;
	}
	if (pgsql_commit(d, what, err, errlen) < 0)
		return STORAGE_ERROR;
	return n == 0 ? STORAGE_EXISTS : STORAGE_OK;
}

static int pgsql_user_create(void *db, const char *domain, const char *localpart,
    const char *sha1, const char *sha256, char *err, size_t errlen)
{
	struct owner_op o = { .domain = domain, .localpart = localpart, .sha1 = sha1,
	    .sha256 = sha256 };

	return pgsql_retry(db, user_create_attempt, &o, "creating a user", err, errlen);
}

static int pgsql_user_get_secret(void *db, const char *domain, const char *localpart,
    enum scram_hash hash, char *out, size_t outlen, char *err, size_t errlen)
{
	struct pg_params p;
	PGresult *r;
	int result = STORAGE_OK;

	pg_params_owner(&p, domain, localpart);
	if (pgsql_exec_retry(db, hash == SCRAM_HASH_SHA1 ? PG_USER_GET_SHA1 : PG_USER_GET_SHA256,
	    &p, &r, "reading a user", err, errlen) != STORAGE_OK)
		return STORAGE_ERROR;
	if (PQntuples(r) == 0) {
		result = STORAGE_NOT_FOUND;
	} else {
		int n = PQgetlength(r, 0, 0);
		if (PQgetisnull(r, 0, 0) || n <= 0 || (size_t)n >= outlen) {
			result = errf(err, errlen, "the stored secret of %s@%s is malformed",
			    localpart, domain);
		} else {
			memcpy(out, PQgetvalue(r, 0, 0), (size_t)n);
			out[n] = '\0';
		}
	}
	PQclear(r);
	return result;
}

static int pgsql_user_set_secrets(void *db, const char *domain, const char *localpart,
    const char *sha1, const char *sha256, char *err, size_t errlen)
{
	struct pg_params p;

	pg_params_owner(&p, domain, localpart);
	pg_params_text(&p, sha1);
	pg_params_text(&p, sha256);
	int n = pgsql_done_retry(db, PG_USER_SET, &p, "changing a password", err, errlen);
	if (n < 0)
		return STORAGE_ERROR;
	return n == 0 ? STORAGE_NOT_FOUND : STORAGE_OK;
}

/* Everything a user owns besides the users row and the roster (which sm
 * clears once the contacts know). A table added for a user's data
 * (archive, PEP…) adds its delete here, and the driver test suite's
 * cascade case checks it. */
static const enum pg_stmt user_data[] = {
	PG_DEL_OFFLINE, PG_DEL_PRIVATE, PG_DEL_VCARD, PG_DEL_BLOCK, PG_DEL_LAST,
};

/* All or nothing, under the owner's lock; the data goes even without a
 * users row (STORAGE_NOT_FOUND): see storage.h. */
static int user_delete_attempt(struct pgsql_db *d, void *arg, char *err, size_t errlen)
{
	struct owner_op *o = arg;
	struct pg_params p;
	const char *what = "deleting a user";

	pg_params_owner(&p, o->domain, o->localpart);
	if (pgsql_begin_write(d, o->domain, o->localpart, what, err, errlen) < 0)
		return STORAGE_ERROR;
	if (delete_owned(d, user_data, ARRAY_LEN(user_data), o, err, errlen) < 0)
		goto fail;
	int n = pgsql_done(d, PG_USER_DELETE, &p, what, err, errlen);
	if (n < 0)
		goto fail;
	if (pgsql_commit(d, what, err, errlen) < 0)
		return STORAGE_ERROR;
	return n == 0 ? STORAGE_NOT_FOUND : STORAGE_OK;
fail:
	pgsql_rollback(d);
	return STORAGE_ERROR;
}

static int pgsql_user_delete(void *db, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	struct owner_op o = { .domain = domain, .localpart = localpart };

	return pgsql_retry(db, user_delete_attempt, &o, "deleting a user", err, errlen);
}

static int roster_clear_attempt(struct pgsql_db *d, void *arg, char *err, size_t errlen)
{
	struct owner_op *o = arg;
	const char *what = "clearing a roster";

	if (pgsql_begin_write(d, o->domain, o->localpart, what, err, errlen) < 0)
		return STORAGE_ERROR;
	if (delete_owned(d, roster_data, ARRAY_LEN(roster_data), o, err, errlen) < 0) {
		pgsql_rollback(d);
		return STORAGE_ERROR;
	}
	return pgsql_commit(d, what, err, errlen) < 0 ? STORAGE_ERROR : STORAGE_OK;
}

static int pgsql_roster_clear(void *db, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	struct owner_op o = { .domain = domain, .localpart = localpart };

	return pgsql_retry(db, roster_clear_attempt, &o, "clearing a roster", err, errlen);
}

static int pgsql_user_exists(void *db, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	struct pg_params p;
	PGresult *r;

	pg_params_owner(&p, domain, localpart);
	if (pgsql_exec_retry(db, PG_USER_EXISTS, &p, &r, "looking up a user", err, errlen)
	    != STORAGE_OK)
		return STORAGE_ERROR;
	int n = PQntuples(r);
	PQclear(r);
	return n > 0 ? STORAGE_OK : STORAGE_NOT_FOUND;
}

static int pgsql_user_list(void *db, const char *domain, storage_user_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct pg_listing l = { .id = PG_USER_LIST, .ntext = 1 };

	l.p.n = 0;
	pg_params_text(&l.p, domain);
	if (pgsql_list(db, &l, "listing users", err, errlen) != STORAGE_OK)
		return STORAGE_ERROR;
	for (size_t i = 0; i < l.rows.n; i++)
		if (cb(arg, l.rows.v[i].text[0]) != 0)
			break;
	pg_rows_free(&l.rows);
	return STORAGE_OK;
}

const struct storage_driver storage_pgsql_driver = {
	.name = "pgsql",
	.close = pgsql_close,
	.schema_version = pgsql_schema_version,
	.user_create = pgsql_user_create,
	.user_get_secret = pgsql_user_get_secret,
	.user_set_secrets = pgsql_user_set_secrets,
	.user_delete = pgsql_user_delete,
	.user_exists = pgsql_user_exists,
	.user_list = pgsql_user_list,
	.roster_get = pgsql_roster_get,
	.roster_get_since = pgsql_roster_get_since,
	.roster_get_item = pgsql_roster_get_item,
	.roster_put = pgsql_roster_put,
	.roster_remove = pgsql_roster_remove,
	.roster_clear = pgsql_roster_clear,
	.subreq_put = pgsql_subreq_put,
	.subreq_exists = pgsql_subreq_exists,
	.subreq_delete = pgsql_subreq_delete,
	.subreq_list = pgsql_subreq_list,
	.offline_store = pgsql_offline_store,
	.offline_count = pgsql_offline_count,
	.offline_list = pgsql_offline_list,
	.offline_delete_upto = pgsql_offline_delete_upto,
	.private_get = pgsql_private_get,
	.private_set = pgsql_private_set,
	.vcard_get = pgsql_vcard_get,
	.vcard_set = pgsql_vcard_set,
	.block_list = pgsql_block_list,
	.block_add = pgsql_block_add,
	.block_remove = pgsql_block_remove,
	.last_set = pgsql_last_set,
	.last_get = pgsql_last_get,
};
