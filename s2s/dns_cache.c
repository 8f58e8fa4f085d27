/*
 * dns_cache.c — the TTL-bounded answer cache: a chained hash table of
 * (kind, name) → answer with an expiry. It owns copies of everything it
 * holds; callers keep their own answers.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s2s/dns_cache.h"
#include "util.h"

struct entry {
	struct entry *next;
	enum dns_kind kind;
	char *name;
	uint64_t expires_ms;
	struct dns_answer answer;
};

struct dns_cache {
	struct dns_cache_limits limits;
	struct entry **buckets;
	size_t nbuckets;	/* a power of two */
	size_t count;
};

void dns_answer_clear(struct dns_answer *a)
{
	if (a->srv != NULL)
		for (size_t i = 0; i < a->count; i++)
			free(a->srv[i].host);
	free(a->srv);
	free(a->addr);
	memset(a, 0, sizeof(*a));
	a->status = DNS_STATUS_FAILED;
}

void dns_answer_copy(struct dns_answer *dst, const struct dns_answer *src)
{
	*dst = *src;
	dst->srv = NULL;
	dst->addr = NULL;
	if (src->srv != NULL) {
		dst->srv = xreallocarray(NULL, src->count ? src->count : 1, sizeof(*dst->srv));
		for (size_t i = 0; i < src->count; i++) {
			dst->srv[i] = src->srv[i];
			dst->srv[i].host = xstrdup(src->srv[i].host);
		}
	}
	if (src->addr != NULL) {
		dst->addr = xreallocarray(NULL, src->count ? src->count : 1, sizeof(*dst->addr));
		memcpy(dst->addr, src->addr, src->count * sizeof(*dst->addr));
	}
}

struct dns_cache *dns_cache_new(const struct dns_cache_limits *limits)
{
	struct dns_cache *c = xcalloc(1, sizeof(*c));
	c->limits = *limits;
	c->nbuckets = 16;
	while (c->nbuckets < limits->max_entries && c->nbuckets < (1u << 20))
		c->nbuckets *= 2;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	return c;
}

static void entry_free(struct entry *e)
{
	dns_answer_clear(&e->answer);
	free(e->name);
	free(e);
}

void dns_cache_free(struct dns_cache **cache)
{
	struct dns_cache *c = *cache;
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct entry *e = c->buckets[i], *next; e != NULL; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
	free(c->buckets);
	free(c);
	*cache = NULL;
}

/* FNV-1a over the lower-cased name and the kind. */
static size_t bucket_of(const struct dns_cache *c, enum dns_kind kind, const char *name)
{
	uint64_t h = 14695981039346656037ull ^ (uint64_t)kind;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		unsigned char ch = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
		h = (h ^ ch) * 1099511628211ull;
	}
	return (size_t)h & (c->nbuckets - 1);
}

/* Unlink and free the entry *link points to. */
static void unlink_entry(struct dns_cache *c, struct entry **link)
{
	struct entry *e = *link;
	*link = e->next;
	entry_free(e);
	c->count--;
}

const struct dns_answer *dns_cache_get(struct dns_cache *c, enum dns_kind kind,
    const char *name, uint64_t now_ms)
{
	for (struct entry **link = &c->buckets[bucket_of(c, kind, name)]; *link != NULL;
	     link = &(*link)->next) {
		struct entry *e = *link;
		if (e->kind != kind || strcasecmp(e->name, name) != 0)
			continue;
		if (e->expires_ms <= now_ms) {
			unlink_entry(c, link);
			return NULL;
		}
		return &e->answer;
	}
	return NULL;
}

/* Make room for one entry: drop every expired one; if none was, drop the
 * one that would expire first. O(entries), but only when full. */
static void make_room(struct dns_cache *c, uint64_t now_ms)
{
	struct entry **soonest = NULL;
	bool dropped = false;
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct entry **link = &c->buckets[i]; *link != NULL;) {
			if ((*link)->expires_ms <= now_ms) {
				unlink_entry(c, link);
				dropped = true;
				continue;
			}
			if (soonest == NULL || (*link)->expires_ms < (*soonest)->expires_ms)
				soonest = link;
			link = &(*link)->next;
		}
	}
	if (!dropped && soonest != NULL)
		unlink_entry(c, soonest);
}

static uint64_t lifetime_ms(const struct dns_cache_limits *l, const struct dns_answer *a)
{
	if (a->status != DNS_STATUS_OK)
		return l->negative_ttl_ms;
	uint64_t ms = (uint64_t)a->ttl * 1000;
	if (ms < l->min_ttl_ms)
		ms = l->min_ttl_ms;
	if (ms > l->max_ttl_ms)
		ms = l->max_ttl_ms;
	return ms;
}

void dns_cache_put(struct dns_cache *c, enum dns_kind kind, const char *name,
    const struct dns_answer *answer, uint64_t now_ms)
{
	if (answer->status == DNS_STATUS_FAILED || c->limits.max_entries == 0)
		return;
	uint64_t life = lifetime_ms(&c->limits, answer);
	if (life == 0)
		return;
	size_t b = bucket_of(c, kind, name);
	for (struct entry **link = &c->buckets[b]; *link != NULL; link = &(*link)->next) {
		if ((*link)->kind == kind && strcasecmp((*link)->name, name) == 0) {
			unlink_entry(c, link);
			break;
		}
	}
	if (c->count >= c->limits.max_entries)
		make_room(c, now_ms);
	struct entry *e = xcalloc(1, sizeof(*e));
	e->kind = kind;
	e->name = xstrdup(name);
	e->expires_ms = now_ms + life;
	dns_answer_copy(&e->answer, answer);
	e->next = c->buckets[b];
	c->buckets[b] = e;
	c->count++;
}

size_t dns_cache_count(const struct dns_cache *c)
{
	return c->count;
}
