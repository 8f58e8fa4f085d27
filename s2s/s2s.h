/*
 * s2s.h — parley-s2s's shared state: the process (struct s2s), one TCP
 * connection to or from another server (struct conn), and one outgoing
 * (local domain, remote domain) pair with its queue (struct out). Each
 * concept lives in its own file:
 *
 *   config.c    parley.conf → struct s2s_config; the TLS contexts
 *   listen.c    listening sockets, accept, connections per address
 *   conn.c      a connection's bytes: connect, TLS (server or client),
 *               reading with a rate limit, the write queue, timers, closing
 *   out.c       outgoing pairs: the queue, DNS, trying targets, the
 *               initiating side of the stream (STARTTLS or direct TLS,
 *               the peer's certificate, SASL EXTERNAL, dialback), bounces
 *   in.c        incoming streams: header, features, STARTTLS, SASL
 *               EXTERNAL, dialback requests and verifications, stanzas
 *               of verified pairs, the negotiation deadline
 *   dialback.c  the XEP-0185 key
 *   link.c      the router link: stanzas in and out of the suite, and the
 *               acknowledgement each ROUTE is owed once taken care of
 *   sandbox.c   user, no_new_privs, Landlock, seccomp
 *
 * doc/s2s.md describes the behaviour.
 */
#ifndef PARLEY_S2S_H
#define PARLEY_S2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "dns.h"
#include "hash.h"
#include "loop.h"
#include "router_link.h"
#include "stanza.h"
#include "tls.h"
#include "write_acks.h"
#include "xml_stream.h"

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_DIALBACK "jabber:server:dialback"
#define NS_DIALBACK_FEATURE "urn:xmpp:features:dialback"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define S2S_DIRECT_TLS_PORT 5270
#define S2S_NAME "s2s"

struct s2s_listener_config {
	char *address;
	int port;
	bool direct_tls;	/* XEP-0368: TLS from the first byte */
};

struct s2s_config {
	struct s2s_listener_config *listeners;
	size_t nlisteners;
	char **hosts;			/* prepared (jid_prep_domainpart) */
	size_t nhosts;
	bool require_tls;
	bool require_valid_certs;	/* s2s.require_valid_certificates */
	size_t max_queue;		/* stanzas waiting per pair */
	uint64_t connect_timeout_ms;
	uint64_t connect_attempt_timeout_ms;	/* one address of several */
	uint64_t negotiation_timeout_ms;	/* incoming: until a pair is verified */
	uint64_t idle_timeout_ms;
	uint64_t keepalive_ms;
	size_t max_stanza;
	unsigned max_depth;
	size_t rate_limit;		/* bytes per second per connection */
	unsigned max_per_address;
	unsigned max_pending_dialback;
	size_t max_write_queue;
	size_t max_frame;
};

struct listener {
	struct s2s *s2s;
	int fd;
	bool direct_tls;
	char where[80];
};

struct conn;
struct out;

/* A stanza from the suite on its way to another server, with the ROUTE
 * frame it came in: its sender is owed an ACK once the stanza has been
 * written to the remote stream's socket, or bounced (doc/s2s.md). */
struct outgoing {
	struct stanza *st;	/* jabber:client */
	char *sender;		/* the frame's `from`; NULL: nobody to answer (our own bounces) */
	uint32_t seq;
	bool kept;		/* FRAME_F_KEPT: unanswered, it is sent to us again */
	unsigned writes;	/* connections it has been written into */
};

struct s2s {
	struct loop *loop;
	const struct conf *conf;
	struct s2s_config cfg;
	struct tls_context *tls_server;
	/* Client side: one context per distinct certificate of our domains
	 * (a client context holds one); tls_client_of[i] serves cfg.hosts[i]. */
	struct tls_context **tls_clients;
	size_t ntls_clients;
	struct tls_context **tls_client_of;
	struct router_link *link;
	struct s2s_dns *dns;
	const char *log_target;
	int report_fd;
	struct listener *listeners;
	size_t nlisteners;
	struct hash *outs;		/* "local remote" → struct out */
	struct hash *per_addr;		/* address → count (uintptr_t) */
	struct conn *conns;		/* every connection */
	size_t nconns;
	uint64_t serial;
	char dialback_secret[65];	/* hex, the XEP-0185 "Secret" */
	bool stopping;
	struct xml_stream *frame_xs;	/* for stanzas in frames */
	struct buf scratch;
};

enum conn_dir { CONN_IN, CONN_OUT };

enum conn_phase {
	PHASE_CONNECTING,	/* outgoing: connect() in progress */
	PHASE_TLS_HANDSHAKE,
	PHASE_STREAM,
	PHASE_CLOSING,
};

/* A domain pair an incoming stream asked to be verified (db:result). */
struct in_pair {
	char *from;		/* the originating domain (theirs) */
	char *to;		/* the receiving domain (ours) */
	bool valid;
};

struct conn {
	struct s2s *s2s;
	struct conn *prev, *next;
	uint64_t serial;
	enum conn_dir dir;
	enum conn_phase phase;
	int fd;
	bool tls_on;
	bool starttls_pending;
	bool broken;
	bool in_feed;
	bool wr_closed;
	bool header_sent;
	bool peer_closed;
	bool tls_drained;
	bool rate_held;
	bool restart_pending;	/* SASL success: a new stream follows */
	bool direct_tls;	/* XEP-0368: TLS before the stream */
	char addr[64];
	char addr_key[48];
	char stream_id[129];	/* in: the id we gave (32 hex digits); out: the one we were given (Prosody: a 36-character UUID) */
	struct tls_conn *tls;
	struct xml_stream *xs;
	struct buf out;
	uint64_t appended;	/* bytes ever appended to `out`: written = appended - buf_used */
	/* CONN_OUT: the stanzas in `out` (items: struct outgoing), each
	 * acknowledged to its sender once its last byte is written. */
	struct write_acks acks;
	struct timer *idle_timer;
	struct timer *keepalive_timer;
	struct timer *pump_timer;
	struct timer *close_timer;
	struct timer *rate_timer;
	struct timer *negotiation_timer;	/* CONN_IN: s2s.negotiation_timeout */
	uint64_t last_read, last_write;
	uint64_t rate_window;
	size_t rate_bytes;
	/* CONN_IN */
	char *local;		/* the `to` of the stream header */
	char *remote;		/* its `from`, if any */
	bool version1;
	bool sasl_done;		/* SASL EXTERNAL succeeded on this connection */
	bool cert_checked;
	bool cert_ok;		/* the certificate authenticates `remote` */
	struct in_pair *pairs;
	size_t npairs;
	/* CONN_OUT */
	struct out *owner;
};

/* config.c */
int s2s_configure(struct s2s *s2s, const struct conf *conf, struct conf_errors *errs);
int s2s_tls_setup(struct s2s *s2s, char *err, size_t errlen);
int s2s_secret_setup(struct s2s *s2s, char *err, size_t errlen);
void s2s_unconfigure(struct s2s *s2s);
bool s2s_hosts(const struct s2s *s2s, const char *domain);
/* The client TLS context for outgoing streams of our domain `local`
 * (offering that domain's certificate). */
struct tls_context *s2s_tls_client(const struct s2s *s2s, const char *local);

/* listen.c */
int s2s_listen(struct s2s *s2s, char *err, size_t errlen);
int s2s_listen_start(struct s2s *s2s, char *err, size_t errlen);
void s2s_unlisten(struct s2s *s2s);

/* conn.c */
struct conn *conn_new(struct s2s *s2s, int fd, enum conn_dir dir, bool connecting,
    const char *addr, const char *addr_key);
void conn_write(struct conn *c, const void *data, size_t len);
void conn_write_stanza(struct conn *c, const struct stanza *st);
/* Write `wire` (og's stanza as it goes out) and take `og`: its sender is
 * acknowledged when the bytes reach the kernel (a CONN_OUT with an owner;
 * if the connection dies first, out.c gets og back). */
void conn_write_outgoing(struct conn *c, const struct stanza *wire, struct outgoing *og);
void conn_close(struct conn *c, const char *why);
void conn_start_tls(struct conn *c);
/* After SASL success (RFC 6120 §6.4.6): the parser starts over with the
 * next bytes; what the peer sent after the success is not expected. */
void conn_restart_stream(struct conn *c);
void conn_free(struct conn **cp);
void conn_new_stream_id(struct conn *c);
void conn_send_header(struct conn *c, const char *from, const char *to, bool with_id);
void conn_stream_error(struct conn *c, const char *condition, const char *text);
void conn_stream_end(struct conn *c);
struct conn *conn_find(struct s2s *s2s, uint64_t serial);

/* out.c */
extern const struct xml_stream_callbacks out_xml_callbacks;
/* Take a stanza (owned from now on) for `remote`: it is written out, or
 * bounced, and its sender answered then. */
void out_send(struct s2s *s2s, const char *local, const char *remote, struct outgoing *og);
/* Ask the authoritative server of `remote` whether `key` is right for the
 * incoming stream `in` (its id) claiming to come from `remote` to `local`. */
void out_verify(struct s2s *s2s, const char *local, const char *remote, struct conn *in,
    const char *key);
/* From conn.c: TCP is up on c; the connection attempt of `o` failed
 * (its conn is already gone); TLS is up on c; c is going away. */
void out_connected(struct conn *c);
void out_connect_failed(struct out *o, const char *why);
void out_tls_up(struct conn *c);
void out_conn_gone(struct out *o, struct conn *c);
/* The stanzas a dying connection never wrote that no pair took back. */
void out_unwritten(struct s2s *s2s, struct write_acks *wa);
void out_free_all(struct s2s *s2s);

/* in.c */
extern const struct xml_stream_callbacks in_xml_callbacks;
/* The answer from the authoritative server (valid) or a failure to ask
 * (NULL reason = answered invalid). */
void in_verify_answer(struct s2s *s2s, uint64_t serial, const char *from, const char *to,
    bool valid, const char *failure);
/* A new incoming connection: it has s2s.negotiation_timeout to have a
 * domain pair verified on it. */
void in_started(struct conn *c);

/* dialback.c */
#define DIALBACK_KEY_LEN 64
/* key (DIALBACK_KEY_LEN + 1 bytes) = hex(HMAC-SHA256(hex(SHA-256(secret)),
 * receiving ' ' originating ' ' stream_id)), XEP-0185. */
int dialback_key(const char *secret, const char *receiving, const char *originating,
    const char *stream_id, char *key);
/* Constant-time comparison of a presented key with the right one. */
bool dialback_key_ok(const char *secret, const char *receiving, const char *originating,
    const char *stream_id, const char *presented);
/* The dialback secret derived from the router secret: 64 hex digits and
 * a NUL into out. -1 if OpenSSL fails. */
int dialback_secret_derive(const void *router_secret, size_t len, char *out);

/* link.c */
int s2s_link_setup(struct s2s *s2s, char *err, size_t errlen);
/* A stanza for the suite (jabber:client tree): to the domain of its `to`.
 * 0 passed to the router (or dropped for good: no usable `to`); -1 when
 * the router link refused it (logged): the caller still answers for it. */
int s2s_deliver(struct s2s *s2s, const struct stanza *st);
/* Its sender gets it back as an error (never for an error: that one is
 * dropped, 0). -1 as for s2s_deliver. */
int s2s_bounce(struct s2s *s2s, struct stanza *st, const char *type, const char *condition,
    const char *text);
void outgoing_free(struct outgoing **og);
void outgoing_free_item(void *og);	/* for write_acks.free_item */
/* Bounce og's stanza and answer its sender (ACK; ACK with REJECTED if the
 * bounce could not be passed on); og is freed. */
void outgoing_bounce(struct s2s *s2s, struct outgoing **og, const char *type,
    const char *condition, const char *text);
/* s2s is stopping with og not written: a kept one is left unanswered
 * (its sender sends it again to the next s2s), any other bounced. */
void outgoing_stopping(struct s2s *s2s, struct outgoing **og);

/* sandbox.c */
int s2s_sandbox(struct s2s *s2s, char *err, size_t errlen);

#endif
