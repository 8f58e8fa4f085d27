/*
 * test_storage_im.c — the driver test suite's cases for a user's IM data
 * besides the roster, run against the driver store.h chooses: offline
 * messages (quota, order, ids, delete_upto), private XML, vCards, the
 * block list, last activity, odd strings byte for byte, and deleting a
 * user taking all of it (and nothing of anyone else's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "unit.h"

#define D "example.org"

struct messages {
	int64_t id[16];
	char stanza[16][64];
	int n;
	int stop_after;
};

static int collect_message(void *arg, int64_t id, const char *stanza)
{
	struct messages *m = arg;
	m->id[m->n] = id;
	snprintf(m->stanza[m->n], sizeof(m->stanza[0]), "%s", stanza);
	m->n++;
	return m->stop_after > 0 && m->n >= m->stop_after;
}

static size_t offline_count(struct storage *s, const char *owner)
{
	char err[ERRLEN] = "";
	size_t n = 999;
	STORE_CALL(STORAGE_OK, storage_offline_count(s, D, owner, &n, err, sizeof(err)));
	return n;
}

static struct messages offline_list(struct storage *s, const char *owner)
{
	char err[ERRLEN] = "";
	struct messages m = { .n = 0 };
	STORE_CALL(STORAGE_OK, storage_offline_list(s, D, owner, collect_message, &m, err,
	    sizeof(err)));
	return m;
}

START_TEST(test_offline_store_up_to_the_quota)
{
	struct storage *s = store_open();
	char err[ERRLEN] = "";

	ck_assert_uint_eq(offline_count(s, "juliet"), 0);
	ck_assert_int_eq(offline_list(s, "juliet").n, 0);
	STORE_CALL(STORAGE_OK, storage_offline_store(s, D, "juliet", "<message>1</message>", 3,
	    err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_offline_store(s, D, "juliet", "<message>2</message>", 3,
	    err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_offline_store(s, D, "juliet", "<message>3</message>", 3,
	    err, sizeof(err)));
	STORE_CALL(STORAGE_FULL, storage_offline_store(s, D, "juliet", "<message>4</message>", 3,
	    err, sizeof(err)));
	ck_assert_uint_eq(offline_count(s, "juliet"), 3);
	/* A lower quota than what is held is full too; another user is not. */
	STORE_CALL(STORAGE_FULL, storage_offline_store(s, D, "juliet", "<message>5</message>", 1,
	    err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_offline_store(s, D, "romeo", "<message>r</message>", 1,
	    err, sizeof(err)));
	struct messages m = offline_list(s, "juliet");
	ck_assert_int_eq(m.n, 3);
	for (int i = 0; i < 3; i++) {
		char want[32];
		snprintf(want, sizeof(want), "<message>%d</message>", i + 1);
		ck_assert_str_eq(m.stanza[i], want);
		if (i > 0)
			ck_assert_int_gt(m.id[i], m.id[i - 1]);
	}
	/* 0 is no limit. */
	for (int i = 0; i < 5; i++)
		STORE_CALL(STORAGE_OK, storage_offline_store(s, D, "juliet", "<message/>", 0, err,
		    sizeof(err)));
	ck_assert_uint_eq(offline_count(s, "juliet"), 8);
	ck_assert_uint_eq(offline_count(s, "romeo"), 1);
	storage_close(&s);
}
END_TEST

START_TEST(test_offline_delete_upto)
{
	struct storage *s = store_open();
	char err[ERRLEN] = "";

	STORE_CALL(STORAGE_OK, storage_offline_delete_upto(s, D, "juliet", 100, err,
	    sizeof(err)));
	for (int i = 0; i < 4; i++) {
		char stanza[32];
		snprintf(stanza, sizeof(stanza), "<message>%d</message>", i);
		STORE_CALL(STORAGE_OK, storage_offline_store(s, D, "juliet", stanza, 10, err,
		    sizeof(err)));
		STORE_CALL(STORAGE_OK, storage_offline_store(s, D, "romeo", stanza, 10, err,
		    sizeof(err)));
	}
	struct messages m = offline_list(s, "juliet");
	ck_assert_int_eq(m.n, 4);
	/* A walk stopped early. */
	struct messages first = { .stop_after = 1 };
	STORE_CALL(STORAGE_OK, storage_offline_list(s, D, "juliet", collect_message, &first, err,
	    sizeof(err)));
	ck_assert_int_eq(first.n, 1);
	ck_assert_int_eq(first.id[0], m.id[0]);

	/* The two delivered go; romeo's, whatever their ids, stay. */
	STORE_CALL(STORAGE_OK, storage_offline_delete_upto(s, D, "juliet", m.id[1], err,
	    sizeof(err)));
	struct messages left = offline_list(s, "juliet");
	ck_assert_int_eq(left.n, 2);
	ck_assert_int_eq(left.id[0], m.id[2]);
	ck_assert_str_eq(left.stanza[0], "<message>2</message>");
	ck_assert_uint_eq(offline_count(s, "romeo"), 4);

	/* Everything delivered, then one more: its id is still larger than
	 * any handed out before, so an old delete_upto cannot reach it. */
	STORE_CALL(STORAGE_OK, storage_offline_delete_upto(s, D, "juliet", m.id[3], err,
	    sizeof(err)));
	ck_assert_uint_eq(offline_count(s, "juliet"), 0);
	STORE_CALL(STORAGE_OK, storage_offline_delete_upto(s, D, "romeo", INT64_MAX, err,
	    sizeof(err)));
	ck_assert_uint_eq(offline_count(s, "romeo"), 0);
	STORE_CALL(STORAGE_OK, storage_offline_store(s, D, "juliet", "<message>new</message>", 10,
	    err, sizeof(err)));
	struct messages again = offline_list(s, "juliet");
	ck_assert_int_eq(again.n, 1);
	ck_assert_int_gt(again.id[0], m.id[3]);
	storage_close(&s);
	s = store_open();
	STORE_CALL(STORAGE_OK, storage_offline_store(s, D, "juliet", "<message>newer</message>",
	    10, err, sizeof(err)));
	struct messages reopened = offline_list(s, "juliet");
	ck_assert_int_eq(reopened.n, 2);
	ck_assert_int_gt(reopened.id[1], again.id[0]);
	storage_close(&s);
}
END_TEST

START_TEST(test_private_xml)
{
	struct storage *s = store_open();
	char err[ERRLEN] = "";
	char *xml = (char *)"untouched";
	const char *key = "{storage:bookmarks}storage";
	const char *value = "<storage xmlns='storage:bookmarks'><conference jid='a@b'/></storage>";

	STORE_CALL(STORAGE_NOT_FOUND, storage_private_get(s, D, "juliet", key, &xml, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_private_set(s, D, "juliet", key, value, err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_private_get(s, D, "juliet", key, &xml, err, sizeof(err)));
	ck_assert_str_eq(xml, value);
	free(xml);
	STORE_CALL(STORAGE_OK, storage_private_set(s, D, "juliet", key, "<storage/>", err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_private_get(s, D, "juliet", key, &xml, err, sizeof(err)));
	ck_assert_str_eq(xml, "<storage/>");
	free(xml);
	STORE_CALL(STORAGE_NOT_FOUND, storage_private_get(s, D, "juliet", "{other}x", &xml, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_private_get(s, D, "romeo", key, &xml, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_private_get(s, D, "juliet", "{storage:%}%", &xml,
	    err, sizeof(err)));
	/* NULL deletes. */
	STORE_CALL(STORAGE_OK, storage_private_set(s, D, "juliet", key, NULL, err, sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_private_get(s, D, "juliet", key, &xml, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_private_set(s, D, "juliet", key, NULL, err, sizeof(err)));
	storage_close(&s);
}
END_TEST

START_TEST(test_vcards)
{
	struct storage *s = store_open();
	char err[ERRLEN] = "";
	char *xml = NULL;

	STORE_CALL(STORAGE_NOT_FOUND, storage_vcard_get(s, D, "juliet", &xml, err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_vcard_set(s, D, "juliet", NULL, err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_vcard_set(s, D, "juliet",
	    "<vCard xmlns='vcard-temp'><FN>Juliet</FN></vCard>", err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_vcard_get(s, D, "juliet", &xml, err, sizeof(err)));
	ck_assert_str_eq(xml, "<vCard xmlns='vcard-temp'><FN>Juliet</FN></vCard>");
	free(xml);
	STORE_CALL(STORAGE_OK, storage_vcard_set(s, D, "juliet", "<vCard xmlns='vcard-temp'/>",
	    err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_vcard_get(s, D, "juliet", &xml, err, sizeof(err)));
	ck_assert_str_eq(xml, "<vCard xmlns='vcard-temp'/>");
	free(xml);
	STORE_CALL(STORAGE_NOT_FOUND, storage_vcard_get(s, "example.net", "juliet", &xml, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_vcard_set(s, D, "juliet", NULL, err, sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_vcard_get(s, D, "juliet", &xml, err, sizeof(err)));
	storage_close(&s);
}
END_TEST

struct jids {
	char jid[32][64];
	int n;
	int stop_after;
};

static int collect_jid(void *arg, const char *jid)
{
	struct jids *j = arg;
	snprintf(j->jid[j->n++], sizeof(j->jid[0]), "%s", jid);
	return j->stop_after > 0 && j->n >= j->stop_after;
}

static struct jids block_list(struct storage *s, const char *owner)
{
	char err[ERRLEN] = "";
	struct jids j = { .n = 0 };
	STORE_CALL(STORAGE_OK, storage_block_list(s, D, owner, collect_jid, &j, err, sizeof(err)));
	return j;
}

START_TEST(test_block_list)
{
	struct storage *s = store_open();
	char err[ERRLEN] = "";
	const char *first[] = { "tybalt@example.net", "example.com", "paris@example.net/lute" };
	const char *second[] = { "example.com", "%" };
	const char *gone[] = { "example.com", "nobody@example.net", "_" };

	ck_assert_int_eq(block_list(s, "juliet").n, 0);
	STORE_CALL(STORAGE_OK, storage_block_add(s, D, "juliet", first, 3, err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_block_add(s, D, "juliet", NULL, 0, err, sizeof(err)));
	struct jids j = block_list(s, "juliet");
	ck_assert_int_eq(j.n, 3);
	ck_assert_str_eq(j.jid[0], "example.com");   /* byte order */
	ck_assert_str_eq(j.jid[1], "paris@example.net/lute");
	ck_assert_str_eq(j.jid[2], "tybalt@example.net");
	/* Adding one already there keeps one. */
	STORE_CALL(STORAGE_OK, storage_block_add(s, D, "juliet", second, 2, err, sizeof(err)));
	j = block_list(s, "juliet");
	ck_assert_int_eq(j.n, 4);
	ck_assert_str_eq(j.jid[0], "%");
	ck_assert_int_eq(block_list(s, "romeo").n, 0);
	struct jids one = { .stop_after = 1 };
	STORE_CALL(STORAGE_OK, storage_block_list(s, D, "juliet", collect_jid, &one, err,
	    sizeof(err)));
	ck_assert_int_eq(one.n, 1);

	/* Removing: those named (and "_" is not a wildcard); unknown ones ignored. */
	STORE_CALL(STORAGE_OK, storage_block_add(s, D, "romeo", first, 1, err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_block_remove(s, D, "juliet", gone, 3, err, sizeof(err)));
	j = block_list(s, "juliet");
	ck_assert_int_eq(j.n, 3);
	ck_assert_str_eq(j.jid[0], "%");
	ck_assert_str_eq(j.jid[1], "paris@example.net/lute");
	ck_assert_str_eq(j.jid[2], "tybalt@example.net");
	/* n 0: unblock all, and only the owner's. */
	STORE_CALL(STORAGE_OK, storage_block_remove(s, D, "juliet", NULL, 0, err, sizeof(err)));
	ck_assert_int_eq(block_list(s, "juliet").n, 0);
	ck_assert_int_eq(block_list(s, "romeo").n, 1);
	/* A list with a hole is refused before any change. */
	const char *holed[] = { "a@b", NULL };
	STORE_CALL(STORAGE_ERROR, storage_block_add(s, D, "juliet", holed, 2, err, sizeof(err)));
	ck_assert_int_eq(block_list(s, "juliet").n, 0);
	storage_close(&s);
}
END_TEST

START_TEST(test_last_activity)
{
	struct storage *s = store_open();
	char err[ERRLEN] = "";
	char *status = NULL;
	int64_t when = 0;

	STORE_CALL(STORAGE_NOT_FOUND, storage_last_get(s, D, "juliet", &when, &status, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_last_set(s, D, "juliet", 1700000000, "Gone to Mantua",
	    err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_last_get(s, D, "juliet", &when, &status, err, sizeof(err)));
	ck_assert_int_eq(when, 1700000000);
	ck_assert_str_eq(status, "Gone to Mantua");
	free(status);
	/* Replaced; an empty status stays empty; beyond 2038 fits. */
	STORE_CALL(STORAGE_OK, storage_last_set(s, D, "juliet", INT64_C(4102444800), "", err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_last_get(s, D, "juliet", &when, &status, err, sizeof(err)));
	ck_assert_int_eq(when, INT64_C(4102444800));
	ck_assert_str_eq(status, "");
	free(status);
	STORE_CALL(STORAGE_OK, storage_last_set(s, D, "juliet", 5, NULL, err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_last_get(s, D, "juliet", &when, &status, err, sizeof(err)));
	ck_assert_str_eq(status, "");
	free(status);
	STORE_CALL(STORAGE_NOT_FOUND, storage_last_get(s, D, "romeo", &when, &status, err,
	    sizeof(err)));
	storage_close(&s);
}
END_TEST

START_TEST(test_odd_strings_survive_everywhere)
{
	struct storage *s = store_open();
	char err[ERRLEN] = "";
	const char *const *odd = store_odd_strings;
	char *text;
	int64_t when;

	for (size_t i = 0; odd[i] != NULL; i++) {
		const char *o = odd[i];
		STORE_CALL(STORAGE_OK, storage_offline_store(s, D, o, o, 0, err, sizeof(err)));
		STORE_CALL(STORAGE_OK, storage_private_set(s, D, o, o, o, err, sizeof(err)));
		STORE_CALL(STORAGE_OK, storage_vcard_set(s, D, o, o, err, sizeof(err)));
		STORE_CALL(STORAGE_OK, storage_block_add(s, D, o, &odd[i], 1, err, sizeof(err)));
		STORE_CALL(STORAGE_OK, storage_last_set(s, D, o, (int64_t)i, o, err, sizeof(err)));
		STORE_CALL(STORAGE_OK, storage_subreq_put(s, D, o, o, o, err, sizeof(err)));
	}
	for (size_t i = 0; odd[i] != NULL; i++) {
		const char *o = odd[i];
		struct messages m = offline_list(s, o);
		ck_assert_int_eq(m.n, 1);
		ck_assert_str_eq(m.stanza[0], o);
		STORE_CALL(STORAGE_OK, storage_private_get(s, D, o, o, &text, err, sizeof(err)));
		ck_assert_str_eq(text, o);
		free(text);
		STORE_CALL(STORAGE_OK, storage_vcard_get(s, D, o, &text, err, sizeof(err)));
		ck_assert_str_eq(text, o);
		free(text);
		struct jids j = block_list(s, o);
		ck_assert_int_eq(j.n, 1);
		ck_assert_str_eq(j.jid[0], o);
		STORE_CALL(STORAGE_OK, storage_last_get(s, D, o, &when, &text, err, sizeof(err)));
		ck_assert_int_eq(when, (int64_t)i);
		ck_assert_str_eq(text, o);
		free(text);
		STORE_CALL(STORAGE_OK, storage_subreq_exists(s, D, o, o, err, sizeof(err)));
	}
	/* Wildcard owners are only themselves: "%" has one message, not all. */
	ck_assert_uint_eq(offline_count(s, "%"), 1);
	ck_assert_uint_eq(offline_count(s, "o%"), 0);
	storage_close(&s);
}
END_TEST

/* Give owner something in every place a user has data. */
static void fill(struct storage *s, const char *domain, const char *owner)
{
	char err[ERRLEN] = "";
	const char *groups[] = { "Friends" };
	struct storage_roster_item it = {
		.contact = (char *)"friend@example.net", .name = (char *)"F",
		.sub = STORAGE_SUB_BOTH, .groups = (char **)groups, .ngroups = 1,
	};
	int64_t ver;
	const char *blocked[] = { "foe@example.net" };

	STORE_CALL(STORAGE_OK, storage_roster_put(s, domain, owner, &it, &ver, err, sizeof(err)));
	it.contact = (char *)"gone@example.net";
	STORE_CALL(STORAGE_OK, storage_roster_put(s, domain, owner, &it, &ver, err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_roster_remove(s, domain, owner, "gone@example.net", &ver,
	    err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_subreq_put(s, domain, owner, "asker@example.net",
	    "<presence type='subscribe'/>", err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_offline_store(s, domain, owner, "<message/>", 0, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_private_set(s, domain, owner, "{a}b", "<b xmlns='a'/>", err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_vcard_set(s, domain, owner, "<vCard/>", err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_block_add(s, domain, owner, blocked, 1, err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_last_set(s, domain, owner, 42, "bye", err, sizeof(err)));
}

/* Whether owner has a roster (items, tombstones, version, requests). */
static bool has_roster(struct storage *s, const char *domain, const char *owner)
{
	char err[ERRLEN] = "";
	struct storage_roster_list l;
	bool any = false;

	STORE_CALL(STORAGE_OK, storage_roster_get(s, domain, owner, &l, err, sizeof(err)));
	any = any || l.n > 0 || l.ver != 0;
	storage_roster_list_free(&l);
	/* No version, no tombstones: a new roster from 0. */
	STORE_CALL(STORAGE_OK, storage_roster_get_since(s, domain, owner, 0, &l, err,
	    sizeof(err)));
	any = any || l.n > 0;
	storage_roster_list_free(&l);
	return any || storage_subreq_exists(s, domain, owner, "asker@example.net", err,
	    sizeof(err)) != STORAGE_NOT_FOUND;
}

/* Whether owner has anything but a roster left, through the interface. */
static bool has_other(struct storage *s, const char *domain, const char *owner)
{
	char err[ERRLEN] = "";
	size_t n = 0;
	char *text = NULL;
	int64_t when;
	bool any = false;
	struct jids j = { .n = 0 };
	struct messages m = { .n = 0 };

	STORE_CALL(STORAGE_OK, storage_offline_count(s, domain, owner, &n, err, sizeof(err)));
	any = any || n > 0;
	STORE_CALL(STORAGE_OK, storage_offline_list(s, domain, owner, collect_message, &m, err,
	    sizeof(err)));
	any = any || m.n > 0;
	if (storage_private_get(s, domain, owner, "{a}b", &text, err, sizeof(err)) !=
	    STORAGE_NOT_FOUND) {
		free(text);
		any = true;
	}
	if (storage_vcard_get(s, domain, owner, &text, err, sizeof(err)) != STORAGE_NOT_FOUND) {
		free(text);
		any = true;
	}
	STORE_CALL(STORAGE_OK, storage_block_list(s, domain, owner, collect_jid, &j, err,
	    sizeof(err)));
	any = any || j.n > 0;
	if (storage_last_get(s, domain, owner, &when, &text, err, sizeof(err)) !=
	    STORAGE_NOT_FOUND) {
		free(text);
		any = true;
	}
	return any;
}

static bool has_data(struct storage *s, const char *domain, const char *owner)
{
	return has_roster(s, domain, owner) || has_other(s, domain, owner);
}

/* storage_user_delete leaves the roster for sm (which tells the contacts
 * first), storage_roster_clear takes it, storage_user_create takes what a
 * deletion sm never heard of left. */
START_TEST(test_deleting_a_user_deletes_all_of_its_data)
{
	struct storage *s = store_open();
	char err[ERRLEN] = "";

	store_user(s, D, "juliet");
	store_user(s, D, "romeo");
	store_user(s, "example.net", "juliet");
	fill(s, D, "juliet");
	fill(s, D, "romeo");
	fill(s, "example.net", "juliet");
	ck_assert(has_roster(s, D, "juliet") && has_other(s, D, "juliet"));
	STORE_CALL(STORAGE_OK, storage_user_delete(s, D, "juliet", err, sizeof(err)));
	ck_assert(!has_other(s, D, "juliet"));
	ck_assert(has_roster(s, D, "juliet"));
	STORE_CALL(STORAGE_NOT_FOUND, storage_user_exists(s, D, "juliet", err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_roster_clear(s, D, "juliet", err, sizeof(err)));
	ck_assert(!has_data(s, D, "juliet"));
	/* Others keep everything: the same localpart elsewhere, another user. */
	ck_assert(has_data(s, D, "romeo") && has_roster(s, D, "romeo"));
	ck_assert(has_other(s, "example.net", "juliet") && has_roster(s, "example.net", "juliet"));
	STORE_CALL(STORAGE_OK, storage_user_exists(s, D, "romeo", err, sizeof(err)));

	/* Data of a user the users table never held (an external
	 * authentication backend) goes too; the answer is still NOT_FOUND. */
	fill(s, D, "external");
	STORE_CALL(STORAGE_NOT_FOUND, storage_user_delete(s, D, "external", err, sizeof(err)));
	ck_assert(!has_other(s, D, "external"));
	STORE_CALL(STORAGE_OK, storage_roster_clear(s, D, "external", err, sizeof(err)));
	ck_assert(!has_data(s, D, "external"));
	ck_assert(has_data(s, D, "romeo"));

	/* A user created again starts empty, even when nobody cleared the
	 * roster the deleted one left; another user's stays. */
	store_user(s, D, "juliet");
	fill(s, D, "juliet");
	STORE_CALL(STORAGE_OK, storage_user_delete(s, D, "juliet", err, sizeof(err)));
	ck_assert(has_roster(s, D, "juliet"));
	store_user(s, D, "juliet");
	ck_assert(!has_data(s, D, "juliet"));
	ck_assert(has_roster(s, D, "romeo"));
	/* Creating one that exists changes nothing. */
	struct storage_user_secrets sec;
	STORE_CALL(STORAGE_OK, storage_secrets_from_password("pw", 4096, &sec, err, sizeof(err)));
	STORE_CALL(STORAGE_EXISTS, storage_user_create(s, D, "romeo", &sec, err, sizeof(err)));
	ck_assert(has_roster(s, D, "romeo"));
	storage_close(&s);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("storage-im");
	TCase *tc = tcase_create(store_driver());

	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_offline_store_up_to_the_quota);
	tcase_add_test(tc, test_offline_delete_upto);
	tcase_add_test(tc, test_private_xml);
	tcase_add_test(tc, test_vcards);
	tcase_add_test(tc, test_block_list);
	tcase_add_test(tc, test_last_activity);
	tcase_add_test(tc, test_odd_strings_survive_everywhere);
	tcase_add_test(tc, test_deleting_a_user_deletes_all_of_its_data);
	suite_add_tcase(s, tc);
	return s;
}
