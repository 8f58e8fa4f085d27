/*
 * testpeer.c — a scriptable Parley peer on common/router_link, for the
 * integration tests (tests/integration/lib/testpeer.py drives it). It plays
 * any process the router talks to: it connects, binds the names it is told,
 * sends what its script says and prints everything that happens, one line
 * per event. It is a test tool, not a daemon: no config file, no sandbox.
 *
 * Usage:
 *   testpeer -s SOCKET | -t HOST:PORT -C CA-FILE [-T TLS-NAME]
 *            -n NAME [-r ROLE] (-k SECRET | -K SECRET-FILE)
 *            [-b NAME[,shared][,default]]... [-f FROM] [-u USER]
 *            [--echo] [--count] [--max-queue BYTES] [--backoff-max MS]
 *   -s  the router's Unix socket         -t  the router's TCP+TLS address
 *   -C  CA file to verify the router     -T  name its certificate must carry
 *   -n  instance name (HELLO)            -r  role (default: c2s)
 *   -k  the shared secret                -K  a file holding it (one line)
 *   -b  a name to bind at start (repeatable), with its flags
 *   -f  the `from` of `route` commands (default: the instance name)
 *   -u  drop to this user before connecting (to test the router's uid check)
 *   --echo   answer every ROUTE by sending its stanza back to its `from`
 *   --count  count ROUTEs instead of printing each (for load)
 *
 * Commands, on stdin, one per line, fields separated by one space; "-"
 * stands for an absent key or session; STANZA is the rest of the line:
 *   route TO KEY STANZA                a ROUTE from the -f name
 *   send FROM TO KEY SESSION STANZA    a ROUTE with every field given
 *   flood TO COUNT SIZE                COUNT ROUTEs with SIZE-byte stanzas,
 *                                      as fast as the link's queue takes them
 *   bind NAME [shared] [default]
 *   unbind NAME
 *   pause | resume                     stop / start reading from the router
 *   count                              print the count line now
 *   status                             print the status line now
 *   mark TEXT                          print "mark TEXT" (sync with a script)
 *   quit                               exit 0 (so does the end of stdin)
 *
 * Events, on stdout, one per line, flushed; the last field may hold spaces:
 *   up ROUTER-NAME
 *   down REASON
 *   bound NAME FLAGS                   FLAGS: "-" or "shared", "default", "shared,default"
 *   bind-error NAME CODE TEXT          CODE by name: conflict, not-allowed…
 *   peer-up NAME ROLE FLAGS            ROLE "-" if the router did not say
 *   peer-down NAME
 *   route FROM TO SESSION STANZA       (not with --count)
 *   error CODE REF-TO REF-SEQ TEXT     REF-TO, REF-SEQ, TEXT "-" when absent
 *   ack FROM SEQ...
 *   frame TYPE FROM TO SESSION         any other routed frame (SESSION_*, SASL_*)
 *   sent SEQ                           a route/send command was queued with this seq
 *   send-error REASON                  … or refused (queue full, bad field)
 *   flooded COUNT                      a flood is wholly queued
 *   writable                           the queue has room again after a refusal
 *   count ROUTES BYTES                 ROUTEs and stanza bytes received so far
 *   status STATE QUEUED NEXT-SEQ
 *   mark TEXT
 *   cmd-error TEXT                     a command that could not be understood
 * In stanzas, a newline prints as \n and a backslash as \\.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "frame.h"
#include "log.h"
#include "loop.h"
#include "router_link.h"
#include "sandbox.h"
#include "tls.h"

struct peer {
	struct loop *loop;
	struct router_link *link;
	struct buf cmd;           /* stdin, up to a newline */
	const char *from;
	bool echo;
	bool count_only;
	uint64_t routes;
	uint64_t route_bytes;

	/* A flood in progress. */
	char *flood_to;
	char *flood_stanza;
	size_t flood_size;
	uint64_t flood_left;
	uint64_t flood_total;
	bool waiting_writable;
};

static void usage(void)
{
	fprintf(stderr,
	    "usage: testpeer -s SOCKET | -t HOST:PORT -C CA-FILE [-T TLS-NAME]\n"
	    "                -n NAME [-r ROLE] (-k SECRET | -K SECRET-FILE)\n"
	    "                [-b NAME[,shared][,default]]... [-f FROM] [-u USER]\n"
	    "                [--echo] [--count] [--max-queue BYTES] [--backoff-max MS]\n"
	    "(the command and event grammar is at the top of tests/tools/testpeer.c)\n");
	exit(2);
}

static const char *flags_words(uint16_t flags)
{
	switch (flags & (FRAME_F_SHARED | FRAME_F_DEFAULT_ROUTE)) {
	case FRAME_F_SHARED:
		return "shared";
	case FRAME_F_DEFAULT_ROUTE:
		return "default";
	case FRAME_F_SHARED | FRAME_F_DEFAULT_ROUTE:
		return "shared,default";
	default:
		return "-";
	}
}

static const char *or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

/* One event line; stdout is line-buffered, so each is flushed. */
static void event(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void event(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void print_escaped(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n')
			fputs("\\n", stdout);
		else if (p[i] == '\\')
			fputs("\\\\", stdout);
		else
			putchar(p[i]);
	}
}

/* --- sending ------------------------------------------------------------------ */

static void send_route(struct peer *peer, const char *from, const char *to, const char *key,
    const char *session, const char *stanza, size_t len)
{
	char err[ERRLEN];
	uint32_t seq;

	if (router_link_route(peer->link, from, to, key, session, stanza, len, &seq, err,
	    sizeof(err)) < 0)
		event("send-error %s", err);
	else
		event("sent %u", seq);
}

/* Queue what is left of a flood; stop at a full queue and go on when the
 * link says it is writable again. */
static void flood_some(struct peer *peer)
{
	char err[ERRLEN];

	while (peer->flood_left > 0) {
		if (router_link_route(peer->link, NULL, peer->flood_to, NULL, NULL, peer->flood_stanza,
		    peer->flood_size, NULL, err, sizeof(err)) < 0) {
			peer->waiting_writable = true;
			return;
		}
		peer->flood_left--;
	}
	event("flooded %llu", (unsigned long long)peer->flood_total);
	free(peer->flood_to);
	free(peer->flood_stanza);
	peer->flood_to = NULL;
	peer->flood_stanza = NULL;
}

static void start_flood(struct peer *peer, const char *to, unsigned long long count,
    unsigned long long size)
{
	static const char head[] = "<message to='x@example.test'><body>";
	static const char tail[] = "</body></message>";

	if (peer->flood_left > 0) {
		event("cmd-error a flood is already running");
		return;
	}
	if (count == 0 || size < sizeof(head) + sizeof(tail) || size > 1024 * 1024) {
		event("cmd-error flood: COUNT must be > 0 and SIZE between %zu and 1048576",
		    sizeof(head) + sizeof(tail));
		return;
	}
	peer->flood_to = xstrdup(to);
	peer->flood_size = size;
	peer->flood_stanza = xmalloc(size);
	memset(peer->flood_stanza, 'x', size);
	memcpy(peer->flood_stanza, head, sizeof(head) - 1);
	memcpy(peer->flood_stanza + size - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	peer->flood_left = count;
	peer->flood_total = count;
	flood_some(peer);
}

/* --- the link's callbacks -------------------------------------------------------- */

static void on_up(struct router_link *link, const char *router, void *arg)
{
	(void)link;
	(void)arg;
	event("up %s", router);
}

static void on_down(struct router_link *link, const char *reason, void *arg)
{
	(void)link;
	(void)arg;
	event("down %s", reason);
}

static void on_bound(struct router_link *link, const char *name, uint16_t flags, void *arg)
{
	(void)link;
	(void)arg;
	event("bound %s %s", name, flags_words(flags));
}

static void on_bind_error(struct router_link *link, const char *name, uint32_t code,
    const char *text, void *arg)
{
	(void)link;
	(void)arg;
	event("bind-error %s %s %s", name, frame_error_code_name(code), or_dash(text));
}

static void on_route(struct peer *peer, const struct frame *f)
{
	const char *from = frame_get_str(f, FRAME_TAG_FROM, NULL);
	const char *to = frame_get_str(f, FRAME_TAG_TO, NULL);
	const char *session = frame_get_str(f, FRAME_TAG_SESSION_ID, NULL);
	const void *stanza;
	size_t len;

	frame_get(f, FRAME_TAG_STANZA, &stanza, &len);
	peer->routes++;
	peer->route_bytes += len;
	if (!peer->count_only) {
		printf("route %s %s %s ", from, to, or_dash(session));
		print_escaped(stanza, len);
		putchar('\n');
		fflush(stdout);
	}
	if (peer->echo) {
		char err[ERRLEN];
		if (router_link_route(peer->link, to, from,
		    frame_get_str(f, FRAME_TAG_ROUTE_KEY, NULL), session, stanza, len, NULL, err,
		    sizeof(err)) < 0)
			event("send-error %s", err);
	}
}

static void on_frame(struct router_link *link, const struct frame *f, void *arg)
{
	struct peer *peer = arg;
	uint32_t code = 0, ref_seq;
	(void)link;

	switch (f->type) {
	case FRAME_ROUTE:
		on_route(peer, f);
		break;
	case FRAME_PEER_UP:
		event("peer-up %s %s %s", frame_get_str(f, FRAME_TAG_NAME, NULL),
		    or_dash(frame_get_str(f, FRAME_TAG_ROLE, NULL)), flags_words(f->flags));
		break;
	case FRAME_PEER_DOWN:
		event("peer-down %s", frame_get_str(f, FRAME_TAG_NAME, NULL));
		break;
	case FRAME_ERROR: {
		char seq[16] = "-";
		frame_get_u32(f, FRAME_TAG_CODE, &code);
		if (frame_get_u32(f, FRAME_TAG_REF_SEQ, &ref_seq))
			snprintf(seq, sizeof(seq), "%u", ref_seq);
		event("error %s %s %s %s", frame_error_code_name(code),
		    or_dash(frame_get_str(f, FRAME_TAG_REF_TO, NULL)), seq,
		    or_dash(frame_get_str(f, FRAME_TAG_TEXT, NULL)));
		break;
	}
	case FRAME_ACK: {
		struct frame_attr a;
		size_t cursor = 0;
		printf("ack %s", frame_get_str(f, FRAME_TAG_FROM, NULL));
		while (frame_next_tag(f, FRAME_TAG_ACK_SEQ, &cursor, &a)) {
			const unsigned char *p = a.data;
			printf(" %u", (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
		}
		putchar('\n');
		fflush(stdout);
		break;
	}
	default:
		event("frame %s %s %s %s", frame_type_name(f->type),
		    or_dash(frame_get_str(f, FRAME_TAG_FROM, NULL)),
		    or_dash(frame_get_str(f, FRAME_TAG_TO, NULL)),
		    or_dash(frame_get_str(f, FRAME_TAG_SESSION_ID, NULL)));
		break;
	}
}

static void on_writable(struct router_link *link, void *arg)
{
	struct peer *peer = arg;
	(void)link;
	event("writable");
	if (peer->waiting_writable) {
		peer->waiting_writable = false;
		flood_some(peer);
	}
}

/* --- commands ------------------------------------------------------------------- */

/* Split off the next space-separated word; NULL at the end of the line. */
static char *word(char **rest)
{
	char *s = *rest;
	if (s == NULL || *s == '\0')
		return NULL;
	char *sp = strchr(s, ' ');
	if (sp != NULL) {
		*sp = '\0';
		*rest = sp + 1;
	} else {
		*rest = s + strlen(s);
	}
	return s;
}

static const char *dash_null(const char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

static uint16_t parse_flag_words(char **rest, const char *sep, bool *ok)
{
	uint16_t flags = 0;
	char *w;
	*ok = true;
	while ((w = strsep(rest, sep)) != NULL) {
		if (*w == '\0')
			continue;
		if (strcmp(w, "shared") == 0)
			flags |= FRAME_F_SHARED;
		else if (strcmp(w, "default") == 0)
			flags |= FRAME_F_DEFAULT_ROUTE;
		else
			*ok = false;
	}
	return flags;
}

static void command(struct peer *peer, char *line)
{
	char *rest = line;
	char *verb = word(&rest);
	bool ok;

	if (verb == NULL)
		return;
	if (strcmp(verb, "route") == 0) {
		char *to = word(&rest), *key = word(&rest);
		if (to == NULL || key == NULL || *rest == '\0') {
			event("cmd-error usage: route TO KEY STANZA");
			return;
		}
		send_route(peer, peer->from, to, dash_null(key), NULL, rest, strlen(rest));
	} else if (strcmp(verb, "send") == 0) {
		char *from = word(&rest), *to = word(&rest), *key = word(&rest), *sid = word(&rest);
		if (sid == NULL || *rest == '\0') {
			event("cmd-error usage: send FROM TO KEY SESSION STANZA");
			return;
		}
		send_route(peer, from, to, dash_null(key), dash_null(sid), rest, strlen(rest));
	} else if (strcmp(verb, "flood") == 0) {
		char *to = word(&rest), *count = word(&rest), *size = word(&rest);
		if (size == NULL) {
			event("cmd-error usage: flood TO COUNT SIZE");
			return;
		}
		start_flood(peer, to, strtoull(count, NULL, 10), strtoull(size, NULL, 10));
	} else if (strcmp(verb, "bind") == 0) {
		char *name = word(&rest);
		uint16_t flags = parse_flag_words(&rest, " ", &ok);
		if (name == NULL || !ok || strlen(name) > 1023) {
			event("cmd-error usage: bind NAME [shared] [default]");
			return;
		}
		router_link_bind(peer->link, name, flags);
	} else if (strcmp(verb, "unbind") == 0) {
		char *name = word(&rest);
		if (name == NULL) {
			event("cmd-error usage: unbind NAME");
			return;
		}
		if (!router_link_unbind(peer->link, name))
			event("cmd-error %s is not bound", name);
	} else if (strcmp(verb, "pause") == 0) {
		router_link_set_reading(peer->link, false);
	} else if (strcmp(verb, "resume") == 0) {
		router_link_set_reading(peer->link, true);
	} else if (strcmp(verb, "count") == 0) {
		event("count %llu %llu", (unsigned long long)peer->routes,
		    (unsigned long long)peer->route_bytes);
	} else if (strcmp(verb, "status") == 0) {
		event("status %s %zu %u", router_link_state(peer->link),
		    router_link_queued(peer->link), router_link_next_seq(peer->link));
	} else if (strcmp(verb, "mark") == 0) {
		event("mark %s", rest);
	} else if (strcmp(verb, "quit") == 0) {
		loop_stop(peer->loop);
	} else {
		event("cmd-error unknown command %s", verb);
	}
}

static void stdin_ready(struct loop *loop, int fd, unsigned events, void *arg)
{
	struct peer *peer = arg;
	bool eof = false;
	(void)events;

	if (buf_read_fd(&peer->cmd, fd, 1024 * 1024, &eof) < 0)
		eof = true;
	for (;;) {
		char *head = (char *)buf_head(&peer->cmd);
		char *nl = memchr(head, '\n', buf_used(&peer->cmd));
		if (nl == NULL)
			break;
		*nl = '\0';
		if (nl > head && nl[-1] == '\r')
			nl[-1] = '\0';
		command(peer, head);
		buf_consume(&peer->cmd, (size_t)(nl - head) + 1);
	}
	if (eof) {
		loop_del_fd(loop, fd);
		loop_stop(loop);
	}
}

static void stdin_first_look(struct loop *loop, void *arg)
{
	stdin_ready(loop, STDIN_FILENO, LOOP_READ, arg);
}

static void on_signal(struct loop *loop, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	loop_stop(loop);
}

/* --- start ------------------------------------------------------------------------ */

static char *read_secret_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1100];
	if (f == NULL) {
		fprintf(stderr, "testpeer: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return xstrdup(line);
}

int main(int argc, char **argv)
{
	enum { OPT_ECHO = 256, OPT_COUNT, OPT_MAX_QUEUE, OPT_BACKOFF_MAX };
	static const struct option longopts[] = {
		{ "echo", no_argument, NULL, OPT_ECHO },
		{ "count", no_argument, NULL, OPT_COUNT },
		{ "max-queue", required_argument, NULL, OPT_MAX_QUEUE },
		{ "backoff-max", required_argument, NULL, OPT_BACKOFF_MAX },
		{ NULL, 0, NULL, 0 },
	};
	struct router_link_settings s = { .role = "c2s" };
	struct peer peer = { 0 };
	const char *binds[64];
	size_t nbinds = 0;
	const char *user = NULL, *ca_file = NULL;
	char *secret = NULL, *host_arg = NULL, *host = NULL;
	char err[ERRLEN];
	int c;

	while ((c = getopt_long(argc, argv, "s:t:C:T:n:r:k:K:b:f:u:", longopts, NULL)) != -1) {
		switch (c) {
		case 's': s.socket_path = optarg; break;
		case 't': host = host_arg = xstrdup(optarg); break;
		case 'C': ca_file = optarg; break;
		case 'T': s.tls_name = optarg; break;
		case 'n': s.name = optarg; break;
		case 'r': s.role = optarg; break;
		case 'k': secret = xstrdup(optarg); break;
		case 'K': secret = read_secret_file(optarg); break;
		case 'b':
			if (nbinds == ARRAY_LEN(binds))
				usage();
			binds[nbinds++] = optarg;
			break;
		case 'f': peer.from = optarg; break;
		case 'u': user = optarg; break;
		case OPT_ECHO: peer.echo = true; break;
		case OPT_COUNT: peer.count_only = true; break;
		case OPT_MAX_QUEUE: s.max_queue = strtoull(optarg, NULL, 10); break;
		case OPT_BACKOFF_MAX: s.backoff_max_ms = strtoull(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (optind != argc || s.name == NULL || secret == NULL || (s.socket_path == NULL) == (host == NULL))
		usage();
	s.secret = secret;
	s.secret_len = strlen(secret);

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (log_open("testpeer", "stderr", LOG_LEVEL_DEBUG, err, sizeof(err)) < 0) {
		fprintf(stderr, "testpeer: %s\n", err);
		return 2;
	}

	struct tls_context *tls = NULL;
	if (host != NULL) {
		char *colon = strrchr(host, ':');
		if (colon == NULL || ca_file == NULL)
			usage();
		*colon = '\0';
		s.port = (uint16_t)strtoul(colon + 1, NULL, 10);
		if (host[0] == '[' && colon[-1] == ']') {
			colon[-1] = '\0';
			host++;
		}
		s.host = host;
		struct tls_settings ts = { .ca_file = ca_file, .verify_peer = TLS_VERIFY_REQUIRE };
		if (tls_library_init(err, sizeof(err)) < 0 ||
		    (tls = tls_context_new_client(&ts, err, sizeof(err))) == NULL) {
			fprintf(stderr, "testpeer: %s\n", err);
			return 2;
		}
	}
	if (user != NULL && sandbox_drop_user(user, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "testpeer: %s\n", err);
		return 2;
	}

	peer.loop = loop_new(err, sizeof(err));
	if (peer.loop == NULL)
		log_fatal("%s", err);
	static const struct router_link_callbacks callbacks = {
		.up = on_up,
		.down = on_down,
		.bound = on_bound,
		.bind_error = on_bind_error,
		.frame = on_frame,
		.writable = on_writable,
	};
	peer.link = router_link_new(peer.loop, &s, &callbacks, &peer, err, sizeof(err));
	if (peer.link == NULL) {
		fprintf(stderr, "testpeer: %s\n", err);
		return 2;
	}
	for (size_t i = 0; i < nbinds; i++) {
		char *spec = xstrdup(binds[i]);
		char *rest = spec;
		char *name = strsep(&rest, ",");
		bool ok;
		uint16_t flags = parse_flag_words(&rest, ",", &ok);
		if (!ok || *name == '\0' || strlen(name) > 1023)
			usage();
		router_link_bind(peer.link, name, flags);
		free(spec);
	}

	int fl = fcntl(STDIN_FILENO, F_GETFL);
	if (fl < 0 || fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    loop_add_fd(peer.loop, STDIN_FILENO, stdin_ready, &peer, err, sizeof(err)) < 0)
		log_fatal("stdin: %s", err);
	if (loop_signal(peer.loop, SIGTERM, on_signal, NULL, err, sizeof(err)) < 0 ||
	    loop_signal(peer.loop, SIGINT, on_signal, NULL, err, sizeof(err)) < 0)
		log_fatal("%s", err);

	router_link_start(peer.link);
	/* Commands already waiting in the pipe raised their edge before we
	 * watched it: look once, from the loop. */
	loop_timer_add(peer.loop, 0, stdin_first_look, &peer);
	loop_run(peer.loop);

	router_link_free(&peer.link);
	loop_free(&peer.loop);
	tls_context_free(&tls);
	buf_free(&peer.cmd);
	free(peer.flood_to);
	free(peer.flood_stanza);
	free(secret);
	free(host_arg);
	return 0;
}
