/*
 * daemon.h — what every Parley daemon does the same way around its own
 * work: open its log as the configuration says, reopen it on SIGHUP, and
 * detach from the terminal without -f. parleyd has its own detaching
 * (it must report the daemon's start to the terminal); the rest use this.
 */
#ifndef PARLEY_DAEMON_H
#define PARLEY_DAEMON_H

#include <stdbool.h>

#include "conf.h"

/* Open the log of `section` ("router", "c2s"…) under the name `process`:
 * the section's log settings over the top-level ones; with -f and no
 * log.target in the file, stderr. *target gets the target in use and
 * *report_fd a descriptor for the seccomp violation reporter that follows
 * the log (2, or a duplicate of the log file's). A log that cannot be
 * opened is reported with the setting's FILE:LINE, and the process exits. */
void daemon_open_log(const struct conf *c, const char *process, const char *section,
    bool foreground, const char **target, int *report_fd);
/* SIGHUP: reopen a log file (after rotation) and point report_fd at it. */
void daemon_reopen_log(int report_fd);
/* Without -f: fork, setsid, stdin/stdout (and stderr unless it is the log)
 * to /dev/null, cwd /. Call once the sockets are open, so that their
 * errors were still seen on the terminal. */
void daemon_detach(void);

#endif
