/*
 * fake_router.h — a fake router for the router link's unit tests
 * (test_router_link.c, test_router_link_keep.c): a Unix socket (or TCP+TLS
 * on loopback) on the same event loop as the link under test. It checks
 * HELLO, answers HELLO_OK, confirms or refuses binds, answers PINGs,
 * optionally echoes ROUTE frames, and records every frame it receives so
 * that a test can say exactly what went over the wire. Tests drive the
 * router's side by hand with the fake_send_* calls and fake_flush().
 *
 * Must not: hide a malformed frame from the link (it fails the test), or
 * decide anything a test should assert itself.
 */
#ifndef PARLEY_TESTS_FAKE_ROUTER_H
#define PARLEY_TESTS_FAKE_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "frame.h"
#include "loop.h"

#define FAKE_SECRET "router-secret-0123456789"
#define FAKE_MAX_ACKS 64

struct tls_context;
struct tls_conn;

uint64_t now_ms(void);

/* Run the loop until `cond` holds or `ms` pass; evaluates to whether it held. */
#define RUN_UNTIL(loop, cond, ms) ({ \
	uint64_t deadline_ = now_ms() + (ms); \
	while (!(cond) && now_ms() < deadline_) \
		loop_run_once((loop), 5); \
	(bool)(cond); \
})

void run_for(struct loop *loop, uint64_t ms);

/* One frame the fake received from the link. */
struct fake_frame {
	int type;
	uint16_t flags;
	uint32_t seq;
	char name[128];
	char role[40];
	char secret[128];
	bool has_pid;
	uint32_t pid;
	char from[128];
	char to[128];
	char key[128];
	char sid[80];
	uint32_t ref_seq;
	uint32_t ack[FAKE_MAX_ACKS]; /* ACK: its ack-seqs, in order */
	size_t nack;                 /* how many it carried (may exceed FAKE_MAX_ACKS) */
	char *stanza;
	size_t stanza_len;
	int conn; /* which accepted connection it came on, from 1 */
};

struct fake {
	struct loop *loop;
	char *path;                /* the Unix socket (not tcp) */
	int lfd;
	int fd;
	bool tcp;
	uint16_t port;
	struct tls_context *tls_ctx;
	struct tls_conn *tls;
	bool handshaken;
	struct buf in;
	struct buf out;
	uint32_t seq;

	/* Behaviour. */
	const char *secret;        /* a HELLO with another is refused */
	const char *conflict;      /* a BIND of this name is refused with conflict */
	bool echo;                 /* ROUTE → the same stanza back, from and to swapped */
	bool close_on_accept;      /* accept and close at once */
	bool no_pong;              /* leave PINGs unanswered */
	bool stop_reading;         /* read nothing once HELLO_OK is sent */
	bool mute;                 /* read nothing at all */
	bool closed_by_peer;

	/* Record. */
	struct fake_frame *seen;
	size_t nseen;
	int accepts;
	uint64_t accept_ms[64];
};

/* A fake that listens on `sock_path` (fake_start), or is set up first
 * (tcp, tls_ctx) and then listens (fake_new, fake_listen). */
struct fake *fake_new(struct loop *loop, const char *sock_path);
void fake_listen(struct fake *fk);
struct fake *fake_start(struct loop *loop, const char *sock_path);
/* Close the current connection (the link sees the router go) but keep
 * listening, so the link comes back on a new connection. */
void fake_close_conn(struct fake *fk);
/* The router goes away: its connection and its socket. */
void fake_stop(struct fake *fk);
void fake_free(struct fake **fkp);

/* Frames from the router: appended to `out`; fake_flush() writes them. */
void fake_flush(struct fake *fk);
void fake_send_error(struct fake *fk, uint32_t code, const char *text, uint32_t ref_seq,
    const char *ref_to);
void fake_send_named(struct fake *fk, enum frame_type type, uint16_t flags, const char *name,
    const char *role);
void fake_send_route(struct fake *fk, const char *from, const char *to, const char *sid,
    const void *stanza, size_t len);
/* A ROUTE as another peer sent it: its own flags (KEPT, RESENT) and seq. */
void fake_send_route_as(struct fake *fk, uint16_t flags, uint32_t seq, const char *from,
    const char *to, const char *sid, const void *stanza, size_t len);
/* An ACK (flags 0 or FRAME_F_REJECTED) naming n seqs. */
void fake_send_ack(struct fake *fk, uint16_t flags, const char *from, const char *to,
    const uint32_t *seqs, size_t n);
uint32_t fake_send_ping(struct fake *fk);

/* What the fake received: how many of a type (on connection `conn`, 0:
 * any), and the nth of them. */
size_t fake_count(const struct fake *fk, int type, int conn);
const struct fake_frame *fake_find(const struct fake *fk, int type, int conn, size_t nth);

/* Copy a string attribute ("" when absent). */
void fake_copy_str(char *dst, size_t n, const struct frame *f, enum frame_tag tag);

/* The other side: one frame the link handed its owner (the frame
 * callback), kept for a test to assert on. */
struct fake_got {
	int type;
	uint16_t flags;
	uint32_t seq;
	char name[128];
	char role[40];
	char from[128];
	char to[128];
	char sid[80];
	char ref_to[128];
	uint32_t code;
	uint32_t ref_seq;
	char *stanza;               /* NUL-terminated copy, or NULL */
	size_t stanza_len;
};

/* Append a copy of f to the array *got of *n (grown here). */
void fake_got_add(struct fake_got **got, size_t *n, const struct frame *f);
/* How many of a type; the nth (0-based) of a type, or NULL. */
size_t fake_got_count(const struct fake_got *got, size_t n, int type);
const struct fake_got *fake_got_find(const struct fake_got *got, size_t n, int type, size_t nth);
void fake_got_free(struct fake_got *got, size_t n);

#endif
