/*
 * ctl_user.c — `parleyctl user`: accounts in the internal store, opened
 * directly through the storage driver (no running process needed):
 *
 *   user add JID [PASSWORD]      create an account
 *   user del JID                 delete it
 *   user passwd JID [PASSWORD]   set its password
 *   user list DOMAIN             list the accounts of a hosted domain
 *
 * A password not given on the command line is read from standard input:
 * one line, or, on a terminal, typed twice at a prompt with echo off
 * (a password in argv is visible to every user through /proc). Passwords
 * are never stored, only their SCRAM secrets, derived with
 * auth.scram_iterations rounds.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "jid.h"
#include "parleyctl.h"
#include "storage.h"

#define PASSWORD_MAX 1024

static void usage(FILE *out, const struct ctl *ctl)
{
	fprintf(out,
	    "usage: %s [-c FILE] user add JID [PASSWORD]\n"
	    "       %s [-c FILE] user del JID\n"
	    "       %s [-c FILE] user passwd JID [PASSWORD]\n"
	    "       %s [-c FILE] user list DOMAIN\n"
	    "       %s [-c FILE] user check JID\n"
	    "Manage the accounts of the internal store (passwd also through the sql and\n"
	    "pipe backends); check a password against any backend. A password not given\n"
	    "is read from standard input (one line; on a terminal, at a prompt without echo).\n",
	    ctl->prog, ctl->prog, ctl->prog, ctl->prog, ctl->prog);
}

/* A bare JID of a hosted domain: its localpart and domain, prepared. */
static int account(const struct ctl *ctl, const struct conf *c, const char *text,
    char local[JID_PART_BUFSIZE], char domain[JID_PART_BUFSIZE])
{
	struct jid *j = NULL;
	char err[ERRLEN];

	if (jid_parse(&j, text, strlen(text), err, sizeof(err)) < 0) {
		ctl_warnx(ctl, "%s is not a valid JID: %s", text, err);
		return -1;
	}
	if (jid_localpart(j) == NULL || jid_resourcepart(j) != NULL) {
		ctl_warnx(ctl, "%s is not an account: give user@domain, without a resource", text);
		jid_free(&j);
		return -1;
	}
	snprintf(local, JID_PART_BUFSIZE, "%s", jid_localpart(j));
	if (!conf_hosted_domain(c, jid_domainpart(j), domain)) {
		ctl_warnx(ctl, "%s is not one of the domains in hosts (%s)", jid_domainpart(j),
		    conf_where(c, "hosts"));
		jid_free(&j);
		return -1;
	}
	jid_free(&j);
	return 0;
}

static int read_line(FILE *in, char *out, size_t outlen)
{
	if (fgets(out, (int)outlen, in) == NULL)
		return -1;
	size_t n = strlen(out);
	if (n > 0 && out[n - 1] != '\n' && !feof(in))
		return -2; /* too long */
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return 0;
}

static int prompt(const char *what, char *out, size_t outlen)
{
	struct termios old, quiet;
	int rc;

	fprintf(stderr, "%s: ", what);
	fflush(stderr);
	if (tcgetattr(0, &old) < 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	(void)tcsetattr(0, TCSAFLUSH, &quiet);
	rc = read_line(stdin, out, outlen);
	(void)tcsetattr(0, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return rc;
}

static int get_password(const struct ctl *ctl, int argc, char **argv, int i, char *out,
    size_t outlen)
{
	if (i < argc) {
		if (strlen(argv[i]) >= outlen) {
			ctl_warnx(ctl, "the password is longer than %zu bytes", outlen - 1);
			return -1;
		}
		snprintf(out, outlen, "%s", argv[i]);
	} else if (isatty(0)) {
		char again[PASSWORD_MAX];
		if (prompt("Password", out, outlen) < 0 || prompt("Again", again, sizeof(again)) < 0) {
			ctl_warnx(ctl, "no password read");
			return -1;
		}
		bool same = strcmp(out, again) == 0;
		explicit_bzero(again, sizeof(again));
		if (!same) {
			ctl_warnx(ctl, "the passwords differ");
			return -1;
		}
	} else {
		int rc = read_line(stdin, out, outlen);
		if (rc == -2) {
			ctl_warnx(ctl, "the password is longer than %zu bytes", outlen - 1);
			return -1;
		}
		if (rc < 0) {
			ctl_warnx(ctl, "no password on standard input");
			return -1;
		}
	}
	if (out[0] == '\0') {
		ctl_warnx(ctl, "the password is empty");
		return -1;
	}
	return 0;
}

static int print_user(void *arg, const char *localpart)
{
	printf("%s@%s\n", localpart, (const char *)arg);
	return 0;
}

static int run(const struct ctl *ctl, const struct conf *c, struct storage *s, int argc,
    char **argv)
{
	const char *cmd = argv[0];
	char local[JID_PART_BUFSIZE], domain[JID_PART_BUFSIZE], err[ERRLEN];
	char password[PASSWORD_MAX];
	struct storage_user_secrets sec;
	int rc;

	if (strcmp(cmd, "list") == 0) {
		if (argc != 2)
			return usage(stderr, ctl), CTL_EXIT_USAGE;
		if (!conf_hosted_domain(c, argv[1], domain)) {
			ctl_warnx(ctl, "%s is not one of the domains in hosts (%s)", argv[1],
			    conf_where(c, "hosts"));
			return CTL_EXIT_FAIL;
		}
		if (storage_user_list(s, domain, print_user, domain, err, sizeof(err)) < 0) {
			ctl_warnx(ctl, "%s", err);
			return CTL_EXIT_FAIL;
		}
		return CTL_EXIT_OK;
	}
	bool add = strcmp(cmd, "add") == 0, del = strcmp(cmd, "del") == 0,
	    passwd = strcmp(cmd, "passwd") == 0;
	if ((!add && !del && !passwd) || argc < 2 || argc > (del ? 2 : 3))
		return usage(stderr, ctl), CTL_EXIT_USAGE;
	if (account(ctl, c, argv[1], local, domain) < 0)
		return CTL_EXIT_FAIL;
	if (del) {
		rc = storage_user_delete(s, domain, local, err, sizeof(err));
		if (rc == STORAGE_NOT_FOUND) {
			ctl_warnx(ctl, "%s@%s: no such user", local, domain);
			return CTL_EXIT_FAIL;
		}
		if (rc < 0) {
			ctl_warnx(ctl, "%s", err);
			return CTL_EXIT_FAIL;
		}
		printf("deleted %s@%s\n", local, domain);
		/* The store is the truth; a running sm must still end the
		 * user's sessions and forget what it kept. */
		char bare[2 * JID_PART_BUFSIZE];
		snprintf(bare, sizeof(bare), "%s@%s", local, domain);
		rc = ctl_notify_user_deleted(c, domain, bare, err, sizeof(err));
		if (rc > 0) {
			/* sm has told the contacts and cleared the roster. */
			printf("sm ended the sessions of %s\n", bare);
			return CTL_EXIT_OK;
		}
		if (rc < 0)
			ctl_warnx(ctl, "the account is deleted, but sm could not be told (%s): "
			    "sessions still open for %s end when they disconnect", err, bare);
		/* Nobody tells the contacts now; at least no roster is left
		 * for an account of the same name to find. */
		char err2[ERRLEN];
		if (storage_roster_clear(s, domain, local, err2, sizeof(err2)) < 0) {
			ctl_warnx(ctl, "%s's roster: %s", bare, err2);
			return CTL_EXIT_FAIL;
		}
		return CTL_EXIT_OK;
	}
	/* Refuse early, before asking for a password. */
	rc = storage_user_exists(s, domain, local, err, sizeof(err));
	if (rc < 0) {
		ctl_warnx(ctl, "%s", err);
		return CTL_EXIT_FAIL;
	}
	if (add && rc == STORAGE_OK) {
		ctl_warnx(ctl, "%s@%s exists already", local, domain);
		return CTL_EXIT_FAIL;
	}
	if (passwd && rc == STORAGE_NOT_FOUND) {
		ctl_warnx(ctl, "%s@%s: no such user", local, domain);
		return CTL_EXIT_FAIL;
	}
	if (get_password(ctl, argc, argv, 2, password, sizeof(password)) < 0)
		return CTL_EXIT_FAIL;
	rc = storage_secrets_from_password(password, (unsigned)conf_int(c, "auth.scram_iterations"),
	    &sec, err, sizeof(err));
	explicit_bzero(password, sizeof(password));
	if (rc < 0) {
		ctl_warnx(ctl, "unusable password: %s", err);
		return CTL_EXIT_FAIL;
	}
	rc = add ? storage_user_create(s, domain, local, &sec, err, sizeof(err)) :
	    storage_user_set_secrets(s, domain, local, &sec, err, sizeof(err));
	explicit_bzero(&sec, sizeof(sec));
	if (rc == STORAGE_EXISTS) {
		ctl_warnx(ctl, "%s@%s exists already", local, domain);
		return CTL_EXIT_FAIL;
	}
	if (rc == STORAGE_NOT_FOUND) {
		ctl_warnx(ctl, "%s@%s: no such user", local, domain);
		return CTL_EXIT_FAIL;
	}
	if (rc < 0) {
		ctl_warnx(ctl, "%s", err);
		return CTL_EXIT_FAIL;
	}
	printf("%s %s@%s\n", add ? "created" : "changed the password of", local, domain);
	return CTL_EXIT_OK;
}

int ctl_user(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct storage *s = NULL;
	char err[ERRLEN];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl->config_path = optarg;
			break;
		case 'h':
			usage(stdout, ctl);
			return CTL_EXIT_OK;
		default:
			usage(stderr, ctl);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr, ctl);
		return CTL_EXIT_USAGE;
	}
	struct conf *c = ctl_load_config(ctl);
	if (c == NULL)
		return CTL_EXIT_FAIL;
	/* check (any backend), and passwd on a backend that can change one:
	 * through auth's backend interface (ctl_user_backend.c). */
	if (strcmp(argv[optind], "check") == 0 || (strcmp(argv[optind], "passwd") == 0 &&
	    (strcmp(conf_str(c, "auth.backend"), "sql") == 0 ||
	    strcmp(conf_str(c, "auth.backend"), "pipe") == 0))) {
		int rc = ctl_user_backend(ctl, c, argc - optind, argv + optind);
		conf_free(&c);
		return rc;
	}
	if (strcmp(conf_str(c, "auth.backend"), "internal") != 0) {
		ctl_warnx(ctl, "%s: auth.backend: accounts are in the \"%s\" backend; parleyctl user "
		    "manages the internal store only", conf_where(c, "auth.backend"),
		    conf_str(c, "auth.backend"));
		conf_free(&c);
		return CTL_EXIT_FAIL;
	}
	if (storage_prepare(c, err, sizeof(err)) < 0 || storage_open(&s, c, err, sizeof(err)) < 0) {
		ctl_warnx(ctl, "%s", err);
		conf_free(&c);
		return CTL_EXIT_FAIL;
	}
	int rc = run(ctl, c, s, argc - optind, argv + optind);
	storage_close(&s);
	conf_free(&c);
	return rc;
}
