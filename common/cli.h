/*
 * cli.h — the command line every Parley daemon accepts:
 *   -c FILE   the suite's configuration file (default SYSCONFDIR/parley/parley.conf)
 *   -f        stay in the foreground (log to stderr unless the config says otherwise)
 *   -i N      instance number, for processes that run several times (default 1;
 *             parleyd passes it to each c2s it starts)
 *   --sandbox-test  after start-up, try a forbidden system call (execve) to
 *             prove the sandbox kills the process (tests)
 *   -V        print the version and exit
 *   -h        print usage and exit
 */
#ifndef PARLEY_CLI_H
#define PARLEY_CLI_H

#include <stdbool.h>

#include "util.h"

struct cli_opts {
	const char *config_path;
	bool foreground;
	int instance; /* 1.. : which of several processes of one kind this is */
	/* Once sandboxed, call execve("/bin/true"): the filter must kill the
	 * process with SIGSYS, after logging the call (cli_sandbox_test()). */
	bool sandbox_test;
};

/* Parse argv; prints version or usage and exits where that is the answer,
 * exits with status 2 on a bad option. */
void cli_parse(int argc, char **argv, const char *prog, const char *summary, struct cli_opts *opts);
void cli_print_version(const char *prog);
/* For --sandbox-test, once the sandbox is in place: log what is about to
 * happen and call execve("/bin/true"). The filter kills the process; if it
 * does not, this logs the failure and exits non-zero. */
NORETURN void cli_sandbox_test(void);

#endif
