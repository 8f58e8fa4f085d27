/*
 * supervisor_policy.h — when parleyd restarts a process that died, and when
 * it gives up on it: exponential backoff from parleyd.restart_delay up to
 * parleyd.restart_delay_max, reset once a process has run for a minute, and
 * at most parleyd.max_restarts restarts in any minute.
 *
 * Pure arithmetic on times the caller passes in (monotonic milliseconds): it
 * starts nothing, reads no clock and logs nothing, so the unit test can walk
 * through an hour of crashes in a microsecond.
 */
#ifndef PARLEY_SUPERVISOR_POLICY_H
#define PARLEY_SUPERVISOR_POLICY_H

#include <stdint.h>

/* The length of the window max_restarts counts in. */
#define RESTART_WINDOW_MS 60000u
/* A process that ran this long before dying was working: its next restart
 * waits only restart_delay again, however long the backoff had grown. */
#define RESTART_STABLE_MS 60000u

struct restart_policy {
	uint64_t delay_ms;	/* parleyd.restart_delay */
	uint64_t delay_max_ms;	/* parleyd.restart_delay_max */
	unsigned max_restarts;	/* parleyd.max_restarts, at least 1 */
};

/* The restarts of one process: the delay the next one waits, and the times
 * of the restarts still inside the window (a ring of max_restarts). */
struct restart_history {
	uint64_t next_delay_ms;
	uint64_t *times;
	unsigned cap, head, count;
	unsigned total;		/* restarts since parleyd started */
};

void restart_history_init(struct restart_history *h, const struct restart_policy *p);
void restart_history_free(struct restart_history *h);

/*
 * A process started at `started_ms` died at `now_ms`. Returns how many
 * milliseconds to wait before starting it again (and counts that restart),
 * or -1 if it already had max_restarts restarts in the last minute: give up.
 */
int64_t restart_next(const struct restart_policy *p, struct restart_history *h,
    uint64_t started_ms, uint64_t now_ms);

/* Restarts counted in the window ending at now_ms. */
unsigned restart_recent(struct restart_history *h, uint64_t now_ms);

#endif
