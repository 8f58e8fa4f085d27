/*
 * dns_cache.h — answers to the DNS questions s2s asks (two SRV names, AAAA
 * and A of each host), kept for their TTL within configured bounds, with
 * "no such name" and "no such record" kept for a short fixed time. The
 * clock is the caller's (milliseconds, the loop's time in s2s), so tests
 * can move it. Timeouts and server failures are never cached.
 */
#ifndef PARLEY_S2S_DNS_CACHE_H
#define PARLEY_S2S_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "s2s/dns_order.h"

enum dns_kind {
	DNS_KIND_SRV_XMPPS,	/* _xmpps-server._tcp.NAME */
	DNS_KIND_SRV_XMPP,	/* _xmpp-server._tcp.NAME */
	DNS_KIND_AAAA,
	DNS_KIND_A,
};

enum dns_answer_status {
	DNS_STATUS_OK,
	DNS_STATUS_NXDOMAIN,	/* the name does not exist */
	DNS_STATUS_NODATA,	/* the name exists, without records of this type */
	DNS_STATUS_FAILED,	/* timeout, server failure, garbled answer: not cached */
};

/* One answer. SRV kinds fill srv, address kinds fill addr (port 0). */
struct dns_answer {
	enum dns_answer_status status;
	uint32_t ttl;		/* seconds, as the server gave it (OK answers) */
	size_t count;
	struct s2s_srv *srv;
	struct sockaddr_storage *addr;
};

/* Free what an answer holds and reset it to an empty FAILED answer. */
void dns_answer_clear(struct dns_answer *a);
/* A deep copy of src into dst (which must be empty). */
void dns_answer_copy(struct dns_answer *dst, const struct dns_answer *src);

struct dns_cache_limits {
	uint64_t min_ttl_ms, max_ttl_ms;	/* bounds on an OK answer's TTL */
	uint64_t negative_ttl_ms;		/* how long NXDOMAIN/NODATA are kept */
	size_t max_entries;			/* 0: cache nothing */
};

struct dns_cache;

struct dns_cache *dns_cache_new(const struct dns_cache_limits *limits);
void dns_cache_free(struct dns_cache **cache);

/* The fresh answer for (kind, name), or NULL. Names compare without
 * regard to ASCII case. The answer stays valid until the next put. */
const struct dns_answer *dns_cache_get(struct dns_cache *cache, enum dns_kind kind,
    const char *name, uint64_t now_ms);
/* Keep a copy of `answer` (FAILED answers are ignored). When the cache is
 * full, expired entries go first, then the one closest to expiry. */
void dns_cache_put(struct dns_cache *cache, enum dns_kind kind, const char *name,
    const struct dns_answer *answer, uint64_t now_ms);
size_t dns_cache_count(const struct dns_cache *cache);

#endif
