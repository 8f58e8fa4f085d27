/*
 * control.c — the frames a peer sends to the router itself: HELLO (the
 * shared secret; nothing else is accepted before it), BIND and UNBIND,
 * PING and PONG; and what the router tells everyone when a name comes or
 * goes (PEER_UP, PEER_DOWN). The binding rules themselves are routes.c's;
 * routed frames are forward.c's.
 *
 * Any other frame from a peer — HELLO twice, or one of the router's own
 * types — means the two sides disagree on the protocol: ERROR protocol and
 * close, never ignored.
 */
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "log.h"
#include "router.h"
#include "routes.h"

/* --- announcing ------------------------------------------------------------ */

static void send_peer_up(struct peer *q, const struct route *route)
{
	const struct peer *binder = route_first_binder(route);
	size_t start = peer_frame_begin(q, FRAME_PEER_UP, route_flags(route));

	frame_put_str(&q->out, FRAME_TAG_NAME, route_name(route));
	if (binder != NULL && binder->role != NULL)
		frame_put_str(&q->out, FRAME_TAG_ROLE, binder->role);
	peer_frame_end(q, start);
}

/* Every authenticated frame peer hears it, the binder too. Sending may cut
 * off a peer that is not reading, which may send PEER_DOWN of its own names
 * from in here: closed peers keep their `next`, so the walk goes on. */
static void announce_up(struct router *r, const struct route *route)
{
	for (struct peer *q = r->peers, *next; q != NULL; q = next) {
		next = q->next;
		if (!q->closed && q->state == PEER_ACTIVE && q->kind != PEER_COMPONENT)
			send_peer_up(q, route);
	}
}

static void announce_down(struct router *r, const char *name)
{
	for (struct peer *q = r->peers, *next; q != NULL; q = next) {
		next = q->next;
		if (q->closed || q->state != PEER_ACTIVE || q->kind == PEER_COMPONENT)
			continue;
		size_t start = peer_frame_begin(q, FRAME_PEER_DOWN, 0);
		frame_put_str(&q->out, FRAME_TAG_NAME, name);
		peer_frame_end(q, start);
	}
}

/* --- binding --------------------------------------------------------------- */

static void remember_route(struct peer *p, struct route *route)
{
	for (size_t i = 0; i < p->nroutes; i++)
		if (p->routes[i] == route)
			return;
	if (p->nroutes == p->caproutes) {
		p->caproutes = p->caproutes ? p->caproutes * 2 : 4;
		p->routes = xreallocarray(p->routes, p->caproutes, sizeof(*p->routes));
	}
	p->routes[p->nroutes++] = route;
}

static void forget_route(struct peer *p, struct route *route)
{
	for (size_t i = 0; i < p->nroutes; i++) {
		if (p->routes[i] == route) {
			p->routes[i] = p->routes[--p->nroutes];
			return;
		}
	}
}

static const char *flags_text(uint16_t flags)
{
	switch (flags & (FRAME_F_SHARED | FRAME_F_DEFAULT_ROUTE)) {
	case FRAME_F_SHARED:
		return " (shared)";
	case FRAME_F_DEFAULT_ROUTE:
		return " (default route)";
	case FRAME_F_SHARED | FRAME_F_DEFAULT_ROUTE:
		return " (shared, default route)";
	}
	return "";
}

int control_bind(struct peer *p, const char *name, uint16_t flags, char *err, size_t errlen)
{
	struct router *r = p->router;
	struct route *route = NULL;
	char safe[80];

	if (p->nroutes >= ROUTER_MAX_BINDS && !route_is_bound_by(r->routes, name, p)) {
		errf(err, errlen, "a peer may bind at most %d names", ROUTER_MAX_BINDS);
		return ROUTE_NOT_ALLOWED;
	}
	enum route_bind_result res = route_bind(r->routes, name, flags, p, p->key, p->desc,
	    &route, err, errlen);
	switch (res) {
	case ROUTE_UP:
	case ROUTE_JOINED:
	case ROUTE_CHANGED:
		remember_route(p, route);
		if (p->role == NULL || strcmp(p->role, "ctl") != 0) {
			hash_put(r->known, name, strlen(name), (void *)1);
			if (flags & FRAME_F_DEFAULT_ROUTE)
				r->had_default = true;
		}
		log_info("%s: bound %s%s", p->desc, log_safe(name, safe, sizeof(safe)),
		    flags_text(flags));
		break;
	case ROUTE_AGAIN:
		break;
	case ROUTE_CONFLICT:
	case ROUTE_NOT_ALLOWED:
		log_info("%s: refused to bind %s: %s", p->desc, log_safe(name, safe, sizeof(safe)),
		    err);
		break;
	}
	return (int)res;
}

void control_announce(struct peer *p, const char *name)
{
	struct router *r = p->router;
	const struct route *route = route_find(r->routes, name);

	if (route != NULL)
		announce_up(r, route);
}

static void handle_bind(struct peer *p, const struct frame *f)
{
	struct router *r = p->router;
	const char *name = frame_get_str(f, FRAME_TAG_NAME, NULL);
	char err[ERRLEN];

	int res = control_bind(p, name, f->flags, err, sizeof(err));
	if (res == ROUTE_CONFLICT || res == ROUTE_NOT_ALLOWED) {
		peer_send_error(p, res == ROUTE_CONFLICT ? FRAME_ERR_CONFLICT : FRAME_ERR_NOT_ALLOWED,
		    f, false, "%s", err);
		return;
	}
	const struct route *route = route_find(r->routes, name);
	size_t start = peer_frame_begin(p, FRAME_BIND_OK, route_flags(route));
	frame_put_str(&p->out, FRAME_TAG_NAME, name);
	if (!peer_frame_end(p, start))
		return;
	/* A name that came up, or whose flags changed, is news for everyone;
	 * another binder joining a shared name is not. */
	if (res == ROUTE_UP || res == ROUTE_CHANGED)
		announce_up(r, route);
}

static void handle_unbind(struct peer *p, const struct frame *f)
{
	struct router *r = p->router;
	const char *name = frame_get_str(f, FRAME_TAG_NAME, NULL);
	struct route *route = route_find(r->routes, name);
	char safe[80];

	if (route == NULL || !route_is_bound_by(r->routes, name, p)) {
		peer_send_error(p, FRAME_ERR_NOT_ALLOWED, f, false,
		    "cannot unbind \"%s\": this connection has not bound it", name);
		return;
	}
	forget_route(p, route);
	log_info("%s: unbound %s", p->desc, log_safe(name, safe, sizeof(safe)));
	if (route_leave(r->routes, route, p))
		announce_down(r, name);
}

void control_unbind_all(struct peer *p)
{
	struct router *r = p->router;
	char name[1024];

	while (p->nroutes > 0) {
		struct route *route = p->routes[--p->nroutes];
		snprintf(name, sizeof(name), "%s", route_name(route));
		if (route_leave(r->routes, route, p) && !r->stopping) {
			char safe[80];
			log_info("%s: %s is down", p->desc, log_safe(name, safe, sizeof(safe)));
			announce_down(r, name);
		}
	}
}

/* --- HELLO ----------------------------------------------------------------- */

/* Names and roles go into every log line about the peer. */
static bool printable(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++)
		if (*c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

static void send_table(const struct route *route, void *arg)
{
	struct peer *p = arg;

	if (!p->closed)
		send_peer_up(p, route);
}

static void hello(struct peer *p, const struct frame *f)
{
	struct router *r = p->router;
	size_t namelen;
	const char *name = frame_get_str(f, FRAME_TAG_NAME, &namelen);
	const char *role = frame_get_str(f, FRAME_TAG_ROLE, NULL);
	const void *secret;
	size_t secretlen;
	uint32_t pid;
	char safe_name[80], safe_role[80];

	(void)frame_get(f, FRAME_TAG_SECRET, &secret, &secretlen);
	log_safe(name, safe_name, sizeof(safe_name));
	log_safe(role, safe_role, sizeof(safe_role));
	if (!router_secret_ok(r, secret, secretlen)) {
		peer_fail(p, FRAME_ERR_NOT_AUTHORIZED, f, "refused: wrong secret in the HELLO of "
		    "\"%s\" (role %s)", safe_name, safe_role);
		return;
	}
	if (!printable(name) || !printable(role)) {
		peer_fail(p, FRAME_ERR_NOT_AUTHORIZED, f, "refused: the name and role in a HELLO "
		    "must be printable without spaces (\"%s\", \"%s\")", safe_name, safe_role);
		return;
	}

	p->name = xstrdup(name);
	p->role = xstrdup(role);
	p->key = hash_bytes(name, namelen);
	if (frame_get_u32(f, FRAME_TAG_PID, &pid) && p->kind == PEER_TCP)
		snprintf(p->desc, sizeof(p->desc), "%s (%s, pid %lu)", name, p->ident,
		    (unsigned long)pid);
	else
		snprintf(p->desc, sizeof(p->desc), "%s (%s)", name, p->ident);
	loop_timer_cancel(r->loop, &p->timer);
	p->state = PEER_ACTIVE;
	log_info("%s: authenticated, role %s", p->desc, role);

	size_t start = peer_frame_begin(p, FRAME_HELLO_OK, 0);
	frame_put_str(&p->out, FRAME_TAG_NAME, ROUTER_NAME);
	if (!peer_frame_end(p, start))
		return;
	route_table_each(r->routes, send_table, p);
}

/* --- dispatch -------------------------------------------------------------- */

void control_frame(struct peer *p, const struct frame *f)
{
	if (p->state != PEER_ACTIVE) {
		if (f->type == FRAME_HELLO)
			hello(p, f);
		else
			peer_fail(p, FRAME_ERR_NOT_AUTHORIZED, f, "refused: a %s frame before HELLO",
			    frame_type_name(f->type));
		return;
	}
	switch (f->type) {
	case FRAME_BIND:
		handle_bind(p, f);
		break;
	case FRAME_UNBIND:
		handle_unbind(p, f);
		break;
	case FRAME_PING: {
		size_t start = peer_frame_begin(p, FRAME_PONG, 0);
		frame_put_u32(&p->out, FRAME_TAG_REF_SEQ, f->seq);
		peer_frame_end(p, start);
		break;
	}
	case FRAME_PONG:
		/* Hearing from the peer was the point; peer.c noted it. */
		break;
	case FRAME_HELLO:
		peer_fail(p, FRAME_ERR_PROTOCOL, f, "sent a second HELLO");
		break;
	default:
		peer_fail(p, FRAME_ERR_PROTOCOL, f, "sent a %s frame, which only the router sends",
		    frame_type_name(f->type));
		break;
	}
}
