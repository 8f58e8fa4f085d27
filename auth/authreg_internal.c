/*
 * authreg_internal.c — the `internal` authreg backend: accounts in Parley's
 * own store, through the storage driver (storage/storage.h). It keeps SCRAM
 * secrets, so every mechanism works with it, and answers every call at
 * once: SQLite on a local file. With a database server behind the store,
 * authreg_internal_remote.c is used instead (calls off the loop).
 *
 * A store error is a temporary failure to the client and one error line
 * in the log here (the only place that knows what the store said).
 */
#include <stdlib.h>
#include <string.h>

#include "authreg.h"
#include "log.h"
#include "storage.h"

struct authreg_internal {
	struct authreg base;   /* first: the handle callers hold */
	struct storage *storage;
};

static struct storage *store(struct authreg *ar)
{
	return ((struct authreg_internal *)ar)->storage;
}

static enum authreg_result from_storage(int rc, const char *what, const char *err)
{
	switch (rc) {
	case STORAGE_OK: return AUTHREG_OK;
	case STORAGE_NOT_FOUND: return AUTHREG_NO;
	case STORAGE_EXISTS: return AUTHREG_EXISTS;
	default:
		log_error("storage: %s: %s", what, err);
		return AUTHREG_TEMPFAIL;
	}
}

static enum authreg_result internal_get_secrets(struct authreg *ar, const char *user,
    const char *domain, enum scram_hash hash, struct scram_secrets *out)
{
	char err[ERRLEN];
	int rc = storage_user_get_secrets(store(ar), domain, user, hash, out, err, sizeof(err));
	return from_storage(rc, "reading secrets", err);
}

static struct authreg_request *internal_check_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	struct scram_secrets sec;
	enum authreg_result r = internal_get_secrets(ar, user, domain, SCRAM_HASH_SHA256, &sec);

	if (r == AUTHREG_OK && !scram_secrets_check_password(&sec, password))
		r = AUTHREG_NO;
	scram_secrets_wipe(&sec);
	cb(arg, r);
	return NULL;
}

static struct authreg_request *internal_exists(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	char err[ERRLEN];
	cb(arg, from_storage(storage_user_exists(store(ar), domain, user, err, sizeof(err)),
	    "looking up a user", err));
	return NULL;
}

static int secrets(struct authreg *ar, const char *password, struct storage_user_secrets *out)
{
	char err[ERRLEN];
	if (storage_secrets_from_password(password, ar->iterations, out, err, sizeof(err)) < 0) {
		log_warn("cannot derive SCRAM secrets: %s", err);
		return -1;
	}
	return 0;
}

static struct authreg_request *internal_create(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	struct storage_user_secrets sec;
	char err[ERRLEN];
	enum authreg_result r = AUTHREG_NO;

	if (secrets(ar, password, &sec) == 0)
		r = from_storage(storage_user_create(store(ar), domain, user, &sec, err, sizeof(err)),
		    "creating a user", err);
	explicit_bzero(&sec, sizeof(sec));
	cb(arg, r);
	return NULL;
}

static struct authreg_request *internal_set_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	struct storage_user_secrets sec;
	char err[ERRLEN];
	enum authreg_result r = AUTHREG_NO;

	if (secrets(ar, password, &sec) == 0)
		r = from_storage(storage_user_set_secrets(store(ar), domain, user, &sec, err,
		    sizeof(err)), "changing a password", err);
	explicit_bzero(&sec, sizeof(sec));
	cb(arg, r);
	return NULL;
}

static struct authreg_request *internal_remove(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	char err[ERRLEN];
	cb(arg, from_storage(storage_user_delete(store(ar), domain, user, err, sizeof(err)),
	    "deleting a user", err));
	return NULL;
}

static enum authreg_result internal_list(struct authreg *ar, const char *domain,
    authreg_list_cb cb, void *arg)
{
	char err[ERRLEN];
	return from_storage(storage_user_list(store(ar), domain, cb, arg, err, sizeof(err)),
	    "listing users", err);
}

static void internal_free(struct authreg *ar)
{
	struct authreg_internal *in = (struct authreg_internal *)ar;
	storage_close(&in->storage);
	free(in);
}

static const struct authreg_backend internal_backend = {
	.name = "internal",
	.get_secrets = internal_get_secrets,
	.check_password = internal_check_password,
	.exists = internal_exists,
	.create = internal_create,
	.set_password = internal_set_password,
	.remove = internal_remove,
	.list = internal_list,
	.free = internal_free,
};

struct authreg *authreg_internal_new(struct storage *storage, unsigned iterations)
{
	struct authreg_internal *in = xcalloc(1, sizeof(*in));
	in->base.backend = &internal_backend;
	in->base.iterations = iterations;
	in->storage = storage;
	return &in->base;
}
