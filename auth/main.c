/*
 * main.c — parley-auth, the only process that sees credentials: the SASL
 * server for c2s, account creation, password change and removal
 * (XEP-0077), over the authreg backends. This function is its privilege
 * story: configuration → log → the salt secret and the store (or the pipe
 * program's launcher) → the router link → the sandbox → the loop, until
 * SIGTERM, which fails the exchanges in progress with
 * temporary-auth-failure, closes the store and exits. doc/auth.md
 * describes the behaviour.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "cli.h"
#include "daemon.h"
#include "log.h"
#include "router_secret.h"
#include "xml_stream.h"

#define PROCESS "parley-auth"
/* At SIGTERM, how long the answers already queued may take to leave. */
#define STOP_FLUSH_MS 1000

static void open_log(struct auth *a, const struct conf *c, bool foreground)
{
	daemon_open_log(c, PROCESS, "auth", foreground, &a->log_target, &a->report_fd);
}


/* --- the router link ------------------------------------------------------------ */

static void link_frame(struct router_link *link, const struct frame *f, void *arg)
{
	struct auth *a = arg;
	const char *name;

	switch (f->type) {
	case FRAME_SASL_START:
		auth_sasl_start(a, f);
		break;
	case FRAME_SASL_STEP:
		auth_sasl_step(a, f);
		break;
	case FRAME_ROUTE:
		auth_register_route(a, f);
		/* A register iq c2s kept while auth was away: taken care of
		 * (answered, or refused) once handled. */
		if (f->flags & FRAME_F_KEPT) {
			char err[ERRLEN];
			if (router_link_ack(link, frame_get_str(f, FRAME_TAG_TO, NULL),
			    frame_get_str(f, FRAME_TAG_FROM, NULL), &f->seq, 1, err, sizeof(err)) < 0)
				log_warn("cannot acknowledge a register iq: %s", err);
		}
		break;
	case FRAME_PEER_DOWN:
		name = frame_get_str(f, FRAME_TAG_NAME, NULL);
		if (strncmp(name, "c2s.", 4) == 0)
			auth_sasl_peer_down(a, name);
		break;
	case FRAME_ERROR: {
		uint32_t code = 0;
		(void)frame_get_u32(f, FRAME_TAG_CODE, &code);
		const char *to = frame_get_str(f, FRAME_TAG_REF_TO, NULL);
		log_debug("the router could not deliver a frame to %s: %s", to != NULL ? to : "?",
		    frame_error_code_name(code));
		break;
	}
	default:
		/* PEER_UP, ACKs of our answers: nothing to do. */
		break;
	}
}

static int open_link(struct auth *a, const struct conf *c, int instance, char *err,
    size_t errlen)
{
	char secret[ROUTER_SECRET_MAX + 1], why[ERRLEN];
	size_t secret_len;

	if (router_secret_get(c, secret, &secret_len, why, sizeof(why)) < 0)
		return errf(err, errlen, "%s: %s: %s", conf_where(c, router_secret_setting(c)),
		    router_secret_setting(c), why);
	snprintf(a->instance, sizeof(a->instance), "auth.%d", instance);
	const struct router_link_settings settings = {
		.socket_path = conf_str(c, "router.socket"),
		.name = a->instance, .role = "auth",
		.secret = secret, .secret_len = secret_len,
		.max_frame = (size_t)conf_size(c, "router.max_frame"),
	};
	const struct router_link_callbacks cbs = {
		/* router_link logs up, down and refused binds itself. */
		.frame = link_frame,
	};
	a->link = router_link_new(a->loop, &settings, &cbs, a, err, errlen);
	explicit_bzero(secret, sizeof(secret));
	if (a->link == NULL)
		return -1;
	router_link_bind(a->link, AUTH_NAME, FRAME_F_SHARED);
	return 0;
}

/* --- stopping ----------------------------------------------------------------------- */

static void stop(struct loop *loop, int signo, void *arg)
{
	struct auth *a = arg;

	if (a->stopping)
		return;
	log_info("%s: stopping", strsignal(signo));
	a->stopping = true;
	auth_sasl_fail_all(a);
	router_link_drain_then_stop(a->link, STOP_FLUSH_MS);
}

static void reopen_log(struct loop *loop, int signo, void *arg)
{
	struct auth *a = arg;

	(void)loop;
	(void)signo;
	daemon_reopen_log(a->report_fd);
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
	struct auth a = { .report_fd = -1 };
	char err[ERRLEN];
	int rc;

	cli_parse(argc, argv, PROCESS, "authentication and account management (SASL server, authreg)",
	    &opts);
	signal(SIGPIPE, SIG_IGN);

	/* 1. The configuration, checked whole. */
	if (conf_load(&conf, opts.config_path, &errs) < 0 || auth_configure(&a, conf, &errs) < 0) {
		conf_errors_print(&errs, stderr);
		return EXIT_FAILURE;
	}
	open_log(&a, conf, opts.foreground);
	if (!opts.foreground)
		daemon_detach();

	/* 2. What needs root or files: the salt secret, the store (or the
	 * pipe program, started by its launcher), the loop and the link. */
	if ((a.loop = loop_new(err, sizeof(err))) == NULL)
		fail("cannot start", err);
	if (auth_load_salt_secret(&a, err, sizeof(err)) < 0)
		fail("auth.salt_secret_file", err);
	if (auth_open_backend(&a, err, sizeof(err)) < 0)
		fail("cannot open the user database", err);
	if (loop_signal(a.loop, SIGTERM, stop, &a, err, sizeof(err)) < 0 ||
	    loop_signal(a.loop, SIGINT, stop, &a, err, sizeof(err)) < 0 ||
	    loop_signal(a.loop, SIGHUP, reopen_log, &a, err, sizeof(err)) < 0 ||
	    auth_sasl_init(&a, err, sizeof(err)) < 0 ||
	    (a.parser = xml_stream_new(NULL, NULL, (size_t)conf_size(conf, "c2s.max_stanza_size"),
	    (unsigned)conf_int(conf, "c2s.max_depth"), err, sizeof(err))) == NULL ||
	    open_link(&a, conf, opts.instance, err, sizeof(err)) < 0)
		fail("cannot start", err);

	/* 3. Give up everything else. */
	rc = auth_sandbox(&a, err, sizeof(err));
	if (rc < 0)
		fail("sandbox", err);
	if (rc > 0)
		log_warn("sandbox: %s", err);
	if (opts.sandbox_test)
		cli_sandbox_test();

	/* 4. Serve. */
	router_link_start(a.link);
	log_info("%s ready: backend %s, registration %s", a.instance, a.authreg->backend->name,
	    a.set.registration ? "on" : "off");
	rc = loop_run(a.loop);

	router_link_free(&a.link);
	auth_sasl_fini(&a);
	xml_stream_free(&a.parser);
	authreg_free(&a.authreg);
	loop_free(&a.loop);
	auth_unconfigure(&a);
	conf_free(&conf);
	log_info("stopped");
	log_close();
	return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
