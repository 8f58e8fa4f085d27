/*
 * router_link_int.h — the inside of a router link, shared by the files that
 * make it: router_link.c (the connection, the wire, the owner's calls) and
 * router_link_keep.c (the reliable hand-off: kept frames, acknowledgements,
 * the receiver's memory of kept frames). Nothing else includes this.
 */
#ifndef PARLEY_ROUTER_LINK_INT_H
#define PARLEY_ROUTER_LINK_INT_H

#include <sys/socket.h>

#include "hash.h"
#include "outbox.h"
#include "router_link.h"
#include "seen.h"

enum link_state {
	LINK_IDLE,
	LINK_WAITING,
	LINK_CONNECTING,
	LINK_TLS,
	LINK_HELLO,
	LINK_UP,
};



struct link_bind {
	char *name;
	uint16_t flags;
	uint32_t seq;   /* the BIND's seq on this connection; 0: not sent on it */
	bool bound;     /* BIND_OK received on this connection */
};

struct link_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct router_link {
	struct loop *loop;
	struct router_link_callbacks cb;
	void *arg;

	/* Settings, copied. */
	char *socket_path;
	struct link_addr *addrs;  /* TCP: the host's addresses, tried in turn */
	size_t naddrs;
	struct tls_context *tls_ctx;
	char *tls_name;
	char *where;              /* the router's address, for logs */
	char *name;
	char *role;
	unsigned char *secret;
	size_t secret_len;
	size_t max_frame;
	size_t max_queue;
	size_t read_per_turn;
	uint64_t backoff_min;
	uint64_t backoff_max;
	uint64_t connect_timeout;
	uint64_t ping_idle;
	uint64_t ping_timeout;

	enum link_state state;
	int fd;
	struct tls_conn *tls;
	bool write_blocked;       /* the last write hit EAGAIN (Unix/TCP without TLS) */
	struct buf in;
	struct buf out;
	size_t out_written;       /* bytes of out's head frames already written */
	struct buf pending;
	struct buf *building;     /* the buffer a frame is being built in, between begin and end */

	uint32_t next_seq;
	uint32_t hello_seq;
	char *router_name;

	struct link_bind *binds;
	size_t nbinds;

	unsigned attempt;         /* connection attempts since the link was last up */
	uint64_t rng;

	struct timer *retry_timer;
	struct timer *deadline_timer;
	struct timer *ping_timer;
	struct timer *flush_timer;
	struct timer *read_timer;
	uint64_t last_rx;         /* loop time of the last frame received */
	uint64_t ping_sent;       /* loop time of our unanswered PING; 0: none */

	bool reading;
	bool refused;             /* a send was refused for a full queue: call `writable` */
	char *reported;           /* the last reason given to `down`; NULL while up */
	char close_reason[ERRLEN]; /* an ERROR the router sent before closing */

	/* Reliable hand-off (link_keep.c's half lives here: the wire). */
	bool keep;
	uint64_t hold;
	struct outbox *outbox;    /* kept frames not yet acknowledged (keep only) */
	struct seen *seen;        /* kept frames received, per sender */
	struct hash *peers;       /* names bound on the router → PEER_UP flags | PEER_KNOWN */
	struct hash *away;        /* names that went down (or whose router did) and are not back */
	char *default_route;      /* the name bound with DEFAULT_ROUTE, when known */
	bool default_away;        /* ... and it is down */
	struct ack_batch *acks;   /* acknowledgements to send at the next write */
	size_t nacks;
	struct timer *hold_timer;

	int busy;
	bool doomed;
};

#define PEER_KNOWN 0x10000u

struct ack_batch {
	char *from, *to;
	bool rejected;
	uint32_t *seqs;
	size_t n, cap;
};

#define CALLBACK(link, fn, ...) \
	do { \
		if ((link)->cb.fn != NULL) { \
			(link)->busy++; \
			(link)->cb.fn((link), __VA_ARGS__, (link)->arg); \
			(link)->busy--; \
		} \
	} while (0)


/* router_link.c, for router_link_keep.c */
uint32_t link_take_seq(struct router_link *link);
void link_schedule_flush(struct router_link *link);
/* A name in a routed frame: 1 to max bytes; -1 with the reason otherwise. */
int link_check_name(const char *what, const char *s, size_t max, char *err, size_t errlen);

/* router_link_keep.c, for router_link.c */
void keep_init(struct router_link *link);
void keep_fini(struct router_link *link);
/* A frame the owner just finished at `frame` (len bytes, in the write
 * queue at its end): keep it if it is a kept type. True when it was kept
 * and parked at once (its destination is away): take it out of the queue. */
bool keep_sent(struct router_link *link, unsigned char *frame, size_t len);
bool keep_over_limit(const struct router_link *link, size_t len);
/* The connection broke: what becomes of kept frames and names. */
void keep_connection_lost(struct router_link *link);
/* A frame wholly written. */
void keep_written(struct router_link *link, const char *frame);
/* Up again: kept frames that may go now go (before `pending`). */
void keep_resend_lost(struct router_link *link);
/* Frames from the router; true when consumed (not for the owner). */
bool keep_frame_in(struct router_link *link, const struct frame *f);
/* After the owner saw it: PEER_UP resends. */
void keep_after_owner(struct router_link *link, const struct frame *f);
/* An ERROR answering a kept frame; true when handled. */
bool keep_error(struct router_link *link, const struct frame *f, uint32_t code, uint32_t ref_seq);
/* Write the gathered acknowledgements into `out` (up). */
void keep_emit_acks(struct router_link *link);
size_t keep_acks_pending(const struct router_link *link);

#endif
