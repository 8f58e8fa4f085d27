/*
 * core.c — sm's core thread. With SQLite, storage calls take microseconds
 * and sm handles each frame on its loop. A MySQL or PostgreSQL call takes a
 * network round trip, and while the server is away it waits for it
 * (storage.sql.hold): done on the loop, that would stall the router link,
 * timers and signals. So with a network driver the frames are handled on
 * a core thread, one at a time, in the order they arrived, while the loop
 * goes on reading frames, keeping the router link alive and running
 * timers.
 *
 * Why one big lock and not finer ones: everything in sm (the session
 * table, the modules' state, the router link, the loop's tables) was
 * written for one thread. Whoever runs sm's code holds `lock`: the loop's
 * thread except while it sleeps in epoll_wait, the core thread except
 * while it waits for work and while a storage call is on the wire
 * (storage_set_call_hooks). So sm stays single-threaded in effect, and the
 * only code that runs without the lock is the driver's, which touches
 * nothing but its own connection. doc/storage.md says the same for
 * operators.
 *
 * The core thread wakes the loop after each frame (an eventfd), so timers
 * the frame added are armed, and a stop waiting for the queue to empty
 * sees it.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core.h"
#include "log.h"
#include "sm.h"
#include "storage.h"

/* A queue this long means the database is slow or away: say so, once per
 * crossing. */
#define QUEUE_WARN 10000

struct queued {
	struct queued *next;
	struct frame f;          /* its pointers point into payload below */
	uint8_t payload[];
};

struct sm_core {
	struct sm *sm;
	pthread_mutex_t lock;
	pthread_cond_t work;
	pthread_t thread;
	int efd;
	struct queued *head, **tail;
	size_t queued;
	bool busy, stop, started;
	/* The loop's thread is waiting for the lock: the core thread lets
	 * it in between frames. */
	unsigned loop_waiting;
	bool warned;
};

static void lock_acquire(void *arg)
{
	struct sm_core *c = arg;
	pthread_mutex_lock(&c->lock);
}

static void lock_release(void *arg)
{
	struct sm_core *c = arg;
	pthread_mutex_unlock(&c->lock);
}

static void loop_wakes(void *arg)
{
	struct sm_core *c = arg;

	__atomic_add_fetch(&c->loop_waiting, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&c->lock);
	__atomic_sub_fetch(&c->loop_waiting, 1, __ATOMIC_SEQ_CST);
}

static void poke_loop(struct sm_core *c)
{
	uint64_t one = 1;
	if (write(c->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("core: eventfd: %s", strerror(errno));
}

static void on_poke(struct loop *loop, int fd, unsigned events, void *arg)
{
	uint64_t n;

	(void)loop;
	(void)events;
	(void)arg;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("core: eventfd: %s", strerror(errno));
}

static void *core_main(void *arg)
{
	struct sm_core *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->stop && c->head == NULL)
			pthread_cond_wait(&c->work, &c->lock);
		if (c->stop)
			break;
		struct queued *q = c->head;
		c->head = q->next;
		if (c->head == NULL)
			c->tail = &c->head;
		c->queued--;
		c->busy = true;
		sm_link_dispatch(c->sm, &q->f);
		c->busy = false;
		free(q);
		poke_loop(c);
		if (c->queued < QUEUE_WARN / 2)
			c->warned = false;
		if (__atomic_load_n(&c->loop_waiting, __ATOMIC_SEQ_CST) > 0) {
			pthread_mutex_unlock(&c->lock);
			sched_yield();
			pthread_mutex_lock(&c->lock);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int sm_core_init(struct sm *sm, char *err, size_t errlen)
{
	const char *mode = conf_str(sm->conf, "sm.core_thread");
	struct sm_core *c;

	if (strcmp(mode, "off") == 0 || (strcmp(mode, "auto") == 0 &&
	    !storage_is_remote(sm->storage)))
		return 0;
	c = xcalloc(1, sizeof(*c));
	c->sm = sm;
	c->tail = &c->head;
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0) {
		free(c);
		return errf(err, errlen, "eventfd: %s", strerror(errno));
	}
	if (loop_add_fd(sm->loop, c->efd, on_poke, c, err, errlen) < 0) {
		close(c->efd);
		free(c);
		return -1;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->work, NULL);
	sm->core = c;
	return 0;
}

int sm_core_start(struct sm *sm, char *err, size_t errlen)
{
	struct sm_core *c = sm->core;
	sigset_t all, old;
	int rc;

	if (c == NULL)
		return 0;
	/* The loop's thread holds the lock from here on, except in its
	 * sleep; the core thread blocks on it until then. */
	pthread_mutex_lock(&c->lock);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&c->thread, NULL, core_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_mutex_unlock(&c->lock);
		return errf(err, errlen, "cannot start the core thread: %s", strerror(rc));
	}
	c->started = true;
	loop_set_wait_hooks(sm->loop, lock_release, loop_wakes, c);
	storage_set_call_hooks(sm->storage, lock_release, lock_acquire, c);
	log_info("core thread started: frames are handled off the loop (storage %s)",
	    storage_driver_name(sm->storage));
	return 0;
}

bool sm_core_running(const struct sm *sm)
{
	return sm->core != NULL && sm->core->started;
}

void sm_core_submit(struct sm *sm, const struct frame *f)
{
	struct sm_core *c = sm->core;
	struct queued *q = xmalloc(sizeof(*q) + f->payload_len);

	q->next = NULL;
	q->f = *f;
	memcpy(q->payload, f->payload, f->payload_len);
	q->f.payload = q->payload;
	for (size_t i = 0; i < ARRAY_LEN(q->f.tags); i++)
		if (q->f.tags[i].data != NULL)
			q->f.tags[i].data = q->payload + (q->f.tags[i].data - f->payload);
	*c->tail = q;
	c->tail = &q->next;
	c->queued++;
	if (c->queued >= QUEUE_WARN && !c->warned) {
		log_warn("core: %zu frames wait for the storage (%s); is the database slow or away?",
		    c->queued, storage_driver_name(sm->storage));
		c->warned = true;
	}
	pthread_cond_signal(&c->work);
}

bool sm_core_idle(const struct sm *sm)
{
	const struct sm_core *c = sm->core;
	return c == NULL || (c->head == NULL && !c->busy);
}

void sm_core_stop(struct sm *sm)
{
	struct sm_core *c = sm->core;

	if (c == NULL)
		return;
	if (c->started) {
		c->stop = true;
		pthread_cond_signal(&c->work);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
		loop_set_wait_hooks(sm->loop, NULL, NULL, NULL);
		storage_set_call_hooks(sm->storage, NULL, NULL, NULL);
	}
	loop_del_fd(sm->loop, c->efd);
	close(c->efd);
	while (c->head != NULL) {
		struct queued *q = c->head;
		c->head = q->next;
		free(q);
	}
	if (c->queued > 0)
		log_warn("core: %zu frames were still queued at stop", c->queued);
	pthread_cond_destroy(&c->work);
	pthread_mutex_destroy(&c->lock);
	free(c);
	sm->core = NULL;
}
