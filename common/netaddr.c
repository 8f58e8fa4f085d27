/*
 * netaddr.c — listeners, printable peer addresses and per-address
 * connection counts for the network daemons (netaddr.h). The sockets are
 * opened before the sandbox, where a port below 1024 still works.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"
#include "netaddr.h"
#include "util.h"

int netaddr_listen(const char *address, int port, bool reuseport, int *out, char *where,
    size_t wlen, char *err, size_t errlen)
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
		return netaddr_listen("0.0.0.0", port, reuseport, out, where, wlen, err, errlen);
	}
	if (fd < 0) {
		freeaddrinfo(ai);
		return errf(err, errlen, "socket: %s", strerror(errno));
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
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

void netaddr_format(const struct sockaddr_storage *ss, char *addr, size_t alen, char *key,
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
	if (key != NULL)
		snprintf(key, klen, "%s", host);
}

size_t netaddr_count(const struct hash *h, const char *key)
{
	return (uintptr_t)hash_get(h, key, strlen(key));
}

void netaddr_count_add(struct hash *h, const char *key)
{
	hash_put(h, key, strlen(key), (void *)(uintptr_t)(netaddr_count(h, key) + 1));
}

void netaddr_count_release(struct hash *h, const char *key)
{
	size_t n = netaddr_count(h, key);

	if (n <= 1)
		hash_del(h, key, strlen(key));
	else
		hash_put(h, key, strlen(key), (void *)(uintptr_t)(n - 1));
}
