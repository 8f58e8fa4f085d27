/*
 * storage_driver.h — what a storage driver implements: one table of
 * functions, filled in by each driver file (sqlite.c now; mysql.c and
 * pgsql.c in issue 7). storage.c dispatches to it and owns nothing else.
 * Adding an operation (as issue 5 did: roster, offline…) is one more member here,
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

	/* The rest as in storage.h, minus struct storage; storage.c has
	 * checked the arguments (non-NULL strings, a valid item). */
	int (*roster_get)(void *db, const char *domain, const char *localpart,
	    struct storage_roster_list *out, char *err, size_t errlen);
	int (*roster_get_since)(void *db, const char *domain, const char *localpart,
	    int64_t since, struct storage_roster_list *out, char *err, size_t errlen);
	int (*roster_get_item)(void *db, const char *domain, const char *localpart,
	    const char *contact, struct storage_roster_item *out, char *err, size_t errlen);
	int (*roster_put)(void *db, const char *domain, const char *localpart,
	    const struct storage_roster_item *item, int64_t *ver, char *err, size_t errlen);
	int (*roster_remove)(void *db, const char *domain, const char *localpart,
	    const char *contact, int64_t *ver, char *err, size_t errlen);
	int (*roster_clear)(void *db, const char *domain, const char *localpart,
	    char *err, size_t errlen);

	int (*subreq_put)(void *db, const char *domain, const char *localpart,
	    const char *contact, const char *stanza, char *err, size_t errlen);
	int (*subreq_exists)(void *db, const char *domain, const char *localpart,
	    const char *contact, char *err, size_t errlen);
	int (*subreq_delete)(void *db, const char *domain, const char *localpart,
	    const char *contact, char *err, size_t errlen);
	int (*subreq_list)(void *db, const char *domain, const char *localpart,
	    storage_subreq_cb cb, void *arg, char *err, size_t errlen);

	int (*offline_store)(void *db, const char *domain, const char *localpart,
	    const char *stanza, size_t quota, char *err, size_t errlen);
	int (*offline_count)(void *db, const char *domain, const char *localpart,
	    size_t *count, char *err, size_t errlen);
	int (*offline_list)(void *db, const char *domain, const char *localpart,
	    storage_offline_cb cb, void *arg, char *err, size_t errlen);
	int (*offline_delete_upto)(void *db, const char *domain, const char *localpart,
	    int64_t upto, char *err, size_t errlen);

	int (*private_get)(void *db, const char *domain, const char *localpart,
	    const char *key, char **out, char *err, size_t errlen);
	int (*private_set)(void *db, const char *domain, const char *localpart,
	    const char *key, const char *xml, char *err, size_t errlen);
	int (*vcard_get)(void *db, const char *domain, const char *localpart,
	    char **out, char *err, size_t errlen);
	int (*vcard_set)(void *db, const char *domain, const char *localpart,
	    const char *xml, char *err, size_t errlen);

	int (*block_list)(void *db, const char *domain, const char *localpart,
	    storage_block_cb cb, void *arg, char *err, size_t errlen);
	int (*block_add)(void *db, const char *domain, const char *localpart,
	    const char *const *jids, size_t n, char *err, size_t errlen);
	int (*block_remove)(void *db, const char *domain, const char *localpart,
	    const char *const *jids, size_t n, char *err, size_t errlen);

	int (*last_set)(void *db, const char *domain, const char *localpart,
	    int64_t when, const char *status, char *err, size_t errlen);
	int (*last_get)(void *db, const char *domain, const char *localpart,
	    int64_t *when, char **status, char *err, size_t errlen);
};

/* How many roster tombstones a driver keeps per owner at least; beyond
 * that it may prune the oldest, raising the owner's low-water mark
 * (storage_roster_get_since answers STORAGE_NOT_FOUND below it). The
 * driver test suite removes more than this many items. */
#define STORAGE_ROSTER_TOMBSTONES_KEPT 256

/* sqlite.c: open (creating) the file and migrate; the driver's table. */
int storage_sqlite_open(void **db, const char *path, char *err, size_t errlen);
extern const struct storage_driver storage_sqlite_driver;

/* pgsql.c and mysql.c: connect (sql_server.h; the driver keeps what it
 * needs, the caller keeps `srv`), create or migrate the schema, and the
 * driver's table. Built when configure found the client library
 * (HAVE_PGSQL, HAVE_MYSQL). */
struct sql_server;
int storage_pgsql_open(void **db, const struct sql_server *srv, char *err, size_t errlen);
extern const struct storage_driver storage_pgsql_driver;
int storage_mysql_open(void **db, const struct sql_server *srv, char *err, size_t errlen);
extern const struct storage_driver storage_mysql_driver;

#endif
