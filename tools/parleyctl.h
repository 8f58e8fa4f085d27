/*
 * parleyctl.h — what the verbs of parleyctl share: the verb signature, the
 * exit statuses, and small helpers (ctl_util.c). parleyctl.c dispatches
 * over a table of verbs; each verb lives in its own file (ctl_check.c,
 * ctl_status.c, ctl_init.c) and parses its own options.
 *
 * parleyctl is a short-lived command, not a daemon: it prints to stdout and
 * stderr rather than logging, and it blocks (with time limits) instead of
 * running an event loop.
 */
#ifndef PARLEY_PARLEYCTL_H
#define PARLEY_PARLEYCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "conf.h"
#include "file_replace.h"
#include "router_secret.h"

/* Exit statuses of every verb. */
enum {
	CTL_EXIT_OK = 0,    /* done; or everything checked is fine */
	CTL_EXIT_FAIL = 1,  /* the verb ran and found something wrong */
	CTL_EXIT_USAGE = 2, /* bad command line */
};

/* What main() parsed before the verb. */
struct ctl {
	const char *prog;        /* "parleyctl" */
	const char *config_path; /* -c FILE, or the default */
};

/*
 * A verb runs with argv[0] = its name and the arguments after it; it
 * parses its own options (getopt_long, optind reset) and returns an exit
 * status. `-c FILE` is accepted before the verb and, by verbs that read
 * the configuration, after it too.
 */
struct ctl_verb {
	const char *name;
	const char *args;    /* for the usage line: "[-c FILE]" */
	const char *summary; /* one line */
	int (*run)(struct ctl *ctl, int argc, char **argv);
};

int ctl_check(struct ctl *ctl, int argc, char **argv);
int ctl_status(struct ctl *ctl, int argc, char **argv);
int ctl_init(struct ctl *ctl, int argc, char **argv);
int ctl_user(struct ctl *ctl, int argc, char **argv);
int ctl_storage(struct ctl *ctl, int argc, char **argv);
/* ctl_user_backend.c: `user check JID`, and `user passwd` through the sql
 * and pipe backends; argv[0] is "check" or "passwd". */
int ctl_user_backend(const struct ctl *ctl, const struct conf *c, int argc, char **argv);

/*
 * Every check `parleyctl check` makes beyond the schema — what a process
 * finds at start (files, users, sizes that must agree) — on a loaded
 * configuration. Problems that stop a process go to errs, the rest (a
 * certificate about to expire, a world-readable secret) to warnings; both
 * as "FILE:LINE: setting: what is wrong", sorted by file and line.
 */
void ctl_check_conf(const struct conf *c, struct conf_errors *errs,
    struct conf_errors *warnings);

/* --- ctl_notify.c ---------------------------------------------------------- */

/* Tell a running sm that the account `bare` of `domain` is gone: 1 when sm
 * acknowledged it, 0 when the suite is not running (no router socket), -1
 * with a reason when it runs but could not be told. */
int ctl_notify_user_deleted(const struct conf *c, const char *domain, const char *bare,
    char *err, size_t errlen);

/* --- ctl_util.c ------------------------------------------------------------ */

/* Print "PROG: message" on stderr. */
void ctl_warnx(const struct ctl *ctl, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* Load the configuration; on errors print them all on stderr and return NULL. */
struct conf *ctl_load_config(const struct ctl *ctl);

/* A user by name or numeric uid (groups: conf_lookup_group). */
int ctl_lookup_user(const char *name, uid_t *uid, gid_t *gid, char *err, size_t errlen);

/* Whether a process running as uid with gid as its only group can walk
 * down to `path` (search permission on every directory above it, and on
 * `path` itself if it is a directory that exists). Components that do not
 * exist yet end the walk: whoever creates them decides. If not, *blocker
 * gets the first directory in the way. */
bool ctl_path_reachable(const char *path, uid_t uid, gid_t gid, char *blocker, size_t len);
/* Whether uid/gid may do `mode` (R_OK, W_OK, X_OK bits) on a file with
 * status st, as the kernel decides for a process that is not root. */
bool ctl_may_access(const struct stat *st, uid_t uid, gid_t gid, int mode);

/* parleyd.services, or its documented default (every process, s2s included) when the file
 * leaves it out: string lists have no defaults in the schema. */
size_t ctl_services(const struct conf *c, const char **out, size_t max);

/* "1088K", "16M", "10000": a size as the configuration would write it. */
const char *ctl_format_size(uint64_t bytes, char *out, size_t len);

#endif
