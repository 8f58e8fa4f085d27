/*
 * mysql_im.c — the MySQL/MariaDB driver's per-user IM data besides the
 * roster: offline messages (the quota counted with a locking read and the
 * message stored in one transaction, so two connections cannot both take
 * the last place), private XML, vCards, the
 * block list (each change of several JIDs one transaction) and last
 * activity. One row per thing, keyed by the owner.
 */
#include <stdlib.h>
#include <string.h>

#include "mysql_db.h"

/* What one call works on. */
struct im_call {
	const char *domain, *localpart;
	const char *key, *text;
	int64_t num;
	size_t quota;
	const char *const *jids;
	size_t n;
	enum mst_id id;
	const char *what;
	struct msql_rows rows;
	size_t count;
	char *out;
	bool commit_sent;           /* a COMMIT went out: its outcome may be unknown */
};

/* One statement with the owner and then c->key, c->text, c->num as the
 * statement takes them: the rows it matched, or -1. */
static int64_t owner_exec(struct msql_db *d, enum mst_id id, const struct im_call *c,
    const struct msql_param *more, size_t nmore, char *err, size_t errlen)
{
	struct msql_param p[6] = { MP_OWNER(c->domain, c->localpart) };

	for (size_t i = 0; i < nmore && i + 2 < ARRAY_LEN(p); i++)
		p[2 + i] = more[i];
	return msql_db_exec(d, id, p, 2 + nmore, NULL, c->what, err, errlen);
}

/* The owner's rows of c->id (with c->key as a third value when set) into
 * c->rows: an op for listings and single-value reads. */
static int op_owner_rows(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct im_call *c = arg;
	const struct msql_param p[] = { MP_OWNER(c->domain, c->localpart), MP_TEXT(c->key) };

	if (msql_db_query(d, c->id, p, c->key != NULL ? 3 : 2, &c->rows, c->what, err,
	    errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

/* One text column of at most one row into *out (malloc'd): STORAGE_OK,
 * STORAGE_NOT_FOUND, STORAGE_ERROR. */
static int get_text(struct msql_db *d, struct im_call *c, char **out, char *err,
    size_t errlen)
{
	int rc = msql_db_run(d, c->what, op_owner_rows, c, err, errlen);

	*out = NULL;
	if (rc != STORAGE_OK)
		return rc;
	if (c->rows.n == 0) {
		rc = STORAGE_NOT_FOUND;
	} else {
		*out = msql_rows_take(&c->rows, 0, 0);
		if (*out == NULL)
			*out = xstrdup("");
	}
	msql_rows_free(&c->rows);
	return rc;
}

/* A single statement on the owner's rows: an op (c->key, then c->text as
 * further values when set). */
static int op_owner_exec(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct im_call *c = arg;
	struct msql_param more[2];
	size_t n = 0;

	if (c->key != NULL)
		more[n++] = MP_TEXT(c->key);
	if (c->text != NULL)
		more[n++] = MP_TEXT(c->text);
	return owner_exec(d, c->id, c, more, n, err, errlen) < 0 ? STORAGE_ERROR : STORAGE_OK;
}

/* --- offline messages ---------------------------------------------------------- */

static int count(struct msql_db *d, enum mst_id id, struct im_call *c, size_t *n, char *err,
    size_t errlen)
{
	const struct msql_param p[] = { MP_OWNER(c->domain, c->localpart) };
	struct msql_rows rows;

	*n = 0;
	if (msql_db_query(d, id, p, ARRAY_LEN(p), &rows,
	    "counting offline messages", err, errlen) < 0)
		return -1;
	if (rows.n > 0)
		*n = (size_t)msql_rows_int(&rows, 0, 0);
	msql_rows_free(&rows);
	return 0;
}

static int op_offline_store(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct im_call *c = arg;
	const struct msql_param store[] = { MP_OWNER(c->domain, c->localpart), MP_TEXT(c->text) };
	size_t n = 0;

	if (msql_db_begin(d, c->what, err, errlen) < 0)
		return STORAGE_ERROR;
	if (c->commit_sent) {
		/* The connection died after our COMMIT went out: the server
		 * may have done it. The same stanza stored means it did (it
		 * carries its own delay stamp and id): not a second time. */
		struct msql_rows rows;
		if (msql_db_query(d, MST_OFFLINE_FIND, store, ARRAY_LEN(store), &rows, c->what, err,
		    errlen) < 0)
			goto fail;
		n = rows.n > 0 ? (size_t)msql_rows_int(&rows, 0, 0) : 0;
		msql_rows_free(&rows);
		if (n > 0) {
			msql_db_rollback(d);
			return STORAGE_OK;
		}
		n = 0;
	}
	if (c->quota > 0) {
		if (count(d, MST_OFFLINE_COUNT_LOCK, c, &n, err, errlen) < 0)
			goto fail;
		if (n >= c->quota) {
			msql_db_rollback(d);
			return STORAGE_FULL;
		}
	}
	if (msql_db_exec(d, MST_OFFLINE_STORE, store, ARRAY_LEN(store), NULL, c->what, err,
	    errlen) < 0)
		goto fail;
	c->commit_sent = true;
	if (msql_db_commit(d, c->what, err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
fail:
	msql_db_rollback(d);
	return STORAGE_ERROR;
}

int msql_offline_store(void *db, const char *domain, const char *localpart,
    const char *stanza, size_t quota, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart, .text = stanza,
	    .quota = quota, .what = "storing an offline message" };

	return msql_db_run(db, c.what, op_offline_store, &c, err, errlen);
}

static int op_offline_count(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct im_call *c = arg;

	return count(d, MST_OFFLINE_COUNT, c, &c->count, err, errlen) < 0 ? STORAGE_ERROR :
	    STORAGE_OK;
}

int msql_offline_count(void *db, const char *domain, const char *localpart,
    size_t *n, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart,
	    .what = "counting offline messages" };
	int rc = msql_db_run(db, c.what, op_offline_count, &c, err, errlen);

	*n = rc == STORAGE_OK ? c.count : 0;
	return rc;
}

int msql_offline_list(void *db, const char *domain, const char *localpart,
    storage_offline_cb cb, void *arg, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart, .id = MST_OFFLINE_LIST,
	    .what = "listing offline messages" };

	if (msql_db_run(db, c.what, op_owner_rows, &c, err, errlen) != STORAGE_OK)
		return STORAGE_ERROR;
	for (size_t i = 0; i < c.rows.n; i++) {
		const char *stanza = msql_rows_text(&c.rows, i, 1);
		if (cb(arg, msql_rows_int(&c.rows, i, 0), stanza != NULL ? stanza : "") != 0)
			break;
	}
	msql_rows_free(&c.rows);
	return STORAGE_OK;
}

static int op_offline_delete_upto(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct im_call *c = arg;
	const struct msql_param upto[] = { MP_INT(c->num) };

	return owner_exec(d, MST_OFFLINE_DELETE_UPTO, c, upto, 1, err, errlen) < 0 ?
	    STORAGE_ERROR : STORAGE_OK;
}

int msql_offline_delete_upto(void *db, const char *domain, const char *localpart,
    int64_t upto, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart, .num = upto,
	    .what = "deleting offline messages" };

	return msql_db_run(db, c.what, op_offline_delete_upto, &c, err, errlen);
}

/* --- private XML and vCards --------------------------------------------------- */

int msql_private_get(void *db, const char *domain, const char *localpart,
    const char *key, char **out, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart, .key = key,
	    .id = MST_PRIVATE_GET, .what = "reading private XML" };

	return get_text(db, &c, out, err, errlen);
}

int msql_private_set(void *db, const char *domain, const char *localpart,
    const char *key, const char *xml, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart, .key = key, .text = xml,
	    .id = xml != NULL ? MST_PRIVATE_SET : MST_PRIVATE_DELETE,
	    .what = xml != NULL ? "storing private XML" : "deleting private XML" };

	return msql_db_run(db, c.what, op_owner_exec, &c, err, errlen);
}

int msql_vcard_get(void *db, const char *domain, const char *localpart,
    char **out, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart, .id = MST_VCARD_GET,
	    .what = "reading a vCard" };

	return get_text(db, &c, out, err, errlen);
}

int msql_vcard_set(void *db, const char *domain, const char *localpart,
    const char *xml, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart, .text = xml,
	    .id = xml != NULL ? MST_VCARD_SET : MST_DEL_VCARD, .what = "storing a vCard" };

	return msql_db_run(db, c.what, op_owner_exec, &c, err, errlen);
}

/* --- block list ------------------------------------------------------------------ */

int msql_block_list(void *db, const char *domain, const char *localpart,
    storage_block_cb cb, void *arg, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart, .id = MST_BLOCK_LIST,
	    .what = "listing blocked JIDs" };

	if (msql_db_run(db, c.what, op_owner_rows, &c, err, errlen) != STORAGE_OK)
		return STORAGE_ERROR;
	for (size_t i = 0; i < c.rows.n; i++) {
		const char *jid = msql_rows_text(&c.rows, i, 0);
		if (jid != NULL && cb(arg, jid) != 0)
			break;
	}
	msql_rows_free(&c.rows);
	return STORAGE_OK;
}

/* Run c->id once per JID (or MST_DEL_BLOCK once when n is 0), all or nothing. */
static int op_block_change(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct im_call *c = arg;

	if (msql_db_begin(d, c->what, err, errlen) < 0)
		return STORAGE_ERROR;
	if (c->n == 0 && owner_exec(d, MST_DEL_BLOCK, c, NULL, 0, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < c->n; i++) {
		const struct msql_param jid[] = { MP_TEXT(c->jids[i]) };
		if (owner_exec(d, c->id, c, jid, 1, err, errlen) < 0)
			goto fail;
	}
	if (msql_db_commit(d, c->what, err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
fail:
	msql_db_rollback(d);
	return STORAGE_ERROR;
}

int msql_block_add(void *db, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart, .jids = jids, .n = n,
	    .id = MST_BLOCK_ADD, .what = "blocking JIDs" };

	if (n == 0)
		return STORAGE_OK;
	return msql_db_run(db, c.what, op_block_change, &c, err, errlen);
}

int msql_block_remove(void *db, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart, .jids = jids, .n = n,
	    .id = MST_BLOCK_REMOVE, .what = "unblocking JIDs" };

	return msql_db_run(db, c.what, op_block_change, &c, err, errlen);
}

/* --- last activity ---------------------------------------------------------------- */

static int op_last_set(struct msql_db *d, void *arg, char *err, size_t errlen)
{
	struct im_call *c = arg;
	const struct msql_param more[] = { MP_INT(c->num), MP_TEXT(c->text) };

	return owner_exec(d, MST_LAST_SET, c, more, ARRAY_LEN(more), err, errlen) < 0 ?
	    STORAGE_ERROR : STORAGE_OK;
}

int msql_last_set(void *db, const char *domain, const char *localpart,
    int64_t when, const char *status, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart, .num = when,
	    .text = status != NULL ? status : "", .what = "recording last activity" };

	return msql_db_run(db, c.what, op_last_set, &c, err, errlen);
}

int msql_last_get(void *db, const char *domain, const char *localpart,
    int64_t *when, char **status, char *err, size_t errlen)
{
	struct im_call c = { .domain = domain, .localpart = localpart, .id = MST_LAST_GET,
	    .what = "reading last activity" };
	int rc = msql_db_run(db, c.what, op_owner_rows, &c, err, errlen);

	*when = 0;
	*status = NULL;
	if (rc != STORAGE_OK)
		return rc;
	if (c.rows.n == 0) {
		rc = STORAGE_NOT_FOUND;
	} else {
		*when = msql_rows_int(&c.rows, 0, 0);
		*status = msql_rows_take(&c.rows, 0, 1);
		if (*status == NULL)
			*status = xstrdup("");
	}
	msql_rows_free(&c.rows);
	return rc;
}
