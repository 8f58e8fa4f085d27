/*
 * test_storage_roster.c — the driver test suite's roster and subscription
 * request cases, run against the driver store.h chooses: items and their
 * groups round-trip, a put replaces item and groups, every change bumps
 * the owner's version, get_since returns exactly the items changed and
 * removed after a version (tombstones) and refuses versions it cannot
 * answer, and odd strings survive byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage_driver.h"
#include "store.h"
#include "unit.h"

#define D "example.org"

static struct storage_roster_item item(const char *contact, const char *name,
    enum storage_sub sub, bool ask, const char **groups, size_t ngroups)
{
	struct storage_roster_item it = {
		.contact = (char *)contact, .name = (char *)name, .sub = sub, .ask = ask,
		.groups = (char **)groups, .ngroups = ngroups,
	};
	return it;
}

static int64_t put(struct storage *s, const char *owner, struct storage_roster_item it)
{
	char err[ERRLEN] = "";
	int64_t ver = -1;
	STORE_CALL(STORAGE_OK, storage_roster_put(s, D, owner, &it, &ver, err, sizeof(err)));
	return ver;
}

static int64_t removed(struct storage *s, const char *owner, const char *contact)
{
	char err[ERRLEN] = "";
	int64_t ver = -1;
	STORE_CALL(STORAGE_OK, storage_roster_remove(s, D, owner, contact, &ver, err,
	    sizeof(err)));
	return ver;
}

static bool has_group(const struct storage_roster_item *it, const char *g)
{
	for (size_t i = 0; i < it->ngroups; i++)
		if (strcmp(it->groups[i], g) == 0)
			return true;
	return false;
}

/* Groups compare as sets: the order they come back in is the driver's. */
static void assert_groups(const struct storage_roster_item *it, const char **want, size_t n)
{
	ck_assert_uint_eq(it->ngroups, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(has_group(it, want[i]), "%s lacks group %s", it->contact, want[i]);
}

static const struct storage_roster_item *find(const struct storage_roster_list *l,
    const char *contact)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i].contact, contact) == 0)
			return &l->items[i];
	return NULL;
}

START_TEST(test_an_empty_roster)
{
	struct storage *s = store_open();
	struct storage_roster_list l;
	struct storage_roster_item it;
	char err[ERRLEN] = "";
	int64_t ver = 77;

	STORE_CALL(STORAGE_OK, storage_roster_get(s, D, "juliet", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(l.ver, 0);
	storage_roster_list_free(&l);
	STORE_CALL(STORAGE_OK, storage_roster_get_since(s, D, "juliet", 0, &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 0);
	storage_roster_list_free(&l);
	STORE_CALL(STORAGE_NOT_FOUND, storage_roster_get_since(s, D, "juliet", 1, &l, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_roster_get_since(s, D, "juliet", -1, &l, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_roster_get_item(s, D, "juliet", "romeo@example.net",
	    &it, err, sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_roster_remove(s, D, "juliet", "romeo@example.net",
	    &ver, err, sizeof(err)));
	ck_assert_int_eq(ver, 77);
	storage_close(&s);
}
END_TEST

START_TEST(test_items_and_groups_round_trip)
{
	struct storage *s = store_open();
	struct storage_roster_list l;
	struct storage_roster_item got;
	char err[ERRLEN] = "";
	const char *groups[] = { "Friends", "Work", "Fam\xc3\xadlia" };

	ck_assert_int_eq(put(s, "juliet", item("romeo@example.net", "Romeo", STORAGE_SUB_BOTH,
	    true, groups, 3)), 1);
	ck_assert_int_eq(put(s, "juliet", item("nurse@example.org", NULL, STORAGE_SUB_FROM,
	    false, NULL, 0)), 2);
	ck_assert_int_eq(put(s, "juliet", item("benvolio@example.net", "", STORAGE_SUB_TO,
	    false, groups + 1, 1)), 3);

	STORE_CALL(STORAGE_OK, storage_roster_get_item(s, D, "juliet", "romeo@example.net", &got,
	    err, sizeof(err)));
	ck_assert_str_eq(got.contact, "romeo@example.net");
	ck_assert_str_eq(got.name, "Romeo");
	ck_assert_int_eq(got.sub, STORAGE_SUB_BOTH);
	ck_assert(got.ask);
	ck_assert(!got.removed);
	ck_assert_int_eq(got.ver, 1);
	assert_groups(&got, groups, 3);
	storage_roster_item_clear(&got);
	ck_assert_ptr_null(got.contact);

	STORE_CALL(STORAGE_OK, storage_roster_get(s, D, "juliet", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 3);
	ck_assert_int_eq(l.ver, 3);
	/* Sorted by contact. */
	ck_assert_str_eq(l.items[0].contact, "benvolio@example.net");
	ck_assert_str_eq(l.items[1].contact, "nurse@example.org");
	ck_assert_str_eq(l.items[2].contact, "romeo@example.net");
	ck_assert_str_eq(l.items[0].name, "");   /* an empty name is not no name */
	ck_assert_int_eq(l.items[0].sub, STORAGE_SUB_TO);
	assert_groups(&l.items[0], groups + 1, 1);
	ck_assert_ptr_null(l.items[1].name);
	ck_assert_int_eq(l.items[1].sub, STORAGE_SUB_FROM);
	ck_assert(!l.items[1].ask);
	ck_assert_int_eq(l.items[1].ver, 2);
	assert_groups(&l.items[1], NULL, 0);
	assert_groups(&l.items[2], groups, 3);
	storage_roster_list_free(&l);
	ck_assert_ptr_null(l.items);

	/* Another owner's roster is another roster, with its own version. */
	STORE_CALL(STORAGE_OK, storage_roster_get(s, D, "romeo", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(l.ver, 0);
	storage_roster_list_free(&l);
	ck_assert_int_eq(put(s, "romeo", item("juliet@example.org", NULL, STORAGE_SUB_NONE,
	    false, NULL, 0)), 1);
	STORE_CALL(STORAGE_OK, storage_roster_get(s, "example.net", "juliet", &l, err,
	    sizeof(err)));
	ck_assert_uint_eq(l.n, 0);
	storage_roster_list_free(&l);
	storage_close(&s);
}
END_TEST

START_TEST(test_a_put_replaces_the_item_and_its_groups)
{
	struct storage *s = store_open();
	struct storage_roster_item got;
	char err[ERRLEN] = "";
	const char *before[] = { "A", "B" }, *after[] = { "C" };
	const char *twice[] = { "D", "D" };

	ck_assert_int_eq(put(s, "juliet", item("romeo@example.net", "Romeo", STORAGE_SUB_NONE,
	    true, before, 2)), 1);
	ck_assert_int_eq(put(s, "juliet", item("romeo@example.net", "My Romeo", STORAGE_SUB_TO,
	    false, after, 1)), 2);
	STORE_CALL(STORAGE_OK, storage_roster_get_item(s, D, "juliet", "romeo@example.net", &got,
	    err, sizeof(err)));
	ck_assert_str_eq(got.name, "My Romeo");
	ck_assert_int_eq(got.sub, STORAGE_SUB_TO);
	ck_assert(!got.ask);
	ck_assert_int_eq(got.ver, 2);
	assert_groups(&got, after, 1);
	storage_roster_item_clear(&got);

	/* A group named twice is one group. */
	ck_assert_int_eq(put(s, "juliet", item("romeo@example.net", NULL, STORAGE_SUB_TO,
	    false, twice, 2)), 3);
	STORE_CALL(STORAGE_OK, storage_roster_get_item(s, D, "juliet", "romeo@example.net", &got,
	    err, sizeof(err)));
	ck_assert_ptr_null(got.name);
	assert_groups(&got, twice, 1);
	storage_roster_item_clear(&got);

	/* An item the caller built wrongly is refused before any change. */
	struct storage_roster_item bad = item("tybalt@example.net", NULL, (enum storage_sub)9,
	    false, NULL, 0);
	int64_t ver = 0;
	STORE_CALL(STORAGE_ERROR, storage_roster_put(s, D, "juliet", &bad, &ver, err,
	    sizeof(err)));
	bad = item(NULL, NULL, STORAGE_SUB_NONE, false, NULL, 0);
	STORE_CALL(STORAGE_ERROR, storage_roster_put(s, D, "juliet", &bad, &ver, err,
	    sizeof(err)));
	bad = item("tybalt@example.net", NULL, STORAGE_SUB_NONE, false, NULL, 2);
	STORE_CALL(STORAGE_ERROR, storage_roster_put(s, D, "juliet", &bad, &ver, err,
	    sizeof(err)));
	ck_assert_int_eq(put(s, "juliet", item("x@example.net", NULL, STORAGE_SUB_NONE, false,
	    NULL, 0)), 4);
	storage_close(&s);
}
END_TEST

START_TEST(test_versions_and_tombstones)
{
	struct storage *s = store_open();
	struct storage_roster_list l;
	char err[ERRLEN] = "";
	const char *g[] = { "G" };
	int64_t ver = 0;

	ck_assert_int_eq(put(s, "juliet", item("a@x", "A", STORAGE_SUB_BOTH, false, g, 1)), 1);
	ck_assert_int_eq(put(s, "juliet", item("b@x", "B", STORAGE_SUB_BOTH, false, g, 1)), 2);
	ck_assert_int_eq(put(s, "juliet", item("c@x", "C", STORAGE_SUB_BOTH, false, g, 1)), 3);
	ck_assert_int_eq(removed(s, "juliet", "b@x"), 4);
	ck_assert_int_eq(put(s, "juliet", item("a@x", "A2", STORAGE_SUB_TO, false, NULL, 0)), 5);

	/* The live roster has no tombstones. */
	STORE_CALL(STORAGE_OK, storage_roster_get(s, D, "juliet", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 2);
	ck_assert_int_eq(l.ver, 5);
	ck_assert_ptr_null(find(&l, "b@x"));
	storage_roster_list_free(&l);

	/* From 0: everything, the removed item as a tombstone. */
	STORE_CALL(STORAGE_OK, storage_roster_get_since(s, D, "juliet", 0, &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 3);
	ck_assert_int_eq(l.ver, 5);
	ck_assert_str_eq(l.items[0].contact, "a@x");
	ck_assert_str_eq(l.items[1].contact, "b@x");
	ck_assert_str_eq(l.items[2].contact, "c@x");
	ck_assert(l.items[1].removed);
	ck_assert_int_eq(l.items[1].ver, 4);
	ck_assert_uint_eq(l.items[1].ngroups, 0);
	ck_assert(!l.items[2].removed);
	assert_groups(&l.items[2], g, 1);
	storage_roster_list_free(&l);

	/* From 3: exactly the change to a and the removal of b. */
	STORE_CALL(STORAGE_OK, storage_roster_get_since(s, D, "juliet", 3, &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.items[0].contact, "a@x");
	ck_assert_str_eq(l.items[0].name, "A2");
	ck_assert_int_eq(l.items[0].ver, 5);
	ck_assert(!l.items[0].removed);
	ck_assert_str_eq(l.items[1].contact, "b@x");
	ck_assert(l.items[1].removed);
	storage_roster_list_free(&l);

	STORE_CALL(STORAGE_OK, storage_roster_get_since(s, D, "juliet", 4, &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.items[0].contact, "a@x");
	storage_roster_list_free(&l);
	/* The current version: nothing changed, and that is an answer. */
	STORE_CALL(STORAGE_OK, storage_roster_get_since(s, D, "juliet", 5, &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(l.ver, 5);
	storage_roster_list_free(&l);
	/* A version this store never handed out. */
	STORE_CALL(STORAGE_NOT_FOUND, storage_roster_get_since(s, D, "juliet", 6, &l, err,
	    sizeof(err)));
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.items);

	/* Removing what is gone changes nothing, not even the version. */
	ver = 99;
	STORE_CALL(STORAGE_NOT_FOUND, storage_roster_remove(s, D, "juliet", "b@x", &ver, err,
	    sizeof(err)));
	ck_assert_int_eq(ver, 99);
	struct storage_roster_item got;
	STORE_CALL(STORAGE_NOT_FOUND, storage_roster_get_item(s, D, "juliet", "b@x", &got, err,
	    sizeof(err)));

	/* A removed contact put again is live again, at a new version. */
	ck_assert_int_eq(put(s, "juliet", item("b@x", "B again", STORAGE_SUB_NONE, false, NULL,
	    0)), 6);
	STORE_CALL(STORAGE_OK, storage_roster_get_since(s, D, "juliet", 5, &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.items[0].contact, "b@x");
	ck_assert(!l.items[0].removed);
	ck_assert_str_eq(l.items[0].name, "B again");
	storage_roster_list_free(&l);

	/* Versions survive a reopen. */
	storage_close(&s);
	s = store_open();
	ck_assert_int_eq(removed(s, "juliet", "c@x"), 7);
	storage_close(&s);
}
END_TEST

START_TEST(test_many_removals_keep_enough_tombstones)
{
	struct storage *s = store_open();
	struct storage_roster_list l;
	char err[ERRLEN] = "";
	const int n = STORAGE_ROSTER_TOMBSTONES_KEPT + 20;
	char contact[32];
	int64_t ver = 0;

	for (int i = 0; i < n; i++) {
		snprintf(contact, sizeof(contact), "c%04d@x", i);
		ck_assert_int_eq(put(s, "juliet", item(contact, NULL, STORAGE_SUB_NONE, false,
		    NULL, 0)), 2 * i + 1);
		ver = removed(s, "juliet", contact);
		ck_assert_int_eq(ver, 2 * i + 2);
	}
	/* The last STORAGE_ROSTER_TOMBSTONES_KEPT removals can always be told. */
	int64_t since = ver - 2 * STORAGE_ROSTER_TOMBSTONES_KEPT;
	STORE_CALL(STORAGE_OK, storage_roster_get_since(s, D, "juliet", since, &l, err,
	    sizeof(err)));
	ck_assert_uint_eq(l.n, STORAGE_ROSTER_TOMBSTONES_KEPT);
	for (size_t i = 0; i < l.n; i++)
		ck_assert(l.items[i].removed && l.items[i].ver > since);
	storage_roster_list_free(&l);
	/* Older versions: all of it, or "send the whole roster" once the
	 * driver pruned (SQLite does beyond the bound). */
	int rc = storage_roster_get_since(s, D, "juliet", 0, &l, err, sizeof(err));
	if (strcmp(store_driver(), "sqlite") == 0)
		ck_assert_int_eq(rc, STORAGE_NOT_FOUND);
	ck_assert(rc == STORAGE_NOT_FOUND || (rc == STORAGE_OK && l.n == (size_t)n));
	storage_roster_list_free(&l);
	STORE_CALL(STORAGE_OK, storage_roster_get(s, D, "juliet", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(l.ver, ver);
	storage_roster_list_free(&l);
	storage_close(&s);
}
END_TEST

START_TEST(test_odd_strings_survive_in_the_roster)
{
	struct storage *s = store_open();
	struct storage_roster_list l;
	struct storage_roster_item got;
	char err[ERRLEN] = "";
	const char *const *odd = store_odd_strings;
	size_t n = 0;

	while (odd[n] != NULL)
		n++;
	/* Each odd string as owner, contact, name and group at once. */
	for (size_t i = 0; i < n; i++)
		put(s, odd[i], item(odd[i], odd[i], STORAGE_SUB_BOTH, false, (const char **)&odd[i],
		    1));
	for (size_t i = 0; i < n; i++) {
		STORE_CALL(STORAGE_OK, storage_roster_get_item(s, D, odd[i], odd[i], &got, err,
		    sizeof(err)));
		ck_assert_str_eq(got.contact, odd[i]);
		ck_assert_str_eq(got.name, odd[i]);
		ck_assert_uint_eq(got.ngroups, 1);
		ck_assert_str_eq(got.groups[0], odd[i]);
		storage_roster_item_clear(&got);
		STORE_CALL(STORAGE_OK, storage_roster_get(s, D, odd[i], &l, err, sizeof(err)));
		ck_assert_uint_eq(l.n, 1);
		ck_assert_int_eq(l.ver, 1);
		storage_roster_list_free(&l);
	}
	/* One owner with every odd contact. */
	for (size_t i = 0; i < n; i++)
		put(s, "juliet", item(odd[i], NULL, STORAGE_SUB_NONE, false, NULL, 0));
	STORE_CALL(STORAGE_OK, storage_roster_get(s, D, "juliet", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(find(&l, odd[i]) != NULL, "%s did not come back", odd[i]);
	storage_roster_list_free(&l);
	/* Wildcards match only themselves. */
	STORE_CALL(STORAGE_NOT_FOUND, storage_roster_get_item(s, D, "juliet", "100%", &got, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_roster_get_item(s, D, "juliet", "o_brien", &got,
	    err, sizeof(err)));
	int64_t ver;
	STORE_CALL(STORAGE_OK, storage_roster_remove(s, D, "juliet", "%", &ver, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_roster_remove(s, D, "juliet", "_", &ver, err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_roster_get(s, D, "juliet", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, n - 2);
	storage_roster_list_free(&l);
	STORE_CALL(STORAGE_OK, storage_roster_get(s, D, "%", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 1);
	storage_roster_list_free(&l);
	storage_close(&s);
}
END_TEST

/* --- subscription requests ----------------------------------------------------- */

struct requests {
	char contact[8][64];
	char stanza[8][128];
	int n;
	int stop_after;
};

static int collect_request(void *arg, const char *contact, const char *stanza)
{
	struct requests *r = arg;
	snprintf(r->contact[r->n], sizeof(r->contact[0]), "%s", contact);
	snprintf(r->stanza[r->n], sizeof(r->stanza[0]), "%s", stanza);
	r->n++;
	return r->stop_after > 0 && r->n >= r->stop_after;
}

START_TEST(test_subscription_requests)
{
	struct storage *s = store_open();
	struct requests r = { .n = 0 };
	char err[ERRLEN] = "";
	const char *odd = "x' OR 1=1 --";

	STORE_CALL(STORAGE_OK, storage_subreq_list(s, D, "juliet", collect_request, &r, err,
	    sizeof(err)));
	ck_assert_int_eq(r.n, 0);
	STORE_CALL(STORAGE_NOT_FOUND, storage_subreq_exists(s, D, "juliet", "romeo@x", err,
	    sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_subreq_delete(s, D, "juliet", "romeo@x", err,
	    sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_subreq_put(s, D, "juliet", "romeo@x",
	    "<presence type='subscribe'/>", err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_subreq_put(s, D, "juliet", "paris@x",
	    "<presence type=\"subscribe\">\xe2\x98\x83</presence>", err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_subreq_put(s, D, "juliet", odd, odd, err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_subreq_exists(s, D, "juliet", "romeo@x", err,
	    sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_subreq_exists(s, D, "romeo", "romeo@x", err,
	    sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_subreq_exists(s, D, "juliet", "x%", err,
	    sizeof(err)));
	/* Replacing a request keeps one, with the new stanza. */
	STORE_CALL(STORAGE_OK, storage_subreq_put(s, D, "juliet", "romeo@x",
	    "<presence type='subscribe'><status>again</status></presence>", err, sizeof(err)));
	STORE_CALL(STORAGE_OK, storage_subreq_list(s, D, "juliet", collect_request, &r, err,
	    sizeof(err)));
	ck_assert_int_eq(r.n, 3);
	ck_assert_str_eq(r.contact[0], "romeo@x");   /* oldest first */
	ck_assert_str_eq(r.stanza[0],
	    "<presence type='subscribe'><status>again</status></presence>");
	ck_assert_str_eq(r.contact[1], "paris@x");
	ck_assert_str_eq(r.stanza[1], "<presence type=\"subscribe\">\xe2\x98\x83</presence>");
	ck_assert_str_eq(r.contact[2], odd);
	ck_assert_str_eq(r.stanza[2], odd);

	memset(&r, 0, sizeof(r));
	r.stop_after = 1;
	STORE_CALL(STORAGE_OK, storage_subreq_list(s, D, "juliet", collect_request, &r, err,
	    sizeof(err)));
	ck_assert_int_eq(r.n, 1);

	STORE_CALL(STORAGE_OK, storage_subreq_delete(s, D, "juliet", "romeo@x", err, sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_subreq_delete(s, D, "juliet", "romeo@x", err,
	    sizeof(err)));
	STORE_CALL(STORAGE_NOT_FOUND, storage_subreq_exists(s, D, "juliet", "romeo@x", err,
	    sizeof(err)));
	memset(&r, 0, sizeof(r));
	STORE_CALL(STORAGE_OK, storage_subreq_list(s, D, "juliet", collect_request, &r, err,
	    sizeof(err)));
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.contact[0], "paris@x");
	/* A request is not a roster item. */
	struct storage_roster_list l;
	STORE_CALL(STORAGE_OK, storage_roster_get(s, D, "juliet", &l, err, sizeof(err)));
	ck_assert_uint_eq(l.n, 0);
	storage_roster_list_free(&l);
	storage_close(&s);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("storage-roster");
	TCase *tc = tcase_create(store_driver());

	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_an_empty_roster);
	tcase_add_test(tc, test_items_and_groups_round_trip);
	tcase_add_test(tc, test_a_put_replaces_the_item_and_its_groups);
	tcase_add_test(tc, test_versions_and_tombstones);
	tcase_add_test(tc, test_many_removals_keep_enough_tombstones);
	tcase_add_test(tc, test_odd_strings_survive_in_the_roster);
	tcase_add_test(tc, test_subscription_requests);
	suite_add_tcase(s, tc);
	return s;
}
