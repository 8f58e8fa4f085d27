/*
 * loop.c — the event loop (see loop.h).
 *
 * Why our own loop and not libevent or libuv: a Parley process needs exactly
 * three things — fd readiness, one-shot timers and signals — on Linux only.
 * That is a few hundred lines we can read in one sitting, with no callback
 * layering, no hidden threads and no allocation per event; libuv brings a
 * thread pool and its own I/O model, libevent buffers we would not use. As
 * with Redis's ae.c, owning the loop keeps the hot path obvious.
 *
 * Why edge-triggered: each fd is registered once for both directions and
 * never modified again, so there is no epoll_ctl per write-queue change; the
 * price is that handlers must drain until EAGAIN, which they do anyway.
 *
 * Why a binary heap for timers: every connection has one or two timeouts
 * that are mostly cancelled or pushed back; the heap gives O(log n) add and
 * cancel (each timer knows its index) and O(1) "when is the next one".
 * A sequence number breaks ties so equal deadlines fire in insertion order.
 *
 * Why generations on fds: a handler may close fd 7 and another open a new
 * fd 7 while events for the old one are still in this iteration's batch.
 * The epoll cookie carries the watcher's generation; stale events are dropped.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define MAX_EVENTS 256

struct watcher {
	loop_io_cb cb;
	void *arg;
	uint32_t gen;
	bool active;
};

struct timer {
	uint64_t deadline;
	uint64_t seq;
	size_t index; /* position in the heap */
	loop_timer_cb cb;
	void *arg;
};

struct signal_handler {
	loop_signal_cb cb;
	void *arg;
};

struct loop {
	int epfd;
	bool running;
	uint64_t now;

	struct watcher *watchers; /* indexed by fd */
	size_t nwatchers;

	struct timer **heap;
	size_t nheap, capheap;
	uint64_t timer_seq;

	int sigfd;
	sigset_t sigmask;
	struct signal_handler signals[_NSIG];

	void (*before_wait)(void *arg), (*after_wait)(void *arg);
	void *wait_arg;
};

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *loop_new(char *err, size_t errlen)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		errf(err, errlen, "epoll_create1: %s", strerror(errno));
		return NULL;
	}
	struct loop *loop = xcalloc(1, sizeof(*loop));
	loop->epfd = epfd;
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	loop->now = monotonic_ms();
	return loop;
}

void loop_free(struct loop **lp)
{
	struct loop *loop = *lp;
	if (loop == NULL)
		return;
	for (size_t i = 0; i < loop->nheap; i++)
		free(loop->heap[i]);
	free(loop->heap);
	free(loop->watchers);
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	close(loop->epfd);
	free(loop);
	*lp = NULL;
}

uint64_t loop_now_ms(const struct loop *loop)
{
	return loop->now;
}

/* --- file descriptors --------------------------------------------------- */

int loop_add_fd(struct loop *loop, int fd, loop_io_cb cb, void *arg, char *err, size_t errlen)
{
	if (fd < 0)
		return errf(err, errlen, "loop_add_fd: bad fd %d", fd);
	if ((size_t)fd >= loop->nwatchers) {
		size_t n = loop->nwatchers ? loop->nwatchers : 64;
		while (n <= (size_t)fd)
			n *= 2;
		loop->watchers = xreallocarray(loop->watchers, n, sizeof(*loop->watchers));
		memset(loop->watchers + loop->nwatchers, 0,
		    (n - loop->nwatchers) * sizeof(*loop->watchers));
		loop->nwatchers = n;
	}
	struct watcher *w = &loop->watchers[fd];
	if (w->active)
		return errf(err, errlen, "loop_add_fd: fd %d is already watched", fd);

	struct epoll_event ev = { 0 };
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.u64 = (uint64_t)(uint32_t)fd | ((uint64_t)(w->gen + 1) << 32);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return errf(err, errlen, "epoll_ctl(add %d): %s", fd, strerror(errno));
	w->gen++;
	w->cb = cb;
	w->arg = arg;
	w->active = true;
	return 0;
}

void loop_del_fd(struct loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->nwatchers || !loop->watchers[fd].active)
		return;
	/* Failure here means the fd was already closed, which removed it. */
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->watchers[fd].active = false;
	loop->watchers[fd].gen++; /* invalidates events already collected */
}

/* --- timers ------------------------------------------------------------- */

static bool timer_before(const struct timer *a, const struct timer *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->seq < b->seq;
}

static void heap_set(struct loop *loop, size_t i, struct timer *t)
{
	loop->heap[i] = t;
	t->index = i;
}

static void heap_up(struct loop *loop, size_t i)
{
	struct timer *t = loop->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!timer_before(t, loop->heap[parent]))
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, t);
}

static void heap_down(struct loop *loop, size_t i)
{
	struct timer *t = loop->heap[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= loop->nheap)
			break;
		if (child + 1 < loop->nheap && timer_before(loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!timer_before(loop->heap[child], t))
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, t);
}

static void heap_remove(struct loop *loop, struct timer *t)
{
	size_t i = t->index;
	struct timer *last = loop->heap[--loop->nheap];
	if (last == t)
		return;
	heap_set(loop, i, last);
	heap_down(loop, i);
	heap_up(loop, last->index);
}

struct timer *loop_timer_add(struct loop *loop, uint64_t ms, loop_timer_cb cb, void *arg)
{
	struct timer *t = xmalloc(sizeof(*t));
	t->deadline = loop->now + ms;
	t->seq = loop->timer_seq++;
	t->cb = cb;
	t->arg = arg;
	if (loop->nheap == loop->capheap) {
		loop->capheap = loop->capheap ? loop->capheap * 2 : 16;
		loop->heap = xreallocarray(loop->heap, loop->capheap, sizeof(*loop->heap));
	}
	loop->heap[loop->nheap] = t;
	t->index = loop->nheap++;
	heap_up(loop, t->index);
	return t;
}

void loop_timer_cancel(struct loop *loop, struct timer **tp)
{
	struct timer *t = *tp;
	if (t == NULL)
		return;
	heap_remove(loop, t);
	free(t);
	*tp = NULL;
}

size_t loop_timer_count(const struct loop *loop)
{
	return loop->nheap;
}

/* Fire the timers due now. A timer added by a callback during this pass
 * (even with ms = 0) waits for the next pass, so callbacks that re-arm
 * themselves cannot starve I/O. */
static void run_timers(struct loop *loop)
{
	uint64_t seq_limit = loop->timer_seq;

	while (loop->nheap > 0) {
		struct timer *t = loop->heap[0];
		if (t->deadline > loop->now || t->seq >= seq_limit)
			break;
		heap_remove(loop, t);
		loop_timer_cb cb = t->cb;
		void *arg = t->arg;
		free(t);
		cb(loop, arg);
	}
}

static int next_timeout(const struct loop *loop, int max_wait_ms)
{
	if (loop->nheap == 0)
		return max_wait_ms;
	uint64_t deadline = loop->heap[0]->deadline;
	uint64_t now = monotonic_ms();
	uint64_t wait = deadline > now ? deadline - now : 0;
	if (wait > (uint64_t)INT32_MAX)
		wait = INT32_MAX;
	if (max_wait_ms >= 0 && (uint64_t)max_wait_ms < wait)
		return max_wait_ms;
	return (int)wait;
}

/* --- signals ------------------------------------------------------------ */

static void signal_ready(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct signalfd_siginfo si;

	for (;;) {
		ssize_t n = read(fd, &si, sizeof(si));
		if (n != (ssize_t)sizeof(si)) {
			if (n < 0 && errno == EINTR)
				continue;
			return; /* EAGAIN: drained */
		}
		int signo = (int)si.ssi_signo;
		if (signo > 0 && signo < _NSIG && loop->signals[signo].cb != NULL)
			loop->signals[signo].cb(loop, signo, loop->signals[signo].arg);
	}
}

int loop_signal(struct loop *loop, int signo, loop_signal_cb cb, void *arg, char *err, size_t errlen)
{
	if (signo <= 0 || signo >= _NSIG)
		return errf(err, errlen, "loop_signal: bad signal %d", signo);
	sigaddset(&loop->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &loop->sigmask, NULL) < 0)
		return errf(err, errlen, "sigprocmask: %s", strerror(errno));
	int fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, "signalfd: %s", strerror(errno));
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		if (loop_add_fd(loop, fd, signal_ready, NULL, err, errlen) < 0)
			return -1;
	}
	loop->signals[signo].cb = cb;
	loop->signals[signo].arg = arg;
	return 0;
}

void loop_child_unblock_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* --- running ------------------------------------------------------------ */

int loop_run_once(struct loop *loop, int max_wait_ms)
{
	struct epoll_event events[MAX_EVENTS];
	int n;

	int timeout = next_timeout(loop, max_wait_ms);

	if (loop->before_wait != NULL)
		loop->before_wait(loop->wait_arg);
	do {
		n = epoll_wait(loop->epfd, events, MAX_EVENTS, timeout);
	} while (n < 0 && errno == EINTR);
	if (loop->after_wait != NULL)
		loop->after_wait(loop->wait_arg);
	if (n < 0) {
		log_error("epoll_wait: %s", strerror(errno));
		return -1;
	}
	loop->now = monotonic_ms();

	for (int i = 0; i < n; i++) {
		int fd = (int)(uint32_t)events[i].data.u64;
		uint32_t gen = (uint32_t)(events[i].data.u64 >> 32);
		if ((size_t)fd >= loop->nwatchers)
			continue;
		struct watcher *w = &loop->watchers[fd];
		if (!w->active || w->gen != gen)
			continue; /* deleted (or replaced) earlier in this batch */
		unsigned what = 0;
		if (events[i].events & (EPOLLIN | EPOLLRDHUP))
			what |= LOOP_READ;
		if (events[i].events & EPOLLOUT)
			what |= LOOP_WRITE;
		if (events[i].events & (EPOLLERR | EPOLLHUP))
			what |= LOOP_ERROR | LOOP_READ;
		w->cb(loop, fd, what, w->arg);
	}
	run_timers(loop);
	return 0;
}

int loop_run(struct loop *loop)
{
	loop->running = true;
	loop->now = monotonic_ms();
	while (loop->running)
		if (loop_run_once(loop, -1) < 0)
			return -1;
	return 0;
}

void loop_set_wait_hooks(struct loop *loop, void (*before)(void *arg),
    void (*after)(void *arg), void *arg)
{
	loop->before_wait = before;
	loop->after_wait = after;
	loop->wait_arg = arg;
}

void loop_stop(struct loop *loop)
{
	loop->running = false;
}
