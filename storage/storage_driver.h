/*
 * storage_driver.h — what a storage driver implements: one table of
 * functions, filled in by each driver file (sqlite.c now; mysql.c and
 * pgsql.c in issue 7). storage.c dispatches to it and owns nothing else.
 * Adding an operation (issue 5: roster, offline…) is one more member here,
 * one function per driver, one wrapper in storage.c, and cases in the
 * driver test suite (tests/storage/).
 */
#ifndef PARLEY_STORAGE_DRIVER_H
#define PARLEY_STORAGE_DRIVER_H

#include "storage.h"

struct storage_driver {
	const char *name;
	void (*close)(void *db);
	int (*schema_version)(void *db);

	int (*user_create)(void *db, const char *domain, const char *localpart,
	    const char *sha1, const char *sha256, char *err, size_t errlen);
	/* Secrets in their text form into `out` (SCRAM_SECRETS_TEXT_MAX bytes). */
	int (*user_get_secret)(void *db, const char *domain, const char *localpart,
	    enum scram_hash hash, char *out, size_t outlen, char *err, size_t errlen);
	int (*user_set_secrets)(void *db, const char *domain, const char *localpart,
	    const char *sha1, const char *sha256, char *err, size_t errlen);
	int (*user_delete)(void *db, const char *domain, const char *localpart,
	    char *err, size_t errlen);
	int (*user_exists)(void *db, const char *domain, const char *localpart,
	    char *err, size_t errlen);
	int (*user_list)(void *db, const char *domain, storage_user_cb cb, void *arg,
	    char *err, size_t errlen);
};

/* sqlite.c: open (creating) the file and migrate; the driver's table. */
int storage_sqlite_open(void **db, const char *path, char *err, size_t errlen);
extern const struct storage_driver storage_sqlite_driver;

#endif
