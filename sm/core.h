/*
 * core.h — sm's core thread, for network storage drivers (core.c).
 */
#ifndef PARLEY_SM_CORE_H
#define PARLEY_SM_CORE_H

#include <stdbool.h>
#include <stddef.h>

#include "frame.h"

struct sm;

/* Before the sandbox: whether sm will have a core thread (sm.core_thread:
 * "auto" means with a network storage driver); if so, sm->core is set and
 * the sandbox must allow threads. */
int sm_core_init(struct sm *sm, char *err, size_t errlen);
/* After the sandbox (Landlock covers only threads born after it), just
 * before loop_run: take the big lock, hook it around the loop's sleep and
 * every storage call, and start the core thread. Nothing without sm->core. */
int sm_core_start(struct sm *sm, char *err, size_t errlen);
/* Whether frames go to the core thread (sm_core_start ran and started it). */
bool sm_core_running(const struct sm *sm);
/* Queue a copy of f for the core thread (on the loop's thread). */
void sm_core_submit(struct sm *sm, const struct frame *f);
/* Nothing queued and nothing being handled. */
bool sm_core_idle(const struct sm *sm);
/* After loop_run returned: stop and join the core thread, drop the lock. */
void sm_core_stop(struct sm *sm);

#endif
