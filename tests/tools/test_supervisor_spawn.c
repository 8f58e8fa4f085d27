/*
 * test_supervisor_spawn.c — how parleyd starts a child: the program gets
 * only stdin/stdout/stderr, a clean signal mask, its own session, and dies
 * with its parent; a program that cannot be executed is an error naming it;
 * and a child's end is told in words (SIGSYS as a sandbox violation).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor_spawn.h"
#include "unit.h"
#include "util.h"

static char dir[64];
static char out[128];

static void setup(void)
{
	strcpy(dir, "/tmp/parley-test-spawn-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(out, sizeof(out), "%s/out", dir);
}

static void teardown(void)
{
	unlink(out);
	rmdir(dir);
}

/* Run `script` under /bin/sh as parleyd would run a child; wait for it and
 * return what it wrote to `out`. */
static char *run_sh(const char *script, char *buf, size_t len)
{
	char err[ERRLEN];
	char *const argv[] = { (char *)"sh", (char *)"-c", (char *)script, out, NULL };
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(null, 0);

	pid_t pid = spawn_child("/bin/sh", argv, null, SIGKILL, err, sizeof(err));
	ck_assert_msg(pid > 0, "spawn: %s", err);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "script failed: 0x%x", status);
	close(null);

	FILE *f = fopen(out, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The descriptors process `pid` holds, as "0 1 2 "; returns how many. */
static int list_fds(pid_t pid, char *list, size_t len)
{
	char dirpath[64];
	int n = 0;

	list[0] = '\0';
	snprintf(dirpath, sizeof(dirpath), "/proc/%ld/fd", (long)pid);
	DIR *d = opendir(dirpath);
	ck_assert_ptr_nonnull(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		strncat(list, e->d_name, len - strlen(list) - 2);
		strcat(list, " ");
	}
	closedir(d);
	return n;
}

START_TEST(test_child_gets_only_stdin_stdout_and_stderr)
{
	char err[ERRLEN], fds[64];
	char *const argv[] = { (char *)"sleep", (char *)"10", NULL };
	/* An inheritable descriptor parleyd happens to hold. */
	int leak = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_gt(leak, 2);

	pid_t pid = spawn_child("/bin/sleep", argv, 0, SIGKILL, err, sizeof(err));
	ck_assert_msg(pid > 0, "spawn: %s", err);
	/* The program's loader opens its libraries for a moment after exec:
	 * wait for it to settle. A leaked descriptor would never go away. */
	int n = 0;
	for (int i = 0; i < 100 && (n = list_fds(pid, fds, sizeof(fds))) != 3; i++)
		usleep(10000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(leak);
	ck_assert_msg(n == 3, "the child holds descriptors %s", fds);
}
END_TEST

START_TEST(test_child_stdin_is_the_given_descriptor)
{
	char buf[256];
	run_sh("readlink /proc/$$/fd/0 > \"$0\"", buf, sizeof(buf));
	ck_assert_str_eq(buf, "/dev/null\n");
}
END_TEST

START_TEST(test_child_starts_with_no_signal_blocked_or_ignored)
{
	char err[ERRLEN], path[64], line[256], blk[256] = "", ign[256] = "";
	char *const argv[] = { (char *)"sleep", (char *)"10", NULL };
	sigset_t set;
	/* What parleyd's loop does: block the signals it reads by signalfd,
	 * and ignore SIGPIPE. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	signal(SIGPIPE, SIG_IGN);

	pid_t pid = spawn_child("/bin/sleep", argv, 0, SIGKILL, err, sizeof(err));
	ck_assert_msg(pid > 0, "spawn: %s", err);
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "SigBlk:", 7) == 0)
			snprintf(blk, sizeof(blk), "%s", line);
		if (strncmp(line, "SigIgn:", 7) == 0)
			snprintf(ign, sizeof(ign), "%s", line);
	}
	fclose(f);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_str_eq(blk, "SigBlk:\t0000000000000000\n");
	ck_assert_str_eq(ign, "SigIgn:\t0000000000000000\n");
}
END_TEST

START_TEST(test_child_leads_its_own_session)
{
	char buf[64];
	run_sh("[ \"$(cut -d' ' -f6 /proc/$$/stat)\" = $$ ] && echo own > \"$0\" || echo shared > \"$0\"",
	    buf, sizeof(buf));
	ck_assert_str_eq(buf, "own\n");
}
END_TEST

START_TEST(test_child_dies_when_its_parent_dies)
{
	int pipefd[2];
	/* Orphans come back to us, so the test can reap the child it checks. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	ck_assert_int_eq(pipe(pipefd), 0);

	pid_t middle = fork();
	ck_assert_int_ge(middle, 0);
	if (middle == 0) {
		/* Plays parleyd: starts a long sleep, then dies. */
		char err[ERRLEN];
		char *const argv[] = { (char *)"sleep", (char *)"30", NULL };
		pid_t pid = spawn_child("/bin/sleep", argv, 0, SIGKILL, err, sizeof(err));
		if (write(pipefd[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(2);
		_exit(pid > 0 ? 0 : 1);
	}
	pid_t sleeper = 0;
	ck_assert_int_eq(read(pipefd[0], &sleeper, sizeof(sleeper)), sizeof(sleeper));
	ck_assert_int_gt(sleeper, 0);
	int status;
	ck_assert_int_eq(waitpid(middle, &status, 0), middle);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* The sleep must not outlive its parent: reaped here, killed. */
	alarm(5);
	ck_assert_int_eq(waitpid(sleeper, &status, 0), sleeper);
	alarm(0);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGKILL);
}
END_TEST

START_TEST(test_missing_program_is_an_error_naming_it)
{
	char err[ERRLEN];
	char *const argv[] = { (char *)"parley-nothing", NULL };
	pid_t pid = spawn_child("/nonexistent/parley-nothing", argv, 0, SIGKILL, err, sizeof(err));
	ck_assert_int_eq(pid, -1);
	ck_assert_msg(strstr(err, "/nonexistent/parley-nothing") != NULL, "%s", err);
	ck_assert_msg(strstr(err, strerror(ENOENT)) != NULL, "%s", err);
	/* The failed child was reaped: nothing is left to wait for. */
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(test_exit_and_signal_are_told_in_words)
{
	char buf[256];

	wait_status_describe(3 << 8, buf, sizeof(buf));
	ck_assert_str_eq(buf, "exited with status 3");
	wait_status_describe(SIGSEGV | 0x80, buf, sizeof(buf));
	ck_assert_str_eq(buf, "was killed by SIGSEGV (core dumped)");
	wait_status_describe(SIGKILL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "was killed by SIGKILL");
}
END_TEST

START_TEST(test_sigsys_is_called_a_sandbox_violation)
{
	char buf[256];

	wait_status_describe(SIGSYS, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "was killed by SIGSYS", 20) == 0, "%s", buf);
	ck_assert_msg(strstr(buf, "sandbox violation") != NULL, "%s", buf);
	ck_assert_msg(strstr(buf, "seccomp") != NULL, "%s", buf);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("supervisor_spawn");
	TCase *tc = tcase_create("spawn");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_child_gets_only_stdin_stdout_and_stderr);
	tcase_add_test(tc, test_child_stdin_is_the_given_descriptor);
	tcase_add_test(tc, test_child_starts_with_no_signal_blocked_or_ignored);
	tcase_add_test(tc, test_child_leads_its_own_session);
	tcase_add_test(tc, test_child_dies_when_its_parent_dies);
	tcase_add_test(tc, test_missing_program_is_an_error_naming_it);
	suite_add_tcase(s, tc);

	TCase *tw = tcase_create("wait_status");
	tcase_add_test(tw, test_exit_and_signal_are_told_in_words);
	tcase_add_test(tw, test_sigsys_is_called_a_sandbox_violation);
	suite_add_tcase(s, tw);
	return s;
}
