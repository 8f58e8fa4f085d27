/*
 * router_bench.c — how fast parley-router forwards frames, and what each
 * frame costs it. Two peers (common/router_link) connect to the router's
 * Unix socket: `bench.a` sends ROUTE frames carrying a realistic 300-byte
 * chat message to `bench.b`, which sends each one straight back. `bench.a`
 * keeps at most WINDOW messages in flight, so the router always has work
 * queued but nobody's memory grows. Both peers share one process and one
 * event loop (on two cores: one core for the peers, one for the router),
 * or with -f each has its own process.
 *
 * Every frame the router forwards counts: one message is two frames. The
 * router's CPU time comes from /proc/PID/stat (utime + stime) read before
 * and after the measured run; a warm-up of 5% of the frames comes first and
 * is not measured. The peers' CPU time is printed too: if one of them is
 * near the wall time, that peer (not the router) was the bottleneck.
 *
 * Prints one result line. This is a benchmark, not a test: tests/run does
 * not run it; bench/run-router-bench starts a router and runs it.
 *
 * usage: router_bench -s SOCKET (-k SECRET | -K SECRET-FILE) -p ROUTER-PID
 *                     [-n FRAMES] [-w WINDOW] [-f]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "router_link.h"

/* A chat message as a client sends it, once c2s has stamped its `from`. */
static const char stanza[] =
    "<message xmlns='jabber:client' from='juliet@example.com/balcony' "
    "to='romeo@example.net' type='chat' id='0f8b1c2e-7a4d-4e2'>"
    "<body>Wherefore art thou, Romeo? Deny thy father and refuse thy name.</body>"
    "<active xmlns='http://jabber.org/protocol/chatstates'/>"
    "<request xmlns='urn:xmpp:receipts'/></message>";

struct bench {
	struct loop *loop;
	struct router_link *link;   /* bench.a, or bench.b in the echo process */
	struct router_link *echo;   /* bench.b, when it shares our loop */
	bool ready;          /* a: bound, and bench.b is up */
	int bound;           /* binds confirmed: 1 for each link */
	int links;
	bool peer_up;
	uint64_t target;     /* messages to send in this phase */
	uint64_t sent;
	uint64_t received;   /* echoes back at a */
	uint64_t window;
	bool failed;
};

static void die(const char *what, const char *why)
{
	fprintf(stderr, "router_bench: %s: %s\n", what, why);
	exit(1);
}

static void fill_window(struct bench *b)
{
	char err[ERRLEN];

	while (b->sent < b->target && b->sent - b->received < b->window) {
		if (router_link_route(b->link, "bench.a", "bench.b", "romeo@example.net", "s1", stanza,
		    sizeof(stanza) - 1, NULL, err, sizeof(err)) < 0)
			die("send", err);
		b->sent++;
	}
}

static void on_down(struct router_link *link, const char *reason, void *arg)
{
	struct bench *b = arg;
	fprintf(stderr, "router_bench: %s: down: %s\n", router_link_name(link), reason);
	b->failed = true;
	loop_stop(b->loop);
}

static void check_ready(struct bench *b)
{
	if (!b->ready && b->bound == b->links && b->peer_up) {
		b->ready = true;
		loop_stop(b->loop);
	}
}

static void on_bound(struct router_link *link, const char *name, uint16_t flags, void *arg)
{
	struct bench *b = arg;
	(void)link;
	(void)name;
	(void)flags;
	b->bound++;
	check_ready(b);
}

static void on_bind_error(struct router_link *link, const char *name, uint32_t code,
    const char *text, void *arg)
{
	(void)link;
	(void)arg;
	fprintf(stderr, "router_bench: bind %s refused: %s %s\n", name, frame_error_code_name(code),
	    text ? text : "");
	exit(1);
}

/* Anything but ROUTE and the table's news means the run is not measuring
 * what it claims to. */
static bool is_route(const struct frame *f, const char *who)
{
	if (f->type == FRAME_ROUTE)
		return true;
	if (f->type == FRAME_PEER_UP || f->type == FRAME_PEER_DOWN)
		return false;
	fprintf(stderr, "router_bench: %s got %s\n", who, frame_type_name(f->type));
	exit(1);
}

static void on_frame_a(struct router_link *link, const struct frame *f, void *arg)
{
	struct bench *b = arg;
	(void)link;
	if (f->type == FRAME_PEER_UP) {
		const char *name = frame_get_str(f, FRAME_TAG_NAME, NULL);
		if (strcmp(name, "bench.b") == 0) {
			b->peer_up = true;
			check_ready(b);
		}
	}
	if (!is_route(f, "bench.a"))
		return;
	b->received++;
	if (b->received == b->target)
		loop_stop(b->loop);
	else
		fill_window(b);
}

static void on_frame_b(struct router_link *link, const struct frame *f, void *arg)
{
	char err[ERRLEN];
	const void *data;
	size_t len;
	(void)arg;

	if (!is_route(f, "bench.b"))
		return;
	frame_get(f, FRAME_TAG_STANZA, &data, &len);
	if (router_link_route(link, "bench.b", "bench.a", frame_get_str(f, FRAME_TAG_ROUTE_KEY, NULL),
	    frame_get_str(f, FRAME_TAG_SESSION_ID, NULL), data, len, NULL, err, sizeof(err)) < 0)
		die("echo", err);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of a process, in seconds. */
static double proc_cpu(pid_t pid)
{
	char path[64], text[2048];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die(path, strerror(errno));
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	/* The command name may hold spaces: fields count from the last ')'. */
	char *p = strrchr(text, ')');
	if (p == NULL)
		die(path, "unreadable");
	unsigned long long utime = 0, stime = 0;
	/* After ')': state (field 3) … utime is field 14, stime 15. */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
		die(path, "unreadable");
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void run_phase(struct bench *b, uint64_t messages)
{
	b->target = messages;
	b->sent = 0;
	b->received = 0;
	fill_window(b);
	if (loop_run(b->loop) < 0 || b->failed)
		die("run", "the loop stopped early");
}

static char *read_secret_file(const char *path)
{
	char line[1100];
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die(path, strerror(errno));
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return xstrdup(line);
}

static struct router_link *connect_peer(struct bench *b, const char *socket_path,
    const char *secret, const char *name, const char *role,
    const struct router_link_callbacks *cb)
{
	char err[ERRLEN];
	struct router_link_settings s = {
		.socket_path = socket_path,
		.name = name,
		.role = role,
		.secret = secret,
		.secret_len = strlen(secret),
		.backoff_max_ms = 1000,
	};
	if (b->loop == NULL && (b->loop = loop_new(err, sizeof(err))) == NULL)
		die("loop", err);
	struct router_link *link = router_link_new(b->loop, &s, cb, b, err, sizeof(err));
	if (link == NULL)
		die("link", err);
	router_link_bind(link, name, 0);
	router_link_start(link);
	b->links++;
	return link;
}

static const struct router_link_callbacks echo_callbacks = {
	.down = on_down, .bound = on_bound, .bind_error = on_bind_error, .frame = on_frame_b,
};

/* bench.b in a process of its own: echo until bench.a (our parent) goes away. */
static NORETURN void run_echo(const char *socket_path, const char *secret)
{
	struct bench b = { 0 };

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	b.link = connect_peer(&b, socket_path, secret, "bench.b", "sm", &echo_callbacks);
	loop_run(b.loop);
	_exit(b.failed ? 1 : 0);
}

int main(int argc, char **argv)
{
	const char *socket_path = NULL;
	char *secret = NULL;
	pid_t router = 0;
	uint64_t frames = 2000000, window = 1024;
	bool fork_echo = false;
	char err[ERRLEN];
	int c;

	while ((c = getopt(argc, argv, "s:k:K:p:n:w:f")) != -1) {
		switch (c) {
		case 's': socket_path = optarg; break;
		case 'k': secret = xstrdup(optarg); break;
		case 'K': secret = read_secret_file(optarg); break;
		case 'p': router = (pid_t)strtol(optarg, NULL, 10); break;
		case 'n': frames = strtoull(optarg, NULL, 10); break;
		case 'w': window = strtoull(optarg, NULL, 10); break;
		case 'f': fork_echo = true; break;
		default:
			fprintf(stderr, "usage: router_bench -s SOCKET (-k SECRET | -K FILE) -p ROUTER-PID "
			    "[-n FRAMES] [-w WINDOW] [-f]\n");
			return 2;
		}
	}
	if (socket_path == NULL || secret == NULL || router <= 0 || frames < 2 || window < 1) {
		fprintf(stderr, "router_bench: -s, -k/-K and -p are required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	(void)log_open("router_bench", "stderr", LOG_LEVEL_WARN, err, sizeof(err));
	(void)proc_cpu(router); /* is it there? */

	static const struct router_link_callbacks cb = {
		.down = on_down, .bound = on_bound, .bind_error = on_bind_error, .frame = on_frame_a,
	};
	struct bench b = { .window = window };
	pid_t echo = 0;
	if (fork_echo) {
		echo = fork();
		if (echo < 0)
			die("fork", strerror(errno));
		if (echo == 0)
			run_echo(socket_path, secret);
	} else {
		b.echo = connect_peer(&b, socket_path, secret, "bench.b", "sm", &echo_callbacks);
	}
	b.link = connect_peer(&b, socket_path, secret, "bench.a", "c2s", &cb);
	if (loop_run(b.loop) < 0 || b.failed || !b.ready)
		die("connect", "the peers did not come up");

	uint64_t messages = frames / 2;
	run_phase(&b, messages / 20 + 1);

	double cpu0 = proc_cpu(router), a0 = proc_cpu(getpid()), b0 = echo ? proc_cpu(echo) : 0;
	double t0 = now_s();
	run_phase(&b, messages);
	double t1 = now_s();
	double cpu1 = proc_cpu(router), a1 = proc_cpu(getpid()), b1 = echo ? proc_cpu(echo) : 0;

	double wall = t1 - t0, cpu = cpu1 - cpu0;
	uint64_t counted = messages * 2;
	char peers[96];
	if (echo)
		snprintf(peers, sizeof(peers), "peers' CPU %.0f%% and %.0f%% of a core",
		    100.0 * (a1 - a0) / wall, 100.0 * (b1 - b0) / wall);
	else
		snprintf(peers, sizeof(peers), "peers' CPU %.0f%% of a core (one process)",
		    100.0 * (a1 - a0) / wall);
	printf("router_bench: %llu frames (%zu-byte stanzas, window %llu) in %.2f s: "
	    "%.0f frames/s; router CPU %.2f s per million frames (%.0f%% of a core); %s\n",
	    (unsigned long long)counted, sizeof(stanza) - 1, (unsigned long long)window, wall,
	    (double)counted / wall, cpu / ((double)counted / 1e6), 100.0 * cpu / wall, peers);

	router_link_free(&b.link);
	router_link_free(&b.echo);
	loop_free(&b.loop);
	if (echo) {
		kill(echo, SIGTERM);
		waitpid(echo, NULL, 0);
	}
	free(secret);
	return 0;
}
