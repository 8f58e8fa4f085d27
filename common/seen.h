/*
 * seen.h — what a receiver remembers of the kept frames it was handed:
 * per sender name, the last ROUTER_LINK_SEEN seqs, each pending (handed to
 * the owner, not yet acknowledged) or done (acknowledged). A sender sends a
 * kept frame again (RESENT) when it cannot know whether the first copy
 * arrived; this table is how the copy is recognised. A window starts small
 * and doubles as the sender keeps more frames in flight, so the many names
 * that send a little (one per hosted domain) cost little.
 */
#ifndef PARLEY_SEEN_H
#define PARLEY_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct seen;

enum seen_result {
	SEEN_NEW,      /* first time: now recorded as pending */
	SEEN_PENDING,  /* a copy of one the owner has not acknowledged yet */
	SEEN_DONE,     /* a copy of one already acknowledged */
};

struct seen *seen_new(size_t max_per_sender);
void seen_free(struct seen **s);
/* Record (sender, seq). Only a RESENT frame is looked up: a frame sent
 * once is new by definition, and looking costs a scan. */
enum seen_result seen_check(struct seen *s, const char *sender, uint32_t seq, bool resent);
/* The owner acknowledged (sender, seq). */
void seen_done(struct seen *s, const char *sender, uint32_t seq);
/* The sender is gone (PEER_DOWN): its next instance numbers afresh. */
void seen_forget(struct seen *s, const char *sender);

#endif
