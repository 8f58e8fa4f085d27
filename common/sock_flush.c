/*
 * sock_flush.c — see sock_flush.h. What is written leaves the buffer;
 * what the socket does not take stays for the next writable event.
 */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "sock_flush.h"
#include "tls.h"
#include "util.h"

int sock_flush(struct buf *out, int fd, struct tls_conn *tls, char *err, size_t errlen)
{
	while (buf_used(out) > 0) {
		if (tls == NULL) {
			if (buf_write_fd(out, fd) < 0)
				return errf(err, errlen, "%s", strerror(errno));
			return buf_used(out) == 0;
		}
		ssize_t n = tls_write(tls, buf_head(out), buf_used(out), err, errlen);
		if (n == TLS_WANT_READ || n == TLS_WANT_WRITE)
			return 0;
		if (n < 0)
			return -1;
		buf_consume(out, (size_t)n);
	}
	return 1;
}
