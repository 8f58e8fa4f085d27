/*
 * main.c — parley-sm, the session manager: client sessions, presence and
 * the delivery rules, with the IM services as modules on named chains
 * (sm.h). This function is its privilege story: configuration → log → the
 * store (users) → the router link (name "sm", every hosted domain bound)
 * → the sandbox → the loop, until SIGTERM, which lets the frames already
 * queued leave and exits (c2s keeps its clients and re-announces their
 * sessions when sm is back). doc/sm.md describes the behaviour.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core.h"
#include "daemon.h"
#include "log.h"
#include "sm.h"
#include "storage.h"
#include "xml_stream.h"

#define PROCESS "parley-sm"
/* At SIGTERM, how long the frames already queued may take to leave. */
#define STOP_FLUSH_MS 1000
/* At SIGTERM with a core thread, how long the frames it has not handled
 * yet may take (a database that is away holds them up to storage.sql.hold;
 * parleyd's stop_timeout bounds us anyway). */
#define STOP_CORE_MS 15000
#define STOP_POLL_MS 20

static void open_log(struct sm *sm, const struct conf *c, bool foreground)
{
	daemon_open_log(c, PROCESS, "sm", foreground, &sm->log_target, &sm->report_fd);
}

/* Once the core thread has handled what it was given (or took too long),
 * let the link's queued frames leave and stop. */
static void stop_when_idle(struct loop *loop, void *arg)
{
	struct sm *sm = arg;

	if (!sm_core_idle(sm) && loop_now_ms(loop) < sm->stop_deadline) {
		loop_timer_add(loop, STOP_POLL_MS, stop_when_idle, sm);
		return;
	}
	if (!sm_core_idle(sm))
		log_warn("stopping with frames the core thread has not handled");
	router_link_drain_then_stop(sm->link, STOP_FLUSH_MS);
}

static void stop(struct loop *loop, int signo, void *arg)
{
	struct sm *sm = arg;

	if (sm->stopping)
		return;
	log_info("%s: stopping with %zu sessions", strsignal(signo), session_count(sm->sessions));
	sm->stopping = true;
	sm->stop_deadline = loop_now_ms(loop) + STOP_CORE_MS;
	stop_when_idle(loop, sm);
}

static void reopen_log(struct loop *loop, int signo, void *arg)
{
	struct sm *sm = arg;

	(void)loop;
	(void)signo;
	daemon_reopen_log(sm->report_fd);
}

static void fail(const char *what, const char *err)
{
	log_error("%s: %s", what, err);
	exit(EXIT_FAILURE);
}

int main(int argc, char **argv)
{
	struct cli_opts opts;
	struct conf *conf = NULL;
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct sm sm = { .report_fd = -1 };
	char err[ERRLEN];
	int rc;

	cli_parse(argc, argv, PROCESS, "the session manager: sessions, roster, presence, delivery",
	    &opts);
	signal(SIGPIPE, SIG_IGN);

	/* 1. The configuration, checked whole. */
	if (conf_load(&conf, opts.config_path, &errs) < 0) {
		conf_errors_print(&errs, stderr);
		return EXIT_FAILURE;
	}
	sm.conf = conf;
	sm.users_in_storage = strcmp(conf_str(conf, "auth.backend"), "internal") == 0;
	open_log(&sm, conf, opts.foreground);
	if (!opts.foreground)
		daemon_detach();

	/* 2. What needs root or files: the store (users), the loop, the
	 * stanza parser, the modules and the router link. */
	if (storage_prepare(conf, err, sizeof(err)) < 0 ||
	    storage_open(&sm.storage, conf, err, sizeof(err)) < 0)
		fail("cannot open the user database", err);
	if ((sm.loop = loop_new(err, sizeof(err))) == NULL)
		fail("cannot start", err);
	sm.sessions = session_table_new();
	sm_modules_init(&sm);
	if (loop_signal(sm.loop, SIGTERM, stop, &sm, err, sizeof(err)) < 0 ||
	    loop_signal(sm.loop, SIGINT, stop, &sm, err, sizeof(err)) < 0 ||
	    loop_signal(sm.loop, SIGHUP, reopen_log, &sm, err, sizeof(err)) < 0 ||
	    (sm.parser = xml_stream_new(NULL, NULL, (size_t)conf_size(conf, "router.max_frame"),
	    (unsigned)conf_int(conf, "c2s.max_depth"), err, sizeof(err))) == NULL ||
	    sm_link_open(&sm, opts.instance, err, sizeof(err)) < 0 ||
	    sm_core_init(&sm, err, sizeof(err)) < 0)
		fail("cannot start", err);

	/* 3. Give up everything else. */
	rc = sm_sandbox(&sm, err, sizeof(err));
	if (rc < 0)
		fail("sandbox", err);
	if (rc > 0)
		log_warn("sandbox: %s", err);
	if (opts.sandbox_test)
		cli_sandbox_test();

	/* 4. Serve (with a network storage driver, frames are handled on a
	 * core thread born now, inside the sandbox). */
	if (sm_core_start(&sm, err, sizeof(err)) < 0)
		fail("cannot start", err);
	router_link_start(sm.link);
	log_info("sm ready: %zu hosted domains, storage %s", conf_strlist_count(conf, "hosts"),
	    storage_driver_name(sm.storage));
	rc = loop_run(sm.loop);

	sm_core_stop(&sm);
	sm_link_close(&sm);
	xml_stream_free(&sm.parser);
	session_table_free(&sm.sessions);
	sm_chains_free(&sm);
	storage_close(&sm.storage);
	loop_free(&sm.loop);
	conf_free(&conf);
	log_info("stopped");
	log_close();
	return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
