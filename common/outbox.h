/*
 * outbox.h — the kept frames of one sender (router_link with `keep`): each
 * frame, as sent, from the moment it is queued until its receiver
 * acknowledges it, in the order it was made (which is seq order). An entry
 * is in one state:
 *
 *   QUEUED  its bytes sit in the link's write queue (not wholly written);
 *   SENT    wholly written on the current connection, no answer yet;
 *   LOST    it was SENT, then the connection or its receiver went away:
 *           to be sent again (RESENT) when the way is open;
 *   PARKED  the router said its destination is away (restarting): to be
 *           sent again at the destination's PEER_UP, or given back to the
 *           owner after the hold time.
 *
 * A reclaimed entry whose bytes are partly written cannot leave the queue;
 * it stays, `swallow`ed, until its answer comes and is eaten.
 */
#ifndef PARLEY_OUTBOX_H
#define PARLEY_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum outbox_state { OUTBOX_QUEUED, OUTBOX_SENT, OUTBOX_LOST, OUTBOX_PARKED };

struct outbox_entry {
	struct outbox_entry *prev, *next;
	uint32_t seq;
	enum outbox_state state;
	bool swallow;
	bool written;           /* written whole at least once: a copy goes RESENT */
	uint64_t parked_at;     /* loop ms when PARKED */
	char *to;
	size_t len;
	unsigned char *bytes;   /* the whole frame, header included */
};

struct outbox;

struct outbox *outbox_new(void);
void outbox_free(struct outbox **ob);
/* Keep a copy of the frame (state QUEUED). */
struct outbox_entry *outbox_add(struct outbox *ob, uint32_t seq, const char *to,
    const void *frame, size_t len);
struct outbox_entry *outbox_find(const struct outbox *ob, uint32_t seq);
/* Forget an entry and free it. */
void outbox_remove(struct outbox *ob, struct outbox_entry *e);
/* Forget an entry; the caller frees it (outbox_entry_free). */
void outbox_unlink(struct outbox *ob, struct outbox_entry *e);
void outbox_entry_free(struct outbox_entry *e);
/* The oldest entry; follow ->next for the rest, in seq order. */
struct outbox_entry *outbox_first(const struct outbox *ob);
size_t outbox_count(const struct outbox *ob);
size_t outbox_bytes(const struct outbox *ob);

#endif
