/*
 * pgsql_im.c — the PostgreSQL driver's per-user IM data besides the
 * roster: offline messages (the quota checked and the message stored in
 * one transaction under the owner's advisory lock, so two writers — two
 * sm processes included — cannot both take the last place), private XML,
 * vCards, the block list (each change of several JIDs one transaction)
 * and last activity. One row per thing, keyed by the owner; single
 * statements are upserts, so a retry after a lost connection repeats
 * them harmlessly.
 */
#include <stdlib.h>
#include <string.h>

#include "pgsql_db.h"

/* One text column of at most one row of `id` into *out: STORAGE_OK,
 * STORAGE_NOT_FOUND, STORAGE_ERROR. */
static int get_text(struct pgsql_db *d, enum pg_stmt id, const struct pg_params *p, int col,
    char **out, const char *what, char *err, size_t errlen)
{
	PGresult *r;

	*out = NULL;
	if (pgsql_exec_retry(d, id, p, &r, what, err, errlen) != STORAGE_OK)
		return STORAGE_ERROR;
	int result = STORAGE_NOT_FOUND;
	if (PQntuples(r) > 0) {
		*out = pg_dup(r, 0, col);
		if (*out == NULL)
			*out = xstrdup("");
		result = STORAGE_OK;
	}
	PQclear(r);
	return result;
}

/* --- offline messages ---------------------------------------------------------- */

static int count(struct pgsql_db *d, const struct pg_params *owner, size_t *n, char *err,
    size_t errlen)
{
	PGresult *r = pgsql_exec(d, PG_OFFLINE_COUNT, owner, "counting offline messages", err,
	    errlen);

	*n = 0;
	if (r == NULL)
		return -1;
	*n = (size_t)pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

struct offline_op {
	const char *domain, *localpart, *stanza;
	size_t quota;
	size_t count;
	bool commit_sent;           /* a COMMIT went out: its outcome may be unknown */
};

static int store_attempt(struct pgsql_db *d, void *arg, char *err, size_t errlen)
{
	struct offline_op *a = arg;
	const char *what = "storing an offline message";
	struct pg_params p;
	size_t n = 0;

	pg_params_owner(&p, a->domain, a->localpart);
	if (pgsql_begin_write(d, a->domain, a->localpart, what, err, errlen) < 0)
		return STORAGE_ERROR;
	if (a->commit_sent) {
		/* The connection died after our COMMIT went out: the server
		 * may have done it. The same stanza stored means it did (it
		 * carries its own delay stamp and id): not a second time. */
		pg_params_text(&p, a->stanza);
		PGresult *r = pgsql_exec(d, PG_OFFLINE_FIND, &p, what, err, errlen);
		if (r == NULL)
			goto fail;
		n = (size_t)pg_int(r, 0, 0);
		PQclear(r);
		if (n > 0) {
			pgsql_rollback(d);
			return STORAGE_OK;
		}
		n = 0;
		pg_params_owner(&p, a->domain, a->localpart);
	}
	if (a->quota > 0) {
		if (count(d, &p, &n, err, errlen) < 0)
			goto fail;
		if (n >= a->quota) {
			pgsql_rollback(d);
			return STORAGE_FULL;
		}
	}
	pg_params_text(&p, a->stanza);
	if (pgsql_done(d, PG_OFFLINE_STORE, &p, what, err, errlen) < 0)
		goto fail;
	a->commit_sent = true;
	if (pgsql_commit(d, what, err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
fail:
	pgsql_rollback(d);
	return STORAGE_ERROR;
}

int pgsql_offline_store(void *db, const char *domain, const char *localpart,
    const char *stanza, size_t quota, char *err, size_t errlen)
{
	struct offline_op a = { .domain = domain, .localpart = localpart, .stanza = stanza,
	    .quota = quota };

	return pgsql_retry(db, store_attempt, &a, "storing an offline message", err, errlen);
}

static int count_attempt(struct pgsql_db *d, void *arg, char *err, size_t errlen)
{
	struct offline_op *a = arg;
	struct pg_params p;

	pg_params_owner(&p, a->domain, a->localpart);
	return count(d, &p, &a->count, err, errlen) < 0 ? STORAGE_ERROR : STORAGE_OK;
}

int pgsql_offline_count(void *db, const char *domain, const char *localpart,
    size_t *n, char *err, size_t errlen)
{
	struct offline_op a = { .domain = domain, .localpart = localpart };

	int rc = pgsql_retry(db, count_attempt, &a, "counting offline messages", err, errlen);
	*n = rc == STORAGE_OK ? a.count : 0;
	return rc;
}

int pgsql_offline_list(void *db, const char *domain, const char *localpart,
    storage_offline_cb cb, void *arg, char *err, size_t errlen)
{
	struct pg_listing l = { .id = PG_OFFLINE_LIST, .with_id = true, .ntext = 1 };

	pg_params_owner(&l.p, domain, localpart);
	if (pgsql_list(db, &l, "listing offline messages", err, errlen) != STORAGE_OK)
		return STORAGE_ERROR;
	for (size_t i = 0; i < l.rows.n; i++)
		if (cb(arg, l.rows.v[i].id, l.rows.v[i].text[0]) != 0)
			break;
	pg_rows_free(&l.rows);
	return STORAGE_OK;
}

int pgsql_offline_delete_upto(void *db, const char *domain, const char *localpart,
    int64_t upto, char *err, size_t errlen)
{
	struct pg_params p;

	pg_params_owner(&p, domain, localpart);
	pg_params_int(&p, upto);
	if (pgsql_done_retry(db, PG_OFFLINE_DELETE_UPTO, &p, "deleting offline messages", err,
	    errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

/* --- private XML and vCards --------------------------------------------------- */

int pgsql_private_get(void *db, const char *domain, const char *localpart,
    const char *key, char **out, char *err, size_t errlen)
{
	struct pg_params p;

	pg_params_owner(&p, domain, localpart);
	pg_params_text(&p, key);
	return get_text(db, PG_PRIVATE_GET, &p, 0, out, "reading private XML", err, errlen);
}

int pgsql_private_set(void *db, const char *domain, const char *localpart,
    const char *key, const char *xml, char *err, size_t errlen)
{
	struct pg_params p;

	pg_params_owner(&p, domain, localpart);
	pg_params_text(&p, key);
	if (xml != NULL)
		pg_params_text(&p, xml);
	if (pgsql_done_retry(db, xml != NULL ? PG_PRIVATE_SET : PG_PRIVATE_DELETE, &p,
	    "storing private XML", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

int pgsql_vcard_get(void *db, const char *domain, const char *localpart,
    char **out, char *err, size_t errlen)
{
	struct pg_params p;

	pg_params_owner(&p, domain, localpart);
	return get_text(db, PG_VCARD_GET, &p, 0, out, "reading a vCard", err, errlen);
}

int pgsql_vcard_set(void *db, const char *domain, const char *localpart,
    const char *xml, char *err, size_t errlen)
{
	struct pg_params p;

	pg_params_owner(&p, domain, localpart);
	if (xml != NULL)
		pg_params_text(&p, xml);
	if (pgsql_done_retry(db, xml != NULL ? PG_VCARD_SET : PG_DEL_VCARD, &p,
	    "storing a vCard", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

/* --- block list ------------------------------------------------------------------ */

int pgsql_block_list(void *db, const char *domain, const char *localpart,
    storage_block_cb cb, void *arg, char *err, size_t errlen)
{
	struct pg_listing l = { .id = PG_BLOCK_LIST, .ntext = 1 };

	pg_params_owner(&l.p, domain, localpart);
	if (pgsql_list(db, &l, "listing blocked JIDs", err, errlen) != STORAGE_OK)
		return STORAGE_ERROR;
	for (size_t i = 0; i < l.rows.n; i++)
		if (cb(arg, l.rows.v[i].text[0]) != 0)
			break;
	pg_rows_free(&l.rows);
	return STORAGE_OK;
}

struct block_op {
	enum pg_stmt id;
	const char *domain, *localpart;
	const char *const *jids;
	size_t n;
	const char *what;
};

/* `id` once per JID (or once, for every JID, when n is 0), all or nothing. */
static int block_attempt(struct pgsql_db *d, void *arg, char *err, size_t errlen)
{
	struct block_op *a = arg;
	struct pg_params p;

	if (pgsql_begin_write(d, NULL, NULL, a->what, err, errlen) < 0)
		return STORAGE_ERROR;
	for (size_t i = 0; i < (a->n == 0 ? 1 : a->n); i++) {
		pg_params_owner(&p, a->domain, a->localpart);
		if (a->n > 0)
			pg_params_text(&p, a->jids[i]);
		if (pgsql_done(d, a->id, &p, a->what, err, errlen) < 0) {
			pgsql_rollback(d);
			return STORAGE_ERROR;
		}
	}
	if (pgsql_commit(d, a->what, err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

int pgsql_block_add(void *db, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen)
{
	struct block_op a = { PG_BLOCK_ADD, domain, localpart, jids, n, "blocking JIDs" };

	if (n == 0)
		return STORAGE_OK;
	return pgsql_retry(db, block_attempt, &a, a.what, err, errlen);
}

int pgsql_block_remove(void *db, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen)
{
	struct block_op a = { n == 0 ? PG_DEL_BLOCK : PG_BLOCK_REMOVE, domain, localpart, jids,
	    n, "unblocking JIDs" };

	return pgsql_retry(db, block_attempt, &a, a.what, err, errlen);
}

/* --- last activity ---------------------------------------------------------------- */

int pgsql_last_set(void *db, const char *domain, const char *localpart,
    int64_t when, const char *status, char *err, size_t errlen)
{
	struct pg_params p;

	pg_params_owner(&p, domain, localpart);
	pg_params_int(&p, when);
	pg_params_text(&p, status != NULL ? status : "");
	if (pgsql_done_retry(db, PG_LAST_SET, &p, "recording last activity", err, errlen) < 0)
		return STORAGE_ERROR;
	return STORAGE_OK;
}

int pgsql_last_get(void *db, const char *domain, const char *localpart,
    int64_t *when, char **status, char *err, size_t errlen)
{
	struct pg_params p;
	PGresult *r;
	int result = STORAGE_NOT_FOUND;

	*when = 0;
	*status = NULL;
	pg_params_owner(&p, domain, localpart);
	if (pgsql_exec_retry(db, PG_LAST_GET, &p, &r, "reading last activity", err, errlen)
	    != STORAGE_OK)
		return STORAGE_ERROR;
	if (PQntuples(r) > 0) {
		*when = pg_int(r, 0, 0);
		*status = pg_dup(r, 0, 1);
		if (*status == NULL)
			*status = xstrdup("");
		result = STORAGE_OK;
	}
	PQclear(r);
	return result;
}
