/*
 * storage.c — the storage interface's front: picks the driver the
 * configuration names, converts SCRAM secrets to and from the text form
 * the drivers keep, and dispatches each call to the driver's table. It
 * holds no SQL and no driver state (storage_driver.h, sqlite.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "conf_user.h"
#include "sql_server.h"
#include "storage.h"
#include "storage_driver.h"

struct storage {
	const struct storage_driver *driver;
	void *db;
	/* Around each driver call of a network driver (storage_set_call_hooks). */
	void (*leave)(void *arg);
	void (*back)(void *arg);
	void *hook_arg;
};

/* `return back(s, (leave(s), s->driver->op(...)));` runs the driver's call
 * between the caller's hooks: sm lets its loop run meanwhile. */
static void leave(struct storage *s)
{
	if (s->leave != NULL)
		s->leave(s->hook_arg);
}

static int back(struct storage *s, int rc)
{
	if (s->back != NULL)
		s->back(s->hook_arg);
	return rc;
}

/* A walk's callbacks run caller code, between the hooks: the driver calls
 * them from inside its call, so each one is bracketed the other way round
 * (back before, leave after). */
struct walk {
	struct storage *s;
	union {
		storage_user_cb user;
		storage_subreq_cb subreq;
		storage_offline_cb offline;
		storage_block_cb block;
	} cb;
	void *arg;
};

static int user_walk(void *arg, const char *localpart)
{
	struct walk *w = arg;
	int rc;

	(void)back(w->s, 0);
	rc = w->cb.user(w->arg, localpart);
	leave(w->s);
	return rc;
}

static int subreq_walk(void *arg, const char *contact, const char *stanza)
{
	struct walk *w = arg;
	int rc;

	(void)back(w->s, 0);
	rc = w->cb.subreq(w->arg, contact, stanza);
	leave(w->s);
	return rc;
}

static int offline_walk(void *arg, int64_t id, const char *stanza)
{
	struct walk *w = arg;
	int rc;

	(void)back(w->s, 0);
	rc = w->cb.offline(w->arg, id, stanza);
	leave(w->s);
	return rc;
}

static int block_walk(void *arg, const char *jid)
{
	struct walk *w = arg;
	int rc;

	(void)back(w->s, 0);
	rc = w->cb.block(w->arg, jid);
	leave(w->s);
	return rc;
}

void storage_set_call_hooks(struct storage *s, void (*leave_fn)(void *), void (*back_fn)(void *),
    void *arg)
{
	s->leave = leave_fn;
	s->back = back_fn;
	s->hook_arg = arg;
}

bool storage_is_remote(const struct storage *s)
{
	return s->driver != &storage_sqlite_driver;
}

static struct storage *wrap(const struct storage_driver *driver, void *db)
{
	struct storage *s = xcalloc(1, sizeof(*s));
	s->driver = driver;
	s->db = db;
	return s;
}

int storage_open_sqlite(struct storage **out, const char *path, char *err, size_t errlen)
{
	void *db = NULL;

	*out = NULL;
	if (storage_sqlite_open(&db, path, err, errlen) < 0)
		return STORAGE_ERROR;
	*out = wrap(&storage_sqlite_driver, db);
	return STORAGE_OK;
}

int storage_open(struct storage **out, const struct conf *c, char *err, size_t errlen)
{
	const char *driver = conf_str(c, "storage.driver");

	*out = NULL;
	if (strcmp(driver, "sqlite") == 0) {
		const char *path = conf_str(c, "storage.sqlite.path");
		char why[ERRLEN];
		if (storage_open_sqlite(out, path, why, sizeof(why)) < 0)
			return errf(err, errlen, "%s: storage.sqlite.path: %s",
			    conf_where(c, "storage.sqlite.path"), why);
		return STORAGE_OK;
	}
	return storage_open_sql(out, driver, c, err, errlen);
}

int storage_open_sql(struct storage **out, const char *driver, const struct conf *c, char *err,
    size_t errlen)
{
	struct sql_server srv;
	const struct storage_driver *table = NULL;
	int (*open_fn)(void **, const struct sql_server *, char *, size_t) = NULL;
	void *db = NULL;
	char why[ERRLEN], where[160];
	int rc;

	*out = NULL;
#ifdef HAVE_PGSQL
	if (strcmp(driver, "pgsql") == 0) {
		table = &storage_pgsql_driver;
		open_fn = storage_pgsql_open;
	}
#endif
#ifdef HAVE_MYSQL
	if (strcmp(driver, "mysql") == 0) {
		table = &storage_mysql_driver;
		open_fn = storage_mysql_open;
	}
#endif
	if (table == NULL)
		return errf(err, errlen, "%s: storage.driver: the \"%s\" driver was not built "
		    "(configure found no client library for it)", conf_where(c, "storage.driver"),
		    driver);
	if (sql_server_from_conf(&srv, c, "storage.sql", err, errlen) < 0)
		return STORAGE_ERROR;
	rc = open_fn(&db, &srv, why, sizeof(why));
	if (rc < 0)
		errf(err, errlen, "%s: storage.sql: %s driver, %s: %s", conf_where(c,
	    "storage.sql"),
		    driver, sql_server_describe(&srv, where, sizeof(where)), why);
	sql_server_clear(&srv);
	if (rc < 0)
		return STORAGE_ERROR;
	*out = wrap(table, db);
	return STORAGE_OK;
}

void storage_close(struct storage **s)
{
	if (s == NULL || *s == NULL)
		return;
	(*s)->driver->close((*s)->db);
	free(*s);
	*s = NULL;
}

const char *storage_driver_name(const struct storage *s)
{
	return s->driver->name;
}

int storage_schema_version(const struct storage *s)
{
	return s->driver->schema_version(s->db);
}

/* --- users ------------------------------------------------------------------ */

static int format_pair(const struct storage_user_secrets *secrets, char *sha1, char *sha256,
    char *err, size_t errlen)
{
	if (secrets->sha1.hash != SCRAM_HASH_SHA1 || secrets->sha256.hash != SCRAM_HASH_SHA256)
		return errf(err, errlen, "secrets of the wrong hash");
	if (scram_secrets_format(&secrets->sha1, sha1, SCRAM_SECRETS_TEXT_MAX, err, errlen) < 0 ||
	    scram_secrets_format(&secrets->sha256, sha256, SCRAM_SECRETS_TEXT_MAX, err, errlen) < 0)
		return -1;
	return 0;
}

int storage_user_create(struct storage *s, const char *domain, const char *localpart,
    const struct storage_user_secrets *secrets, char *err, size_t errlen)
{
	char sha1[SCRAM_SECRETS_TEXT_MAX], sha256[SCRAM_SECRETS_TEXT_MAX];

	if (format_pair(secrets, sha1, sha256, err, errlen) < 0)
		return STORAGE_ERROR;
	return back(s, (leave(s), s->driver->user_create(s->db, domain, localpart, sha1, sha256,
	    err, errlen)));
}

int storage_user_get_secrets(struct storage *s, const char *domain, const char *localpart,
    enum scram_hash hash, struct scram_secrets *out, char *err, size_t errlen)
{
	char text[SCRAM_SECRETS_TEXT_MAX];
	char why[ERRLEN];

	int rc = back(s, (leave(s), s->driver->user_get_secret(s->db, domain, localpart, hash, text,
	    sizeof(text), err, errlen)));
	if (rc != STORAGE_OK)
		return rc;
	if (scram_secrets_parse(text, out, why, sizeof(why)) < 0 || out->hash != hash) {
		explicit_bzero(text, sizeof(text));
		return errf(err, errlen, "the stored %s secret of %s@%s is unusable: %s",
		    scram_hash_mechanism(hash), localpart, domain, why);
	}
	explicit_bzero(text, sizeof(text));
	return STORAGE_OK;
}

int storage_user_set_secrets(struct storage *s, const char *domain, const char *localpart,
    const struct storage_user_secrets *secrets, char *err, size_t errlen)
{
	char sha1[SCRAM_SECRETS_TEXT_MAX], sha256[SCRAM_SECRETS_TEXT_MAX];

	if (format_pair(secrets, sha1, sha256, err, errlen) < 0)
		return STORAGE_ERROR;
	return back(s, (leave(s), s->driver->user_set_secrets(s->db, domain, localpart, sha1,
	    sha256, err, errlen)));
}

int storage_user_delete(struct storage *s, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->user_delete(s->db, domain, localpart, err, errlen)));
}

int storage_user_exists(struct storage *s, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->user_exists(s->db, domain, localpart, err, errlen)));
}

int storage_user_list(struct storage *s, const char *domain, storage_user_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct walk w = { .s = s, .cb.user = cb, .arg = arg };

	if (s->leave == NULL)
		return s->driver->user_list(s->db, domain, cb, arg, err, errlen);
	return back(s, (leave(s), s->driver->user_list(s->db, domain, user_walk, &w, err, errlen)));
}

/* --- roster ------------------------------------------------------------------ */

void storage_roster_item_clear(struct storage_roster_item *item)
{
	if (item == NULL)
		return;
	free(item->contact);
	free(item->name);
	for (size_t i = 0; i < item->ngroups; i++)
		free(item->groups[i]);
	free(item->groups);
	memset(item, 0, sizeof(*item));
}

void storage_roster_list_free(struct storage_roster_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		storage_roster_item_clear(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

int storage_roster_get(struct storage *s, const char *domain, const char *localpart,
    struct storage_roster_list *out, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->roster_get(s->db, domain, localpart, out, err,
	    errlen)));
}

int storage_roster_get_since(struct storage *s, const char *domain, const char *localpart,
    int64_t since, struct storage_roster_list *out, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->roster_get_since(s->db, domain, localpart, since, out,
	    err, errlen)));
}

int storage_roster_get_item(struct storage *s, const char *domain, const char *localpart,
    const char *contact, struct storage_roster_item *out, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->roster_get_item(s->db, domain, localpart, contact, out,
	    err, errlen)));
}

/* What no driver should have to check: an item a caller built wrongly is
 * refused here, before any change. */
static int item_valid(const struct storage_roster_item *item, char *err, size_t errlen)
{
	if (item->contact == NULL || item->contact[0] == '\0')
		return errf(err, errlen, "a roster item without a contact");
	if ((int)item->sub < STORAGE_SUB_NONE || item->sub > STORAGE_SUB_BOTH)
		return errf(err, errlen, "roster item %s: subscription state %d is not one of "
		    "none, to, from, both", item->contact, (int)item->sub);
	if (item->ngroups > 0 && item->groups == NULL)
		return errf(err, errlen, "roster item %s: %zu groups but no names",
		    item->contact, item->ngroups);
	for (size_t i = 0; i < item->ngroups; i++)
		if (item->groups[i] == NULL)
			return errf(err, errlen, "roster item %s: group %zu has no name",
			    item->contact, i);
	return 0;
}

int storage_roster_put(struct storage *s, const char *domain, const char *localpart,
    const struct storage_roster_item *item, int64_t *ver, char *err, size_t errlen)
{
	if (item_valid(item, err, errlen) < 0)
		return STORAGE_ERROR;
	return back(s, (leave(s), s->driver->roster_put(s->db, domain, localpart, item, ver, err,
	    errlen)));
}

int storage_roster_remove(struct storage *s, const char *domain, const char *localpart,
    const char *contact, int64_t *ver, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->roster_remove(s->db, domain, localpart, contact, ver,
	    err, errlen)));
}

int storage_roster_clear(struct storage *s, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->roster_clear(s->db, domain, localpart, err, errlen)));
}

/* --- subscription requests ------------------------------------------------------ */

int storage_subreq_put(struct storage *s, const char *domain, const char *localpart,
    const char *contact, const char *stanza, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->subreq_put(s->db, domain, localpart, contact,
	    stanza != NULL ? stanza :
	    "", err, errlen)));
}

int storage_subreq_exists(struct storage *s, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->subreq_exists(s->db, domain, localpart, contact, err,
	    errlen)));
}

int storage_subreq_delete(struct storage *s, const char *domain, const char *localpart,
    const char *contact, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->subreq_delete(s->db, domain, localpart, contact, err,
	    errlen)));
}

int storage_subreq_list(struct storage *s, const char *domain, const char *localpart,
    storage_subreq_cb cb, void *arg, char *err, size_t errlen)
{
	struct walk w = { .s = s, .cb.subreq = cb, .arg = arg };

	if (s->leave == NULL)
		return s->driver->subreq_list(s->db, domain, localpart, cb, arg, err, errlen);
	return back(s, (leave(s), s->driver->subreq_list(s->db, domain, localpart, subreq_walk, &w, err,
	    errlen)));
}

/* --- offline messages ---------------------------------------------------------- */

int storage_offline_store(struct storage *s, const char *domain, const char *localpart,
    const char *stanza, size_t quota, char *err, size_t errlen)
{
	if (stanza == NULL)
		return errf(err, errlen, "an offline message for %s@%s without a stanza",
		    localpart, domain);
	return back(s, (leave(s), s->driver->offline_store(s->db, domain, localpart, stanza, quota,
	    err, errlen)));
}

int storage_offline_count(struct storage *s, const char *domain, const char *localpart,
    size_t *count, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->offline_count(s->db, domain, localpart, count, err,
	    errlen)));
}

int storage_offline_list(struct storage *s, const char *domain, const char *localpart,
    storage_offline_cb cb, void *arg, char *err, size_t errlen)
{
	struct walk w = { .s = s, .cb.offline = cb, .arg = arg };

	if (s->leave == NULL)
		return s->driver->offline_list(s->db, domain, localpart, cb, arg, err, errlen);
	return back(s, (leave(s), s->driver->offline_list(s->db, domain, localpart, offline_walk, &w, err,
	    errlen)));
}

int storage_offline_delete_upto(struct storage *s, const char *domain, const char *localpart,
    int64_t upto, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->offline_delete_upto(s->db, domain, localpart, upto,
	    err, errlen)));
}

/* --- private XML, vCards -------------------------------------------------------- */

int storage_private_get(struct storage *s, const char *domain, const char *localpart,
    const char *key, char **out, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->private_get(s->db, domain, localpart, key, out, err,
	    errlen)));
}

int storage_private_set(struct storage *s, const char *domain, const char *localpart,
    const char *key, const char *xml, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->private_set(s->db, domain, localpart, key, xml, err,
	    errlen)));
}

int storage_vcard_get(struct storage *s, const char *domain, const char *localpart,
    char **out, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->vcard_get(s->db, domain, localpart, out, err,
	    errlen)));
}

int storage_vcard_set(struct storage *s, const char *domain, const char *localpart,
    const char *xml, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->vcard_set(s->db, domain, localpart, xml, err,
	    errlen)));
}

/* --- block list ------------------------------------------------------------------ */

static int jids_valid(const char *const *jids, size_t n, char *err, size_t errlen)
{
	if (n > 0 && jids == NULL)
		return errf(err, errlen, "%zu JIDs to block or unblock but no list", n);
	for (size_t i = 0; i < n; i++)
		if (jids[i] == NULL)
			return errf(err, errlen, "JID %zu of the block list change is missing", i);
	return 0;
}

int storage_block_list(struct storage *s, const char *domain, const char *localpart,
    storage_block_cb cb, void *arg, char *err, size_t errlen)
{
	struct walk w = { .s = s, .cb.block = cb, .arg = arg };

	if (s->leave == NULL)
		return s->driver->block_list(s->db, domain, localpart, cb, arg, err, errlen);
	return back(s, (leave(s), s->driver->block_list(s->db, domain, localpart, block_walk, &w, err,
	    errlen)));
}

int storage_block_add(struct storage *s, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen)
{
	if (jids_valid(jids, n, err, errlen) < 0)
		return STORAGE_ERROR;
	return back(s, (leave(s), s->driver->block_add(s->db, domain, localpart, jids, n, err,
	    errlen)));
}

int storage_block_remove(struct storage *s, const char *domain, const char *localpart,
    const char *const *jids, size_t n, char *err, size_t errlen)
{
	if (jids_valid(jids, n, err, errlen) < 0)
		return STORAGE_ERROR;
	return back(s, (leave(s), s->driver->block_remove(s->db, domain, localpart, jids, n, err,
	    errlen)));
}

/* --- last activity ---------------------------------------------------------------- */

int storage_last_set(struct storage *s, const char *domain, const char *localpart,
    int64_t when, const char *status, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->last_set(s->db, domain, localpart, when,
	    status != NULL ? status : "",
	    err, errlen)));
}

int storage_last_get(struct storage *s, const char *domain, const char *localpart,
    int64_t *when, char **status, char *err, size_t errlen)
{
	return back(s, (leave(s), s->driver->last_get(s->db, domain, localpart, when, status, err,
	    errlen)));
}

int storage_secrets_from_password(const char *password, unsigned iterations,
    struct storage_user_secrets *out, char *err, size_t errlen)
{
	if (scram_secrets_from_password(SCRAM_HASH_SHA1, password, iterations, NULL, 0,
	    &out->sha1, err, errlen) < 0 ||
	    scram_secrets_from_password(SCRAM_HASH_SHA256, password, iterations, NULL, 0,
	    &out->sha256, err, errlen) < 0)
		return -1;
	return 0;
}

/* --- the SQLite file's owner --------------------------------------------------- */

/* Whether uid, with gid as its only group, may create files in a directory. */
static bool may_write_dir(const struct stat *st, uid_t uid, gid_t gid)
{
	mode_t bits = st->st_uid == uid ? st->st_mode >> 6 :
	    st->st_gid == gid ? st->st_mode >> 3 : st->st_mode;
	return uid == 0 || (bits & 3) == 3;
}

/* Give an open file to uid:gid unless uid has it already. */
static int give_fd(int fd, const char *path, uid_t uid, gid_t gid, const char *user,
    const char *group, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return errf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
	if (st.st_uid != uid && fchown(fd, uid, gid) < 0)
		return errf(err, errlen, "cannot give %s to %s:%s: %s", path, user, group,
		    strerror(errno));
	return 0;
}

/* The -wal and -shm files SQLite keeps beside the database, if there are any:
 * left by a run as another user, they would lock sm out of its own file. */
static int give_companions(const char *path, uid_t uid, gid_t gid, const char *user,
    const char *group, char *err, size_t errlen)
{
	static const char *const suffixes[] = { "-wal", "-shm" };
	char name[PATH_MAX];

	for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
		snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
		int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return errf(err, errlen, "cannot open %s: %s", name, strerror(errno));
		}
		int rc = give_fd(fd, name, uid, gid, user, group, err, errlen);
		close(fd);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* SQLite creates its -wal and -shm files in the database's directory. When
 * that is data_dir — Parley's own directory — and sm's user cannot write
 * there (sm.user was changed), data_dir follows sm's user, mode kept. A
 * directory elsewhere is the operator's to arrange (parleyctl check warns). */
static int give_data_dir(const struct conf *c, const char *path, uid_t uid, gid_t gid,
    const char *user, const char *group, char *err, size_t errlen)
{
	char copy[PATH_MAX];
	struct stat dir, data;

	snprintf(copy, sizeof(copy), "%s", path);
	const char *name = dirname(copy);
	if (stat(name, &dir) < 0 || stat(conf_str(c, "data_dir"), &data) < 0 ||
	    dir.st_dev != data.st_dev || dir.st_ino != data.st_ino || may_write_dir(&dir, uid, gid))
		return 0;
	if (chown(name, uid, gid) < 0)
		return errf(err, errlen, "cannot give data_dir %s to %s:%s: %s", name, user, group,
		    strerror(errno));
	return 0;
}

int storage_prepare(const struct conf *c, char *err, size_t errlen)
{
	if (strcmp(conf_str(c, "storage.driver"), "sqlite") != 0 || geteuid() != 0)
		return 0;
	/* sm owns the users' data; auth opens the same file as the same user
	 * (conf_check_store_user refuses anything else), so sm's user it is. */
	if (conf_check_store_user(c, err, errlen) < 0)
		return -1;
	const char *path = conf_str(c, "storage.sqlite.path");
	const char *ukey = conf_user_key(c, "sm"), *gkey = conf_group_key(c, "sm");
	const char *user = conf_str(c, ukey), *group = conf_str(c, gkey);
	char why[ERRLEN];
	uid_t uid;
	gid_t gid;
	if (conf_lookup_user(user, &uid, &gid, NULL, why, sizeof(why)) < 0)
		return errf(err, errlen, "%s: %s: %s", conf_where(c, ukey), ukey, why);
	if (conf_lookup_group(group, &gid, why, sizeof(why)) < 0)
		return errf(err, errlen, "%s: %s: %s", conf_where(c, gkey), gkey, why);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return errf(err, errlen, "%s: storage.sqlite.path: cannot open %s: %s",
		    conf_where(c, "storage.sqlite.path"), path, strerror(errno));
	int rc = give_fd(fd, path, uid, gid, user, group, err, errlen);
	close(fd);
	if (rc == 0)
		rc = give_companions(path, uid, gid, user, group, err, errlen);
	if (rc == 0)
		rc = give_data_dir(c, path, uid, gid, user, group, err, errlen);
	return rc;
}
