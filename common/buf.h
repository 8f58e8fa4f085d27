/*
 * buf.h — growable byte buffers. A buffer starts with no memory at all (an
 * idle connection should cost nothing), grows on demand, and keeps a read
 * offset so that consuming from the front is O(1); the unread bytes are
 * moved to the front only when that makes room worth having.
 *
 * Layout: data[off .. len) holds the unread bytes; data[len .. cap) is free.
 * The byte at data[len] is kept NUL when cap > len so text can be printed,
 * but the contents are binary-safe.
 */
#ifndef PARLEY_BUF_H
#define PARLEY_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util.h"

struct buf {
	char *data;
	size_t off;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0, 0 }

void buf_init(struct buf *b);
/* Release the memory; the buffer is empty and usable again. */
void buf_free(struct buf *b);
/* Forget the contents, keep the memory. */
void buf_reset(struct buf *b);

static inline size_t buf_used(const struct buf *b) { return b->len - b->off; }
/* A buffer that never allocated has data == NULL, and NULL + 0 is undefined
 * behaviour in C: head is then an empty string, tail NULL (reserve first). */
static inline const char *buf_head(const struct buf *b) { return b->data ? b->data + b->off : ""; }
static inline char *buf_tail(struct buf *b) { return b->data ? b->data + b->len : NULL; }
static inline size_t buf_space(const struct buf *b) { return b->cap - b->len; }

/* Make room for at least `extra` more bytes after len (may move contents). */
void buf_reserve(struct buf *b, size_t extra);
/* Mark `n` bytes written at buf_tail() as used. */
void buf_commit(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_append_str(struct buf *b, const char *s);
void buf_appendf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Drop `n` bytes from the front (n <= buf_used). */
void buf_consume(struct buf *b, size_t n);
/* Give memory back if the buffer is empty and larger than `keep` bytes
 * (called when a connection goes idle). */
void buf_shrink(struct buf *b, size_t keep);

/* Read from fd into the buffer until EAGAIN, EOF or `max` bytes (the fd is
 * edge-triggered, so the caller must come back if `max` was reached). Returns
 * the number of bytes read and sets *eof when the peer closed; -1 with errno
 * on a real error (never for EAGAIN). */
ssize_t buf_read_fd(struct buf *b, int fd, size_t max, bool *eof);
/* Write the buffer's contents to fd until EAGAIN or empty; consumed bytes
 * are dropped. Processes ignore SIGPIPE, so a closed peer is EPIPE here. Returns bytes written or -1 with errno (not EAGAIN). */
ssize_t buf_write_fd(struct buf *b, int fd);

#endif
