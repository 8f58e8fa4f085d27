/*
 * sandbox.c — s2s's sandbox, applied once its listeners are open, its TLS
 * keys and CA file read and its resolver set up:
 *
 *   user      the configured user and group
 *   privs     no_new_privs
 *   files     Landlock with no paths; with a log file, its directory, so
 *             that SIGHUP can reopen the file after rotation
 *   calls     seccomp "stdio unix inet dns": the router link (Unix
 *             socket), outgoing and incoming TCP, and udns's UDP queries
 *             (+ "cpath" for a log file)
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "jid.h"
#include "log.h"
#include "s2s.h"
#include "sandbox.h"

/* Whatever loads something on first use does it now, while files are
 * still there: libidn's tables, OpenSSL's random generator. */
static void warm_up(void)
{
	struct jid *jid = NULL;
	unsigned char r[8];
	char why[ERRLEN];

	if (jid_parse(&jid, "warm@up.example/now", 19, why, sizeof(why)) == 0)
		jid_free(&jid);
	(void)RAND_bytes(r, sizeof(r));
}

int s2s_sandbox(struct s2s *s2s, char *err, size_t errlen)
{
	const struct conf *c = s2s->conf;
	char copy[PATH_MAX], log_dir[PATH_MAX];
	struct landlock_path paths[1];
	size_t npaths = 0;
	char policy[64] = "stdio unix inet dns";
	bool log_file = s2s->log_target != NULL && s2s->log_target[0] == '/';

	if (log_file) {
		snprintf(copy, sizeof(copy), "%s", s2s->log_target);
		snprintf(log_dir, sizeof(log_dir), "%s", dirname(copy));
		paths[npaths++] = (struct landlock_path){ log_dir, FS_READ_WRITE };
		strcat(policy, " cpath");
	}
	warm_up();
	sandbox_report_violations_to(s2s->report_fd >= 0 ? s2s->report_fd : 2, log_process());
	const struct sandbox_spec spec = {
		.user = conf_str(c, "user"), .group = conf_str(c, "group"),
		.paths = paths, .npaths = npaths,
		.syscalls = policy, .on_violation = SANDBOX_REPORT,
	};
	int rc = sandbox_apply(&spec, err, errlen);
	if (rc < 0)
		return -1;
	log_info("sandbox: running as %s:%s; files: %s; system calls: %s", spec.user, spec.group,
	    log_file ? log_dir : "none", policy);
	return rc;
}
