/*
 * cli.c — the shared command-line parsing of the daemons (see cli.h).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

#define DEFAULT_CONFIG SYSCONFDIR "/parley/parley.conf"

void cli_print_version(const char *prog)
{
	printf("%s %s\n", prog, PACKAGE_VERSION);
}

static void usage(FILE *out, const char *prog, const char *summary)
{
	fprintf(out,
	    "usage: %s [-f] [-c FILE]\n"
	    "%s\n\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -f       stay in the foreground\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n",
	    prog, summary, DEFAULT_CONFIG);
}

void cli_parse(int argc, char **argv, const char *prog, const char *summary, struct cli_opts *opts)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opts->config_path = DEFAULT_CONFIG;
	opts->foreground = false;
	while ((c = getopt_long(argc, argv, "c:fVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts->config_path = optarg;
			break;
		case 'f':
			opts->foreground = true;
			break;
		case 'V':
			cli_print_version(prog);
			exit(EXIT_SUCCESS);
		case 'h':
			usage(stdout, prog, summary);
			exit(EXIT_SUCCESS);
		default:
			usage(stderr, prog, summary);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		usage(stderr, prog, summary);
		exit(2);
	}
}
