/*
 * out.c — outgoing federation: one stream per (local domain, remote
 * domain) pair, made when the first stanza for the pair comes and reused
 * until it goes idle. Stanzas wait in the pair's queue (at most
 * s2s.max_queue) while the remote server is found (dns.h), connected to
 * (each target and address in order, non-blocking; an address that has
 * not opened its stream within s2s.connect_attempt_timeout is left for the
 * next, the last one has what remains of s2s.connect_timeout), the
 * stream is opened
 * (jabber:server, dialback namespace, version 1.0), upgraded with STARTTLS
 * (required unless s2s.require_tls is false; or TLS from the first byte
 * for an XEP-0368 target), the remote certificate checked against the
 * remote domain (RFC 6125; logged, and required with
 * s2s.require_valid_certificates), and authenticated by SASL EXTERNAL
 * when the remote server offers it (XEP-0178: our domain's certificate),
 * else by Server Dialback (XEP-0220: <db:result/> with our key, answered
 * valid or invalid). Then the queue is written and later stanzas go
 * straight out.
 *
 * The same stream carries our <db:verify/> questions for the remote domain
 * when one of its servers claims, on an incoming stream (in.c), to be it.
 *
 * Whatever keeps a pair from being set up (no DNS answer, no connection,
 * TLS or dialback refused, the stream closed, nothing within
 * s2s.connect_timeout) sends every queued stanza back to its sender as an
 * error (remote-server-not-found, or remote-server-timeout for the
 * timeout) and answers the pending verifications as failed; nothing
 * queued is dropped in silence. The failure is logged once, here.
 *
 * Each stanza carries the ROUTE frame it came in (struct outgoing): its
 * sender is acknowledged when the stanza's last byte is written to the
 * socket (conn.c) or when it is bounced, never before. A ready stream that
 * dies with stanzas still in its write buffer gives them back: they go to
 * the front of the queue and the pair is set up again (a stanza lost that
 * way twice is bounced). A stopping s2s leaves the stanzas its senders
 * keep unanswered, so that they come again to the next s2s.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "netaddr.h"
#include "s2s.h"

enum out_state {
	OUT_RESOLVING,
	OUT_CONNECTING,
	OUT_NEGOTIATING,	/* stream, STARTTLS, features */
	OUT_SASL,		/* <auth mechanism='EXTERNAL'/> sent */
	OUT_SASL_DONE,		/* <success/>: waiting for the new stream's features */
	OUT_DIALBACK,		/* <db:result/> sent */
	OUT_READY,
};

struct verify_request {
	uint64_t serial;	/* the incoming connection asking */
	char *id;		/* its stream id */
	char *key;
	bool sent;
};

struct out {
	struct s2s *s2s;
	char *local, *remote, *hkey;
	enum out_state state;
	struct s2s_dns_query *query;
	struct s2s_targets *targets;
	size_t ti, ai;
	struct conn *conn;
	struct outgoing **queue;	/* not yet written, oldest first */
	size_t nqueue;
	struct verify_request *verifies;
	size_t nverifies;
	struct timer *deadline;
	uint64_t deadline_at;	/* when `deadline` fires */
	struct timer *attempt;	/* s2s.connect_attempt_timeout of o->conn */
	bool stream_up;		/* features done: verifications may be sent */
	bool dialback_offered;	/* the features named urn:xmpp:features:dialback */
	bool cert_ok;		/* the peer's certificate authenticates `remote` */
	char last_error[ERRLEN];
};

static void out_free(struct out **op)
{
	struct out *o = *op;

	if (o == NULL)
		return;
	*op = NULL;
	s2s_dns_cancel(&o->query);
	s2s_targets_free(&o->targets);
	loop_timer_cancel(o->s2s->loop, &o->deadline);
	loop_timer_cancel(o->s2s->loop, &o->attempt);
	if (o->conn != NULL)
		o->conn->owner = NULL;
	/* Only an empty queue is forgotten (fail() answers every stanza). */
	for (size_t i = 0; i < o->nqueue; i++)
		outgoing_free(&o->queue[i]);
	free(o->queue);
	for (size_t i = 0; i < o->nverifies; i++) {
		free(o->verifies[i].id);
		free(o->verifies[i].key);
	}
	free(o->verifies);
	free(o->local);
	free(o->remote);
	free(o->hkey);
	free(o);
}

static void forget(struct out *o)
{
	hash_del(o->s2s->outs, o->hkey, strlen(o->hkey));
	out_free(&o);
}

/* The one place a pair fails: every queued stanza and every pending
 * verification gets its answer, the connection (if any) is closed. */
static void fail(struct out *o, const char *condition, const char *why)
{
	struct s2s *s2s = o->s2s;
	bool timeout = strcmp(condition, "remote-server-timeout") == 0;
	char text[ERRLEN + 64];

	log_info("%s -> %s: %s; %zu stanza%s bounced with %s", o->local, o->remote, why,
	    o->nqueue, o->nqueue == 1 ? "" : "s", condition);
	snprintf(text, sizeof(text), "%s: %s", o->remote, why);
	for (size_t i = 0; i < o->nqueue; i++) {
		if (s2s->stopping)
			outgoing_stopping(s2s, &o->queue[i]);
		else
			outgoing_bounce(s2s, &o->queue[i], timeout ? "wait" : "cancel", condition,
			    text);
	}
	o->nqueue = 0;
	for (size_t i = 0; i < o->nverifies; i++)
		in_verify_answer(s2s, o->verifies[i].serial, o->remote, o->local, false, why);
	if (o->conn != NULL) {
		struct conn *c = o->conn;
		o->conn = NULL;
		c->owner = NULL;
		if (c->phase == PHASE_STREAM && c->header_sent)
			conn_stream_end(c);
		else
			conn_close(c, why);
	}
	forget(o);
}

static void deadline_cb(struct loop *loop, void *arg)
{
	struct out *o = arg;

	(void)loop;
	o->deadline = NULL;
	fail(o, "remote-server-timeout", "not connected within s2s.connect_timeout");
}

/* Stanzas travel as jabber:client inside the suite, jabber:server here.
 * og is the connection's from now on (conn_write_outgoing). */
static void write_stanza(struct out *o, struct outgoing *og)
{
	struct stanza *wire = stanza_new_empty();
	struct buf qname = BUF_INIT;

	stanza_translate_ns(wire, STANZA_NONE, og->st, stanza_root(og->st), NS_SERVER, &qname);
	conn_write_outgoing(o->conn, wire, og);
	buf_free(&qname);
	stanza_free(&wire);
}

static void send_verify(struct out *o, struct verify_request *v)
{
	struct stanza *st = stanza_new(NS_DIALBACK, "db:verify");

	stanza_set_from(st, o->local);
	stanza_set_to(st, o->remote);
	stanza_set_id(st, v->id);
	stanza_add_text(st, 0, v->key);
	conn_write_stanza(o->conn, st);
	stanza_free(&st);
	v->sent = true;
}

static void try_next(struct out *o);

static void dns_done(struct s2s_targets *targets, const char *error, void *arg)
{
	struct out *o = arg;

	o->query = NULL;
	if (targets == NULL) {
		fail(o, "remote-server-not-found", error);
		return;
	}
	o->targets = targets;
	o->state = OUT_CONNECTING;
	try_next(o);
}

/* Is there an address after the one last taken (ai is the next index)? */
static bool more_addresses(const struct out *o)
{
	for (size_t ti = o->ti, ai = o->ai; ti < o->targets->count; ti++, ai = 0)
		if (ai < o->targets->target[ti].naddr)
			return true;
	return false;
}

/* The address did not open its stream in time: it is left (closed) for
 * the next one, as if it had refused the connection. */
static void attempt_cb(struct loop *loop, void *arg)
{
	struct out *o = arg;
	struct conn *c = o->conn;

	(void)loop;
	o->attempt = NULL;
	if (c == NULL)
		return;
	snprintf(o->last_error, sizeof(o->last_error), "%s: no stream within "
	    "s2s.connect_attempt_timeout", c->addr);
	log_info("%s -> %s: %s opened no stream within %llu ms (s2s.connect_attempt_timeout): "
	    "trying the next address", o->local, o->remote, c->addr,
	    (unsigned long long)o->s2s->cfg.connect_attempt_timeout_ms);
	o->conn = NULL;
	c->owner = NULL;
	if (c->phase == PHASE_STREAM && c->header_sent) {
		conn_stream_end(c);
	} else {
		/* Connecting or mid-TLS handshake: nothing to say, nothing to wait for. */
		conn_close(c, "s2s.connect_attempt_timeout");
		c->broken = true;
	}
	o->state = OUT_CONNECTING;
	try_next(o);
}

/* The attempt on o->conn gets s2s.connect_attempt_timeout when another
 * address is left to try and that much of s2s.connect_timeout remains;
 * otherwise the overall deadline alone decides. */
static void arm_attempt(struct out *o)
{
	struct s2s *s2s = o->s2s;
	uint64_t now = loop_now_ms(s2s->loop), limit = s2s->cfg.connect_attempt_timeout_ms;

	loop_timer_cancel(s2s->loop, &o->attempt);
	if (!more_addresses(o) || o->deadline_at <= now || limit >= o->deadline_at - now)
		return;
	o->attempt = loop_timer_add(s2s->loop, limit, attempt_cb, o);
}

/* Connect to the next address of the current target, or the next target. */
static void try_next(struct out *o)
{
	struct s2s *s2s = o->s2s;

	for (; o->ti < o->targets->count; o->ti++, o->ai = 0) {
		const struct s2s_target *t = &o->targets->target[o->ti];
		while (o->ai < t->naddr) {
			const struct sockaddr_storage *ss = &t->addr[o->ai++];
			socklen_t sl = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
			    sizeof(struct sockaddr_in6);
			char where[80];
			netaddr_format(ss, where, sizeof(where), NULL, 0);
			int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				snprintf(o->last_error, sizeof(o->last_error), "%s: socket: %s", where,
				    strerror(errno));
				continue;
			}
			if (connect(fd, (const struct sockaddr *)ss, sl) < 0 && errno != EINPROGRESS) {
				snprintf(o->last_error, sizeof(o->last_error), "%s: %s", where,
				    strerror(errno));
				close(fd);
				continue;
			}
			int one = 1;
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			struct conn *c = conn_new(s2s, fd, CONN_OUT, true, where, NULL);
			if (c == NULL) {
				snprintf(o->last_error, sizeof(o->last_error), "%s: cannot watch",
				    where);
				continue;
			}
			c->owner = o;
			c->direct_tls = t->direct_tls;
			c->local = xstrdup(o->local);
			c->remote = xstrdup(o->remote);
			o->conn = c;
			log_debug("%s -> %s: connecting to %s (%s, %s)", o->local, o->remote, where,
			    t->host, t->direct_tls ? "direct TLS" : "STARTTLS");
			arm_attempt(o);
			return;
		}
	}
	fail(o, "remote-server-not-found", o->last_error[0] != '\0' ? o->last_error :
	    "no target it can connect to");
}

void out_connect_failed(struct out *o, const char *why)
{
	loop_timer_cancel(o->s2s->loop, &o->attempt);
	o->conn = NULL;
	snprintf(o->last_error, sizeof(o->last_error), "%s", why);
	try_next(o);
}

void out_connected(struct conn *c)
{
	struct out *o = c->owner;

	if (o == NULL)
		return;
	log_debug("%s -> %s: connected to %s", o->local, o->remote, c->addr);
	o->state = OUT_NEGOTIATING;
	if (c->direct_tls)
		conn_start_tls(c); /* XEP-0368: TLS first, SNI the remote domain */
	else
		conn_send_header(c, o->local, o->remote, false);
}

/* TLS is up: what is the remote server's certificate worth? Logged
 * always; with s2s.require_valid_certificates, one that does not
 * authenticate the remote domain ends the attempt. */
void out_tls_up(struct conn *c)
{
	struct out *o = c->owner;
	char why[ERRLEN];

	if (o == NULL)
		return;
	o->cert_ok = tls_peer_authenticates_domain(c->tls, o->remote, why, sizeof(why));
	log_info("%s -> %s: %s %s%s; the certificate %s %s%s%s", o->local, o->remote,
	    tls_version_name(c->tls), tls_cipher_name(c->tls), c->direct_tls ? " (direct TLS)" : "",
	    o->cert_ok ? "authenticates" : "does not authenticate", o->remote,
	    o->cert_ok ? "" : ": ", o->cert_ok ? "" : why);
	if (!o->cert_ok && o->s2s->cfg.require_valid_certs) {
		snprintf(o->last_error, sizeof(o->last_error), "s2s.require_valid_certificates: "
		    "%.200s", why);
		conn_close(c, o->last_error);
		return;
	}
	conn_send_header(c, o->local, o->remote, false);
}

/* The stanzas c never wrote to its socket go back to the front of the
 * queue, in order, for the next stream; one already lost that way
 * S2S_MAX_WRITES times is bounced instead, so a peer that keeps taking
 * streams and dropping them cannot hold it for ever. */
#define S2S_MAX_WRITES 2
static size_t take_back(struct out *o, struct conn *c)
{
	struct outgoing **back = NULL;
	struct write_ack e;
	size_t n = 0;
	char text[ERRLEN];

	while (write_acks_take(&c->acks, &e)) {
		struct outgoing *og = e.item;
		write_ack_clear(&e);
		if (og->writes >= S2S_MAX_WRITES) {
			snprintf(text, sizeof(text), "%s: the stream was lost %u times before the "
			    "stanza was written", o->remote, og->writes);
			outgoing_bounce(o->s2s, &og, "wait", "remote-server-timeout", text);
			continue;
		}
		back = xreallocarray(back, n + 1, sizeof(*back));
		back[n++] = og;
	}
	if (n == 0)
		return 0;
	o->queue = xreallocarray(o->queue, o->nqueue + n, sizeof(*o->queue));
	memmove(o->queue + n, o->queue, o->nqueue * sizeof(*o->queue));
	memcpy(o->queue, back, n * sizeof(*back));
	o->nqueue += n;
	free(back);
	return n;
}

/* A ready stream went away with stanzas still to write (given back, or
 * queued while it was closing): set the pair up again, from DNS on, with
 * a fresh s2s.connect_timeout. Verifications it carried are asked again. */
static void reconnect(struct out *o, size_t taken_back)
{
	struct s2s *s2s = o->s2s;

	log_info("%s -> %s: stream lost with %zu stanza%s not written (%zu given back): "
	    "connecting again", o->local, o->remote, o->nqueue, o->nqueue == 1 ? "" : "s",
	    taken_back);
	s2s_targets_free(&o->targets);
	o->ti = o->ai = 0;
	o->stream_up = o->dialback_offered = o->cert_ok = false;
	o->last_error[0] = '\0';
	for (size_t i = 0; i < o->nverifies; i++)
		o->verifies[i].sent = false;
	o->state = OUT_RESOLVING;
	loop_timer_cancel(s2s->loop, &o->deadline);
	o->deadline = loop_timer_add(s2s->loop, s2s->cfg.connect_timeout_ms, deadline_cb, o);
	o->deadline_at = loop_now_ms(s2s->loop) + s2s->cfg.connect_timeout_ms;
	o->query = s2s_dns_resolve(s2s->dns, o->remote, dns_done, o);
}

void out_conn_gone(struct out *o, struct conn *c)
{
	loop_timer_cancel(o->s2s->loop, &o->attempt);
	o->conn = NULL;
	size_t taken_back = take_back(o, c);
	if (o->state == OUT_READY && o->nverifies == 0 && o->nqueue == 0) {
		log_debug("%s -> %s: stream closed", o->local, o->remote);
		forget(o);
		return;
	}
	if (o->state == OUT_READY && o->nqueue > 0 && !o->s2s->stopping) {
		reconnect(o, taken_back);
		return;
	}
	fail(o, "remote-server-not-found", o->last_error[0] != '\0' ? o->last_error :
	    "the stream was closed before it was usable");
}

void out_unwritten(struct s2s *s2s, struct write_acks *wa)
{
	struct write_ack e;

	while (write_acks_take(wa, &e)) {
		struct outgoing *og = e.item;
		write_ack_clear(&e);
		if (s2s->stopping)
			outgoing_stopping(s2s, &og);
		else
			outgoing_bounce(s2s, &og, "wait", "remote-server-timeout",
			    "the stream was lost before the stanza was written");
	}
}

static struct out *out_get(struct s2s *s2s, const char *local, const char *remote)
{
	struct buf key = BUF_INIT;
	struct out *o;

	buf_appendf(&key, "%s %s", local, remote);
	o = hash_get(s2s->outs, buf_head(&key), buf_used(&key));
	if (o != NULL) {
		buf_free(&key);
		return o;
	}
	o = xcalloc(1, sizeof(*o));
	o->s2s = s2s;
	o->local = xstrdup(local);
	o->remote = xstrdup(remote);
	o->hkey = xstrdup(buf_head(&key));
	buf_free(&key);
	hash_put(s2s->outs, o->hkey, strlen(o->hkey), o);
	o->state = OUT_RESOLVING;
	o->deadline = loop_timer_add(s2s->loop, s2s->cfg.connect_timeout_ms, deadline_cb, o);
	o->deadline_at = loop_now_ms(s2s->loop) + s2s->cfg.connect_timeout_ms;
	log_debug("%s -> %s: new stream", local, remote);
	o->query = s2s_dns_resolve(s2s->dns, remote, dns_done, o);
	return o;
}

void out_send(struct s2s *s2s, const char *local, const char *remote, struct outgoing *og)
{
	struct out *o = out_get(s2s, local, remote);
	char text[160];

	/* A stream that is closing (idle) takes nothing more: the stanza
	 * waits for the next one (out_conn_gone). */
	if (o->state == OUT_READY && o->conn != NULL && o->conn->phase == PHASE_STREAM) {
		if (buf_used(&o->conn->out) > s2s->cfg.max_write_queue) {
			snprintf(text, sizeof(text), "%s is not reading fast enough", remote);
			outgoing_bounce(s2s, &og, "wait", "resource-constraint", text);
		} else {
			write_stanza(o, og);
		}
		return;
	}
	if (o->nqueue >= s2s->cfg.max_queue) {
		snprintf(text, sizeof(text), "too many stanzas waiting for %s (s2s.max_queue)",
		    remote);
		outgoing_bounce(s2s, &og, "wait", "resource-constraint", text);
		return;
	}
	o->queue = xreallocarray(o->queue, o->nqueue + 1, sizeof(*o->queue));
	o->queue[o->nqueue++] = og;
}

void out_verify(struct s2s *s2s, const char *local, const char *remote, struct conn *in,
    const char *key)
{
	struct out *o = out_get(s2s, local, remote);

	o->verifies = xreallocarray(o->verifies, o->nverifies + 1, sizeof(*o->verifies));
	struct verify_request *v = &o->verifies[o->nverifies++];
	*v = (struct verify_request){ .serial = in->serial, .id = xstrdup(in->stream_id),
		.key = xstrdup(key) };
	if (o->stream_up && o->conn != NULL)
		send_verify(o, v);
}

void out_free_all(struct s2s *s2s)
{
	struct hash_iter it;
	const char *k;
	size_t kl;
	void *v;

	while (hash_count(s2s->outs) > 0) {
		hash_iter_init(s2s->outs, &it);
		if (!hash_iter_next(&it, &k, &kl, &v))
			break;
		struct out *o = v;
		if (o->nqueue > 0 || o->nverifies > 0)
			fail(o, "remote-server-timeout", "s2s is stopping");
		else
			forget(o);
	}
}

/* --- the stream, as the initiating entity ---------------------------------- */

static void send_pending_verifies(struct out *o)
{
	o->stream_up = true;
	for (size_t i = 0; i < o->nverifies; i++)
		if (!o->verifies[i].sent)
			send_verify(o, &o->verifies[i]);
}

/* Features done (or a pre-1.0 peer with none): ask for what we need. */
static void stream_up(struct out *o)
{
	struct conn *c = o->conn;
	char key[DIALBACK_KEY_LEN + 1];

	send_pending_verifies(o);
	if (o->state == OUT_DIALBACK || o->state == OUT_READY)
		return;
	if (dialback_key(o->s2s->dialback_secret, o->remote, o->local, c->stream_id, key) < 0) {
		snprintf(o->last_error, sizeof(o->last_error), "cannot compute a dialback key");
		conn_stream_error(c, "internal-server-error", NULL);
		return;
	}
	struct stanza *st = stanza_new(NS_DIALBACK, "db:result");
	stanza_set_from(st, o->local);
	stanza_set_to(st, o->remote);
	stanza_add_text(st, 0, key);
	conn_write_stanza(c, st);
	stanza_free(&st);
	o->state = OUT_DIALBACK;
}

static void ready(struct out *o, const char *method)
{
	loop_timer_cancel(o->s2s->loop, &o->deadline);
	o->state = OUT_READY;
	log_info("%s -> %s: stream ready (%s, %s); %zu stanza%s queued", o->local, o->remote,
	    method, o->conn->tls_on ? "TLS" : "no TLS", o->nqueue, o->nqueue == 1 ? "" : "s");
	for (size_t i = 0; i < o->nqueue; i++) {
		write_stanza(o, o->queue[i]);
		o->queue[i] = NULL;
	}
	o->nqueue = 0;
}

static void give_up(struct out *o, struct conn *c, const char *why)
{
	snprintf(o->last_error, sizeof(o->last_error), "%s", why);
	conn_stream_end(c);
}

static void open_cb(void *arg, const struct xml_stream_header *h)
{
	struct conn *c = arg;
	struct out *o = c->owner;

	if (o == NULL)
		return;
	if (h->content_ns == NULL || strcmp(h->content_ns, NS_SERVER) != 0) {
		snprintf(o->last_error, sizeof(o->last_error), "the peer's stream is not jabber:server");
		conn_stream_error(c, "invalid-namespace", NULL);
		return;
	}
	if (h->id == NULL || strlen(h->id) >= sizeof(c->stream_id) || h->id[0] == '\0') {
		snprintf(o->last_error, sizeof(o->last_error), "the peer's stream has no usable id");
		conn_stream_error(c, "invalid-id", NULL);
		return;
	}
	snprintf(c->stream_id, sizeof(c->stream_id), "%s", h->id);
	/* The server answers: from now on only s2s.connect_timeout counts. */
	loop_timer_cancel(o->s2s->loop, &o->attempt);
	if (h->version == NULL || atoi(h->version) < 1) {
		/* Before RFC 6120 there are no features: dialback at once. */
		if (o->s2s->cfg.require_tls && !c->tls_on) {
			give_up(o, c, "the peer offers no STARTTLS (pre-1.0 stream)");
			return;
		}
		stream_up(o);
	}
}

static bool offers_external(const struct stanza *st)
{
	int mechs = stanza_find_child(st, 0, NS_SASL, "mechanisms");

	if (mechs == STANZA_NONE)
		return false;
	for (int m = stanza_first_element(st, mechs); m != STANZA_NONE;
	    m = stanza_next_element(st, m)) {
		const char *name = stanza_text(st, m);
		if (stanza_is(st, m, NS_SASL, "mechanism") && name != NULL &&
		    strcmp(name, "EXTERNAL") == 0)
			return true;
	}
	return false;
}

static void features(struct out *o, struct conn *c, const struct stanza *st)
{
	if (!c->tls_on && stanza_find_child(st, 0, NS_TLS, "starttls") != STANZA_NONE) {
		conn_write(c, "<starttls xmlns='" NS_TLS "'/>", strlen("<starttls xmlns='" NS_TLS "'/>"));
		return;
	}
	if (!c->tls_on && o->s2s->cfg.require_tls) {
		give_up(o, c, "the peer offers no STARTTLS and s2s.require_tls is set");
		return;
	}
	if (!c->tls_on && o->s2s->cfg.require_valid_certs) {
		give_up(o, c, "no TLS, so no certificate, and s2s.require_valid_certificates is set");
		return;
	}
	if (o->state == OUT_SASL_DONE) {
		/* The stream after SASL: the pair is authenticated. */
		send_pending_verifies(o);
		ready(o, "SASL EXTERNAL");
		return;
	}
	o->dialback_offered = stanza_find_child(st, 0, NS_DIALBACK_FEATURE, "dialback") !=
	    STANZA_NONE;
	/* XEP-0178: we cannot know whether our certificate will do; when the
	 * server offers EXTERNAL, it is worth a try. */
	if (c->tls_on && o->state == OUT_NEGOTIATING && offers_external(st)) {
		conn_write(c, "<auth xmlns='" NS_SASL "' mechanism='EXTERNAL'>=</auth>",
		    strlen("<auth xmlns='" NS_SASL "' mechanism='EXTERNAL'>=</auth>"));
		o->state = OUT_SASL;
		return;
	}
	stream_up(o);
}

static void sasl_answer(struct out *o, struct conn *c, const struct stanza *st, bool success)
{
	if (o->state != OUT_SASL) {
		snprintf(o->last_error, sizeof(o->last_error), "an unexpected SASL <%s/>",
		    stanza_name(st, 0));
		conn_stream_error(c, "invalid-xml", NULL);
		return;
	}
	if (success) {
		log_info("%s -> %s: authenticated by SASL EXTERNAL", o->local, o->remote);
		o->state = OUT_SASL_DONE;
		conn_restart_stream(c);
		conn_send_header(c, o->local, o->remote, false);
		return;
	}
	int cond = stanza_first_element(st, 0);
	log_info("%s -> %s: SASL EXTERNAL failed (<%s/>)%s", o->local, o->remote,
	    cond != STANZA_NONE ? stanza_name(st, cond) : "?",
	    o->dialback_offered ? ": trying dialback" : "");
	o->state = OUT_NEGOTIATING;
	if (o->s2s->cfg.require_valid_certs)
		give_up(o, c, "the peer refused SASL EXTERNAL and s2s.require_valid_certificates "
		    "leaves no other way");
	else if (!o->dialback_offered)
		give_up(o, c, "the peer refused SASL EXTERNAL and offers no dialback");
	else
		stream_up(o);
}

static void result(struct out *o, struct conn *c, const struct stanza *st)
{
	const char *type = stanza_type(st), *from = stanza_from(st), *to = stanza_to(st);

	if (o->state != OUT_DIALBACK || from == NULL || to == NULL ||
	    strcmp(from, o->remote) != 0 || strcmp(to, o->local) != 0) {
		snprintf(o->last_error, sizeof(o->last_error), "an unexpected <db:result/>");
		conn_stream_error(c, "invalid-xml", NULL);
		return;
	}
	if (type != NULL && strcmp(type, "valid") == 0) {
		ready(o, "dialback");
		return;
	}
	give_up(o, c, type != NULL && strcmp(type, "invalid") == 0 ?
	    "the peer found our dialback key invalid" : "the peer could not verify our dialback key");
}

static void verified(struct out *o, const struct stanza *st)
{
	const char *id = stanza_id(st), *type = stanza_type(st);

	for (size_t i = 0; i < o->nverifies; i++) {
		struct verify_request *v = &o->verifies[i];
		if (!v->sent || id == NULL || strcmp(v->id, id) != 0)
			continue;
		bool valid = type != NULL && strcmp(type, "valid") == 0;
		in_verify_answer(o->s2s, v->serial, o->remote, o->local, valid,
		    valid || (type != NULL && strcmp(type, "invalid") == 0) ? NULL :
		    "the authoritative server answered with an error");
		free(v->id);
		free(v->key);
		o->verifies[i] = o->verifies[--o->nverifies];
		return;
	}
	log_info("%s -> %s: an answer to a <db:verify/> we did not ask (id %s) ignored", o->local,
	    o->remote, id != NULL ? id : "none");
}

static void stanza_cb(void *arg, struct stanza *st)
{
	struct conn *c = arg;
	struct out *o = c->owner;

	if (o == NULL || c->phase != PHASE_STREAM)
		return;
	if (stanza_is(st, 0, NS_STREAMS, "features")) {
		features(o, c, st);
	} else if (stanza_is(st, 0, NS_TLS, "proceed")) {
		conn_start_tls(c);
	} else if (stanza_is(st, 0, NS_TLS, "failure")) {
		give_up(o, c, "the peer refused STARTTLS");
	} else if (stanza_is(st, 0, NS_SASL, "success")) {
		sasl_answer(o, c, st, true);
	} else if (stanza_is(st, 0, NS_SASL, "failure")) {
		sasl_answer(o, c, st, false);
	} else if (stanza_is(st, 0, NS_DIALBACK, "result")) {
		result(o, c, st);
	} else if (stanza_is(st, 0, NS_DIALBACK, "verify")) {
		verified(o, st);
	} else if (stanza_is(st, 0, NS_STREAMS, "error")) {
		int cond = stanza_first_element(st, 0);
		snprintf(o->last_error, sizeof(o->last_error), "stream error <%s/> from the peer",
		    cond != STANZA_NONE ? stanza_name(st, cond) : "?");
	} else {
		log_debug("%s -> %s: <%s/> on our outgoing stream ignored", o->local, o->remote,
		    stanza_name(st, 0));
	}
}

static void close_cb(void *arg)
{
	conn_stream_end(arg);
}

const struct xml_stream_callbacks out_xml_callbacks = { open_cb, stanza_cb, close_cb };
