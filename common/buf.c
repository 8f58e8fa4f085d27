/*
 * buf.c — growable byte buffers (see buf.h). Growth doubles the capacity
 * from a small first allocation, so a buffer that only ever carries short
 * stanzas stays small.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

#define BUF_FIRST_ALLOC 256

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->off = b->len = b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->off = b->len = 0;
	if (b->cap)
		b->data[0] = '\0';
}

void buf_reserve(struct buf *b, size_t extra)
{
	/* +1 keeps room for the trailing NUL. */
	if (b->cap - b->len > extra)
		return;
	/* Reuse the consumed front before growing. */
	if (b->off > 0) {
		size_t used = buf_used(b);
		memmove(b->data, b->data + b->off, used);
		b->off = 0;
		b->len = used;
		b->data[used] = '\0';
		if (b->cap - b->len > extra)
			return;
	}
	if (extra > SIZE_MAX / 2 - b->len)
		log_fatal("buffer size overflow (%zu + %zu bytes)", b->len, extra);
	size_t need = b->len + extra + 1;
	size_t cap = b->cap ? b->cap : BUF_FIRST_ALLOC;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
	if (b->len < b->cap)
		b->data[b->len] = '\0';
}

void buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	buf_commit(b, n);
}

void buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		buf_append(b, small, (size_t)n);
		return;
	}
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(buf_tail(b), (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_commit(b, (size_t)n);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= buf_used(b)) {
		buf_reset(b);
		return;
	}
	b->off += n;
}

void buf_shrink(struct buf *b, size_t keep)
{
	if (buf_used(b) == 0 && b->cap > keep)
		buf_free(b);
}

ssize_t buf_read_fd(struct buf *b, int fd, size_t max, bool *eof)
{
	size_t total = 0;

	*eof = false;
	while (total < max) {
		size_t want = max - total;
		if (want > 16384)
			want = 16384;
		buf_reserve(b, want);
		ssize_t n = read(fd, buf_tail(b), want);
		if (n > 0) {
			buf_commit(b, (size_t)n);
			total += (size_t)n;
			continue;
		}
		if (n == 0) {
			*eof = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		return -1;
	}
	return (ssize_t)total;
}

ssize_t buf_write_fd(struct buf *b, int fd)
{
	size_t total = 0;

	while (buf_used(b) > 0) {
		ssize_t n = write(fd, buf_head(b), buf_used(b));
		if (n >= 0) {
			buf_consume(b, (size_t)n);
			total += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		return -1;
	}
	return (ssize_t)total;
}
