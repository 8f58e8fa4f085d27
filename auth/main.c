/*
 * main.c — entry point of parley-auth: authentication and account management (SASL server, authreg).
 * Until issue 4 builds it, the binary only answers -V and -h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int main(int argc, char **argv)
{
	struct cli_opts opts;

	cli_parse(argc, argv, "parley-auth", "authentication and account management (SASL server, authreg)", &opts);
	fprintf(stderr, "parley-auth: not built yet (issue 4)\n");
	return EXIT_FAILURE;
}
