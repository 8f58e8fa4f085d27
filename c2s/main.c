/*
 * main.c — parley-c2s, where clients connect. This function is its
 * privilege story, top to bottom: read and check the configuration, open
 * what needs root (the listening sockets, the TLS key), give everything
 * else up (user, no_new_privs, Landlock with no paths at all, seccomp
 * "stdio unix inet": sandbox.c), then serve clients until SIGTERM, which
 * ends every stream with <system-shutdown/>. doc/c2s.md describes the
 * behaviour.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "c2s.h"
#include "cli.h"
#include "daemon.h"
#include "log.h"

#define PROCESS "parley-c2s"
#define STOP_GRACE_MS 2000

static void open_log(struct c2s *c2s, const struct conf *c, bool foreground)
{
	daemon_open_log(c, PROCESS, "c2s", foreground, &c2s->log_target, &c2s->report_fd);
}

static void reopen_log(struct loop *loop, int signo, void *arg)
{
	struct c2s *c2s = arg;

	(void)loop;
	(void)signo;
	daemon_reopen_log(c2s->report_fd);
}

static uint64_t stop_deadline;

/* Stop once every stream is closed and the router has our last frames. */
static void stop_check(struct loop *loop, void *arg)
{
	struct c2s *c2s = arg;

	if ((c2s->nclients == 0 && router_link_queued(c2s->link) == 0) ||
	    loop_now_ms(loop) >= stop_deadline)
		loop_stop(loop);
	else
		(void)loop_timer_add(loop, 20, stop_check, c2s);
}

static void stop(struct loop *loop, int signo, void *arg)
{
	struct c2s *c2s = arg;

	if (c2s->stopping)
		return;
	log_info("%s: stopping", strsignal(signo));
	c2s->stopping = true;
	c2s_unlisten(c2s);
	for (struct client *c = c2s->clients; c != NULL; c = c->next) {
		session_gone(c, FRAME_SESSION_SHUTDOWN);
		if (c->phase == PHASE_STREAM)
			stream_error(c, "system-shutdown", NULL);
		else
			client_close(c, "shutdown");
	}
	stop_deadline = loop_now_ms(loop) + STOP_GRACE_MS;
	(void)loop_timer_add(loop, 0, stop_check, c2s);
}

static void raise_fd_limit(const struct c2s *c2s)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)c2s->cfg.max_connections + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
		log_warn("only %lu descriptors may be open: fewer clients than c2s.max_connections "
		    "(%zu) will fit", (unsigned long)rl.rlim_cur, c2s->cfg.max_connections);
}


static void fail(struct c2s *c2s, const char *what, const char *err)
{
	log_error("%s: %s", what, err);
	c2s_unlisten(c2s);
	exit(EXIT_FAILURE);
}

static void cleanup(struct c2s *c2s)
{
	while (c2s->clients != NULL) {
		struct client *c = c2s->clients;
		client_free(&c);
	}
	router_link_free(&c2s->link);
	c2s_unlisten(c2s);
	hash_free(&c2s->by_sid, NULL);
	hash_free(&c2s->by_jid, NULL);
	hash_free(&c2s->per_addr, NULL);
	xml_stream_free(&c2s->frame_xs);
	stanza_free(&c2s->frame_st);
	loop_timer_cancel(c2s->loop, &c2s->trim_timer);
	loop_free(&c2s->loop);
	c2s_unconfigure(c2s);
}

int main(int argc, char **argv)
{
	struct cli_opts opts;
	struct conf *conf = NULL;
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct c2s c2s = { .report_fd = -1 };
	char err[ERRLEN];
	int rc;

	cli_parse(argc, argv, PROCESS, "client connections: TLS, stream negotiation, SASL relay, binding",
	    &opts);
	signal(SIGPIPE, SIG_IGN);

	/* 1. The configuration, checked whole before anything is opened. */
	if (conf_load(&conf, opts.config_path, &errs) < 0 || c2s_configure(&c2s, conf, &errs) < 0) {
		conf_errors_print(&errs, stderr);
		return EXIT_FAILURE;
	}
	snprintf(c2s.name, sizeof(c2s.name), "c2s.%d", opts.instance);
	open_log(&c2s, conf, opts.foreground);

	/* 2. What needs root: the TLS key, the listening sockets. */
	raise_fd_limit(&c2s);
	if (c2s_tls_setup(&c2s, err, sizeof(err)) < 0)
		fail(&c2s, "cannot start", err);
	if (c2s_listen(&c2s, err, sizeof(err)) < 0)
		fail(&c2s, "cannot start", err);
	if (!opts.foreground)
		daemon_detach();
	c2s.by_sid = hash_new(64);
	c2s.by_jid = hash_new(64);
	c2s.per_addr = hash_new(64);
	c2s.frame_st = stanza_new_empty();
	if ((c2s.loop = loop_new(err, sizeof(err))) == NULL ||
	    loop_signal(c2s.loop, SIGTERM, stop, &c2s, err, sizeof(err)) < 0 ||
	    loop_signal(c2s.loop, SIGINT, stop, &c2s, err, sizeof(err)) < 0 ||
	    loop_signal(c2s.loop, SIGHUP, reopen_log, &c2s, err, sizeof(err)) < 0 ||
	    (c2s.frame_xs = xml_stream_new(NULL, NULL, c2s.cfg.max_frame, 0, err,
	    sizeof(err))) == NULL ||
	    c2s_link_setup(&c2s, err, sizeof(err)) < 0)
		fail(&c2s, "cannot start", err);

	/* 3. Give up everything else. */
	rc = c2s_sandbox(&c2s, err, sizeof(err));
	if (rc < 0)
		fail(&c2s, "sandbox", err);
	if (rc > 0)
		log_warn("sandbox: %s", err);
	if (opts.sandbox_test)
		cli_sandbox_test();

	/* 4. Serve. */
	if (c2s_listen_start(&c2s, err, sizeof(err)) < 0)
		fail(&c2s, "cannot start", err);
	router_link_start(c2s.link);
	for (size_t i = 0; i < c2s.nlisteners; i++)
		log_info("listening on %s (%s)", c2s.listeners[i].where,
		    c2s.listeners[i].direct_tls ? "direct TLS" : "STARTTLS");
	rc = loop_run(c2s.loop);

	cleanup(&c2s);
	conf_free(&conf);
	log_info("stopped");
	log_close();
	return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
