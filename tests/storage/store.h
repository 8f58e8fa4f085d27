/*
 * store.h — the driver the storage test suite runs against, and what its
 * cases share. Each test program links one store_*.c that chooses the
 * driver (store_sqlite.c, store_pgsql.c, store_mysql.c) and runs the same
 * case files unchanged. Besides opening the case's database, a store
 * gives the cases a way under the driver (the store_raw_* hooks, in the
 * driver's own client library and SQL dialect) and, for the network
 * drivers, control of the server (store_server_*).
 */
#ifndef PARLEY_TESTS_STORE_H
#define PARLEY_TESTS_STORE_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "storage.h"

/* A fresh, empty database for one case (a checked fixture). */
void store_setup(void);
void store_teardown(void);
/* Open the case's database (again: reopening keeps the data). */
struct storage *store_open(void);
/* The driver's name, as storage_driver_name() gives it. */
const char *store_driver(void);
/* SQLite only: the case's database file, for raw access (NULL for the
 * other drivers: the cases about SQLite's file then do not run). */
const char *store_sqlite_path(void);
/* Open without asserting: STORAGE_OK or STORAGE_ERROR with err. */
int store_try_open(struct storage **s, char *err, size_t errlen);

/* --- under the driver ---------------------------------------------------------
 *
 * Raw access to the case's database, for the cases that check or damage
 * what the driver wrote (test_storage.c, "schema"). Every store
 * implements these with its client library; SQL given to them is constant
 * text from a case, valid in every driver's dialect. A failure fails the
 * case. */

/* Run statements that return no rows. */
void store_raw_exec(const char *sql);
/* The one integer a query returns. */
int64_t store_raw_int(const char *sql);
/* The schema's tables but schema_version (and the engine's own, such as
 * sqlite_sequence), sorted: their names into names[0..max), how many. */
size_t store_raw_tables(char names[][64], size_t max);
/* How many rows of `table` belong to the owner domain/localpart. */
int64_t store_raw_count_owned(const char *table, const char *domain, const char *localpart);
/* How many schema objects (tables, indexes, sequences…) the database holds. */
int64_t store_raw_schema_objects(void);
/* Make an INSERT into `table` whose `column` equals `value` fail with
 * `message` (which the driver's reason then contains): a trigger in the
 * driver's dialect. */
void store_refuse_insert(const char *table, const char *column, const char *value,
    const char *message);
/* Make every DELETE of a row of `table` fail with `message`. */
void store_refuse_delete(const char *table, const char *message);
/* Make the case's (empty) database a schema-version-1 one as the driver
 * first wrote it — the users table only — holding one user with these
 * secrets (text form). */
void store_make_v1(const char *domain, const char *localpart, const char *sha1,
    const char *sha256);

/* --- the server (network drivers) ----------------------------------------------
 *
 * For the lost-server cases (test_storage_reconnect.c). */

/* Open the case's database with storage.sql.hold = hold_ms. */
struct storage *store_open_hold(unsigned hold_ms);
/* Whether this store can stop and start the case's server: false for
 * SQLite and for a server the store did not start, and the lost-server
 * cases then pass without testing anything. */
bool store_server_control(void);
/* Stop the case's server (return once it is down), or start it again on
 * the same port with the same data (return once it answers): true, or
 * false when that failed. They assert nothing, so a case may call them
 * from a child process of its own. */
bool store_server_stop(void);
bool store_server_start(void);

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
