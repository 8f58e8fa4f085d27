/*
 * cli.h — the command line every Parley daemon accepts:
 *   -c FILE   the suite's configuration file (default SYSCONFDIR/parley/parley.conf)
 *   -f        stay in the foreground (log to stderr unless the config says otherwise)
 *   -V        print the version and exit
 *   -h        print usage and exit
 */
#ifndef PARLEY_CLI_H
#define PARLEY_CLI_H

#include <stdbool.h>

struct cli_opts {
	const char *config_path;
	bool foreground;
};

/* Parse argv; prints version or usage and exits where that is the answer,
 * exits with status 2 on a bad option. */
void cli_parse(int argc, char **argv, const char *prog, const char *summary, struct cli_opts *opts);
void cli_print_version(const char *prog);

#endif
