/*
 * authreg_pipe.c — the `pipe` authreg backend: an external program that
 * speaks ejabberd's extauth protocol, so operators can reuse the scripts
 * they have. Each request is a 2-byte big-endian length followed by
 *     auth:User:Server:Password      isuser:User:Server
 *     setpass:User:Server:Password   tryregister:User:Server:Password
 *     removeuser:User:Server
 * and each answer is a 2-byte length (2) and a 2-byte result, 1 for yes
 * and 0 for no. The program keeps no SCRAM secrets, so with this backend
 * only PLAIN works.
 *
 * The program answers one request at a time, in order, so requests wait in
 * a queue and only the head is on the wire. The loop never blocks on it:
 * the pipes are non-blocking and every request has a deadline; a request
 * that is not answered in time is answered temporary-auth-failure, and the
 * program is killed and started again (a late answer would otherwise be
 * taken for the next request's).
 *
 * Who starts the program. parley-auth cannot execute anything once it is
 * sandboxed (seccomp has no execve, Landlock no execute right), yet the
 * program must be restarted when it dies. So before the sandbox auth forks
 * a small launcher, which drops to the Parley user and no_new_privs, and
 * then, for as long as auth lives: creates two fresh pipes, starts the
 * program on them, passes auth the other ends over a Unix socket
 * (SCM_RIGHTS: recvmsg is in auth's "stdio") with the program's number, and
 * waits for the program to exit or for auth to say "kill number N",
 * restarting it at once after such a kill, or with a backoff after a death.
 * Fresh pipes per start mean nothing written to a dead program can reach
 * its successor. When auth goes, the socket closes and the launcher kills
 * the program and exits.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authreg.h"
#include "buf.h"
#include "log.h"
#include "sandbox.h"

#define RESTART_DELAY_MIN_MS 500
#define RESTART_DELAY_MAX_MS 30000
/* A program that ran this long before dying starts the backoff over. */
#define STABLE_RUN_MS 10000
#define MAX_REQUEST 65535

struct authreg_request {
	struct authreg_request *next;
	struct authreg_pipe *owner;
	char *msg;              /* length prefix included */
	size_t len;
	authreg_cb cb;
	void *arg;
	bool sent;
	bool cancelled;
	struct timer *timer;
};

struct authreg_pipe {
	struct authreg base;
	struct loop *loop;
	unsigned timeout_ms;
	int ctl_fd;             /* to the launcher */
	pid_t launcher;
	int to_fd, from_fd;     /* the current program's stdin and stdout; -1: none */
	uint32_t gen;           /* the current program's number (0: none) */
	struct buf out, in;
	struct authreg_request *head, *tail;
};

static void program_lost(struct authreg_pipe *p, const char *why);
static void kick(struct authreg_pipe *p);

/* --- the launcher (a child process) ---------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The program's two pipe ends, and its number: auth names the program it
 * wants killed by that number, so a request to kill one that has already
 * died cannot kill its successor. */
static int send_fds(int sock, int a, int b, uint32_t gen)
{
	struct iovec iov = { &gen, sizeof(gen) };
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
	    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	int fds[2] = { a, b };

	memset(u.buf, 0, sizeof(u.buf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(gen) ? 0 : -1;
}

/* Wait up to `ms` for the program to exit or auth to speak. Returns 1 when
 * the program exited (status in *status), 0 on timeout, and exits the
 * launcher when auth is gone. */
static int launcher_wait(int ctl, pid_t pid, uint32_t gen, uint64_t ms, int *status,
    bool *killed)
{
	uint64_t deadline = now_ms() + ms;

	for (;;) {
		if (pid > 0 && waitpid(pid, status, WNOHANG) == pid)
			return 1;
		uint64_t now = now_ms();
		if (now >= deadline)
			return 0;
		struct pollfd pfd = { ctl, POLLIN, 0 };
		uint64_t left = deadline - now;
		(void)poll(&pfd, 1, left > 100 ? 100 : (int)left);
		if (pfd.revents == 0)
			continue;
		uint32_t which;
		ssize_t n = read(ctl, &which, sizeof(which));
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
			if (pid > 0) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
			}
			_exit(0);
		}
		if (n == (ssize_t)sizeof(which) && which == gen && pid > 0) {
			kill(pid, SIGKILL);
			*killed = true;
		}
	}
}

NORETURN static void launcher_main(int ctl, char *const *argv, const char *user,
    const char *group, pid_t parent)
{
	uint64_t delay = RESTART_DELAY_MIN_MS;
	uint32_t gen = 0;
	char err[ERRLEN];

	loop_child_unblock_signals();
	signal(SIGPIPE, SIG_IGN);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	if (user != NULL && getuid() == 0 && sandbox_drop_user(user, group, err, sizeof(err)) < 0) {
		log_error("extauth launcher: %s", err);
		_exit(1);
	}
	if (sandbox_no_new_privs(err, sizeof(err)) < 0) {
		log_error("extauth launcher: %s", err);
		_exit(1);
	}
	for (;;) {
		int in[2], out[2], status = 0;
		if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
			log_error("extauth launcher: pipe: %s", strerror(errno));
			_exit(1);
		}
		uint64_t started = now_ms();
		pid_t pid = fork();
		if (pid == 0) {
			if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
				_exit(127);
			close(ctl);
			execv(argv[0], argv);
			log_error("extauth: cannot execute %s: %s", argv[0], strerror(errno));
			_exit(127);
		}
		close(in[0]);
		close(out[1]);
		if (pid < 0) {
			log_error("extauth launcher: fork: %s", strerror(errno));
		} else if (send_fds(ctl, in[1], out[0], ++gen) < 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			_exit(0);
		}
		close(in[1]);
		close(out[0]);
		bool killed = false;
		if (pid > 0) {
			while (launcher_wait(ctl, pid, gen, 3600000, &status, &killed) == 0)
				;
			if (WIFSIGNALED(status))
				log_warn("extauth program %s (pid %d) was killed by signal %d", argv[0],
				    (int)pid, WTERMSIG(status));
			else
				log_warn("extauth program %s (pid %d) exited with status %d", argv[0],
				    (int)pid, WEXITSTATUS(status));
		}
		/* Killed because it hung: a new one at once (auth asked, and
		 * requests are waiting). Died by itself: after a delay that
		 * doubles while it keeps dying young. */
		if (killed)
			continue;
		if (now_ms() - started >= STABLE_RUN_MS)
			delay = RESTART_DELAY_MIN_MS;
		log_info("extauth program: starting it again in %llu ms", (unsigned long long)delay);
		(void)launcher_wait(ctl, -1, 0, delay, &status, &killed);
		delay = delay * 2 > RESTART_DELAY_MAX_MS ? RESTART_DELAY_MAX_MS : delay * 2;
	}
}

/* --- requests ---------------------------------------------------------------- */

static void request_free(struct authreg_request *req)
{
	loop_timer_cancel(req->owner->loop, &req->timer);
	explicit_bzero(req->msg, req->len);
	free(req->msg);
	free(req);
}

static void unlink_request(struct authreg_pipe *p, struct authreg_request *req)
{
	struct authreg_request **pp = &p->head, *prev = NULL;

	for (; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp == req) {
			*pp = req->next;
			if (p->tail == req)
				p->tail = prev;
			return;
		}
	}
}

/* Answer a request and forget it; the callback may queue another. */
static void complete(struct authreg_pipe *p, struct authreg_request *req,
    enum authreg_result result)
{
	authreg_cb cb = req->cancelled ? NULL : req->cb;
	void *arg = req->arg;

	unlink_request(p, req);
	request_free(req);
	if (cb != NULL)
		cb(arg, result);
	kick(p);
}

static void request_timeout(struct loop *loop, void *arg)
{
	struct authreg_request *req = arg;
	struct authreg_pipe *p = req->owner;

	(void)loop;
	req->timer = NULL;
	if (req == p->head && req->sent) {
		log_warn("extauth program did not answer within %u ms: restarting it",
		    p->timeout_ms);
		program_lost(p, NULL); /* answers the head: temporary failure */
		return;
	}
	complete(p, req, AUTHREG_TEMPFAIL);
}

static struct authreg_request *enqueue(struct authreg *ar, authreg_cb cb, void *arg,
    const char *cmd, const char *user, const char *domain, const char *password)
{
	struct authreg_pipe *p = (struct authreg_pipe *)ar;
	struct buf b = BUF_INIT;

	buf_appendf(&b, "__%s:%s:%s", cmd, user, domain);
	if (password != NULL) {
		buf_append_str(&b, ":");
		buf_append_str(&b, password);
	}
	size_t n = buf_used(&b) - 2;
	if (n > MAX_REQUEST || strchr(user, ':') != NULL || strchr(domain, ':') != NULL) {
		explicit_bzero(b.data, b.cap);
		buf_free(&b);
		cb(arg, AUTHREG_NO);
		return NULL;
	}
	b.data[b.off] = (char)(n >> 8);
	b.data[b.off + 1] = (char)(n & 0xff);

	struct authreg_request *req = xcalloc(1, sizeof(*req));
	req->owner = p;
	req->len = buf_used(&b);
	req->msg = xmalloc(req->len);
	memcpy(req->msg, buf_head(&b), req->len);
	explicit_bzero(b.data, b.cap);
	buf_free(&b);
	req->cb = cb;
	req->arg = arg;
	req->timer = loop_timer_add(p->loop, p->timeout_ms, request_timeout, req);
	if (p->tail != NULL)
		p->tail->next = req;
	else
		p->head = req;
	p->tail = req;
	kick(p);
	return req;
}

/* --- the program's pipes ------------------------------------------------------ */

static void close_program(struct authreg_pipe *p)
{
	if (p->to_fd >= 0) {
		loop_del_fd(p->loop, p->to_fd);
		close(p->to_fd);
		p->to_fd = -1;
	}
	if (p->from_fd >= 0) {
		loop_del_fd(p->loop, p->from_fd);
		close(p->from_fd);
		p->from_fd = -1;
	}
	if (p->out.data != NULL)
		explicit_bzero(p->out.data, p->out.cap);
	buf_free(&p->out);
	buf_free(&p->in);
}

/* The program died, broke the protocol or hung: have the launcher kill it
 * (and start another), and fail the request it had. */
static void program_lost(struct authreg_pipe *p, const char *why)
{
	if (why != NULL)
		log_warn("extauth program: %s", why);
	close_program(p);
	if (p->ctl_fd >= 0 && p->gen != 0)
		(void)send(p->ctl_fd, &p->gen, sizeof(p->gen), MSG_NOSIGNAL);
	p->gen = 0;
	if (p->head != NULL && p->head->sent)
		complete(p, p->head, AUTHREG_TEMPFAIL);
}

static void flush(struct authreg_pipe *p)
{
	if (p->to_fd < 0 || buf_used(&p->out) == 0)
		return;
	if (buf_write_fd(&p->out, p->to_fd) < 0)
		program_lost(p, strerror(errno));
}

static void kick(struct authreg_pipe *p)
{
	struct authreg_request *req = p->head;

	if (req == NULL || req->sent || p->to_fd < 0)
		return;
	req->sent = true;
	buf_append(&p->out, req->msg, req->len);
	flush(p);
}

static void on_program_out(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct authreg_pipe *p = arg;
	bool eof = false;

	(void)loop;
	(void)fd;
	if (events & LOOP_WRITE)
		flush(p);
	if (p->from_fd < 0 || !(events & (LOOP_READ | LOOP_ERROR)))
		return;
	if (buf_read_fd(&p->in, p->from_fd, 4096, &eof) < 0) {
		program_lost(p, strerror(errno));
		return;
	}
	while (buf_used(&p->in) >= 4) {
		const unsigned char *b = (const unsigned char *)buf_head(&p->in);
		unsigned len = (unsigned)b[0] << 8 | b[1];
		unsigned value = (unsigned)b[2] << 8 | b[3];
		if (len != 2 || value > 1) {
			program_lost(p, "it broke the protocol (an answer is 00 02 00 0X)");
			return;
		}
		buf_consume(&p->in, 4);
		if (p->head == NULL || !p->head->sent) {
			program_lost(p, "it answered a question nobody asked");
			return;
		}
		complete(p, p->head, value == 1 ? AUTHREG_OK : AUTHREG_NO);
		if (p->from_fd < 0)
			return;
	}
	if (eof)
		program_lost(p, "it closed its output (did it exit?)");
}

static void on_program_in(struct loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	if (events & (LOOP_WRITE | LOOP_ERROR))
		flush(arg);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* The launcher started a program: take its pipes. */
static void on_launcher(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct authreg_pipe *p = arg;
	char err[ERRLEN];

	(void)events;
	for (;;) {
		uint32_t gen = 0;
		struct iovec iov = { &gen, sizeof(gen) };
		union {
			char buf[CMSG_SPACE(2 * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
		    .msg_controllen = sizeof(u.buf) };
		ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			log_error("extauth launcher is gone: the pipe backend cannot answer any more");
			loop_del_fd(loop, fd);
			close(fd);
			p->ctl_fd = -1;
			return;
		}
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		if (cm == NULL || cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len != CMSG_LEN(2 * sizeof(int)))
			continue;
		int fds[2];
		memcpy(fds, CMSG_DATA(cm), sizeof(fds));
		close_program(p);
		p->to_fd = fds[0];
		p->from_fd = fds[1];
		p->gen = gen;
		if (set_nonblock(p->to_fd) < 0 || set_nonblock(p->from_fd) < 0 ||
		    loop_add_fd(loop, p->to_fd, on_program_in, p, err, sizeof(err)) < 0 ||
		    loop_add_fd(loop, p->from_fd, on_program_out, p, err, sizeof(err)) < 0) {
			log_error("extauth program: %s", err);
			program_lost(p, NULL);
			continue;
		}
		log_debug("extauth program started");
		/* A head sent to the previous program was failed when it was
		 * lost; whatever waits now goes to this one. */
		kick(p);
	}
}

/* --- the backend's table --------------------------------------------------------- */

static struct authreg_request *pipe_check_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	return enqueue(ar, cb, arg, "auth", user, domain, password);
}

static struct authreg_request *pipe_exists(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	return enqueue(ar, cb, arg, "isuser", user, domain, NULL);
}

/* extauth's tryregister answers 0 for "exists" and for any other refusal;
 * registration asks isuser first to tell the client which it was. */
static struct authreg_request *pipe_create(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	return enqueue(ar, cb, arg, "tryregister", user, domain, password);
}

static struct authreg_request *pipe_set_password(struct authreg *ar, const char *user,
    const char *domain, const char *password, authreg_cb cb, void *arg)
{
	return enqueue(ar, cb, arg, "setpass", user, domain, password);
}

static struct authreg_request *pipe_remove(struct authreg *ar, const char *user,
    const char *domain, authreg_cb cb, void *arg)
{
	return enqueue(ar, cb, arg, "removeuser", user, domain, NULL);
}

/* A request on the wire must still get its answer (the protocol is in
 * order); one still queued can go at once. */
static void pipe_cancel(struct authreg *ar, struct authreg_request *req)
{
	struct authreg_pipe *p = (struct authreg_pipe *)ar;

	if (req->sent) {
		req->cancelled = true;
		return;
	}
	unlink_request(p, req);
	request_free(req);
}

static void pipe_free(struct authreg *ar)
{
	struct authreg_pipe *p = (struct authreg_pipe *)ar;

	while (p->head != NULL) {
		struct authreg_request *req = p->head;
		p->head = req->next;
		request_free(req);
	}
	close_program(p);
	if (p->ctl_fd >= 0) {
		loop_del_fd(p->loop, p->ctl_fd);
		close(p->ctl_fd); /* the launcher kills the program and exits */
	}
	/* The launcher is not waited for: wait4 is outside the sandbox, and
	 * auth is about to exit anyway. */
	free(p);
}

static const struct authreg_backend pipe_backend = {
	.name = "pipe",
	.check_password = pipe_check_password,
	.exists = pipe_exists,
	.create = pipe_create,
	.set_password = pipe_set_password,
	.remove = pipe_remove,
	.cancel = pipe_cancel,
	.free = pipe_free,
};

struct authreg *authreg_pipe_new(struct loop *loop, const char *const *argv, size_t argc,
    const char *user, const char *group, unsigned timeout_ms, char *err, size_t errlen)
{
	int sv[2];

	if (argc == 0)
		return errf(err, errlen, "no program given"), NULL;
	if (access(argv[0], X_OK) < 0)
		return errf(err, errlen, "%s: %s", argv[0], strerror(errno)), NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return errf(err, errlen, "socketpair: %s", strerror(errno)), NULL;

	char **args = xcalloc(argc + 1, sizeof(*args));
	for (size_t i = 0; i < argc; i++)
		args[i] = xstrdup(argv[i]);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		for (size_t i = 0; i < argc; i++)
			free(args[i]);
		free(args);
		return errf(err, errlen, "fork: %s", strerror(errno)), NULL;
	}
	if (pid == 0) {
		close(sv[0]);
		launcher_main(sv[1], args, user, group, parent);
	}
	close(sv[1]);
	for (size_t i = 0; i < argc; i++)
		free(args[i]);
	free(args);

	struct authreg_pipe *p = xcalloc(1, sizeof(*p));
	p->base.backend = &pipe_backend;
	p->loop = loop;
	p->timeout_ms = timeout_ms;
	p->ctl_fd = sv[0];
	p->launcher = pid;
	p->to_fd = p->from_fd = -1;
	if (set_nonblock(p->ctl_fd) < 0 ||
	    loop_add_fd(loop, p->ctl_fd, on_launcher, p, err, errlen) < 0) {
		pipe_free(&p->base);
		return NULL;
	}
	return &p->base;
}
