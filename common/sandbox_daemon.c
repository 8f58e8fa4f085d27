/*
 * sandbox_daemon.c — the sandbox of a daemon whose only file is its log
 * (c2s, s2s): the configured user, no_new_privs, Landlock with the log
 * file's directory alone (SIGHUP reopens the file after rotation, which
 * may create it: "cpath" then joins the system calls), the seccomp policy
 * given, violations reported to report_fd, and one log line saying what
 * the process now runs with.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "sandbox.h"

int sandbox_daemon(const char *user, const char *group, const char *log_target, int report_fd,
    const char *base_policy, char *err, size_t errlen)
{
	char copy[PATH_MAX], log_dir[PATH_MAX], policy[128];
	struct landlock_path paths[1];
	size_t npaths = 0;
	bool log_file = log_target != NULL && log_target[0] == '/';

	snprintf(policy, sizeof(policy), "%s%s", base_policy, log_file ? " cpath" : "");
	if (log_file) {
		snprintf(copy, sizeof(copy), "%s", log_target);
		snprintf(log_dir, sizeof(log_dir), "%s", dirname(copy));
		paths[npaths++] = (struct landlock_path){ log_dir, FS_READ_WRITE };
	}
	sandbox_report_violations_to(report_fd >= 0 ? report_fd : 2, log_process());
	const struct sandbox_spec spec = {
		.user = user, .group = group,
		.paths = paths, .npaths = npaths,
		.syscalls = policy, .on_violation = SANDBOX_REPORT,
	};
	int rc = sandbox_apply(&spec, err, errlen);
	if (rc < 0)
		return -1;
	log_info("sandbox: running as %s:%s; files: %s; system calls: %s", user, group,
	    log_file ? log_dir : "none", policy);
	return rc;
}
