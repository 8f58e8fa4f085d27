/*
 * supervisor.c — parleyd's process table: starting in order, restarting with
 * backoff, giving up loudly, passing SIGHUP on, stopping in reverse order,
 * and the state file (see supervisor.h).
 *
 * Each process instance is a `proc` with one state; every transition goes
 * through a function here and ends with state_write(), so the state file
 * is never behind what the log says.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"
#include "supervisor_files.h"
#include "supervisor_policy.h"
#include "supervisor_spawn.h"

/* How often parleyd tries the router's socket while it starts. */
#define READY_POLL_MS 50

/* The kinds of process, in the order they start (and the reverse of the
 * order they stop): every other process connects to the router; auth and
 * sm should be there before a client can log in through c2s; s2s last. */
static const struct service {
	const char *name;
	const char *program;
	bool several;		/* c2s.instances processes, each told its number */
} services[] = {
	{ "router", "parley-router", false },
	{ "auth", "parley-auth", false },
	{ "sm", "parley-sm", false },
	{ "c2s", "parley-c2s", true },
	{ "s2s", "parley-s2s", false },
};
#define SERVICE_ROUTER 0

enum proc_state {
	PROC_WAITING,	/* not started yet: waits for the router */
	PROC_STARTING,	/* started, not ready yet (the router, until its socket accepts) */
	PROC_RUNNING,
	PROC_BACKOFF,	/* died; a restart is due */
	PROC_FAILED,	/* died too often: given up */
	PROC_STOPPING,	/* sent SIGTERM; waiting for it to exit */
	PROC_STOPPED,	/* gone, during parleyd's stop */
};

/* The words of the state file (doc/parleyd.md). */
static const char *const state_names[] = {
	[PROC_WAITING] = "starting",
	[PROC_STARTING] = "starting",
	[PROC_RUNNING] = "running",
	[PROC_BACKOFF] = "backoff",
	[PROC_FAILED] = "failed",
	[PROC_STOPPING] = "stopping",
	[PROC_STOPPED] = "stopping",
};

struct proc {
	struct supervisor *sv;
	size_t service;			/* index in services[] */
	char name[16];			/* "router", "c2s.2" */
	int instance;			/* 1..; told to services that run several */
	char *path;			/* bin_dir/parley-... */
	pid_t pid;			/* 0: not running */
	enum proc_state state;
	uint64_t started_ms;
	struct restart_history history;
	struct timer *restart_timer;	/* in PROC_BACKOFF */
	struct timer *kill_timer;	/* in PROC_STOPPING */
};

struct supervisor {
	struct loop *loop;
	int stdin_fd;
	char *config_path;
	char *router_socket;
	char *state_path;
	struct restart_policy policy;
	uint64_t stop_timeout_ms;
	uint64_t start_timeout_ms;

	struct proc *procs;		/* in start order */
	size_t nprocs;

	bool others_started;		/* those after the router */
	struct timer *ready_poll;
	struct timer *start_deadline;

	bool stopping;
	int stop_service;		/* the service being stopped */
	bool stopped;
	bool state_write_failed;
};

static void proc_spawn(struct proc *p);

static void format_ms(uint64_t ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%lums", (unsigned long)ms);
	else if (ms < 120000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else
		snprintf(buf, len, "%lum%lus", (unsigned long)(ms / 60000),
		    (unsigned long)(ms / 1000 % 60));
}

/* --- the state file --------------------------------------------------- */

static void state_write(struct supervisor *sv)
{
	char err[ERRLEN];
	size_t cap = sv->nprocs * 64 + 1, len = 0;
	char *text = xmalloc(cap);

	for (size_t i = 0; i < sv->nprocs; i++) {
		const struct proc *p = &sv->procs[i];
		int n = snprintf(text + len, cap - len, "%s %ld %s %u\n", p->name, (long)p->pid,
		    state_names[p->state], p->history.total);
		if (n > 0 && (size_t)n < cap - len)
			len += (size_t)n;
	}
	if (file_replace(sv->state_path, text, len, 0644, err, sizeof(err)) < 0) {
		/* Once per run of failures: a full disk must not flood the log. */
		if (!sv->state_write_failed)
			log_warn("state file: %s", err);
		sv->state_write_failed = true;
	} else {
		sv->state_write_failed = false;
	}
	free(text);
}

const char *supervisor_state_path(const struct supervisor *sv)
{
	return sv->state_path;
}

/* --- starting ---------------------------------------------------------- */

/* Whether something accepts connections on the Unix socket at `path`. A
 * connect that would block has reached a listener with a full backlog:
 * that is a router too. */
static bool socket_accepts(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	int rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	bool yes = rc == 0 || errno == EAGAIN || errno == EINPROGRESS;
	close(fd);
	return yes;
}

static void start_others(struct supervisor *sv)
{
	if (sv->others_started)
		return;
	sv->others_started = true;
	loop_timer_cancel(sv->loop, &sv->start_deadline);
	for (size_t i = 0; i < sv->nprocs; i++)
		if (sv->procs[i].state == PROC_WAITING)
			proc_spawn(&sv->procs[i]);
}

static void start_deadline_fire(struct loop *loop, void *arg)
{
	struct supervisor *sv = arg;
	char t[32];

	(void)loop;
	sv->start_deadline = NULL;
	format_ms(sv->start_timeout_ms, t, sizeof(t));
	log_warn("the router does not accept connections on %s after %s "
	    "(parleyd.start_timeout): starting the other processes anyway",
	    sv->router_socket, t);
	start_others(sv);
}

static void ready_poll_fire(struct loop *loop, void *arg)
{
	struct supervisor *sv = arg;
	struct proc *router = &sv->procs[0];

	sv->ready_poll = NULL;
	if (router->state != PROC_STARTING)
		return;
	if (!socket_accepts(sv->router_socket)) {
		sv->ready_poll = loop_timer_add(loop, READY_POLL_MS, ready_poll_fire, sv);
		return;
	}
	router->state = PROC_RUNNING;
	log_info("router (pid %ld) accepts connections on %s", (long)router->pid, sv->router_socket);
	state_write(sv);
	start_others(sv);
}

static void proc_schedule_restart(struct proc *p);

static void proc_spawn(struct proc *p)
{
	struct supervisor *sv = p->sv;
	const struct service *s = &services[p->service];
	char err[ERRLEN], instance[16];
	char *argv[8];
	size_t a = 0;

	/* What a process started alone would be given: the foreground, the
	 * config file, and which instance it is. */
	argv[a++] = (char *)s->program;
	argv[a++] = (char *)"-f";
	argv[a++] = (char *)"-c";
	argv[a++] = sv->config_path;
	if (s->several) {
		snprintf(instance, sizeof(instance), "%d", p->instance);
		argv[a++] = (char *)"-i";
		argv[a++] = instance;
	}
	argv[a] = NULL;

	p->started_ms = loop_now_ms(sv->loop);
	/* SIGKILL, not SIGTERM: parleyd is gone only if it crashed or was
	 * killed, and then nothing may be left behind to fight a new parleyd
	 * for the router's socket; every process survives a kill -9. */
	pid_t pid = spawn_child(p->path, argv, sv->stdin_fd, SIGKILL, err, sizeof(err));
	if (pid < 0) {
		log_error("%s: cannot start: %s", p->name, err);
		p->pid = 0;
		proc_schedule_restart(p);
		return;
	}
	p->pid = pid;
	log_info("%s started (pid %ld)", p->name, (long)pid);
	if (p->service == SERVICE_ROUTER) {
		p->state = PROC_STARTING;
		loop_timer_cancel(sv->loop, &sv->ready_poll);
		sv->ready_poll = loop_timer_add(sv->loop, 0, ready_poll_fire, sv);
	} else {
		p->state = PROC_RUNNING;
	}
	state_write(sv);
}

static void restart_fire(struct loop *loop, void *arg)
{
	struct proc *p = arg;

	(void)loop;
	p->restart_timer = NULL;
	if (!p->sv->stopping)
		proc_spawn(p);
}

static void proc_schedule_restart(struct proc *p)
{
	struct supervisor *sv = p->sv;
	uint64_t now = loop_now_ms(sv->loop);
	char t[32];

	int64_t delay = restart_next(&sv->policy, &p->history, p->started_ms, now);
	if (delay < 0) {
		p->state = PROC_FAILED;
		log_error("%s: GIVING UP: it died again after %u restarts within a minute "
		    "(parleyd.max_restarts); it stays down until parleyd is restarted",
		    p->name, restart_recent(&p->history, now));
		state_write(sv);
		return;
	}
	p->state = PROC_BACKOFF;
	format_ms((uint64_t)delay, t, sizeof(t));
	log_info("%s: restarting in %s (restart %u within a minute, at most %u)", p->name, t,
	    restart_recent(&p->history, now), sv->policy.max_restarts);
	p->restart_timer = loop_timer_add(sv->loop, (uint64_t)delay, restart_fire, p);
	state_write(sv);
}

void supervisor_start(struct supervisor *sv, struct loop *loop, int stdin_fd)
{
	sv->loop = loop;
	sv->stdin_fd = stdin_fd;
	log_info("starting %zu process%s from %s", sv->nprocs, sv->nprocs == 1 ? "" : "es",
	    sv->config_path);
	state_write(sv);
	if (sv->nprocs > 0 && sv->procs[0].service == SERVICE_ROUTER) {
		sv->start_deadline = loop_timer_add(loop, sv->start_timeout_ms, start_deadline_fire, sv);
		proc_spawn(&sv->procs[0]);
	} else {
		start_others(sv);
	}
}

/* --- deaths ------------------------------------------------------------ */

static void stop_next(struct supervisor *sv);

static void proc_exited(struct proc *p, int status)
{
	struct supervisor *sv = p->sv;
	char how[192], ran[32];
	pid_t pid = p->pid;

	wait_status_describe(status, how, sizeof(how));
	p->pid = 0;
	loop_timer_cancel(sv->loop, &p->kill_timer);
	if (sv->stopping) {
		log_info("%s (pid %ld) %s", p->name, (long)pid, how);
		p->state = PROC_STOPPED;
		state_write(sv);
		return;
	}
	format_ms(loop_now_ms(sv->loop) - p->started_ms, ran, sizeof(ran));
	log_error("%s (pid %ld) %s after running %s", p->name, (long)pid, how, ran);
	proc_schedule_restart(p);
}

static struct proc *proc_by_pid(struct supervisor *sv, pid_t pid)
{
	for (size_t i = 0; i < sv->nprocs; i++)
		if (sv->procs[i].pid == pid)
			return &sv->procs[i];
	return NULL;
}

void supervisor_reap(struct supervisor *sv)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		struct proc *p = proc_by_pid(sv, pid);
		if (p == NULL) {
			log_debug("reaped pid %ld, not one of ours", (long)pid);
			continue;
		}
		proc_exited(p, status);
	}
	if (sv->stopping)
		stop_next(sv);
}

unsigned supervisor_alive(const struct supervisor *sv)
{
	unsigned n = 0;
	for (size_t i = 0; i < sv->nprocs; i++)
		if (sv->procs[i].pid > 0)
			n++;
	return n;
}

/* --- reload and stop --------------------------------------------------- */

void supervisor_reload(struct supervisor *sv)
{
	unsigned n = 0;

	if (sv->stopping)
		return;
	for (size_t i = 0; i < sv->nprocs; i++) {
		struct proc *p = &sv->procs[i];
		if (p->pid > 0 && (p->state == PROC_RUNNING || p->state == PROC_STARTING) &&
		    kill(p->pid, SIGHUP) == 0)
			n++;
	}
	log_info("reload: SIGHUP passed to %u process%s", n, n == 1 ? "" : "es");
}

/* Each child leads its own session (supervisor_spawn.c), so its pid is
 * also its process group: SIGKILL takes any helper it started with it. */
static void proc_kill(struct proc *p)
{
	if (p->pid <= 0)
		return;
	if (kill(-p->pid, SIGKILL) < 0)
		(void)kill(p->pid, SIGKILL);
}

static void kill_fire(struct loop *loop, void *arg)
{
	struct proc *p = arg;
	char t[32];

	(void)loop;
	p->kill_timer = NULL;
	if (p->pid <= 0)
		return;
	format_ms(p->sv->stop_timeout_ms, t, sizeof(t));
	log_warn("%s (pid %ld) did not stop within %s (parleyd.stop_timeout): sending SIGKILL",
	    p->name, (long)p->pid, t);
	proc_kill(p);
}

/* Stop the last service still running, all its instances at once; the next
 * one only when every instance is gone. */
static void stop_next(struct supervisor *sv)
{
	for (; sv->stop_service >= 0; sv->stop_service--) {
		bool waiting = false, changed = false;
		for (size_t i = 0; i < sv->nprocs; i++) {
			struct proc *p = &sv->procs[i];
			if (p->service != (size_t)sv->stop_service || p->pid <= 0)
				continue;
			waiting = true;
			if (p->state == PROC_STOPPING)
				continue;
			log_info("stopping %s (pid %ld)", p->name, (long)p->pid);
			p->state = PROC_STOPPING;
			changed = true;
			if (kill(p->pid, SIGTERM) < 0)
				log_warn("%s (pid %ld): kill: %s", p->name, (long)p->pid, strerror(errno));
			p->kill_timer = loop_timer_add(sv->loop, sv->stop_timeout_ms, kill_fire, p);
		}
		if (changed)
			state_write(sv);
		if (waiting)
			return;
	}
	if (!sv->stopped) {
		sv->stopped = true;
		log_info("every process has stopped");
		loop_stop(sv->loop);
	}
}

void supervisor_stop(struct supervisor *sv)
{
	if (sv->stopping) {
		log_warn("asked again to stop: killing the %u process%s still running",
		    supervisor_alive(sv), supervisor_alive(sv) == 1 ? "" : "es");
		for (size_t i = 0; i < sv->nprocs; i++)
			proc_kill(&sv->procs[i]);
		return;
	}
	sv->stopping = true;
	log_info("stopping every process, in reverse order");
	loop_timer_cancel(sv->loop, &sv->ready_poll);
	loop_timer_cancel(sv->loop, &sv->start_deadline);
	for (size_t i = 0; i < sv->nprocs; i++) {
		struct proc *p = &sv->procs[i];
		loop_timer_cancel(sv->loop, &p->restart_timer);
		if (p->pid <= 0)
			p->state = PROC_STOPPED;
	}
	sv->stop_service = (int)ARRAY_LEN(services) - 1;
	state_write(sv);
	stop_next(sv);
}

/* --- the table ---------------------------------------------------------- */

static char *path_join(const char *dir, const char *file)
{
	size_t dl = strlen(dir), fl = strlen(file);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	char *p = xmalloc(dl + 1 + fl + 1);
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, file, fl + 1);
	return p;
}

static void proc_init(struct supervisor *sv, struct proc *p, size_t service, int instance,
    const char *path)
{
	const struct service *s = &services[service];

	p->sv = sv;
	p->service = service;
	if (s->several)
		snprintf(p->name, sizeof(p->name), "%s.%d", s->name, instance);
	else
		snprintf(p->name, sizeof(p->name), "%s", s->name);
	p->instance = instance;
	p->path = xstrdup(path);
	p->pid = 0;
	p->state = PROC_WAITING;
	restart_history_init(&p->history, &sv->policy);
}

struct supervisor *supervisor_new(const struct conf *conf, const char *config_path,
    struct conf_errors *errs)
{
	struct supervisor *sv = xcalloc(1, sizeof(*sv));
	size_t nerrors = errs->count + errs->dropped;
	struct sockaddr_un sun;

	sv->stdin_fd = -1;
	sv->config_path = xstrdup(config_path);
	sv->router_socket = xstrdup(conf_str(conf, "router.socket"));
	sv->state_path = path_join(conf_str(conf, "run_dir"), "parleyd.state");
	sv->policy.delay_ms = (uint64_t)conf_duration_ms(conf, "parleyd.restart_delay");
	sv->policy.delay_max_ms = (uint64_t)conf_duration_ms(conf, "parleyd.restart_delay_max");
	sv->policy.max_restarts = (unsigned)conf_int(conf, "parleyd.max_restarts");
	sv->stop_timeout_ms = (uint64_t)conf_duration_ms(conf, "parleyd.stop_timeout");
	sv->start_timeout_ms = (uint64_t)conf_duration_ms(conf, "parleyd.start_timeout");

	if (strlen(sv->router_socket) >= sizeof(sun.sun_path))
		conf_error(errs, conf, "router.socket", "is %zu bytes long; a Unix socket path "
		    "has at most %zu", strlen(sv->router_socket), sizeof(sun.sun_path) - 1);

	const char *bin_dir = conf_str(conf, "parleyd.bin_dir");
	for (size_t s = 0; s < ARRAY_LEN(services); s++) {
		if (!conf_service_enabled(conf, services[s].name))
			continue;
		char *path = path_join(bin_dir, services[s].program);
		if (access(path, X_OK) < 0)
			conf_error(errs, conf, "parleyd.bin_dir", "cannot execute %s: %s", path,
			    strerror(errno));
		int n = services[s].several ? (int)conf_int(conf, "c2s.instances") : 1;
		sv->procs = xreallocarray(sv->procs, sv->nprocs + (size_t)n, sizeof(*sv->procs));
		for (int i = 1; i <= n; i++) {
			struct proc *p = &sv->procs[sv->nprocs++];
			memset(p, 0, sizeof(*p));
			proc_init(sv, p, s, i, path);
		}
		free(path);
	}
	if (errs->count + errs->dropped > nerrors) {
		supervisor_free(&sv);
		return NULL;
	}
	return sv;
}

void supervisor_free(struct supervisor **svp)
{
	struct supervisor *sv = *svp;
	if (sv == NULL)
		return;
	for (size_t i = 0; i < sv->nprocs; i++) {
		struct proc *p = &sv->procs[i];
		if (sv->loop != NULL) {
			loop_timer_cancel(sv->loop, &p->restart_timer);
			loop_timer_cancel(sv->loop, &p->kill_timer);
		}
		restart_history_free(&p->history);
		free(p->path);
	}
	if (sv->loop != NULL) {
		loop_timer_cancel(sv->loop, &sv->ready_poll);
		loop_timer_cancel(sv->loop, &sv->start_deadline);
	}
	free(sv->procs);
	free(sv->config_path);
	free(sv->router_socket);
	free(sv->state_path);
	free(sv);
	*svp = NULL;
}
