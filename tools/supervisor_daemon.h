/*
 * supervisor_daemon.h — how parleyd becomes a daemon: fork, setsid, fork
 * again (so it can never regain a controlling terminal), chdir("/"), umask
 * 027, stdin/stdout/stderr on /dev/null. The process that ran the command
 * waits until the daemon says it has started, so its exit status tells the
 * operator (or an init script) whether parleyd is running.
 */
#ifndef PARLEY_SUPERVISOR_DAEMON_H
#define PARLEY_SUPERVISOR_DAEMON_H

#include <stddef.h>

/*
 * Detach. Returns 0 in the daemon, or -1 with the reason if it could not
 * fork. The original process never returns: it exits 0 once the daemon
 * calls daemon_ready(), or 1 if the daemon exits before that.
 */
int daemon_detach(char *err, size_t errlen);

/* Tell the original process that the daemon runs; it exits 0. */
void daemon_ready(void);

#endif
