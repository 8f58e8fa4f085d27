/*
 * router_link.c — a process's connection to the router (see router_link.h
 * and doc/component-protocol.md).
 *
 * States: idle (not started) → connecting → [tls] → hello (HELLO sent,
 * waiting for HELLO_OK) → up; any failure goes to waiting (a backoff timer)
 * and from there to connecting again. Only "up" carries the owner's frames.
 *
 * Queues. `out` is what goes on the current connection; `pending` holds the
 * owner's frames while the link is not up. At HELLO_OK the BINDs go into
 * `out` first (the router checks a routed frame's `from` against the names
 * the peer has bound, so a bind must precede the frames that use it), then
 * `pending` in order. A frame stays at the head of `out` until its last
 * byte is written (`out_written` counts the part already sent), so when a
 * connection breaks, every frame not wholly written — the router never acts
 * on part of a frame — is still whole and goes back to the front of
 * `pending`, keeping its seq. The link's own frames (HELLO, BIND, PING,
 * PONG) are not requeued: the next connection makes its own. Frames that
 * were wholly written to a connection that then broke are the business of
 * acknowledgements (ACK, flag RESENT), which the owner layers on seq.
 * One consequence: after a reconnection the BINDs carry newer seqs than
 * the queued frames that follow them, so seqs on the wire increase per
 * frame made, not per frame sent; ACK names its seqs one by one, so
 * nothing relies on their order.
 *
 * Writes are batched: sending only appends to `out` and arms a zero timer,
 * so all the frames a turn of the loop produces go out in one write. Reads
 * take at most read_per_turn bytes per turn and come back through a zero
 * timer for the rest (the fd is edge-triggered, so stopping early must be
 * remembered), so one busy router connection cannot starve the owner's
 * other fds.
 *
 * Logging: one line per change of state — up, lost, "cannot connect" with
 * a new reason — and debug lines for retries that fail the same way.
 *
 * Callbacks may free the link: `busy` counts callbacks in progress, and a
 * free during one only marks the link `doomed`; every entry point from the
 * loop stops touching the link once it is doomed and destroys it last.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "router_link_int.h"
#include "tls.h"

static const char *const state_names[] = {
	[LINK_IDLE] = "idle",
	[LINK_WAITING] = "waiting",
	[LINK_CONNECTING] = "connecting",
	[LINK_TLS] = "tls",
	[LINK_HELLO] = "hello",
	[LINK_UP] = "up",
};

static void link_io(struct loop *loop, int fd, unsigned events, void *arg);
static void drop(struct router_link *link, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void schedule_flush(struct router_link *link);


/* --- small helpers ------------------------------------------------------------ */

static uint32_t take_seq(struct router_link *link)
{
	uint32_t seq = link->next_seq++;
	if (link->next_seq == 0)
		link->next_seq = 1; /* 0 reads as "none" in our bookkeeping */
	return seq;
}

static uint64_t next_random(struct router_link *link)
{
	/* xorshift64*: jitter needs spread, not secrecy. */
	uint64_t x = link->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	link->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Exponential backoff with "equal jitter": half the delay fixed, half
 * random, so that peers restarted together do not reconnect in step. */
static uint64_t backoff_delay(struct router_link *link)
{
	uint64_t d = link->backoff_min;
	for (unsigned i = 0; i < link->attempt && d < link->backoff_max; i++)
		d *= 2;
	if (d > link->backoff_max)
		d = link->backoff_max;
	uint64_t half = d / 2;
	return half + next_random(link) % (d - half + 1);
}

static uint32_t header_length(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static size_t unwritten(const struct router_link *link)
{
	return buf_used(&link->out) - link->out_written;
}

static struct link_bind *find_bind(struct router_link *link, const char *name)
{
	for (size_t i = 0; i < link->nbinds; i++)
		if (strcmp(link->binds[i].name, name) == 0)
			return &link->binds[i];
	return NULL;
}

/* --- the connection ------------------------------------------------------------ */

static void cancel_connection_timers(struct router_link *link)
{
	loop_timer_cancel(link->loop, &link->deadline_timer);
	loop_timer_cancel(link->loop, &link->ping_timer);
	loop_timer_cancel(link->loop, &link->flush_timer);
	loop_timer_cancel(link->loop, &link->read_timer);
}

static void close_connection(struct router_link *link)
{
	cancel_connection_timers(link);
	tls_conn_free(&link->tls);
	if (link->fd >= 0) {
		loop_del_fd(link->loop, link->fd);
		close(link->fd);
		link->fd = -1;
	}
	link->write_blocked = false;
}

/* Put the owner's frames that were not wholly written back at the front of
 * `pending`; the link's own frames are made again on the next connection.
 * Kept frames are not: their outbox entries (router_link_keep.c) go again,
 * with the ones already written, in seq order. */
static void requeue_from(struct router_link *link, struct buf *keep, const struct buf *from)
{
	const char *p = buf_head(from);
	size_t left = buf_used(from);

	/* Whole frames only ever sit in `out` and `pending`, and the ones
	 * already written have been released, so the head is a frame boundary. */
	while (left >= FRAME_HEADER_SIZE) {
		uint32_t len = header_length(p);
		if (len < FRAME_HEADER_SIZE || len > left)
			log_fatal("router link: corrupt write queue");
		bool kept = link->outbox != NULL &&
		    (((unsigned)(unsigned char)p[6] << 8 | (unsigned char)p[7]) & FRAME_F_KEPT);
		if (frame_type_is_routed((enum frame_type)(unsigned char)p[5]) && !kept)
			buf_append(keep, p, len);
		p += len;
		left -= len;
	}
}

static void requeue(struct router_link *link)
{
	struct buf keep = BUF_INIT;

	requeue_from(link, &keep, &link->out);
	requeue_from(link, &keep, &link->pending);
	buf_free(&link->pending);
	link->pending = keep;
	buf_free(&link->out);
	link->out_written = 0;
	keep_connection_lost(link);
}

static void report_down(struct router_link *link, const char *reason)
{
	free(link->reported);
	link->reported = xstrdup(reason);
	CALLBACK(link, down, reason);
}

static void retry(struct loop *loop, void *arg);

/* Whatever went wrong with this connection (or attempt): close it, keep
 * the owner's frames, and try again after a backoff delay. */
static void drop(struct router_link *link, const char *fmt, ...)
{
	char reason[ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);

	bool was_up = link->state == LINK_UP;
	close_connection(link);
	requeue(link);
	buf_free(&link->in);
	for (size_t i = 0; i < link->nbinds; i++) {
		link->binds[i].seq = 0;
		link->binds[i].bound = false;
	}
	link->ping_sent = 0;
	link->close_reason[0] = '\0';

	uint64_t delay = backoff_delay(link);
	link->attempt++;
	link->state = LINK_WAITING;
	link->retry_timer = loop_timer_add(link->loop, delay, retry, link);

	if (was_up) {
		log_warn("router link %s: lost the router at %s: %s; reconnecting", link->name,
		    link->where, reason);
		report_down(link, reason);
	} else if (link->reported == NULL || strcmp(link->reported, reason) != 0) {
		log_warn("router link %s: cannot connect to the router at %s: %s; retrying "
		    "(backoff up to %llu ms)", link->name, link->where, reason,
		    (unsigned long long)link->backoff_max);
		report_down(link, reason);
	} else {
		log_debug("router link %s: attempt %u failed again: %s; next in %llu ms", link->name,
		    link->attempt, reason, (unsigned long long)delay);
	}
}

static void deadline_expired(struct loop *loop, void *arg)
{
	struct router_link *link = arg;
	(void)loop;
	link->deadline_timer = NULL;
	drop(link, "no HELLO_OK within %llu ms", (unsigned long long)link->connect_timeout);
	if (link->doomed && link->busy == 0)
		router_link_free(&link);
}

static void send_hello(struct router_link *link)
{
	struct buf *b = &link->out;
	link->hello_seq = take_seq(link);
	size_t start = frame_begin(b, FRAME_HELLO, 0, link->hello_seq);
	frame_put_str(b, FRAME_TAG_NAME, link->name);
	frame_put_str(b, FRAME_TAG_ROLE, link->role);
	frame_put(b, FRAME_TAG_SECRET, link->secret, link->secret_len);
	frame_put_u32(b, FRAME_TAG_PID, (uint32_t)getpid());
	frame_end(b, start);
	link->state = LINK_HELLO;
	schedule_flush(link);
}

static void start_tls(struct router_link *link)
{
	char err[ERRLEN];

	link->tls = tls_conn_new_client(link->tls_ctx, link->fd, link->tls_name, link->tls_name,
	    err, sizeof(err));
	if (link->tls == NULL) {
		drop(link, "TLS: %s", err);
		return;
	}
	link->state = LINK_TLS;
}

/* The socket is connected (or failed: SO_ERROR says). */
static void connected(struct router_link *link)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(link->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr != 0) {
		drop(link, "connect: %s", strerror(soerr));
		return;
	}
	if (link->tls_ctx != NULL)
		start_tls(link);
	else
		send_hello(link);
}

static void connect_start(struct router_link *link)
{
	char err[ERRLEN];
	int fd, r;

	link->state = LINK_CONNECTING;
	if (link->socket_path != NULL) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		memcpy(sun.sun_path, link->socket_path, strlen(link->socket_path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			drop(link, "socket: %s", strerror(errno));
			return;
		}
		r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	} else {
		const struct link_addr *a = &link->addrs[link->attempt % link->naddrs];
		fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			drop(link, "socket: %s", strerror(errno));
			return;
		}
		/* We batch frames ourselves; Nagle would only add latency. */
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		r = connect(fd, (const struct sockaddr *)&a->ss, a->len);
	}
	/* A Unix socket whose backlog is full answers EAGAIN: try later. */
	if (r < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		drop(link, "connect: %s", strerror(e));
		return;
	}
	if (loop_add_fd(link->loop, fd, link_io, link, err, sizeof(err)) < 0) {
		close(fd);
		drop(link, "%s", err);
		return;
	}
	link->fd = fd;
	link->deadline_timer = loop_timer_add(link->loop, link->connect_timeout, deadline_expired,
	    link);
	if (r == 0)
		connected(link);
}

static void retry(struct loop *loop, void *arg)
{
	struct router_link *link = arg;
	(void)loop;
	link->retry_timer = NULL;
	connect_start(link);
	if (link->doomed && link->busy == 0)
		router_link_free(&link);
}

/* --- writing --------------------------------------------------------------------- */

/* Write what the socket takes; -1 if the connection was dropped. */
static int flush(struct router_link *link)
{
	char err[ERRLEN];

	loop_timer_cancel(link->loop, &link->flush_timer);
	if (link->fd < 0 || link->state < LINK_HELLO)
		return 0;
	if (link->state == LINK_UP)
		keep_emit_acks(link);
	while (unwritten(link) > 0) {
		const char *p = buf_head(&link->out) + link->out_written;
		size_t len = unwritten(link);
		ssize_t n;
		if (link->tls != NULL) {
			n = tls_write(link->tls, p, len, err, sizeof(err));
			if (n == TLS_WANT_WRITE || n == TLS_WANT_READ)
				break;
			if (n < 0) {
				drop(link, "%s", n == TLS_CLOSED ? "the router closed the TLS connection" : err);
				return -1;
			}
		} else {
			if (link->write_blocked)
				break;
			n = send(link->fd, p, len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					link->write_blocked = true;
					break;
				}
				drop(link, "write: %s", strerror(errno));
				return -1;
			}
		}
		link->out_written += (size_t)n;
	}

	/* Release the frames written whole. */
	size_t release = 0;
	const char *head = buf_head(&link->out);
	while (link->out_written - release >= FRAME_HEADER_SIZE) {
		uint32_t len = header_length(head + release);
		if (len > link->out_written - release)
			break;
		if (link->outbox != NULL)
			keep_written(link, head + release);
		release += len;
	}
	buf_consume(&link->out, release);
	link->out_written -= release;
	if (buf_used(&link->out) == 0)
		buf_shrink(&link->out, 64 * 1024);

	if (link->refused && router_link_queued(link) <= link->max_queue / 2) {
		link->refused = false;
		if (link->cb.writable != NULL) {
			link->busy++;
			link->cb.writable(link, link->arg);
			link->busy--;
		}
	}
	return 0;
}

static void flush_due(struct loop *loop, void *arg)
{
	struct router_link *link = arg;
	(void)loop;
	link->flush_timer = NULL;
	flush(link);
	if (link->doomed && link->busy == 0)
		router_link_free(&link);
}

uint32_t link_take_seq(struct router_link *link)
{
	return take_seq(link);
}

void link_schedule_flush(struct router_link *link)
{
	schedule_flush(link);
}

static void schedule_flush(struct router_link *link)
{
	if (link->flush_timer == NULL && link->fd >= 0)
		link->flush_timer = loop_timer_add(link->loop, 0, flush_due, link);
}

/* The link's own small frames go straight into `out`, outside the limit. */
static uint32_t send_control(struct router_link *link, enum frame_type type, uint16_t flags,
    const char *name, uint32_t ref_seq)
{
	uint32_t seq = take_seq(link);
	size_t start = frame_begin(&link->out, type, flags, seq);
	if (name != NULL)
		frame_put_str(&link->out, FRAME_TAG_NAME, name);
	if (type == FRAME_PONG)
		frame_put_u32(&link->out, FRAME_TAG_REF_SEQ, ref_seq);
	frame_end(&link->out, start);
	schedule_flush(link);
	return seq;
}

/* --- pings ------------------------------------------------------------------------ */

static void ping_check(struct loop *loop, void *arg)
{
	struct router_link *link = arg;
	uint64_t now = loop_now_ms(loop);
	uint64_t next;

	link->ping_timer = NULL;
	if (link->ping_sent != 0) {
		if (now - link->ping_sent >= link->ping_timeout) {
			drop(link, "no answer from the router for %llu ms",
			    (unsigned long long)(now - link->last_rx));
			if (link->doomed && link->busy == 0)
				router_link_free(&link);
			return;
		}
		next = link->ping_sent + link->ping_timeout - now;
	} else if (now - link->last_rx >= link->ping_idle) {
		send_control(link, FRAME_PING, 0, NULL, 0);
		link->ping_sent = now;
		next = link->ping_timeout;
	} else {
		next = link->ping_idle - (now - link->last_rx);
	}
	link->ping_timer = loop_timer_add(loop, next, ping_check, link);
}

/* --- reading ------------------------------------------------------------------------ */

static void go_up(struct router_link *link, const char *router)
{
	loop_timer_cancel(link->loop, &link->deadline_timer);
	link->state = LINK_UP;
	link->attempt = 0;
	free(link->reported);
	link->reported = NULL;
	free(link->router_name);
	link->router_name = xstrdup(router);

	for (size_t i = 0; i < link->nbinds; i++)
		link->binds[i].seq = send_control(link, FRAME_BIND, link->binds[i].flags,
		    link->binds[i].name, 0);
	keep_resend_lost(link);
	buf_append(&link->out, buf_head(&link->pending), buf_used(&link->pending));
	buf_free(&link->pending);
	schedule_flush(link);
	link->ping_timer = loop_timer_add(link->loop, link->ping_idle, ping_check, link);

	log_info("router link %s: up with router %s at %s (%zu binds, %zu bytes queued)",
	    link->name, router, link->where, link->nbinds, router_link_queued(link));
	CALLBACK(link, up, router);
}

static void router_error(struct router_link *link, const struct frame *f)
{
	uint32_t code = 0, ref_seq = 0;
	const char *text = frame_get_str(f, FRAME_TAG_TEXT, NULL);

	frame_get_u32(f, FRAME_TAG_CODE, &code);
	if (link->state == LINK_HELLO) {
		drop(link, "router refused HELLO: %s%s%s", frame_error_code_name(code),
		    text ? ": " : "", text ? text : "");
		return;
	}
	if (frame_get_u32(f, FRAME_TAG_REF_SEQ, &ref_seq) && ref_seq != 0) {
		for (size_t i = 0; i < link->nbinds; i++) {
			if (link->binds[i].seq != ref_seq)
				continue;
			log_warn("router link %s: router refused to bind %s: %s%s%s", link->name,
			    link->binds[i].name, frame_error_code_name(code), text ? ": " : "",
			    text ? text : "");
			/* The name is copied: the callback may unbind it. */
			char *name = xstrdup(link->binds[i].name);
			CALLBACK(link, bind_error, name, code, text);
			free(name);
			return;
		}
	}
	/* The router closes after these; say why when the EOF comes. */
	if (code == FRAME_ERR_PROTOCOL || code == FRAME_ERR_NOT_AUTHORIZED)
		snprintf(link->close_reason, sizeof(link->close_reason), "%s%s%s",
		    frame_error_code_name(code), text ? ": " : "", text ? text : "");
	if (ref_seq != 0 && keep_error(link, f, code, ref_seq))
		return;
	CALLBACK(link, frame, f);
}

/* Act on one frame; -1 if the connection was dropped. */
static int handle_frame(struct router_link *link, const struct frame *f)
{
	const char *name;
	uint32_t ref_seq;

	link->last_rx = loop_now_ms(link->loop);
	link->ping_sent = 0;
	switch (f->type) {
	case FRAME_HELLO_OK:
		if (link->state != LINK_HELLO) {
			drop(link, "protocol: a second HELLO_OK");
			return -1;
		}
		go_up(link, frame_get_str(f, FRAME_TAG_NAME, NULL));
		return 0;
	case FRAME_ERROR:
		router_error(link, f);
		return link->state == LINK_WAITING ? -1 : 0;
	case FRAME_PING:
		send_control(link, FRAME_PONG, 0, NULL, f->seq);
		return 0;
	case FRAME_PONG:
		(void)frame_get_u32(f, FRAME_TAG_REF_SEQ, &ref_seq);
		return 0;
	case FRAME_HELLO:
	case FRAME_BIND:
	case FRAME_UNBIND:
		drop(link, "protocol: the router sent %s, which only peers send",
		    frame_type_name(f->type));
		return -1;
	default:
		break;
	}
	if (link->state != LINK_UP) {
		drop(link, "protocol: %s before HELLO_OK", frame_type_name(f->type));
		return -1;
	}
	if (f->type == FRAME_BIND_OK) {
		name = frame_get_str(f, FRAME_TAG_NAME, NULL);
		struct link_bind *b = find_bind(link, name);
		if (b == NULL || b->seq == 0) {
			log_debug("router link %s: BIND_OK for %s, no longer wanted", link->name, name);
			return 0;
		}
		b->bound = true;
		log_info("router link %s: bound %s", link->name, name);
		CALLBACK(link, bound, name, f->flags);
		return 0;
	}
	if (keep_frame_in(link, f))
		return 0;
	CALLBACK(link, frame, f);
	if (!link->doomed)
		keep_after_owner(link, f);
	return 0;
}

/* Decode and act on the complete frames in `in`; -1 if dropped. */
static int process_input(struct router_link *link)
{
	char err[ERRLEN];
	size_t pos = 0;

	while (!link->doomed && link->reading) {
		struct frame f;
		size_t used;
		int r = frame_decode(buf_head(&link->in) + pos, buf_used(&link->in) - pos,
		    link->max_frame, &f, &used, err, sizeof(err));
		if (r == 0)
			break;
		if (r < 0) {
			drop(link, "protocol: bad frame from the router: %s", err);
			return -1;
		}
		pos += used;
		if (handle_frame(link, &f) < 0)
			return -1;
	}
	buf_consume(&link->in, pos);
	if (buf_used(&link->in) == 0)
		buf_shrink(&link->in, 64 * 1024);
	return 0;
}

static void read_more(struct loop *loop, void *arg);

/* Read at most read_per_turn bytes and act on them; -1 if dropped. */
static int read_some(struct router_link *link)
{
	char err[ERRLEN];
	size_t total = 0;
	bool eof = false;

	if (!link->reading)
		return 0;
	if (link->tls != NULL) {
		while (total < link->read_per_turn) {
			size_t want = link->read_per_turn - total;
			if (want > 16384)
				want = 16384;
			buf_reserve(&link->in, want);
			ssize_t n = tls_read(link->tls, buf_tail(&link->in), want, err, sizeof(err));
			if (n > 0) {
				buf_commit(&link->in, (size_t)n);
				total += (size_t)n;
				continue;
			}
			if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
				break;
			if (n == TLS_CLOSED) {
				eof = true;
				break;
			}
			if (process_input(link) < 0 || link->doomed)
				return -1;
			drop(link, "%s", err);
			return -1;
		}
	} else {
		ssize_t n = buf_read_fd(&link->in, link->fd, link->read_per_turn, &eof);
		if (n < 0) {
			int e = errno;
			if (process_input(link) < 0 || link->doomed)
				return -1;
			drop(link, "read: %s", strerror(e));
			return -1;
		}
		total = (size_t)n;
	}

	if (process_input(link) < 0 || link->doomed)
		return -1;
	if (eof) {
		if (link->close_reason[0] != '\0')
			drop(link, "the router closed the connection: %s", link->close_reason);
		else
			drop(link, "the router closed the connection");
		return -1;
	}
	if (total >= link->read_per_turn && link->read_timer == NULL)
		link->read_timer = loop_timer_add(link->loop, 0, read_more, link);
	return 0;
}

static void read_more(struct loop *loop, void *arg)
{
	struct router_link *link = arg;
	(void)loop;
	link->read_timer = NULL;
	if (read_some(link) == 0 && !link->doomed && unwritten(link) > 0)
		flush(link);
	if (link->doomed && link->busy == 0)
		router_link_free(&link);
}

static void drive_tls(struct router_link *link)
{
	char err[ERRLEN];
	int r = tls_handshake(link->tls, err, sizeof(err));

	if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
		return;
	if (r != TLS_OK) {
		drop(link, "%s", err);
		return;
	}
	log_debug("router link %s: %s with %s", link->name, tls_version_name(link->tls),
	    tls_cipher_name(link->tls));
	send_hello(link);
}

static void link_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct router_link *link = arg;
	(void)loop;
	(void)fd;

	if (events & LOOP_WRITE)
		link->write_blocked = false;
	if (link->state == LINK_CONNECTING) {
		if (!(events & (LOOP_WRITE | LOOP_ERROR)))
			return;
		connected(link);
	}
	if (link->state == LINK_TLS)
		drive_tls(link);
	if (link->state == LINK_HELLO || link->state == LINK_UP) {
		/* Read first: if the router closed after an ERROR, its reason is
		 * worth more than the write's EPIPE. TLS reads and writes can each
		 * wait on either direction, so TLS tries both on every event. */
		if ((events & (LOOP_READ | LOOP_ERROR)) || link->tls != NULL)
			if (read_some(link) < 0 || link->doomed)
				goto out;
		if (unwritten(link) > 0)
			flush(link);
	}
out:
	if (link->doomed && link->busy == 0)
		router_link_free(&link);
}

/* --- the owner's side ----------------------------------------------------------- */

static int copy_settings(struct router_link *link, const struct router_link_settings *s,
    char *err, size_t errlen)
{
	if ((s->socket_path == NULL) == (s->host == NULL))
		return errf(err, errlen, "router link: give either a socket path or a host");
	if (s->name == NULL || strlen(s->name) < 1 || strlen(s->name) > 1023)
		return errf(err, errlen, "router link: the instance name must be 1 to 1023 bytes");
	if (s->role == NULL || strlen(s->role) < 1 || strlen(s->role) > 32)
		return errf(err, errlen, "router link: the role must be 1 to 32 bytes");
	if (s->secret == NULL || s->secret_len < 1 || s->secret_len > 1024)
		return errf(err, errlen, "router link: the secret must be 1 to 1024 bytes");

	link->max_frame = s->max_frame ? s->max_frame : FRAME_MAX_DEFAULT;
	link->max_queue = s->max_queue ? s->max_queue : ROUTER_LINK_MAX_QUEUE_DEFAULT;
	if (link->max_frame < 4096 || link->max_frame > UINT32_MAX)
		return errf(err, errlen, "router link: max_frame %zu is out of range", link->max_frame);
	if (link->max_queue < link->max_frame)
		return errf(err, errlen, "router link: max_queue (%zu) is smaller than max_frame (%zu)",
		    link->max_queue, link->max_frame);
	link->read_per_turn = s->read_per_turn ? s->read_per_turn : ROUTER_LINK_READ_PER_TURN_DEFAULT;
	link->backoff_min = s->backoff_min_ms ? s->backoff_min_ms : ROUTER_LINK_BACKOFF_MIN_DEFAULT;
	link->backoff_max = s->backoff_max_ms ? s->backoff_max_ms : ROUTER_LINK_BACKOFF_MAX_DEFAULT;
	if (link->backoff_max < link->backoff_min)
		link->backoff_max = link->backoff_min;
	link->connect_timeout = s->connect_timeout_ms ? s->connect_timeout_ms
	    : ROUTER_LINK_CONNECT_TIMEOUT_DEFAULT;
	link->ping_idle = s->ping_idle_ms ? s->ping_idle_ms : ROUTER_LINK_PING_IDLE_DEFAULT;
	link->ping_timeout = s->ping_timeout_ms ? s->ping_timeout_ms : ROUTER_LINK_PING_TIMEOUT_DEFAULT;
	link->keep = s->keep;
	link->hold = s->hold_ms ? s->hold_ms : ROUTER_LINK_HOLD_DEFAULT;

	link->name = xstrdup(s->name);
	link->role = xstrdup(s->role);
	link->secret = xmalloc(s->secret_len);
	memcpy(link->secret, s->secret, s->secret_len);
	link->secret_len = s->secret_len;

	if (s->socket_path != NULL) {
		struct sockaddr_un sun;
		if (strlen(s->socket_path) == 0 || strlen(s->socket_path) >= sizeof(sun.sun_path))
			return errf(err, errlen, "router link: socket path \"%s\" is empty or too long",
			    s->socket_path);
		link->socket_path = xstrdup(s->socket_path);
		link->where = xstrdup(s->socket_path);
		return 0;
	}

	if (s->tls == NULL)
		return errf(err, errlen, "router link: a router on %s needs a TLS context", s->host);
	if (s->port == 0)
		return errf(err, errlen, "router link: no port for the router on %s", s->host);
	char port[8];
	snprintf(port, sizeof(port), "%u", (unsigned)s->port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int r = getaddrinfo(s->host, port, &hints, &res);
	if (r != 0)
		return errf(err, errlen, "router link: %s: %s", s->host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(struct sockaddr_storage))
			continue;
		link->addrs = xreallocarray(link->addrs, link->naddrs + 1, sizeof(*link->addrs));
		memcpy(&link->addrs[link->naddrs].ss, ai->ai_addr, ai->ai_addrlen);
		link->addrs[link->naddrs].len = ai->ai_addrlen;
		link->naddrs++;
	}
	freeaddrinfo(res);
	if (link->naddrs == 0)
		return errf(err, errlen, "router link: %s has no usable address", s->host);
	link->tls_ctx = s->tls;
	link->tls_name = xstrdup(s->tls_name ? s->tls_name : s->host);
	size_t n = strlen(s->host) + 16;
	link->where = xmalloc(n);
	snprintf(link->where, n, strchr(s->host, ':') ? "[%s]:%u" : "%s:%u", s->host,
	    (unsigned)s->port);
	return 0;
}

struct router_link *router_link_new(struct loop *loop, const struct router_link_settings *settings,
    const struct router_link_callbacks *callbacks, void *arg, char *err, size_t errlen)
{
	struct router_link *link = xcalloc(1, sizeof(*link));
	struct timespec ts;

	link->loop = loop;
	if (callbacks != NULL)
		link->cb = *callbacks;
	link->arg = arg;
	link->fd = -1;
	link->reading = true;
	buf_init(&link->in);
	buf_init(&link->out);
	buf_init(&link->pending);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	link->rng = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)link;
	if (link->rng == 0)
		link->rng = 1;
	/* A random first seq: a restarted process must not reuse the numbers
	 * its last instance used, or a receiver that remembers them
	 * (seen.h) would take new frames for copies. */
	link->next_seq = (uint32_t)(next_random(link) >> 32);
	if (link->next_seq == 0)
		link->next_seq = 1;
	if (copy_settings(link, settings, err, errlen) < 0) {
		router_link_free(&link);
		return NULL;
	}
	keep_init(link);
	return link;
}

void router_link_start(struct router_link *link)
{
	if (link->state != LINK_IDLE)
		return;
	link->state = LINK_WAITING;
	link->retry_timer = loop_timer_add(link->loop, 0, retry, link);
}

void router_link_free(struct router_link **lp)
{
	struct router_link *link = *lp;

	if (link == NULL)
		return;
	*lp = NULL;
	if (link->busy > 0) {
		link->doomed = true;
		return;
	}
	close_connection(link);
	loop_timer_cancel(link->loop, &link->retry_timer);
	keep_fini(link);
	buf_free(&link->in);
	buf_free(&link->out);
	buf_free(&link->pending);
	for (size_t i = 0; i < link->nbinds; i++)
		free(link->binds[i].name);
	free(link->binds);
	if (link->secret != NULL)
		explicit_bzero(link->secret, link->secret_len);
	free(link->secret);
	free(link->socket_path);
	free(link->addrs);
	free(link->tls_name);
	free(link->where);
	free(link->name);
	free(link->role);
	free(link->router_name);
	free(link->reported);
	free(link);
}

bool router_link_is_up(const struct router_link *link)
{
	return link->state == LINK_UP;
}

const char *router_link_state(const struct router_link *link)
{
	return state_names[link->state];
}

size_t router_link_queued(const struct router_link *link)
{
	return unwritten(link) + buf_used(&link->pending);
}

uint32_t router_link_next_seq(const struct router_link *link)
{
	return link->next_seq;
}

const char *router_link_name(const struct router_link *link)
{
	return link->name;
}

void router_link_bind(struct router_link *link, const char *name, uint16_t flags)
{
	if (link->building != NULL)
		log_fatal("router_link_bind between router_link_begin and router_link_end");
	if (flags & ~(uint16_t)(FRAME_F_SHARED | FRAME_F_DEFAULT_ROUTE))
		log_fatal("router_link_bind: bad flags 0x%x", flags);
	if (strlen(name) < 1 || strlen(name) > 1023)
		log_fatal("router_link_bind: a name must be 1 to 1023 bytes");

	struct link_bind *b = find_bind(link, name);
	if (b == NULL) {
		link->binds = xreallocarray(link->binds, link->nbinds + 1, sizeof(*link->binds));
		b = &link->binds[link->nbinds++];
		b->name = xstrdup(name);
	}
	b->flags = flags;
	b->bound = false;
	b->seq = 0;
	if (link->state == LINK_UP)
		b->seq = send_control(link, FRAME_BIND, flags, name, 0);
}

bool router_link_unbind(struct router_link *link, const char *name)
{
	if (link->building != NULL)
		log_fatal("router_link_unbind between router_link_begin and router_link_end");
	struct link_bind *b = find_bind(link, name);
	if (b == NULL)
		return false;
	if (link->state == LINK_UP)
		send_control(link, FRAME_UNBIND, 0, name, 0);
	free(b->name);
	size_t i = (size_t)(b - link->binds);
	memmove(b, b + 1, (link->nbinds - i - 1) * sizeof(*b));
	link->nbinds--;
	return true;
}

bool router_link_is_bound(const struct router_link *link, const char *name)
{
	for (size_t i = 0; i < link->nbinds; i++)
		if (strcmp(link->binds[i].name, name) == 0)
			return link->binds[i].bound;
	return false;
}

struct buf *router_link_begin(struct router_link *link, enum frame_type type, uint16_t flags,
    size_t *start)
{
	if (!frame_type_is_routed(type))
		log_fatal("router_link_begin: %s is not a routed frame type", frame_type_name(type));
	if (link->building != NULL)
		log_fatal("router_link_begin: a frame is already being built");
	link->building = link->state == LINK_UP ? &link->out : &link->pending;
	*start = frame_begin(link->building, type, flags, link->next_seq);
	return link->building;
}

void router_link_abort(struct router_link *link, size_t start)
{
	if (link->building == NULL)
		log_fatal("router_link_abort without router_link_begin");
	frame_abort(link->building, start);
	link->building = NULL;
}

int router_link_end(struct router_link *link, size_t start, uint32_t *seq, char *err, size_t errlen)
{
	struct buf *b = link->building;

	if (b == NULL)
		log_fatal("router_link_end without router_link_begin");
	link->building = NULL;
	size_t len = frame_end(b, start);
	if (len > link->max_frame) {
		frame_abort(b, start);
		return errf(err, errlen, "frame of %zu bytes is larger than the limit of %zu", len,
		    link->max_frame);
	}
	if (router_link_queued(link) > link->max_queue || keep_over_limit(link, len)) {
		frame_abort(b, start);
		link->refused = true;
		return errf(err, errlen, "the queue to the router is full (%zu bytes, limit %zu)",
		    router_link_queued(link), link->max_queue);
	}
	uint32_t s = take_seq(link);
	if (seq != NULL)
		*seq = s;
	if (keep_sent(link, (unsigned char *)buf_head(b) + start, len)) {
		frame_abort(b, start);   /* kept and parked: it waits in the outbox */
		return 0;
	}
	if (link->state == LINK_UP)
		schedule_flush(link);
	return 0;
}

int link_check_name(const char *what, const char *s, size_t max, char *err, size_t errlen)
{
	size_t n = s != NULL ? strlen(s) : 0;
	if (n < 1 || n > max)
		return errf(err, errlen, "%s must be 1 to %zu bytes, not %zu", what, max, n);
	return 0;
}

int router_link_route(struct router_link *link, const char *from, const char *to,
    const char *route_key, const char *session_id, const void *stanza, size_t len,
    uint32_t *seq, char *err, size_t errlen)
{
	size_t start;

	if (from == NULL)
		from = link->name;
	if (link_check_name("from", from, 1023, err, errlen) < 0 ||
	    link_check_name("to", to, 1023, err, errlen) < 0 ||
	    (route_key != NULL && link_check_name("route-key", route_key, 3071, err, errlen) < 0) ||
	    (session_id != NULL && link_check_name("session-id", session_id, 64, err, errlen) < 0))
		return -1;
	if (len == 0)
		return errf(err, errlen, "empty stanza");
	if (len > link->max_frame)
		return errf(err, errlen, "stanza of %zu bytes is larger than the frame limit of %zu",
		    len, link->max_frame);

	struct buf *b = router_link_begin(link, FRAME_ROUTE, 0, &start);
	frame_put_str(b, FRAME_TAG_FROM, from);
	frame_put_str(b, FRAME_TAG_TO, to);
	if (route_key != NULL)
		frame_put_str(b, FRAME_TAG_ROUTE_KEY, route_key);
	if (session_id != NULL)
		frame_put_str(b, FRAME_TAG_SESSION_ID, session_id);
	frame_put(b, FRAME_TAG_STANZA, stanza, len);
	return router_link_end(link, start, seq, err, errlen);
}

void router_link_set_reading(struct router_link *link, bool on)
{
	if (link->reading == on)
		return;
	link->reading = on;
	/* The fd is edge-triggered: what arrived while paused raised no new
	 * event, so look again from the loop. */
	if (on && link->fd >= 0 && link->read_timer == NULL &&
	    (link->state == LINK_HELLO || link->state == LINK_UP))
		link->read_timer = loop_timer_add(link->loop, 0, read_more, link);
}

/* --- stopping -------------------------------------------------------------- */

struct drain {
	struct router_link *link;
	uint64_t deadline;
};

static void drain_check(struct loop *loop, void *arg)
{
	struct drain *d = arg;

	if (router_link_queued(d->link) == 0 || !router_link_is_up(d->link) ||
	    loop_now_ms(loop) >= d->deadline) {
		free(d);
		loop_stop(loop);
		return;
	}
	loop_timer_add(loop, 20, drain_check, d);
}

void router_link_drain_then_stop(struct router_link *link, uint64_t max_ms)
{
	struct drain *d = xmalloc(sizeof(*d));

	d->link = link;
	d->deadline = loop_now_ms(link->loop) + max_ms;
	loop_timer_add(link->loop, 0, drain_check, d);
}
