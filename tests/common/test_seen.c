/*
 * test_seen.c — the receiver's memory of kept frames (common/seen.c): per
 * sender, the last N seqs, each pending or done; a window that grows from
 * 64 to its maximum and then forgets the oldest; senders independent; a
 * sender forgotten at its PEER_DOWN.
 */
#include <stdint.h>

#include "router_link.h"
#include "seen.h"
#include "unit.h"

/* Record seqs first..last as a sender's frames sent once (not RESENT). */
static void record(struct seen *s, const char *sender, uint32_t first, uint32_t last)
{
	for (uint32_t q = first; q <= last; q++)
		ck_assert_int_eq(seen_check(s, sender, q, false), SEEN_NEW);
}

START_TEST(test_seen_new_then_pending_then_done)
{
	struct seen *s = seen_new(ROUTER_LINK_SEEN);

	ck_assert_int_eq(seen_check(s, "sm", 5, false), SEEN_NEW);
	ck_assert_int_eq(seen_check(s, "sm", 5, true), SEEN_PENDING);
	ck_assert_int_eq(seen_check(s, "sm", 5, true), SEEN_PENDING);
	seen_done(s, "sm", 5);
	ck_assert_int_eq(seen_check(s, "sm", 5, true), SEEN_DONE);
	ck_assert_int_eq(seen_check(s, "sm", 5, true), SEEN_DONE);
	/* A RESENT frame never seen is new, and is remembered from then on. */
	ck_assert_int_eq(seen_check(s, "sm", 6, true), SEEN_NEW);
	ck_assert_int_eq(seen_check(s, "sm", 6, true), SEEN_PENDING);
	/* Acknowledging something never seen changes nothing. */
	seen_done(s, "sm", 99);
	ck_assert_int_eq(seen_check(s, "sm", 99, true), SEEN_NEW);
	seen_done(s, "nobody", 5);
	seen_free(&s);
	ck_assert_ptr_null(s);
	seen_free(&s);
}
END_TEST

START_TEST(test_seen_frame_sent_once_is_never_looked_up)
{
	struct seen *s = seen_new(ROUTER_LINK_SEEN);

	ck_assert_int_eq(seen_check(s, "sm", 7, false), SEEN_NEW);
	seen_done(s, "sm", 7);
	/* Without RESENT the same seq is new by definition (and recorded
	 * again, pending: the newest record is the one a copy finds). */
	ck_assert_int_eq(seen_check(s, "sm", 7, false), SEEN_NEW);
	ck_assert_int_eq(seen_check(s, "sm", 7, true), SEEN_PENDING);
	seen_done(s, "sm", 7);
	ck_assert_int_eq(seen_check(s, "sm", 7, true), SEEN_DONE);
	seen_free(&s);
}
END_TEST

START_TEST(test_seen_window_grows_from_64_to_its_maximum)
{
	struct seen *s = seen_new(300);

	/* Past the first 64 the oldest is still there: the window grew. */
	record(s, "sm", 1, 65);
	ck_assert_int_eq(seen_check(s, "sm", 1, true), SEEN_PENDING);
	/* Done marks survive the growth (64 → 128 → 256 → 300). */
	seen_done(s, "sm", 2);
	seen_done(s, "sm", 64);
	record(s, "sm", 66, 300);
	ck_assert_int_eq(seen_check(s, "sm", 1, true), SEEN_PENDING);
	ck_assert_int_eq(seen_check(s, "sm", 2, true), SEEN_DONE);
	ck_assert_int_eq(seen_check(s, "sm", 3, true), SEEN_PENDING);
	ck_assert_int_eq(seen_check(s, "sm", 64, true), SEEN_DONE);
	ck_assert_int_eq(seen_check(s, "sm", 65, true), SEEN_PENDING);
	ck_assert_int_eq(seen_check(s, "sm", 300, true), SEEN_PENDING);
	seen_free(&s);
}
END_TEST

START_TEST(test_seen_full_window_forgets_the_oldest)
{
	struct seen *s = seen_new(300);

	record(s, "sm", 1, 300);
	seen_done(s, "sm", 3);
	/* The 301st pushes out the 1st, the 302nd the 2nd. */
	record(s, "sm", 301, 302);
	ck_assert_int_eq(seen_check(s, "sm", 3, true), SEEN_DONE);
	ck_assert_int_eq(seen_check(s, "sm", 4, true), SEEN_PENDING);
	ck_assert_int_eq(seen_check(s, "sm", 302, true), SEEN_PENDING);
	/* 1 is forgotten: new, and recording it pushes out 3. */
	ck_assert_int_eq(seen_check(s, "sm", 1, true), SEEN_NEW);
	ck_assert_int_eq(seen_check(s, "sm", 3, true), SEEN_NEW);   /* ... pushing out 4 */
	ck_assert_int_eq(seen_check(s, "sm", 4, true), SEEN_NEW);   /* ... pushing out 5 */
	ck_assert_int_eq(seen_check(s, "sm", 6, true), SEEN_PENDING);
	ck_assert_int_eq(seen_check(s, "sm", 1, true), SEEN_PENDING);

	/* Round and round the ring several times: always exactly the last 300. */
	record(s, "sm", 1000, 1000 + 3 * 300 + 17);
	uint32_t last = 1000 + 3 * 300 + 17;
	seen_done(s, "sm", last - 299);
	ck_assert_int_eq(seen_check(s, "sm", last, true), SEEN_PENDING);
	ck_assert_int_eq(seen_check(s, "sm", last - 299, true), SEEN_DONE);
	ck_assert_int_eq(seen_check(s, "sm", last - 300, true), SEEN_NEW);
	seen_free(&s);
}
END_TEST

START_TEST(test_seen_maximum_below_64_is_64)
{
	struct seen *s = seen_new(10);

	record(s, "sm", 1, 64);
	ck_assert_int_eq(seen_check(s, "sm", 1, true), SEEN_PENDING);
	record(s, "sm", 65, 65);
	ck_assert_int_eq(seen_check(s, "sm", 2, true), SEEN_PENDING);
	ck_assert_int_eq(seen_check(s, "sm", 1, true), SEEN_NEW);
	seen_free(&s);
}
END_TEST

START_TEST(test_seen_remembers_router_link_seen_frames)
{
	struct seen *s = seen_new(ROUTER_LINK_SEEN);

	record(s, "sm", 1, ROUTER_LINK_SEEN);
	ck_assert_int_eq(seen_check(s, "sm", 1, true), SEEN_PENDING);
	record(s, "sm", ROUTER_LINK_SEEN + 1, ROUTER_LINK_SEEN + 1);
	ck_assert_int_eq(seen_check(s, "sm", 2, true), SEEN_PENDING);
	ck_assert_int_eq(seen_check(s, "sm", 1, true), SEEN_NEW);
	seen_free(&s);
}
END_TEST

START_TEST(test_seen_senders_are_independent)
{
	struct seen *s = seen_new(100);

	ck_assert_int_eq(seen_check(s, "c2s.1", 7, false), SEEN_NEW);
	seen_done(s, "c2s.1", 7);
	/* The same seq from another sender is another frame. */
	ck_assert_int_eq(seen_check(s, "c2s.2", 7, true), SEEN_NEW);
	ck_assert_int_eq(seen_check(s, "c2s.2", 7, true), SEEN_PENDING);
	ck_assert_int_eq(seen_check(s, "c2s.1", 7, true), SEEN_DONE);
	/* Filling one sender's window does not push out another's. */
	record(s, "c2s.2", 1000, 1500);
	ck_assert_int_eq(seen_check(s, "c2s.1", 7, true), SEEN_DONE);
	ck_assert_int_eq(seen_check(s, "c2s.2", 7, true), SEEN_NEW);
	/* Done in one is not done in the other. */
	ck_assert_int_eq(seen_check(s, "sm", 1500, false), SEEN_NEW);
	seen_done(s, "sm", 1500);
	ck_assert_int_eq(seen_check(s, "c2s.2", 1500, true), SEEN_PENDING);
	ck_assert_int_eq(seen_check(s, "sm", 1500, true), SEEN_DONE);
	seen_free(&s);
}
END_TEST

START_TEST(test_seen_forget_drops_one_sender)
{
	struct seen *s = seen_new(ROUTER_LINK_SEEN);

	record(s, "c2s.1", 1, 10);
	record(s, "c2s.2", 1, 10);
	seen_done(s, "c2s.1", 5);
	seen_done(s, "c2s.2", 5);
	seen_forget(s, "c2s.1");
	ck_assert_int_eq(seen_check(s, "c2s.1", 5, true), SEEN_NEW);
	ck_assert_int_eq(seen_check(s, "c2s.1", 6, true), SEEN_NEW);
	ck_assert_int_eq(seen_check(s, "c2s.2", 5, true), SEEN_DONE);
	ck_assert_int_eq(seen_check(s, "c2s.2", 6, true), SEEN_PENDING);
	/* Forgetting a sender never seen, or twice, is harmless. */
	seen_forget(s, "nobody");
	seen_forget(s, "c2s.2");
	seen_forget(s, "c2s.2");
	ck_assert_int_eq(seen_check(s, "c2s.2", 5, true), SEEN_NEW);
	seen_free(&s);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("seen");
	TCase *tc = tcase_create("seen");
	tcase_add_test(tc, test_seen_new_then_pending_then_done);
	tcase_add_test(tc, test_seen_frame_sent_once_is_never_looked_up);
	tcase_add_test(tc, test_seen_window_grows_from_64_to_its_maximum);
	tcase_add_test(tc, test_seen_full_window_forgets_the_oldest);
	tcase_add_test(tc, test_seen_maximum_below_64_is_64);
	tcase_add_test(tc, test_seen_remembers_router_link_seen_frames);
	tcase_add_test(tc, test_seen_senders_are_independent);
	tcase_add_test(tc, test_seen_forget_drops_one_sender);
	suite_add_tcase(s, tc);
	return s;
}
