/*
 * ctl_util.c — small helpers the verbs of parleyctl share: loading the
 * configuration, reading the router secret, users and groups, permission
 * checks as another user, writing a file atomically. Nothing here prints
 * except ctl_warnx() and ctl_load_config(), which exist to print.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_user.h"
#include "parleyctl.h"

void ctl_warnx(const struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", ctl->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct conf *ctl_load_config(const struct ctl *ctl)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *c = NULL;

	if (conf_load(&c, ctl->config_path, &errs) < 0) {
		conf_errors_print(&errs, stderr);
		conf_errors_clear(&errs);
		return NULL;
	}
	return c;
}

/* --- users and groups ----------------------------------------------------- */

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int ctl_lookup_user(const char *name, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	if (all_digits(name)) {
		struct passwd pw, *res = NULL;
		char buf[4096];
		errno = 0;
		unsigned long long v = strtoull(name, NULL, 10);
		if (errno != 0 || v > UINT32_MAX - 1)
			return errf(err, errlen, "%s is not a valid uid", name);
		int rc = getpwuid_r((uid_t)v, &pw, buf, sizeof(buf), &res);
		if (rc == 0 && res == NULL) {
			/* A numeric uid need not have a name; it has no group then. */
			*uid = (uid_t)v;
			*gid = (gid_t)-1;
			return 0;
		}
		if (res == NULL)
			return errf(err, errlen, "cannot look up user %s: %s", name, strerror(rc));
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
		return 0;
	}
	return conf_lookup_user(name, uid, gid, NULL, err, errlen);
}

/* --- permissions as another user ------------------------------------------ */

bool ctl_may_access(const struct stat *st, uid_t uid, gid_t gid, int mode)
{
	mode_t bits;

	if (uid == 0) /* root: everything but executing a file nobody may execute */
		return !(mode & X_OK) || S_ISDIR(st->st_mode) || (st->st_mode & 0111);
	if (st->st_uid == uid)
		bits = (st->st_mode >> 6) & 7;
	else if (st->st_gid == gid)
		bits = (st->st_mode >> 3) & 7;
	else
		bits = st->st_mode & 7;
	return ((mode_t)mode & ~bits) == 0;
}

bool ctl_path_reachable(const char *path, uid_t uid, gid_t gid, char *blocker, size_t len)
{
	char walk[PATH_MAX];
	struct stat st;

	if (snprintf(walk, sizeof(walk), "%s", path) >= (int)sizeof(walk) || walk[0] != '/')
		return true; /* not ours to judge: the schema wants absolute paths */
	/* Each prefix ending before a '/', then the whole path. */
	for (char *p = walk + 1;; p++) {
		bool last = *p == '\0';
		if (*p != '/' && !last)
			continue;
		char saved = *p;
		*p = '\0';
		if (stat(walk, &st) < 0) {
			*p = saved;
			return true;
		}
		if (S_ISDIR(st.st_mode) && !ctl_may_access(&st, uid, gid, X_OK)) {
			snprintf(blocker, len, "%s", walk);
			*p = saved;
			return false;
		}
		*p = saved;
		if (last)
			return true;
	}
}

size_t ctl_services(const struct conf *c, const char **out, size_t max)
{
	static const char *const all[] = { "router", "auth", "sm", "c2s", "s2s" };
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_LEN(all) && n < max; i++)
		if (conf_service_enabled(c, all[i]))
			out[n++] = all[i];
	return n;
}

/* --- formatting and files --------------------------------------------------- */

const char *ctl_format_size(uint64_t bytes, char *out, size_t len)
{
	static const char units[] = "KMG";
	int u = -1;
	uint64_t v = bytes;

	while (u < 2 && v >= 1024 && v % 1024 == 0) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(out, len, "%" PRIu64, v);
	else
		snprintf(out, len, "%" PRIu64 "%c", v, units[u]);
	return out;
}

