/*
 * listen.c — the client listeners (5222 STARTTLS, 5223 direct TLS by
 * default) and accepting connections on them. Sockets are opened before
 * the sandbox (a port below 1024 needs root) with SO_REUSEPORT, so several
 * c2s processes share one port and the kernel spreads connections over
 * them. "::" listens dual-stack; a host without IPv6 gets 0.0.0.0.
 *
 * Connections per source address are counted here. One over the limit is
 * closed at once, without a stream error: on 5223 an error would cost a
 * TLS handshake, which is what the limit is there to save.
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

#include "c2s.h"
#include "log.h"

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
		/* No IPv6 on this host: the wildcard is IPv4's. */
		freeaddrinfo(ai);
		return open_one("0.0.0.0", port, out, where, wlen, err, errlen);
	}
	if (fd < 0) {
		freeaddrinfo(ai);
		return errf(err, errlen, "socket: %s", strerror(errno));
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		log_warn("SO_REUSEPORT on %s: %s", address, strerror(errno));
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

int c2s_listen(struct c2s *c2s, char *err, size_t errlen)
{
	const struct c2s_config *cfg = &c2s->cfg;

	c2s->listeners = xcalloc(cfg->nlisteners, sizeof(*c2s->listeners));
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		struct listener *l = &c2s->listeners[i];
		l->c2s = c2s;
		l->direct_tls = cfg->listeners[i].direct_tls;
		if (open_one(cfg->listeners[i].address, cfg->listeners[i].port, &l->fd, l->where,
		    sizeof(l->where), err, errlen) < 0) {
			l->fd = -1;
			return -1;
		}
		c2s->nlisteners++;
	}
	return 0;
}

static void format_addr(const struct sockaddr_storage *ss, char *addr, size_t alen, char *key,
    size_t klen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
		snprintf(addr, alen, "%s:%d", host, port);
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

void c2s_addr_release(struct c2s *c2s, const char *key)
{
	uintptr_t n = (uintptr_t)hash_get(c2s->per_addr, key, strlen(key));

	if (n <= 1)
		hash_del(c2s->per_addr, key, strlen(key));
	else
		hash_put(c2s->per_addr, key, strlen(key), (void *)(n - 1));
}

static void on_accept(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct listener *l = arg;
	struct c2s *c2s = l->c2s;

	(void)loop;
	(void)events;
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char addr[sizeof(((struct client *)NULL)->addr)], key[48];
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept on %s: %s", l->where, strerror(errno));
			return;
		}
		format_addr(&ss, addr, sizeof(addr), key, sizeof(key));
		uintptr_t n = (uintptr_t)hash_get(c2s->per_addr, key, strlen(key));
		if (c2s->stopping || (c2s->cfg.max_per_address > 0 && n >= c2s->cfg.max_per_address) ||
		    c2s->nclients >= c2s->cfg.max_connections) {
			log_info("%s: refused (%s)", addr, c2s->stopping ? "stopping" :
			    n >= c2s->cfg.max_per_address ? "too many connections from this address" :
			    "c2s.max_connections reached");
			close(cfd);
			continue;
		}
		hash_put(c2s->per_addr, key, strlen(key), (void *)(n + 1));
		int one = 1;
		(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (client_new(c2s, cfd, l->direct_tls, addr, key) == NULL)
			c2s_addr_release(c2s, key);
	}
}

int c2s_listen_start(struct c2s *c2s, char *err, size_t errlen)
{
	for (size_t i = 0; i < c2s->nlisteners; i++)
		if (loop_add_fd(c2s->loop, c2s->listeners[i].fd, on_accept, &c2s->listeners[i], err,
		    errlen) < 0)
			return -1;
	return 0;
}

void c2s_unlisten(struct c2s *c2s)
{
	for (size_t i = 0; i < c2s->nlisteners; i++) {
		if (c2s->listeners[i].fd < 0)
			continue;
		if (c2s->loop != NULL)
			loop_del_fd(c2s->loop, c2s->listeners[i].fd);
		close(c2s->listeners[i].fd);
		c2s->listeners[i].fd = -1;
	}
	free(c2s->listeners);
	c2s->listeners = NULL;
	c2s->nlisteners = 0;
}
