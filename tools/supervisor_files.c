/*
 * supervisor_files.c — parleyd's pid file, atomic file replacement and the
 * creation of run_dir (see supervisor_files.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "supervisor_files.h"
#include "util.h"

/* The name the kernel gives parleyd in /proc/PID/comm. */
#define PARLEYD_COMM "parleyd"


/* Whether process `pid` is a parleyd (and not, after pid reuse, anything
 * else). */
static bool is_parleyd(pid_t pid)
{
	char path[64], comm[64];

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return false;
	bool yes = fgets(comm, sizeof(comm), f) != NULL &&
	    strcmp(comm, PARLEYD_COMM "\n") == 0;
	fclose(f);
	return yes;
}

int pidfile_live(const char *path, pid_t *pid, char *err, size_t errlen)
{
	char text[32];

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return errf(err, errlen, "cannot read %s: %s", path, strerror(errno));
	}
	ssize_t n = read(fd, text, sizeof(text) - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return errf(err, errlen, "cannot read %s: %s", path, strerror(e));
	text[n] = '\0';
	if (n == 0)
		return 0; /* a parleyd died while creating it */

	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\n' && *end != '\0') || v <= 0 || v > INT32_MAX)
		return errf(err, errlen, "%s does not hold a process id", path);
	if ((pid_t)v == getpid())
		return 0;
	if (kill((pid_t)v, 0) < 0 && errno != EPERM)
		return 0;
	if (!is_parleyd((pid_t)v))
		return 0;
	*pid = (pid_t)v;
	return 1;
}

int pidfile_write(const char *path, pid_t pid, char *err, size_t errlen)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%ld\n", (long)pid);
	return file_replace(path, text, (size_t)n, 0644, err, errlen);
}

void pidfile_remove(const char *path, pid_t pid)
{
	pid_t named = 0;

	/* pidfile_live() calls a file naming ourselves stale; read it plainly. */
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return;
	long v = 0;
	if (fscanf(f, "%ld", &v) == 1)
		named = (pid_t)v;
	fclose(f);
	if (named == pid)
		unlink(path);
}

int mkdir_parents(const char *path, mode_t mode, char *err, size_t errlen)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			rc = errf(err, errlen, "cannot create directory %s: %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}
