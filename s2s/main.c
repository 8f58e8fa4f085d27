/*
 * main.c — parley-s2s, federation with other XMPP servers. This function
 * is its privilege story, top to bottom: read and check the configuration,
 * open what needs root (the listening sockets, the TLS keys, the CA file,
 * the resolver's socket), give everything else up (user, no_new_privs,
 * Landlock with no paths, seccomp "stdio unix inet dns": sandbox.c), then
 * carry stanzas between the router and other servers until SIGTERM, which
 * ends every stream and bounces what is still queued. doc/s2s.md
 * describes the behaviour.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"
#include "log.h"
#include "s2s.h"

#define PROCESS "parley-s2s"
#define STOP_GRACE_MS 2000

static void reopen_log(struct loop *loop, int signo, void *arg)
{
	struct s2s *s2s = arg;

	(void)loop;
	(void)signo;
	daemon_reopen_log(s2s->report_fd);
}

static uint64_t stop_deadline;

/* Stop once every stream is closed and the router has our last frames. */
static void stop_check(struct loop *loop, void *arg)
{
	struct s2s *s2s = arg;

	if ((s2s->nconns == 0 && router_link_queued(s2s->link) == 0) ||
	    loop_now_ms(loop) >= stop_deadline)
		loop_stop(loop);
	else
		(void)loop_timer_add(loop, 20, stop_check, s2s);
}

static void stop(struct loop *loop, int signo, void *arg)
{
	struct s2s *s2s = arg;

	if (s2s->stopping)
		return;
	log_info("%s: stopping", strsignal(signo));
	s2s->stopping = true;
	s2s_unlisten(s2s);
	out_free_all(s2s);
	for (struct conn *c = s2s->conns; c != NULL; c = c->next) {
		if (c->phase == PHASE_STREAM && c->header_sent)
			conn_stream_error(c, "system-shutdown", NULL);
		else
			conn_close(c, "shutdown");
	}
	stop_deadline = loop_now_ms(loop) + STOP_GRACE_MS;
	(void)loop_timer_add(loop, 0, stop_check, s2s);
}

static void fail(struct s2s *s2s, const char *what, const char *err)
{
	log_error("%s: %s", what, err);
	s2s_unlisten(s2s);
	exit(EXIT_FAILURE);
}

static void cleanup(struct s2s *s2s)
{
	out_free_all(s2s);
	while (s2s->conns != NULL) {
		struct conn *c = s2s->conns;
		conn_free(&c);
	}
	out_free_all(s2s);
	router_link_free(&s2s->link);
	s2s_dns_free(&s2s->dns);
	s2s_unlisten(s2s);
	hash_free(&s2s->outs, NULL);
	hash_free(&s2s->per_addr, NULL);
	xml_stream_free(&s2s->frame_xs);
	buf_free(&s2s->scratch);
	loop_free(&s2s->loop);
	s2s_unconfigure(s2s);
}

int main(int argc, char **argv)
{
	struct cli_opts opts;
	struct conf *conf = NULL;
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct s2s s2s = { .report_fd = -1 };
	char err[ERRLEN];
	int rc;

	cli_parse(argc, argv, PROCESS, "federation with other XMPP servers", &opts);
	signal(SIGPIPE, SIG_IGN);

	/* 1. The configuration, checked whole before anything is opened. */
	if (conf_load(&conf, opts.config_path, &errs) < 0 || s2s_configure(&s2s, conf, &errs) < 0) {
		conf_errors_print(&errs, stderr);
		return EXIT_FAILURE;
	}
	daemon_open_log(conf, PROCESS, "s2s", opts.foreground, &s2s.log_target, &s2s.report_fd);

	/* 2. What needs root or files: TLS keys and CAs, the listeners, the
	 * dialback secret, the resolver, the router link. */
	if (s2s_tls_setup(&s2s, err, sizeof(err)) < 0 || s2s_listen(&s2s, err, sizeof(err)) < 0 ||
	    s2s_secret_setup(&s2s, err, sizeof(err)) < 0)
		fail(&s2s, "cannot start", err);
	if (!opts.foreground)
		daemon_detach();
	s2s.outs = hash_new(64);
	s2s.per_addr = hash_new(64);
	if ((s2s.loop = loop_new(err, sizeof(err))) == NULL ||
	    loop_signal(s2s.loop, SIGTERM, stop, &s2s, err, sizeof(err)) < 0 ||
	    loop_signal(s2s.loop, SIGINT, stop, &s2s, err, sizeof(err)) < 0 ||
	    loop_signal(s2s.loop, SIGHUP, reopen_log, &s2s, err, sizeof(err)) < 0 ||
	    (s2s.frame_xs = xml_stream_new(NULL, NULL, s2s.cfg.max_frame, s2s.cfg.max_depth, err,
	    sizeof(err))) == NULL ||
	    (s2s.dns = s2s_dns_new(s2s.loop, conf, err, sizeof(err))) == NULL ||
	    s2s_link_setup(&s2s, err, sizeof(err)) < 0)
		fail(&s2s, "cannot start", err);

	/* 3. Give up everything else. */
	rc = s2s_sandbox(&s2s, err, sizeof(err));
	if (rc < 0)
		fail(&s2s, "sandbox", err);
	if (rc > 0)
		log_warn("sandbox: %s", err);
	if (opts.sandbox_test)
		cli_sandbox_test();

	/* 4. Serve. */
	if (s2s_listen_start(&s2s, err, sizeof(err)) < 0)
		fail(&s2s, "cannot start", err);
	router_link_start(s2s.link);
	for (size_t i = 0; i < s2s.nlisteners; i++)
		log_info("listening on %s", s2s.listeners[i].where);
	rc = loop_run(s2s.loop);

	cleanup(&s2s);
	conf_free(&conf);
	log_info("stopped");
	log_close();
	return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
