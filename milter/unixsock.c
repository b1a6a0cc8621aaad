/*
 * NAME
 *	unixsock.c - where the milter's unix socket may live; its group set without a path
 * DESCRIPTION
 *	Signet binds its unix socket as root (the milter engine's smfi_opensocket), then drops
 *	privileges.  Two things go wrong when that is done by path:
 *
 *	Changing the socket by path as root (chmod, chown) follows a symlink that whoever can
 *	write the directory puts there between the bind and the change: they choose the file
 *	whose mode and group root changes.  So the mode comes only from the umask at bind
 *	time (a new socket gets 0777 & ~umask), and the group is set on the socket itself:
 *	opened with O_PATH|O_NOFOLLOW, checked (a socket, ours, with that mode), changed with
 *	fchownat(AT_EMPTY_PATH).  What is checked is what is changed.  fchown() on the
 *	listening descriptor would not do: on Linux it changes the socket's inode in sockfs,
 *	not the file in the directory.
 *
 *	Whoever can write the directory can also remove the socket, or bind one of their own
 *	at its path while Signet is down, and answer the MTA in Signet's name (their
 *	Authentication-Results would be believed).  So the socket's directory must not be
 *	writable by others, nor by a group other than root's, sticky bit or not.  A directory
 *	above it may be only with the sticky bit (like /tmp: nobody can rename or remove there
 *	what is not theirs), and then what the path goes through in it must belong to root or
 *	to us.  The owner of each directory is trusted: give the socket's directory to root or
 *	to UserID.  Symlinks in the path are followed as the kernel would (at most 40) and the
 *	directories they lead through are checked the same way.
 *
 *	The walk goes by descriptors, one component at a time (openat with O_PATH|O_NOFOLLOW),
 *	so the directory handed back is the one that was checked, whatever is renamed meanwhile.
 *	Linux only (O_PATH, AT_EMPTY_PATH), as Signet is.
 * DIAGNOSTICS
 *	Each refusal names the directory, who can write it, and what to change.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* O_PATH, AT_EMPTY_PATH */
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "milter/unixsock.h"

#define MAX_SYMLINKS 40

/* Writable by someone besides its owner and root: others, or a group other than root's. */
static int writable_by_others(const struct stat *st)
{
	return (st->st_mode & S_IWOTH) || ((st->st_mode & S_IWGRP) && st->st_gid != 0);
}

static void describe_writers(const struct stat *st, char *buf, size_t len)
{
	struct group *gr;

	if (st->st_mode & S_IWOTH)
		snprintf(buf, len, "others");
	else if ((gr = getgrgid(st->st_gid)) != NULL)
		snprintf(buf, len, "group %s", gr->gr_name);
	else
		snprintf(buf, len, "group %ld", (long)st->st_gid);
}

static void refuse_writable(const char *where, const struct stat *st, int socket_dir,
    char *err, size_t errlen)
{
	char	who[64];

	describe_writers(st, who, sizeof(who));
	snprintf(err, errlen, "%s %s is writable by %s (mode %04o): they could replace the "
	    "socket or answer the MTA in Signet's name; make it writable by its owner only%s",
	    socket_dir ? "socket directory" : "directory", where, who,
	    (unsigned)(st->st_mode & 07777),
	    socket_dir ? "" : " (or give it the sticky bit)");
}

/* where names the directory reached, for messages: NAME appended, or one up for "..". */
static void where_step(char *where, size_t len, const char *name)
{
	size_t	used = strlen(where);
	char   *slash;

	if (strcmp(name, "..") != 0)
		snprintf(where + used, len - used, "%s%s", used > 1 ? "/" : "", name);
	else if ((slash = strrchr(where, '/')) != NULL)
		slash[slash == where ? 1 : 0] = '\0';
}

static int open_root(struct stat *st, char *where, size_t len)
{
	int	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && fstat(fd, st) != 0) {
		close(fd);
		fd = -1;
	}
	snprintf(where, len, "/");
	return fd;
}

/* Replaces the path still to walk with the symlink's target followed by it. */
static int follow(int dir, const char *name, char *todo, size_t len, const char *rest)
{
	char	target[PATH_MAX], tail[PATH_MAX];
	ssize_t	n;

	if ((n = readlinkat(dir, name, target, sizeof(target) - 1)) < 0)
		return 0;
	target[n] = '\0';
	snprintf(tail, sizeof(tail), "%s", rest);
	if ((size_t)snprintf(todo, len, "%s/%s", target, tail) >= len) {
		errno = ENAMETOOLONG;
		return 0;
	}
	return 1;
}

int	unixsock_dir_open(const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char	todo[PATH_MAX], where[PATH_MAX], name[NAME_MAX + 1] = "";
	struct stat st, ent;
	const char *p = todo;
	int	cur, next, links = 0;
	size_t	n;

	if (path[0] != '/' || (size_t)(slash - path) >= sizeof(todo)) {
		snprintf(err, errlen, "socket %s: want an absolute path", path);
		return -1;
	}
	snprintf(todo, sizeof(todo), "%.*s", (int)(slash - path), path);
	if ((cur = open_root(&st, where, sizeof(where))) < 0)
		goto failed;
	for (;;) {
		p += strspn(p, "/");
		if (*p == '\0')
			break;
		/* A directory the path goes through, above the socket's. */
		if (writable_by_others(&st) && !(st.st_mode & S_ISVTX)) {
			refuse_writable(where, &st, 0, err, errlen);
			goto refused;
		}
		if ((n = strcspn(p, "/")) > NAME_MAX) {
			errno = ENAMETOOLONG;
			goto failed;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		if (strcmp(name, ".") == 0)
			continue;
		if (fstatat(cur, name, &ent, AT_SYMLINK_NOFOLLOW) != 0)
			goto failed_at;
		/* In a sticky directory others can write, its owner can replace an entry. */
		if (strcmp(name, "..") != 0 && writable_by_others(&st) && ent.st_uid != 0 &&
		    ent.st_uid != geteuid()) {
			snprintf(err, errlen, "socket %s: \"%s\" in %s (a directory others can "
			    "write) belongs to uid %ld, who could replace it", path, name, where,
			    (long)ent.st_uid);
			goto refused;
		}
		if (S_ISLNK(ent.st_mode)) {
			if (++links > MAX_SYMLINKS) {
				errno = ELOOP;
				goto failed_at;
			}
			if (!follow(cur, name, todo, sizeof(todo), p))
				goto failed_at;
			p = todo;
			if (todo[0] == '/') {
				close(cur);
				if ((cur = open_root(&st, where, sizeof(where))) < 0)
					goto failed;
			}
			continue;
		}
		if (!S_ISDIR(ent.st_mode)) {
			errno = ENOTDIR;
			goto failed_at;
		}
		if ((next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			goto failed_at;
		close(cur);
		cur = next;
		where_step(where, sizeof(where), name);
		if (fstat(cur, &st) != 0)
			goto failed;
	}
	/* The socket's own directory: the sticky bit does not keep others from binding a
	 * socket of their own at the path while Signet is down. */
	if (writable_by_others(&st)) {
		refuse_writable(where, &st, 1, err, errlen);
		goto refused;
	}
	return cur;

failed_at:
	if (strcmp(name, "..") != 0)
		where_step(where, sizeof(where), name);
failed:
	snprintf(err, errlen, "socket %s: %s: %s", path, where, strerror(errno));
refused:
	if (cur >= 0)
		close(cur);
	return -1;
}

int	unixsock_finish(int dir, const char *path, mode_t mode, gid_t gid, char *err,
    size_t errlen)
{
	struct stat st;
	int	fd, ok = 0;

	fd = openat(dir, strrchr(path, '/') + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	close(dir);
	if (fd < 0 || fstat(fd, &st) != 0)
		snprintf(err, errlen, "socket %s: %s", path, strerror(errno));
	else if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
		snprintf(err, errlen, "socket %s was replaced after it was bound (now %s owned by "
		    "uid %ld): refusing to start", path, S_ISLNK(st.st_mode) ? "a symlink" :
		    S_ISSOCK(st.st_mode) ? "a socket" : "a file", (long)st.st_uid);
	else if ((st.st_mode & 07777) != mode)
		snprintf(err, errlen, "socket %s has mode %04o, not SocketMode %04o: a default ACL "
		    "on its directory? (Signet sets the mode only through the umask)", path,
		    (unsigned)(st.st_mode & 07777), (unsigned)mode);
	else if (gid != (gid_t)-1 && st.st_gid != gid &&
	    fchownat(fd, "", (uid_t)-1, gid, AT_EMPTY_PATH) != 0)
		snprintf(err, errlen, "socket %s: cannot set SocketGroup: %s", path,
		    strerror(errno));
	else
		ok = 1;
	if (fd >= 0)
		close(fd);
	return ok;
}
