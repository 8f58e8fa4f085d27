/*
 * routes.c — the router's table of names (see routes.h): a hash of names to
 * routes, each route holding its binders, plus the one default route.
 *
 * Why rendezvous hashing for shared names: "every frame for one user goes
 * to the same binder" must survive binders coming and going as well as it
 * can. With hash(key) mod n, one auth process leaving would move almost
 * every user to another binder; with rendezvous hashing each binder scores
 * the key and the best score wins, so only the leaving binder's users move,
 * and a binder that comes back (same HELLO name, same key) gets its users
 * back. Shared names have a handful of binders, so scoring them all per
 * frame costs a few multiplications after the one SipHash of the key.
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "hash.h"
#include "routes.h"
#include "util.h"

struct binder {
	struct peer *peer;
	uint64_t key;
	const char *desc; /* the peer's own string, valid while it is bound */
};

struct route {
	char *name;
	size_t namelen;
	uint16_t flags;
	struct binder *binders;
	size_t nbinders, capbinders;
	size_t turn; /* round robin for frames without a route key */
};

struct route_table {
	struct hash *names;
	struct route *default_route;
	char **shared;
	size_t nshared;
};

struct route_table *route_table_new(const char *const *shared, size_t nshared)
{
	struct route_table *t = xcalloc(1, sizeof(*t));

	t->names = hash_new(64);
	t->shared = xcalloc(nshared ? nshared : 1, sizeof(*t->shared));
	for (size_t i = 0; i < nshared; i++)
		t->shared[i] = xstrdup(shared[i]);
	t->nshared = nshared;
	return t;
}

static void route_free(void *p)
{
	struct route *r = p;

	free(r->binders);
	free(r->name);
	free(r);
}

void route_table_free(struct route_table **tp)
{
	struct route_table *t = *tp;

	if (t == NULL)
		return;
	hash_free(&t->names, route_free);
	for (size_t i = 0; i < t->nshared; i++)
		free(t->shared[i]);
	free(t->shared);
	free(t);
	*tp = NULL;
}

static bool is_shared(const struct route_table *t, const char *name)
{
	for (size_t i = 0; i < t->nshared; i++)
		if (strcmp(t->shared[i], name) == 0)
			return true;
	return false;
}

/* A routing name is a domain, an instance name or a role name: printable,
 * no spaces, never a JID. Names end up in every peer's logs, so control
 * characters are refused here rather than escaped everywhere. */
static int check_name(const char *name, char *err, size_t errlen)
{
	if (*name == '\0')
		return errf(err, errlen, "an empty name cannot be bound");
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '@' || *p == '/')
			return errf(err, errlen, "\"%.64s\" is not a routing name "
			    "(a domain, instance or role name: no spaces, '@' or '/')", name);
	return 0;
}

static void add_binder(struct route *r, struct peer *peer, uint64_t key, const char *desc)
{
	if (r->nbinders == r->capbinders) {
		r->capbinders = r->capbinders ? r->capbinders * 2 : 1;
		r->binders = xreallocarray(r->binders, r->capbinders, sizeof(*r->binders));
	}
	r->binders[r->nbinders++] = (struct binder){ peer, key, desc };
}

static struct binder *find_binder(const struct route *r, const struct peer *peer)
{
	for (size_t i = 0; i < r->nbinders; i++)
		if (r->binders[i].peer == peer)
			return &r->binders[i];
	return NULL;
}

/* The default route may be taken by this route only. */
static bool default_taken(const struct route_table *t, const struct route *r, uint16_t flags,
    char *err, size_t errlen)
{
	if (!(flags & FRAME_F_DEFAULT_ROUTE) || t->default_route == NULL || t->default_route == r)
		return false;
	errf(err, errlen, "the default route is already \"%s\", bound by %s",
	    t->default_route->name, t->default_route->binders[0].desc);
	return true;
}

enum route_bind_result route_bind(struct route_table *t, const char *name, uint16_t flags,
    struct peer *peer, uint64_t peer_key, const char *peer_desc, struct route **route,
    char *err, size_t errlen)
{
	size_t len = strlen(name);
	struct route *r;

	*route = NULL;
	if (check_name(name, err, errlen) < 0)
		return ROUTE_NOT_ALLOWED;
	if (is_shared(t, name) && !(flags & FRAME_F_SHARED)) {
		errf(err, errlen, "\"%s\" is a shared name (router.shared_names): "
		    "bind it with the SHARED flag", name);
		return ROUTE_NOT_ALLOWED;
	}
	if (!is_shared(t, name) && (flags & FRAME_F_SHARED)) {
		errf(err, errlen, "\"%s\" is not a shared name: router.shared_names "
		    "does not list it", name);
		return ROUTE_NOT_ALLOWED;
	}

	r = hash_get(t->names, name, len);
	if (r == NULL) {
		if (default_taken(t, NULL, flags, err, errlen))
			return ROUTE_CONFLICT;
		r = xcalloc(1, sizeof(*r));
		r->name = xstrdup(name);
		r->namelen = len;
		r->flags = flags;
		add_binder(r, peer, peer_key, peer_desc);
		hash_put(t->names, r->name, len, r);
		if (flags & FRAME_F_DEFAULT_ROUTE)
			t->default_route = r;
		*route = r;
		return ROUTE_UP;
	}

	if (find_binder(r, peer) != NULL) {
		if (r->flags == flags) {
			*route = r;
			return ROUTE_AGAIN;
		}
		if (r->nbinders > 1) {
			errf(err, errlen, "the binders of \"%s\" must agree on its flags", name);
			return ROUTE_NOT_ALLOWED;
		}
		if (default_taken(t, r, flags, err, errlen))
			return ROUTE_CONFLICT;
		if (t->default_route == r && !(flags & FRAME_F_DEFAULT_ROUTE))
			t->default_route = NULL;
		else if (flags & FRAME_F_DEFAULT_ROUTE)
			t->default_route = r;
		r->flags = flags;
		*route = r;
		return ROUTE_CHANGED;
	}

	if (!(r->flags & FRAME_F_SHARED)) {
		errf(err, errlen, "\"%s\" is already bound by %s", name, r->binders[0].desc);
		return ROUTE_CONFLICT;
	}
	if (r->flags != flags) {
		errf(err, errlen, "the binders of \"%s\" must agree on its flags "
		    "(it is bound with 0x%04x, not 0x%04x)", name, r->flags, flags);
		return ROUTE_NOT_ALLOWED;
	}
	add_binder(r, peer, peer_key, peer_desc);
	*route = r;
	return ROUTE_JOINED;
}

bool route_leave(struct route_table *t, struct route *r, struct peer *peer)
{
	struct binder *b = find_binder(r, peer);

	if (b == NULL)
		return false;
	/* Keep the order: the first binder is the one whose role PEER_UP named. */
	size_t i = (size_t)(b - r->binders);
	memmove(&r->binders[i], &r->binders[i + 1], (r->nbinders - i - 1) * sizeof(*b));
	r->nbinders--;
	if (r->nbinders > 0)
		return false;
	if (t->default_route == r)
		t->default_route = NULL;
	hash_del(t->names, r->name, r->namelen);
	route_free(r);
	return true;
}

struct route *route_find(const struct route_table *t, const char *name)
{
	return hash_get(t->names, name, strlen(name));
}

bool route_is_bound_by(const struct route_table *t, const char *name, const struct peer *peer)
{
	const struct route *r = route_find(t, name);

	return r != NULL && find_binder(r, peer) != NULL;
}

/* splitmix64's finalizer: spreads the bits of the key-and-binder mix. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

struct peer *route_lookup(struct route_table *t, const char *to, const char *key, size_t keylen)
{
	struct route *r = hash_get(t->names, to, strlen(to));

	if (r == NULL)
		r = t->default_route;
	if (r == NULL)
		return NULL;
	if (r->nbinders == 1)
		return r->binders[0].peer;
	if (key == NULL)
		return r->binders[r->turn++ % r->nbinders].peer;

	uint64_t h = hash_bytes(key, keylen);
	size_t best = 0;
	uint64_t best_score = 0;
	for (size_t i = 0; i < r->nbinders; i++) {
		uint64_t score = mix64(h ^ r->binders[i].key);
		if (i == 0 || score > best_score) {
			best = i;
			best_score = score;
		}
	}
	return r->binders[best].peer;
}

const char *route_name(const struct route *r)
{
	return r->name;
}

uint16_t route_flags(const struct route *r)
{
	return r->flags;
}

size_t route_binder_count(const struct route *r)
{
	return r->nbinders;
}

struct peer *route_first_binder(const struct route *r)
{
	return r->nbinders > 0 ? r->binders[0].peer : NULL;
}

size_t route_table_count(const struct route_table *t)
{
	return hash_count(t->names);
}

void route_table_each(const struct route_table *t,
    void (*fn)(const struct route *route, void *arg), void *arg)
{
	struct hash_iter it;
	const char *key;
	size_t klen;
	void *value;

	hash_iter_init(t->names, &it);
	while (hash_iter_next(&it, &key, &klen, &value))
		fn(value, arg);
}
