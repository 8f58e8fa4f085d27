/*
 * test_router_link.c — the client side of the internal protocol
 * (common/router_link.c) against a fake router (fake_router.h): a Unix
 * socket in a mkdtemp() directory (or TCP+TLS on loopback), on the same
 * event loop as the link. The fake checks HELLO, answers HELLO_OK,
 * confirms or refuses binds, echoes ROUTE frames, and records every frame
 * it receives so that each test can say exactly what went over the wire.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fake_router.h"
#include "frame.h"
#include "log.h"
#include "loop.h"
#include "router_link.h"
#include "tls.h"
#include "unit.h"

#define SECRET FAKE_SECRET

static char dir[200];
static char sock_path[240];

/* --- the owner ---------------------------------------------------------------- */

struct owner {
	int ups, downs, bounds, bind_errors, writables;
	char router[64];
	char down_reason[ERRLEN];
	char bound[16][64];
	uint16_t bound_flags[16];
	char bind_error_name[64];
	uint32_t bind_error_code;
	struct fake_got *got;
	size_t ngot;
	/* Free the link from the frame callback. */
	struct router_link **free_from_frame;
};

static void on_up(struct router_link *link, const char *router, void *arg)
{
	struct owner *o = arg;
	(void)link;
	o->ups++;
	snprintf(o->router, sizeof(o->router), "%s", router);
}

static void on_down(struct router_link *link, const char *reason, void *arg)
{
	struct owner *o = arg;
	(void)link;
	o->downs++;
	snprintf(o->down_reason, sizeof(o->down_reason), "%s", reason);
}

static void on_bound(struct router_link *link, const char *name, uint16_t flags, void *arg)
{
	struct owner *o = arg;
	(void)link;
	if (o->bounds < 16) {
		snprintf(o->bound[o->bounds], sizeof(o->bound[0]), "%s", name);
		o->bound_flags[o->bounds] = flags;
	}
	o->bounds++;
}

static void on_bind_error(struct router_link *link, const char *name, uint32_t code,
    const char *text, void *arg)
{
	struct owner *o = arg;
	(void)link;
	(void)text;
	o->bind_errors++;
	snprintf(o->bind_error_name, sizeof(o->bind_error_name), "%s", name);
	o->bind_error_code = code;
}

static void on_frame(struct router_link *link, const struct frame *f, void *arg)
{
	struct owner *o = arg;
	(void)link;
	fake_got_add(&o->got, &o->ngot, f);
	if (o->free_from_frame != NULL)
		router_link_free(o->free_from_frame);
}

static void on_writable(struct router_link *link, void *arg)
{
	struct owner *o = arg;
	(void)link;
	o->writables++;
}

static const struct router_link_callbacks owner_callbacks = {
	.up = on_up,
	.down = on_down,
	.bound = on_bound,
	.bind_error = on_bind_error,
	.frame = on_frame,
	.writable = on_writable,
};

static void owner_free(struct owner *o)
{
	fake_got_free(o->got, o->ngot);
}

static size_t owner_count(const struct owner *o, int type)
{
	return fake_got_count(o->got, o->ngot, type);
}

static struct router_link_settings unix_settings(void)
{
	struct router_link_settings s = {
		.socket_path = sock_path,
		.name = "c2s.1",
		.role = "c2s",
		.secret = SECRET,
		.secret_len = strlen(SECRET),
		.backoff_min_ms = 20,
		.backoff_max_ms = 200,
	};
	return s;
}

static struct router_link *new_link(struct loop *loop, const struct router_link_settings *s,
    struct owner *o)
{
	char err[ERRLEN];
	struct router_link *link = router_link_new(loop, s, &owner_callbacks, o, err, sizeof(err));
	ck_assert_msg(link != NULL, "%s", err);
	return link;
}

static struct loop *new_loop(void)
{
	char err[ERRLEN];
	struct loop *loop = loop_new(err, sizeof(err));
	ck_assert_msg(loop != NULL, "%s", err);
	return loop;
}

static void route(struct router_link *link, const char *to, const char *stanza, uint32_t *seq)
{
	char err[ERRLEN];
	ck_assert_msg(router_link_route(link, NULL, to, "juliet@example.org", "s1", stanza,
	    strlen(stanza), seq, err, sizeof(err)) == 0, "%s", err);
}

/* --- fixture ------------------------------------------------------------------ */

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "%s/parley-link-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/router.sock", dir);
}

static void teardown(void)
{
	char path[PATH_MAX + 32];
	unlink(sock_path);
	snprintf(path, sizeof(path), "%s/router.pem", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/router.key", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/link.log", dir);
	unlink(path);
	rmdir(dir);
}

/* --- tests -------------------------------------------------------------------- */

START_TEST(test_hello_carries_name_role_secret_and_pid)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);

	ck_assert_str_eq(router_link_state(link), "idle");
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.ups == 1, 2000));
	const struct fake_frame *h = fake_find(fk, FRAME_HELLO, 1, 0);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(fk->nseen, 1);
	ck_assert_str_eq(h->name, "c2s.1");
	ck_assert_str_eq(h->role, "c2s");
	ck_assert_str_eq(h->secret, SECRET);
	ck_assert(h->has_pid);
	ck_assert_uint_eq(h->pid, (uint32_t)getpid());
	ck_assert_uint_ne(h->seq, 0); /* random at start: a new instance does not reuse seqs */
	ck_assert_str_eq(o.router, "router");
	ck_assert(router_link_is_up(link));
	ck_assert_str_eq(router_link_state(link), "up");
	ck_assert_int_eq(o.downs, 0);

	router_link_free(&link);
	ck_assert_ptr_null(link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_binds_follow_hello_ok_and_are_confirmed)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);

	router_link_bind(link, "c2s.1", 0);
	router_link_bind(link, "auth", FRAME_F_SHARED);
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.bounds == 2, 2000));
	ck_assert_int_eq(fk->seen[0].type, FRAME_HELLO);
	ck_assert_int_eq(fk->seen[1].type, FRAME_BIND);
	ck_assert_str_eq(fk->seen[1].name, "c2s.1");
	ck_assert_uint_eq(fk->seen[1].flags, 0);
	ck_assert_int_eq(fk->seen[2].type, FRAME_BIND);
	ck_assert_str_eq(fk->seen[2].name, "auth");
	ck_assert_uint_eq(fk->seen[2].flags, FRAME_F_SHARED);
	ck_assert_uint_gt(fk->seen[2].seq, fk->seen[1].seq);
	ck_assert_str_eq(o.bound[0], "c2s.1");
	ck_assert_str_eq(o.bound[1], "auth");
	ck_assert_uint_eq(o.bound_flags[1], FRAME_F_SHARED);
	ck_assert(router_link_is_bound(link, "auth"));

	/* A bind asked for while up goes out at once. */
	router_link_bind(link, "example.org", FRAME_F_DEFAULT_ROUTE);
	ck_assert(RUN_UNTIL(loop, o.bounds == 3, 2000));
	ck_assert_str_eq(fk->seen[3].name, "example.org");
	ck_assert_uint_eq(fk->seen[3].flags, FRAME_F_DEFAULT_ROUTE);
	ck_assert_int_eq(o.bind_errors, 0);

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_refused_bind_is_reported_with_its_code)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);

	fk->conflict = "sm";
	router_link_bind(link, "c2s.1", 0);
	router_link_bind(link, "sm", 0);
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.bind_errors == 1 && o.bounds == 1, 2000));
	ck_assert_str_eq(o.bind_error_name, "sm");
	ck_assert_uint_eq(o.bind_error_code, FRAME_ERR_CONFLICT);
	ck_assert(!router_link_is_bound(link, "sm"));
	ck_assert(router_link_is_bound(link, "c2s.1"));
	/* The refusal is the bind's business, not the frame callback's. */
	ck_assert_uint_eq(o.ngot, 0);
	ck_assert(router_link_is_up(link));

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_frames_from_the_router_reach_the_frame_callback)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);

	fk->echo = true;
	router_link_bind(link, "c2s.1", 0);
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.bounds == 1, 2000));

	fake_send_named(fk, FRAME_PEER_UP, FRAME_F_SHARED, "auth", "auth");
	fake_send_named(fk, FRAME_PEER_DOWN, 0, "s2s", NULL);
	fake_send_error(fk, FRAME_ERR_NO_ROUTE, "nobody is there", 77, "nowhere.example");
	fake_flush(fk);
	uint32_t seq;
	route(link, "sm", "<message to='romeo@example.net'><body>hi</body></message>", &seq);
	ck_assert(RUN_UNTIL(loop, o.ngot == 4, 2000));

	ck_assert_int_eq(o.got[0].type, FRAME_PEER_UP);
	ck_assert_str_eq(o.got[0].name, "auth");
	ck_assert_str_eq(o.got[0].role, "auth");
	ck_assert_uint_eq(o.got[0].flags, FRAME_F_SHARED);
	ck_assert_int_eq(o.got[1].type, FRAME_PEER_DOWN);
	ck_assert_str_eq(o.got[1].name, "s2s");
	ck_assert_int_eq(o.got[2].type, FRAME_ERROR);
	ck_assert_uint_eq(o.got[2].code, FRAME_ERR_NO_ROUTE);
	ck_assert_uint_eq(o.got[2].ref_seq, 77);
	ck_assert_int_eq(o.got[3].type, FRAME_ROUTE);
	ck_assert_str_eq(o.got[3].from, "sm");
	ck_assert_str_eq(o.got[3].to, "c2s.1");
	ck_assert_str_eq(o.got[3].sid, "s1");
	ck_assert_str_eq(o.got[3].stanza, "<message to='romeo@example.net'><body>hi</body></message>");
	ck_assert_uint_eq(owner_count(&o, FRAME_ROUTE), 1);

	/* What the router got: from defaults to the instance name, the seq is
	 * the one route() reported. */
	const struct fake_frame *r = fake_find(fk, FRAME_ROUTE, 0, 0);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->from, "c2s.1");
	ck_assert_str_eq(r->to, "sm");
	ck_assert_str_eq(r->key, "juliet@example.org");
	ck_assert_uint_eq(r->seq, seq);

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_ping_is_answered_with_pong)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);

	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.ups == 1, 2000));
	uint32_t ping = fake_send_ping(fk);
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_PONG, 0) == 1, 2000));
	ck_assert_uint_eq(fake_find(fk, FRAME_PONG, 0, 0)->ref_seq, ping);
	/* PING is the link's business: the owner hears nothing of it. */
	ck_assert_uint_eq(o.ngot, 0);

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_idle_link_pings_and_drops_a_silent_router)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	s.ping_idle_ms = 100;
	s.ping_timeout_ms = 150;
	struct router_link *link = new_link(loop, &s, &o);

	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.ups == 1, 2000));
	/* Answered pings keep the link up. */
	run_for(loop, 400);
	ck_assert_uint_ge(fake_count(fk, FRAME_PING, 0), 2);
	ck_assert_int_eq(o.downs, 0);

	fk->no_pong = true;
	uint64_t t0 = now_ms();
	ck_assert(RUN_UNTIL(loop, o.downs == 1, 2000));
	ck_assert_uint_ge(now_ms() - t0, 100);
	ck_assert_msg(strstr(o.down_reason, "no answer") != NULL, "%s", o.down_reason);
	/* And it comes back by itself. */
	fk->no_pong = false;
	ck_assert(RUN_UNTIL(loop, o.ups == 2, 2000));

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_router_restart_brings_hello_and_every_bind_again)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);

	router_link_bind(link, "c2s.1", 0);
	router_link_bind(link, "auth", FRAME_F_SHARED);
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.bounds == 2, 2000));
	uint32_t first_hello_seq = fake_find(fk, FRAME_HELLO, 1, 0)->seq;

	/* The router dies; a new one comes up on the same path later. */
	fake_free(&fk);
	ck_assert(RUN_UNTIL(loop, o.downs == 1, 2000));
	ck_assert_msg(strstr(o.down_reason, "closed") != NULL, "%s", o.down_reason);
	ck_assert(!router_link_is_up(link));
	ck_assert(!router_link_is_bound(link, "c2s.1"));
	run_for(loop, 300);
	fk = fake_start(loop, sock_path);
	ck_assert(RUN_UNTIL(loop, o.bounds == 4, 3000));
	ck_assert_int_eq(o.ups, 2);

	const struct fake_frame *h = fake_find(fk, FRAME_HELLO, 1, 0);
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(h->secret, SECRET);
	/* Seq numbers go on; they are not reset by a new connection. */
	ck_assert_uint_gt(h->seq, first_hello_seq);
	ck_assert_int_eq(fake_count(fk, FRAME_BIND, 1), 2);
	ck_assert_str_eq(fake_find(fk, FRAME_BIND, 1, 0)->name, "c2s.1");
	ck_assert_str_eq(fake_find(fk, FRAME_BIND, 1, 1)->name, "auth");
	ck_assert_uint_eq(fake_find(fk, FRAME_BIND, 1, 1)->flags, FRAME_F_SHARED);
	ck_assert(router_link_is_bound(link, "auth"));

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_reconnect_backoff_doubles_up_to_its_limit)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	s.backoff_min_ms = 40;
	s.backoff_max_ms = 320;
	struct router_link *link = new_link(loop, &s, &o);

	fk->close_on_accept = true;
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, fk->accepts >= 8, 5000));
	uint64_t gap[7];
	for (int i = 0; i < 7; i++)
		gap[i] = fk->accept_ms[i + 1] - fk->accept_ms[i];
	/* Delays are in [d/2, d] for d = 40, 80, 160, 320, 320...: never
	 * shorter (give or take a millisecond of timer rounding); longer only
	 * by what a busy machine adds to each wake-up — with other test
	 * programs beside this one, seen up to ~150 ms, hence the wide slack
	 * (a missing cap would still show: d = 1280 by the seventh). */
	uint64_t slack = 400;
	ck_assert_msg(gap[0] >= 19 && gap[0] <= 40 + slack, "first gap %llu", (unsigned long long)gap[0]);
	ck_assert_msg(gap[1] >= 39, "second gap %llu", (unsigned long long)gap[1]);
	ck_assert_msg(gap[2] >= 79, "third gap %llu", (unsigned long long)gap[2]);
	for (int i = 3; i < 7; i++)
		ck_assert_msg(gap[i] >= 159 && gap[i] <= 320 + slack, "gap %d: %llu", i,
		    (unsigned long long)gap[i]);
	/* And it grows: the first three together (at most 280 ms) are
	 * shorter than the last three (at least 480 ms). */
	ck_assert_msg(gap[0] + gap[1] + gap[2] < gap[4] + gap[5] + gap[6], "no growth: %llu %llu %llu / "
	    "%llu %llu %llu", (unsigned long long)gap[0], (unsigned long long)gap[1],
	    (unsigned long long)gap[2], (unsigned long long)gap[4], (unsigned long long)gap[5],
	    (unsigned long long)gap[6]);
	/* Failing the same way again and again is one down, not one per try. */
	ck_assert_int_eq(o.downs, 1);

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_frames_sent_while_down_are_flushed_in_order_after_binds)
{
	struct loop *loop = new_loop();
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);
	char stanza[64];
	uint32_t seqs[5];

	router_link_bind(link, "c2s.1", 0);
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.downs == 1, 2000)); /* no router yet */
	ck_assert_msg(strstr(o.down_reason, "No such file") != NULL, "%s", o.down_reason);
	for (int i = 0; i < 5; i++) {
		snprintf(stanza, sizeof(stanza), "<message id='m%d'/>", i);
		route(link, "sm", stanza, &seqs[i]);
	}
	ck_assert_uint_gt(router_link_queued(link), 0);

	struct fake *fk = fake_start(loop, sock_path);
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 5, 3000));
	ck_assert_int_eq(fk->seen[0].type, FRAME_HELLO);
	ck_assert_int_eq(fk->seen[1].type, FRAME_BIND);
	for (int i = 0; i < 5; i++) {
		const struct fake_frame *r = &fk->seen[2 + i];
		snprintf(stanza, sizeof(stanza), "<message id='m%d'/>", i);
		ck_assert_int_eq(r->type, FRAME_ROUTE);
		ck_assert_str_eq(r->stanza, stanza);
		ck_assert_uint_eq(r->seq, seqs[i]);
	}
	ck_assert_uint_eq(router_link_queued(link), 0);

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_full_queue_refuses_sends_and_reports_writable)
{
	struct loop *loop = new_loop();
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	s.max_frame = 4096;
	s.max_queue = 8192;
	struct router_link *link = new_link(loop, &s, &o);
	char stanza[1000];
	char err[ERRLEN];
	int accepted = 0, refused = 0;

	memset(stanza, 'x', sizeof(stanza));
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.downs == 1, 2000));
	uint32_t before = router_link_next_seq(link);
	for (int i = 0; i < 20; i++) {
		if (router_link_route(link, NULL, "sm", NULL, NULL, stanza, sizeof(stanza), NULL, err,
		    sizeof(err)) == 0)
			accepted++;
		else
			refused++;
	}
	ck_assert_int_gt(accepted, 0);
	ck_assert_int_gt(refused, 0);
	ck_assert_msg(strstr(err, "full") != NULL, "%s", err);
	ck_assert_uint_le(router_link_queued(link), 8192);
	/* Refused frames take no seq: the numbers stay without gaps. */
	ck_assert_uint_eq(router_link_next_seq(link), before + (uint32_t)accepted);

	/* A frame over max_frame is refused whatever the queue. */
	char big[5000];
	memset(big, 'y', sizeof(big));
	ck_assert_int_eq(router_link_route(link, NULL, "sm", NULL, NULL, big, sizeof(big), NULL, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "larger") != NULL, "%s", err);

	/* Every accepted frame reaches the router, and the owner hears there is room. */
	struct fake *fk = fake_start(loop, sock_path);
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == (size_t)accepted && o.writables == 1,
	    3000));
	ck_assert_int_eq(router_link_route(link, NULL, "sm", NULL, NULL, stanza, sizeof(stanza), NULL,
	    err, sizeof(err)), 0);

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_refused_hello_reports_down_once_and_retries)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	s.secret = "wrong-secret-0000000000";
	s.secret_len = strlen(s.secret);
	s.backoff_min_ms = 50;
	struct router_link *link = new_link(loop, &s, &o);

	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.downs == 1, 2000));
	ck_assert_msg(strstr(o.down_reason, "not-authorized") != NULL, "%s", o.down_reason);
	ck_assert_msg(strstr(o.down_reason, "bad secret") != NULL, "%s", o.down_reason);
	ck_assert_int_eq(o.ups, 0);
	uint64_t t0 = now_ms();
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_HELLO, 0) == 3, 3000));
	/* The second try waited at least half the first delay, the third longer. */
	ck_assert_uint_ge(now_ms() - t0, 25 + 50);
	ck_assert_int_eq(o.downs, 1);
	ck_assert_int_eq(o.ups, 0);
	ck_assert(!router_link_is_up(link));

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_malformed_frame_from_the_router_drops_the_connection)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);

	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.ups == 1, 2000));
	/* A version we do not speak: nothing after it can be trusted. */
	static const unsigned char bad[12] = { 0, 0, 0, 12, FRAME_PROTOCOL_VERSION + 1, FRAME_PING,
	    0, 0, 0, 0, 0, 1 };
	buf_append(&fk->out, bad, sizeof(bad));
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, o.downs == 1, 2000));
	ck_assert_msg(strstr(o.down_reason, "bad-version") != NULL || strstr(o.down_reason, "version"),
	    "%s", o.down_reason);
	ck_assert(RUN_UNTIL(loop, o.ups == 2, 2000));

	/* A frame only a peer sends is a protocol error too. */
	fake_send_named(fk, FRAME_BIND, 0, "sm", NULL);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, o.downs == 2, 2000));
	ck_assert_msg(strstr(o.down_reason, "BIND") != NULL, "%s", o.down_reason);
	ck_assert_uint_eq(o.ngot, 0);

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_a_frame_before_hello_ok_is_refused)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);

	/* A router that sends a ROUTE before it has even read our HELLO. */
	fk->mute = true;
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, fk->accepts == 1 && fk->fd >= 0, 2000));
	fake_send_route(fk, "sm", "c2s.1", NULL, "<x/>", 4);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, o.downs == 1, 2000));
	ck_assert_msg(strstr(o.down_reason, "before HELLO_OK") != NULL, "%s", o.down_reason);
	ck_assert_uint_eq(o.ngot, 0);

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_large_stanzas_cross_intact_both_ways)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);
	size_t len = 1000 * 1000;
	char *stanza = xmalloc(len);
	char err[ERRLEN];

	for (size_t i = 0; i < len; i++)
		stanza[i] = (char)('a' + i % 26);
	fk->echo = true;
	router_link_bind(link, "c2s.1", 0);
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.bounds == 1, 2000));
	for (int i = 0; i < 3; i++)
		ck_assert_msg(router_link_route(link, NULL, "sm", NULL, NULL, stanza, len, NULL, err,
		    sizeof(err)) == 0, "%s", err);
	ck_assert(RUN_UNTIL(loop, o.ngot == 3, 5000));
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(o.got[i].stanza_len, len);
		ck_assert(memcmp(o.got[i].stanza, stanza, len) == 0);
	}
	ck_assert_uint_eq(router_link_queued(link), 0);

	free(stanza);
	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_frames_not_wholly_written_survive_a_broken_connection)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);
	char stanza[3000];
	char err[ERRLEN];
	enum { N = 2000 };
	uint32_t first = 0, last = 0;

	memset(stanza, 'z', sizeof(stanza));
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.ups == 1, 2000));
	/* The router stops reading: the socket fills, the rest waits in the link. */
	fk->stop_reading = true;
	for (int i = 0; i < N; i++) {
		uint32_t seq;
		ck_assert_msg(router_link_route(link, NULL, "sm", NULL, NULL, stanza, sizeof(stanza), &seq,
		    err, sizeof(err)) == 0, "%s", err);
		if (i == 0)
			first = seq;
		last = seq;
	}
	run_for(loop, 200);
	size_t left = router_link_queued(link);
	ck_assert_uint_gt(left, 0);

	/* The router dies with bytes unread; a new one takes over. */
	fake_free(&fk);
	ck_assert(RUN_UNTIL(loop, o.downs == 1, 2000));
	ck_assert_uint_ge(router_link_queued(link), left);
	fk = fake_start(loop, sock_path);
	ck_assert(RUN_UNTIL(loop, router_link_queued(link) == 0 && fake_count(fk, FRAME_ROUTE, 0) > 0,
	    5000));
	run_for(loop, 100);
	/* What arrives is every frame from some point on, whole (the fake
	 * would have failed on a torn one), in order, up to the last. */
	size_t n = fake_count(fk, FRAME_ROUTE, 0);
	const struct fake_frame *r0 = fake_find(fk, FRAME_ROUTE, 0, 0);
	ck_assert_uint_gt(r0->seq, first);
	for (size_t i = 0; i < n; i++) {
		const struct fake_frame *r = fake_find(fk, FRAME_ROUTE, 0, i);
		ck_assert_uint_eq(r->seq, r0->seq + i);
		ck_assert_uint_eq(r->stanza_len, sizeof(stanza));
	}
	ck_assert_uint_eq(r0->seq + n - 1, last);

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_unbind_is_sent_and_not_rebound_after_reconnect)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);

	router_link_bind(link, "c2s.1", 0);
	router_link_bind(link, "example.org", 0);
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.bounds == 2, 2000));
	ck_assert(router_link_unbind(link, "example.org"));
	ck_assert(!router_link_unbind(link, "example.org"));
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_UNBIND, 0) == 1, 2000));
	ck_assert_str_eq(fake_find(fk, FRAME_UNBIND, 0, 0)->name, "example.org");

	fake_free(&fk);
	ck_assert(RUN_UNTIL(loop, o.downs == 1, 2000));
	fk = fake_start(loop, sock_path);
	ck_assert(RUN_UNTIL(loop, o.bounds == 3, 3000));
	run_for(loop, 50);
	ck_assert_int_eq(fake_count(fk, FRAME_BIND, 0), 1);
	ck_assert_str_eq(fake_find(fk, FRAME_BIND, 0, 0)->name, "c2s.1");

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_link_may_be_freed_from_its_callback)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	struct router_link *link = new_link(loop, &s, &o);

	fk->echo = true;
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.ups == 1, 2000));
	o.free_from_frame = &link;
	route(link, "sm", "<a/>", NULL);
	route(link, "sm", "<b/>", NULL);
	ck_assert(RUN_UNTIL(loop, link == NULL, 2000));
	run_for(loop, 100);
	/* The second echo, whenever it arrived, was not delivered. */
	ck_assert_uint_eq(o.ngot, 1);
	ck_assert(RUN_UNTIL(loop, fk->closed_by_peer, 2000));
	ck_assert_uint_eq(loop_timer_count(loop), 0);

	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_reading_is_bounded_per_turn)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	s.read_per_turn = 4096;
	struct router_link *link = new_link(loop, &s, &o);
	char stanza[1000];

	memset(stanza, 'q', sizeof(stanza));
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.ups == 1, 2000));
	for (int i = 0; i < 100; i++)
		fake_send_route(fk, "sm", "c2s.1", NULL, stanza, sizeof(stanza));
	fake_flush(fk);
	ck_assert_uint_eq(buf_used(&fk->out), 0);
	/* One turn of the loop reads 4 KiB when the fd is ready and 4 KiB more
	 * from the zero timer that remembers there is more: at most eight of
	 * the hundred frames (of about 1 KiB each). */
	loop_run_once(loop, 1000);
	ck_assert_uint_ge(o.ngot, 1);
	ck_assert_uint_le(o.ngot, 8);
	ck_assert(RUN_UNTIL(loop, o.ngot == 100, 2000));

	/* Paused, it delivers nothing; resumed, everything. */
	router_link_set_reading(link, false);
	for (int i = 0; i < 10; i++)
		fake_send_route(fk, "sm", "c2s.1", NULL, stanza, sizeof(stanza));
	fake_flush(fk);
	run_for(loop, 100);
	ck_assert_uint_eq(o.ngot, 100);
	router_link_set_reading(link, true);
	ck_assert(RUN_UNTIL(loop, o.ngot == 110, 2000));

	router_link_free(&link);
	fake_free(&fk);
	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_failures_at_full_backoff_log_once)
{
	char log_path[PATH_MAX + 16];
	char err[ERRLEN];
	snprintf(log_path, sizeof(log_path), "%s/link.log", dir);
	ck_assert_msg(log_open("test", log_path, LOG_LEVEL_INFO, err, sizeof(err)) == 0, "%s", err);

	struct loop *loop = new_loop();
	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	s.backoff_min_ms = 10;
	s.backoff_max_ms = 20;
	struct router_link *link = new_link(loop, &s, &o);
	router_link_start(link);
	run_for(loop, 300); /* a dozen attempts or more */
	struct fake *fk = fake_start(loop, sock_path);
	ck_assert(RUN_UNTIL(loop, o.ups == 1, 2000));
	fake_free(&fk);
	ck_assert(RUN_UNTIL(loop, o.downs == 2, 2000));
	router_link_free(&link);
	log_close();

	FILE *f = fopen(log_path, "r");
	ck_assert_ptr_nonnull(f);
	char line[1024];
	int cannot = 0, up = 0, lost = 0, lines = 0;
	while (fgets(line, sizeof(line), f)) {
		lines++;
		if (strstr(line, "cannot connect"))
			cannot++;
		if (strstr(line, "up with router"))
			up++;
		if (strstr(line, "lost the router"))
			lost++;
	}
	fclose(f);
	ck_assert_int_eq(cannot, 1);
	ck_assert_int_eq(up, 1);
	ck_assert_int_eq(lost, 1);
	ck_assert_int_eq(lines, 3);
	ck_assert_int_eq(o.downs, 2);

	owner_free(&o);
	loop_free(&loop);
}
END_TEST

START_TEST(test_settings_are_checked)
{
	struct loop *loop = new_loop();
	char err[ERRLEN];
	struct router_link_settings s = unix_settings();

	s.host = "127.0.0.1";
	ck_assert_ptr_null(router_link_new(loop, &s, NULL, NULL, err, sizeof(err)));
	ck_assert_msg(strstr(err, "either") != NULL, "%s", err);

	s = unix_settings();
	s.secret_len = 0;
	ck_assert_ptr_null(router_link_new(loop, &s, NULL, NULL, err, sizeof(err)));
	ck_assert_msg(strstr(err, "secret") != NULL, "%s", err);

	s = unix_settings();
	s.max_frame = 65536;
	s.max_queue = 4096;
	ck_assert_ptr_null(router_link_new(loop, &s, NULL, NULL, err, sizeof(err)));
	ck_assert_msg(strstr(err, "max_queue") != NULL, "%s", err);

	s = unix_settings();
	s.socket_path = NULL;
	s.host = "127.0.0.1";
	s.port = 5348;
	ck_assert_ptr_null(router_link_new(loop, &s, NULL, NULL, err, sizeof(err)));
	ck_assert_msg(strstr(err, "TLS") != NULL, "%s", err);

	s = unix_settings();
	struct router_link *link = router_link_new(loop, &s, NULL, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(link);
	ck_assert_int_eq(router_link_route(link, NULL, "", NULL, NULL, "<a/>", 4, NULL, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(router_link_route(link, NULL, "sm", NULL, NULL, "", 0, NULL, err,
	    sizeof(err)), -1);
	ck_assert_uint_eq(router_link_queued(link), 0);
	router_link_free(&link);
	loop_free(&loop);
}
END_TEST

/* --- TLS over TCP ----------------------------------------------------------------- */

/* A self-signed certificate for router.test, written into the test dir. */
static void make_router_cert(char *cert_path, char *key_path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(key);
	X509 *cert = X509_new();
	X509_set_version(cert, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	X509_set_pubkey(cert, key);
	X509_NAME *name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)"router.test",
	    -1, -1, 0);
	X509_set_issuer_name(cert, name);
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:router.test");
	ck_assert_ptr_nonnull(ext);
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	ck_assert_int_gt(X509_sign(cert, key, EVP_sha256()), 0);

	snprintf(cert_path, PATH_MAX, "%s/router.pem", dir);
	snprintf(key_path, PATH_MAX, "%s/router.key", dir);
	FILE *f = fopen(cert_path, "w");
	ck_assert_ptr_nonnull(f);
	PEM_write_X509(f, cert);
	fclose(f);
	f = fopen(key_path, "w");
	ck_assert_ptr_nonnull(f);
	PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(cert);
	EVP_PKEY_free(key);
}

START_TEST(test_link_over_tcp_with_tls)
{
	char err[ERRLEN];
	char cert_path[PATH_MAX], key_path[PATH_MAX];

	ck_assert_msg(tls_library_init(err, sizeof(err)) == 0, "%s", err);
	make_router_cert(cert_path, key_path);
	struct tls_cert_settings cs = { .cert_file = cert_path, .key_file = key_path };
	struct tls_settings server = { .certs = &cs, .ncerts = 1 };
	struct tls_settings client = { .ca_file = cert_path, .verify_peer = TLS_VERIFY_REQUIRE };

	struct loop *loop = new_loop();
	struct fake *fk = fake_new(loop, sock_path);
	fk->tcp = true;
	fk->echo = true;
	fk->tls_ctx = tls_context_new_server(&server, err, sizeof(err));
	ck_assert_msg(fk->tls_ctx != NULL, "%s", err);
	fake_listen(fk);
	struct tls_context *cctx = tls_context_new_client(&client, err, sizeof(err));
	ck_assert_msg(cctx != NULL, "%s", err);

	struct owner o = { 0 };
	struct router_link_settings s = unix_settings();
	s.socket_path = NULL;
	s.host = "127.0.0.1";
	s.port = fk->port;
	s.tls = cctx;
	s.tls_name = "router.test";
	struct router_link *link = new_link(loop, &s, &o);
	router_link_bind(link, "c2s.1", 0);
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o.bounds == 1, 3000));
	ck_assert_str_eq(fake_find(fk, FRAME_HELLO, 0, 0)->secret, SECRET);
	route(link, "sm", "<presence/>", NULL);
	ck_assert(RUN_UNTIL(loop, o.ngot == 1, 3000));
	ck_assert_str_eq(o.got[0].stanza, "<presence/>");
	router_link_free(&link);

	/* A certificate for another name is refused, and said so. */
	struct owner o2 = { 0 };
	s.tls_name = "other.test";
	link = new_link(loop, &s, &o2);
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o2.downs == 1, 3000));
	ck_assert_msg(strstr(o2.down_reason, "TLS") != NULL, "%s", o2.down_reason);
	ck_assert_int_eq(o2.ups, 0);
	router_link_free(&link);

	tls_context_free(&cctx);
	struct tls_context *sctx = fk->tls_ctx;
	fake_free(&fk);
	tls_context_free(&sctx);
	owner_free(&o);
	owner_free(&o2);
	loop_free(&loop);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("router_link");
	TCase *tc = tcase_create("router_link");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_hello_carries_name_role_secret_and_pid);
	tcase_add_test(tc, test_binds_follow_hello_ok_and_are_confirmed);
	tcase_add_test(tc, test_refused_bind_is_reported_with_its_code);
	tcase_add_test(tc, test_frames_from_the_router_reach_the_frame_callback);
	tcase_add_test(tc, test_ping_is_answered_with_pong);
	tcase_add_test(tc, test_idle_link_pings_and_drops_a_silent_router);
	tcase_add_test(tc, test_router_restart_brings_hello_and_every_bind_again);
	tcase_add_test(tc, test_reconnect_backoff_doubles_up_to_its_limit);
	tcase_add_test(tc, test_frames_sent_while_down_are_flushed_in_order_after_binds);
	tcase_add_test(tc, test_full_queue_refuses_sends_and_reports_writable);
	tcase_add_test(tc, test_refused_hello_reports_down_once_and_retries);
	tcase_add_test(tc, test_malformed_frame_from_the_router_drops_the_connection);
	tcase_add_test(tc, test_a_frame_before_hello_ok_is_refused);
	tcase_add_test(tc, test_large_stanzas_cross_intact_both_ways);
	tcase_add_test(tc, test_frames_not_wholly_written_survive_a_broken_connection);
	tcase_add_test(tc, test_unbind_is_sent_and_not_rebound_after_reconnect);
	tcase_add_test(tc, test_link_may_be_freed_from_its_callback);
	tcase_add_test(tc, test_reading_is_bounded_per_turn);
	tcase_add_test(tc, test_failures_at_full_backoff_log_once);
	tcase_add_test(tc, test_settings_are_checked);
	tcase_add_test(tc, test_link_over_tcp_with_tls);
	suite_add_tcase(s, tc);
	return s;
}
