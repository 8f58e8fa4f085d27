/*
 * main.c — entry point of parley-s2s: federation with other XMPP servers.
 * Until issue 6 builds it, the binary only answers -V and -h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int main(int argc, char **argv)
{
	struct cli_opts opts;

	cli_parse(argc, argv, "parley-s2s", "federation with other XMPP servers", &opts);
	fprintf(stderr, "parley-s2s: not built yet (issue 6)\n");
	return EXIT_FAILURE;
}
