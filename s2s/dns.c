/*
 * dns.c — the s2s resolver: udns on the Parley loop, and the steps from a
 * domain to ordered connection targets (dns.h says which). It owns the udns
 * context and its socket, the cache, the queries in progress and every
 * lookup udns still holds; it never blocks and never calls a caller back
 * from inside udns (answers are delivered from a zero-delay timer, so a
 * callback may start, cancel or free anything).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <udns.h>

#include "s2s/dns.h"
#include "s2s/dns_cache.h"
#include "s2s/dns_conf.h"
#include "s2s/dns_order.h"

enum stage { STAGE_SRV, STAGE_ADDRESSES, STAGE_DONE };

/* The AAAA and A answers for one host a query needs. */
struct host_answers {
	char *name;
	struct dns_answer aaaa, a;
};

struct s2s_dns_query {
	struct s2s_dns_query *prev, *next;	/* in dns->queries */
	struct s2s_dns *dns;
	char *domain;
	s2s_dns_cb cb;
	void *arg;
	enum stage stage;
	unsigned pending;			/* lookups sent and not answered */
	struct dns_answer srv[2];		/* [0] _xmpps-server, [1] _xmpp-server */
	bool fallback;				/* no SRV: the domain itself, port 5269 */
	struct s2s_srv *order;			/* targets in order; owns the hosts */
	size_t norder;
	struct host_answers *host;		/* one per distinct target host */
	size_t nhost;
	struct s2s_targets *result;
	char error[ERRLEN];
	struct timer *deliver;
};

/* One question udns is working on. It outlives its query if the query is
 * cancelled: udns 0.4's dns_cancel() leaks the request, so we let every
 * request finish and only forget whom it was for. */
struct lookup {
	struct lookup *prev, *next;		/* in dns->lookups */
	struct s2s_dns *dns;
	struct s2s_dns_query *query;		/* NULL once nobody waits */
	struct dns_answer *slot;		/* where the answer goes in query */
	enum dns_kind kind;
	char *name;
};

struct s2s_dns {
	struct loop *loop;
	struct dns_ctx *ctx;
	int fd;
	struct timer *timer;			/* udns's next deadline, or a kick */
	struct s2s_dns_settings settings;
	struct dns_cache *cache;
	struct s2s_rng rng;
	struct s2s_dns_query *queries;
	size_t nqueries;
	struct lookup *lookups;
};

static void advance(struct s2s_dns_query *q);

/* --- udns on the loop ------------------------------------------------------ */

static void on_timer(struct loop *loop, void *arg);

static void arm(struct s2s_dns *dns, uint64_t ms)
{
	loop_timer_cancel(dns->loop, &dns->timer);
	dns->timer = loop_timer_add(dns->loop, ms, on_timer, dns);
}

/* udns keeps deadlines in whole seconds of wall-clock time; wake up just
 * after the second it names, so that the deadline has really passed. */
static void on_timer(struct loop *loop, void *arg)
{
	struct s2s_dns *dns = arg;
	struct timespec now;
	(void)loop;

	dns->timer = NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	int wait_s = dns_timeouts(dns->ctx, -1, now.tv_sec);
	if (wait_s >= 0) {
		uint64_t into_second = (uint64_t)now.tv_nsec / 1000000;
		uint64_t ms = (uint64_t)wait_s * 1000;
		arm(dns, (ms > into_second ? ms - into_second : 0) + 5);
	}
}

static void on_readable(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct s2s_dns *dns = arg;
	(void)loop;
	(void)fd;
	(void)events;
	/* Reads until EAGAIN, as the edge-triggered loop needs. Answers may
	 * have started new lookups or ended old ones: let the timer pick the
	 * next deadline. */
	dns_ioevent(dns->ctx, 0);
	arm(dns, 0);
}

/* --- lookups ----------------------------------------------------------------- */

static void lookup_unlink(struct lookup *l)
{
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		l->dns->lookups = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	free(l->name);
	free(l);
}

static enum dns_answer_status status_of(struct dns_ctx *ctx)
{
	switch (dns_status(ctx)) {
	case DNS_E_NXDOMAIN:
		return DNS_STATUS_NXDOMAIN;
	case DNS_E_NODATA:
		return DNS_STATUS_NODATA;
	default:
		return DNS_STATUS_FAILED;
	}
}

/* An answer arrived (or udns gave up): cache it, hand it to the query that
 * still wants it, and let that query move on. */
static void lookup_done(struct lookup *l, struct dns_answer *a)
{
	struct s2s_dns *dns = l->dns;
	struct s2s_dns_query *q = l->query;

	dns_cache_put(dns->cache, l->kind, l->name, a, loop_now_ms(dns->loop));
	if (q != NULL) {
		*l->slot = *a;
		q->pending--;
	} else {
		dns_answer_clear(a);
	}
	lookup_unlink(l);
	if (q != NULL)
		advance(q);
}

static char *host_dup(const char *s)
{
	char *d = xstrdup(s);
	size_t n = strlen(d);
	for (size_t i = 0; i < n; i++)
		if (d[i] >= 'A' && d[i] <= 'Z')
			d[i] = (char)(d[i] + 32);
	if (n > 1 && d[n - 1] == '.')
		d[n - 1] = '\0';
	return d;
}

static void on_srv(struct dns_ctx *ctx, struct dns_rr_srv *rr, void *data)
{
	struct lookup *l = data;
	struct dns_answer a = { .status = status_of(ctx) };

	if (rr != NULL) {
		a.status = DNS_STATUS_OK;
		a.ttl = rr->dnssrv_ttl;
		a.count = (size_t)rr->dnssrv_nrr;
		a.srv = xcalloc(a.count ? a.count : 1, sizeof(*a.srv));
		for (size_t i = 0; i < a.count; i++) {
			const struct dns_srv *s = &rr->dnssrv_srv[i];
			a.srv[i].host = host_dup(s->name);
			a.srv[i].port = (uint16_t)s->port;
			a.srv[i].priority = (uint16_t)s->priority;
			a.srv[i].weight = (uint16_t)s->weight;
			a.srv[i].direct_tls = l->kind == DNS_KIND_SRV_XMPPS;
		}
		free(rr);
	}
	lookup_done(l, &a);
}

static void on_a4(struct dns_ctx *ctx, struct dns_rr_a4 *rr, void *data)
{
	struct lookup *l = data;
	struct dns_answer a = { .status = status_of(ctx) };

	if (rr != NULL) {
		a.status = DNS_STATUS_OK;
		a.ttl = rr->dnsa4_ttl;
		a.count = (size_t)rr->dnsa4_nrr;
		a.addr = xcalloc(a.count ? a.count : 1, sizeof(*a.addr));
		for (size_t i = 0; i < a.count; i++) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&a.addr[i];
			sin->sin_family = AF_INET;
			sin->sin_addr = rr->dnsa4_addr[i];
		}
		free(rr);
	}
	lookup_done(l, &a);
}

static void on_a6(struct dns_ctx *ctx, struct dns_rr_a6 *rr, void *data)
{
	struct lookup *l = data;
	struct dns_answer a = { .status = status_of(ctx) };

	if (rr != NULL) {
		a.status = DNS_STATUS_OK;
		a.ttl = rr->dnsa6_ttl;
		a.count = (size_t)rr->dnsa6_nrr;
		a.addr = xcalloc(a.count ? a.count : 1, sizeof(*a.addr));
		for (size_t i = 0; i < a.count; i++) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.addr[i];
			sin6->sin6_family = AF_INET6;
			sin6->sin6_addr = rr->dnsa6_addr[i];
		}
		free(rr);
	}
	lookup_done(l, &a);
}

/* An address literal answers its own A or AAAA question. */
static bool literal_answer(enum dns_kind kind, const char *name, struct dns_answer *slot)
{
	struct in_addr v4;
	struct in6_addr v6;
	bool is4 = inet_pton(AF_INET, name, &v4) == 1, is6 = inet_pton(AF_INET6, name, &v6) == 1;

	if (!is4 && !is6)
		return false;
	memset(slot, 0, sizeof(*slot));
	slot->status = DNS_STATUS_NODATA;
	if ((kind == DNS_KIND_A && is4) || (kind == DNS_KIND_AAAA && is6)) {
		slot->status = DNS_STATUS_OK;
		slot->count = 1;
		slot->addr = xcalloc(1, sizeof(*slot->addr));
		if (is4) {
			struct sockaddr_in *sin = (struct sockaddr_in *)slot->addr;
			sin->sin_family = AF_INET;
			sin->sin_addr = v4;
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)slot->addr;
			sin6->sin6_family = AF_INET6;
			sin6->sin6_addr = v6;
		}
	}
	return true;
}

/* Ask (kind, name) for q, answering at once from the cache or a literal. */
static void ask(struct s2s_dns_query *q, enum dns_kind kind, const char *name,
    struct dns_answer *slot)
{
	struct s2s_dns *dns = q->dns;

	if ((kind == DNS_KIND_A || kind == DNS_KIND_AAAA) && literal_answer(kind, name, slot))
		return;
	const struct dns_answer *cached = dns_cache_get(dns->cache, kind, name, loop_now_ms(dns->loop));
	if (cached != NULL) {
		dns_answer_copy(slot, cached);
		return;
	}

	struct lookup *l = xcalloc(1, sizeof(*l));
	l->dns = dns;
	l->query = q;
	l->slot = slot;
	l->kind = kind;
	l->name = xstrdup(name);

	/* DNS_NOSRCH: these are absolute names; a search list would only add
	 * wrong answers and round trips. */
	struct dns_query *sent = NULL;
	switch (kind) {
	case DNS_KIND_SRV_XMPPS:
		sent = dns_submit_srv(dns->ctx, name, "xmpps-server", "tcp", DNS_NOSRCH, on_srv, l);
		break;
	case DNS_KIND_SRV_XMPP:
		sent = dns_submit_srv(dns->ctx, name, "xmpp-server", "tcp", DNS_NOSRCH, on_srv, l);
		break;
	case DNS_KIND_AAAA:
		sent = dns_submit_a6(dns->ctx, name, DNS_NOSRCH, on_a6, l);
		break;
	case DNS_KIND_A:
		sent = dns_submit_a4(dns->ctx, name, DNS_NOSRCH, on_a4, l);
		break;
	}
	if (sent == NULL) {
		/* A name udns cannot even encode (too long, bad label). */
		memset(slot, 0, sizeof(*slot));
		slot->status = dns_status(dns->ctx) == DNS_E_BADQUERY ? DNS_STATUS_NXDOMAIN
								      : DNS_STATUS_FAILED;
		free(l->name);
		free(l);
		return;
	}
	l->next = dns->lookups;
	if (l->next != NULL)
		l->next->prev = l;
	dns->lookups = l;
	q->pending++;
	arm(dns, 0);
}

/* --- from SRV answers to targets ---------------------------------------------- */

/* Copy an SRV answer's records (their hosts duplicated) for ordering. */
static struct s2s_srv *srv_records(const struct dns_answer *a, size_t *n)
{
	*n = 0;
	if (a->status != DNS_STATUS_OK || a->count == 0)
		return NULL;
	struct s2s_srv *v = xcalloc(a->count, sizeof(*v));
	for (size_t i = 0; i < a->count; i++) {
		v[i] = a->srv[i];
		v[i].host = xstrdup(a->srv[i].host);
	}
	*n = a->count;
	return v;
}

/* Order one SRV list, freeing the "." records it drops. */
static size_t order_list(struct s2s_srv *v, size_t n, struct s2s_rng *rng)
{
	size_t kept = s2s_srv_order(v, n, rng);
	for (size_t i = kept; i < n; i++)
		free(v[i].host);
	return kept;
}

static void finish_error(struct s2s_dns_query *q, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void finish_error(struct s2s_dns_query *q, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q->error, sizeof(q->error), fmt, ap);
	va_end(ap);
	q->stage = STAGE_DONE;
}

static void start_addresses(struct s2s_dns_query *q)
{
	q->stage = STAGE_ADDRESSES;
	q->host = xcalloc(q->norder ? q->norder : 1, sizeof(*q->host));
	for (size_t i = 0; i < q->norder; i++) {
		bool seen = false;
		for (size_t j = 0; j < q->nhost && !seen; j++)
			seen = strcmp(q->host[j].name, q->order[i].host) == 0;
		if (!seen)
			q->host[q->nhost++].name = xstrdup(q->order[i].host);
	}
	/* Every slot exists before the first question: answers may come back
	 * at once (from the cache) and advance() must see the full count. */
	q->pending++;
	for (size_t j = 0; j < q->nhost; j++) {
		ask(q, DNS_KIND_AAAA, q->host[j].name, &q->host[j].aaaa);
		ask(q, DNS_KIND_A, q->host[j].name, &q->host[j].a);
	}
	q->pending--;
}

static void after_srv(struct s2s_dns_query *q)
{
	size_t ntls, nstarttls;
	struct s2s_srv *tls = srv_records(&q->srv[0], &ntls);
	struct s2s_srv *starttls = srv_records(&q->srv[1], &nstarttls);
	bool unavailable = s2s_srv_unavailable(tls, ntls) || s2s_srv_unavailable(starttls, nstarttls);

	ntls = order_list(tls, ntls, &q->dns->rng);
	nstarttls = order_list(starttls, nstarttls, &q->dns->rng);
	q->norder = ntls + nstarttls;
	if (q->norder > 0) {
		q->order = xcalloc(q->norder, sizeof(*q->order));
		s2s_srv_merge(tls, ntls, starttls, nstarttls, q->order);
	}
	free(tls);
	free(starttls);

	if (q->norder == 0 && unavailable) {
		finish_error(q, "%s says it offers no server-to-server XMPP service (SRV target \".\")",
		    q->domain);
		return;
	}
	if (q->norder == 0) {
		/* RFC 6120 §3.2.2: no SRV answer, so the domain itself, on the
		 * registered port. Also when the SRV queries failed: the A and
		 * AAAA lookups will say whether the name servers work at all. */
		q->fallback = true;
		q->order = xcalloc(1, sizeof(*q->order));
		q->order[0].host = xstrdup(q->domain);
		q->order[0].port = S2S_PORT;
		q->norder = 1;
	}
	start_addresses(q);
}

static const struct host_answers *host_of(const struct s2s_dns_query *q, const char *name)
{
	for (size_t j = 0; j < q->nhost; j++)
		if (strcmp(q->host[j].name, name) == 0)
			return &q->host[j];
	return NULL;
}

static void append_addresses(struct s2s_target *t, const struct dns_answer *a)
{
	if (a->status != DNS_STATUS_OK)
		return;
	for (size_t i = 0; i < a->count; i++) {
		struct sockaddr_storage *s = &t->addr[t->naddr++];
		*s = a->addr[i];
		if (s->ss_family == AF_INET6)
			((struct sockaddr_in6 *)s)->sin6_port = htons(t->port);
		else
			((struct sockaddr_in *)s)->sin_port = htons(t->port);
	}
}

static void after_addresses(struct s2s_dns_query *q)
{
	struct s2s_targets *r = xcalloc(1, sizeof(*r));
	r->domain = xstrdup(q->domain);
	r->target = xcalloc(q->norder, sizeof(*r->target));
	for (size_t i = 0; i < q->norder; i++) {
		const struct host_answers *h = host_of(q, q->order[i].host);
		size_t n = (h->aaaa.status == DNS_STATUS_OK ? h->aaaa.count : 0) +
		    (h->a.status == DNS_STATUS_OK ? h->a.count : 0);
		if (n == 0)
			continue; /* nothing to connect to: not a target */
		struct s2s_target *t = &r->target[r->count++];
		t->host = xstrdup(q->order[i].host);
		t->port = q->order[i].port;
		t->direct_tls = q->order[i].direct_tls;
		t->addr = xcalloc(n, sizeof(*t->addr));
		append_addresses(t, &h->aaaa);
		append_addresses(t, &h->a);
	}
	q->stage = STAGE_DONE;
	if (r->count > 0) {
		q->result = r;
		return;
	}
	s2s_targets_free(&r);

	/* Why nothing: a failure anywhere is worth retrying later, so it wins. */
	for (size_t j = 0; j < q->nhost; j++)
		if (q->host[j].aaaa.status == DNS_STATUS_FAILED || q->host[j].a.status == DNS_STATUS_FAILED) {
			finish_error(q, "timeout or server failure looking up %s", q->host[j].name);
			return;
		}
	if (q->fallback && (q->host[0].aaaa.status == DNS_STATUS_NXDOMAIN ||
			       q->host[0].a.status == DNS_STATUS_NXDOMAIN)) {
		finish_error(q, "no such domain: %s", q->domain);
		return;
	}
	finish_error(q, "no IPv6 or IPv4 address for %s", q->nhost == 1 ? q->host[0].name : q->domain);
}

/* --- queries ------------------------------------------------------------------- */

static void query_unlink_free(struct s2s_dns_query *q)
{
	struct s2s_dns *dns = q->dns;

	for (struct lookup *l = dns->lookups; l != NULL; l = l->next)
		if (l->query == q)
			l->query = NULL;
	loop_timer_cancel(dns->loop, &q->deliver);
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		dns->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	dns->nqueries--;

	dns_answer_clear(&q->srv[0]);
	dns_answer_clear(&q->srv[1]);
	for (size_t i = 0; i < q->norder; i++)
		free(q->order[i].host);
	free(q->order);
	for (size_t j = 0; j < q->nhost; j++) {
		free(q->host[j].name);
		dns_answer_clear(&q->host[j].aaaa);
		dns_answer_clear(&q->host[j].a);
	}
	free(q->host);
	s2s_targets_free(&q->result);
	free(q->domain);
	free(q);
}

static void on_deliver(struct loop *loop, void *arg)
{
	struct s2s_dns_query *q = arg;
	(void)loop;

	q->deliver = NULL;
	s2s_dns_cb cb = q->cb;
	void *cb_arg = q->arg;
	struct s2s_targets *result = q->result;
	char error[ERRLEN];
	snprintf(error, sizeof(error), "%s", q->error);
	q->result = NULL;
	/* Gone before the call, so that the callback may do anything. */
	query_unlink_free(q);
	cb(result, result != NULL ? NULL : error, cb_arg);
}

static void advance(struct s2s_dns_query *q)
{
	while (q->pending == 0 && q->stage != STAGE_DONE) {
		if (q->stage == STAGE_SRV)
			after_srv(q);
		else
			after_addresses(q);
	}
	if (q->stage == STAGE_DONE && q->deliver == NULL)
		q->deliver = loop_timer_add(q->dns->loop, 0, on_deliver, q);
}

static bool is_address(const char *s)
{
	struct in6_addr a;
	return inet_pton(AF_INET, s, &a) == 1 || inet_pton(AF_INET6, s, &a) == 1;
}

struct s2s_dns_query *s2s_dns_resolve(struct s2s_dns *dns, const char *domain, s2s_dns_cb cb,
    void *arg)
{
	struct s2s_dns_query *q = xcalloc(1, sizeof(*q));
	q->dns = dns;
	q->domain = host_dup(domain);
	q->cb = cb;
	q->arg = arg;
	q->srv[0].status = q->srv[1].status = DNS_STATUS_FAILED;
	q->next = dns->queries;
	if (q->next != NULL)
		q->next->prev = q;
	dns->queries = q;
	dns->nqueries++;

	const struct s2s_route *route = s2s_dns_route_find(&dns->settings, q->domain);
	size_t len = strlen(q->domain);
	if (route != NULL) {
		q->order = xcalloc(1, sizeof(*q->order));
		q->order[0].host = xstrdup(route->host);
		q->order[0].port = route->port;
		q->order[0].direct_tls = route->direct_tls;
		q->norder = 1;
		start_addresses(q);
	} else if (len == 0 || len > 253 || strcmp(q->domain, ".") == 0) {
		finish_error(q, "\"%s\" is not a domain name", q->domain);
	} else if (is_address(q->domain)) {
		/* An IP literal as an XMPP domain: no SRV to ask. */
		q->fallback = true;
		q->order = xcalloc(1, sizeof(*q->order));
		q->order[0].host = xstrdup(q->domain);
		q->order[0].port = S2S_PORT;
		q->norder = 1;
		start_addresses(q);
	} else {
		q->pending++;
		ask(q, DNS_KIND_SRV_XMPPS, q->domain, &q->srv[0]);
		ask(q, DNS_KIND_SRV_XMPP, q->domain, &q->srv[1]);
		q->pending--;
	}
	advance(q);
	return q;
}

void s2s_dns_cancel(struct s2s_dns_query **query)
{
	if (*query == NULL)
		return;
	query_unlink_free(*query);
	*query = NULL;
}

size_t s2s_dns_pending(const struct s2s_dns *dns)
{
	return dns->nqueries;
}

void s2s_dns_seed(struct s2s_dns *dns, uint64_t seed)
{
	s2s_rng_seed(&dns->rng, seed);
}

void s2s_targets_free(struct s2s_targets **targets)
{
	struct s2s_targets *t = *targets;
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->count; i++) {
		free(t->target[i].host);
		free(t->target[i].addr);
	}
	free(t->target);
	free(t->domain);
	free(t);
	*targets = NULL;
}

/* --- the resolver ---------------------------------------------------------------- */

struct s2s_dns *s2s_dns_new(struct loop *loop, const struct conf *c, char *err, size_t errlen)
{
	struct s2s_dns *dns = xcalloc(1, sizeof(*dns));
	dns->loop = loop;
	dns->fd = -1;
	if (s2s_dns_settings_read(c, &dns->settings, err, errlen) < 0)
		goto fail;

	/* dns_new() copies the default context, which dns_init() fills from
	 * resolv.conf and the environment. */
	if (dns_init(NULL, 0) < 0) {
		errf(err, errlen, "cannot read the system's resolver configuration");
		goto fail;
	}
	dns->ctx = dns_new(NULL);
	if (dns->ctx == NULL) {
		errf(err, errlen, "out of memory for the resolver");
		goto fail;
	}
	if (dns->settings.nnameservers > 0) {
		dns_add_serv(dns->ctx, NULL);
		for (size_t i = 0; i < dns->settings.nnameservers; i++)
			if (dns_add_serv_s(dns->ctx, (struct sockaddr *)&dns->settings.nameserver[i]) < 0) {
				errf(err, errlen, "name server %zu refused: %s", i + 1, strerror(errno));
				goto fail;
			}
	}
	dns_set_opt(dns->ctx, DNS_OPT_TIMEOUT, (int)dns->settings.timeout_s);
	dns_set_opt(dns->ctx, DNS_OPT_NTRIES, (int)dns->settings.attempts);
	dns->fd = dns_open(dns->ctx);
	if (dns->fd < 0) {
		errf(err, errlen, "cannot open the resolver's socket: %s", strerror(errno));
		goto fail;
	}
	if (loop_add_fd(loop, dns->fd, on_readable, dns, err, errlen) < 0)
		goto fail;

	dns->cache = dns_cache_new(&dns->settings.cache);
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)dns;
	s2s_rng_seed(&dns->rng, seed);
	return dns;

fail:
	s2s_dns_free(&dns);
	return NULL;
}

void s2s_dns_free(struct s2s_dns **dnsp)
{
	struct s2s_dns *dns = *dnsp;
	if (dns == NULL)
		return;
	while (dns->queries != NULL)
		query_unlink_free(dns->queries);
	if (dns->fd >= 0)
		loop_del_fd(dns->loop, dns->fd);
	/* Drops udns's requests without calling back, so the lookups they
	 * pointed at are ours to free. */
	if (dns->ctx != NULL)
		dns_free(dns->ctx);
	while (dns->lookups != NULL)
		lookup_unlink(dns->lookups);
	loop_timer_cancel(dns->loop, &dns->timer);
	dns_cache_free(&dns->cache);
	s2s_dns_settings_clear(&dns->settings);
	free(dns);
	*dnsp = NULL;
}
