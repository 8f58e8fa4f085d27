/*
 * test_storage.c — the storage driver test suite's account and schema
 * cases, which every driver passes (SQLite, PostgreSQL, MySQL), and the
 * SQLite driver's own cases about its file. Each case gets a fresh
 * database (store.h).
 *
 * Accounts: every user operation, quoting (localparts full of quotes,
 * backslashes, % and non-ASCII survive byte for byte), a duplicate
 * create refused. Schema, through the store's raw hooks (store.h): a new
 * database reaches version 2 with its ten tables and reopening migrates
 * nothing, a version-1 database (made by the store, by hand) migrates
 * keeping its users, a database from a later version is refused, a
 * multi-step write that fails half-way (a trigger refuses one row) leaves
 * nothing behind, and deleting a user empties every table of its rows.
 * SQLite's file: an empty file, WAL mode, a file that is not a database,
 * the driver chosen by the configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "storage.h"
#include "store.h"
#include "unit.h"

/* Cheap secrets: the minimum rounds, derived once per password. */
static void secrets_for(const char *password, struct storage_user_secrets *out)
{
	char err[ERRLEN];
	ck_assert_msg(storage_secrets_from_password(password, 4096, out, err, sizeof(err)) == 0,
	    "%s", err);
}

START_TEST(test_create_get_exists_delete)
{
	struct storage *s = store_open();
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
	struct storage *s = store_open();
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
	struct storage *s = store_open();
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
	struct storage *s = store_open();
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
	struct storage *s = store_open();
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

/* --- the schema, through the store's raw hooks (every driver) ------------------ */

START_TEST(test_a_new_database_reaches_schema_2_and_reopening_keeps_it)
{
	struct storage *s = store_open();
	struct storage_user_secrets sec;
	char names[32][64];
	char err[ERRLEN] = "";
	const char *want[] = { "block_list", "last_activity", "offline_messages", "private_xml",
	    "roster_groups", "roster_items", "roster_version", "subscription_requests", "users",
	    "vcards" };

	ck_assert_int_eq(storage_schema_version(s), 2);
	ck_assert_str_eq(storage_driver_name(s), store_driver());
	secrets_for("kept", &sec);
	STORE_CALL(STORAGE_OK, storage_user_create(s, "example.org", "friar", &sec, err,
	    sizeof(err)));
	storage_close(&s);
	ck_assert_int_eq(store_raw_int("SELECT version FROM schema_version"), 2);
	ck_assert_int_eq(store_raw_int("SELECT count(*) FROM schema_version"), 1);
	size_t n = store_raw_tables(names, ARRAY_LEN(names));
	ck_assert_uint_eq(n, ARRAY_LEN(want));
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(names[i], want[i]);
	int64_t objects = store_raw_schema_objects();

	/* Opening again migrates nothing and keeps the data. */
	s = store_open();
	ck_assert_int_eq(storage_schema_version(s), 2);
	STORE_CALL(STORAGE_OK, storage_user_exists(s, "example.org", "friar", err, sizeof(err)));
	storage_close(&s);
	ck_assert_int_eq(store_raw_schema_objects(), objects);
	ck_assert_int_eq(store_raw_int("SELECT count(*) FROM schema_version"), 1);
}
END_TEST

START_TEST(test_a_newer_schema_is_refused)
{
	struct storage *s = store_open();
	char err[ERRLEN] = "";

	storage_close(&s);
	store_raw_exec("UPDATE schema_version SET version = 999");
	ck_assert_int_eq(store_try_open(&s, err, sizeof(err)), STORAGE_ERROR);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err, "newer"));
}
END_TEST

START_TEST(test_a_version_1_database_migrates_to_2_keeping_its_users)
{
	struct storage_user_secrets sec;
	char sha1[SCRAM_SECRETS_TEXT_MAX], sha256[SCRAM_SECRETS_TEXT_MAX];
	char err[ERRLEN] = "";

	secrets_for("old password", &sec);
	ck_assert_int_eq(scram_secrets_format(&sec.sha1, sha1, sizeof(sha1), err, sizeof(err)), 0);
	ck_assert_int_eq(scram_secrets_format(&sec.sha256, sha256, sizeof(sha256), err,
	    sizeof(err)), 0);
	store_make_v1("example.org", "juliet", sha1, sha256);

	struct storage *s = store_open();
	ck_assert_int_eq(storage_schema_version(s), 2);
	STORE_CALL(STORAGE_OK, storage_user_exists(s, "example.org", "juliet", err, sizeof(err)));
	struct scram_secrets got;
	STORE_CALL(STORAGE_OK, storage_user_get_secrets(s, "example.org", "juliet",
	    SCRAM_HASH_SHA256, &got, err, sizeof(err)));
	ck_assert(scram_secrets_check_password(&got, "old password"));
	/* The new tables work. */
	struct storage_roster_item it = { .contact = (char *)"romeo@example.net" };
	int64_t ver = 0;
	STORE_CALL(STORAGE_OK, storage_roster_put(s, "example.org", "juliet", &it, &ver, err,
	    sizeof(err)));
	ck_assert_int_eq(ver, 1);
	STORE_CALL(STORAGE_OK, storage_offline_store(s, "example.org", "juliet", "<message/>", 1,
	    err, sizeof(err)));
	storage_close(&s);

	/* Reopening migrates nothing: same version, same tables, data kept. */
	int64_t objects = store_raw_schema_objects();
	s = store_open();
	ck_assert_int_eq(storage_schema_version(s), 2);
	STORE_CALL(STORAGE_FULL, storage_offline_store(s, "example.org", "juliet", "<message/>", 1,
	    err, sizeof(err)));
	storage_close(&s);
	ck_assert_int_eq(store_raw_schema_objects(), objects);
	ck_assert_int_eq(store_raw_int("SELECT version FROM schema_version"), 2);
	ck_assert_int_eq(store_raw_int("SELECT count(*) FROM roster_items"), 1);
}
END_TEST

START_TEST(test_a_failed_roster_put_changes_nothing)
{
	struct storage *s = store_open();
	struct storage_roster_item got;
	struct storage_roster_list l;
	char err[ERRLEN] = "";
	const char *before[] = { "Friends" }, *after[] = { "Family", "boom" };
	struct storage_roster_item it = {
		.contact = (char *)"romeo@example.net", .name = (char *)"Romeo",
		.sub = STORAGE_SUB_BOTH, .groups = (char **)before, .ngroups = 1,
	};
	int64_t ver = 0;

	STORE_CALL(STORAGE_OK, storage_roster_put(s, "example.org", "juliet", &it, &ver, err,
	    sizeof(err)));
	ck_assert_int_eq(ver, 1);
	/* The second group's insert fails, after the version was bumped and
	 * the item and the first group were written. */
	store_refuse_insert("roster_groups", "name", "boom", "boom refused");
	it.name = (char *)"Changed";
	it.sub = STORAGE_SUB_NONE;
	it.groups = (char **)after;
	it.ngroups = 2;
	ver = 0;
	STORE_CALL(STORAGE_ERROR, storage_roster_put(s, "example.org", "juliet", &it, &ver, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "boom refused"));
	ck_assert_int_eq(ver, 0);
	STORE_CALL(STORAGE_OK, storage_roster_get_item(s, "example.org", "juliet",
	    "romeo@example.net", &got, err, sizeof(err)));
	ck_assert_str_eq(got.name, "Romeo");
	ck_assert_int_eq(got.sub, STORAGE_SUB_BOTH);
	ck_assert_int_eq(got.ver, 1);
	ck_assert_uint_eq(got.ngroups, 1);
	ck_assert_str_eq(got.groups[0], "Friends");
	storage_roster_item_clear(&got);
	STORE_CALL(STORAGE_OK, storage_roster_get(s, "example.org", "juliet", &l, err,
	    sizeof(err)));
	ck_assert_int_eq(l.ver, 1);
	storage_roster_list_free(&l);

	/* The connection is usable after the failure, and the version the
	 * failed put took was never handed out. */
	it.ngroups = 1;
	STORE_CALL(STORAGE_OK, storage_roster_put(s, "example.org", "juliet", &it, &ver, err,
	    sizeof(err)));
	ck_assert_int_eq(ver, 2);
	storage_close(&s);
}
END_TEST

static int count_jid(void *arg, const char *jid)
{
	(void)jid;
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_failed_block_and_delete_change_nothing)
{
	struct storage *s = store_open();
	char err[ERRLEN] = "";
	const char *jids[] = { "a@example.net", "boom", "c@example.net" };
	int n = 0;

	store_user(s, "example.org", "juliet");
	STORE_CALL(STORAGE_OK, storage_block_add(s, "example.org", "juliet", jids, 1, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_vcard_set(s, "example.org", "juliet", "<vCard/>", err,
	    sizeof(err)));
	store_refuse_insert("block_list", "jid", "boom", "boom refused");
	store_refuse_delete("users", "users are kept");
	STORE_CALL(STORAGE_OK, storage_block_remove(s, "example.org", "juliet", jids, 1, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_ERROR, storage_block_add(s, "example.org", "juliet", jids, 3, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_block_list(s, "example.org", "juliet", count_jid, &n, err,
	    sizeof(err)));
	ck_assert_int_eq(n, 0);

	/* The users row goes last: its failure must bring the data back. */
	STORE_CALL(STORAGE_ERROR, storage_user_delete(s, "example.org", "juliet", err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "users are kept"));
	char *xml = NULL;
	STORE_CALL(STORAGE_OK, storage_vcard_get(s, "example.org", "juliet", &xml, err,
	    sizeof(err)));
	ck_assert_str_eq(xml, "<vCard/>");
	free(xml);
	storage_close(&s);
}
END_TEST

/* Every table but the schema's own, straight from the database: a table
 * added later for a user's data without a delete in storage_user_delete
 * fails here. */
START_TEST(test_user_delete_leaves_no_row_in_any_table)
{
	struct storage *s = store_open();
	char err[ERRLEN] = "";
	const char *groups[] = { "G" }, *jids[] = { "foe@x" };
	struct storage_roster_item it = { .contact = (char *)"friend@x",
	    .groups = (char **)groups, .ngroups = 1 };
	int64_t ver;
	const char *owners[] = { "juliet", "romeo" };

	for (size_t i = 0; i < ARRAY_LEN(owners); i++) {
		const char *o = owners[i];
		store_user(s, "example.org", o);
		STORE_CALL(STORAGE_OK, storage_roster_put(s, "example.org", o, &it, &ver, err,
		    sizeof(err)));
		it.contact = (char *)"gone@x";
		STORE_CALL(STORAGE_OK, storage_roster_put(s, "example.org", o, &it, &ver, err,
		    sizeof(err)));
		STORE_CALL(STORAGE_OK, storage_roster_remove(s, "example.org", o, "gone@x", &ver,
		    err, sizeof(err)));
		it.contact = (char *)"friend@x";
		STORE_CALL(STORAGE_OK, storage_subreq_put(s, "example.org", o, "a@x", "<p/>", err,
		    sizeof(err)));
		STORE_CALL(STORAGE_OK, storage_offline_store(s, "example.org", o, "<m/>", 0, err,
		    sizeof(err)));
		STORE_CALL(STORAGE_OK, storage_private_set(s, "example.org", o, "{a}b", "<b/>", err,
		    sizeof(err)));
		STORE_CALL(STORAGE_OK, storage_vcard_set(s, "example.org", o, "<vCard/>", err,
		    sizeof(err)));
		STORE_CALL(STORAGE_OK, storage_block_add(s, "example.org", o, jids, 1, err,
		    sizeof(err)));
		STORE_CALL(STORAGE_OK, storage_last_set(s, "example.org", o, 1, "", err,
		    sizeof(err)));
	}
	STORE_CALL(STORAGE_OK, storage_user_delete(s, "example.org", "juliet", err, sizeof(err)));
	/* The roster stays for sm to tell the contacts; the rest is gone. */
	char tables[32][64];
	size_t n = store_raw_tables(tables, ARRAY_LEN(tables));
	for (size_t i = 0; i < n; i++) {
		bool roster = strncmp(tables[i], "roster_", 7) == 0 ||
		    strcmp(tables[i], "subscription_requests") == 0;
		ck_assert_msg((store_raw_count_owned(tables[i], "example.org", "juliet") > 0) == roster,
		    "%s: %s rows of a deleted user", tables[i], roster ? "lost the roster" : "keeps");
	}
	STORE_CALL(STORAGE_OK, storage_roster_clear(s, "example.org", "juliet", err, sizeof(err)));
	storage_close(&s);

	n = store_raw_tables(tables, ARRAY_LEN(tables));
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(store_raw_count_owned(tables[i], "example.org", "juliet") == 0,
		    "%s keeps rows of a deleted user", tables[i]);
		ck_assert_msg(store_raw_count_owned(tables[i], "example.org", "romeo") > 0,
		    "%s lost rows of another user", tables[i]);
	}
	ck_assert_uint_eq(n, 10);
}
END_TEST

/* --- the SQLite driver's file ------------------------------------------------------ */

START_TEST(test_migrations_from_an_empty_file_and_reopen)
{
	struct storage *s = NULL;
	struct storage_user_secrets sec;
	char err[ERRLEN];

	/* An empty file, as `touch` leaves it. */
	FILE *f = fopen(store_sqlite_path(), "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	s = store_open();
	ck_assert_int_ge(storage_schema_version(s), 1);
	ck_assert_str_eq(storage_driver_name(s), "sqlite");
	int version = storage_schema_version(s);
	secrets_for("kept", &sec);
	ck_assert_int_eq(storage_user_create(s, "example.org", "friar", &sec, err, sizeof(err)),
	    STORAGE_OK);
	storage_close(&s);
	/* Opening again migrates nothing and keeps the data. */
	s = store_open();
	ck_assert_int_eq(storage_schema_version(s), version);
	ck_assert_int_eq(storage_user_exists(s, "example.org", "friar", err, sizeof(err)),
	    STORAGE_OK);
	storage_close(&s);

	/* WAL mode is on. */
	sqlite3 *db;
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_open(store_sqlite_path(), &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_a_file_that_is_not_a_database_is_an_error)
{
	struct storage *s = NULL;
	char err[ERRLEN];
	FILE *f = fopen(store_sqlite_path(), "w");

	ck_assert_ptr_nonnull(f);
	fputs("this is not a database, but it is long enough to look like one....\n", f);
	for (int i = 0; i < 100; i++)
		fputs("filler filler filler filler filler filler filler filler filler\n", f);
	fclose(f);
	ck_assert_int_eq(storage_open_sqlite(&s, store_sqlite_path(), err, sizeof(err)),
	    STORAGE_ERROR);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err, store_sqlite_path()));
}
END_TEST

START_TEST(test_config_names_the_driver)
{
	struct conf *c = NULL;
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct storage *s = NULL;
	char text[512], err[ERRLEN];

	/* A network driver that cannot reach its server (or was not built)
	 * is an error naming the configuration's line. */
	snprintf(text, sizeof(text), "hosts = [ \"example.org\" ];\n"
	    "storage = {\n driver = \"pgsql\"; sql = { socket = \"/nonexistent/parley\"; "
	    "hold = \"0s\"; };\n};\n");
	ck_assert_int_eq(conf_load_string(&c, text, "/etc/parley/test.conf", &errs), 0);
	ck_assert_int_eq(storage_open(&s, c, err, sizeof(err)), STORAGE_ERROR);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, "/etc/parley/test.conf:3") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "pgsql") != NULL, "%s", err);
	conf_free(&c);

	snprintf(text, sizeof(text), "hosts = [ \"example.org\" ];\n"
	    "storage = { sqlite = { path = \"%s\"; }; };\n", store_sqlite_path());
	ck_assert_int_eq(conf_load_string(&c, text, "test.conf", &errs), 0);
	ck_assert_int_eq(storage_open(&s, c, err, sizeof(err)), STORAGE_OK);
	ck_assert_str_eq(storage_driver_name(s), "sqlite");
	storage_close(&s);
	conf_free(&c);
	ck_assert_int_eq(access(store_sqlite_path(), F_OK), 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("storage");
	TCase *tc = tcase_create(store_driver());
	TCase *schema = tcase_create("schema");

	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_create_get_exists_delete);
	tcase_add_test(tc, test_duplicate_create_is_refused_and_changes_nothing);
	tcase_add_test(tc, test_set_secrets_changes_the_password);
	tcase_add_test(tc, test_list_is_per_domain_and_sorted);
	tcase_add_test(tc, test_quoting_survives_byte_for_byte);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(schema, store_setup, store_teardown);
	tcase_set_timeout(schema, 30);
	tcase_add_test(schema, test_a_new_database_reaches_schema_2_and_reopening_keeps_it);
	tcase_add_test(schema, test_a_newer_schema_is_refused);
	tcase_add_test(schema, test_a_version_1_database_migrates_to_2_keeping_its_users);
	tcase_add_test(schema, test_a_failed_roster_put_changes_nothing);
	tcase_add_test(schema, test_failed_block_and_delete_change_nothing);
	tcase_add_test(schema, test_user_delete_leaves_no_row_in_any_table);
	suite_add_tcase(s, schema);

	/* What only a database file has: no other driver runs these. */
	if (store_sqlite_path() != NULL) {
		TCase *file = tcase_create("sqlite-file");
		tcase_add_checked_fixture(file, store_setup, store_teardown);
		tcase_set_timeout(file, 30);
		tcase_add_test(file, test_migrations_from_an_empty_file_and_reopen);
		tcase_add_test(file, test_a_file_that_is_not_a_database_is_an_error);
		tcase_add_test(file, test_config_names_the_driver);
		suite_add_tcase(s, file);
	}
	return s;
}
