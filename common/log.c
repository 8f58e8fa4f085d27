/*
 * log.c — the logging sink: formats one line per event and writes it to
 * stderr, a file or syslog. The line is built in one buffer and written with
 * one write(2), so lines from several processes sharing a file or a terminal
 * do not interleave mid-line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum log_target { TARGET_STDERR, TARGET_SYSLOG, TARGET_FILE };

static struct {
	char process[64];
	enum log_target target;
	char path[1024];
	int fd;
	enum log_level level;
} logger = { "parley", TARGET_STDERR, "", 2, LOG_LEVEL_INFO };

static const char *const level_names[] = { "fatal", "error", "warn", "info", "debug" };

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level < ARRAY_LEN(level_names))
		return level_names[level];
	return "?";
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(level_names); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

void log_set_level(enum log_level level)
{
	logger.level = level;
}

int log_fd(void)
{
	return logger.target == TARGET_SYSLOG ? -1 : logger.fd;
}

const char *log_process(void)
{
	return logger.process;
}

enum log_level log_get_level(void)
{
	return logger.level;
}

static int open_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return errf(err, errlen, "cannot open log file %s: %s", path, strerror(errno));
	return fd;
}

int log_open(const char *process, const char *target, enum log_level level,
    char *err, size_t errlen)
{
	int fd = -1;
	enum log_target t;

	if (target == NULL || strcmp(target, "stderr") == 0) {
		t = TARGET_STDERR;
	} else if (strcmp(target, "syslog") == 0) {
		t = TARGET_SYSLOG;
	} else {
		t = TARGET_FILE;
		if ((fd = open_file(target, err, errlen)) < 0)
			return -1;
	}
	log_close();
	snprintf(logger.process, sizeof(logger.process), "%s", process);
	logger.target = t;
	logger.level = level;
	logger.fd = 2;
	if (t == TARGET_FILE) {
		snprintf(logger.path, sizeof(logger.path), "%s", target);
		logger.fd = fd;
	} else if (t == TARGET_SYSLOG) {
		openlog(logger.process, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
	return 0;
}

void log_close(void)
{
	if (logger.target == TARGET_FILE && logger.fd > 2)
		close(logger.fd);
	else if (logger.target == TARGET_SYSLOG)
		closelog();
	logger.target = TARGET_STDERR;
	logger.fd = 2;
}

int log_reopen(char *err, size_t errlen)
{
	if (logger.target != TARGET_FILE)
		return 0;
	int fd = open_file(logger.path, err, errlen);
	if (fd < 0)
		return -1;
	close(logger.fd);
	logger.fd = fd;
	return 0;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		p += w;
		n -= (size_t)w;
	}
}

/* One event, one line: text that came from the network (a JID, a stanza
 * excerpt) must not forge further log lines or send escape sequences to the
 * terminal of whoever reads the log. Control characters become spaces
 * (CR, LF) or '?' (the rest, tab excepted). */
static void neutralize(char *line, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == '\n' || c == '\r')
			line[i] = ' ';
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			line[i] = '?';
	}
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const int syslog_prio[] = { LOG_CRIT, LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[4096];
	size_t n = 0;
	int saved_errno = errno;

	if (level > logger.level)
		return;
	if (logger.target == TARGET_SYSLOG) {
		int m = vsnprintf(line, sizeof(line), fmt, ap);
		neutralize(line, m < 0 ? 0 : (size_t)m < sizeof(line) ? (size_t)m : sizeof(line) - 1);
		syslog(syslog_prio[level], "%s: %s", log_level_name(level), line);
		errno = saved_errno;
		return;
	}

	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s[%ld] %s: ",
	    ts.tv_nsec / 1000000, logger.process, (long)getpid(), log_level_name(level));
	if (n < sizeof(line)) {
		int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (m > 0)
			n += (size_t)m;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	neutralize(line, n);
	line[n++] = '\n';
	write_all(logger.fd, line, n);
	errno = saved_errno;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_FATAL, fmt, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}
