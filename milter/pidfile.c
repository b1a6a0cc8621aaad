/*
 * NAME
 *	pidfile.c - the PID file: written before the socket listens, locked while we run
 * DESCRIPTION
 *	Who reads PidFile (signet-keys, an init script, systemctl reload) may signal that pid
 *	as soon as the MTA can reach Signet, so the file is written before the socket is
 *	opened, after detaching (the pid is final): as the user Signet starts as, root
 *	usually, since privileges are dropped only after the socket exists.  Whoever can
 *	write the file's directory (UserID, when it is /run/signet) could leave a symlink or
 *	a hard link there for root to write through: the file is opened without following a
 *	symlink, and must be a regular file with one link.
 *
 *	A second Signet started by mistake must not replace the pid of the one that runs
 *	(nor remove the file when its own start fails): the file stays open with an flock(2)
 *	lock for the life of the process, and a start that finds it locked gives up without
 *	touching it.  A file left by a process that died is not locked and is reused.
 *
 *	The path is kept absolute, since the working directory changes when Signet detaches
 *	and the file is removed at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "milter/pidfile.h"

struct pidfile {
	int	fd;
	char   *path;
};

/* path made absolute against the working directory; NULL on failure. */
static char *absolute(const char *path)
{
	char	cwd[PATH_MAX];
	char   *out;
	size_t	len;

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	len = strlen(cwd) + 1 + strlen(path) + 1;
	if ((out = malloc(len)) != NULL)
		snprintf(out, len, "%s/%s", cwd, path);
	return out;
}

/* The pid a locked file holds, for the message; 0 if unreadable. */
static long holder(int fd)
{
	char	buf[32];
	ssize_t	n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int fill(int fd, const char *path, char *err, size_t len)
{
	char	text[32];
	int	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		snprintf(err, len, "PidFile %s: not a regular file with one link: not written",
		    path);
		return 0;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, len, "PidFile %s is locked by a running signet (pid %ld): "
			    "not starting a second one", path, holder(fd));
		else
			snprintf(err, len, "PidFile %s: lock: %s", path, strerror(errno));
		return 0;
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)n, 0) != n) {
		snprintf(err, len, "PidFile %s: %s", path, strerror(errno));
		return 0;
	}
	return 1;
}

struct pidfile *pidfile_create(const char *path, char *err, size_t len)
{
	struct pidfile *pf = malloc(sizeof(*pf));

	if (pf == NULL || (pf->path = absolute(path)) == NULL) {
		snprintf(err, len, "PidFile %s: %s", path, strerror(errno));
		free(pf);
		return NULL;
	}
	pf->fd = open(pf->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
	if (pf->fd < 0) {
		snprintf(err, len, "PidFile %s: %s", pf->path, strerror(errno));
	} else if (fill(pf->fd, pf->path, err, len)) {
		return pf;
	}
	if (pf->fd >= 0)
		close(pf->fd);
	free(pf->path);
	free(pf);
	return NULL;
}

void	pidfile_remove(struct pidfile *pf)
{
	if (pf == NULL)
		return;
	unlink(pf->path);
	close(pf->fd);
	free(pf->path);
	free(pf);
}
