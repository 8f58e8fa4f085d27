/*
 * test_supervisor_files.c — parleyd's pid file and atomic file writes: a
 * pid file naming a live parleyd is recognised, one naming a dead process or
 * another program is stale, garbage is an error; a replaced file has the
 * mode asked for whatever the umask, and leaves no temporary file behind.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor_files.h"
#include "unit.h"
#include "util.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	strcpy(dir, "/tmp/parley-test-files-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/parleyd.pid", dir);
}

static void teardown(void)
{
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(path);
	unlink(tmp);
	rmdir(dir);
}

/* A child that sleeps under the name `comm`. */
static pid_t start_named(const char *comm)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_NAME, comm, 0, 0, 0);
		(void)!write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	char c;
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	close(p[1]);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

START_TEST(test_pid_file_of_a_live_parleyd_is_live)
{
	char err[ERRLEN];
	pid_t pid = start_named("parleyd"), got = 0;
	ck_assert_int_eq(pidfile_write(path, pid, err, sizeof(err)), 0);
	ck_assert_int_eq(pidfile_live(path, &got, err, sizeof(err)), 1);
	ck_assert_int_eq(got, pid);
	stop(pid);
	/* Gone: stale. */
	ck_assert_int_eq(pidfile_live(path, &got, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_pid_file_naming_another_program_is_stale)
{
	char err[ERRLEN];
	pid_t pid = start_named("sleep"), got = 0;
	ck_assert_int_eq(pidfile_write(path, pid, err, sizeof(err)), 0);
	ck_assert_int_eq(pidfile_live(path, &got, err, sizeof(err)), 0);
	stop(pid);
	/* Nor does it count when it names ourselves (a pid reused after a
	 * reboot). */
	ck_assert_int_eq(pidfile_write(path, getpid(), err, sizeof(err)), 0);
	ck_assert_int_eq(pidfile_live(path, &got, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_missing_pid_file_is_not_running_and_garbage_is_an_error)
{
	char err[ERRLEN];
	pid_t got = 0;
	ck_assert_int_eq(pidfile_live(path, &got, err, sizeof(err)), 0);
	ck_assert_int_eq(file_replace(path, "hello\n", 6, 0644, err, sizeof(err)), 0);
	ck_assert_int_eq(pidfile_live(path, &got, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, path) != NULL, "%s", err);
}
END_TEST

START_TEST(test_pid_file_is_removed_only_if_it_names_us)
{
	char err[ERRLEN];
	ck_assert_int_eq(pidfile_write(path, 12345, err, sizeof(err)), 0);
	pidfile_remove(path, 54321);
	ck_assert_int_eq(access(path, F_OK), 0);
	pidfile_remove(path, 12345);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(test_replaced_file_has_its_mode_and_no_temporary_remains)
{
	char err[ERRLEN], tmp[160], buf[64];
	struct stat st;
	mode_t old = umask(077);
	ck_assert_int_eq(file_replace(path, "router 12 running 0\n", 20, 0644, err, sizeof(err)), 0);
	ck_assert_int_eq(file_replace(path, "router 13 running 1\n", 20, 0644, err, sizeof(err)), 0);
	umask(old);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "router 13 running 1\n");
}
END_TEST

START_TEST(test_mkdir_parents_creates_every_level)
{
	char err[ERRLEN], deep[160], mid[160];
	snprintf(mid, sizeof(mid), "%s/a", dir);
	snprintf(deep, sizeof(deep), "%s/a/b", dir);
	ck_assert_int_eq(mkdir_parents(deep, 0755, err, sizeof(err)), 0);
	ck_assert_int_eq(mkdir_parents(deep, 0755, err, sizeof(err)), 0);
	struct stat st;
	ck_assert_int_eq(stat(deep, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	rmdir(deep);
	rmdir(mid);
	ck_assert_int_eq(mkdir_parents("/proc/parley-no/x", 0755, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/proc/parley-no") != NULL, "%s", err);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("supervisor_files");
	TCase *tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pid_file_of_a_live_parleyd_is_live);
	tcase_add_test(tc, test_pid_file_naming_another_program_is_stale);
	tcase_add_test(tc, test_missing_pid_file_is_not_running_and_garbage_is_an_error);
	tcase_add_test(tc, test_pid_file_is_removed_only_if_it_names_us);
	tcase_add_test(tc, test_replaced_file_has_its_mode_and_no_temporary_remains);
	tcase_add_test(tc, test_mkdir_parents_creates_every_level);
	suite_add_tcase(s, tc);
	return s;
}
