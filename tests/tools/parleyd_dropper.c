/*
 * parleyd_dropper.c — a stand-in process for parleyd's tests: like every
 * Parley process it switches to an unprivileged user with
 * sandbox_drop_user() (here always nobody/nogroup, the tests' account), then
 * waits for a signal. It shows that a process which changed user still dies
 * with parleyd, although the kernel forgets the parent-death signal on a
 * change of user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "sandbox.h"
#include "util.h"

int main(int argc, char **argv)
{
	struct cli_opts opts;
	char err[ERRLEN];

	cli_parse(argc, argv, "parleyd_dropper", "a test process that drops to nobody and waits", &opts);
	if (sandbox_drop_user("nobody", "nogroup", err, sizeof(err)) < 0) {
		fprintf(stderr, "parleyd_dropper: %s\n", err);
		return EXIT_FAILURE;
	}
	for (;;)
		pause();
}
