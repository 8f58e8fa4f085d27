/*
 * seen.c — the receiver's memory of kept frames (see seen.h). Each sender
 * has a ring of (seq, done) slots; the newest are at the end, and an
 * acknowledgement is almost always for a recent frame, so lookups scan
 * from the newest backwards.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "seen.h"
#include "util.h"

#define SEEN_FIRST 64

struct window {
	uint32_t *seq;
	bool *done;
	size_t cap, next, count;
};

struct seen {
	struct hash *by_sender;
	size_t max;
};

static void window_free(void *p)
{
	struct window *w = p;

	free(w->seq);
	free(w->done);
	free(w);
}

struct seen *seen_new(size_t max_per_sender)
{
	struct seen *s = xcalloc(1, sizeof(*s));

	s->by_sender = hash_new(16);
	s->max = max_per_sender < SEEN_FIRST ? SEEN_FIRST : max_per_sender;
	return s;
}

void seen_free(struct seen **sp)
{
	if (*sp == NULL)
		return;
	hash_free(&(*sp)->by_sender, window_free);
	free(*sp);
	*sp = NULL;
}

/* Index of the slot holding seq, or -1; newest first. */
static long find(const struct window *w, uint32_t seq)
{
	for (size_t i = 0; i < w->count; i++) {
		size_t at = (w->next + w->cap - 1 - i) % w->cap;
		if (w->seq[at] == seq)
			return (long)at;
	}
	return -1;
}

/* Double the ring (oldest first after the copy), up to the maximum. */
static void grow(struct window *w, size_t max)
{
	size_t cap = w->cap == 0 ? SEEN_FIRST : w->cap * 2;
	if (cap > max)
		cap = max;
	uint32_t *seq = xcalloc(cap, sizeof(*seq));
	bool *done = xcalloc(cap, sizeof(*done));
	for (size_t i = 0; i < w->count; i++) {
		size_t at = (w->next + w->cap - w->count + i) % w->cap;
		seq[i] = w->seq[at];
		done[i] = w->done[at];
	}
	free(w->seq);
	free(w->done);
	w->seq = seq;
	w->done = done;
	w->cap = cap;
	w->next = w->count % cap;
}

enum seen_result seen_check(struct seen *s, const char *sender, uint32_t seq, bool resent)
{
	size_t klen = strlen(sender);
	struct window *w = hash_get(s->by_sender, sender, klen);

	if (w == NULL) {
		w = xcalloc(1, sizeof(*w));
		hash_put(s->by_sender, sender, klen, w);
	}
	if (resent) {
		long at = find(w, seq);
		if (at >= 0)
			return w->done[at] ? SEEN_DONE : SEEN_PENDING;
	}
	if (w->count == w->cap && w->cap < s->max)
		grow(w, s->max);
	w->seq[w->next] = seq;
	w->done[w->next] = false;
	w->next = (w->next + 1) % w->cap;
	if (w->count < w->cap)
		w->count++;
	return SEEN_NEW;
}

void seen_done(struct seen *s, const char *sender, uint32_t seq)
{
	struct window *w = hash_get(s->by_sender, sender, strlen(sender));
	long at;

	if (w != NULL && (at = find(w, seq)) >= 0)
		w->done[at] = true;
}

void seen_forget(struct seen *s, const char *sender)
{
	struct window *w = hash_del(s->by_sender, sender, strlen(sender));

	if (w != NULL)
		window_free(w);
}
