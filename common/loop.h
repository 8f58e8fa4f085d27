/*
 * loop.h — the event loop every Parley process runs: one thread, epoll in
 * edge-triggered mode, one-shot timers on a min-heap, and signals delivered
 * through signalfd as ordinary events. See loop.c for why it is written here.
 *
 * Edge-triggered means a callback is told once that an fd became readable
 * or writable; it must read (or write) until EAGAIN, or remember that it
 * stopped early and come back (a zero-delay timer).
 */
#ifndef PARLEY_LOOP_H
#define PARLEY_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct loop;
struct timer;

#define LOOP_READ  0x1u /* readable, or peer closed its side */
#define LOOP_WRITE 0x2u /* writable */
#define LOOP_ERROR 0x4u /* error or hang-up: read to find out, then close */

typedef void (*loop_io_cb)(struct loop *loop, int fd, unsigned events, void *arg);
typedef void (*loop_timer_cb)(struct loop *loop, void *arg);
typedef void (*loop_signal_cb)(struct loop *loop, int signo, void *arg);

struct loop *loop_new(char *err, size_t errlen);
/* Frees the loop and its timers; does not close watched fds. */
void loop_free(struct loop **loop);

/* Watch fd for readiness (both directions, edge-triggered). One watcher per
 * fd. Returns -1 with a reason if epoll refuses the fd. */
int loop_add_fd(struct loop *loop, int fd, loop_io_cb cb, void *arg, char *err, size_t errlen);
/* Stop watching fd; call before close(). Events already collected for this
 * fd in the current iteration are not delivered. */
void loop_del_fd(struct loop *loop, int fd);

/* One-shot timer firing `ms` milliseconds after loop_now_ms() (0: at the
 * next turn of the loop, after pending I/O). The base is the time cached at
 * the start of this turn, so timers added in one turn keep their relative
 * order whatever time the callbacks took. Timers with the same deadline
 * fire in the order they were added. The returned handle is valid until the
 * timer fires or is cancelled; the loop frees it when it fires, so a
 * callback must forget its stored handle first thing (cancelling a fired
 * timer is a use-after-free). */
struct timer *loop_timer_add(struct loop *loop, uint64_t ms, loop_timer_cb cb, void *arg);
/* Cancel a pending timer and NULL the handle; NULL is allowed. */
void loop_timer_cancel(struct loop *loop, struct timer **timer);
size_t loop_timer_count(const struct loop *loop);

/* Deliver `signo` through the loop instead of asynchronously. The signal is
 * blocked for the whole process (call before starting any thread). */
int loop_signal(struct loop *loop, int signo, loop_signal_cb cb, void *arg, char *err, size_t errlen);

/* In a forked child before exec: unblock every signal, since loop_signal()
 * blocked them for the whole process and the mask survives exec. */
void loop_child_unblock_signals(void);

/* Run until loop_stop(); returns 0, or -1 if epoll_wait failed. */
int loop_run(struct loop *loop);
/* Run one iteration, waiting at most `max_wait_ms` (-1: until something happens). */
int loop_run_once(struct loop *loop, int max_wait_ms);
void loop_stop(struct loop *loop);
/* Hooks run on the loop's thread just before it sleeps in epoll_wait and
 * just after it wakes: sm releases its big lock while its loop sleeps, so
 * its core thread can work (sm/core.c). NULLs: none. */
void loop_set_wait_hooks(struct loop *loop, void (*before)(void *arg),
    void (*after)(void *arg), void *arg);

/* Monotonic milliseconds, cached at the start of each iteration. */
uint64_t loop_now_ms(const struct loop *loop);

#endif
