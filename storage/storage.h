/*
 * storage.h — the storage driver interface: the one way Parley's processes
 * (auth, parleyctl, and later sm) keep data. A driver is chosen in the
 * configuration (storage.driver) and hidden behind struct storage; callers
 * never see SQL. doc/storage.md describes the interface and the schema.
 *
 * This first part holds what authreg needs: accounts and their SCRAM
 * secrets. Issue 5 adds roster, offline messages, vCards, private XML,
 * block lists and last activity as more operations of the same table of
 * driver functions (struct storage_driver, storage_driver.h); issue 7 adds
 * MySQL and PostgreSQL drivers behind it.
 *
 * Conventions: every call returns STORAGE_OK (0), STORAGE_ERROR (-1, with a
 * reason in err), or one of the "expected" outcomes below, which are not
 * errors and write no reason. Strings are UTF-8, stored and returned byte
 * for byte: callers prepare JID parts (nodeprep, nameprep) before they
 * come here. Calls are synchronous; the SQLite driver is fast enough for
 * auth's loop (one indexed row per call), and the network drivers of
 * issue 7 will run their queries off the loop.
 *
 * Must not: log (the caller logs once), or build SQL from user data.
 */
#ifndef PARLEY_STORAGE_H
#define PARLEY_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "scram_secrets.h"
#include "util.h"

enum storage_result {
	STORAGE_ERROR = -1,
	STORAGE_OK = 0,
	STORAGE_NOT_FOUND = 1,  /* no such user */
	STORAGE_EXISTS = 2,     /* create: the user exists already */
	STORAGE_FULL = 3,       /* offline_store: the user's quota is reached */
};

/* The secrets of one account: both hashes, as scram_secrets_format() writes
 * them (the drivers store the text form). */
struct storage_user_secrets {
	struct scram_secrets sha1;
	struct scram_secrets sha256;
};

struct storage;

/*
 * Open the driver the configuration names (storage.driver) and bring its
 * schema up to date (forward migrations run here, in a transaction).
 * Errors name the setting's FILE:LINE.
 */
int storage_open(struct storage **out, const struct conf *c, char *err, size_t errlen);
/* The "mysql" or "pgsql" driver with the settings of storage.sql in c
 * (storage_open calls it; the driver test suite too, with a driver name
 * of its own choosing). */
int storage_open_sql(struct storage **out, const char *driver, const struct conf *c, char *err,
    size_t errlen);
/* The SQLite driver on one file, created if missing (tests, tools). */
int storage_open_sqlite(struct storage **out, const char *path, char *err, size_t errlen);
void storage_close(struct storage **s);

/* Run as root, before storage_open: make sure the SQLite file exists and
 * belongs to sm's user and group (sm.user, else user: conf_user.h), with
 * any -wal and -shm file beside it, so the processes that drop to that user
 * can still write it (SQLite run as root gives its -wal and -shm files the
 * database's owner); data_dir too, when it holds the file and that user
 * cannot write there. Refuses, "FILE:LINE: setting: why", a user or group
 * that does not exist and sm and auth as two users (conf_check_store_user).
 * Does nothing for other drivers or when not root. */
int storage_prepare(const struct conf *c, char *err, size_t errlen);

/* Whether the driver talks to a server over a socket (mysql, pgsql): its
 * calls may take a network round trip, or much longer while the server is
 * away (storage.sql.hold). sm runs its stanza work on a thread of its own
 * then (sm/core.c). */
bool storage_is_remote(const struct storage *s);
/* Hooks run just before and just after every driver call, on the calling
 * thread: sm releases its big lock around the call so its loop keeps
 * serving meanwhile. NULLs: none (the default). */
void storage_set_call_hooks(struct storage *s, void (*leave)(void *arg), void (*back)(void *arg),
    void *arg);

/* "sqlite"… */
const char *storage_driver_name(const struct storage *s);
/* The schema version the database is at after storage_open. */
int storage_schema_version(const struct storage *s);

/* --- users ------------------------------------------------------------------ */

/* Create domain/localpart with its secrets: STORAGE_OK, STORAGE_EXISTS.
 * Whatever roster a deleted account of that name left goes in the same
 * transaction. */
int storage_user_create(struct storage *s, const char *domain, const char *localpart,
    const struct storage_user_secrets *secrets, char *err, size_t errlen);
/* The secrets for one hash into *out: STORAGE_OK, STORAGE_NOT_FOUND. */
int storage_user_get_secrets(struct storage *s, const char *domain, const char *localpart,
    enum scram_hash hash, struct scram_secrets *out, char *err, size_t errlen);
/* Replace both secrets (a password change): STORAGE_OK, STORAGE_NOT_FOUND. */
int storage_user_set_secrets(struct storage *s, const char *domain, const char *localpart,
    const struct storage_user_secrets *secrets, char *err, size_t errlen);
/* STORAGE_OK, STORAGE_NOT_FOUND (no users row). Everything else the user
 * owns but the roster (see the end of this file) is deleted in the same
 * transaction either way: with an external authentication backend sm
 * keeps data for users the users table never held. */
int storage_user_delete(struct storage *s, const char *domain, const char *localpart,
    char *err, size_t errlen);
/* STORAGE_OK (exists), STORAGE_NOT_FOUND. */
int storage_user_exists(struct storage *s, const char *domain, const char *localpart,
    char *err, size_t errlen);
/* Call `cb` for each user of `domain`, in byte order of the localpart; a
 * callback returning non-zero stops the walk (the call then returns
 * STORAGE_OK). */
typedef int (*storage_user_cb)(void *arg, const char *localpart);
int storage_user_list(struct storage *s, const char *domain, storage_user_cb cb, void *arg,
    char *err, size_t errlen);

/* --- roster (RFC 6121 §2) ------------------------------------------------------
 *
 * One row per (owner, contact): the owner's roster item for contact, with
 * the subscription state of RFC 6121 Appendix A. `ask` is "Pending Out"
 * (ask='subscribe' shown to the client); "Pending In" lives apart, in the
 * subscription requests below, because a request from someone not in the
 * roster must not make an item appear.
 *
 * Versioning (RFC 6121 §2.6): each owner has a roster version, a counter
 * that every change bumps; each item records the version that last changed
 * it. A removed item stays as a tombstone (`removed`) carrying the version
 * of its removal, so a client holding version V is sent exactly the items
 * changed or removed after V. Versions are decimal strings on the wire;
 * here they are int64, 0 meaning "nothing yet".
 */
enum storage_sub { STORAGE_SUB_NONE, STORAGE_SUB_TO, STORAGE_SUB_FROM, STORAGE_SUB_BOTH };

struct storage_roster_item {
	char *contact;              /* bare JID, prepared */
	char *name;                 /* NULL when none */
	enum storage_sub sub;
	bool ask;                   /* Pending Out */
	bool removed;               /* a tombstone (roster_get_since only) */
	int64_t ver;                /* the roster version that last changed it */
	char **groups;              /* ngroups names, each unique within the item */
	size_t ngroups;
};

/* Free what an item owns (not the item itself). */
void storage_roster_item_clear(struct storage_roster_item *item);
/* A list of items: free with storage_roster_list_free. */
struct storage_roster_list {
	struct storage_roster_item *items;
	size_t n;
	int64_t ver;                /* the owner's current roster version */
};
void storage_roster_list_free(struct storage_roster_list *l);

/* Every live item of the owner's roster, sorted by contact: STORAGE_OK
 * (an empty roster is OK with n = 0). */
int storage_roster_get(struct storage *s, const char *domain, const char *localpart,
    struct storage_roster_list *out, char *err, size_t errlen);
/* The items (live and tombstones) changed after version `since`, sorted by
 * contact: STORAGE_OK, or STORAGE_NOT_FOUND when `since` is not a version
 * this store can answer from (negative, newer than the current one, or
 * older than the owner's low-water mark: drivers keep at least
 * STORAGE_ROSTER_TOMBSTONES_KEPT (storage_driver.h) tombstones and may
 * prune older ones):
 * the caller then sends the whole roster. */
int storage_roster_get_since(struct storage *s, const char *domain, const char *localpart,
    int64_t since, struct storage_roster_list *out, char *err, size_t errlen);
/* One item into *out (live only): STORAGE_OK, STORAGE_NOT_FOUND. */
int storage_roster_get_item(struct storage *s, const char *domain, const char *localpart,
    const char *contact, struct storage_roster_item *out, char *err, size_t errlen);
/* Create or replace the item (name, sub, ask, groups; `removed` and `ver`
 * ignored) in one transaction that bumps the owner's version; the new
 * version into *ver. STORAGE_OK. */
int storage_roster_put(struct storage *s, const char *domain, const char *localpart,
    const struct storage_roster_item *item, int64_t *ver, char *err, size_t errlen);
/* Remove the item (leaving a tombstone), bumping the version into *ver:
 * STORAGE_OK, STORAGE_NOT_FOUND (no live item; nothing changes). */
int storage_roster_remove(struct storage *s, const char *domain, const char *localpart,
    const char *contact, int64_t *ver, char *err, size_t errlen);
/* A deleted user's roster — items, tombstones, groups, version and
 * subscription requests — all gone in one transaction: STORAGE_OK. */
int storage_roster_clear(struct storage *s, const char *domain, const char *localpart,
    char *err, size_t errlen);

/* --- subscription requests ("Pending In", RFC 6121 §3.1.3) ------------------------
 *
 * An inbound subscribe the owner has not answered, with the stanza it
 * came as (re-delivered at each login until answered). */
/* Record (or replace) the request from contact: STORAGE_OK. */
int storage_subreq_put(struct storage *s, const char *domain, const char *localpart,
    const char *contact, const char *stanza, char *err, size_t errlen);
/* STORAGE_OK (there is one), STORAGE_NOT_FOUND. */
int storage_subreq_exists(struct storage *s, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen);
/* STORAGE_OK, STORAGE_NOT_FOUND. */
int storage_subreq_delete(struct storage *s, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen);
/* Every request, oldest first (a replaced request keeps its place); cb
 * non-zero stops the walk. In every walk of this file the rows are read
 * before the first callback, so a callback may call the storage. */
typedef int (*storage_subreq_cb)(void *arg, const char *contact, const char *stanza);
int storage_subreq_list(struct storage *s, const char *domain, const char *localpart,
    storage_subreq_cb cb, void *arg, char *err, size_t errlen);

/* --- offline messages (XEP-0160) ----------------------------------------------- */

/* Store a message (its serialized stanza, with the XEP-0203 delay already
 * added by the caller) unless the owner holds `quota` messages already:
 * STORAGE_OK, STORAGE_FULL (nothing stored). quota 0 means no limit. The
 * count and the insert are one transaction. */
int storage_offline_store(struct storage *s, const char *domain, const char *localpart,
    const char *stanza, size_t quota, char *err, size_t errlen);
/* How many the owner has. */
int storage_offline_count(struct storage *s, const char *domain, const char *localpart,
    size_t *count, char *err, size_t errlen);
/* The owner's messages in the order they were stored, each with an id
 * that increases and is never handed out again (not even after every
 * message was deleted); cb non-zero stops the walk. */
typedef int (*storage_offline_cb)(void *arg, int64_t id, const char *stanza);
int storage_offline_list(struct storage *s, const char *domain, const char *localpart,
    storage_offline_cb cb, void *arg, char *err, size_t errlen);
/* Delete the owner's messages with id <= upto (those delivered). */
int storage_offline_delete_upto(struct storage *s, const char *domain, const char *localpart,
    int64_t upto, char *err, size_t errlen);

/* --- private XML storage (XEP-0049) ------------------------------------------
 *
 * Keyed by the child element's qualified name, "{namespace}name"; the
 * value is the serialized element. */
/* Into *out (malloc'd, the caller frees): STORAGE_OK, STORAGE_NOT_FOUND. */
int storage_private_get(struct storage *s, const char *domain, const char *localpart,
    const char *key, char **out, char *err, size_t errlen);
/* Replace the value under key; xml NULL deletes it. STORAGE_OK. */
int storage_private_set(struct storage *s, const char *domain, const char *localpart,
    const char *key, const char *xml, char *err, size_t errlen);

/* --- vCards (XEP-0054) ----------------------------------------------------------- */

/* The serialized <vCard/> into *out (malloc'd): STORAGE_OK, STORAGE_NOT_FOUND. */
int storage_vcard_get(struct storage *s, const char *domain, const char *localpart,
    char **out, char *err, size_t errlen);
/* Replace it; xml NULL deletes it. */
int storage_vcard_set(struct storage *s, const char *domain, const char *localpart,
    const char *xml, char *err, size_t errlen);

/* --- block list (XEP-0191) --------------------------------------------------------
 *
 * Items are JIDs as the XEP allows (bare, full, domain, domain/resource),
 * prepared, stored as strings. */
/* Every blocked JID, in byte order; cb non-zero stops the walk. */
typedef int (*storage_block_cb)(void *arg, const char *jid);
int storage_block_list(struct storage *s, const char *domain, const char *localpart,
    storage_block_cb cb, void *arg, char *err, size_t errlen);
/* Add every one of jids[0..n) (those already there stay), in one transaction. */
int storage_block_add(struct storage *s, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen);
/* Remove those of jids[0..n) (those not there are ignored), in one
 * transaction; n 0 removes every item (unblock all). */
int storage_block_remove(struct storage *s, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen);

/* --- last activity (XEP-0012) ------------------------------------------------------ */

/* When the user's last session ended (seconds since the epoch) and the
 * status of its last unavailable presence (may be ""; NULL is stored as
 * ""), replacing what was there. */
int storage_last_set(struct storage *s, const char *domain, const char *localpart,
    int64_t when, const char *status, char *err, size_t errlen);
/* STORAGE_OK (*status malloc'd), STORAGE_NOT_FOUND (never logged out). */
int storage_last_get(struct storage *s, const char *domain, const char *localpart,
    int64_t *when, char **status, char *err, size_t errlen);

/* storage_user_delete removes, in the same transaction, everything above
 * that the user owns (offline messages, private XML, vCard, block list,
 * last activity) but the roster and subscription requests: sm reads those
 * to tell the contacts (as if the user had removed every item, RFC 6121
 * §2.5.2) and then calls storage_roster_clear; storage_user_create clears
 * what a deletion sm never heard of left. The archive (XEP-0313) and PEP
 * (XEP-0163) will add their tables and operations the same way. */

/* Derive both secrets from a password (account creation, password change).
 * iterations 0 means SCRAM_DEFAULT_ITERATIONS. */
int storage_secrets_from_password(const char *password, unsigned iterations,
    struct storage_user_secrets *out, char *err, size_t errlen);

#endif
