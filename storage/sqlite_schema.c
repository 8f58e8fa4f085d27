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

	/* 1 → 2: what sm keeps per user (issue 5). Every table is keyed by
	 * the owner (domain, localpart) first, so one user's rows sit
	 * together and storage_user_delete is one range delete per table.
	 * No foreign key to users: with an external authentication backend
	 * (pipe, later LDAP) sm keeps data for users the users table does
	 * not hold.
	 *
	 * roster_version: the owner's roster version (the last one handed
	 * out) and its low-water mark, the oldest version get_since can
	 * still answer (tombstones at or below it may have been pruned). */
	"CREATE TABLE roster_version ("
	"  domain TEXT NOT NULL,"
	"  localpart TEXT NOT NULL,"
	"  ver INTEGER NOT NULL,"
	"  low_water INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (domain, localpart)"
	") WITHOUT ROWID;"
	/* One row per (owner, contact); removed = 1 is a tombstone, kept so
	 * that get_since can report the removal. */
	"CREATE TABLE roster_items ("
	"  domain TEXT NOT NULL,"
	"  localpart TEXT NOT NULL,"
	"  contact TEXT NOT NULL,"
	"  name TEXT,"
	"  subscription TEXT NOT NULL CHECK (subscription IN ('none','to','from','both')),"
	"  ask INTEGER NOT NULL DEFAULT 0,"
	"  removed INTEGER NOT NULL DEFAULT 0,"
	"  ver INTEGER NOT NULL,"
	"  PRIMARY KEY (domain, localpart, contact)"
	") WITHOUT ROWID;"
	"CREATE INDEX roster_items_by_ver ON roster_items (domain, localpart, ver);"
	"CREATE TABLE roster_groups ("
	"  domain TEXT NOT NULL,"
	"  localpart TEXT NOT NULL,"
	"  contact TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  PRIMARY KEY (domain, localpart, contact, name)"
	") WITHOUT ROWID;"
	/* Pending In, with the stanza to deliver again; the rowid orders
	 * them oldest first. */
	"CREATE TABLE subscription_requests ("
	"  id INTEGER PRIMARY KEY,"
	"  domain TEXT NOT NULL,"
	"  localpart TEXT NOT NULL,"
	"  contact TEXT NOT NULL,"
	"  stanza TEXT NOT NULL,"
	"  UNIQUE (domain, localpart, contact)"
	");"
	/* AUTOINCREMENT: an id is never handed out twice, even after every
	 * message was deleted, so a delete_upto with an old id can never
	 * reach a newer message. */
	"CREATE TABLE offline_messages ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  domain TEXT NOT NULL,"
	"  localpart TEXT NOT NULL,"
	"  stanza TEXT NOT NULL,"
	"  stored INTEGER NOT NULL DEFAULT (strftime('%s','now'))"
	");"
	"CREATE INDEX offline_messages_by_owner ON offline_messages (domain, localpart, id);"
	"CREATE TABLE private_xml ("
	"  domain TEXT NOT NULL,"
	"  localpart TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  xml TEXT NOT NULL,"
	"  PRIMARY KEY (domain, localpart, key)"
	") WITHOUT ROWID;"
	"CREATE TABLE vcards ("
	"  domain TEXT NOT NULL,"
	"  localpart TEXT NOT NULL,"
	"  xml TEXT NOT NULL,"
	"  PRIMARY KEY (domain, localpart)"
	") WITHOUT ROWID;"
	"CREATE TABLE block_list ("
	"  domain TEXT NOT NULL,"
	"  localpart TEXT NOT NULL,"
	"  jid TEXT NOT NULL,"
	"  PRIMARY KEY (domain, localpart, jid)"
	") WITHOUT ROWID;"
	"CREATE TABLE last_activity ("
	"  domain TEXT NOT NULL,"
	"  localpart TEXT NOT NULL,"
	"  seconds INTEGER NOT NULL,"
	"  status TEXT NOT NULL,"
	"  PRIMARY KEY (domain, localpart)"
	") WITHOUT ROWID;",
};

const size_t sqlite_migration_count = sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]);
