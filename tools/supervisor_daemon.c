/*
 * supervisor_daemon.c — detaching parleyd from its terminal (see
 * supervisor_daemon.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor_daemon.h"
#include "util.h"

/* The daemon's end of the pipe to the process that started it. */
static int ready_fd = -1;

int daemon_detach(char *err, size_t errlen)
{
	int pipefd[2];

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return errf(err, errlen, "pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		errf(err, errlen, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid > 0) {
		/* The original process: wait for the word from the daemon. */
		char byte;
		ssize_t n;
		close(pipefd[1]);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		do {
			n = read(pipefd[0], &byte, 1);
		} while (n < 0 && errno == EINTR);
		if (n == 1)
			_exit(EXIT_SUCCESS);
		fprintf(stderr, "parleyd: the daemon exited while starting; see its log\n");
		_exit(EXIT_FAILURE);
	}

	close(pipefd[0]);
	if (setsid() < 0)
		_exit(EXIT_FAILURE);
	pid = fork();
	if (pid < 0)
		_exit(EXIT_FAILURE);
	if (pid > 0)
		_exit(EXIT_SUCCESS); /* the session leader goes; its child is the daemon */

	ready_fd = pipefd[1];
	if (chdir("/") < 0)
		_exit(EXIT_FAILURE);
	umask(027);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		_exit(EXIT_FAILURE);
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(null, fd) < 0)
			_exit(EXIT_FAILURE);
	close(null);
	return 0;
}

void daemon_ready(void)
{
	if (ready_fd < 0)
		return;
	(void)!write(ready_fd, "1", 1);
	close(ready_fd);
	ready_fd = -1;
}
