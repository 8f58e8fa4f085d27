/*
 * fake_router.c — the fake router of the router link's unit tests (see
 * fake_router.h). It owns its listening socket, its one connection and the
 * record of what it received; nothing here is shared with the code under
 * test.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fake_router.h"
#include "tls.h"
#include "unit.h"
#include "util.h"

uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void run_for(struct loop *loop, uint64_t ms)
{
	uint64_t deadline = now_ms() + ms;
	while (now_ms() < deadline)
		loop_run_once(loop, 5);
}

/* --- the fake router ---------------------------------------------------------- */

void fake_close_conn(struct fake *fk)
{
	tls_conn_free(&fk->tls);
	if (fk->fd >= 0) {
		loop_del_fd(fk->loop, fk->fd);
		close(fk->fd);
		fk->fd = -1;
	}
	buf_reset(&fk->in);
	buf_reset(&fk->out);
	fk->handshaken = false;
}

void fake_flush(struct fake *fk)
{
	char err[ERRLEN];

	while (fk->fd >= 0 && buf_used(&fk->out) > 0) {
		ssize_t n;
		if (fk->tls != NULL) {
			if (!fk->handshaken)
				return;
			n = tls_write(fk->tls, buf_head(&fk->out), buf_used(&fk->out), err, sizeof(err));
			if (n < 0)
				return;
		} else {
			n = send(fk->fd, buf_head(&fk->out), buf_used(&fk->out), MSG_NOSIGNAL);
			if (n < 0)
				return;
		}
		buf_consume(&fk->out, (size_t)n);
	}
}

void fake_send_error(struct fake *fk, uint32_t code, const char *text, uint32_t ref_seq,
    const char *ref_to)
{
	size_t s = frame_begin(&fk->out, FRAME_ERROR, 0, fk->seq++);
	frame_put_u32(&fk->out, FRAME_TAG_CODE, code);
	if (text)
		frame_put_str(&fk->out, FRAME_TAG_TEXT, text);
	if (ref_seq)
		frame_put_u32(&fk->out, FRAME_TAG_REF_SEQ, ref_seq);
	if (ref_to)
		frame_put_str(&fk->out, FRAME_TAG_REF_TO, ref_to);
	frame_end(&fk->out, s);
}

void fake_send_named(struct fake *fk, enum frame_type type, uint16_t flags, const char *name,
    const char *role)
{
	size_t s = frame_begin(&fk->out, type, flags, fk->seq++);
	frame_put_str(&fk->out, FRAME_TAG_NAME, name);
	if (role)
		frame_put_str(&fk->out, FRAME_TAG_ROLE, role);
	frame_end(&fk->out, s);
}

void fake_send_route_as(struct fake *fk, uint16_t flags, uint32_t seq, const char *from,
    const char *to, const char *sid, const void *stanza, size_t len)
{
	size_t s = frame_begin(&fk->out, FRAME_ROUTE, flags, seq);
	frame_put_str(&fk->out, FRAME_TAG_FROM, from);
	frame_put_str(&fk->out, FRAME_TAG_TO, to);
	if (sid)
		frame_put_str(&fk->out, FRAME_TAG_SESSION_ID, sid);
	frame_put(&fk->out, FRAME_TAG_STANZA, stanza, len);
	frame_end(&fk->out, s);
}

void fake_send_route(struct fake *fk, const char *from, const char *to, const char *sid,
    const void *stanza, size_t len)
{
	fake_send_route_as(fk, 0, fk->seq++, from, to, sid, stanza, len);
}

void fake_send_ack(struct fake *fk, uint16_t flags, const char *from, const char *to,
    const uint32_t *seqs, size_t n)
{
	size_t s = frame_begin(&fk->out, FRAME_ACK, flags, fk->seq++);
	frame_put_str(&fk->out, FRAME_TAG_FROM, from);
	frame_put_str(&fk->out, FRAME_TAG_TO, to);
	for (size_t i = 0; i < n; i++)
		frame_put_u32(&fk->out, FRAME_TAG_ACK_SEQ, seqs[i]);
	frame_end(&fk->out, s);
}

uint32_t fake_send_ping(struct fake *fk)
{
	uint32_t seq = fk->seq++;
	size_t s = frame_begin(&fk->out, FRAME_PING, 0, seq);
	frame_end(&fk->out, s);
	fake_flush(fk);
	return seq;
}

void fake_copy_str(char *dst, size_t n, const struct frame *f, enum frame_tag tag)
{
	const char *s = frame_get_str(f, tag, NULL);
	snprintf(dst, n, "%s", s ? s : "");
}

static void fake_record(struct fake *fk, const struct frame *f)
{
	fk->seen = xreallocarray(fk->seen, fk->nseen + 1, sizeof(*fk->seen));
	struct fake_frame *r = &fk->seen[fk->nseen++];
	memset(r, 0, sizeof(*r));
	r->type = f->type;
	r->flags = f->flags;
	r->seq = f->seq;
	r->conn = fk->accepts;
	fake_copy_str(r->name, sizeof(r->name), f, FRAME_TAG_NAME);
	fake_copy_str(r->role, sizeof(r->role), f, FRAME_TAG_ROLE);
	fake_copy_str(r->from, sizeof(r->from), f, FRAME_TAG_FROM);
	fake_copy_str(r->to, sizeof(r->to), f, FRAME_TAG_TO);
	fake_copy_str(r->key, sizeof(r->key), f, FRAME_TAG_ROUTE_KEY);
	fake_copy_str(r->sid, sizeof(r->sid), f, FRAME_TAG_SESSION_ID);
	const void *p;
	size_t len;
	if (frame_get(f, FRAME_TAG_SECRET, &p, &len) && len < sizeof(r->secret))
		memcpy(r->secret, p, len);
	r->has_pid = frame_get_u32(f, FRAME_TAG_PID, &r->pid);
	frame_get_u32(f, FRAME_TAG_REF_SEQ, &r->ref_seq);
	struct frame_attr attr;
	size_t cursor = 0;
	while (frame_next_tag(f, FRAME_TAG_ACK_SEQ, &cursor, &attr)) {
		ck_assert_uint_eq(attr.len, 4);
		const unsigned char *u = attr.data;
		if (r->nack < FAKE_MAX_ACKS)
			r->ack[r->nack] = (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
			    (uint32_t)u[2] << 8 | u[3];
		r->nack++;
	}
	if (frame_get(f, FRAME_TAG_STANZA, &p, &len)) {
		r->stanza = xmalloc(len + 1);
		memcpy(r->stanza, p, len);
		r->stanza[len] = '\0';
		r->stanza_len = len;
	}
}

/* Act on one frame as the router would; false if the connection is closed. */
static bool fake_handle(struct fake *fk, const struct frame *f)
{
	fake_record(fk, f);
	switch (f->type) {
	case FRAME_HELLO: {
		const void *p;
		size_t len;
		frame_get(f, FRAME_TAG_SECRET, &p, &len);
		if (fk->secret && (len != strlen(fk->secret) || memcmp(p, fk->secret, len) != 0)) {
			fake_send_error(fk, FRAME_ERR_NOT_AUTHORIZED, "bad secret", f->seq, NULL);
			fake_flush(fk);
			fake_close_conn(fk);
			return false;
		}
		fake_send_named(fk, FRAME_HELLO_OK, 0, "router", NULL);
		break;
	}
	case FRAME_BIND: {
		const char *name = frame_get_str(f, FRAME_TAG_NAME, NULL);
		if (fk->conflict && strcmp(name, fk->conflict) == 0)
			fake_send_error(fk, FRAME_ERR_CONFLICT, "bound by another peer", f->seq, NULL);
		else
			fake_send_named(fk, FRAME_BIND_OK, f->flags, name, NULL);
		break;
	}
	case FRAME_PING:
		if (!fk->no_pong) {
			size_t s = frame_begin(&fk->out, FRAME_PONG, 0, fk->seq++);
			frame_put_u32(&fk->out, FRAME_TAG_REF_SEQ, f->seq);
			frame_end(&fk->out, s);
		}
		break;
	case FRAME_ROUTE:
		if (fk->echo) {
			const void *p;
			size_t len;
			frame_get(f, FRAME_TAG_STANZA, &p, &len);
			fake_send_route(fk, frame_get_str(f, FRAME_TAG_TO, NULL),
			    frame_get_str(f, FRAME_TAG_FROM, NULL),
			    frame_get_str(f, FRAME_TAG_SESSION_ID, NULL), p, len);
		}
		break;
	default:
		break;
	}
	return true;
}

static bool fake_stopped(const struct fake *fk)
{
	if (!fk->stop_reading)
		return false;
	for (size_t i = 0; i < fk->nseen; i++)
		if (fk->seen[i].type == FRAME_HELLO && fk->seen[i].conn == fk->accepts)
			return true;
	return false;
}

static void fake_io(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct fake *fk = arg;
	char err[ERRLEN];
	(void)loop;
	(void)fd;
	(void)events;

	if (fk->tls != NULL && !fk->handshaken) {
		int r = tls_handshake(fk->tls, err, sizeof(err));
		if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
			return;
		if (r != TLS_OK) {
			fake_close_conn(fk);
			return;
		}
		fk->handshaken = true;
	}
	if (fk->mute)
		return;
	for (;;) {
		if (fake_stopped(fk))
			break;
		bool eof = false;
		ssize_t n;
		if (fk->tls != NULL) {
			buf_reserve(&fk->in, 16384);
			n = tls_read(fk->tls, buf_tail(&fk->in), 16384, err, sizeof(err));
			if (n > 0)
				buf_commit(&fk->in, (size_t)n);
			else if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
				n = 0;
			else
				eof = true;
		} else {
			n = buf_read_fd(&fk->in, fk->fd, 65536, &eof);
		}
		size_t pos = 0;
		for (;;) {
			struct frame f;
			size_t used;
			int r = frame_decode(buf_head(&fk->in) + pos, buf_used(&fk->in) - pos, 0, &f, &used,
			    err, sizeof(err));
			ck_assert_msg(r >= 0, "the link sent a bad frame: %s", err);
			if (r == 0)
				break;
			pos += used;
			if (!fake_handle(fk, &f))
				return;
			if (fake_stopped(fk))
				break;
		}
		buf_consume(&fk->in, pos);
		fake_flush(fk);
		if (eof || n < 0) {
			fk->closed_by_peer = true;
			fake_close_conn(fk);
			return;
		}
		if (n == 0)
			break;
	}
	fake_flush(fk);
}

static void fake_accept(struct loop *loop, int lfd, unsigned events, void *arg)
{
	struct fake *fk = arg;
	char err[ERRLEN];
	(void)events;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (fk->accepts < 64)
			fk->accept_ms[fk->accepts] = now_ms();
		fk->accepts++;
		if (fk->close_on_accept) {
			close(fd);
			continue;
		}
		fake_close_conn(fk);
		fk->fd = fd;
		fk->closed_by_peer = false;
		if (fk->tcp) {
			fk->tls = tls_conn_new_server(fk->tls_ctx, fd, err, sizeof(err));
			ck_assert_msg(fk->tls != NULL, "%s", err);
		}
		ck_assert_int_eq(loop_add_fd(loop, fd, fake_io, fk, err, sizeof(err)), 0);
		fake_io(loop, fd, LOOP_READ, fk);
	}
}

void fake_listen(struct fake *fk)
{
	char err[ERRLEN];

	if (fk->tcp) {
		fk->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fk->lfd, 0);
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		sin.sin_port = htons(fk->port);
		int one = 1;
		setsockopt(fk->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		ck_assert_int_eq(bind(fk->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		socklen_t len = sizeof(sin);
		getsockname(fk->lfd, (struct sockaddr *)&sin, &len);
		fk->port = ntohs(sin.sin_port);
	} else {
		fk->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fk->lfd, 0);
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		ck_assert_uint_lt(strlen(fk->path), sizeof(sun.sun_path));
		memcpy(sun.sun_path, fk->path, strlen(fk->path) + 1);
		unlink(fk->path);
		ck_assert_int_eq(bind(fk->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	}
	ck_assert_int_eq(listen(fk->lfd, 16), 0);
	ck_assert_int_eq(loop_add_fd(fk->loop, fk->lfd, fake_accept, fk, err, sizeof(err)), 0);
}

struct fake *fake_new(struct loop *loop, const char *sock_path)
{
	struct fake *fk = xcalloc(1, sizeof(*fk));
	fk->loop = loop;
	fk->fd = -1;
	fk->lfd = -1;
	fk->seq = 1000;
	fk->secret = FAKE_SECRET;
	fk->path = xstrdup(sock_path != NULL ? sock_path : "");
	buf_init(&fk->in);
	buf_init(&fk->out);
	return fk;
}

struct fake *fake_start(struct loop *loop, const char *sock_path)
{
	struct fake *fk = fake_new(loop, sock_path);
	fake_listen(fk);
	return fk;
}

void fake_stop(struct fake *fk)
{
	fake_close_conn(fk);
	if (fk->lfd >= 0) {
		loop_del_fd(fk->loop, fk->lfd);
		close(fk->lfd);
		fk->lfd = -1;
	}
	if (!fk->tcp)
		unlink(fk->path);
}

void fake_free(struct fake **fkp)
{
	struct fake *fk = *fkp;
	fake_stop(fk);
	for (size_t i = 0; i < fk->nseen; i++)
		free(fk->seen[i].stanza);
	free(fk->seen);
	buf_free(&fk->in);
	buf_free(&fk->out);
	free(fk->path);
	free(fk);
	*fkp = NULL;
}

size_t fake_count(const struct fake *fk, int type, int conn)
{
	size_t n = 0;
	for (size_t i = 0; i < fk->nseen; i++)
		if (fk->seen[i].type == type && (conn == 0 || fk->seen[i].conn == conn))
			n++;
	return n;
}

const struct fake_frame *fake_find(const struct fake *fk, int type, int conn, size_t nth)
{
	for (size_t i = 0; i < fk->nseen; i++)
		if (fk->seen[i].type == type && (conn == 0 || fk->seen[i].conn == conn))
			if (nth-- == 0)
				return &fk->seen[i];
	return NULL;
}

/* --- what the owner got ---------------------------------------------------- */

void fake_got_add(struct fake_got **got, size_t *n, const struct frame *f)
{
	*got = xreallocarray(*got, *n + 1, sizeof(**got));
	struct fake_got *g = &(*got)[(*n)++];
	const void *p;
	size_t len;

	memset(g, 0, sizeof(*g));
	g->type = f->type;
	g->flags = f->flags;
	g->seq = f->seq;
	fake_copy_str(g->name, sizeof(g->name), f, FRAME_TAG_NAME);
	fake_copy_str(g->role, sizeof(g->role), f, FRAME_TAG_ROLE);
	fake_copy_str(g->from, sizeof(g->from), f, FRAME_TAG_FROM);
	fake_copy_str(g->to, sizeof(g->to), f, FRAME_TAG_TO);
	fake_copy_str(g->sid, sizeof(g->sid), f, FRAME_TAG_SESSION_ID);
	fake_copy_str(g->ref_to, sizeof(g->ref_to), f, FRAME_TAG_REF_TO);
	frame_get_u32(f, FRAME_TAG_CODE, &g->code);
	frame_get_u32(f, FRAME_TAG_REF_SEQ, &g->ref_seq);
	if (frame_get(f, FRAME_TAG_STANZA, &p, &len)) {
		g->stanza = xmalloc(len + 1);
		memcpy(g->stanza, p, len);
		g->stanza[len] = '\0';
		g->stanza_len = len;
	}
}

size_t fake_got_count(const struct fake_got *got, size_t n, int type)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		if (got[i].type == type)
			count++;
	return count;
}

const struct fake_got *fake_got_find(const struct fake_got *got, size_t n, int type, size_t nth)
{
	for (size_t i = 0; i < n; i++)
		if (got[i].type == type && nth-- == 0)
			return &got[i];
	return NULL;
}

void fake_got_free(struct fake_got *got, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(got[i].stanza);
	free(got);
}
