-- pgsql.sql — Parley's PostgreSQL schema, as forward migrations.
--
-- Each section, from a "-- @version N" line to the next, takes the schema
-- from version N - 1 to N and ends by recording N in schema_version. The
-- PostgreSQL storage driver (storage/pgsql_schema.c) carries this file
-- compiled in: at open it runs the sections a database lacks, all in one
-- transaction under an advisory lock (two processes starting together
-- migrate once), and refuses a database newer than it knows. An operator
-- whose Parley role may not create tables can instead run this file as
-- the database's owner (psql -v ON_ERROR_STOP=1 -1 -f pgsql.sql) and grant
-- the role SELECT, INSERT, UPDATE, DELETE on the tables and USAGE on the
-- sequences.
--
-- Never edit a section that has shipped: add one. The tables match the
-- SQLite driver's schema version 2 (doc/storage.md). Every text column
-- that is compared or sorted is COLLATE "C": byte order whatever the
-- database's locale, as the drivers promise (listings sorted by
-- localpart, contact, JID), and equality byte for byte.

-- @version 1
-- Accounts. Passwords are never stored, only SCRAM secrets in their text
-- form (common/scram_secrets.h), one per hash.
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE users (
  domain TEXT COLLATE "C" NOT NULL,
  localpart TEXT COLLATE "C" NOT NULL,
  scram_sha1 TEXT NOT NULL,
  scram_sha256 TEXT NOT NULL,
  created BIGINT NOT NULL DEFAULT (extract(epoch FROM now())::bigint),
  PRIMARY KEY (domain, localpart)
);

-- @version 2
-- What sm keeps per user. Every table is keyed by the owner (domain,
-- localpart) first; no foreign key to users (an external authentication
-- backend keeps users this table never holds).
--
-- roster_version: the owner's roster version (the last one handed out)
-- and its low-water mark, the oldest version get_since can still answer.
CREATE TABLE roster_version (
  domain TEXT COLLATE "C" NOT NULL,
  localpart TEXT COLLATE "C" NOT NULL,
  ver BIGINT NOT NULL,
  low_water BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (domain, localpart)
);
-- One row per (owner, contact); removed is a tombstone, kept so that
-- get_since can report the removal.
CREATE TABLE roster_items (
  domain TEXT COLLATE "C" NOT NULL,
  localpart TEXT COLLATE "C" NOT NULL,
  contact TEXT COLLATE "C" NOT NULL,
  name TEXT,
  subscription TEXT NOT NULL CHECK (subscription IN ('none', 'to', 'from', 'both')),
  ask BOOLEAN NOT NULL DEFAULT false,
  removed BOOLEAN NOT NULL DEFAULT false,
  ver BIGINT NOT NULL,
  PRIMARY KEY (domain, localpart, contact)
);
CREATE INDEX roster_items_by_ver ON roster_items (domain, localpart, ver);
CREATE TABLE roster_groups (
  domain TEXT COLLATE "C" NOT NULL,
  localpart TEXT COLLATE "C" NOT NULL,
  contact TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (domain, localpart, contact, name)
);
-- Pending In, with the stanza to deliver again; the id orders them
-- oldest first (a replaced request keeps its row, so its place).
CREATE TABLE subscription_requests (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain TEXT COLLATE "C" NOT NULL,
  localpart TEXT COLLATE "C" NOT NULL,
  contact TEXT COLLATE "C" NOT NULL,
  stanza TEXT NOT NULL,
  UNIQUE (domain, localpart, contact)
);
-- The identity's sequence never hands an id out twice, even after every
-- message was deleted, so a delete_upto with an old id can never reach a
-- newer message.
CREATE TABLE offline_messages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain TEXT COLLATE "C" NOT NULL,
  localpart TEXT COLLATE "C" NOT NULL,
  stanza TEXT NOT NULL,
  stored BIGINT NOT NULL DEFAULT (extract(epoch FROM now())::bigint)
);
CREATE INDEX offline_messages_by_owner ON offline_messages (domain, localpart, id);
CREATE TABLE private_xml (
  domain TEXT COLLATE "C" NOT NULL,
  localpart TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  xml TEXT NOT NULL,
  PRIMARY KEY (domain, localpart, key)
);
CREATE TABLE vcards (
  domain TEXT COLLATE "C" NOT NULL,
  localpart TEXT COLLATE "C" NOT NULL,
  xml TEXT NOT NULL,
  PRIMARY KEY (domain, localpart)
);
CREATE TABLE block_list (
  domain TEXT COLLATE "C" NOT NULL,
  localpart TEXT COLLATE "C" NOT NULL,
  jid TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (domain, localpart, jid)
);
CREATE TABLE last_activity (
  domain TEXT COLLATE "C" NOT NULL,
  localpart TEXT COLLATE "C" NOT NULL,
  seconds BIGINT NOT NULL,
  status TEXT NOT NULL,
  PRIMARY KEY (domain, localpart)
);
UPDATE schema_version SET version = 2;
