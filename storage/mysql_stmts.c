/*
 * mysql_stmts.c — every statement the MySQL/MariaDB driver runs with
 * values, in one place, so a reviewer sees all of its SQL at once. Each is
 * prepared once per connection (mysql_exec.c) and takes its values as
 * bound `?` parameters, in the order the comment or the column list
 * gives; the owner's domain and localpart come first wherever the SQL
 * allows it. Nothing here is ever built from user data. The schema's DDL
 * is storage/schema/mysql.sql.
 */
#include "mysql_db.h"

#define OWNER "domain = ? AND localpart = ?"
#define DELETE_OWNED(table) "DELETE FROM " table " WHERE " OWNER

/* The advisory lock that serializes migrations, named for the database
 * (GET_LOCK names are server-wide and at most 64 characters). ?: seconds. */
#define SCHEMA_LOCK_NAME "CONCAT('parley-schema:', MD5(DATABASE()))"

const char *const msql_stmt_sql[MST_COUNT] = {
	[MST_SCHEMA_LOCK] = "SELECT GET_LOCK(" SCHEMA_LOCK_NAME ", ?)",
	[MST_SCHEMA_UNLOCK] = "SELECT RELEASE_LOCK(" SCHEMA_LOCK_NAME ")",
	[MST_SCHEMA_HAS_VERSION] = "SELECT COUNT(*) FROM information_schema.TABLES "
	    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'schema_version'",
	[MST_SCHEMA_VERSION] = "SELECT version FROM schema_version",

	[MST_USER_CREATE] = "INSERT INTO users (domain, localpart, scram_sha1, scram_sha256) "
	    "VALUES (?, ?, ?, ?)",
	[MST_USER_GET_SHA1] = "SELECT scram_sha1 FROM users WHERE " OWNER,
	[MST_USER_GET_SHA256] = "SELECT scram_sha256 FROM users WHERE " OWNER,
	/* sha1, sha256, owner */
	[MST_USER_SET] = "UPDATE users SET scram_sha1 = ?, scram_sha256 = ? WHERE " OWNER,
	[MST_USER_DELETE] = DELETE_OWNED("users"),
	[MST_USER_EXISTS] = "SELECT 1 FROM users WHERE " OWNER,
	[MST_USER_LIST] = "SELECT localpart FROM users WHERE domain = ? ORDER BY localpart",

	[MST_DEL_ROSTER_VERSION] = DELETE_OWNED("roster_version"),
	[MST_DEL_ROSTER_ITEMS] = DELETE_OWNED("roster_items"),
	[MST_DEL_ROSTER_GROUPS] = DELETE_OWNED("roster_groups"),
	[MST_DEL_SUBREQ] = DELETE_OWNED("subscription_requests"),
	[MST_DEL_OFFLINE] = DELETE_OWNED("offline_messages"),
	[MST_DEL_PRIVATE] = DELETE_OWNED("private_xml"),
	[MST_DEL_VCARD] = DELETE_OWNED("vcards"),
	[MST_DEL_BLOCK] = DELETE_OWNED("block_list"),
	[MST_DEL_LAST] = DELETE_OWNED("last_activity"),

	[MST_ROSTER_VERSION_GET] = "SELECT ver, low_water FROM roster_version WHERE " OWNER,
	/* The owner's roster changes queue up on this row lock. */
	[MST_ROSTER_VERSION_LOCK] = "SELECT ver FROM roster_version WHERE " OWNER " FOR UPDATE",
	[MST_ROSTER_VERSION_BUMP] = "INSERT INTO roster_version (domain, localpart, ver) "
	    "VALUES (?, ?, 1) ON DUPLICATE KEY UPDATE ver = ver + 1",
	[MST_ROSTER_ITEMS_ALL] = "SELECT contact, name, subscription, ask, removed, ver "
	    "FROM roster_items WHERE " OWNER " AND removed = 0 ORDER BY contact",
	/* owner, since */
	[MST_ROSTER_ITEMS_SINCE] = "SELECT contact, name, subscription, ask, removed, ver "
	    "FROM roster_items WHERE " OWNER " AND ver > ? ORDER BY contact",
	/* owner, contact */
	[MST_ROSTER_ITEM_GET] = "SELECT contact, name, subscription, ask, removed, ver "
	    "FROM roster_items WHERE " OWNER " AND contact = ? AND removed = 0",
	[MST_ROSTER_ITEM_LOCK] = "SELECT removed FROM roster_items WHERE " OWNER
	    " AND contact = ? FOR UPDATE",
	/* owner, contact, name, subscription, ask, ver */
	[MST_ROSTER_ITEM_PUT] = "REPLACE INTO roster_items "
	    "(domain, localpart, contact, name, subscription, ask, removed, ver) "
	    "VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
	/* ver, owner, contact */
	[MST_ROSTER_ITEM_TOMBSTONE] = "UPDATE roster_items SET name = NULL, "
	    "subscription = 'none', ask = 0, removed = 1, ver = ? "
	    "WHERE " OWNER " AND contact = ? AND removed = 0",
	/* Groups in the order they were given (the id). */
	[MST_ROSTER_GROUPS_ALL] = "SELECT contact, name FROM roster_groups WHERE " OWNER
	    " ORDER BY contact, id",
	[MST_ROSTER_GROUPS_ITEM] = "SELECT name FROM roster_groups WHERE " OWNER
	    " AND contact = ? ORDER BY id",
	[MST_ROSTER_GROUPS_DELETE] = "DELETE FROM roster_groups WHERE " OWNER " AND contact = ?",
	/* owner, contact, name */
	[MST_ROSTER_GROUP_ADD] = "INSERT INTO roster_groups (domain, localpart, contact, name) "
	    "VALUES (?, ?, ?, ?)",
	/* owner, how many to skip */
	[MST_ROSTER_TOMBSTONE_NTH] = "SELECT ver FROM roster_items WHERE " OWNER
	    " AND removed = 1 ORDER BY ver DESC LIMIT 1 OFFSET ?",
	/* owner, ver */
	[MST_ROSTER_TOMBSTONES_PRUNE] = "DELETE FROM roster_items WHERE " OWNER
	    " AND removed = 1 AND ver <= ?",
	/* low_water, owner */
	[MST_ROSTER_LOW_WATER_SET] = "UPDATE roster_version SET low_water = ? WHERE " OWNER,

	/* owner, contact, stanza, stanza again: a replaced request keeps its
	 * id, and so its place. */
	[MST_SUBREQ_PUT] = "INSERT INTO subscription_requests (domain, localpart, contact, stanza) "
	    "VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE stanza = ?",
	[MST_SUBREQ_EXISTS] = "SELECT 1 FROM subscription_requests WHERE " OWNER
	    " AND contact = ?",
	[MST_SUBREQ_DELETE] = "DELETE FROM subscription_requests WHERE " OWNER " AND contact = ?",
	[MST_SUBREQ_LIST] = "SELECT contact, stanza FROM subscription_requests WHERE " OWNER
	    " ORDER BY id",

	/* A locking read: it counts the rows as they are now, not as an older
	 * snapshot saw them, and locks the owner's range of the index until
	 * the transaction ends, so two stores for one owner cannot both count
	 * the last free place. (Two stores meeting on an empty range may
	 * deadlock instead; the loser is run again, mysql_conn.c.) */
	[MST_OFFLINE_COUNT_LOCK] = "SELECT COUNT(*) FROM offline_messages WHERE " OWNER
	    " FOR UPDATE",
	[MST_OFFLINE_COUNT] = "SELECT COUNT(*) FROM offline_messages WHERE " OWNER,
	[MST_OFFLINE_FIND] = "SELECT COUNT(*) FROM offline_messages WHERE " OWNER " AND stanza = ?",
	[MST_OFFLINE_STORE] = "INSERT INTO offline_messages (domain, localpart, stanza) "
	    "VALUES (?, ?, ?)",
	[MST_OFFLINE_LIST] = "SELECT id, stanza FROM offline_messages WHERE " OWNER
	    " ORDER BY id",
	/* owner, upto */
	[MST_OFFLINE_DELETE_UPTO] = "DELETE FROM offline_messages WHERE " OWNER " AND id <= ?",

	/* owner, key (, xml) */
	[MST_PRIVATE_GET] = "SELECT xml FROM private_xml WHERE " OWNER " AND qname = ?",
	[MST_PRIVATE_SET] = "REPLACE INTO private_xml (domain, localpart, qname, xml) "
	    "VALUES (?, ?, ?, ?)",
	[MST_PRIVATE_DELETE] = "DELETE FROM private_xml WHERE " OWNER " AND qname = ?",

	[MST_VCARD_GET] = "SELECT xml FROM vcards WHERE " OWNER,
	[MST_VCARD_SET] = "REPLACE INTO vcards (domain, localpart, xml) VALUES (?, ?, ?)",

	[MST_BLOCK_LIST] = "SELECT jid FROM block_list WHERE " OWNER " ORDER BY jid",
	/* Not INSERT IGNORE: that would also turn "too long" into a warning
	 * and store a cut JID. */
	[MST_BLOCK_ADD] = "INSERT INTO block_list (domain, localpart, jid) VALUES (?, ?, ?) "
	    "ON DUPLICATE KEY UPDATE jid = jid",
	[MST_BLOCK_REMOVE] = "DELETE FROM block_list WHERE " OWNER " AND jid = ?",

	/* owner, seconds, status */
	[MST_LAST_SET] = "REPLACE INTO last_activity (domain, localpart, seconds, status) "
	    "VALUES (?, ?, ?, ?)",
	[MST_LAST_GET] = "SELECT seconds, status FROM last_activity WHERE " OWNER,
};
