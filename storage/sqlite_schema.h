/*
 * sqlite_schema.h — the SQLite driver's forward migrations (sqlite_schema.c).
 */
#ifndef PARLEY_SQLITE_SCHEMA_H
#define PARLEY_SQLITE_SCHEMA_H

#include <stddef.h>

extern const char *const sqlite_migrations[];
extern const size_t sqlite_migration_count;

#endif
