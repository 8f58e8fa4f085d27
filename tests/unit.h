/*
 * unit.h — what a unit-test program provides: one Check suite. The shared
 * main (unit_main.c) runs it and prints TAP, which tests/run counts.
 *
 * Name tests for the behaviour they show (test_jid_folds_localpart_case),
 * so the TAP output reads as a list of what the code does.
 */
#ifndef PARLEY_UNIT_H
#define PARLEY_UNIT_H

#include <check.h>

Suite *unit_suite(void);

/* The top of the source tree ($srcdir when set, else the tree this test
 * was configured from), for tests that read files such as tests/data/. */
const char *unit_srcdir(void);

#endif
