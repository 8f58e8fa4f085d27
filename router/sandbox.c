/*
 * sandbox.c — the router's sandbox, applied once its sockets are open and
 * its secret and keys are read. The router needs next to nothing after
 * that: it reads and writes descriptors it holds, accepts connections on
 * its listeners, and, when it stops, removes its socket file.
 *
 *   user      router.user and router.group, or the top-level ones (conf_user.h)
 *   privs     no_new_privs
 *   files     Landlock: only the socket's directory, with the right to
 *             remove the socket; with a log file, its directory too, so
 *             that SIGHUP can reopen the file after rotation
 *   calls     seccomp "stdio unix", plus "inet" with the TCP or component
 *             listener, plus unlink (the socket at shutdown), or "cpath"
 *             when a log file must be reopened (which includes it)
 *
 * The configuration is not read again: SIGHUP only reopens the log, and
 * anything else takes a restart, which the supervisor does in a second.
 *
 * sandbox_apply() takes the steps in order (sandbox.c explains why).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "conf_user.h"
#include "jid.h"
#include "landlock.h"
#include "log.h"
#include "router.h"
#include "sandbox.h"

/* Libraries that load something on first use must do it while the files
 * are still there: OpenSSL fetches its digests (the secret's SHA-256, the
 * component handshake's SHA-1), libidn its tables (component JIDs). */
static void warm_up(const struct router *r)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	struct jid *jid = NULL;
	char err[ERRLEN];

	(void)router_secret_ok(r, "", 0);
	(void)EVP_Digest("", 0, md, &mdlen, EVP_sha1(), NULL);
	if (jid_parse(&jid, "warm@up.example/now", 19, err, sizeof(err)) == 0)
		jid_free(&jid);
}

static void parent_dir(const char *path, char *out, size_t outlen)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(out, outlen, "%s", dirname(copy));
}

int router_sandbox(struct router *r, char *err, size_t errlen)
{
	const struct conf *c = r->conf;
	char socket_dir[PATH_MAX], log_dir[PATH_MAX];
	struct landlock_path paths[2];
	size_t npaths = 0;
	char policy[64] = "stdio unix";
	bool log_file = r->log_target != NULL && r->log_target[0] == '/';

	parent_dir(r->socket_path, socket_dir, sizeof(socket_dir));
	paths[npaths++] = (struct landlock_path){ socket_dir, FS_SOCKETS };
	if (r->tcp_fd >= 0 || r->component_fd >= 0)
		strcat(policy, " inet");
	if (log_file) {
		parent_dir(r->log_target, log_dir, sizeof(log_dir));
		paths[npaths++] = (struct landlock_path){ log_dir, FS_READ_WRITE };
		strcat(policy, " cpath");
	} else {
		strcat(policy, " +unlink");
	}
	warm_up(r);

	/* A violation is reported in the router's own log. */
	sandbox_report_violations_to(r->report_fd >= 0 ? r->report_fd : 2, log_process());
	const struct sandbox_spec spec = {
		.user = conf_user_for(c, "router"), .group = conf_group_for(c, "router"),
		.paths = paths, .npaths = npaths,
		.syscalls = policy, .on_violation = SANDBOX_REPORT,
	};
	int rc = sandbox_apply(&spec, err, errlen);
	if (rc < 0)
		return -1;
	log_info("sandbox: running as %s:%s; files: %s%s%s; system calls: %s",
	    spec.user, spec.group, socket_dir, log_file ? ", " : "", log_file ? log_dir : "",
	    policy);
	return rc;
}
