/*
 * dns_order.h — the pure part of finding a remote server: SRV records put
 * in the order RFC 2782 asks for (priority, then a weighted random choice
 * within a priority), the "." target that says a service is not offered,
 * and the merge of the direct-TLS (XEP-0368) and STARTTLS lists. No I/O,
 * no clock: the random source is passed in, so tests can fix it.
 */
#ifndef PARLEY_S2S_DNS_ORDER_H
#define PARLEY_S2S_DNS_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One SRV record, as much of it as federation needs. `host` is owned by
 * whoever owns the array the record is in. */
struct s2s_srv {
	char *host;		/* target, lower case, no trailing dot; "." for none */
	uint16_t port;
	uint16_t priority;
	uint16_t weight;
	bool direct_tls;	/* from _xmpps-server (TLS at once) rather than _xmpp-server */
};

/* A small pseudo-random generator (xorshift64*): weights only spread load,
 * so predictability is harmless, and a fixed seed makes tests exact. */
struct s2s_rng {
	uint64_t state;
};
void s2s_rng_seed(struct s2s_rng *rng, uint64_t seed);
uint64_t s2s_rng_next(struct s2s_rng *rng);

/* RFC 2782: exactly one record whose target is "." means the service is
 * decidedly not available at this domain. */
bool s2s_srv_unavailable(const struct s2s_srv *v, size_t n);

/* Order v in place: ascending priority; within a priority, repeatedly pick
 * a record at random with probability proportional to its weight (records
 * of weight 0 have a small chance, and come first in the running sum as
 * RFC 2782 says). Records whose target is "." are dropped (they mean
 * nothing among others); returns the number kept. */
size_t s2s_srv_order(struct s2s_srv *v, size_t n, struct s2s_rng *rng);

/* Merge two ordered lists into out (room for ntls + nstarttls): ascending
 * priority, each list keeping its own order, and at equal priority the
 * direct-TLS records first (XEP-0368 allows it: no STARTTLS round trip, and
 * nothing is sent before TLS). Copies the structs (hosts are shared, not
 * duplicated). Returns ntls + nstarttls. */
size_t s2s_srv_merge(const struct s2s_srv *tls, size_t ntls, const struct s2s_srv *starttls,
    size_t nstarttls, struct s2s_srv *out);

#endif
