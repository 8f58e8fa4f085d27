/*
 * router_secret.c — reading the router's shared secret (see
 * router_secret.h). The secret is wiped from the stack buffers it passes
 * through; keeping the result secret is the caller's business.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "router_secret.h"

int router_secret_read_file(const char *path, char *out, size_t *len, struct stat *st,
    char *err, size_t errlen)
{
	/* Room for the longest secret, its line end, and one byte to tell
	 * that there is more. */
	char buf[ROUTER_SECRET_MAX + 3];
	struct stat own;
	size_t n = 0;
	int rc = -1;

	if (st == NULL)
		st = &own;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errf(err, errlen, "cannot read %s: %s", path, strerror(errno));
	if (fstat(fd, st) < 0) {
		errf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		errf(err, errlen, "%s is not a regular file", path);
		goto out;
	}
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	/* One line: a trailing newline is the editor's, not the secret's. */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n > ROUTER_SECRET_MAX)
		errf(err, errlen, "the secret in %s is longer than %d bytes", path, ROUTER_SECRET_MAX);
	else if (n == 0)
		errf(err, errlen, "%s is empty", path);
	else if (n < ROUTER_SECRET_MIN)
		errf(err, errlen, "the secret in %s is too short (%zu bytes): use at least %d "
		    "random characters", path, n, ROUTER_SECRET_MIN);
	else
		rc = 0;
	if (rc == 0) {
		memcpy(out, buf, n);
		out[n] = '\0';
		*len = n;
	}
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

const char *router_secret_setting(const struct conf *c)
{
	if (conf_str(c, "router.secret") != NULL)
		return "router.secret";
	if (conf_str(c, "router.secret_file") != NULL)
		return "router.secret_file";
	return "router";
}

int router_secret_get(const struct conf *c, char *out, size_t *len, char *err, size_t errlen)
{
	const char *secret = conf_str(c, "router.secret");
	const char *file = conf_str(c, "router.secret_file");

	if (secret != NULL) {
		size_t n = strlen(secret);
		if (n > ROUTER_SECRET_MAX)
			return errf(err, errlen, "router.secret is longer than %d bytes",
			    ROUTER_SECRET_MAX);
		memcpy(out, secret, n + 1);
		*len = n;
		return 0;
	}
	if (file == NULL)
		return errf(err, errlen, "set router.secret or router.secret_file: every peer "
		    "proves itself to the router with it");
	return router_secret_read_file(file, out, len, NULL, err, errlen);
}
