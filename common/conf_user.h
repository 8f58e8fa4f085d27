/*
 * conf_user.h — which user and group each process runs as once it drops
 * root: its own `PROCESS.user` / `PROCESS.group` when set, else the
 * top-level `user` / `group`. Every place that drops to, creates a file
 * for, or lets in a process's user asks here, so that they all agree.
 *
 * The getters only read the configuration. The checks (conf_user.c) look
 * the names up in the system's user database, and are for the programs
 * that decide whether a configuration can run: parleyctl check, parleyd,
 * the router (which lets these users in) and storage_prepare.
 */
#ifndef PARLEY_CONF_USER_H
#define PARLEY_CONF_USER_H

#include <stddef.h>
#include <sys/types.h>

#include "conf.h"

/* The processes with a user of their own, in parleyd's start order. */
#define CONF_USER_NPROCESSES 5
extern const char *const conf_user_processes[CONF_USER_NPROCESSES];

/* The setting that decides `process`'s user: "c2s.user" when the file sets
 * it to something, else "user" (NULL process: "user"). For messages and
 * conf_where(). `process` is one of conf_user_processes (anything else is
 * a programming error, and fatal). */
const char *conf_user_key(const struct conf *c, const char *process);
const char *conf_group_key(const struct conf *c, const char *process);
/* Its value: the name the process switches to. */
const char *conf_user_for(const struct conf *c, const char *process);
const char *conf_group_for(const struct conf *c, const char *process);

/* The system's user database by name, the one place the project reads it:
 * 0, or -1 with "no such user \"x\" on this system" or the lookup's error
 * in err. gid is the user's login group; *home (when home is not NULL) a
 * malloc'd copy of its home directory ("/" when it has none). */
int conf_lookup_user(const char *name, uid_t *uid, gid_t *gid, char **home, char *err,
    size_t errlen);
int conf_lookup_group(const char *name, gid_t *gid, char *err, size_t errlen);

/*
 * Can the configuration's processes run as configured? Appends to errs,
 * as "FILE:LINE: setting: what is wrong", and returns -1 if:
 *   - a user or group (top-level or a process's) does not exist;
 *   - a user is root (uid 0): every process refuses it;
 *   - c2s, s2s, sm or auth runs as a group that may not connect to the
 *     router socket (not router.socket_group, and router.socket_mode
 *     gives other groups no write access);
 *   - conf_check_store_user() below fails.
 */
int conf_check_process_users(const struct conf *c, struct conf_errors *errs);

/* With storage.driver "sqlite", sm and auth (internal backend) open one
 * database file, with its -wal and -shm files: they must run as one user.
 * 0 if they do or the rule does not apply; -1 with "FILE:LINE: auth.user:
 * …" (or sm.user) in err. */
int conf_check_store_user(const struct conf *c, char *err, size_t errlen);

#endif
