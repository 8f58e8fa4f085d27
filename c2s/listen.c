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
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "c2s.h"
#include "log.h"
#include "netaddr.h"

int c2s_listen(struct c2s *c2s, char *err, size_t errlen)
{
	const struct c2s_config *cfg = &c2s->cfg;

	c2s->listeners = xcalloc(cfg->nlisteners, sizeof(*c2s->listeners));
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		struct listener *l = &c2s->listeners[i];
		l->c2s = c2s;
		l->direct_tls = cfg->listeners[i].direct_tls;
		if (netaddr_listen(cfg->listeners[i].address, cfg->listeners[i].port, true,
		    &l->fd, l->where, sizeof(l->where), err, errlen) < 0) {
			l->fd = -1;
			return -1;
		}
		c2s->nlisteners++;
	}
	return 0;
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
		netaddr_format(&ss, addr, sizeof(addr), key, sizeof(key));
		size_t n = netaddr_count(c2s->per_addr, key);
		if (c2s->stopping || (c2s->cfg.max_per_address > 0 && n >= c2s->cfg.max_per_address) ||
		    c2s->nclients >= c2s->cfg.max_connections) {
			log_info("%s: refused (%s)", addr, c2s->stopping ? "stopping" :
			    n >= c2s->cfg.max_per_address ? "too many connections from this address" :
			    "c2s.max_connections reached");
			close(cfd);
			continue;
		}
		netaddr_count_add(c2s->per_addr, key);
		int one = 1;
		(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (client_new(c2s, cfd, l->direct_tls, addr, key) == NULL)
			netaddr_count_release(c2s->per_addr, key);
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
