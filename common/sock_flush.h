/*
 * sock_flush.h — writing what a connection has queued to its socket,
 * straight or through its TLS session: the loop c2s and s2s share.
 */
#ifndef PARLEY_SOCK_FLUSH_H
#define PARLEY_SOCK_FLUSH_H

#include <stddef.h>

struct buf;
struct tls_conn;

/* Write out until the buffer is empty (1) or the socket or TLS would
 * block (0); -1 with a reason when the connection failed. With tls NULL
 * the bytes go to fd as they are. */
int sock_flush(struct buf *out, int fd, struct tls_conn *tls, char *err, size_t errlen);

#endif
