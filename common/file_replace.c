/*
 * file_replace.c — replace a file's contents atomically (see
 * file_replace.h): a reader sees the old file or the new one, never half of
 * one, and a crash leaves at worst a stray temporary file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_replace.h"

int file_replace(const char *path, const void *data, size_t len, mode_t mode,
    char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return errf(err, errlen, "%s: path too long", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return errf(err, errlen, "cannot create a file next to %s: %s", path, strerror(errno));
	if (fchmod(fd, mode) < 0) {
		errf(err, errlen, "chmod %s: %s", tmp, strerror(errno));
		goto fail;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, (const char *)data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			errf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		errf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	int rc = close(fd);
	fd = -1;
	if (rc < 0) {
		errf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		errf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}
