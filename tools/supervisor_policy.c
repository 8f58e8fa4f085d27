/*
 * supervisor_policy.c — restart backoff and the per-minute cap (see
 * supervisor_policy.h). Postfix's master throttles a service that keeps
 * crashing instead of respawning it in a tight loop; this is that rule.
 */
#include <stdlib.h>

#include "supervisor_policy.h"
#include "util.h"

static uint64_t first_delay(const struct restart_policy *p)
{
	return p->delay_ms < p->delay_max_ms ? p->delay_ms : p->delay_max_ms;
}

void restart_history_init(struct restart_history *h, const struct restart_policy *p)
{
	h->next_delay_ms = first_delay(p);
	h->cap = p->max_restarts > 0 ? p->max_restarts : 1;
	h->times = xcalloc(h->cap, sizeof(*h->times));
	h->head = 0;
	h->count = 0;
	h->total = 0;
}

void restart_history_free(struct restart_history *h)
{
	free(h->times);
	h->times = NULL;
	h->cap = h->head = h->count = 0;
}

unsigned restart_recent(struct restart_history *h, uint64_t now_ms)
{
	while (h->count > 0 && now_ms - h->times[h->head] >= RESTART_WINDOW_MS) {
		h->head = (h->head + 1) % h->cap;
		h->count--;
	}
	return h->count;
}

int64_t restart_next(const struct restart_policy *p, struct restart_history *h,
    uint64_t started_ms, uint64_t now_ms)
{
	if (now_ms >= started_ms && now_ms - started_ms >= RESTART_STABLE_MS)
		h->next_delay_ms = first_delay(p);
	/* The ring holds exactly max_restarts times: full means the cap is
	 * reached for this minute. */
	if (restart_recent(h, now_ms) >= h->cap)
		return -1;
	h->times[(h->head + h->count) % h->cap] = now_ms;
	h->count++;
	h->total++;

	uint64_t delay = h->next_delay_ms;
	h->next_delay_ms = delay > p->delay_max_ms / 2 ? p->delay_max_ms : delay * 2;
	return (int64_t)delay;
}
