/*
 * router_link_keep.c — the reliable hand-off of a router link
 * (doc/component-protocol.md, "Kept frames"), both halves:
 *
 * As a sender (settings.keep): every ROUTE, SESSION_START, SESSION_END and
 * USER_DELETED goes out flagged KEPT and stays in the outbox (outbox.h)
 * until its receiver's ACK. The link follows which names are bound
 * (PEER_UP / PEER_DOWN) and which are away — gone and not back, or not yet
 * seen again since the router itself came back — so that a kept frame is
 * sent again, flagged RESENT and in seq order, exactly when its
 * destination can take it: at its PEER_UP. A frame for an away
 * destination waits in the outbox instead of going to the router, so that
 * it cannot overtake older frames waiting there. What waits longer than
 * the hold time, what the router cannot deliver, and what a receiver
 * rejects goes back to the owner as an ERROR.
 *
 * As a receiver (always): kept frames are remembered per sender
 * (seen.h). A RESENT copy of a frame already acknowledged is acknowledged
 * again and not passed on; a copy of one the owner still holds is dropped.
 * Acknowledgements are gathered and leave as one ACK frame per (from, to)
 * at the next write, after whatever the owner sent while handling the
 * frame — the effect goes before the acknowledgement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "router_link_int.h"

#define ACK_SEQS_PER_FRAME 1024

static uint16_t get_be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void set_flag(unsigned char *frame, uint16_t flag)
{
	uint16_t flags = get_be16(frame + 6) | flag;
	frame[6] = (unsigned char)(flags >> 8);
	frame[7] = (unsigned char)flags;
}

static bool keepable(enum frame_type type)
{
	return type == FRAME_ROUTE || type == FRAME_SESSION_START || type == FRAME_SESSION_END ||
	    type == FRAME_USER_DELETED;
}

static uintptr_t peer_flags(const struct router_link *link, const char *name)
{
	return (uintptr_t)hash_get(link->peers, name, strlen(name));
}

static bool is_away(const struct router_link *link, const char *name)
{
	return hash_get(link->away, name, strlen(name)) != NULL;
}

/* Whether a frame for `to` goes to the default route: nobody bound `to`
 * itself, as far as we know. */
static bool via_default(const struct router_link *link, const char *to)
{
	return peer_flags(link, to) == 0 && !is_away(link, to);
}

static bool dest_away(const struct router_link *link, const char *to)
{
	if (is_away(link, to))
		return true;
	return link->default_away && via_default(link, to);
}

/* Whether `to` is the destination `name` answers for. */
static bool dest_is(const struct router_link *link, const char *to, const char *name)
{
	if (strcmp(to, name) == 0)
		return true;
	return link->default_route != NULL && strcmp(link->default_route, name) == 0 &&
	    via_default(link, to);
}

void keep_init(struct router_link *link)
{
	link->seen = seen_new(ROUTER_LINK_SEEN);
	link->peers = hash_new(16);
	link->away = hash_new(16);
	if (link->keep)
		link->outbox = outbox_new();
}

static void ack_batch_free(struct ack_batch *a)
{
	free(a->from);
	free(a->to);
	free(a->seqs);
}

void keep_fini(struct router_link *link)
{
	loop_timer_cancel(link->loop, &link->hold_timer);
	outbox_free(&link->outbox);
	seen_free(&link->seen);
	hash_free(&link->peers, NULL);
	hash_free(&link->away, NULL);
	free(link->default_route);
	link->default_route = NULL;
	for (size_t i = 0; i < link->nacks; i++)
		ack_batch_free(&link->acks[i]);
	free(link->acks);
	link->acks = NULL;
	link->nacks = 0;
}

/* --- giving frames back --------------------------------------------------- */

/* The owner hears of a kept frame that came back as of an undeliverable
 * one: an ERROR shaped like the router's. */
static void tell_owner(struct router_link *link, const struct outbox_entry *e, uint32_t code,
    const char *why)
{
	struct frame orig, ef;
	struct buf b = BUF_INIT;
	const void *data;
	size_t len, used;
	char err[ERRLEN];

	if (frame_decode(e->bytes, e->len, e->len, &orig, &used, err, sizeof(err)) != 1) {
		log_error("router link %s: a kept frame cannot be read back: %s", link->name, err);
		return;
	}
	size_t start = frame_begin(&b, FRAME_ERROR, 0, 0);
	frame_put_u32(&b, FRAME_TAG_CODE, code);
	frame_put_str(&b, FRAME_TAG_TEXT, why);
	frame_put_u32(&b, FRAME_TAG_REF_SEQ, orig.seq);
	frame_put_str(&b, FRAME_TAG_REF_TO, e->to);
	if (frame_has(&orig, FRAME_TAG_SESSION_ID))
		frame_put_str(&b, FRAME_TAG_SESSION_ID,
		    frame_get_str(&orig, FRAME_TAG_SESSION_ID, NULL));
	if (orig.type == FRAME_ROUTE && frame_get(&orig, FRAME_TAG_STANZA, &data, &len))
		frame_put(&b, FRAME_TAG_STANZA, data, len);
	frame_end(&b, start);
	if (frame_decode(buf_head(&b), buf_used(&b), 0, &ef, &used, err, sizeof(err)) == 1)
		CALLBACK(link, frame, &ef);
	buf_free(&b);
}

/* Hand an entry back to the owner and forget it. */
static void give_back(struct router_link *link, struct outbox_entry *e, uint32_t code,
    const char *why)
{
	outbox_unlink(link->outbox, e);
	tell_owner(link, e, code, why);
	outbox_entry_free(e);
}

static void hold_expired(struct loop *loop, void *arg);

static void arm_hold(struct router_link *link)
{
	uint64_t first = UINT64_MAX;

	if (link->outbox == NULL || link->hold_timer != NULL)
		return;
	for (struct outbox_entry *e = outbox_first(link->outbox); e != NULL; e = e->next)
		if (e->state == OUTBOX_PARKED && e->parked_at < first)
			first = e->parked_at;
	if (first == UINT64_MAX)
		return;
	uint64_t now = loop_now_ms(link->loop), due = first + link->hold;
	link->hold_timer = loop_timer_add(link->loop, due > now ? due - now : 0, hold_expired, link);
}

static void hold_expired(struct loop *loop, void *arg)
{
	struct router_link *link = arg;
	uint64_t now = loop_now_ms(loop);
	char why[ERRLEN];

	link->hold_timer = NULL;
	link->busy++;
	for (struct outbox_entry *e = outbox_first(link->outbox), *next; e != NULL; e = next) {
		next = e->next;
		if (e->state != OUTBOX_PARKED || now - e->parked_at < link->hold)
			continue;
		snprintf(why, sizeof(why), "%s was away for %llu ms", e->to,
		    (unsigned long long)(now - e->parked_at));
		/* The callback may send: `next` may be parked at once, or
		 * removed by a reclaim; start over after each give-back. */
		give_back(link, e, FRAME_ERR_AWAY, why);
		if (link->doomed)
			break;
		next = outbox_first(link->outbox);
	}
	link->busy--;
	if (link->doomed) {
		if (link->busy == 0)
			router_link_free(&link);
		return;
	}
	arm_hold(link);
}

static void park(struct router_link *link, struct outbox_entry *e)
{
	e->state = OUTBOX_PARKED;
	e->parked_at = loop_now_ms(link->loop);
	arm_hold(link);
}

/* --- sending ----------------------------------------------------------------- */

bool keep_over_limit(const struct router_link *link, size_t len)
{
	return link->outbox != NULL && outbox_bytes(link->outbox) + len > link->max_queue;
}

bool keep_sent(struct router_link *link, unsigned char *frame, size_t len)
{
	enum frame_type type = (enum frame_type)frame[5];
	struct frame f;
	size_t used;
	char err[ERRLEN];

	if (link->outbox == NULL || !keepable(type))
		return false;
	if (frame_decode(frame, len, len, &f, &used, err, sizeof(err)) != 1)
		log_fatal("router link %s: a frame of ours does not decode: %s", link->name, err);
	const char *to = frame_get_str(&f, FRAME_TAG_TO, NULL);
	/* A shared name has several binders and nobody says when one of
	 * them goes: nothing could tell when to send such a frame again. */
	if (peer_flags(link, to) & FRAME_F_SHARED)
		return false;
	set_flag(frame, FRAME_F_KEPT);
	struct outbox_entry *e = outbox_add(link->outbox, get_be32(frame + 8), to, frame, len);
	if (link->state == LINK_UP && !dest_away(link, to))
		return false;
	/* Down, or its destination is away: it waits in the outbox, and
	 * goes at the next connection or at the destination's PEER_UP. */
	if (dest_away(link, to))
		park(link, e);
	else
		e->state = OUTBOX_LOST;
	return true;
}

void keep_written(struct router_link *link, const char *frame)
{
	const unsigned char *p = (const unsigned char *)frame;

	if (!(get_be16(p + 6) & FRAME_F_KEPT))
		return;
	struct outbox_entry *e = outbox_find(link->outbox, get_be32(p + 8));
	if (e != NULL && e->state == OUTBOX_QUEUED) {
		e->state = OUTBOX_SENT;
		e->written = true;
	}
}

/* Queue an entry's frame on the connection again, flagged RESENT if it
 * may have been written before. */
static void resend(struct router_link *link, struct outbox_entry *e)
{
	if (e->written)
		set_flag(e->bytes, FRAME_F_RESENT);
	buf_append(&link->out, e->bytes, e->len);
	e->state = OUTBOX_QUEUED;
}

void keep_resend_lost(struct router_link *link)
{
	size_t n = 0;

	if (link->outbox == NULL)
		return;
	for (struct outbox_entry *e = outbox_first(link->outbox); e != NULL; e = e->next)
		if (e->state == OUTBOX_LOST && !e->swallow) {
			resend(link, e);
			n++;
		}
	if (n > 0)
		log_debug("router link %s: %zu kept frame%s sent again", link->name, n,
		    n == 1 ? "" : "s");
}

void keep_connection_lost(struct router_link *link)
{
	struct hash_iter it;
	const char *key;
	size_t klen;
	void *value;

	/* Every name the router had bound is away until the next router
	 * says it is up: a frame must not reach a name before the older
	 * frames for it that wait here. */
	hash_iter_init(link->peers, &it);
	while (hash_iter_next(&it, &key, &klen, &value))
		hash_put(link->away, key, klen, (void *)1);
	hash_free(&link->peers, NULL);
	link->peers = hash_new(16);
	link->default_away = link->default_route != NULL;
	for (size_t i = 0; i < link->nacks; i++)
		ack_batch_free(&link->acks[i]);
	link->nacks = 0;    /* the frames come again and are acknowledged again */
	if (link->outbox == NULL)
		return;
	for (struct outbox_entry *e = outbox_first(link->outbox), *next; e != NULL; e = next) {
		next = e->next;
		if (e->swallow)
			outbox_remove(link->outbox, e);
		else if (e->state == OUTBOX_PARKED)
			continue;
		else if (dest_away(link, e->to))
			park(link, e);
		else
			e->state = OUTBOX_LOST;
	}
}

/* --- receiving ------------------------------------------------------------------ */

static void acks_in(struct router_link *link, const struct frame *f)
{
	bool rejected = (f->flags & FRAME_F_REJECTED) != 0;
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);
	struct frame_attr attr;
	size_t cursor = 0;
	char why[ERRLEN];

	if (link->outbox == NULL)
		return;
	while (frame_next_tag(f, FRAME_TAG_ACK_SEQ, &cursor, &attr)) {
		if (attr.len != 4)
			continue;
		struct outbox_entry *e = outbox_find(link->outbox, get_be32(attr.data));
		if (e == NULL)
			continue;
		if (!rejected || e->swallow) {
			outbox_remove(link->outbox, e);
			continue;
		}
		snprintf(why, sizeof(why), "%s did not take it", from);
		give_back(link, e, FRAME_ERR_REJECTED, why);
		if (link->doomed)
			return;
	}
}

static void peer_up(struct router_link *link, const char *name, uint16_t flags)
{
	hash_put(link->peers, name, strlen(name), (void *)(uintptr_t)(PEER_KNOWN | flags));
	hash_del(link->away, name, strlen(name));
	if (flags & FRAME_F_DEFAULT_ROUTE) {
		free(link->default_route);
		link->default_route = xstrdup(name);
		link->default_away = false;
	} else if (link->default_route != NULL && strcmp(link->default_route, name) == 0) {
		free(link->default_route);
		link->default_route = NULL;
		link->default_away = false;
	}
}

static void peer_down(struct router_link *link, const char *name)
{
	bool was_default = link->default_route != NULL && strcmp(link->default_route, name) == 0;

	/* Its next instance numbers its frames afresh. */
	seen_forget(link->seen, name);
	if (link->outbox != NULL)
		for (struct outbox_entry *e = outbox_first(link->outbox); e != NULL; e = e->next)
			if (e->state == OUTBOX_SENT && dest_is(link, e->to, name))
				park(link, e);
	hash_del(link->peers, name, strlen(name));
	hash_put(link->away, name, strlen(name), (void *)1);
	if (was_default)
		link->default_away = true;
}

/* The name an ACK for a frame to `to` goes from: one we bound (the router
 * checks), `to` itself unless it came to us as the default route. */
static const char *ack_from(const struct router_link *link, const char *to)
{
	const char *fallback = link->name;

	for (size_t i = 0; i < link->nbinds; i++) {
		if (strcmp(link->binds[i].name, to) == 0)
			return to;
		if (link->binds[i].flags & FRAME_F_DEFAULT_ROUTE)
			fallback = link->binds[i].name;
	}
	return fallback;
}

bool keep_frame_in(struct router_link *link, const struct frame *f)
{
	const char *name;

	switch (f->type) {
	case FRAME_PEER_UP:
		peer_up(link, frame_get_str(f, FRAME_TAG_NAME, NULL), f->flags);
		return false;
	case FRAME_PEER_DOWN:
		name = frame_get_str(f, FRAME_TAG_NAME, NULL);
		peer_down(link, name);
		return false;
	case FRAME_ACK:
		acks_in(link, f);
		return link->doomed;
	default:
		break;
	}
	if (!(f->flags & FRAME_F_KEPT))
		return false;
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const char *to = frame_get_str(f, FRAME_TAG_TO, NULL);
	char err[ERRLEN];
	switch (seen_check(link->seen, from, f->seq, (f->flags & FRAME_F_RESENT) != 0)) {
	case SEEN_NEW:
		return false;
	case SEEN_PENDING:
		log_debug("router link %s: %s's frame %u again, still being handled", link->name,
		    from, f->seq);
		return true;
	case SEEN_DONE:
		log_debug("router link %s: %s's frame %u again, acknowledged again", link->name,
		    from, f->seq);
		if (router_link_ack(link, ack_from(link, to), from, &f->seq, 1, err, sizeof(err)) < 0)
			log_warn("router link %s: %s", link->name, err);
		return true;
	}
	return false;
}

void keep_after_owner(struct router_link *link, const struct frame *f)
{
	if (f->type != FRAME_PEER_UP || link->outbox == NULL || link->state != LINK_UP)
		return;
	/* The owner has had its say first (c2s re-announces its sessions
	 * before the stanzas that use them). */
	const char *name = frame_get_str(f, FRAME_TAG_NAME, NULL);
	size_t n = 0;
	for (struct outbox_entry *e = outbox_first(link->outbox); e != NULL; e = e->next)
		if ((e->state == OUTBOX_PARKED || e->state == OUTBOX_LOST) && !e->swallow &&
		    dest_is(link, e->to, name)) {
			resend(link, e);
			n++;
		}
	if (n > 0) {
		log_info("router link %s: %s is up: %zu kept frame%s sent again", link->name, name, n,
		    n == 1 ? "" : "s");
		link_schedule_flush(link);
	}
}

bool keep_error(struct router_link *link, const struct frame *f, uint32_t code, uint32_t ref_seq)
{
	struct outbox_entry *e;
	const char *text = frame_get_str(f, FRAME_TAG_TEXT, NULL);

	if (link->outbox == NULL || (e = outbox_find(link->outbox, ref_seq)) == NULL)
		return false;
	if (e->swallow) {
		outbox_remove(link->outbox, e);
		return true;
	}
	if (code == FRAME_ERR_AWAY) {
		/* Its destination is restarting: wait for its PEER_UP. */
		park(link, e);
		return true;
	}
	give_back(link, e, code, text != NULL ? text : frame_error_code_name(code));
	return true;
}

/* --- acknowledgements ------------------------------------------------------------- */

static struct ack_batch *batch_for(struct router_link *link, const char *from, const char *to,
    bool rejected)
{
	for (size_t i = 0; i < link->nacks; i++) {
		struct ack_batch *a = &link->acks[i];
		if (a->rejected == rejected && strcmp(a->from, from) == 0 && strcmp(a->to, to) == 0)
			return a;
	}
	link->acks = xreallocarray(link->acks, link->nacks + 1, sizeof(*link->acks));
	struct ack_batch *a = &link->acks[link->nacks++];
	*a = (struct ack_batch){ .from = xstrdup(from), .to = xstrdup(to), .rejected = rejected };
	return a;
}

static int add_acks(struct router_link *link, const char *from, const char *to,
    const uint32_t *seqs, size_t n, bool rejected, char *err, size_t errlen)
{
	if (from == NULL)
		from = link->name;
	if (link_check_name("from", from, 1023, err, errlen) < 0 ||
	    link_check_name("to", to, 1023, err, errlen) < 0)
		return -1;
	if (n == 0)
		return errf(err, errlen, "nothing to acknowledge");
	struct ack_batch *a = batch_for(link, from, to, rejected);
	for (size_t i = 0; i < n; i++) {
		if (a->n == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 8;
			a->seqs = xreallocarray(a->seqs, a->cap, sizeof(*a->seqs));
		}
		a->seqs[a->n++] = seqs[i];
		seen_done(link->seen, to, seqs[i]);
	}
	link_schedule_flush(link);
	return 0;
}

int router_link_ack(struct router_link *link, const char *from, const char *to,
    const uint32_t *seqs, size_t n, char *err, size_t errlen)
{
	return add_acks(link, from, to, seqs, n, false, err, errlen);
}

int router_link_reject(struct router_link *link, const char *from, const char *to, uint32_t seq,
    char *err, size_t errlen)
{
	return add_acks(link, from, to, &seq, 1, true, err, errlen);
}

void keep_emit_acks(struct router_link *link)
{
	for (size_t i = 0; i < link->nacks; i++) {
		struct ack_batch *a = &link->acks[i];
		for (size_t done = 0; done < a->n; ) {
			size_t start = frame_begin(&link->out, FRAME_ACK,
			    a->rejected ? FRAME_F_REJECTED : 0, link_take_seq(link));
			frame_put_str(&link->out, FRAME_TAG_FROM, a->from);
			frame_put_str(&link->out, FRAME_TAG_TO, a->to);
			for (size_t k = 0; k < ACK_SEQS_PER_FRAME && done < a->n; k++, done++)
				frame_put_u32(&link->out, FRAME_TAG_ACK_SEQ, a->seqs[done]);
			frame_end(&link->out, start);
		}
		ack_batch_free(a);
	}
	link->nacks = 0;
}

size_t keep_acks_pending(const struct router_link *link)
{
	return link->nacks;
}

/* --- the owner's calls ------------------------------------------------------------- */

/* Take a QUEUED entry's bytes out of the write queue; false if they are
 * partly written (they must go out whole). */
static bool unqueue(struct router_link *link, struct outbox_entry *e)
{
	struct buf *bufs[2] = { &link->out, &link->pending };

	for (int k = 0; k < 2; k++) {
		struct buf *b = bufs[k];
		size_t pos = 0, used = buf_used(b);
		unsigned char *p = (unsigned char *)buf_head(b);
		while (pos + FRAME_HEADER_SIZE <= used) {
			uint32_t len = get_be32(p + pos);
			if (get_be32(p + pos + 8) == e->seq && len == e->len &&
			    (get_be16(p + pos + 6) & FRAME_F_KEPT)) {
				if (b == &link->out && pos < link->out_written)
					return false;
				memmove(p + pos, p + pos + len, used - pos - len);
				frame_abort(b, used - len);
				return true;
			}
			pos += len;
		}
	}
	return true; /* not in a queue (written already) */
}

void router_link_reclaim(struct router_link *link, const char *name_in)
{
	char why[ERRLEN];
	size_t n = 0;

	if (link->outbox == NULL)
		return;
	/* The owner's callbacks may free what name_in points into. */
	char *name = xstrdup(name_in);
	snprintf(why, sizeof(why), "%s is gone", name);
	link->busy++;
	for (struct outbox_entry *e = outbox_first(link->outbox), *next; e != NULL; e = next) {
		next = e->next;
		if (e->swallow || strcmp(e->to, name) != 0)
			continue;
		if (e->state == OUTBOX_QUEUED && !unqueue(link, e)) {
			/* Half written: it goes out whole, and whatever answers
			 * it is eaten; the owner has it back now. */
			e->swallow = true;
			tell_owner(link, e, FRAME_ERR_PEER_GONE, why);
		} else {
			give_back(link, e, FRAME_ERR_PEER_GONE, why);
		}
		n++;
		if (link->doomed)
			break;
		/* The callback may have sent (and parked) frames for `name`:
		 * they are newer, and reclaimed too as the walk reaches them. */
		next = outbox_first(link->outbox);
		while (next != NULL && (next->swallow || strcmp(next->to, name) != 0))
			next = next->next;
	}
	link->busy--;
	if (n > 0)
		log_info("router link %s: %zu kept frame%s for %s given back", link->name, n,
		    n == 1 ? "" : "s", name);
	free(name);
	if (link->doomed && link->busy == 0)
		router_link_free(&link);
}

size_t router_link_kept(const struct router_link *link, size_t *bytes)
{
	if (link->outbox == NULL) {
		if (bytes != NULL)
			*bytes = 0;
		return 0;
	}
	if (bytes != NULL)
		*bytes = outbox_bytes(link->outbox);
	return outbox_count(link->outbox);
}
