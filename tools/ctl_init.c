/*
 * ctl_init.c — `parleyctl init DIR --domain DOMAIN`: a new installation for
 * one domain, self-contained in DIR, that `parleyd -c DIR/parley.conf` runs
 * as it is:
 *
 *   DIR/parley.conf          the configuration, commented (0640 root:GROUP)
 *   DIR/router.secret        a random secret for the internal peers (0640 root:GROUP)
 *   DIR/tls/DOMAIN.crt, .key a fresh self-signed certificate (key 0600)
 *   DIR/run/, DIR/data/, DIR/log/   owned by the unprivileged user
 *
 * The configuration is written last, so a run that fails half-way leaves no
 * parley.conf pointing at files that are not there, and is checked with
 * the same checks as `parleyctl check` before init reports success.
 *
 * It writes only inside DIR, and changes the mode of DIR itself only to let
 * the configured user through.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "certgen.h"
#include "conf_user.h"
#include "jid.h"
#include "parleyctl.h"

#define SECRET_BYTES 32 /* 256 bits, written as 64 hex digits */
#define COMPONENT_SECRET_BYTES 16

/* parleyd.services is left to its default (every process this version of
 * Parley has, federation included); the file shows it commented. With
 * --no-federation it is written out without s2s, so that the site needs
 * no server-to-server port (a localhost demo). */
#define INIT_SERVICES "\"router\", \"auth\", \"sm\", \"c2s\", \"s2s\""
#define INIT_SERVICES_LOCAL "\"router\", \"auth\", \"sm\", \"c2s\""

/* The standard ports (RFC 6120, XEP-0368, XEP-0114). */
#define PORT_C2S 5222
#define PORT_C2S_TLS 5223
#define PORT_S2S 5269
#define PORT_COMPONENT 5347

struct init_opts {
	const char *dir;
	const char *domain;
	long c2s_port, c2s_tls_port, s2s_port, component_port;
	const char *component_domain;
	const char *component_secret;
	const char *user, *group;
	bool force;
	bool no_federation;
};

/* What init decided, for the file and the summary. */
struct init_plan {
	char dir[PATH_MAX];
	char domain[JID_PART_BUFSIZE];            /* canonical: what hosts holds */
	char file_base[JID_DOMAIN_ASCII_MAX + 1]; /* A-label form, for file names */
	char component_domain[JID_PART_BUFSIZE];
	char component_secret[2 * COMPONENT_SECRET_BYTES + 1];
	const char *component_secret_given;
	char user[64], group[64];
	bool user_is_fallback; /* no "parley" account: nobody/nogroup */
	uid_t uid;
	gid_t gid;
	bool root; /* we can chown */
	char bin_dir[PATH_MAX];
	char conf[PATH_MAX], secret[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	char run[PATH_MAX], data[PATH_MAX], log_dir[PATH_MAX], tls_dir[PATH_MAX];
	char expires[32];
};

static void init_usage(FILE *out, const struct ctl *ctl)
{
	fprintf(out,
	    "usage: %s init DIR --domain DOMAIN [options]\n"
	    "Write into DIR a complete configuration for one domain (DIR/parley.conf),\n"
	    "a random router secret and a self-signed certificate, so that\n"
	    "'parleyd -c DIR/parley.conf' runs it as it is.\n\n"
	    "  --domain DOMAIN            the domain to serve (required)\n"
	    "  --c2s-port N               client port, STARTTLS (default %d)\n"
	    "  --c2s-tls-port N           client port, direct TLS (default %d)\n"
	    "  --s2s-port N               server-to-server port (default %d)\n"
	    "  --no-federation            run no s2s: parleyd.services without it, so\n"
	    "                             no server-to-server port is opened\n"
	    "  --component-port N         XEP-0114 component port on 127.0.0.1 (default %d; 0: off)\n"
	    "  --component-domain DOMAIN  allow one external component for DOMAIN\n"
	    "  --component-secret S       its secret (default: a random one); without\n"
	    "                             --component-domain, a commented example entry\n"
	    "  --user USER, --group GROUP the account the processes run as (default: parley\n"
	    "                             if it exists, else nobody; the invoking user if not root)\n"
	    "  --force                    overwrite an existing DIR/parley.conf\n",
	    ctl->prog, PORT_C2S, PORT_C2S_TLS, PORT_S2S, PORT_COMPONENT);
}

static int parse_port(const struct ctl *ctl, const char *opt, const char *arg, long min, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || v < min || v > 65535) {
		ctl_warnx(ctl, "init: %s wants a port from %ld to 65535, got '%s'", opt, min, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_opts(struct ctl *ctl, int argc, char **argv, struct init_opts *o)
{
	enum { O_DOMAIN = 256, O_C2S, O_C2S_TLS, O_S2S, O_COMP_PORT, O_COMP_DOMAIN, O_COMP_SECRET,
	    O_USER, O_GROUP, O_FORCE, O_NO_FED };
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "c2s-port", required_argument, NULL, O_C2S },
		{ "c2s-tls-port", required_argument, NULL, O_C2S_TLS },
		{ "s2s-port", required_argument, NULL, O_S2S },
		{ "component-port", required_argument, NULL, O_COMP_PORT },
		{ "component-domain", required_argument, NULL, O_COMP_DOMAIN },
		{ "component-secret", required_argument, NULL, O_COMP_SECRET },
		{ "user", required_argument, NULL, O_USER },
		{ "group", required_argument, NULL, O_GROUP },
		{ "force", no_argument, NULL, O_FORCE },
		{ "no-federation", no_argument, NULL, O_NO_FED },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc = 0;

	*o = (struct init_opts){ .c2s_port = PORT_C2S, .c2s_tls_port = PORT_C2S_TLS,
	    .s2s_port = PORT_S2S, .component_port = PORT_COMPONENT };
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_DOMAIN: o->domain = optarg; break;
		case O_C2S: rc |= parse_port(ctl, "--c2s-port", optarg, 1, &o->c2s_port); break;
		case O_C2S_TLS: rc |= parse_port(ctl, "--c2s-tls-port", optarg, 1, &o->c2s_tls_port); break;
		case O_S2S: rc |= parse_port(ctl, "--s2s-port", optarg, 1, &o->s2s_port); break;
		case O_COMP_PORT:
			rc |= parse_port(ctl, "--component-port", optarg, 0, &o->component_port);
			break;
		case O_COMP_DOMAIN: o->component_domain = optarg; break;
		case O_COMP_SECRET: o->component_secret = optarg; break;
		case O_USER: o->user = optarg; break;
		case O_GROUP: o->group = optarg; break;
		case O_FORCE: o->force = true; break;
		case O_NO_FED: o->no_federation = true; break;
		case 'h':
			init_usage(stdout, ctl);
			return 1;
		default:
			init_usage(stderr, ctl);
			return -1;
		}
	}
	if (rc != 0)
		return -1;
	if (optind >= argc) {
		ctl_warnx(ctl, "init: which directory? (parleyctl init DIR --domain DOMAIN)");
		return -1;
	}
	o->dir = argv[optind++];
	if (optind < argc) {
		ctl_warnx(ctl, "init: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (o->domain == NULL) {
		ctl_warnx(ctl, "init: --domain DOMAIN is required");
		return -1;
	}
	return 0;
}

/* --- deciding ------------------------------------------------------------------ */

/* Characters that would need escaping in the file are refused in paths and
 * names: nobody names a directory with a quote on purpose. */
static bool plain_text(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '"' || *s == '\\' || iscntrl((unsigned char)*s))
			return false;
	return true;
}

static int pick_account(const struct ctl *ctl, const struct init_opts *o, struct init_plan *p)
{
	char err[ERRLEN];
	gid_t login_gid;
	struct group *gr;

	p->root = geteuid() == 0;
	if (o->user != NULL) {
		snprintf(p->user, sizeof(p->user), "%s", o->user);
	} else if (!p->root) {
		/* Not root: the processes cannot switch users, so they run as us. */
		struct passwd *pw = getpwuid(geteuid());
		if (pw == NULL) {
			ctl_warnx(ctl, "init: who am I? uid %ld has no name: use --user",
			    (long)geteuid());
			return -1;
		}
		snprintf(p->user, sizeof(p->user), "%s", pw->pw_name);
	} else if (getpwnam("parley") != NULL) {
		snprintf(p->user, sizeof(p->user), "parley");
	} else {
		snprintf(p->user, sizeof(p->user), "nobody");
		p->user_is_fallback = true;
	}
	if (ctl_lookup_user(p->user, &p->uid, &login_gid, err, sizeof(err)) < 0) {
		ctl_warnx(ctl, "init: %s", err);
		return -1;
	}
	if (p->uid == 0) {
		ctl_warnx(ctl, "init: the processes refuse to run as root: name another --user");
		return -1;
	}
	if (!plain_text(p->user) || strchr(p->user, ':') != NULL) {
		ctl_warnx(ctl, "init: '%s' is not a user name", p->user);
		return -1;
	}

	if (o->group != NULL) {
		snprintf(p->group, sizeof(p->group), "%s", o->group);
	} else if ((gr = getgrnam(p->user)) != NULL && gr->gr_gid == login_gid) {
		snprintf(p->group, sizeof(p->group), "%s", p->user);
	} else if ((gr = getgrgid(login_gid)) != NULL) {
		snprintf(p->group, sizeof(p->group), "%s", gr->gr_name);
	} else {
		ctl_warnx(ctl, "init: user %s's group %ld has no name: use --group", p->user,
		    (long)login_gid);
		return -1;
	}
	if (conf_lookup_group(p->group, &p->gid, err, sizeof(err)) < 0) {
		ctl_warnx(ctl, "init: %s", err);
		return -1;
	}
	if (!plain_text(p->group) || strchr(p->group, ':') != NULL) {
		ctl_warnx(ctl, "init: '%s' is not a group name", p->group);
		return -1;
	}
	return 0;
}

/* A file name from the A-label domain: letters, digits, '-' and '.' only
 * (an IPv6 literal's brackets and colons become '_'). */
static void file_base(const char *ascii, char *out, size_t len)
{
	size_t i = 0;
	for (; ascii[i] != '\0' && i + 1 < len; i++) {
		char ch = ascii[i];
		out[i] = isalnum((unsigned char)ch) || ch == '-' || ch == '.' ? ch : '_';
	}
	out[i] = '\0';
}

/* When parleyctl runs from a build tree (or any directory other than the
 * installed one) that holds parley-router, parleyd should find the daemons
 * there too: a config made by ./parleyctl in a build runs that build. */
static void detect_bin_dir(struct init_plan *p)
{
	char exe[PATH_MAX], probe[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	p->bin_dir[0] = '\0';
	if (n <= 0)
		return;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash == NULL || slash == exe)
		return;
	*slash = '\0';
	if (strcmp(exe, SBINDIR) == 0 || !plain_text(exe))
		return;
	snprintf(probe, sizeof(probe), "%s/parley-router", exe);
	if (access(probe, X_OK) == 0)
		snprintf(p->bin_dir, sizeof(p->bin_dir), "%s", exe);
}

static int check_ports(const struct ctl *ctl, const struct init_opts *o)
{
	const struct { const char *name; long port; } ports[] = {
		{ "--c2s-port", o->c2s_port },
		{ "--c2s-tls-port", o->c2s_tls_port },
		{ "--s2s-port", o->s2s_port },
		{ "--component-port", o->component_port },
	};
	for (size_t i = 0; i < ARRAY_LEN(ports); i++)
		for (size_t k = i + 1; k < ARRAY_LEN(ports); k++)
			if (ports[i].port != 0 && ports[i].port == ports[k].port) {
				ctl_warnx(ctl, "init: %s and %s are both %ld", ports[i].name,
				    ports[k].name, ports[i].port);
				return -1;
			}
	return 0;
}

static int random_hex(char *out, size_t nbytes, char *err, size_t errlen)
{
	unsigned char raw[64];
	static const char hex[] = "0123456789abcdef";

	if (nbytes > sizeof(raw))
		return errf(err, errlen, "random_hex: %zu bytes is too many", nbytes);
	for (size_t got = 0; got < nbytes;) {
		ssize_t r = getrandom(raw + got, nbytes - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errf(err, errlen, "getrandom: %s", strerror(errno));
		got += (size_t)r;
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

#define PATH_IN(p, field, ...) \
	(snprintf((p)->field, sizeof((p)->field), __VA_ARGS__) >= (int)sizeof((p)->field))

static int plan(const struct ctl *ctl, const struct init_opts *o, struct init_plan *p)
{
	char err[ERRLEN], ascii[JID_DOMAIN_ASCII_MAX + 1];

	if (jid_prep_domainpart(o->domain, strlen(o->domain), p->domain, err, sizeof(err)) < 0 ||
	    jid_domainpart_to_ascii(o->domain, strlen(o->domain), ascii, err, sizeof(err)) < 0) {
		ctl_warnx(ctl, "init: --domain %s: %s", o->domain, err);
		return -1;
	}
	if (!plain_text(p->domain)) {
		ctl_warnx(ctl, "init: --domain %s: not a domain name", o->domain);
		return -1;
	}
	file_base(ascii, p->file_base, sizeof(p->file_base));

	if (o->component_domain != NULL) {
		const char *d = o->component_domain;
		if (jid_prep_domainpart(d, strlen(d), p->component_domain, err, sizeof(err)) < 0) {
			ctl_warnx(ctl, "init: --component-domain %s: %s", d, err);
			return -1;
		}
		if (strcmp(p->component_domain, p->domain) == 0) {
			ctl_warnx(ctl, "init: the component needs a domain of its own, not %s "
			    "(a subdomain such as muc.%s)", p->domain, p->domain);
			return -1;
		}
	}
	if (o->component_secret != NULL) {
		if (o->component_secret[0] == '\0' || !plain_text(o->component_secret)) {
			ctl_warnx(ctl, "init: --component-secret may not be empty or hold quotes, "
			    "backslashes or control characters");
			return -1;
		}
		p->component_secret_given = o->component_secret;
	} else if (random_hex(p->component_secret, COMPONENT_SECRET_BYTES, err, sizeof(err)) < 0) {
		ctl_warnx(ctl, "init: %s", err);
		return -1;
	}
	if (check_ports(ctl, o) < 0 || pick_account(ctl, o, p) < 0)
		return -1;
	detect_bin_dir(p);
	return 0;
}

/* --- doing ----------------------------------------------------------------------- */

static int make_dir_p(const char *path, char *err, size_t errlen)
{
	char walk[PATH_MAX];
	if (snprintf(walk, sizeof(walk), "%s", path) >= (int)sizeof(walk))
		return errf(err, errlen, "%s: path too long", path);
	for (char *s = walk + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(walk, 0755) < 0 && errno != EEXIST)
			return errf(err, errlen, "cannot create %s: %s", walk, strerror(errno));
		*s = saved;
		if (saved == '\0')
			break;
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return errf(err, errlen, "%s is not a directory", path);
	return 0;
}

/* DIR as an absolute, resolved path, created if needed. */
static int make_top(const struct ctl *ctl, const struct init_opts *o, struct init_plan *p)
{
	char err[ERRLEN], want[PATH_MAX], cwd[PATH_MAX];

	if (o->dir[0] == '/') {
		snprintf(want, sizeof(want), "%s", o->dir);
	} else {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			ctl_warnx(ctl, "init: getcwd: %s", strerror(errno));
			return -1;
		}
		if (snprintf(want, sizeof(want), "%s/%s", cwd, o->dir) >= (int)sizeof(want)) {
			ctl_warnx(ctl, "init: %s: path too long", o->dir);
			return -1;
		}
	}
	/* Refused before anything is created: a directory above DIR that the
	 * user cannot pass is not ours to open up. */
	char blocker[PATH_MAX];
	if (!ctl_path_reachable(want, p->uid, p->gid, blocker, sizeof(blocker)) &&
	    strcmp(blocker, want) != 0) {
		ctl_warnx(ctl, "init: user %s cannot reach %s: %s is not searchable by it; "
		    "choose a directory elsewhere (such as /srv/parley) or another --user",
		    p->user, want, blocker);
		return -1;
	}
	if (make_dir_p(want, err, sizeof(err)) < 0) {
		ctl_warnx(ctl, "init: %s", err);
		return -1;
	}
	if (realpath(want, p->dir) == NULL) {
		ctl_warnx(ctl, "init: %s: %s", want, strerror(errno));
		return -1;
	}
	if (!plain_text(p->dir)) {
		ctl_warnx(ctl, "init: %s: a directory whose name holds quotes, backslashes or "
		    "control characters cannot go in the configuration", p->dir);
		return -1;
	}
	struct sockaddr_un sun;
	if (PATH_IN(p, conf, "%s/parley.conf", p->dir) ||
	    PATH_IN(p, secret, "%s/router.secret", p->dir) ||
	    PATH_IN(p, run, "%s/run", p->dir) || PATH_IN(p, data, "%s/data", p->dir) ||
	    PATH_IN(p, log_dir, "%s/log", p->dir) || PATH_IN(p, tls_dir, "%s/tls", p->dir) ||
	    PATH_IN(p, cert, "%s/tls/%s.crt", p->dir, p->file_base) ||
	    PATH_IN(p, key, "%s/tls/%s.key", p->dir, p->file_base) ||
	    strlen(p->run) + strlen("/router.sock") >= sizeof(sun.sun_path)) {
		ctl_warnx(ctl, "init: %s is too long a path: the router's socket "
		    "(DIR/run/router.sock) must fit in %zu bytes", p->dir, sizeof(sun.sun_path) - 1);
		return -1;
	}
	return 0;
}

/* The configured user must be able to walk into DIR: the processes reach
 * the router's socket and their data after dropping to it. DIR itself we
 * may open up (search only, not listing); a parent we do not touch. */
static int open_path(const struct ctl *ctl, struct init_plan *p)
{
	char blocker[PATH_MAX];
	struct stat st;

	if (ctl_path_reachable(p->dir, p->uid, p->gid, blocker, sizeof(blocker)))
		return 0;
	if (strcmp(blocker, p->dir) != 0) {
		ctl_warnx(ctl, "init: user %s cannot reach %s: %s is not searchable by it; "
		    "choose a directory elsewhere (such as /srv/parley) or another --user",
		    p->user, p->dir, blocker);
		return -1;
	}
	if (stat(p->dir, &st) < 0) {
		ctl_warnx(ctl, "init: %s: %s", p->dir, strerror(errno));
		return -1;
	}
	mode_t add = st.st_gid == p->gid ? S_IXGRP : S_IXOTH;
	if (chmod(p->dir, (st.st_mode & 07777) | add) < 0) {
		ctl_warnx(ctl, "init: user %s cannot enter %s, and chmod failed: %s", p->user,
		    p->dir, strerror(errno));
		return -1;
	}
	printf("%s: made searchable by user %s (mode %04o)\n", p->dir, p->user,
	    (unsigned)((st.st_mode & 07777) | add));
	return 0;
}

/* A directory inside DIR with its owner and mode, whether it existed or not. */
static int make_sub(const struct ctl *ctl, const struct init_plan *p, const char *path,
    mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;
	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		ctl_warnx(ctl, "init: cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ctl_warnx(ctl, "init: %s exists and is not a directory", path);
		return -1;
	}
	if (p->root && chown(path, uid, gid) < 0) {
		ctl_warnx(ctl, "init: chown %s: %s", path, strerror(errno));
		return -1;
	}
	if (chmod(path, mode) < 0) {
		ctl_warnx(ctl, "init: chmod %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* root:GROUP for files the processes' group may read; ours otherwise. */
static int give_to_group(const struct ctl *ctl, const struct init_plan *p, const char *path)
{
	if (p->root && chown(path, 0, p->gid) < 0) {
		ctl_warnx(ctl, "init: chown %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_secret(const struct ctl *ctl, const struct init_plan *p)
{
	char secret[2 * SECRET_BYTES + 2], err[ERRLEN];

	if (random_hex(secret, SECRET_BYTES, err, sizeof(err)) < 0) {
		ctl_warnx(ctl, "init: %s", err);
		return -1;
	}
	/* No final newline: the file is the secret, byte for byte, whoever
	 * reads it and however it treats white space. */
	int rc = file_replace(p->secret, secret, strlen(secret), 0640, err, sizeof(err));
	explicit_bzero(secret, sizeof(secret));
	if (rc < 0) {
		ctl_warnx(ctl, "init: %s", err);
		return -1;
	}
	return give_to_group(ctl, p, p->secret);
}

static int write_certificate(const struct ctl *ctl, struct init_plan *p)
{
	char err[ERRLEN];
	const char *domains[] = { p->domain };
	struct certgen_request req = { .domains = domains, .ndomains = 1,
	    .days = CERTGEN_DAYS_DEFAULT, .key_type = CERTGEN_KEY_EC_P256 };

	/* The key is read as root, before a process drops its privileges:
	 * nobody else needs to read it. */
	if (certgen_write(&req, p->cert, p->key, 0600, err, sizeof(err)) < 0) {
		ctl_warnx(ctl, "init: certificate for %s: %s", p->domain, err);
		return -1;
	}
	time_t until = time(NULL) + (time_t)CERTGEN_DAYS_DEFAULT * 86400;
	struct tm tm;
	gmtime_r(&until, &tm);
	strftime(p->expires, sizeof(p->expires), "%Y-%m-%d", &tm);
	return 0;
}

/* --- the file ------------------------------------------------------------------------ */

static void build_config(const struct init_opts *o, const struct init_plan *p, struct buf *b)
{
	char today[16];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);

	buf_appendf(b,
	    "# parley.conf -- Parley for %s, written by `parleyctl init` on %s.\n"
	    "#\n"
	    "# Everything this server keeps is in %s:\n"
	    "#   parley.conf      this file\n"
	    "#   router.secret    the secret Parley's processes present to the router\n"
	    "#   tls/             the certificate for %s and its key\n"
	    "#   run/             the router's socket, parleyd's pid and state files\n"
	    "#   data/            the SQLite database\n"
	    "#   log/parley.log   what every process logs\n"
	    "#\n"
	    "# Start:   parleyd -c %s          (-f: stay in the foreground)\n"
	    "# Check:   parleyctl -c %s check\n"
	    "# Status:  parleyctl -c %s status\n"
	    "#\n"
	    "# Every setting is described in doc/config.md. A line \"#name = value;\"\n"
	    "# shows a setting at its default: remove the \"#\" to change it.\n\n",
	    p->domain, today, p->dir, p->domain, p->conf, p->conf, p->conf);

	buf_appendf(b,
	    "# The domains this server serves.\n"
	    "hosts = [ \"%s\" ];\n\n", p->domain);

	buf_appendf(b,
	    "# The unprivileged account every process switches to once it has opened\n"
	    "# what it needs as root.%s\n"
	    "user = \"%s\";\n"
	    "group = \"%s\";\n\n",
	    p->user_is_fallback ? " This system has no \"parley\" user: create one\n"
	    "# (adduser --system --group parley) and name it here to keep Parley apart\n"
	    "# from other services that run as nobody." : "",
	    p->user, p->group);

	buf_appendf(b,
	    "# Sockets, pid and state files; persistent data.\n"
	    "run_dir = \"%s\";\n"
	    "data_dir = \"%s\";\n\n", p->run, p->data);

	buf_appendf(b,
	    "log = {\n"
	    "\t# \"stderr\" shows the log in the terminal of `parleyd -f`; \"syslog\"\n"
	    "\t# sends it to the system log.\n"
	    "\ttarget = \"%s/parley.log\";\n"
	    "\tlevel = \"info\";\n"
	    "};\n\n", p->log_dir);

	buf_appendf(b,
	    "tls = {\n"
	    "\t# A self-signed certificate for %s, valid until %s.\n"
	    "\t# Clients warn about it and other servers may refuse it: before the\n"
	    "\t# server is public, replace both files with a certificate from a CA\n"
	    "\t# (Let's Encrypt, say).\n"
	    "\tcertificate = \"%s\";\n"
	    "\tkey = \"%s\";\n"
	    "};\n\n", p->domain, p->expires, p->cert, p->key);

	buf_appendf(b,
	    "router = {\n"
	    "\t# A random secret, made by parleyctl init: every Parley process\n"
	    "\t# presents it to the router.\n"
	    "\tsecret_file = \"%s\";\n"
	    "\t#socket = \"%s/router.sock\";\n"
	    "\t# External components (XEP-0114: MUC, gateways, upload) connect here,\n"
	    "\t# on loopback only: run them on this host. Port 0 turns it off.\n"
	    "\tcomponent_address = \"127.0.0.1\";\n"
	    "\tcomponent_port = %ld;\n", p->secret, p->run, o->component_port);
	if (p->component_domain[0] != '\0') {
		buf_appendf(b,
		    "\t# The components allowed in, each with its own domain and secret.\n"
		    "\tcomponents = (\n"
		    "\t\t{ domain = \"%s\"; secret = \"%s\"; }\n"
		    "\t);\n",
		    p->component_domain,
		    p->component_secret_given ? p->component_secret_given : p->component_secret);
	} else {
		buf_appendf(b,
		    "\t# The components allowed in, each with its own domain and secret:\n"
		    "\t#components = ( { domain = \"muc.%s\"; secret = \"%s\"; } );\n",
		    p->domain,
		    p->component_secret_given ? p->component_secret_given : p->component_secret);
	}
	buf_append_str(b, "};\n\n");

	buf_appendf(b,
	    "# Client connections: STARTTLS on %ld, direct TLS (XEP-0368) on %ld, on\n"
	    "# every address (\"::\" is IPv6 and IPv4).\n"
	    "c2s = {\n"
	    "\t#instances = 1;\n"
	    "\tlisteners = (\n"
	    "\t\t{ address = \"::\"; port = %ld; tls = \"starttls\"; },\n"
	    "\t\t{ address = \"::\"; port = %ld; tls = \"direct\"; }\n"
	    "\t);\n"
	    "};\n\n", o->c2s_port, o->c2s_tls_port, o->c2s_port, o->c2s_tls_port);

	buf_appendf(b,
	    "# Server-to-server federation (doc/s2s.md): port %ld was chosen for it.\n"
	    "# Other servers connect here (STARTTLS, on every address), and s2s\n"
	    "# connects out to them; they find this one through DNS SRV records\n"
	    "# (_xmpp-server._tcp.%s).%s\n"
	    "s2s = {\n"
	    "\tlisteners = ( { address = \"::\"; port = %ld; } );\n"
	    "};\n\n", o->s2s_port, p->file_base, o->no_federation ?
	    "\n# Off: parleyd.services below leaves s2s out (--no-federation)." : "",
	    o->s2s_port);

	buf_appendf(b,
	    "# User data, in an SQLite database (nothing to set up).\n"
	    "storage = {\n"
	    "\tdriver = \"sqlite\";\n"
	    "\tsqlite = {\n"
	    "\t\tpath = \"%s/parley.db\";\n"
	    "\t};\n"
	    "};\n\n", p->data);

	buf_appendf(b,
	    "# The supervisor: which processes it runs, and how it restarts them.\n"
	    "parleyd = {\n"
	    "\t# Started in the order router, auth, sm, c2s, s2s; stopped in reverse.\n");
	if (o->no_federation)
		buf_appendf(b,
		    "\t# No federation (parleyctl init --no-federation): add \"s2s\" to talk\n"
		    "\t# to other XMPP servers.\n"
		    "\tservices = [ %s ];\n", INIT_SERVICES_LOCAL);
	else
		buf_appendf(b, "\t#services = [ %s ];\n", INIT_SERVICES);
	buf_appendf(b, "\t#pid_file = \"%s/parleyd.pid\";\n", p->run);
	if (p->bin_dir[0] != '\0')
		buf_appendf(b,
		    "\t# parleyctl init ran from %s, which holds the daemons too.\n"
		    "\tbin_dir = \"%s\";\n", p->bin_dir, p->bin_dir);
	buf_append_str(b, "};\n");
}

static int write_config(const struct ctl *ctl, const struct init_opts *o,
    const struct init_plan *p)
{
	struct buf b = BUF_INIT;
	char err[ERRLEN];

	build_config(o, p, &b);
	/* 0640: the file may hold component secrets. */
	int rc = file_replace(p->conf, buf_head(&b), buf_used(&b), 0640, err, sizeof(err));
	if (b.data != NULL)
		explicit_bzero(b.data, b.cap);
	buf_free(&b);
	if (rc < 0) {
		ctl_warnx(ctl, "init: %s", err);
		return -1;
	}
	return give_to_group(ctl, p, p->conf);
}

/* What `parleyctl check` would say: the file must pass it. */
static int verify(const struct ctl *ctl, const struct init_plan *p)
{
	struct conf_errors errs = CONF_ERRORS_INIT, warns = CONF_ERRORS_INIT;
	struct conf *c = NULL;
	int rc = 0;

	if (conf_load(&c, p->conf, &errs) == 0)
		ctl_check_conf(c, &errs, &warns);
	conf_errors_print(&warns, stderr);
	if (errs.count > 0 || errs.dropped > 0) {
		ctl_warnx(ctl, "init: %s does not pass the checks:", p->conf);
		conf_errors_print(&errs, stderr);
		rc = -1;
	}
	conf_errors_clear(&errs);
	conf_errors_clear(&warns);
	conf_free(&c);
	return rc;
}

int ctl_init(struct ctl *ctl, int argc, char **argv)
{
	struct init_opts o;
	struct init_plan p = { 0 };
	struct stat st;

	int r = parse_opts(ctl, argc, argv, &o);
	if (r != 0)
		return r > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
	if (plan(ctl, &o, &p) < 0 || make_top(ctl, &o, &p) < 0)
		return CTL_EXIT_FAIL;
	if (lstat(p.conf, &st) == 0 && !o.force) {
		ctl_warnx(ctl, "init: %s already exists: not overwriting it (--force would)", p.conf);
		return CTL_EXIT_FAIL;
	}
	if (open_path(ctl, &p) < 0 ||
	    make_sub(ctl, &p, p.run, 0750, p.uid, p.gid) < 0 ||
	    make_sub(ctl, &p, p.data, 0750, p.uid, p.gid) < 0 ||
	    make_sub(ctl, &p, p.log_dir, 0750, p.uid, p.gid) < 0 ||
	    make_sub(ctl, &p, p.tls_dir, 0755, 0, 0) < 0 ||
	    write_secret(ctl, &p) < 0 ||
	    write_certificate(ctl, &p) < 0 ||
	    write_config(ctl, &o, &p) < 0 ||
	    verify(ctl, &p) < 0)
		return CTL_EXIT_FAIL;

	printf("Wrote %s for %s (processes run as %s:%s).\n", p.conf, p.domain, p.user, p.group);
	printf("  router secret  %s\n", p.secret);
	printf("  certificate    %s (self-signed, until %s)\n", p.cert, p.expires);
	printf("  key            %s\n", p.key);
	if (p.component_domain[0] != '\0')
		printf("  component      %s on 127.0.0.1:%ld (secret in parley.conf)\n",
		    p.component_domain, o.component_port);
	else if (p.component_secret_given != NULL)
		printf("  component      no --component-domain: the components entry in "
		    "parley.conf is an example, commented out\n");
	printf("Start it with:  parleyd -c %s\n", p.conf);
	return CTL_EXIT_OK;
}
