/*
 * netaddr.h — what the network daemons (c2s, s2s) share about sockets and
 * addresses: opening a listener, writing a peer's address for logs and
 * for counting, and the count of connections per source address.
 */
#ifndef PARLEY_NETADDR_H
#define PARLEY_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct hash;

/* A non-blocking TCP listener on a numeric address ("::" is dual-stack,
 * and falls back to 0.0.0.0 on a host without IPv6). With reuseport,
 * several processes can share the port (SO_REUSEPORT). *where gets
 * "addr:port" for logs. -1 with a reason. */
int netaddr_listen(const char *address, int port, bool reuseport, int *fd, char *where,
    size_t wlen, char *err, size_t errlen);

/* "192.0.2.1:4000" or "[2001:db8::1]:4000" (a v4-mapped address as v4)
 * into addr, and the address alone into key when key is not NULL. */
void netaddr_format(const struct sockaddr_storage *ss, char *addr, size_t alen, char *key,
    size_t klen);

/* Connections per address in a hash of key → count. */
size_t netaddr_count(const struct hash *h, const char *key);
void netaddr_count_add(struct hash *h, const char *key);
void netaddr_count_release(struct hash *h, const char *key);

#endif
