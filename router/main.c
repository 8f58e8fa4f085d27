/*
 * main.c — entry point of parley-router: the hub that routes frames between the Parley processes.
 * Until issue 3 builds it, the binary only answers -V and -h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int main(int argc, char **argv)
{
	struct cli_opts opts;

	cli_parse(argc, argv, "parley-router", "the hub that routes frames between the Parley processes", &opts);
	fprintf(stderr, "parley-router: not built yet (issue 3)\n");
	return EXIT_FAILURE;
}
