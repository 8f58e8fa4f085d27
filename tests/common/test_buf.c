/*
 * test_buf.c — byte buffers: start empty with no memory, grow on demand,
 * consume from the front, reuse consumed space, read and write fds until
 * EAGAIN, report EOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "unit.h"

START_TEST(test_new_buffer_holds_no_memory)
{
	struct buf b = BUF_INIT;
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(buf_used(&b), 0);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_append_grows_and_keeps_bytes)
{
	struct buf b = BUF_INIT;
	char big[5000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	buf_append(&b, "abc", 3);
	ck_assert_uint_eq(b.cap, 256);
	buf_append(&b, big, sizeof(big));
	ck_assert_uint_eq(buf_used(&b), 3 + sizeof(big));
	ck_assert(memcmp(buf_head(&b), "abc", 3) == 0);
	ck_assert(memcmp(buf_head(&b) + 3, big, sizeof(big)) == 0);
	ck_assert_int_eq(buf_head(&b)[buf_used(&b)], '\0');
	buf_free(&b);
}
END_TEST

START_TEST(test_appendf_formats_short_and_long)
{
	struct buf b = BUF_INIT;
	char longarg[1000];

	memset(longarg, 'x', sizeof(longarg) - 1);
	longarg[sizeof(longarg) - 1] = '\0';
	buf_appendf(&b, "<%s id='%d'>", "iq", 42);
	ck_assert_str_eq(buf_head(&b), "<iq id='42'>");
	buf_appendf(&b, "%s!", longarg);
	ck_assert_uint_eq(buf_used(&b), 12 + 999 + 1);
	ck_assert_int_eq(buf_head(&b)[buf_used(&b) - 1], '!');
	buf_free(&b);
}
END_TEST

START_TEST(test_consume_then_reserve_reuses_front)
{
	struct buf b = BUF_INIT;
	char chunk[200];

	memset(chunk, 'a', sizeof(chunk));
	buf_append(&b, chunk, sizeof(chunk));
	size_t cap = b.cap;
	buf_consume(&b, 150);
	ck_assert_uint_eq(buf_used(&b), 50);
	/* 50 used + 150 more fits in 256 once the front is reclaimed. */
	buf_append(&b, chunk, 150);
	ck_assert_uint_eq(b.cap, cap);
	ck_assert_uint_eq(b.off, 0);
	ck_assert_uint_eq(buf_used(&b), 200);
	buf_consume(&b, 1000);
	ck_assert_uint_eq(buf_used(&b), 0);
	ck_assert_uint_eq(b.cap, cap);
	buf_shrink(&b, 1024);
	ck_assert_uint_eq(b.cap, cap); /* small enough to keep */
	buf_shrink(&b, 16);
	ck_assert_ptr_null(b.data);
	buf_free(&b);
}
END_TEST

START_TEST(test_read_fd_drains_until_eagain_and_sees_eof)
{
	struct buf b = BUF_INIT;
	int sv[2];
	bool eof;
	char data[40000];

	memset(data, 'z', sizeof(data));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(buf_read_fd(&b, sv[0], 1 << 20, &eof), 0);
	ck_assert(!eof);
	ck_assert_int_eq(write(sv[1], data, 30000), 30000);
	ck_assert_int_eq(buf_read_fd(&b, sv[0], 1 << 20, &eof), 30000);
	ck_assert(!eof);
	/* A cap stops the read early; the rest waits. */
	ck_assert_int_eq(write(sv[1], data, 100), 100);
	ck_assert_int_eq(buf_read_fd(&b, sv[0], 60, &eof), 60);
	close(sv[1]);
	ck_assert_int_eq(buf_read_fd(&b, sv[0], 1 << 20, &eof), 40);
	ck_assert(eof);
	ck_assert_uint_eq(buf_used(&b), 30100);
	close(sv[0]);
	buf_free(&b);
}
END_TEST

START_TEST(test_write_fd_stops_at_eagain_keeping_the_rest)
{
	struct buf b = BUF_INIT;
	int sv[2];
	static char data[4 << 20];

	signal(SIGPIPE, SIG_IGN); /* as every daemon does at start */
	memset(data, 'q', sizeof(data));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	buf_append(&b, data, sizeof(data));
	ssize_t n = buf_write_fd(&b, sv[0]);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_lt((size_t)n, sizeof(data)); /* the socket buffer filled */
	ck_assert_uint_eq(buf_used(&b), sizeof(data) - (size_t)n);
	close(sv[1]);
	ck_assert_int_eq(buf_write_fd(&b, sv[0]), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(sv[0]);
	buf_free(&b);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("buf");
	tcase_add_test(tc, test_new_buffer_holds_no_memory);
	tcase_add_test(tc, test_append_grows_and_keeps_bytes);
	tcase_add_test(tc, test_appendf_formats_short_and_long);
	tcase_add_test(tc, test_consume_then_reserve_reuses_front);
	tcase_add_test(tc, test_read_fd_drains_until_eagain_and_sees_eof);
	tcase_add_test(tc, test_write_fd_stops_at_eagain_keeping_the_rest);
	suite_add_tcase(s, tc);
	return s;
}
