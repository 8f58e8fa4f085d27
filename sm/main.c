/*
 * main.c — entry point of parley-sm: the session manager: sessions, roster, presence, delivery.
 * Until issue 5 builds it, the binary only answers -V and -h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int main(int argc, char **argv)
{
	struct cli_opts opts;

	cli_parse(argc, argv, "parley-sm", "the session manager: sessions, roster, presence, delivery", &opts);
	fprintf(stderr, "parley-sm: not built yet (issue 5)\n");
	return EXIT_FAILURE;
}
