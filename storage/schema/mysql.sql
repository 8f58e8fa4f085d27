-- mysql.sql — Parley's MySQL/MariaDB schema, as forward migrations.
--
-- Each section, from a "-- @version N" line to the next, takes the schema
-- from version N - 1 to N and ends by recording N in schema_version. The
-- MySQL/MariaDB storage driver (storage/mysql_schema.c) carries this file
-- compiled in: at open it runs the sections a database lacks, one
-- statement at a time, under an advisory lock (GET_LOCK: two processes
-- starting together migrate once), and refuses a database newer than it
-- knows. MySQL commits every CREATE TABLE on its own, so a migration cannot
-- be one transaction: every statement is written to be run again
-- (IF NOT EXISTS), and a migration cut short is finished by the next open.
-- An operator whose Parley user may not create tables can run this file
-- as an administrator instead (mariadb --no-defaults DATABASE < mysql.sql)
-- and grant the user SELECT, INSERT, UPDATE, DELETE on the database.
--
-- Never edit a section that has shipped: add one. The tables match the
-- SQLite driver's schema version 2 (doc/storage.md), with these choices:
--
-- * Needs MariaDB 10.2.4 or MySQL 8.0.13 (InnoDB's DYNAMIC rows for
--   3072-byte keys, expression defaults, AUTO_INCREMENT counters that
--   survive a restart).
-- * What identifies a row (domain, localpart, contact, JID, key) is
--   VARBINARY: compared and sorted byte for byte, case-sensitive, and with
--   trailing spaces significant. utf8mb4_bin, the binary collation of
--   utf8mb4 text, still pads ('a' = 'a ') in MariaDB and MySQL 5.7, and
--   a utf8mb4 key costs 4 bytes per character against InnoDB's 3072-byte
--   key limit. The sizes follow RFC 7622 (a JID part is at most 1023
--   bytes): domain 255 (a DNS name), localpart 1023, and 1794 for a
--   contact, a blocked JID or a private XML key (what is left of 3072).
-- * What is only stored (names, stanzas, XML, secrets, statuses) is
--   utf8mb4 text with the binary collation, so the server checks it is
--   UTF-8 and gives it back byte for byte. The driver sets a strict
--   sql_mode: a value too long for its column is an error, never cut.
-- * Every table has a primary key (Galera and row-based replication
--   want one); every table is InnoDB.

-- @version 1
-- Accounts. Passwords are never stored, only SCRAM secrets in their text
-- form (common/scram_secrets.h), one per hash.
-- schema_version holds one row (id 1); REPLACE records a version in one
-- statement.
CREATE TABLE IF NOT EXISTS schema_version (
  id TINYINT NOT NULL DEFAULT 1,
  version INT NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS users (
  domain VARBINARY(255) NOT NULL,
  localpart VARBINARY(1023) NOT NULL,
  scram_sha1 VARCHAR(255) NOT NULL,
  scram_sha256 VARCHAR(255) NOT NULL,
  created BIGINT NOT NULL DEFAULT (UNIX_TIMESTAMP()),
  PRIMARY KEY (domain, localpart)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
REPLACE INTO schema_version (id, version) VALUES (1, 1);

-- @version 2
-- What sm keeps per user. Every table is keyed by the owner (domain,
-- localpart) first, so one user's rows sit together and deleting a user
-- is one range delete per table. No foreign key to users: with an
-- external authentication backend sm keeps data for users that table
-- never holds.
--
-- roster_version: the owner's roster version (the last one handed out)
-- and its low-water mark, the oldest version get_since can still answer.
-- Its row is also what serializes one owner's roster changes.
CREATE TABLE IF NOT EXISTS roster_version (
  domain VARBINARY(255) NOT NULL,
  localpart VARBINARY(1023) NOT NULL,
  ver BIGINT NOT NULL,
  low_water BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (domain, localpart)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- One row per (owner, contact); removed = 1 is a tombstone, kept so that
-- get_since can report the removal.
CREATE TABLE IF NOT EXISTS roster_items (
  domain VARBINARY(255) NOT NULL,
  localpart VARBINARY(1023) NOT NULL,
  contact VARBINARY(1794) NOT NULL,
  name TEXT NULL,
  subscription ENUM('none', 'to', 'from', 'both') NOT NULL,
  ask TINYINT NOT NULL DEFAULT 0,
  removed TINYINT NOT NULL DEFAULT 0,
  ver BIGINT NOT NULL,
  PRIMARY KEY (domain, localpart, contact),
  KEY roster_items_by_ver (domain, localpart, ver)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- A group name has no room left in a 3072-byte key after its contact, so
-- the row has an id of its own and the driver writes each name of an
-- item once; the id keeps the names in the order they were given.
CREATE TABLE IF NOT EXISTS roster_groups (
  id BIGINT NOT NULL AUTO_INCREMENT,
  domain VARBINARY(255) NOT NULL,
  localpart VARBINARY(1023) NOT NULL,
  contact VARBINARY(1794) NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (id),
  KEY roster_groups_by_item (domain, localpart, contact)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Pending In, with the stanza to deliver again; the id orders them oldest
-- first, and a replaced request keeps it.
CREATE TABLE IF NOT EXISTS subscription_requests (
  id BIGINT NOT NULL AUTO_INCREMENT,
  domain VARBINARY(255) NOT NULL,
  localpart VARBINARY(1023) NOT NULL,
  contact VARBINARY(1794) NOT NULL,
  stanza MEDIUMTEXT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY subscription_requests_by_owner (domain, localpart, contact)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- AUTO_INCREMENT: an id is never handed out twice, even after every
-- message was deleted (MariaDB 10.2.4 and MySQL 8.0 keep the counter
-- across a restart; older servers recomputed it from the largest id
-- left), so a delete_upto with an old id can never reach a newer message.
CREATE TABLE IF NOT EXISTS offline_messages (
  id BIGINT NOT NULL AUTO_INCREMENT,
  domain VARBINARY(255) NOT NULL,
  localpart VARBINARY(1023) NOT NULL,
  stanza MEDIUMTEXT NOT NULL,
  stored BIGINT NOT NULL DEFAULT (UNIX_TIMESTAMP()),
  PRIMARY KEY (id),
  KEY offline_messages_by_owner (domain, localpart, id)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- qname is the child element's "{namespace}name" (KEY is a reserved word
-- in MySQL).
CREATE TABLE IF NOT EXISTS private_xml (
  domain VARBINARY(255) NOT NULL,
  localpart VARBINARY(1023) NOT NULL,
  qname VARBINARY(1794) NOT NULL,
  xml MEDIUMTEXT NOT NULL,
  PRIMARY KEY (domain, localpart, qname)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS vcards (
  domain VARBINARY(255) NOT NULL,
  localpart VARBINARY(1023) NOT NULL,
  xml MEDIUMTEXT NOT NULL,
  PRIMARY KEY (domain, localpart)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS block_list (
  domain VARBINARY(255) NOT NULL,
  localpart VARBINARY(1023) NOT NULL,
  jid VARBINARY(1794) NOT NULL,
  PRIMARY KEY (domain, localpart, jid)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS last_activity (
  domain VARBINARY(255) NOT NULL,
  localpart VARBINARY(1023) NOT NULL,
  seconds BIGINT NOT NULL,
  status TEXT NOT NULL,
  PRIMARY KEY (domain, localpart)
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
REPLACE INTO schema_version (id, version) VALUES (1, 2);
