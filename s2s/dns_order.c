/*
 * dns_order.c — SRV ordering (RFC 2782) and the XEP-0368 merge. Owns no
 * memory: it moves records around in arrays its callers own.
 */
#include <stdlib.h>
#include <string.h>

#include "s2s/dns_order.h"

void s2s_rng_seed(struct s2s_rng *rng, uint64_t seed)
{
	/* splitmix64 of the seed: xorshift must not start at 0, and nearby
	 * seeds should not give nearby sequences. */
	uint64_t z = seed + 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	rng->state = z != 0 ? z : 1;
}

uint64_t s2s_rng_next(struct s2s_rng *rng)
{
	uint64_t x = rng->state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng->state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static bool is_root(const struct s2s_srv *s)
{
	return strcmp(s->host, ".") == 0 || s->host[0] == '\0';
}

bool s2s_srv_unavailable(const struct s2s_srv *v, size_t n)
{
	return n == 1 && is_root(&v[0]);
}

/* Stable insertion sort by priority: SRV sets are small, and stability
 * keeps "weight 0 first" below simple. */
static void sort_by_priority(struct s2s_srv *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct s2s_srv cur = v[i];
		size_t j = i;
		while (j > 0 && v[j - 1].priority > cur.priority) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = cur;
	}
}

/* Order v[0..n) (all of one priority) by RFC 2782's weighted selection. */
static void order_one_priority(struct s2s_srv *v, size_t n, struct s2s_rng *rng)
{
	/* Weight-0 records go to the front of the unordered part, so that they
	 * are chosen only when the random number is 0 (or all weights are 0). */
	size_t zeros = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].weight == 0) {
			struct s2s_srv t = v[i];
			memmove(&v[zeros + 1], &v[zeros], (i - zeros) * sizeof(*v));
			v[zeros++] = t;
		}
	}
	for (size_t done = 0; done + 1 < n; done++) {
		uint64_t sum = 0;
		for (size_t i = done; i < n; i++)
			sum += v[i].weight;
		uint64_t pick = s2s_rng_next(rng) % (sum + 1);
		size_t chosen = n - 1;
		uint64_t running = 0;
		for (size_t i = done; i < n; i++) {
			running += v[i].weight;
			if (running >= pick) {
				chosen = i;
				break;
			}
		}
		/* Move the chosen one to the tail of the ordered part, keeping the
		 * rest in their order (weight 0 still first). */
		struct s2s_srv t = v[chosen];
		memmove(&v[done + 1], &v[done], (chosen - done) * sizeof(*v));
		v[done] = t;
	}
}

size_t s2s_srv_order(struct s2s_srv *v, size_t n, struct s2s_rng *rng)
{
	/* A stable partition: the "." records move behind the kept ones
	 * rather than being freed, since the caller owns every host string. */
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (is_root(&v[i]))
			continue;
		struct s2s_srv t = v[i];
		memmove(&v[kept + 1], &v[kept], (i - kept) * sizeof(*v));
		v[kept++] = t;
	}
	sort_by_priority(v, kept);
	for (size_t start = 0; start < kept;) {
		size_t end = start + 1;
		while (end < kept && v[end].priority == v[start].priority)
			end++;
		order_one_priority(&v[start], end - start, rng);
		start = end;
	}
	return kept;
}

size_t s2s_srv_merge(const struct s2s_srv *tls, size_t ntls, const struct s2s_srv *starttls,
    size_t nstarttls, struct s2s_srv *out)
{
	size_t i = 0, j = 0, k = 0;
	while (i < ntls || j < nstarttls) {
		if (j == nstarttls || (i < ntls && tls[i].priority <= starttls[j].priority))
			out[k++] = tls[i++];
		else
			out[k++] = starttls[j++];
	}
	return k;
}
