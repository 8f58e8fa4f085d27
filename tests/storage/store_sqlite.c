/*
 * store_sqlite.c — the storage test suite's driver choice: SQLite, on a
 * file in a fresh temporary directory per case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static char dir[64];
static char path[128];

void store_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/parley-storage-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/parley.db", dir);
}

void store_teardown(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

struct storage *store_open(void)
{
	struct storage *s = NULL;
	char err[ERRLEN];
	int rc = storage_open_sqlite(&s, path, err, sizeof(err));
	ck_assert_msg(rc == STORAGE_OK, "open: %s", err);
	return s;
}

const char *store_driver(void)
{
	return "sqlite";
}

const char *store_sqlite_path(void)
{
	return path;
}
