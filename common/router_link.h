/*
 * router_link.h — a Parley process's connection to the router: the client
 * side of the internal protocol (doc/component-protocol.md), on the event
 * loop, non-blocking. Every process (c2s, sm, auth, s2s, parleyctl) talks
 * to the router through one of these.
 *
 * The link connects (Unix socket, or TCP with TLS for a router on another
 * host), says HELLO, waits for HELLO_OK, then sends every BIND it has been
 * asked for. Binds are remembered, so after a lost connection the link
 * reconnects with exponential backoff and jitter, says HELLO again and
 * rebinds everything by itself: a router restart needs nothing from the
 * owner. The link answers the router's PINGs, pings the router when the
 * connection has been silent for a while, and drops a connection that stays
 * silent.
 *
 * The owner hears about the link through callbacks (up, down, bound,
 * bind_error) and gets every other frame it receives — ROUTE, ACK, ERROR,
 * PEER_UP, PEER_DOWN, SESSION_*, SASL_* — through `frame`. It sends routed
 * frames with router_link_begin() / frame_put*() / router_link_end(), or the
 * convenience calls below. Frames are numbered with the link's own sequence
 * (never reset, so a frame sent again keeps its number) and queued: while
 * the link is down they wait and are sent in order after the next HELLO_OK
 * and binds. The queue is bounded; a frame that does not fit is refused
 * with an error the owner must handle — the link never drops a frame it
 * accepted except when it is freed (or, for frames already written to a
 * connection that then broke, until acknowledgements come in).
 *
 * Must not: log more than one line per change of state (a link retrying at
 * full backoff is quiet), block, or interpret stanza bytes.
 */
#ifndef PARLEY_ROUTER_LINK_H
#define PARLEY_ROUTER_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "frame.h"
#include "loop.h"
#include "util.h"

struct router_link;
struct tls_context;

/* Defaults for the settings left at 0. */
#define ROUTER_LINK_MAX_QUEUE_DEFAULT (16u * 1024 * 1024)
#define ROUTER_LINK_BACKOFF_MIN_DEFAULT 100     /* ms */
#define ROUTER_LINK_BACKOFF_MAX_DEFAULT 5000    /* ms */
#define ROUTER_LINK_CONNECT_TIMEOUT_DEFAULT 10000 /* ms: connect, TLS, HELLO → HELLO_OK */
#define ROUTER_LINK_PING_IDLE_DEFAULT 30000     /* ms of silence before we ping */
#define ROUTER_LINK_PING_TIMEOUT_DEFAULT 10000  /* ms without an answer: dead */
#define ROUTER_LINK_READ_PER_TURN_DEFAULT (256u * 1024)

struct router_link_settings {
	/* Where the router is: a Unix socket path, or host and port (with a
	 * TLS client context) for a router on another host. */
	const char *socket_path;
	const char *host;          /* an address or a name, resolved once by router_link_new() */
	uint16_t port;
	struct tls_context *tls;   /* required with host; still the caller's, must outlive the link */
	const char *tls_name;      /* name the router's certificate must carry, sent as SNI; NULL: host */

	/* Who this peer is. */
	const char *name;          /* instance name: "c2s.1" */
	const char *role;          /* "c2s", "sm", "auth", "s2s", "component" */
	const void *secret;        /* the shared secret (copied) */
	size_t secret_len;

	/* Limits and timing; 0 takes the default above. */
	size_t max_frame;          /* largest frame received or sent; 0: FRAME_MAX_DEFAULT */
	size_t max_queue;          /* bytes waiting to be written; at least max_frame */
	uint64_t backoff_min_ms;   /* first delay before reconnecting */
	uint64_t backoff_max_ms;   /* the delay doubles up to this */
	uint64_t connect_timeout_ms;
	uint64_t ping_idle_ms;
	uint64_t ping_timeout_ms;
	size_t read_per_turn;      /* bytes read per loop turn, so other fds get their turn */

	/* Reliable hand-off (doc/component-protocol.md, "Kept frames"): keep
	 * every ROUTE, SESSION_START, SESSION_END and USER_DELETED this link
	 * sends (flag KEPT) until its receiver acknowledges it, and send it
	 * again (flag RESENT) after a reconnection or when its destination
	 * comes back; frames the router answers `away` wait for their
	 * destination, up to hold_ms. A kept frame that comes back untaken —
	 * the router could not deliver it, its receiver rejected it (code
	 * FRAME_ERR_REJECTED), it waited hold_ms for an away destination
	 * (FRAME_ERR_AWAY), the owner reclaimed it (FRAME_ERR_PEER_GONE) —
	 * reaches `frame` as an ERROR like the router's: code, text, ref-seq,
	 * ref-to, session-id, and the stanza of a ROUTE.
	 * Frames to a shared name are never kept (no binder's departure is
	 * announced, so nothing could say when to send them again). */
	bool keep;
	uint64_t hold_ms;          /* 0: ROUTER_LINK_HOLD_DEFAULT */
};

#define ROUTER_LINK_HOLD_DEFAULT 60000   /* ms a kept frame waits for an away destination */

/*
 * What the owner is told. Every callback may be NULL. Callbacks may send,
 * bind and unbind, and may free the link (router_link_free), which then
 * happens once the callback has returned.
 */
struct router_link_callbacks {
	/* HELLO_OK: the router accepted us; `router` is its name. The binds
	 * and the frames queued while down are on their way. */
	void (*up)(struct router_link *link, const char *router, void *arg);
	/* The link is not up, and why: called when an up link is lost, and
	 * when the reason it cannot come up changes (a refused HELLO, a
	 * missing socket); not once per retry. The link retries by itself. */
	void (*down)(struct router_link *link, const char *reason, void *arg);
	/* BIND_OK for one of our binds (after every (re)connection). */
	void (*bound)(struct router_link *link, const char *name, uint16_t flags, void *arg);
	/* The router refused a bind (ERROR conflict / not-allowed). The bind
	 * stays remembered and is tried again after a reconnection; unbind it
	 * to give up. */
	void (*bind_error)(struct router_link *link, const char *name, uint32_t code,
	    const char *text, void *arg);
	/* Any other frame from the router: ROUTE, ACK, ERROR, PEER_UP,
	 * PEER_DOWN, SESSION_*, SASL_*. The frame points into the link's
	 * buffer and is valid only during the call. */
	void (*frame)(struct router_link *link, const struct frame *f, void *arg);
	/* A send was refused because the queue was full, and the queue has
	 * since drained below half its limit. */
	void (*writable)(struct router_link *link, void *arg);
};

/* Check the settings and copy them (host names are resolved here, before
 * the loop runs). The link does nothing until router_link_start(). */
struct router_link *router_link_new(struct loop *loop, const struct router_link_settings *settings,
    const struct router_link_callbacks *callbacks, void *arg, char *err, size_t errlen);
/* Connect now (from the loop: no callback runs inside this call). */
void router_link_start(struct router_link *link);
/* Close the connection and free everything; queued frames are lost. */
void router_link_free(struct router_link **link);

bool router_link_is_up(const struct router_link *link);
/* "idle", "waiting", "connecting", "tls", "hello", "up". */
const char *router_link_state(const struct router_link *link);
/* Bytes waiting to be written (frames queued while down included). */
size_t router_link_queued(const struct router_link *link);
/* For a process stopping: stop the loop once every queued frame has left,
 * the link is down (nothing more can leave), or `max_ms` have passed. */
void router_link_drain_then_stop(struct router_link *link, uint64_t max_ms);
/* The seq the next frame will carry. */
uint32_t router_link_next_seq(const struct router_link *link);
/* The instance name the link says HELLO with. */
const char *router_link_name(const struct router_link *link);

/*
 * Ask for `name` to be routed to us (flags FRAME_F_SHARED,
 * FRAME_F_DEFAULT_ROUTE). Remembered until unbound: sent now if the link
 * is up, and after every HELLO_OK. Binding a name again changes its flags.
 * Control frames are not limited by the queue.
 */
void router_link_bind(struct router_link *link, const char *name, uint16_t flags);
/* Forget a bind and send UNBIND if up; false if the name was not bound. */
bool router_link_unbind(struct router_link *link, const char *name);
/* Whether the router has confirmed the bind on the current connection. */
bool router_link_is_bound(const struct router_link *link, const char *name);

/*
 * Send a routed frame (ROUTE, ACK, SESSION_*, SASL_*; anything else is a
 * programming error and ends the process):
 *
 *	size_t start;
 *	struct buf *b = router_link_begin(link, FRAME_ROUTE, 0, &start);
 *	frame_put_str(b, FRAME_TAG_FROM, "c2s.1");
 *	...
 *	if (router_link_end(link, start, &seq, err, sizeof(err)) < 0)
 *		... the frame was not queued: bounce it, slow down ...
 *
 * Nothing else may touch the link between begin and end. The header's seq
 * is the link's next number; end() takes it (into *seq if not NULL) only
 * when the frame is accepted. end() refuses, with a reason, a frame larger
 * than max_frame or one that would take the queue over max_queue; the
 * `writable` callback says when there is room again.
 */
struct buf *router_link_begin(struct router_link *link, enum frame_type type, uint16_t flags,
    size_t *start);
int router_link_end(struct router_link *link, size_t start, uint32_t *seq, char *err, size_t errlen);
void router_link_abort(struct router_link *link, size_t start);

/* A ROUTE frame. `from` NULL: the link's instance name; route_key and
 * session_id may be NULL. */
int router_link_route(struct router_link *link, const char *from, const char *to,
    const char *route_key, const char *session_id, const void *stanza, size_t len,
    uint32_t *seq, char *err, size_t errlen);
/*
 * Acknowledge `n` (≥ 1) seqs of frames `to` sent us: they are taken care
 * of (delivered, stored, bounced). Acknowledgements are gathered and leave
 * as one ACK frame per (from, to) when the link next writes. A receiver
 * acknowledges a kept frame only once its effect is done, so that a crash
 * before then makes the sender send it again. Received kept frames are
 * remembered per sender (the last ROUTER_LINK_SEEN seqs): a RESENT copy of
 * one already acknowledged is acknowledged again and not passed on, one
 * still waiting for its acknowledgement is dropped.
 */
int router_link_ack(struct router_link *link, const char *from, const char *to,
    const uint32_t *seqs, size_t n, char *err, size_t errlen);
/* ACK with REJECTED: the frame is not taken (its session is not here);
 * a sender that kept it gets it back as an ERROR. */
int router_link_reject(struct router_link *link, const char *from, const char *to, uint32_t seq,
    char *err, size_t errlen);

#define ROUTER_LINK_SEEN 4096

/* Give back as ERRORs (code FRAME_ERR_PEER_GONE), in the order
 * they were sent, every kept frame for `name` not yet acknowledged: its
 * receiver is gone for good (sm at a c2s instance's PEER_DOWN). Frames
 * still in the write queue are taken out of it. */
void router_link_reclaim(struct router_link *link, const char *name);
/* Kept frames not yet acknowledged, and their bytes. */
size_t router_link_kept(const struct router_link *link, size_t *bytes);

/* Stop (false) or resume (true) reading from the router: the owner's own
 * backpressure (its clients cannot take more). While paused the router's
 * PINGs go unanswered too, so pause briefly. */
void router_link_set_reading(struct router_link *link, bool on);

#endif
