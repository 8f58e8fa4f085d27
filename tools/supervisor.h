/*
 * supervisor.h — parleyd's table of processes and what happens to them: the
 * processes of parleyd.services started in the order router, auth, sm, c2s
 * (c2s.instances of them), s2s, the rest only once the router accepts
 * connections; a process that dies restarted with backoff and given up on
 * after too many restarts in a minute (supervisor_policy.h); SIGHUP passed
 * on to every process; a stop in reverse order, SIGTERM then SIGKILL.
 *
 * Every change is written to the state file (run_dir/parleyd.state) for
 * `parleyctl status`; doc/parleyd.md gives its format.
 *
 * The supervisor decides and logs; it does not read signals itself: parleyd's
 * main routes SIGCHLD, SIGHUP and SIGTERM to the calls below.
 */
#ifndef PARLEY_SUPERVISOR_H
#define PARLEY_SUPERVISOR_H

#include <stdbool.h>

#include "conf.h"
#include "loop.h"

struct supervisor;

/*
 * Read parleyd's settings from `conf`. `config_path` (absolute) is what every
 * child is given with -c. Settings that parse but cannot work (a binary
 * missing from bin_dir, a router socket path too long) are added to errs
 * with their FILE:LINE, and NULL is returned.
 */
struct supervisor *supervisor_new(const struct conf *conf, const char *config_path,
    struct conf_errors *errs);
void supervisor_free(struct supervisor **sv);

/* Start the processes on `loop`. Children's stdin is `stdin_fd`; their
 * stdout and stderr are parleyd's. When a stop has finished, the supervisor
 * calls loop_stop(). */
void supervisor_start(struct supervisor *sv, struct loop *loop, int stdin_fd);

/* SIGCHLD: reap every child that ended, log how, restart or give up. */
void supervisor_reap(struct supervisor *sv);
/* SIGHUP: pass it on to every running process. */
void supervisor_reload(struct supervisor *sv);
/* SIGTERM/SIGINT: stop everything in reverse order. A second call while
 * stopping sends SIGKILL to whatever is left. */
void supervisor_stop(struct supervisor *sv);
/* How many children are alive (not yet reaped). */
unsigned supervisor_alive(const struct supervisor *sv);

/* The state file's path, and its removal when parleyd exits. */
const char *supervisor_state_path(const struct supervisor *sv);

#endif
