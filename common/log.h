/*
 * log.h — the one logging vocabulary of every Parley process: fatal (logs
 * and exits), error, warn, info, debug. One line per event, carrying the
 * process name, so that the logs of several processes can be read together.
 * A target is "stderr", "syslog" or a file path (appended, reopened on
 * log_reopen() for rotation).
 */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

#include <stddef.h>

#include "util.h"

enum log_level {
	LOG_LEVEL_FATAL = 0,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Until log_open() is called, messages go to stderr at level info under the
 * name "parley". */
int log_open(const char *process, const char *target, enum log_level level,
    char *err, size_t errlen);
void log_close(void);
/* Reopen a file target (after logrotate moved it); no-op for others. */
int log_reopen(char *err, size_t errlen);
void log_set_level(enum log_level level);
/* Where lines go now (stderr or the file; -1 for syslog) and under which
 * name: the seccomp violation reporter writes there from a signal handler. */
int log_fd(void);
const char *log_process(void);
enum log_level log_get_level(void);
/* "fatal", "error", "warn", "info", "debug" → level; -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);
NORETURN void log_fatal(const char *fmt, ...) PRINTF_LIKE(1, 2);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { if (log_get_level() >= LOG_LEVEL_DEBUG) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

#endif
