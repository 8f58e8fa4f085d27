/*
 * unit_main.c — the main of every unit-test program: runs the program's
 * suite with Check, prints one TAP line per test on stdout and exits
 * non-zero if any failed. Each test runs in its own forked process, so a
 * crash counts as that test's failure rather than ending the run.
 */
#include <stdlib.h>

#include "unit.h"

const char *unit_srcdir(void)
{
	const char *d = getenv("srcdir");
	return d ? d : TOP_SRCDIR;
}

int main(void)
{
	SRunner *sr = srunner_create(unit_suite());
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
