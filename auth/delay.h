/*
 * delay.h — the growing delay per source address after repeated
 * authentication failures. Auth holds a failure's SASL_RESULT for the
 * delay this gives, so a password-guessing client slows down while every
 * other address is served at full speed.
 *
 * Policy: within a window (auth.failures.window, 10 minutes), the first
 * `free` failures (3) of one address cost nothing; the next waits `base`
 * (1 s), and each after that twice as long, up to `max` (30 s). The count
 * starts over when the window has passed since the first counted failure.
 * A success changes nothing — not for other addresses, and not for its
 * own: otherwise one known account would let a guesser reset its counter
 * between guesses.
 *
 * Addresses are compared without their port. Memory is bounded: at most
 * DELAY_MAX_ADDRESSES addresses are remembered; when full, expired ones
 * are dropped, and if none are, the oldest is.
 *
 * Pure bookkeeping with the time passed in, for tests; no I/O, no logging.
 */
#ifndef PARLEY_AUTH_DELAY_H
#define PARLEY_AUTH_DELAY_H

#include <stddef.h>
#include <stdint.h>

#define DELAY_MAX_ADDRESSES 100000

struct delay_policy {
	unsigned free;          /* failures without a delay */
	uint64_t window_ms;
	uint64_t base_ms;
	uint64_t max_ms;
};

struct delay_table;

struct delay_table *delay_table_new(const struct delay_policy *policy);
void delay_table_free(struct delay_table **t);

/* Record a failure from `client_addr` ("192.0.2.7:40000", "[2001:db8::1]:5",
 * NULL or "" for unknown: never delayed) at `now_ms`; returns how long to
 * hold the answer, in ms. */
uint64_t delay_record_failure(struct delay_table *t, const char *client_addr, uint64_t now_ms);
/* Failures counted for this address now (tests, logs). */
unsigned delay_failures(const struct delay_table *t, const char *client_addr, uint64_t now_ms);
size_t delay_table_count(const struct delay_table *t);

/* The address without its port, into out: "192.0.2.7", "2001:db8::1". */
void delay_address_key(const char *client_addr, char *out, size_t outlen);

#endif
