/*
 * router.h — what the files of parley-router share: the router's state, a
 * peer (one connection: a process speaking frames over the Unix socket or
 * TCP+TLS, or an XEP-0114 component speaking XML), and the functions each
 * file offers the others. doc/router.md describes the behaviour.
 *
 *   main.c       the privilege story: config, sockets, sandbox, loop
 *   config.c     the settings the router takes from parley.conf
 *   listen.c     opening the listening sockets
 *   peer.c       connections: accepting, reading fairly, write queues,
 *                closing, timeouts and pings
 *   control.c    frames for the router itself: HELLO, BIND, UNBIND, PING;
 *                PEER_UP / PEER_DOWN
 *   forward.c    routed frames: from the sender to the binder of `to`
 *   component.c  the XEP-0114 edge, the one place the router reads XML
 *   routes.c     the table of names
 *   sandbox.c    the router's sandbox
 */
#ifndef PARLEY_ROUTER_H
#define PARLEY_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "conf.h"
#include "frame.h"
#include "loop.h"
#include "util.h"

struct route;
struct route_table;
struct stanza;
struct tls_conn;
struct tls_context;
struct xml_stream;
struct component;

/* The name the router gives itself in HELLO_OK. */
#define ROUTER_NAME "router"
/* Bytes read from one peer per turn of the loop, so that a peer sending
 * without pause cannot keep the others waiting. */
#define ROUTER_READ_PER_TURN (128 * 1024)
/* Once this much waits for a peer, try to write it at once rather than at
 * the end of the turn. */
#define ROUTER_FLUSH_EARLY (256 * 1024)
/* The largest frame accepted before HELLO (a HELLO is at most ~2 KiB). */
#define ROUTER_HELLO_MAX 4096
/* How long a refused or failed connection gets to read its ERROR. */
#define ROUTER_LINGER_MS 1000
/* The most names one peer may bind (sm binds every hosted domain). */
#define ROUTER_MAX_BINDS 16384
/* Buffers of an idle peer larger than this are given back. */
#define ROUTER_IDLE_BUFFER 16384

enum peer_kind {
	PEER_UNIX,      /* a local process on the Unix socket */
	PEER_TCP,       /* a process on another host, TCP with TLS */
	PEER_COMPONENT, /* an XEP-0114 component */
};

enum peer_state {
	PEER_TLS,     /* TCP: the TLS handshake is under way */
	PEER_HELLO,   /* waiting for HELLO (or the component's handshake) */
	PEER_ACTIVE,  /* authenticated */
	PEER_CLOSING, /* refused: sending the last words, then closing */
};

struct peer {
	struct router *router;
	enum peer_kind kind;
	enum peer_state state;
	int fd;
	struct tls_conn *tls;
	struct buf in, out;
	uint64_t id;          /* connection number, for logs */
	/* Who it is, for every log line about it: "connection 7 (uid 0 pid
	 * 812)" until HELLO, then "c2s.1 (uid 0 pid 812)". */
	char desc[192];
	char ident[80];       /* "uid 0 pid 812", "192.0.2.7:40000" */
	char *name;           /* HELLO name, or the component's domain */
	char *role;           /* HELLO role, or "component" */
	uint64_t key;         /* hash of the name: its place among binders */
	struct route **routes; /* names this peer holds */
	size_t nroutes, caproutes;
	uint64_t last_heard;  /* loop time of the last byte received */
	bool ping_sent;
	bool write_shut;      /* CLOSING: our side is shut down */
	struct timer *timer;  /* HELLO deadline, then the linger deadline */
	/* Membership of the router's lists (see peer.c). */
	bool closed, dirty, more_input;
	struct peer *prev, *next;
	struct component *comp; /* PEER_COMPONENT only */
};

struct peer_vec {
	struct peer **v;
	size_t n, cap;
};

/* One entry of router.components. */
struct component_conf {
	const char *domain;
	const char *secret;
};

struct router {
	struct loop *loop;
	const struct conf *conf;
	const char *log_target; /* where the log goes: "stderr", "syslog" or a file */
	int report_fd;          /* where a sandbox violation is written (main.c) */

	/* Settings (config.c). */
	unsigned char secret_digest[32]; /* SHA-256 of the shared secret */
	size_t max_frame, max_queue, max_peers;
	uint64_t hello_timeout_ms, ping_interval_ms;
	uid_t *allowed_uids;
	size_t nallowed_uids;
	const char **shared_names;
	size_t nshared_names;
	struct component_conf *components;
	size_t ncomponents;

	/* Listening sockets (listen.c); -1 when off. */
	int unix_fd, tcp_fd, component_fd;
	const char *socket_path;
	bool socket_bound;
	struct tls_context *tls;

	/* State. */
	struct route_table *routes;
	/* Names frame peers (not parleyctl) have bound since this router
	 * started, and whether one was the default route: a frame for such
	 * a name while nobody binds it is for a process that is restarting,
	 * answered `away` (its sender keeps it) rather than no-route. */
	struct hash *known;
	bool had_default;
	struct peer *peers; /* every open connection */
	size_t npeers;
	uint64_t peer_ids;
	uint32_t seq;       /* the router's own frames */
	bool stopping;
	struct peer_vec dirty, more_input, dead, spare;
	struct timer *tick, *sweep, *accept_retry;

	/* The component edge (component.c): parsing the stanzas of frames
	 * for components, and building frames from theirs. */
	struct xml_stream *frame_xml;
	struct stanza *frame_stanza, *component_stanza;
	struct buf stanza_bytes, scratch, qname;
};

/* --- config.c ------------------------------------------------------------- */

/* Read the router's settings (and the secret file) into r; problems found
 * here are appended to errs, naming the setting's FILE:LINE. */
int router_configure(struct router *r, const struct conf *c, struct conf_errors *errs);
void router_unconfigure(struct router *r);
/* Whether the Unix socket may be used by processes of this uid. */
bool router_uid_allowed(const struct router *r, uid_t uid);
/* Whether `secret` is the shared secret (compared in constant time). */
bool router_secret_ok(const struct router *r, const void *secret, size_t len);
/* The secret of the component serving `domain`, or NULL. */
const struct component_conf *router_component_conf(const struct router *r, const char *domain);
/* A domain of ours: one of `hosts` or a configured component's (component.c). */
bool router_is_local_domain(const struct router *r, const char *domain);

/* --- listen.c ------------------------------------------------------------- */

/* Open every listener the configuration asks for (as root, before the
 * sandbox). On failure the reason is in err. */
int router_listen(struct router *r, char *err, size_t errlen);
/* Close the listeners and remove the socket file. */
void router_unlisten(struct router *r);
/* Start accepting on the loop. */
int router_listen_start(struct router *r, char *err, size_t errlen);

/* --- peer.c --------------------------------------------------------------- */

/* A new connection: set up, watched, with its HELLO deadline. Returns NULL
 * (and closes fd) if the loop refuses it. */
struct peer *peer_new(struct router *r, enum peer_kind kind, int fd, const char *ident);
/* Close now: the fd, the names (announced down), the lists. The memory
 * goes at the end of the turn, so a caller may still look at p->closed. */
void peer_close(struct peer *p);
/* The lingering close: drop p's names now, write what is queued, shut our
 * side, and close when p closes its side or ROUTER_LINGER_MS pass (closing
 * at once could lose the last words: a socket closed with unread input
 * resets the connection). */
void peer_closing(struct peer *p);
/* Refuse or give up on a frame peer: log `why` at warn, send ERROR `code`
 * (with `ref`'s seq when given), and close once it is written. */
void peer_fail(struct peer *p, uint32_t code, const struct frame *ref, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
/* Have room for `n` more bytes in p's queue? If not, p cannot be keeping
 * up: it is cut off (logged, closed) and the answer is false. */
bool peer_room(struct peer *p, size_t n);
/* Queue bytes for p (after peer_room). */
void peer_queue(struct peer *p, const void *data, size_t len);
/* p has something to write: flush it at the end of the turn. */
void peer_mark_dirty(struct peer *p);
/* Start and finish one of the router's own frames in p's queue. end()
 * cuts p off (and returns false) if the queue has grown past its limit. */
size_t peer_frame_begin(struct peer *p, enum frame_type type, uint16_t flags);
bool peer_frame_end(struct peer *p, size_t start);
/* Send ERROR `code` about `ref` (its seq, and for a routed frame its to and
 * session-id; with `with_stanza`, a ROUTE's stanza too). */
void peer_send_error(struct peer *p, uint32_t code, const struct frame *ref, bool with_stanza,
    const char *fmt, ...) PRINTF_LIKE(5, 6);
/* Start the periodic work (pings, idle buffers). */
void router_peers_start(struct router *r);
/* Close every connection (shutdown). */
void router_peers_close_all(struct router *r);
/* Free what closed peers left (also at the end of every turn). */
void router_peers_reap(struct router *r);
/* Accept every pending connection on a listener. */
void router_accept(struct loop *loop, int fd, unsigned events, void *arg);
/* A name safe to log: control characters replaced, at most 64 bytes. */
const char *log_safe(const char *s, char *out, size_t outlen);

/* --- control.c ------------------------------------------------------------ */

/* A frame for the router itself (or any frame before HELLO). */
void control_frame(struct peer *p, const struct frame *f);
/* Bind a name for p (frames and components alike). Returns the bind
 * result (routes.h) and fills err when refused. */
int control_bind(struct peer *p, const char *name, uint16_t flags, char *err, size_t errlen);
/* Tell every peer that `name` (just bound by p) is up. */
void control_announce(struct peer *p, const char *name);
/* Drop every name p holds, announcing those that go down. */
void control_unbind_all(struct peer *p);

/* --- forward.c ------------------------------------------------------------ */

/* A routed frame from a frame peer: `bytes` are its `len` bytes as they came. */
void forward_frame(struct peer *src, const struct frame *f, const void *bytes, size_t len);
/* Deliver a routed frame to dst (from src, a peer or a component). */
void forward_deliver(struct peer *src, struct peer *dst, const struct frame *f,
    const void *bytes, size_t len);
/* Tell src its frame was not delivered: ERROR for a frame peer, a stanza
 * error for a component. */
void forward_undeliverable(struct peer *src, const struct frame *f, uint32_t code,
    const char *fmt, ...) PRINTF_LIKE(4, 5);

/* --- component.c ---------------------------------------------------------- */

int component_init(struct router *r, char *err, size_t errlen);
void component_fini(struct router *r);
/* A new component connection (from router_accept). */
void component_start(struct peer *p);
/* Bytes arrived from a component. */
void component_input(struct peer *p);
/* A routed frame for a component: translated to XML, or refused. */
void component_deliver(struct peer *src, struct peer *dst, const struct frame *f);
/* A frame from a component could not be delivered: bounce its stanza. */
void component_bounce(struct peer *p, const struct frame *f, uint32_t code);
/* Give up on a component with a stream error (and </stream:stream>). */
void component_fail(struct peer *p, const char *condition, const char *fmt, ...)
    PRINTF_LIKE(3, 4);
/* Whitespace keepalive for a quiet component. */
void component_keepalive(struct peer *p);
void component_free(struct peer *p);
/* At shutdown: close the stream politely. */
void component_goodbye(struct peer *p);

/* --- sandbox.c ------------------------------------------------------------ */

/* Drop to the configured user, no_new_privs, Landlock, seccomp. Returns
 * -1 with a reason, 0, or 1 with a note worth logging. */
int router_sandbox(struct router *r, char *err, size_t errlen);

#endif
