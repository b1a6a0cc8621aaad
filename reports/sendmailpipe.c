/*
 * NAME
 *	sendmailpipe.c - one message through the sendmail command (see sendmailpipe.h)
 */
#define _GNU_SOURCE		/* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "reports/sendmailpipe.h"

#define EXIT_CANNOT_RUN	127		/* as shells say it */

/* The words of command, less "-t", then -f from -- rcpt; argv points into words. */
static int build_argv(const char *command, const char *from, const char *rcpt, char *words,
	    size_t size, char *argv[SENDMAIL_ARGS_MAX + 5])
{
	char   *p, *save = NULL;
	size_t	n = 0;

	if (command == NULL || strlen(command) >= size)
		return 0;
	memcpy(words, command, strlen(command) + 1);
	for (p = strtok_r(words, " \t", &save); p != NULL; p = strtok_r(NULL, " \t", &save)) {
		if (n > 0 && strcmp(p, "-t") == 0)
			continue;
		if (n == SENDMAIL_ARGS_MAX)
			return 0;
		argv[n++] = p;
	}
	if (n == 0)
		return 0;
	argv[n++] = (char *)"-f";
	argv[n++] = (char *)from;
	argv[n++] = (char *)"--";
	argv[n++] = (char *)rcpt;
	argv[n] = NULL;
	return 1;
}

/* The message with CRLF turned into LF; 1 when all of it was written. */
static int write_message(int fd, const char *msg, size_t len)
{
	FILE   *in = fdopen(fd, "w");
	size_t	i = 0;
	int	ok;

	if (in == NULL) {
		close(fd);
		return 0;
	}
	while (i < len) {
		const char *crlf = memmem(msg + i, len - i, "\r\n", 2);
		size_t	end = crlf != NULL ? (size_t)(crlf - msg) : len;

		if (fwrite(msg + i, 1, end - i, in) != end - i ||
		    (crlf != NULL && fputc('\n', in) == EOF))
			break;
		i = crlf != NULL ? end + 2 : len;
	}
	ok = i >= len;
	return fclose(in) == 0 && ok;
}

static enum mail_outcome outcome_of(int status, int written, const char *program,
	    char *detail, size_t size)
{
	if (WIFSIGNALED(status)) {
		snprintf(detail, size, "%s killed by signal %d", program, WTERMSIG(status));
		return MAIL_TEMPFAIL;
	}
	if (!WIFEXITED(status)) {
		snprintf(detail, size, "%s ended oddly (status %d)", program, status);
		return MAIL_TEMPFAIL;
	}
	switch (WEXITSTATUS(status)) {
	case 0:
		if (!written) {
			snprintf(detail, size, "%s exited before reading the whole message",
			    program);
			return MAIL_TEMPFAIL;
		}
		snprintf(detail, size, "accepted by %s", program);
		return MAIL_SENT;
	case EX_TEMPFAIL:
		snprintf(detail, size, "%s exited %d (EX_TEMPFAIL)", program, EX_TEMPFAIL);
		return MAIL_TEMPFAIL;
	case EXIT_CANNOT_RUN:
		snprintf(detail, size, "%s could not be run", program);
		return MAIL_TEMPFAIL;
	default:
		snprintf(detail, size, "%s exited %d", program, WEXITSTATUS(status));
		return MAIL_PERMFAIL;
	}
}

enum mail_outcome sendmail_send(const char *command, const char *from, const char *rcpt,
	    const char *msg, size_t len, char *detail, size_t detail_size)
{
	char	words[1024], *argv[SENDMAIL_ARGS_MAX + 5];
	int	fds[2], status = 0, written;
	pid_t	pid;

	if (!build_argv(command, from, rcpt, words, sizeof(words), argv)) {
		snprintf(detail, detail_size, "sendmail command \"%.80s\" is empty or too long",
		    command != NULL ? command : "");
		return MAIL_TEMPFAIL;
	}
	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(detail, detail_size, "pipe: %s", strerror(errno));
		return MAIL_TEMPFAIL;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		snprintf(detail, detail_size, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return MAIL_TEMPFAIL;
	}
	if (pid == 0) {
		if (dup2(fds[0], STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(EXIT_CANNOT_RUN);
		execv(argv[0], argv);
		_exit(EXIT_CANNOT_RUN);
	}
	close(fds[0]);
	written = write_message(fds[1], msg, len);	/* closes fds[1] */
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(detail, detail_size, "waitpid: %s", strerror(errno));
			return MAIL_TEMPFAIL;
		}
	return outcome_of(status, written, argv[0], detail, detail_size);
}
