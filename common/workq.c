/*
 * workq.c — the worker pool of workq.h: a queue under one mutex, workers
 * started on demand up to a bound, and an eventfd that wakes the loop when
 * jobs finish, whose completions then run on the loop's thread.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "workq.h"

#define MAX_THREADS 64
/* At exit, how long workq_free waits for a worker still in a call. */
#define JOIN_WAIT_MS 2000

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_FINISHED };

struct workq_job {
	struct workq_job *next;
	workq_work_fn work;
	workq_done_fn done, release;
	void *arg;
	enum job_state state;
	bool abandoned;
};

struct workq {
	struct loop *loop;
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct workq_job *queued, **queued_tail;
	struct workq_job *finished, **finished_tail;
	pthread_t threads[MAX_THREADS];
	unsigned max, started, idle;
	size_t pending;          /* queued + running + finished, not yet completed */
	bool stop;
};

static void *worker(void *arg)
{
	struct workq *q = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->stop && q->queued == NULL) {
			q->idle++;
			pthread_cond_wait(&q->cv, &q->mu);
			q->idle--;
		}
		if (q->stop)
			break;
		struct workq_job *j = q->queued;
		q->queued = j->next;
		if (q->queued == NULL)
			q->queued_tail = &q->queued;
		j->next = NULL;
		j->state = JOB_RUNNING;
		pthread_mutex_unlock(&q->mu);

		j->work(j->arg);

		pthread_mutex_lock(&q->mu);
		j->state = JOB_FINISHED;
		*q->finished_tail = j;
		q->finished_tail = &j->next;
		/* A full eventfd counter cannot happen (it holds 2^64-2). */
		if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			abort();
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Run the completions of finished jobs, on the loop's thread. */
static void on_event(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct workq *q = arg;
	uint64_t n;
	struct workq_job *list;

	(void)loop;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("workq: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&q->mu);
	list = q->finished;
	q->finished = NULL;
	q->finished_tail = &q->finished;
	pthread_mutex_unlock(&q->mu);
	while (list != NULL) {
		struct workq_job *j = list;
		list = j->next;
		q->pending--;
		if (!j->abandoned && j->done != NULL)
			j->done(j->arg);
		if (j->release != NULL)
			j->release(j->arg);
		free(j);
	}
}

struct workq *workq_new(struct loop *loop, unsigned threads, char *err, size_t errlen)
{
	struct workq *q;

	if (threads < 1 || threads > MAX_THREADS) {
		errf(err, errlen, "workq: %u threads (1 to %d)", threads, MAX_THREADS);
		return NULL;
	}
	q = xcalloc(1, sizeof(*q));
	q->loop = loop;
	q->max = threads;
	q->queued_tail = &q->queued;
	q->finished_tail = &q->finished;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		errf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (loop_add_fd(loop, q->efd, on_event, q, err, errlen) < 0)
		goto fail;
	return q;
fail:
	if (q->efd >= 0)
		close(q->efd);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
	return NULL;
}

/* With q->mu held: a new worker if every one is busy and the bound allows. */
static int maybe_start(struct workq *q, char *err, size_t errlen)
{
	sigset_t all, old;
	int rc;

	if (q->idle > 0 || q->started >= q->max)
		return 0;
	/* Signals belong to the loop's thread (signalfd); workers take none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q->threads[q->started], NULL, worker, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		if (q->started > 0)
			return 0;   /* the others will get to it */
		return errf(err, errlen, "cannot start a worker thread: %s", strerror(rc));
	}
	q->started++;
	return 0;
}

struct workq_job *workq_submit(struct workq *q, workq_work_fn work, workq_done_fn done,
    workq_done_fn release, void *arg, char *err, size_t errlen)
{
	struct workq_job *j = xcalloc(1, sizeof(*j));

	j->work = work;
	j->done = done;
	j->release = release;
	j->arg = arg;
	j->state = JOB_QUEUED;
	pthread_mutex_lock(&q->mu);
	if (maybe_start(q, err, errlen) < 0) {
		pthread_mutex_unlock(&q->mu);
		free(j);
		return NULL;
	}
	*q->queued_tail = j;
	q->queued_tail = &j->next;
	q->pending++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return j;
}

void workq_abandon(struct workq *q, struct workq_job **job)
{
	struct workq_job *j = *job;
	bool unqueued = false;

	if (j == NULL)
		return;
	*job = NULL;
	pthread_mutex_lock(&q->mu);
	j->abandoned = true;
	if (j->state == JOB_QUEUED) {
		struct workq_job **pp = &q->queued;
		while (*pp != j)
			pp = &(*pp)->next;
		*pp = j->next;
		if (q->queued_tail == &j->next)
			q->queued_tail = pp;
		unqueued = true;
	}
	pthread_mutex_unlock(&q->mu);
	if (unqueued) {
		q->pending--;
		if (j->release != NULL)
			j->release(j->arg);
		free(j);
	}
}

size_t workq_pending(const struct workq *q)
{
	return q->pending;
}

void workq_free(struct workq **qp)
{
	struct workq *q = *qp;
	struct workq_job *list;
	struct timespec deadline;
	bool all_joined = true;

	if (q == NULL)
		return;
	*qp = NULL;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	list = q->queued;
	q->queued = NULL;
	q->queued_tail = &q->queued;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	while (list != NULL) {
		struct workq_job *j = list;
		list = j->next;
		if (j->release != NULL)
			j->release(j->arg);
		free(j);
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += JOIN_WAIT_MS / 1000;
	for (unsigned i = 0; i < q->started; i++) {
		if (pthread_timedjoin_np(q->threads[i], NULL, &deadline) != 0) {
			pthread_detach(q->threads[i]);
			all_joined = false;
		}
	}
	loop_del_fd(q->loop, q->efd);
	if (!all_joined) {
		/* A worker is still inside a call with its job: leave the pool
		 * to it (the process is exiting). */
		log_warn("workq: a worker is still busy at exit; leaving it");
		return;
	}
	/* Jobs that finished but whose completion never ran: release them. */
	for (list = q->finished; list != NULL;) {
		struct workq_job *j = list;
		list = j->next;
		if (j->release != NULL)
			j->release(j->arg);
		free(j);
	}
	close(q->efd);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
