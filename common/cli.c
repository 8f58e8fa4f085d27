/*
 * cli.c — the shared command-line parsing of the daemons (see cli.h).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"

#define DEFAULT_CONFIG SYSCONFDIR "/parley/parley.conf"
/* A generous bound: each process checks the number against its own config. */
#define MAX_INSTANCE 65535
/* Long options without a short letter. */
#define OPT_SANDBOX_TEST 0x100

void cli_sandbox_test(void)
{
	char *const argv[] = { (char *)"/bin/true", NULL };
	char *const envp[] = { NULL };

	log_info("sandbox test: calling execve(\"/bin/true\"), which the sandbox must forbid");
	execve(argv[0], argv, envp);
	log_fatal("sandbox test: execve(\"/bin/true\") was not stopped by the sandbox: %s",
	    strerror(errno));
}

void cli_print_version(const char *prog)
{
	printf("%s %s\n", prog, PACKAGE_VERSION);
}

static void usage(FILE *out, const char *prog, const char *summary)
{
	fprintf(out,
	    "usage: %s [-f] [-c FILE] [-i N]\n"
	    "%s\n\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -f       stay in the foreground\n"
	    "  -i N     instance number, for processes that run several times (default 1)\n"
	    "  --sandbox-test\n"
	    "           after start-up, try a forbidden system call to prove the sandbox\n"
	    "           kills the process\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n",
	    prog, summary, DEFAULT_CONFIG);
}

void cli_parse(int argc, char **argv, const char *prog, const char *summary, struct cli_opts *opts)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "instance", required_argument, NULL, 'i' },
		{ "sandbox-test", no_argument, NULL, OPT_SANDBOX_TEST },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opts->config_path = DEFAULT_CONFIG;
	opts->foreground = false;
	opts->instance = 1;
	opts->sandbox_test = false;
	while ((c = getopt_long(argc, argv, "c:fi:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts->config_path = optarg;
			break;
		case 'f':
			opts->foreground = true;
			break;
		case 'i': {
			char *end;
			errno = 0;
			long n = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || n < 1 || n > MAX_INSTANCE) {
				fprintf(stderr, "%s: -i wants an instance number from 1 to %d, got '%s'\n",
				    prog, MAX_INSTANCE, optarg);
				exit(2);
			}
			opts->instance = (int)n;
			break;
		}
		case OPT_SANDBOX_TEST:
			opts->sandbox_test = true;
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
