/*
 * storage.c — the storage interface's front: picks the driver the
 * configuration names, converts SCRAM secrets to and from the text form
 * the drivers keep, and dispatches each call to the driver's table. It
 * holds no SQL and no driver state (storage_driver.h, sqlite.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage.h"
#include "storage_driver.h"

struct storage {
	const struct storage_driver *driver;
	void *db;
};

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
	/* The schema knows the names so that configurations written for
	 * later versions load; the drivers come with issue 7. */
	return errf(err, errlen, "%s: storage.driver: the \"%s\" driver is not built yet "
	    "(only \"sqlite\" is available)", conf_where(c, "storage.driver"), driver);
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
	return s->driver->user_create(s->db, domain, localpart, sha1, sha256, err, errlen);
}

int storage_user_get_secrets(struct storage *s, const char *domain, const char *localpart,
    enum scram_hash hash, struct scram_secrets *out, char *err, size_t errlen)
{
	char text[SCRAM_SECRETS_TEXT_MAX];
	char why[ERRLEN];

	int rc = s->driver->user_get_secret(s->db, domain, localpart, hash, text, sizeof(text),
	    err, errlen);
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
	return s->driver->user_set_secrets(s->db, domain, localpart, sha1, sha256, err, errlen);
}

int storage_user_delete(struct storage *s, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	return s->driver->user_delete(s->db, domain, localpart, err, errlen);
}

int storage_user_exists(struct storage *s, const char *domain, const char *localpart,
    char *err, size_t errlen)
{
	return s->driver->user_exists(s->db, domain, localpart, err, errlen);
}

int storage_user_list(struct storage *s, const char *domain, storage_user_cb cb, void *arg,
    char *err, size_t errlen)
{
	return s->driver->user_list(s->db, domain, cb, arg, err, errlen);
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

int storage_prepare(const struct conf *c, char *err, size_t errlen)
{
	if (strcmp(conf_str(c, "storage.driver"), "sqlite") != 0 || geteuid() != 0)
		return 0;
	const char *path = conf_str(c, "storage.sqlite.path");
	const char *user = conf_str(c, "user"), *group = conf_str(c, "group");
	struct passwd *pw = getpwnam(user);
	struct group *gr = getgrnam(group);
	if (pw == NULL)
		return errf(err, errlen, "%s: user: no user \"%s\"", conf_where(c, "user"), user);
	if (gr == NULL)
		return errf(err, errlen, "%s: group: no group \"%s\"", conf_where(c, "group"), group);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return errf(err, errlen, "%s: storage.sqlite.path: cannot open %s: %s",
		    conf_where(c, "storage.sqlite.path"), path, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) == 0 && st.st_uid == 0 &&
	    fchown(fd, pw->pw_uid, gr->gr_gid) < 0)
		rc = errf(err, errlen, "cannot give %s to %s:%s: %s", path, user, group,
		    strerror(errno));
	close(fd);
	return rc;
}
