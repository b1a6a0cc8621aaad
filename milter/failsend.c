/*
 * NAME
 *	failsend.c - pipe one report mail to ReportSendmail (see failsend.h)
 * DESCRIPTION
 *	posix_spawn(), not fork(): the daemon has many threads, and only the spawning one
 *	would survive a fork, holding whatever locks the others held.  The write end of
 *	the pipe is non-blocking and every wait has the same deadline, so a sendmail that
 *	hangs costs the failure-report thread at most timeout seconds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* pipe2, posix_spawn_file_actions_addclosefrom_np */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "lib/monotonic.h"
#include "milter/failsend.h"

extern char **environ;

#define ADDRESS_MAX	320

int	failsend_address_ok(const char *address)
{
	size_t	len = strlen(address);
	const char *at = strrchr(address, '@');

	if (len == 0 || len > ADDRESS_MAX || at == NULL || at == address || at[1] == '\0' ||
	    address[0] == '-')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (address[i] <= ' ' || address[i] > '~' || strchr("<>\"\\,;", address[i]))
			return 0;
	return 1;
}

/* argv: the words of command but "-t", then -i -f from -- rcpt; copy is their storage.
 * 0 when the command is empty or has too many words. */
static int build_argv(char *copy, const char *from, const char *rcpt, char **argv)
{
	size_t	n = 0;

	for (char *save = NULL, *w = strtok_r(copy, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (strcmp(w, "-t") == 0)
			continue;
		if (n >= FAILSEND_ARGS_MAX)
			return 0;
		argv[n++] = w;
	}
	if (n == 0)
		return 0;
	argv[n++] = "-i";
	argv[n++] = "-f";
	argv[n++] = (char *)from;
	argv[n++] = "--";
	argv[n++] = (char *)rcpt;
	argv[n] = NULL;
	return 1;
}

static int spawn(char **argv, int stdin_fd, pid_t *pid, char *err, size_t errlen)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	int	rc;

	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	if (posix_spawn_file_actions_init(&actions) != 0)
		goto nomem;
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&actions);
		goto nomem;
	}
	rc = posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
	rc = rc ? rc : posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
	rc = rc ? rc : posix_spawn_file_actions_addclosefrom_np(&actions, 3);
	rc = rc ? rc : posix_spawnattr_setsigmask(&attr, &none);
	rc = rc ? rc : posix_spawnattr_setsigdefault(&attr, &defaults);
	rc = rc ? rc : posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	rc = rc ? rc : posix_spawn(pid, argv[0], &actions, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	if (rc != 0)
		snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(rc));
	return rc == 0;
nomem:
	snprintf(err, errlen, "cannot run %s: out of memory", argv[0]);
	return 0;
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now = now_monotonic();

	return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Writes all of data to the non-blocking fd by the deadline; 0 with err otherwise. */
static int write_all(int fd, const char *data, size_t len, const struct timespec *deadline,
    char *err, size_t errlen)
{
	size_t	done = 0;

	while (done < len) {
		ssize_t	n = write(fd, data + done, len - done);
		long	left;

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "writing to it: %s", strerror(errno));
			return 0;
		}
		if ((left = ms_left(deadline)) <= 0) {
			snprintf(err, errlen, "it did not read the mail in time");
			return 0;
		}
		struct pollfd p = {.fd = fd, .events = POLLOUT};

		(void)poll(&p, 1, (int)(left > 1000 ? 1000 : left));
	}
	return 1;
}

/* The exit status of pid, waiting until the deadline, then killing it. */
static int reap(pid_t pid, const struct timespec *deadline, char *err, size_t errlen)
{
	int	status;
	pid_t	r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && ms_left(deadline) > 0) {
		struct timespec pause = {0, 10 * 1000 * 1000};

		nanosleep(&pause, NULL);
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		snprintf(err, errlen, "it did not exit in time and was killed");
		return 0;
	}
	if (r < 0) {
		snprintf(err, errlen, "waiting for it: %s", strerror(errno));
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 1;
	if (WIFEXITED(status))
		snprintf(err, errlen, "it exited with status %d", WEXITSTATUS(status));
	else
		snprintf(err, errlen, "it was killed by signal %d", WTERMSIG(status));
	return 0;
}

int	failsend(const char *command, const char *from, const char *rcpt, const char *mail,
    size_t len, int timeout, char *err, size_t errlen)
{
	char   *argv[FAILSEND_ARGS_MAX + 6], *copy, to[ADDRESS_MAX + 8];
	struct timespec deadline;
	int	fds[2], ok;
	pid_t	pid;
	char	why[256] = "", exit_why[128] = "";

	if (!failsend_address_ok(from) || !failsend_address_ok(rcpt)) {
		snprintf(err, errlen, "refused to send: an address is not plain ASCII");
		return 0;
	}
	if ((copy = strdup(command)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	if (!build_argv(copy, from, rcpt, argv)) {
		snprintf(err, errlen, "ReportSendmail \"%s\" is empty or has over %d words",
		    command, FAILSEND_ARGS_MAX);
		free(copy);
		return 0;
	}
	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
		free(copy);
		return 0;
	}
	ok = spawn(argv, fds[0], &pid, err, errlen);
	close(fds[0]);
	if (!ok) {
		close(fds[1]);
		free(copy);
		return 0;
	}
	(void)fcntl(fds[1], F_SETFL, O_NONBLOCK);
	deadline = timespec_add_ms(now_monotonic(), (unsigned)timeout * 1000);
	snprintf(to, sizeof(to), "To: <%s>\n", rcpt);
	ok = write_all(fds[1], to, strlen(to), &deadline, why, sizeof(why)) &&
	    write_all(fds[1], mail, len, &deadline, why, sizeof(why));
	close(fds[1]);
	ok = reap(pid, &deadline, exit_why, sizeof(exit_why)) && ok;
	if (!ok)
		snprintf(err, errlen, "%s: %s%s%s", argv[0], why, why[0] && exit_why[0] ? "; " : "",
		    exit_why);
	free(copy);
	return ok;
}
