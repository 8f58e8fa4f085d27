/*
 * supervisor_spawn.c — fork and exec of one child, and the words for how a
 * child ended (see supervisor_spawn.h).
 *
 * Why fork and not posix_spawn: the child must set its parent-death signal
 * and check that parleyd did not die before it was set, which posix_spawn
 * cannot express. Between fork and exec the child calls only
 * async-signal-safe functions.
 *
 * Why a pipe: a failed execve would otherwise look like a program that
 * exited with status 127. The child writes errno into a close-on-exec pipe
 * if exec fails; a successful exec closes the pipe, and the parent reads EOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor_spawn.h"
#include "util.h"

/* What the child reports through the pipe when it cannot run the program. */
struct spawn_failure {
	int step; /* enum spawn_step */
	int error; /* errno */
};

enum spawn_step { STEP_SETSID, STEP_PDEATHSIG, STEP_STDIN, STEP_EXEC };

static const char *const step_names[] = {
	[STEP_SETSID] = "setsid",
	[STEP_PDEATHSIG] = "prctl(PR_SET_PDEATHSIG)",
	[STEP_STDIN] = "dup2(stdin)",
	[STEP_EXEC] = "execve",
};

/* Every descriptor above stderr becomes close-on-exec. */
static void close_on_exec_all(void)
{
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	/* Kernels before 5.11: the slow way. */
	struct rlimit rl;
	int max = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = rl.rlim_cur > 1048576 ? 1048576 : (int)rl.rlim_cur;
	for (int fd = 3; fd < max; fd++) {
		int flags = fcntl(fd, F_GETFD);
		if (flags >= 0 && !(flags & FD_CLOEXEC))
			(void)fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
	}
}

/* In the child, after fork: returns only to report a failure. */
static void child_exec(const char *path, char *const argv[], int stdin_fd, int death_signal,
    pid_t parent, int report_fd)
{
	struct spawn_failure f = { STEP_EXEC, 0 };

	if (setsid() < 0) {
		f.step = STEP_SETSID;
		goto fail;
	}
	if (death_signal != 0) {
		if (prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) < 0) {
			f.step = STEP_PDEATHSIG;
			goto fail;
		}
		/* parleyd died before the signal was armed: nobody will
		 * send it, and nobody is left to tell. */
		if (getppid() != parent)
			_exit(1);
	}

	/* Signals parleyd ignores (SIGPIPE) stay ignored across exec, and its
	 * blocked mask (everything the loop reads through signalfd) is
	 * inherited: hand the program the defaults it would get alone. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	sigset_t none;
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	if (stdin_fd != STDIN_FILENO && dup2(stdin_fd, STDIN_FILENO) < 0) {
		f.step = STEP_STDIN;
		goto fail;
	}
	close_on_exec_all();
	execv(path, argv);
fail:
	f.error = errno;
	(void)!write(report_fd, &f, sizeof(f));
	_exit(127);
}

pid_t spawn_child(const char *path, char *const argv[], int stdin_fd, int death_signal,
    char *err, size_t errlen)
{
	int report[2];
	pid_t parent = getpid();

	if (pipe2(report, O_CLOEXEC) < 0)
		return errf(err, errlen, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(report[0]);
		close(report[1]);
		return errf(err, errlen, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		close(report[0]);
		child_exec(path, argv, stdin_fd, death_signal, parent, report[1]);
		_exit(127); /* not reached */
	}

	close(report[1]);
	struct spawn_failure f;
	ssize_t n;
	do {
		n = read(report[0], &f, sizeof(f));
	} while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n == 0)
		return pid; /* exec closed the pipe: the program runs */

	/* The child is exiting: reap it now, so no one else sees its pid. */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(f))
		return errf(err, errlen, "%s: the child failed before exec", path);
	const char *step = (unsigned)f.step < ARRAY_LEN(step_names) ? step_names[f.step] : "?";
	if (f.step == STEP_EXEC)
		return errf(err, errlen, "cannot execute %s: %s", path, strerror(f.error));
	return errf(err, errlen, "%s: %s failed: %s", path, step, strerror(f.error));
}

void wait_status_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status)) {
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
		return;
	}
	if (!WIFSIGNALED(status)) {
		snprintf(buf, len, "ended with wait status 0x%x", (unsigned)status);
		return;
	}
	int sig = WTERMSIG(status);
	const char *abbrev = sigabbrev_np(sig);
	char name[32];
	if (abbrev != NULL)
		snprintf(name, sizeof(name), "SIG%s", abbrev);
	else
		snprintf(name, sizeof(name), "signal %d", sig);
	snprintf(buf, len, "was killed by %s%s%s", name,
	    WCOREDUMP(status) ? " (core dumped)" : "",
	    sig == SIGSYS ? " (a sandbox violation: a system call outside its seccomp "
			    "policy; its log names the call)" : "");
}
