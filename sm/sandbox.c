/*
 * sandbox.c — parley-sm's sandbox, applied once the configuration, the
 * store and the router link are set up:
 *
 *   user      sm.user and sm.group, or the top-level ones (conf_user.h)
 *   privs     no_new_privs
 *   files     Landlock: the database's directory read-write (SQLite
 *             creates and removes its -wal and -shm files there); with a
 *             log file, its directory, so SIGHUP can reopen it
 *   calls     seccomp "stdio unix" for the router link, plus "flock rpath
 *             wpath cpath" and fchmod for SQLite. No inet: sm talks to
 *             nobody but the router; no exec.
 *
 * With a network storage driver (mysql, pgsql) there is no database file;
 * instead sm connects to the server and reconnects when it is lost, from
 * its core thread: "inet" and "dns" (the server's address is looked up
 * again at each reconnect), "thread", and /etc read-only (the resolver's
 * files, the system's CA store) plus storage.sql.tls_ca's directory.
 * Nothing is written.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "conf_user.h"
#include "jid.h"
#include "log.h"
#include "sandbox.h"
#include "sm.h"
#include "storage.h"

static void parent_dir(const char *path, char *out, size_t outlen)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(out, outlen, "%s", dirname(copy));
}

/* libidn loads its tables on first use: do it while the files are there. */
static void warm_up(void)
{
	char out[JID_PART_BUFSIZE], err[ERRLEN];

	(void)jid_prep_localpart("warm", 4, out, err, sizeof(err));
	(void)jid_prep_domainpart("up.example", 10, out, err, sizeof(err));
	(void)jid_prep_resourcepart("up", 2, out, err, sizeof(err));
}

int sm_sandbox(struct sm *sm, char *err, size_t errlen)
{
	const struct conf *c = sm->conf;
	char db_dir[PATH_MAX] = "", log_dir[PATH_MAX] = "";
	struct landlock_path paths[3];
	size_t npaths = 0;
	const char *policy = "stdio unix flock rpath wpath cpath +fchmod";
	char ca_dir[PATH_MAX] = "";

	if (sm->core != NULL && !storage_is_remote(sm->storage))
		policy = "stdio unix flock rpath wpath cpath thread +fchmod";
	if (storage_is_remote(sm->storage)) {
		policy = "stdio unix inet dns thread rpath";
		snprintf(db_dir, sizeof(db_dir), "/etc");
		paths[npaths++] = (struct landlock_path){ db_dir, FS_READ };
		if (*conf_str(c, "storage.sql.tls_ca") != '\0') {
			parent_dir(conf_str(c, "storage.sql.tls_ca"), ca_dir, sizeof(ca_dir));
			paths[npaths++] = (struct landlock_path){ ca_dir, FS_READ };
		}
	} else {
		parent_dir(conf_str(c, "storage.sqlite.path"), db_dir, sizeof(db_dir));
		paths[npaths++] = (struct landlock_path){ db_dir, FS_READ_WRITE };
	}
	if (sm->log_target != NULL && sm->log_target[0] == '/') {
		parent_dir(sm->log_target, log_dir, sizeof(log_dir));
		if (strcmp(log_dir, db_dir) != 0)
			paths[npaths++] = (struct landlock_path){ log_dir, FS_READ_WRITE };
	}
	warm_up();

	sandbox_report_violations_to(sm->report_fd >= 0 ? sm->report_fd : 2, log_process());
	const struct sandbox_spec spec = {
		.user = conf_user_for(c, "sm"), .group = conf_group_for(c, "sm"),
		.paths = paths, .npaths = npaths,
		.syscalls = policy, .on_violation = SANDBOX_REPORT,
	};
	int rc = sandbox_apply(&spec, err, errlen);
	if (rc < 0)
		return -1;
	log_info("sandbox: running as %s:%s; files: %s%s%s%s%s; system calls: %s", spec.user,
	    spec.group, paths[0].path, npaths > 1 ? ", " : "", npaths > 1 ? paths[1].path : "",
	    npaths > 2 ? ", " : "", npaths > 2 ? paths[2].path : "", policy);
	return rc;
}
