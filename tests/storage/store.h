/*
 * store.h — the driver the storage test suite runs against, and what its
 * cases share. Each test program links one store_*.c that chooses the
 * driver (store_sqlite.c now; the MySQL and PostgreSQL drivers of issue 7
 * add theirs and run the same case files unchanged).
 */
#ifndef PARLEY_TESTS_STORE_H
#define PARLEY_TESTS_STORE_H

#include <check.h>

#include "storage.h"

/* A fresh, empty database for one case (a checked fixture). */
void store_setup(void);
void store_teardown(void);
/* Open the case's database (again: reopening keeps the data). */
struct storage *store_open(void);
/* The driver's name, as storage_driver_name() gives it. */
const char *store_driver(void);
/* SQLite only: the case's database file, for raw access. */
const char *store_sqlite_path(void);

/* Create domain/localpart with cheap secrets (derived once). */
void store_user(struct storage *s, const char *domain, const char *localpart);

/* Strings that must survive byte for byte in every text column: quotes,
 * backslashes, LIKE wildcards, an injection attempt, non-ASCII, control
 * bytes. NULL-terminated. */
extern const char *const store_odd_strings[];

/* Assert a call returned `want`, showing err when it did not. */
#define STORE_CALL(want, call) do { \
	int rc_ = (call); \
	ck_assert_msg(rc_ == (want), "%s: %d, wanted %d: %s", #call, rc_, (want), err); \
} while (0)

#endif
