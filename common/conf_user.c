/*
 * conf_user.c — each process's user and group (see conf_user.h): the
 * per-process settings with the top-level ones as their default, and the
 * checks that a configuration's users can run it. It reads the user
 * database and nothing else; it changes nothing and does not log.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "conf_user.h"

const char *const conf_user_processes[CONF_USER_NPROCESSES] = {
	"router", "auth", "sm", "c2s", "s2s",
};

/* The settings, spelled out: the getters hand back paths that outlive any
 * buffer of ours. */
static const struct {
	const char *process, *user, *group;
} keys[CONF_USER_NPROCESSES] = {
	{ "router", "router.user", "router.group" },
	{ "auth", "auth.user", "auth.group" },
	{ "sm", "sm.user", "sm.group" },
	{ "c2s", "c2s.user", "c2s.group" },
	{ "s2s", "s2s.user", "s2s.group" },
};

static size_t process_index(const char *process)
{
	for (size_t i = 0; i < CONF_USER_NPROCESSES; i++)
		if (strcmp(keys[i].process, process) == 0)
			return i;
	log_fatal("conf_user: \"%s\" is not a process with a user", process);
}

/* An empty per-process setting (its default) means "the top-level one". */
static const char *pick(const struct conf *c, const char *own, const char *top)
{
	const char *v = conf_str(c, own);
	return v != NULL && *v != '\0' ? own : top;
}

const char *conf_user_key(const struct conf *c, const char *process)
{
	return process == NULL ? "user" : pick(c, keys[process_index(process)].user, "user");
}

const char *conf_group_key(const struct conf *c, const char *process)
{
	return process == NULL ? "group" : pick(c, keys[process_index(process)].group, "group");
}

const char *conf_user_for(const struct conf *c, const char *process)
{
	return conf_str(c, conf_user_key(c, process));
}

const char *conf_group_for(const struct conf *c, const char *process)
{
	return conf_str(c, conf_group_key(c, process));
}

/* --- the user database ------------------------------------------------------- */

#define MAX_ENTRY (1024 * 1024)

int conf_lookup_user(const char *name, uid_t *uid, gid_t *gid, char **home, char *err,
    size_t errlen)
{
	struct passwd pw, *res = NULL;
	size_t size = 1024;
	char *buf = NULL;
	int rc;

	for (;;) {
		buf = xrealloc(buf, size);
		rc = getpwnam_r(name, &pw, buf, size, &res);
		if (rc != ERANGE || size >= MAX_ENTRY)
			break;
		size *= 2;
	}
	if (res == NULL) {
		free(buf);
		if (rc != 0)
			return errf(err, errlen, "cannot look up user %s: %s", name, strerror(rc));
		return errf(err, errlen, "no such user \"%s\" on this system", name);
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	if (home != NULL)
		*home = xstrdup(pw.pw_dir != NULL && *pw.pw_dir != '\0' ? pw.pw_dir : "/");
	free(buf);
	return 0;
}

int conf_lookup_group(const char *name, gid_t *gid, char *err, size_t errlen)
{
	struct group gr, *res = NULL;
	size_t size = 1024;
	char *buf = NULL;
	int rc;

	for (;;) {
		buf = xrealloc(buf, size);
		rc = getgrnam_r(name, &gr, buf, size, &res);
		if (rc != ERANGE || size >= MAX_ENTRY)
			break;
		size *= 2;
	}
	free(buf);
	if (res == NULL) {
		if (rc != 0)
			return errf(err, errlen, "cannot look up group %s: %s", name, strerror(rc));
		return errf(err, errlen, "no such group \"%s\" on this system", name);
	}
	*gid = gr.gr_gid;
	return 0;
}

/* --- the checks ------------------------------------------------------------------ */

/* Whether the SQLite rule is broken: the setting to blame and why. */
static bool store_user_conflict(const struct conf *c, const char **key, char *why, size_t len)
{
	if (strcmp(conf_str(c, "storage.driver"), "sqlite") != 0 ||
	    strcmp(conf_str(c, "auth.backend"), "internal") != 0)
		return false;
	const char *sm = conf_user_for(c, "sm"), *auth = conf_user_for(c, "auth");
	if (strcmp(sm, auth) == 0)
		return false;
	/* Two names for one uid are one user to the kernel. */
	uid_t su, au;
	gid_t g;
	char err[ERRLEN];
	if (conf_lookup_user(sm, &su, &g, NULL, err, sizeof(err)) == 0 &&
	    conf_lookup_user(auth, &au, &g, NULL, err, sizeof(err)) == 0 && su == au)
		return false;
	*key = strcmp(conf_user_key(c, "auth"), "user") != 0 ? conf_user_key(c, "auth") :
	    conf_user_key(c, "sm");
	snprintf(why, len, "sm runs as \"%s\" and auth as \"%s\", but with storage.driver "
	    "\"sqlite\" both open the same database file (and its -wal and -shm files): run them "
	    "as one user (sm.user, auth.user), or use a database server", sm, auth);
	return true;
}

int conf_check_store_user(const struct conf *c, char *err, size_t errlen)
{
	const char *key;
	char why[ERRLEN];

	if (!store_user_conflict(c, &key, why, sizeof(why)))
		return 0;
	return errf(err, errlen, "%s: %s: %s", conf_where(c, key), key, why);
}

static bool seen(const char **list, size_t *n, const char *key)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	list[(*n)++] = key;
	return false;
}

/* The user and group settings that decide some process's account, each
 * looked up once. */
static void check_accounts(const struct conf *c, struct conf_errors *errs)
{
	const char *checked[2 * (CONF_USER_NPROCESSES + 1)];
	size_t n = 0;
	char err[ERRLEN];
	uid_t uid;
	gid_t gid;

	for (size_t i = 0; i <= CONF_USER_NPROCESSES; i++) {
		const char *p = i == 0 ? NULL : conf_user_processes[i - 1];
		const char *ukey = conf_user_key(c, p), *gkey = conf_group_key(c, p);
		if (!seen(checked, &n, ukey)) {
			const char *user = conf_str(c, ukey);
			if (conf_lookup_user(user, &uid, &gid, NULL, err, sizeof(err)) < 0)
				conf_error(errs, c, ukey, "%s", err);
			else if (uid == 0)
				conf_error(errs, c, ukey, "\"%s\" is root (uid 0): %s%s to run as root; "
				    "name an unprivileged user", user,
				    p == NULL ? "the processes" : strcmp(p, "router") == 0 ? "the router" : p,
				    p == NULL ? " refuse" : " refuses");
		}
		if (!seen(checked, &n, gkey) &&
		    conf_lookup_group(conf_str(c, gkey), &gid, err, sizeof(err)) < 0)
			conf_error(errs, c, gkey, "%s", err);
	}
}

/* Every process but the router connects to the router socket, which root
 * owns (the router creates it before it drops): its group or the rest of
 * the world must have write access. */
static void check_socket_groups(const struct conf *c, struct conf_errors *errs)
{
	const char *checked[CONF_USER_NPROCESSES];
	size_t n = 0;
	const char *sgroup = conf_str(c, "router.socket_group");
	mode_t mode = conf_mode(c, "router.socket_mode");
	char err[ERRLEN];
	gid_t sgid, gid;

	if (conf_lookup_group(sgroup, &sgid, err, sizeof(err)) < 0)
		return; /* reported where router.socket_group is checked */
	for (size_t i = 0; i < CONF_USER_NPROCESSES; i++) {
		const char *p = conf_user_processes[i];
		const char *gkey = conf_group_key(c, p), *group = conf_str(c, gkey);
		if (strcmp(p, "router") == 0 || seen(checked, &n, gkey) ||
		    conf_lookup_group(group, &gid, err, sizeof(err)) < 0)
			continue;
		if (gid == sgid ? (mode & 0020) != 0 : (mode & 0002) != 0)
			continue;
		conf_error(errs, c, gkey, "%s runs as group \"%s\", which cannot connect to the router "
		    "socket: the socket's group is router.socket_group (\"%s\") and router.socket_mode "
		    "%04o gives %s no write access", strcmp(gkey, "group") == 0 ? "every process" : p,
		    group, sgroup, (unsigned)mode, gid == sgid ? "that group" : "other groups");
	}
}

int conf_check_process_users(const struct conf *c, struct conf_errors *errs)
{
	size_t before = errs->count + errs->dropped;
	const char *key;
	char why[ERRLEN];

	check_accounts(c, errs);
	check_socket_groups(c, errs);
	if (store_user_conflict(c, &key, why, sizeof(why)))
		conf_error(errs, c, key, "%s", why);
	return errs->count + errs->dropped > before ? -1 : 0;
}
