/*
 * peer.c — the router's connections: accepting them (the uid check on the
 * Unix socket comes first, before a byte is read), reading them fairly,
 * their write queues, closing them, and the timers that watch them (the
 * HELLO deadline, pings of quiet peers). What a frame means is control.c's
 * and forward.c's business; XML is component.c's.
 *
 * How a turn of the loop goes. A readable peer gets at most
 * ROUTER_READ_PER_TURN bytes read; if there may be more, it joins the
 * `more_input` list and is read again at the end of the turn, after every
 * other ready peer had its share, so one peer sending without pause cannot
 * starve the rest. Frames forwarded to a peer are appended to its write
 * queue and the peer joins the `dirty` list; queues are written at the end
 * of the turn (one write for many frames), or at once past
 * ROUTER_FLUSH_EARLY. Both lists are served by one zero-delay timer, the
 * "tick", armed when something joins them.
 *
 * A peer is closed at once (peer_close) but freed only in the tick: frames
 * being handled may still point at it, and the lists are cleaned then.
 *
 * Write queues are bounded by router.max_queue: a peer whose queue would
 * pass it is not reading, and is cut off (peer_room) rather than allowed to
 * grow the router's memory. Senders keep ROUTE frames until acknowledged,
 * so they send them again once the peer is back.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"
#include "router.h"
#include "tls.h"

/* --- lists ----------------------------------------------------------------- */

static void vec_push(struct peer_vec *v, struct peer *p)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->v = xreallocarray(v->v, v->cap, sizeof(*v->v));
	}
	v->v[v->n++] = p;
}

static void vec_remove(struct peer_vec *v, struct peer *p)
{
	for (size_t i = 0; i < v->n; i++) {
		if (v->v[i] == p) {
			v->v[i] = v->v[--v->n];
			return;
		}
	}
}

/* Take the contents of `v`, leaving it empty (with the spare's memory). */
static struct peer_vec vec_take(struct router *r, struct peer_vec *v)
{
	struct peer_vec taken = *v;

	*v = r->spare;
	r->spare = (struct peer_vec){ NULL, 0, 0 };
	return taken;
}

static void vec_give_back(struct router *r, struct peer_vec *v)
{
	v->n = 0;
	if (r->spare.v == NULL)
		r->spare = *v;
	else
		free(v->v);
	*v = (struct peer_vec){ NULL, 0, 0 };
}

static void tick(struct loop *loop, void *arg);

static void schedule_tick(struct router *r)
{
	if (r->tick == NULL && !r->stopping)
		r->tick = loop_timer_add(r->loop, 0, tick, r);
}

void peer_mark_dirty(struct peer *p)
{
	if (p->closed || p->dirty)
		return;
	p->dirty = true;
	vec_push(&p->router->dirty, p);
	schedule_tick(p->router);
}

static void mark_more_input(struct peer *p)
{
	if (p->closed || p->more_input)
		return;
	p->more_input = true;
	vec_push(&p->router->more_input, p);
	schedule_tick(p->router);
}

const char *log_safe(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	if (s == NULL)
		s = "(none)";
	for (; *s != '\0' && n + 4 < outlen && n < 64; s++)
		out[n++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	if (*s != '\0' && n + 4 <= outlen) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

/* --- life and death -------------------------------------------------------- */

static void peer_io(struct loop *loop, int fd, unsigned events, void *arg);
static void hello_expired(struct loop *loop, void *arg);

struct peer *peer_new(struct router *r, enum peer_kind kind, int fd, const char *ident)
{
	struct peer *p = xcalloc(1, sizeof(*p));
	char err[ERRLEN];

	p->router = r;
	p->kind = kind;
	p->fd = fd;
	p->id = ++r->peer_ids;
	buf_init(&p->in);
	buf_init(&p->out);
	snprintf(p->ident, sizeof(p->ident), "%s", ident);
	snprintf(p->desc, sizeof(p->desc), "connection %llu (%s)", (unsigned long long)p->id,
	    ident);
	p->state = kind == PEER_TCP ? PEER_TLS : PEER_HELLO;
	if (kind == PEER_TCP) {
		p->tls = tls_conn_new_server(r->tls, fd, err, sizeof(err));
		if (p->tls == NULL) {
			log_error("%s: cannot start TLS: %s", p->desc, err);
			close(fd);
			free(p);
			return NULL;
		}
	}
	if (loop_add_fd(r->loop, fd, peer_io, p, err, sizeof(err)) < 0) {
		log_error("%s: %s", p->desc, err);
		tls_conn_free(&p->tls);
		close(fd);
		free(p);
		return NULL;
	}
	p->next = r->peers;
	if (r->peers != NULL)
		r->peers->prev = p;
	r->peers = p;
	r->npeers++;
	p->last_heard = loop_now_ms(r->loop);
	p->timer = loop_timer_add(r->loop, r->hello_timeout_ms, hello_expired, p);
	log_debug("%s: connected", p->desc);
	return p;
}

void peer_close(struct peer *p)
{
	struct router *r = p->router;

	if (p->closed)
		return;
	p->closed = true;
	loop_timer_cancel(r->loop, &p->timer);
	loop_del_fd(r->loop, p->fd);
	tls_conn_free(&p->tls);
	close(p->fd);
	p->fd = -1;
	/* Out of the list, but p->next stays: a loop over the peers that is
	 * standing on p can still step on (see control.c). */
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		r->peers = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	r->npeers--;
	if (p->dirty)
		vec_remove(&r->dirty, p);
	if (p->more_input)
		vec_remove(&r->more_input, p);
	control_unbind_all(p);
	log_debug("%s: closed", p->desc);
	vec_push(&r->dead, p);
	schedule_tick(r);
}

static void free_peer(struct peer *p)
{
	if (p->kind == PEER_COMPONENT)
		component_free(p);
	buf_free(&p->in);
	buf_free(&p->out);
	free(p->routes);
	free(p->name);
	free(p->role);
	free(p);
}

void router_peers_reap(struct router *r)
{
	for (size_t i = 0; i < r->dead.n; i++)
		free_peer(r->dead.v[i]);
	r->dead.n = 0;
}

static void linger_expired(struct loop *loop, void *arg)
{
	struct peer *p = arg;

	(void)loop;
	p->timer = NULL;
	peer_close(p);
}

/* Stop listening to p and let it read its last words: names are dropped at
 * once, the queue is written, our side is shut, and the connection closes
 * when p closes its side or ROUTER_LINGER_MS pass. Closing at once could
 * lose the ERROR: a socket closed with unread input resets the connection. */
void peer_closing(struct peer *p)
{
	struct router *r = p->router;

	p->state = PEER_CLOSING;
	control_unbind_all(p);
	loop_timer_cancel(r->loop, &p->timer);
	p->timer = loop_timer_add(r->loop, ROUTER_LINGER_MS, linger_expired, p);
	if (p->more_input)
		vec_remove(&r->more_input, p);
	p->more_input = false;
	peer_mark_dirty(p);
}

void peer_fail(struct peer *p, uint32_t code, const struct frame *ref, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	if (p->closed || p->state == PEER_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (p->kind == PEER_COMPONENT) {
		component_fail(p, "undefined-condition", "%s", why);
		return;
	}
	log_warn("%s: %s; closing the connection", p->desc, why);
	peer_closing(p);
	peer_send_error(p, code, ref, false, "%s", why);
}

static void hello_expired(struct loop *loop, void *arg)
{
	struct peer *p = arg;
	struct router *r = p->router;

	(void)loop;
	p->timer = NULL;
	if (p->kind == PEER_COMPONENT)
		component_fail(p, "connection-timeout", "no handshake within %llu ms "
		    "(router.hello_timeout)", (unsigned long long)r->hello_timeout_ms);
	else if (p->state == PEER_TLS) {
		log_warn("%s: no TLS handshake within %llu ms (router.hello_timeout); closing",
		    p->desc, (unsigned long long)r->hello_timeout_ms);
		peer_close(p);
	} else
		peer_fail(p, FRAME_ERR_NOT_AUTHORIZED, NULL, "no HELLO within %llu ms "
		    "(router.hello_timeout)", (unsigned long long)r->hello_timeout_ms);
}

/* --- writing --------------------------------------------------------------- */

static void shut_write(struct peer *p)
{
	char err[ERRLEN];

	if (p->write_shut)
		return;
	p->write_shut = true;
	if (p->tls != NULL)
		(void)tls_shutdown(p->tls, err, sizeof(err));
	(void)shutdown(p->fd, SHUT_WR);
}

static void peer_flush(struct peer *p)
{
	char err[ERRLEN];

	if (p->closed || p->state == PEER_TLS)
		return;
	while (buf_used(&p->out) > 0) {
		if (p->tls == NULL) {
			if (buf_write_fd(&p->out, p->fd) < 0) {
				if (errno == EPIPE || errno == ECONNRESET)
					log_info("%s: disconnected", p->desc);
				else
					log_info("%s: cannot write: %s; closing", p->desc, strerror(errno));
				peer_close(p);
				return;
			}
			break;
		}
		ssize_t n = tls_write(p->tls, buf_head(&p->out), buf_used(&p->out), err, sizeof(err));
		if (n > 0) {
			buf_consume(&p->out, (size_t)n);
			continue;
		}
		if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
			break;
		log_info("%s: cannot write: %s; closing", p->desc,
		    n == TLS_CLOSED ? "the peer closed TLS" : err);
		peer_close(p);
		return;
	}
	if (p->state == PEER_CLOSING && buf_used(&p->out) == 0)
		shut_write(p);
}

bool peer_room(struct peer *p, size_t n)
{
	struct router *r = p->router;

	if (p->closed)
		return false;
	if (buf_used(&p->out) + n <= r->max_queue)
		return true;
	/* The queue counts what the peer has not taken, not what we have
	 * not yet offered: write first, then judge. */
	peer_flush(p);
	if (p->closed)
		return false;
	if (buf_used(&p->out) + n <= r->max_queue)
		return true;
	log_warn("%s: cut off: it is not reading, and %zu bytes are waiting for it "
	    "(router.max_queue is %zu)", p->desc, buf_used(&p->out) + n, r->max_queue);
	peer_close(p);
	return false;
}

void peer_queue(struct peer *p, const void *data, size_t len)
{
	buf_append(&p->out, data, len);
	peer_mark_dirty(p);
	if (buf_used(&p->out) >= ROUTER_FLUSH_EARLY || buf_used(&p->out) > p->router->max_queue / 2)
		peer_flush(p);
}

size_t peer_frame_begin(struct peer *p, enum frame_type type, uint16_t flags)
{
	return frame_begin(&p->out, type, flags, ++p->router->seq);
}

bool peer_frame_end(struct peer *p, size_t start)
{
	frame_end(&p->out, start);
	peer_mark_dirty(p);
	return peer_room(p, 0);
}

void peer_send_error(struct peer *p, uint32_t code, const struct frame *ref, bool with_stanza,
    const char *fmt, ...)
{
	struct router *r = p->router;
	char text[1024];
	const char *to = NULL, *sid = NULL;
	const void *stanza = NULL;
	size_t tolen = 0, sidlen = 0, stanzalen = 0;
	va_list ap;

	if (p->closed || p->kind == PEER_COMPONENT)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (ref != NULL && frame_type_is_routed(ref->type)) {
		to = frame_get_str(ref, FRAME_TAG_TO, &tolen);
		sid = frame_get_str(ref, FRAME_TAG_SESSION_ID, &sidlen);
		if (with_stanza && ref->type == FRAME_ROUTE)
			(void)frame_get(ref, FRAME_TAG_STANZA, &stanza, &stanzalen);
	}
	/* The answer must fit the peer's frame limit too: a stanza that
	 * filled its frame leaves no room for the error around it. */
	size_t need = FRAME_HEADER_SIZE + 3 * (FRAME_ATTR_HEADER_SIZE + 4) +
	    FRAME_ATTR_HEADER_SIZE + strlen(text) + 1 +
	    (to ? FRAME_ATTR_HEADER_SIZE + tolen + 1 : 0) +
	    (sid ? FRAME_ATTR_HEADER_SIZE + sidlen + 1 : 0) +
	    (stanza ? FRAME_ATTR_HEADER_SIZE + stanzalen : 0);
	if (stanza != NULL && need > r->max_frame)
		stanza = NULL;

	size_t start = peer_frame_begin(p, FRAME_ERROR, 0);
	frame_put_u32(&p->out, FRAME_TAG_CODE, code);
	frame_put_str(&p->out, FRAME_TAG_TEXT, text);
	if (ref != NULL)
		frame_put_u32(&p->out, FRAME_TAG_REF_SEQ, ref->seq);
	if (to != NULL)
		frame_put_strn(&p->out, FRAME_TAG_REF_TO, to, tolen);
	if (sid != NULL)
		frame_put_strn(&p->out, FRAME_TAG_SESSION_ID, sid, sidlen);
	if (stanza != NULL)
		frame_put(&p->out, FRAME_TAG_STANZA, stanza, stanzalen);
	peer_frame_end(p, start);
}

/* --- reading --------------------------------------------------------------- */

/* Read at most `max` bytes into p->in. Returns -1 with a reason on error. */
static int read_some(struct peer *p, size_t max, size_t *got, bool *eof, char *err,
    size_t errlen)
{
	*got = 0;
	*eof = false;
	if (p->tls == NULL) {
		ssize_t n = buf_read_fd(&p->in, p->fd, max, eof);
		if (n < 0)
			return errf(err, errlen, "%s", strerror(errno));
		*got = (size_t)n;
		return 0;
	}
	while (*got < max) {
		size_t want = max - *got < 16384 ? max - *got : 16384;
		buf_reserve(&p->in, want);
		ssize_t n = tls_read(p->tls, buf_tail(&p->in), want, err, errlen);
		if (n > 0) {
			buf_commit(&p->in, (size_t)n);
			*got += (size_t)n;
			continue;
		}
		if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
			return 0;
		if (n == TLS_CLOSED) {
			*eof = true;
			return 0;
		}
		return -1;
	}
	return 0;
}

/* Decode and handle every whole frame in p->in. */
static void frames_input(struct peer *p)
{
	struct router *r = p->router;
	char err[ERRLEN];
	struct frame f;
	size_t used;

	while (!p->closed && p->state != PEER_CLOSING) {
		/* Before HELLO only a HELLO is welcome, and one is small: a peer
		 * not yet known does not get to make the router buffer more. */
		size_t limit = p->state == PEER_ACTIVE ? r->max_frame : ROUTER_HELLO_MAX;
		int rc = frame_decode(buf_head(&p->in), buf_used(&p->in), limit, &f, &used,
		    err, sizeof(err));
		if (rc == 0)
			return;
		if (rc < 0) {
			peer_fail(p, FRAME_ERR_PROTOCOL, NULL, "malformed frame (%s): %s",
			    frame_decode_error_name(f.error), err);
			return;
		}
		if (p->state == PEER_ACTIVE && frame_type_is_routed(f.type))
			forward_frame(p, &f, buf_head(&p->in), used);
		else
			control_frame(p, &f);
		/* A peer refused or closed meanwhile has no more frames. */
		if (p->closed || p->state == PEER_CLOSING)
			return;
		buf_consume(&p->in, used);
	}
}

static void peer_read(struct peer *p)
{
	struct router *r = p->router;
	char err[ERRLEN];
	size_t got;
	bool eof;

	if (p->closed || p->state == PEER_TLS)
		return;
	if (read_some(p, ROUTER_READ_PER_TURN, &got, &eof, err, sizeof(err)) < 0) {
		log_info("%s: cannot read: %s; closing", p->desc, err);
		peer_close(p);
		return;
	}
	if (got > 0) {
		p->last_heard = loop_now_ms(r->loop);
		p->ping_sent = false;
	}
	if (p->state == PEER_CLOSING) {
		/* Its last words are not listened to. */
		buf_reset(&p->in);
		if (eof)
			peer_close(p);
		else if (got >= ROUTER_READ_PER_TURN)
			mark_more_input(p);
		return;
	}
	if (got > 0) {
		if (p->kind == PEER_COMPONENT)
			component_input(p);
		else
			frames_input(p);
	}
	if (p->closed || p->state == PEER_CLOSING)
		return;
	if (eof) {
		if (buf_used(&p->in) > 0)
			log_warn("%s: closed the connection in the middle of a frame", p->desc);
		else if (p->state == PEER_ACTIVE)
			log_info("%s: disconnected", p->desc);
		else
			log_info("%s: closed the connection before authenticating", p->desc);
		peer_close(p);
		return;
	}
	if (got >= ROUTER_READ_PER_TURN)
		mark_more_input(p);
}

static void tls_step(struct peer *p)
{
	char err[ERRLEN];
	int rc = tls_handshake(p->tls, err, sizeof(err));

	if (rc == TLS_OK) {
		p->state = PEER_HELLO;
		log_debug("%s: TLS is up", p->desc);
		return;
	}
	if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE)
		return;
	log_warn("%s: TLS handshake failed: %s; closing", p->desc, err);
	peer_close(p);
}

static void peer_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct peer *p = arg;

	(void)loop;
	(void)fd;
	if (p->state == PEER_TLS) {
		tls_step(p);
		if (p->closed || p->state == PEER_TLS)
			return;
	}
	/* TLS may need to write to read and to read to write: try both. */
	if ((events & LOOP_WRITE) || p->tls != NULL)
		peer_flush(p);
	if ((events & LOOP_READ) || p->tls != NULL)
		peer_read(p);
}

/* --- the end of each turn --------------------------------------------------- */

static void tick(struct loop *loop, void *arg)
{
	struct router *r = arg;

	(void)loop;
	r->tick = NULL;

	struct peer_vec todo = vec_take(r, &r->more_input);
	for (size_t i = 0; i < todo.n; i++) {
		struct peer *p = todo.v[i];
		if (p->closed)
			continue;
		p->more_input = false;
		peer_read(p);
	}
	vec_give_back(r, &todo);

	/* Writing may close peers, whose names going down dirty others. */
	while (r->dirty.n > 0) {
		todo = vec_take(r, &r->dirty);
		for (size_t i = 0; i < todo.n; i++) {
			struct peer *p = todo.v[i];
			if (p->closed)
				continue;
			p->dirty = false;
			peer_flush(p);
		}
		vec_give_back(r, &todo);
	}

	router_peers_reap(r);
	if (r->more_input.n > 0)
		schedule_tick(r);
}

/* --- accepting ------------------------------------------------------------- */

/* Turn a connection away before reading anything from it: an ERROR frame
 * (to a socket nothing was written to yet, it fits) and close. */
static void refuse(struct router *r, int fd, uint32_t code, const char *text)
{
	struct buf b = BUF_INIT;
	size_t start = frame_begin(&b, FRAME_ERROR, 0, ++r->seq);

	frame_put_u32(&b, FRAME_TAG_CODE, code);
	frame_put_str(&b, FRAME_TAG_TEXT, text);
	frame_end(&b, start);
	(void)send(fd, buf_head(&b), buf_used(&b), MSG_NOSIGNAL | MSG_DONTWAIT);
	buf_free(&b);
	(void)shutdown(fd, SHUT_WR);
	close(fd);
}

static void accept_unix(struct router *r, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char ident[80], text[160];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("refused a connection on %s: SO_PEERCRED: %s", r->socket_path,
		    strerror(errno));
		close(fd);
		return;
	}
	snprintf(ident, sizeof(ident), "uid %lu pid %ld", (unsigned long)cred.uid,
	    (long)cred.pid);
	if (!router_uid_allowed(r, cred.uid)) {
		log_warn("refused a connection from %s: uid %lu is not in router.allowed_users",
		    ident, (unsigned long)cred.uid);
		snprintf(text, sizeof(text), "uid %lu may not connect to this router",
		    (unsigned long)cred.uid);
		refuse(r, fd, FRAME_ERR_NOT_AUTHORIZED, text);
		return;
	}
	if (r->npeers >= r->max_peers) {
		log_warn("refused a connection from %s: %zu peers are connected "
		    "(router.max_peers)", ident, r->npeers);
		refuse(r, fd, FRAME_ERR_OVERLOADED, "too many peers are connected");
		return;
	}
	(void)peer_new(r, PEER_UNIX, fd, ident);
}

static void format_addr(const struct sockaddr_storage *ss, socklen_t len, char *out,
    size_t outlen)
{
	/* Numeric only: the longest is an IPv6 address with a scope. */
	char host[INET6_ADDRSTRLEN + 16], serv[8];

	if (getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, outlen, "an unknown address");
		return;
	}
	if (ss->ss_family == AF_INET6)
		snprintf(out, outlen, "[%s]:%s", host, serv);
	else
		snprintf(out, outlen, "%s:%s", host, serv);
}

static void accept_inet(struct router *r, int fd, bool component,
    const struct sockaddr_storage *ss, socklen_t sslen)
{
	char ident[80];

	format_addr(ss, sslen, ident, sizeof(ident));
	if (r->npeers >= r->max_peers) {
		log_warn("refused a connection from %s: %zu peers are connected "
		    "(router.max_peers)", ident, r->npeers);
		close(fd);
		return;
	}
	struct peer *p = peer_new(r, component ? PEER_COMPONENT : PEER_TCP, fd, ident);
	if (p != NULL && component)
		component_start(p);
}

static void accept_retry(struct loop *loop, void *arg)
{
	struct router *r = arg;
	int fds[] = { r->unix_fd, r->tcp_fd, r->component_fd };

	r->accept_retry = NULL;
	for (size_t i = 0; i < ARRAY_LEN(fds); i++)
		if (fds[i] >= 0)
			router_accept(loop, fds[i], LOOP_READ, r);
}

void router_accept(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct router *r = arg;

	(void)events;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of descriptors or memory: the listener stays ready
			 * but an edge-triggered loop will not say so again. */
			log_error("cannot accept connections: %s; trying again shortly",
			    strerror(errno));
			if (r->accept_retry == NULL)
				r->accept_retry = loop_timer_add(loop, 100, accept_retry, r);
			return;
		}
		if (fd == r->unix_fd)
			accept_unix(r, cfd);
		else
			accept_inet(r, cfd, fd == r->component_fd, &ss, sslen);
	}
}

/* --- keeping an eye on them ------------------------------------------------ */

static uint64_t sweep_period(const struct router *r)
{
	uint64_t period = r->ping_interval_ms / 4;

	return period < 100 ? 100 : period > 5000 ? 5000 : period;
}

/* Ping quiet peers, drop silent ones, and give back the buffers of idle
 * ones: one timer for all, rather than one per peer re-armed per frame. */
static void sweep(struct loop *loop, void *arg)
{
	struct router *r = arg;
	uint64_t now = loop_now_ms(loop);
	uint64_t interval = r->ping_interval_ms;

	r->sweep = loop_timer_add(loop, sweep_period(r), sweep, r);
	for (struct peer *p = r->peers, *next; p != NULL; p = next) {
		next = p->next;
		if (p->closed || p->state != PEER_ACTIVE)
			continue;
		uint64_t idle = now - p->last_heard;
		if (idle < interval)
			continue;
		if (buf_used(&p->in) == 0)
			buf_shrink(&p->in, ROUTER_IDLE_BUFFER);
		if (buf_used(&p->out) == 0)
			buf_shrink(&p->out, ROUTER_IDLE_BUFFER);
		if (p->kind == PEER_COMPONENT) {
			/* Components need not answer anything: a whitespace
			 * keepalive only makes a dead connection show. */
			if (!p->ping_sent) {
				p->ping_sent = true;
				component_keepalive(p);
			}
			continue;
		}
		if (!p->ping_sent) {
			p->ping_sent = true;
			peer_frame_end(p, peer_frame_begin(p, FRAME_PING, 0));
		} else if (idle >= 3 * interval) {
			log_warn("%s: silent for %llu s and did not answer a PING; closing", p->desc,
			    (unsigned long long)(idle / 1000));
			peer_close(p);
		}
	}
}

void router_peers_start(struct router *r)
{
	r->sweep = loop_timer_add(r->loop, sweep_period(r), sweep, r);
}

void router_peers_close_all(struct router *r)
{
	r->stopping = true;
	loop_timer_cancel(r->loop, &r->sweep);
	loop_timer_cancel(r->loop, &r->tick);
	loop_timer_cancel(r->loop, &r->accept_retry);
	while (r->peers != NULL) {
		struct peer *p = r->peers;
		if (p->kind == PEER_COMPONENT)
			component_goodbye(p);
		if (buf_used(&p->out) > 0 && p->state != PEER_TLS && p->tls == NULL)
			(void)buf_write_fd(&p->out, p->fd);
		peer_close(p);
	}
	router_peers_reap(r);
	free(r->dirty.v);
	free(r->more_input.v);
	free(r->dead.v);
	free(r->spare.v);
	r->dirty = r->more_input = r->dead = r->spare = (struct peer_vec){ NULL, 0, 0 };
}
