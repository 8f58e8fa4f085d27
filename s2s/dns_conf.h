/*
 * dns_conf.h — the resolver's settings, read from s2s.dns.* and s2s.routes
 * and checked beyond what the schema can (an override named twice, a
 * host that is neither an address nor a name). Internal to s2s/dns*.c.
 */
#ifndef PARLEY_S2S_DNS_CONF_H
#define PARLEY_S2S_DNS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "s2s/dns_cache.h"

#define S2S_DNS_MAX_NAMESERVERS 6 /* udns's DNS_MAXSERV */

/* One s2s.routes entry: this domain is at host:port, whatever DNS says. */
struct s2s_route {
	char *domain;		/* lower case */
	char *host;		/* an IP address (no DNS at all) or a host name */
	uint16_t port;
	bool direct_tls;
};

struct s2s_dns_settings {
	struct sockaddr_storage nameserver[S2S_DNS_MAX_NAMESERVERS];
	size_t nnameservers;	/* 0: the system's */
	unsigned timeout_s;	/* per try; udns counts whole seconds */
	unsigned attempts;
	struct dns_cache_limits cache;
	struct s2s_route *route;
	size_t nroutes;
};

int s2s_dns_settings_read(const struct conf *c, struct s2s_dns_settings *out, char *err,
    size_t errlen);
void s2s_dns_settings_clear(struct s2s_dns_settings *s);
/* The override for domain (compared without regard to case), or NULL. */
const struct s2s_route *s2s_dns_route_find(const struct s2s_dns_settings *s, const char *domain);

#endif
