/*
 * ctl_user_backend.c — the `parleyctl user` commands that go through
 * auth's backend interface (auth/authreg.h) rather than the internal store:
 *
 *   user check JID               does this password log JID in? (any backend
 *                                parleyctl can open: internal, pipe, sql)
 *   user passwd JID [PASSWORD]   with auth.backend = "sql" or "pipe": change
 *                                the password through the backend
 *                                (query_set_password, setpass)
 *
 * parleyctl opens the backend itself, as auth would (the sql backend with
 * one worker thread, the pipe program through its launcher), runs the one
 * request on a small event loop and waits for the answer. `check` changes
 * nothing: it is the read-only login check an operator runs after pointing
 * auth at a user table. The password is read from standard input: one
 * line, or at a prompt without echo on a terminal; it is SASLprepped as
 * PLAIN's would be.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <gsasl.h>

#include "authreg.h"
#include "jid.h"
#include "authreg_ldap.h"
#include "authreg_pam.h"
#include "conf_user.h"
#include "loop.h"
#include "parleyctl.h"
#include "storage.h"

#define PASSWORD_MAX 1024
/* Beyond the backend's own timeouts, in case one is missing. */
#define WAIT_MS 120000

struct wait {
	struct loop *loop;
	bool answered;
	enum authreg_result result;
};

static void answered(void *arg, enum authreg_result r)
{
	struct wait *w = arg;

	w->answered = true;
	w->result = r;
	loop_stop(w->loop);
}

static void gave_up(struct loop *loop, void *arg)
{
	(void)arg;
	loop_stop(loop);
}

static int account(const struct ctl *ctl, const struct conf *c, const char *text,
    char local[JID_PART_BUFSIZE], char domain[JID_PART_BUFSIZE])
{
	struct jid *j = NULL;
	char err[ERRLEN];
	int rc = -1;

	if (jid_parse(&j, text, strlen(text), err, sizeof(err)) < 0)
		ctl_warnx(ctl, "%s is not a valid JID: %s", text, err);
	else if (jid_localpart(j) == NULL || jid_resourcepart(j) != NULL)
		ctl_warnx(ctl, "%s is not an account: give user@domain, without a resource", text);
	else if (!conf_hosted_domain(c, jid_domainpart(j), domain))
		ctl_warnx(ctl, "%s is not one of the domains in hosts (%s)", jid_domainpart(j),
		    conf_where(c, "hosts"));
	else {
		snprintf(local, JID_PART_BUFSIZE, "%s", jid_localpart(j));
		rc = 0;
	}
	jid_free(&j);
	return rc;
}

/* One line from standard input, without echo on a terminal. */
static int read_password(const struct ctl *ctl, char *out, size_t outlen)
{
	struct termios old, quiet;
	bool tty = isatty(0) && tcgetattr(0, &old) == 0;

	if (tty) {
		fprintf(stderr, "Password: ");
		fflush(stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		(void)tcsetattr(0, TCSAFLUSH, &quiet);
	}
	char *line = fgets(out, (int)outlen, stdin);
	if (tty) {
		(void)tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (line == NULL) {
		ctl_warnx(ctl, "no password on standard input");
		return -1;
	}
	size_t n = strlen(out);
	if (n > 0 && out[n - 1] != '\n' && !feof(stdin)) {
		ctl_warnx(ctl, "the password is longer than %zu bytes", outlen - 2);
		return -1;
	}
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	if (n == 0) {
		ctl_warnx(ctl, "the password is empty");
		return -1;
	}
	return 0;
}

static struct authreg *open_backend(const struct ctl *ctl, const struct conf *c,
    struct loop *loop)
{
	const char *name = conf_str(c, "auth.backend");
	unsigned iterations = (unsigned)conf_int(c, "auth.scram_iterations");
	char err[ERRLEN];
	struct authreg *ar = NULL;

	if (strcmp(name, "internal") == 0) {
		struct storage *st = NULL;
		if (storage_prepare(c, err, sizeof(err)) == 0 &&
		    storage_open(&st, c, err, sizeof(err)) == 0)
			ar = authreg_internal_new(st, iterations);
	} else if (strcmp(name, "sql") == 0) {
		ar = authreg_sql_new(loop, c, 1, iterations, err, sizeof(err));
	} else if (strcmp(name, "pipe") == 0) {
		size_t argc = conf_strlist_count(c, "auth.pipe.program");
		const char **argv = xcalloc(argc + 1, sizeof(*argv));
		for (size_t i = 0; i < argc; i++)
			argv[i] = conf_strlist_get(c, "auth.pipe.program", i);
		ar = authreg_pipe_new(loop, argv, argc, conf_user_for(c, "auth"),
		    conf_group_for(c, "auth"),
		    (unsigned)conf_duration_ms(c, "auth.pipe.timeout"), err, sizeof(err));
		free((void *)argv);
	} else if (strcmp(name, "ldap") == 0) {
		ar = authreg_ldap_new(loop, c, err, sizeof(err));
	} else if (strcmp(name, "pam") == 0) {
		ar = authreg_pam_new(loop, c, err, sizeof(err));
	} else {
		snprintf(err, sizeof(err), "parleyctl cannot open the \"%s\" backend itself", name);
	}
	if (ar == NULL)
		ctl_warnx(ctl, "%s: auth.backend: %s", conf_where(c, "auth.backend"), err);
	return ar;
}

int ctl_user_backend(const struct ctl *ctl, const struct conf *c, int argc, char **argv)
{
	bool check = strcmp(argv[0], "check") == 0;
	char local[JID_PART_BUFSIZE], domain[JID_PART_BUFSIZE], err[ERRLEN];
	char password[PASSWORD_MAX + 1];
	char *prepped = NULL;
	struct wait w = { 0 };
	int rc = CTL_EXIT_FAIL, prc;

	if (argc < 2 || argc > (check ? 2 : 3)) {
		fprintf(stderr, "usage: %s [-c FILE] user check JID\n"
		    "       %s [-c FILE] user passwd JID [PASSWORD]\n", ctl->prog, ctl->prog);
		return CTL_EXIT_USAGE;
	}
	if (account(ctl, c, argv[1], local, domain) < 0)
		return CTL_EXIT_FAIL;
	if (argc == 3) {
		snprintf(password, sizeof(password), "%s", argv[2]);
	} else if (read_password(ctl, password, sizeof(password)) < 0) {
		return CTL_EXIT_FAIL;
	}
	/* As PLAIN's password reaches the backend (RFC 4013, a query). */
	if (gsasl_saslprep(password, 0, &prepped, &prc) != GSASL_OK) {
		explicit_bzero(password, sizeof(password));
		ctl_warnx(ctl, "the password cannot be prepared (SASLprep)");
		return CTL_EXIT_FAIL;
	}
	explicit_bzero(password, sizeof(password));
	if ((w.loop = loop_new(err, sizeof(err))) == NULL) {
		ctl_warnx(ctl, "%s", err);
		goto out;
	}
	struct authreg *ar = open_backend(ctl, c, w.loop);
	if (ar == NULL)
		goto out;
	struct authreg_request *req = check ?
	    authreg_check_password(ar, local, domain, prepped, answered, &w) :
	    authreg_set_password(ar, local, domain, prepped, answered, &w);
	struct timer *limit = NULL;
	if (!w.answered) {
		limit = loop_timer_add(w.loop, WAIT_MS, gave_up, NULL);
		(void)loop_run(w.loop);
		loop_timer_cancel(w.loop, &limit);
	}
	if (!w.answered) {
		authreg_cancel(ar, &req);
		ctl_warnx(ctl, "no answer from the %s backend", ar->backend->name);
	} else if (check) {
		printf("%s %s@%s\n", w.result == AUTHREG_OK ? "ok" : "failed", local, domain);
		if (w.result != AUTHREG_OK && w.result != AUTHREG_NO)
			ctl_warnx(ctl, "the %s backend: %s", ar->backend->name,
			    authreg_result_name(w.result));
		rc = w.result == AUTHREG_OK ? CTL_EXIT_OK : CTL_EXIT_FAIL;
	} else if (w.result == AUTHREG_OK) {
		printf("changed the password of %s@%s\n", local, domain);
		rc = CTL_EXIT_OK;
	} else {
		ctl_warnx(ctl, "%s@%s: the %s backend: %s", local, domain, ar->backend->name,
		    w.result == AUTHREG_NO ? "no such user" : authreg_result_name(w.result));
	}
	authreg_free(&ar);
out:
	explicit_bzero(prepped, strlen(prepped));
	free(prepped);
	loop_free(&w.loop);
	return rc;
}
