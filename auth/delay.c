/*
 * delay.c — failure counting per source address and the delay it earns
 * (delay.h has the policy).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "delay.h"
#include "hash.h"
#include "util.h"

struct delay_entry {
	uint64_t first_ms;      /* first failure of the current window */
	unsigned count;
};

struct delay_table {
	struct delay_policy policy;
	struct hash *entries;
};

struct delay_table *delay_table_new(const struct delay_policy *policy)
{
	struct delay_table *t = xcalloc(1, sizeof(*t));
	t->policy = *policy;
	t->entries = hash_new(64);
	return t;
}

void delay_table_free(struct delay_table **t)
{
	if (t == NULL || *t == NULL)
		return;
	hash_free(&(*t)->entries, free);
	free(*t);
	*t = NULL;
}

size_t delay_table_count(const struct delay_table *t)
{
	return hash_count(t->entries);
}

void delay_address_key(const char *client_addr, char *out, size_t outlen)
{
	const char *start = client_addr, *end;

	if (client_addr[0] == '[') {
		start = client_addr + 1;
		end = strchr(start, ']');
	} else {
		end = strrchr(client_addr, ':');
		/* More than one colon without brackets: an IPv6 address without
		 * a port; keep it whole. */
		if (end != NULL && strchr(client_addr, ':') != end)
			end = NULL;
	}
	size_t n = end != NULL ? (size_t)(end - start) : strlen(start);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, start, n);
	out[n] = '\0';
}

static bool expired(const struct delay_table *t, const struct delay_entry *e, uint64_t now)
{
	return now - e->first_ms >= t->policy.window_ms;
}

/* Make room: drop what has expired; if nothing has, the oldest entry. */
static void make_room(struct delay_table *t, uint64_t now)
{
	struct hash_iter it;
	const char *key, *oldest_key = NULL;
	size_t klen, oldest_len = 0;
	void *value;
	uint64_t oldest = UINT64_MAX;
	char (*doomed)[64] = xcalloc(1024, sizeof(*doomed));
	size_t ndoomed = 0;

	hash_iter_init(t->entries, &it);
	while (hash_iter_next(&it, &key, &klen, &value)) {
		struct delay_entry *e = value;
		if (expired(t, e, now) && ndoomed < 1024 && klen < 64) {
			memcpy(doomed[ndoomed], key, klen);
			doomed[ndoomed++][klen] = '\0';
		}
		if (e->first_ms < oldest) {
			oldest = e->first_ms;
			oldest_key = key;
			oldest_len = klen;
		}
	}
	if (ndoomed == 0 && oldest_key != NULL && oldest_len < 64) {
		memcpy(doomed[0], oldest_key, oldest_len);
		doomed[ndoomed++][oldest_len] = '\0';
	}
	for (size_t i = 0; i < ndoomed; i++)
		free(hash_del(t->entries, doomed[i], strlen(doomed[i])));
	free(doomed);
}

uint64_t delay_record_failure(struct delay_table *t, const char *client_addr, uint64_t now_ms)
{
	char key[64];

	if (client_addr == NULL || client_addr[0] == '\0')
		return 0;
	delay_address_key(client_addr, key, sizeof(key));
	struct delay_entry *e = hash_get(t->entries, key, strlen(key));
	if (e == NULL) {
		if (hash_count(t->entries) >= DELAY_MAX_ADDRESSES)
			make_room(t, now_ms);
		e = xcalloc(1, sizeof(*e));
		e->first_ms = now_ms;
		hash_put(t->entries, key, strlen(key), e);
	} else if (expired(t, e, now_ms)) {
		e->first_ms = now_ms;
		e->count = 0;
	}
	e->count++;
	if (e->count <= t->policy.free)
		return 0;
	unsigned doublings = e->count - t->policy.free - 1;
	uint64_t d = t->policy.base_ms;
	for (unsigned i = 0; i < doublings && d < t->policy.max_ms; i++)
		d *= 2;
	return d > t->policy.max_ms ? t->policy.max_ms : d;
}

unsigned delay_failures(const struct delay_table *t, const char *client_addr, uint64_t now_ms)
{
	char key[64];

	if (client_addr == NULL || client_addr[0] == '\0')
		return 0;
	delay_address_key(client_addr, key, sizeof(key));
	const struct delay_entry *e = hash_get(t->entries, key, strlen(key));
	if (e == NULL || expired(t, e, now_ms))
		return 0;
	return e->count;
}
