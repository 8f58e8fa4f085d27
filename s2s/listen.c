/*
 * listen.c — the s2s listeners (5269 by default) and accepting remote
 * servers on them, with STARTTLS or, on a listener marked direct_tls, TLS
 * from the first byte (XEP-0368). Sockets are opened before the sandbox (a port below
 * 1024 needs root). Connections per source address are counted here; one
 * over s2s.max_connections_per_address is closed at once, without a word.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "s2s.h"

static int open_one(const char *address, int port, int *out, char *where, size_t wlen,
    char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char portstr[16];
	int one = 1, zero = 0, rc;

	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(address, portstr, &hints, &ai)) != 0)
		return errf(err, errlen, "listener %s port %d: %s", address, port, gai_strerror(rc));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && ai->ai_family == AF_INET6 && strcmp(address, "::") == 0 &&
	    (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)) {
		freeaddrinfo(ai);
		return open_one("0.0.0.0", port, out, where, wlen, err, errlen);
	}
	if (fd < 0) {
		freeaddrinfo(ai);
		return errf(err, errlen, "socket: %s", strerror(errno));
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 511) < 0) {
		int e = errno;
		close(fd);
		freeaddrinfo(ai);
		return errf(err, errlen, "listen on %s port %d: %s", address, port, strerror(e));
	}
	snprintf(where, wlen, "%s%s%s:%d", ai->ai_family == AF_INET6 ? "[" : "", address,
	    ai->ai_family == AF_INET6 ? "]" : "", port);
	freeaddrinfo(ai);
	*out = fd;
	return 0;
}

int s2s_listen(struct s2s *s2s, char *err, size_t errlen)
{
	const struct s2s_config *cfg = &s2s->cfg;

	s2s->listeners = xcalloc(cfg->nlisteners > 0 ? cfg->nlisteners : 1,
	    sizeof(*s2s->listeners));
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		struct listener *l = &s2s->listeners[i];
		l->s2s = s2s;
		l->direct_tls = cfg->listeners[i].direct_tls;
		if (open_one(cfg->listeners[i].address, cfg->listeners[i].port, &l->fd, l->where,
		    sizeof(l->where), err, errlen) < 0)
			return -1;
		s2s->nlisteners++;
		if (l->direct_tls)
			snprintf(l->where + strlen(l->where), sizeof(l->where) - strlen(l->where),
			    " (direct TLS)");
	}
	return 0;
}

/* "192.0.2.1:4000" for logs, and the address alone for per_addr. */
static void format_addr(const struct sockaddr_storage *ss, char *addr, size_t alen, char *key,
    size_t klen)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(addr, alen, "%s:%d", host, ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(addr, alen, "%s:%d", host, ntohs(sin6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
			snprintf(addr, alen, "[%s]:%d", host, ntohs(sin6->sin6_port));
		}
	} else {
		snprintf(addr, alen, "unknown");
	}
	snprintf(key, klen, "%s", host);
}

void s2s_addr_release(struct s2s *s2s, const char *key)
{
	uintptr_t n = (uintptr_t)hash_get(s2s->per_addr, key, strlen(key));

	if (n <= 1)
		hash_del(s2s->per_addr, key, strlen(key));
	else
		hash_put(s2s->per_addr, key, strlen(key), (void *)(n - 1));
}

static void on_accept(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct listener *l = arg;
	struct s2s *s2s = l->s2s;

	(void)loop;
	(void)events;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char addr[64], key[48];
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept on %s: %s", l->where, strerror(errno));
			return;
		}
		format_addr(&ss, addr, sizeof(addr), key, sizeof(key));
		uintptr_t n = (uintptr_t)hash_get(s2s->per_addr, key, strlen(key));
		if (s2s->stopping || (s2s->cfg.max_per_address > 0 && n >= s2s->cfg.max_per_address)) {
			log_info("%s: refused (%s)", addr, s2s->stopping ? "stopping" :
			    "too many connections from this address");
			close(cfd);
			continue;
		}
		hash_put(s2s->per_addr, key, strlen(key), (void *)(n + 1));
		int one = 1;
		(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = conn_new(s2s, cfd, CONN_IN, false, addr, key);
		if (c == NULL) {
			s2s_addr_release(s2s, key);
		} else if (l->direct_tls) {
			/* XEP-0368: the TLS handshake comes before the stream. */
			c->direct_tls = true;
			conn_start_tls(c);
		}
	}
}

int s2s_listen_start(struct s2s *s2s, char *err, size_t errlen)
{
	for (size_t i = 0; i < s2s->nlisteners; i++)
		if (loop_add_fd(s2s->loop, s2s->listeners[i].fd, on_accept, &s2s->listeners[i], err,
		    errlen) < 0)
			return -1;
	return 0;
}

void s2s_unlisten(struct s2s *s2s)
{
	for (size_t i = 0; i < s2s->nlisteners; i++) {
		if (s2s->listeners[i].fd < 0)
			continue;
		if (s2s->loop != NULL)
			loop_del_fd(s2s->loop, s2s->listeners[i].fd);
		close(s2s->listeners[i].fd);
		s2s->listeners[i].fd = -1;
	}
	free(s2s->listeners);
	s2s->listeners = NULL;
	s2s->nlisteners = 0;
}
