/*
 * NAME
 *	swap-socket.so - plays the attacker who swaps the milter's unix socket for a symlink
 * SYNOPSIS
 *	LD_PRELOAD=tests/daemon/swap-socket.so SIGNET_TEST_SWAP_TARGET=/some/file \
 *	    milter/signet -c FILE -f
 * DESCRIPTION
 *	Wraps listen(2).  Once libmilter's unix socket is bound and listening, it renames the
 *	socket out of the way and puts a symlink to SIGNET_TEST_SWAP_TARGET in its place:
 *	what anyone able to write the socket's directory can do in the moment between
 *	libmilter's bind and Signet setting SocketGroup.  A daemon that changes the socket by
 *	path as root then changes the target instead.  The moment is made deterministic here
 *	so that tests/daemon/run.py can show Signet no longer follows the link.
 * DIAGNOSTICS
 *	Writes one line to stderr when it swapped the socket.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

int	listen(int fd, int backlog);

int	listen(int fd, int backlog)
{
	int	(*real_listen)(int, int) = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
	const char *target = getenv("SIGNET_TEST_SWAP_TARGET");
	struct sockaddr_un addr;
	socklen_t len = sizeof(addr);
	char	moved[sizeof(addr.sun_path) + 8];
	int	rc;

	if (real_listen == NULL)
		return -1;
	if ((rc = real_listen(fd, backlog)) != 0 || target == NULL)
		return rc;
	memset(&addr, 0, sizeof(addr));
	if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0 || addr.sun_family != AF_UNIX ||
	    addr.sun_path[0] == '\0')
		return rc;
	snprintf(moved, sizeof(moved), "%s.moved", addr.sun_path);
	if (rename(addr.sun_path, moved) == 0 && symlink(target, addr.sun_path) == 0)
		fprintf(stderr, "swap-socket: %s is now a symlink to %s\n", addr.sun_path, target);
	return rc;
}
