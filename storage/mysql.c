/*
 * mysql.c — the MySQL/MariaDB storage driver (libmysqlclient or
 * libmariadb): for deployments that already run a database server or
 * outgrow one machine. One connection per struct storage, used by one
 * thread at a time (mysql_db.h says what that means for threads); every
 * statement prepared once per connection with its values bound, never
 * built from user data; every change of several statements one InnoDB
 * transaction; text byte for byte (utf8mb4 connection, binary keys).
 * Each call goes through msql_db_run (mysql_conn.c), so a lost server is
 * waited for up to storage.sql.hold, reconnecting, and the call is run
 * again from its start; then it fails saying the server is unreachable.
 *
 * This file opens (connect, migrate: mysql_schema.c), closes and keeps
 * accounts; mysql_roster.c and mysql_im.c hold the rest of a user's data,
 * mysql_stmts.c all the SQL, storage/schema/mysql.sql the schema.
 *
 * Must not: log (the caller logs once), or call a walk's callback while
 * a statement or transaction is open (rows are read first).
 */
#include <stdlib.h>
#include <string.h>

#include <mysqld_error.h>

#include "mysql_db.h"

/* --- open and close ------------------------------------------------------------ */

static char *dup_or_empty(const char *s)
{
	return xstrdup(s != NULL ? s : "");
}

static void msql_close(void *db)
{
	struct msql_db *d = db;

	if (d == NULL)
		return;
	msql_db_disconnect(d);
	sql_server_clear(&d->srv);
	free(d);
}

int storage_mysql_open(void **out, const struct sql_server *srv, char *err, size_t errlen)
{
	struct msql_db *d = xcalloc(1, sizeof(*d));

	*out = NULL;
	d->srv = *srv;
	d->srv.host = dup_or_empty(srv->host);
	d->srv.socket = dup_or_empty(srv->socket);
	d->srv.database = dup_or_empty(srv->database);
	d->srv.user = dup_or_empty(srv->user);
	d->srv.password = dup_or_empty(srv->password);
	d->srv.tls_ca = dup_or_empty(srv->tls_ca);
	if (msql_db_run(d, "opening the database", msql_schema_migrate, NULL, err, errlen) !=
	    STORAGE_OK) {
		msql_close(d);
		return -1;
	}
	*out = d;
	return 0;
}

static int msql_schema_version(void *db)
{
	return ((struct msql_db *)db)->version;
}

/* --- users ------------------------------------------------------------------ */

/* The arguments of a user call, for its op. */
struct user_call {
	const char *domain, *localpart;
	const char *sha1, *sha256;
	enum scram_hash hash;
	char *out;
	size_t outlen;
	struct msql_rows rows;
};

/* The roster rows a deleted user may have left (sm clears them once it
 * has told the contacts, and may never have heard of the deletion). */
static const enum mst_id roster_data[] = {
	MST_DEL_ROSTER_VERSION, MST_DEL_ROSTER_ITEMS, MST_DEL_ROSTER_GROUPS, MST_DEL_SUBREQ,
};

static int delete_owned(struct msql_db *d, const enum mst_id *ids, size_t n,
    const struct msql_param *p, size_t np, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (msql_db_exec(d, ids[i], p, np, NULL, "deleting a user's data", err,
		    errlen) < 0)
			return -1;
	return 0;
}

/* A new account starts with an empty roster, whatever a deleted one of
 * the same name left. */
static int op_user_create(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct user_call *c = arg;
	const struct msql_param p[] = {
		MP_OWNER(c->domain, c->localpart), MP_TEXT(c->sha1), MP_TEXT(c->sha256),
	};
	unsigned code;

	if (msql_db_begin(d, "creating a user", err, errlen) < 0)
		return STORAGE_ERROR;
	if (msql_db_exec(d, MST_USER_CREATE, p, ARRAY_LEN(p), &code, "creating a user", err,
	    errlen) < 0) {
		msql_db_rollback(d);
		return code == ER_DUP_ENTRY ? STORAGE_EXISTS : STORAGE_ERROR;
	}
	if (delete_owned(d, roster_data, ARRAY_LEN(roster_data), p, 2, err, errlen) < 0) {
		msql_db_rollback(d);
		return STORAGE_ERROR;
	}
	return msql_db_commit(d, "creating a user", err, errlen) < 0 ? STORAGE_ERROR : STORAGE_OK;
}

static int msql_user_create(void *db, const char *domain, const char *localpart,
    const char *sha1, const char *sha256, char *err, size_t errlen)
{
	struct user_call c = { .domain = domain, .localpart = localpart, .sha1 = sha1,
	    .sha256 = sha256 };

	return msql_db_run(db, "creating a user", op_user_create, &c, err, errlen);
}

static int op_user_get_secret(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct user_call *c = arg;
	const struct msql_param p[] = { MP_OWNER(c->domain, c->localpart) };
	struct msql_rows rows;
	int result = STORAGE_OK;

	if (msql_db_query(d, c->hash == SCRAM_HASH_SHA1 ? MST_USER_GET_SHA1 :
	    MST_USER_GET_SHA256, p, ARRAY_LEN(p), &rows, "reading a user", err, errlen) < 0)
		return STORAGE_ERROR;
	if (rows.n == 0) {
		result = STORAGE_NOT_FOUND;
	} else {
		const char *text = msql_rows_text(&rows, 0, 0);
		size_t n = text != NULL ? strlen(text) : 0;
		if (n == 0 || n >= c->outlen) {
			result = errf(err, errlen, "the stored secret of %s@%s is malformed",
			    c->localpart, c->domain);
		} else {
			memcpy(c->out, text, n + 1);
		}
		if (text != NULL)
			explicit_bzero(rows.cell[0], n);
	}
	msql_rows_free(&rows);
	return result;
}

static int msql_user_get_secret(void *db, const char *domain, const char *localpart,
    enum scram_hash hash, char *out, size_t outlen, char *err, size_t errlen)
{
	struct user_call c = { .domain = domain, .localpart = localpart, .hash = hash,
	    .out = out, .outlen = outlen };

	return msql_db_run(db, "reading a user", op_user_get_secret, &c, err, errlen);
}

static int op_user_set_secrets(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct user_call *c = arg;
	const struct msql_param p[] = {
		MP_TEXT(c->sha1), MP_TEXT(c->sha256), MP_OWNER(c->domain, c->localpart),
	};
	int64_t n = msql_db_exec(d, MST_USER_SET, p, ARRAY_LEN(p), NULL, "changing a password",
	    err, errlen);

	if (n < 0)
		return STORAGE_ERROR;
	return n == 0 ? STORAGE_NOT_FOUND : STORAGE_OK;
}

static int msql_user_set_secrets(void *db, const char *domain, const char *localpart,
    const char *sha1, const char *sha256, char *err, size_t errlen)
{
	struct user_call c = { .domain = domain, .localpart = localpart, .sha1 = sha1,
	    .sha256 = sha256 };

	return msql_db_run(db, "changing a password", op_user_set_secrets, &c, err, errlen);
}

/* Everything a user owns besides the users row and the roster (which sm
 * clears once the contacts know). A table added for a user's data
 * (archive, PEP…) adds its delete here. */
static const enum mst_id user_data[] = {
	MST_DEL_OFFLINE, MST_DEL_PRIVATE, MST_DEL_VCARD, MST_DEL_BLOCK, MST_DEL_LAST,
};

/* All or nothing, in one transaction; the user's data goes even when
 * there is no users row (an externally authenticated user). */
static int op_user_delete(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct user_call *c = arg;
	const struct msql_param p[] = { MP_OWNER(c->domain, c->localpart) };
	int64_t n;

	if (msql_db_begin(d, "deleting a user", err, errlen) < 0)
		return STORAGE_ERROR;
	if (delete_owned(d, user_data, ARRAY_LEN(user_data), p, ARRAY_LEN(p), err, errlen) < 0)
		goto fail;
	n = msql_db_exec(d, MST_USER_DELETE, p, ARRAY_LEN(p), NULL, "deleting a user", err,
	    errlen);
	if (n < 0)
		goto fail;
	if (msql_db_commit(d, "deleting a user", err, errlen) < 0)
		return STORAGE_ERROR;
	return n == 0 ? STORAGE_NOT_FOUND : STORAGE_OK;
fail:
	msql_db_rollback(d);
	return STORAGE_ERROR;
}

static int op_roster_clear(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct user_call *c = arg;
	const struct msql_param p[] = { MP_OWNER(c->domain, c->localpart) };

	if (msql_db_begin(d, "clearing a roster", err, errlen) < 0)
		return STORAGE_ERROR;
	if (delete_owned(d, roster_data, ARRAY_LEN(roster_data), p, ARRAY_LEN(p), err,
	    errlen) < 0) {
		msql_db_rollback(d);
		return STORAGE_ERROR;
	}
	return msql_db_commit(d, "clearing a roster", err, errlen) < 0 ? STORAGE_ERROR :
	    STORAGE_OK;
}

static int msql_roster_clear(void *db, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	struct user_call c = { .domain = domain, .localpart = localpart };

	return msql_db_run(db, "clearing a roster", op_roster_clear, &c, err, errlen);
}

static int msql_user_delete(void *db, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	struct user_call c = { .domain = domain, .localpart = localpart };

	return msql_db_run(db, "deleting a user", op_user_delete, &c, err, errlen);
}

static int op_user_exists(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct user_call *c = arg;
	const struct msql_param p[] = { MP_OWNER(c->domain, c->localpart) };
	struct msql_rows rows;

	if (msql_db_query(d, MST_USER_EXISTS, p, ARRAY_LEN(p), &rows, "looking up a user", err,
	    errlen) < 0)
		return STORAGE_ERROR;
	int result = rows.n > 0 ? STORAGE_OK : STORAGE_NOT_FOUND;
	msql_rows_free(&rows);
	return result;
}

static int msql_user_exists(void *db, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	struct user_call c = { .domain = domain, .localpart = localpart };

	return msql_db_run(db, "looking up a user", op_user_exists, &c, err, errlen);
}

static int op_user_list(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct user_call *c = arg;
	const struct msql_param p[] = { MP_TEXT(c->domain) };

	if (msql_db_query(d, MST_USER_LIST, p, ARRAY_LEN(p), &c->rows, "listing users", err,
	    errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

static int msql_user_list(void *db, const char *domain, storage_user_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct user_call c = { .domain = domain };

	if (msql_db_run(db, "listing users", op_user_list, &c, err, errlen) != STORAGE_OK)
		return STORAGE_ERROR;
	for (size_t i = 0; i < c.rows.n; i++) {
		const char *localpart = msql_rows_text(&c.rows, i, 0);
		if (localpart != NULL && cb(arg, localpart) != 0)
			break;
	}
	msql_rows_free(&c.rows);
	return STORAGE_OK;
}

const struct storage_driver storage_mysql_driver = {
	.name = "mysql",
	.close = msql_close,
	.schema_version = msql_schema_version,
	.user_create = msql_user_create,
	.user_get_secret = msql_user_get_secret,
	.user_set_secrets = msql_user_set_secrets,
	.user_delete = msql_user_delete,
	.user_exists = msql_user_exists,
	.user_list = msql_user_list,
	.roster_get = msql_roster_get,
	.roster_get_since = msql_roster_get_since,
	.roster_get_item = msql_roster_get_item,
	.roster_put = msql_roster_put,
	.roster_remove = msql_roster_remove,
	.roster_clear = msql_roster_clear,
	.subreq_put = msql_subreq_put,
	.subreq_exists = msql_subreq_exists,
	.subreq_delete = msql_subreq_delete,
	.subreq_list = msql_subreq_list,
	.offline_store = msql_offline_store,
	.offline_count = msql_offline_count,
	.offline_list = msql_offline_list,
	.offline_delete_upto = msql_offline_delete_upto,
	.private_get = msql_private_get,
	.private_set = msql_private_set,
	.vcard_get = msql_vcard_get,
	.vcard_set = msql_vcard_set,
	.block_list = msql_block_list,
	.block_add = msql_block_add,
	.block_remove = msql_block_remove,
	.last_set = msql_last_set,
	.last_get = msql_last_get,
};
