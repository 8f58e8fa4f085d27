/*
 * pgsql.c — placeholder until the pgsql driver lands (issue 7).
 */
#include "sql_server.h"
#include "storage_driver.h"

int storage_pgsql_open(void **db, const struct sql_server *srv, char *err, size_t errlen)
{
	(void)db;
	(void)srv;
	return errf(err, errlen, "not built yet");
}

const struct storage_driver storage_pgsql_driver = { .name = "pgsql" };
