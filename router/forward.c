/*
 * forward.c — routed frames (every type that carries `to`): check that the
 * sender holds the `from` it claims, find the binder of `to` (or the
 * default route), and copy the frame's bytes, as they came, into that
 * peer's write queue. This is the router's hot path: no stanza is parsed,
 * nothing is allocated, and the only copy is the one into the queue.
 *
 * A frame that cannot be delivered goes back to its sender, never into
 * silence: as ERROR (with ref-seq, ref-to, session-id and the stanza) to a
 * frame peer, as a stanza error to a component.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hash.h"
#include "log.h"
#include "router.h"
#include "routes.h"

void forward_undeliverable(struct peer *src, const struct frame *f, uint32_t code,
    const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (src->closed)
		return;
	if (src->kind == PEER_COMPONENT) {
		component_bounce(src, f, code);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	peer_send_error(src, code, f, true, "%s", text);
}

void forward_deliver(struct peer *src, struct peer *dst, const struct frame *f,
    const void *bytes, size_t len)
{
	if (dst->kind == PEER_COMPONENT) {
		component_deliver(src, dst, f);
		return;
	}
	if (!peer_room(dst, len)) {
		forward_undeliverable(src, f, FRAME_ERR_OVERLOADED, "%s was not reading and has "
		    "been disconnected (its queue was full)", dst->name ? dst->name : dst->desc);
		return;
	}
	peer_queue(dst, bytes, len);
}

void forward_frame(struct peer *src, const struct frame *f, const void *bytes, size_t len)
{
	struct router *r = src->router;
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const char *to = frame_get_str(f, FRAME_TAG_TO, NULL);
	size_t keylen = 0;
	const char *key = frame_get_str(f, FRAME_TAG_ROUTE_KEY, &keylen);
	/* Without a route key, the session id keeps one exchange (a SASL
	 * negotiation, a session's control frames) on one binder of a shared
	 * name. */
	if (key == NULL)
		key = frame_get_str(f, FRAME_TAG_SESSION_ID, &keylen);

	if (!route_is_bound_by(r->routes, from, src)) {
		peer_send_error(src, FRAME_ERR_NOT_ALLOWED, f, false,
		    "from \"%s\" is not a name this connection has bound", from);
		return;
	}
	/* A domain of ours that nobody has bound (sm or a component is
	 * restarting) never takes the default route: s2s would only bounce
	 * it back to a domain that is not there either, and the stanza would
	 * vanish. The sender gets no-route and answers its client. */
	if (route_find(r->routes, to) == NULL &&
	    (router_is_local_domain(r, to) || hash_get(r->known, to, strlen(to)) != NULL)) {
		forward_undeliverable(src, f, FRAME_ERR_AWAY,
		    "\"%s\" is not bound (its process is not up)", to);
		return;
	}
	struct peer *dst = route_lookup(r->routes, to, key, keylen);
	if (dst == NULL) {
		if (log_get_level() >= LOG_LEVEL_DEBUG) {
			char safe[80];
			log_debug("%s: no route to %s for %s seq %lu", src->desc,
			    log_safe(to, safe, sizeof(safe)), frame_type_name(f->type),
			    (unsigned long)f->seq);
		}
		if (r->had_default)
			forward_undeliverable(src, f, FRAME_ERR_AWAY, "nobody has bound \"%s\" and "
			    "the default route is not bound (its process is not up)", to);
		else
			forward_undeliverable(src, f, FRAME_ERR_NO_ROUTE,
			    "nobody has bound \"%s\" and there is no default route", to);
		return;
	}
	forward_deliver(src, dst, f, bytes, len);
}
