/*
 * NAME
 *	unixsock.h - a safe directory for the milter's unix socket, and its group
 * SYNOPSIS
 *	int dir = unixsock_dir_open(path, err, sizeof(err));	before smfi_opensocket()
 *	unixsock_finish(dir, path, mode, gid, err, sizeof(err));	after it
 * DESCRIPTION
 *	unixsock_dir_open() checks every directory the socket path PATH goes through,
 *	symlinks followed, and returns a descriptor of the socket's directory; -1 with err
 *	filled when one of them can be written by others (see unixsock.c).
 *
 *	unixsock_finish() checks that the name of PATH in that directory is still the socket
 *	we bound (a socket, ours, with MODE, which the umask gave it) and gives it group GID
 *	((gid_t)-1: leave it), never following a symlink.  Returns 1, or 0 with err filled.
 *	It closes DIR either way.
 */
#ifndef SIGNET_UNIXSOCK_H
#define SIGNET_UNIXSOCK_H

#include <stddef.h>
#include <sys/types.h>

int	unixsock_dir_open(const char *path, char *err, size_t errlen);
int	unixsock_finish(int dir, const char *path, mode_t mode, gid_t gid, char *err,
	    size_t errlen);

#endif
