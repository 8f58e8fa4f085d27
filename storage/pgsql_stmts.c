/*
 * pgsql_stmts.c — every statement the PostgreSQL driver runs, in one
 * place, so a reviewer sees all of its SQL at once. Each is prepared once
 * per connection (pgsql_conn.c) and takes its values as bound parameters:
 * $1 is always the owner's domain and $2 its localpart (but in
 * PG_OWNER_LOCK). Nothing here is ever built from user data.
 *
 * The text columns compared or sorted are COLLATE "C" in the schema
 * (storage/schema/pgsql.sql), so ORDER BY is byte order, as strcmp.
 */
#include "pgsql_db.h"

#define OWNER "domain = $1 AND localpart = $2"
#define DELETE_OWNED(table) "DELETE FROM " table " WHERE " OWNER
#define ITEM_COLUMNS "contact, name, subscription, ask, removed, ver"

const char *const pgsql_stmt_sql[PG_STMT_COUNT] = {
	/* ON CONFLICT DO NOTHING: a duplicate changes no row (STORAGE_EXISTS)
	 * instead of failing, which would end a transaction. */
	[PG_USER_CREATE] = "INSERT INTO users (domain, localpart, scram_sha1, scram_sha256) "
	    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
	[PG_USER_GET_SHA1] = "SELECT scram_sha1 FROM users WHERE " OWNER,
	[PG_USER_GET_SHA256] = "SELECT scram_sha256 FROM users WHERE " OWNER,
	[PG_USER_SET] = "UPDATE users SET scram_sha1 = $3, scram_sha256 = $4 WHERE " OWNER,
	[PG_USER_DELETE] = DELETE_OWNED("users"),
	[PG_USER_EXISTS] = "SELECT 1 FROM users WHERE " OWNER,
	[PG_USER_LIST] = "SELECT localpart FROM users WHERE domain = $1 ORDER BY localpart",

	[PG_DEL_ROSTER_VERSION] = DELETE_OWNED("roster_version"),
	[PG_DEL_ROSTER_ITEMS] = DELETE_OWNED("roster_items"),
	[PG_DEL_ROSTER_GROUPS] = DELETE_OWNED("roster_groups"),
	[PG_DEL_SUBREQ] = DELETE_OWNED("subscription_requests"),
	[PG_DEL_OFFLINE] = DELETE_OWNED("offline_messages"),
	[PG_DEL_PRIVATE] = DELETE_OWNED("private_xml"),
	[PG_DEL_VCARD] = DELETE_OWNED("vcards"),
	[PG_DEL_BLOCK] = DELETE_OWNED("block_list"),
	[PG_DEL_LAST] = DELETE_OWNED("last_activity"),

	/* $1: the owner's key (pgsql_conn.c owner_key), held to the end of
	 * the transaction. */
	[PG_OWNER_LOCK] = "SELECT pg_advisory_xact_lock($1::bigint)",

	[PG_ROSTER_VERSION_GET] = "SELECT ver, low_water FROM roster_version WHERE " OWNER,
	[PG_ROSTER_VERSION_BUMP] = "INSERT INTO roster_version (domain, localpart, ver) "
	    "VALUES ($1, $2, 1) ON CONFLICT (domain, localpart) "
	    "DO UPDATE SET ver = roster_version.ver + 1 RETURNING ver",
	[PG_ROSTER_ITEMS_ALL] = "SELECT " ITEM_COLUMNS " FROM roster_items WHERE " OWNER
	    " AND NOT removed ORDER BY contact",
	[PG_ROSTER_ITEMS_SINCE] = "SELECT " ITEM_COLUMNS " FROM roster_items WHERE " OWNER
	    " AND ver > $3::bigint ORDER BY contact",
	[PG_ROSTER_ITEM_GET] = "SELECT " ITEM_COLUMNS " FROM roster_items WHERE " OWNER
	    " AND contact = $3 AND NOT removed",
	[PG_ROSTER_ITEM_PUT] = "INSERT INTO roster_items "
	    "(domain, localpart, contact, name, subscription, ask, removed, ver) "
	    "VALUES ($1, $2, $3, $4, $5, $6::boolean, false, $7::bigint) "
	    "ON CONFLICT (domain, localpart, contact) DO UPDATE SET name = excluded.name, "
	    "subscription = excluded.subscription, ask = excluded.ask, removed = false, "
	    "ver = excluded.ver",
	[PG_ROSTER_ITEM_TOMBSTONE] = "UPDATE roster_items SET name = NULL, "
	    "subscription = 'none', ask = false, removed = true, ver = $4::bigint "
	    "WHERE " OWNER " AND contact = $3 AND NOT removed",
	[PG_ROSTER_GROUPS_ALL] = "SELECT contact, name FROM roster_groups WHERE " OWNER
	    " ORDER BY contact, name",
	[PG_ROSTER_GROUPS_ITEM] = "SELECT name FROM roster_groups WHERE " OWNER
	    " AND contact = $3 ORDER BY name",
	[PG_ROSTER_GROUPS_DELETE] = "DELETE FROM roster_groups WHERE " OWNER " AND contact = $3",
	[PG_ROSTER_GROUP_ADD] = "INSERT INTO roster_groups (domain, localpart, contact, name) "
	    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
	[PG_ROSTER_TOMBSTONE_NTH] = "SELECT ver FROM roster_items WHERE " OWNER
	    " AND removed ORDER BY ver DESC LIMIT 1 OFFSET $3::bigint",
	[PG_ROSTER_TOMBSTONES_PRUNE] = "DELETE FROM roster_items WHERE " OWNER
	    " AND removed AND ver <= $3::bigint",
	[PG_ROSTER_LOW_WATER_SET] = "UPDATE roster_version SET low_water = $3::bigint WHERE "
	    OWNER,

	[PG_SUBREQ_PUT] = "INSERT INTO subscription_requests (domain, localpart, contact, stanza) "
	    "VALUES ($1, $2, $3, $4) ON CONFLICT (domain, localpart, contact) "
	    "DO UPDATE SET stanza = excluded.stanza",
	[PG_SUBREQ_EXISTS] = "SELECT 1 FROM subscription_requests WHERE " OWNER
	    " AND contact = $3",
	[PG_SUBREQ_DELETE] = "DELETE FROM subscription_requests WHERE " OWNER " AND contact = $3",
	[PG_SUBREQ_LIST] = "SELECT contact, stanza FROM subscription_requests WHERE " OWNER
	    " ORDER BY id",

	[PG_OFFLINE_COUNT] = "SELECT count(*) FROM offline_messages WHERE " OWNER,
	[PG_OFFLINE_FIND] = "SELECT count(*) FROM offline_messages WHERE " OWNER " AND stanza = $3",
	[PG_OFFLINE_STORE] = "INSERT INTO offline_messages (domain, localpart, stanza) "
	    "VALUES ($1, $2, $3)",
	[PG_OFFLINE_LIST] = "SELECT id, stanza FROM offline_messages WHERE " OWNER " ORDER BY id",
	[PG_OFFLINE_DELETE_UPTO] = "DELETE FROM offline_messages WHERE " OWNER
	    " AND id <= $3::bigint",

	[PG_PRIVATE_GET] = "SELECT xml FROM private_xml WHERE " OWNER " AND key = $3",
	[PG_PRIVATE_SET] = "INSERT INTO private_xml (domain, localpart, key, xml) "
	    "VALUES ($1, $2, $3, $4) ON CONFLICT (domain, localpart, key) "
	    "DO UPDATE SET xml = excluded.xml",
	[PG_PRIVATE_DELETE] = "DELETE FROM private_xml WHERE " OWNER " AND key = $3",

	[PG_VCARD_GET] = "SELECT xml FROM vcards WHERE " OWNER,
	[PG_VCARD_SET] = "INSERT INTO vcards (domain, localpart, xml) VALUES ($1, $2, $3) "
	    "ON CONFLICT (domain, localpart) DO UPDATE SET xml = excluded.xml",

	[PG_BLOCK_LIST] = "SELECT jid FROM block_list WHERE " OWNER " ORDER BY jid",
	[PG_BLOCK_ADD] = "INSERT INTO block_list (domain, localpart, jid) VALUES ($1, $2, $3) "
	    "ON CONFLICT DO NOTHING",
	[PG_BLOCK_REMOVE] = "DELETE FROM block_list WHERE " OWNER " AND jid = $3",

	[PG_LAST_SET] = "INSERT INTO last_activity (domain, localpart, seconds, status) "
	    "VALUES ($1, $2, $3::bigint, $4) ON CONFLICT (domain, localpart) "
	    "DO UPDATE SET seconds = excluded.seconds, status = excluded.status",
	[PG_LAST_GET] = "SELECT seconds, status FROM last_activity WHERE " OWNER,
};
