/*
 * test_outbox.c — a sender's kept frames (common/outbox.c): entries kept
 * in the order they were added, found by seq, removed or unlinked from any
 * place, with their count and bytes accounted; a seq added again replaces
 * the older entry.
 */
#include <stdio.h>
#include <string.h>

#include "outbox.h"
#include "unit.h"

/* Check the list against `seqs` (n of them), both ways, and the counts. */
static void expect_order(const struct outbox *ob, const uint32_t *seqs, size_t n)
{
	const struct outbox_entry *e = outbox_first(ob), *prev = NULL;
	size_t bytes = 0;

	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(e != NULL, "entry %zu of %zu missing", i, n);
		ck_assert_uint_eq(e->seq, seqs[i]);
		ck_assert_ptr_eq(e->prev, prev);
		ck_assert_ptr_eq(outbox_find(ob, seqs[i]), e);
		bytes += e->len;
		prev = e;
		e = e->next;
	}
	ck_assert_ptr_null(e);
	ck_assert_uint_eq(outbox_count(ob), n);
	ck_assert_uint_eq(outbox_bytes(ob), bytes);
}

START_TEST(test_outbox_keeps_a_copy_in_order)
{
	struct outbox *ob = outbox_new();
	char frame[64];

	ck_assert_ptr_null(outbox_first(ob));
	ck_assert_uint_eq(outbox_count(ob), 0);
	ck_assert_uint_eq(outbox_bytes(ob), 0);

	memset(frame, 'a', sizeof(frame));
	struct outbox_entry *a = outbox_add(ob, 10, "sm", frame, 20);
	memset(frame, 'b', sizeof(frame));
	struct outbox_entry *b = outbox_add(ob, 11, "c2s.1", frame, 30);
	memset(frame, 'c', sizeof(frame));
	struct outbox_entry *c = outbox_add(ob, 12, "sm", frame, 64);
	memset(frame, 'x', sizeof(frame));   /* the outbox has its own copies */

	expect_order(ob, (uint32_t[]){ 10, 11, 12 }, 3);
	ck_assert_uint_eq(outbox_bytes(ob), 20 + 30 + 64);
	ck_assert_ptr_eq(outbox_first(ob), a);
	ck_assert_int_eq(a->state, OUTBOX_QUEUED);
	ck_assert(!a->written);
	ck_assert(!a->swallow);
	ck_assert_str_eq(a->to, "sm");
	ck_assert_str_eq(b->to, "c2s.1");
	ck_assert_uint_eq(a->len, 20);
	for (size_t i = 0; i < 20; i++)
		ck_assert_int_eq(a->bytes[i], 'a');
	for (size_t i = 0; i < 30; i++)
		ck_assert_int_eq(b->bytes[i], 'b');
	for (size_t i = 0; i < 64; i++)
		ck_assert_int_eq(c->bytes[i], 'c');
	ck_assert_ptr_null(outbox_find(ob, 9));
	ck_assert_ptr_null(outbox_find(ob, 13));
	ck_assert_ptr_null(outbox_find(ob, 0));

	outbox_free(&ob);
	ck_assert_ptr_null(ob);
	outbox_free(&ob);
}
END_TEST

START_TEST(test_outbox_remove_from_head_middle_and_tail)
{
	struct outbox *ob = outbox_new();
	char frame[100] = { 0 };

	for (uint32_t q = 1; q <= 5; q++)
		outbox_add(ob, q, "sm", frame, 10 * q);
	outbox_remove(ob, outbox_find(ob, 3));
	expect_order(ob, (uint32_t[]){ 1, 2, 4, 5 }, 4);
	ck_assert_ptr_null(outbox_find(ob, 3));
	outbox_remove(ob, outbox_find(ob, 1));
	expect_order(ob, (uint32_t[]){ 2, 4, 5 }, 3);
	outbox_remove(ob, outbox_find(ob, 5));
	expect_order(ob, (uint32_t[]){ 2, 4 }, 2);
	ck_assert_uint_eq(outbox_bytes(ob), 20 + 40);
	outbox_remove(ob, outbox_find(ob, 2));
	outbox_remove(ob, outbox_find(ob, 4));
	expect_order(ob, NULL, 0);
	ck_assert_ptr_null(outbox_first(ob));

	/* Empty, it starts again cleanly. */
	outbox_add(ob, 6, "sm", frame, 7);
	outbox_add(ob, 7, "sm", frame, 8);
	expect_order(ob, (uint32_t[]){ 6, 7 }, 2);
	outbox_free(&ob);
}
END_TEST

START_TEST(test_outbox_unlink_leaves_the_entry_to_the_caller)
{
	struct outbox *ob = outbox_new();
	char frame[16] = "0123456789abcde";

	outbox_add(ob, 100, "sm", frame, 16);
	struct outbox_entry *mid = outbox_add(ob, 101, "c2s.2", frame, 12);
	outbox_add(ob, 102, "sm", frame, 8);
	outbox_unlink(ob, mid);
	expect_order(ob, (uint32_t[]){ 100, 102 }, 2);
	ck_assert_ptr_null(outbox_find(ob, 101));
	ck_assert_uint_eq(outbox_bytes(ob), 24);
	/* Still whole, and out of the list. */
	ck_assert_ptr_null(mid->prev);
	ck_assert_ptr_null(mid->next);
	ck_assert_uint_eq(mid->seq, 101);
	ck_assert_str_eq(mid->to, "c2s.2");
	ck_assert_uint_eq(mid->len, 12);
	ck_assert(memcmp(mid->bytes, frame, 12) == 0);
	outbox_entry_free(mid);

	struct outbox_entry *head = outbox_first(ob);
	outbox_unlink(ob, head);
	expect_order(ob, (uint32_t[]){ 102 }, 1);
	outbox_entry_free(head);
	outbox_free(&ob);
}
END_TEST

START_TEST(test_outbox_seq_added_again_replaces_the_old_entry)
{
	struct outbox *ob = outbox_new();
	char frame[64];

	memset(frame, 'o', sizeof(frame));
	outbox_add(ob, 5, "sm", frame, 10);
	outbox_add(ob, 6, "sm", frame, 11);
	memset(frame, 'n', sizeof(frame));
	struct outbox_entry *again = outbox_add(ob, 5, "c2s.3", frame, 20);

	/* One entry per seq: the new one, at the end (it is the newest). */
	expect_order(ob, (uint32_t[]){ 6, 5 }, 2);
	ck_assert_uint_eq(outbox_bytes(ob), 11 + 20);
	ck_assert_ptr_eq(outbox_find(ob, 5), again);
	ck_assert_str_eq(again->to, "c2s.3");
	ck_assert_int_eq(again->bytes[0], 'n');
	outbox_remove(ob, again);
	ck_assert_ptr_null(outbox_find(ob, 5));
	expect_order(ob, (uint32_t[]){ 6 }, 1);

	/* The only entry replaced by itself again. */
	outbox_add(ob, 6, "sm", frame, 3);
	expect_order(ob, (uint32_t[]){ 6 }, 1);
	ck_assert_uint_eq(outbox_bytes(ob), 3);
	outbox_free(&ob);
}
END_TEST

START_TEST(test_outbox_many_entries_keep_order_and_accounting)
{
	struct outbox *ob = outbox_new();
	enum { N = 5000 };
	static uint32_t want[N];
	unsigned char frame[40];
	size_t n = 0;

	/* Seqs that wrap past 2^32 (0 is never used), as a link's do. */
	uint32_t base = UINT32_MAX - 100;
	for (uint32_t i = 0; i < N; i++) {
		uint32_t q = base + i;
		if (q == 0)
			continue;
		memset(frame, (int)(i & 0xff), sizeof(frame));
		outbox_add(ob, q, i % 2 ? "sm" : "c2s.1", frame, 1 + i % 40);
		want[n++] = q;
	}
	expect_order(ob, want, n);
	/* Acknowledge every third, out of order. */
	for (size_t i = n; i-- > 0; )
		if (i % 3 == 0)
			outbox_remove(ob, outbox_find(ob, want[i]));
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (i % 3 != 0)
			want[m++] = want[i];
	expect_order(ob, want, m);
	for (const struct outbox_entry *e = outbox_first(ob); e != NULL; e = e->next)
		ck_assert_uint_eq(e->bytes[0], (uint8_t)(e->seq - base));
	outbox_free(&ob);   /* with entries in it: nothing leaks (ASan) */
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc = tcase_create("outbox");
	tcase_add_test(tc, test_outbox_keeps_a_copy_in_order);
	tcase_add_test(tc, test_outbox_remove_from_head_middle_and_tail);
	tcase_add_test(tc, test_outbox_unlink_leaves_the_entry_to_the_caller);
	tcase_add_test(tc, test_outbox_seq_added_again_replaces_the_old_entry);
	tcase_add_test(tc, test_outbox_many_entries_keep_order_and_accounting);
	suite_add_tcase(s, tc);
	return s;
}
