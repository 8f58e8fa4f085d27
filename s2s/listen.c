/*
 * listen.c — the s2s listeners (5269 by default) and accepting remote
 * servers on them, with STARTTLS or, on a listener marked direct_tls, TLS
 * from the first byte (XEP-0368). Sockets are opened before the sandbox (a port below
 * 1024 needs root). Connections per source address are counted here; one
 * over s2s.max_connections_per_address is closed at once, without a word.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "netaddr.h"
#include "s2s.h"

int s2s_listen(struct s2s *s2s, char *err, size_t errlen)
{
	const struct s2s_config *cfg = &s2s->cfg;

	s2s->listeners = xcalloc(cfg->nlisteners > 0 ? cfg->nlisteners : 1,
	    sizeof(*s2s->listeners));
	for (size_t i = 0; i < cfg->nlisteners; i++) {
		struct listener *l = &s2s->listeners[i];
		l->s2s = s2s;
		l->direct_tls = cfg->listeners[i].direct_tls;
		if (netaddr_listen(cfg->listeners[i].address, cfg->listeners[i].port, false,
		    &l->fd, l->where, sizeof(l->where), err, errlen) < 0)
			return -1;
		s2s->nlisteners++;
		if (l->direct_tls)
			snprintf(l->where + strlen(l->where), sizeof(l->where) - strlen(l->where),
			    " (direct TLS)");
	}
	return 0;
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
		netaddr_format(&ss, addr, sizeof(addr), key, sizeof(key));
		size_t n = netaddr_count(s2s->per_addr, key);
		if (s2s->stopping || (s2s->cfg.max_per_address > 0 && n >= s2s->cfg.max_per_address)) {
			log_info("%s: refused (%s)", addr, s2s->stopping ? "stopping" :
			    "too many connections from this address");
			close(cfd);
			continue;
		}
		netaddr_count_add(s2s->per_addr, key);
		int one = 1;
		(void)setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = conn_new(s2s, cfd, CONN_IN, false, addr, key);
		if (c == NULL) {
			netaddr_count_release(s2s->per_addr, key);
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
