/*
 * sqlite_schema.c — the SQLite driver's schema, as a list of forward
 * migrations: entry i takes the database from version i to version i + 1.
 * sqlite.c runs the ones a database lacks when it opens it, all in one
 * transaction, and records the version in the schema_version table.
 *
 * Never edit a migration that has shipped: add one. doc/storage.md shows
 * the resulting tables.
 */
#include <stddef.h>

#include "sqlite_schema.h"

const char *const sqlite_migrations[] = {
	/* 0 → 1: accounts. Passwords are never stored, only SCRAM secrets in
	 * their text form (common/scram_secrets.h), one per hash. The primary
	 * key is the lookup of every login; WITHOUT ROWID keeps the row in
	 * the key's b-tree. */
	"CREATE TABLE users ("
	"  domain TEXT NOT NULL,"
	"  localpart TEXT NOT NULL,"
	"  scram_sha1 TEXT NOT NULL,"
	"  scram_sha256 TEXT NOT NULL,"
	"  created INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
	"  PRIMARY KEY (domain, localpart)"
	") WITHOUT ROWID;",
};

const size_t sqlite_migration_count = sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]);
