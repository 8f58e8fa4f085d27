/*
 * conn.c — one server-to-server connection's bytes, in either direction:
 * the outgoing connect(), the TLS handshake (server side for incoming
 * streams, client side with SNI and our domain's certificate for outgoing
 * ones; at once for XEP-0368 direct TLS), reading with a
 * per-second byte budget, feeding the XML parser, the write queue,
 * whitespace keepalives, the idle timer, and closing cleanly (our last
 * bytes written, our side shut, the peer's leftovers read and dropped).
 *
 * A connection is freed in one place only, pump(), which runs from the
 * loop: code inside a stanza handler only marks it (conn_close, `broken`).
 * What a stream means is in.c's and out.c's business.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "log.h"
#include "sock_flush.h"
#include "netaddr.h"
#include "s2s.h"

#define READ_CHUNK 4096
#define READ_PER_TURN (64 * 1024)
#define CLOSE_GRACE_MS 3000

static void pump(struct conn *c);

static void pump_timer_cb(struct loop *loop, void *arg)
{
	struct conn *c = arg;

	(void)loop;
	c->pump_timer = NULL;
	pump(c);
}

static void schedule_pump(struct conn *c)
{
	if (c->pump_timer == NULL)
		c->pump_timer = loop_timer_add(c->s2s->loop, 0, pump_timer_cb, c);
}

static void on_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	pump(arg);
}

/* A stream with nothing read or sent for s2s.idle_timeout is closed; a
 * new one is opened when there is something to say again. */
static void idle_cb(struct loop *loop, void *arg)
{
	struct conn *c = arg;
	uint64_t now = loop_now_ms(loop), idle = c->s2s->cfg.idle_timeout_ms;
	uint64_t last = c->last_read > c->last_write ? c->last_read : c->last_write;

	c->idle_timer = NULL;
	if (c->phase == PHASE_CLOSING)
		return;
	if (now - last < idle) {
		c->idle_timer = loop_timer_add(loop, last + idle - now, idle_cb, c);
		return;
	}
	log_info("%s: idle for %llu s: closing", c->addr, (unsigned long long)(idle / 1000));
	if (c->phase == PHASE_STREAM)
		conn_stream_end(c);
	else
		conn_close(c, "idle");
}

/* RFC 6120 §4.6.1: a single space now and then keeps NATs and firewalls
 * from forgetting a quiet connection, and shows a dead one. */
static void keepalive_cb(struct loop *loop, void *arg)
{
	struct conn *c = arg;
	uint64_t now = loop_now_ms(loop), every = c->s2s->cfg.keepalive_ms;

	c->keepalive_timer = NULL;
	if (c->phase == PHASE_CLOSING)
		return;
	if (c->phase == PHASE_STREAM && c->header_sent && now - c->last_write >= every &&
	    buf_used(&c->out) == 0) {
		buf_append(&c->out, " ", 1);
		c->appended++;
		schedule_pump(c);
	}
	c->keepalive_timer = loop_timer_add(loop, every, keepalive_cb, c);
}

struct conn *conn_new(struct s2s *s2s, int fd, enum conn_dir dir, bool connecting,
    const char *addr, const char *addr_key)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	char err[ERRLEN];

	c->s2s = s2s;
	c->fd = fd;
	c->dir = dir;
	c->serial = ++s2s->serial;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	snprintf(c->addr_key, sizeof(c->addr_key), "%s", addr_key != NULL ? addr_key : "");
	c->xs = xml_stream_new(dir == CONN_IN ? &in_xml_callbacks : &out_xml_callbacks, c,
	    s2s->cfg.max_stanza, s2s->cfg.max_depth, err, sizeof(err));
	if (c->xs == NULL || loop_add_fd(s2s->loop, fd, on_io, c, err, sizeof(err)) < 0) {
		log_error("%s: %s", addr, err);
		xml_stream_free(&c->xs);
		close(fd);
		free(c);
		return NULL;
	}
	c->phase = connecting ? PHASE_CONNECTING : PHASE_STREAM;
	if (dir == CONN_OUT)
		c->acks.free_item = outgoing_free_item;
	c->last_read = c->last_write = c->rate_window = loop_now_ms(s2s->loop);
	c->next = s2s->conns;
	if (s2s->conns != NULL)
		s2s->conns->prev = c;
	s2s->conns = c;
	s2s->nconns++;
	c->idle_timer = loop_timer_add(s2s->loop, s2s->cfg.idle_timeout_ms, idle_cb, c);
	if (s2s->cfg.keepalive_ms > 0)
		c->keepalive_timer = loop_timer_add(s2s->loop, s2s->cfg.keepalive_ms, keepalive_cb, c);
	log_debug("%s: %s connection", addr, dir == CONN_IN ? "incoming" : "outgoing");
	if (dir == CONN_IN)
		in_started(c);
	schedule_pump(c);
	return c;
}

struct conn *conn_find(struct s2s *s2s, uint64_t serial)
{
	for (struct conn *c = s2s->conns; c != NULL; c = c->next)
		if (c->serial == serial)
			return c;
	return NULL;
}

void conn_free(struct conn **cp)
{
	struct conn *c = *cp;
	struct s2s *s2s;

	if (c == NULL)
		return;
	*cp = NULL;
	s2s = c->s2s;
	c->phase = PHASE_CLOSING;
	/* What reached the kernel is answered; the rest goes back to the
	 * pair (sent again on a new stream) or, without one, bounced. */
	write_acks_due(&c->acks, c->appended - buf_used(&c->out), s2s->link);
	if (c->owner != NULL) {
		struct out *o = c->owner;
		c->owner = NULL;
		out_conn_gone(o, c);
	}
	if (write_acks_count(&c->acks) > 0)
		out_unwritten(s2s, &c->acks);
	write_acks_fini(&c->acks);
	if (c->dir == CONN_IN && c->addr_key[0] != '\0')
		netaddr_count_release(s2s->per_addr, c->addr_key);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s2s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s2s->nconns--;
	loop_timer_cancel(s2s->loop, &c->idle_timer);
	loop_timer_cancel(s2s->loop, &c->keepalive_timer);
	loop_timer_cancel(s2s->loop, &c->pump_timer);
	loop_timer_cancel(s2s->loop, &c->close_timer);
	loop_timer_cancel(s2s->loop, &c->rate_timer);
	loop_timer_cancel(s2s->loop, &c->negotiation_timer);
	loop_del_fd(s2s->loop, c->fd);
	tls_conn_free(&c->tls);
	close(c->fd);
	xml_stream_free(&c->xs);
	buf_free(&c->out);
	for (size_t i = 0; i < c->npairs; i++) {
		free(c->pairs[i].from);
		free(c->pairs[i].to);
	}
	free(c->pairs);
	free(c->local);
	free(c->remote);
	log_debug("%s: gone", c->addr);
	free(c);
}

/* Write what is queued; never frees (errors mark the connection broken). */
static void flush(struct conn *c)
{
	char err[ERRLEN];

	if (c->broken || c->phase == PHASE_TLS_HANDSHAKE || c->phase == PHASE_CONNECTING)
		return;
	int rc = sock_flush(&c->out, c->fd, c->tls, err, sizeof(err));
	/* Stanzas whose last byte left are answered now, even if the
	 * connection failed just after. */
	if (write_acks_count(&c->acks) > 0)
		write_acks_due(&c->acks, c->appended - buf_used(&c->out), c->s2s->link);
	if (rc < 0) {
		log_debug("%s: write: %s", c->addr, err);
		c->broken = true;
		schedule_pump(c);
		return;
	}
	if (rc == 0)
		return;
	buf_shrink(&c->out, 0);
	if (c->phase == PHASE_CLOSING || c->starttls_pending)
		schedule_pump(c);
}

/* Queue bytes; false when the connection takes no more (our side shut). */
static bool append(struct conn *c, const void *data, size_t len)
{
	if (c->phase == PHASE_CLOSING && c->wr_closed)
		return false;
	buf_append(&c->out, data, len);
	c->appended += len;
	c->last_write = loop_now_ms(c->s2s->loop);
	return true;
}

static void write_soon(struct conn *c)
{
	if (!c->in_feed)
		flush(c);
	else
		schedule_pump(c);
}

void conn_write(struct conn *c, const void *data, size_t len)
{
	if (append(c, data, len))
		write_soon(c);
}

void conn_write_outgoing(struct conn *c, const struct stanza *wire, struct outgoing *og)
{
	struct buf b = BUF_INIT;

	stanza_write(wire, &b, NS_SERVER);
	bool queued = append(c, buf_head(&b), buf_used(&b));
	buf_free(&b);
	og->writes++;
	if (og->sender == NULL) {
		/* Nobody to answer: written or not, it is done with. */
		outgoing_free(&og);
	} else {
		/* Its ACK is owed once the last byte is written (flush());
		 * unqueued, it waits for the connection's end to go back. */
		write_acks_add_item(&c->acks, S2S_NAME, og->sender, og->seq,
		    queued ? c->appended : UINT64_MAX, og);
	}
	if (queued)
		write_soon(c);
}

void conn_write_stanza(struct conn *c, const struct stanza *st)
{
	struct buf b = BUF_INIT;

	stanza_write(st, &b, NS_SERVER);
	conn_write(c, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

static void close_timer_cb(struct loop *loop, void *arg)
{
	struct conn *c = arg;

	(void)loop;
	c->close_timer = NULL;
	c->broken = true;
	pump(c);
}

void conn_close(struct conn *c, const char *why)
{
	if (c->phase == PHASE_CLOSING)
		return;
	if (why != NULL)
		log_debug("%s: closing: %s", c->addr, why);
	bool connecting = c->phase == PHASE_CONNECTING;
	c->phase = PHASE_CLOSING;
	if (c->xs != NULL && c->in_feed)
		xml_stream_pause(c->xs);
	if (connecting)
		c->broken = true;
	c->close_timer = loop_timer_add(c->s2s->loop, CLOSE_GRACE_MS, close_timer_cb, c);
	flush(c);
	schedule_pump(c);
}

void conn_start_tls(struct conn *c)
{
	c->starttls_pending = true;
	if (c->in_feed)
		xml_stream_pause(c->xs);
	schedule_pump(c);
}

void conn_restart_stream(struct conn *c)
{
	c->restart_pending = true;
	c->header_sent = false;
	if (c->in_feed)
		xml_stream_pause(c->xs);
	schedule_pump(c);
}

void conn_new_stream_id(struct conn *c)
{
	unsigned char r[16];
	static const char hex[] = "0123456789abcdef";

	if (RAND_bytes(r, sizeof(r)) != 1)
		log_fatal("RAND_bytes failed");
	for (size_t i = 0; i < sizeof(r); i++) {
		c->stream_id[2 * i] = hex[r[i] >> 4];
		c->stream_id[2 * i + 1] = hex[r[i] & 15];
	}
	c->stream_id[32] = '\0';
}

void conn_send_header(struct conn *c, const char *from, const char *to, bool with_id)
{
	struct stanza *h = stanza_new_stream_header(NS_SERVER);
	struct buf b = BUF_INIT;

	stanza_declare_ns(h, 0, "db", NS_DIALBACK);
	if (from != NULL)
		stanza_set_from(h, from);
	if (to != NULL)
		stanza_set_to(h, to);
	if (with_id) {
		conn_new_stream_id(c);
		stanza_set_id(h, c->stream_id);
	}
	/* RFC 6120 §4.7.5: a peer that sent no version (0.9) gets none. */
	if (c->dir == CONN_OUT || c->version1)
		stanza_set_attr(h, 0, "version", "1.0");
	stanza_write_stream_header(h, &b);
	conn_write(c, buf_head(&b), buf_used(&b));
	buf_free(&b);
	stanza_free(&h);
	c->header_sent = true;
}

void conn_stream_end(struct conn *c)
{
	if (c->phase == PHASE_CLOSING)
		return;
	conn_write(c, "</stream:stream>", 16);
	conn_close(c, NULL);
}

void conn_stream_error(struct conn *c, const char *condition, const char *text)
{
	if (c->phase == PHASE_CLOSING)
		return;
	/* A header the parser refused has told us nothing: the reply comes
	 * from our first domain (RFC 6120 §4.7.1 wants a `from`). */
	if (!c->header_sent)
		conn_send_header(c, c->local != NULL || c->dir == CONN_OUT ? c->local :
		    c->s2s->cfg.hosts[0], c->remote, c->dir == CONN_IN);
	struct stanza *e = stanza_new_stream_error(condition, text);
	conn_write_stanza(c, e);
	stanza_free(&e);
	log_info("%s: stream error %s%s%s", c->addr, condition, text != NULL ? ": " : "",
	    text != NULL ? text : "");
	conn_stream_end(c);
}

static void rate_timer_cb(struct loop *loop, void *arg)
{
	struct conn *c = arg;

	c->rate_timer = NULL;
	c->rate_window = loop_now_ms(loop);
	c->rate_bytes = 0;
	c->rate_held = false;
	schedule_pump(c);
}

/* Count bytes against the per-second budget; over it, reading stops until
 * the second is over (the peer is slowed down, not cut off). */
static void account(struct conn *c, size_t n)
{
	struct s2s *s2s = c->s2s;
	uint64_t now = loop_now_ms(s2s->loop);

	c->last_read = now;
	if (s2s->cfg.rate_limit == 0)
		return;
	if (now - c->rate_window >= 1000) {
		c->rate_window = now;
		c->rate_bytes = 0;
	}
	c->rate_bytes += n;
	if (c->rate_bytes >= s2s->cfg.rate_limit && c->rate_timer == NULL) {
		c->rate_held = true;
		c->rate_timer = loop_timer_add(s2s->loop, 1000 - (now - c->rate_window),
		    rate_timer_cb, c);
	}
}

static void feed(struct conn *c, const char *data, size_t len)
{
	char err[ERRLEN];

	if (c->phase != PHASE_STREAM || c->starttls_pending)
		return;
	c->in_feed = true;
	ssize_t n = xml_stream_feed(c->xs, data, len, err, sizeof(err));
	c->in_feed = false;
	flush(c);
	if (n < 0 && !c->starttls_pending && c->phase == PHASE_STREAM) {
		log_info("%s: %s", c->addr, err);
		conn_stream_error(c, xml_stream_condition(xml_stream_error(c->xs)), NULL);
	}
}

/* -1 when the connection is over (EOF or an error), 0 otherwise. */
static int read_some(struct conn *c)
{
	char data[READ_CHUNK], err[ERRLEN];
	size_t total = 0;

	while (total < READ_PER_TURN) {
		if (c->restart_pending && !c->in_feed) {
			xml_stream_reset(c->xs);
			c->restart_pending = false;
		}
		if (c->phase == PHASE_STREAM && (c->rate_held || c->starttls_pending))
			return 0;
		if (c->phase == PHASE_TLS_HANDSHAKE || c->phase == PHASE_CONNECTING)
			return 0;
		ssize_t n;
		if (c->tls != NULL) {
			n = tls_read(c->tls, data, sizeof(data), err, sizeof(err));
			if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
				return 0;
			if (n == TLS_CLOSED || n == TLS_ERROR) {
				if (n == TLS_ERROR && c->phase != PHASE_CLOSING)
					log_info("%s: connection lost: %s", c->addr, err);
				return -1;
			}
		} else {
			n = read(c->fd, data, sizeof(data));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (n <= 0) {
				if (c->phase != PHASE_CLOSING)
					log_info("%s: connection lost: %s", c->addr,
					    n == 0 ? "closed by the peer" : strerror(errno));
				return -1;
			}
		}
		total += (size_t)n;
		if (c->phase != PHASE_STREAM)
			continue; /* closing: the peer's last words are dropped */
		account(c, (size_t)n);
		feed(c, data, (size_t)n);
	}
	schedule_pump(c);
	return 0;
}

static int handshake(struct conn *c)
{
	char err[ERRLEN];
	int r = tls_handshake(c->tls, err, sizeof(err));

	if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
		return 0;
	if (r != TLS_OK) {
		log_info("%s: TLS handshake: %s", c->addr, err);
		return -1;
	}
	c->tls_on = true;
	c->phase = PHASE_STREAM;
	log_debug("%s: %s %s%s", c->addr, tls_version_name(c->tls), tls_cipher_name(c->tls),
	    c->direct_tls ? " (direct TLS)" : "");
	/* What the peer's certificate is worth depends on the domain it
	 * claims: out.c knows it now, in.c at the stream header. */
	if (c->dir == CONN_OUT)
		out_tls_up(c);
	return 1;
}

static int start_tls(struct conn *c)
{
	char err[ERRLEN];

	c->starttls_pending = false;
	if (c->dir == CONN_IN) {
		c->tls = tls_conn_new_server(c->s2s->tls_server, c->fd, err, sizeof(err));
		if (c->tls != NULL && c->local != NULL)
			(void)tls_conn_prefer_domain(c->tls, c->local);
	} else
		c->tls = tls_conn_new_client(s2s_tls_client(c->s2s, c->local), c->fd, c->remote,
		    NULL, err, sizeof(err));
	if (c->tls == NULL) {
		log_error("%s: %s", c->addr, err);
		return -1;
	}
	c->phase = PHASE_TLS_HANDSHAKE;
	c->header_sent = false;
	xml_stream_reset(c->xs);
	return 0;
}

/* The outgoing connect() finished: 1 connected, 0 not yet, -1 failed. */
static int connect_done(struct conn *c, char *why, size_t whylen)
{
	int e = 0;
	socklen_t el = sizeof(e);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
		e = errno;
	if (e != 0)
		return errf(why, whylen, "%s", strerror(e));
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) < 0)
		return errno == ENOTCONN ? 0 : errf(why, whylen, "%s", strerror(errno));
	return 1;
}

static void finish_close(struct conn *c)
{
	char err[ERRLEN];

	if (c->wr_closed)
		return;
	if (c->tls != NULL)
		(void)tls_shutdown(c->tls, err, sizeof(err));
	(void)shutdown(c->fd, SHUT_WR);
	c->wr_closed = true;
}

static void pump(struct conn *c)
{
	char why[ERRLEN];

	if (c->broken) {
		conn_free(&c);
		return;
	}
	if (c->phase == PHASE_CONNECTING) {
		int r = connect_done(c, why, sizeof(why));
		if (r == 0)
			return;
		if (r < 0) {
			struct out *o = c->owner;
			c->owner = NULL;
			log_info("%s: connect: %s", c->addr, why);
			conn_free(&c);
			if (o != NULL)
				out_connect_failed(o, why);
			return;
		}
		c->phase = PHASE_STREAM;
		out_connected(c);
	}
	if (c->starttls_pending && buf_used(&c->out) == 0 && start_tls(c) < 0) {
		conn_free(&c);
		return;
	}
	if (c->phase == PHASE_TLS_HANDSHAKE) {
		int r = handshake(c);
		if (r < 0) {
			conn_free(&c);
			return;
		}
		if (r == 0)
			return;
	}
	flush(c);
	if (c->broken) {
		conn_free(&c);
		return;
	}
	if (c->phase == PHASE_CLOSING && buf_used(&c->out) == 0)
		finish_close(c);
	if (read_some(c) < 0) {
		conn_free(&c);
		return;
	}
	if (c->phase == PHASE_CLOSING && buf_used(&c->out) == 0)
		finish_close(c);
	if (c->broken) {
		conn_free(&c);
		return;
	}
	if (c->starttls_pending && buf_used(&c->out) == 0)
		schedule_pump(c);
	if (c->phase == PHASE_STREAM && c->xs != NULL)
		xml_stream_shrink(c->xs, 2048);
}
