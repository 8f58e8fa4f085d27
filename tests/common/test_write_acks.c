/*
 * test_write_acks.c — acknowledgements owed once bytes reach the kernel:
 * each ACK leaves only when the byte count passes its stanza's end, in
 * order; a dead connection rejects the rest; entries can be taken back
 * with their items; an empty FIFO owns no memory. A fake sender records
 * what would go to the router link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "util.h"
#include "write_acks.h"

struct sent {
	char what[64][48];	/* "ack s2s>sm.1 7" / "reject s2s>sm.1 7" */
	size_t n;
};

static void record(void *arg, const struct write_ack *e, bool rejected)
{
	struct sent *s = arg;

	ck_assert_uint_lt(s->n, 64);
	snprintf(s->what[s->n++], sizeof(s->what[0]), "%s %s>%s %u", rejected ? "reject" : "ack",
	    e->from, e->to, e->seq);
}

START_TEST(test_zero_initialised_is_empty_and_owns_nothing)
{
	struct write_acks wa = { 0 };
	struct sent s = { .n = 0 };

	ck_assert_uint_eq(write_acks_count(&wa), 0);
	write_acks_due_to(&wa, 1000, record, &s);
	write_acks_reject_all_to(&wa, record, &s);
	ck_assert_uint_eq(s.n, 0);
	write_acks_fini(&wa);
	ck_assert_ptr_null(wa.v);
}
END_TEST

START_TEST(test_ack_leaves_only_once_the_stanza_end_is_written)
{
	struct write_acks wa = { 0 };
	struct sent s = { .n = 0 };

	/* Three stanzas appended: bytes 0..100, 100..250, 250..400. */
	write_acks_add(&wa, "s2s", "sm", 1, 100);
	write_acks_add(&wa, "s2s", "sm", 2, 250);
	write_acks_add(&wa, "s2s", "sm.2", 9, 400);
	write_acks_due_to(&wa, 0, record, &s);
	write_acks_due_to(&wa, 99, record, &s);
	ck_assert_uint_eq(s.n, 0);
	write_acks_due_to(&wa, 100, record, &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.what[0], "ack s2s>sm 1");
	/* Half of the second stanza is no stanza. */
	write_acks_due_to(&wa, 249, record, &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(write_acks_count(&wa), 2);
	write_acks_due_to(&wa, 1000, record, &s);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.what[1], "ack s2s>sm 2");
	ck_assert_str_eq(s.what[2], "ack s2s>sm.2 9");
	ck_assert_uint_eq(write_acks_count(&wa), 0);
	/* Emptied: the memory went back. */
	ck_assert_ptr_null(wa.v);
	write_acks_fini(&wa);
}
END_TEST

START_TEST(test_dead_connection_rejects_only_what_was_not_written)
{
	struct write_acks wa = { 0 };
	struct sent s = { .n = 0 };

	write_acks_add(&wa, "c2s.1", "sm", 5, 10);
	write_acks_add(&wa, "c2s.1", "sm", 6, 20);
	write_acks_add(&wa, "c2s.1", "sm", 7, 30);
	write_acks_due_to(&wa, 15, record, &s);
	write_acks_reject_all_to(&wa, record, &s);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.what[0], "ack c2s.1>sm 5");
	ck_assert_str_eq(s.what[1], "reject c2s.1>sm 6");
	ck_assert_str_eq(s.what[2], "reject c2s.1>sm 7");
	ck_assert_uint_eq(write_acks_count(&wa), 0);
	/* Nothing is answered twice. */
	write_acks_due_to(&wa, 100, record, &s);
	write_acks_reject_all_to(&wa, record, &s);
	ck_assert_uint_eq(s.n, 3);
}
END_TEST

static int freed;
static void free_item(void *item)
{
	freed++;
	free(item);
}

START_TEST(test_items_are_freed_when_acknowledged_or_given_back_by_take)
{
	struct write_acks wa = { .free_item = free_item };
	struct sent s = { .n = 0 };
	struct write_ack e;

	freed = 0;
	write_acks_add_item(&wa, "s2s", "sm", 1, 10, xstrdup("one"));
	write_acks_add_item(&wa, "s2s", "sm", 2, 20, xstrdup("two"));
	write_acks_add_item(&wa, "s2s", "sm.b", 3, 30, xstrdup("three"));
	write_acks_due_to(&wa, 10, record, &s);
	ck_assert_int_eq(freed, 1);
	/* Taken: names and item are the caller's, oldest first. */
	ck_assert(write_acks_take(&wa, &e));
	ck_assert_str_eq(e.from, "s2s");
	ck_assert_str_eq(e.to, "sm");
	ck_assert_uint_eq(e.seq, 2);
	ck_assert_uint_eq(e.end, 20);
	ck_assert_str_eq(e.item, "two");
	ck_assert_int_eq(freed, 1);
	free(e.item);
	write_ack_clear(&e);
	ck_assert_uint_eq(write_acks_count(&wa), 1);
	/* fini frees the rest, answering nothing. */
	write_acks_fini(&wa);
	ck_assert_int_eq(freed, 2);
	ck_assert_uint_eq(s.n, 1);
	ck_assert(!write_acks_take(&wa, &e));
}
END_TEST

START_TEST(test_many_entries_keep_their_order_through_growth_and_reuse)
{
	struct write_acks wa = { 0 };
	struct sent s = { .n = 0 };
	uint32_t next_ack = 1, next_seq = 1;
	uint64_t end = 0;

	/* Interleave adds and partial writes so the array both grows and
	 * slides its live entries to the front. */
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 3; i++) {
			end += 7;
			write_acks_add(&wa, "s2s", "sm", next_seq++, end);
		}
		s.n = 0;
		write_acks_due_to(&wa, end - 14, record, &s);	/* all but the last two */
		for (size_t i = 0; i < s.n; i++) {
			char want[48];
			snprintf(want, sizeof(want), "ack s2s>sm %u", next_ack++);
			ck_assert_str_eq(s.what[i], want);
		}
		ck_assert_uint_eq(write_acks_count(&wa), 2);
	}
	ck_assert_uint_le(wa.cap, 8);
	write_acks_fini(&wa);
	ck_assert_uint_eq(write_acks_count(&wa), 0);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("write_acks");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_zero_initialised_is_empty_and_owns_nothing);
	tcase_add_test(tc, test_ack_leaves_only_once_the_stanza_end_is_written);
	tcase_add_test(tc, test_dead_connection_rejects_only_what_was_not_written);
	tcase_add_test(tc, test_items_are_freed_when_acknowledged_or_given_back_by_take);
	tcase_add_test(tc, test_many_entries_keep_their_order_through_growth_and_reuse);
	suite_add_tcase(s, tc);
	return s;
}
