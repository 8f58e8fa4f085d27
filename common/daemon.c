/*
 * daemon.c — the log and terminal handling the daemons share (daemon.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

void daemon_open_log(const struct conf *c, const char *process, const char *section,
    bool foreground, const char **target, int *report_fd)
{
	enum log_level level;
	char err[ERRLEN], setting[64];

	snprintf(setting, sizeof(setting), "%s.log.target", section);
	conf_log_for(c, section, target, &level);
	if (foreground && !conf_is_set(c, "log.target") && !conf_is_set(c, setting))
		*target = "stderr";
	if (log_open(process, *target, level, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s: %s\n", process, conf_where(c, setting), err);
		exit(EXIT_FAILURE);
	}
	/* The sandbox's violation line goes where the log goes; a file gets a
	 * descriptor of its own, which SIGHUP points at the reopened file. */
	*report_fd = 2;
	if (log_fd() > 2)
		*report_fd = fcntl(log_fd(), F_DUPFD_CLOEXEC, 3);
}

void daemon_reopen_log(int report_fd)
{
	char err[ERRLEN];

	if (log_reopen(err, sizeof(err)) < 0) {
		log_error("SIGHUP: %s", err);
		return;
	}
	if (report_fd > 2 && log_fd() > 2)
		(void)dup3(log_fd(), report_fd, O_CLOEXEC);
	log_info("SIGHUP: log reopened");
}

void daemon_detach(void)
{
	pid_t pid = fork();

	if (pid < 0)
		log_fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(EXIT_SUCCESS);
	if (setsid() < 0)
		log_fatal("setsid: %s", strerror(errno));
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (log_fd() != 2)
			dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (chdir("/") < 0)
		log_fatal("chdir /: %s", strerror(errno));
}
