/*
 * workq.h — a small pool of worker threads for calls that block (a
 * database query, an LDAP bind, a PAM conversation), so the event loop
 * never waits on them (DESIGN.md: "no blocking call on the loop").
 *
 * A job is a function run on a worker thread and a completion run later on
 * the loop's thread. The worker function must touch nothing but its own
 * argument and thread-safe library state: no loop, no log, no globals.
 * Everything else (the completion, the release) runs on the loop's thread.
 *
 * A caller that stops waiting (a timeout, a cancelled login) abandons the
 * job: its completion will not run; `release` still runs, on the loop's
 * thread, once no worker holds the argument any more (at once if the job
 * had not started). A worker stuck in a call that never returns keeps its
 * thread; the others carry on.
 *
 * Threads are started at the first submit, not at workq_new: Landlock
 * applies to the thread that asks for it and the threads it starts later,
 * so they must be born after the sandbox (seccomp's filter, loaded with
 * TSYNC, covers every thread either way). The process's seccomp policy
 * needs the "thread" group.
 */
#ifndef PARLEY_WORKQ_H
#define PARLEY_WORKQ_H

#include <stddef.h>

#include "loop.h"

struct workq;
struct workq_job;

typedef void (*workq_work_fn)(void *arg);
typedef void (*workq_done_fn)(void *arg);

/* `threads` workers at most (1 to 64). */
struct workq *workq_new(struct loop *loop, unsigned threads, char *err, size_t errlen);
/* Queue work(arg) then done(arg). `release` (may be NULL) runs after done,
 * or instead of it when the job was abandoned. Returns NULL and writes err
 * if no thread can be started. */
struct workq_job *workq_submit(struct workq *q, workq_work_fn work, workq_done_fn done,
    workq_done_fn release, void *arg, char *err, size_t errlen);
/* Stop waiting for *job (NULLs it): done will not run; release will. */
void workq_abandon(struct workq *q, struct workq_job **job);
/* Jobs queued or running (abandoned ones still running included). */
size_t workq_pending(const struct workq *q);
/* Abandon everything and join the threads that are not stuck; call from
 * the loop's thread at exit. */
void workq_free(struct workq **q);

#endif
