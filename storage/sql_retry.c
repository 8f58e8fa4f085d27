/*
 * sql_retry.c — the backoff of sql_retry.h.
 */
#include <errno.h>
#include <time.h>

#include "sql_retry.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sql_retry_begin(struct sql_retry *r, unsigned hold_ms)
{
	r->deadline_ms = now_ms() + hold_ms;
	r->backoff_ms = SQL_RETRY_BACKOFF_MIN_MS;
	r->attempts = 0;
}

bool sql_retry_again(struct sql_retry *r)
{
	uint64_t now = now_ms();
	uint64_t wait = r->backoff_ms;
	struct timespec ts;

	if (now >= r->deadline_ms)
		return false;
	if (now + wait > r->deadline_ms)
		wait = r->deadline_ms - now;
	ts.tv_sec = (time_t)(wait / 1000);
	ts.tv_nsec = (long)(wait % 1000) * 1000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	r->backoff_ms = r->backoff_ms * 2 > SQL_RETRY_BACKOFF_MAX_MS ? SQL_RETRY_BACKOFF_MAX_MS :
	    r->backoff_ms * 2;
	r->attempts++;
	return true;
}
