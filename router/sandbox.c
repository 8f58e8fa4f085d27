/*
 * sandbox.c — the router's sandbox, applied once its sockets are open and
 * its secret and keys are read. The router needs next to nothing after
 * that: it reads and writes descriptors it holds, accepts connections on
 * its listeners, and, when it stops, removes its socket file.
 *
 *   user      the configured user and group (sandbox_drop_user)
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
 * The steps are those of sandbox_apply(), in its order (sandbox.c explains
 * it), taken one by one because the policy adds a single call (unlink) to
 * its groups, which sandbox_apply's policy string cannot say.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

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
	char socket_dir[PATH_MAX], log_dir[PATH_MAX], notes[ERRLEN] = "", note[ERRLEN];
	struct landlock_path paths[2];
	size_t npaths = 0;
	char policy[64] = "stdio unix";
	bool log_file = r->log_target != NULL && r->log_target[0] == '/';
	int rc;

	parent_dir(r->socket_path, socket_dir, sizeof(socket_dir));
	paths[npaths++] = (struct landlock_path){ socket_dir, FS_SOCKETS };
	if (log_file) {
		parent_dir(r->log_target, log_dir, sizeof(log_dir));
		paths[npaths++] = (struct landlock_path){ log_dir, FS_READ_WRITE };
		strcat(policy, " cpath");
	}
	if (r->tcp_fd >= 0 || r->component_fd >= 0)
		strcat(policy, " inet");
	warm_up(r);
	for (size_t i = 0; i < npaths; i++)
		if (access(paths[i].path, F_OK) < 0)
			return errf(err, errlen, "landlock: cannot use %s: %s", paths[i].path,
			    strerror(errno));

	rc = sandbox_drop_user(conf_str(c, "user"), conf_str(c, "group"), note, sizeof(note));
	if (rc < 0)
		return errf(err, errlen, "%s", note);
	if (rc > 0)
		snprintf(notes, sizeof(notes), "%s", note);
	if (sandbox_no_new_privs(err, errlen) < 0)
		return -1;
	rc = landlock_restrict(paths, npaths, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 0)
		snprintf(notes + strlen(notes), sizeof(notes) - strlen(notes), "%s%s",
		    notes[0] ? "; " : "", "Landlock is not available in this kernel: "
		    "the filesystem is not restricted");

	/* A violation is reported in the router's own log. */
	sandbox_report_violations_to(r->report_fd >= 0 ? r->report_fd : 2, log_process());
	struct sandbox_filter *f = sandbox_filter_new(SANDBOX_REPORT, err, errlen);
	if (f == NULL)
		return -1;
	rc = sandbox_filter_allow(f, policy, err, errlen);
	if (rc == 0 && !log_file)
		rc = sandbox_filter_allow_syscall(f, "unlink", err, errlen);
	if (rc == 0)
		rc = sandbox_filter_load(f, err, errlen);
	sandbox_filter_free(&f);
	if (rc < 0)
		return -1;
	log_info("sandbox: running as %s:%s; files: %s%s%s; system calls: %s%s",
	    conf_str(c, "user"), conf_str(c, "group"), socket_dir, log_file ? ", " : "",
	    log_file ? log_dir : "", policy, log_file ? "" : " +unlink");
	if (notes[0] != '\0') {
		errf(err, errlen, "%s", notes);
		return 1;
	}
	return 0;
}
