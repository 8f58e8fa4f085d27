/*
 * test_router_link_keep.c — the reliable hand-off of a router link
 * (common/router_link_keep.c; doc/component-protocol.md, "Kept frames")
 * against the fake router (fake_router.h), which plays both the router
 * and the peers behind it: it announces names (PEER_UP, PEER_DOWN), sends
 * ACKs and ERRORs as a receiver or the router would, and sends kept ROUTE
 * frames as another peer would. Each test says what the link wrote and
 * what its owner was given.
 *
 * As a sender: what is kept (KEPT), until when (ACK), what goes again
 * (RESENT) and when (reconnection, PEER_UP), what waits (an away
 * destination), and what comes back to the owner as an ERROR (REJECTED,
 * no-route, the hold time, a reclaim). As a receiver: a kept frame reaches
 * the owner once, acknowledgements are batched, a sender's memory is
 * forgotten at its PEER_DOWN.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_router.h"
#include "frame.h"
#include "loop.h"
#include "router_link.h"
#include "unit.h"

static char dir[200];
static char sock_path[240];

/* --- the owner ---------------------------------------------------------------- */

struct owner {
	int ups, downs, bounds;
	struct fake_got *got;
	size_t ngot;
	struct router_link *link;
	const char *reclaim_at_down;  /* router_link_reclaim(name) at its PEER_DOWN */
};

static void on_up(struct router_link *link, const char *router, void *arg)
{
	struct owner *o = arg;
	(void)link;
	(void)router;
	o->ups++;
}

static void on_down(struct router_link *link, const char *reason, void *arg)
{
	struct owner *o = arg;
	(void)link;
	(void)reason;
	o->downs++;
}

static void on_bound(struct router_link *link, const char *name, uint16_t flags, void *arg)
{
	struct owner *o = arg;
	(void)link;
	(void)name;
	(void)flags;
	o->bounds++;
}

static void on_frame(struct router_link *link, const struct frame *f, void *arg)
{
	struct owner *o = arg;
	fake_got_add(&o->got, &o->ngot, f);
	const struct fake_got *g = &o->got[o->ngot - 1];
	/* Not g->name: the ERRORs the reclaim gives back grow o->got, and
	 * router_link_reclaim() reads the name between its callbacks. */
	if (f->type == FRAME_PEER_DOWN && o->reclaim_at_down != NULL &&
	    strcmp(g->name, o->reclaim_at_down) == 0)
		router_link_reclaim(link, o->reclaim_at_down);
}

static const struct router_link_callbacks owner_callbacks = {
	.up = on_up,
	.down = on_down,
	.bound = on_bound,
	.frame = on_frame,
};

static void owner_free(struct owner *o)
{
	fake_got_free(o->got, o->ngot);
}

static size_t owner_count(const struct owner *o, int type)
{
	return fake_got_count(o->got, o->ngot, type);
}

static const struct fake_got *owner_find(const struct owner *o, int type, size_t nth)
{
	return fake_got_find(o->got, o->ngot, type, nth);
}

/* --- helpers ------------------------------------------------------------------ */

static struct router_link_settings keep_settings(void)
{
	struct router_link_settings s = {
		.socket_path = sock_path,
		.name = "c2s.1",
		.role = "c2s",
		.secret = FAKE_SECRET,
		.secret_len = strlen(FAKE_SECRET),
		.backoff_min_ms = 20,
		.backoff_max_ms = 100,
		.keep = true,
	};
	return s;
}

static struct loop *new_loop(void)
{
	char err[ERRLEN];
	struct loop *loop = loop_new(err, sizeof(err));
	ck_assert_msg(loop != NULL, "%s", err);
	return loop;
}

/* A link bound to its own name, up with the fake. */
static struct router_link *up_link(struct loop *loop, const struct router_link_settings *s,
    struct owner *o)
{
	char err[ERRLEN];
	struct router_link *link = router_link_new(loop, s, &owner_callbacks, o, err, sizeof(err));
	ck_assert_msg(link != NULL, "%s", err);
	o->link = link;
	router_link_bind(link, s->name, 0);
	router_link_start(link);
	ck_assert(RUN_UNTIL(loop, o->bounds >= 1, 2000));
	return link;
}

static uint32_t route(struct router_link *link, const char *to, const char *stanza)
{
	char err[ERRLEN];
	uint32_t seq = 0;
	ck_assert_msg(router_link_route(link, NULL, to, NULL, "s1", stanza, strlen(stanza), &seq,
	    err, sizeof(err)) == 0, "%s", err);
	return seq;
}

/* The router announces a name (or its going) and the owner has heard it. */
static void announce(struct loop *loop, struct fake *fk, struct owner *o, enum frame_type type,
    uint16_t flags, const char *name)
{
	size_t before = owner_count(o, type);
	fake_send_named(fk, type, flags, name, NULL);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, owner_count(o, type) == before + 1, 2000));
}

/* The nth ROUTE the fake received with this seq (on any connection). */
static const struct fake_frame *route_seq(const struct fake *fk, uint32_t seq, size_t nth)
{
	for (size_t i = 0; i < fk->nseen; i++)
		if (fk->seen[i].type == FRAME_ROUTE && fk->seen[i].seq == seq && nth-- == 0)
			return &fk->seen[i];
	return NULL;
}

static size_t route_seq_count(const struct fake *fk, uint32_t seq)
{
	size_t n = 0;
	while (route_seq(fk, seq, n) != NULL)
		n++;
	return n;
}

/* Index in fk->seen of a frame record, to compare what came first. */
static size_t at(const struct fake *fk, const struct fake_frame *r)
{
	ck_assert_ptr_nonnull(r);
	return (size_t)(r - fk->seen);
}

static size_t kept(const struct router_link *link)
{
	return router_link_kept(link, NULL);
}

/* --- fixture ------------------------------------------------------------------ */

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "%s/parley-keep-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/router.sock", dir);
}

static void teardown(void)
{
	unlink(sock_path);
	rmdir(dir);
}

#define TEARDOWN(link, fk, o, loop) do { \
	router_link_free(&(link)); \
	fake_free(&(fk)); \
	owner_free(&(o)); \
	loop_free(&(loop)); \
} while (0)

/* --- sender: kept until acknowledged -------------------------------------------- */

START_TEST(test_kept_route_is_flagged_and_counted_until_its_ack)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);
	size_t bytes = 1;

	ck_assert_uint_eq(router_link_kept(link, &bytes), 0);
	ck_assert_uint_eq(bytes, 0);
	uint32_t a = route(link, "sm", "<message id='a'/>");
	uint32_t b = route(link, "sm", "<message id='b'/>");
	ck_assert_uint_eq(b, a + 1);
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 2, 2000));
	ck_assert_uint_eq(route_seq(fk, a, 0)->flags, FRAME_F_KEPT);
	ck_assert_uint_eq(route_seq(fk, b, 0)->flags, FRAME_F_KEPT);
	ck_assert_uint_eq(router_link_kept(link, &bytes), 2);
	/* Each whole frame is kept: header, from, to, session-id, stanza. */
	ck_assert_uint_ge(bytes, 2 * (12 + strlen("<message id='a'/>")));

	/* An ACK for something else changes nothing. */
	fake_send_ack(fk, 0, "sm", "c2s.1", (uint32_t[]){ b + 100 }, 1);
	fake_flush(fk);
	run_for(loop, 50);
	ck_assert_uint_eq(kept(link), 2);
	/* The ACK for a: one left. */
	fake_send_ack(fk, 0, "sm", "c2s.1", &a, 1);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, kept(link) == 1, 2000));
	size_t one;
	router_link_kept(link, &one);
	ck_assert_uint_lt(one, bytes);
	fake_send_ack(fk, 0, "sm", "c2s.1", &b, 1);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, kept(link) == 0, 2000));
	router_link_kept(link, &bytes);
	ck_assert_uint_eq(bytes, 0);
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 0);

	/* Acknowledged frames do not come again after a reconnection. */
	fake_close_conn(fk);
	ck_assert(RUN_UNTIL(loop, o.ups == 2 && fake_count(fk, FRAME_BIND, 2) == 1, 3000));
	run_for(loop, 100);
	ck_assert_uint_eq(fake_count(fk, FRAME_ROUTE, 0), 2);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_several_acks_in_one_frame_release_several)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);
	uint32_t q[4];

	for (int i = 0; i < 4; i++)
		q[i] = route(link, "sm", "<message/>");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 4, 2000));
	fake_send_ack(fk, 0, "sm", "c2s.1", (uint32_t[]){ q[2], q[0], q[3] }, 3);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, kept(link) == 1, 2000));
	fake_send_ack(fk, 0, "sm", "c2s.1", &q[1], 1);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, kept(link) == 0, 2000));

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_rejected_ack_gives_the_frame_back_as_an_error)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);

	uint32_t a = route(link, "sm", "<message id='keep'/>");
	uint32_t b = route(link, "sm", "<message id='reject'/>");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 2, 2000));
	fake_send_ack(fk, FRAME_F_REJECTED, "sm", "c2s.1", &b, 1);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, owner_count(&o, FRAME_ERROR) == 1, 2000));
	const struct fake_got *e = owner_find(&o, FRAME_ERROR, 0);
	ck_assert_uint_eq(e->code, FRAME_ERR_REJECTED);
	ck_assert_uint_eq(e->ref_seq, b);
	ck_assert_str_eq(e->ref_to, "sm");
	ck_assert_str_eq(e->sid, "s1");
	ck_assert_str_eq(e->stanza, "<message id='reject'/>");
	ck_assert_uint_eq(kept(link), 1);
	/* The other is still kept, and goes again after a reconnection. */
	fake_close_conn(fk);
	ck_assert(RUN_UNTIL(loop, route_seq_count(fk, a) == 2, 3000));
	run_for(loop, 50);
	ck_assert_uint_eq(route_seq_count(fk, b), 1);
	/* A second REJECTED for the same seq finds nothing: no second ERROR. */
	fake_send_ack(fk, FRAME_F_REJECTED, "sm", "c2s.1", &b, 1);
	fake_flush(fk);
	run_for(loop, 50);
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 1);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_undeliverable_kept_frame_comes_back_once_with_its_stanza)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);

	uint32_t a = route(link, "nowhere.example", "<message id='lost'/>");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 1, 2000));
	/* The router's ERROR carries no stanza; the owner's copy does. */
	fake_send_error(fk, FRAME_ERR_NO_ROUTE, "nobody is there", a, "nowhere.example");
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, owner_count(&o, FRAME_ERROR) >= 1, 2000));
	run_for(loop, 50);
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 1);
	const struct fake_got *e = owner_find(&o, FRAME_ERROR, 0);
	ck_assert_uint_eq(e->code, FRAME_ERR_NO_ROUTE);
	ck_assert_uint_eq(e->ref_seq, a);
	ck_assert_str_eq(e->ref_to, "nowhere.example");
	ck_assert_str_eq(e->sid, "s1");
	ck_assert_str_eq(e->stanza, "<message id='lost'/>");
	ck_assert_uint_eq(kept(link), 0);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

/* --- sender: sent again ------------------------------------------------------------ */

START_TEST(test_reconnection_resends_unacked_after_binds_in_seq_order)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);

	/* "sm" was never announced: the router connection is the only way. */
	uint32_t a = route(link, "sm", "<a/>");
	uint32_t b = route(link, "sm", "<b/>");
	uint32_t c = route(link, "sm", "<c/>");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 1) == 3, 2000));
	fake_send_ack(fk, 0, "sm", "c2s.1", &b, 1);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, kept(link) == 2, 2000));

	/* The router goes; frames made meanwhile were never written. */
	fake_stop(fk);
	ck_assert(RUN_UNTIL(loop, o.downs == 1, 2000));
	uint32_t d = route(link, "sm", "<d/>");
	uint32_t e = route(link, "sm", "<e/>");
	ck_assert_uint_eq(kept(link), 4);
	fake_listen(fk);
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 2) == 4, 3000));
	run_for(loop, 100);
	ck_assert_uint_eq(fake_count(fk, FRAME_ROUTE, 2), 4);

	/* HELLO, the BIND, then a and c again (RESENT), then d and e
	 * (written for the first time: not RESENT), in seq order. */
	const struct fake_frame *bind = fake_find(fk, FRAME_BIND, 2, 0);
	ck_assert_ptr_nonnull(bind);
	uint32_t want[4] = { a, c, d, e };
	uint16_t flags[4] = { FRAME_F_KEPT | FRAME_F_RESENT, FRAME_F_KEPT | FRAME_F_RESENT,
	    FRAME_F_KEPT, FRAME_F_KEPT };
	for (size_t i = 0; i < 4; i++) {
		const struct fake_frame *r = fake_find(fk, FRAME_ROUTE, 2, i);
		ck_assert_uint_eq(r->seq, want[i]);
		ck_assert_msg(r->flags == flags[i], "frame %zu (seq %u): flags 0x%x, want 0x%x", i,
		    r->seq, r->flags, flags[i]);
		ck_assert_uint_gt(at(fk, r), at(fk, bind));
	}
	ck_assert_str_eq(fake_find(fk, FRAME_ROUTE, 2, 0)->stanza, "<a/>");
	ck_assert_str_eq(fake_find(fk, FRAME_ROUTE, 2, 3)->stanza, "<e/>");
	ck_assert_uint_eq(kept(link), 4);
	fake_send_ack(fk, 0, "sm", "c2s.1", (uint32_t[]){ a, c, d, e }, 4);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, kept(link) == 0, 2000));
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 0);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_frames_unwritten_at_a_break_go_again_without_resent)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);
	char stanza[3000];
	char err[ERRLEN];
	enum { N = 2000 };
	uint32_t first = 0;

	memset(stanza, 'k', sizeof(stanza));
	/* The router stops reading: some frames reach its socket, the rest
	 * wait in the link, one of them maybe half written. */
	fk->stop_reading = true;
	for (int i = 0; i < N; i++) {
		uint32_t seq;
		ck_assert_msg(router_link_route(link, NULL, "sm", NULL, NULL, stanza, sizeof(stanza),
		    &seq, err, sizeof(err)) == 0, "%s", err);
		if (i == 0)
			first = seq;
		ck_assert_uint_eq(seq, first + (uint32_t)i);
	}
	run_for(loop, 200);
	ck_assert_uint_gt(router_link_queued(link), 0);
	ck_assert_uint_eq(kept(link), N);

	/* That router dies unread; another takes over. */
	fake_free(&fk);
	ck_assert(RUN_UNTIL(loop, o.downs == 1, 2000));
	fk = fake_start(loop, sock_path);
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == N, 5000));
	run_for(loop, 100);
	ck_assert_uint_eq(fake_count(fk, FRAME_ROUTE, 0), N);
	/* Every frame once, in seq order; those written whole before the
	 * break are RESENT, those that were not are not. */
	size_t resent = 0;
	for (size_t i = 0; i < N; i++) {
		const struct fake_frame *r = fake_find(fk, FRAME_ROUTE, 0, i);
		ck_assert_uint_eq(r->seq, first + i);
		ck_assert_uint_eq(r->stanza_len, sizeof(stanza));
		ck_assert(r->flags & FRAME_F_KEPT);
		if (r->flags & FRAME_F_RESENT) {
			ck_assert_msg(resent == i, "RESENT frame %zu after a first-time one", i);
			resent++;
		}
	}
	ck_assert_uint_gt(resent, 0);
	ck_assert_uint_lt(resent, N);
	ck_assert_uint_eq(kept(link), N);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_announced_destination_waits_for_the_new_routers_peer_up)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);

	announce(loop, fk, &o, FRAME_PEER_UP, 0, "sm");
	uint32_t a = route(link, "sm", "<a/>");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 1) == 1, 2000));
	/* The router restarts: "sm" is away until the new one announces it. */
	fake_close_conn(fk);
	ck_assert(RUN_UNTIL(loop, o.ups == 2, 3000));
	uint32_t b = route(link, "sm", "<b/>");
	run_for(loop, 150);
	ck_assert_uint_eq(fake_count(fk, FRAME_ROUTE, 2), 0);
	ck_assert_uint_eq(kept(link), 2);
	announce(loop, fk, &o, FRAME_PEER_UP, 0, "sm");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 2) == 2, 2000));
	const struct fake_frame *r0 = fake_find(fk, FRAME_ROUTE, 2, 0);
	const struct fake_frame *r1 = fake_find(fk, FRAME_ROUTE, 2, 1);
	ck_assert_uint_eq(r0->seq, a);
	ck_assert_uint_eq(r0->flags, FRAME_F_KEPT | FRAME_F_RESENT);
	ck_assert_uint_eq(r1->seq, b);
	ck_assert_uint_eq(r1->flags, FRAME_F_KEPT);
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 0);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_peer_down_holds_frames_until_peer_up_then_resends_in_order)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);

	announce(loop, fk, &o, FRAME_PEER_UP, 0, "sm");
	uint32_t a = route(link, "sm", "<a/>");
	uint32_t b = route(link, "sm", "<b/>");
	uint32_t other = route(link, "c2s.2", "<other/>");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 3, 2000));

	announce(loop, fk, &o, FRAME_PEER_DOWN, 0, "sm");
	/* Made while sm is down: they wait in the link, not in the router. */
	uint32_t c = route(link, "sm", "<c/>");
	uint32_t d = route(link, "sm", "<d/>");
	/* Another destination is not held up. */
	uint32_t other2 = route(link, "c2s.2", "<other2/>");
	ck_assert(RUN_UNTIL(loop, route_seq_count(fk, other2) == 1, 2000));
	run_for(loop, 150);
	ck_assert_uint_eq(fake_count(fk, FRAME_ROUTE, 0), 4);
	ck_assert_uint_eq(route_seq_count(fk, c), 0);
	ck_assert_uint_eq(route_seq_count(fk, d), 0);
	ck_assert_uint_eq(kept(link), 6);

	announce(loop, fk, &o, FRAME_PEER_UP, 0, "sm");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 8, 2000));
	run_for(loop, 100);
	ck_assert_uint_eq(fake_count(fk, FRAME_ROUTE, 0), 8);
	uint32_t want[4] = { a, b, c, d };
	uint16_t flags[4] = { FRAME_F_KEPT | FRAME_F_RESENT, FRAME_F_KEPT | FRAME_F_RESENT,
	    FRAME_F_KEPT, FRAME_F_KEPT };
	for (size_t i = 0; i < 4; i++) {
		const struct fake_frame *r = fake_find(fk, FRAME_ROUTE, 0, 4 + i);
		ck_assert_uint_eq(r->seq, want[i]);
		ck_assert_msg(r->flags == flags[i], "frame %zu (seq %u): flags 0x%x, want 0x%x", i,
		    r->seq, r->flags, flags[i]);
		ck_assert_str_eq(r->to, "sm");
	}
	/* Nothing for c2s.2 went again: it never went down. */
	ck_assert_uint_eq(route_seq_count(fk, other), 1);
	ck_assert_uint_eq(route_seq_count(fk, other2), 1);
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 0);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_error_away_parks_the_frame_until_peer_up)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);

	uint32_t a = route(link, "sm", "<a/>");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 1, 2000));
	fake_send_error(fk, FRAME_ERR_AWAY, "sm is restarting", a, "sm");
	fake_flush(fk);
	run_for(loop, 150);
	/* Not the owner's business: it waits. */
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 0);
	ck_assert_uint_eq(kept(link), 1);
	ck_assert_uint_eq(fake_count(fk, FRAME_ROUTE, 0), 1);
	/* Another name coming up does not release it. */
	announce(loop, fk, &o, FRAME_PEER_UP, 0, "c2s.2");
	run_for(loop, 100);
	ck_assert_uint_eq(fake_count(fk, FRAME_ROUTE, 0), 1);
	announce(loop, fk, &o, FRAME_PEER_UP, 0, "sm");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 2, 2000));
	const struct fake_frame *r = fake_find(fk, FRAME_ROUTE, 0, 1);
	ck_assert_uint_eq(r->seq, a);
	ck_assert_uint_eq(r->flags, FRAME_F_KEPT | FRAME_F_RESENT);
	ck_assert_uint_eq(kept(link), 1);
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 0);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_parked_frame_past_the_hold_time_comes_back_as_away)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	s.hold_ms = 300;
	struct router_link *link = up_link(loop, &s, &o);

	announce(loop, fk, &o, FRAME_PEER_UP, 0, "sm");
	announce(loop, fk, &o, FRAME_PEER_DOWN, 0, "sm");
	uint64_t t0 = now_ms();
	uint32_t a = route(link, "sm", "<message id='a'/>");
	run_for(loop, 150);
	uint32_t b = route(link, "sm", "<message id='b'/>");
	uint64_t t1 = now_ms();
	ck_assert_uint_eq(kept(link), 2);

	/* a comes back after the hold time, alone: b was parked later. */
	ck_assert(RUN_UNTIL(loop, owner_count(&o, FRAME_ERROR) >= 1, 3000));
	uint64_t back_a = now_ms();
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 1);
	ck_assert_uint_ge(back_a - t0, 270);   /* the loop's clock may lag a little */
	const struct fake_got *e = owner_find(&o, FRAME_ERROR, 0);
	ck_assert_uint_eq(e->code, FRAME_ERR_AWAY);
	ck_assert_uint_eq(e->ref_seq, a);
	ck_assert_str_eq(e->ref_to, "sm");
	ck_assert_str_eq(e->sid, "s1");
	ck_assert_str_eq(e->stanza, "<message id='a'/>");
	ck_assert_uint_eq(kept(link), 1);

	ck_assert(RUN_UNTIL(loop, owner_count(&o, FRAME_ERROR) == 2, 3000));
	ck_assert_uint_ge(now_ms() - t1, 270);
	e = owner_find(&o, FRAME_ERROR, 1);
	ck_assert_uint_eq(e->code, FRAME_ERR_AWAY);
	ck_assert_uint_eq(e->ref_seq, b);
	ck_assert_uint_eq(kept(link), 0);

	/* Given back means gone: sm's return sends nothing. */
	announce(loop, fk, &o, FRAME_PEER_UP, 0, "sm");
	run_for(loop, 100);
	ck_assert_uint_eq(fake_count(fk, FRAME_ROUTE, 0), 0);

	/* The same for a frame the router answered `away`. */
	uint32_t c = route(link, "sm", "<message id='c'/>");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 1, 2000));
	fake_send_error(fk, FRAME_ERR_AWAY, NULL, c, "sm");
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, owner_count(&o, FRAME_ERROR) == 3, 3000));
	e = owner_find(&o, FRAME_ERROR, 2);
	ck_assert_uint_eq(e->code, FRAME_ERR_AWAY);
	ck_assert_uint_eq(e->ref_seq, c);
	ck_assert_str_eq(e->stanza, "<message id='c'/>");
	ck_assert_uint_eq(kept(link), 0);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_reclaim_gives_back_unacked_frames_in_order)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	s.name = "sm";
	s.role = "sm";
	struct router_link *link = up_link(loop, &s, &o);

	announce(loop, fk, &o, FRAME_PEER_UP, 0, "c2s.2");
	announce(loop, fk, &o, FRAME_PEER_UP, 0, "c2s.3");
	uint32_t a = route(link, "c2s.2", "<a/>");
	uint32_t b = route(link, "c2s.2", "<b/>");
	uint32_t c = route(link, "c2s.2", "<c/>");
	uint32_t keep3 = route(link, "c2s.3", "<three/>");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 4, 2000));
	fake_send_ack(fk, 0, "c2s.2", "sm", &b, 1);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, kept(link) == 3, 2000));

	/* c2s.2 goes for good; the owner takes its frames back at once. */
	o.reclaim_at_down = "c2s.2";
	announce(loop, fk, &o, FRAME_PEER_DOWN, 0, "c2s.2");
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 2);
	const struct fake_got *e0 = owner_find(&o, FRAME_ERROR, 0);
	const struct fake_got *e1 = owner_find(&o, FRAME_ERROR, 1);
	ck_assert_uint_eq(e0->code, FRAME_ERR_PEER_GONE);
	ck_assert_uint_eq(e0->ref_seq, a);
	ck_assert_str_eq(e0->ref_to, "c2s.2");
	ck_assert_str_eq(e0->sid, "s1");
	ck_assert_str_eq(e0->stanza, "<a/>");
	ck_assert_uint_eq(e1->code, FRAME_ERR_PEER_GONE);
	ck_assert_uint_eq(e1->ref_seq, c);
	ck_assert_str_eq(e1->stanza, "<c/>");
	ck_assert_uint_eq(kept(link), 1);

	/* Its next instance gets only what is sent to it from now on. */
	uint32_t d = route(link, "c2s.2", "<d/>");
	run_for(loop, 100);
	ck_assert_uint_eq(route_seq_count(fk, d), 0);
	announce(loop, fk, &o, FRAME_PEER_UP, 0, "c2s.2");
	ck_assert(RUN_UNTIL(loop, route_seq_count(fk, d) == 1, 2000));
	run_for(loop, 100);
	ck_assert_uint_eq(route_seq_count(fk, a), 1);
	ck_assert_uint_eq(route_seq_count(fk, c), 1);
	ck_assert_uint_eq(route_seq(fk, d, 0)->flags, FRAME_F_KEPT);
	/* Nor after a reconnection. */
	fake_close_conn(fk);
	ck_assert(RUN_UNTIL(loop, o.ups == 2, 3000));
	announce(loop, fk, &o, FRAME_PEER_UP, 0, "c2s.2");
	announce(loop, fk, &o, FRAME_PEER_UP, 0, "c2s.3");
	ck_assert(RUN_UNTIL(loop, route_seq_count(fk, keep3) == 2 && route_seq_count(fk, d) == 2,
	    2000));
	run_for(loop, 100);
	ck_assert_uint_eq(route_seq_count(fk, a), 1);
	ck_assert_uint_eq(route_seq_count(fk, c), 1);
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 2);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_reclaim_takes_unwritten_frames_out_of_the_queue)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	s.name = "sm";
	s.role = "sm";
	struct router_link *link = up_link(loop, &s, &o);

	uint32_t a = route(link, "c2s.2", "<a/>");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 1, 2000));
	/* b and c are queued, not yet written (writes wait for the loop). */
	uint32_t b = route(link, "c2s.2", "<b/>");
	uint32_t x = route(link, "c2s.3", "<x/>");
	uint32_t c = route(link, "c2s.2", "<c/>");
	ck_assert_uint_gt(router_link_queued(link), 0);
	router_link_reclaim(link, "c2s.2");
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 3);
	ck_assert_uint_eq(owner_find(&o, FRAME_ERROR, 0)->ref_seq, a);
	ck_assert_uint_eq(owner_find(&o, FRAME_ERROR, 1)->ref_seq, b);
	ck_assert_uint_eq(owner_find(&o, FRAME_ERROR, 2)->ref_seq, c);
	for (size_t i = 0; i < 3; i++)
		ck_assert_uint_eq(owner_find(&o, FRAME_ERROR, i)->code, FRAME_ERR_PEER_GONE);
	ck_assert_uint_eq(kept(link), 1);
	ck_assert(RUN_UNTIL(loop, route_seq_count(fk, x) == 1, 2000));
	run_for(loop, 100);
	ck_assert_uint_eq(route_seq_count(fk, b), 0);
	ck_assert_uint_eq(route_seq_count(fk, c), 0);
	ck_assert_uint_eq(router_link_queued(link), 0);
	/* A reclaim with nothing to give back gives nothing. */
	router_link_reclaim(link, "c2s.2");
	router_link_reclaim(link, "nobody");
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 3);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_frames_to_a_shared_name_are_not_kept)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);

	announce(loop, fk, &o, FRAME_PEER_UP, FRAME_F_SHARED, "auth");
	uint32_t a = route(link, "auth", "<auth/>");
	uint32_t m = route(link, "sm", "<sm/>");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 2, 2000));
	ck_assert_uint_eq(route_seq(fk, a, 0)->flags, 0);
	ck_assert_uint_eq(route_seq(fk, m, 0)->flags, FRAME_F_KEPT);
	ck_assert_uint_eq(kept(link), 1);
	/* Not sent again after a reconnection either. */
	fake_close_conn(fk);
	ck_assert(RUN_UNTIL(loop, route_seq_count(fk, m) == 2, 3000));
	run_for(loop, 100);
	ck_assert_uint_eq(route_seq_count(fk, a), 1);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_with_keep_off_nothing_is_kept)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	s.keep = false;
	struct router_link *link = up_link(loop, &s, &o);
	size_t bytes = 1;

	announce(loop, fk, &o, FRAME_PEER_UP, 0, "sm");
	uint32_t a = route(link, "sm", "<a/>");
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 1, 2000));
	ck_assert_uint_eq(route_seq(fk, a, 0)->flags, 0);
	ck_assert_uint_eq(router_link_kept(link, &bytes), 0);
	ck_assert_uint_eq(bytes, 0);
	/* A PEER_DOWN/UP, a reconnection: nothing goes again. */
	announce(loop, fk, &o, FRAME_PEER_DOWN, 0, "sm");
	uint32_t b = route(link, "sm", "<b/>");
	ck_assert(RUN_UNTIL(loop, route_seq_count(fk, b) == 1, 2000));
	announce(loop, fk, &o, FRAME_PEER_UP, 0, "sm");
	fake_close_conn(fk);
	ck_assert(RUN_UNTIL(loop, o.ups == 2, 3000));
	run_for(loop, 100);
	ck_assert_uint_eq(fake_count(fk, FRAME_ROUTE, 0), 2);
	/* An ERROR for it is the router's, passed on as it came. */
	fake_send_error(fk, FRAME_ERR_NO_ROUTE, "nobody", a, "sm");
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, owner_count(&o, FRAME_ERROR) == 1, 2000));
	ck_assert_uint_eq(owner_find(&o, FRAME_ERROR, 0)->ref_seq, a);
	ck_assert_uint_eq(owner_find(&o, FRAME_ERROR, 0)->stanza_len, 0);
	router_link_reclaim(link, "sm");
	ck_assert_uint_eq(owner_count(&o, FRAME_ERROR), 1);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

/* --- receiver -------------------------------------------------------------------------- */

START_TEST(test_kept_frame_reaches_the_owner_once_and_a_copy_is_acked_again)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);
	char err[ERRLEN];

	fake_send_route_as(fk, FRAME_F_KEPT, 500, "sm", "c2s.1", "s1", "<m/>", 4);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, owner_count(&o, FRAME_ROUTE) == 1, 2000));
	ck_assert_uint_eq(owner_find(&o, FRAME_ROUTE, 0)->seq, 500);
	ck_assert_uint_eq(owner_find(&o, FRAME_ROUTE, 0)->flags, FRAME_F_KEPT);

	/* A copy while the owner still has it: dropped, nothing answered. */
	fake_send_route_as(fk, FRAME_F_KEPT | FRAME_F_RESENT, 500, "sm", "c2s.1", "s1", "<m/>", 4);
	fake_flush(fk);
	run_for(loop, 150);
	ck_assert_uint_eq(owner_count(&o, FRAME_ROUTE), 1);
	ck_assert_uint_eq(fake_count(fk, FRAME_ACK, 0), 0);

	/* The owner is done with it. */
	ck_assert_msg(router_link_ack(link, "c2s.1", "sm", (uint32_t[]){ 500 }, 1, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ACK, 0) == 1, 2000));
	const struct fake_frame *ack = fake_find(fk, FRAME_ACK, 0, 0);
	ck_assert_str_eq(ack->from, "c2s.1");
	ck_assert_str_eq(ack->to, "sm");
	ck_assert_uint_eq(ack->flags, 0);
	ck_assert_uint_eq(ack->nack, 1);
	ck_assert_uint_eq(ack->ack[0], 500);

	/* A copy now: not the owner's again, but acknowledged again by the link. */
	fake_send_route_as(fk, FRAME_F_KEPT | FRAME_F_RESENT, 500, "sm", "c2s.1", "s1", "<m/>", 4);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ACK, 0) == 2, 2000));
	ack = fake_find(fk, FRAME_ACK, 0, 1);
	ck_assert_str_eq(ack->from, "c2s.1");
	ck_assert_str_eq(ack->to, "sm");
	ck_assert_uint_eq(ack->flags, 0);
	ck_assert_uint_eq(ack->nack, 1);
	ck_assert_uint_eq(ack->ack[0], 500);
	run_for(loop, 50);
	ck_assert_uint_eq(owner_count(&o, FRAME_ROUTE), 1);

	/* A frame that is not kept is not remembered: each copy is passed on. */
	fake_send_route_as(fk, 0, 501, "sm", "c2s.1", NULL, "<n/>", 4);
	fake_send_route_as(fk, 0, 501, "sm", "c2s.1", NULL, "<n/>", 4);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, owner_count(&o, FRAME_ROUTE) == 3, 2000));

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_acks_of_one_turn_leave_as_one_frame_after_the_effects)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);
	char err[ERRLEN];

	for (uint32_t q = 600; q < 604; q++)
		fake_send_route_as(fk, FRAME_F_KEPT, q, "sm", "c2s.1", NULL, "<m/>", 4);
	fake_send_route_as(fk, FRAME_F_KEPT, 77, "c2s.9", "c2s.1", NULL, "<p/>", 4);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, owner_count(&o, FRAME_ROUTE) == 5, 2000));

	/* In one turn: an effect, then three acknowledgements for sm, one for
	 * c2s.9, and a rejection. */
	uint32_t effect = route(link, "c2s.2", "<effect/>");
	ck_assert(router_link_ack(link, NULL, "sm", (uint32_t[]){ 600 }, 1, err, sizeof(err)) == 0);
	ck_assert(router_link_ack(link, "c2s.1", "sm", (uint32_t[]){ 601, 603 }, 2, err,
	    sizeof(err)) == 0);
	ck_assert(router_link_ack(link, "c2s.1", "c2s.9", (uint32_t[]){ 77 }, 1, err,
	    sizeof(err)) == 0);
	ck_assert(router_link_reject(link, "c2s.1", "sm", 602, err, sizeof(err)) == 0);
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ACK, 0) == 3, 2000));
	run_for(loop, 100);
	ck_assert_uint_eq(fake_count(fk, FRAME_ACK, 0), 3);

	const struct fake_frame *to_sm = NULL, *to_9 = NULL, *rejected = NULL;
	for (size_t i = 0; i < 3; i++) {
		const struct fake_frame *a = fake_find(fk, FRAME_ACK, 0, i);
		ck_assert_str_eq(a->from, "c2s.1");
		/* The effect left first, in the same write. */
		ck_assert_uint_gt(at(fk, a), at(fk, route_seq(fk, effect, 0)));
		if (a->flags & FRAME_F_REJECTED)
			rejected = a;
		else if (strcmp(a->to, "sm") == 0)
			to_sm = a;
		else
			to_9 = a;
	}
	ck_assert_ptr_nonnull(to_sm);
	ck_assert_uint_eq(to_sm->nack, 3);
	ck_assert_uint_eq(to_sm->ack[0], 600);
	ck_assert_uint_eq(to_sm->ack[1], 601);
	ck_assert_uint_eq(to_sm->ack[2], 603);
	ck_assert_ptr_nonnull(to_9);
	ck_assert_str_eq(to_9->to, "c2s.9");
	ck_assert_uint_eq(to_9->nack, 1);
	ck_assert_uint_eq(to_9->ack[0], 77);
	ck_assert_ptr_nonnull(rejected);
	ck_assert_str_eq(rejected->to, "sm");
	ck_assert_uint_eq(rejected->nack, 1);
	ck_assert_uint_eq(rejected->ack[0], 602);

	/* Acknowledging nothing, or with a bad name, is refused. */
	ck_assert_int_eq(router_link_ack(link, NULL, "sm", (uint32_t[]){ 1 }, 0, err, sizeof(err)), -1);
	ck_assert_int_eq(router_link_ack(link, NULL, "", (uint32_t[]){ 1 }, 1, err, sizeof(err)), -1);
	run_for(loop, 50);
	ck_assert_uint_eq(fake_count(fk, FRAME_ACK, 0), 3);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_peer_down_of_a_sender_forgets_its_frames)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);
	char err[ERRLEN];

	announce(loop, fk, &o, FRAME_PEER_UP, 0, "sm");
	fake_send_route_as(fk, FRAME_F_KEPT, 700, "sm", "c2s.1", NULL, "<m/>", 4);
	fake_send_route_as(fk, FRAME_F_KEPT, 701, "sm", "c2s.1", NULL, "<n/>", 4);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, owner_count(&o, FRAME_ROUTE) == 2, 2000));
	ck_assert(router_link_ack(link, NULL, "sm", (uint32_t[]){ 700 }, 1, err, sizeof(err)) == 0);
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ACK, 0) == 1, 2000));

	/* sm restarts: its new instance's frames are new, whatever their seq. */
	announce(loop, fk, &o, FRAME_PEER_DOWN, 0, "sm");
	announce(loop, fk, &o, FRAME_PEER_UP, 0, "sm");
	fake_send_route_as(fk, FRAME_F_KEPT | FRAME_F_RESENT, 700, "sm", "c2s.1", NULL, "<m2/>", 5);
	fake_send_route_as(fk, FRAME_F_KEPT | FRAME_F_RESENT, 701, "sm", "c2s.1", NULL, "<n2/>", 5);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, owner_count(&o, FRAME_ROUTE) == 4, 2000));
	ck_assert_str_eq(owner_find(&o, FRAME_ROUTE, 2)->stanza, "<m2/>");
	ck_assert_str_eq(owner_find(&o, FRAME_ROUTE, 3)->stanza, "<n2/>");
	run_for(loop, 50);
	ck_assert_uint_eq(fake_count(fk, FRAME_ACK, 0), 1);

	TEARDOWN(link, fk, o, loop);
}
END_TEST

START_TEST(test_kept_frame_copy_after_a_router_restart_is_recognised)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 };
	struct router_link_settings s = keep_settings();
	struct router_link *link = up_link(loop, &s, &o);
	char err[ERRLEN];

	fake_send_route_as(fk, FRAME_F_KEPT, 900, "sm", "c2s.1", NULL, "<m/>", 4);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, owner_count(&o, FRAME_ROUTE) == 1, 2000));
	/* Acknowledged while the router is away: the ACK leaves on the next
	 * connection, and the sender's copy is recognised there. */
	fake_stop(fk);
	ck_assert(RUN_UNTIL(loop, o.downs == 1, 2000));
	ck_assert(router_link_ack(link, NULL, "sm", (uint32_t[]){ 900 }, 1, err, sizeof(err)) == 0);
	fake_listen(fk);
	ck_assert(RUN_UNTIL(loop, o.ups == 2, 3000));
	fake_send_route_as(fk, FRAME_F_KEPT | FRAME_F_RESENT, 900, "sm", "c2s.1", NULL, "<m/>", 4);
	fake_flush(fk);
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ACK, 0) >= 1, 2000));
	run_for(loop, 100);
	ck_assert_uint_eq(owner_count(&o, FRAME_ROUTE), 1);
	for (size_t i = 0; i < fake_count(fk, FRAME_ACK, 0); i++) {
		const struct fake_frame *a = fake_find(fk, FRAME_ACK, 0, i);
		ck_assert_uint_eq(a->conn, 2);
		ck_assert_uint_eq(a->nack, 1);
		ck_assert_uint_eq(a->ack[0], 900);
	}

	TEARDOWN(link, fk, o, loop);
}
END_TEST

/* --- sequence numbers ------------------------------------------------------------------ */

START_TEST(test_seq_starts_at_random_and_counts_up)
{
	struct loop *loop = new_loop();
	struct fake *fk = fake_start(loop, sock_path);
	struct owner o = { 0 }, o2 = { 0 };
	struct router_link_settings s = keep_settings();
	char err[ERRLEN];

	struct router_link *l1 = router_link_new(loop, &s, &owner_callbacks, &o, err, sizeof(err));
	struct router_link *l2 = router_link_new(loop, &s, &owner_callbacks, &o2, err, sizeof(err));
	ck_assert_ptr_nonnull(l1);
	ck_assert_ptr_nonnull(l2);
	uint32_t first = router_link_next_seq(l1);
	ck_assert_uint_ne(first, 0);
	ck_assert_uint_ne(router_link_next_seq(l2), 0);
	/* Two links (two processes, or one restarted) do not start together:
	 * equal only with a chance of 2^-32. */
	ck_assert_uint_ne(first, router_link_next_seq(l2));
	router_link_free(&l2);

	/* The HELLO takes the first; each frame the next. */
	router_link_start(l1);
	ck_assert(RUN_UNTIL(loop, o.ups == 1, 2000));
	ck_assert_uint_eq(fake_find(fk, FRAME_HELLO, 0, 0)->seq, first);
	ck_assert_uint_eq(router_link_next_seq(l1), first + 1);
	uint32_t a = route(l1, "sm", "<a/>");
	ck_assert_uint_eq(a, first + 1);
	ck_assert_uint_eq(router_link_next_seq(l1), first + 2);
	uint32_t b = route(l1, "sm", "<b/>");
	ck_assert_uint_eq(b, first + 2);
	ck_assert(RUN_UNTIL(loop, fake_count(fk, FRAME_ROUTE, 0) == 2, 2000));
	ck_assert_uint_eq(fake_find(fk, FRAME_ROUTE, 0, 0)->seq, a);
	ck_assert_uint_eq(fake_find(fk, FRAME_ROUTE, 0, 1)->seq, b);

	router_link_free(&l1);
	fake_free(&fk);
	owner_free(&o);
	owner_free(&o2);
	loop_free(&loop);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("router_link_keep");
	TCase *tc = tcase_create("router_link_keep");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_kept_route_is_flagged_and_counted_until_its_ack);
	tcase_add_test(tc, test_several_acks_in_one_frame_release_several);
	tcase_add_test(tc, test_rejected_ack_gives_the_frame_back_as_an_error);
	tcase_add_test(tc, test_undeliverable_kept_frame_comes_back_once_with_its_stanza);
	tcase_add_test(tc, test_reconnection_resends_unacked_after_binds_in_seq_order);
	tcase_add_test(tc, test_frames_unwritten_at_a_break_go_again_without_resent);
	tcase_add_test(tc, test_announced_destination_waits_for_the_new_routers_peer_up);
	tcase_add_test(tc, test_peer_down_holds_frames_until_peer_up_then_resends_in_order);
	tcase_add_test(tc, test_error_away_parks_the_frame_until_peer_up);
	tcase_add_test(tc, test_parked_frame_past_the_hold_time_comes_back_as_away);
	tcase_add_test(tc, test_reclaim_gives_back_unacked_frames_in_order);
	tcase_add_test(tc, test_reclaim_takes_unwritten_frames_out_of_the_queue);
	tcase_add_test(tc, test_frames_to_a_shared_name_are_not_kept);
	tcase_add_test(tc, test_with_keep_off_nothing_is_kept);
	tcase_add_test(tc, test_kept_frame_reaches_the_owner_once_and_a_copy_is_acked_again);
	tcase_add_test(tc, test_acks_of_one_turn_leave_as_one_frame_after_the_effects);
	tcase_add_test(tc, test_peer_down_of_a_sender_forgets_its_frames);
	tcase_add_test(tc, test_kept_frame_copy_after_a_router_restart_is_recognised);
	tcase_add_test(tc, test_seq_starts_at_random_and_counts_up);
	suite_add_tcase(s, tc);
	return s;
}
