/*
 * test_storage.c — the start of the storage driver test suite (issue 5):
 * the same cases run against every driver the build has (SQLite now; the
 * MySQL and PostgreSQL drivers of issue 7 must pass them unchanged). Each
 * case gets a fresh database: every user operation, quoting (localparts
 * full of quotes, backslashes, % and non-ASCII survive byte for byte), a
 * duplicate create refused, migrations from an empty file, a database
 * from a later version refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "storage.h"
#include "unit.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/parley-storage-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/parley.db", dir);
}

static void teardown(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct storage *open_store(void)
{
	struct storage *s = NULL;
	char err[ERRLEN];
	int rc = storage_open_sqlite(&s, path, err, sizeof(err));
	ck_assert_msg(rc == STORAGE_OK, "open: %s", err);
	return s;
}

/* Cheap secrets: the minimum rounds, derived once per password. */
static void secrets_for(const char *password, struct storage_user_secrets *out)
{
	char err[ERRLEN];
	ck_assert_msg(storage_secrets_from_password(password, 4096, out, err, sizeof(err)) == 0,
	    "%s", err);
}

START_TEST(test_create_get_exists_delete)
{
	struct storage *s = open_store();
	struct storage_user_secrets sec;
	struct scram_secrets got;
	char err[ERRLEN];

	secrets_for("pencil", &sec);
	ck_assert_int_eq(storage_user_exists(s, "example.org", "juliet", err, sizeof(err)),
	    STORAGE_NOT_FOUND);
	ck_assert_int_eq(storage_user_create(s, "example.org", "juliet", &sec, err, sizeof(err)),
	    STORAGE_OK);
	ck_assert_int_eq(storage_user_exists(s, "example.org", "juliet", err, sizeof(err)),
	    STORAGE_OK);
	ck_assert_int_eq(storage_user_exists(s, "example.net", "juliet", err, sizeof(err)),
	    STORAGE_NOT_FOUND);
	ck_assert_int_eq(storage_user_get_secrets(s, "example.org", "juliet", SCRAM_HASH_SHA256,
	    &got, err, sizeof(err)), STORAGE_OK);
	ck_assert_int_eq(got.hash, SCRAM_HASH_SHA256);
	ck_assert_mem_eq(got.stored_key, sec.sha256.stored_key, 32);
	ck_assert(scram_secrets_check_password(&got, "pencil"));
	ck_assert_int_eq(storage_user_get_secrets(s, "example.org", "juliet", SCRAM_HASH_SHA1,
	    &got, err, sizeof(err)), STORAGE_OK);
	ck_assert_int_eq(got.hash, SCRAM_HASH_SHA1);
	ck_assert(scram_secrets_check_password(&got, "pencil"));
	ck_assert(!scram_secrets_check_password(&got, "pen"));
	ck_assert_int_eq(storage_user_delete(s, "example.org", "juliet", err, sizeof(err)),
	    STORAGE_OK);
	ck_assert_int_eq(storage_user_delete(s, "example.org", "juliet", err, sizeof(err)),
	    STORAGE_NOT_FOUND);
	ck_assert_int_eq(storage_user_get_secrets(s, "example.org", "juliet", SCRAM_HASH_SHA1,
	    &got, err, sizeof(err)), STORAGE_NOT_FOUND);
	storage_close(&s);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_duplicate_create_is_refused_and_changes_nothing)
{
	struct storage *s = open_store();
	struct storage_user_secrets a, b;
	struct scram_secrets got;
	char err[ERRLEN];

	secrets_for("first", &a);
	secrets_for("second", &b);
	ck_assert_int_eq(storage_user_create(s, "example.org", "romeo", &a, err, sizeof(err)),
	    STORAGE_OK);
	ck_assert_int_eq(storage_user_create(s, "example.org", "romeo", &b, err, sizeof(err)),
	    STORAGE_EXISTS);
	ck_assert_int_eq(storage_user_get_secrets(s, "example.org", "romeo", SCRAM_HASH_SHA256,
	    &got, err, sizeof(err)), STORAGE_OK);
	ck_assert(scram_secrets_check_password(&got, "first"));
	/* The same localpart on another domain is another account. */
	ck_assert_int_eq(storage_user_create(s, "example.net", "romeo", &b, err, sizeof(err)),
	    STORAGE_OK);
	storage_close(&s);
}
END_TEST

START_TEST(test_set_secrets_changes_the_password)
{
	struct storage *s = open_store();
	struct storage_user_secrets a, b;
	struct scram_secrets got;
	char err[ERRLEN];

	secrets_for("old", &a);
	secrets_for("new", &b);
	ck_assert_int_eq(storage_user_set_secrets(s, "example.org", "nobody", &b, err, sizeof(err)),
	    STORAGE_NOT_FOUND);
	ck_assert_int_eq(storage_user_create(s, "example.org", "mercutio", &a, err, sizeof(err)),
	    STORAGE_OK);
	ck_assert_int_eq(storage_user_set_secrets(s, "example.org", "mercutio", &b, err,
	    sizeof(err)), STORAGE_OK);
	for (int h = 0; h < SCRAM_HASH_COUNT; h++) {
		ck_assert_int_eq(storage_user_get_secrets(s, "example.org", "mercutio",
		    (enum scram_hash)h, &got, err, sizeof(err)), STORAGE_OK);
		ck_assert(scram_secrets_check_password(&got, "new"));
		ck_assert(!scram_secrets_check_password(&got, "old"));
	}
	storage_close(&s);
}
END_TEST

struct listing {
	char names[16][64];
	int n;
	int stop_after;
};

static int collect(void *arg, const char *localpart)
{
	struct listing *l = arg;
	snprintf(l->names[l->n++], sizeof(l->names[0]), "%s", localpart);
	return l->stop_after > 0 && l->n >= l->stop_after;
}

START_TEST(test_list_is_per_domain_and_sorted)
{
	struct storage *s = open_store();
	struct storage_user_secrets sec;
	struct listing l = { .n = 0 };
	char err[ERRLEN];

	secrets_for("x", &sec);
	const char *names[] = { "tybalt", "benvolio", "nurse" };
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		ck_assert_int_eq(storage_user_create(s, "example.org", names[i], &sec, err,
		    sizeof(err)), STORAGE_OK);
	ck_assert_int_eq(storage_user_create(s, "example.net", "paris", &sec, err, sizeof(err)),
	    STORAGE_OK);
	ck_assert_int_eq(storage_user_list(s, "example.org", collect, &l, err, sizeof(err)),
	    STORAGE_OK);
	ck_assert_int_eq(l.n, 3);
	ck_assert_str_eq(l.names[0], "benvolio");
	ck_assert_str_eq(l.names[1], "nurse");
	ck_assert_str_eq(l.names[2], "tybalt");
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(storage_user_list(s, "example.com", collect, &l, err, sizeof(err)),
	    STORAGE_OK);
	ck_assert_int_eq(l.n, 0);
	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	ck_assert_int_eq(storage_user_list(s, "example.org", collect, &l, err, sizeof(err)),
	    STORAGE_OK);
	ck_assert_int_eq(l.n, 1);
	/* A walk stopped early leaves nothing open: writes still work. */
	ck_assert_int_eq(storage_user_delete(s, "example.org", "nurse", err, sizeof(err)),
	    STORAGE_OK);
	storage_close(&s);
}
END_TEST

START_TEST(test_quoting_survives_byte_for_byte)
{
	struct storage *s = open_store();
	struct storage_user_secrets sec;
	struct listing l = { .n = 0 };
	char err[ERRLEN];
	const char *odd[] = {
		"o'brien", "say \"hi\"", "back\\slash", "100%_done", "x' OR 1=1 --",
		"j\xc3\xbcrgen", "\xe5\xbc\xa0\xe4\xbc\x9f", "semi;colon", "%",
	};

	secrets_for("q", &sec);
	for (size_t i = 0; i < ARRAY_LEN(odd); i++)
		ck_assert_int_eq(storage_user_create(s, "b\xc3\xbc" "cher.example", odd[i], &sec,
		    err, sizeof(err)), STORAGE_OK);
	for (size_t i = 0; i < ARRAY_LEN(odd); i++)
		ck_assert_int_eq(storage_user_exists(s, "b\xc3\xbc" "cher.example", odd[i], err,
		    sizeof(err)), STORAGE_OK);
	/* LIKE-style wildcards match nothing but themselves. */
	ck_assert_int_eq(storage_user_exists(s, "b\xc3\xbc" "cher.example", "100%", err,
	    sizeof(err)), STORAGE_NOT_FOUND);
	ck_assert_int_eq(storage_user_exists(s, "b\xc3\xbc" "cher.example", "o_brien", err,
	    sizeof(err)), STORAGE_NOT_FOUND);
	ck_assert_int_eq(storage_user_list(s, "b\xc3\xbc" "cher.example", collect, &l, err,
	    sizeof(err)), STORAGE_OK);
	ck_assert_int_eq(l.n, (int)ARRAY_LEN(odd));
	for (size_t i = 0; i < ARRAY_LEN(odd); i++) {
		bool found = false;
		for (int j = 0; j < l.n; j++)
			found = found || strcmp(l.names[j], odd[i]) == 0;
		ck_assert_msg(found, "%s did not come back unchanged", odd[i]);
	}
	/* The injection attempt created one account and deleted nothing. */
	ck_assert_int_eq(storage_user_delete(s, "b\xc3\xbc" "cher.example", "x' OR 1=1 --", err,
	    sizeof(err)), STORAGE_OK);
	ck_assert_int_eq(storage_user_exists(s, "b\xc3\xbc" "cher.example", "o'brien", err,
	    sizeof(err)), STORAGE_OK);
	storage_close(&s);
}
END_TEST

START_TEST(test_migrations_from_an_empty_file_and_reopen)
{
	struct storage *s = NULL;
	struct storage_user_secrets sec;
	char err[ERRLEN];

	/* An empty file, as `touch` leaves it. */
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	s = open_store();
	ck_assert_int_ge(storage_schema_version(s), 1);
	ck_assert_str_eq(storage_driver_name(s), "sqlite");
	int version = storage_schema_version(s);
	secrets_for("kept", &sec);
	ck_assert_int_eq(storage_user_create(s, "example.org", "friar", &sec, err, sizeof(err)),
	    STORAGE_OK);
	storage_close(&s);
	/* Opening again migrates nothing and keeps the data. */
	s = open_store();
	ck_assert_int_eq(storage_schema_version(s), version);
	ck_assert_int_eq(storage_user_exists(s, "example.org", "friar", err, sizeof(err)),
	    STORAGE_OK);
	storage_close(&s);

	/* WAL mode is on. */
	sqlite3 *db;
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_a_newer_schema_is_refused)
{
	struct storage *s = open_store();
	char err[ERRLEN];
	sqlite3 *db;

	storage_close(&s);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE schema_version SET version = 999", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(storage_open_sqlite(&s, path, err, sizeof(err)), STORAGE_ERROR);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err, "newer"));
}
END_TEST

START_TEST(test_a_file_that_is_not_a_database_is_an_error)
{
	struct storage *s = NULL;
	char err[ERRLEN];
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs("this is not a database, but it is long enough to look like one....\n", f);
	for (int i = 0; i < 100; i++)
		fputs("filler filler filler filler filler filler filler filler filler\n", f);
	fclose(f);
	ck_assert_int_eq(storage_open_sqlite(&s, path, err, sizeof(err)), STORAGE_ERROR);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

START_TEST(test_config_names_the_driver)
{
	struct conf *c = NULL;
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct storage *s = NULL;
	char text[512], err[ERRLEN];

	snprintf(text, sizeof(text), "hosts = [ \"example.org\" ];\n"
	    "storage = {\n driver = \"pgsql\";\n};\n");
	ck_assert_int_eq(conf_load_string(&c, text, "/etc/parley/test.conf", &errs), 0);
	ck_assert_int_eq(storage_open(&s, c, err, sizeof(err)), STORAGE_ERROR);
	ck_assert_ptr_nonnull(strstr(err, "/etc/parley/test.conf:3"));
	ck_assert_ptr_nonnull(strstr(err, "not built yet"));
	conf_free(&c);

	snprintf(text, sizeof(text), "hosts = [ \"example.org\" ];\n"
	    "storage = { sqlite = { path = \"%s\"; }; };\n", path);
	ck_assert_int_eq(conf_load_string(&c, text, "test.conf", &errs), 0);
	ck_assert_int_eq(storage_open(&s, c, err, sizeof(err)), STORAGE_OK);
	ck_assert_str_eq(storage_driver_name(s), "sqlite");
	storage_close(&s);
	conf_free(&c);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("storage");
	TCase *tc = tcase_create("sqlite");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_create_get_exists_delete);
	tcase_add_test(tc, test_duplicate_create_is_refused_and_changes_nothing);
	tcase_add_test(tc, test_set_secrets_changes_the_password);
	tcase_add_test(tc, test_list_is_per_domain_and_sorted);
	tcase_add_test(tc, test_quoting_survives_byte_for_byte);
	tcase_add_test(tc, test_migrations_from_an_empty_file_and_reopen);
	tcase_add_test(tc, test_a_newer_schema_is_refused);
	tcase_add_test(tc, test_a_file_that_is_not_a_database_is_an_error);
	tcase_add_test(tc, test_config_names_the_driver);
	suite_add_tcase(s, tc);
	return s;
}
