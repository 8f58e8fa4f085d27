/*
 * storage.h — the storage driver interface: the one way Parley's processes
 * (auth, parleyctl, and later sm) keep data. A driver is chosen in the
 * configuration (storage.driver) and hidden behind struct storage; callers
 * never see SQL. doc/storage.md describes the interface and the schema.
 *
 * This first part holds what authreg needs: accounts and their SCRAM
 * secrets. Issue 5 adds roster, offline messages, vCards, private XML,
 * block lists and last activity as more operations of the same table of
 * driver functions (struct storage_driver, storage_driver.h); issue 7 adds
 * MySQL and PostgreSQL drivers behind it.
 *
 * Conventions: every call returns STORAGE_OK (0), STORAGE_ERROR (-1, with a
 * reason in err), or one of the "expected" outcomes below, which are not
 * errors and write no reason. Strings are UTF-8, stored and returned byte
 * for byte: callers prepare JID parts (nodeprep, nameprep) before they
 * come here. Calls are synchronous; the SQLite driver is fast enough for
 * auth's loop (one indexed row per call), and the network drivers of
 * issue 7 will run their queries off the loop.
 *
 * Must not: log (the caller logs once), or build SQL from user data.
 */
#ifndef PARLEY_STORAGE_H
#define PARLEY_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "scram_secrets.h"
#include "util.h"

enum storage_result {
	STORAGE_ERROR = -1,
	STORAGE_OK = 0,
	STORAGE_NOT_FOUND = 1,  /* no such user */
	STORAGE_EXISTS = 2,     /* create: the user exists already */
};

/* The secrets of one account: both hashes, as scram_secrets_format() writes
 * them (the drivers store the text form). */
struct storage_user_secrets {
	struct scram_secrets sha1;
	struct scram_secrets sha256;
};

struct storage;

/*
 * Open the driver the configuration names (storage.driver) and bring its
 * schema up to date (forward migrations run here, in a transaction).
 * "mysql" and "pgsql" are refused for now with a reason naming the
 * setting's FILE:LINE.
 */
int storage_open(struct storage **out, const struct conf *c, char *err, size_t errlen);
/* The SQLite driver on one file, created if missing (tests, tools). */
int storage_open_sqlite(struct storage **out, const char *path, char *err, size_t errlen);
void storage_close(struct storage **s);

/* Run as root, before storage_open: make sure the SQLite file exists and a
 * file root owns is given to the configured user and group, so processes
 * that drop to that user can still write it (SQLite run as root gives its
 * -wal and -shm files the database's owner). Does nothing for other
 * drivers or when not root. */
int storage_prepare(const struct conf *c, char *err, size_t errlen);

/* "sqlite"… */
const char *storage_driver_name(const struct storage *s);
/* The schema version the database is at after storage_open. */
int storage_schema_version(const struct storage *s);

/* --- users ------------------------------------------------------------------ */

/* Create domain/localpart with its secrets: STORAGE_OK, STORAGE_EXISTS. */
int storage_user_create(struct storage *s, const char *domain, const char *localpart,
    const struct storage_user_secrets *secrets, char *err, size_t errlen);
/* The secrets for one hash into *out: STORAGE_OK, STORAGE_NOT_FOUND. */
int storage_user_get_secrets(struct storage *s, const char *domain, const char *localpart,
    enum scram_hash hash, struct scram_secrets *out, char *err, size_t errlen);
/* Replace both secrets (a password change): STORAGE_OK, STORAGE_NOT_FOUND. */
int storage_user_set_secrets(struct storage *s, const char *domain, const char *localpart,
    const struct storage_user_secrets *secrets, char *err, size_t errlen);
/* STORAGE_OK, STORAGE_NOT_FOUND. */
int storage_user_delete(struct storage *s, const char *domain, const char *localpart,
    char *err, size_t errlen);
/* STORAGE_OK (exists), STORAGE_NOT_FOUND. */
int storage_user_exists(struct storage *s, const char *domain, const char *localpart,
    char *err, size_t errlen);
/* Call `cb` for each user of `domain`, in byte order of the localpart; a
 * callback returning non-zero stops the walk (the call then returns
 * STORAGE_OK). */
typedef int (*storage_user_cb)(void *arg, const char *localpart);
int storage_user_list(struct storage *s, const char *domain, storage_user_cb cb, void *arg,
    char *err, size_t errlen);

/* Derive both secrets from a password (account creation, password change).
 * iterations 0 means SCRAM_DEFAULT_ITERATIONS. */
int storage_secrets_from_password(const char *password, unsigned iterations,
    struct storage_user_secrets *out, char *err, size_t errlen);

#endif
