/*
 * main.c — entry point of parley-c2s: client connections: TLS, stream negotiation, SASL relay, binding.
 * Until issue 4 builds it, the binary only answers -V and -h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int main(int argc, char **argv)
{
	struct cli_opts opts;

	cli_parse(argc, argv, "parley-c2s", "client connections: TLS, stream negotiation, SASL relay, binding", &opts);
	fprintf(stderr, "parley-c2s: not built yet (issue 4)\n");
	return EXIT_FAILURE;
}
