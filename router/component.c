/*
 * component.c — the XEP-0114 edge: external components (a MUC service, a
 * gateway) speak `jabber:component:accept` XML to the router's component
 * port, and this file translates between their stream and frames. It is
 * the only place the router parses XML, and only for components.
 *
 * The exchange (XEP-0114 §3): the component opens a stream to its domain;
 * the router answers with a stream id; the component sends
 * <handshake>hex(SHA-1(id + secret))</handshake>; a right one is answered
 * with an empty <handshake/> and the domain is bound like any other name
 * (PEER_UP to every peer). A wrong one is a <not-authorized/> stream error,
 * an unknown domain <host-unknown/>.
 *
 * Stanzas from a component become ROUTE frames: from its domain, to the
 * domain of the stanza's `to` (looked up like any destination), keyed by
 * the bare `to` JID. ROUTE frames for a component are parsed and written
 * into its stream in the component namespace, and the router, as their
 * final receiver, acknowledges them to the sender. What cannot be
 * delivered either way comes back as a stanza error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hash.h"
#include "jid.h"
#include "log.h"
#include "router.h"
#include "routes.h"
#include "stanza.h"
#include "xml_stream.h"

struct component {
	struct xml_stream *xs;
	const struct component_conf *conf; /* known once the stream names it */
	struct stanza *header;             /* our stream header, once sent */
	char stream_id[33];
};

/* XML of frames bound for components: the largest stanza a frame can hold
 * leaves room for the frame's addresses. */
static size_t stanza_limit(const struct router *r)
{
	return r->max_frame > 128 * 1024 ? r->max_frame - 64 * 1024 : r->max_frame / 2;
}

int component_init(struct router *r, char *err, size_t errlen)
{
	r->frame_xml = xml_stream_new(NULL, NULL, stanza_limit(r), 0, err, errlen);
	if (r->frame_xml == NULL)
		return -1;
	r->frame_stanza = stanza_new_empty();
	r->component_stanza = stanza_new_empty();
	return 0;
}

void component_fini(struct router *r)
{
	xml_stream_free(&r->frame_xml);
	stanza_free(&r->frame_stanza);
	stanza_free(&r->component_stanza);
	buf_free(&r->stanza_bytes);
	buf_free(&r->scratch);
	buf_free(&r->qname);
}

/* --- the stream ------------------------------------------------------------ */

static void send_header(struct peer *p)
{
	struct component *c = p->comp;

	if (c->header != NULL)
		return;
	c->header = stanza_new_stream_header(NS_COMPONENT_ACCEPT);
	if (c->conf != NULL)
		stanza_set_from(c->header, c->conf->domain);
	stanza_set_id(c->header, c->stream_id);
	stanza_write_stream_header(c->header, &p->out);
	peer_mark_dirty(p);
}

/* Close our side of the stream and the connection, once written. */
static void end_stream(struct peer *p)
{
	struct component *c = p->comp;

	xml_stream_pause(c->xs);
	if (c->header != NULL)
		stanza_write_stream_close(c->header, &p->out);
	peer_closing(p);
}

void component_fail(struct peer *p, const char *condition, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	if (p->closed || p->state == PEER_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warn("%s: %s; stream error <%s/>", p->desc, why, condition);
	/* A stream error comes after a stream header (RFC 6120 §4.9.1.1). */
	send_header(p);
	struct stanza *e = stanza_new_stream_error(condition, NULL);
	stanza_write(e, &p->out, NS_COMPONENT_ACCEPT);
	stanza_free(&e);
	end_stream(p);
}

void component_goodbye(struct peer *p)
{
	struct component *c = p->comp;

	if (c != NULL && c->header != NULL && p->state != PEER_CLOSING)
		stanza_write_stream_close(c->header, &p->out);
}

void component_keepalive(struct peer *p)
{
	if (p->closed || p->state != PEER_ACTIVE)
		return;
	buf_append(&p->out, " ", 1);
	peer_mark_dirty(p);
}

static void stream_open(void *arg, const struct xml_stream_header *h)
{
	struct peer *p = arg;
	struct component *c = p->comp;
	struct router *r = p->router;
	char safe[80];

	if (h->content_ns == NULL || strcmp(h->content_ns, NS_COMPONENT_ACCEPT) != 0) {
		component_fail(p, "invalid-namespace", "the stream namespace is %s, not "
		    NS_COMPONENT_ACCEPT, log_safe(h->content_ns, safe, sizeof(safe)));
		return;
	}
	if (h->to == NULL) {
		component_fail(p, "host-unknown", "the stream header names no component domain");
		return;
	}
	c->conf = router_component_conf(r, h->to);
	if (c->conf == NULL) {
		component_fail(p, "host-unknown", "no component %s in router.components",
		    log_safe(h->to, safe, sizeof(safe)));
		return;
	}
	snprintf(p->desc, sizeof(p->desc), "connection %llu (%s) for component %s",
	    (unsigned long long)p->id, p->ident, c->conf->domain);
	send_header(p);
}

static void stream_close(void *arg)
{
	struct peer *p = arg;

	if (p->closed || p->state == PEER_CLOSING)
		return;
	log_info("%s: closed its stream", p->desc);
	end_stream(p);
}

/* --- the handshake --------------------------------------------------------- */

/* hex(SHA-1(stream id + secret)), XEP-0114 §3. */
static int handshake_digest(const struct component *c, char out[41])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, c->stream_id, strlen(c->stream_id)) == 1 &&
	    EVP_DigestUpdate(ctx, c->conf->secret, strlen(c->conf->secret)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 20;

	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[40] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

static void handshake(struct peer *p, struct stanza *st)
{
	struct component *c = p->comp;
	char expected[41], given[41], err[ERRLEN];
	int root = stanza_root(st);

	if (!stanza_is(st, root, NS_COMPONENT_ACCEPT, "handshake")) {
		component_fail(p, "not-authorized", "sent <%s/> before the handshake",
		    stanza_name(st, root));
		return;
	}
	const char *text = stanza_text(st, root);
	size_t len = stanza_text_len(st, root);
	/* Hex digits in either case; compared in constant time. */
	bool ok = len == 40 && handshake_digest(c, expected) == 0;
	if (ok) {
		for (size_t i = 0; i < 40; i++)
			given[i] = (char)((text[i] >= 'A' && text[i] <= 'F') ? text[i] + 32 : text[i]);
		given[40] = '\0';
		ok = CRYPTO_memcmp(given, expected, 40) == 0;
	}
	OPENSSL_cleanse(expected, sizeof(expected));
	if (!ok) {
		component_fail(p, "not-authorized", "refused: wrong handshake (the secret does not "
		    "match router.components)");
		return;
	}

	const char *domain = c->conf->domain;
	p->name = xstrdup(domain);
	p->role = xstrdup("component");
	p->key = hash_bytes(domain, strlen(domain));
	snprintf(p->desc, sizeof(p->desc), "component %s (%s)", domain, p->ident);
	int res = control_bind(p, domain, 0, err, sizeof(err));
	if (res == ROUTE_CONFLICT || res == ROUTE_NOT_ALLOWED) {
		component_fail(p, "conflict", "refused: %s", err);
		return;
	}
	loop_timer_cancel(p->router->loop, &p->timer);
	p->state = PEER_ACTIVE;
	log_info("%s: authenticated", p->desc);
	buf_append_str(&p->out, "<handshake/>");
	peer_mark_dirty(p);
	control_announce(p, domain);
}

/* --- stanzas from the component --------------------------------------------- */

bool router_is_local_domain(const struct router *r, const char *domain)
{
	const struct conf *c = r->conf;

	for (size_t i = 0; i < conf_strlist_count(c, "hosts"); i++)
		if (strcasecmp(conf_strlist_get(c, "hosts", i), domain) == 0)
			return true;
	return router_component_conf(r, domain) != NULL;
}

/* Answer the component's own stanza with an error, in its stream. */
static void bounce_stanza(struct peer *p, struct stanza *st, const char *type,
    const char *condition)
{
	if (p->closed || p->state != PEER_ACTIVE)
		return;
	/* Errors are never answered with errors (RFC 6120 §8.3.1). */
	if (stanza_make_error(st, type, condition, NULL) < 0)
		return;
	stanza_write(st, &p->out, NS_COMPONENT_ACCEPT);
	peer_mark_dirty(p);
	(void)peer_room(p, 0);
}

static void bounce_no_route(struct peer *p, struct stanza *st, const char *domain)
{
	if (router_is_local_domain(p->router, domain))
		bounce_stanza(p, st, "cancel", "service-unavailable");
	else
		bounce_stanza(p, st, "cancel", "remote-server-not-found");
}

void component_bounce(struct peer *p, const struct frame *f, uint32_t code)
{
	struct router *r = p->router;
	const void *data;
	size_t len;
	char err[ERRLEN];

	if (!frame_get(f, FRAME_TAG_STANZA, &data, &len) ||
	    xml_stream_parse_stanza(r->frame_xml, data, len, r->frame_stanza, err,
	    sizeof(err)) < 0)
		return;
	switch (code) {
	case FRAME_ERR_NO_ROUTE:
		bounce_no_route(p, r->frame_stanza, frame_get_str(f, FRAME_TAG_TO, NULL));
		break;
	case FRAME_ERR_OVERLOADED:
		bounce_stanza(p, r->frame_stanza, "wait", "resource-constraint");
		break;
	case FRAME_ERR_AWAY:
		/* A process of ours is restarting; the router keeps nothing
		 * for a component, so it hears to try again. */
		bounce_stanza(p, r->frame_stanza, "wait",
		    router_is_local_domain(r, frame_get_str(f, FRAME_TAG_TO, NULL)) ?
		    "service-unavailable" : "remote-server-timeout");
		break;
	case FRAME_ERR_INTERNAL:
		bounce_stanza(p, r->frame_stanza, "wait", "internal-server-error");
		break;
	default:
		bounce_stanza(p, r->frame_stanza, "cancel", "service-unavailable");
		break;
	}
}

/* `from` must be the component's domain or below it. */
static bool from_ok(const char *domain, const struct jid *from)
{
	const char *d = jid_domainpart(from);
	size_t dl = strlen(d), cl = strlen(domain);

	if (strcasecmp(d, domain) == 0)
		return true;
	return dl > cl && d[dl - cl - 1] == '.' && strcasecmp(d + dl - cl, domain) == 0;
}

static void route_stanza(struct peer *p, struct stanza *st)
{
	struct router *r = p->router;
	const char *domain = p->name;
	int root = stanza_root(st);
	const char *ns = stanza_ns(st, root), *name = stanza_name(st, root);
	struct jid *from = NULL, *to = NULL;
	char err[ERRLEN], safe[80];

	if ((strcmp(ns, NS_COMPONENT_ACCEPT) != 0 && strcmp(ns, NS_CLIENT) != 0) ||
	    (strcmp(name, "message") != 0 && strcmp(name, "presence") != 0 &&
	    strcmp(name, "iq") != 0)) {
		component_fail(p, "unsupported-stanza-type", "sent <%s xmlns='%s'/>, which is "
		    "not a stanza", log_safe(name, safe, sizeof(safe)), ns);
		return;
	}
	const char *from_s = stanza_from(st), *to_s = stanza_to(st);
	if (from_s == NULL || to_s == NULL) {
		component_fail(p, "improper-addressing", "sent a <%s/> without '%s'", name,
		    from_s == NULL ? "from" : "to");
		return;
	}
	if (jid_parse(&from, from_s, strlen(from_s), err, sizeof(err)) < 0 ||
	    !from_ok(domain, from)) {
		component_fail(p, "invalid-from", "sent a stanza from %s, which is not in its "
		    "domain", log_safe(from_s, safe, sizeof(safe)));
		goto out;
	}
	if (jid_parse(&to, to_s, strlen(to_s), err, sizeof(err)) < 0) {
		bounce_stanza(p, st, "modify", "jid-malformed");
		goto out;
	}

	const char *dest = jid_domainpart(to);
	const char *key = jid_bare_str(to);
	size_t keylen = jid_bare_len(to);
	struct peer *dst = route_lookup(r->routes, dest, key, keylen);
	if (dst == NULL) {
		bounce_no_route(p, st, dest);
		goto out;
	}

	/* The frame a peer would have sent: built in scratch space reused
	 * for every stanza. */
	stanza_clear(r->component_stanza);
	stanza_translate_ns(r->component_stanza, STANZA_NONE, st, root, NS_CLIENT, &r->qname);
	buf_reset(&r->stanza_bytes);
	stanza_write(r->component_stanza, &r->stanza_bytes, NULL);
	buf_reset(&r->scratch);
	size_t start = frame_begin(&r->scratch, FRAME_ROUTE, 0, ++r->seq);
	frame_put_str(&r->scratch, FRAME_TAG_FROM, domain);
	frame_put_str(&r->scratch, FRAME_TAG_TO, dest);
	frame_put_strn(&r->scratch, FRAME_TAG_ROUTE_KEY, key, keylen);
	frame_put(&r->scratch, FRAME_TAG_STANZA, buf_head(&r->stanza_bytes),
	    buf_used(&r->stanza_bytes));
	size_t len = frame_end(&r->scratch, start);
	if (len > r->max_frame) {
		bounce_stanza(p, st, "modify", "policy-violation");
		goto out;
	}
	struct frame f;
	size_t used;
	if (frame_decode(buf_head(&r->scratch), len, len, &f, &used, err, sizeof(err)) != 1) {
		log_error("%s: a frame the router built does not decode: %s", p->desc, err);
		bounce_stanza(p, st, "wait", "internal-server-error");
		goto out;
	}
	forward_deliver(p, dst, &f, buf_head(&r->scratch), len);
out:
	jid_free(&from);
	jid_free(&to);
}

static void stanza_in(void *arg, struct stanza *st)
{
	struct peer *p = arg;

	if (p->closed || p->state == PEER_CLOSING)
		return;
	if (p->state == PEER_HELLO)
		handshake(p, st);
	else
		route_stanza(p, st);
}

static const struct xml_stream_callbacks callbacks = {
	.stream_open = stream_open,
	.stanza = stanza_in,
	.stream_close = stream_close,
};

void component_start(struct peer *p)
{
	struct router *r = p->router;
	struct component *c = xcalloc(1, sizeof(*c));
	unsigned char rnd[16];
	char err[ERRLEN];

	p->comp = c;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		log_error("%s: no random bytes for a stream id; closing", p->desc);
		peer_close(p);
		return;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(c->stream_id + 2 * i, 3, "%02x", rnd[i]);
	c->xs = xml_stream_new(&callbacks, p, stanza_limit(r), 0, err, sizeof(err));
	if (c->xs == NULL) {
		log_error("%s: %s; closing", p->desc, err);
		peer_close(p);
	}
}

void component_input(struct peer *p)
{
	struct component *c = p->comp;
	char err[ERRLEN];

	ssize_t n = xml_stream_feed(c->xs, buf_head(&p->in), buf_used(&p->in), err, sizeof(err));
	if (p->closed || p->state == PEER_CLOSING)
		return;
	if (n < 0) {
		component_fail(p, xml_stream_condition(xml_stream_error(c->xs)), "%s", err);
		return;
	}
	buf_consume(&p->in, (size_t)n);
}

void component_free(struct peer *p)
{
	struct component *c = p->comp;

	if (c == NULL)
		return;
	xml_stream_free(&c->xs);
	stanza_free(&c->header);
	free(c);
	p->comp = NULL;
}

/* --- frames for the component ----------------------------------------------- */

void component_deliver(struct peer *src, struct peer *dst, const struct frame *f)
{
	struct router *r = dst->router;
	const void *data;
	size_t len;
	char err[ERRLEN];

	if (f->type == FRAME_ACK)
		return; /* nothing from a component is held for an acknowledgement */
	if (f->type != FRAME_ROUTE) {
		forward_undeliverable(src, f, FRAME_ERR_NOT_ALLOWED, "%s is an XEP-0114 component: "
		    "it takes stanzas (ROUTE frames) only, not %s", dst->name,
		    frame_type_name(f->type));
		return;
	}
	(void)frame_get(f, FRAME_TAG_STANZA, &data, &len);
	if (xml_stream_parse_stanza(r->frame_xml, data, len, r->frame_stanza, err,
	    sizeof(err)) < 0) {
		forward_undeliverable(src, f, FRAME_ERR_NOT_ALLOWED, "the stanza for component %s "
		    "cannot be read: %s", dst->name, err);
		return;
	}
	stanza_clear(r->component_stanza);
	stanza_translate_ns(r->component_stanza, STANZA_NONE, r->frame_stanza,
	    stanza_root(r->frame_stanza), NS_COMPONENT_ACCEPT, &r->qname);
	stanza_write(r->component_stanza, &dst->out, NS_COMPONENT_ACCEPT);
	peer_mark_dirty(dst);
	if (!peer_room(dst, 0)) {
		forward_undeliverable(src, f, FRAME_ERR_OVERLOADED, "component %s was not reading "
		    "and has been disconnected (its queue was full)", dst->name);
		return;
	}
	/* The router is the frame's final receiver. */
	if (src->kind == PEER_COMPONENT || src->closed)
		return;
	size_t start = peer_frame_begin(src, FRAME_ACK, 0);
	frame_put_str(&src->out, FRAME_TAG_FROM, frame_get_str(f, FRAME_TAG_TO, NULL));
	frame_put_str(&src->out, FRAME_TAG_TO, frame_get_str(f, FRAME_TAG_FROM, NULL));
	frame_put_u32(&src->out, FRAME_TAG_ACK_SEQ, f->seq);
	peer_frame_end(src, start);
}
