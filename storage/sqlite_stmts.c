/*
 * sqlite_stmts.c — every statement the SQLite driver runs, in one place,
 * so a reviewer sees all of its SQL at once. Each is prepared once at
 * open (sqlite.c) and takes its values as bound parameters: ?1 is always
 * the owner's domain and ?2 its localpart. Nothing here is ever built
 * from user data.
 */
#include "sqlite_db.h"

#define OWNER "domain = ?1 AND localpart = ?2"
#define DELETE_OWNED(table) "DELETE FROM " table " WHERE " OWNER

const char *const sqlite_stmt_sql[ST_COUNT] = {
	[ST_USER_CREATE] = "INSERT INTO users (domain, localpart, scram_sha1, scram_sha256) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[ST_USER_GET_SHA1] = "SELECT scram_sha1 FROM users WHERE " OWNER,
	[ST_USER_GET_SHA256] = "SELECT scram_sha256 FROM users WHERE " OWNER,
	[ST_USER_SET] = "UPDATE users SET scram_sha1 = ?3, scram_sha256 = ?4 WHERE " OWNER,
	[ST_USER_DELETE] = DELETE_OWNED("users"),
	[ST_USER_EXISTS] = "SELECT 1 FROM users WHERE " OWNER,
	[ST_USER_LIST] = "SELECT localpart FROM users WHERE domain = ?1 ORDER BY localpart",

	[ST_DEL_ROSTER_VERSION] = DELETE_OWNED("roster_version"),
	[ST_DEL_ROSTER_ITEMS] = DELETE_OWNED("roster_items"),
	[ST_DEL_ROSTER_GROUPS] = DELETE_OWNED("roster_groups"),
	[ST_DEL_SUBREQ] = DELETE_OWNED("subscription_requests"),
	[ST_DEL_OFFLINE] = DELETE_OWNED("offline_messages"),
	[ST_DEL_PRIVATE] = DELETE_OWNED("private_xml"),
	[ST_DEL_VCARD] = DELETE_OWNED("vcards"),
	[ST_DEL_BLOCK] = DELETE_OWNED("block_list"),
	[ST_DEL_LAST] = DELETE_OWNED("last_activity"),

	[ST_ROSTER_VERSION_GET] = "SELECT ver, low_water FROM roster_version WHERE " OWNER,
	[ST_ROSTER_VERSION_BUMP] = "INSERT INTO roster_version (domain, localpart, ver) "
	    "VALUES (?1, ?2, 1) ON CONFLICT (domain, localpart) DO UPDATE SET ver = ver + 1",
	[ST_ROSTER_ITEMS_ALL] = "SELECT contact, name, subscription, ask, removed, ver "
	    "FROM roster_items WHERE " OWNER " AND removed = 0 ORDER BY contact",
	[ST_ROSTER_ITEMS_SINCE] = "SELECT contact, name, subscription, ask, removed, ver "
	    "FROM roster_items WHERE " OWNER " AND ver > ?3 ORDER BY contact",
	[ST_ROSTER_ITEM_GET] = "SELECT contact, name, subscription, ask, removed, ver "
	    "FROM roster_items WHERE " OWNER " AND contact = ?3 AND removed = 0",
	[ST_ROSTER_ITEM_PUT] = "INSERT OR REPLACE INTO roster_items "
	    "(domain, localpart, contact, name, subscription, ask, removed, ver) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
	[ST_ROSTER_ITEM_TOMBSTONE] = "UPDATE roster_items SET name = NULL, "
	    "subscription = 'none', ask = 0, removed = 1, ver = ?4 "
	    "WHERE " OWNER " AND contact = ?3 AND removed = 0",
	[ST_ROSTER_GROUPS_ALL] = "SELECT contact, name FROM roster_groups WHERE " OWNER
	    " ORDER BY contact, name",
	[ST_ROSTER_GROUPS_ITEM] = "SELECT name FROM roster_groups WHERE " OWNER
	    " AND contact = ?3 ORDER BY name",
	[ST_ROSTER_GROUPS_DELETE] = "DELETE FROM roster_groups WHERE " OWNER " AND contact = ?3",
	[ST_ROSTER_GROUP_ADD] = "INSERT OR IGNORE INTO roster_groups "
	    "(domain, localpart, contact, name) VALUES (?1, ?2, ?3, ?4)",
	[ST_ROSTER_TOMBSTONE_NTH] = "SELECT ver FROM roster_items WHERE " OWNER
	    " AND removed = 1 ORDER BY ver DESC LIMIT 1 OFFSET ?3",
	[ST_ROSTER_TOMBSTONES_PRUNE] = "DELETE FROM roster_items WHERE " OWNER
	    " AND removed = 1 AND ver <= ?3",
	[ST_ROSTER_LOW_WATER_SET] = "UPDATE roster_version SET low_water = ?3 WHERE " OWNER,

	[ST_SUBREQ_PUT] = "INSERT INTO subscription_requests (domain, localpart, contact, stanza) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (domain, localpart, contact) "
	    "DO UPDATE SET stanza = excluded.stanza",
	[ST_SUBREQ_EXISTS] = "SELECT 1 FROM subscription_requests WHERE " OWNER
	    " AND contact = ?3",
	[ST_SUBREQ_DELETE] = "DELETE FROM subscription_requests WHERE " OWNER " AND contact = ?3",
	[ST_SUBREQ_LIST] = "SELECT contact, stanza FROM subscription_requests WHERE " OWNER
	    " ORDER BY id",

	[ST_OFFLINE_COUNT] = "SELECT count(*) FROM offline_messages WHERE " OWNER,
	[ST_OFFLINE_STORE] = "INSERT INTO offline_messages (domain, localpart, stanza) "
	    "VALUES (?1, ?2, ?3)",
	[ST_OFFLINE_LIST] = "SELECT id, stanza FROM offline_messages WHERE " OWNER " ORDER BY id",
	[ST_OFFLINE_DELETE_UPTO] = "DELETE FROM offline_messages WHERE " OWNER " AND id <= ?3",

	[ST_PRIVATE_GET] = "SELECT xml FROM private_xml WHERE " OWNER " AND key = ?3",
	[ST_PRIVATE_SET] = "INSERT OR REPLACE INTO private_xml (domain, localpart, key, xml) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[ST_PRIVATE_DELETE] = "DELETE FROM private_xml WHERE " OWNER " AND key = ?3",

	[ST_VCARD_GET] = "SELECT xml FROM vcards WHERE " OWNER,
	[ST_VCARD_SET] = "INSERT OR REPLACE INTO vcards (domain, localpart, xml) "
	    "VALUES (?1, ?2, ?3)",

	[ST_BLOCK_LIST] = "SELECT jid FROM block_list WHERE " OWNER " ORDER BY jid",
	[ST_BLOCK_ADD] = "INSERT OR IGNORE INTO block_list (domain, localpart, jid) "
	    "VALUES (?1, ?2, ?3)",
	[ST_BLOCK_REMOVE] = "DELETE FROM block_list WHERE " OWNER " AND jid = ?3",

	[ST_LAST_SET] = "INSERT OR REPLACE INTO last_activity (domain, localpart, seconds, status) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[ST_LAST_GET] = "SELECT seconds, status FROM last_activity WHERE " OWNER,
};
