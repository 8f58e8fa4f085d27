/*
 * parleyd.c — entry point of parleyd: the supervisor that starts and restarts the Parley processes.
 * Until issue 3 builds it, the binary only answers -V and -h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int main(int argc, char **argv)
{
	struct cli_opts opts;

	cli_parse(argc, argv, "parleyd", "the supervisor that starts and restarts the Parley processes", &opts);
	fprintf(stderr, "parleyd: not built yet (issue 3)\n");
	return EXIT_FAILURE;
}
