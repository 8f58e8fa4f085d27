/*
 * supervisor_spawn.h — how parleyd starts one program as a child, and how it
 * says the way a child ended.
 *
 * A child gets nothing from parleyd but its argv, the environment and
 * stdin/stdout/stderr, so that a process started by parleyd works exactly as
 * one started alone (by systemd, say): every other descriptor is closed by
 * exec, the signal mask and ignored signals are reset, and it runs in its own
 * session (a Ctrl-C at parleyd's terminal reaches parleyd alone, which then
 * stops everything in order). It dies with parleyd: PR_SET_PDEATHSIG.
 */
#ifndef PARLEY_SUPERVISOR_SPAWN_H
#define PARLEY_SUPERVISOR_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Start `path` with `argv` (NULL-terminated, argv[0] the program's name),
 * its stdin being `stdin_fd` and its stdout and stderr parleyd's own. The
 * child gets `death_signal` when parleyd's thread exits.
 *
 * Returns the child's pid once it has executed the program, or -1 with the
 * reason if it could not be forked or the program could not be executed (the
 * failed child is reaped here: there is nothing left to wait for).
 */
pid_t spawn_child(const char *path, char *const argv[], int stdin_fd, int death_signal,
    char *err, size_t errlen);

/* "exited with status 1", "was killed by SIGSEGV (core dumped)", "was
 * killed by SIGSYS (a sandbox violation: ...)". */
void wait_status_describe(int status, char *buf, size_t len);

#endif
