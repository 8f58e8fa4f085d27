/*
 * config.c — parley-auth's settings (the `auth` section of parley.conf),
 * the salt secret file, and opening the backend auth.backend names. What
 * can only be checked here (the pipe program exists) is reported with
 * conf_error() at the setting's line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "authreg_ldap.h"
#include "authreg_pam.h"
#include "conf_user.h"
#include "log.h"
#include "storage.h"

int auth_configure(struct auth *a, const struct conf *c, struct conf_errors *errs)
{
	struct auth_settings *s = &a->set;
	size_t before = errs->count;

	a->conf = c;
	s->backend = conf_str(c, "auth.backend");
	s->pipe_argc = conf_strlist_count(c, "auth.pipe.program");
	if (s->pipe_argc > 0) {
		const char **argv = xcalloc(s->pipe_argc + 1, sizeof(*argv));
		for (size_t i = 0; i < s->pipe_argc; i++)
			argv[i] = conf_strlist_get(c, "auth.pipe.program", i);
		s->pipe_argv = argv;
	}
	s->pipe_timeout_ms = (unsigned)conf_duration_ms(c, "auth.pipe.timeout");
	s->iterations = (unsigned)conf_int(c, "auth.scram_iterations");
	s->salt_secret_file = conf_str(c, "auth.salt_secret_file");
	s->registration = conf_bool(c, "auth.registration");
	s->sasl_timeout_ms = (uint64_t)conf_duration_ms(c, "auth.sasl_timeout");
	s->delay.free = (unsigned)conf_int(c, "auth.failures.free");
	s->delay.window_ms = (uint64_t)conf_duration_ms(c, "auth.failures.window");
	s->delay.base_ms = (uint64_t)conf_duration_ms(c, "auth.failures.delay");
	s->delay.max_ms = (uint64_t)conf_duration_ms(c, "auth.failures.delay_max");

	if (strcmp(s->backend, "pipe") == 0) {
		if (s->pipe_argc == 0)
			conf_error(errs, c, "auth.pipe.program",
			    "auth.backend is \"pipe\": name the program to run");
		else if (s->pipe_argv[0][0] != '/')
			conf_error(errs, c, "auth.pipe.program",
			    "the program must be an absolute path, got \"%s\"", s->pipe_argv[0]);
		else if (access(s->pipe_argv[0], X_OK) < 0)
			conf_error(errs, c, "auth.pipe.program", "%s: %s", s->pipe_argv[0],
			    strerror(errno));
	}
	if (strcmp(s->backend, "sql") == 0)
		(void)authreg_sql_check_conf(c, errs);
	if (strcmp(s->backend, "ldap") == 0)
		authreg_ldap_check(c, errs);
	if (strcmp(s->backend, "pam") == 0)
		authreg_pam_check(c, errs);
	if (s->delay.max_ms < s->delay.base_ms)
		conf_error(errs, c, "auth.failures.delay_max",
		    "is shorter than auth.failures.delay");
	return errs->count > before ? -1 : 0;
}

void auth_unconfigure(struct auth *a)
{
	free((void *)a->set.pipe_argv);
	a->set.pipe_argv = NULL;
	explicit_bzero(a->salt_secret, sizeof(a->salt_secret));
}

static int read_secret(const char *path, uint8_t *out, size_t len, char *err, size_t errlen)
{
	uint8_t buf[256];
	size_t n = 0;

	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return errf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		}
		if (r == 0 || (n += (size_t)r) == sizeof(buf))
			break;
	}
	close(fd);
	if (n < 16) {
		explicit_bzero(buf, sizeof(buf));
		return errf(err, errlen, "%s holds %zu bytes: a salt secret needs at least 16",
		    path, n);
	}
	/* Any length the operator chose, folded to ours (it keys an HMAC
	 * inside sasl.c; more bytes would be fine too, but one size is
	 * simpler to reason about). */
	memset(out, 0, len);
	for (size_t i = 0; i < n; i++)
		out[i % len] ^= buf[i];
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* Created through a temporary file and link(), so two auth processes
 * starting at once agree on one secret: the loser of the link reads the
 * winner's. */
int auth_load_salt_secret(struct auth *a, char *err, size_t errlen)
{
	const char *path = a->set.salt_secret_file;
	char tmp[4096];
	uint8_t fresh[AUTH_SALT_SECRET_LEN];

	err[0] = '\0';
	if (read_secret(path, a->salt_secret, sizeof(a->salt_secret), err, errlen) == 0)
		return 0;
	if (err[0] != '\0' || errno != ENOENT)
		return err[0] != '\0' ? -1 : errf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
	if (getrandom(fresh, sizeof(fresh), 0) != (ssize_t)sizeof(fresh))
		return errf(err, errlen, "getrandom: %s", strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errf(err, errlen, "cannot create %s: %s", path, strerror(errno));
	bool ok = write(fd, fresh, sizeof(fresh)) == (ssize_t)sizeof(fresh) && fsync(fd) == 0;
	close(fd);
	explicit_bzero(fresh, sizeof(fresh));
	if (!ok) {
		unlink(tmp);
		return errf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
	}
	if (link(tmp, path) < 0 && errno != EEXIST) {
		int e = errno;
		unlink(tmp);
		return errf(err, errlen, "cannot create %s: %s", path, strerror(e));
	}
	unlink(tmp);
	log_info("created the salt secret %s", path);
	err[0] = '\0';
	if (read_secret(path, a->salt_secret, sizeof(a->salt_secret), err, errlen) < 0)
		return err[0] != '\0' ? -1 : errf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
	return 0;
}

int auth_open_backend(struct auth *a, char *err, size_t errlen)
{
	const struct auth_settings *s = &a->set;

	if (strcmp(s->backend, "pipe") == 0) {
		char why[ERRLEN];
		a->authreg = authreg_pipe_new(a->loop, s->pipe_argv, s->pipe_argc,
		    conf_user_for(a->conf, "auth"), conf_group_for(a->conf, "auth"),
		    s->pipe_timeout_ms, why, sizeof(why));
		if (a->authreg == NULL)
			return errf(err, errlen, "%s: auth.pipe.program: %s",
			    conf_where(a->conf, "auth.pipe.program"), why);
		return 0;
	}
	if (strcmp(s->backend, "sql") == 0) {
		a->authreg = authreg_sql_new(a->loop, a->conf, (unsigned)conf_int(a->conf,
		    "auth.threads"), s->iterations, err, errlen);
		return a->authreg == NULL ? -1 : 0;
	}
	if (strcmp(s->backend, "ldap") == 0 || strcmp(s->backend, "pam") == 0) {
		a->authreg = strcmp(s->backend, "ldap") == 0 ?
		    authreg_ldap_new(a->loop, a->conf, err, errlen) :
		    authreg_pam_new(a->loop, a->conf, err, errlen);
		return a->authreg == NULL ? -1 : 0;
	}
	struct storage *st = NULL;
	if (storage_prepare(a->conf, err, errlen) < 0)
		return -1;
	if (storage_open(&st, a->conf, err, errlen) < 0)
		return -1;
	if (!storage_is_remote(st)) {
		a->authreg = authreg_internal_new(st, s->iterations);
		return 0;
	}
	/* A database server: calls go off the loop, each bounded by the time
	 * the driver may wait for a lost server and a margin. */
	unsigned timeout_ms = (unsigned)(conf_duration_ms(a->conf, "storage.sql.hold") +
	    conf_duration_ms(a->conf, "storage.sql.connect_timeout") + 2000);
	a->authreg = authreg_internal_remote_new(a->loop, st, s->iterations, timeout_ms, err,
	    errlen);
	if (a->authreg == NULL) {
		storage_close(&st);
		return -1;
	}
	return 0;
}
