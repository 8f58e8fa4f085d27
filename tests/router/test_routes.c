/*
 * test_routes.c — the router's table of names: one binder per name unless
 * the name is shared, binders of a shared name agree on its flags, one
 * default route, frames for one route key stay on one binder, and only the
 * keys of a binder that leaves move.
 */
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "routes.h"
#include "unit.h"

/* The table only compares peer pointers: any distinct addresses will do. */
static char peers[4];
#define SM ((struct peer *)&peers[0])
#define C2S ((struct peer *)&peers[1])
#define AUTH1 ((struct peer *)&peers[2])
#define AUTH2 ((struct peer *)&peers[3])

static const char *const shared[] = { "auth" };

static enum route_bind_result bind_name(struct route_table *t, const char *name, uint16_t flags,
    struct peer *p, uint64_t key, char *err)
{
	struct route *r;
	return route_bind(t, name, flags, p, key, "a peer", &r, err, ERRLEN);
}

START_TEST(test_a_name_has_one_binder_and_a_second_bind_is_a_conflict)
{
	struct route_table *t = route_table_new(shared, 1);
	char err[ERRLEN];

	ck_assert_int_eq(bind_name(t, "example.org", 0, SM, 1, err), ROUTE_UP);
	ck_assert_int_eq(bind_name(t, "example.org", 0, SM, 1, err), ROUTE_AGAIN);
	ck_assert_int_eq(bind_name(t, "example.org", 0, C2S, 2, err), ROUTE_CONFLICT);
	ck_assert_msg(strstr(err, "already bound by a peer") != NULL, "%s", err);
	ck_assert_ptr_eq(route_lookup(t, "example.org", NULL, 0), SM);
	ck_assert(route_is_bound_by(t, "example.org", SM));
	ck_assert(!route_is_bound_by(t, "example.org", C2S));
	ck_assert_ptr_null(route_lookup(t, "example.net", NULL, 0));
	route_table_free(&t);
	ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_shared_names_need_the_flag_and_others_refuse_it)
{
	struct route_table *t = route_table_new(shared, 1);
	char err[ERRLEN];

	ck_assert_int_eq(bind_name(t, "auth", 0, AUTH1, 1, err), ROUTE_NOT_ALLOWED);
	ck_assert_int_eq(bind_name(t, "c2s.1", FRAME_F_SHARED, C2S, 1, err), ROUTE_NOT_ALLOWED);
	ck_assert_int_eq(bind_name(t, "auth", FRAME_F_SHARED, AUTH1, 1, err), ROUTE_UP);
	ck_assert_int_eq(bind_name(t, "auth", FRAME_F_SHARED, AUTH2, 2, err), ROUTE_JOINED);
	ck_assert_int_eq(bind_name(t, "auth", FRAME_F_SHARED | FRAME_F_DEFAULT_ROUTE, SM, 3, err),
	    ROUTE_NOT_ALLOWED);
	ck_assert_uint_eq(route_binder_count(route_find(t, "auth")), 2);
	route_table_free(&t);
}
END_TEST

START_TEST(test_names_with_spaces_or_at_signs_are_refused)
{
	struct route_table *t = route_table_new(NULL, 0);
	char err[ERRLEN];

	ck_assert_int_eq(bind_name(t, "juliet@example.org", 0, SM, 1, err), ROUTE_NOT_ALLOWED);
	ck_assert_int_eq(bind_name(t, "a b", 0, SM, 1, err), ROUTE_NOT_ALLOWED);
	ck_assert_int_eq(bind_name(t, "bad\x01", 0, SM, 1, err), ROUTE_NOT_ALLOWED);
	ck_assert_uint_eq(route_table_count(t), 0);
	route_table_free(&t);
}
END_TEST

START_TEST(test_the_default_route_takes_unknown_names_and_is_unique)
{
	struct route_table *t = route_table_new(NULL, 0);
	char err[ERRLEN];

	ck_assert_int_eq(bind_name(t, "s2s", FRAME_F_DEFAULT_ROUTE, C2S, 1, err), ROUTE_UP);
	ck_assert_int_eq(bind_name(t, "s2s.2", FRAME_F_DEFAULT_ROUTE, SM, 2, err), ROUTE_CONFLICT);
	ck_assert_msg(strstr(err, "default route") != NULL, "%s", err);
	ck_assert_ptr_eq(route_lookup(t, "remote.example", NULL, 0), C2S);
	ck_assert_int_eq(bind_name(t, "example.org", 0, SM, 2, err), ROUTE_UP);
	ck_assert_ptr_eq(route_lookup(t, "example.org", NULL, 0), SM);

	/* Its binder may drop the flag; then unknown names have no route. */
	ck_assert_int_eq(bind_name(t, "s2s", 0, C2S, 1, err), ROUTE_CHANGED);
	ck_assert_ptr_null(route_lookup(t, "remote.example", NULL, 0));
	ck_assert_int_eq(bind_name(t, "s2s.2", FRAME_F_DEFAULT_ROUTE, SM, 2, err), ROUTE_UP);
	ck_assert_ptr_eq(route_lookup(t, "remote.example", NULL, 0), SM);

	/* When the default route goes, so does the fallback. */
	ck_assert(route_leave(t, route_find(t, "s2s.2"), SM));
	ck_assert_ptr_null(route_lookup(t, "remote.example", NULL, 0));
	route_table_free(&t);
}
END_TEST

START_TEST(test_one_route_key_stays_on_one_binder_and_keys_spread)
{
	struct route_table *t = route_table_new(shared, 1);
	char err[ERRLEN], key[64];
	int to1 = 0, to2 = 0;

	bind_name(t, "auth", FRAME_F_SHARED, AUTH1, 0x1111, err);
	bind_name(t, "auth", FRAME_F_SHARED, AUTH2, 0x2222, err);
	for (int i = 0; i < 200; i++) {
		int n = snprintf(key, sizeof(key), "user%d@example.org", i);
		struct peer *first = route_lookup(t, "auth", key, (size_t)n);
		for (int j = 0; j < 5; j++)
			ck_assert_ptr_eq(route_lookup(t, "auth", key, (size_t)n), first);
		if (first == AUTH1)
			to1++;
		else
			to2++;
	}
	ck_assert_int_gt(to1, 50);
	ck_assert_int_gt(to2, 50);
	route_table_free(&t);
}
END_TEST

START_TEST(test_only_the_keys_of_a_binder_that_leaves_move)
{
	struct route_table *t = route_table_new(shared, 1);
	struct peer *before[100];
	char err[ERRLEN], key[64];
	struct route *r;

	bind_name(t, "auth", FRAME_F_SHARED, AUTH1, 0x1111, err);
	bind_name(t, "auth", FRAME_F_SHARED, AUTH2, 0x2222, err);
	route_bind(t, "auth", FRAME_F_SHARED, SM, 0x3333, "sm", &r, err, sizeof(err));
	for (int i = 0; i < 100; i++) {
		int n = snprintf(key, sizeof(key), "user%d@example.org", i);
		before[i] = route_lookup(t, "auth", key, (size_t)n);
	}
	ck_assert(!route_leave(t, r, SM));
	for (int i = 0; i < 100; i++) {
		int n = snprintf(key, sizeof(key), "user%d@example.org", i);
		struct peer *now = route_lookup(t, "auth", key, (size_t)n);
		if (before[i] != SM)
			ck_assert_ptr_eq(now, before[i]);
		else
			ck_assert(now == AUTH1 || now == AUTH2);
	}
	route_table_free(&t);
}
END_TEST

START_TEST(test_frames_without_a_key_take_turns)
{
	struct route_table *t = route_table_new(shared, 1);
	char err[ERRLEN];

	bind_name(t, "auth", FRAME_F_SHARED, AUTH1, 1, err);
	bind_name(t, "auth", FRAME_F_SHARED, AUTH2, 2, err);
	struct peer *a = route_lookup(t, "auth", NULL, 0);
	struct peer *b = route_lookup(t, "auth", NULL, 0);
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_eq(route_lookup(t, "auth", NULL, 0), a);
	route_table_free(&t);
}
END_TEST

START_TEST(test_the_name_goes_down_with_its_last_binder)
{
	struct route_table *t = route_table_new(shared, 1);
	struct route *r1, *r2;
	char err[ERRLEN];

	route_bind(t, "auth", FRAME_F_SHARED, AUTH1, 1, "auth.1", &r1, err, sizeof(err));
	route_bind(t, "auth", FRAME_F_SHARED, AUTH2, 2, "auth.2", &r2, err, sizeof(err));
	ck_assert_ptr_eq(r1, r2);
	ck_assert(!route_leave(t, r1, AUTH1));
	ck_assert_ptr_eq(route_lookup(t, "auth", "k", 1), AUTH2);
	ck_assert_ptr_eq(route_first_binder(r1), AUTH2);
	ck_assert(route_leave(t, r1, AUTH2));
	ck_assert_ptr_null(route_find(t, "auth"));
	ck_assert_uint_eq(route_table_count(t), 0);
	route_table_free(&t);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("routes");
	TCase *tc = tcase_create("routes");

	tcase_add_test(tc, test_a_name_has_one_binder_and_a_second_bind_is_a_conflict);
	tcase_add_test(tc, test_shared_names_need_the_flag_and_others_refuse_it);
	tcase_add_test(tc, test_names_with_spaces_or_at_signs_are_refused);
	tcase_add_test(tc, test_the_default_route_takes_unknown_names_and_is_unique);
	tcase_add_test(tc, test_one_route_key_stays_on_one_binder_and_keys_spread);
	tcase_add_test(tc, test_only_the_keys_of_a_binder_that_leaves_move);
	tcase_add_test(tc, test_frames_without_a_key_take_turns);
	tcase_add_test(tc, test_the_name_goes_down_with_its_last_binder);
	suite_add_tcase(s, tc);
	return s;
}
