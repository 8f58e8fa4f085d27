/*
 * sandbox.h — how a Parley process gives up what it no longer needs, once
 * it has opened what it needs (listening sockets, TLS keys, the database):
 *
 *   1. sandbox_drop_user()      switch to the configured user and group
 *   2. sandbox_no_new_privs()   nothing it executes can gain privileges
 *   3. landlock_restrict()      only the listed paths stay reachable
 *   4. seccomp filter           only the system calls of its policy remain
 *
 * sandbox_apply() runs the four steps in that order from one spec, so each
 * process's main states its whole sandbox in a few lines:
 *
 *	static const struct landlock_path paths[] = {
 *		{ "/run/parley", FS_SOCKETS },
 *	};
 *	const struct sandbox_spec spec = {
 *		.user = cfg->user, .paths = paths, .npaths = ARRAY_LEN(paths),
 *		.syscalls = "stdio unix",
 *	};
 *	int r = sandbox_apply(&spec, err, sizeof(err));
 *	if (r < 0)
 *		log_fatal("sandbox: %s", err);
 *	if (r > 0)
 *		log_warn("sandbox: %s", err);
 *
 * The policy string is the security spec; its words are defined in
 * seccomp_policy.h. A system call outside it kills the process with
 * SIGSYS, after one log line naming the call (see sandbox.c for how).
 *
 * Return convention: -1 with a reason on failure; 0 done; 1 done, with a
 * note in `err` worth logging (e.g. "Landlock is not available").
 */
#ifndef PARLEY_SANDBOX_H
#define PARLEY_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "landlock.h"

/* Switch to `user` and to `group` (NULL: the user's login group): the
 * supplementary groups become exactly that one group, then real, effective
 * and saved gid and uid change, and the function checks that root cannot
 * be regained. HOME, USER and LOGNAME are set to the user's. A user with
 * uid 0 is refused. Not running as root: a no-op returning 1 with a note if
 * the process already is that user and group, an error otherwise. Call it
 * before anything that forbids files or system calls: resolving the names
 * may read /etc/passwd and load NSS modules. */
int sandbox_drop_user(const char *user, const char *group, char *err, size_t errlen);

/* PR_SET_NO_NEW_PRIVS: from now on execve() can never grant privileges
 * (setuid bits, file capabilities), which is also what lets an unprivileged
 * process install Landlock rules and seccomp filters. Irreversible. */
int sandbox_no_new_privs(char *err, size_t errlen);

/* What a system call outside the policy does. */
enum sandbox_violation {
	/* Log one line naming the call, then die of SIGSYS (default). */
	SANDBOX_REPORT = 0,
	/* Die of SIGSYS at once, with nothing in our log (the kernel's audit
	 * log may still record it). */
	SANDBOX_KILL,
};

/* A seccomp filter being built: start from nothing, allow policy groups
 * and single calls, then load it. */
struct sandbox_filter;

struct sandbox_filter *sandbox_filter_new(enum sandbox_violation on_violation,
    char *err, size_t errlen);
/* Allow the groups named in `policy` ("stdio unix"; words separated by
 * spaces). An unknown or missing word fails, naming it, and adds nothing. */
int sandbox_filter_allow(struct sandbox_filter *filter, const char *policy,
    char *err, size_t errlen);
/* Allow one more system call by name, whatever its arguments ("getppid").
 * A call the running architecture does not have is ignored. */
int sandbox_filter_allow_syscall(struct sandbox_filter *filter, const char *name,
    char *err, size_t errlen);
/* Install the filter on this process (all its threads). Irreversible; it
 * is inherited by children and kept across execve(). A reporting filter
 * installs a SIGSYS handler first; keep SIGSYS unblocked (a blocked SIGSYS
 * still kills, but without the line), and note that a second reporting
 * filter cannot be loaded under one whose policy forbids rt_sigaction on
 * SIGSYS, as every policy group does. */
int sandbox_filter_load(struct sandbox_filter *filter, char *err, size_t errlen);
void sandbox_filter_free(struct sandbox_filter **filter);

/* Build, load and free a reporting filter for `policy` in one call. */
int sandbox_seccomp(const char *policy, char *err, size_t errlen);

/* Where the violation line goes (default: fd 2, stderr) and the process
 * name it carries (default, or NULL: the program's name), so that it can
 * match the process's log (log_open()). Takes effect for filters loaded
 * afterwards; the descriptor must stay open. */
void sandbox_report_violations_to(int fd, const char *process);

struct sandbox_spec {
	/* Run as this user and group (NULL user: stay who we are; NULL group:
	 * the user's login group). */
	const char *user;
	const char *group;
	/* Accept a user whose uid is 0 (tests, the odd deployment). */
	bool allow_root;

	/* The filesystem the process keeps; none listed means none at all. */
	const struct landlock_path *paths;
	size_t npaths;
	/* Skip Landlock entirely (parleyd: what it executes needs its own). */
	bool fs_unrestricted;

	/* The seccomp policy, e.g. "stdio unix": group words, and single
	 * system calls as "+name" ("stdio unix +unlink"). Required. */
	const char *syscalls;
	enum sandbox_violation on_violation;
};

/* Drop user, no_new_privs, Landlock, seccomp — in that order. The spec is
 * checked (policy words known, paths present) before anything changes, so
 * a mistake does not leave the process half-sandboxed. */
int sandbox_apply(const struct sandbox_spec *spec, char *err, size_t errlen);

/* sandbox_daemon.c: sandbox_apply for a daemon whose only file is its log
 * (log_target, when it is a path): the log's directory read-write,
 * base_policy plus "cpath" for it, violations reported to report_fd (-1:
 * stderr), and a log line saying what it runs with. */
int sandbox_daemon(const char *user, const char *group, const char *log_target, int report_fd,
    const char *base_policy, char *err, size_t errlen);

#endif
