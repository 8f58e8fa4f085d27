/*
 * test_sandbox.c — the sandbox helpers, shown from the outside: every test
 * sandboxes a fork()ed child (a sandbox cannot be undone, and Check's own
 * test process must stay free to report), lets it try what the policy
 * allows and what it does not, and judges the child's fate from the parent
 * with waitpid(): its exit status, the signal that killed it, and what it
 * wrote to stderr, which the parent reads through a pipe.
 *
 * Children end with _exit() so that nothing registered with atexit() (the
 * LeakSanitizer's check, Check's own bookkeeping) runs inside a sandbox it
 * was never meant for.
 *
 * The user-switching tests need root. When not root they pass without
 * testing anything and say so on stderr: Check has no "skip".
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "landlock.h"
#include "log.h"
#include "loop.h"
#include "sandbox.h"
#include "seccomp_policy.h"
#include "unit.h"

/* ---- running a child --------------------------------------------------- */

struct fate {
	int status;
	char output[8192]; /* the child's stderr */
};

typedef int (*child_body)(void *arg);

static void run_child(child_body body, void *arg, struct fate *fate)
{
	int fds[2];
	size_t n = 0;

	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		close(fds[0]);
		dup2(fds[1], 2);
		close(fds[1]);
		/* A filter death dumps core where the kernel is set up for it. */
		setrlimit(RLIMIT_CORE, &no_core);
		_exit(body(arg));
	}
	close(fds[1]);
	for (;;) {
		ssize_t r = read(fds[0], fate->output + n, sizeof(fate->output) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof(fate->output) - 1)
			break;
	}
	fate->output[n] = '\0';
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &fate->status, 0), pid);
}

/* In a child: report which check failed and return its line as the exit
 * status, so the parent's message points at the line. */
#define CHILD_CHECK(cond) \
	do { \
		if (!(cond)) { \
			dprintf(2, "child check failed at line %d: %s (errno: %s)\n", \
			    __LINE__, #cond, strerror(errno)); \
			return __LINE__ % 250 + 1; \
		} \
	} while (0)

static void expect_exit_0(const struct fate *f)
{
	ck_assert_msg(WIFEXITED(f->status) && WEXITSTATUS(f->status) == 0,
	    "child did not exit 0 (status 0x%x); its stderr:\n%s", f->status, f->output);
}

/* Killed by SIGSYS, after a reporter line naming `syscall`. */
static void expect_violation(const struct fate *f, const char *syscall)
{
	char want[64];

	ck_assert_msg(WIFSIGNALED(f->status) && WTERMSIG(f->status) == SIGSYS,
	    "child was not killed by SIGSYS (status 0x%x); its stderr:\n%s", f->status, f->output);
	snprintf(want, sizeof(want), "system call %s (", syscall);
	ck_assert_msg(strstr(f->output, want) != NULL,
	    "the violation line does not name %s:\n%s", syscall, f->output);
	ck_assert_msg(strstr(f->output, "fatal: seccomp:") != NULL, "no fatal line:\n%s",
	    f->output);
}

/* ---- seccomp ------------------------------------------------------------- */

static int seccomp_then_inet_socket(void *arg)
{
	char err[ERRLEN];
	const char *policy = arg;

	CHILD_CHECK(sandbox_seccomp(policy, err, sizeof(err)) == 0);
	socket(AF_INET, SOCK_STREAM, 0);
	return 99; /* not reached */
}

START_TEST(test_stdio_kills_inet_socket_with_sigsys_and_names_it)
{
	struct fate f;
	run_child(seccomp_then_inet_socket, "stdio", &f);
	expect_violation(&f, "socket");
	ck_assert_msg(strstr(f.output, "outside the policy \"stdio\"") != NULL,
	    "the line does not name the policy:\n%s", f.output);
	/* One line, ending the output. */
	ck_assert_int_eq(strchr(f.output, '\n') - f.output, (long)strlen(f.output) - 1);
}
END_TEST

/* The line carries the timestamp, name and pid that log.c lines carry. */
START_TEST(test_violation_line_looks_like_a_log_line)
{
	struct fate f;
	struct tm tm;
	char name[64];
	long pid;
	int ms, used = 0;

	/* The log stamps with CLOCK_REALTIME; time() reads a coarser clock
	 * that may still be in the previous second. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_REALTIME, &t0);
	run_child(seccomp_then_inet_socket, "stdio", &f);
	clock_gettime(CLOCK_REALTIME, &t1);
	time_t before = t0.tv_sec, after = t1.tv_sec;
	expect_violation(&f, "socket");

	memset(&tm, 0, sizeof(tm));
	ck_assert_int_eq(sscanf(f.output, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ %63[^[][%ld] fatal: %n",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &ms, name, &pid, &used), 9);
	ck_assert_int_gt(used, 0);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t stamped = timegm(&tm);
	ck_assert_msg(stamped >= before && stamped <= after,
	    "timestamp %lld outside [%lld, %lld]: %s", (long long)stamped,
	    (long long)before, (long long)after, f.output);
	ck_assert_str_eq(name, program_invocation_short_name);
	ck_assert_int_gt(pid, 0);
}
END_TEST

static int report_to_other_fd(void *arg)
{
	char err[ERRLEN];
	int fd = dup(2);

	CHILD_CHECK(fd > 2);
	CHILD_CHECK(close(2) == 0);
	sandbox_report_violations_to(fd, "c2s.3");
	/* No "stdio": the reporter's own calls are allowed regardless. */
	CHILD_CHECK(sandbox_seccomp("prctl", err, sizeof(err)) == 0);
	socket(AF_INET, SOCK_STREAM, 0);
	return 99;
}

START_TEST(test_violation_report_goes_to_the_chosen_fd_even_without_stdio)
{
	struct fate f;
	run_child(report_to_other_fd, NULL, &f);
	expect_violation(&f, "socket");
	ck_assert_msg(strstr(f.output, "Z c2s.3[") != NULL, "not under its name:\n%s", f.output);
	ck_assert_msg(strstr(f.output, "outside the policy \"prctl\"") != NULL, "%s", f.output);
}
END_TEST

static int kill_mode_then_inet_socket(void *arg)
{
	char err[ERRLEN];
	struct sandbox_filter *filter = sandbox_filter_new(SANDBOX_KILL, err, sizeof(err));

	CHILD_CHECK(filter != NULL);
	CHILD_CHECK(sandbox_filter_allow(filter, "stdio", err, sizeof(err)) == 0);
	CHILD_CHECK(sandbox_filter_load(filter, err, sizeof(err)) == 0);
	sandbox_filter_free(&filter);
	socket(AF_INET, SOCK_STREAM, 0);
	return 99;
}

START_TEST(test_kill_mode_dies_of_sigsys_without_a_line)
{
	struct fate f;
	run_child(kill_mode_then_inet_socket, NULL, &f);
	ck_assert_msg(WIFSIGNALED(f.status) && WTERMSIG(f.status) == SIGSYS,
	    "status 0x%x, stderr:\n%s", f.status, f.output);
	ck_assert_str_eq(f.output, "");
}
END_TEST

static void on_pipe_readable(struct loop *loop, int fd, unsigned events, void *arg)
{
	char buf[64];
	size_t *got = arg;
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		*got += (size_t)r;
}

static void on_timer(struct loop *loop, void *arg)
{
	int *fired = arg;
	(*fired)++;
}

static void on_sigusr1(struct loop *loop, int signo, void *arg)
{
	int *caught = arg;
	*caught = signo;
}

static int compare_ints(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* What a Parley process does all day, after its sandbox is in place: the
 * loop with an fd, a timer and a signal, allocation of every size, the
 * clock, randomness, sorting, logging. */
static int event_loop_under_stdio(void *arg)
{
	char err[ERRLEN];
	int fds[2], peers[2];
	size_t got = 0;
	int fired = 0, caught = 0;
	char c = 0;

	/* Opened before the sandbox, as a daemon's main does. */
	struct loop *loop = loop_new(err, sizeof(err));
	CHILD_CHECK(loop != NULL);
	CHILD_CHECK(pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
	CHILD_CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, peers) == 0);
	CHILD_CHECK(loop_signal(loop, SIGUSR1, on_sigusr1, &caught, err, sizeof(err)) == 0);

	CHILD_CHECK(sandbox_seccomp("stdio", err, sizeof(err)) == 0);

	CHILD_CHECK(loop_add_fd(loop, fds[0], on_pipe_readable, &got, err, sizeof(err)) == 0);
	loop_timer_add(loop, 1, on_timer, &fired);

	/* Allocation, small (brk) to large (mmap), growing and shrinking. */
	void *blocks[256];
	for (size_t i = 0; i < ARRAY_LEN(blocks); i++) {
		blocks[i] = malloc((i + 1) * 4099);
		CHILD_CHECK(blocks[i] != NULL);
		memset(blocks[i], (int)i, (i + 1) * 4099);
	}
	void *big = malloc(64u << 20);
	CHILD_CHECK(big != NULL);
	memset(big, 1, 64u << 20);
	big = realloc(big, 128u << 20);
	CHILD_CHECK(big != NULL);
	free(big);
	for (size_t i = 0; i < ARRAY_LEN(blocks); i++)
		free(blocks[i]);

	/* Sorting a large array (glibc's qsort asks sysinfo for memory). */
	size_t nints = 1u << 16;
	int *ints = calloc(nints, sizeof(int));
	CHILD_CHECK(ints != NULL);
	CHILD_CHECK(getrandom(ints, nints * sizeof(int), 0) == (ssize_t)(nints * sizeof(int)));
	qsort(ints, nints, sizeof(int), compare_ints);
	CHILD_CHECK(ints[0] <= ints[nints - 1]);
	free(ints);

	struct timespec ts;
	CHILD_CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	CHILD_CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0);
	CHILD_CHECK(time(NULL) > 0);

	/* Sockets it already holds: send() and recv(), as syslog() does. */
	CHILD_CHECK(send(peers[0], "s", 1, 0) == 1);
	CHILD_CHECK(recv(peers[1], &c, 1, 0) == 1 && c == 's');

	CHILD_CHECK(write(fds[1], "hello", 5) == 5);
	CHILD_CHECK(raise(SIGUSR1) == 0);
	for (int i = 0; i < 100 && (got < 5 || fired == 0 || caught == 0); i++)
		CHILD_CHECK(loop_run_once(loop, 100) == 0);
	CHILD_CHECK(got == 5);
	CHILD_CHECK(fired == 1);
	CHILD_CHECK(caught == SIGUSR1);

	log_info("the loop ran under \"stdio\" (%.1f ms of work)", 1.5);
	loop_del_fd(loop, fds[0]);
	close(fds[0]);
	close(fds[1]);
	loop_free(&loop);
	return 0;
}

START_TEST(test_stdio_is_enough_for_an_event_loop)
{
	struct fate f;
	run_child(event_loop_under_stdio, NULL, &f);
	expect_exit_0(&f);
	ck_assert_msg(strstr(f.output, "the loop ran under \"stdio\" (1.5 ms of work)") != NULL,
	    "no log line:\n%s", f.output);
}
END_TEST

static int unix_sockets_then_inet(void *arg)
{
	char err[ERRLEN];
	int sv[2];
	char c = 0;

	CHILD_CHECK(sandbox_seccomp("stdio unix", err, sizeof(err)) == 0);
	CHILD_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHILD_CHECK(send(sv[0], "x", 1, 0) == 1);
	CHILD_CHECK(recv(sv[1], &c, 1, 0) == 1 && c == 'x');
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	CHILD_CHECK(s >= 0);
	close(s);
	dprintf(2, "unix sockets work\n");
	socket(AF_INET6, SOCK_STREAM, 0);
	return 99;
}

START_TEST(test_unix_allows_unix_sockets_but_not_inet)
{
	struct fate f;
	run_child(unix_sockets_then_inet, NULL, &f);
	ck_assert_msg(strstr(f.output, "unix sockets work\n") != NULL, "stderr:\n%s", f.output);
	expect_violation(&f, "socket");
}
END_TEST

static int dns_udp_then_tcp(void *arg)
{
	char err[ERRLEN];

	CHILD_CHECK(sandbox_seccomp("stdio dns", err, sizeof(err)) == 0);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHILD_CHECK(s >= 0);
	close(s);
	dprintf(2, "udp works\n");
	socket(AF_INET, SOCK_STREAM, 0);
	return 99;
}

START_TEST(test_dns_allows_udp_sockets_but_not_tcp)
{
	struct fate f;
	run_child(dns_udp_then_tcp, NULL, &f);
	ck_assert_msg(strstr(f.output, "udp works\n") != NULL, "stderr:\n%s", f.output);
	expect_violation(&f, "socket");
}
END_TEST

static int rpath_read_then_write(void *arg)
{
	char err[ERRLEN];
	char buf[16];
	const char *path = arg;

	CHILD_CHECK(sandbox_seccomp("stdio rpath", err, sizeof(err)) == 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(read(fd, buf, sizeof(buf)) == 6 && memcmp(buf, "hello\n", 6) == 0);
	close(fd);
	struct stat st;
	CHILD_CHECK(stat(path, &st) == 0 && st.st_size == 6);
	dprintf(2, "read-only open works\n");
	open(path, O_WRONLY | O_CLOEXEC);
	return 99;
}

static char *make_temp_dir(void)
{
	char tmpl[] = "/tmp/parley-sandbox-XXXXXX";
	char *dir = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(dir);
	/* Readable by the unprivileged user the drop tests switch to. */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	return strdup(dir);
}

static void write_file(const char *path, const char *content)
{
	FILE *fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(content, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

static void remove_tree(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_rpath_opens_read_only_but_not_for_writing)
{
	struct fate f;
	char path[256];
	char *dir = make_temp_dir();

	snprintf(path, sizeof(path), "%s/file", dir);
	write_file(path, "hello\n");
	run_child(rpath_read_then_write, path, &f);
	remove_tree(dir);
	free(dir);
	ck_assert_msg(strstr(f.output, "read-only open works\n") != NULL, "stderr:\n%s", f.output);
	expect_violation(&f, "openat");
}
END_TEST

static int exec_mapping_under_stdio(void *arg)
{
	char err[ERRLEN];

	CHILD_CHECK(sandbox_seccomp("stdio", err, sizeof(err)) == 0);
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(p != MAP_FAILED);
	dprintf(2, "plain mapping works\n");
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return 99;
}

START_TEST(test_stdio_refuses_executable_memory)
{
	struct fate f;
	run_child(exec_mapping_under_stdio, NULL, &f);
	ck_assert_msg(strstr(f.output, "plain mapping works\n") != NULL, "stderr:\n%s", f.output);
	expect_violation(&f, "mprotect");
}
END_TEST

static void ignore_signal(int sig)
{
	(void)sig;
}

static int replace_sigsys_handler(void *arg)
{
	char err[ERRLEN];
	struct sigaction sa;

	CHILD_CHECK(sandbox_seccomp("stdio signal", err, sizeof(err)) == 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ignore_signal;
	sigemptyset(&sa.sa_mask);
	CHILD_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	dprintf(2, "SIGUSR1 handler set\n");
	sigaction(SIGSYS, &sa, NULL);
	return 99;
}

START_TEST(test_signal_group_cannot_replace_the_violation_reporter)
{
	struct fate f;
	run_child(replace_sigsys_handler, NULL, &f);
	ck_assert_msg(strstr(f.output, "SIGUSR1 handler set\n") != NULL, "stderr:\n%s", f.output);
	expect_violation(&f, "rt_sigaction");
}
END_TEST

static int abort_under_stdio(void *arg)
{
	char err[ERRLEN];

	CHILD_CHECK(sandbox_seccomp("stdio", err, sizeof(err)) == 0);
	abort();
}

START_TEST(test_abort_under_stdio_still_dies_of_sigabrt)
{
	struct fate f;
	run_child(abort_under_stdio, NULL, &f);
	ck_assert_msg(WIFSIGNALED(f.status) && WTERMSIG(f.status) == SIGABRT,
	    "status 0x%x, stderr:\n%s", f.status, f.output);
	ck_assert_str_eq(f.output, "");
}
END_TEST

static int extra_syscall_by_name(void *arg)
{
	char err[ERRLEN];
	pid_t parent = *(pid_t *)arg;
	struct sandbox_filter *filter = sandbox_filter_new(SANDBOX_REPORT, err, sizeof(err));

	CHILD_CHECK(filter != NULL);
	CHILD_CHECK(sandbox_filter_allow(filter, "stdio", err, sizeof(err)) == 0);
	CHILD_CHECK(sandbox_filter_allow_syscall(filter, "getppid", err, sizeof(err)) == 0);
	CHILD_CHECK(sandbox_filter_load(filter, err, sizeof(err)) == 0);
	sandbox_filter_free(&filter);
	CHILD_CHECK(getppid() == parent);
	dprintf(2, "getppid works\n");
	socket(AF_UNIX, SOCK_STREAM, 0);
	return 99;
}

START_TEST(test_a_single_syscall_can_be_added_by_name)
{
	struct fate f;
	pid_t self = getpid();

	run_child(extra_syscall_by_name, &self, &f);
	ck_assert_msg(strstr(f.output, "getppid works\n") != NULL, "stderr:\n%s", f.output);
	expect_violation(&f, "socket");
	ck_assert_msg(strstr(f.output, "policy \"stdio +getppid\"") != NULL, "stderr:\n%s",
	    f.output);
}
END_TEST

/* The same, written in the policy string: "+name" is one system call. */
static int extra_syscall_in_policy(void *arg)
{
	char err[ERRLEN];
	pid_t parent = *(pid_t *)arg;

	CHILD_CHECK(sandbox_no_new_privs(err, sizeof(err)) == 0);
	CHILD_CHECK(sandbox_seccomp("stdio +getppid", err, sizeof(err)) == 0);
	CHILD_CHECK(getppid() == parent);
	dprintf(2, "getppid works\n");
	socket(AF_UNIX, SOCK_STREAM, 0);
	return 99;
}

START_TEST(test_a_policy_word_with_a_plus_allows_one_syscall)
{
	struct fate f;
	pid_t self = getpid();
	char err[ERRLEN] = "";
	struct sandbox_filter *filter = sandbox_filter_new(SANDBOX_REPORT, err, sizeof(err));

	run_child(extra_syscall_in_policy, &self, &f);
	ck_assert_msg(strstr(f.output, "getppid works\n") != NULL, "stderr:\n%s", f.output);
	expect_violation(&f, "socket");
	ck_assert_int_eq(sandbox_filter_allow(filter, "stdio +frobnicate", err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "\"frobnicate\"") != NULL, "%s", err);
	ck_assert_int_eq(sandbox_filter_allow(filter, "stdio +", err, sizeof(err)), -1);
	sandbox_filter_free(&filter);
}
END_TEST

START_TEST(test_unknown_policy_words_are_rejected_by_name)
{
	char err[ERRLEN] = "";
	struct sandbox_filter *filter = sandbox_filter_new(SANDBOX_REPORT, err, sizeof(err));

	ck_assert_ptr_nonnull(filter);
	ck_assert_int_eq(sandbox_filter_allow(filter, "stdio frobnicate unix", err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "\"frobnicate\"") != NULL, "error does not name it: %s", err);
	ck_assert_msg(strstr(err, "stdio unix inet") != NULL, "error does not list groups: %s",
	    err);
	ck_assert_int_eq(sandbox_filter_allow(filter, "  ", err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "empty") != NULL, "%s", err);
	ck_assert_int_eq(sandbox_filter_allow_syscall(filter, "frobnicate", err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "frobnicate") != NULL, "%s", err);
	ck_assert_int_eq(sandbox_filter_allow(filter, "stdio\tunix\n", err, sizeof(err)), 0);
	sandbox_filter_free(&filter);
	ck_assert_ptr_null(filter);
}
END_TEST

static int prctl_policy(void *arg)
{
	char err[ERRLEN];

	CHILD_CHECK(sandbox_no_new_privs(err, sizeof(err)) == 0);
	CHILD_CHECK(sandbox_seccomp("stdio prctl", err, sizeof(err)) == 0);
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHILD_CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2);
	CHILD_CHECK(prctl(PR_SET_NAME, (unsigned long)"c2s.3", 0, 0, 0) == 0);
	dprintf(2, "prctl reads work\n");
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	return 99;
}

START_TEST(test_prctl_group_allows_reads_but_not_set_dumpable)
{
	struct fate f;
	run_child(prctl_policy, NULL, &f);
	ck_assert_msg(strstr(f.output, "prctl reads work\n") != NULL, "stderr:\n%s", f.output);
	expect_violation(&f, "prctl");
}
END_TEST

static int fork_under_proc(void *arg)
{
	char err[ERRLEN];
	int status;
	pid_t pid;

	CHILD_CHECK(sandbox_seccomp("stdio proc", err, sizeof(err)) == 0);
	/* fork() is clone() without CLONE_THREAD. */
	pid = fork();
	CHILD_CHECK(pid >= 0);
	if (pid == 0)
		_exit(7);
	CHILD_CHECK(waitpid(pid, &status, 0) == pid);
	CHILD_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	/* clone3 answers "not implemented", so glibc falls back to clone. */
	CHILD_CHECK(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
	/* A child that steps outside the policy dies of it and is reported,
	 * like its parent would be, though the filter was built with the
	 * parent's pid. */
	pid = fork();
	CHILD_CHECK(pid >= 0);
	if (pid == 0) {
		socket(AF_UNIX, SOCK_STREAM, 0);
		_exit(99);
	}
	CHILD_CHECK(waitpid(pid, &status, 0) == pid);
	CHILD_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
	dprintf(2, "processes work\n");
	return 0;
}

START_TEST(test_proc_allows_fork_and_wait_and_children_stay_filtered)
{
	struct fate f;
	run_child(fork_under_proc, NULL, &f);
	expect_exit_0(&f);
	ck_assert_msg(strstr(f.output, "system call socket (") != NULL,
	    "the grandchild's violation was not reported:\n%s", f.output);
	ck_assert_msg(strstr(f.output, "processes work\n") != NULL, "stderr:\n%s", f.output);
}
END_TEST

static int exec_under_exec(void *arg)
{
	char err[ERRLEN];
	int status;

	CHILD_CHECK(sandbox_seccomp("stdio proc exec", err, sizeof(err)) == 0);
	pid_t pid = fork();
	CHILD_CHECK(pid >= 0);
	if (pid == 0) {
		char *argv[] = { "true", NULL };
		execv("/bin/true", argv);
		_exit(98);
	}
	CHILD_CHECK(waitpid(pid, &status, 0) == pid);
	/* execve itself was allowed (no exit 98), but the new program still
	 * runs under the filter, and its loader's first open() is outside it.
	 * exec reset the reporter, so that death is a silent SIGSYS. */
	CHILD_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
	return 0;
}

START_TEST(test_exec_does_not_escape_the_filter)
{
	struct fate f;
	run_child(exec_under_exec, NULL, &f);
	expect_exit_0(&f);
}
END_TEST

START_TEST(test_every_policy_group_builds)
{
	char err[ERRLEN] = "";
	struct sandbox_filter *filter = sandbox_filter_new(SANDBOX_REPORT, err, sizeof(err));

	ck_assert_ptr_nonnull(filter);
	ck_assert_msg(sandbox_filter_allow(filter, seccomp_policy_group_names(), err,
	    sizeof(err)) == 0, "%s", err);
	sandbox_filter_free(&filter);
}
END_TEST

/* ---- Landlock ------------------------------------------------------------ */

static bool have_landlock(void)
{
	if (landlock_abi() > 0)
		return true;
	fprintf(stderr, "# the kernel has no Landlock: test passes untested\n");
	return false;
}

struct tree {
	char *dir;
	char a[64], b[64], a_file[80], b_file[80];
};

static void make_tree(struct tree *t)
{
	t->dir = make_temp_dir();
	snprintf(t->a, sizeof(t->a), "%s/a", t->dir);
	snprintf(t->b, sizeof(t->b), "%s/b", t->dir);
	snprintf(t->a_file, sizeof(t->a_file), "%s/a/file", t->dir);
	snprintf(t->b_file, sizeof(t->b_file), "%s/b/file", t->dir);
	ck_assert_int_eq(mkdir(t->a, 0755), 0);
	ck_assert_int_eq(mkdir(t->b, 0755), 0);
	write_file(t->a_file, "in a\n");
	write_file(t->b_file, "in b\n");
}

static void remove_tree_of(struct tree *t)
{
	remove_tree(t->dir);
	free(t->dir);
}

static int read_only_dir(void *arg)
{
	struct tree *t = arg;
	char err[ERRLEN], buf[16], path[300];
	const struct landlock_path paths[] = { { t->a, FS_READ } };

	CHILD_CHECK(sandbox_no_new_privs(err, sizeof(err)) == 0);
	CHILD_CHECK(landlock_restrict(paths, ARRAY_LEN(paths), err, sizeof(err)) == 1);
	int fd = open(t->a_file, O_RDONLY | O_CLOEXEC);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(read(fd, buf, sizeof(buf)) == 5 && memcmp(buf, "in a\n", 5) == 0);
	close(fd);
	CHILD_CHECK(open(t->a_file, O_WRONLY | O_CLOEXEC) == -1 && errno == EACCES);
	snprintf(path, sizeof(path), "%s/new", t->a);
	CHILD_CHECK(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) == -1 && errno == EACCES);
	CHILD_CHECK(unlink(t->a_file) == -1 && errno == EACCES);
	CHILD_CHECK(open(t->b_file, O_RDONLY | O_CLOEXEC) == -1 && errno == EACCES);
	CHILD_CHECK(open("/etc/passwd", O_RDONLY | O_CLOEXEC) == -1 && errno == EACCES);
	return 0;
}

START_TEST(test_landlock_read_only_dir_reads_but_does_not_write)
{
	struct tree t;
	struct fate f;

	if (!have_landlock())
		return;
	make_tree(&t);
	run_child(read_only_dir, &t, &f);
	remove_tree_of(&t);
	expect_exit_0(&f);
}
END_TEST

static int read_write_dir(void *arg)
{
	struct tree *t = arg;
	char err[ERRLEN], path[300], path2[300];
	const struct landlock_path paths[] = { { t->a, FS_READ_WRITE } };

	CHILD_CHECK(sandbox_no_new_privs(err, sizeof(err)) == 0);
	CHILD_CHECK(landlock_restrict(paths, ARRAY_LEN(paths), err, sizeof(err)) == 1);
	snprintf(path, sizeof(path), "%s/new", t->a);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(write(fd, "data", 4) == 4);
	CHILD_CHECK(ftruncate(fd, 2) == 0);
	close(fd);
	snprintf(path2, sizeof(path2), "%s/sub", t->a);
	CHILD_CHECK(mkdir(path2, 0700) == 0);
	snprintf(path2, sizeof(path2), "%s/sub/moved", t->a);
	CHILD_CHECK(rename(path, path2) == 0);
	CHILD_CHECK(unlink(path2) == 0);
	CHILD_CHECK(open(t->a_file, O_RDWR | O_APPEND | O_CLOEXEC) >= 0);
	CHILD_CHECK(open(t->b_file, O_RDONLY | O_CLOEXEC) == -1 && errno == EACCES);
	/* Executing is never part of read-write. */
	CHILD_CHECK(chmod(t->a_file, 0755) == 0);
	char *argv[] = { t->a_file, NULL };
	execv(t->a_file, argv);
	CHILD_CHECK(errno == EACCES);
	return 0;
}

static int single_file(void *arg)
{
	struct tree *t = arg;
	char err[ERRLEN], buf[16];
	const struct landlock_path paths[] = { { t->a_file, FS_READ } };

	CHILD_CHECK(sandbox_no_new_privs(err, sizeof(err)) == 0);
	CHILD_CHECK(landlock_restrict(paths, ARRAY_LEN(paths), err, sizeof(err)) == 1);
	int fd = open(t->a_file, O_RDONLY | O_CLOEXEC);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(read(fd, buf, sizeof(buf)) == 5);
	close(fd);
	/* The file, not its directory. */
	CHILD_CHECK(open(t->a, O_RDONLY | O_DIRECTORY | O_CLOEXEC) == -1 && errno == EACCES);
	CHILD_CHECK(open(t->a_file, O_WRONLY | O_CLOEXEC) == -1 && errno == EACCES);
	return 0;
}

START_TEST(test_landlock_rule_on_a_single_file)
{
	struct tree t;
	struct fate f;

	if (!have_landlock())
		return;
	make_tree(&t);
	run_child(single_file, &t, &f);
	remove_tree_of(&t);
	expect_exit_0(&f);
}
END_TEST

START_TEST(test_landlock_read_write_dir_allows_creating_files)
{
	struct tree t;
	struct fate f;

	if (!have_landlock())
		return;
	make_tree(&t);
	run_child(read_write_dir, &t, &f);
	remove_tree_of(&t);
	expect_exit_0(&f);
}
END_TEST

static int socket_dir(void *arg)
{
	struct tree *t = arg;
	char err[ERRLEN], path[300];
	const struct landlock_path paths[] = { { t->a, FS_SOCKETS } };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_un peer = { .sun_family = AF_UNIX };

	/* A listening socket outside the sandbox's paths, made before it. */
	snprintf(peer.sun_path, sizeof(peer.sun_path), "%s/peer.sock", t->b);
	int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHILD_CHECK(listener >= 0);
	CHILD_CHECK(bind(listener, (struct sockaddr *)&peer, sizeof(peer)) == 0);
	CHILD_CHECK(listen(listener, 1) == 0);

	CHILD_CHECK(sandbox_no_new_privs(err, sizeof(err)) == 0);
	CHILD_CHECK(landlock_restrict(paths, ARRAY_LEN(paths), err, sizeof(err)) == 1);
	/* Connecting needs no path right. */
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHILD_CHECK(s >= 0);
	CHILD_CHECK(connect(s, (struct sockaddr *)&peer, sizeof(peer)) == 0);
	close(s);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/router.sock", t->a);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHILD_CHECK(s >= 0);
	CHILD_CHECK(bind(s, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHILD_CHECK(listen(s, 1) == 0);
	/* A stale socket from the last run can be removed... */
	CHILD_CHECK(unlink(sun.sun_path) == 0);
	close(s);
	/* ...but nothing else can be made, read or written there. */
	snprintf(path, sizeof(path), "%s/file", t->a);
	CHILD_CHECK(open(path, O_RDONLY | O_CLOEXEC) == -1 && errno == EACCES);
	snprintf(path, sizeof(path), "%s/new", t->a);
	CHILD_CHECK(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) == -1 && errno == EACCES);
	CHILD_CHECK(mkdir(path, 0700) == -1 && errno == EACCES);
	/* And no socket anywhere else. */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/elsewhere.sock", t->b);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHILD_CHECK(s >= 0);
	CHILD_CHECK(bind(s, (struct sockaddr *)&sun, sizeof(sun)) == -1 && errno == EACCES);
	return 0;
}

START_TEST(test_landlock_socket_dir_allows_binding_and_removing_sockets_only)
{
	struct tree t;
	struct fate f;

	if (!have_landlock())
		return;
	make_tree(&t);
	run_child(socket_dir, &t, &f);
	remove_tree_of(&t);
	expect_exit_0(&f);
}
END_TEST

static int no_paths_at_all(void *arg)
{
	char err[ERRLEN];

	CHILD_CHECK(sandbox_no_new_privs(err, sizeof(err)) == 0);
	CHILD_CHECK(landlock_restrict(NULL, 0, err, sizeof(err)) == 1);
	CHILD_CHECK(open("/etc/passwd", O_RDONLY | O_CLOEXEC) == -1 && errno == EACCES);
	CHILD_CHECK(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC) == -1 && errno == EACCES);
	return 0;
}

START_TEST(test_landlock_without_paths_leaves_no_filesystem)
{
	struct fate f;

	if (!have_landlock())
		return;
	run_child(no_paths_at_all, NULL, &f);
	expect_exit_0(&f);
}
END_TEST

static int missing_path(void *arg)
{
	char err[ERRLEN] = "";
	const struct landlock_path paths[] = {
		{ "/tmp", FS_READ },
		{ "/nonexistent/parley-sockets", FS_SOCKETS },
	};

	CHILD_CHECK(sandbox_no_new_privs(err, sizeof(err)) == 0);
	CHILD_CHECK(landlock_restrict(paths, ARRAY_LEN(paths), err, sizeof(err)) == -1);
	CHILD_CHECK(strstr(err, "/nonexistent/parley-sockets") != NULL);
	CHILD_CHECK(strstr(err, "No such file") != NULL);
	/* Nothing was restricted. */
	int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	CHILD_CHECK(fd >= 0);
	close(fd);
	return 0;
}

START_TEST(test_landlock_missing_path_is_an_error_naming_it)
{
	struct fate f;
	run_child(missing_path, NULL, &f);
	expect_exit_0(&f);
}
END_TEST

START_TEST(test_landlock_socket_access_on_a_file_is_an_error)
{
	char err[ERRLEN] = "";
	const struct landlock_path paths[] = { { "/etc/passwd", FS_SOCKETS } };

	/* Fails while checking the path, before anything is restricted. */
	ck_assert_int_eq(landlock_restrict(paths, ARRAY_LEN(paths), err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/etc/passwd is not a directory") != NULL, "%s", err);
}
END_TEST

/* ---- the user ------------------------------------------------------------ */

static bool running_as_root(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "# not running as root: user-switching test passes untested\n");
	return false;
}

struct ids {
	uid_t uid;
	gid_t gid;
	char home[256];
};

static void nobody_ids(struct ids *ids)
{
	struct passwd *pw = getpwnam("nobody");
	struct group *gr = getgrnam("nogroup");
	ck_assert_ptr_nonnull(pw);
	ck_assert_ptr_nonnull(gr);
	ids->uid = pw->pw_uid;
	ids->gid = gr->gr_gid;
	snprintf(ids->home, sizeof(ids->home), "%s", pw->pw_dir);
}

static int drop_to_nobody(void *arg)
{
	const struct ids *ids = arg;
	char err[ERRLEN];
	gid_t groups[8];

	CHILD_CHECK(sandbox_drop_user("nobody", "nogroup", err, sizeof(err)) == 0);
	CHILD_CHECK(getuid() == ids->uid && geteuid() == ids->uid);
	CHILD_CHECK(getgid() == ids->gid && getegid() == ids->gid);
	CHILD_CHECK(getgroups(8, groups) == 1 && groups[0] == ids->gid);
	CHILD_CHECK(setuid(0) == -1 && errno == EPERM);
	CHILD_CHECK(setgid(0) == -1 && errno == EPERM);
	CHILD_CHECK(setgroups(0, NULL) == -1 && errno == EPERM);
	CHILD_CHECK(strcmp(getenv("HOME"), ids->home) == 0);
	CHILD_CHECK(strcmp(getenv("USER"), "nobody") == 0);
	/* Asked again, as that user: nothing to do, and it says so. */
	CHILD_CHECK(sandbox_drop_user("nobody", "nogroup", err, sizeof(err)) == 1);
	CHILD_CHECK(strstr(err, "already user nobody") != NULL);
	/* But it cannot become anyone else. */
	CHILD_CHECK(sandbox_drop_user("daemon", NULL, err, sizeof(err)) == -1);
	CHILD_CHECK(strstr(err, "not running as root") != NULL);
	return 0;
}

START_TEST(test_drop_user_to_nobody_cannot_regain_root)
{
	struct ids ids;
	struct fate f;

	if (!running_as_root())
		return;
	nobody_ids(&ids);
	run_child(drop_to_nobody, &ids, &f);
	expect_exit_0(&f);
}
END_TEST

static int drop_to_root_or_no_one(void *arg)
{
	char err[ERRLEN] = "";

	CHILD_CHECK(sandbox_drop_user("root", NULL, err, sizeof(err)) == -1);
	CHILD_CHECK(strstr(err, "refusing to run as root") != NULL);
	CHILD_CHECK(sandbox_drop_user("no-such-parley-user", NULL, err, sizeof(err)) == -1);
	CHILD_CHECK(strstr(err, "no-such-parley-user") != NULL);
	CHILD_CHECK(sandbox_drop_user("nobody", "no-such-parley-group", err, sizeof(err)) == -1);
	CHILD_CHECK(strstr(err, "no-such-parley-group") != NULL);
	/* None of that changed who we are. */
	CHILD_CHECK(getuid() == 0 && geteuid() == 0 && getgid() == 0);
	return 0;
}

START_TEST(test_drop_user_refuses_root_and_unknown_names)
{
	struct fate f;

	if (!running_as_root())
		return;
	run_child(drop_to_root_or_no_one, NULL, &f);
	expect_exit_0(&f);
}
END_TEST

/* ---- the whole story ----------------------------------------------------- */

static bool status_has(const char *status, const char *line)
{
	return strstr(status, line) != NULL;
}

static int apply_whole_spec(void *arg)
{
	const struct ids *ids = arg;
	char err[ERRLEN], status[4096];
	const struct landlock_path paths[] = { { "/proc/self", FS_READ } };
	const struct sandbox_spec spec = {
		.user = ids ? "nobody" : NULL,
		.group = ids ? "nogroup" : NULL,
		.paths = paths,
		.npaths = ARRAY_LEN(paths),
		.syscalls = "stdio rpath",
	};

	int rc = sandbox_apply(&spec, err, sizeof(err));
	if (rc != 0)
		dprintf(2, "sandbox_apply: %d %s\n", rc, err);
	CHILD_CHECK(rc == 0);
	if (ids != NULL)
		CHILD_CHECK(getuid() == ids->uid && getgid() == ids->gid);

	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	CHILD_CHECK(fd >= 0);
	ssize_t n = read(fd, status, sizeof(status) - 1);
	CHILD_CHECK(n > 0);
	status[n] = '\0';
	close(fd);
	CHILD_CHECK(status_has(status, "\nNoNewPrivs:\t1\n"));
	CHILD_CHECK(status_has(status, "\nSeccomp:\t2\n"));
	CHILD_CHECK(open("/etc/passwd", O_RDONLY | O_CLOEXEC) == -1 && errno == EACCES);
	dprintf(2, "sandboxed\n");
	socket(AF_UNIX, SOCK_STREAM, 0);
	return 99;
}

START_TEST(test_apply_drops_user_sets_no_new_privs_landlock_and_seccomp)
{
	struct ids ids;
	struct fate f;
	bool root = running_as_root();

	if (root)
		nobody_ids(&ids);
	if (!have_landlock())
		return;
	run_child(apply_whole_spec, root ? &ids : NULL, &f);
	ck_assert_msg(strstr(f.output, "sandboxed\n") != NULL, "stderr:\n%s", f.output);
	expect_violation(&f, "socket");
	ck_assert_msg(strstr(f.output, "policy \"stdio rpath\"") != NULL, "stderr:\n%s", f.output);
}
END_TEST

static int apply_bad_spec(void *arg)
{
	char err[ERRLEN] = "";
	const struct landlock_path paths[] = { { "/nonexistent/parley", FS_READ } };
	struct sandbox_spec spec = {
		.user = "nobody",
		.syscalls = "stdio bogus",
	};

	CHILD_CHECK(sandbox_apply(&spec, err, sizeof(err)) == -1);
	CHILD_CHECK(strstr(err, "\"bogus\"") != NULL);
	spec.syscalls = "stdio";
	spec.paths = paths;
	spec.npaths = ARRAY_LEN(paths);
	CHILD_CHECK(sandbox_apply(&spec, err, sizeof(err)) == -1);
	CHILD_CHECK(strstr(err, "/nonexistent/parley") != NULL);
	spec.paths = NULL;
	spec.npaths = 0;
	spec.syscalls = NULL;
	CHILD_CHECK(sandbox_apply(&spec, err, sizeof(err)) == -1);
	CHILD_CHECK(strstr(err, "no seccomp policy") != NULL);
	/* Nothing changed. */
	CHILD_CHECK(getuid() == 0 || geteuid() != 0);
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
	CHILD_CHECK(prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0);
	return 0;
}

START_TEST(test_apply_checks_the_spec_before_changing_anything)
{
	struct fate f;
	run_child(apply_bad_spec, NULL, &f);
	expect_exit_0(&f);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("seccomp");

	tcase_add_test(tc, test_stdio_kills_inet_socket_with_sigsys_and_names_it);
	tcase_add_test(tc, test_violation_line_looks_like_a_log_line);
	tcase_add_test(tc, test_violation_report_goes_to_the_chosen_fd_even_without_stdio);
	tcase_add_test(tc, test_kill_mode_dies_of_sigsys_without_a_line);
	tcase_add_test(tc, test_stdio_is_enough_for_an_event_loop);
	tcase_add_test(tc, test_unix_allows_unix_sockets_but_not_inet);
	tcase_add_test(tc, test_dns_allows_udp_sockets_but_not_tcp);
	tcase_add_test(tc, test_rpath_opens_read_only_but_not_for_writing);
	tcase_add_test(tc, test_stdio_refuses_executable_memory);
	tcase_add_test(tc, test_signal_group_cannot_replace_the_violation_reporter);
	tcase_add_test(tc, test_abort_under_stdio_still_dies_of_sigabrt);
	tcase_add_test(tc, test_a_single_syscall_can_be_added_by_name);
	tcase_add_test(tc, test_unknown_policy_words_are_rejected_by_name);
	tcase_add_test(tc, test_a_policy_word_with_a_plus_allows_one_syscall);
	tcase_add_test(tc, test_prctl_group_allows_reads_but_not_set_dumpable);
	tcase_add_test(tc, test_proc_allows_fork_and_wait_and_children_stay_filtered);
	tcase_add_test(tc, test_exec_does_not_escape_the_filter);
	tcase_add_test(tc, test_every_policy_group_builds);
	suite_add_tcase(s, tc);

	tc = tcase_create("landlock");
	tcase_add_test(tc, test_landlock_read_only_dir_reads_but_does_not_write);
	tcase_add_test(tc, test_landlock_rule_on_a_single_file);
	tcase_add_test(tc, test_landlock_read_write_dir_allows_creating_files);
	tcase_add_test(tc, test_landlock_socket_dir_allows_binding_and_removing_sockets_only);
	tcase_add_test(tc, test_landlock_without_paths_leaves_no_filesystem);
	tcase_add_test(tc, test_landlock_missing_path_is_an_error_naming_it);
	tcase_add_test(tc, test_landlock_socket_access_on_a_file_is_an_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("user");
	tcase_add_test(tc, test_drop_user_to_nobody_cannot_regain_root);
	tcase_add_test(tc, test_drop_user_refuses_root_and_unknown_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("apply");
	tcase_add_test(tc, test_apply_drops_user_sets_no_new_privs_landlock_and_seccomp);
	tcase_add_test(tc, test_apply_checks_the_spec_before_changing_anything);
	suite_add_tcase(s, tc);
	return s;
}
