/*
 * main.c — parley-router, the hub every Parley process connects to. This
 * function is the router's privilege story, top to bottom: read and check
 * the configuration, open what needs root (the sockets, the TLS key; the
 * secret was read with the configuration), give everything else up
 * (user, no_new_privs, Landlock, seccomp: sandbox.c), then route frames
 * until SIGTERM. doc/router.md describes the behaviour.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "daemon.h"
#include "hash.h"
#include "log.h"
#include "loop.h"
#include "router.h"
#include "routes.h"

#define PROCESS "parley-router"

/* With -f and no log.target in the file, the log goes to the terminal. */
static void open_log(struct router *r, const struct conf *c, bool foreground)
{
	daemon_open_log(c, PROCESS, "router", foreground, &r->log_target, &r->report_fd);
}

static void reopen_log(struct loop *loop, int signo, void *arg)
{
	struct router *r = arg;

	(void)loop;
	(void)signo;
	daemon_reopen_log(r->report_fd);
}

static void stop(struct loop *loop, int signo, void *arg)
{
	(void)arg;
	log_info("%s: stopping", strsignal(signo));
	loop_stop(loop);
}

/* Each peer is a descriptor: let router.max_peers of them be open. */
static void raise_fd_limit(const struct router *r)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)r->max_peers + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
		log_warn("only %lu descriptors may be open: fewer peers than router.max_peers "
		    "(%zu) will fit", (unsigned long)rl.rlim_cur, r->max_peers);
}


static void fail(struct router *r, const char *what, const char *err)
{
	log_error("%s: %s", what, err);
	router_unlisten(r);
	exit(EXIT_FAILURE);
}

int main(int argc, char **argv)
{
	struct cli_opts opts;
	struct conf *conf = NULL;
	struct conf_errors errs = CONF_ERRORS_INIT;
	struct router r = { .unix_fd = -1, .tcp_fd = -1, .component_fd = -1, .report_fd = -1 };
	char err[ERRLEN];
	int rc;

	cli_parse(argc, argv, PROCESS, "the hub that routes frames between the Parley processes",
	    &opts);
	signal(SIGPIPE, SIG_IGN);

	/* 1. The configuration, checked whole before anything is opened. */
	if (conf_load(&conf, opts.config_path, &errs) < 0 ||
	    router_configure(&r, conf, &errs) < 0) {
		conf_errors_print(&errs, stderr);
		return EXIT_FAILURE;
	}
	open_log(&r, conf, opts.foreground);

	/* 2. What needs root: the sockets and the TLS key. */
	raise_fd_limit(&r);
	if (router_listen(&r, err, sizeof(err)) < 0)
		fail(&r, "cannot start", err);
	if (!opts.foreground)
		daemon_detach();
	if ((r.loop = loop_new(err, sizeof(err))) == NULL ||
	    loop_signal(r.loop, SIGTERM, stop, &r, err, sizeof(err)) < 0 ||
	    loop_signal(r.loop, SIGINT, stop, &r, err, sizeof(err)) < 0 ||
	    loop_signal(r.loop, SIGHUP, reopen_log, &r, err, sizeof(err)) < 0 ||
	    component_init(&r, err, sizeof(err)) < 0)
		fail(&r, "cannot start", err);
	r.routes = route_table_new(r.shared_names, r.nshared_names);
	r.known = hash_new(16);

	/* 3. Give up everything else. */
	rc = router_sandbox(&r, err, sizeof(err));
	if (rc < 0)
		fail(&r, "sandbox", err);
	if (rc > 0)
		log_warn("sandbox: %s", err);
	if (opts.sandbox_test)
		cli_sandbox_test();

	/* 4. Route. */
	if (router_listen_start(&r, err, sizeof(err)) < 0)
		fail(&r, "cannot start", err);
	router_peers_start(&r);
	log_info("listening on %s%s%s", r.socket_path, r.tcp_fd >= 0 ? " and TCP+TLS" : "",
	    r.component_fd >= 0 ? " and the component port" : "");
	rc = loop_run(r.loop);

	router_peers_close_all(&r);
	router_unlisten(&r);
	route_table_free(&r.routes);
	hash_free(&r.known, NULL);
	component_fini(&r);
	loop_free(&r.loop);
	router_unconfigure(&r);
	conf_free(&conf);
	log_info("stopped");
	log_close();
	return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
