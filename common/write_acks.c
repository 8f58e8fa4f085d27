/*
 * write_acks.c — see write_acks.h. A FIFO in one array: entries are taken
 * from the front (head moves on) and added at the back; the live ones are
 * moved to the front only when the back is full, so each entry is moved
 * at most once per growth of the array.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "router_link.h"
#include "util.h"
#include "write_acks.h"

void write_acks_send_link(void *arg, const struct write_ack *e, bool rejected)
{
	struct router_link *link = arg;
	char err[ERRLEN];
	int rc = rejected ? router_link_reject(link, e->from, e->to, e->seq, err, sizeof(err)) :
	    router_link_ack(link, e->from, e->to, &e->seq, 1, err, sizeof(err));

	if (rc < 0)
		log_warn("cannot %s %s's frame %u: %s", rejected ? "reject" : "acknowledge", e->to,
		    e->seq, err);
	else
		log_debug("%s %s's frame %u: %s", rejected ? "rejected" : "acknowledged", e->to,
		    e->seq, rejected ? "its stanza was not written" : "its stanza is written");
}

void write_acks_add_item(struct write_acks *wa, const char *from, const char *to, uint32_t seq,
    uint64_t end, void *item)
{
	if (wa->head + wa->count == wa->cap) {
		if (wa->head > 0) {
			/* Room at the front: slide the live entries down. */
			memmove(wa->v, wa->v + wa->head, wa->count * sizeof(*wa->v));
			wa->head = 0;
		} else {
			wa->cap = wa->cap == 0 ? 4 : wa->cap * 2;
			wa->v = xreallocarray(wa->v, wa->cap, sizeof(*wa->v));
		}
	}
	wa->v[wa->head + wa->count++] = (struct write_ack){
		.from = xstrdup(from), .to = xstrdup(to), .seq = seq, .end = end, .item = item,
	};
}

void write_acks_add(struct write_acks *wa, const char *from, const char *to, uint32_t seq,
    uint64_t end)
{
	write_acks_add_item(wa, from, to, seq, end, NULL);
}

void write_ack_clear(struct write_ack *e)
{
	free(e->from);
	free(e->to);
	e->from = e->to = NULL;
}

/* Drop the front entry (already answered); an emptied FIFO gives its
 * memory back, so a connection with nothing waiting costs nothing. */
static void pop(struct write_acks *wa)
{
	struct write_ack *e = &wa->v[wa->head];

	write_ack_clear(e);
	if (e->item != NULL && wa->free_item != NULL)
		wa->free_item(e->item);
	wa->head++;
	if (--wa->count == 0) {
		free(wa->v);
		wa->v = NULL;
		wa->head = wa->cap = 0;
	}
}

void write_acks_due_to(struct write_acks *wa, uint64_t written_total, write_acks_send_fn *send,
    void *arg)
{
	while (wa->count > 0 && wa->v[wa->head].end <= written_total) {
		send(arg, &wa->v[wa->head], false);
		pop(wa);
	}
}

void write_acks_due(struct write_acks *wa, uint64_t written_total, struct router_link *link)
{
	write_acks_due_to(wa, written_total, write_acks_send_link, link);
}

void write_acks_reject_all_to(struct write_acks *wa, write_acks_send_fn *send, void *arg)
{
	while (wa->count > 0) {
		send(arg, &wa->v[wa->head], true);
		pop(wa);
	}
}

void write_acks_reject_all(struct write_acks *wa, struct router_link *link)
{
	write_acks_reject_all_to(wa, write_acks_send_link, link);
}

bool write_acks_take(struct write_acks *wa, struct write_ack *out)
{
	if (wa->count == 0)
		return false;
	*out = wa->v[wa->head];
	/* The names and the item are the caller's now. */
	wa->v[wa->head] = (struct write_ack){ 0 };
	pop(wa);
	return true;
}

void write_acks_fini(struct write_acks *wa)
{
	while (wa->count > 0)
		pop(wa);
}
