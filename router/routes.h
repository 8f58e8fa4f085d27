/*
 * routes.h — the router's table of names: which peer receives the frames
 * addressed to a domain, an instance name (c2s.1), a role name (auth) or,
 * failing all of them, the default route. It decides the binding rules
 * (a name has one binder unless the configuration says it is shared; the
 * binders of a shared name agree on its flags; one default route) and picks
 * the binder of a shared name for each frame.
 *
 * It knows peers only as opaque pointers with a stable key, and never sends
 * anything: the caller announces PEER_UP / PEER_DOWN from the results.
 */
#ifndef PARLEY_ROUTER_ROUTES_H
#define PARLEY_ROUTER_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct peer;
struct route;
struct route_table;

/* The names listed may be bound by several peers at once (with the BIND
 * flag SHARED); every other name has one binder. The list is copied. */
struct route_table *route_table_new(const char *const *shared, size_t nshared);
/* Frees the routes; the peers are the caller's. */
void route_table_free(struct route_table **t);

enum route_bind_result {
	ROUTE_UP = 0,      /* the name was not bound: announce it */
	ROUTE_JOINED,      /* another binder of a shared name: nothing to announce */
	ROUTE_AGAIN,       /* this peer already had it, with these flags */
	ROUTE_CHANGED,     /* this peer, its only binder, changed its flags: announce again */
	ROUTE_CONFLICT,    /* held by another peer (err says who) */
	ROUTE_NOT_ALLOWED, /* a bad name, or flags that break the rules (err says why) */
};

/*
 * Bind `name` (with FRAME_F_SHARED / FRAME_F_DEFAULT_ROUTE) to `peer`.
 * `peer_key` places the peer among the binders of a shared name: give the
 * same key to the same instance after a reconnection (a hash of its HELLO
 * name) and the same users come back to it. `peer_desc` names the holder
 * in conflict messages. On ROUTE_UP, ROUTE_JOINED, ROUTE_AGAIN and
 * ROUTE_CHANGED, *route is the entry (stable until the name goes down).
 */
enum route_bind_result route_bind(struct route_table *t, const char *name, uint16_t flags,
    struct peer *peer, uint64_t peer_key, const char *peer_desc, struct route **route,
    char *err, size_t errlen);

/* Remove `peer` from the binders of `route`. Returns true when that was
 * the last binder: the route is freed (read its name and flags first) and
 * the name must be announced down. */
bool route_leave(struct route_table *t, struct route *route, struct peer *peer);

/* The route of `name`, or NULL. */
struct route *route_find(const struct route_table *t, const char *name);
/* Whether `peer` is among the binders of `name`. */
bool route_is_bound_by(const struct route_table *t, const char *name, const struct peer *peer);

/*
 * The peer that receives a frame addressed to `to`: its binder, or the
 * default route's when nobody bound `to`; NULL when there is neither.
 * Among the binders of a shared name, a frame with a route key goes to the
 * binder that key prefers (rendezvous hashing: the same key always picks
 * the same binder while the binders stay, and when one leaves, only its
 * keys move); frames without a key take turns.
 */
struct peer *route_lookup(struct route_table *t, const char *to, const char *key, size_t keylen);

const char *route_name(const struct route *route);
uint16_t route_flags(const struct route *route);
size_t route_binder_count(const struct route *route);
/* The first binder: whose role PEER_UP carries. */
struct peer *route_first_binder(const struct route *route);
size_t route_table_count(const struct route_table *t);

/* Call fn for every route, in no particular order; fn must not change the
 * table. */
void route_table_each(const struct route_table *t,
    void (*fn)(const struct route *route, void *arg), void *arg);

#endif
