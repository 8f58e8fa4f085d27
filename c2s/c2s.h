/*
 * c2s.h — parley-c2s's shared state: the process (struct c2s: settings,
 * listeners, router link, tables of connections) and one client
 * connection (struct client). Each concept lives in its own file:
 *
 *   config.c   parley.conf → struct c2s_config, the TLS context
 *   listen.c   listening sockets, accept, connections per address
 *   conn.c     a connection's bytes: TLS, reading with a rate limit,
 *              the write queue, timers, closing
 *   stream.c   RFC 6120 stream negotiation: header, features, STARTTLS,
 *              stream errors, what each element means in each state
 *   sasl.c     SASL relayed to parley-auth (SASL_START/STEP/RESULT)
 *   session.c  resource binding, sessions with sm, stanzas both ways
 *   link.c     the router link and the frames it brings
 *   base64.c   strict base64 for SASL data
 *   depth.c    element depth of the client's bytes (between stanzas or not)
 *   idle.c     an idle session's parser given back, and rebuilt
 *   sandbox.c  user, no_new_privs, Landlock, seccomp
 *
 * c2s holds no credentials and opens nothing after start-up.
 */
#ifndef PARLEY_C2S_H
#define PARLEY_C2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "conf.h"
#include "frame.h"
#include "hash.h"
#include "jid.h"
#include "loop.h"
#include "router_link.h"
#include "stanza.h"
#include "tls.h"
#include "write_acks.h"
#include "xml_stream.h"

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define NS_SASL_CB "urn:xmpp:sasl-cb:0"
#define NS_REGISTER "jabber:iq:register"
#define NS_REGISTER_FEATURE "http://jabber.org/features/iq-register"
#define NS_PING "urn:xmpp:ping"

#define C2S_MAX_MECHS 8

struct c2s_listener_config {
	char *address;
	int port;
	bool direct_tls;
};

struct c2s_config {
	struct c2s_listener_config *listeners;
	size_t nlisteners;
	char **hosts;			/* prepared (jid_prep_domainpart) */
	size_t nhosts;
	bool require_tls;
	const char *mechs[C2S_MAX_MECHS];
	size_t nmechs;
	bool sasl_external;
	bool tls13_unique_compat;
	bool registration;
	uint64_t sasl_timeout_ms;
	unsigned max_auth_failures;
	uint64_t bind_timeout_ms;
	size_t max_stanza;
	unsigned max_depth;
	size_t rate_limit;		/* bytes per second per connection */
	unsigned max_per_address;
	size_t max_connections;
	uint64_t preauth_timeout_ms;
	uint64_t idle_timeout_ms;
	size_t max_write_queue;
	size_t max_frame;		/* router.max_frame */
};

struct listener {
	struct c2s *c2s;
	int fd;
	bool direct_tls;
	char where[80];
};

struct client;

struct c2s {
	struct loop *loop;
	const struct conf *conf;
	struct c2s_config cfg;
	struct tls_context *tls;
	struct router_link *link;
	char name[32];			/* c2s.N */
	const char *log_target;
	int report_fd;
	struct listener *listeners;
	size_t nlisteners;
	struct hash *by_sid;		/* session-id → client */
	struct hash *by_jid;		/* full JID → client with a session */
	struct hash *per_addr;		/* address → count (uintptr_t) */
	struct client *clients;		/* every connection, for shutdown */
	size_t nclients;
	uint64_t counter;
	bool auth_up;
	bool stopping;
	/* Parsers freed since the heap was last trimmed, and the timer that
	 * trims it once a wave of them is over (idle.c). */
	size_t released_since_trim;
	struct timer *trim_timer;
	/* One parser and tree for stanzas from frames (never a client's). */
	struct xml_stream *frame_xs;
	struct stanza *frame_st;
};

enum client_phase {
	PHASE_TLS_HANDSHAKE,	/* direct TLS, or after <proceed/> */
	PHASE_STREAM,		/* reading streams and stanzas */
	PHASE_CLOSING,		/* writing what is left, then close */
};

/* What the client may do next, in stream terms. */
enum client_stage {
	STAGE_PRE_TLS,		/* 5222 before STARTTLS */
	STAGE_PRE_AUTH,		/* encrypted (or TLS not required), SASL next */
	STAGE_AUTHED,		/* SASL done, bind next */
	STAGE_SESSION,		/* bound and started: stanzas flow */
};

/* Why reading is held (bits): the loop stops feeding the parser. */
#define HOLD_AUTH	0x1	/* waiting for parley-auth */
#define HOLD_BIND	0x2	/* waiting for SESSION_STARTED */
#define HOLD_RATE	0x4	/* over the byte rate for this second */

/* Element depth of what the parser has been fed (idle.c). */
struct depth_tracker {
	uint8_t state;
	char quote, prev, prev2;
	uint32_t depth;
};

struct client {
	struct c2s *c2s;
	struct client *prev, *next;
	int fd;
	enum client_phase phase;
	enum client_stage stage;
	unsigned hold;
	bool tls_on;
	bool direct_tls;
	bool header_sent;	/* our stream header for the current stream */
	bool stream_open;	/* the client's header arrived */
	bool broken;		/* the connection failed: free at the next pump */
	bool starttls_pending;	/* <proceed/> queued: TLS once it is written */
	bool in_feed;		/* inside xml_stream_feed (callbacks may pause) */
	bool tls_drained;	/* OpenSSL's last read() of the socket came back short */
	bool client_closed;	/* the client sent </stream:stream> */
	bool wr_closed;		/* our side is shut */
	bool releasable;	/* the parser may be freed when idle (idle.c) */
	bool resuming;		/* feeding a rebuilt parser our own header */
	struct depth_tracker track;
	/* When the parser was last freed, in loop milliseconds modulo 2^32
	 * (idle.c compares them by unsigned difference). */
	uint32_t released_at;
	struct timer *release_timer;
	bool session_started;
	bool session_end_sent;
	bool sasl_active;	/* an exchange with auth is going on */
	bool pinged;
	bool cancel_pending;	/* registration cancel sent to auth */
	uint16_t release_ms;	/* the parser's release delay; 0: the shortest */
	unsigned auth_failures;
	char sid[48];
	/* "192.0.2.1:4000" or "[2001:db8::1]:4000", for frames and logs */
	char addr[56];
	char addr_key[48];	/* the address alone, for per_addr */
	const char *host;	/* the stream's to: one of cfg.hosts */
	char *lang;
	char *bind_id;		/* id of the bind iq being answered */
	char *cancel_id;
	/* The last broadcast presence the client sent (available), kept to
	 * re-announce the session when sm comes back (session_reannounce). */
	char *last_presence;
	struct jid *jid;	/* bare after SASL, full after bind */
	struct tls_conn *tls;
	struct xml_stream *xs;
	struct stanza **pending; /* stanzas that came while held */
	size_t npending;
	struct buf out;
	uint64_t out_total;	/* bytes ever appended to out */
	/* ACKs owed to the senders of stanzas still in `out` (write_acks.h):
	 * a stanza is taken care of once it reached the kernel. */
	struct write_acks acks;
	struct timer *deadline;	/* pre-auth, then idle */
	struct timer *wait_timer; /* auth or sm answer */
	struct timer *rate_timer;
	struct timer *pump_timer;
	struct timer *close_timer;
	uint64_t rate_window;
	size_t rate_bytes;
	uint64_t last_read;
};

/* config.c */
int c2s_configure(struct c2s *c2s, const struct conf *conf, struct conf_errors *errs);
int c2s_tls_setup(struct c2s *c2s, char *err, size_t errlen);
void c2s_unconfigure(struct c2s *c2s);
bool c2s_hosts(const struct c2s *c2s, const char *domain);
/* The configured host equal to domain (prepared), or NULL. */
const char *c2s_host_find(const struct c2s *c2s, const char *domain);

/* listen.c */
int c2s_listen(struct c2s *c2s, char *err, size_t errlen);
int c2s_listen_start(struct c2s *c2s, char *err, size_t errlen);
void c2s_unlisten(struct c2s *c2s);

/* conn.c */
struct client *client_new(struct c2s *c2s, int fd, bool direct_tls, const char *addr,
    const char *addr_key);
void client_flush(struct client *c);
/* Queue bytes for the client (already XML). */
void client_write(struct client *c, const void *data, size_t len);
void client_write_str(struct client *c, const char *s);
void client_write_stanza(struct client *c, const struct stanza *st);
/* Stop reading for `why`; client_release() resumes. */
void client_hold(struct client *c, unsigned why);
void client_release(struct client *c, unsigned why);
/* Close once what is queued is written (no stream error). */
void client_close(struct client *c, const char *why);
void client_start_tls(struct client *c);
void client_free(struct client **cp);
void client_set_deadline(struct client *c);

/* stream.c */
void stream_reset(struct client *c);
void stream_error(struct client *c, const char *condition, const char *text);
void stream_end(struct client *c);
void stream_send_features(struct client *c);
void stream_open_cb(void *arg, const struct xml_stream_header *h);
void stream_stanza_cb(void *arg, struct stanza *st);
void stream_close_cb(void *arg);
void stream_restart(struct client *c);
void stream_run_pending(struct client *c);
void stream_drop_pending(struct client *c, size_t from);
void stanza_error_reply(struct client *c, struct stanza *st, const char *type, const char *cond);

/* sasl.c */
void sasl_mechanisms_feature(struct client *c, struct buf *out);
void sasl_handle(struct client *c, struct stanza *st);
void sasl_frame(struct client *c, const struct frame *f);
void sasl_fail_temporary(struct client *c);
void sasl_wait_expired(struct client *c);
/* Wait for auth or sm: the timer of sasl_wait_expired / session_bind_expired. */
void c2s_wait(struct client *c, uint64_t ms);

/* session.c */
void session_bind(struct client *c, struct stanza *st);
void session_started(struct client *c, const struct frame *f);
void session_refused(struct client *c, const struct frame *f);
void session_end_from_sm(struct client *c, const struct frame *f);
void session_client_stanza(struct client *c, struct stanza *st);
void session_deliver(struct c2s *c2s, const struct frame *f);
void session_bounce_error(struct c2s *c2s, const struct frame *f);
void session_gone(struct client *c, uint32_t reason);
/* SESSION_START again, flagged REANNOUNCE, with the last broadcast
 * presence: sm came back (or the router did) and must learn the session
 * again. Nothing for a session not (or no longer) started. */
void session_reannounce(struct client *c);
void session_bind_expired(struct client *c);
void session_register_preauth(struct client *c, struct stanza *st);
/* Route a stanza to `to`; -1 if it does not fit or cannot be queued. */
int session_route(struct client *c, const char *to, const char *key, struct stanza *st,
    char *err, size_t errlen);

/* depth.c */
void depth_track(struct depth_tracker *t, const char *data, size_t len);
void depth_reset(struct depth_tracker *t);
bool depth_between_stanzas(const struct depth_tracker *t);

/* idle.c */
extern const struct xml_stream_callbacks client_xml_callbacks;
void idle_check(struct client *c);
int idle_restore(struct client *c);

/* sandbox.c */
int c2s_sandbox(struct c2s *c2s, char *err, size_t errlen);

/* link.c */
int c2s_link_setup(struct c2s *c2s, char *err, size_t errlen);

/* base64.c */
/* Strict RFC 4648 base64 (padding required, no whitespace); returns the
 * decoded length or -1. out holds at least len / 4 * 3 bytes. */
ssize_t base64_decode(const char *in, size_t len, unsigned char *out);
void base64_encode(const unsigned char *in, size_t len, struct buf *out);

#endif
