/*
 * authreg.c — the dispatch side of the authreg interface (authreg.h):
 * every call goes to the backend's table, and a backend that lacks an
 * operation answers AUTHREG_UNSUPPORTED through the callback like any
 * other answer. Holds no backend state.
 */
#include <stdlib.h>

#include "authreg.h"

const char *authreg_result_name(enum authreg_result r)
{
	switch (r) {
	case AUTHREG_OK: return "ok";
	case AUTHREG_NO: return "no";
	case AUTHREG_EXISTS: return "exists";
	case AUTHREG_TEMPFAIL: return "temporary failure";
	case AUTHREG_UNSUPPORTED: return "unsupported";
	}
	return "unknown";
}

bool authreg_has_secrets(const struct authreg *ar)
{
	return ar->backend->get_secrets != NULL;
}

struct authreg_request *authreg_check_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	if (ar->backend->check_password == NULL) {
		cb(arg, AUTHREG_UNSUPPORTED);
		return NULL;
	}
	return ar->backend->check_password(ar, user, domain, password, cb, arg);
}

struct authreg_request *authreg_exists(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	if (ar->backend->exists == NULL) {
		cb(arg, AUTHREG_UNSUPPORTED);
		return NULL;
	}
	return ar->backend->exists(ar, user, domain, cb, arg);
}

struct authreg_request *authreg_create(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	if (ar->backend->create == NULL) {
		cb(arg, AUTHREG_UNSUPPORTED);
		return NULL;
	}
	return ar->backend->create(ar, user, domain, password, cb, arg);
}

struct authreg_request *authreg_set_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	if (ar->backend->set_password == NULL) {
		cb(arg, AUTHREG_UNSUPPORTED);
		return NULL;
	}
	return ar->backend->set_password(ar, user, domain, password, cb, arg);
}

struct authreg_request *authreg_remove(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	if (ar->backend->remove == NULL) {
		cb(arg, AUTHREG_UNSUPPORTED);
		return NULL;
	}
	return ar->backend->remove(ar, user, domain, cb, arg);
}

enum authreg_result authreg_list(struct authreg *ar, const char *domain, authreg_list_cb cb,
    void *arg)
{
	if (ar->backend->list == NULL)
		return AUTHREG_UNSUPPORTED;
	return ar->backend->list(ar, domain, cb, arg);
}

bool authreg_has_prefetch(const struct authreg *ar)
{
	return ar->backend->prefetch != NULL;
}

struct authreg_request *authreg_prefetch(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	if (ar->backend->prefetch == NULL) {
		/* Nothing to load: get_secrets answers directly. */
		cb(arg, AUTHREG_OK);
		return NULL;
	}
	return ar->backend->prefetch(ar, user, domain, cb, arg);
}

void authreg_prefetch_forget(struct authreg *ar, const char *user, const char *domain)
{
	if (ar->backend->prefetch_forget != NULL)
		ar->backend->prefetch_forget(ar, user, domain);
}

void authreg_cancel(struct authreg *ar, struct authreg_request **req)
{
	if (req == NULL || *req == NULL)
		return;
	if (ar->backend->cancel != NULL)
		ar->backend->cancel(ar, *req);
	*req = NULL;
}

void authreg_free(struct authreg **ar)
{
	if (ar == NULL || *ar == NULL)
		return;
	(*ar)->backend->free(*ar);
	*ar = NULL;
}
