/*
 * NAME
 *	detach.c - into the background, the starting process ending only once ready
 * DESCRIPTION
 *	daemon(3) forks and its parent exits at once.  Whatever starts Signet (an init
 *	script, "systemctl start" with Type=forking, a test) takes that exit to mean the
 *	daemon is up, and may signal the pid in PidFile next: with daemon(3) there may be no
 *	PidFile yet, no socket, or no signal handling in place, and a start-up failure after
 *	the fork is an exit status nobody sees.  So the parent here waits on a pipe: the
 *	child writes one byte once its PID file, socket, privileges and services are ready,
 *	and the parent exits 0; a child that exits before that closes the pipe unwritten and
 *	the parent exits 1 (the reason is in the log).
 *
 *	The working directory stays until detach_ready(), so that every path of the
 *	start-up (configuration, keystore, socket, PID file) is taken from the directory
 *	Signet was started in, as with -f.  The parent unblocks the signals main() blocked:
 *	while it waits it is an ordinary process that a signal may end (the child goes on).
 *	It leaves with _exit(): the atexit handlers and buffers belong to the child.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "milter/detach.h"

static int ready_fd = -1;

static _Noreturn void wait_for_child(int fd)
{
	sigset_t none;
	unsigned char status;
	ssize_t n;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	while ((n = read(fd, &status, 1)) < 0 && errno == EINTR)
		continue;
	_exit(n == 1 ? status : 1);
}

int	detach_start(char *err, size_t len)
{
	int	fds[2];
	pid_t	pid;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(err, len, "cannot detach: pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		snprintf(err, len, "cannot detach: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid > 0) {
		close(fds[1]);
		wait_for_child(fds[0]);
	}
	close(fds[0]);
	ready_fd = fds[1];
	if (setsid() < 0) {
		snprintf(err, len, "cannot detach: setsid: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int	detach_ready(char *err, size_t len)
{
	unsigned char ok = 0;
	int	null;

	if (chdir("/") != 0) {
		snprintf(err, len, "cannot detach: chdir /: %s", strerror(errno));
		return -1;
	}
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 || dup2(null, 0) < 0 ||
	    dup2(null, 1) < 0 || dup2(null, 2) < 0) {
		snprintf(err, len, "cannot detach: /dev/null: %s", strerror(errno));
		return -1;
	}
	if (null > 2)
		close(null);
	if (write(ready_fd, &ok, 1) != 1) {
		snprintf(err, len, "cannot tell the starting process: %s", strerror(errno));
		return -1;
	}
	close(ready_fd);
	ready_fd = -1;
	return 0;
}
