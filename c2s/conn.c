/*
 * conn.c — one client connection's bytes: the TLS handshake (direct, or
 * after <proceed/>), reading with a per-second byte budget, feeding the
 * XML parser while nothing holds it, the write queue, the pre-auth and
 * idle timers, and closing cleanly (our last bytes written, our side shut,
 * the client's leftovers read and dropped so the kernel does not answer
 * them with a reset that would eat our stream error).
 *
 * A client is freed in one place only, pump(), which runs from the loop
 * (an fd event or a zero-delay timer): code deep in a stanza handler or a
 * frame callback only marks it (client_close, `broken`), so no caller is
 * left holding a freed client.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "c2s.h"
#include "log.h"
#include "sock_flush.h"
#include "netaddr.h"

#define READ_CHUNK 4096
#define READ_PER_TURN (64 * 1024)
#define CLOSE_GRACE_MS 3000

static void pump(struct client *c);

/* Notes whether OpenSSL's last read() of the socket returned less than it
 * asked for: then the socket was empty, and new bytes will bring a new
 * edge-triggered event. */
static long rbio_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
    int ret, size_t *processed)
{
	(void)argp;
	(void)argi;
	(void)argl;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
		struct client *c = (struct client *)BIO_get_callback_arg(b);
		c->tls_drained = ret > 0 && processed != NULL && *processed < len;
	}
	return ret;
}

/* Read-ahead lets OpenSSL take everything the socket holds in one read()
 * instead of two per record (its 5-byte header, then the body); a short
 * read then tells read_some() that the socket is empty, which saves the
 * read() that would only say EAGAIN. Nothing can be left stranded in
 * OpenSSL's buffer: read_some() stops only once that buffer is empty too,
 * and whatever stops it earlier (a hold, the byte budget) schedules the
 * pump again itself. */
static struct tls_conn *new_tls(struct client *c, char *err, size_t errlen)
{
	struct tls_conn *tls = tls_conn_new_server(c->c2s->tls, c->fd, err, errlen);

	if (tls != NULL) {
		SSL *ssl = tls_conn_ssl(tls);
		BIO *rbio = SSL_get_rbio(ssl);
		SSL_set_read_ahead(ssl, 1);
		BIO_set_callback_arg(rbio, (char *)c);
		BIO_set_callback_ex(rbio, rbio_cb);
	}
	c->tls_drained = false;
	return tls;
}

static void pump_timer_cb(struct loop *loop, void *arg)
{
	struct client *c = arg;

	(void)loop;
	c->pump_timer = NULL;
	pump(c);
}

static void schedule_pump(struct client *c)
{
	if (c->pump_timer == NULL)
		c->pump_timer = loop_timer_add(c->c2s->loop, 0, pump_timer_cb, c);
}

static void on_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	pump(arg);
}

static void deadline_cb(struct loop *loop, void *arg)
{
	struct client *c = arg;
	uint64_t now = loop_now_ms(loop);

	c->deadline = NULL;
	if (c->phase == PHASE_CLOSING)
		return;
	if (c->phase == PHASE_TLS_HANDSHAKE) {
		/* No stream to put an error in yet. */
		log_info("%s: TLS handshake not finished within c2s.preauth_timeout", c->addr);
		c->broken = true;
		schedule_pump(c);
		return;
	}
	if (c->stage != STAGE_SESSION) {
		log_info("%s: negotiation not finished within c2s.preauth_timeout", c->addr);
		stream_error(c, "connection-timeout", NULL);
		return;
	}
	uint64_t idle = c->c2s->cfg.idle_timeout_ms;
	if (now - c->last_read < idle) {
		c->deadline = loop_timer_add(loop, c->last_read + idle - now, deadline_cb, c);
		return;
	}
	if (c->pinged) {
		log_info("%s: %s idle and not answering pings", c->addr, jid_full_str(c->jid));
		stream_error(c, "connection-timeout", NULL);
		return;
	}
	/* XEP-0199 from the server: a live client answers, which is a read. */
	struct stanza *st = stanza_new(NS_CLIENT, "iq");
	stanza_set_type(st, "get");
	stanza_set_id(st, "c2s-ping");
	stanza_set_from(st, c->host);
	stanza_set_to(st, jid_full_str(c->jid));
	stanza_add_child(st, 0, NS_PING, "ping");
	client_write_stanza(c, st);
	stanza_free(&st);
	c->pinged = true;
	c->deadline = loop_timer_add(loop, idle, deadline_cb, c);
}

void client_set_deadline(struct client *c)
{
	struct c2s *c2s = c->c2s;

	loop_timer_cancel(c2s->loop, &c->deadline);
	uint64_t ms = c->stage == STAGE_SESSION ? c2s->cfg.idle_timeout_ms :
	    c2s->cfg.preauth_timeout_ms;
	c->deadline = loop_timer_add(c2s->loop, ms, deadline_cb, c);
}

const struct xml_stream_callbacks client_xml_callbacks = {
	stream_open_cb, stream_stanza_cb, stream_close_cb,
};

struct client *client_new(struct c2s *c2s, int fd, bool direct_tls, const char *addr,
    const char *addr_key)
{
	struct client *c = xcalloc(1, sizeof(*c));
	uint32_t rnd = 0;
	char err[ERRLEN];

	c->c2s = c2s;
	c->fd = fd;
	c->direct_tls = direct_tls;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	snprintf(c->addr_key, sizeof(c->addr_key), "%s", addr_key);
	(void)RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	snprintf(c->sid, sizeof(c->sid), "%s-%llu-%08x", c2s->name,
	    (unsigned long long)++c2s->counter, rnd);
	c->xs = xml_stream_new(&client_xml_callbacks, c, c2s->cfg.max_stanza, c2s->cfg.max_depth, err, sizeof(err));
	if (c->xs == NULL || loop_add_fd(c2s->loop, fd, on_io, c, err, sizeof(err)) < 0) {
		log_error("%s: %s", addr, err);
		xml_stream_free(&c->xs);
		close(fd);
		free(c);
		return NULL;
	}
	if (direct_tls) {
		c->tls = new_tls(c, err, sizeof(err));
		if (c->tls == NULL) {
			log_error("%s: %s", addr, err);
			loop_del_fd(c2s->loop, fd);
			xml_stream_free(&c->xs);
			close(fd);
			free(c);
			return NULL;
		}
		c->phase = PHASE_TLS_HANDSHAKE;
		c->stage = STAGE_PRE_AUTH;
	} else {
		c->phase = PHASE_STREAM;
		c->stage = STAGE_PRE_TLS;
	}
	c->last_read = loop_now_ms(c2s->loop);
	c->next = c2s->clients;
	if (c2s->clients != NULL)
		c2s->clients->prev = c;
	c2s->clients = c;
	c2s->nclients++;
	hash_put(c2s->by_sid, c->sid, strlen(c->sid), c);
	client_set_deadline(c);
	log_debug("%s: connected on %s (%s)", c->addr, direct_tls ? "direct TLS" : "STARTTLS",
	    c->sid);
	schedule_pump(c);
	return c;
}

void client_free(struct client **cp)
{
	struct client *c = *cp;
	struct c2s *c2s;

	if (c == NULL)
		return;
	*cp = NULL;
	c2s = c->c2s;
	c->phase = PHASE_CLOSING;
	if ((c->session_started || c->bind_id != NULL) && !c->session_end_sent)
		session_gone(c, c->client_closed ? FRAME_SESSION_CLOSED :
		    FRAME_SESSION_CONNECTION_LOST);
	/* After SESSION_END: stanzas that never reached the client go back
	 * to sm, which then finds the session gone and delivers them again
	 * (another resource, offline storage). */
	write_acks_reject_all(&c->acks, c2s->link);
	write_acks_fini(&c->acks);
	if (c->jid != NULL && c->session_started &&
	    hash_get(c2s->by_jid, jid_full_str(c->jid), jid_full_len(c->jid)) == c)
		hash_del(c2s->by_jid, jid_full_str(c->jid), jid_full_len(c->jid));
	hash_del(c2s->by_sid, c->sid, strlen(c->sid));
	netaddr_count_release(c2s->per_addr, c->addr_key);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c2s->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c2s->nclients--;
	loop_timer_cancel(c2s->loop, &c->deadline);
	loop_timer_cancel(c2s->loop, &c->wait_timer);
	loop_timer_cancel(c2s->loop, &c->rate_timer);
	loop_timer_cancel(c2s->loop, &c->pump_timer);
	loop_timer_cancel(c2s->loop, &c->close_timer);
	loop_timer_cancel(c2s->loop, &c->release_timer);
	loop_del_fd(c2s->loop, c->fd);
	tls_conn_free(&c->tls);
	close(c->fd);
	xml_stream_free(&c->xs);
	stream_drop_pending(c, 0);
	buf_free(&c->out);
	jid_free(&c->jid);
	free(c->lang);
	free(c->bind_id);
	free(c->cancel_id);
	free(c->last_presence);
	log_debug("%s: gone (%s)", c->addr, c->sid);
	free(c);
}

/* Write what is queued; never frees (errors mark the client broken). */
void client_flush(struct client *c)
{
	char err[ERRLEN];

	if (c->broken || c->phase == PHASE_TLS_HANDSHAKE)
		return;
	int rc = sock_flush(&c->out, c->fd, c->tls, err, sizeof(err));
	if (rc < 0) {
		log_debug("%s: write: %s", c->addr, err);
		c->broken = true;
		schedule_pump(c);
		return;
	}
	if (write_acks_count(&c->acks) > 0)
		write_acks_due(&c->acks, c->out_total - buf_used(&c->out), c->c2s->link);
	if (rc == 0)
		return;
	buf_shrink(&c->out, 0);
	if (c->phase == PHASE_CLOSING || c->starttls_pending)
		schedule_pump(c);
}

void client_write(struct client *c, const void *data, size_t len)
{
	if (c->phase == PHASE_CLOSING && c->wr_closed)
		return;
	buf_append(&c->out, data, len);
	c->out_total += len;
	/* What the client's input makes us say (a stream header and its
	 * features, a SASL step) goes out together after the input is read:
	 * one TLS record and one write instead of one each. */
	if (!c->in_feed)
		client_flush(c);
}

void client_write_str(struct client *c, const char *s)
{
	client_write(c, s, strlen(s));
}

void client_write_stanza(struct client *c, const struct stanza *st)
{
	struct buf b = BUF_INIT;

	stanza_write(st, &b, NS_CLIENT);
	client_write(c, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

void client_hold(struct client *c, unsigned why)
{
	c->hold |= why;
}

void client_release(struct client *c, unsigned why)
{
	c->hold &= ~why;
	if (c->hold == 0)
		schedule_pump(c);
}

static void close_timer_cb(struct loop *loop, void *arg)
{
	struct client *c = arg;

	(void)loop;
	c->close_timer = NULL;
	c->broken = true;
	pump(c);
}

void client_close(struct client *c, const char *why)
{
	if (c->phase == PHASE_CLOSING)
		return;
	if (why != NULL)
		log_debug("%s: closing: %s", c->addr, why);
	c->phase = PHASE_CLOSING;
	if (c->xs != NULL && c->in_feed)
		xml_stream_pause(c->xs);
	loop_timer_cancel(c->c2s->loop, &c->wait_timer);
	c->close_timer = loop_timer_add(c->c2s->loop, CLOSE_GRACE_MS, close_timer_cb, c);
	client_flush(c);
	schedule_pump(c);
}

void client_start_tls(struct client *c)
{
	c->starttls_pending = true;
	if (c->in_feed)
		xml_stream_pause(c->xs);
	schedule_pump(c);
}

static void rate_timer_cb(struct loop *loop, void *arg)
{
	struct client *c = arg;

	(void)loop;
	c->rate_timer = NULL;
	c->rate_window = loop_now_ms(c->c2s->loop);
	c->rate_bytes = 0;
	client_release(c, HOLD_RATE);
}

/* Count bytes against the per-second budget; over it, reading stops until
 * the second is over (the client is slowed down, not cut off). */
static void account(struct client *c, size_t n)
{
	struct c2s *c2s = c->c2s;
	uint64_t now = loop_now_ms(c2s->loop);

	c->last_read = now;
	c->pinged = false;
	if (c2s->cfg.rate_limit == 0)
		return;
	if (now - c->rate_window >= 1000) {
		c->rate_window = now;
		c->rate_bytes = 0;
	}
	c->rate_bytes += n;
	if (c->rate_bytes >= c2s->cfg.rate_limit && c->rate_timer == NULL) {
		c->hold |= HOLD_RATE;
		c->rate_timer = loop_timer_add(c2s->loop, 1000 - (now - c->rate_window),
		    rate_timer_cb, c);
	}
}

/* Feed bytes to the parser. After <starttls/> the rest of the chunk is
 * dropped: nothing sent in the clear may count once TLS is up. */
static void feed(struct client *c, const char *data, size_t len)
{
	char err[ERRLEN];

	if (c->phase != PHASE_STREAM || c->starttls_pending)
		return;
	if (idle_restore(c) < 0) {
		stream_error(c, "internal-server-error", NULL);
		return;
	}
	depth_track(&c->track, data, len);
	c->in_feed = true;
	ssize_t n = xml_stream_feed(c->xs, data, len, err, sizeof(err));
	c->in_feed = false;
	client_flush(c);
	if (n < 0 && !c->starttls_pending) {
		log_info("%s: %s", c->addr, err);
		stream_error(c, xml_stream_condition(xml_stream_error(c->xs)), NULL);
	}
}

/* Read what the socket has (or the TLS layer holds). Returns -1 when the
 * connection is over (EOF or an error), 0 otherwise. */
static int read_some(struct client *c)
{
	char data[READ_CHUNK], err[ERRLEN];
	size_t total = 0;

	while (total < READ_PER_TURN) {
		if (c->phase == PHASE_STREAM && (c->hold != 0 || c->starttls_pending))
			return 0;
		if (c->phase == PHASE_TLS_HANDSHAKE)
			return 0;
		ssize_t n;
		if (c->tls != NULL) {
			n = tls_read(c->tls, data, sizeof(data), err, sizeof(err));
			if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
				return 0;
			if (n == TLS_CLOSED || n == TLS_ERROR) {
				if (n == TLS_ERROR && c->phase != PHASE_CLOSING)
					log_debug("%s: read: %s", c->addr, err);
				return -1;
			}
		} else {
			n = read(c->fd, data, sizeof(data));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (n <= 0) {
				if (n < 0 && c->phase != PHASE_CLOSING)
					log_debug("%s: read: %s", c->addr, strerror(errno));
				return -1;
			}
		}
		total += (size_t)n;
		/* A short read emptied the socket (for TLS: and OpenSSL holds
		 * nothing more): the next bytes bring a new event, so the
		 * read() that would say EAGAIN can be skipped. */
		bool drained = c->tls != NULL ? c->tls_drained && !SSL_has_pending(tls_conn_ssl(c->tls)) :
		    (size_t)n < sizeof(data);
		if (c->phase != PHASE_STREAM)
			continue; /* closing: the client's last words are dropped */
		account(c, (size_t)n);
		feed(c, data, (size_t)n);
		if (drained)
			return 0;
	}
	/* More may be waiting: come back next turn, after the others. */
	schedule_pump(c);
	return 0;
}

static int handshake(struct client *c)
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
	c->stage = STAGE_PRE_AUTH;
	log_debug("%s: %s %s", c->addr, tls_version_name(c->tls), tls_cipher_name(c->tls));
	return 1;
}

static void finish_close(struct client *c)
{
	char err[ERRLEN];

	if (c->wr_closed)
		return;
	if (c->tls != NULL)
		(void)tls_shutdown(c->tls, err, sizeof(err));
	(void)shutdown(c->fd, SHUT_WR);
	c->wr_closed = true;
}

static void pump(struct client *c)
{
	char err[ERRLEN];

	if (c->broken) {
		client_free(&c);
		return;
	}
	if (c->starttls_pending && buf_used(&c->out) == 0) {
		c->starttls_pending = false;
		c->tls = new_tls(c, err, sizeof(err));
		if (c->tls == NULL) {
			log_error("%s: %s", c->addr, err);
			client_free(&c);
			return;
		}
		c->phase = PHASE_TLS_HANDSHAKE;
		stream_reset(c);
	}
	if (c->phase == PHASE_TLS_HANDSHAKE) {
		int r = handshake(c);
		if (r < 0) {
			client_free(&c);
			return;
		}
		if (r == 0)
			return;
	}
	client_flush(c);
	if (c->broken) {
		client_free(&c);
		return;
	}
	if (c->phase == PHASE_STREAM && c->hold == 0 && c->npending > 0)
		stream_run_pending(c);
	if (c->phase == PHASE_CLOSING && buf_used(&c->out) == 0)
		finish_close(c);
	if (read_some(c) < 0) {
		client_free(&c);
		return;
	}
	if (c->phase == PHASE_CLOSING && buf_used(&c->out) == 0)
		finish_close(c);
	if (c->broken) {
		client_free(&c);
		return;
	}
	if (c->phase == PHASE_STREAM && c->hold == 0 && c->xs != NULL) {
		xml_stream_shrink(c->xs, 2048);
		idle_check(c);
	}
}
