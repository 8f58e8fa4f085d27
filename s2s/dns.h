/*
 * dns.h — where to connect to reach a remote XMPP domain: RFC 6120 §3.2
 * and XEP-0368 on udns, asynchronously on the Parley event loop.
 *
 * s2s_dns_resolve() asks _xmpps-server._tcp.DOMAIN (direct TLS) and
 * _xmpp-server._tcp.DOMAIN (STARTTLS) in parallel, orders the targets
 * (dns_order.h), then asks AAAA and A of every target host in parallel, and
 * hands the caller the targets with their addresses, best first. Without
 * any SRV record it falls back to DOMAIN itself on port 5269 (STARTTLS); a
 * lone "." target means the service is not offered, and there is no
 * fallback. s2s.routes in the config answers for a domain without DNS.
 * Answers are cached (dns_cache.h). doc/s2s.md ("DNS") describes it all.
 *
 * Nothing here blocks, and the callback is never called from inside
 * s2s_dns_resolve() or s2s_dns_cancel(): always from the loop.
 */
#ifndef PARLEY_S2S_DNS_H
#define PARLEY_S2S_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"
#include "loop.h"

#define S2S_PORT 5269

/* One place to connect to: try addr[0], addr[1]… (IPv6 first, then IPv4;
 * each address carries the port). */
struct s2s_target {
	char *host;		/* the SRV target (or the domain, or the route's host) */
	uint16_t port;
	bool direct_tls;	/* TLS at once (XEP-0368) rather than STARTTLS */
	size_t naddr;
	struct sockaddr_storage *addr;
};

/* The ordered targets for one domain; the callback's to keep or free. */
struct s2s_targets {
	char *domain;
	size_t count;
	struct s2s_target *target;
};

void s2s_targets_free(struct s2s_targets **targets);

/* Exactly one of targets (non-empty) and error is non-NULL. error reads as
 * a sentence end ("no such domain", "timeout or server failure"…), and is
 * valid only during the call. */
typedef void (*s2s_dns_cb)(struct s2s_targets *targets, const char *error, void *arg);

struct s2s_dns;
struct s2s_dns_query;

/*
 * The resolver for one process, reading s2s.dns.* and s2s.routes from `c`
 * (which must outlive nothing: what is needed is copied). Name servers
 * come from s2s.dns.nameservers, or, when it is empty, from the system
 * (resolv.conf, and udns's NAMESERVERS / RES_OPTIONS environment
 * variables). Returns NULL with a reason ("FILE:LINE: path: ..." for a
 * value the schema could not judge) if the settings are unusable or the
 * socket cannot be opened.
 */
struct s2s_dns *s2s_dns_new(struct loop *loop, const struct conf *c, char *err, size_t errlen);
/* Stop everything: queries still outstanding are dropped without their
 * callbacks, and their handles become invalid. NULL is allowed. */
void s2s_dns_free(struct s2s_dns **dns);

/* Start finding `domain`. The handle is valid until the callback has been
 * called or the query cancelled, whichever comes first. */
struct s2s_dns_query *s2s_dns_resolve(struct s2s_dns *dns, const char *domain, s2s_dns_cb cb,
    void *arg);
/* Forget a query (the connection that wanted it went away): its callback
 * will not be called. Lookups already sent still complete and fill the
 * cache. NULL is allowed; *query is set to NULL. */
void s2s_dns_cancel(struct s2s_dns_query **query);

/* Queries started and not yet answered or cancelled. */
size_t s2s_dns_pending(const struct s2s_dns *dns);

/* For tests: fix the random source of the SRV weights. */
void s2s_dns_seed(struct s2s_dns *dns, uint64_t seed);

/* Parse "IP", "IP:PORT" or "[IPv6]:PORT" (port 53 when absent) into out.
 * In dns_conf.c; the config schema's check says the same thing at load. */
int s2s_dns_parse_nameserver(const char *text, struct sockaddr_storage *out, char *err,
    size_t errlen);

#endif
