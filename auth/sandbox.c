/*
 * sandbox.c — parley-auth's sandbox, applied once the configuration, the
 * salt secret and the store are open and (with the pipe backend) the
 * launcher of the external program is running:
 *
 *   user      auth.user and auth.group, or the top-level ones (conf_user.h)
 *   privs     no_new_privs
 *   files     Landlock: the database's directory read-write (SQLite
 *             creates and removes its -wal and -shm files there); with a
 *             log file, its directory, so SIGHUP can reopen it; nothing
 *             with the pipe backend beyond the log
 *   calls     seccomp "stdio unix" for the router link, plus
 *             "flock rpath wpath cpath" for SQLite (locks, opening the
 *             -wal/-shm files, fsync, truncating, removing the WAL), and
 *             fchmod (SQLite gives a new -wal/-shm the database's mode).
 *             No inet: auth has no listener and reaches nobody but the
 *             router; no exec: the pipe program is started by the
 *             launcher, outside this sandbox. The sql backend adds
 *             "thread inet rpath" (its workers, TCP to the operator's
 *             database, the CA files) and Landlock reads of tls_ca or the
 *             CA store.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "authreg_ldap.h"
#include "conf_user.h"
#include "jid.h"
#include "log.h"
#include "sandbox.h"

static void parent_dir(const char *path, char *out, size_t outlen)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(out, outlen, "%s", dirname(copy));
}

/* Libraries that load something on first use must do it while the files
 * are still there: libidn's tables (nodeprep), gsasl's SASLprep, OpenSSL's
 * digests (a throwaway SCRAM derivation uses them all). */
static void warm_up(void)
{
	char out[JID_PART_BUFSIZE], err[ERRLEN];
	struct scram_secrets s;

	(void)jid_prep_localpart("warm", 4, out, err, sizeof(err));
	(void)jid_prep_domainpart("up.example", 10, out, err, sizeof(err));
	for (int h = 0; h < SCRAM_HASH_COUNT; h++)
		if (scram_secrets_from_password((enum scram_hash)h, "warm-up", 0, NULL, 0, &s, err,
		    sizeof(err)) == 0)
			scram_secrets_wipe(&s);
}

int auth_sandbox(struct auth *a, char *err, size_t errlen)
{
	const struct conf *c = a->conf;
	char db_dir[PATH_MAX] = "", log_dir[PATH_MAX] = "", ca_dir[PATH_MAX] = "";
	struct landlock_path paths[12];
	size_t npaths = 0;
	char policy[96] = "stdio unix";
	bool internal = strcmp(a->set.backend, "internal") == 0;
	bool log_file = a->log_target != NULL && a->log_target[0] == '/';

	if (internal && strcmp(conf_str(c, "storage.driver"), "sqlite") != 0) {
		/* The internal store on a database server: reconnecting after
		 * a loss needs a socket, the resolver's files and the CA store
		 * (as sm's sandbox, doc/storage.md). */
		snprintf(db_dir, sizeof(db_dir), "/etc");
		paths[npaths++] = (struct landlock_path){ db_dir, FS_READ };
		if (*conf_str(c, "storage.sql.tls_ca") != '\0') {
			parent_dir(conf_str(c, "storage.sql.tls_ca"), ca_dir, sizeof(ca_dir));
			paths[npaths++] = (struct landlock_path){ ca_dir, FS_READ };
		}
		strcat(policy, " inet dns rpath thread");
	} else if (internal) {
		parent_dir(conf_str(c, "storage.sqlite.path"), db_dir, sizeof(db_dir));
		paths[npaths++] = (struct landlock_path){ db_dir, FS_READ_WRITE };
		strcat(policy, " flock rpath wpath cpath +fchmod");
	}
	if (strcmp(a->set.backend, "sql") == 0) {
		/* Worker threads, TCP to the database, and reading what the
		 * client library may read (tls_ca, the CA store); the name was
		 * resolved before the sandbox (authreg_sql.c). */
		strcat(policy, " thread inet rpath");
		npaths += authreg_sql_sandbox_paths(c, paths, ARRAY_LEN(paths) - 1);
	}
	if (strcmp(a->set.backend, "ldap") == 0)
		authreg_ldap_sandbox(a->authreg, policy, sizeof(policy), paths, &npaths,
		    ARRAY_LEN(paths) - 1);
	if (log_file) {
		parent_dir(a->log_target, log_dir, sizeof(log_dir));
		if (strcmp(log_dir, db_dir) != 0)
			paths[npaths++] = (struct landlock_path){ log_dir, FS_READ_WRITE };
		if (!internal)
			strcat(policy, " cpath");
	}
	warm_up();

	sandbox_report_violations_to(a->report_fd >= 0 ? a->report_fd : 2, log_process());
	const struct sandbox_spec spec = {
		.user = conf_user_for(c, "auth"), .group = conf_group_for(c, "auth"),
		.paths = paths, .npaths = npaths,
		.syscalls = policy, .on_violation = SANDBOX_REPORT,
	};
	int rc = sandbox_apply(&spec, err, errlen);
	if (rc < 0)
		return -1;
	log_info("sandbox: running as %s:%s; files: %s%s%s; system calls: %s", spec.user,
	    spec.group, npaths == 0 ? "none" : paths[0].path, npaths > 1 ? ", " : "",
	    npaths > 1 ? paths[1].path : "", policy);
	return rc;
}
