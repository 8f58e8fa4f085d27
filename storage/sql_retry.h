/*
 * sql_retry.h — the network drivers' patience (storage.sql.hold): when the
 * server is lost, a call reconnects with a doubling backoff and tries
 * again until the hold time is spent, then fails. A write issued while the
 * server is away is thus held, not lost, and one that cannot be done in
 * time fails with a reason, so sm answers an error instead of pretending.
 *
 * The drivers' calls run off sm's loop (doc/storage.md), so sleeping here
 * stalls no client.
 */
#ifndef PARLEY_SQL_RETRY_H
#define PARLEY_SQL_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#define SQL_RETRY_BACKOFF_MIN_MS 50
#define SQL_RETRY_BACKOFF_MAX_MS 2000

struct sql_retry {
	uint64_t deadline_ms;       /* CLOCK_MONOTONIC */
	unsigned backoff_ms;
	unsigned attempts;
};

/* Start the clock for one call that may wait `hold_ms` in all. */
void sql_retry_begin(struct sql_retry *r, unsigned hold_ms);
/* Before another attempt: sleep the next backoff (never past the
 * deadline) and answer true, or false when the hold time is spent. */
bool sql_retry_again(struct sql_retry *r);

#endif
