/*
 * ctl_status.c — `parleyctl status`: which processes run, from parleyd's
 * state file (each PID checked with kill(pid, 0)), and which names are
 * bound in the router, asked of the router itself over its Unix socket as
 * a peer of role "ctl".
 *
 * The router conversation is the internal protocol (common/frame.h) with
 * blocking I/O under one deadline: HELLO; HELLO_OK and one PEER_UP per
 * bound name; then PING, and everything up to its PONG — frames arrive in
 * order, so every PEER_UP sent before the PONG has been seen. parleyctl
 * binds nothing and leaves at once.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "frame.h"
#include "parleyctl.h"

#define STATUS_TIMEOUT_DEFAULT 5
#define STATUS_TIMEOUT_MAX 3600

/* --- parleyd's state file --------------------------------------------------- */

/* One line of ${run_dir}/parleyd.state: "NAME PID STATE RESTARTS". */
struct proc_state {
	char name[32];
	long pid;
	char state[16];
	unsigned long restarts;
	bool alive; /* pid > 0 and kill(pid, 0) says it exists */
};

struct state_file {
	bool present;
	char path[PATH_MAX];
	struct proc_state *procs;
	size_t count;
};

static bool pid_alive(long pid)
{
	if (pid <= 0 || pid > INT32_MAX)
		return false;
	/* EPERM: it exists, it is just not ours to signal. */
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static int read_state(const struct ctl *ctl, const char *run_dir, struct state_file *sf)
{
	char line[256];
	unsigned n = 0;

	memset(sf, 0, sizeof(*sf));
	snprintf(sf->path, sizeof(sf->path), "%s/parleyd.state", run_dir);
	FILE *f = fopen(sf->path, "r");
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		ctl_warnx(ctl, "cannot read %s: %s", sf->path, strerror(errno));
		return -1;
	}
	sf->present = true;
	while (fgets(line, sizeof(line), f) != NULL) {
		struct proc_state p = { 0 };
		char extra;
		n++;
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (sscanf(line, "%31s %ld %15s %lu %c", p.name, &p.pid, p.state, &p.restarts,
		    &extra) != 4 || p.pid < 0) {
			ctl_warnx(ctl, "%s:%u: not \"NAME PID STATE RESTARTS\": ignored", sf->path, n);
			continue;
		}
		p.alive = pid_alive(p.pid);
		sf->procs = xreallocarray(sf->procs, sf->count + 1, sizeof(*sf->procs));
		sf->procs[sf->count++] = p;
	}
	fclose(f);
	return 0;
}

static const struct proc_state *find_proc(const struct state_file *sf, const char *name)
{
	for (size_t i = 0; i < sf->count; i++)
		if (strcmp(sf->procs[i].name, name) == 0)
			return &sf->procs[i];
	return NULL;
}

/* The instance names parleyd runs, in start order. */
static size_t expected_names(const struct conf *c, char names[][32], size_t max)
{
	static const char *const order[] = { "router", "auth", "sm", "c2s", "s2s" };
	const char *services[8];
	size_t n = 0, nsvc = ctl_services(c, services, ARRAY_LEN(services));

	for (size_t o = 0; o < ARRAY_LEN(order); o++) {
		bool wanted = false;
		for (size_t i = 0; i < nsvc; i++)
			if (strcmp(services[i], order[o]) == 0)
				wanted = true;
		if (!wanted)
			continue;
		if (strcmp(order[o], "c2s") == 0) {
			int64_t inst = conf_int(c, "c2s.instances");
			for (int64_t k = 1; k <= inst && n < max; k++)
				snprintf(names[n++], 32, "c2s.%" PRId64, k);
		} else if (n < max) {
			snprintf(names[n++], 32, "%s", order[o]);
		}
	}
	return n;
}

/* parleyd itself: a "parleyd" line in the state file if it writes one, else
 * its pid file (written in daemon mode). 0 if neither shows it alive. */
static long parleyd_pid(const struct conf *c, const struct state_file *sf)
{
	const struct proc_state *p = find_proc(sf, "parleyd");
	if (p != NULL)
		return p->alive ? p->pid : 0;
	FILE *f = fopen(conf_str(c, "parleyd.pid_file"), "r");
	long pid = 0;
	if (f == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid_alive(pid) ? pid : 0;
}

/* Print the process table; true if every expected process runs. */
static bool print_processes(const struct conf *c, const struct state_file *sf)
{
	char names[70][32];
	size_t n = expected_names(c, names, ARRAY_LEN(names));
	bool all = true;
	long dpid = parleyd_pid(c, sf);

	if (!sf->present) {
		printf("parleyd: not running (no %s)\n", sf->path);
		return false;
	}
	bool any_alive = false;
	for (size_t i = 0; i < sf->count; i++)
		if (sf->procs[i].alive && strcmp(sf->procs[i].name, "parleyd") != 0)
			any_alive = true;
	/* parleyd writes its pid file in the foreground too: without a live
	 * one, whatever still runs has lost its supervisor. */
	if (dpid > 0) {
		printf("parleyd: running, pid %ld\n", dpid);
	} else {
		printf("parleyd: not running (no live pid in %s)%s\n",
		    conf_str(c, "parleyd.pid_file"), any_alive ?
		    "; processes from its last state file still run" : "");
		all = false;
	}

	printf("%-10s %-8s %-10s %s\n", "PROCESS", "PID", "STATE", "RESTARTS");
	for (size_t i = 0; i < n; i++) {
		const struct proc_state *p = find_proc(sf, names[i]);
		if (p == NULL) {
			printf("%-10s %-8s %-10s %s\n", names[i], "-", "absent", "-");
			all = false;
			continue;
		}
		const char *state = p->state;
		char pid[24];
		snprintf(pid, sizeof(pid), "%ld", p->pid);
		if (p->pid == 0)
			snprintf(pid, sizeof(pid), "-");
		/* A process the file calls running but the kernel does not know. */
		if (p->pid > 0 && !p->alive)
			state = "dead";
		printf("%-10s %-8s %-10s %lu%s\n", p->name, pid, state, p->restarts,
		    p->pid > 0 && !p->alive ? "  (the state file says it runs; no such process)" : "");
		if (strcmp(p->state, "running") != 0 || !p->alive)
			all = false;
	}
	/* Anything else parleyd reports (an instance not configured any more). */
	for (size_t i = 0; i < sf->count; i++) {
		const struct proc_state *p = &sf->procs[i];
		bool known = strcmp(p->name, "parleyd") == 0;
		for (size_t k = 0; k < n && !known; k++)
			known = strcmp(p->name, names[k]) == 0;
		if (!known)
			printf("%-10s %-8ld %-10s %lu  (not in this configuration)\n", p->name, p->pid,
			    p->alive ? p->state : "dead", p->restarts);
	}
	return all;
}

/* --- asking the router ------------------------------------------------------ */

struct bound_name {
	char *name;
	char *role;
	uint16_t flags;
};

struct router_query {
	enum { QUERY_SECRET, QUERY_CONNECT, QUERY_TALK } stage; /* how far it got */
	int fd;
	bool eof; /* the router closed its side */
	struct buf in, out;
	uint32_t seq;
	size_t max_frame;
	struct timespec deadline;
	struct bound_name *names;
	size_t count;
	char router_name[64];
};

static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static int wait_fd(struct router_query *q, short events, char *err, size_t errlen)
{
	for (;;) {
		struct pollfd p = { q->fd, events, 0 };
		int left = ms_left(&q->deadline);
		if (left == 0)
			return errf(err, errlen, "no answer within the time limit");
		int r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errf(err, errlen, "poll: %s", strerror(errno));
		if (r > 0)
			return 0;
	}
}

static int flush_out(struct router_query *q, char *err, size_t errlen)
{
	while (buf_used(&q->out) > 0) {
		if (buf_write_fd(&q->out, q->fd) < 0)
			return errf(err, errlen, "write: %s", strerror(errno));
		if (buf_used(&q->out) > 0 && wait_fd(q, POLLOUT, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* The next frame, waiting for it until the deadline. It points into q->in
 * and is valid until the next call, which consumes it. */
static int next_frame(struct router_query *q, struct frame *f, size_t *pending, char *err,
    size_t errlen)
{
	char why[ERRLEN];

	buf_consume(&q->in, *pending);
	*pending = 0;
	for (;;) {
		size_t used;
		int r = frame_decode(buf_head(&q->in), buf_used(&q->in), q->max_frame, f, &used,
		    why, sizeof(why));
		if (r < 0)
			return errf(err, errlen, "bad frame from the router: %s", why);
		if (r == 1) {
			*pending = used;
			return 0;
		}
		/* The router may send an ERROR and close at once: what it sent
		 * before closing is decoded first. */
		if (q->eof)
			return errf(err, errlen, "the router closed the connection");
		if (wait_fd(q, POLLIN, err, errlen) < 0)
			return -1;
		if (buf_read_fd(&q->in, q->fd, 64 * 1024, &q->eof) < 0)
			return errf(err, errlen, "read: %s", strerror(errno));
	}
}

static void add_name(struct router_query *q, const struct frame *f)
{
	const char *name = frame_get_str(f, FRAME_TAG_NAME, NULL);
	const char *role = frame_get_str(f, FRAME_TAG_ROLE, NULL);

	for (size_t i = 0; i < q->count; i++) {
		if (strcmp(q->names[i].name, name) == 0) {
			/* A shared name bound again: one line is enough. */
			q->names[i].flags |= f->flags;
			return;
		}
	}
	q->names = xreallocarray(q->names, q->count + 1, sizeof(*q->names));
	q->names[q->count++] = (struct bound_name){
		.name = xstrdup(name),
		.role = role ? xstrdup(role) : NULL,
		.flags = f->flags,
	};
}

static void remove_name(struct router_query *q, const struct frame *f)
{
	const char *name = frame_get_str(f, FRAME_TAG_NAME, NULL);
	for (size_t i = 0; i < q->count; i++) {
		if (strcmp(q->names[i].name, name) == 0) {
			free(q->names[i].name);
			free(q->names[i].role);
			q->names[i] = q->names[--q->count];
			return;
		}
	}
}

/* A frame the router may send at any time: PEER_UP/DOWN, PING. */
static int handle_async(struct router_query *q, const struct frame *f, char *err, size_t errlen)
{
	switch (f->type) {
	case FRAME_PEER_UP:
		add_name(q, f);
		return 0;
	case FRAME_PEER_DOWN:
		remove_name(q, f);
		return 0;
	case FRAME_PING: {
		size_t at = frame_begin(&q->out, FRAME_PONG, 0, ++q->seq);
		frame_put_u32(&q->out, FRAME_TAG_REF_SEQ, f->seq);
		frame_end(&q->out, at);
		return flush_out(q, err, errlen);
	}
	case FRAME_ERROR: {
		uint32_t code = 0;
		frame_get_u32(f, FRAME_TAG_CODE, &code);
		const char *text = frame_get_str(f, FRAME_TAG_TEXT, NULL);
		return errf(err, errlen, "the router refused parleyctl: %s%s%s",
		    frame_error_code_name(code), text ? ": " : "", text ? text : "");
	}
	default:
		return errf(err, errlen, "unexpected %s frame from the router",
		    frame_type_name(f->type));
	}
}

static int connect_router(struct router_query *q, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sun.sun_path))
		return errf(err, errlen, "%s: path too long for a Unix socket", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (q->fd < 0)
		return errf(err, errlen, "socket: %s", strerror(errno));
	if (connect(q->fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return 0;
	/* A Unix socket whose backlog is full answers EAGAIN: wait for room. */
	if (errno != EAGAIN && errno != EINPROGRESS)
		return errf(err, errlen, "%s", strerror(errno));
	if (wait_fd(q, POLLOUT, err, errlen) < 0)
		return -1;
	int so = 0;
	socklen_t len = sizeof(so);
	if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &so, &len) < 0 || so != 0)
		return errf(err, errlen, "%s", strerror(so ? so : errno));
	return 0;
}

static int query_router(const struct conf *c, struct router_query *q, int timeout_s,
    char *err, size_t errlen)
{
	char secret[ROUTER_SECRET_MAX + 1], name[48];
	size_t secret_len, pending = 0;
	struct frame f;

	clock_gettime(CLOCK_MONOTONIC, &q->deadline);
	q->deadline.tv_sec += timeout_s;
	q->max_frame = conf_size(c, "router.max_frame");
	if (router_secret_get(c, secret, &secret_len, err, errlen) < 0)
		return -1;
	q->stage = QUERY_CONNECT;
	if (connect_router(q, conf_str(c, "router.socket"), err, errlen) < 0) {
		explicit_bzero(secret, sizeof(secret));
		return -1;
	}
	q->stage = QUERY_TALK;

	snprintf(name, sizeof(name), "parleyctl.%ld", (long)getpid());
	size_t at = frame_begin(&q->out, FRAME_HELLO, 0, ++q->seq);
	frame_put_str(&q->out, FRAME_TAG_NAME, name);
	frame_put_str(&q->out, FRAME_TAG_ROLE, "ctl");
	frame_put(&q->out, FRAME_TAG_SECRET, secret, secret_len);
	frame_put_u32(&q->out, FRAME_TAG_PID, (uint32_t)getpid());
	frame_end(&q->out, at);
	explicit_bzero(secret, sizeof(secret));
	int rc = flush_out(q, err, errlen);
	/* The secret went out through q->out: do not leave it in memory. */
	if (q->out.data != NULL)
		explicit_bzero(q->out.data, q->out.cap);
	if (rc < 0)
		return -1;

	if (next_frame(q, &f, &pending, err, errlen) < 0)
		return -1;
	if (f.type != FRAME_HELLO_OK)
		return handle_async(q, &f, err, errlen) < 0 ? -1 :
		    errf(err, errlen, "the router answered HELLO with %s", frame_type_name(f.type));
	snprintf(q->router_name, sizeof(q->router_name), "%s",
	    frame_get_str(&f, FRAME_TAG_NAME, NULL));

	uint32_t ping_seq = ++q->seq;
	at = frame_begin(&q->out, FRAME_PING, 0, ping_seq);
	frame_end(&q->out, at);
	if (flush_out(q, err, errlen) < 0)
		return -1;
	for (;;) {
		if (next_frame(q, &f, &pending, err, errlen) < 0)
			return -1;
		uint32_t ref;
		if (f.type == FRAME_PONG && frame_get_u32(&f, FRAME_TAG_REF_SEQ, &ref) &&
		    ref == ping_seq)
			return 0;
		if (f.type == FRAME_PONG)
			continue;
		if (handle_async(q, &f, err, errlen) < 0)
			return -1;
	}
}

static int cmp_names(const void *a, const void *b)
{
	const struct bound_name *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static void print_names(struct router_query *q)
{
	qsort(q->names, q->count, sizeof(*q->names), cmp_names);
	printf("%-30s %-10s %s\n", "NAME", "ROLE", "FLAGS");
	for (size_t i = 0; i < q->count; i++) {
		const struct bound_name *n = &q->names[i];
		char flags[32] = "";
		if (n->flags & FRAME_F_DEFAULT_ROUTE)
			strcat(flags, "default");
		if (n->flags & FRAME_F_SHARED)
			strcat(flags, flags[0] ? ",shared" : "shared");
		printf("%-30s %-10s %s\n", n->name, n->role ? n->role : "-", flags[0] ? flags : "-");
	}
}

static void query_free(struct router_query *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	buf_free(&q->in);
	buf_free(&q->out);
	for (size_t i = 0; i < q->count; i++) {
		free(q->names[i].name);
		free(q->names[i].role);
	}
	free(q->names);
	q->names = NULL;
	q->count = 0;
}

/* --- the verb ------------------------------------------------------------------ */

static void status_usage(FILE *out, const struct ctl *ctl)
{
	fprintf(out,
	    "usage: %s [-c FILE] status [-c FILE] [-t SECONDS]\n"
	    "Show the processes parleyd runs (from RUN_DIR/parleyd.state) and the names\n"
	    "bound in the router (asked over its socket). Exits 0 when every configured\n"
	    "process runs and the router answers, 1 otherwise.\n\n"
	    "  -t SECONDS  how long to wait for the router (default %d)\n",
	    ctl->prog, STATUS_TIMEOUT_DEFAULT);
}

int ctl_status(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, timeout = STATUS_TIMEOUT_DEFAULT;
	char *end;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl->config_path = optarg;
			break;
		case 't': {
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 || v > STATUS_TIMEOUT_MAX) {
				ctl_warnx(ctl, "status: -t wants seconds from 1 to %d, got '%s'",
				    STATUS_TIMEOUT_MAX, optarg);
				return CTL_EXIT_USAGE;
			}
			timeout = (int)v;
			break;
		}
		case 'h':
			status_usage(stdout, ctl);
			return CTL_EXIT_OK;
		default:
			status_usage(stderr, ctl);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ctl_warnx(ctl, "status: unexpected argument '%s'", argv[optind]);
		status_usage(stderr, ctl);
		return CTL_EXIT_USAGE;
	}

	struct conf *c = ctl_load_config(ctl);
	if (c == NULL)
		return CTL_EXIT_FAIL;

	struct state_file sf;
	bool ok = read_state(ctl, conf_str(c, "run_dir"), &sf) == 0;
	ok = print_processes(c, &sf) && ok;

	struct router_query q = { .fd = -1, .in = BUF_INIT, .out = BUF_INIT };
	char err[ERRLEN] = "";
	const char *sock = conf_str(c, "router.socket");
	printf("\n");
	if (query_router(c, &q, timeout, err, sizeof(err)) < 0) {
		if (q.stage == QUERY_SECRET)
			printf("router: cannot ask it: %s\n", err);
		else if (q.stage == QUERY_CONNECT)
			printf("router: not reachable at %s: %s\n", sock, err);
		else
			printf("router: at %s, but %s\n", sock, err);
		ok = false;
	} else {
		printf("router: answering at %s", sock);
		if (strcmp(q.router_name, "router") != 0)
			printf(" (as %s)", q.router_name);
		printf(", %zu name%s bound\n", q.count, q.count == 1 ? "" : "s");
		if (q.count > 0)
			print_names(&q);
	}
	query_free(&q);
	free(sf.procs);
	conf_free(&c);
	return ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}
