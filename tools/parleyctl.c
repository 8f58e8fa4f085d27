/*
 * parleyctl.c — entry point of parleyctl, the administration tool: parses
 * the options that come before the verb and dispatches to the verb, each of
 * which lives in its own file (ctl_*.c) and parses its own arguments. A new
 * verb is one line in the table below.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "parleyctl.h"

#define DEFAULT_CONFIG SYSCONFDIR "/parley/parley.conf"

static const struct ctl_verb verbs[] = {
	{ "check", "[-c FILE]",
	  "check the configuration, and what each process checks at start", ctl_check },
	{ "status", "[-c FILE] [-t SECONDS]",
	  "show which processes run and which names the router has bound", ctl_status },
	{ "init", "DIR --domain DOMAIN [options]",
	  "write a complete configuration for one domain into DIR", ctl_init },
	{ "user", "add|del|passwd|list|check ...",
	  "manage the accounts of the internal store", ctl_user },
	{ "storage", "[-c FILE] init|migrate",
	  "create the storage schema, or bring it up to date", ctl_storage },
};

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
	    "usage: %s [-c FILE] VERB [ARGS]\n"
	    "Parley's administration tool.\n\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n\n"
	    "verbs:\n", prog, DEFAULT_CONFIG);
	for (size_t i = 0; i < ARRAY_LEN(verbs); i++)
		fprintf(out, "  %s %s\n      %s\n", verbs[i].name, verbs[i].args, verbs[i].summary);
	fprintf(out, "\n'%s VERB -h' describes the options of one verb.\n", prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { .prog = "parleyctl", .config_path = DEFAULT_CONFIG };
	int ch;

	/* A router that goes away mid-conversation is an error to report,
	 * not a reason to die silently. */
	signal(SIGPIPE, SIG_IGN);

	/* "+": stop at the verb; what follows it is the verb's. */
	while ((ch = getopt_long(argc, argv, "+c:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl.config_path = optarg;
			break;
		case 'V':
			cli_print_version(ctl.prog);
			return CTL_EXIT_OK;
		case 'h':
			usage(stdout, ctl.prog);
			return CTL_EXIT_OK;
		default:
			usage(stderr, ctl.prog);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr, ctl.prog);
		return CTL_EXIT_USAGE;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < ARRAY_LEN(verbs); i++)
		if (strcmp(name, verbs[i].name) == 0)
			return verbs[i].run(&ctl, argc - optind, argv + optind);
	ctl_warnx(&ctl, "unknown verb '%s'", name);
	usage(stderr, ctl.prog);
	return CTL_EXIT_USAGE;
}
