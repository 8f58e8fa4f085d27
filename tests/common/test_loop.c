/*
 * test_loop.c — the event loop: timers fire in deadline order (ties in
 * insertion order), cancelled timers never fire, edge-triggered readiness is
 * reported, stale events for a closed fd are not delivered, signals arrive
 * as loop events.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "unit.h"

struct order {
	int fired[16];
	int n;
	int stop_after;
};

/* Each timer gets a small struct naming its id and the shared order log. */
struct tag {
	struct order *order;
	int id;
};

static void fire(struct loop *loop, void *arg)
{
	struct tag *t = arg;
	t->order->fired[t->order->n++] = t->id;
	if (t->order->n == t->order->stop_after)
		loop_stop(loop);
}

static struct loop *new_loop(void)
{
	char err[ERRLEN];
	struct loop *loop = loop_new(err, sizeof(err));
	ck_assert_msg(loop != NULL, "%s", err);
	return loop;
}

START_TEST(test_timers_fire_in_deadline_order)
{
	struct loop *loop = new_loop();
	struct order o = { .stop_after = 4 };
	struct tag tags[4] = { { &o, 30 }, { &o, 10 }, { &o, 20 }, { &o, 0 } };

	loop_timer_add(loop, 30, fire, &tags[0]);
	loop_timer_add(loop, 10, fire, &tags[1]);
	loop_timer_add(loop, 20, fire, &tags[2]);
	loop_timer_add(loop, 0, fire, &tags[3]);
	ck_assert_int_eq(loop_timer_count(loop), 4);
	ck_assert_int_eq(loop_run(loop), 0);
	ck_assert_int_eq(o.n, 4);
	ck_assert_int_eq(o.fired[0], 0);
	ck_assert_int_eq(o.fired[1], 10);
	ck_assert_int_eq(o.fired[2], 20);
	ck_assert_int_eq(o.fired[3], 30);
	ck_assert_int_eq(loop_timer_count(loop), 0);
	loop_free(&loop);
	ck_assert_ptr_null(loop);
}
END_TEST

START_TEST(test_timers_with_equal_deadlines_fire_in_insertion_order)
{
	struct loop *loop = new_loop();
	struct order o = { .stop_after = 10 };
	struct tag tags[10];

	for (int i = 0; i < 10; i++) {
		tags[i].order = &o;
		tags[i].id = i;
		loop_timer_add(loop, 5, fire, &tags[i]);
	}
	loop_run(loop);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(o.fired[i], i);
	loop_free(&loop);
}
END_TEST

START_TEST(test_timer_waits_its_delay)
{
	struct loop *loop = new_loop();
	struct order o = { .stop_after = 1 };
	struct tag t = { &o, 1 };

	uint64_t start = loop_now_ms(loop);
	loop_timer_add(loop, 50, fire, &t);
	loop_run(loop);
	ck_assert_uint_ge(loop_now_ms(loop) - start, 50);
	loop_free(&loop);
}
END_TEST

START_TEST(test_cancelled_timer_never_fires)
{
	struct loop *loop = new_loop();
	struct order o = { .stop_after = 2 };
	struct tag tags[3] = { { &o, 1 }, { &o, 2 }, { &o, 3 } };

	loop_timer_add(loop, 10, fire, &tags[0]);
	struct timer *doomed = loop_timer_add(loop, 5, fire, &tags[1]);
	loop_timer_add(loop, 20, fire, &tags[2]);
	loop_timer_cancel(loop, &doomed);
	ck_assert_ptr_null(doomed);
	loop_timer_cancel(loop, &doomed); /* NULL is allowed */
	loop_run(loop);
	ck_assert_int_eq(o.n, 2);
	ck_assert_int_eq(o.fired[0], 1);
	ck_assert_int_eq(o.fired[1], 3);
	loop_free(&loop);
}
END_TEST

/* Many timers in scrambled order, a third cancelled from the middle of the
 * heap: the rest must come out sorted by deadline, the cancelled never. */
enum { MANY = 200 };
struct many {
	struct loop *loop;
	int delay[MANY];
	int fired_delay[MANY];
	bool fired[MANY];
	int n, expected;
};
struct many_tag {
	struct many *m;
	int id;
};

static void many_fire(struct loop *loop, void *arg)
{
	struct many_tag *t = arg;
	t->m->fired[t->id] = true;
	t->m->fired_delay[t->m->n++] = t->m->delay[t->id];
	if (t->m->n == t->m->expected)
		loop_stop(loop);
}

START_TEST(test_many_timers_come_out_sorted)
{
	static struct many m;
	static struct many_tag tags[MANY];
	struct timer *handles[MANY];

	memset(&m, 0, sizeof(m));
	m.loop = new_loop();
	for (int i = 0; i < MANY; i++) {
		m.delay[i] = (i * 37) % 41;
		tags[i].m = &m;
		tags[i].id = i;
		handles[i] = loop_timer_add(m.loop, (uint64_t)m.delay[i], many_fire, &tags[i]);
	}
	for (int i = 0; i < MANY; i += 3)
		loop_timer_cancel(m.loop, &handles[i]);
	m.expected = MANY - (MANY + 2) / 3;
	ck_assert_int_eq(loop_timer_count(m.loop), m.expected);
	loop_run(m.loop);
	ck_assert_int_eq(m.n, m.expected);
	for (int i = 1; i < m.n; i++)
		ck_assert_int_le(m.fired_delay[i - 1], m.fired_delay[i]);
	for (int i = 0; i < MANY; i++)
		ck_assert(m.fired[i] == (i % 3 != 0));
	loop_free(&m.loop);
}
END_TEST

struct io_state {
	int reads;
	int writes;
	char got[64];
	size_t got_len;
	bool eof;
};

static void on_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct io_state *s = arg;
	if (events & LOOP_WRITE)
		s->writes++;
	if (events & LOOP_READ) {
		s->reads++;
		for (;;) {
			ssize_t n = read(fd, s->got + s->got_len, sizeof(s->got) - s->got_len);
			if (n > 0) {
				s->got_len += (size_t)n;
				continue;
			}
			if (n == 0)
				s->eof = true;
			break;
		}
		loop_stop(loop);
	}
}

START_TEST(test_readable_fd_is_reported_and_eof_seen)
{
	struct loop *loop = new_loop();
	struct io_state s = { 0 };
	char err[ERRLEN];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(loop_add_fd(loop, sv[0], on_io, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(loop_add_fd(loop, sv[0], on_io, &s, err, sizeof(err)), -1);
	ck_assert(strstr(err, "already watched") != NULL);

	/* First turn: writable edge only. */
	loop_run_once(loop, 100);
	ck_assert_int_ge(s.writes, 1);
	ck_assert_int_eq(s.reads, 0);

	ck_assert_int_eq(write(sv[1], "hello", 5), 5);
	loop_run(loop);
	ck_assert_int_eq(s.reads, 1);
	ck_assert_int_eq(s.got_len, 5);
	ck_assert(memcmp(s.got, "hello", 5) == 0);

	close(sv[1]);
	loop_run(loop);
	ck_assert(s.eof);
	loop_del_fd(loop, sv[0]);
	close(sv[0]);
	loop_free(&loop);
}
END_TEST

/* A handler that closes another fd must not get events for it afterwards. */
struct pair_state {
	int fds[2];
	int calls[2];
	struct loop *loop;
};

static void on_pair(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct pair_state *p = arg;
	int me = fd == p->fds[0] ? 0 : 1;
	p->calls[me]++;
	int other = p->fds[!me];
	if (other >= 0) {
		loop_del_fd(loop, other);
		p->fds[!me] = -1;
	}
	loop_stop(loop);
}

START_TEST(test_deleted_fd_gets_no_stale_event)
{
	struct loop *loop = new_loop();
	struct pair_state p = { { -1, -1 }, { 0, 0 }, loop };
	char err[ERRLEN];
	int a[2], b[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
	p.fds[0] = a[0];
	p.fds[1] = b[0];
	ck_assert_int_eq(loop_add_fd(loop, a[0], on_pair, &p, err, sizeof(err)), 0);
	ck_assert_int_eq(loop_add_fd(loop, b[0], on_pair, &p, err, sizeof(err)), 0);
	/* Both are writable at once: whichever runs first removes the other. */
	loop_run_once(loop, 100);
	ck_assert_int_eq(p.calls[0] + p.calls[1], 1);
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
	loop_free(&loop);
}
END_TEST

static int signal_seen;

static void on_signal(struct loop *loop, int signo, void *arg)
{
	signal_seen = signo;
	loop_stop(loop);
}

START_TEST(test_signal_arrives_as_loop_event)
{
	struct loop *loop = new_loop();
	char err[ERRLEN];

	ck_assert_int_eq(loop_signal(loop, SIGUSR1, on_signal, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(loop_signal(loop, SIGHUP, on_signal, NULL, err, sizeof(err)), 0);
	kill(getpid(), SIGHUP);
	loop_run(loop);
	ck_assert_int_eq(signal_seen, SIGHUP);
	kill(getpid(), SIGUSR1);
	loop_run(loop);
	ck_assert_int_eq(signal_seen, SIGUSR1);
	ck_assert_int_eq(loop_signal(loop, 0, on_signal, NULL, err, sizeof(err)), -1);
	loop_free(&loop);
}
END_TEST

/* A timer that re-arms itself with 0 ms must not starve the loop. */
static int rearms;
static void rearm(struct loop *loop, void *arg)
{
	if (++rearms < 1000)
		loop_timer_add(loop, 0, rearm, arg);
}

START_TEST(test_zero_timer_rearming_itself_yields_to_io)
{
	struct loop *loop = new_loop();
	rearms = 0;
	loop_timer_add(loop, 0, rearm, NULL);
	loop_run_once(loop, 0);
	ck_assert_int_eq(rearms, 1);
	loop_run_once(loop, 0);
	ck_assert_int_eq(rearms, 2);
	loop_free(&loop);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("loop");
	tcase_add_test(tc, test_timers_fire_in_deadline_order);
	tcase_add_test(tc, test_timers_with_equal_deadlines_fire_in_insertion_order);
	tcase_add_test(tc, test_timer_waits_its_delay);
	tcase_add_test(tc, test_cancelled_timer_never_fires);
	tcase_add_test(tc, test_many_timers_come_out_sorted);
	tcase_add_test(tc, test_readable_fd_is_reported_and_eof_seen);
	tcase_add_test(tc, test_deleted_fd_gets_no_stale_event);
	tcase_add_test(tc, test_signal_arrives_as_loop_event);
	tcase_add_test(tc, test_zero_timer_rearming_itself_yields_to_io);
	suite_add_tcase(s, tc);
	return s;
}
