/*
 * parleyctl.c — entry point of parleyctl: administration: users, sessions, configuration check.
 * Until issue 3 builds it, the binary only answers -V and -h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int main(int argc, char **argv)
{
	struct cli_opts opts;

	cli_parse(argc, argv, "parleyctl", "administration: users, sessions, configuration check", &opts);
	fprintf(stderr, "parleyctl: not built yet (issue 3)\n");
	return EXIT_FAILURE;
}
