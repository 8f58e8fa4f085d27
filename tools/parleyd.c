/*
 * parleyd.c — entry point of parleyd, the supervisor: it starts the Parley
 * processes, restarts those that die and stops them all in order. The
 * process table and its rules are in supervisor.c; this file is parleyd's
 * own life: config, log, pid file, daemon mode, and the signals it obeys.
 *
 * Its privilege story is the shortest of the suite, because parleyd is the
 * one process that keeps its privileges:
 *   - it runs as root, so that the processes it starts can bind ports below
 *     1024 and read TLS keys before each drops to its own user;
 *   - it runs without a seccomp filter or Landlock ruleset: both survive
 *     execve(), so whatever parleyd allowed itself would be all its children
 *     could do before installing their own, tighter, sandboxes — and a
 *     dynamically linked program needs open/mmap of its libraries at once
 *     (see the note at "exec" in common/seccomp_policy.h). It parses no
 *     input from the network and holds no secret; its whole surface is
 *     the config file and a few signals.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "conf_user.h"
#include "log.h"
#include "loop.h"
#include "supervisor.h"
#include "supervisor_daemon.h"
#include "supervisor_files.h"

static bool daemonized;

static struct conf *load_config(const char *path)
{
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct conf *conf;

	if (conf_load(&conf, path, &errs) < 0) {
		conf_errors_print(&errs, stderr);
		conf_errors_clear(&errs);
		exit(EXIT_FAILURE);
	}
	return conf;
}

/* In the foreground parleyd logs to stderr unless the file names a target. */
static void open_log(const struct conf *conf, bool foreground)
{
	const char *target;
	enum log_level level;
	char err[ERRLEN];

	conf_log_for(conf, "parleyd", &target, &level);
	if (foreground && !conf_is_set(conf, "log.target") &&
	    !conf_is_set(conf, "parleyd.log.target"))
		target = "stderr";
	if (log_open("parleyd", target, level, err, sizeof(err)) < 0) {
		fprintf(stderr, "parleyd: %s\n", err);
		exit(EXIT_FAILURE);
	}
}

/* A daemon's stdout and stderr, which its children inherit, go to its log
 * file if it logs to one (so a child's dying words are kept), else stay on
 * /dev/null. Done again after the file is reopened for rotation. */
static void redirect_output(void)
{
	int fd = log_fd();

	if (!daemonized || fd <= STDERR_FILENO)
		return;
	if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		log_warn("cannot send stdout and stderr to the log file: %s", strerror(errno));
}

static void on_child(struct loop *loop, int signo, void *arg)
{
	(void)loop;
	(void)signo;
	supervisor_reap(arg);
}

static void on_stop(struct loop *loop, int signo, void *arg)
{
	(void)loop;
	log_info("SIG%s received", sigabbrev_np(signo));
	supervisor_stop(arg);
}

static void on_reload(struct loop *loop, int signo, void *arg)
{
	char err[ERRLEN];

	(void)loop;
	(void)signo;
	if (log_reopen(err, sizeof(err)) < 0)
		log_error("SIGHUP: %s", err);
	redirect_output();
	supervisor_reload(arg);
}

/* Before parleyd detaches, the operator is watching its terminal: a reason
 * not to start goes there as well as to the log. */
static void PRINTF_LIKE(1, 2) NORETURN startup_fatal(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!daemonized && log_fd() != STDERR_FILENO)
		fprintf(stderr, "parleyd: %s\n", msg);
	log_fatal("%s", msg);
}

/* Refuse to run beside a live parleyd of the same pid file. */
static void check_not_running(const char *pid_file)
{
	char err[ERRLEN];
	pid_t pid;

	int r = pidfile_live(pid_file, &pid, err, sizeof(err));
	if (r > 0)
		startup_fatal("parleyd is already running (pid %ld, from %s): not starting another",
		    (long)pid, pid_file);
	if (r < 0)
		log_warn("%s; replacing it", err);
}

/* The loop: children's deaths, stop and reload arrive as events. From here
 * on a SIGTERM waits its turn instead of killing parleyd mid-start. */
static struct loop *open_loop(struct supervisor *sv)
{
	char err[ERRLEN];

	signal(SIGPIPE, SIG_IGN);
	struct loop *loop = loop_new(err, sizeof(err));
	if (loop == NULL)
		log_fatal("%s", err);
	if (loop_signal(loop, SIGCHLD, on_child, sv, err, sizeof(err)) < 0 ||
	    loop_signal(loop, SIGTERM, on_stop, sv, err, sizeof(err)) < 0 ||
	    loop_signal(loop, SIGINT, on_stop, sv, err, sizeof(err)) < 0 ||
	    loop_signal(loop, SIGHUP, on_reload, sv, err, sizeof(err)) < 0)
		log_fatal("%s", err);
	return loop;
}

/* run_dir is the router's: it creates and removes its socket there. The
 * others only pass through to the socket, as members of its group (or,
 * when router.socket_mode lets any group connect, as anyone). */
static int give_run_dir(const struct conf *conf, const char *run_dir, char *err, size_t errlen)
{
	const char *user = conf_user_for(conf, "router");
	const char *group = conf_str(conf, "router.socket_group");
	mode_t mode = (conf_mode(conf, "router.socket_mode") & 0002) ? 0751 : 0750;
	uid_t uid;
	gid_t gid;

	if (conf_lookup_user(user, &uid, &gid, NULL, err, errlen) < 0 ||
	    conf_lookup_group(group, &gid, err, errlen) < 0)
		return -1;
	if (chown(run_dir, uid, gid) < 0 || chmod(run_dir, mode) < 0)
		return errf(err, errlen, "cannot give %s to %s:%s: %s", run_dir, user, group,
		    strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_opts opts;
	struct conf_errors errs = CONF_ERRORS_INIT;
	char err[ERRLEN];

	cli_parse(argc, argv, "parleyd", "the supervisor that starts and restarts the Parley processes",
	    &opts);

	/* The config: every child is given the same file, by an absolute path
	 * (a daemon works from /). */
	struct conf *conf = load_config(opts.config_path);
	char *config_path = realpath(opts.config_path, NULL);
	if (config_path == NULL) {
		fprintf(stderr, "parleyd: %s: %s\n", opts.config_path, strerror(errno));
		return EXIT_FAILURE;
	}
	/* Users that cannot run the processes (missing, root, shut out of the
	 * router socket) are refused here, all at once, with their lines. */
	int users_ok = conf_check_process_users(conf, &errs);
	struct supervisor *sv = supervisor_new(conf, config_path, &errs);
	if (sv == NULL || users_ok < 0) {
		conf_errors_print(&errs, stderr);
		conf_errors_clear(&errs);
		supervisor_free(&sv);
		free(config_path);
		conf_free(&conf);
		return EXIT_FAILURE;
	}
	open_log(conf, opts.foreground);
	if (geteuid() != 0)
		log_warn("not running as root: the processes cannot bind privileged ports "
		    "or switch to their configured user");

	/* run_dir holds the router's socket, the pid file and the state file.
	 * One we create belongs to the router's user, so that the router,
	 * unprivileged by then, can remove its socket when it stops; a run_dir
	 * the operator made is left as it is. */
	const char *run_dir = conf_str(conf, "run_dir");
	bool run_dir_existed = access(run_dir, F_OK) == 0;
	if (mkdir_parents(run_dir, 0755, err, sizeof(err)) < 0)
		startup_fatal("run_dir: %s", err);
	if (!run_dir_existed && geteuid() == 0 && give_run_dir(conf, run_dir, err, sizeof(err)) < 0)
		startup_fatal("run_dir: %s", err);
	const char *pid_file = conf_str(conf, "parleyd.pid_file");
	check_not_running(pid_file);

	if (!opts.foreground) {
		if (daemon_detach(err, sizeof(err)) < 0)
			startup_fatal("cannot become a daemon: %s", err);
		daemonized = true;
		redirect_output();
	}
	struct loop *loop = open_loop(sv);
	/* In the foreground too: a second parleyd on the same config would
	 * fight this one for the router's socket. */
	if (pidfile_write(pid_file, getpid(), err, sizeof(err)) < 0)
		startup_fatal("pid file: %s", err);
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0)
		log_fatal("/dev/null: %s", strerror(errno));

	log_info("parleyd %s running (pid %ld%s)", PACKAGE_VERSION, (long)getpid(),
	    daemonized ? ", daemon" : "");
	supervisor_start(sv, loop, null_fd);
	daemon_ready();
	if (loop_run(loop) < 0)
		log_error("the event loop failed: stopping what is left");

	/* Every process has stopped (or the loop broke: then kill the rest). */
	if (supervisor_alive(sv) > 0) {
		supervisor_stop(sv);
		supervisor_stop(sv);
	}
	unlink(supervisor_state_path(sv));
	pidfile_remove(pid_file, getpid());
	log_info("parleyd stopped");
	supervisor_free(&sv);
	loop_free(&loop);
	close(null_fd);
	conf_free(&conf);
	free(config_path);
	return EXIT_SUCCESS;
}
